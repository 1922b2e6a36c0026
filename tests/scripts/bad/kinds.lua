return {
	name = "bad_kinds", unit = "%", description = "unknown kind", kinds = { "services" },
	init = function() return {} end, step = function() end, final = function() end,
}
