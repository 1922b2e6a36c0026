/* test_config.c - defaults, good files, and errors that name file:line:key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/config.h"
#include "harness.h"

static const char *write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return name;
}

static void test_defaults(void)
{
	struct config c;
	char err[256];
	CHECK_INT(config_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_STR(c.listen, "127.0.0.1:8080");
	CHECK_STR(c.synchronous, "full");
	CHECK_INT(c.batch_events, 10000);
	CHECK_STR(c.store_url, "mizan.db");
	config_free(&c);
}

/* store.url is taken as it is; store.path is a file's path, whatever it holds. */
static void test_store_url(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"store.url = 'sqlite:/var/lib/mizan/m.db'\n", "sqlite:/var/lib/mizan/m.db"},
		{"store.path = '/var/lib/mizan/m.db'\n", "/var/lib/mizan/m.db"},
		{"store.path = 'a:b.db'\n", "sqlite:a:b.db"},
		{"store.path = 'x.db'\nstore.url = 'sqlite::memory:'\n", "sqlite::memory:"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char err[256] = "";
		const char *p = write_file("store.lua", cases[i].text);
		CHECK(config_load(&c, p, err, sizeof(err)) == 0, "case %zu: %s", i, err);
		CHECK_STR(c.store_url, cases[i].want);
		config_free(&c);
	}
}

static void test_good(void)
{
	struct config c;
	char err[256] = "";
	const char *p = write_file("good.lua", "server.listen = '0.0.0.0:9000'\n"
					       "limits.body_bytes = 2 * MiB\n"
					       "store.synchronous = 'normal'\n"
					       "limits.per_ip = 5\n"
					       "limits.per_ip = limits.per_ip + 1\n"
					       "auth.tokens = { { name = 'bot', role = 'ingest', sha256 = "
					       "string.rep('ab', 32) } }\n");
	CHECK(config_load(&c, p, err, sizeof(err)) == 0, "%s", err);
	CHECK_STR(c.listen, "0.0.0.0:9000");
	CHECK_INT(c.body_bytes, 2 * 1024 * 1024);
	CHECK_STR(c.synchronous, "normal");
	CHECK_INT(c.per_ip, 6); /* set twice, read back in between */
	CHECK_INT(c.ntokens, 1);
	CHECK_INT(c.tokens[0].role, ROLE_INGEST);
	CHECK_INT(c.tokens[0].hash[0], 0xab);
	config_free(&c);
}

/* Each bad file must fail with exactly this message prefix. */
static void test_bad(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"\n\nlimits.bodybytes = 5\n", "bad.lua:3: unknown key 'limits.bodybytes'"},
		{"listen = '1'\n", "bad.lua:1: unknown key 'listen'"},
		{"limits.timeout_s = 'ten'\n", "bad.lua:1: limits.timeout_s must be a number"},
		{"limits.timeout_s = 0\n", "bad.lua:1: limits.timeout_s must be a whole number from 1"},
		/* infinities and NaN: refused, never cast to an integer */
		{"\nlimits.timeout_s = math.huge\n", "bad.lua:2: limits.timeout_s must be a finite number"},
		{"limits.body_bytes = -math.huge\n", "bad.lua:1: limits.body_bytes must be a finite number"},
		{"demo.seed = 1/0\n", "bad.lua:1: demo.seed must be a finite number"},
		{"limits.per_ip = 0/0\n", "bad.lua:1: limits.per_ip must be a finite number"},
		{"evaluation.interval_s = 2^63\n", "bad.lua:1: evaluation.interval_s must be a whole number"},
		{"store.synchronous = 'sometimes'\n", "bad.lua:1: store.synchronous must be one of full|normal"},
		{"x\n", "bad.lua:2: syntax error"},
		{"serverx.listen = 1\n", "bad.lua:1: attempt to index a nil value (global 'serverx')"},
		{"auth.tokens = { { name = 'a', role = 'boss', sha256 = '' } }\n",
		 "bad.lua:1: auth.tokens[1].role must be"},
		{"os.execute('true')\n", "bad.lua:1: attempt to index a nil value (global 'os')"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char err[256] = "";
		const char *p = write_file("bad.lua", cases[i].text);
		CHECK(config_load(&c, p, err, sizeof(err)) == -EINVAL, "case %zu accepted", i);
		CHECK(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: got '%s', want '%s...'",
		      i, err, cases[i].want);
		config_free(&c);
	}
	struct config c;
	char err[256];
	CHECK(config_load(&c, "missing.lua", err, sizeof(err)) == -EINVAL && strstr(err, "missing.lua"),
	      "a missing file is named: %s", err);
	config_free(&c);
}

TEST_MAIN(test_defaults, test_store_url, test_good, test_bad)
