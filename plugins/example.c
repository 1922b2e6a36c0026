/* example.c - a complete indicator plugin, to copy when you write your own.
 *
 * It provides one indicator, mean_service_minutes: the mean time taken by
 * the services completed in a period.
 *
 * Build it out of tree (after `meson install` of Mizan):
 *
 *     cc -std=c17 -O2 -shared -fPIC -fvisibility=hidden \
 *        $(pkg-config --cflags mizan-plugin) -o example.so example.c
 *
 * and put example.so in the plugin directory
 * ($(pkg-config --variable=plugindir mizan-plugin)), or in the one the
 * configuration names.  The server loads every *.so there at start and lists
 * what it loaded, or why it refused a file, with `mizan plugins`.
 *
 * How the host uses an indicator, for every period and slice of a KPI:
 *
 *     state = zeroed memory of state_size bytes   (the host allocates it)
 *     init(state, params, host)                   optional
 *     step(state, event)                          once per event, in time order
 *     merge(state, other)                         optional: partial folds joined
 *     final(state, &result)
 *     fini(state)                                 optional; then the host frees state
 *
 * Rules worth keeping in mind:
 *  - Export nothing but the entry (MIZAN_PLUGIN below does it; build with
 *    -fvisibility=hidden and make everything else static).
 *  - No mutable globals: several states of one indicator live at once.
 *  - The event and its strings are lent for the step only: copy what you keep.
 *  - Every string you give the host (names, units, notes) is a literal.
 */
#include <math.h>   /* NAN, isnan */
#include <string.h> /* strcmp */

#include <mizan/plugin.h>

/* The state: everything the fold needs between two steps.  It must be
 * meaningful when zeroed, or set up in init.  Doubles rather than integers
 * for counts: the host stores figures as doubles anyway. */
struct mean_state {
	double n;   /* service events counted */
	double sum; /* their total minutes */
	double max; /* the longest, in minutes */
};

/*
 * mean_service_minutes.  Kinds: service.
 *   counted = the service events with outcome "completed" and a duration
 *   value   = sum of duration_min / |counted|   (NaN when none: no figure)
 *   n       = |counted|
 *   extra max = the largest duration_min counted (NaN when none)
 * Example: completed 10, 20 and 45 minutes, one pending of 99: value 25,
 * n 3, max 45.
 */
static void mean_step(void *state, const struct mizan_event *ev)
{
	struct mean_state *st = state;

	/* The host only passes the kinds named in `kinds`, but checking costs
	 * nothing and keeps the step correct on its own. */
	if (ev->kind != MIZAN_SERVICE)
		return;
	/* Absent texts are NULL, absent numbers NaN. */
	if (!ev->outcome || strcmp(ev->outcome, "completed") != 0 || isnan(ev->duration_min))
		return;
	st->n++;
	st->sum += ev->duration_min;
	if (st->n == 1 || ev->duration_min > st->max)
		st->max = ev->duration_min;
}

/* Folds another state of the same indicator (the same params) into this
 * one, so the host can fold parts of a period apart and join them.  Leave
 * .merge NULL if your indicator cannot do this. */
static int mean_merge(void *state, const void *other)
{
	struct mean_state *st = state;
	const struct mean_state *o = other;

	if (o->n > 0 && (st->n == 0 || o->max > st->max))
		st->max = o->max;
	st->n += o->n;
	st->sum += o->sum;
	return 0; /* or a negative errno */
}

/* The result.  The host has set value to NaN and the rest to zero. */
static void mean_final(const void *state, struct mizan_result *out)
{
	const struct mean_state *st = state;

	out->value = st->n > 0 ? st->sum / st->n : NAN;
	out->n = st->n;
	out->extra[0].name = "max";
	out->extra[0].value = st->n > 0 ? st->max : NAN;
	out->nextra = 1;
	/* out->note = "a literal" when a figure needs a word beside it. */
}

/* The plugin's indicators.  Names are [a-z0-9_] and unique across every
 * plugin and script the server loads. */
static const struct mizan_indicator example_indicators[] = {
	{
		.name = "mean_service_minutes",
		.unit = "min",
		.description = "Mean duration of completed service events, in minutes.",
		.kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
		.state_size = sizeof(struct mean_state),
		.init = NULL, /* a zeroed state is all it needs */
		.step = mean_step,
		.merge = mean_merge,
		.final = mean_final,
		.fini = NULL, /* nothing allocated */
	},
};

/* The description the host reads first: abi and size must be exactly these. */
static const struct mizan_plugin example_plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "example",
	.version = "0.1.0",
	MIZAN_INDICATORS(example_indicators),
	.init = NULL, /* optional: once per load, e.g. to check a resource */
	.fini = NULL, /* optional: once before unloading */
};

/* Defines and exports mizan_plugin_entry, the one symbol the host looks up. */
MIZAN_PLUGIN(example_plugin)
