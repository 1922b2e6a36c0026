/* view.c - see view.h. */
#include "render/view.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/format.h"
#include "util/time.h"

#define BREAKDOWN_ROWS 500 /* shown at most */

/* ---- reading ------------------------------------------------------------------------- */

static int (*figures_each(const struct cfg_kpi *k))(struct store *, const struct store_result_query *,
						     int (*)(const struct store_result *, void *),
						     void *, char *)
{
	return k->indicator ? store_results_each : store_values_each;
}

static char *copy(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int keep_figure(const struct store_result *r, void *ud)
{
	struct kpi_view *v = ud;
	if (v->has)
		return 0;
	v->has = true;
	v->value = r->value;
	v->n = r->n;
	v->computed_ms = r->computed_ms;
	v->run = r->run;
	v->extra = copy(r->extra);
	v->note = copy(r->note);
	v->provenance = copy(r->provenance);
	if ((r->extra && !v->extra) || (r->note && !v->note) || (r->provenance && !v->provenance))
		return -ENOMEM;
	return 0;
}

struct points {
	struct view_point *v;
	size_t n, cap;
	bool by_slice;          /* label: the slice, not the period */
	char *last_provenance;  /* of the last point kept */
	bool oom;
};

static int keep_point(const struct store_result *r, void *ud)
{
	struct points *pts = ud;
	if (pts->n == pts->cap) {
		size_t cap = pts->cap ? pts->cap * 2 : 16;
		struct view_point *p = realloc(pts->v, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		pts->v = p;
		pts->cap = cap;
	}
	struct view_point *p = &pts->v[pts->n++];
	*p = (struct view_point){.start_ms = r->start_ms, .value = r->value, .n = r->n,
				 .target = {.rule = TR_NONE}, .status = ST_GREY};
	snprintf(p->label, sizeof(p->label), "%s", pts->by_slice ? r->slice : r->period);
	if (!pts->by_slice) {
		free(pts->last_provenance);
		pts->last_provenance = copy(r->provenance);
	}
	return 0;
}

/* Highest value first; no figure last; then by name. */
static int cmp_value_desc(const void *a, const void *b)
{
	const struct view_point *x = a, *y = b;
	bool xf = isfinite(x->value), yf = isfinite(y->value);
	if (xf != yf)
		return xf ? -1 : 1;
	if (!xf || x->value == y->value)
		return strcmp(x->label, y->label);
	return x->value > y->value ? -1 : 1;
}

int view_build(struct kpi_view *v, struct store *s, const struct cfg_kpi *k,
	       const struct period *p, const struct view_opts *o, char *err)
{
	const char *dim = o->dim ? o->dim : "", *slice = o->slice ? o->slice : "";
	*v = (struct kpi_view){.k = k, .p = *p, .value = NAN, .target = {.rule = TR_NONE},
			       .status = ST_GREY};
	period_label(p, v->period);
	snprintf(v->dim, sizeof(v->dim), "%s", dim);
	snprintf(v->slice, sizeof(v->slice), "%s", *dim ? slice : "");

	struct store_result_query q = {.kpi = k->id, .pkind = (int)p->kind, .dim = v->dim,
				       .slice = v->slice, .from_ms = p->start_ms,
				       .to_ms = p->start_ms + 1};
	int rc = figures_each(k)(s, &q, keep_figure, v, err);
	if (rc == -ENOMEM)
		snprintf(err, STORE_ERRLEN, "out of memory");
	if (rc < 0)
		return rc;
	if ((rc = target_for(s, k, p, &v->target, err)) < 0)
		return rc;
	int64_t now = o->now_ms ? o->now_ms : time_now_ms();
	if (v->has && now < p->end_ms) {
		if ((rc = forecast_of(s, k, p, v->dim, v->slice, v->value, now, &v->fc, err)) < 0)
			return rc;
		v->forecast_made = true;
	}
	judge_figure(k->cumulative, &v->target, v->value, v->forecast_made ? &v->fc : NULL,
		     &v->judgement);
	v->status = v->judgement.status;

	if (o->parts & VIEW_SERIES) {
		struct points pts = {0};
		q.from_ms = INT64_MIN;
		rc = figures_each(k)(s, &q, keep_point, &pts, err);
		v->series = pts.v;
		v->nseries = pts.n;
		v->latest_provenance = pts.last_provenance;
		if (rc == -ENOMEM)
			snprintf(err, STORE_ERRLEN, "out of memory");
		if (rc < 0)
			return rc;
		if (o->history && v->nseries > o->history) {
			size_t drop = v->nseries - o->history;
			memmove(v->series, v->series + drop, o->history * sizeof(*v->series));
			v->nseries = o->history;
		}
		for (size_t i = 0; (o->parts & VIEW_TARGETS) && i < v->nseries; i++) {
			struct view_point *pt = &v->series[i];
			struct period pp;
			if (period_parse(pt->label, &pp) < 0)
				continue;
			if ((rc = target_for(s, k, &pp, &pt->target, err)) < 0)
				return rc;
			/* The open period is judged as the view is; the rest are closed. */
			bool open = v->forecast_made && strcmp(pt->label, v->period) == 0;
			struct judgement j;
			judge_figure(k->cumulative, &pt->target, pt->value, open ? &v->fc : NULL, &j);
			pt->status = j.status;
		}
	}

	if ((o->parts & VIEW_BREAKDOWN) && o->by && *o->by) {
		snprintf(v->by, sizeof(v->by), "%s", o->by);
		struct points pts = {.by_slice = true};
		struct store_result_query bq = {.kpi = k->id, .pkind = (int)p->kind, .dim = v->by,
						.from_ms = p->start_ms, .to_ms = p->start_ms + 1};
		rc = figures_each(k)(s, &bq, keep_point, &pts, err);
		v->breakdown = pts.v;
		v->nbreakdown = pts.n;
		if (rc == -ENOMEM)
			snprintf(err, STORE_ERRLEN, "out of memory");
		if (rc < 0)
			return rc;
		if (v->nbreakdown)
			qsort(v->breakdown, v->nbreakdown, sizeof(*v->breakdown), cmp_value_desc);
		/* No target is configured per slice: a slice is shown as its part
		 * of the whole, never coloured against the whole's target. */
		double total = 0;
		for (size_t i = 0; i < v->nbreakdown; i++) {
			const struct view_point *pt = &v->breakdown[i];
			double part = k->cumulative ? pt->value : pt->n;
			if (isfinite(part) && part > 0)
				total += part;
		}
		for (size_t i = 0; i < v->nbreakdown; i++) {
			struct view_point *pt = &v->breakdown[i];
			double part = k->cumulative ? pt->value : pt->n;
			pt->target = (struct target){.rule = TR_NONE};
			pt->status = ST_GREY;
			pt->share = total > 0 && isfinite(part) ? part / total : NAN;
		}
	}
	return 0;
}

void view_free(struct kpi_view *v)
{
	free(v->extra);
	free(v->note);
	free(v->provenance);
	free(v->series);
	free(v->latest_provenance);
	free(v->breakdown);
	v->extra = v->note = v->provenance = v->latest_provenance = NULL;
	v->series = v->breakdown = NULL;
	v->nseries = v->nbreakdown = 0;
}

struct latest {
	bool found;
	char label[16];
};

static int keep_latest(const struct store_result *r, void *ud)
{
	struct latest *l = ud;
	if (!l->found) {
		l->found = true;
		snprintf(l->label, sizeof(l->label), "%s", r->period);
	}
	return 0;
}

int view_latest(struct store *s, const struct cfg_kpi *k, struct period *out, char *err)
{
	struct latest l = {0};
	struct store_result_query q = {.kpi = k->id, .pkind = (int)k->period, .dim = "", .slice = "",
				       .from_ms = INT64_MIN, .to_ms = INT64_MAX, .latest = true};
	int rc = figures_each(k)(s, &q, keep_latest, &l, err);
	if (rc < 0)
		return rc;
	return l.found && period_parse(l.label, out) == 0 ? 1 : 0;
}

long view_breakdown_find(const struct kpi_view *v, const char *slice)
{
	for (size_t i = 0; slice && i < v->nbreakdown; i++)
		if (strcmp(v->breakdown[i].label, slice) == 0)
			return (long)i;
	return -1;
}

/* ---- writing ------------------------------------------------------------------------- */

static void add_str(cJSON *o, const char *key, const char *v)
{
	cJSON_AddStringToObject(o, key, v ? v : "");
}

static void add_number(cJSON *o, const char *key, double v, enum lang l)
{
	char buf[FMT_LEN], rkey[32];
	fmt_number(v, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, key, buf);
	fmt_raw(v, buf, sizeof(buf));
	snprintf(rkey, sizeof(rkey), "%s_raw", key);
	cJSON_AddStringToObject(o, rkey, buf);
}

static void add_target(cJSON *o, const struct target *t, enum lang l)
{
	char buf[FMT_LEN];
	fmt_target(t, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "target", buf);
	fmt_raw(t->rule == TR_MIN || t->rule == TR_RANGE ? t->low : NAN, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "low_raw", buf);
	fmt_raw(t->rule == TR_MAX || t->rule == TR_RANGE ? t->high : NAN, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "high_raw", buf);
}

static void add_status(cJSON *o, enum status st, enum lang l)
{
	char key[16];
	cJSON_AddStringToObject(o, "status", status_name(st));
	cJSON_AddStringToObject(o, "status_text", i18n_text2(l, "status_", status_name(st)));
	snprintf(key, sizeof(key), "is_%s", status_name(st));
	cJSON_AddBoolToObject(o, key, true);
}

cJSON *view_json(const struct kpi_view *v, enum lang l)
{
	const struct cfg_kpi *k = v->k;
	char buf[FMT_LEN];
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", k->id);
	add_str(o, "title", l == LANG_AR ? k->title_ar : k->title_en);
	add_str(o, "title_other", l == LANG_AR ? k->title_en : k->title_ar);
	add_str(o, "unit", k->unit);
	add_str(o, "goal", k->goal);
	cJSON_AddStringToObject(o, "source", k->indicator ? "computed" : "reported");
	if (k->indicator)
		cJSON_AddStringToObject(o, "indicator", k->indicator);
	cJSON_AddStringToObject(o, "period", v->period);
	fmt_period(&v->p, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "period_text", buf);
	if (*v->dim) {
		cJSON_AddStringToObject(o, "dim", v->dim);
		cJSON_AddStringToObject(o, "dim_text", i18n_text2(l, "dim_", v->dim));
		cJSON_AddStringToObject(o, "slice", v->slice);
	}

	cJSON_AddBoolToObject(o, "has", v->has);
	add_number(o, "value", v->value, l);
	add_number(o, "n", v->has ? v->n : NAN, l);
	add_target(o, &v->target, l);
	add_status(o, v->status, l);
	/* An open period says whether it is on track or at risk, not "near". */
	cJSON_AddStringToObject(o, "verdict", verdict_name(v->judgement.verdict));
	if (v->judgement.verdict == V_ON_TRACK || v->judgement.verdict == V_AT_RISK)
		cJSON_ReplaceItemInObject(o, "status_text",
					  cJSON_CreateString(i18n_text2(l, "verdict_",
									verdict_name(v->judgement.verdict))));
	if (v->note)
		cJSON_AddStringToObject(o, "note", v->note);
	const char *prov = v->has ? v->provenance : v->latest_provenance;
	if (prov)
		cJSON_AddStringToObject(o, "provenance", prov);

	if (v->forecast_made && v->fc.open && isfinite(v->fc.value)) {
		cJSON *fo = cJSON_AddObjectToObject(o, "forecast");
		add_number(fo, "value", v->fc.value, l);
		cJSON_AddStringToObject(fo, "method", v->fc.method);
		cJSON_AddStringToObject(fo, "method_text", i18n_text2(l, "method_", v->fc.method));
	}

	if (v->series) {
		cJSON *rows = cJSON_AddArrayToObject(o, "values");
		for (size_t i = v->nseries; i-- > 0;) {
			const struct view_point *pt = &v->series[i];
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "period", pt->label);
			fmt_period_label(pt->label, l, buf, sizeof(buf));
			cJSON_AddStringToObject(r, "period_text", buf);
			add_number(r, "value", pt->value, l);
			add_number(r, "n", pt->n, l);
			add_target(r, &pt->target, l);
			add_status(r, pt->status, l);
			cJSON_AddItemToArray(rows, r);
		}
	}

	if (*v->by) {
		cJSON_AddStringToObject(o, "by", v->by);
		cJSON_AddStringToObject(o, "by_text", i18n_text2(l, "dim_", v->by));
		cJSON *rows = cJSON_AddArrayToObject(o, "breakdown");
		for (size_t i = 0; i < v->nbreakdown && i < BREAKDOWN_ROWS; i++) {
			const struct view_point *pt = &v->breakdown[i];
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "slice", pt->label);
			add_number(r, "value", pt->value, l);
			add_number(r, "n", pt->n, l);
			cJSON_AddStringToObject(r, "status", status_name(pt->status));
			if (isfinite(pt->share)) {
				char share[48];
				fmt_percent(pt->share * 100, l, share, sizeof(share));
				cJSON_AddStringToObject(r, "share", share);
			}
			cJSON_AddItemToArray(rows, r);
		}
	}
	return o;
}
