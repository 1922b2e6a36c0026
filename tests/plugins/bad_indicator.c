/* bad_indicator.c - a good indicator followed by one with a bad name and one
 * with no step: the host must refuse the plugin whole (the good one too). */
#include <mizan/plugin.h>

static void step(void *state, const struct mizan_event *ev)
{
}

static void final(const void *state, struct mizan_result *out)
{
	out->value = 0;
}

static const struct mizan_indicator indicators[] = {
	{.name = "bad_indicator_good", .unit = "count", .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
	 .state_size = 8, .step = step, .final = final},
	{.name = "Bad-Name", .unit = "count", .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
	 .state_size = 8, .step = step, .final = final},
	{.name = "bad_indicator_nostep", .unit = "count", .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
	 .state_size = 8, .step = NULL, .final = final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "bad_indicator",
	.version = "1",
	MIZAN_INDICATORS(indicators),
};

MIZAN_PLUGIN(plugin)
