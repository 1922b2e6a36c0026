/* test_script.c - the Lua indicator host: the shipped scripts on hand-made
 * events, refusals at load, and the sandbox under attack.
 *
 * Not tested here: a backtracking pattern such as
 * string.find(('a'):rep(60)..'b', ('a*'):rep(6)..'c') runs inside one C
 * function where the count hook never fires; only killing the worker
 * process stops it (see script.c). */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "eval/script.h"
#include "util/time.h"

#define SCRIPTS MIZAN_SOURCE_ROOT "/scripts"
#define TSCRIPTS MIZAN_SOURCE_ROOT "/tests/scripts"

static const struct script_limits lim = {
	.memory_bytes = 8u << 20, .instructions = 1000000, .seconds = 2.0};

#define CHECK_NUM(got, want)                                                                       \
	do {                                                                                       \
		double got_ = (got), want_ = (want);                                               \
		CHECK_DOUBLE(got_, want_);                                                         \
	} while (0)

#define CHECK_HAS(got, want)                                                                       \
	CHECK(strstr(harness_str(got), (want)) != NULL, "got '%s', want it to contain '%s'",       \
	      harness_str(got), (want))

static struct mizan_event blank(int kind)
{
	struct mizan_event e;
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.kind = kind;
	e.ts_ms = 1780272000000LL;
	e.automated = -1;
	e.duration_min = e.hours = e.cost = e.benefit = e.amount = e.score = NAN;
	e.participants = e.contributors = e.scale = -1;
	return e;
}

/* params from "k=v" pairs */
struct kv {
	const char *keys[8], *values[8];
	struct mizan_params p;
};

static const struct mizan_params *params(struct kv *kv, const char *const *pairs)
{
	size_t n = 0;
	for (; pairs && pairs[2 * n]; n++) {
		kv->keys[n] = pairs[2 * n];
		kv->values[n] = pairs[2 * n + 1];
	}
	kv->p.n = n;
	kv->p.keys = kv->keys;
	kv->p.values = kv->values;
	return &kv->p;
}

/* Folds evs[from, to) into a new state; NULL on failure (err filled). */
static void *fold_new(struct indicator *ind, const char *const *pairs,
		      const struct mizan_event *evs, size_t from, size_t to, char *err)
{
	struct kv kv;
	void *st = ind->ops->state_new(ind, params(&kv, pairs), err);
	if (!st)
		return NULL;
	for (size_t i = from; i < to; i++)
		if (ind->ops->step(ind, st, &evs[i], err) != 0) {
			ind->ops->state_free(ind, st);
			return NULL;
		}
	return st;
}

/* The result of folding all events in one state, and again split in two
 * states merged, which must agree. */
static int fold(struct indicator *ind, const char *const *pairs, const struct mizan_event *evs,
		size_t n, struct mizan_result *out)
{
	char err[IND_ERRLEN] = "";
	void *st = fold_new(ind, pairs, evs, 0, n, err);
	CHECK(st != NULL, "%s", err);
	if (!st)
		return -1;
	int rc = ind->ops->final(ind, st, out, err);
	CHECK(rc == 0, "%s", err);
	ind->ops->state_free(ind, st);

	if (ind->ops->merge) {
		struct mizan_result m;
		void *a = fold_new(ind, pairs, evs, 0, n / 2, err);
		void *b = fold_new(ind, pairs, evs, n / 2, n, err);
		CHECK(a && b, "%s", err);
		/* b is kept: saved, and loaded into a fresh state, as between
		 * two evaluations. */
		if (a && b && ind->ops->save) {
			struct buf kept = {0};
			CHECK(ind->ops->save(ind, b, &kept, err) == 0, "save: %s", err);
			void *c = fold_new(ind, pairs, evs, 0, 0, err);
			CHECK(c != NULL, "%s", err);
			if (c) {
				CHECK(ind->ops->load(ind, c, kept.p, kept.len, err) == 0, "load: %s",
				      err);
				ind->ops->state_free(ind, b);
				b = c;
			}
			buf_free(&kept);
		}
		if (a && b) {
			CHECK(ind->ops->merge(ind, a, b, err) == 0, "%s", err);
			CHECK(ind->ops->final(ind, a, &m, err) == 0, "%s", err);
			CHECK_NUM(m.value, out->value);
			CHECK_NUM(m.n, out->n);
			CHECK_INT(m.nextra, out->nextra);
			for (int i = 0; i < m.nextra && i < out->nextra; i++) {
				CHECK_STR(m.extra[i].name, out->extra[i].name);
				CHECK_NUM(m.extra[i].value, out->extra[i].value);
			}
		}
		if (a)
			ind->ops->state_free(ind, a);
		if (b)
			ind->ops->state_free(ind, b);
	}
	return rc;
}

static double extra(const struct mizan_result *r, const char *name)
{
	for (int i = 0; i < r->nextra; i++)
		if (strcmp(r->extra[i].name, name) == 0)
			return r->extra[i].value;
	return NAN;
}

static bool has_extra(const struct mizan_result *r, const char *name)
{
	for (int i = 0; i < r->nextra; i++)
		if (strcmp(r->extra[i].name, name) == 0)
			return true;
	return false;
}

static struct indicator *load_one(struct registry *r, const char *path,
				  const struct script_limits *l)
{
	int rc = script_load_file(r, path, l);
	CHECK(rc == 0, "%s: %s", path, r->nerrors ? r->errors[r->nerrors - 1].reason : "?");
	return rc == 0 ? r->v[r->n - 1] : NULL;
}

/* ---- the shipped scripts ------------------------------------------------ */

static void t_load_shipped(void)
{
	struct registry r = {0};
	CHECK_INT(script_load_dir(&r, SCRIPTS, &lim), 4);
	CHECK_INT(r.nerrors, 0);
	for (size_t i = 0; i < r.nerrors; i++)
		fprintf(stderr, "  %s: %s\n", r.errors[i].file, r.errors[i].reason);
	/* name order of the files */
	const char *names[] = {"channel_effectiveness", "participation_volume",
			       "satisfaction_share", "training_roi"};
	const unsigned kinds[] = {MIZAN_KIND_BIT(MIZAN_SERVICE), MIZAN_KIND_BIT(MIZAN_PROJECT),
				  MIZAN_KIND_BIT(MIZAN_SATISFACTION), MIZAN_KIND_BIT(MIZAN_TRAINING)};
	for (size_t i = 0; i < 4 && i < r.n; i++) {
		struct indicator *ind = r.v[i];
		CHECK_STR(ind->name, names[i]);
		CHECK_INT(ind->kinds, kinds[i]);
		CHECK_STR(ind->source, "script");
		CHECK(strncmp(ind->version, "sha256:", 7) == 0 && strlen(ind->version) == 23,
		      "version '%s'", ind->version);
		CHECK(strncmp(ind->origin, SCRIPTS "/", strlen(SCRIPTS) + 1) == 0, "origin '%s'",
		      ind->origin);
		CHECK(ind->ops->merge != NULL, "%s merges", ind->name);
		CHECK(ind->description[0] != '\0', "%s has a description", ind->name);
	}
	/* a name already registered */
	CHECK_INT(script_load_file(&r, SCRIPTS "/training_roi.lua", &lim), -EEXIST);
	CHECK_HAS(r.errors[r.nerrors - 1].reason, "already provided by");
	CHECK_INT(r.n, 4);
	registry_free(&r);
}

static void t_satisfaction(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, SCRIPTS "/satisfaction.lua", &lim);
	if (!ind)
		return;
	struct mizan_event ev[7];
	const struct {
		const char *subject;
		double score;
		int64_t scale;
	} a[] = {
		{"service", 5, 5},	 {"service", 4, 5},	  {"service", 3, 5},
		{"service", 10, 10},	 {"communication", 5, 5}, {"communication", 2, 5},
		{"service", NAN, -1}, /* no score: not an answer */
	};
	for (size_t i = 0; i < 7; i++) {
		ev[i] = blank(MIZAN_SATISFACTION);
		ev[i].subject = a[i].subject;
		ev[i].score = a[i].score;
		ev[i].scale = a[i].scale;
	}
	struct mizan_result res;

	/* service: 5,4,3 of 5 and 10 of 10 -> 3 of 4 in the top two = 75 %;
	 * mean = (100 + 75 + 50 + 100) / 4 = 81.25 */
	const char *const p1[] = {"min_answers", "2", NULL};
	fold(ind, p1, ev, 7, &res);
	CHECK_NUM(res.value, 75.0);
	CHECK_NUM(res.n, 4);
	CHECK_NUM(extra(&res, "mean"), 81.25);
	CHECK_NUM(extra(&res, "answers"), 4);
	CHECK(res.note == NULL, "note '%s'", res.note);
	/* extras come sorted by name */
	CHECK_INT(res.nextra, 2);
	CHECK_STR(res.extra[0].name, "answers");

	/* default min_answers 30: no figure */
	fold(ind, NULL, ev, 7, &res);
	CHECK(isnan(res.value), "value %g", res.value);
	CHECK_STR(res.note, "insufficient data");
	CHECK_NUM(res.n, 4);
	CHECK_NUM(extra(&res, "mean"), 81.25);

	/* communication: 5 and 2 of 5 -> 1 of 2 = 50 %; mean = (100 + 25) / 2 */
	const char *const p2[] = {"subject", "communication", "min_answers", "1", NULL};
	fold(ind, p2, ev, 7, &res);
	CHECK_NUM(res.value, 50.0);
	CHECK_NUM(extra(&res, "mean"), 62.5);

	/* a bad param */
	char err[IND_ERRLEN];
	struct kv kv;
	const char *const p3[] = {"subject", "services", NULL};
	CHECK(ind->ops->state_new(ind, params(&kv, p3), err) == NULL, "bad subject accepted");
	CHECK_STR(err, SCRIPTS "/satisfaction.lua: param subject must be service or communication, "
			       "got services");
	registry_free(&r);
}

static void t_training_roi(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, SCRIPTS "/training_roi.lua", &lim);
	if (!ind)
		return;
	struct mizan_event ev[3];
	const double cb[3][2] = {{1000, 1500}, {500, 400}, {800, NAN}};
	for (size_t i = 0; i < 3; i++) {
		ev[i] = blank(MIZAN_TRAINING);
		ev[i].cost = cb[i][0];
		ev[i].benefit = cb[i][1];
	}
	struct mizan_result res;
	/* cost 1500, benefit 1900 -> (1900 - 1500) / 1500 * 100 = 26.666... */
	fold(ind, NULL, ev, 3, &res);
	CHECK_NUM(res.value, 400.0 / 1500.0 * 100.0);
	CHECK_NUM(res.n, 2);
	CHECK_NUM(extra(&res, "cost"), 1500);
	CHECK_NUM(extra(&res, "benefit"), 1900);
	CHECK_NUM(extra(&res, "programmes_without_benefit"), 1);

	/* no benefit measured at all: no figure */
	fold(ind, NULL, ev + 2, 1, &res);
	CHECK(isnan(res.value), "value %g", res.value);
	CHECK_NUM(res.n, 0);
	/* benefit but zero cost: no figure */
	ev[0].cost = 0;
	fold(ind, NULL, ev, 1, &res);
	CHECK(isnan(res.value), "value %g", res.value);
	CHECK_NUM(res.n, 1);
	registry_free(&r);
}

static void t_participation(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, SCRIPTS "/participation.lua", &lim);
	if (!ind)
		return;
	struct mizan_event ev[4];
	for (size_t i = 0; i < 4; i++)
		ev[i] = blank(MIZAN_PROJECT);
	ev[0].amount = 1000; /* JOD by default */
	ev[0].contributors = 3;
	ev[1].amount = 2000;
	ev[1].currency = "USD";
	ev[2].amount = 500;
	ev[2].currency = "EUR"; /* no rate */
	ev[3].amount = 100;
	ev[3].currency = "JOD";
	ev[3].contributors = 2;
	struct mizan_result res;
	/* 1000 + 2000 * 0.709 + 100 = 2518 JOD; projects 4; contributors
	 * 3 + 1 + 1 + 2 = 7; unconverted 1 */
	const char *const p[] = {"rate_USD", "0.709", "rate_GBP", "0.9", NULL};
	fold(ind, p, ev, 4, &res);
	CHECK_NUM(res.value, 1000 + 2000 * 0.709 + 100);
	CHECK_NUM(res.n, 4);
	CHECK_NUM(extra(&res, "projects"), 4);
	CHECK_NUM(extra(&res, "contributors"), 7);
	CHECK_NUM(extra(&res, "unconverted"), 1);

	/* without rates only JOD counts */
	fold(ind, NULL, ev, 4, &res);
	CHECK_NUM(res.value, 1100);
	CHECK_NUM(extra(&res, "unconverted"), 2);

	char err[IND_ERRLEN];
	struct kv kv;
	const char *const bad[] = {"rate_USD", "lots", NULL};
	CHECK(ind->ops->state_new(ind, params(&kv, bad), err) == NULL, "bad rate accepted");
	CHECK_HAS(err, "param rate_USD must be a positive number, got lots");
	registry_free(&r);
}

static void t_channel(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, SCRIPTS "/channel_effectiveness.lua", &lim);
	if (!ind)
		return;
	const char *const co[][2] = {
		{"online", "completed"},     {"phone", "completed"},	{"online", "completed"},
		{"online", "pending"},	     {"online", "rejected"},	{"mobile_app", "completed"},
		{"phone", "cancelled"},	     {"online", "completed"},
	};
	struct mizan_event ev[8];
	for (size_t i = 0; i < 8; i++) {
		ev[i] = blank(MIZAN_SERVICE);
		ev[i].channel = co[i][0];
		ev[i].outcome = co[i][1];
	}
	struct mizan_result res;
	/* online 3/4 = 75 %, phone 1/2 = 50 %, mobile_app 1/1 = 100 %; pending
	 * left out.  N = 7, K = 5 -> 71.43 %; worst among >= 2 requests: 50;
	 * unweighted (75 + 50 + 100) / 3 = 75 */
	const char *const p[] = {"min_requests", "2", NULL};
	fold(ind, p, ev, 8, &res);
	CHECK_NUM(res.value, 5.0 / 7.0 * 100.0);
	CHECK_NUM(res.n, 7);
	CHECK_NUM(extra(&res, "worst_channel_rate"), 50);
	CHECK_NUM(extra(&res, "unweighted_mean"), 75);
	CHECK_NUM(extra(&res, "channels"), 3);

	/* default min_requests 20: no channel qualifies, so no worst */
	fold(ind, NULL, ev, 8, &res);
	CHECK_NUM(res.value, 5.0 / 7.0 * 100.0);
	CHECK(!has_extra(&res, "worst_channel_rate"), "worst given");

	/* only pending: no figure */
	fold(ind, NULL, ev + 3, 1, &res);
	CHECK(isnan(res.value), "value %g", res.value);
	registry_free(&r);
}

/* ---- refusals ----------------------------------------------------------- */

static int write_chunk(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	return fwrite(p, 1, sz, ud) != sz;
}

static const char *reason_for(const struct registry *r, const char *file)
{
	for (size_t i = 0; i < r->nerrors; i++) {
		size_t lf = strlen(r->errors[i].file), ln = strlen(file);
		if (lf >= ln && strcmp(r->errors[i].file + lf - ln, file) == 0)
			return r->errors[i].reason;
	}
	return NULL;
}

static void t_refusals(void)
{
	struct registry r = {0};
	CHECK_INT(script_load_dir(&r, TSCRIPTS "/bad", &lim), 0);
	CHECK_INT(r.n, 0);
	CHECK_INT(r.nerrors, 11);
	/* in name order */
	CHECK_HAS(r.errors[0].file, "/escape.lua");
	CHECK_HAS(r.errors[10].file, "/unknown_key.lua");

	const struct {
		const char *file, *want;
	} cases[] = {
		{"/syntax.lua", TSCRIPTS "/bad/syntax.lua:3: unexpected symbol near '='"},
		{"/name.lua", TSCRIPTS "/bad/name.lua: name 'Training-ROI' must match [a-z0-9_]{1,63}"},
		{"/kinds.lua", TSCRIPTS "/bad/kinds.lua: kinds[1]: unknown event kind 'services' "
			  "(service, training, project, satisfaction)"},
		{"/no_kinds.lua", TSCRIPTS "/bad/no_kinds.lua: 'kinds' must name at least one event kind"},
		{"/field.lua", TSCRIPTS "/bad/field.lua: fields[2]: unknown event field 'costs'"},
		{"/no_step.lua", TSCRIPTS "/bad/no_step.lua: 'step' must be a function, got nil"},
		{"/unknown_key.lua", TSCRIPTS "/bad/unknown_key.lua: unknown key 'finale' in the "
					      "returned table"},
		{"/not_table.lua", TSCRIPTS "/bad/not_table.lua: the script must return a table, got "
					    "number"},
		{"/load_error.lua", TSCRIPTS "/bad/load_error.lua:3: boom at load"},
		{"/load_loop.lua", TSCRIPTS "/bad/load_loop.lua: instruction budget of 1000000 exceeded "
					    "in load"},
		{"/escape.lua", TSCRIPTS "/bad/escape.lua:2: attempt to index a nil value (global 'io')"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(reason_for(&r, cases[i].file), cases[i].want);

	/* missing file, directory */
	CHECK_INT(script_load_file(&r, TSCRIPTS "/nonexistent.lua", &lim), -ENOENT);
	CHECK_HAS(reason_for(&r, "/nonexistent.lua"), "cannot open: No such file");
	CHECK(script_load_dir(&r, TSCRIPTS "/nonexistent", &lim) < 0, "missing dir");
	CHECK_INT(script_load_file(&r, TSCRIPTS "/bad", &lim), -EINVAL);
	CHECK_HAS(reason_for(&r, "/bad"), "not a regular file");
	registry_free(&r);

	/* a genuine binary chunk, made with a plain Lua state */
	char dir[] = "/tmp/mizan-test-script-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char path[256];
	snprintf(path, sizeof(path), "%s/binary.lua", dir);
	lua_State *L = luaL_newstate();
	CHECK(luaL_loadstring(L, "return {}") == LUA_OK, "loadstring");
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL, "fopen");
	if (f) {
		lua_dump(L, write_chunk, f, 0);
		fclose(f);
	}
	lua_close(L);
	registry_free(&r);
	CHECK_INT(script_load_file(&r, path, &lim), -EINVAL);
	CHECK_INT(r.nerrors, 1);
	if (r.nerrors)
		CHECK_STR(r.errors[0].reason,
			  strcat(strcpy((char[300]){0}, path),
				 ": a precompiled (binary) Lua chunk; only source text is accepted"));
	unlink(path);
	rmdir(dir);
	registry_free(&r);
}

/* ---- the sandbox -------------------------------------------------------- */

/* A fresh state of a good script still works. */
static void check_host_ok(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, SCRIPTS "/training_roi.lua", &lim);
	if (!ind)
		return;
	struct mizan_event ev = blank(MIZAN_TRAINING);
	ev.cost = 100;
	ev.benefit = 150;
	struct mizan_result res;
	fold(ind, NULL, &ev, 1, &res);
	CHECK_NUM(res.value, 50);
	registry_free(&r);
}

#define ATTACK TSCRIPTS "/attack.lua"

static const struct {
	const char *attack, *want;
} attacks[] = {
	{"os_execute", ATTACK ":6: attempt to index a nil value (global 'os')"},
	{"io_open", ATTACK ":7: attempt to index a nil value (global 'io')"},
	{"require", ATTACK ":8: attempt to call a nil value (global 'require')"},
	{"loadlib", ATTACK ":9: attempt to index a nil value (global 'package')"},
	{"binary_load", ATTACK ":11: attempt to load a binary chunk (mode is 't')"},
	{"string_dump", ATTACK ":12: attempt to call a nil value (field 'dump')"},
	{"dofile", ATTACK ":13: attempt to call a nil value (global 'dofile')"},
	{"loadfile", ATTACK ":14: attempt to call a nil value (global 'loadfile')"},
	{"debug", ATTACK ":15: attempt to index a nil value (global 'debug')"},
	{"collectgarbage", ATTACK ":16: attempt to call a nil value (global 'collectgarbage')"},
	{"string_metatable", ATTACK ":17: attempt to index a boolean value"},
	{"string_setmetatable",
	 ATTACK ":18: bad argument #1 to 'setmetatable' (table expected, got string)"},
	{"rep", ATTACK ":19: resulting string too large"},
	{"rep_big", ATTACK ": memory limit of 8 MiB reached in init"},
	{"grow", ATTACK ": memory limit of 8 MiB reached in init"},
	{"loop", ATTACK ": instruction budget of 1000000 exceeded in init"},
	{"pcall_loop", ATTACK ": instruction budget of 1000000 exceeded in init"},
	{"pcall_forever", ATTACK ": instruction budget of 1000000 exceeded in init"},
	{"xpcall_handler", ATTACK ": instruction budget of 1000000 exceeded in init"},
	{"error_table", ATTACK ": error object is a table value in init"},
	{"gc_loop", ATTACK ":47: bad argument #2 to 'setmetatable' (__gc metamethods are not "
		    "allowed)"},
	{"nonsense", ATTACK ": unknown attack nonsense"},
};

static void t_sandbox_init(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, ATTACK, &lim);
	if (!ind)
		return;
	char err[IND_ERRLEN];
	struct kv kv;
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		const char *const p[] = {"attack", attacks[i].attack, NULL};
		err[0] = 0;
		double t0 = time_mono();
		void *st = ind->ops->state_new(ind, params(&kv, p), err);
		CHECK(st == NULL, "%s was not stopped", attacks[i].attack);
		if (st)
			ind->ops->state_free(ind, st);
		CHECK_STR(err, attacks[i].want);
		CHECK(time_mono() - t0 < 1.5, "%s took %.2f s", attacks[i].attack, time_mono() - t0);
		/* the same script, in the same Lua state, still works */
		const char *const none[] = {"attack", "none", NULL};
		st = ind->ops->state_new(ind, params(&kv, none), err);
		CHECK(st != NULL, "after %s: %s", attacks[i].attack, err);
		if (st)
			ind->ops->state_free(ind, st);
		check_host_ok();
	}
	/* deep recursion: a stack overflow or the memory cap, either way an error */
	const char *const rec[] = {"attack", "recurse", NULL};
	CHECK(ind->ops->state_new(ind, params(&kv, rec), err) == NULL, "recursion not stopped");
	CHECK(strstr(err, "stack overflow") || strstr(err, "memory limit"), "recurse: %s", err);

	/* harmless ones */
	const char *const ok[] = {"print", "text_load", "xpcall_ok", NULL};
	for (size_t i = 0; ok[i]; i++) {
		const char *const p[] = {"attack", ok[i], NULL};
		void *st = ind->ops->state_new(ind, params(&kv, p), err);
		CHECK(st != NULL, "%s: %s", ok[i], err);
		if (st)
			ind->ops->state_free(ind, st);
	}
	registry_free(&r);
}

static void t_sandbox_step(void)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, ATTACK, &lim);
	if (!ind)
		return;
	char err[IND_ERRLEN];
	struct kv kv;
	struct mizan_event ev = blank(MIZAN_SERVICE);
	const char *const none[] = {"attack", "none", NULL};

	const struct {
		const char *attack, *want;
		int rc;
	} steps[] = {
		{"loop", ATTACK ": instruction budget of 1000000 exceeded in step", -ETIMEDOUT},
		{"pcall_loop", ATTACK ": instruction budget of 1000000 exceeded in step", -ETIMEDOUT},
		{"rep_big", ATTACK ": memory limit of 8 MiB reached in step", -ENOMEM},
		{"os_execute", ATTACK ":6: attempt to index a nil value (global 'os')", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		void *st = ind->ops->state_new(ind, params(&kv, none), err);
		CHECK(st != NULL, "%s", err);
		if (!st)
			continue;
		ev.service = "none";
		CHECK_INT(ind->ops->step(ind, st, &ev, err), 0);
		ev.service = steps[i].attack;
		CHECK_INT(ind->ops->step(ind, st, &ev, err), steps[i].rc);
		CHECK_STR(err, steps[i].want);
		/* the state is dead */
		ev.service = "none";
		CHECK_INT(ind->ops->step(ind, st, &ev, err), -EINVAL);
		CHECK_STR(err, ATTACK ": the state failed earlier");
		ind->ops->state_free(ind, st);
		check_host_ok();
	}

	/* final: results, and its errors */
	struct mizan_result res;
	void *st = ind->ops->state_new(ind, params(&kv, none), err);
	CHECK(st != NULL, "%s", err);
	if (st) {
		CHECK_INT(ind->ops->step(ind, st, &ev, err), 0);
		CHECK_INT(ind->ops->final(ind, st, &res, err), 0);
		CHECK_NUM(res.value, 1);
		CHECK_INT(res.nextra, 2);
		CHECK_STR(res.extra[0].name, "alpha");
		CHECK_STR(res.extra[1].name, "zeta");
		CHECK_STR(res.note, "a note");
		ind->ops->state_free(ind, st);
	}
	CHECK(ind->ops->merge == NULL, "attack.lua has no merge");
	const struct {
		const char *mode, *want;
		int rc;
	} finals[] = {
		{"bad_value", ATTACK ": final: the value must be a number or nil, got string", -EINVAL},
		{"bad_extra", ATTACK ": final: extra name 'Not A Name' must match [a-z0-9_]{1,63}",
		 -EINVAL},
		{"loop", ATTACK ": instruction budget of 1000000 exceeded in final", -ETIMEDOUT},
	};
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
		const char *const p[] = {"final", finals[i].mode, NULL};
		st = ind->ops->state_new(ind, params(&kv, p), err);
		CHECK(st != NULL, "%s", err);
		if (!st)
			continue;
		CHECK_INT(ind->ops->final(ind, st, &res, err), finals[i].rc);
		CHECK_STR(err, finals[i].want);
		CHECK(isnan(res.value) && res.nextra == 0, "result cleared");
		ind->ops->state_free(ind, st);
	}
	registry_free(&r);
}

/* The direct-push step (number fields only). */
static void t_sandbox_step_numbers(void)
{
	struct registry r = {0};
	const char *path = TSCRIPTS "/attack_num.lua";
	struct indicator *ind = load_one(&r, path, &lim);
	if (!ind)
		return;
	char err[IND_ERRLEN], want[300];
	struct mizan_event ev = blank(MIZAN_SATISFACTION);
	const char *const tails[] = {
		NULL,
		": instruction budget of 1000000 exceeded in step",
		": instruction budget of 1000000 exceeded in step",
		": memory limit of 8 MiB reached in step",
		":18: bad score",
	};
	const int rcs[] = {0, -ETIMEDOUT, -ETIMEDOUT, -ENOMEM, -EINVAL};
	for (int k = 1; k <= 4; k++) {
		void *st = ind->ops->state_new(ind, NULL, err);
		CHECK(st != NULL, "%s", err);
		if (!st)
			continue;
		ev.score = 5;
		CHECK_INT(ind->ops->step(ind, st, &ev, err), 0);
		ev.score = k;
		CHECK_INT(ind->ops->step(ind, st, &ev, err), rcs[k]);
		snprintf(want, sizeof(want), "%s%s", path, tails[k]);
		CHECK_STR(err, want);
		ind->ops->state_free(ind, st);
		/* a fresh state of the same script works */
		st = ind->ops->state_new(ind, NULL, err);
		CHECK(st != NULL, "%s", err);
		if (st) {
			struct mizan_result res;
			ev.score = 5;
			CHECK_INT(ind->ops->step(ind, st, &ev, err), 0);
			CHECK_INT(ind->ops->final(ind, st, &res, err), 0);
			CHECK_NUM(res.value, 1);
			ind->ops->state_free(ind, st);
		}
	}
	registry_free(&r);
	check_host_ok();
}

static void t_deadline(void)
{
	const struct script_limits slow = {
		.memory_bytes = 8u << 20, .instructions = 1000000000000ull, .seconds = 0.2};
	struct registry r = {0};
	struct indicator *ind = load_one(&r, ATTACK, &slow);
	if (!ind)
		return;
	char err[IND_ERRLEN];
	struct kv kv;
	const char *const p[] = {"attack", "pcall_forever", NULL};
	double t0 = time_mono();
	CHECK(ind->ops->state_new(ind, params(&kv, p), err) == NULL, "not stopped");
	double dt = time_mono() - t0;
	CHECK_STR(err, ATTACK ": wall-clock deadline of 0.2 s exceeded in init");
	CHECK(dt >= 0.19 && dt < 1.0, "stopped after %.3f s", dt);

	registry_free(&r);
}

/* ---- cost of a step ----------------------------------------------------- */

struct roi_c {
	double cost, benefit;
	long n, without;
};

__attribute__((noinline)) static void roi_step_c(void *state, const struct mizan_event *ev)
{
	struct roi_c *s = state;
	if (isnan(ev->benefit)) {
		s->without++;
		return;
	}
	s->n++;
	s->benefit += ev->benefit;
	if (!isnan(ev->cost))
		s->cost += ev->cost;
}

static double bench_script(const char *path, struct mizan_event *ev, size_t nev, long iters)
{
	struct registry r = {0};
	struct indicator *ind = load_one(&r, path, &lim);
	double ns = NAN;
	char err[IND_ERRLEN];
	if (!ind)
		return ns;
	void *st = ind->ops->state_new(ind, NULL, err);
	if (st) {
		double t0 = time_mono();
		int fails = 0;
		for (long i = 0; i < iters; i++)
			fails += ind->ops->step(ind, st, &ev[i % nev], err) != 0;
		ns = (time_mono() - t0) / (double)iters * 1e9;
		CHECK_INT(fails, 0);
		ind->ops->state_free(ind, st);
	}
	registry_free(&r);
	return ns;
}

static void t_bench(void)
{
	const char *env = getenv("MIZAN_BENCH_STEPS");
	long iters = env ? atol(env) : 1000000;
	struct mizan_event ev[16];
	for (int i = 0; i < 16; i++) {
		ev[i] = blank(MIZAN_TRAINING);
		ev[i].cost = 100 + i;
		ev[i].benefit = i % 4 ? 150 + i : NAN;
	}

	struct roi_c c = {0};
	void (*volatile step)(void *, const struct mizan_event *) = roi_step_c;
	double t0 = time_mono();
	for (long i = 0; i < iters; i++)
		step(&c, &ev[i % 16]);
	double c_ns = (time_mono() - t0) / (double)iters * 1e9;
	CHECK(c.n + c.without == iters, "C fold ran");

	double lua_ns = bench_script(SCRIPTS "/training_roi.lua", ev, 16, iters);

	struct mizan_event sev[16];
	const char *const chans[] = {"online", "phone", "mobile_app", "in_person"};
	const char *const outs[] = {"completed", "pending", "rejected", "completed"};
	for (int i = 0; i < 16; i++) {
		sev[i] = blank(MIZAN_SERVICE);
		sev[i].channel = chans[i % 4];
		sev[i].outcome = outs[(i / 4) % 4];
	}
	double str_ns = bench_script(SCRIPTS "/channel_effectiveness.lua", sev, 16, iters);
	printf("step cost over %ld events: C %.1f ns, training_roi.lua %.1f ns (%.1fx), "
	       "channel_effectiveness.lua (2 string fields) %.1f ns\n",
	       iters, c_ns, lua_ns, lua_ns / c_ns, str_ns);
}

TEST_MAIN(t_load_shipped, t_satisfaction, t_training_roi, t_participation, t_channel, t_refusals,
	  t_sandbox_init, t_sandbox_step, t_sandbox_step_numbers, t_deadline, t_bench)
