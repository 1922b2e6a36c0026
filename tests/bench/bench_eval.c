/* bench_eval.c - how fast Mizan evaluates its KPIs, against what reading the
 * same events out of SQLite costs alone.
 *
 * One run, on one database (see README.md, "Evaluation benchmark"):
 *   1. N demo events (seed 1, 2023-01-01 .. 2026-11-01) loaded with
 *      import_demo, unless the database already holds exactly N;
 *   2. the baseline: store_scan of each kind over all time, with a callback
 *      that touches every event's values;
 *   3. a cold evaluation (kpi_eval full) of the configured KPIs, no slices;
 *   4. a warm one (nothing dirty) and reads of each KPI's quarter series;
 *   5. cold evaluations by mission and by all six dimensions;
 *   6. the per-event cost of satisfaction_share as a Lua script and as C;
 *   7. the peak RSS.
 * Progress goes to stderr, results to stdout; the last line sums it up.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "model/config.h"
#include "ingest/demo.h"
#include "ingest/import.h"
#include "eval/indicator.h"
#include "eval/kpi.h"
#include "model/period.h"
#include "store/store.h"
#include "util/time.h"

#define FROM_MS 1672531200000LL /* 2023-01-01T00:00:00Z */
#define TO_MS 1793491200000LL   /* 2026-11-01T00:00:00Z */

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double peak_rss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

/* Whether `phase` is in the comma-separated list (NULL: every phase). */
static bool want(const char *only, const char *phase)
{
	size_t n = strlen(phase);
	for (const char *p = only; p;) {
		if (strncmp(p, phase, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return !only;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-eval [--events N] [--db PATH] [--mizan-root DIR] [--plugins DIR]\n"
		"  --events N        demo events to evaluate (default 10000000)\n"
		"  --db PATH         keep the database here and reuse it when it holds N events\n"
		"                    (default: a temporary file, removed at the end)\n"
		"  --mizan-root DIR  the repository (config/mizan.lua, scripts/; default .)\n"
		"  --plugins DIR     the built plugins (default DIR/build/plugins)\n"
		"  --only LIST       only these of scan,eval,slices,steps (for profiling;\n"
		"                    eval is cold and warm evaluation and the series reads)\n");
}

/* Replaces a configuration list (config_free frees what is set here). */
static void set_list(struct strlist *l, const char *const *v, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	if (!n)
		return;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v) {
		fprintf(stderr, "bench-eval: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		l->v[i] = strdup(v[i]);
		if (!l->v[i]) {
			fprintf(stderr, "bench-eval: out of memory\n");
			exit(1);
		}
	}
	l->n = n;
}

/* ---- the baseline scan ------------------------------------------------------ */

struct touch {
	uint64_t events;
	int64_t ts_sum;
	double num_sum;
	uint64_t text_bytes;
};

/* The numeric field each kind is about. */
static const enum field_id kind_number[EV_NKINDS] = {F_DURATION, F_HOURS, F_AMOUNT, F_SCORE};

static int on_touch(const struct event *e, void *ud)
{
	struct touch *t = ud;
	t->events++;
	t->ts_sum += e->v[F_TS].i;
	enum field_id f = kind_number[e->kind];
	if (event_has(e, f))
		t->num_sum += e->v[f].d;
	if (event_has(e, F_MISSION))
		t->text_bytes += (unsigned char)e->v[F_MISSION].s[0];
	return 0;
}

static int scan_all(struct store *s, struct touch *t, double *secs, double *cpu)
{
	char err[STORE_ERRLEN];
	memset(t, 0, sizeof(*t));
	double t0 = time_mono(), c0 = cpu_s();
	for (int k = 0; k < EV_NKINDS; k++)
		if (store_scan(s, k, INT64_MIN, INT64_MAX, on_touch, t, err) < 0) {
			fprintf(stderr, "bench-eval: scan: %s\n", err);
			return -1;
		}
	*secs = time_mono() - t0;
	*cpu = cpu_s() - c0;
	return 0;
}

/* ---- evaluations ------------------------------------------------------------ */

struct figure {
	double secs, cpu;
	struct eval_stats st;
};

static int evaluate(struct config *cfg, struct store *s, struct registry *reg,
		    const char *const *slices, size_t nslices, bool full, struct figure *fig)
{
	char err[512];
	struct kpi_engine *e = NULL;
	set_list(&cfg->slices, slices, nslices);
	if (kpi_engine_new(&e, cfg, s, reg) < 0) {
		fprintf(stderr, "bench-eval: kpi_engine_new failed\n");
		return -1;
	}
	double t0 = time_mono(), c0 = cpu_s();
	int rc = kpi_eval(e, full, NULL, &fig->st, err, sizeof(err));
	fig->secs = time_mono() - t0;
	fig->cpu = cpu_s() - c0;
	kpi_engine_free(e);
	if (rc < 0) {
		fprintf(stderr, "bench-eval: kpi_eval: %s\n", err);
		return -1;
	}
	if (fig->st.failed)
		fprintf(stderr, "bench-eval: %zu KPI(s) failed in this evaluation (see the log above)\n",
			fig->st.failed);
	return 0;
}

struct series_count {
	size_t rows;
	double sum;
};

static int on_result(const struct store_result *r, void *ud)
{
	struct series_count *c = ud;
	c->rows++;
	if (isfinite(r->value))
		c->sum += r->value;
	return 0;
}

/* ---- Lua step against C step ------------------------------------------------ */

struct evlist {
	struct mizan_event *v;
	size_t n, cap;
	const char *subjects[8]; /* interned subject texts */
	int nsubjects;
	bool oom;
};

static const char *intern(struct evlist *l, const char *s)
{
	if (!s)
		return NULL;
	for (int i = 0; i < l->nsubjects; i++)
		if (strcmp(l->subjects[i], s) == 0)
			return l->subjects[i];
	if (l->nsubjects == (int)(sizeof(l->subjects) / sizeof(l->subjects[0])))
		return NULL;
	char *copy = strdup(s);
	if (copy)
		l->subjects[l->nsubjects++] = copy;
	return copy;
}

static int on_satisfaction(const struct event *e, void *ud)
{
	struct evlist *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1 << 16;
		struct mizan_event *p = realloc(l->v, cap * sizeof(*p));
		if (!p) {
			l->oom = true;
			return 1;
		}
		l->v = p;
		l->cap = cap;
	}
	struct mizan_event *m = &l->v[l->n++];
	kpi_event_view(e, m);
	/* The row's texts die with the call: keep the one the indicator reads
	 * (interned), drop the others. */
	const char *subject = intern(l, m->subject);
	m->id = m->mission = m->country = m->sex = m->age_group = NULL;
	m->service = m->channel = m->outcome = m->title = m->programme = NULL;
	m->sector = m->contribution = m->currency = NULL;
	m->subject = subject;
	return 0;
}

/* The shape of the timed loop, with nothing in it. */
__attribute__((noinline)) static int noop_step(struct indicator *ind, void *state,
					       const struct mizan_event *ev, char *err)
{
	(void)ind;
	(void)err;
	__asm__ volatile("" : : "r"(state), "r"(ev) : "memory");
	return 0;
}

typedef int (*step_fn)(struct indicator *, void *, const struct mizan_event *, char *);

/* Seconds for one pass of step over all events (best of `reps`); the last
 * pass's final result in *res. */
static int time_steps(struct indicator *ind, step_fn step, const struct mizan_params *params,
		      const struct evlist *l, int reps, double *best, struct mizan_result *res)
{
	char err[IND_ERRLEN] = "";
	*best = INFINITY;
	for (int r = 0; r < reps; r++) {
		void *st = ind ? ind->ops->state_new(ind, params, err) : &err;
		if (!st) {
			fprintf(stderr, "bench-eval: %s: state_new: %s\n", ind->name, err);
			return -1;
		}
		step_fn volatile call = step;
		double t0 = time_mono();
		for (size_t i = 0; i < l->n; i++)
			if (call(ind, st, &l->v[i], err) < 0) {
				fprintf(stderr, "bench-eval: %s: step: %s\n", ind ? ind->name : "noop", err);
				if (ind)
					ind->ops->state_free(ind, st);
				return -1;
			}
		double t = time_mono() - t0;
		if (t < *best)
			*best = t;
		if (ind) {
			memset(res, 0, sizeof(*res));
			res->value = NAN;
			int rc = ind->ops->final(ind, st, res, err);
			ind->ops->state_free(ind, st);
			if (rc < 0) {
				fprintf(stderr, "bench-eval: %s: final: %s\n", ind->name, err);
				return -1;
			}
		}
	}
	return 0;
}

static void print_result(const char *name, const struct mizan_result *r)
{
	printf("  %-22s value=%.10g n=%.0f", name, r->value, r->n);
	for (int i = 0; i < r->nextra && i < MIZAN_MAX_EXTRA; i++)
		printf(" %s=%.10g", r->extra[i].name ? r->extra[i].name : "?", r->extra[i].value);
	if (r->note)
		printf(" note=\"%s\"", r->note);
	printf("\n");
}

static bool same_result(const struct mizan_result *a, const struct mizan_result *b)
{
	bool same = (a->value == b->value || (isnan(a->value) && isnan(b->value))) && a->n == b->n;
	/* The extras by name (their order is the indicator's own). */
	for (int i = 0; same && i < a->nextra; i++) {
		bool found = false;
		for (int j = 0; j < b->nextra; j++)
			if (a->extra[i].name && b->extra[j].name &&
			    strcmp(a->extra[i].name, b->extra[j].name) == 0) {
				double x = a->extra[i].value, y = b->extra[j].value;
				found = true;
				same = x == y || fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
			}
		same = same && found;
	}
	return same;
}

/* ---- main --------------------------------------------------------------------------- */

static void row(const char *what, double secs, double events, double scan_s, double cpu)
{
	printf("%-36s %10.3f %14.0f", what, secs, secs > 0 && events > 0 ? events / secs : 0.0);
	if (scan_s > 0)
		printf(" %8.2fx", secs / scan_s);
	else
		printf(" %9s", "");
	printf(" %9.2f\n", cpu);
}

int main(int argc, char **argv)
{
	uint64_t nevents = 10000000;
	const char *db = NULL, *root = ".", *plugins = NULL, *only = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		const char *v = argv[++i];
		if (!strcmp(a, "--events")) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(v, &end, 10);
			if (errno || *end || n == 0) {
				fprintf(stderr, "bench-eval: --events: not a positive number: %s\n", v);
				return 2;
			}
			nevents = n;
		} else if (!strcmp(a, "--db")) {
			db = v;
		} else if (!strcmp(a, "--mizan-root")) {
			root = v;
		} else if (!strcmp(a, "--plugins")) {
			plugins = v;
		} else if (!strcmp(a, "--only")) {
			only = v;
		} else {
			usage(stderr);
			return 2;
		}
	}

	/* The shipped configuration, with the repository's scripts and the
	 * build's plugins. */
	char path[4096], scripts[4096], plugdir[4096], tmpdb[4096] = "";
	char err[512];
	snprintf(path, sizeof(path), "%s/config/mizan.lua", root);
	snprintf(scripts, sizeof(scripts), "%s/scripts", root);
	if (plugins)
		snprintf(plugdir, sizeof(plugdir), "%s", plugins);
	else
		snprintf(plugdir, sizeof(plugdir), "%s/build/plugins", root);
	struct config cfg;
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-eval: %s\n", err);
		return 1;
	}
	const char *sd[] = {scripts}, *pd[] = {plugdir};
	set_list(&cfg.script_dirs, sd, 1);
	set_list(&cfg.plugin_dirs, pd, 1);
	if (period_set_zone(cfg.timezone) < 0) {
		fprintf(stderr, "bench-eval: unknown time zone %s\n", cfg.timezone);
		return 1;
	}
	if (!db) {
		const char *tmp = getenv("TMPDIR");
		snprintf(tmpdb, sizeof(tmpdb), "%s/bench-eval-%d.db", tmp && *tmp ? tmp : "/tmp",
			 (int)getpid());
		db = tmpdb;
	}

	struct registry reg = {0};
	kpi_registry_load(&reg, &cfg);
	for (size_t i = 0; i < reg.nerrors; i++)
		fprintf(stderr, "bench-eval: not loaded: %s: %s\n", reg.errors[i].file,
			reg.errors[i].reason);
	size_t nind = 0;
	for (size_t k = 0; k < cfg.nkpis; k++)
		if (cfg.kpis[k].indicator) {
			nind++;
			if (!registry_find(&reg, cfg.kpis[k].indicator))
				fprintf(stderr, "bench-eval: KPI %s: no indicator '%s' loaded\n",
					cfg.kpis[k].id, cfg.kpis[k].indicator);
		}

	/* The store as the evaluation worker opens it (read through a map);
	 * synchronous NORMAL, as this is a fixture, not data to keep safe. */
	struct store *s = NULL;
	char serr[STORE_ERRLEN];
	struct store_opts so = store_opts_from_config(&cfg, true);
	so.sync_full = false;
	if (store_open(&s, db, &so, serr) < 0) {
		fprintf(stderr, "bench-eval: %s: %s\n", db, serr);
		return 1;
	}

	printf("bench-eval: %" PRIu64 " events, db %s%s, %zu KPIs with an indicator, zone %s\n",
	       nevents, db, tmpdb[0] ? " (temporary)" : "", nind, cfg.timezone);
	printf("\n%-36s %10s %14s %9s %9s\n", "phase", "seconds", "events/s", "x scan", "cpu_s");

	/* 1. The events. */
	int exit_code = 1;
	int64_t have = store_count_events(s);
	double load_s = 0, load_rate = 0;
	bool loaded = false;
	if (have == (int64_t)nevents) {
		printf("%-36s %10s (the database already holds %" PRId64 " events)\n", "load", "-", have);
	} else if (have != 0) {
		fprintf(stderr,
			"bench-eval: %s holds %" PRId64 " events, not %" PRIu64
			": delete it (and its -wal, -shm) or pass another --db\n",
			db, have, nevents);
		goto out;
	} else {
		struct demo_opts d = {.events = nevents, .seed = 1, .from_ms = FROM_MS, .to_ms = TO_MS};
		struct import_stats ist;
		double c0 = cpu_s();
		if (import_demo(s, &cfg, &d, isatty(STDERR_FILENO), &ist, stderr) < 0) {
			fprintf(stderr, "bench-eval: loading the demo events failed\n");
			goto out;
		}
		load_s = ist.seconds;
		load_rate = load_s > 0 ? (double)ist.accepted / load_s : 0;
		loaded = true;
		row("load (import_demo)", load_s, (double)ist.accepted, 0, cpu_s() - c0);
		if (ist.accepted != nevents)
			fprintf(stderr, "bench-eval: %zu accepted of %zu (%zu duplicates)\n", ist.accepted,
				ist.events, ist.duplicates);
		fflush(stdout);
	}
	int64_t nstored = store_count_events(s);

	struct touch t = {0};
	double scan0_s, scan0_cpu, scan_s = NAN, scan_cpu = NAN;
	struct figure cold = {0}, warm = {0}, mission = {0}, six = {0};
	cold.secs = warm.secs = mission.secs = six.secs = NAN;
	double series_ms = NAN;
	double lua_s = NAN, c_s = NAN, empty_s = NAN, lua_ns = NAN, c_ns = NAN, ratio = NAN;
	bool same = false;

	/* 2. The baseline: the same rows read into C, twice (the first pass
	 * also brings the file into the page cache; the second is the figure). */
	if (want(only, "scan")) {
		if (scan_all(s, &t, &scan0_s, &scan0_cpu) < 0)
			goto out;
		row("scan, first pass (cache warm-up)", scan0_s, (double)t.events, 0, scan0_cpu);
		if (scan_all(s, &t, &scan_s, &scan_cpu) < 0)
			goto out;
		row("scan (store_scan x4 kinds)", scan_s, (double)t.events, 0, scan_cpu);
		if (t.events != (uint64_t)nstored)
			fprintf(stderr, "bench-eval: the scan read %" PRIu64 " events of %" PRId64 "\n",
				t.events, nstored);
		fflush(stdout);
	}
	/* 3. Cold, no slices. */
	if (want(only, "eval")) {
		if (evaluate(&cfg, s, &reg, NULL, 0, true, &cold) < 0)
			goto out;
		row("cold eval, no slices", cold.secs, (double)cold.st.events, scan_s, cold.cpu);
		fflush(stdout);

		/* 4. Warm: nothing is dirty. */
		if (evaluate(&cfg, s, &reg, NULL, 0, false, &warm) < 0)
			goto out;
		row("warm eval (nothing dirty)", warm.secs, 0, scan_s, warm.cpu);

		/* Each KPI's quarter series of the whole, from the cache: the first read
		 * of each, then the mean over REPS reads of all. */
		enum { REPS = 50 };
		double first_sum = 0, first_max = 0, rep_s = 0;
		size_t nseries = 0, series_rows = 0;
		for (size_t k = 0; k < cfg.nkpis; k++) {
			if (!cfg.kpis[k].indicator)
				continue;
			struct store_result_query q = {.kpi = cfg.kpis[k].id, .pkind = PK_QUARTER, .dim = "",
						       .slice = "", .from_ms = INT64_MIN, .to_ms = INT64_MAX};
			struct series_count c = {0};
			double t0 = time_mono();
			if (store_results_each(s, &q, on_result, &c, serr) < 0) {
				fprintf(stderr, "bench-eval: results of %s: %s\n", cfg.kpis[k].id, serr);
				goto out;
			}
			double dt = time_mono() - t0;
			first_sum += dt;
			first_max = fmax(first_max, dt);
			series_rows += c.rows;
			nseries++;
		}
		{
			double t0 = time_mono();
			for (int r = 0; r < REPS; r++)
				for (size_t k = 0; k < cfg.nkpis; k++) {
					if (!cfg.kpis[k].indicator)
						continue;
					struct store_result_query q = {
						.kpi = cfg.kpis[k].id, .pkind = PK_QUARTER, .dim = "",
						.slice = "", .from_ms = INT64_MIN, .to_ms = INT64_MAX};
					struct series_count c = {0};
					if (store_results_each(s, &q, on_result, &c, serr) < 0) {
						fprintf(stderr, "bench-eval: results: %s\n", serr);
						goto out;
					}
				}
			rep_s = time_mono() - t0;
		}
		series_ms = nseries ? rep_s * 1000 / (double)(REPS * nseries) : 0;
		double series_first_ms = nseries ? first_sum * 1000 / (double)nseries : 0;
		printf("%-36s %10.3f ms per series (first read %.3f ms avg, %.3f ms max; %zu series, %.1f "
		       "quarters each)\n",
		       "read a quarter series (cache)", series_ms, series_first_ms, first_max * 1000, nseries,
		       nseries ? (double)series_rows / (double)nseries : 0.0);
		fflush(stdout);
	}
	/* 5. Cold, by mission, and by all six dimensions. */
	if (want(only, "slices")) {
		const char *by_mission[] = {"mission"};
		const char *by_all[] = {"mission", "country", "service", "channel", "sex", "age_group"};
		if (evaluate(&cfg, s, &reg, by_mission, 1, true, &mission) < 0)
			goto out;
		row("cold eval, by mission", mission.secs, (double)mission.st.events, scan_s, mission.cpu);
		fflush(stdout);
		if (evaluate(&cfg, s, &reg, by_all, 6, true, &six) < 0)
			goto out;
		row("cold eval, by all 6 dimensions", six.secs, (double)six.st.events, scan_s, six.cpu);
		fflush(stdout);
	}
	/* 6. Lua step against C step on the satisfaction events in memory. */
	if (want(only, "steps")) {
		struct evlist l = {0};
		if (store_scan(s, EV_SATISFACTION, INT64_MIN, INT64_MAX, on_satisfaction, &l, serr) < 0 ||
		    l.oom) {
			fprintf(stderr, "bench-eval: reading satisfaction events: %s\n",
				l.oom ? "out of memory" : serr);
			goto out;
		}
		struct indicator *lua = registry_find(&reg, "satisfaction_share");
		struct indicator *cind = registry_find(&reg, "satisfaction_share_c");
		struct mizan_result lua_res, c_res;
		if (!lua || !cind) {
			fprintf(stderr, "bench-eval: satisfaction_share%s is not loaded\n", lua ? "_c" : "");
		} else {
			const char *keys[] = {"subject", "min_answers"}, *values[] = {"service", "30"};
			struct mizan_params params = {2, keys, values};
			enum { STEP_REPS = 3 };
			if (time_steps(NULL, noop_step, &params, &l, STEP_REPS, &empty_s, NULL) < 0 ||
			    time_steps(cind, cind->ops->step, &params, &l, STEP_REPS, &c_s, &c_res) < 0 ||
			    time_steps(lua, lua->ops->step, &params, &l, STEP_REPS, &lua_s, &lua_res) < 0)
				goto out;
			double n = (double)l.n;
			lua_ns = (lua_s - empty_s) * 1e9 / n;
			c_ns = (c_s - empty_s) * 1e9 / n;
			ratio = c_ns > 0 ? lua_ns / c_ns : NAN;
			same = same_result(&lua_res, &c_res) && same_result(&c_res, &lua_res);
			printf("\nstep over %zu satisfaction events in memory (best of %d passes, one state, "
			       "subject=service min_answers=30):\n",
			       l.n, STEP_REPS);
			printf("  %-22s %10.3f s  %8.1f ns/event\n", "empty loop", empty_s, empty_s * 1e9 / n);
			printf("  %-22s %10.3f s  %8.1f ns/event (less the empty loop)\n", "satisfaction_share_c",
			       c_s, c_ns);
			printf("  %-22s %10.3f s  %8.1f ns/event (less the empty loop)\n",
			       "satisfaction_share", lua_s, lua_ns);
			printf("  Lua / C: %.2fx\n", ratio);
			print_result("C", &c_res);
			print_result("Lua", &lua_res);
			printf("  final values equal: %s\n", same ? "yes" : "NO");
		}
		for (int i = 0; i < l.nsubjects; i++)
			free((char *)l.subjects[i]);
		free(l.v);
	}
	/* 7. Memory. */
	double rss = peak_rss_mib();
	printf("\nevaluations: cold %zu KPIs, %zu events read, %zu (KPI, period) pairs, %zu rows; "
	       "by mission %zu rows; by all six %zu rows; warm recomputed %zu pairs\n",
	       cold.st.kpis, cold.st.events, cold.st.periods, cold.st.results, mission.st.results,
	       six.st.results, warm.st.periods);
	printf("peak RSS: %.0f MiB (includes the pages of the database map that were touched)\n", rss);
	printf("cpu seconds against the scan's: cold %.2fx, by mission %.2fx, by all six %.2fx\n",
	       cold.cpu / scan_cpu, mission.cpu / scan_cpu, six.cpu / scan_cpu);
	printf("goals: cold/scan %.2fx (<= 3x: %s), series %.3f ms (< 1 ms: %s), Lua/C %.2fx "
	       "(< 3x: %s)\n",
	       cold.secs / scan_s, cold.secs / scan_s <= 3 ? "met" : "MISSED", series_ms,
	       series_ms < 1 ? "met" : "MISSED", ratio, ratio < 3 ? "met" : "MISSED");
	printf("\neval events=%" PRId64 " load_s=%.2f load_events_per_s=%.0f scan_s=%.3f "
	       "scan_events_per_s=%.0f cold_s=%.3f cold_ratio=%.2f warm_s=%.4f series_ms=%.4f "
	       "by_mission_s=%.3f by_mission_ratio=%.2f by_all_s=%.3f by_all_ratio=%.2f "
	       "cold_cpu_ratio=%.2f by_mission_cpu_ratio=%.2f by_all_cpu_ratio=%.2f "
	       "lua_step_ns=%.1f c_step_ns=%.1f lua_c_ratio=%.2f lua_c_equal=%s peak_rss_mib=%.0f\n",
	       nstored, loaded ? load_s : 0.0, loaded ? load_rate : 0.0, scan_s,
	       scan_s > 0 ? (double)t.events / scan_s : 0.0, cold.secs, cold.secs / scan_s, warm.secs,
	       series_ms, mission.secs, mission.secs / scan_s, six.secs, six.secs / scan_s,
	       cold.cpu / scan_cpu, mission.cpu / scan_cpu, six.cpu / scan_cpu, lua_ns,
	       c_ns, ratio, want(only, "steps") ? same ? "yes" : "no" : "-", rss);
	exit_code = cold.st.failed || mission.st.failed || six.st.failed ||
			    (want(only, "steps") && !same)
		    ? 1
		    : 0;
out:
	store_close(s);
	registry_free(&reg);
	config_free(&cfg);
	if (tmpdb[0]) {
		char p[4200];
		unlink(tmpdb);
		snprintf(p, sizeof(p), "%s-wal", tmpdb);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", tmpdb);
		unlink(p);
	}
	return exit_code;
}
