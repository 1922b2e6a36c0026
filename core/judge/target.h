/* target.h - targets, the status of a figure against its target, and the
 * forecast of an open period.
 *
 * Status: green when the figure meets its target; amber when it misses by
 * no more than the warning band (a fraction of the target: at least 90 of a
 * target of 100 with warn = 0.1); red beyond; grey when there is no figure
 * (no data, too few answers) or no target.  A goal is as good as its worst
 * KPI that has a status (grey only when all are grey).
 *
 * Forecast, for a period still open: a cumulative KPI (a count or a sum) by
 * its run rate, value / elapsed × length; any other by its current value
 * moved along its trend, the least-squares slope of its last four closed
 * periods, for the part of the period still to come.
 *
 * Everything here is either pure or reads the store (which any thread may
 * use); nothing is allocated that the caller must free.  err is the
 * store's buffer (STORE_ERRLEN bytes).
 */
#ifndef MIZAN_JUDGE_TARGET_H
#define MIZAN_JUDGE_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "model/config.h"
#include "model/period.h"
#include "store/store.h"

enum status { ST_GREY, ST_GREEN, ST_AMBER, ST_RED };

/* "grey", "green", "amber" or "red": a literal. */
const char *status_name(enum status s);
enum status status_of(double value, const struct target *t);
/* Whether value meets t (green). */
bool target_met(double value, const struct target *t);

/* The target of a KPI for one period: an editor's (store) first, else the
 * configuration's for that kind of period, else (split) a quarter of the
 * year's.  TR_NONE when there is none.  0, or the store's negative errno
 * with err filled. */
int target_for(struct store *s, const struct cfg_kpi *k, const struct period *p, struct target *out,
	       char *err);
/* The configuration's target of KPI k for a kind of period: its own, else
 * (split) a quarter of the year's.  TR_NONE when there is none. */
void target_default(const struct cfg_kpi *k, enum period_kind pk, struct target *out);
/* Sets an editor's target, and audits the change (who and reason, copied
 * into the audit log), in one transaction.  0, or the store's negative
 * errno with err filled. */
int target_set(struct store *s, const struct cfg_kpi *k, const struct period *p,
	       const struct target *t, const char *who, const char *reason, char *err);

struct forecast {
	bool open;          /* the period has not ended */
	const char *method; /* "run_rate", "trend", or "none" */
	double value;       /* the projected end-of-period figure (NaN: none) */
	double elapsed;     /* the fraction of the period gone, 0..1 */
	double slope;       /* trend: change per period */
	int history;        /* trend: closed periods used */
};

/* The forecast of KPI k's figure `value` for period p at now_ms, for the
 * whole (dim "") or one slice (its own trend).  out->method is a literal.
 * 0, or the store's negative errno with err filled. */
int forecast_of(struct store *s, const struct cfg_kpi *k, const struct period *p, const char *dim,
		const char *slice, double value, int64_t now_ms, struct forecast *out, char *err);
/* The arithmetic of forecast_of, with the figures of the closed periods
 * before p given (closed[0..n), oldest first; forecast_of passes the last
 * four).  A cumulative figure is projected at its run rate, any other along
 * its least-squares trend. */
void forecast_from(bool cumulative, const struct period *p, double value, int64_t now_ms,
		   const double *closed, int n, struct forecast *out);

/* ---- the one judgement ---- */

/* What a figure is, against its period's target:
 *   a closed period:  met (green), near: within the warning band (amber),
 *                     missed (red);
 *   an open period:   on track (green) or at risk (amber): never missed
 *                     before it closes.  A cumulative KPI (a count, a sum)
 *                     is judged by its milestone to date, the target pro
 *                     rata by the elapsed part of the period; any other by
 *                     the forecast of its end-of-period value (its current
 *                     value while there is no forecast);
 *   none:             no figure or no target (grey).
 * The scorecard, the KPI page, the report, the API and the alerts all use
 * this one judgement. */
enum verdict { V_NONE, V_MET, V_NEAR, V_MISSED, V_ON_TRACK, V_AT_RISK };

struct judgement {
	enum verdict verdict;
	enum status status;   /* the verdict on the four statuses */
	const char *method;   /* "closed", "milestone", "forecast", "value" or "none" (a literal) */
	double judged;        /* the figure compared: the value, or the forecast */
	struct target against; /* the target compared with: the period's, or its milestone */
};

/* "met", "near", "missed", "on_track", "at_risk" or "none": a literal. */
const char *verdict_name(enum verdict v);
/* The judgement of value against t; fc is the period's forecast at the
 * time of judging (NULL, or !fc->open: the period has closed).  Pure. */
void judge_figure(bool cumulative, const struct target *t, double value,
		  const struct forecast *fc, struct judgement *out);

/* The figures of KPI k for period p, one per slice of dim ("" for the
 * whole): computed results, or for a KPI that people report, the newest
 * reported values.  out->v is malloc'd (the caller frees it, also after an
 * error); 0, or a negative errno with err (STORE_ERRLEN) filled. */
struct slice_figure {
	char slice[64];
	double value, n;
};
struct slice_figures {
	struct slice_figure *v;
	size_t n;
};
int figures_of(struct store *s, const struct cfg_kpi *k, const struct period *p, const char *dim,
	       struct slice_figures *out, char *err);

#endif
