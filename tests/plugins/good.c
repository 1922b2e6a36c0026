/* good.c - a plugin that exercises the host's lifecycle: a plugin init and
 * fini (which leave a trace in the environment, so the test can see that
 * fini ran when the last indicator was unloaded), an indicator without merge,
 * and an indicator init that fails when the KPI sets the param "fail". */
#include <errno.h>
#include <stdlib.h>

#include <mizan/plugin.h>

struct count_state {
	double n;
};

static int count_init(void *state, const struct mizan_params *params,
		      const struct mizan_host *host)
{
	return host->param(params, "fail") ? -EINVAL : 0;
}

static void count_step(void *state, const struct mizan_event *ev)
{
	((struct count_state *)state)->n++;
}

static void count_final(const void *state, struct mizan_result *out)
{
	out->value = ((const struct count_state *)state)->n;
	out->n = out->value;
}

static int good_init(const struct mizan_host *host, char *err, size_t errlen)
{
	setenv("MIZAN_TEST_GOOD", "init", 1);
	return 0;
}

static void good_fini(void)
{
	setenv("MIZAN_TEST_GOOD", "fini", 1);
}

static const struct mizan_indicator indicators[] = {
	{.name = "good_count", .unit = "count", .description = "Events seen (no merge).",
	 .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE), .state_size = sizeof(struct count_state),
	 .init = count_init, .step = count_step, .final = count_final},
	{.name = "good_count2", .unit = "count", .description = "The same, a second indicator.",
	 .kinds = MIZAN_KIND_BIT(MIZAN_TRAINING), .state_size = sizeof(struct count_state),
	 .step = count_step, .final = count_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "good",
	.version = "2.0",
	MIZAN_INDICATORS(indicators),
	.init = good_init,
	.fini = good_fini,
};

MIZAN_PLUGIN(plugin)
