/* test_chart.c - the chart pool: escaping, gnuplot death and timeouts, the
 * cache, PNG output.  Needs /usr/bin/gnuplot (skipped with a note without it).
 * Runs in the build's tests/unit directory: leaves chart-arabic.png there for a
 * person to look at. */
#include "render/chart.h"
#include "harness.h"
#include "util/time.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define GNUPLOT "/usr/bin/gnuplot"

static struct chart_spec series_spec(const struct chart_point *pts, size_t n)
{
	return (struct chart_spec){
		.kind = CHART_SERIES,
		.format = CHART_SVG,
		.title = "Revenue",
		.unit = "EUR",
		.lang = "en",
		.points = pts,
		.n = n,
		.target_low = 100,
		.target_high = NAN,
		.warn = 0.1,
		.forecast = NAN,
	};
}

/* The SVG with XML entities decoded (malloc'd). */
static char *xml_decode(const unsigned char *d, size_t n)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
		    {"&quot;", '"'}, {"&apos;", '\''}, {"&#39;", '\''}};
	for (size_t i = 0; i < n;) {
		int done = 0;
		for (size_t e = 0; e < sizeof ents / sizeof ents[0]; e++) {
			size_t l = strlen(ents[e].ent);
			if (n - i >= l && memcmp(d + i, ents[e].ent, l) == 0) {
				o[k++] = ents[e].c;
				i += l;
				done = 1;
				break;
			}
		}
		if (!done)
			o[k++] = (char)d[i++];
	}
	o[k] = '\0';
	return o;
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static struct chart_pool *start(int size, double timeout)
{
	struct chart_pool *p = NULL;
	char err[256] = "";
	int rc = chart_pool_start(&p, GNUPLOT, size, timeout, err, sizeof err);
	CHECK(rc == 0 && p, "chart_pool_start: %s", err);
	return p;
}

static void test_escaping(void)
{
	char marker1[64], marker2[64], marker3[64], title[512], label[512], label3[512];
	snprintf(marker1, sizeof marker1, "/tmp/mizan-chart-marker-%d", (int)getpid());
	snprintf(marker2, sizeof marker2, "/tmp/mizan-chart-marker2-%d", (int)getpid());
	snprintf(marker3, sizeof marker3, "/tmp/mizan-chart-marker3-%d", (int)getpid());
	remove(marker1);
	remove(marker2);
	remove(marker3);
	/* Quotes before a backquote and an @: gnuplot's quote tracking must not
	 * lose count. */
	snprintf(label3, sizeof label3, "'' \"'\" `touch %s` \"`touch %s`\" @pi", marker3, marker3);
	snprintf(title, sizeof title,
		 "KPI `touch %s` @foo 'single' \"double\" \\n {x}^2_y&~\nEOD مؤشر الأداء", marker1);
	snprintf(label, sizeof label, "Q1 `touch %s` @bar it's \"q\"\nEOD", marker2);
	struct chart_point pts[] = {
		{label, 120},
		{"EOD", 95},
		{"@pi", 101},
		{"الربع الأول", 130},
		{"$(touch /tmp/x)'; print 1; '", 99},
		{"2026-Q2", 104},
		{label3, 100},
	};
	struct chart_spec s = series_spec(pts, 7);
	s.title = title;
	s.unit = "ريال \"SAR\" ''";
	s.lang = "ar";
	s.forecast = 110;
	s.target_high = 140;

	char *script = chart_script(&s);
	CHECK(script != NULL, "chart_script");
	CHECK(script && strstr(script, "noenhanced"), "terminal not noenhanced");
	free(script);

	struct chart_pool *p = start(1, 10);
	if (!p)
		return;
	char err[256] = "";
	size_t len = 0;
	unsigned char *svg = chart_render(p, &s, &len, err, sizeof err);
	CHECK(svg != NULL, "render: %s", err);
	if (svg) {
		FILE *f = fopen("chart-escaping.svg", "wb");
		if (f) {
			fwrite(svg, 1, len, f);
			fclose(f);
		}
		char *txt = xml_decode(svg, len);
		CHECK(strncmp(txt, "<?xml", 5) == 0, "not an SVG");
		/* Newlines become spaces; everything else is literal. */
		char want[512];
		snprintf(want, sizeof want,
			 "KPI `touch %s` @foo 'single' \"double\" \\n {x}^2_y&~ EOD مؤشر الأداء",
			 marker1);
		CHECK(strstr(txt, want) != NULL, "title missing from SVG");
		snprintf(want, sizeof want, "Q1 `touch %s` @bar it's \"q\" EOD", marker2);
		CHECK(strstr(txt, want) != NULL, "label missing from SVG");
		CHECK(strstr(txt, ">EOD<") != NULL, "label EOD missing");
		CHECK(strstr(txt, ">@pi<") != NULL, "label @pi missing");
		CHECK(strstr(txt, ">الربع الأول<") != NULL, "Arabic label missing");
		CHECK(strstr(txt, "$(touch /tmp/x)'; print 1; '") != NULL, "quote label missing");
		CHECK(strstr(txt, "ريال \"SAR\" ''") != NULL, "unit missing");
		CHECK(strstr(txt, label3) != NULL, "label3 missing");
		free(txt);
	}
	free(svg);
	CHECK(!file_exists(marker1), "backquote in the title ran: %s exists", marker1);
	CHECK(!file_exists(marker2), "backquote in a label ran: %s exists", marker2);
	CHECK(!file_exists(marker3), "backquote in a label ran: %s exists", marker3);
	remove(marker1);
	remove(marker2);

	/* The same texts through a PNG and the other kinds. */
	s.format = CHART_PNG;
	s.kind = CHART_BARS;
	unsigned char *png = chart_render(p, &s, &len, err, sizeof err);
	CHECK(png && len > 8 && memcmp(png, "\x89PNG", 4) == 0, "bars png: %s", err);
	free(png);
	s.kind = CHART_SPARK;
	s.format = CHART_SVG;
	svg = chart_render(p, &s, &len, err, sizeof err);
	CHECK(svg != NULL, "spark: %s", err);
	free(svg);
	CHECK(!file_exists(marker1) && !file_exists(marker2) && !file_exists(marker3),
	      "a backquote ran");
	remove(marker3);
	chart_pool_stop(p);
}

struct killer {
	struct chart_pool *p;
	volatile int go;
	int delay_us;
	int killed;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	while (!__atomic_load_n(&k->go, __ATOMIC_ACQUIRE))
		usleep(100);
	usleep((useconds_t)k->delay_us);
	int pid = chart_pool_pid(k->p, 0);
	if (pid > 0 && kill(pid, SIGKILL) == 0)
		k->killed = pid;
	return NULL;
}

static void test_kill(void)
{
	struct chart_pool *p = start(1, 10);
	if (!p)
		return;
	struct chart_point pts[100];
	char labels[100][16];
	for (int i = 0; i < 100; i++) {
		snprintf(labels[i], sizeof labels[i], "P%d", i);
		pts[i] = (struct chart_point){labels[i], 100 + 10 * sin(i / 5.0)};
	}
	struct chart_spec s = series_spec(pts, 100);
	s.no_cache = 1;
	char err[256] = "";
	size_t len;

	/* Killed between renders. */
	unsigned char *d = chart_render(p, &s, &len, err, sizeof err);
	CHECK(d != NULL, "first render: %s", err);
	free(d);
	int pid = chart_pool_pid(p, 0);
	CHECK(pid > 0 && kill(pid, SIGKILL) == 0, "kill %d", pid);
	usleep(20000);
	d = chart_render(p, &s, &len, err, sizeof err); /* may fail or succeed */
	free(d);
	d = chart_render(p, &s, &len, err, sizeof err);
	CHECK(d != NULL, "render after kill: %s", err);
	free(d);
	struct chart_stats st;
	chart_pool_stats(p, &st);
	CHECK(st.restarts >= 1, "restarts %llu", (unsigned long long)st.restarts);
	CHECK(chart_pool_pid(p, 0) != pid, "same pid after kill");

	/* Killed mid-render, from another thread, during slow PNG renders. */
	s.format = CHART_PNG;
	s.width = 2000;
	s.height = 1200;
	int failed = 0;
	for (int attempt = 0; attempt < 5 && !failed; attempt++) {
		struct killer k = {.p = p, .delay_us = 2000 + 1000 * attempt};
		pthread_t th;
		pthread_create(&th, NULL, killer_main, &k);
		__atomic_store_n(&k.go, 1, __ATOMIC_RELEASE);
		d = chart_render(p, &s, &len, err, sizeof err);
		pthread_join(th, NULL);
		if (!d) {
			failed = 1;
			CHECK(strstr(err, "died") != NULL, "error: %s", err);
			printf("mid-render kill: %s\n", err);
		}
		free(d);
		d = chart_render(p, &s, &len, err, sizeof err);
		CHECK(d != NULL, "render after mid-render kill: %s", err);
		free(d);
	}
	CHECK(failed, "no render was interrupted by the kill");
	chart_pool_stats(p, &st);
	CHECK(st.restarts >= 2, "restarts %llu", (unsigned long long)st.restarts);
	chart_pool_stop(p);
}

static void test_timeout(void)
{
	const char *fixture = "chart-hang.sh";
	FILE *f = fopen(fixture, "w");
	CHECK(f != NULL, "fopen %s", fixture);
	if (!f)
		return;
	fputs("#!/bin/sh\n# a gnuplot that never answers\nexec sleep 100\n", f);
	fclose(f);
	chmod(fixture, 0755);
	char path[4096];
	CHECK(getcwd(path, sizeof path - 32) != NULL, "getcwd");
	strcat(path, "/");
	strcat(path, fixture);

	struct chart_pool *p = NULL;
	char err[256] = "";
	CHECK(chart_pool_start(&p, path, 1, 0.2, err, sizeof err) == 0, "start: %s", err);
	if (!p)
		return;
	struct chart_point pts[] = {{"a", 1}, {"b", 2}};
	struct chart_spec s = series_spec(pts, 2);
	int old = chart_pool_pid(p, 0);
	size_t len;
	double t0 = time_mono();
	unsigned char *d = chart_render(p, &s, &len, err, sizeof err);
	double el = time_mono() - t0;
	CHECK(d == NULL, "rendered with a hanging gnuplot");
	free(d);
	CHECK(strstr(err, "timed out") != NULL, "error: %s", err);
	CHECK(el >= 0.19 && el < 2, "took %.3f s", el);
	/* Killed and reaped: the pid is gone (a zombie would still answer). */
	CHECK(kill(old, 0) == -1 && errno == ESRCH, "process %d still exists", old);
	int now = chart_pool_pid(p, 0);
	CHECK(now > 0 && now != old, "not restarted: %d", now);
	struct chart_stats st;
	chart_pool_stats(p, &st);
	CHECK_INT(st.timeouts, 1);
	CHECK_INT(st.restarts, 1);
	CHECK_INT(st.renders, 0);
	chart_pool_stop(p);
	CHECK(kill(now, 0) == -1 && errno == ESRCH, "process %d left after stop", now);
	remove(fixture);

	/* A gnuplot that exits at once: an error, never a hang. */
	CHECK(chart_pool_start(&p, "/bin/true", 1, 5, err, sizeof err) == 0, "start: %s", err);
	if (p) {
		t0 = time_mono();
		d = chart_render(p, &s, &len, err, sizeof err);
		CHECK(d == NULL && strstr(err, "died"), "error: %s", err);
		CHECK(time_mono() - t0 < 2, "slow failure");
		free(d);
		chart_pool_stop(p);
	}

	/* No gnuplot at all. */
	p = NULL;
	CHECK(chart_pool_start(&p, "/nonexistent/gnuplot", 1, 1, err, sizeof err) == -ENOENT,
	      "started without gnuplot");
	CHECK(p == NULL, "pool");
	CHECK(strstr(err, "/nonexistent/gnuplot") != NULL, "error: %s", err);
	CHECK(chart_pool_start(&p, GNUPLOT, 0, 1, err, sizeof err) == -EINVAL, "a pool of none");
	CHECK(p == NULL, "pool");
}

static void test_cache(void)
{
	struct chart_pool *p = start(2, 10);
	if (!p)
		return;
	struct chart_point pts[] = {{"2025-Q4", 90}, {"2026-Q1", 105}, {"2026-Q2", 98}};
	struct chart_spec s = series_spec(pts, 3);
	char err[256] = "";
	size_t l1, l2, l3;
	unsigned char *a = chart_render(p, &s, &l1, err, sizeof err);
	CHECK(a != NULL, "render: %s", err);
	unsigned char *b = chart_render(p, &s, &l2, err, sizeof err);
	CHECK(b != NULL, "render: %s", err);
	struct chart_stats st;
	chart_pool_stats(p, &st);
	CHECK_INT(st.renders, 1);
	CHECK_INT(st.cache_hits, 1);
	CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0, "cached bytes differ");
	pts[2].value = 99;
	unsigned char *c = chart_render(p, &s, &l3, err, sizeof err);
	CHECK(c != NULL, "render: %s", err);
	chart_pool_stats(p, &st);
	CHECK_INT(st.renders, 2);
	CHECK_INT(st.cache_hits, 1);
	CHECK(c && a && (l3 != l1 || memcmp(a, c, l1) != 0), "changed value, same chart");
	free(a);
	free(b);
	free(c);
	/* Format, kind and strings are in the key too. */
	s.format = CHART_PNG;
	a = chart_render(p, &s, &l1, err, sizeof err);
	s.title = "Revenue 2";
	b = chart_render(p, &s, &l2, err, sizeof err);
	s.title = "Revenue";
	c = chart_render(p, &s, &l3, err, sizeof err);
	chart_pool_stats(p, &st);
	CHECK_INT(st.renders, 4);
	CHECK_INT(st.cache_hits, 2);
	free(a);
	free(b);
	free(c);
	/* More than the cache holds: still bounded and correct. */
	for (int i = 0; i < 300; i++) {
		pts[0].value = i;
		s.format = CHART_SVG;
		s.kind = CHART_SPARK;
		a = chart_render(p, &s, &l1, err, sizeof err);
		CHECK(a != NULL, "render %d: %s", i, err);
		free(a);
	}
	chart_pool_stats(p, &st);
	CHECK_INT(st.renders, 304);
	chart_pool_stop(p);
}

static void test_png(void)
{
	struct chart_pool *p = start(1, 10);
	if (!p)
		return;
	struct chart_point pts[] = {
		{"الربع ١", 82}, {"الربع ٢", 91}, {"الربع ٣", 97}, {"الربع ٤", 104}, {"٢٠٢٦-Q1", 99},
	};
	struct chart_spec s = series_spec(pts, 5);
	s.format = CHART_PNG;
	s.title = "نسبة رضا العملاء (مؤشر الأداء الرئيسي)";
	s.unit = "النسبة المئوية";
	s.lang = "ar";
	s.target_low = 90;
	s.target_high = 110;
	s.warn = 0.05;
	s.forecast = 106;
	char err[256] = "";
	size_t len = 0;
	unsigned char *d = chart_render(p, &s, &len, err, sizeof err);
	CHECK(d != NULL, "render: %s", err);
	if (d) {
		static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
		CHECK(len > 20 && memcmp(d, sig, 8) == 0, "no PNG signature");
		CHECK(len > 20 && memcmp(d + len - 8, "IEND", 4) == 0, "does not end with IEND");
		FILE *f = fopen("chart-arabic.png", "wb");
		CHECK(f != NULL, "fopen chart-arabic.png");
		if (f) {
			fwrite(d, 1, len, f);
			fclose(f);
		}
	}
	free(d);
	chart_pool_stop(p);
}

struct conc {
	struct chart_pool *p;
	int id, ok;
};

static void *conc_main(void *arg)
{
	struct conc *c = arg;
	for (int i = 0; i < 10; i++) {
		struct chart_point pts[] = {{"a", c->id}, {"b", i}, {"c", 3}};
		struct chart_spec s = series_spec(pts, 3);
		s.format = (i % 2) ? CHART_PNG : CHART_SVG;
		s.kind = (enum chart_kind)(i % 3);
		char err[256];
		size_t len;
		unsigned char *d = chart_render(c->p, &s, &len, err, sizeof err);
		if (d)
			c->ok++;
		else
			fprintf(stderr, "thread %d: %s\n", c->id, err);
		free(d);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct chart_pool *p = start(2, 10);
	if (!p)
		return;
	struct conc c[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		c[i] = (struct conc){.p = p, .id = i};
		pthread_create(&th[i], NULL, conc_main, &c[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(c[i].ok, 10);
	}
	chart_pool_stop(p);
}

static void test_empty(void)
{
	struct chart_pool *p = start(1, 10);
	if (!p)
		return;
	struct chart_point gaps[] = {{"a", NAN}, {"b", NAN}};
	struct chart_spec s = series_spec(NULL, 0);
	char err[256] = "";
	size_t len;
	unsigned char *d = chart_render(p, &s, &len, err, sizeof err);
	CHECK(d != NULL, "no points: %s", err);
	free(d);
	s = series_spec(gaps, 2);
	s.target_low = NAN;
	d = chart_render(p, &s, &len, err, sizeof err);
	CHECK(d != NULL, "all gaps: %s", err);
	free(d);
	chart_pool_stop(p);
}

/* Targets that change per period: each period's own target is drawn as a
 * step over it, with its own band; a period without one breaks the line.
 * The data sent to gnuplot carries every period's target. */
static void test_step_targets(void)
{
	struct chart_point pts[] = {{"2026-Q1", 72}, {"2026-Q2", 75}, {"2026-Q3", 50}, {"2026-Q4", 61}};
	struct chart_target own[] = {{70, NAN, 0.1}, {80, NAN, 0.1}, {NAN, NAN, NAN}, {60, NAN, 0}};
	struct chart_spec s = {.kind = CHART_SERIES, .format = CHART_SVG, .title = "steps",
			       .points = pts, .n = 4, .target_low = 99, .target_high = NAN,
			       .warn = 0.5, .forecast = NAN, .targets = own};
	char *script = chart_script(&s);
	CHECK(script != NULL, "no script");
	const char *tlo = script ? strstr(script, "$mz_tlo << ") : NULL;
	CHECK(tlo != NULL, "no target block in:\n%s", script ? script : "");
	tlo = tlo ? strchr(tlo, '\n') + 1 : NULL;
	const char *want_lines = "-0.5 70\n0.5 70\n0.5 80\n1.5 80\n\n2.5 60\n3.5 60\n";
	CHECK(tlo && strncmp(tlo, want_lines, strlen(want_lines)) == 0, "target steps:\n%.120s",
	      tlo ? tlo : "");
	const char *band = script ? strstr(script, "$mz_bandlo << ") : NULL;
	CHECK(band != NULL, "no band block");
	band = band ? strchr(band, '\n') + 1 : NULL;
	/* Q1: 63..70, Q2: 72..80, Q3 none, Q4 no band (warn 0). */
	const char *want_band = "-0.5 63 70\n0.5 63 70\n0.5 72 80\n1.5 72 80\n\n\n";
	CHECK(band && strncmp(band, want_band, strlen(want_band)) == 0, "bands:\n%.120s",
	      band ? band : "");
	/* The single target is not drawn when the periods carry their own. */
	CHECK(script && !strstr(script, "99"), "the single target 99 is drawn");
	free(script);

	struct chart_pool *p = start(1, 5);
	char err[256] = "";
	size_t len = 0;
	unsigned char *svg = chart_render(p, &s, &len, err, sizeof err);
	CHECK(svg != NULL && len > 0, "gnuplot refused the step targets: %s", err);
	free(svg);
	chart_pool_stop(p);
}

static void run_all(void)
{
	if (access(GNUPLOT, X_OK) != 0) {
		printf("note: %s missing, chart tests skipped\n", GNUPLOT);
		return;
	}
	signal(SIGPIPE, SIG_IGN);
	test_escaping();
	test_kill();
	test_timeout();
	test_cache();
	test_png();
	test_concurrent();
	test_empty();
	test_step_targets();
}

TEST_MAIN(run_all)
