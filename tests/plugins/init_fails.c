/* init_fails.c - a plugin whose init fails with -EIO and a sentence: the host
 * must refuse it with that sentence and never call it again. */
#include <errno.h>
#include <stdio.h>

#include <mizan/plugin.h>

static void never_step(void *state, const struct mizan_event *ev)
{
}

static void never_final(const void *state, struct mizan_result *out)
{
}

static int fails(const struct mizan_host *host, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot reach the registry");
	return -EIO;
}

static const struct mizan_indicator indicators[] = {
	{.name = "init_fails_count", .unit = "count", .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
	 .state_size = 8, .step = never_step, .final = never_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "init_fails",
	.version = "1",
	MIZAN_INDICATORS(indicators),
	.init = fails,
};

MIZAN_PLUGIN(plugin)
