--[[ evil - sandbox attacks for tests/integration/test_isolation.py.

Each KPI that uses this script names its attack in the param `attack`;
the attack runs in step, on the first service event (in init when the
param `at` is "init").  `marker` is a file
path that os.execute / io.open would create if the sandbox let them: the
test checks that it never appears.

  os_execute  os.execute("touch MARKER")           (no `os` in the sandbox)
  io_open     io.open(MARKER, "w")                 (no `io`)
  require     require("os").execute(...)           (no `require`)
  rep         string.rep("x", 1e10)                (10 GB: Lua refuses it, over 2 GB)
  rep1g       string.rep("x", 1e9)                 (1 GB: the memory limit)
  grow        a table that grows without end       (the memory limit)
  loop        while true do end                    (the instruction budget)
  pcall_loop  while true inside pcall, then again  (the budget; pcall cannot catch it for good)
  regex       a backtracking pattern in string.find: one C call that the
              count hook cannot interrupt, so only the worker's stall
              watchdog (evaluation.stall_s) stops it
  heavy       a loop of `spins` (200000) rounds at every event: within the
              limits of each call, not within evaluation.run_instructions
  none        nothing: counts the events
]]
local attacks = {
	none = function() end,
	os_execute = function(m) os.execute("touch " .. m) end,
	io_open = function(m)
		local f = io.open(m, "w")
		f:write("escaped")
		f:close()
	end,
	require = function(m) require("os").execute("touch " .. m) end,
	rep = function() return #string.rep("x", 1e10) end,
	rep1g = function() return #string.rep("x", 1e9) end,
	grow = function()
		local t, i = {}, 0
		while true do
			i = i + 1
			t[i] = ("x"):rep(1000) .. i
		end
	end,
	loop = function() while true do end end,
	heavy = function(_, spins)
		local x = 0
		for i = 1, spins do x = x + i end
		return x
	end,
	pcall_loop = function()
		pcall(function() while true do end end)
		pcall(function() while true do end end)
		return "escaped"
	end,
	-- 60 a's then b, against (a*){10}c: no match, found only after trying
	-- every way to split 60 a's among ten a* (C(69, 9) ~ 6e10 ways).
	regex = function() return string.find(("a"):rep(60) .. "b", ("a*"):rep(10) .. "c") end,
}

return {
	name = "evil",
	unit = "count",
	description = "runs the sandbox attack named by the param attack",
	kinds = { "service" },
	fields = { "service" },
	init = function(params)
		local a = params.attack or "none"
		if not attacks[a] then
			error("unknown attack " .. tostring(a), 0)
		end
		local marker = params.marker or "/nonexistent/marker"
		if params.at == "init" then
			attacks[a](marker)
			a = "none"
		end
		return { n = 0, attack = a, marker = marker, spins = tonumber(params.spins) or 200000 }
	end,
	step = function(s, service)
		attacks[s.attack](s.marker, s.spins)
		s.n = s.n + 1
	end,
	merge = function(a, b) a.n = a.n + b.n end,
	final = function(s) return s.n, s.n end,
}
