/* kpi.c - see kpi.h: the engine, what to recompute, and the folds of the
 * events; the rows an evaluation writes are made in kpi_results.c. */
#include "eval/kpi.h"
#include "eval/kpi_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"
#include "model/period.h"
#include "eval/plugin.h"
#include "eval/script.h"

static const struct {
	const char *name;
	enum field_id field;
} dims[] = {{"mission", F_MISSION}, {"country", F_COUNTRY}, {"service", F_SERVICE},
	    {"channel", F_CHANNEL}, {"sex", F_SEX},         {"age_group", F_AGE_GROUP}};

int kpi_engine_new(struct kpi_engine **out, const struct config *c, struct store *s,
		   struct registry *r)
{
	struct kpi_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = c;
	e->store = s;
	e->reg = r;
	for (size_t i = 0; i < c->slices.n && e->ndims < MAX_DIMS; i++)
		for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
			if (strcmp(c->slices.v[i], dims[d].name) == 0) {
				e->dim_name[e->ndims] = dims[d].name;
				e->dim_field[e->ndims++] = (int)dims[d].field;
			}
	*out = e;
	return 0;
}

void kpi_engine_free(struct kpi_engine *e)
{
	if (!e)
		return;
	strlist_free(&e->skip);
	free(e);
}

int kpi_engine_skip(struct kpi_engine *e, const char *kpi)
{
	return strlist_push(&e->skip, kpi);
}

void kpi_provenance(const struct indicator *ind, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s", ind->source, ind->origin, ind->version);
}

void kpi_event_view(const struct event *e, struct mizan_event *m)
{
	*m = (struct mizan_event){.size = sizeof(*m), .kind = (int)e->kind};
	for (int f = 0; f < F_NFIELDS; f++) {
		const struct event_member *mb = &event_members[f];
		char *at = (char *)m + mb->off;
		if (!mb->size)
			continue;
		bool has = event_has(e, (enum field_id)f);
		switch (event_fields[f].type) {
		case FT_NUM: {
			double d = has ? e->v[f].d : NAN; /* absent: NaN */
			memcpy(at, &d, sizeof(d));
			break;
		}
		case FT_INT:
		case FT_BOOL:
		case FT_TIME: {
			int64_t i = has ? e->v[f].i : -1; /* absent: -1 */
			if (mb->size == sizeof(int)) {
				int n = (int)i;
				memcpy(at, &n, sizeof(n));
			} else {
				memcpy(at, &i, sizeof(i));
			}
			break;
		}
		default: { /* texts, codes and enums */
			const char *t = has ? e->v[f].s : NULL;
			memcpy(at, &t, sizeof(t));
		}
		}
	}
}

/* ---- keys and tables ------------------------------------------------------------ */

/* A (KPI, period) as one number: the KPI's index in its upper 32 bits (a
 * configuration may hold any number of KPIs), then the period's kind (4
 * bits), year (16) and index in its year (8).  Keys of one KPI sort by
 * period kind, then time. */
static uint64_t period_key(int kpi, const struct period *p)
{
	return (uint64_t)(uint32_t)kpi << 32 | (uint64_t)(p->kind & 0xf) << 28 |
	       (uint64_t)(p->year & 0xffff) << 8 | (uint64_t)(p->index & 0xff);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_text(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int folds_grow(struct kpi_engine *e)
{
	size_t cap = e->fcap ? e->fcap * 2 : 256;
	struct fold **v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < e->fcap; i++) {
		struct fold *f = e->folds[i];
		if (!f)
			continue;
		size_t j = mix(f->key) & (cap - 1);
		while (v[j])
			j = (j + 1) & (cap - 1);
		v[j] = f;
	}
	free(e->folds);
	e->folds = v;
	e->fcap = cap;
	return 0;
}

/* The state of one slice value, made on first use.  NULL on failure. */
static void *slice_state(struct kpi_run *run, struct slice_map *m, const char *key)
{
	if (m->n * 2 >= m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct slot *v = calloc(cap, sizeof(*v));
		if (!v)
			return NULL;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].key)
				continue;
			size_t j = hash_text(m->v[i].key) & (cap - 1);
			while (v[j].key)
				j = (j + 1) & (cap - 1);
			v[j] = m->v[i];
		}
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	size_t j = hash_text(key) & (m->cap - 1);
	while (m->v[j].key) {
		if (strcmp(m->v[j].key, key) == 0)
			return m->v[j].state;
		j = (j + 1) & (m->cap - 1);
	}
	void *st = run->ind->ops->state_new(run->ind, &run->params, run->error);
	if (!st)
		return NULL;
	m->v[j].key = strdup(key);
	if (!m->v[j].key) {
		run->ind->ops->state_free(run->ind, st);
		return NULL;
	}
	m->v[j].state = st;
	m->n++;
	return st;
}

static void fold_free(struct kpi_engine *e, struct fold *f)
{
	struct indicator *ind = e->runs[f->kpi].ind;
	if (f->total)
		ind->ops->state_free(ind, f->total);
	for (int d = 0; d < MAX_DIMS; d++) {
		for (size_t i = 0; i < f->dims[d].cap; i++)
			if (f->dims[d].v[i].key) {
				free(f->dims[d].v[i].key);
				ind->ops->state_free(ind, f->dims[d].v[i].state);
			}
		free(f->dims[d].v);
	}
	free(f);
}

/* The fold of (kpi, period), or with day the delta of (kpi, local day
 * number p->index) whose period fields are those of one of its events: made
 * on first use.  NULL on failure. */
static struct fold *fold_find(struct kpi_engine *e, int kpi, const struct period *p, bool day)
{
	uint64_t key = day ? (uint64_t)(uint32_t)kpi << 32 | (uint64_t)0xf << 28 |
				     ((uint64_t)(uint32_t)p->index & 0x0fffffff)
			   : period_key(kpi, p);
	if (e->nfolds * 2 >= e->fcap && folds_grow(e) < 0)
		return NULL;
	size_t j = mix(key) & (e->fcap - 1);
	while (e->folds[j]) {
		if (e->folds[j]->key == key)
			return e->folds[j];
		j = (j + 1) & (e->fcap - 1);
	}
	struct kpi_run *run = &e->runs[kpi];
	struct fold *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = key;
	f->kpi = kpi;
	f->p = *p;
	f->day = day;
	if (!day)
		period_label(p, f->label);
	f->total = run->ind->ops->state_new(run->ind, &run->params, run->error);
	if (!f->total) {
		free(f);
		return NULL;
	}
	e->folds[j] = f;
	e->nfolds++;
	return f;
}

static struct fold *fold_get(struct kpi_engine *e, int kpi, const struct period *p)
{
	return fold_find(e, kpi, p, false);
}

/* ---- what to recompute ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool is_dirty(const struct kpi_run *run, uint64_t key)
{
	return run->full ||
	       (run->ndirty && bsearch(&key, run->dirty, run->ndirty, sizeof(key), cmp_u64) != NULL);
}

struct dirty_ctx {
	struct kpi_engine *e;
	size_t nkpis;
	int rc;
};

static int add_dirty(struct kpi_run *run, uint64_t key)
{
	uint64_t *p = realloc(run->dirty, (run->ndirty + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	run->dirty = p;
	run->dirty[run->ndirty++] = key;
	return 0;
}

/* A dirty (kind, UTC day) dirties, for each KPI reading that kind, the
 * periods the day overlaps (a UTC day can straddle two local periods). */
static void on_dirty(int kind, int64_t day, void *ud)
{
	struct dirty_ctx *d = ud;
	for (size_t k = 0; k < d->nkpis; k++) {
		struct kpi_run *run = &d->e->runs[k];
		if (!run->ind || run->full || run->incr || !(run->ind->kinds & MIZAN_KIND_BIT(kind)))
			continue;
		for (int i = 0; i < run->npk; i++) {
			struct period a, b;
			period_of(run->pkinds[i], day * 86400000, &a);
			period_of(run->pkinds[i], day * 86400000 + 86399999, &b);
			if (add_dirty(run, period_key((int)k, &a)) < 0 ||
			    (b.start_ms != a.start_ms && add_dirty(run, period_key((int)k, &b)) < 0))
				d->rc = -ENOMEM;
		}
	}
}

static void dedupe(struct kpi_run *run)
{
	if (!run->ndirty)
		return;
	qsort(run->dirty, run->ndirty, sizeof(uint64_t), cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < run->ndirty; i++)
		if (n == 0 || run->dirty[i] != run->dirty[n - 1])
			run->dirty[n++] = run->dirty[i];
	run->ndirty = n;
}

/* The time ranges a kind must be read over: the union of its KPIs' dirty
 * periods, or everything when one of them is evaluated whole. */
struct range {
	int64_t from, to;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

static size_t scan_ranges(struct kpi_engine *e, int kind, struct range **out)
{
	struct range *v = NULL;
	size_t n = 0;
	for (size_t k = 0; k < e->cfg->nkpis; k++) {
		struct kpi_run *run = &e->runs[k];
		if (!run->ind || run->failed || run->incr || !(run->ind->kinds & MIZAN_KIND_BIT(kind)))
			continue;
		size_t need = run->full ? 1 : run->ndirty;
		struct range *p = realloc(v, (n + need + 1) * sizeof(*p));
		if (!p)
			break;
		v = p;
		if (run->full) {
			v[n++] = (struct range){INT64_MIN, INT64_MAX};
			continue;
		}
		for (size_t i = 0; i < run->ndirty; i++) {
			struct period per;
			uint64_t key = run->dirty[i];
			period_make((enum period_kind)(key >> 28 & 0xf), (int)(key >> 8 & 0xffff),
				    (int)(key & 0xff), &per);
			v[n++] = (struct range){per.start_ms, per.end_ms};
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_range);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && v[i].from <= v[m - 1].to) {
			if (v[i].to > v[m - 1].to)
				v[m - 1].to = v[i].to;
		} else {
			v[m++] = v[i];
		}
	}
	*out = v;
	return m;
}

/* ---- folding ------------------------------------------------------------------------ */

void kpi_fail_run(struct kpi_engine *e, int k, const char *why)
{
	struct kpi_run *run = &e->runs[k];
	if (run->failed)
		return;
	run->failed = true;
	if (why != run->error)
		snprintf(run->error, sizeof(run->error), "%s", why);
	log_warn("kpi %s: %s", run->cfg->id, run->error);
}

static int step_one(struct kpi_engine *e, int k, void *state, const struct mizan_event *m)
{
	struct kpi_run *run = &e->runs[k];
	if (!state) {
		kpi_fail_run(e, k, run->error[0] ? run->error : "out of memory");
		return -ENOMEM;
	}
	int rc = run->ind->ops->step(run->ind, state, m, run->error);
	if (rc < 0)
		kpi_fail_run(e, k, run->error);
	return rc;
}

/* Charges KPI k with what its steps of one event took (since t0 and i0),
 * and fails it when its budget for one evaluation is spent: the limits of
 * scripts are per call, and a heavy step well within them, times every
 * event and slice, could otherwise hold evaluation for as long as it likes. */
static void charge(struct kpi_engine *e, int k, double t0, uint64_t i0)
{
	struct kpi_run *run = &e->runs[k];
	char why[IND_ERRLEN];
	run->seconds += time_mono() - t0;
	run->instructions += script_instructions_counted() - i0;
	if (run->failed)
		return;
	if (run->instructions > (uint64_t)e->cfg->eval_run_instructions)
		snprintf(why, sizeof(why),
			 "indicator %s used more than %lld instructions in one evaluation "
			 "(evaluation.run_instructions)",
			 run->ind->name, (long long)e->cfg->eval_run_instructions);
	else if (run->seconds > e->cfg->eval_run_seconds)
		snprintf(why, sizeof(why),
			 "indicator %s took more than %g s in one evaluation (evaluation.run_seconds)",
			 run->ind->name, e->cfg->eval_run_seconds);
	else
		return;
	kpi_fail_run(e, k, why);
}

/* Steps the whole and every slice of f with one event. */
static int step_fold(struct kpi_engine *e, int k, struct fold *f, const struct event *ev,
		     const struct mizan_event *m)
{
	struct kpi_run *run = &e->runs[k];
	int rc = step_one(e, k, f->total, m);
	for (int d = 0; rc >= 0 && d < e->ndims; d++) {
		int field = e->dim_field[d];
		if (!event_has(ev, (enum field_id)field))
			continue;
		rc = step_one(e, k, slice_state(run, &f->dims[d], ev->v[field].s), m);
	}
	return rc;
}

struct scan_ctx {
	struct kpi_engine *e;
	int kind;
	int64_t after; /* new events: the KPIs whose states include up to this number */
};

static int on_event(const struct event *ev, void *ud)
{
	struct scan_ctx *sc = ud;
	struct kpi_engine *e = sc->e;
	struct mizan_event m;
	int64_t ts = ev->v[F_TS].i;

	kpi_event_view(ev, &m);
	e->events++;
	e->prog->beat++;
	for (size_t k = 0; k < e->cfg->nkpis; k++) {
		struct kpi_run *run = &e->runs[k];
		if (!run->ind || run->failed || run->incr ||
		    !(run->ind->kinds & MIZAN_KIND_BIT(sc->kind)))
			continue;
		e->prog->kpi = (int)k;
		double t0 = time_mono();
		uint64_t i0 = script_instructions_counted();
		for (int i = 0; i < run->npk && !run->failed; i++) {
			struct fold *f = run->cur[i];
			if (!f || ts < f->p.start_ms || ts >= f->p.end_ms) {
				struct period p;
				period_of(run->pkinds[i], ts, &p);
				if (!is_dirty(run, period_key((int)k, &p))) {
					run->cur[i] = NULL;
					continue;
				}
				f = run->cur[i] = fold_get(e, (int)k, &p);
				if (!f) {
					kpi_fail_run(e, (int)k, run->error[0] ? run->error : "out of memory");
					break;
				}
			}
			if (step_fold(e, (int)k, f, ev, &m) < 0)
				break;
		}
		charge(e, (int)k, t0, i0);
	}
	e->prog->kpi = -1;
	return 0;
}

/* ---- only new events: day deltas merged into kept period states ------------------------- */

/* The local calendar day of ms (evaluation.timezone), as a number of days
 * since 1970-01-01. */
static int64_t local_day(int64_t ms)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
	y -= m <= 2; /* days from the civil date (H. Hinnant's algorithm) */
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* A new event: stepped into the delta of its local day for every KPI whose
 * kept states include up to sc->after. */
static int on_new_event(const struct event *ev, void *ud)
{
	struct scan_ctx *sc = ud;
	struct kpi_engine *e = sc->e;
	struct mizan_event m;
	int64_t ts = ev->v[F_TS].i;
	struct period day = {.index = (int)local_day(ts), .start_ms = ts, .end_ms = ts};

	kpi_event_view(ev, &m);
	e->events++;
	e->prog->beat++;
	for (size_t k = 0; k < e->cfg->nkpis; k++) {
		struct kpi_run *run = &e->runs[k];
		if (!run->incr || run->failed || run->upto != sc->after ||
		    !(run->ind->kinds & MIZAN_KIND_BIT(sc->kind)))
			continue;
		e->prog->kpi = (int)k;
		struct fold *f = fold_find(e, (int)k, &day, true);
		if (!f) {
			kpi_fail_run(e, (int)k, run->error[0] ? run->error : "out of memory");
			continue;
		}
		step_fold(e, (int)k, f, ev, &m);
	}
	e->prog->kpi = -1;
	return 0;
}

static int dim_index(const struct kpi_engine *e, const char *name)
{
	for (int d = 0; d < e->ndims; d++)
		if (strcmp(e->dim_name[d], name) == 0)
			return d;
	return -1;
}

/* A period's scope among a KPI's kept states. */
static int64_t period_scope(const struct period *p)
{
	return (int64_t)period_key(0, p);
}

struct load_ctx {
	struct kpi_engine *e;
	struct fold *f;
	int rc;
};

static int on_kept_state(const struct store_fold_state *st, void *ud)
{
	struct load_ctx *lc = ud;
	struct kpi_run *run = &lc->e->runs[lc->f->kpi];
	void *state = lc->f->total;
	if (*st->dim) {
		int d = dim_index(lc->e, st->dim);
		if (d < 0)
			return 0; /* a dimension no longer sliced (the signature says so too) */
		state = slice_state(run, &lc->f->dims[d], st->slice);
	}
	if (!state) {
		lc->rc = -ENOMEM;
		return 1;
	}
	lc->rc = run->ind->ops->load(run->ind, state, st->data, st->len, run->error);
	return lc->rc < 0;
}

/* Merges other (a day's delta) into f (a period, whose kept states are read
 * first): the whole and each slice. */
static int merge_into(struct kpi_engine *e, struct fold *f, struct fold *other, char *serr)
{
	struct kpi_run *run = &e->runs[f->kpi];
	const struct indicator *ind = run->ind;
	int rc;
	if (!f->loaded) {
		struct load_ctx lc = {e, f, 0};
		int64_t scope = period_scope(&f->p);
		rc = store_fold_states_each(e->store, run->cfg->id, scope, scope, on_kept_state, &lc,
					    serr);
		if (rc < 0)
			return rc; /* the store's failure: the whole evaluation's */
		f->loaded = true;
		if (lc.rc < 0) {
			kpi_fail_run(e, f->kpi, run->error[0] ? run->error : "out of memory");
			return 0;
		}
	}
	rc = ind->ops->merge(run->ind, f->total, other->total, run->error);
	for (int d = 0; rc >= 0 && d < e->ndims; d++)
		for (size_t i = 0; rc >= 0 && i < other->dims[d].cap; i++) {
			struct slot *sl = &other->dims[d].v[i];
			if (!sl->key)
				continue;
			void *st = slice_state(run, &f->dims[d], sl->key);
			rc = st ? ind->ops->merge(run->ind, st, sl->state, run->error) : -ENOMEM;
		}
	if (rc < 0)
		kpi_fail_run(e, f->kpi, run->error[0] ? run->error : "out of memory");
	return 0;
}

/* Every day's delta merged into the periods (of each of its KPI's kinds)
 * that hold the day. */
static int merge_days(struct kpi_engine *e, char *serr)
{
	size_t n = 0;
	struct fold **days = calloc(e->nfolds + 1, sizeof(*days));
	if (!days)
		return -ENOMEM;
	for (size_t i = 0; i < e->fcap; i++)
		if (e->folds[i] && e->folds[i]->day)
			days[n++] = e->folds[i];
	int rc = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		struct fold *df = days[i];
		struct kpi_run *run = &e->runs[df->kpi];
		e->prog->beat++;
		for (int k = 0; k < run->npk && !run->failed && rc >= 0; k++) {
			struct period p;
			period_of(run->pkinds[k], df->p.start_ms, &p);
			struct fold *pf = fold_get(e, df->kpi, &p);
			if (!pf) {
				kpi_fail_run(e, df->kpi, run->error[0] ? run->error : "out of memory");
				break;
			}
			rc = merge_into(e, pf, df, serr);
		}
	}
	free(days);
	return rc;
}

/* The signature of a KPI's kept states: what must not change for them to
 * be merged into. */
static void signature(const struct kpi_engine *e, const struct kpi_run *run, char *out, size_t len)
{
	struct buf b = {0};
	char prov[300];
	kpi_provenance(run->ind, prov, sizeof(prov));
	buf_puts(&b, "v1|");
	buf_puts(&b, run->ind->name);
	buf_puts(&b, "|");
	buf_puts(&b, prov);
	buf_puts(&b, "|tz=");
	buf_puts(&b, e->cfg->timezone ? e->cfg->timezone : "");
	buf_puts(&b, "|period=");
	buf_puts(&b, period_kind_name(run->cfg->period));
	buf_puts(&b, "|slices=");
	for (int d = 0; d < e->ndims; d++) {
		buf_puts(&b, e->dim_name[d]);
		buf_putc(&b, ',');
	}
	buf_puts(&b, "|params=");
	for (size_t i = 0; i < run->params.n; i++) {
		buf_puts(&b, run->params.keys[i]);
		buf_putc(&b, '=');
		buf_puts(&b, run->params.values[i]);
		buf_putc(&b, ';');
	}
	snprintf(out, len, "%.*s", b.oom ? 0 : (int)b.len, b.oom ? "" : (const char *)b.p);
	buf_free(&b);
}

/* The kept states of what this evaluation folded, for every KPI that keeps
 * them: (*out)[0..*nout), their bytes in *bytes. */
struct kept {
	struct store_fold_write *w;
	size_t nw;
	struct store_fold_state *st;
	size_t nst, cap;
	size_t *off; /* of each state's bytes in b */
	struct buf b;
};

static int keep_state(struct kpi_engine *e, struct kept *kp, struct fold *f, const char *dim,
		      const char *slice, void *state)
{
	struct kpi_run *run = &e->runs[f->kpi];
	if (kp->nst == kp->cap) {
		size_t cap = kp->cap ? kp->cap * 2 : 1024;
		struct store_fold_state *p = realloc(kp->st, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		kp->st = p;
		size_t *o = realloc(kp->off, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		kp->off = o;
		kp->cap = cap;
	}
	size_t at = kp->b.len;
	int rc = run->ind->ops->save(run->ind, state, &kp->b, run->error);
	if (rc < 0) {
		kpi_fail_run(e, f->kpi, run->error[0] ? run->error : "out of memory");
		return 0;
	}
	kp->off[kp->nst] = at;
	kp->st[kp->nst++] = (struct store_fold_state){
		.scope = period_scope(&f->p), .dim = dim, .slice = slice, .len = kp->b.len - at};
	return 0;
}

static int kept_collect(struct kpi_engine *e, struct kept *kp)
{
	size_t nk = e->cfg->nkpis;
	size_t *first = calloc(nk + 1, sizeof(*first));
	kp->w = calloc(nk + 1, sizeof(*kp->w));
	if (!first || !kp->w) {
		free(first);
		return -ENOMEM;
	}
	for (size_t k = 0; k < nk; k++) {
		struct kpi_run *run = &e->runs[k];
		first[k] = kp->nst;
		if (!run->keep || run->failed)
			continue;
		for (size_t i = 0; i < e->fcap; i++) {
			struct fold *f = e->folds[i];
			if (!f || f->day || f->kpi != (int)k)
				continue;
			if (keep_state(e, kp, f, "", "", f->total) < 0)
				goto oom;
			for (int d = 0; d < e->ndims; d++)
				for (size_t j = 0; j < f->dims[d].cap; j++)
					if (f->dims[d].v[j].key &&
					    keep_state(e, kp, f, e->dim_name[d], f->dims[d].v[j].key,
						       f->dims[d].v[j].state) < 0)
						goto oom;
		}
	}
	if (kp->b.oom)
		goto oom;
	for (size_t i = 0; i < kp->nst; i++)
		kp->st[i].data = kp->b.p + kp->off[i];
	for (size_t k = 0; k < nk; k++) {
		struct kpi_run *run = &e->runs[k];
		if (!run->keep || run->failed)
			continue;
		size_t end = k + 1 < nk ? first[k + 1] : kp->nst;
		kp->w[kp->nw++] = (struct store_fold_write){
			.kpi = run->cfg->id,
			.signature = run->sig,
			.upto_seq = e->last_seq,
			.reset = run->full,
			.states = kp->st + first[k],
			.nstates = end - first[k],
		};
	}
	free(first);
	return 0;
oom:
	free(first);
	return -ENOMEM;
}

static void kept_free(struct kept *kp)
{
	free(kp->w);
	free(kp->st);
	free(kp->off);
	buf_free(&kp->b);
}

/* ---- one evaluation ------------------------------------------------------------------ */

struct prior {
	struct kpi_engine *e;
	bool *has_results, *had_error;
};

static int seen_result(const struct store_result *r, void *ud)
{
	struct prior *p = ud;
	for (size_t k = 0; k < p->e->cfg->nkpis; k++)
		if (strcmp(p->e->cfg->kpis[k].id, r->kpi) == 0)
			p->has_results[k] = true;
	return 0;
}

static void seen_status(const char *kpi, const char *error, int64_t at, void *ud)
{
	struct prior *p = ud;
	(void)at;
	for (size_t k = 0; error && k < p->e->cfg->nkpis; k++)
		if (strcmp(p->e->cfg->kpis[k].id, kpi) == 0)
			p->had_error[k] = true;
}

/* Sets up one run per KPI: its indicator, parameters, periods, and whether
 * it is evaluated whole. */
static int prepare(struct kpi_engine *e, bool full, char *err, size_t errlen)
{
	const struct config *c = e->cfg;
	char serr[STORE_ERRLEN];
	bool *flags = calloc(2 * (c->nkpis + 1), sizeof(bool));
	e->runs = calloc(c->nkpis + 1, sizeof(*e->runs));
	if (!flags || !e->runs) {
		free(flags);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct prior prior = {e, flags, flags + c->nkpis + 1};
	struct store_result_query q = {.pkind = -1, .dim = "", .slice = "", .from_ms = INT64_MIN,
				       .to_ms = INT64_MAX, .latest = true};
	int rc = store_results_each(e->store, &q, seen_result, &prior, serr);
	if (rc >= 0)
		rc = store_kpi_status_each(e->store, seen_status, &prior, serr);
	if (rc < 0) {
		free(flags);
		snprintf(err, errlen, "%s", serr);
		return rc;
	}
	for (size_t k = 0; k < c->nkpis; k++) {
		const struct cfg_kpi *kc = &c->kpis[k];
		struct kpi_run *run = &e->runs[k];
		run->cfg = kc;
		if (!kc->indicator)
			continue; /* reported by people */
		if (strlist_has(&e->skip, kc->id)) {
			run->skipped = true;
			continue;
		}
		run->ind = registry_find(e->reg, kc->indicator);
		if (!run->ind) {
			snprintf(run->error, sizeof(run->error),
				 "no indicator named '%s' is loaded (see `mizan plugins`)", kc->indicator);
			run->failed = true;
			continue;
		}
		/* Parameters: the KPI's own, and min_answers from the evaluation's default. */
		size_t n = kc->nparams;
		run->keys = calloc(n + 1, sizeof(char *));
		run->values = calloc(n + 1, sizeof(char *));
		if (!run->keys || !run->values) {
			free(flags);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			run->keys[i] = kc->param_keys[i];
			run->values[i] = kc->param_values[i];
		}
		static char min_answers[24];
		snprintf(min_answers, sizeof(min_answers), "%d", c->min_answers);
		bool has_min = false;
		for (size_t i = 0; i < n; i++)
			has_min |= strcmp(kc->param_keys[i], "min_answers") == 0;
		if (!has_min) {
			run->keys[n] = "min_answers";
			run->values[n++] = min_answers;
		}
		run->params = (struct mizan_params){n, run->keys, run->values};
		run->pkinds[run->npk++] = kc->period;
		if (kc->period != PK_YEAR)
			run->pkinds[run->npk++] = PK_YEAR;
		run->full = full || !prior.has_results[k] || prior.had_error[k];
		run->keep = run->ind->ops->merge && run->ind->ops->save && run->ind->ops->load;
		if (run->keep) {
			char sig[SIGLEN];
			int64_t upto = 0;
			signature(e, run, run->sig, sizeof(run->sig));
			rc = store_fold_meta_get(e->store, kc->id, sig, sizeof(sig), &upto, serr);
			if (rc < 0) {
				free(flags);
				snprintf(err, errlen, "%s", serr);
				return rc;
			}
			run->incr = !run->full && rc > 0 && strcmp(sig, run->sig) == 0;
			run->upto = upto;
			run->full = !run->incr;
		}
	}
	free(flags);
	return 0;
}

static void finish(struct kpi_engine *e)
{
	for (size_t i = 0; i < e->fcap; i++)
		if (e->folds[i])
			fold_free(e, e->folds[i]);
	free(e->folds);
	e->folds = NULL;
	e->fcap = e->nfolds = 0;
	for (size_t k = 0; k < e->cfg->nkpis && e->runs; k++) {
		free(e->runs[k].dirty);
		free(e->runs[k].keys);
		free(e->runs[k].values);
	}
	free(e->runs);
	e->runs = NULL;
}

int kpi_eval(struct kpi_engine *e, bool full, struct kpi_progress *prog, struct eval_stats *st,
	     char *err, size_t errlen)
{
	struct kpi_progress local = {0};
	char serr[STORE_ERRLEN];
	double t0 = time_mono();
	int rc;
	struct kpi_rows rows = {0};
	struct store_result_key *keys = NULL;
	size_t nkeys = 0;
	char(*prov)[300] = NULL;
	struct kept kept = {0};

	memset(st, 0, sizeof(*st));
	e->prog = prog ? prog : &local;
	e->prog->kpi = -1;
	e->prog->busy = 1;
	e->events = 0;
	rc = prepare(e, full, err, errlen);
	if (rc < 0)
		goto out;

	/* What changed since the last evaluation. */
	int64_t upto = -1;
	struct dirty_ctx dc = {e, e->cfg->nkpis, 0};
	rc = store_dirty_read(e->store, &upto, on_dirty, &dc, serr);
	if (rc < 0 || dc.rc < 0) {
		snprintf(err, errlen, "%s", dc.rc < 0 ? "out of memory" : serr);
		rc = dc.rc < 0 ? dc.rc : rc;
		goto out;
	}
	for (size_t k = 0; k < e->cfg->nkpis; k++)
		dedupe(&e->runs[k]);
	/* Read after the dirty marks: every event they stand for is at or
	 * below it.  Nothing above it is folded. */
	e->last_seq = store_events_last_seq(e->store, serr);
	if (e->last_seq < 0) {
		rc = (int)e->last_seq;
		snprintf(err, errlen, "%s", serr);
		goto out;
	}

	/* One pass per kind over the ranges that need it. */
	for (int kind = 0; kind < EV_NKINDS; kind++) {
		struct range *ranges = NULL;
		size_t nr = scan_ranges(e, kind, &ranges);
		struct scan_ctx sc = {e, kind, 0};
		for (size_t i = 0; i < nr; i++) {
			for (size_t k = 0; k < e->cfg->nkpis; k++)
				e->runs[k].cur[0] = e->runs[k].cur[1] = NULL;
			rc = store_scan_seq(e->store, kind, ranges[i].from, ranges[i].to, 0,
					    e->last_seq, true, on_event, &sc, serr);
			if (rc < 0) {
				free(ranges);
				snprintf(err, errlen, "%s", serr);
				goto out;
			}
		}
		free(ranges);
	}

	/* The KPIs that keep states: the events stored since, by number, into
	 * day deltas (one pass per kind and number their states include up
	 * to), merged into the kept states of their periods. */
	for (int kind = 0; kind < EV_NKINDS; kind++) {
		int64_t done = -1;
		for (;;) {
			int64_t after = -1;
			for (size_t k = 0; k < e->cfg->nkpis; k++) {
				struct kpi_run *run = &e->runs[k];
				if (run->incr && !run->failed && run->upto < e->last_seq &&
				    run->upto > done && (after < 0 || run->upto < after) &&
				    (run->ind->kinds & MIZAN_KIND_BIT(kind)))
					after = run->upto;
			}
			if (after < 0)
				break;
			struct scan_ctx sc = {e, kind, after};
			rc = store_scan_seq(e->store, kind, INT64_MIN, INT64_MAX, after, e->last_seq,
					    false, on_new_event, &sc, serr);
			if (rc < 0) {
				snprintf(err, errlen, "%s", serr);
				goto out;
			}
			done = after;
		}
	}
	rc = merge_days(e, serr);
	if (rc < 0) {
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : serr);
		goto out;
	}

	/* Final values, written with the dirty marks they consumed; the store
	 * numbers the run as it writes them. */
	prov = calloc(e->cfg->nkpis + 1, sizeof(*prov));
	if (!prov) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < e->cfg->nkpis; k++)
		if (e->runs[k].ind)
			kpi_provenance(e->runs[k].ind, prov[k], sizeof(prov[k]));
	rc = kpi_rows_collect(e, &rows, &keys, &nkeys, prov);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = kept_collect(e, &kept);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	kpi_rows_drop_failed(e, &rows, keys, &nkeys);
	rc = store_results_write_folds(e->store, keys, nkeys, rows.v, rows.n, upto, kept.w, kept.nw,
				       &st->run, serr);
	if (rc < 0) {
		snprintf(err, errlen, "%s", serr);
		goto out;
	}
	for (size_t k = 0; k < e->cfg->nkpis; k++) {
		struct kpi_run *run = &e->runs[k];
		if (!run->cfg->indicator || run->skipped)
			continue;
		store_kpi_status_set(e->store, run->cfg->id, run->failed ? run->error : NULL,
				     run->ind ? run->ind->kinds : 0, serr);
		st->failed += run->failed;
		st->kpis += !run->failed;
	}
	st->periods = nkeys;
	st->results = rows.n;
	st->events = e->events;
	rc = 0;
out:
	kept_free(&kept);
	free(prov);
	free(keys);
	kpi_rows_free(&rows);
	finish(e);
	st->seconds = time_mono() - t0;
	e->prog->busy = 0;
	e->prog->kpi = -1;
	return rc;
}
