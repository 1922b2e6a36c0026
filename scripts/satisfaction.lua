--[[ satisfaction_share - the share of satisfied answers to the survey.

Params:
  subject      "service" (default) or "communication": which answers count
  min_answers  default 30: below it there is no figure

Over the answers whose subject is `subject` (each with a score from 1 to
its scale, and a scale of at least 2 points):

  value   = 100 * (answers with score >= scale - 1) / answers
            (the top two points of each answer's own scale: 4 or 5 of 5,
            9 or 10 of 10)
  mean    = the mean of (score - 1) / (scale - 1) * 100 over the answers
            (every score brought to a 0..100 range, so scales can mix)
  answers = the number of answers;  n = answers

With fewer than min_answers answers, value is nil with the note
"insufficient data" (mean and answers are still given).

By hand: scores 5, 4, 3 of 5 and 10 of 10 -> 3 of 4 in the top two,
value = 75 %; mean = (100 + 75 + 50 + 100) / 4 = 81.25.
]]
return {
	name = "satisfaction_share",
	unit = "%",
	description = "share of answers in the top two points of their scale, in %",
	kinds = { "satisfaction" },
	fields = { "subject", "score", "scale" },

	init = function(params)
		local subject = params.subject or "service"
		if subject ~= "service" and subject ~= "communication" then
			error("param subject must be service or communication, got " .. tostring(subject), 0)
		end
		local min = params.min_answers or 30
		if type(min) ~= "number" or min < 0 then
			error("param min_answers must be a number >= 0, got " .. tostring(min), 0)
		end
		return { subject = subject, min_answers = min, answers = 0, top = 0, sum = 0 }
	end,

	step = function(s, subject, score, scale)
		if subject ~= s.subject or score == nil or scale == nil or scale < 2 then
			return
		end
		s.answers = s.answers + 1
		if score >= scale - 1 then
			s.top = s.top + 1
		end
		s.sum = s.sum + (score - 1) / (scale - 1) * 100
	end,

	merge = function(a, b)
		a.answers = a.answers + b.answers
		a.top = a.top + b.top
		a.sum = a.sum + b.sum
	end,

	final = function(s)
		local extras = { answers = s.answers }
		if s.answers > 0 then
			extras.mean = s.sum / s.answers
		end
		if s.answers == 0 or s.answers < s.min_answers then
			return nil, s.answers, extras, "insufficient data"
		end
		return 100 * s.top / s.answers, s.answers, extras
	end,
}
