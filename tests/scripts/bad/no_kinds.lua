return {
	name = "no_kinds", unit = "%", description = "empty kinds", kinds = {},
	init = function() return {} end, step = function() end, final = function() end,
}
