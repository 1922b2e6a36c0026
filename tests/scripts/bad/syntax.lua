return {
	name = "syntax",
	unit = = "%",
}
