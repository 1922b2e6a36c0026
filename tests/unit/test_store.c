/* test_store.c - opening by URL, migrations, idempotent batches, all-or-nothing
 * writes, tokens, run numbers under two writers, change tracking, health. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ingest/batch.h"
#include "harness.h"
#include "store/store.h"

static const struct event_limits lim = {
	.attrs_bytes = 4096, .attrs_depth = 8, .future_ms = 86400000, .now_ms = 1780272000000LL};

static struct store *open_fresh(const char *path)
{
	char err[STORE_ERRLEN] = "";
	struct store *s = NULL;
	struct store_opts o = {.sync_full = true, .cache_mib = 2, .busy_timeout_ms = 1000};
	unlink(path);
	CHECK(store_open(&s, path, &o, err) == 0, "%s", err);
	return s;
}

static int put_body(struct store *s, const char *body, struct store_put_result *r)
{
	struct batch b;
	char err[STORE_ERRLEN];
	int rc = batch_parse(&b, BATCH_NDJSON, body, strlen(body), NULL, 1, &lim, 100);
	if (rc == 0)
		rc = store_put_events(s, b.ev, b.n, r, err);
	batch_free(&b);
	return rc;
}

#define EV(id, ts)                                                                                 \
	"{\"kind\":\"project\",\"id\":\"" id "\",\"ts\":\"" ts "\",\"sector\":\"health\","            \
	"\"contribution\":\"donation\",\"amount\":10,\"mission\":\"QA-DOH\"}\n"

static int count(const struct event *e, void *ud)
{
	(void)e;
	++*(int *)ud;
	return 0;
}

static void test_idempotent(void)
{
	struct store *s = open_fresh("t.db");
	struct store_put_result r;
	CHECK_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	CHECK_INT(put_body(s, EV("a", "2026-01-01T00:00:00Z") EV("b", "2026-02-01T00:00:00Z"), &r), 0);
	CHECK_INT(r.accepted, 2);
	CHECK_INT(r.duplicates, 0);
	/* Resent, plus one new, plus one repeated inside the batch. */
	CHECK_INT(put_body(s, EV("a", "2026-01-01T00:00:00Z") EV("c", "2026-03-01T00:00:00Z")
				      EV("c", "2026-03-01T00:00:00Z"),
			   &r),
		  0);
	CHECK_INT(r.accepted, 1);
	CHECK_INT(r.duplicates, 2);
	CHECK_INT(r.accepted_by_kind[EV_PROJECT], 1);
	CHECK_INT(store_count_events(s), 3);

	int n = 0;
	char err[STORE_ERRLEN];
	struct store_query q = {.kind = EV_PROJECT, .limit = 10};
	event_parse_time("2026-01-15", true, &q.from_ms);
	event_parse_time("2026-03-01", true, &q.to_ms);
	CHECK_INT(store_get_events(s, &q, count, &n, err), 0);
	CHECK_INT(n, 1); /* b only: from inclusive, to exclusive */
	q = (struct store_query){.kind = EV_SERVICE, .from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 10};
	n = 0;
	CHECK_INT(store_get_events(s, &q, count, &n, err), 0);
	CHECK_INT(n, 0);
	store_close(s);

	/* Reopening migrates nothing and keeps everything. */
	char err2[STORE_ERRLEN];
	struct store_opts o = {.sync_full = true, .cache_mib = 2, .busy_timeout_ms = 1000};
	CHECK_INT(store_open(&s, "t.db", &o, err2), 0);
	CHECK_INT(store_count_events(s), 3);
	store_close(s);
}

/* A batch that fails part-way stores nothing: the second event breaks a
 * NOT NULL constraint the validator would never let through. */
static void test_all_or_nothing(void)
{
	struct store *s = open_fresh("t2.db");
	struct batch b;
	const char *body = EV("x1", "2026-01-01T00:00:00Z") EV("x2", "2026-01-01T00:00:00Z");
	CHECK_INT(batch_parse(&b, BATCH_NDJSON, body, strlen(body), NULL, 1, &lim, 10), 0);
	b.ev[1].present &= ~(1u << F_TS);
	struct store_put_result r;
	char err[STORE_ERRLEN] = "";
	CHECK(store_put_events(s, b.ev, b.n, &r, err) < 0, "the broken batch was stored");
	CHECK(err[0] != '\0', "no message");
	CHECK_INT(store_count_events(s), 0);
	b.ev[1].present |= 1u << F_TS;
	CHECK_INT(store_put_events(s, b.ev, b.n, &r, err), 0);
	CHECK_INT(store_count_events(s), 2);
	batch_free(&b);
	store_close(s);
}

static int find_token(const struct store_token *t, void *ud)
{
	return strcmp(t->name, ud) == 0 ? 1 : 0;
}

static void test_tokens(void)
{
	struct store *s = open_fresh("t3.db");
	unsigned char h[32] = {1, 2, 3};
	char err[STORE_ERRLEN];
	CHECK_INT(store_token_add(s, "bot", ROLE_INGEST, h, err), 0);
	CHECK_INT(store_token_add(s, "bot", ROLE_ADMIN, h, err), -EEXIST);
	CHECK_INT(store_token_each(s, find_token, "bot", err), 1);
	CHECK_INT(store_token_revoke(s, "bot", err), 0);
	CHECK_INT(store_token_revoke(s, "bot", err), -ENOENT);
	CHECK_INT(store_token_each(s, find_token, "bot", err), 0);
	store_close(s);
}

static void unlink_db(const char *path)
{
	char side[256];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static const struct store_opts test_opts = {.sync_full = false, .cache_mib = 2,
					     .busy_timeout_ms = 10000};

/* sqlite:PATH and the bare PATH are the same store; an unknown scheme is
 * refused, naming it; sqlite::memory: is private to its handle. */
static void test_open_url(void)
{
	char err[STORE_ERRLEN] = "";
	struct store *s = NULL;
	struct store_put_result r;

	unlink_db("t5.db");
	CHECK(store_open(&s, "sqlite:t5.db", &test_opts, err) == 0, "%s", err);
	CHECK(access("t5.db", F_OK) == 0, "sqlite:t5.db made no file t5.db");
	CHECK_INT(put_body(s, EV("u1", "2026-01-01T00:00:00Z"), &r), 0);
	store_close(s);
	s = NULL;
	CHECK(store_open(&s, "t5.db", NULL, err) == 0, "%s", err);
	CHECK_INT(store_count_events(s), 1);
	store_close(s);

	/* A colon after something that is not a scheme: a path. */
	unlink_db("t5:x.db");
	s = NULL;
	CHECK(store_open(&s, "./t5:x.db", &test_opts, err) == 0, "%s", err);
	CHECK(access("t5:x.db", F_OK) == 0, "./t5:x.db made no file");
	store_close(s);
	unlink_db("t5:x.db");

	static char junk;
	s = (struct store *)(void *)&junk; /* not NULL: a failed open must clear it */
	err[0] = '\0';
	CHECK_INT(store_open(&s, "postgresql://db.example/mizan", &test_opts, err), -EPROTONOSUPPORT);
	CHECK(s == NULL, "a failed open left a handle");
	CHECK(strstr(err, "'postgresql'") != NULL, "the message does not name the scheme: %s", err);
	CHECK(store_open(&s, "sqlite:", &test_opts, err) < 0, "sqlite: with no path opened");
	CHECK(err[0] != '\0', "no message for sqlite: with no path");
	CHECK(store_open(&s, "", &test_opts, NULL) < 0, "an empty URL opened"); /* err may be NULL */

	/* Two stores in memory do not see each other. */
	struct store *m1 = NULL, *m2 = NULL;
	CHECK(store_open(&m1, STORE_URL_SCRATCH, &test_opts, err) == 0, "%s", err);
	CHECK(store_open(&m2, "sqlite::memory:", &test_opts, err) == 0, "%s", err);
	if (m1 && m2) {
		CHECK_INT(put_body(m1, EV("m1", "2026-01-01T00:00:00Z"), &r), 0);
		CHECK_INT(store_count_events(m1), 1);
		CHECK_INT(store_count_events(m2), 0);
		CHECK_INT(store_schema_version(m2), STORE_SCHEMA_VERSION);
	}
	store_close(m1);
	store_close(m2);
}

static struct store_result figure(const char *kpi, const char *period)
{
	return (struct store_result){.kpi = kpi, .period = period, .dim = "", .slice = "",
				     .pkind = 1, .start_ms = 1767225600000LL, .value = 1, .n = 1,
				     .provenance = "test", .computed_ms = 1, .run = -7};
}

struct writer {
	const char *path, *kpi;
	int64_t runs[40];
	int failures;
	char err[STORE_ERRLEN];
};

static void *write_runs(void *arg)
{
	struct writer *w = arg;
	struct store *s = NULL;
	if (store_open(&s, w->path, &test_opts, w->err) < 0) {
		w->failures = 40;
		return NULL;
	}
	for (int i = 0; i < 40; i++) {
		struct store_result row = figure(w->kpi, "2026-Q1");
		struct store_result_key key = {w->kpi, "2026-Q1"};
		if (store_results_write(s, &key, 1, &row, 1, -1, &w->runs[i], w->err) < 0)
			w->failures++;
	}
	store_close(s);
	return NULL;
}

static int take_run(const struct store_result *r, void *ud)
{
	*(int64_t *)ud = r->run;
	return 0;
}

/* Two handles (as two processes would) writing at once never get the same
 * run number, and each one's numbers grow. */
static void test_runs_two_writers(void)
{
	unlink_db("t6.db");
	struct store *s = NULL;
	char err[STORE_ERRLEN];
	CHECK(store_open(&s, "sqlite:t6.db", &test_opts, err) == 0, "%s", err);
	if (!s)
		return;
	int64_t run = -1;
	CHECK_INT(store_results_write(s, NULL, 0, NULL, 0, -1, &run, err), 0);
	CHECK_INT(run, 0); /* nothing written: no number used */

	struct writer a = {.path = "sqlite:t6.db", .kpi = "A"}, b = {.path = "t6.db", .kpi = "B"};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, write_runs, &a);
	pthread_create(&tb, NULL, write_runs, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(a.failures == 0 && b.failures == 0, "writes failed: %s %s", a.err, b.err);
	int64_t all[80];
	for (int i = 0; i < 40; i++) {
		all[i] = a.runs[i];
		all[40 + i] = b.runs[i];
		CHECK(a.runs[i] > 0 && b.runs[i] > 0, "run %d: %lld, %lld", i, (long long)a.runs[i],
		      (long long)b.runs[i]);
		if (i) {
			CHECK(a.runs[i] > a.runs[i - 1], "A's runs do not grow at %d", i);
			CHECK(b.runs[i] > b.runs[i - 1], "B's runs do not grow at %d", i);
		}
	}
	int same = 0;
	for (int i = 0; i < 80; i++)
		for (int j = i + 1; j < 80; j++)
			same += all[i] == all[j];
	CHECK_INT(same, 0);
	CHECK_INT(store_results_max_run(s), a.runs[39] > b.runs[39] ? a.runs[39] : b.runs[39]);

	/* Each row carries its write's run number, not the one it was given. */
	run = 0;
	struct store_result_query q = {.kpi = "A", .pkind = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX};
	CHECK_INT(store_results_each(s, &q, take_run, &run, err), 0);
	CHECK_INT(run, a.runs[39]);
	store_close(s);
}

static void on_mark(int kind, int64_t day, void *ud)
{
	int *n = ud;
	(void)kind;
	(void)day;
	++*n;
}

static int64_t dirty(struct store *s, int *marks)
{
	int64_t upto = -2;
	char err[STORE_ERRLEN];
	*marks = 0;
	CHECK(store_dirty_read(s, &upto, on_mark, marks, err) == 0, "%s", err);
	return upto;
}

/* The data version moves with every write of figures, values, audit entries
 * and notes, and not with ingest; dirty marks carry numbers that keep
 * growing however rows come and go, and a mark renewed after it was read
 * survives the clearing of what was read. */
static void test_change_tracking(void)
{
	struct store *s = open_fresh("t7.db");
	char err[STORE_ERRLEN];
	struct store_put_result r;
	int marks;
	if (!s)
		return;

	int64_t v = store_data_version(s), v2;
	CHECK(v >= 0, "data version %lld", (long long)v);
	CHECK_INT(dirty(s, &marks), -1);
	CHECK_INT(marks, 0);

	CHECK_INT(put_body(s, EV("d1", "2026-01-01T10:00:00Z") EV("d2", "2026-01-02T10:00:00Z"), &r), 0);
	CHECK_INT(store_data_version(s), v); /* events are not figures */
	int64_t u1 = dirty(s, &marks);
	CHECK(u1 > 0, "upto %lld", (long long)u1);
	CHECK_INT(marks, 2);

	struct store_result row = figure("K", "2026-Q1");
	struct store_result_key key = {"K", "2026-Q1"};
	int64_t run1 = 0;
	CHECK_INT(store_results_write(s, &key, 1, &row, 1, u1, &run1, err), 0);
	CHECK((v2 = store_data_version(s)) > v, "figures: %lld -> %lld", (long long)v, (long long)v2);
	v = v2;
	CHECK_INT(dirty(s, &marks), -1); /* all cleared */

	/* Every mark gone, new ones still get higher numbers (rowids would
	 * start again). */
	CHECK_INT(put_body(s, EV("d3", "2026-01-01T11:00:00Z"), &r), 0);
	int64_t u2 = dirty(s, &marks);
	CHECK(u2 > u1, "after clearing: %lld, before %lld", (long long)u2, (long long)u1);
	CHECK_INT(marks, 1);

	/* Read at u2, then the same day is marked again before the results are
	 * written: that mark must survive. */
	CHECK_INT(put_body(s, EV("d4", "2026-01-01T12:00:00Z"), &r), 0);
	int64_t u3 = dirty(s, &marks);
	CHECK(u3 > u2, "renewed mark: %lld, read %lld", (long long)u3, (long long)u2);
	CHECK_INT(marks, 1); /* one (kind, day) */
	CHECK_INT(store_results_write(s, &key, 1, &row, 1, u2, NULL, err), 0);
	CHECK_INT(dirty(s, &marks), u3);
	CHECK_INT(marks, 1);
	CHECK_INT(store_results_write(s, NULL, 0, NULL, 0, u3, NULL, err), 0);
	CHECK_INT(dirty(s, &marks), -1);
	CHECK_INT(store_data_version(s) > v, 1);
	v = store_data_version(s);

	/* Figures dropped and none written: the version still moves. */
	int64_t run2 = 0;
	CHECK_INT(store_results_write(s, &key, 1, NULL, 0, -1, &run2, err), 0);
	CHECK(run2 > run1, "a clearing run is numbered: %lld after %lld", (long long)run2,
	      (long long)run1);
	CHECK((v2 = store_data_version(s)) > v, "cleared: %lld -> %lld", (long long)v, (long long)v2);
	v = v2;

	struct store_result val = figure("K", "2026-Q1");
	CHECK_INT(store_value_add(s, &val, "editor", err), 0);
	CHECK((v2 = store_data_version(s)) > v, "value: %lld -> %lld", (long long)v, (long long)v2);
	v = v2;
	struct store_note note = {.goal = "G1", .period = "2026-Q1", .difficulties = "d", .who = "ed"};
	CHECK_INT(store_note_add(s, &note, err), 0);
	CHECK((v2 = store_data_version(s)) > v, "note: %lld -> %lld", (long long)v, (long long)v2);
	v = v2;
	struct target t = {.rule = TR_MIN, .low = 5, .high = NAN, .warn = 0.1};
	CHECK_INT(store_target_put(s, "K", "2026", &t, "ed", NULL, "{}", NULL, err), 0);
	CHECK((v2 = store_data_version(s)) > v, "target: %lld -> %lld", (long long)v, (long long)v2);
	v = v2;
	struct store_audit a = {.who = "ed", .action = "test", .object = "x"};
	CHECK_INT(store_audit_add(s, &a, err), 0);
	CHECK((v2 = store_data_version(s)) > v, "audit: %lld -> %lld", (long long)v, (long long)v2);
	v = v2;
	unsigned char h[32] = {9};
	CHECK_INT(store_token_add(s, "t", ROLE_ADMIN, h, err), 0);
	CHECK_INT(store_data_version(s), v); /* a token is no figure */
	store_close(s);

	/* Reopening keeps the counters. */
	s = NULL;
	CHECK(store_open(&s, "t7.db", &test_opts, err) == 0, "%s", err);
	CHECK_INT(store_data_version(s), v);
	store_close(s);
}

static void test_health(void)
{
	struct store *s = open_fresh("t8.db");
	char err[STORE_ERRLEN] = "";
	struct store_health h;
	struct store_put_result r;
	if (!s)
		return;
	CHECK_INT(store_health(s, &h, err), 0);
	CHECK(h.ok, "a fresh store is not ok: %s", err);
	CHECK_INT(h.schema, STORE_SCHEMA_VERSION);
	CHECK_INT(h.expected_schema, STORE_SCHEMA_VERSION);
	CHECK_INT(h.events, 0);
	CHECK(h.bytes > 0, "size %lld", (long long)h.bytes);
	CHECK_INT(put_body(s, EV("h1", "2026-01-01T00:00:00Z") EV("h2", "2026-01-02T00:00:00Z"), &r), 0);
	CHECK_INT(store_health(s, &h, NULL), 0);
	CHECK_INT(h.events, 2);
	CHECK_INT(h.bytes, store_size_bytes(s));
	CHECK_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
	CHECK_INT(store_count_events(s), 2);
	store_close(s);

	CHECK_INT(store_open(&s, STORE_URL_SCRATCH, NULL, err), 0);
	CHECK_INT(store_health(s, &h, err), 0);
	CHECK(h.ok && h.events == 0 && h.bytes > 0, "in memory: ok %d, events %lld, bytes %lld", h.ok,
	      (long long)h.events, (long long)h.bytes);
	store_close(s);
}

static int count_event(const struct event *e, void *ud)
{
	(void)e;
	(*(int *)ud)++;
	return 0;
}

struct seen_states {
	int n;
	int64_t scopes[8];
	char data[8][16];
};

static int seen_state(const struct store_fold_state *f, void *ud)
{
	struct seen_states *s = ud;
	if (s->n < 8) {
		s->scopes[s->n] = f->scope;
		snprintf(s->data[s->n], sizeof(s->data[0]), "%.*s", (int)f->len, (const char *)f->data);
	}
	s->n++;
	return 0;
}

/* Events by number, and fold states written with figures and read back. */
static void test_fold_states(void)
{
	struct store *s = NULL;
	char err[STORE_ERRLEN] = "", sig[64] = "";
	struct store_put_result r;
	int64_t upto = -1;
	CHECK_INT(store_open(&s, STORE_URL_SCRATCH, NULL, err), 0);
	if (!s)
		return;
	CHECK_INT(store_events_last_seq(s, err), 0);
	CHECK_INT(put_body(s, EV("f1", "2026-01-01T10:00:00Z") EV("f2", "2026-01-02T10:00:00Z"), &r), 0);
	int64_t n1 = store_events_last_seq(s, err);
	CHECK_INT(n1, 2);
	CHECK_INT(put_body(s, EV("f3", "2025-01-01T10:00:00Z"), &r), 0); /* a late one */
	int n = 0;
	CHECK_INT(store_scan_seq(s, EV_PROJECT, INT64_MIN, INT64_MAX, n1, INT64_MAX, false, count_event,
				 &n, err), 0);
	CHECK_INT(n, 1);
	n = 0;
	CHECK_INT(store_scan_seq(s, EV_PROJECT, INT64_MIN, INT64_MAX, 0, n1, true, count_event, &n, err),
		  0);
	CHECK_INT(n, 2);

	CHECK_INT(store_fold_meta_get(s, "K", sig, sizeof(sig), &upto, err), 0);
	struct store_fold_state st[] = {{10, "", "", "a", 1}, {11, "mission", "QA-DOH", "bb", 2},
					{1000, "", "", "period", 6}};
	struct store_fold_write w = {"K", "sig-1", 3, true, st, 3};
	CHECK_INT(store_results_write_folds(s, NULL, 0, NULL, 0, -1, &w, 1, NULL, err), 0);
	CHECK_INT(store_fold_meta_get(s, "K", sig, sizeof(sig), &upto, err), 1);
	CHECK_STR(sig, "sig-1");
	CHECK_INT(upto, 3);
	struct seen_states seen = {0};
	CHECK_INT(store_fold_states_each(s, "K", 0, 100, seen_state, &seen, err), 0);
	CHECK_INT(seen.n, 2);
	CHECK_INT(seen.scopes[1], 11);
	CHECK_STR(seen.data[1], "bb");
	/* Replaced by (scope, dim, slice); reset drops the rest. */
	struct store_fold_state st2[] = {{10, "", "", "c", 1}};
	w = (struct store_fold_write){"K", "sig-1", 4, false, st2, 1};
	CHECK_INT(store_results_write_folds(s, NULL, 0, NULL, 0, -1, &w, 1, NULL, err), 0);
	seen = (struct seen_states){0};
	CHECK_INT(store_fold_states_each(s, "K", INT64_MIN, INT64_MAX, seen_state, &seen, err), 0);
	CHECK_INT(seen.n, 3);
	CHECK_STR(seen.data[0], "c");
	w = (struct store_fold_write){"K", "sig-2", 4, true, st2, 1};
	CHECK_INT(store_results_write_folds(s, NULL, 0, NULL, 0, -1, &w, 1, NULL, err), 0);
	seen = (struct seen_states){0};
	CHECK_INT(store_fold_states_each(s, "K", INT64_MIN, INT64_MAX, seen_state, &seen, err), 0);
	CHECK_INT(seen.n, 1);
	store_close(s);
}

TEST_MAIN(test_idempotent, test_all_or_nothing, test_tokens, test_open_url, test_runs_two_writers,
	  test_change_tracking, test_health, test_fold_states)
