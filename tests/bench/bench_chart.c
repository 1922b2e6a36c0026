/* bench_chart.c - time per chart: Mizan's gnuplot pool (cache bypassed) vs a
 * bare persistent gnuplot fed the same script through a pipe vs one gnuplot
 * spawned per chart.  See README.md ("Chart benchmark").
 *
 *     bench-chart [--gnuplot PATH] [--n N] [--spawn-n N]
 */
#include "render/chart.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what)
{
	fprintf(stderr, "bench-chart: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const char *d, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, d, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		d += w;
		n -= (size_t)w;
	}
}

static pid_t spawn(const char *path, int *in, int *out)
{
	int pi[2], po[2];
	if (pipe2(pi, O_CLOEXEC) < 0 || pipe2(po, O_CLOEXEC) < 0)
		die("pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	char *argv[] = {(char *)path, (char *)"-d", NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		die(path);
	}
	close(pi[0]);
	close(po[1]);
	*in = pi[1];
	*out = po[0];
	return pid;
}

/* The bare persistent gnuplot: script + the same end marker, read to it.
 * The script is small (< 64 KiB pipe buffer), so write-then-read is safe. */
static size_t bare_render(int in, int out, const char *script, char **buf, size_t *cap)
{
	static const char epi[] = "set print '-'\nprint 'BENCH-END'\nunset print\n";
	static const char mark[] = "BENCH-END\n";
	const size_t ml = sizeof mark - 1;
	write_all(in, script, strlen(script));
	write_all(in, epi, sizeof epi - 1);
	size_t len = 0;
	for (;;) {
		if (len >= ml && memcmp(*buf + len - ml, mark, ml) == 0)
			return len - ml;
		if (*cap - len < 65536) {
			*cap = *cap * 2 + 65536;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				die("realloc");
		}
		ssize_t r = read(out, *buf + len, *cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "bench-chart: bare gnuplot: EOF\n");
			exit(1);
		}
		len += (size_t)r;
	}
}

/* One gnuplot per chart: spawn, write the script, close, read to EOF, wait. */
static size_t spawn_render(const char *path, const char *script, char **buf, size_t *cap)
{
	int in, out;
	pid_t pid = spawn(path, &in, &out);
	write_all(in, script, strlen(script));
	close(in);
	size_t len = 0;
	for (;;) {
		if (*cap - len < 65536) {
			*cap = *cap * 2 + 65536;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				die("realloc");
		}
		ssize_t r = read(out, *buf + len, *cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(out);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return len;
}

int main(int argc, char **argv)
{
	const char *gp = "/usr/bin/gnuplot";
	int n = 200, spawn_n = 30;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gnuplot") && i + 1 < argc)
			gp = argv[++i];
		else if (!strcmp(argv[i], "--n") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--spawn-n") && i + 1 < argc)
			spawn_n = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench-chart [--gnuplot PATH] [--n N] [--spawn-n N]\n");
			return 2;
		}
	}
	if (n < 1 || spawn_n < 1)
		return 2;
	signal(SIGPIPE, SIG_IGN);

	struct chart_point pts[100];
	char labels[100][16];
	for (int i = 0; i < 100; i++) {
		snprintf(labels[i], sizeof labels[i], "2018-%02d", i % 12 + 1);
		pts[i] = (struct chart_point){labels[i], 100 + 15 * sin(i / 7.0) + (i % 5)};
	}
	struct chart_spec spec = {
		.kind = CHART_SERIES,
		.title = "Monthly revenue / الإيرادات الشهرية",
		.unit = "kEUR",
		.lang = "en",
		.points = pts,
		.n = 100,
		.target_low = 95,
		.target_high = 125,
		.warn = 0.05,
		.forecast = 118,
		.no_cache = 1,
	};

	struct chart_pool *pool;
	char err[256];
	if (chart_pool_start(&pool, gp, 1, 30, err, sizeof err) < 0) {
		fprintf(stderr, "bench-chart: %s\n", err);
		return 1;
	}
	int bin, bout;
	pid_t bpid = spawn(gp, &bin, &bout);
	char *buf = NULL;
	size_t cap = 0;
	int failed = 0;

	printf("chart render, 100-point series, ms per chart (mean of N; pool of 1)\n");
	printf("%-10s %6s %10s %10s %10s %8s %8s %8s\n", "format", "bytes", "mizan", "bare",
	       "spawn", "m/bare", "sp/bare", "sp/m");
	for (int f = 0; f < 2; f++) {
		spec.format = f ? CHART_PNG : CHART_SVG;
		char *script = chart_script(&spec);
		size_t len = 0;
		/* Warm both (fonts, first terminal set-up). */
		for (int i = 0; i < 5; i++) {
			unsigned char *d = chart_render(pool, &spec, &len, err, sizeof err);
			if (!d) {
				fprintf(stderr, "bench-chart: %s\n", err);
				failed = 1;
			}
			free(d);
			bare_render(bin, bout, script, &buf, &cap);
		}
		/* Interleave in rounds so drift hits all three alike. */
		double tm = 0, tb = 0, ts = 0;
		int rounds = 5;
		size_t blen = 0;
		for (int r = 0; r < rounds; r++) {
			double t0 = time_mono();
			for (int i = 0; i < n / rounds + 1; i++) {
				unsigned char *d = chart_render(pool, &spec, &len, err, sizeof err);
				if (!d) {
					fprintf(stderr, "bench-chart: %s\n", err);
					failed = 1;
				}
				free(d);
			}
			double t1 = time_mono();
			for (int i = 0; i < n / rounds + 1; i++)
				blen = bare_render(bin, bout, script, &buf, &cap);
			double t2 = time_mono();
			for (int i = 0; i < spawn_n / rounds + 1; i++)
				spawn_render(gp, script, &buf, &cap);
			double t3 = time_mono();
			tm += t1 - t0;
			tb += t2 - t1;
			ts += t3 - t2;
		}
		double per = (double)(rounds * (n / rounds + 1));
		double pers = (double)(rounds * (spawn_n / rounds + 1));
		double mm = tm / per * 1e3, mb = tb / per * 1e3, ms = ts / pers * 1e3;
		printf("%-10s %6zu %10.3f %10.3f %10.3f %8.2f %8.2f %8.2f\n", f ? "pngcairo" : "svg",
		       len ? len : blen, mm, mb, ms, mm / mb, ms / mb, ms / mm);
		printf("chart format=%s mizan_ms=%.3f bare_ms=%.3f spawn_ms=%.3f ratio_mizan_bare=%.3f "
		       "goal=%s\n",
		       f ? "png" : "svg", mm, mb, ms, mm / mb, mm / mb <= 1.5 ? "met" : "MISSED");
		free(script);
	}
	struct chart_stats st;
	chart_pool_stats(pool, &st);
	printf("pool stats: renders=%llu cache_hits=%llu restarts=%llu timeouts=%llu\n",
	       (unsigned long long)st.renders, (unsigned long long)st.cache_hits,
	       (unsigned long long)st.restarts, (unsigned long long)st.timeouts);
	chart_pool_stop(pool);
	close(bin);
	close(bout);
	waitpid(bpid, NULL, 0);
	free(buf);
	return failed;
}
