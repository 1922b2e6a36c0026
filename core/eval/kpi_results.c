/* kpi_results.c - the folds of an evaluation turned into the rows the store
 * keeps: for every (KPI, period) fold, the final value, sample size, extra
 * figures (as JSON) and note of the whole and of every slice. */
#include "eval/kpi.h"
#include "eval/kpi_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

static char *own(struct kpi_rows *r, char *s)
{
	if (!s)
		return NULL;
	if (r->nowned == r->ocap) {
		size_t cap = r->ocap ? r->ocap * 2 : 256;
		char **p = realloc(r->owned, cap * sizeof(*p));
		if (!p) {
			free(s);
			return NULL;
		}
		r->owned = p;
		r->ocap = cap;
	}
	return r->owned[r->nowned++] = s;
}

char *kpi_extra_json(const struct mizan_result *res)
{
	if (res->nextra <= 0)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	for (int i = 0; ok && i < res->nextra && i < MIZAN_MAX_EXTRA; i++) {
		const char *name = res->extra[i].name ? res->extra[i].name : "?";
		double v = res->extra[i].value;
		ok = (isfinite(v) ? cJSON_AddNumberToObject(o, name, v)
				  : cJSON_AddNullToObject(o, name)) != NULL;
	}
	char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return text;
}

static int add_row(struct kpi_engine *e, struct kpi_rows *r, const struct fold *f, const char *dim,
		   const char *slice, void *state, const char *prov)
{
	struct kpi_run *run = &e->runs[f->kpi];
	struct mizan_result res;
	memset(&res, 0, sizeof(res));
	res.value = NAN;
	int rc = run->ind->ops->final(run->ind, state, &res, run->error);
	if (rc < 0) {
		kpi_fail_run(e, f->kpi, run->error);
		return rc;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct store_result *p = realloc(r->v, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->v = p;
		r->cap = cap;
	}
	r->v[r->n++] = (struct store_result){
		.kpi = run->cfg->id,
		.period = f->label,
		.dim = dim,
		.slice = own(r, strdup(slice)),
		.pkind = (int)f->p.kind,
		.start_ms = f->p.start_ms,
		.value = isfinite(res.value) ? res.value : NAN,
		.n = isfinite(res.n) ? res.n : 0,
		.extra = own(r, kpi_extra_json(&res)),
		.note = own(r, res.note ? strdup(res.note) : NULL),
		.provenance = prov,
		.computed_ms = time_now_ms(),
		.run = 0, /* the store's, as it writes the row */
	};
	return 0;
}

int kpi_rows_collect(struct kpi_engine *e, struct kpi_rows *r, struct store_result_key **cleared,
		   size_t *ncleared, char (*prov)[300])
{
	struct store_result_key *keys = calloc(e->nfolds + 1, sizeof(*keys));
	size_t nk = 0;
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < e->fcap; i++) {
		struct fold *f = e->folds[i];
		if (!f || f->day || e->runs[f->kpi].failed)
			continue;
		e->prog->kpi = f->kpi;
		e->prog->beat++;
		keys[nk++] = (struct store_result_key){e->runs[f->kpi].cfg->id, f->label};
		if (add_row(e, r, f, "", "", f->total, prov[f->kpi]) < 0)
			continue;
		for (int d = 0; d < e->ndims; d++)
			for (size_t j = 0; j < f->dims[d].cap; j++)
				if (f->dims[d].v[j].key)
					add_row(e, r, f, e->dim_name[d], f->dims[d].v[j].key,
						f->dims[d].v[j].state, prov[f->kpi]);
	}
	e->prog->kpi = -1;
	*cleared = keys;
	*ncleared = nk;
	return 0;
}

void kpi_rows_free(struct kpi_rows *r)
{
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->v);
}

/* Drops rows and keys of KPIs that failed while being finalised. */
void kpi_rows_drop_failed(struct kpi_engine *e, struct kpi_rows *r, struct store_result_key *keys,
			size_t *nkeys)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++) {
		bool failed = false;
		for (size_t k = 0; k < e->cfg->nkpis; k++)
			if (r->v[i].kpi == e->cfg->kpis[k].id)
				failed = e->runs[k].failed;
		if (!failed)
			r->v[n++] = r->v[i];
	}
	r->n = n;
	n = 0;
	for (size_t i = 0; i < *nkeys; i++) {
		bool failed = false;
		for (size_t k = 0; k < e->cfg->nkpis; k++)
			if (keys[i].kpi == e->cfg->kpis[k].id)
				failed = e->runs[k].failed;
		if (!failed)
			keys[n++] = keys[i];
	}
	*nkeys = n;
}
