/* kpi.h - evaluation: the strategy's KPIs folded over their events, per
 * period and per slice, cached in the store.
 *
 * One pass per event kind reads the events of the periods that need it, in
 * time order, and steps every KPI that reads that kind, for the whole and
 * for each configured slice dimension at once.  What needs recomputing
 * follows from the dirty marks ingest leaves: a KPI is recomputed only for
 * the periods (of its own kind, and the year) that received events since the
 * last evaluation.  A KPI never evaluated, or whose last evaluation failed,
 * is recomputed whole.
 */
#ifndef MIZAN_KPI_H
#define MIZAN_KPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "eval/indicator.h"
#include "store/store.h"

/* Where an evaluation is, for whoever watches it (the daemon watches its
 * worker through shared memory; see supervise.h). */
struct kpi_progress {
	volatile uint64_t beat; /* grows while work goes on */
	volatile int kpi;       /* index in config->kpis being stepped, or -1 */
	volatile int busy;      /* 1 during an evaluation */
};

struct eval_stats {
	int64_t run;          /* this evaluation's number (0: it changed no figure) */
	size_t kpis;          /* KPIs evaluated */
	size_t periods;       /* (KPI, period) pairs recomputed */
	size_t results;       /* rows written (whole and slices) */
	size_t events;        /* events read */
	size_t failed;        /* KPIs whose indicator failed */
	double seconds;
};

/* An engine is used by one thread at a time (the one that evaluates): the
 * indicators it runs must not be called from two threads at once. */
struct kpi_engine;

/* A new engine in *out (the caller frees it with kpi_engine_free).  c, s
 * and r are borrowed and must outlive it.  0, or -ENOMEM. */
int kpi_engine_new(struct kpi_engine **out, const struct config *c, struct store *s,
		   struct registry *r);
/* Frees the engine (NULL is a no-op); not what it borrowed. */
void kpi_engine_free(struct kpi_engine *e);

/* Leaves a KPI out of evaluations (it crashed or hung the worker); the id
 * is copied.  0, or -ENOMEM. */
int kpi_engine_skip(struct kpi_engine *e, const char *kpi);

/* Recomputes what is dirty; with `full`, everything.  Failures of single
 * KPIs are recorded in the store (kpi status) and counted in st->failed.
 * prog may be NULL; when given, it is updated as the work goes (it may be
 * shared memory another process reads).  *st is always filled.  0, or a
 * negative errno with err filled when the store fails (its error) or
 * memory runs out (-ENOMEM). */
int kpi_eval(struct kpi_engine *e, bool full, struct kpi_progress *prog, struct eval_stats *st,
	     char *err, size_t errlen);

/* The reference figures: each period (of kind pkind; -1: each KPI's own)
 * that has events with from_ms <= ts < to_ms, folded straight from its
 * events in time order into fresh states (no kept state, no merge, nothing
 * written), for KPI kpi (NULL: every one), the whole (dim "") or the slices
 * of dim (NULL: the whole and every slice).  cb gets each row (valid during
 * the call; a nonzero return stops).  A KPI whose indicator fails is left
 * out, with a line on stderr.  0, or a negative errno with err filled. */
int kpi_reference(struct kpi_engine *e, const char *kpi, int pkind, int64_t from_ms, int64_t to_ms,
		  const char *dim, int (*cb)(const struct store_result *r, void *ud), void *ud,
		  char *err, size_t errlen);

/* Loads the C plugins and the Lua scripts of the search path (search.h:
 * the environment, c->plugin_dirs and c->script_dirs, then the default
 * folders) into r, which owns them; what is refused is recorded in
 * r->errors, what plugins.replace skipped in r->notes.  The thread that
 * owns r.  Defined in search.c. */
void kpi_registry_load(struct registry *r, const struct config *c);

/* The mizan_event view of a stored event: its texts point into e, valid
 * while e is.  Pure; any thread. */
void kpi_event_view(const struct event *e, struct mizan_event *out);

/* The extra figures of a result as the text of one JSON object, name to
 * value (null for a value that is not finite), malloc'd: the caller frees
 * it.  NULL when the result has none, or out of memory. */
char *kpi_extra_json(const struct mizan_result *res);

/* "plugin <file> <version>" or "script <file> sha256:..." into buf[len],
 * cut to fit.  Pure; any thread. */
void kpi_provenance(const struct indicator *ind, char *buf, size_t len);

#endif
