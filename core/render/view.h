/* view.h - the one view of a KPI: what the API, the pages and the mail say
 * about it.
 *
 * A view is a KPI's figure for one period and one slice (the whole, or a
 * dimension's value) as the store holds it: the value and its sample size,
 * the side figures, note and provenance; the period's target (target_for)
 * and the status against it; for an open period the forecast (forecast_of);
 * the series of the periods of that kind up to this one, each with its own
 * target and status; and the breakdown of the period by a dimension.
 * view_build reads all of it from the store once, in no language.
 *
 * view_json writes it for one language: every number through render/format.h
 * and every word from render/i18n.h, into the data the templates render (the
 * KPI page, the scorecard and report entries, the alert mail).  The API
 * serialises the view's raw numbers itself.  So a figure is computed once and
 * formatted once, wherever it ends.
 */
#ifndef MIZAN_RENDER_VIEW_H
#define MIZAN_RENDER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/target.h"
#include "model/config.h"
#include "model/period.h"
#include "render/i18n.h"
#include "store/store.h"

struct cJSON;

/* What to read besides the figure, its target and status. */
enum view_part {
	VIEW_SERIES = 1 << 0,    /* the periods of p's kind up to p, of the same slice */
	VIEW_TARGETS = 1 << 1,   /* with VIEW_SERIES: each period's own target and status */
	VIEW_FORECAST = 1 << 2,  /* the forecast of an open period (when there is a figure) */
	VIEW_BREAKDOWN = 1 << 3, /* the figures of p by the dimension `by` */
};

struct view_opts {
	const char *dim, *slice; /* the slice viewed; NULL or "" for the whole */
	unsigned parts;          /* enum view_part bits */
	size_t history;          /* VIEW_SERIES: only the last `history` periods (0: all) */
	const char *by;          /* VIEW_BREAKDOWN: a dimension (NULL: no breakdown) */
	int64_t now_ms;          /* the time the figure is judged at (0: now) */
};

/* A period of the series, or a slice of the breakdown. */
struct view_point {
	char label[72]; /* a period label ("2026-Q1"), or the slice */
	int64_t start_ms;
	double value, n;         /* NaN value: no figure */
	struct target target;    /* series: its period's (VIEW_TARGETS, else TR_NONE);
				  * breakdown: none (no target is configured per slice) */
	enum status status;      /* series: judge_figure's; breakdown: grey */
	double share;            /* breakdown: its part of the whole, 0..1 (of the sum for a
				  * cumulative KPI, of the sample otherwise); NaN: unknown */
};

struct kpi_view {
	const struct cfg_kpi *k; /* borrowed from the configuration */
	struct period p;
	char period[16];         /* p's label */
	char dim[64], slice[72]; /* "" "" for the whole */

	/* the figure */
	bool has;                          /* the store holds one (its value may be NaN) */
	double value, n;                   /* NaN and 0 without one */
	int64_t computed_ms, run;
	char *extra, *note, *provenance;   /* owned by the view; NULL when none */
	struct target target;              /* TR_NONE when there is none */
	enum status status;                /* judgement.status */
	struct judgement judgement;        /* judge_figure's, at o->now_ms (judge/target.h) */

	/* forecast_of's answer, when there is a figure and the period is open
	 * (made whatever the parts: the judgement needs it; VIEW_FORECAST
	 * asks that it be shown) */
	bool forecast_made;
	struct forecast fc;                /* fc.method is static */

	/* VIEW_SERIES: oldest first, with p last when it has a figure */
	struct view_point *series;
	size_t nseries;
	char *latest_provenance; /* the provenance of the series' last period (owned; NULL) */

	/* VIEW_BREAKDOWN: highest value first, slices without a figure last */
	char by[64];
	struct view_point *breakdown;
	size_t nbreakdown;
};

/* Builds the view of KPI k (borrowed: it must outlive the view) for period p
 * and o (borrowed for the call).  *v is the caller's; what it holds is freed
 * with view_free, also after a failure.  0, or a negative errno with the
 * store's sentence in err[STORE_ERRLEN].  Thread-safe (the store is). */
int view_build(struct kpi_view *v, struct store *s, const struct cfg_kpi *k,
	       const struct period *p, const struct view_opts *o, char *err);
void view_free(struct kpi_view *v);

/* The latest period of k's own kind that has a figure of the whole, into
 * *out (the caller's): 1, 0 when there is none, or a negative errno with
 * err[STORE_ERRLEN].  Thread-safe. */
int view_latest(struct store *s, const struct cfg_kpi *k, struct period *out, char *err);

/* The view in language l, as template data: a new object the caller owns
 * (cJSON_Delete), NULL when out of memory; v is only read, so any number of
 * threads may write one view at once.  Its members:
 *   id, title, title_other, unit, goal, source, indicator
 *   period, period_text, dim, dim_text, slice (the slice's value, "" whole)
 *   has, value, value_raw, n, n_raw, target, low_raw, high_raw, status,
 *     status_text, is_<status> (true), note, provenance
 *   forecast {value, value_raw, method, method_text}: an open period's
 *     projection, when there is one
 *   values: the series, newest first, each {period, period_text, value,
 *     value_raw, n, n_raw, target, low_raw, high_raw, status, status_text}
 *   by, by_text, breakdown: at most 500 slices, each {slice, value,
 *     value_raw, n, n_raw, status}
 * Numbers are written by render/format.h (value "—" when there is none);
 * the *_raw members are fmt_raw's. */
struct cJSON *view_json(const struct kpi_view *v, enum lang l);

/* The index in v->breakdown of slice (NULL: none), or -1. */
long view_breakdown_find(const struct kpi_view *v, const char *slice);

#endif
