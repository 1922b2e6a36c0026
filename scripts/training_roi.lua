--[[ training_roi - return on training, over programmes whose benefit was measured.

Over the training events with a benefit (events without one are only
counted, in programmes_without_benefit):

  value = (sum of benefit - sum of cost) / sum of cost * 100
  n     = the programmes with a benefit
  extras: cost and benefit (the two sums), programmes_without_benefit

A programme with a benefit but no cost counts a cost of 0.  When the sum of
cost is 0 (or no programme has a benefit) there is no figure (value nil).

By hand: (cost 1000, benefit 1500), (cost 500, benefit 400), (cost 800, no
benefit) -> cost 1500, benefit 1900, value = (1900 - 1500) / 1500 * 100 =
26.67 %, n = 2, programmes_without_benefit = 1.
]]
return {
	name = "training_roi",
	unit = "%",
	description = "(sum of benefit - sum of cost) / sum of cost x 100, over programmes with a measured benefit",
	kinds = { "training" },
	fields = { "cost", "benefit" },

	init = function(params)
		return { cost = 0, benefit = 0, n = 0, without = 0 }
	end,

	step = function(s, cost, benefit)
		if benefit == nil then
			s.without = s.without + 1
			return
		end
		s.n = s.n + 1
		s.benefit = s.benefit + benefit
		if cost then
			s.cost = s.cost + cost
		end
	end,

	merge = function(a, b)
		a.cost = a.cost + b.cost
		a.benefit = a.benefit + b.benefit
		a.n = a.n + b.n
		a.without = a.without + b.without
	end,

	final = function(s)
		local extras = { cost = s.cost, benefit = s.benefit, programmes_without_benefit = s.without }
		if s.n == 0 then
			return nil, 0, extras, "no programme with a measured benefit"
		end
		if s.cost == 0 then
			return nil, s.n, extras, "no cost recorded"
		end
		return (s.benefit - s.cost) / s.cost * 100, s.n, extras
	end,
}
