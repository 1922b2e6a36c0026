/* extras.c - indicators that fill every extra figure a result has room for
 * (MIZAN_MAX_EXTRA), with long names, names that JSON must escape, values
 * that need all 17 digits and values that are not finite; and one that
 * claims more extra figures than there is room for, which the host must
 * refuse.  For the unit test of the extras' JSON (test_plugin.c). */
#include <math.h>

#include <mizan/plugin.h>

struct count_state {
	double n;
};

static void count_step(void *state, const struct mizan_event *ev)
{
	((struct count_state *)state)->n++;
}

/* The figures, in the order the test expects them. */
static void full_final(const void *state, struct mizan_result *out)
{
	static const char *const names[MIZAN_MAX_EXTRA] = {
		"first_figure_with_a_name_long_enough_to_matter_a",
		"second_figure_with_a_name_long_enough_to_matter_b",
		"third_figure_with_a_name_long_enough_to_matter_c",
		"fourth \"quoted\" figure with a back\\slash and a tab\t",
		"fifth_figure_with_a_name_long_enough_to_matter_e",
		"sixth_figure_with_a_long_name_and_no_finite_value",
		"seventh_figure_with_a_name_long_enough_to_matter_g",
		"eighth_figure_with_a_name_long_enough_to_matter_h",
	};
	out->value = ((const struct count_state *)state)->n;
	out->n = out->value;
	for (int i = 0; i < MIZAN_MAX_EXTRA; i++) {
		out->extra[i].name = names[i];
		out->extra[i].value = -1.2345678901234567e-300 * (i + 1);
	}
	out->extra[5].value = INFINITY;
	out->nextra = MIZAN_MAX_EXTRA;
}

/* Claims one figure more than struct mizan_result holds (writing none past
 * its end). */
static void too_many_final(const void *state, struct mizan_result *out)
{
	full_final(state, out);
	out->nextra = MIZAN_MAX_EXTRA + 1;
}

static const struct mizan_indicator indicators[] = {
	{.name = "extras_full", .unit = "count", .description = "Every extra figure there is room for.",
	 .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE), .state_size = sizeof(struct count_state),
	 .step = count_step, .final = full_final},
	{.name = "extras_too_many", .unit = "count", .description = "One extra figure too many.",
	 .kinds = MIZAN_KIND_BIT(MIZAN_SERVICE), .state_size = sizeof(struct count_state),
	 .step = count_step, .final = too_many_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "extras",
	.version = "1.0",
	MIZAN_INDICATORS(indicators),
};

MIZAN_PLUGIN(plugin)
