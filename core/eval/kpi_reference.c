/* kpi_reference.c - `mizan eval --reference`: each period's figures by a
 * straight fold over its events in time order, fresh states, no kept state,
 * no merge, nothing written: what the evaluation's figures are checked
 * against. */
#include "eval/kpi.h"
#include "eval/kpi_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

struct ref_slice {
	int dim;
	char *key;
	void *state;
};

struct ref {
	struct kpi_engine *e;
	const struct cfg_kpi *kc;
	struct indicator *ind;
	struct mizan_params params;
	enum period_kind pk;
	const char *dim; /* NULL: every dimension; "": the whole only */
	int (*cb)(const struct store_result *r, void *ud);
	void *ud;
	char prov[300];
	char error[IND_ERRLEN];
	bool open, failed;
	struct period p;
	void *total;
	struct ref_slice *sl;
	size_t nsl, cap;
	int rc;
};

static void ref_clear(struct ref *r)
{
	if (r->total)
		r->ind->ops->state_free(r->ind, r->total);
	for (size_t i = 0; i < r->nsl; i++) {
		r->ind->ops->state_free(r->ind, r->sl[i].state);
		free(r->sl[i].key);
	}
	r->total = NULL;
	r->nsl = 0;
	r->open = false;
}

static int ref_row(struct ref *r, const char *dim, const char *slice, void *state)
{
	struct mizan_result res;
	memset(&res, 0, sizeof(res));
	res.value = NAN;
	if (r->ind->ops->final(r->ind, state, &res, r->error) < 0)
		return -EINVAL;
	char label[16];
	period_label(&r->p, label);
	char *extra = kpi_extra_json(&res);
	struct store_result row = {
		.kpi = r->kc->id, .period = label, .dim = dim, .slice = slice,
		.pkind = (int)r->p.kind, .start_ms = r->p.start_ms,
		.value = isfinite(res.value) ? res.value : NAN, .n = isfinite(res.n) ? res.n : 0,
		.extra = extra, .note = res.note, .provenance = r->prov,
		.computed_ms = time_now_ms(),
	};
	int rc = r->cb(&row, r->ud);
	free(extra);
	return rc;
}

/* The period ends: its rows, then fresh states for the next. */
static int ref_close(struct ref *r)
{
	int rc = 0;
	if (!r->open || r->failed) {
		ref_clear(r);
		return 0;
	}
	if (!r->dim || !*r->dim)
		rc = ref_row(r, "", "", r->total);
	for (size_t i = 0; rc == 0 && i < r->nsl; i++) {
		const char *dn = r->e->dim_name[r->sl[i].dim];
		if (!r->dim || strcmp(r->dim, dn) == 0)
			rc = ref_row(r, dn, r->sl[i].key, r->sl[i].state);
	}
	ref_clear(r);
	return rc;
}

static int ref_fail(struct ref *r)
{
	r->failed = true;
	fprintf(stderr, "mizan eval: kpi %s: %s\n", r->kc->id, r->error);
	return 0;
}

static int ref_event(const struct event *ev, void *ud)
{
	struct ref *r = ud;
	if (r->failed || !(r->ind->kinds & MIZAN_KIND_BIT((int)ev->kind)))
		return 0;
	int64_t ts = ev->v[F_TS].i;
	if (r->open && (ts < r->p.start_ms || ts >= r->p.end_ms) && (r->rc = ref_close(r)) != 0)
		return 1;
	if (!r->open) {
		period_of(r->pk, ts, &r->p);
		r->total = r->ind->ops->state_new(r->ind, &r->params, r->error);
		if (!r->total)
			return ref_fail(r);
		r->open = true;
	}
	struct mizan_event m;
	kpi_event_view(ev, &m);
	if (r->ind->ops->step(r->ind, r->total, &m, r->error) < 0)
		return ref_fail(r);
	for (int d = 0; d < r->e->ndims; d++) {
		int field = r->e->dim_field[d];
		if (!event_has(ev, (enum field_id)field))
			continue;
		const char *key = ev->v[field].s;
		struct ref_slice *s = NULL;
		for (size_t i = 0; i < r->nsl && !s; i++)
			if (r->sl[i].dim == d && strcmp(r->sl[i].key, key) == 0)
				s = &r->sl[i];
		if (!s) {
			if (r->nsl == r->cap) {
				size_t cap = r->cap ? r->cap * 2 : 64;
				struct ref_slice *p = realloc(r->sl, cap * sizeof(*p));
				if (!p) {
					snprintf(r->error, sizeof(r->error), "out of memory");
					return ref_fail(r);
				}
				r->sl = p;
				r->cap = cap;
			}
			s = &r->sl[r->nsl];
			*s = (struct ref_slice){d, strdup(key), NULL};
			s->state = s->key ? r->ind->ops->state_new(r->ind, &r->params, r->error) : NULL;
			if (!s->state) {
				free(s->key);
				return ref_fail(r);
			}
			r->nsl++;
		}
		if (r->ind->ops->step(r->ind, s->state, &m, r->error) < 0)
			return ref_fail(r);
	}
	return 0;
}

int kpi_reference(struct kpi_engine *e, const char *kpi, int pkind, int64_t from_ms, int64_t to_ms,
		  const char *dim, int (*cb)(const struct store_result *r, void *ud), void *ud,
		  char *err, size_t errlen)
{
	const struct config *c = e->cfg;
	char serr[STORE_ERRLEN];
	char min_answers[24];
	snprintf(min_answers, sizeof(min_answers), "%d", c->min_answers);
	for (size_t k = 0; k < c->nkpis; k++) {
		const struct cfg_kpi *kc = &c->kpis[k];
		if (!kc->indicator || (kpi && strcmp(kpi, kc->id) != 0))
			continue;
		struct ref r = {.e = e, .kc = kc, .dim = dim, .cb = cb, .ud = ud};
		r.ind = registry_find(e->reg, kc->indicator);
		if (!r.ind) {
			fprintf(stderr, "mizan eval: kpi %s: no indicator named '%s' is loaded\n", kc->id,
				kc->indicator);
			continue;
		}
		const char **keys = calloc(kc->nparams + 1, sizeof(char *));
		const char **values = calloc(kc->nparams + 1, sizeof(char *));
		if (!keys || !values) {
			free(keys);
			free(values);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		size_t n = 0;
		bool has_min = false;
		for (size_t i = 0; i < kc->nparams; i++, n++) {
			keys[n] = kc->param_keys[i];
			values[n] = kc->param_values[i];
			has_min |= strcmp(keys[n], "min_answers") == 0;
		}
		if (!has_min) {
			keys[n] = "min_answers";
			values[n++] = min_answers;
		}
		r.params = (struct mizan_params){n, keys, values};
		r.pk = pkind >= 0 ? (enum period_kind)pkind : kc->period;
		kpi_provenance(r.ind, r.prov, sizeof(r.prov));
		struct store_query q = {.kind = -1, .from_ms = from_ms, .to_ms = to_ms, .limit = -1};
		int rc = store_get_events(e->store, &q, ref_event, &r, serr);
		if (rc >= 0 && r.rc == 0)
			r.rc = ref_close(&r);
		ref_clear(&r);
		free(r.sl);
		free(keys);
		free(values);
		if (rc < 0) {
			snprintf(err, errlen, "%s", serr);
			return rc;
		}
		if (r.rc < 0) {
			snprintf(err, errlen, "kpi %s: %s", kc->id, r.error);
			return r.rc;
		}
	}
	return 0;
}
