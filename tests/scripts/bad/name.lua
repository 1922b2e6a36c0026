return {
	name = "Training-ROI", unit = "%", description = "bad name", kinds = { "training" },
	init = function() return {} end, step = function() end, final = function() end,
}
