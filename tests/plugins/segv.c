/* segv.c - an indicator whose step crashes (writes through a null pointer),
 * for the server's isolation tests: evaluation runs in a worker process, and
 * the server must survive this.  It loads like any good plugin. */
#include <stddef.h>

#include <stdint.h>

#include <mizan/plugin.h>

/* Hidden from the optimiser: it cannot prove the result is null. */
__attribute__((noinline)) static void *state_null(void)
{
	void *volatile p = NULL;
	return p;
}

/* Not instrumented: the sanitizers would report the crash instead of
 * letting it happen, and the crash is the point. */
__attribute__((no_sanitize("undefined", "address"))) static void crash_step(void *state, const struct mizan_event *ev)
{
	/* A store through a volatile null pointer: the compiler must keep it
	 * (a plain one it may drop, and GCC does at -O2). */
	*(volatile int *)(uintptr_t)state_null() = 1;
}

static void crash_final(const void *state, struct mizan_result *out)
{
	out->value = 0;
}

static const struct mizan_indicator indicators[] = {
	{.name = "crash_in_step", .unit = "count", .description = "Crashes on its first event.",
	 .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE) | MIZAN_KIND_BIT(MIZAN_TRAINING) |
		  MIZAN_KIND_BIT(MIZAN_PROJECT) | MIZAN_KIND_BIT(MIZAN_SATISFACTION),
	 .state_size = 8, .step = crash_step, .final = crash_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "segv",
	.version = "1",
	MIZAN_INDICATORS(indicators),
};

MIZAN_PLUGIN(plugin)
