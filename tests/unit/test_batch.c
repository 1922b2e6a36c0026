/* test_batch.c - bodies into events: JSON, NDJSON, CSV; errors by index and line. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ingest/batch.h"
#include "harness.h"
#include "util/utf8.h"

static const struct event_limits lim = {
	.attrs_bytes = 4096, .attrs_depth = 8, .future_ms = 86400000, .now_ms = 1780272000000LL};

#define SVC(id)                                                                                    \
	"{\"kind\":\"service\",\"id\":\"" id "\",\"ts\":\"2026-03-01T09:30:00Z\",\"service\":\"visa\"," \
	"\"channel\":\"online\",\"automated\":false,\"outcome\":\"completed\"}"

static int parse(struct batch *b, enum batch_format f, const char *body, size_t max)
{
	return batch_parse(b, f, body, strlen(body), NULL, 1, &lim, max);
}

/* The n-th error's location key value and field. */
static void error_at(const struct batch *b, int n, const char *key, int where, const char *field)
{
	const cJSON *e = cJSON_GetArrayItem(b->errors, n);
	CHECK(e != NULL, "no error number %d", n);
	if (!e)
		return;
	const cJSON *w = cJSON_GetObjectItem(e, key);
	CHECK(w && (int)w->valuedouble == where, "error %d: %s is not %d", n, key, where);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "field")), field);
}

static void test_json(void)
{
	struct batch b;
	CHECK_INT(parse(&b, BATCH_JSON, "[" SVC("a") "," SVC("b") "]", 10), 0);
	CHECK_INT(b.n, 2);
	CHECK_STR(b.ev[1].v[F_ID].s, "b");
	batch_free(&b);

	CHECK_INT(parse(&b, BATCH_JSON, SVC("single"), 10), 0);
	CHECK_INT(b.n, 1);
	batch_free(&b);

	/* One bad event among good ones: every problem reported, by index. */
	CHECK_INT(parse(&b, BATCH_JSON, "[" SVC("a") ",{\"kind\":\"service\",\"id\":\"b\"}," SVC("c") ",7]", 10),
		  -EINVAL);
	CHECK_INT(b.nerrors, 2);
	error_at(&b, 0, "index", 1, "ts");
	error_at(&b, 1, "index", 3, "");
	batch_free(&b);

	CHECK_INT(parse(&b, BATCH_JSON, "[]", 10), 0);
	CHECK_INT(b.n, 0);
	batch_free(&b);

	const char *bad[] = {"[" SVC("a"), "{\"kind\":NaN}", "[Infinity]", "[-Infinity]", "\"x\"",
			     "   ", "[1] [2]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(parse(&b, BATCH_JSON, bad[i], 10) == -EINVAL, "accepted %s", bad[i]);
		CHECK_INT(b.n, 0);
		batch_free(&b);
	}
	CHECK_INT(parse(&b, BATCH_JSON, "[" SVC("a") "," SVC("b") "," SVC("c") "]", 2), -E2BIG);
	batch_free(&b);
}

static void test_ndjson(void)
{
	struct batch b;
	CHECK_INT(parse(&b, BATCH_NDJSON, SVC("a") "\n\n" SVC("b") "\r\n", 10), 0);
	CHECK_INT(b.n, 2);
	batch_free(&b);

	CHECK_INT(parse(&b, BATCH_NDJSON, SVC("a") "\n{oops\n" SVC("c") "\n{\"kind\":\"x\"}", 10), -EINVAL);
	CHECK_INT(b.nerrors, 2);
	error_at(&b, 0, "line", 2, "");
	error_at(&b, 1, "line", 4, "kind");
	batch_free(&b);

	/* Chunks of a file keep the file's line numbers. */
	CHECK_INT(batch_parse(&b, BATCH_NDJSON, "{}\n", 3, NULL, 41, &lim, 10), -EINVAL);
	error_at(&b, 0, "line", 41, "kind");
	batch_free(&b);
}

static void test_csv(void)
{
	struct batch b;
	const char *body = "kind,id,ts,title,hours,participants,cost\n"
			   "training,t1,2026-01-01T00:00:00Z,\"Workshop, \"\"advanced\"\"\",3,10,500\n"
			   "training,t2,2026-01-01T00:00:00Z,\"two\nlines\",3,10,500\n"
			   "training,t3,2026-01-01T00:00:00Z,ok,3,ten,500\n"
			   "training,t4,2026-01-01T00:00:00Z,ok,3,10\n";
	CHECK_INT(parse(&b, BATCH_CSV, body, 10), -EINVAL);
	CHECK_INT(b.n, 1);
	CHECK_STR(b.ev[0].v[F_TITLE].s, "Workshop, \"advanced\"");
	CHECK_INT(b.nerrors, 3);
	error_at(&b, 0, "line", 3, "title");        /* a newline is a control character */
	error_at(&b, 1, "line", 5, "participants"); /* the record after the two-line one */
	error_at(&b, 2, "line", 6, "");             /* too few cells */
	batch_free(&b);

	CHECK_INT(parse(&b, BATCH_CSV, "kind,id,colour\nservice,x,red\n", 10), -EINVAL);
	error_at(&b, 0, "line", 1, "colour");
	batch_free(&b);

	CHECK_INT(parse(&b, BATCH_CSV, "kind,id\n\"unterminated,x\n", 10), -EINVAL);
	batch_free(&b);

	/* A chunk parsed under the file's header. */
	const char *chunk = "project,p9,2026-01-01T00:00:00Z,health,donation,10\n";
	CHECK_INT(batch_parse(&b, BATCH_CSV, chunk, strlen(chunk), "kind,id,ts,sector,contribution,amount\n",
			      7, &lim, 10),
		  0);
	CHECK_INT(b.n, 1);
	batch_free(&b);
}

static void test_utf8(void)
{
	const char ok[] = "\xd9\x85\xd9\x8a\xd8\xb2\xd8\xa7\xd9\x86 \xf0\x9f\x98\x80";
	CHECK_INT(utf8_check(ok, sizeof(ok) - 1), sizeof(ok) - 1);
	CHECK_INT(utf8_check("a\xc0\xafz", 4), 1);         /* overlong */
	CHECK_INT(utf8_check("ab\xed\xa0\x80", 5), 2);     /* surrogate */
	CHECK_INT(utf8_check("\xf4\x90\x80\x80", 4), 0);   /* past U+10FFFF */
	CHECK_INT(utf8_check("abc\xd9", 4), 3);            /* truncated */
	CHECK_INT(utf8_check("\xff", 1), 0);

	struct batch b;
	CHECK_INT(parse(&b, BATCH_NDJSON, SVC("a") "\n{\"kind\":\"\xff\"}\n", 10), -EINVAL);
	error_at(&b, 0, "line", 2, "");
	batch_free(&b);
}

/* cJSON would cut "a\u0000x" to "a": a NUL is refused wherever it is. */
static void test_nul(void)
{
	struct batch b;
	const char *bad[] = {"[{\"kind\":\"service\",\"id\":\"a\\u0000x\"}]",
			     "[{\"kind\":\"service\",\"id\":\"a\\U0000\"}]"};
	for (size_t i = 0; i < 2; i++) {
		CHECK_INT(parse(&b, BATCH_JSON, bad[i], 10), -EINVAL);
		CHECK_INT(b.nerrors, 1);
		batch_free(&b);
	}
	/* An escaped backslash before u0000 is just text (and then a bad id). */
	CHECK_INT(parse(&b, BATCH_JSON, "[{\"kind\":\"service\",\"id\":\"a\\\\u0000\"}]", 10), -EINVAL);
	error_at(&b, 0, "index", 0, "id");
	batch_free(&b);
	const char raw[] = "kind,id\nservice,a\0b\n";
	CHECK_INT(batch_parse(&b, BATCH_CSV, raw, sizeof(raw) - 1, NULL, 1, &lim, 10), -EINVAL);
	error_at(&b, 0, "line", 2, "");
	batch_free(&b);
}

#define TRN(id, title)                                                                             \
	"{\"kind\":\"training\",\"id\":\"" id "\",\"ts\":\"2026-01-01T00:00:00Z\",\"title\":\"" title \
	"\",\"hours\":3,\"participants\":10,\"cost\":500}"

/* The edges of the contract (hardening 13). */
static void test_edges(void)
{
	struct batch b;
	/* A second "kind" (or any key twice, null or not) is refused. */
	CHECK_INT(parse(&b, BATCH_JSON, "[{\"kind\":\"service\",\"kind\":\"training\",\"id\":\"a\"}]", 10),
		  -EINVAL);
	error_at(&b, 0, "index", 0, "kind");
	batch_free(&b);
	CHECK_INT(parse(&b, BATCH_NDJSON,
			"{\"kind\":\"service\",\"id\":null,\"id\":\"a\",\"ts\":\"2026-03-01T09:30:00Z\"}\n", 10),
		  -EINVAL);
	error_at(&b, 0, "line", 1, "id");
	batch_free(&b);
	CHECK_INT(parse(&b, BATCH_JSON,
			"{\"kind\":\"service\",\"id\":\"a\",\"ts\":\"2026-03-01T09:30:00Z\",\"service\":\"v\","
			"\"channel\":\"online\",\"automated\":false,\"outcome\":\"completed\","
			"\"attrs\":{\"x\":1,\"x\":2}}", 10),
		  -EINVAL);
	error_at(&b, 0, "index", 0, "attrs");
	batch_free(&b);

	/* CSV attrs: one JSON object, nothing after it. */
	const char *csv = "kind,id,ts,service,channel,automated,outcome,attrs\n"
			  "service,a,2026-03-01T09:30:00Z,v,online,0,completed,\"{\"\"x\"\":1}junk\"\n"
			  "service,b,2026-03-01T09:30:00Z,v,online,0,completed,\"{\"\"x\"\":1} \"\n";
	CHECK_INT(parse(&b, BATCH_CSV, csv, 10), -EINVAL);
	CHECK_INT(b.nerrors, 1);
	error_at(&b, 0, "line", 2, "attrs");
	batch_free(&b);

	/* Titles: no line separator, no direction override left open; the
	 * marks of Arabic text pasted from office documents are kept. */
	const char *bad_titles[] = {
		TRN("t", "a\xe2\x80\xa8" "b"),         /* U+2028 */
		TRN("t", "a\xe2\x80\xae" "evil"),      /* U+202E, never closed */
		TRN("t", "a\xe2\x81\xa6" "b"),         /* U+2066, never closed */
		TRN("t", "a\xe2\x81\xa9" "b"),         /* U+2069 closes nothing */
		TRN("t", "a\xe2\x80\xac" "b"),         /* U+202C closes nothing */
		TRN("t", "a\xc2\x85" "b"),             /* U+0085, a C1 control */
	};
	for (size_t i = 0; i < sizeof(bad_titles) / sizeof(bad_titles[0]); i++) {
		CHECK(parse(&b, BATCH_JSON, bad_titles[i], 10) == -EINVAL, "title %zu accepted", i);
		error_at(&b, 0, "index", 0, "title");
		batch_free(&b);
	}
	const char *good_titles[] = {
		TRN("t", "\xd9\x88\xd8\xb1\xd8\xb4\xd8\xa9\xe2\x80\x8f 2026"), /* RLM */
		TRN("t", "\xe2\x80\x8e" "ABC \xd8\xa7\xd9\x84"),                /* LRM */
		TRN("t", "\xd8\xb3\xd8\xb9\xd8\xb1\xd8\x9c" "5"),               /* ALM U+061C */
		TRN("t", "x \xe2\x81\xa7\xd8\xa7\xd9\x84\xe2\x81\xa9 y"),       /* RLI ... PDI */
		TRN("t", "x \xe2\x80\xab\xd8\xa7\xd9\x84\xe2\x80\xac y"),       /* RLE ... PDF */
	};
	for (size_t i = 0; i < sizeof(good_titles) / sizeof(good_titles[0]); i++) {
		CHECK(parse(&b, BATCH_JSON, good_titles[i], 10) == 0, "title %zu refused: %s", i,
		      b.errors ? cJSON_PrintUnformatted(b.errors) : "");
		batch_free(&b);
	}

	/* A byte order mark before the header is skipped. */
	CHECK_INT(parse(&b, BATCH_CSV,
			"\xef\xbb\xbfkind,id,ts,sector,contribution,amount\n"
			"project,p1,2026-01-01T00:00:00Z,health,donation,10\n", 10),
		  0);
	CHECK_INT(b.n, 1);
	batch_free(&b);

	/* \u0000 is refused with the event and the field it is in. */
	CHECK_INT(parse(&b, BATCH_JSON, "[" SVC("a") ",{\"kind\":\"service\",\"title\":\"x\\u0000y\"}]", 10),
		  -EINVAL);
	error_at(&b, 0, "index", 1, "title");
	batch_free(&b);
	CHECK_INT(parse(&b, BATCH_NDJSON, SVC("a") "\n{\"kind\":\"service\",\"attrs\":{\"k\":\"\\u0000\"}}\n", 10),
		  -EINVAL);
	error_at(&b, 0, "line", 2, "attrs");
	batch_free(&b);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A header of 20,000 repeated names is checked in linear time (it took
 * 14-21 s of a server thread), and the columns are bounded. */
static void test_csv_columns(void)
{
	struct batch b;
	struct buf {
		char *p;
		size_t n;
	} h = {malloc(20000 * 6 + 2), 0};
	for (int i = 0; i < 20000; i++)
		h.n += (size_t)sprintf(h.p + h.n, "%s", i % 2 ? ",kind" : (i ? ",id" : "id"));
	h.p[h.n++] = '\n';
	h.p[h.n] = '\0';
	struct event_limits wide = lim;
	wide.csv_columns = 30000;
	double t0 = now_s();
	CHECK_INT(batch_parse(&b, BATCH_CSV, h.p, h.n, NULL, 1, &wide, 10), -EINVAL);
	double took = now_s() - t0;
	CHECK(took < 3, "a header of 20,000 repeated names took %.1f s", took);
	CHECK_INT(b.nerrors, 19998); /* every column after the first id and kind */
	error_at(&b, 0, "line", 1, "id");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(b.errors, 0), "error")),
		  "column 3 repeats column 1");
	batch_free(&b);

	/* The default limit: refused, naming it. */
	CHECK_INT(batch_parse(&b, BATCH_CSV, h.p, h.n, NULL, 1, &lim, 10), -EINVAL);
	CHECK_INT(b.nerrors, 1);
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(b.errors, 0), "error"));
	CHECK(msg && strstr(msg, "more than 64 columns") && strstr(msg, "limits.csv_columns"), "got '%s'",
	      harness_str(msg));
	batch_free(&b);
	/* In a record too, not only the header. */
	CHECK_INT(parse(&b, BATCH_CSV, "kind,id\n" "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
			"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,a,b,c,d,e,f,g,h,i,j,k,l,m,n\n", 10),
		  -EINVAL);
	error_at(&b, 0, "line", 2, "");
	batch_free(&b);
	free(h.p);
}

TEST_MAIN(test_json, test_ndjson, test_csv, test_utf8, test_nul, test_edges, test_csv_columns)
