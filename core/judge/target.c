/* target.c - see target.h. */
#include "judge/target.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"grey", "green", "amber", "red"};

const char *status_name(enum status s)
{
	return status_names[s];
}

bool target_met(double v, const struct target *t)
{
	switch (t->rule) {
	case TR_MIN:
		return v >= t->low;
	case TR_MAX:
		return v <= t->high;
	case TR_RANGE:
		return v >= t->low && v <= t->high;
	default:
		return true;
	}
}

enum status status_of(double v, const struct target *t)
{
	if (!isfinite(v) || t->rule == TR_NONE)
		return ST_GREY;
	if (target_met(v, t))
		return ST_GREEN;
	/* The band is a fraction of the bound that was missed. */
	double lo = t->low - fabs(t->low) * t->warn, hi = t->high + fabs(t->high) * t->warn;
	bool near = t->rule == TR_MIN ? v >= lo : t->rule == TR_MAX ? v <= hi : v >= lo && v <= hi;
	return near ? ST_AMBER : ST_RED;
}

int target_for(struct store *s, const struct cfg_kpi *k, const struct period *p, struct target *out,
	       char *err)
{
	char label[16];
	period_label(p, label);
	int found = store_target_get(s, k->id, label, out, err);
	if (found != 0)
		return found < 0 ? found : 0;
	target_default(k, p->kind, out);
	return 0;
}

void target_default(const struct cfg_kpi *k, enum period_kind pk, struct target *out)
{
	*out = k->target[pk];
	if (out->rule == TR_NONE && k->split && pk == PK_QUARTER && k->target[PK_YEAR].rule != TR_NONE) {
		/* A quarter's share of the year's target: the cumulative
		 * milestones Y/4, Y/2, 3Y/4, Y of the year to date. */
		*out = k->target[PK_YEAR];
		out->low /= 4;
		out->high /= 4;
	}
}

int target_set(struct store *s, const struct cfg_kpi *k, const struct period *p,
	       const struct target *t, const char *who, const char *reason, char *err)
{
	static const char *const rules[] = {"none", "min", "max", "range"};
	struct target old;
	char label[16], before[160], after[160];
	period_label(p, label);
	int rc = target_for(s, k, p, &old, err);
	if (rc < 0)
		return rc;
	snprintf(before, sizeof(before), "{\"rule\":\"%s\",\"low\":%.17g,\"high\":%.17g,\"warn\":%.17g}",
		 rules[old.rule], isfinite(old.low) ? old.low : 0, isfinite(old.high) ? old.high : 0,
		 old.warn);
	snprintf(after, sizeof(after), "{\"rule\":\"%s\",\"low\":%.17g,\"high\":%.17g,\"warn\":%.17g}",
		 rules[t->rule], isfinite(t->low) ? t->low : 0, isfinite(t->high) ? t->high : 0,
		 t->warn);
	return store_target_put(s, k->id, label, t, who, old.rule == TR_NONE ? NULL : before, after,
				reason, err);
}

struct history {
	double v[64];
	int n;
};

static int keep_value(const struct store_result *r, void *ud)
{
	struct history *h = ud;
	if (isfinite(r->value)) {
		if (h->n == 64) {
			memmove(h->v, h->v + 1, sizeof(h->v[0]) * 63);
			h->n--;
		}
		h->v[h->n++] = r->value;
	}
	return 0;
}

int forecast_of(struct store *s, const struct cfg_kpi *k, const struct period *p, const char *dim,
		const char *slice, double value, int64_t now_ms, struct forecast *out, char *err)
{
	struct history h = {{0}, 0};
	if (!k->cumulative && now_ms >= p->start_ms && now_ms < p->end_ms && isfinite(value)) {
		struct store_result_query q = {.kpi = k->id, .pkind = (int)p->kind, .dim = dim,
					       .slice = slice, .from_ms = INT64_MIN, .to_ms = p->start_ms};
		int rc = store_results_each(s, &q, keep_value, &h, err);
		if (rc < 0)
			return rc;
	}
	int n = h.n < 4 ? h.n : 4;
	forecast_from(k->cumulative, p, value, now_ms, h.v + h.n - n, n, out);
	return 0;
}

void forecast_from(bool cumulative, const struct period *p, double value, int64_t now_ms,
		   const double *closed, int n, struct forecast *out)
{
	*out = (struct forecast){.method = "none", .value = NAN};
	out->open = now_ms < p->end_ms;
	if (!out->open || now_ms < p->start_ms || !isfinite(value))
		return;
	out->elapsed = (double)(now_ms - p->start_ms) / (double)(p->end_ms - p->start_ms);
	if (cumulative) {
		out->method = "run_rate";
		/* Too early for a rate to mean much: a day into a quarter. */
		if (out->elapsed > 0.01)
			out->value = value / out->elapsed;
		return;
	}
	/* The least-squares slope of the closed periods given (the last four). */
	out->method = "trend";
	out->history = n;
	out->slope = 0;
	if (n >= 2) {
		double mx = (n - 1) / 2.0, my = 0, sxy = 0, sxx = 0;
		for (int i = 0; i < n; i++)
			my += closed[i] / n;
		for (int i = 0; i < n; i++) {
			sxy += (i - mx) * (closed[i] - my);
			sxx += (i - mx) * (i - mx);
		}
		out->slope = sxy / sxx;
	}
	out->value = value + out->slope * (1 - out->elapsed);
}

static int keep_figure(const struct store_result *r, void *ud)
{
	struct slice_figures *f = ud;
	struct slice_figure *p = realloc(f->v, (f->n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	f->v = p;
	snprintf(p[f->n].slice, sizeof(p[f->n].slice), "%s", r->slice);
	p[f->n].value = r->value;
	p[f->n].n = r->n;
	f->n++;
	return 0;
}

int figures_of(struct store *s, const struct cfg_kpi *k, const struct period *p, const char *dim,
	       struct slice_figures *out, char *err)
{
	struct store_result_query q = {.kpi = k->id, .pkind = (int)p->kind, .dim = dim,
				       .from_ms = p->start_ms, .to_ms = p->start_ms + 1};
	return (k->indicator ? store_results_each : store_values_each)(s, &q, keep_figure, out, err);
}

const char *verdict_name(enum verdict v)
{
	static const char *const names[] = {"none", "met", "near", "missed", "on_track", "at_risk"};
	return names[v];
}

void judge_figure(bool cumulative, const struct target *t, double value,
		  const struct forecast *fc, struct judgement *out)
{
	*out = (struct judgement){.verdict = V_NONE, .status = ST_GREY, .method = "none",
				  .judged = value, .against = *t};
	if (!isfinite(value) || t->rule == TR_NONE)
		return;
	if (!fc || !fc->open) {
		out->method = "closed";
		out->status = status_of(value, t);
		out->verdict = out->status == ST_GREEN ? V_MET : out->status == ST_AMBER ? V_NEAR
											 : V_MISSED;
		return;
	}
	if (cumulative) {
		/* The milestone to date: the target pro rata by the elapsed part. */
		out->method = "milestone";
		out->against.low = t->low * fc->elapsed;
		out->against.high = t->high * fc->elapsed;
	} else if (isfinite(fc->value)) {
		out->method = "forecast";
		out->judged = fc->value;
	} else {
		out->method = "value";
	}
	bool ok = target_met(out->judged, &out->against);
	out->verdict = ok ? V_ON_TRACK : V_AT_RISK;
	out->status = ok ? ST_GREEN : ST_AMBER;
}
