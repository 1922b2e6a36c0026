return {
	name = "no_step", unit = "%", description = "no step", kinds = { "training" },
	init = function() return {} end, final = function() end,
}
