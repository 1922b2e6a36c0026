/* test_store.c - migrations, idempotent batches, all-or-nothing writes, tokens. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
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

TEST_MAIN(test_idempotent, test_all_or_nothing, test_tokens)
