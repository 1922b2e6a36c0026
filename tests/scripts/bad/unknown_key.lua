return {
	name = "unknown_key", unit = "%", description = "misspelt final", kinds = { "training" },
	init = function() return {} end, step = function() end, finale = function() end,
}
