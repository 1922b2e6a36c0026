/* strategy.c - the indicators of the Jordanian Expatriates Strategy that a
 * plain count or mean in a script does not express well, written in C.
 *
 * Each indicator is a fold (see <mizan/plugin.h>): a zeroed state, init,
 * step per event, merge (all of these merge), final.  Above each one, its
 * formula, so that a figure can be checked by hand.  Absent fields are NULL
 * (texts), NaN (numbers) and -1 (integers and booleans).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <mizan/plugin.h>

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static void put_extra(struct mizan_result *out, const char *name, double value)
{
	if (out->nextra < MIZAN_MAX_EXTRA) {
		out->extra[out->nextra].name = name;
		out->extra[out->nextra].value = value;
		out->nextra++;
	}
}

/* ---- automated_services ------------------------------------------------
 *
 * Kinds: service.
 *   value = |{ e.service : e is a service event with e.automated = 1 }|
 *           (the number of distinct services delivered at least once by an
 *           automated process in the period and slice)
 *   n     = the number of service events with automated = 1
 *   extra automated_events = n
 *   extra service_events   = the number of service events
 * Merge: the union of the sets, the sums of the counts.
 *
 * The set copies the service codes (the event's strings are only lent for
 * the step): an open-addressing hash table with linear probing, at most half
 * full, in memory from host->alloc, freed in fini.  Out of memory during a
 * step cannot be reported there; it is remembered and final gives NaN with
 * the note "out of memory".
 */

struct strset {
	char **slot;  /* cap entries, NULL when empty */
	size_t cap;   /* a power of two */
	size_t n;
};

struct automated_state {
	const struct mizan_host *host;
	struct strset set;
	double automated_events, service_events;
	int oom;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot that holds s, or the empty slot where it belongs. */
static size_t strset_find(const struct strset *set, const char *s)
{
	size_t i = (size_t)str_hash(s) & (set->cap - 1);
	while (set->slot[i] && strcmp(set->slot[i], s) != 0)
		i = (i + 1) & (set->cap - 1);
	return i;
}

static int strset_grow(const struct mizan_host *host, struct strset *set)
{
	size_t cap = set->cap * 2;
	char **slot = host->alloc(cap * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	memset(slot, 0, cap * sizeof(*slot));
	struct strset bigger = {slot, cap, set->n};
	for (size_t i = 0; i < set->cap; i++)
		if (set->slot[i])
			slot[strset_find(&bigger, set->slot[i])] = set->slot[i];
	host->free(set->slot);
	*set = bigger;
	return 0;
}

/* Adds a copy of s; 0 (also when it was there), or -ENOMEM. */
static int strset_add(const struct mizan_host *host, struct strset *set, const char *s)
{
	size_t i = strset_find(set, s);
	if (set->slot[i])
		return 0;
	if (2 * (set->n + 1) > set->cap) {
		if (strset_grow(host, set))
			return -ENOMEM;
		i = strset_find(set, s);
	}
	size_t len = strlen(s) + 1;
	char *copy = host->alloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	set->slot[i] = copy;
	set->n++;
	return 0;
}

static int automated_init(void *state, const struct mizan_params *params,
			  const struct mizan_host *host)
{
	struct automated_state *st = state;
	st->host = host;
	st->set.cap = 16;
	st->set.slot = host->alloc(st->set.cap * sizeof(*st->set.slot));
	if (!st->set.slot)
		return -ENOMEM;
	memset(st->set.slot, 0, st->set.cap * sizeof(*st->set.slot));
	return 0;
}

static void automated_step(void *state, const struct mizan_event *ev)
{
	struct automated_state *st = state;
	if (ev->kind != MIZAN_SERVICE)
		return;
	st->service_events++;
	if (ev->automated != 1)
		return;
	st->automated_events++;
	if (ev->service && strset_add(st->host, &st->set, ev->service))
		st->oom = 1;
}

static int automated_merge(void *state, const void *other)
{
	struct automated_state *st = state;
	const struct automated_state *o = other;
	for (size_t i = 0; i < o->set.cap; i++)
		if (o->set.slot[i] && strset_add(st->host, &st->set, o->set.slot[i]))
			return -ENOMEM;
	st->automated_events += o->automated_events;
	st->service_events += o->service_events;
	st->oom |= o->oom;
	return 0;
}

static void automated_final(const void *state, struct mizan_result *out)
{
	const struct automated_state *st = state;
	out->value = st->oom ? NAN : (double)st->set.n;
	out->n = st->automated_events;
	put_extra(out, "automated_events", st->automated_events);
	put_extra(out, "service_events", st->service_events);
	if (st->oom)
		out->note = "out of memory";
}

/* Kept as bytes (the set holds pointers): the two counts and oom as three
 * doubles, then each service code with its NUL. */
static long automated_save(const void *state, void *buf, size_t cap)
{
	const struct automated_state *st = state;
	double head[3] = {st->automated_events, st->service_events, st->oom};
	size_t need = sizeof(head);
	for (size_t i = 0; i < st->set.cap; i++)
		if (st->set.slot[i])
			need += strlen(st->set.slot[i]) + 1;
	if (need > cap)
		return (long)need;
	char *p = buf;
	memcpy(p, head, sizeof(head));
	p += sizeof(head);
	for (size_t i = 0; i < st->set.cap; i++)
		if (st->set.slot[i]) {
			size_t len = strlen(st->set.slot[i]) + 1;
			memcpy(p, st->set.slot[i], len);
			p += len;
		}
	return (long)need;
}

static int automated_load(void *state, const void *buf, size_t len)
{
	struct automated_state *st = state;
	double head[3];
	if (len < sizeof(head) || (len > sizeof(head) && ((const char *)buf)[len - 1] != '\0'))
		return -EINVAL;
	memcpy(head, buf, sizeof(head));
	st->automated_events = head[0];
	st->service_events = head[1];
	st->oom = head[2] != 0;
	for (const char *p = (const char *)buf + sizeof(head), *end = (const char *)buf + len;
	     p < end; p += strlen(p) + 1)
		if (strset_add(st->host, &st->set, p))
			return -ENOMEM;
	return 0;
}

static void automated_fini(void *state)
{
	struct automated_state *st = state;
	if (!st->set.slot)
		return;
	for (size_t i = 0; i < st->set.cap; i++)
		st->host->free(st->set.slot[i]);
	st->host->free(st->set.slot);
}

/* ---- workshops_held ----------------------------------------------------
 *
 * Kinds: training.  Every training event is one workshop or programme
 * session held.
 *   value = n = the number of training events
 *   extra participants = sum of participants (absent counts 0)
 *   extra hours        = sum of hours (absent counts 0)
 * Merge: sums.
 */

struct workshops_state {
	double events, participants, hours;
};

static void workshops_step(void *state, const struct mizan_event *ev)
{
	struct workshops_state *st = state;
	if (ev->kind != MIZAN_TRAINING)
		return;
	st->events++;
	if (ev->participants >= 0)
		st->participants += (double)ev->participants;
	if (!isnan(ev->hours))
		st->hours += ev->hours;
}

static int workshops_merge(void *state, const void *other)
{
	struct workshops_state *st = state;
	const struct workshops_state *o = other;
	st->events += o->events;
	st->participants += o->participants;
	st->hours += o->hours;
	return 0;
}

static void workshops_final(const void *state, struct mizan_result *out)
{
	const struct workshops_state *st = state;
	out->value = st->events;
	out->n = st->events;
	put_extra(out, "participants", st->participants);
	put_extra(out, "hours", st->hours);
}

/* ---- projects_count ----------------------------------------------------
 *
 * Kinds: project.  Every project event is one project or contribution.
 *   value = n = the number of project events
 *   extra contributors = sum of contributors (absent counts 1, as the
 *                        contract says)
 * Merge: sums.
 */

struct projects_state {
	double events, contributors;
};

static void projects_step(void *state, const struct mizan_event *ev)
{
	struct projects_state *st = state;
	if (ev->kind != MIZAN_PROJECT)
		return;
	st->events++;
	st->contributors += ev->contributors >= 0 ? (double)ev->contributors : 1;
}

static int projects_merge(void *state, const void *other)
{
	struct projects_state *st = state;
	const struct projects_state *o = other;
	st->events += o->events;
	st->contributors += o->contributors;
	return 0;
}

static void projects_final(const void *state, struct mizan_result *out)
{
	const struct projects_state *st = state;
	out->value = st->events;
	out->n = st->events;
	put_extra(out, "contributors", st->contributors);
}

/* ---- channel_diversity -------------------------------------------------
 *
 * Kinds: service.  A channel is in use when services were delivered through
 * it: service events only.  Satisfaction answers are left out on purpose:
 * they say how people judged a channel, not that a service went through it,
 * and counting them would count one visit twice.
 *
 *   c_i   = the number of service events through channel i (the eight
 *           channels of the contract; an unknown or absent channel is
 *           not counted anywhere)
 *   in use: c_i >= min_events (param, default 1; below 1 means 1)
 *   value = k = the number of channels in use
 *   p_i   = c_i / sum of c_j over the channels in use
 *   extra entropy  H = -sum p_i ln p_i over the channels in use (0 when k = 0)
 *   extra evenness   = H / ln k when k >= 2, else 0
 *   n     = the number of service events with a known channel
 * Merge: sums of the counters.
 *
 * Example: in_person 2, online 1, phone 1, min_events 1: k = 3,
 * p = (.5, .25, .25), H = 1.5 ln 2 = 1.0397, evenness = H / ln 3 = 0.9464.
 */

static const char *const channels[] = {
	"in_person", "online", "mobile_app", "phone", "email", "messaging", "social_media", "video_call",
};

struct channel_state {
	double count[countof(channels)];
	double min_events;
};

static int channel_init(void *state, const struct mizan_params *params,
			const struct mizan_host *host)
{
	struct channel_state *st = state;
	double m = host->param_number(params, "min_events", 1);
	st->min_events = isnan(m) || m < 1 ? 1 : m;
	return 0;
}

static void channel_step(void *state, const struct mizan_event *ev)
{
	struct channel_state *st = state;
	if (ev->kind != MIZAN_SERVICE || !ev->channel)
		return;
	for (size_t i = 0; i < countof(channels); i++) {
		if (strcmp(ev->channel, channels[i]) == 0) {
			st->count[i]++;
			return;
		}
	}
}

static int channel_merge(void *state, const void *other)
{
	struct channel_state *st = state;
	const struct channel_state *o = other;
	for (size_t i = 0; i < countof(channels); i++)
		st->count[i] += o->count[i];
	return 0;
}

static void channel_final(const void *state, struct mizan_result *out)
{
	const struct channel_state *st = state;
	double n = 0, used = 0, k = 0, h = 0;
	for (size_t i = 0; i < countof(channels); i++) {
		n += st->count[i];
		if (st->count[i] >= st->min_events) {
			used += st->count[i];
			k++;
		}
	}
	for (size_t i = 0; i < countof(channels); i++) {
		if (st->count[i] >= st->min_events) {
			double p = st->count[i] / used;
			h -= p * log(p);
		}
	}
	out->value = k;
	out->n = n;
	put_extra(out, "evenness", k >= 2 ? h / log(k) : 0);
	put_extra(out, "entropy", h);
}

/* ---- satisfaction_share_c ----------------------------------------------
 *
 * The scripts' satisfaction_share, in C (to compare the two).
 * Kinds: satisfaction.  Params: subject (default "service"), min_answers
 * (default 30).
 *   answers = the satisfaction events whose subject is `subject`, with a
 *             score and a scale of 2 or more
 *   value   = 100 * |{ answers with score >= scale - 1 }| / |answers|
 *             (the share, in %, of the top two points of the scale);
 *             NaN with the note "insufficient data" when answers < min_answers
 *   extra mean    = the mean of (score - 1) / (scale - 1) * 100 over the
 *                   answers (0 the worst, 100 the best; NaN when none)
 *   extra answers = |answers|
 *   n       = |answers|
 * Merge: sums.
 *
 * Example: scores 5, 4, 3, 1 on a 5-point scale, min_answers 1:
 * value = 2/4 = 50 %, mean = (100 + 75 + 50 + 0) / 4 = 56.25.
 */

struct share_state {
	char subject[64];
	double min_answers;
	double answers, top, sum_norm;
};

static int share_init(void *state, const struct mizan_params *params,
		      const struct mizan_host *host)
{
	struct share_state *st = state;
	const char *subject = host->param(params, "subject");
	if (!subject)
		subject = "service";
	if (strlen(subject) >= sizeof(st->subject))
		return -EINVAL;
	strcpy(st->subject, subject);
	double m = host->param_number(params, "min_answers", 30);
	st->min_answers = isnan(m) || m < 0 ? 0 : m;
	return 0;
}

static void share_step(void *state, const struct mizan_event *ev)
{
	struct share_state *st = state;
	if (ev->kind != MIZAN_SATISFACTION || !ev->subject || strcmp(ev->subject, st->subject) != 0)
		return;
	if (isnan(ev->score) || ev->scale < 2)
		return;
	double scale = (double)ev->scale;
	st->answers++;
	if (ev->score >= scale - 1)
		st->top++;
	st->sum_norm += (ev->score - 1) / (scale - 1) * 100;
}

static int share_merge(void *state, const void *other)
{
	struct share_state *st = state;
	const struct share_state *o = other;
	st->answers += o->answers;
	st->top += o->top;
	st->sum_norm += o->sum_norm;
	return 0;
}

static void share_final(const void *state, struct mizan_result *out)
{
	const struct share_state *st = state;
	out->n = st->answers;
	if (st->answers < st->min_answers || st->answers == 0) {
		out->value = NAN;
		out->note = "insufficient data";
	} else {
		out->value = 100 * st->top / st->answers;
	}
	put_extra(out, "mean", st->answers > 0 ? st->sum_norm / st->answers : NAN);
	put_extra(out, "answers", st->answers);
}

/* ---- the plugin -------------------------------------------------------- */

static const struct mizan_indicator strategy_indicators[] = {
	{
		.name = "automated_services",
		.unit = "count",
		.description = "Distinct services delivered at least once by an automated process.",
		.kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
		.state_size = sizeof(struct automated_state),
		.init = automated_init,
		.step = automated_step,
		.merge = automated_merge,
		.save = automated_save,
		.load = automated_load,
		.final = automated_final,
		.fini = automated_fini,
	},
	{
		.name = "workshops_held",
		.unit = "count",
		.description = "Training events (workshops and programme sessions) held.",
		.kinds = MIZAN_KIND_BIT(MIZAN_TRAINING),
		.state_size = sizeof(struct workshops_state),
		.step = workshops_step,
		.merge = workshops_merge,
		.final = workshops_final,
	},
	{
		.name = "projects_count",
		.unit = "count",
		.description = "Projects and contributions by expatriates.",
		.kinds = MIZAN_KIND_BIT(MIZAN_PROJECT),
		.state_size = sizeof(struct projects_state),
		.step = projects_step,
		.merge = projects_merge,
		.final = projects_final,
	},
	{
		.name = "channel_diversity",
		.unit = "count",
		.description = "Service channels with at least min_events services; "
			       "Shannon evenness of their shares beside it.",
		.kinds = MIZAN_KIND_BIT(MIZAN_SERVICE),
		.state_size = sizeof(struct channel_state),
		.init = channel_init,
		.step = channel_step,
		.merge = channel_merge,
		.final = channel_final,
	},
	{
		.name = "satisfaction_share_c",
		.unit = "%",
		.description = "Share of answers on the subject in the top two points of their scale.",
		.kinds = MIZAN_KIND_BIT(MIZAN_SATISFACTION),
		.state_size = sizeof(struct share_state),
		.init = share_init,
		.step = share_step,
		.merge = share_merge,
		.final = share_final,
	},
};

static const struct mizan_plugin strategy_plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "strategy",
	.version = "1.0.0",
	MIZAN_INDICATORS(strategy_indicators),
};

MIZAN_PLUGIN(strategy_plugin)
