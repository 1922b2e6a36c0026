/* bench_ingest.c - how fast Mizan ingests, against what SQLite alone can do.
 *
 * For each id style (time-ordered, then random UUIDv4), N demo events are
 * generated in memory (seed 1, 2023-01-01 to 2026-11-01) and stored four
 * ways, each into a fresh database under a temporary directory:
 *
 *   limit   the rows, parsed beforehand, inserted by a minimal C loop into a
 *           database created by store_open() (same schema, indexes and
 *           pragmas), one prepared INSERT, one transaction per B rows;
 *   http    `mizan serve` as a child, the events POSTed as NDJSON bodies of
 *           B events over K keep-alive connections (libcurl, K threads);
 *   import  `mizan import` of the same events written as one NDJSON file.
 *
 * The limit and http runs are repeated with the small batch size b.  Also
 * timed: batch_parse() of all N events on one thread (the parse and
 * validation every path pays before the store sees a row).
 *
 * Everything runs on loopback, every wait is bounded, and the temporary
 * directory is removed at the end (or on SIGINT/SIGTERM).
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/batch.h"
#include "model/config.h"
#include "ingest/demo.h"
#include "model/event.h"
#include "store/store.h"
#include "util/time.h"

#define FROM_MS 1672531200000LL /* 2023-01-01T00:00:00Z */
#define TO_MS 1793491200000LL   /* 2026-11-01T00:00:00Z */
#define MIB (1024.0 * 1024.0)

/* ---- options ------------------------------------------------------------------ */

struct opts {
	uint64_t events;
	size_t batch, small_batch;
	int conns;
	const char *mizan;
	const char *tmp_parent;
	bool do_limit, do_http, do_import; /* --only */
	bool ids[2];                        /* --ids: time-ordered, random */
};

static void usage(FILE *f)
{
	fputs("usage: bench-ingest --mizan PATH [--events N] [--batch B] [--small-batch b]\n"
	      "                    [--connections K] [--tmpdir DIR]\n"
	      "  --mizan PATH        the mizan binary (default: $MIZAN_BIN)\n"
	      "  --events N          events per id style (default 1000000)\n"
	      "  --batch B           events per POST / rows per transaction (default 10000)\n"
	      "  --small-batch b     the second, smaller batch size (default 1000; 0: skip)\n"
	      "  --connections K     keep-alive connections, one thread each (default 2)\n"
	      "  --tmpdir DIR        where the temporary directory goes (default $TMPDIR or /tmp)\n"
	      "  --only LIST         some of limit,http,import (default: all)\n"
	      "  --ids WHICH         time, random or both (default both)\n",
	      f);
}

static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || !*s || *s == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.events = 1000000, .batch = 10000, .small_batch = 1000, .conns = 2,
			   .mizan = getenv("MIZAN_BIN"), .tmp_parent = getenv("TMPDIR"),
			   .do_limit = true, .do_http = true, .do_import = true,
			   .ids = {true, true}};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t v;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc)
			goto bad;
		const char *val = argv[++i];
		if (strcmp(a, "--mizan") == 0)
			o->mizan = val;
		else if (strcmp(a, "--tmpdir") == 0)
			o->tmp_parent = val;
		else if (strcmp(a, "--events") == 0 && parse_size(val, 100000000, &v) == 0 && v > 0)
			o->events = v;
		else if (strcmp(a, "--batch") == 0 && parse_size(val, 1000000, &v) == 0 && v > 0)
			o->batch = (size_t)v;
		else if (strcmp(a, "--small-batch") == 0 && parse_size(val, 1000000, &v) == 0)
			o->small_batch = (size_t)v;
		else if (strcmp(a, "--connections") == 0 && parse_size(val, 64, &v) == 0 && v > 0)
			o->conns = (int)v;
		else if (strcmp(a, "--only") == 0) {
			o->do_limit = strstr(val, "limit") != NULL;
			o->do_http = strstr(val, "http") != NULL;
			o->do_import = strstr(val, "import") != NULL;
			if (!o->do_limit && !o->do_http && !o->do_import)
				goto bad;
		} else if (strcmp(a, "--ids") == 0 && (strcmp(val, "time") == 0 ||
						      strcmp(val, "random") == 0 ||
						      strcmp(val, "both") == 0)) {
			o->ids[0] = strcmp(val, "random") != 0;
			o->ids[1] = strcmp(val, "time") != 0;
		}
		else
			goto bad;
	}
	if (!o->mizan || !*o->mizan) {
		fprintf(stderr, "bench-ingest: say where mizan is: --mizan PATH or $MIZAN_BIN\n");
		return -1;
	}
	if (access(o->mizan, X_OK) != 0) {
		fprintf(stderr, "bench-ingest: %s: %s\n", o->mizan, strerror(errno));
		return -1;
	}
	if (!o->tmp_parent || !*o->tmp_parent)
		o->tmp_parent = "/tmp";
	if (o->small_batch >= o->batch)
		o->small_batch = 0;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* ---- clock, temp files, signals ----------------------------------------------- */

#define MAX_TRACKED 96
static char g_tmpdir[1024];
static char g_tracked[MAX_TRACKED][PATH_MAX];
static volatile sig_atomic_t g_ntracked;
static volatile sig_atomic_t g_child; /* the running child's pid, 0 when none */

/* Builds tmpdir/name into out and remembers it for removal. */
static void tmp_file(char out[PATH_MAX], const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", g_tmpdir, name) >= PATH_MAX)
		out[0] = '\0'; /* cannot happen: the directory name is short */
	for (int i = 0; i < g_ntracked; i++)
		if (strcmp(g_tracked[i], out) == 0)
			return;
	if (g_ntracked < MAX_TRACKED) {
		memcpy(g_tracked[g_ntracked], out, PATH_MAX);
		g_ntracked = g_ntracked + 1;
	}
}

/* A database path, with the files SQLite puts next to it tracked too. */
static void tmp_db(char out[PATH_MAX], const char *name)
{
	static const char *const sfx[] = {"-wal", "-shm", "-journal"};
	char side[PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		char n[256];
		snprintf(n, sizeof(n), "%s%s", name, sfx[i]);
		tmp_file(side, n);
	}
	tmp_file(out, name);
}

static void remove_db(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup_tmp(void)
{
	if (!g_tmpdir[0])
		return;
	for (int i = 0; i < g_ntracked; i++)
		unlink(g_tracked[i]);
	if (rmdir(g_tmpdir) != 0)
		nftw(g_tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	g_tmpdir[0] = '\0';
}

/* Only async-signal-safe calls: kill, unlink, rmdir, write, _exit. */
static void on_signal(int sig)
{
	static const char msg[] = "\nbench-ingest: interrupted; cleaning up\n";
	if (g_child > 0)
		kill((pid_t)g_child, SIGKILL);
	for (int i = 0; i < g_ntracked; i++)
		unlink(g_tracked[i]);
	if (g_tmpdir[0])
		rmdir(g_tmpdir);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(128 + sig);
}

/* ---- child processes ---------------------------------------------------------- */

/* Starts argv[0] with stdin from /dev/null, stdout into out_fd (or
 * /dev/null when -1) and stderr into the file err_path (or inherited). */
static pid_t spawn(char *const argv[], int out_fd, const char *err_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (err_path)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path,
						 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "bench-ingest: cannot start %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	g_child = pid;
	return pid;
}

static double peak_rss_mib(pid_t pid);

/* Waits up to timeout_s for pid; kills it (SIGKILL) past that.  Returns
 * 0 with *status and *ru filled, or -ETIMEDOUT.  When hwm is given, it
 * gets the child's VmHWM as last sampled (every ~50 ms) before it exited:
 * wait4's ru_maxrss is no use here, since a child made by posix_spawn
 * (vfork) inherits the parent's high-water mark at exec. */
static int wait_child(pid_t pid, double timeout_s, int *status, struct rusage *ru, double *hwm)
{
	double t_end = time_mono() + timeout_s;
	struct rusage dummy;
	unsigned loops = 0;
	if (!ru)
		ru = &dummy;
	for (;;) {
		if (hwm && loops++ % 25 == 0) {
			double v = peak_rss_mib(pid);
			if (v > *hwm)
				*hwm = v;
		}
		pid_t r = wait4(pid, status, WNOHANG, ru);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			g_child = 0;
			return -errno;
		}
		if (time_mono() > t_end) {
			kill(pid, SIGKILL);
			while (wait4(pid, status, 0, ru) < 0 && errno == EINTR) {
			}
			g_child = 0;
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, 2000000}; /* 2 ms */
		nanosleep(&ts, NULL);
	}
	g_child = 0;
	return 0;
}

static bool exited_ok(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs argv to completion (at most timeout_s), its stdout into out[cap]
 * (NUL-terminated, truncated), its stderr into err_path.  Returns the
 * wait status, or -1. */
static int run_capture(char *const argv[], const char *err_path, double timeout_s, char *out,
		       size_t cap, struct rusage *ru, double *hwm)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = spawn(argv, p[1], err_path);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	size_t len = 0;
	double t_end = time_mono() + timeout_s;
	for (;;) {
		int ms = (int)((t_end - time_mono()) * 1000);
		if (ms <= 0)
			break;
		if (hwm) {
			double v = peak_rss_mib(pid);
			if (v > *hwm)
				*hwm = v;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int pr = poll(&pf, 1, ms < 50 ? ms : 50);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0 && ms > 50)
			continue;
		if (pr <= 0)
			break;
		char tmp[4096];
		ssize_t n = read(p[0], tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
		memcpy(out + len, tmp, take);
		len += take;
	}
	out[len] = '\0';
	close(p[0]);
	int status;
	double left = t_end - time_mono();
	if (wait_child(pid, left > 1 ? left : 1, &status, ru, hwm) < 0) {
		fprintf(stderr, "bench-ingest: %s did not finish in %.0f s; killed\n", argv[0],
			timeout_s);
		return -1;
	}
	return status;
}

static void print_file(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	if (!f)
		return;
	fprintf(stderr, "---- %s (%s) ----\n", what, path);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fprintf(stderr, "----\n");
	fclose(f);
}

/* ---- the events --------------------------------------------------------------- */

/* N NDJSON lines, each ending in '\n'; line i is buf[off[i] .. off[i + 1]). */
struct corpus {
	char *buf;
	size_t len, cap;
	size_t *off;
	size_t n;
};

static int add_line(const char *line, size_t len, void *ud)
{
	struct corpus *c = ud;
	if (c->len + len + 1 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : (size_t)64 << 20;
		while (cap < c->len + len + 1)
			cap *= 2;
		char *p = realloc(c->buf, cap);
		if (!p)
			return -ENOMEM;
		c->buf = p;
		c->cap = cap;
	}
	c->off[c->n++] = c->len;
	memcpy(c->buf + c->len, line, len);
	c->len += len;
	c->buf[c->len++] = '\n';
	return 0;
}

static int make_corpus(struct corpus *c, uint64_t n, bool random_ids)
{
	struct demo_opts d = {.events = n, .seed = 1, .from_ms = FROM_MS, .to_ms = TO_MS,
			      .random_ids = random_ids};
	memset(c, 0, sizeof(*c));
	c->off = malloc(((size_t)n + 1) * sizeof(*c->off));
	if (!c->off)
		return -ENOMEM;
	int rc = demo_generate(&d, add_line, c);
	if (rc < 0)
		return rc;
	c->off[c->n] = c->len;
	return c->n == n ? 0 : -EIO;
}

static void free_corpus(struct corpus *c)
{
	free(c->buf);
	free(c->off);
	memset(c, 0, sizeof(*c));
}

/* The events parsed and validated as the server would, kept in memory. */
struct parsed {
	struct batch *b;
	size_t nb;
	const struct event **row; /* N pointers into b[].ev */
	size_t n;
	double seconds; /* batch_parse of everything, one thread */
};

static struct event_limits limits_of(const struct config *cfg)
{
	struct event_limits lim = {
		.attrs_bytes = cfg->attrs_bytes,
		.attrs_depth = cfg->attrs_depth,
		.future_ms = (int64_t)cfg->future_s * 1000,
		.now_ms = time_now_ms(),
	};
	return lim;
}

static int parse_corpus(struct parsed *p, const struct corpus *c, const struct config *cfg,
			size_t chunk)
{
	struct event_limits lim = limits_of(cfg);
	memset(p, 0, sizeof(*p));
	p->nb = (c->n + chunk - 1) / chunk;
	p->b = calloc(p->nb, sizeof(*p->b));
	p->row = malloc(c->n * sizeof(*p->row));
	if (!p->b || !p->row)
		return -ENOMEM;
	/* Timed: parse and free chunk by chunk, as the server does per request
	 * (warm allocator; keeping everything would time page faults instead). */
	double t0 = time_mono();
	for (size_t j = 0; j < p->nb; j++) {
		size_t first = j * chunk, m = c->n - first < chunk ? c->n - first : chunk;
		struct batch b;
		int rc = batch_parse(&b, BATCH_NDJSON, c->buf + c->off[first],
				     c->off[first + m] - c->off[first], NULL, first + 1, &lim, m);
		batch_free(&b);
		if (rc < 0)
			break;
	}
	p->seconds = time_mono() - t0;
	/* Untimed: parse again and keep the rows for the limit runs. */
	for (size_t j = 0; j < p->nb; j++) {
		size_t first = j * chunk, m = c->n - first < chunk ? c->n - first : chunk;
		int rc = batch_parse(&p->b[j], BATCH_NDJSON, c->buf + c->off[first],
				     c->off[first + m] - c->off[first], NULL, first + 1, &lim, m);
		if (rc < 0 || p->b[j].n != m) {
			char *e = p->b[j].errors ? cJSON_PrintUnformatted(p->b[j].errors) : NULL;
			fprintf(stderr, "bench-ingest: demo events rejected by batch_parse (%d): %.400s\n",
				rc, e ? e : "");
			free(e);
			return -EINVAL;
		}
	}
	for (size_t j = 0; j < p->nb; j++)
		for (size_t i = 0; i < p->b[j].n; i++)
			p->row[p->n++] = &p->b[j].ev[i];
	return 0;
}

static void free_parsed(struct parsed *p)
{
	for (size_t j = 0; j < p->nb; j++)
		batch_free(&p->b[j]);
	free(p->b);
	free(p->row);
	memset(p, 0, sizeof(*p));
}

/* ---- the limit: a minimal SQLite loop ----------------------------------------- */

/* The same statement the SQLite store prepares (store/sqlite/events.c). */
static void build_insert_sql(char *sql, size_t cap)
{
	int n = snprintf(sql, cap, "INSERT INTO events(kind, received");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, cap - (size_t)n, ", %s", event_fields[f].name);
	n += snprintf(sql + n, cap - (size_t)n, ") VALUES(?, ?");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, cap - (size_t)n, ", ?");
	snprintf(sql + n, cap - (size_t)n, ") ON CONFLICT(id) DO NOTHING");
}

static int bind_row(sqlite3_stmt *st, const struct event *e, int64_t received)
{
	int rc = sqlite3_bind_int(st, 1, (int)e->kind);
	rc |= sqlite3_bind_int64(st, 2, received);
	for (int f = 0; f < F_NFIELDS; f++) {
		int col = f + 3;
		if (!event_has(e, (enum field_id)f)) {
			rc |= sqlite3_bind_null(st, col);
			continue;
		}
		switch (event_fields[f].type) {
		case FT_NUM:
			rc |= sqlite3_bind_double(st, col, e->v[f].d);
			break;
		case FT_INT:
		case FT_BOOL:
		case FT_TIME:
			rc |= sqlite3_bind_int64(st, col, e->v[f].i);
			break;
		default:
			rc |= sqlite3_bind_text(st, col, e->v[f].s, -1, SQLITE_STATIC);
		}
	}
	return rc;
}

static int64_t count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

struct result {
	bool ran, ok;
	double seconds;
	double per_s;
	double peak_rss_mib;   /* http: the server's VmHWM; import: the process's maxrss */
	double cpu_user, cpu_sys; /* of the server or the import process */
	double client_cpu;     /* http: CPU of the posting threads */
	long connects;         /* http: TCP connections opened */
	double own_per_s;      /* import: the figure mizan import printed */
};

static int sql_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench-ingest: %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static struct result run_limit(const struct parsed *p, const struct config *cfg, size_t batch,
			       const char *name)
{
	struct result r = {.ran = true};
	char path[PATH_MAX], err[STORE_ERRLEN], sql[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL, *begin = NULL, *commit = NULL;
	struct store *s;

	tmp_db(path, name);
	remove_db(path);
	struct store_opts so = store_opts_from_config(cfg, false);
	if (store_open(&s, path, &so, err) < 0) {
		fprintf(stderr, "bench-ingest: store_open %s: %s\n", path, err);
		return r;
	}
	store_close(s);

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-ingest: %s: %s\n", path, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_busy_timeout(db, so.busy_timeout_ms);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -%d;"
		 "PRAGMA foreign_keys = ON;",
		 so.sync_full ? "FULL" : "NORMAL", so.cache_mib * 1024);
	if (sql_exec(db, sql) < 0)
		goto out;
	build_insert_sql(sql, sizeof(sql));
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &begin, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v3(db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &commit, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-ingest: prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}

	size_t inserted = 0;
	double t0 = time_mono();
	for (size_t i = 0; i < p->n; i += batch) {
		size_t m = p->n - i < batch ? p->n - i : batch;
		int64_t received = time_now_ms();
		if (sqlite3_step(begin) != SQLITE_DONE)
			goto sqlfail;
		sqlite3_reset(begin);
		for (size_t k = i; k < i + m; k++) {
			if (bind_row(ins, p->row[k], received) != SQLITE_OK ||
			    sqlite3_step(ins) != SQLITE_DONE)
				goto sqlfail;
			sqlite3_reset(ins);
			inserted += (size_t)sqlite3_changes(db);
		}
		if (sqlite3_step(commit) != SQLITE_DONE)
			goto sqlfail;
		sqlite3_reset(commit);
	}
	r.seconds = time_mono() - t0;
	if (inserted != p->n) {
		fprintf(stderr, "bench-ingest: limit: %zu of %zu rows inserted\n", inserted, p->n);
		goto out;
	}
	r.per_s = (double)p->n / r.seconds;
	r.ok = true;
	goto out;
sqlfail:
	fprintf(stderr, "bench-ingest: limit: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_close(db);
	remove_db(path);
	return r;
}

/* ---- HTTP: mizan serve, K posting threads -------------------------------------- */

struct poster {
	pthread_t th;
	const struct corpus *c;
	size_t first, step, batch; /* posts bodies first, first + step, ... */
	const char *url;
	struct curl_slist *hdrs;
	char resp[1024];
	size_t resp_len;
	size_t accepted, requests;
	long connects;
	double cpu_s;
	char err[512];
};

static size_t on_resp(char *data, size_t size, size_t nmemb, void *ud)
{
	struct poster *p = ud;
	size_t n = size * nmemb;
	size_t take = n < sizeof(p->resp) - 1 - p->resp_len ? n : sizeof(p->resp) - 1 - p->resp_len;
	memcpy(p->resp + p->resp_len, data, take);
	p->resp_len += take;
	p->resp[p->resp_len] = '\0';
	return n;
}

static void *post_all(void *arg)
{
	struct poster *p = arg;
	const struct corpus *c = p->c;
	size_t nbodies = (c->n + p->batch - 1) / p->batch;
	CURL *e = curl_easy_init();
	if (!e) {
		snprintf(p->err, sizeof(p->err), "curl_easy_init failed");
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_resp);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, p);

	for (size_t j = p->first; j < nbodies; j += p->step) {
		size_t lo = j * p->batch, hi = lo + p->batch < c->n ? lo + p->batch : c->n;
		size_t len = c->off[hi] - c->off[lo];
		p->resp_len = 0;
		p->resp[0] = '\0';
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->buf + c->off[lo]);
		CURLcode rc = curl_easy_perform(e);
		if (rc != CURLE_OK) {
			snprintf(p->err, sizeof(p->err), "POST of events %zu-%zu: %s", lo, hi - 1,
				 curl_easy_strerror(rc));
			break;
		}
		long code = 0, conns = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
		p->connects += conns;
		p->requests++;
		const char *a = strstr(p->resp, "\"accepted\":");
		if (code != 200 || !a) {
			snprintf(p->err, sizeof(p->err), "POST of events %zu-%zu: HTTP %ld: %.400s", lo,
				 hi - 1, code, p->resp);
			break;
		}
		p->accepted += (size_t)strtoull(a + 11, NULL, 10);
	}
	curl_easy_cleanup(e);
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	p->cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return NULL;
}

/* VmHWM from /proc/PID/status, in MiB; -1 when unreadable. */
static double peak_rss_mib(pid_t pid)
{
	char path[64], line[256];
	double kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kib = strtod(line + 6, NULL);
			break;
		}
	fclose(f);
	return kib < 0 ? -1 : kib / 1024.0;
}

/* utime and stime of pid, in seconds. */
static void proc_cpu(pid_t pid, double *user, double *sys)
{
	char path[64], buf[2048];
	*user = *sys = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return;
	unsigned long ut, st;
	/* after ")": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
		double hz = (double)sysconf(_SC_CLK_TCK);
		*user = (double)ut / hz;
		*sys = (double)st / hz;
	}
}

/* The busiest threads of pid: "name:user+sys ..." into out (diagnostics). */
static void thread_cpu(pid_t pid, char *out, size_t cap)
{
	char dir[64];
	size_t len = 0;
	out[0] = '\0';
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) && len + 40 < cap) {
		if (de->d_name[0] == '.')
			continue;
		char path[600], buf[1024];
		snprintf(path, sizeof(path), "%s/%s/stat", dir, de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		unsigned long ut, st;
		if (!lp || !rp ||
		    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
			continue;
		double hz = (double)sysconf(_SC_CLK_TCK);
		if ((double)(ut + st) / hz < 0.05)
			continue;
		*rp = '\0';
		len += (size_t)snprintf(out + len, cap - len, " %.15s:%.2f+%.2f", lp + 1,
					(double)ut / hz, (double)st / hz);
	}
	closedir(d);
}

/* Waits for "listening on http://HOST:PORT" in the server's log. */
static int wait_listening(pid_t pid, const char *log, double timeout_s)
{
	double t_end = time_mono() + timeout_s;
	while (time_mono() < t_end) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			g_child = 0;
			fprintf(stderr, "bench-ingest: mizan serve exited before listening\n");
			print_file(log, "server log");
			return -1;
		}
		FILE *f = fopen(log, "r");
		if (f) {
			char line[1024];
			while (fgets(line, sizeof(line), f)) {
				const char *h = strstr(line, "listening on http://");
				if (!h)
					continue;
				h += strlen("listening on http://");
				const char *colon = strchr(h, ':');
				long port = colon ? strtol(colon + 1, NULL, 10) : 0;
				if (port > 0 && port < 65536) {
					fclose(f);
					return (int)port;
				}
			}
			fclose(f);
		}
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "bench-ingest: mizan serve did not say it was listening in %.0f s\n",
		timeout_s);
	print_file(log, "server log");
	return -1;
}

static void stop_server(pid_t pid, const char *log)
{
	int status;
	kill(pid, SIGTERM);
	if (wait_child(pid, 30, &status, NULL, NULL) < 0) {
		fprintf(stderr, "bench-ingest: mizan serve ignored SIGTERM for 30 s; killed\n");
		print_file(log, "server log");
	} else if (!exited_ok(status)) {
		fprintf(stderr, "bench-ingest: mizan serve exited with status %d\n", status);
		print_file(log, "server log");
	}
}

static struct result run_http(const struct opts *o, const char *cfgpath,
			      const struct corpus *c, size_t batch, const char *name)
{
	struct result r = {.ran = true};
	char db[PATH_MAX], log[PATH_MAX], lname[256], secret[256];
	char mizan[PATH_MAX];

	snprintf(mizan, sizeof(mizan), "%s", o->mizan);
	tmp_db(db, name);
	snprintf(lname, sizeof(lname), "%s.log", name);
	tmp_file(log, lname);
	remove_db(db);

	/* The token, through the CLI, before the server starts. */
	char *tok_argv[] = {mizan, "token", "add", "--config", (char *)cfgpath, "--db", db,
			    "--role", "ingest", "--name", "bench", NULL};
	int st = run_capture(tok_argv, log, 60, secret, sizeof(secret), NULL, NULL);
	secret[strcspn(secret, "\r\n")] = '\0';
	if (st < 0 || !exited_ok(st) || !secret[0]) {
		fprintf(stderr, "bench-ingest: mizan token add failed (status %d)\n", st);
		print_file(log, "token log");
		goto out;
	}

	char *srv_argv[] = {mizan, "serve", "--config", (char *)cfgpath, "--db", db,
			    "--listen", "127.0.0.1:0", NULL};
	pid_t pid = spawn(srv_argv, -1, log);
	if (pid < 0)
		goto out;
	int port = wait_listening(pid, log, 30);
	if (port < 0) {
		if (g_child)
			stop_server(pid, log);
		goto out;
	}

	char url[128], auth[300];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/events", port);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
	struct curl_slist *hdrs = NULL;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-ndjson");
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */

	struct poster *ps = calloc((size_t)o->conns, sizeof(*ps));
	if (!ps || !hdrs) {
		curl_slist_free_all(hdrs);
		free(ps);
		stop_server(pid, log);
		goto out;
	}
	int started = 0;
	double t0 = time_mono();
	for (int k = 0; k < o->conns; k++) {
		ps[k] = (struct poster){.c = c, .first = (size_t)k, .step = (size_t)o->conns,
					.batch = batch, .url = url, .hdrs = hdrs};
		if (pthread_create(&ps[k].th, NULL, post_all, &ps[k]) != 0)
			break;
		started++;
	}
	size_t accepted = 0;
	bool failed = started < o->conns;
	for (int k = 0; k < started; k++) {
		pthread_join(ps[k].th, NULL);
		accepted += ps[k].accepted;
		r.connects += ps[k].connects;
		r.client_cpu += ps[k].cpu_s;
		if (ps[k].err[0]) {
			fprintf(stderr, "bench-ingest: connection %d: %s\n", k, ps[k].err);
			failed = true;
		}
	}
	r.seconds = time_mono() - t0;
	r.peak_rss_mib = peak_rss_mib(pid);
	proc_cpu(pid, &r.cpu_user, &r.cpu_sys);
	char threads[512];
	thread_cpu(pid, threads, sizeof(threads));
	curl_slist_free_all(hdrs);
	free(ps);
	stop_server(pid, log);

	int64_t stored = count_rows(db);
	if (failed || accepted != c->n || stored != (int64_t)c->n) {
		fprintf(stderr, "bench-ingest: http: %zu accepted, %" PRId64 " stored, of %zu\n",
			accepted, stored, c->n);
		print_file(log, "server log");
		goto out;
	}
	r.per_s = (double)c->n / r.seconds;
	r.ok = true;
	fprintf(stderr,
		"bench-ingest:   %.2f s, %ld TCP connection(s) opened, client CPU %.2f s, server CPU "
		"%.2f+%.2f s, server VmHWM %.0f MiB\n"
		"bench-ingest:   server threads (user+sys s):%s\n",
		r.seconds, r.connects, r.client_cpu, r.cpu_user, r.cpu_sys, r.peak_rss_mib, threads);
out:
	remove_db(db);
	unlink(log);
	return r;
}

/* ---- mizan import --------------------------------------------------------------- */

static struct result run_import(const struct opts *o, const char *cfgpath,
				const struct corpus *c, const char *name)
{
	struct result r = {.ran = true};
	char db[PATH_MAX], file[PATH_MAX], log[PATH_MAX], n2[256], mizan[PATH_MAX], out[2048];

	snprintf(mizan, sizeof(mizan), "%s", o->mizan);
	tmp_db(db, name);
	snprintf(n2, sizeof(n2), "%s.ndjson", name);
	tmp_file(file, n2);
	snprintf(n2, sizeof(n2), "%s.log", name);
	tmp_file(log, n2);
	remove_db(db);

	FILE *f = fopen(file, "w");
	if (!f || fwrite(c->buf, 1, c->len, f) != c->len || fclose(f) != 0) {
		fprintf(stderr, "bench-ingest: cannot write %s\n", file);
		goto out;
	}
	/* A fresh database with the token table etc. is made by import itself. */
	char *argv[] = {mizan, "import", "--config", (char *)cfgpath, "--db", db, file, NULL};
	struct rusage ru;
	double t0 = time_mono();
	double hwm = -1;
	int st = run_capture(argv, log, 600 + (double)c->n / 1000, out, sizeof(out), &ru, &hwm);
	r.seconds = time_mono() - t0;
	if (st < 0 || !exited_ok(st)) {
		fprintf(stderr, "bench-ingest: mizan import failed (status %d): %s\n", st, out);
		print_file(log, "import log");
		goto out;
	}
	const char *p = strrchr(out, '(');
	r.own_per_s = p ? strtod(p + 1, NULL) : 0;
	r.peak_rss_mib = hwm;
	r.cpu_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	r.cpu_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	int64_t stored = count_rows(db);
	if (stored != (int64_t)c->n) {
		fprintf(stderr, "bench-ingest: import stored %" PRId64 " of %zu: %s\n", stored, c->n,
			out);
		goto out;
	}
	r.per_s = (double)c->n / r.seconds;
	r.ok = true;
out:
	remove_db(db);
	unlink(file);
	unlink(log);
	return r;
}

/* ---- report ---------------------------------------------------------------------- */

struct style_results {
	const char *name;
	size_t bytes;
	double parse_s;
	struct result limit_big, http_big, import, limit_small, http_small;
};

static void fmt_rate(char *buf, size_t cap, const struct result *r)
{
	if (r->ok)
		snprintf(buf, cap, "%10.0f", r->per_s);
	else
		snprintf(buf, cap, "%10s", "FAILED");
}

static double ratio(const struct result *a, const struct result *b)
{
	return a->ok && b->ok && b->per_s > 0 ? a->per_s / b->per_s : 0;
}

static void row(const char *style, size_t batch, const char *what, const struct result *r,
		const struct result *limit, bool rss, bool cpu)
{
	char rate[32], rat[16] = "", mem[16] = "", cpus[48] = "";
	if (!r->ran)
		return;
	fmt_rate(rate, sizeof(rate), r);
	if (limit && limit != r && r->ok)
		snprintf(rat, sizeof(rat), "%.2fx", ratio(r, limit));
	if (rss && r->ok)
		snprintf(mem, sizeof(mem), "%.0f", r->peak_rss_mib);
	if (cpu && r->ok)
		snprintf(cpus, sizeof(cpus), "%.1f+%.1f", r->cpu_user, r->cpu_sys);
	char line[256];
	snprintf(line, sizeof(line), "%-13s %6zu  %-34s %s %8.2f %7s %9s %11s", style, batch, what,
		 rate, r->ok ? r->seconds : 0.0, rat, mem, cpus);
	size_t n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

static void report(const struct opts *o, const struct config *cfg, const struct style_results *s,
		   size_t ns)
{
	char http_what[64];
	snprintf(http_what, sizeof(http_what), "http: POST NDJSON, K=%d conns", o->conns);
	printf("\n");
	printf("Mizan ingest benchmark: N=%" PRIu64 " events per id style (demo seed 1, "
	       "2023-01-01 to 2026-11-01)\n",
	       o->events);
	printf("batch sizes: B=%zu events per POST / rows per transaction (mizan import: "
	       "limits.batch_events=%zu)",
	       o->batch, o->batch);
	if (o->small_batch)
		printf("; second http run and its limit with b=%zu", o->small_batch);
	printf("\n");
	printf("store: WAL, synchronous=%s, cache_size=%d MiB, one transaction per batch; "
	       "K=%d keep-alive connections on 127.0.0.1; %ld CPUs\n\n",
	       cfg->synchronous, cfg->cache_mib, o->conns, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-13s %6s  %-34s %10s %8s %7s %9s %11s\n", "id style", "batch", "figure",
	       "events/s", "seconds", "x limit", "peak MiB", "cpu usr+sys");
	for (size_t i = 0; i < ns; i++) {
		const struct style_results *x = &s[i];
		if (!x->parse_s)
			continue;
		struct result parse = {.ran = true, .ok = x->parse_s > 0, .seconds = x->parse_s,
				       .per_s = x->parse_s > 0 ? (double)o->events / x->parse_s : 0};
		row(x->name, o->batch, "parse: batch_parse, 1 thread", &parse, NULL, false, false);
		row(x->name, o->batch, "limit: raw SQLite insert loop", &x->limit_big, NULL, false,
		    false);
		row(x->name, o->batch, http_what, &x->http_big, &x->limit_big, true, true);
		row(x->name, o->batch, "import: mizan import FILE", &x->import, &x->limit_big, true,
		    true);
		if (o->small_batch) {
			row(x->name, o->small_batch, "limit: raw SQLite insert loop", &x->limit_small,
			    NULL, false, false);
			row(x->name, o->small_batch, http_what, &x->http_small, &x->limit_small, true,
			    true);
		}
	}
	printf("\nWhat each figure is:\n"
	       "  parse   batch_parse() (cJSON + validation) of all N events on one thread, no store;\n"
	       "          every ingest path pays it before SQLite sees a row.\n"
	       "  limit   the same pre-parsed rows inserted by a minimal C loop: database made by\n"
	       "          store_open() (same schema, indexes, pragmas), one prepared INSERT ... ON\n"
	       "          CONFLICT(id) DO NOTHING, BEGIN IMMEDIATE/COMMIT every `batch` rows.\n"
	       "  http    `mizan serve` on a fresh database; N events as NDJSON bodies of `batch`\n"
	       "          events, POSTed over K keep-alive connections (K threads); events/s over\n"
	       "          the wall time of all POSTs; every response checked (200, accepted) and\n"
	       "          the stored row count verified.  peak MiB: the server's VmHWM after the\n"
	       "          N events; cpu: the server's user+sys seconds.\n"
	       "  import  `mizan import` of one NDJSON file of the N events (validate pass, then\n"
	       "          store pass) on a fresh database; events/s over the process's wall time\n"
	       "          (start to exit); peak MiB: its max RSS.\n"
	       "  x limit events/s divided by the limit's rows/s at the same batch size.\n\n");
	for (size_t i = 0; i < ns; i++) {
		const struct style_results *x = &s[i];
		if (!x->parse_s)
			continue;
		for (int big = 1; big >= 0; big--) {
			const struct result *h = big ? &x->http_big : &x->http_small;
			const struct result *l = big ? &x->limit_big : &x->limit_small;
			if (!big && !o->small_batch)
				continue;
			printf("ingest %s batch=%zu", x->name, big ? o->batch : o->small_batch);
			if (h->ran)
				printf(" http_events_per_s=%.0f", h->per_s);
			if (l->ran)
				printf(" limit_rows_per_s=%.0f", l->per_s);
			if (h->ran && l->ran)
				printf(" ratio=%.2f", ratio(h, l));
			if (big && x->import.ran) {
				printf(" import_events_per_s=%.0f", x->import.per_s);
				if (l->ran)
					printf(" import_ratio=%.2f", ratio(&x->import, l));
			}
			if (h->ran)
				printf(" server_peak_rss_mib=%.0f", h->peak_rss_mib);
			if (big && x->import.ran)
				printf(" import_peak_rss_mib=%.0f", x->import.peak_rss_mib);
			if (big)
				printf(" parse_events_per_s=%.0f", (double)o->events / x->parse_s);
			printf("\n");
		}
	}
}

/* ---- main --------------------------------------------------------------------- */

static int write_config(const char *path, const struct opts *o, size_t max_body)
{
	size_t mib = (max_body >> 20) + 1;
	if (mib < 64)
		mib = 64;
	if (mib > 1024)
		mib = 1024;
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"-- written by bench-ingest\n"
		"limits.body_bytes = %zu * MiB\n"
		"limits.batch_events = %zu\n",
		mib, o->batch);
	return fclose(f) == 0 ? 0 : -1;
}

static size_t max_body(const struct corpus *c, size_t batch)
{
	size_t m = 0;
	for (size_t lo = 0; lo < c->n; lo += batch) {
		size_t hi = lo + batch < c->n ? lo + batch : c->n;
		if (c->off[hi] - c->off[lo] > m)
			m = c->off[hi] - c->off[lo];
	}
	return m;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);

	snprintf(g_tmpdir, sizeof(g_tmpdir), "%s/mizan-bench-XXXXXX", o.tmp_parent);
	if (!mkdtemp(g_tmpdir)) {
		fprintf(stderr, "bench-ingest: mkdtemp %s: %s\n", g_tmpdir, strerror(errno));
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench-ingest: curl_global_init failed\n");
		cleanup_tmp();
		return 1;
	}

	char cfgpath[PATH_MAX];
	tmp_file(cfgpath, "bench.lua");
	struct config cfg;
	char err[512];
	int code = 1;
	struct style_results res[2] = {{.name = "time-ordered"}, {.name = "random-uuid"}};
	bool cfg_loaded = false;

	fprintf(stderr, "bench-ingest: N=%" PRIu64 " B=%zu b=%zu K=%d in %s\n", o.events, o.batch,
		o.small_batch, o.conns, g_tmpdir);
	for (int s = 0; s < 2; s++) {
		struct style_results *x = &res[s];
		struct corpus c;
		if (!o.ids[s])
			continue;
		struct parsed p;
		char name[64];

		fprintf(stderr, "bench-ingest: [%s] generating %" PRIu64 " events\n", x->name, o.events);
		if (make_corpus(&c, o.events, s == 1) < 0) {
			fprintf(stderr, "bench-ingest: demo_generate failed\n");
			free_corpus(&c);
			goto out;
		}
		x->bytes = c.len;
		if (!cfg_loaded) {
			size_t mb = max_body(&c, o.batch);
			if (write_config(cfgpath, &o, mb + mb / 4) < 0 ||
			    config_load(&cfg, cfgpath, err, sizeof(err)) < 0) {
				fprintf(stderr, "bench-ingest: config %s: %s\n", cfgpath, err);
				free_corpus(&c);
				goto out;
			}
			cfg_loaded = true;
		}

		fprintf(stderr, "bench-ingest: [%s] parsing (%.0f MiB of NDJSON)\n", x->name,
			(double)c.len / MIB);
		if (parse_corpus(&p, &c, &cfg, o.batch) < 0) {
			free_parsed(&p);
			free_corpus(&c);
			goto out;
		}
		x->parse_s = p.seconds;
		if (o.do_limit)
			fprintf(stderr, "bench-ingest: [%s] limit, batch %zu\n", x->name, o.batch);
		snprintf(name, sizeof(name), "limit-%d-%zu.db", s, o.batch);
		if (o.do_limit)
			x->limit_big = run_limit(&p, &cfg, o.batch, name);
		if (o.do_limit && o.small_batch) {
			fprintf(stderr, "bench-ingest: [%s] limit, batch %zu\n", x->name, o.small_batch);
			snprintf(name, sizeof(name), "limit-%d-%zu.db", s, o.small_batch);
			x->limit_small = run_limit(&p, &cfg, o.small_batch, name);
		}
		free_parsed(&p);

		snprintf(name, sizeof(name), "http-%d-%zu.db", s, o.batch);
		if (o.do_http) {
			fprintf(stderr, "bench-ingest: [%s] http, batch %zu\n", x->name, o.batch);
			x->http_big = run_http(&o, cfgpath, &c, o.batch, name);
		}
		if (o.do_http && o.small_batch) {
			fprintf(stderr, "bench-ingest: [%s] http, batch %zu\n", x->name, o.small_batch);
			snprintf(name, sizeof(name), "http-%d-%zu.db", s, o.small_batch);
			x->http_small = run_http(&o, cfgpath, &c, o.small_batch, name);
		}
		snprintf(name, sizeof(name), "import-%d.db", s);
		if (o.do_import) {
			fprintf(stderr, "bench-ingest: [%s] mizan import\n", x->name);
			x->import = run_import(&o, cfgpath, &c, name);
		}
		free_corpus(&c);
	}
	report(&o, &cfg, res, 2);
	code = 0;
	for (int s = 0; s < 2; s++) {
		const struct result *all[] = {&res[s].limit_big, &res[s].http_big, &res[s].import,
					      &res[s].limit_small, &res[s].http_small};
		for (size_t i = 0; i < 5; i++)
			if (all[i]->ran && !all[i]->ok)
				code = 1;
	}
out:
	if (cfg_loaded)
		config_free(&cfg);
	curl_global_cleanup();
	cleanup_tmp();
	return code;
}
