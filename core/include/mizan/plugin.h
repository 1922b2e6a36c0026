/* mizan/plugin.h - the interface between Mizan and an indicator plugin.
 *
 * An indicator is a fold over the events of one period and one slice:
 *
 *     state = zeroed memory of state_size bytes
 *     init(state, params, host)          once
 *     step(state, event)                 once per event, in time order
 *     merge(state, other)                optional: fold another state in
 *     final(state, &result)              once, at the end
 *     fini(state)                        once, always, after init succeeded
 *
 * ABI 2: kept states.  The host may keep an indicator's partial state per
 * (KPI, slice, local day) and per period, and fold a new batch of events
 * into them (a period being the merge of its days), so it must be able to
 * store states and bring them back, in another process, later.  A plugin of ABI 2 whose
 * indicator has merge says how, one of two ways:
 *   - plain data (no save/load): the state's state_size bytes hold no
 *     pointer and nothing init allocated; the host copies them as they are
 *     and restores a state by copying them over one fresh from init (with
 *     the same params);
 *   - save/load: the state holds pointers (a set of names, say); save
 *     writes it as bytes, load reads them into a state fresh from init.
 * The bytes are read back only by the same plugin version with the same
 * params: a plugin that changes its state's layout changes its version.
 * An indicator without merge, and every indicator of an ABI-1 plugin
 * (still loaded), is evaluated by rescanning each period its events touch.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * mizan_plugin_entry, returning a description of itself and the indicators
 * it provides.  The host calls nothing else by name and exports nothing: all
 * it offers a plugin comes through struct mizan_host.
 *
 * Versioning.  The host first reads `abi` and `size` of what the entry
 * returns and refuses a plugin whose abi is not MIZAN_PLUGIN_ABI, before it
 * touches anything else.  Within one ABI, structs only grow at their end,
 * and each carries its size, so either side can tell whether a newer member
 * is there.
 *
 * Memory, and who owns what:
 *  - The host allocates every state (state_size bytes, zeroed, aligned for
 *    any type) and frees it after fini.  A plugin never frees a state.
 *  - What init allocates (with host->alloc or malloc), fini frees.
 *  - An event, its strings, and params are the host's, valid only during the
 *    call they are passed to.  Copy what you keep (e.g. a set of service
 *    names) into memory of your own.
 *  - Strings a plugin returns (names, units, extra names, notes) must stay
 *    valid until the plugin is unloaded: use string literals.
 *  - The host may run folds of one indicator in several processes, and
 *    several states of one indicator at once in one thread; it never calls
 *    one plugin from two threads at once.  Keep no mutable globals.
 *
 * Errors: functions that can fail return 0 or a negative errno value.  The
 * host takes any nonzero return (of init, merge, or the plugin's init) as a
 * failure, and names it with strerror() of its absolute value.
 *
 * Build a plugin out of tree with `pkg-config --cflags mizan-plugin`, as a
 * shared object with hidden visibility for everything but the entry.
 */
#ifndef MIZAN_PLUGIN_H
#define MIZAN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIZAN_PLUGIN_ABI 2
/* The oldest ABI the host still loads (its indicators are rescanned). */
#define MIZAN_PLUGIN_ABI_MIN 1

enum mizan_kind { MIZAN_SERVICE, MIZAN_TRAINING, MIZAN_PROJECT, MIZAN_SATISFACTION };
#define MIZAN_KIND_BIT(k) (1u << (k))

/* One event as an indicator sees it.  Absent texts are NULL, absent numbers
 * NaN (test with isnan), absent integers and booleans -1.  Enumerations are
 * the contract's spellings ("completed", "mobile_app", ...). */
struct mizan_event {
	uint32_t size; /* sizeof(struct mizan_event) as the host built it */
	int kind;      /* enum mizan_kind */
	int64_t ts_ms; /* ms since the epoch, UTC */
	const char *id;
	const char *mission, *country, *sex, *age_group;
	const char *service, *channel, *outcome;             /* service */
	const char *title, *programme;                       /* training */
	const char *sector, *contribution, *currency;        /* project (currency: also training) */
	const char *subject;                                 /* satisfaction */
	int automated;                                       /* service: 1, 0 */
	double duration_min;                                 /* service */
	double hours, cost, benefit;                         /* training */
	double amount;                                       /* project */
	double score;                                        /* satisfaction */
	int64_t participants, contributors, scale;
};

#define MIZAN_MAX_EXTRA 8

/* What final() produces.  The host zeroes it and sets value to NaN before
 * the call. */
struct mizan_result {
	double value; /* NaN: no figure for this period and slice */
	double n;     /* the sample size the value rests on */
	/* Figures shown beside the value (a mean, a count, an evenness). */
	struct {
		const char *name; /* a literal; never NULL */
		double value;     /* NaN or infinite: shown as no value */
	} extra[MIZAN_MAX_EXTRA];
	/* How many of extra[] are set, 0 to MIZAN_MAX_EXTRA: more, or a set one
	 * without a name, fails the KPI for this evaluation. */
	int nextra;
	const char *note; /* a literal, e.g. "insufficient data"; NULL if none */
};

/* The KPI's parameters from the configuration (e.g. subject = "service"). */
struct mizan_params;

struct mizan_host {
	uint32_t abi;  /* MIZAN_PLUGIN_ABI of the host */
	uint32_t size; /* sizeof(struct mizan_host) as the host built it */
	/* One line in the host's log.  level: 0 (or less) error, 1 warning,
	 * 2 (or more) info.  The host prefixes "plugin: ", not the plugin's
	 * name (one function serves every plugin: name yourself in the text),
	 * and cuts the text at 511 bytes.  Any thread. */
	void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *(*alloc)(size_t size); /* NULL when out of memory */
	void (*free)(void *p);
	/* A parameter's text, or NULL when the KPI does not set it. */
	const char *(*param)(const struct mizan_params *params, const char *key);
	/* A parameter as a number, or `otherwise` when unset or not a number. */
	double (*param_number)(const struct mizan_params *params, const char *key, double otherwise);
};

struct mizan_indicator {
	const char *name;        /* unique across all plugins and scripts: [a-z0-9_] */
	const char *unit;        /* "count", "%", "JOD", ... */
	const char *description; /* one sentence: the formula */
	unsigned kinds;          /* MIZAN_KIND_BIT()s of the events it reads */
	size_t state_size;
	/* Optional.  0, or a negative errno: the state is then freed without
	 * fini, and the KPI fails with "init of <name> failed: <strerror>". */
	int (*init)(void *state, const struct mizan_params *params,
		    const struct mizan_host *host);
	void (*step)(void *state, const struct mizan_event *ev);
	/* Optional: folds `other` into `state`; `other` is then fini'd and
	 * freed by the host.  The result must not depend on how the events were
	 * split between the two states, nor (beyond rounding) on their order:
	 * the host folds a batch of late events into a day that has a state. */
	int (*merge)(void *state, const void *other);
	void (*final)(const void *state, struct mizan_result *out);
	void (*fini)(void *state); /* optional */
	/* ABI 2, optional (both or neither; see "kept states" above): save
	 * writes the state into buf[0..cap) and returns how many bytes it
	 * needs (the host calls again with a buffer that big when that is more
	 * than cap), or a negative errno.  load restores into a state fresh
	 * from init what save wrote (len bytes): 0, or a negative errno. */
	long (*save)(const void *state, void *buf, size_t cap);
	int (*load)(void *state, const void *buf, size_t len);
};

struct mizan_plugin {
	uint32_t abi;  /* MIZAN_PLUGIN_ABI: first, always */
	uint32_t size; /* sizeof(struct mizan_plugin) */
	const char *name;
	const char *version;
	/* An array of nindicators descriptions, each indicator_size bytes apart:
	 * the host steps through it with the plugin's size, so the struct can
	 * grow.  Set all three with MIZAN_INDICATORS(array). */
	const struct mizan_indicator *indicators;
	size_t nindicators;
	size_t indicator_size;
	/* Optional: called once, after every check has passed and before any
	 * indicator is registered, with err a zeroed buffer of errlen bytes.
	 * Return 0, or a negative errno and, if you like, a sentence in err.
	 * On failure the host refuses the plugin with "plugin init failed:
	 * <your sentence>" (strerror() of the return value when err is left
	 * empty), does not call fini, dlcloses it and registers none of its
	 * indicators: it is never called again. */
	int (*init)(const struct mizan_host *host, char *err, size_t errlen);
	/* Optional: called once, when the last of the plugin's indicators is
	 * unloaded, just before dlclose; only when the plugin has an init and
	 * that init succeeded (without an init, fini is never called). */
	void (*fini)(void);
};

/* In a struct mizan_plugin initialiser:  MIZAN_INDICATORS(my_indicators), */
#define MIZAN_INDICATORS(array)                                                                    \
	.indicators = (array), .nindicators = sizeof(array) / sizeof((array)[0]),                  \
	.indicator_size = sizeof((array)[0])

/* The one symbol a plugin exports. */
#define MIZAN_PLUGIN_ENTRY_NAME "mizan_plugin_entry"
typedef const struct mizan_plugin *(*mizan_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define MIZAN_EXPORT __attribute__((visibility("default")))
#else
#define MIZAN_EXPORT
#endif

/* Declares the entry:  MIZAN_PLUGIN(my_plugin)  where my_plugin is a
 * `static const struct mizan_plugin`. */
#define MIZAN_PLUGIN(desc)                                                                         \
	MIZAN_EXPORT const struct mizan_plugin *mizan_plugin_entry(void);                           \
	MIZAN_EXPORT const struct mizan_plugin *mizan_plugin_entry(void)                            \
	{                                                                                          \
		return &(desc);                                                                    \
	}

#ifdef __cplusplus
}
#endif

#endif
