return {
	name = "bad_field", unit = "%", description = "unknown field", kinds = { "training" },
	fields = { "cost", "costs" },
	init = function() return {} end, step = function() end, final = function() end,
}
