/* metrics.c - see metrics.h. */
#include "util/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const route_names[R_NROUTES] = {
	"events_post", "events_get", "goals",    "kpis",   "kpi",   "kpi_series",
	"kpi_values",  "kpi_target", "alerts",   "alert_history", "alert_ack", "silences",
	"outbox",      "audit",      "healthz",  "metrics", "web",  "other"};
/* The status codes Mizan answers with; anything else counts as the last. */
static const unsigned codes[METRICS_NCODES] = {200, 201, 400, 401, 403, 404, 405,
					       408, 409, 413, 415, 503, 507, 0};
static const double bounds[METRICS_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
						0.025,  0.05,  0.1,    0.5,   2.5};

void metrics_init(struct metrics *m)
{
	struct timespec ts;

	memset(m, 0, sizeof(*m));
	clock_gettime(CLOCK_REALTIME, &ts);
	m->started_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void metrics_request(struct metrics *m, enum route r, unsigned status, double seconds)
{
	int c = 0;
	while (c < METRICS_NCODES - 1 && codes[c] != status)
		c++;
	atomic_fetch_add_explicit(&m->requests[r][c], 1, memory_order_relaxed);
	for (int b = 0; b < METRICS_NBUCKETS; b++)
		if (seconds <= bounds[b])
			atomic_fetch_add_explicit(&m->duration_bucket[r][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->duration_count[r], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->duration_us_sum[r], (uint_fast64_t)(seconds * 1e6),
				  memory_order_relaxed);
}

struct out {
	char *buf;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n) * 2;
		char *p = realloc(o->buf, cap);
		if (!p)
			return;
		o->buf = p;
		o->cap = cap;
	}
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static void put_by_kind(struct out *o, const char *name, const char *help,
			atomic_uint_fast64_t *v, int n)
{
	put(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int k = 0; k < n; k++)
		put(o, "%s{kind=\"%s\"} %llu\n", name, k < EV_NKINDS ? event_kind_names[k] : "unknown",
		    LOAD(v[k]));
}

char *metrics_render(struct metrics *m, int64_t db_bytes, size_t *len)
{
	struct out o = {malloc(8192), 0, 8192};
	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	put_by_kind(&o, "mizan_events_accepted_total", "Events stored.", m->accepted, EV_NKINDS);
	put_by_kind(&o, "mizan_events_duplicate_total", "Events not stored again: their id was known.",
		    m->duplicates, EV_NKINDS);
	put_by_kind(&o, "mizan_events_rejected_total", "Events that failed validation.", m->rejected,
		    EV_NKINDS + 1);
	put(&o, "# HELP mizan_batches_failed_total Valid batches the store could not write.\n"
		"# TYPE mizan_batches_failed_total counter\nmizan_batches_failed_total %llu\n",
	    LOAD(m->batches_failed));
	put(&o, "# HELP mizan_http_requests_total HTTP requests answered.\n"
		"# TYPE mizan_http_requests_total counter\n");
	for (int r = 0; r < R_NROUTES; r++)
		for (int c = 0; c < METRICS_NCODES; c++) {
			unsigned long long v = LOAD(m->requests[r][c]);
			if (v == 0)
				continue;
			if (codes[c])
				put(&o, "mizan_http_requests_total{route=\"%s\",code=\"%u\"} %llu\n",
				    route_names[r], codes[c], v);
			else
				put(&o, "mizan_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
				    route_names[r], v);
		}
	put(&o, "# HELP mizan_http_request_duration_seconds Time from request to response.\n"
		"# TYPE mizan_http_request_duration_seconds histogram\n");
	for (int r = 0; r < R_NROUTES; r++) {
		for (int b = 0; b < METRICS_NBUCKETS; b++)
			put(&o, "mizan_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    route_names[r], bounds[b], LOAD(m->duration_bucket[r][b]));
		put(&o, "mizan_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
		    route_names[r], LOAD(m->duration_count[r]));
		put(&o, "mizan_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
		    (double)LOAD(m->duration_us_sum[r]) / 1e6);
		put(&o, "mizan_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
		    LOAD(m->duration_count[r]));
	}
	put(&o, "# HELP mizan_eval_runs_total Evaluations that completed.\n"
		"# TYPE mizan_eval_runs_total counter\nmizan_eval_runs_total %llu\n",
	    LOAD(m->eval_runs));
	put(&o, "# HELP mizan_eval_failures_total Evaluations whose worker crashed, hung or failed.\n"
		"# TYPE mizan_eval_failures_total counter\nmizan_eval_failures_total %llu\n",
	    LOAD(m->eval_failures));
	put(&o, "# HELP mizan_eval_periods_recomputed_total (KPI, period) pairs recomputed.\n"
		"# TYPE mizan_eval_periods_recomputed_total counter\n"
		"mizan_eval_periods_recomputed_total %llu\n",
	    LOAD(m->eval_periods));
	put(&o, "# HELP mizan_eval_worker_restarts_total Times the evaluation worker was restarted.\n"
		"# TYPE mizan_eval_worker_restarts_total counter\nmizan_eval_worker_restarts_total %llu\n",
	    LOAD(m->eval_restarts));
	put(&o, "# HELP mizan_eval_last_seconds How long the last evaluation took.\n"
		"# TYPE mizan_eval_last_seconds gauge\nmizan_eval_last_seconds %.6f\n",
	    (double)LOAD(m->eval_last_us) / 1e6);
	put(&o, "# HELP mizan_alert_changes_total Alerts whose state changed.\n"
		"# TYPE mizan_alert_changes_total counter\nmizan_alert_changes_total %llu\n",
	    LOAD(m->alert_changes));
	put(&o, "# HELP mizan_alert_messages_total Messages queued for alert changes.\n"
		"# TYPE mizan_alert_messages_total counter\nmizan_alert_messages_total %llu\n",
	    LOAD(m->alert_messages));
	put(&o, "# HELP mizan_db_size_bytes Size of the database file.\n"
		"# TYPE mizan_db_size_bytes gauge\nmizan_db_size_bytes %lld\n",
	    (long long)db_bytes);
	put(&o, "# HELP mizan_start_time_seconds When the server started.\n"
		"# TYPE mizan_start_time_seconds gauge\nmizan_start_time_seconds %lld\n",
	    (long long)(m->started_ms / 1000));
	*len = o.len;
	return o.buf;
}
