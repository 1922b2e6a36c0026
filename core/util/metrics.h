/* metrics.h - the server's own figures, in Prometheus' text format.
 *
 * A registry of series: each part of the server registers the counters,
 * gauges and histograms it keeps (ingest its events by kind, http its
 * requests by route, the daemon its evaluations) and updates them itself;
 * `GET /metrics` renders the lot.  Nothing here knows what is counted.
 *
 * Registering takes a lock and may allocate; updating a series is one
 * relaxed atomic operation, safe from any thread, so recording costs a few
 * nanoseconds on the request path.  Rendering reads without stopping anyone.
 *
 * Ownership: the registry owns every series; a `struct metric *` it returns
 * stays valid until metrics_free.  Names, help texts and labels are copied.
 */
#ifndef MIZAN_UTIL_METRICS_H
#define MIZAN_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric;

/* A new, empty registry in *out (the caller frees it with metrics_free).
 * 0, or -ENOMEM. */
int metrics_new(struct metrics **out);
/* Frees the registry and every series (NULL is a no-op). */
void metrics_free(struct metrics *m);

/* Registers a series of the family `name` (created with `help` the first
 * time), with `labels` in Prometheus' syntax without braces (`kind="service"`;
 * "" or NULL for none), or returns the one already registered under that
 * name and labels.  The registry owns it (valid until metrics_free).  NULL
 * when out of memory, when m is NULL, or when `name` is already a family of
 * another type; updating NULL is a no-op, so a caller need not check.  Any
 * thread.  A counter registered with metrics_counter_sparse is left out of
 * the text until it is first counted (for a series per status code). */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
			       const char *labels);
struct metric *metrics_counter_sparse(struct metrics *m, const char *name, const char *help,
				      const char *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
			     const char *labels);
/* A gauge whose value is read when the text is rendered: read(ud) is called
 * on the thread that renders; ud must outlive the registry's use. */
struct metric *metrics_gauge_read(struct metrics *m, const char *name, const char *help,
				  const char *labels, double (*read)(void *ud), void *ud);
/* A histogram with cumulative buckets at bounds[0..n) (ascending, copied),
 * plus +Inf, a sum and a count. */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
				 const char *labels, const double *bounds, int n);

/* Counts, sets or observes: any thread, lock-free; NULL is a no-op. */
void metric_add(struct metric *c, uint64_t n);
void metric_set(struct metric *g, double v);
void metric_observe(struct metric *h, double v);
/* A counter's count, a gauge's value or a histogram's count; NaN for NULL. */
double metric_value(const struct metric *s);

/* The exposition text of m (not NULL), malloc'd (the caller frees it), or
 * NULL when out of memory.  *len gets its length (len may be NULL).  Any
 * thread; registering waits while it runs. */
char *metrics_render(struct metrics *m, size_t *len);

#endif
