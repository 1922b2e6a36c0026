/* hang.c - an indicator whose step never returns, for the server's isolation
 * tests: the worker that runs it must be stopped by a time limit. */
#include <unistd.h>

#include <mizan/plugin.h>

static void hang_step(void *state, const struct mizan_event *ev)
{
	for (;;)
		sleep(1);
}

static void hang_final(const void *state, struct mizan_result *out)
{
	out->value = 0;
}

static const struct mizan_indicator indicators[] = {
	{.name = "hang_in_step", .unit = "count", .description = "Never returns from its first step.",
	 .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE) | MIZAN_KIND_BIT(MIZAN_TRAINING) |
		  MIZAN_KIND_BIT(MIZAN_PROJECT) | MIZAN_KIND_BIT(MIZAN_SATISFACTION),
	 .state_size = 8, .step = hang_step, .final = hang_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "hang",
	.version = "1",
	MIZAN_INDICATORS(indicators),
};

MIZAN_PLUGIN(plugin)
