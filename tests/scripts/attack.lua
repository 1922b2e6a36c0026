-- Attacks on the sandbox, for tests/unit/test_script.c.  init runs the one
-- named by the param `attack`; step runs the one named by the event's
-- `service` (a string field: the step goes through the protected pusher).
local attacks = {
	none = function() end,
	os_execute = function() os.execute("echo escaped") end,
	io_open = function() io.open("/etc/passwd") end,
	require = function() require("os") end,
	loadlib = function() package.loadlib("libc.so.6", "system") end,
	-- the first bytes of a Lua 5.4 binary chunk; load takes text only
	binary_load = function() assert(load("\27LuaT\0\25\147\r\n\26\n")) end,
	string_dump = function() string.dump(function() end) end,
	dofile = function() dofile("/etc/passwd") end,
	loadfile = function() loadfile("/etc/passwd") end,
	debug = function() debug.getregistry() end,
	collectgarbage = function() collectgarbage("stop") end,
	string_metatable = function() getmetatable("").__index = { upper = function() return "x" end } end,
	string_setmetatable = function() setmetatable("", {}) end,
	rep = function() return string.rep("x", 1e10) end, -- Lua refuses above 2^31 itself
	rep_big = function() return string.rep("x", 1e9) end,
	grow = function()
		local t, i = {}, 0
		while true do
			i = i + 1
			t[i] = ("x"):rep(1000) .. i
		end
	end,
	loop = function() while true do end end,
	pcall_loop = function()
		pcall(function() while true do end end)
		return "escaped"
	end,
	pcall_forever = function()
		while true do
			pcall(function() while true do end end)
		end
	end,
	xpcall_handler = function()
		xpcall(function() while true do end end, function() while true do end end)
		return "escaped"
	end,
	recurse = function()
		local function f(n) return f(n + 1) + 1 end
		return f(1)
	end,
	error_table = function() error({}) end,
	gc_loop = function() setmetatable({}, { __gc = function() while true do end end }) end,
	-- harmless ones that must work
	print = function() print("hello from", "attack.lua", 42) end,
	text_load = function() assert(load("return 1 + 1")() == 2) end,
	xpcall_ok = function()
		local ok, e = xpcall(function() error("x", 0) end, function(m) return "handled " .. m end)
		assert(not ok and e == "handled x")
		local ok2, a, b = xpcall(function(p, q) return p + q, p * q end, print, 2, 3)
		assert(ok2 and a == 5 and b == 6)
		local mt = {}
		setmetatable({}, mt)
		mt.__gc = function() while true do end end -- not a finalizer: not there when set
		assert(getmetatable(setmetatable({}, { __index = { v = 1 } })).__index.v == 1)
	end,
}

local function run(name)
	local f = attacks[name]
	if not f then
		error("unknown attack " .. tostring(name), 0)
	end
	f()
end

return {
	name = "attack",
	unit = "count",
	description = "runs the attack it is told to",
	kinds = { "service" },
	fields = { "service" },
	init = function(params)
		run(params.attack or "none")
		return { n = 0, mode = params.final }
	end,
	step = function(s, service)
		run(service or "none")
		s.n = s.n + 1
	end,
	final = function(s)
		if s.mode == "bad_value" then
			return "high"
		elseif s.mode == "bad_extra" then
			return 1, 1, { ["Not A Name"] = 1 }
		elseif s.mode == "loop" then
			while true do end
		end
		return s.n, s.n, { zeta = 1, alpha = 2 }, "a note"
	end,
}
