--[[ participation_volume - the total amount of the community's contributions, in JOD.

Params:
  rate_XXX  the value of one unit of currency XXX in JOD, e.g.
            rate_USD = 0.709, rate_EUR = 0.77.  JOD is always 1.

Over the project events:

  value    = sum of amount * rate(currency), in JOD
             (a missing currency means JOD; an amount in a currency with no
             rate is left out of the sum and counted in `unconverted`)
  projects = the number of project events;  n = projects
  extras: contributors (the sum; an event without a count is 1
          contributor), projects, unconverted

By hand, with rate_USD = 0.709: 1000 JOD (3 contributors), 2000 USD (no
count), 500 EUR (no rate) -> value = 1000 + 2000 * 0.709 = 2418 JOD,
projects = 3, contributors = 3 + 1 + 1 = 5, unconverted = 1.
]]
return {
	name = "participation_volume",
	unit = "JOD",
	description = "total amount of project contributions in JOD, converted at the configured rates",
	kinds = { "project" },
	fields = { "amount", "currency", "contributors" },

	init = function(params)
		local rates = { JOD = 1 }
		for k, v in pairs(params) do
			local code = type(k) == "string" and k:match("^rate_(%u%u%u)$")
			if code then
				if type(v) ~= "number" or v <= 0 or v ~= v or v == math.huge then
					error("param " .. k .. " must be a positive number, got " .. tostring(v), 0)
				end
				if code ~= "JOD" then
					rates[code] = v
				end
			end
		end
		return { rates = rates, total = 0, projects = 0, contributors = 0, unconverted = 0 }
	end,

	step = function(s, amount, currency, contributors)
		s.projects = s.projects + 1
		s.contributors = s.contributors + (contributors or 1)
		if amount == nil then
			return
		end
		local rate = s.rates[currency or "JOD"]
		if rate then
			s.total = s.total + amount * rate
		else
			s.unconverted = s.unconverted + 1
		end
	end,

	merge = function(a, b)
		a.total = a.total + b.total
		a.projects = a.projects + b.projects
		a.contributors = a.contributors + b.contributors
		a.unconverted = a.unconverted + b.unconverted
	end,

	final = function(s)
		return s.total, s.projects,
			{ contributors = s.contributors, projects = s.projects, unconverted = s.unconverted }
	end,
}
