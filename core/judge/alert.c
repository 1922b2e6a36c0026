/* alert.c - see alert.h. */
#include "judge/alert.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/time.h"
#include "model/period.h"
#include "judge/target.h"

/* ---- one alert ----------------------------------------------------------------------- */

struct silences {
	struct store_silence *v;
	size_t n;
	char **owned;
	size_t nowned;
};

static char *keep(struct silences *s, const char *v)
{
	if (!v)
		return NULL;
	char **p = realloc(s->owned, (s->nowned + 1) * sizeof(*p));
	if (!p)
		return NULL;
	s->owned = p;
	return s->owned[s->nowned++] = strdup(v);
}

static int keep_silence(const struct store_silence *si, void *ud)
{
	struct silences *s = ud;
	struct store_silence *p = realloc(s->v, (s->n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->v = p;
	s->v[s->n] = *si;
	s->v[s->n].kpi = keep(s, si->kpi);
	s->v[s->n].dim = keep(s, si->dim);
	s->v[s->n].slice = keep(s, si->slice);
	s->v[s->n].who = s->v[s->n].comment = NULL;
	s->n++;
	return 0;
}

static bool silenced(const struct silences *s, const char *kpi, const char *dim, const char *slice)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct store_silence *si = &s->v[i];
		if ((!si->kpi || strcmp(si->kpi, kpi) == 0) && (!si->dim || strcmp(si->dim, dim) == 0) &&
		    (!si->slice || strcmp(si->slice, slice) == 0))
			return true;
	}
	return false;
}

/* The alert as stored, copied (the store's strings live for one callback). */
struct current {
	bool found;
	struct store_alert a;
	char state[16], pending[16], acked_by[64];
};

static int copy_alert(const struct store_alert *a, void *ud)
{
	struct current *c = ud;
	c->found = true;
	c->a = *a;
	snprintf(c->state, sizeof(c->state), "%s", a->state);
	snprintf(c->pending, sizeof(c->pending), "%s", a->pending ? a->pending : "");
	snprintf(c->acked_by, sizeof(c->acked_by), "%s", a->acked_by ? a->acked_by : "");
	c->a.state = c->state;
	c->a.pending = a->pending ? c->pending : NULL;
	c->a.acked_by = a->acked_by ? c->acked_by : NULL;
	c->a.kpi = c->a.period = c->a.dim = c->a.slice = c->a.kind = c->a.detail = NULL;
	c->a.ack_comment = NULL;
	return 0;
}

struct engine {
	const struct config *c;
	struct store *s;
	const struct alert_notifier *nf;
	int64_t now;
	struct silences sil;
	struct alert_stats *st;
	char err[STORE_ERRLEN];
};

/* Moves one alert towards `desired`; queues mail when its state changes. */
static void mails_free(struct store_mail *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].to_addr);
		free((char *)v[i].subject);
		free((char *)v[i].message);
	}
	free(v);
}

static int step_alert(struct engine *e, struct store_alert *next, const char *desired,
		      struct alert_notice *n)
{
	struct current cur = {0};
	int rc = store_alert_get(e->s, next->kpi, next->period, next->dim, next->slice, next->kind,
				 copy_alert, &cur, e->err);
	if (rc < 0)
		return rc;
	const char *state = cur.found ? cur.state : "ok";
	if (!cur.found && strcmp(desired, "ok") == 0)
		return 0; /* nothing to remember */
	next->state = state;
	next->since_ms = cur.found ? cur.a.since_ms : e->now;
	next->pending = cur.found ? cur.a.pending : NULL;
	next->pending_since_ms = cur.found ? cur.a.pending_since_ms : 0;
	next->notified_ms = cur.found ? cur.a.notified_ms : 0;
	const char *old = NULL;
	if (strcmp(desired, state) != 0) {
		int64_t hold = (int64_t)e->c->alert_min_state_s * 1000;
		bool waited = next->pending && strcmp(next->pending, desired) == 0 &&
			      e->now - next->pending_since_ms >= hold;
		if (hold == 0 || waited) {
			old = state;
			next->state = desired;
			next->since_ms = e->now;
			next->pending = NULL;
			next->pending_since_ms = 0;
		} else if (!next->pending || strcmp(next->pending, desired) != 0) {
			next->pending = desired;
			next->pending_since_ms = e->now;
		}
	} else {
		next->pending = NULL;
		next->pending_since_ms = 0;
	}

	/* What to announce. */
	bool bad_old = old && (strcmp(old, "at_risk") == 0 || strcmp(old, "missed") == 0 ||
			       strcmp(old, "stale") == 0);
	int kind = -1;
	if (old && strcmp(next->state, "at_risk") == 0)
		kind = AN_AT_RISK;
	else if (old && strcmp(next->state, "missed") == 0)
		kind = AN_MISSED;
	else if (old && strcmp(next->state, "stale") == 0)
		kind = AN_STALE;
	else if (old && strcmp(next->state, "ok") == 0 && bad_old)
		kind = AN_RECOVERED;
	else if (!old && strcmp(next->state, "missed") == 0 && !cur.a.acked_by &&
		 e->c->alert_repeat_s > 0 &&
		 e->now - next->notified_ms >= (int64_t)e->c->alert_repeat_s * 1000)
		kind = AN_REMINDER;

	struct { struct store_mail *v; size_t n; } m = {NULL, 0};
	if (kind >= 0 && e->nf && !silenced(&e->sil, next->kpi, next->dim, next->slice)) {
		n->kind = (enum alert_notice_kind)kind;
		n->a = next;
		n->now_ms = e->now;
		e->nf->compose(e->nf->ud, n, &m.v, &m.n);
		if (m.n)
			next->notified_ms = e->now;
	}
	bool changed = old || !cur.found || m.n ||
		       (next->pending ? !cur.a.pending || strcmp(next->pending, cur.a.pending)
				      : cur.a.pending != NULL) ||
		       !(next->value == cur.a.value || (isnan(next->value) && isnan(cur.a.value))) ||
		       !(next->forecast == cur.a.forecast ||
			 (isnan(next->forecast) && isnan(cur.a.forecast)));
	rc = 0;
	if (changed) {
		int64_t id;
		rc = store_alert_put(e->s, next, old, m.v, m.n, &id, e->err);
		if (rc == 0) {
			e->st->changed += old != NULL;
			e->st->messages += m.n;
			if (old)
				log_info("alert %s %s%s%s%s%s: %s -> %s%s", next->kind, next->kpi,
					 *next->period ? " " : "", next->period, *next->dim ? " " : "",
					 next->slice, old, next->state, m.n ? " (mail queued)" : "");
		}
	}
	mails_free(m.v, m.n);
	return rc < 0 ? rc : 0;
}

/* ---- KPIs ---------------------------------------------------------------------------- */

static int cmp_gap(const void *a, const void *b)
{
	const struct alert_gap *x = a, *y = b;
	return x->gap < y->gap ? -1 : x->gap > y->gap;
}

/* The missions that fell furthest below: against the target for a ratio,
 * against their own previous period for a count or a sum. */
static int top_gaps(struct engine *e, const struct cfg_kpi *k, const struct period *p,
		    const struct target *t, struct alert_gap *out, int max)
{
	struct slice_figures now = {0}, before = {0};
	struct period prev;
	period_of(p->kind, p->start_ms - 1, &prev);
	figures_of(e->s, k, p, "mission", &now, e->err);
	if (k->cumulative)
		figures_of(e->s, k, &prev, "mission", &before, e->err);
	struct alert_gap *all = calloc(now.n + 1, sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; all && i < now.n; i++) {
		double base = t->rule == TR_MAX ? t->high : t->low;
		if (k->cumulative) {
			base = NAN;
			for (size_t j = 0; j < before.n; j++)
				if (strcmp(before.v[j].slice, now.v[i].slice) == 0)
					base = before.v[j].value;
		}
		if (!isfinite(now.v[i].value) || !isfinite(base))
			continue;
		double gap = (now.v[i].value - base) * (t->rule == TR_MAX ? -1 : 1) * k->direction;
		if (gap >= 0)
			continue;
		snprintf(all[n].slice, sizeof(all[n].slice), "%s", now.v[i].slice);
		all[n].value = now.v[i].value;
		all[n++].gap = gap;
	}
	int m = 0;
	if (all) {
		qsort(all, n, sizeof(*all), cmp_gap);
		for (; m < max && (size_t)m < n; m++)
			out[m] = all[m];
	}
	free(all);
	free(now.v);
	free(before.v);
	return m;
}

static void detail_json(char *out, size_t n, const struct target *t, const struct forecast *fc,
			const struct judgement *j, double samples)
{
	static const char *const rules[] = {"none", "min", "max", "range"};
	snprintf(out, n,
		 "{\"status\":\"%s\",\"verdict\":\"%s\",\"judged_by\":\"%s\",\"n\":%.17g,\"target\":{\"rule\":\"%s\",\"low\":%.17g,\"high\":%.17g,"
		 "\"warn\":%.17g},\"forecast\":{\"open\":%s,\"method\":\"%s\",\"value\":%.17g,"
		 "\"elapsed\":%.6f,\"slope\":%.17g,\"history\":%d}}",
		 status_name(j->status), verdict_name(j->verdict), j->method, samples, rules[t->rule], isfinite(t->low) ? t->low : 0,
		 isfinite(t->high) ? t->high : 0, t->warn, fc->open ? "true" : "false", fc->method,
		 isfinite(fc->value) ? fc->value : 0, fc->elapsed, isfinite(fc->slope) ? fc->slope : 0,
		 fc->history);
	/* JSON has no NaN: a missing forecast is method "none". */
}

static int evaluate_period(struct engine *e, const struct cfg_kpi *k, const struct period *p)
{
	struct target t;
	int rc = target_for(e->s, k, p, &t, e->err);
	if (rc < 0)
		return rc;
	if (t.rule == TR_NONE)
		return 0;
	char label[16];
	period_label(p, label);
	size_t ndims = 1 + e->c->alert_slices.n;
	for (size_t d = 0; d < ndims; d++) {
		const char *dim = d == 0 ? "" : e->c->alert_slices.v[d - 1];
		struct slice_figures f = {0};
		rc = figures_of(e->s, k, p, dim, &f, e->err);
		if (rc < 0) {
			free(f.v);
			return rc;
		}
		for (size_t i = 0; i < f.n; i++) {
			struct slice_figure *fig = &f.v[i];
			if (!isfinite(fig->value))
				continue; /* grey: no figure, nothing to judge */
			e->st->evaluated++;
			struct forecast fc;
			rc = forecast_of(e->s, k, p, dim, fig->slice, fig->value, e->now, &fc, e->err);
			if (rc < 0) {
				free(f.v);
				return rc;
			}
			struct judgement j;
			judge_figure(k->cumulative, &t, fig->value, &fc, &j);
			const char *desired = j.verdict == V_AT_RISK			 ? "at_risk"
					      : j.verdict == V_NEAR || j.verdict == V_MISSED ? "missed"
											     : "ok";
			char detail[512];
			detail_json(detail, sizeof(detail), &t, &fc, &j, fig->n);
			struct store_alert next = {
				.kpi = k->id, .period = label, .dim = dim, .slice = fig->slice,
				.kind = "target", .value = fig->value,
				.target = t.rule == TR_MAX ? t.high : t.low,
				.forecast = fc.open ? fc.value : NAN, .detail = detail};
			struct alert_gap gaps[3];
			struct alert_notice n = {.cfg = e->c, .k = k, .p = p, .t = &t, .fc = &fc};
			if (d == 0 && strcmp(desired, "ok") != 0)
				n.ngaps = top_gaps(e, k, p, &t, gaps, 3);
			n.gaps = gaps;
			rc = step_alert(e, &next, desired, &n);
			if (rc < 0) {
				free(f.v);
				return rc;
			}
		}
		free(f.v);
	}
	return 0;
}

struct source {
	int kind;
	char mission[64];
	int64_t last_ms;
	double gap_ms; /* the mean time between its events */
};

struct sources {
	struct source *v;
	size_t n;
};

/* Copied out first: judging one takes the store's read lock again. */
static int keep_source(const struct store_source *src, void *ud)
{
	struct sources *s = ud;
	struct source *p = realloc(s->v, (s->n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->v = p;
	p[s->n].kind = src->kind;
	snprintf(p[s->n].mission, sizeof(p[s->n].mission), "%s", src->mission);
	p[s->n].last_ms = src->last_ms;
	p[s->n].gap_ms = src->count > 1 ? (double)(src->last_ms - src->first_ms) / (double)(src->count - 1)
					: INFINITY;
	s->n++;
	return 0;
}

/* A source is stale when it has been silent for alerts.stale_s and for ten
 * times its usual gap between events: a mission that sends a survey answer
 * a week is not "stopped" after three days. */
static int judge_source(struct engine *e, int kind, const char *mission, int64_t last_ms,
			double gap_ms)
{
	if (e->c->alert_stale_s <= 0 || kind < 0 || kind >= EV_NKINDS || !isfinite(gap_ms))
		return 0;
	double quiet = (double)(e->now - last_ms);
	bool stale = quiet > (double)e->c->alert_stale_s * 1000 && quiet > 10 * gap_ms;
	struct store_alert next = {.kpi = event_kind_names[kind], .period = "", .dim = "mission",
				   .slice = mission, .kind = "stale", .value = NAN, .target = NAN,
				   .forecast = NAN, .detail = NULL};
	char detail[96];
	char when[32];
	event_format_time(last_ms, when);
	snprintf(detail, sizeof(detail), "{\"last_event\":\"%s\"}", when);
	next.detail = detail;
	struct alert_notice n = {.cfg = e->c, .kind = AN_STALE, .stale_kind = event_kind_names[kind],
			       .stale_since = last_ms};
	e->st->evaluated++;
	return step_alert(e, &next, stale ? "stale" : "ok", &n);
}

int alert_evaluate(const struct config *c, struct store *s, const struct alert_notifier *nf,
		   int64_t now_ms, struct alert_stats *st, char *err, size_t errlen)
{
	double t0 = time_mono();
	struct engine e = {.c = c, .s = s, .nf = nf, .now = now_ms, .st = st};
	int rc;

	memset(st, 0, sizeof(*st));
	rc = store_silences_each(s, now_ms, keep_silence, &e.sil, e.err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < c->nkpis; i++) {
		const struct cfg_kpi *k = &c->kpis[i];
		struct period open, closed;
		period_of(k->period, now_ms, &open);
		period_of(k->period, open.start_ms - 1, &closed);
		rc = evaluate_period(&e, k, &closed);
		if (rc >= 0)
			rc = evaluate_period(&e, k, &open);
		if (rc < 0)
			goto out;
	}
	struct sources src = {0};
	rc = store_sources_each(s, keep_source, &src, e.err);
	for (size_t i = 0; rc >= 0 && i < src.n; i++)
		rc = judge_source(&e, src.v[i].kind, src.v[i].mission, src.v[i].last_ms,
				  src.v[i].gap_ms);
	free(src.v);
	if (rc >= 0)
		rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "%s", e.err);
	for (size_t i = 0; i < e.sil.nowned; i++)
		free(e.sil.owned[i]);
	free(e.sil.owned);
	free(e.sil.v);
	st->seconds = time_mono() - t0;
	return rc;
}
