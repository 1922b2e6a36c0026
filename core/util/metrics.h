/* metrics.h - the server's own figures, in Prometheus' text format.
 *
 * Counters are lock-free atomics, so recording costs a few nanoseconds on
 * the request path; rendering reads them without stopping anyone.
 */
#ifndef MIZAN_METRICS_H
#define MIZAN_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "model/event.h"

enum route {
	R_EVENTS_POST,
	R_EVENTS_GET,
	R_GOALS,
	R_KPIS,
	R_KPI,
	R_KPI_SERIES,
	R_KPI_VALUES,
	R_KPI_TARGET,
	R_ALERTS,
	R_ALERT_HISTORY,
	R_ALERT_ACK,
	R_SILENCES,
	R_OUTBOX,
	R_AUDIT,
	R_HEALTHZ,
	R_METRICS,
	R_WEB,
	R_OTHER,
	R_NROUTES
};

#define METRICS_NBUCKETS 10
#define METRICS_NCODES 14

struct metrics {
	atomic_uint_fast64_t accepted[EV_NKINDS], duplicates[EV_NKINDS];
	atomic_uint_fast64_t rejected[EV_NKINDS + 1]; /* last: kind unknown */
	atomic_uint_fast64_t batches_failed;          /* the store refused */
	atomic_uint_fast64_t requests[R_NROUTES][METRICS_NCODES];
	atomic_uint_fast64_t duration_bucket[R_NROUTES][METRICS_NBUCKETS];
	atomic_uint_fast64_t duration_count[R_NROUTES], duration_us_sum[R_NROUTES];
	atomic_uint_fast64_t eval_runs, eval_failures, eval_periods, eval_restarts;
	atomic_uint_fast64_t eval_last_us; /* the last evaluation's duration */
	atomic_uint_fast64_t alert_changes, alert_messages;
	int64_t started_ms;
};

void metrics_init(struct metrics *m);
void metrics_request(struct metrics *m, enum route r, unsigned status, double seconds);
/* The exposition text, malloc'd; the caller frees it. */
char *metrics_render(struct metrics *m, int64_t db_bytes, size_t *len);

#endif
