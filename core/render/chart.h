/* chart.h - KPI charts (SVG and PNG) rendered by a pool of long-lived gnuplots.
 *
 * Thread-safe: any number of threads may call chart_render() on one pool at
 * the same time (HTTP threads, the alert/mail thread).  A render takes a free
 * gnuplot (or waits for one), so at most `size` renders run at once.
 *
 * Every string in a spec (title, unit, labels) is passed to gnuplot as literal
 * text: nothing in it is executed, expanded or interpreted (see
 * chart_script.c).  A spec and what it points to are borrowed for the call.
 *
 * SIGPIPE: a gnuplot that dies while being written to would raise SIGPIPE; the
 * server ignores it (and tests call signal(SIGPIPE, SIG_IGN)).
 */
#ifndef MIZAN_CHART_H
#define MIZAN_CHART_H

#include <stddef.h>
#include <stdint.h>

enum chart_kind { CHART_SERIES, CHART_BARS, CHART_SPARK };
enum chart_format { CHART_SVG, CHART_PNG };

/* label: a period ("2026-Q1") or a slice name (UTF-8, any text). */
struct chart_point {
	const char *label;
	double value; /* NaN or infinite: a missing value (a gap) */
};

/* A period's own target, for a series whose target changed over time. */
struct chart_target {
	double low, high; /* NaN: no bound */
	double warn;      /* NaN or <= 0: no band */
};

struct chart_spec {
	enum chart_kind kind;
	enum chart_format format;
	const char *title; /* UTF-8, may be Arabic, may contain anything; NULL: none */
	const char *unit;  /* y label; NULL: none */
	const char *lang;  /* "ar" or "en" (NULL: "en") */
	const struct chart_point *points;
	size_t n;
	/* NaN: no bound.  Each bound that is set is drawn as a horizontal line. */
	double target_low, target_high;
	/* NULL: the one target above for every point.  Else n targets, one per
	 * point (its period's own), drawn as a step line with its band; the
	 * single target and warn are then not used.  Borrowed for the call. */
	const struct chart_target *targets;
	/* Band fraction (NaN or <= 0: none): shades [low*(1-warn), low] and
	 * [high, high*(1+warn)]. */
	double warn;
	/* NaN: none; else the projected value of the open (last) period, drawn
	 * (series only) as a dashed segment from the last point up or down to it,
	 * ending in a hollow point. */
	double forecast;
	int width, height; /* pixels; 0: per kind (series 720x320, bars 720x360, spark 120x32) */
	int no_cache;      /* nonzero: neither look up nor store in the cache (benchmarks) */
};

struct chart_pool;

/* Starts `size` long-lived gnuplot processes (posix_spawn of gnuplot_path, no
 * shell), each fed scripts through its stdin and read through its stdout;
 * `timeout_s` bounds one render.  Returns 0, or a negative errno with err
 * filled: -EINVAL bad parameters, -ENOMEM, or why gnuplot_path cannot be
 * run (-ENOENT, -EACCES...).  On success *out is the caller's, freed with
 * chart_pool_stop; gnuplot_path is copied.  On failure *out is NULL. */
int chart_pool_start(struct chart_pool **out, const char *gnuplot_path, int size, double timeout_s,
		     char *err, size_t errlen);
/* Stops the gnuplots and frees the pool (NULL: nothing).  No render may be in
 * progress, nor start: the thread that started the pool, once the others
 * are done with it. */
void chart_pool_stop(struct chart_pool *p);

/* Renders, through the cache: the same spec (same data) returns the cached
 * bytes without touching gnuplot.  Returns malloc'd bytes (the caller frees
 * them with free) and *len, or NULL with err: gnuplot missing, died or
 * timed out (it is then killed and restarted, and the next render works),
 * or produced no image, or out of memory.  Any thread. */
unsigned char *chart_render(struct chart_pool *p, const struct chart_spec *s, size_t *len,
			    char *err, size_t errlen);

/* Counters for /metrics and tests.  renders: images made by gnuplot; restarts:
 * gnuplots killed or found dead and started again; timeouts: renders that
 * exceeded timeout_s. */
struct chart_stats {
	uint64_t renders, cache_hits, restarts, timeouts;
};
/* Copies the counters into *out.  Any thread. */
void chart_pool_stats(struct chart_pool *p, struct chart_stats *out);

/* For tests: the pid of gnuplot process i (-1: none running, or p NULL).
 * Any thread. */
int chart_pool_pid(struct chart_pool *p, int i);

/* For tests and the benchmark: the gnuplot script a spec turns into (malloc'd,
 * NUL-terminated, the caller frees it; NULL when s is NULL or out of
 * memory).  It sets the terminal, writes the image to stdout (`set output`)
 * and ends with `unset output`; the pool adds its end marker after it.
 * Pure; any thread. */
char *chart_script(const struct chart_spec *s);

#endif
