/* bad_abi.c - a plugin built for the next plugin ABI: the host must refuse it
 * before it reads anything but abi and size. */
#include <mizan/plugin.h>

static void never_step(void *state, const struct mizan_event *ev)
{
}

static void never_final(const void *state, struct mizan_result *out)
{
}

static const struct mizan_indicator indicators[] = {
	{.name = "bad_abi_count", .unit = "count", .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
	 .state_size = 8, .step = never_step, .final = never_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI + 1,
	.size = sizeof(struct mizan_plugin),
	.name = "bad_abi",
	.version = "1",
	MIZAN_INDICATORS(indicators),
};

MIZAN_PLUGIN(plugin)
