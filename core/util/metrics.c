/* metrics.c - see metrics.h. */
#include "util/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct metric {
	struct metric *next; /* the next series of its family */
	enum metric_type type;
	char *labels;
	bool sparse;
	atomic_uint_fast64_t count;  /* a counter's count; a histogram's observations */
	atomic_uint_fast64_t bits;   /* a gauge's value, or a histogram's sum, as double bits */
	double (*read)(void *ud);
	void *ud;
	int nbounds;
	double *bounds;
	atomic_uint_fast64_t *buckets; /* cumulative: observations <= bounds[i] */
};

struct family {
	struct family *next;
	char *name, *help;
	enum metric_type type;
	struct metric *first, *last;
};

struct metrics {
	pthread_mutex_t lock;
	struct family *first, *last;
};

int metrics_new(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (struct family *f = m->first, *fn; f; f = fn) {
		fn = f->next;
		for (struct metric *s = f->first, *sn; s; s = sn) {
			sn = s->next;
			free(s->labels);
			free(s->bounds);
			free(s->buckets);
			free(s);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct family *family_of(struct metrics *m, const char *name, const char *help,
				enum metric_type type)
{
	for (struct family *f = m->first; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f->type == type ? f : NULL;
	struct family *f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(name)) || !(f->help = strdup(help))) {
		if (f)
			free(f->name);
		free(f);
		return NULL;
	}
	f->type = type;
	if (m->last)
		m->last->next = f;
	else
		m->first = f;
	m->last = f;
	return f;
}

static struct metric *series(struct metrics *m, const char *name, const char *help,
			     const char *labels, enum metric_type type)
{
	if (!m)
		return NULL;
	labels = labels ? labels : "";
	pthread_mutex_lock(&m->lock);
	struct metric *s = NULL;
	struct family *f = family_of(m, name, help, type);
	if (!f)
		goto out;
	for (s = f->first; s; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			goto out;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->labels = strdup(labels))) {
		free(s);
		s = NULL;
		goto out;
	}
	s->type = type;
	if (f->last)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
out:
	pthread_mutex_unlock(&m->lock);
	return s;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
			       const char *labels)
{
	return series(m, name, help, labels, M_COUNTER);
}

struct metric *metrics_counter_sparse(struct metrics *m, const char *name, const char *help,
				      const char *labels)
{
	struct metric *s = series(m, name, help, labels, M_COUNTER);
	if (s)
		s->sparse = true;
	return s;
}

static uint64_t bits_of(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	return u;
}

static double double_of(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
			     const char *labels)
{
	return series(m, name, help, labels, M_GAUGE);
}

struct metric *metrics_gauge_read(struct metrics *m, const char *name, const char *help,
				  const char *labels, double (*read)(void *ud), void *ud)
{
	struct metric *s = series(m, name, help, labels, M_GAUGE);
	if (s) {
		s->read = read;
		s->ud = ud;
	}
	return s;
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
				 const char *labels, const double *bounds, int n)
{
	struct metric *s = series(m, name, help, labels, M_HISTOGRAM);
	if (!s || s->bounds)
		return s;
	double *b = malloc(sizeof(*b) * (size_t)n);
	atomic_uint_fast64_t *c = calloc((size_t)n, sizeof(*c));
	if (!b || !c) {
		free(b);
		free(c);
		return NULL; /* the series stays, without buckets */
	}
	memcpy(b, bounds, sizeof(*b) * (size_t)n);
	s->buckets = c;
	s->bounds = b;
	s->nbounds = n;
	return s;
}

void metric_add(struct metric *c, uint64_t n)
{
	if (c)
		atomic_fetch_add_explicit(&c->count, n, memory_order_relaxed);
}

void metric_set(struct metric *g, double v)
{
	if (g)
		atomic_store_explicit(&g->bits, bits_of(v), memory_order_relaxed);
}

void metric_observe(struct metric *h, double v)
{
	if (!h)
		return;
	for (int b = 0; b < h->nbounds; b++)
		if (v <= h->bounds[b])
			atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	/* The sum, by compare-and-swap on its bits. */
	uint64_t old = atomic_load_explicit(&h->bits, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&h->bits, &old, bits_of(double_of(old) + v),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

double metric_value(const struct metric *s)
{
	if (!s)
		return NAN;
	if (s->type == M_GAUGE)
		return s->read ? s->read(s->ud) : double_of(LOAD(s->bits));
	return (double)LOAD(s->count);
}

/* name{labels} or name{labels,extra} or name */
static void put_name(struct buf *o, const char *name, const char *suffix, const char *labels,
		     const char *extra)
{
	buf_printf(o, "%s%s", name, suffix);
	if (*labels || extra)
		buf_printf(o, "{%s%s%s}", labels, *labels && extra ? "," : "", extra ? extra : "");
	buf_putc(o, ' ');
}

static void put_double(struct buf *o, double v)
{
	if (isnan(v))
		buf_puts(o, "NaN\n"); /* Prometheus' spelling */
	else
		buf_printf(o, "%.6f\n", v);
}

char *metrics_render(struct metrics *m, size_t *len)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	struct buf o = {0};
	buf_reserve(&o, 8192);
	pthread_mutex_lock(&m->lock);
	for (struct family *f = m->first; f; f = f->next) {
		buf_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			   types[f->type]);
		for (struct metric *s = f->first; s; s = s->next) {
			switch (f->type) {
			case M_COUNTER:
				if (s->sparse && LOAD(s->count) == 0)
					break;
				put_name(&o, f->name, "", s->labels, NULL);
				buf_printf(&o, "%llu\n", LOAD(s->count));
				break;
			case M_GAUGE:
				put_name(&o, f->name, "", s->labels, NULL);
				put_double(&o, s->read ? s->read(s->ud) : double_of(LOAD(s->bits)));
				break;
			case M_HISTOGRAM: {
				char le[48];
				for (int b = 0; b < s->nbounds; b++) {
					snprintf(le, sizeof(le), "le=\"%g\"", s->bounds[b]);
					put_name(&o, f->name, "_bucket", s->labels, le);
					buf_printf(&o, "%llu\n", LOAD(s->buckets[b]));
				}
				put_name(&o, f->name, "_bucket", s->labels, "le=\"+Inf\"");
				buf_printf(&o, "%llu\n", LOAD(s->count));
				put_name(&o, f->name, "_sum", s->labels, NULL);
				put_double(&o, double_of(LOAD(s->bits)));
				put_name(&o, f->name, "_count", s->labels, NULL);
				buf_printf(&o, "%llu\n", LOAD(s->count));
				break;
			}
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	return buf_take(&o, len);
}
