-- Attacks run from a step with number fields only (the direct-push path):
-- score 1 loops, 2 loops inside pcall, 3 asks for 1 GB, 4 raises.
return {
	name = "attack_num",
	unit = "count",
	description = "runs the attack the score names",
	kinds = { "satisfaction" },
	fields = { "score" },
	init = function() return { n = 0 } end,
	step = function(s, score)
		if score == 1 then
			while true do end
		elseif score == 2 then
			pcall(function() while true do end end)
		elseif score == 3 then
			local _ = string.rep("x", 1e9)
		elseif score == 4 then
			error("bad score")
		end
		s.n = s.n + 1
	end,
	final = function(s) return s.n, s.n end,
}
