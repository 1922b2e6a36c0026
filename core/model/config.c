/* config.c - settings from a Lua file, checked key by key as they are set;
 * the strategy it also declares (goal {...}, kpi {...}) is read in
 * config_strategy.c. */
#include "model/config.h"
#include "model/config_internal.h"

#include <errno.h>
#include <math.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type {
	OT_INT, OT_I64, OT_SIZE, OT_NUM, OT_BOOL, OT_STRING, OT_ENUM, OT_STRLIST, OT_TOKENS, OT_USERS,
	OT_SQLITE_PATH, /* a path to an SQLite file, kept as a store URL */
};

struct option {
	const char *section, *key;
	enum opt_type type;
	size_t offset;
	double min, max;
	const char *values; /* OT_ENUM and OT_STRLIST: "a|b|c" (NULL: any) */
};

#define OFF(f) offsetof(struct config, f)

/* Every setting, its type and its range.  Defaults are in config_defaults. */
static const struct option options[] = {
	{"server", "listen", OT_STRING, OFF(listen), 0, 0, NULL},
	{"server", "threads", OT_INT, OFF(threads), 1, 64, NULL},
	{"server", "base_url", OT_STRING, OFF(base_url), 0, 0, NULL},
	{"server", "dashboards", OT_STRING, OFF(dashboards), 0, 0, NULL},
	{"server", "trusted_proxies", OT_STRLIST, OFF(trusted_proxies), 0, 0, NULL},
	{"server", "metrics_role", OT_ENUM, OFF(metrics_role), 0, 0, "none|ingest|viewer|editor|admin"},
	{"charts", "gnuplot", OT_STRING, OFF(gnuplot), 0, 0, NULL},
	{"charts", "processes", OT_INT, OFF(charts), 1, 32, NULL},
	{"charts", "timeout_s", OT_NUM, OFF(chart_timeout_s), 0.1, 600, NULL},
	{"store", "url", OT_STRING, OFF(store_url), 0, 0, NULL},
	{"store", "path", OT_SQLITE_PATH, OFF(store_url), 0, 0, NULL},
	{"store", "synchronous", OT_ENUM, OFF(synchronous), 0, 0, "full|normal"},
	{"store", "cache_mib", OT_INT, OFF(cache_mib), 1, 4096, NULL},
	{"store", "busy_timeout_ms", OT_INT, OFF(busy_timeout_ms), 0, 600000, NULL},
	{"limits", "body_bytes", OT_SIZE, OFF(body_bytes), 1024, 1024.0 * 1024 * 1024, NULL},
	{"limits", "bodies_bytes", OT_SIZE, OFF(bodies_bytes), 1024, 64.0 * 1024 * 1024 * 1024, NULL},
	{"limits", "batch_events", OT_INT, OFF(batch_events), 1, 1000000, NULL},
	{"limits", "connections", OT_INT, OFF(connections), 1, 100000, NULL},
	{"limits", "per_ip", OT_INT, OFF(per_ip), 0, 100000, NULL},
	{"limits", "timeout_s", OT_INT, OFF(timeout_s), 1, 86400, NULL},
	{"limits", "request_s", OT_INT, OFF(request_s), 1, 86400, NULL},
	{"limits", "connection_memory", OT_SIZE, OFF(connection_memory), 8192, 64.0 * 1024 * 1024, NULL},
	{"limits", "attrs_bytes", OT_SIZE, OFF(attrs_bytes), 2, 1024.0 * 1024, NULL},
	{"limits", "attrs_depth", OT_INT, OFF(attrs_depth), 1, 64, NULL},
	{"limits", "csv_columns", OT_INT, OFF(csv_columns), 1, 10000, NULL},
	{"limits", "future_s", OT_INT, OFF(future_s), 0, 366 * 86400, NULL},
	{"limits", "query_rows", OT_INT, OFF(query_rows), 1, 1000000, NULL},
	{"auth", "tokens", OT_TOKENS, 0, 0, 0, NULL},
	{"auth", "users", OT_USERS, 0, 0, 0, NULL},
	{"demo", "when_empty", OT_I64, OFF(demo_when_empty), 0, 1e9, NULL},
	{"demo", "seed", OT_I64, OFF(demo_seed), 0, 9007199254740992.0, NULL},
	{"demo", "mail_to", OT_STRING, OFF(demo_mail_to), 0, 0, NULL},
	{"store", "check_interval_s", OT_INT, OFF(store_check_s), 0, 30 * 86400, NULL},
	{"plugins", "dirs", OT_STRLIST, OFF(plugin_dirs), 0, 0, NULL},
	{"plugins", "replace", OT_STRLIST, OFF(plugin_replace), 0, 0, NULL},
	{"scripts", "dirs", OT_STRLIST, OFF(script_dirs), 0, 0, NULL},
	{"scripts", "memory_mib", OT_INT, OFF(script_memory_mib), 1, 4096, NULL},
	{"scripts", "instructions", OT_I64, OFF(script_instructions), 1000, 1e12, NULL},
	{"scripts", "seconds", OT_NUM, OFF(script_seconds), 0.001, 3600, NULL},
	{"evaluation", "timezone", OT_STRING, OFF(timezone), 0, 0, NULL},
	{"evaluation", "slices", OT_STRLIST, OFF(slices), 0, 0,
	 "mission|country|service|channel|sex|age_group"},
	{"evaluation", "interval_s", OT_INT, OFF(eval_interval_s), 1, 86400, NULL},
	{"evaluation", "after_ingest_s", OT_INT, OFF(eval_after_ingest_s), 0, 86400, NULL},
	{"evaluation", "stall_s", OT_INT, OFF(eval_stall_s), 1, 3600, NULL},
	{"evaluation", "timeout_s", OT_INT, OFF(eval_timeout_s), 1, 86400, NULL},
	{"evaluation", "retry_s", OT_INT, OFF(eval_retry_s), 0, 7 * 86400, NULL},
	{"evaluation", "memory_mib", OT_INT, OFF(eval_memory_mib), 16, 1048576, NULL},
	{"evaluation", "run_instructions", OT_I64, OFF(eval_run_instructions), 1000, 1e15, NULL},
	{"evaluation", "run_seconds", OT_NUM, OFF(eval_run_seconds), 0.01, 86400, NULL},
	{"evaluation", "min_answers", OT_INT, OFF(min_answers), 0, 1000000, NULL},
	{"alerts", "slices", OT_STRLIST, OFF(alert_slices), 0, 0,
	 "mission|country|service|channel|sex|age_group"},
	{"alerts", "min_state_s", OT_INT, OFF(alert_min_state_s), 0, 30 * 86400, NULL},
	{"alerts", "repeat_s", OT_INT, OFF(alert_repeat_s), 0, 365 * 86400, NULL},
	{"alerts", "stale_s", OT_INT, OFF(alert_stale_s), 0, 365 * 86400, NULL},
	{"alerts", "warn", OT_NUM, OFF(alert_warn), 0, 1, NULL},
	{"mail", "smtp_url", OT_STRING, OFF(smtp_url), 0, 0, NULL},
	{"mail", "user", OT_STRING, OFF(smtp_user), 0, 0, NULL},
	{"mail", "password", OT_STRING, OFF(smtp_password), 0, 0, NULL},
	{"mail", "from", OT_STRING, OFF(mail_from), 0, 0, NULL},
	{"mail", "from_name", OT_STRING, OFF(mail_from_name), 0, 0, NULL},
	{"mail", "tls", OT_ENUM, OFF(mail_tls), 0, 0, "none|starttls|implicit"},
	{"mail", "verify_peer", OT_BOOL, OFF(mail_verify), 0, 0, NULL},
	{"mail", "ca_file", OT_STRING, OFF(mail_ca_file), 0, 0, NULL},
	{"mail", "timeout_s", OT_INT, OFF(mail_timeout_s), 1, 3600, NULL},
	{"mail", "attempts", OT_INT, OFF(mail_attempts), 1, 1000, NULL},
	{"mail", "backoff_s", OT_INT, OFF(mail_backoff_s), 1, 86400, NULL},
	{"mail", "backoff_max_s", OT_INT, OFF(mail_backoff_max_s), 1, 7 * 86400, NULL},
	{"mail", "poll_s", OT_INT, OFF(mail_poll_s), 1, 3600, NULL},
};

static const char *const sections[] = {"server",  "store",   "limits",     "auth", "demo",
				       "plugins", "scripts", "evaluation", "mail", "alerts", "charts"};

int strlist_push(struct strlist *l, const char *v)
{
	char *copy = strdup(v);
	char **p = copy ? realloc(l->v, (l->n + 1) * sizeof(*p)) : NULL;
	if (!p) {
		free(copy);
		return -ENOMEM;
	}
	l->v = p;
	l->v[l->n++] = copy;
	return 0;
}

bool strlist_has(const struct strlist *l, const char *v)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], v) == 0)
			return true;
	return false;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Is `s` one of "a|b|c"? */
bool config_in_values(const char *values, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = values; n && (p = strstr(p, s)); p += n)
		if ((p == values || p[-1] == '|') && (p[n] == '\0' || p[n] == '|'))
			return true;
	return false;
}

static void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = strdup("127.0.0.1:8080");
	c->threads = 2;
	c->store_url = strdup("mizan.db");
	c->synchronous = strdup("full");
	c->cache_mib = 16;
	c->busy_timeout_ms = 5000;
	c->body_bytes = 16u << 20;
	c->bodies_bytes = (size_t)256 << 20;
	c->batch_events = 10000;
	c->connections = 512;
	c->per_ip = 64;
	c->timeout_s = 30;
	c->connection_memory = 64u << 10;
	c->attrs_bytes = 4096;
	c->attrs_depth = 8;
	c->csv_columns = 64; /* EVENT_CSV_COLUMNS */
	c->future_s = 86400;
	c->query_rows = 10000;
	c->demo_when_empty = 200000;
	c->demo_mail_to = strdup("");
	c->store_check_s = 86400;
	c->demo_seed = 1;
	c->script_memory_mib = 64;
	c->script_instructions = 10000000;
	c->script_seconds = 2;
	c->timezone = strdup("Asia/Amman");
	static const char *const dims[] = {"mission", "country", "service", "channel", "sex", "age_group"};
	for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++)
		strlist_push(&c->slices, dims[i]);
	c->eval_interval_s = 300;
	c->eval_after_ingest_s = 1;
	c->eval_stall_s = 15;
	c->eval_timeout_s = 1800;
	c->eval_retry_s = 3600;
	c->eval_memory_mib = 1024;
	c->eval_run_instructions = 2000000000;
	c->eval_run_seconds = 120;
	c->min_answers = 30;
	c->smtp_url = strdup("");
	c->smtp_user = strdup("");
	c->smtp_password = strdup("");
	c->mail_from = strdup("mizan@localhost");
	c->mail_from_name = strdup("Mizan");
	c->mail_tls = strdup("starttls");
	c->mail_verify = 1;
	c->mail_ca_file = strdup("");
	c->mail_timeout_s = 30;
	c->mail_attempts = 8;
	c->mail_backoff_s = 30;
	c->mail_backoff_max_s = 3600;
	c->mail_poll_s = 5;
	c->base_url = strdup("http://127.0.0.1:8080");
	c->dashboards = strdup("dashboards");
	c->metrics_role = strdup("none");
	c->request_s = 60;
	c->gnuplot = strdup("/usr/bin/gnuplot");
	c->charts = 2;
	c->chart_timeout_s = 10;
	c->alert_min_state_s = 0;
	c->alert_repeat_s = 7 * 86400;
	c->alert_stale_s = 3 * 86400;
	c->alert_warn = 0.1;
}

static const char *const role_names[] = {"none", "ingest", "viewer", "editor", "admin"};

const char *role_name(enum role r)
{
	return role_names[r];
}

enum role role_from_name(const char *name)
{
	for (int r = ROLE_INGEST; r <= ROLE_ADMIN; r++)
		if (strcmp(name, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

void config_set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = strdup(value);
}

static const struct option *find_option(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, key) == 0)
			return &options[i];
	return NULL;
}

/* auth.tokens = { { name = "...", role = "ingest", sha256 = "<64 hex>" }, ... } */
static void set_tokens(lua_State *L, struct config *c, int idx)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	struct config_token *t = calloc((size_t)n + 1, sizeof(*t));
	if (!t)
		luaL_error(L, "out of memory");
	for (size_t i = 0; i < c->ntokens; i++)
		free(c->tokens[i].name);
	free(c->tokens);
	c->tokens = t;
	c->ntokens = 0;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		if (!lua_istable(L, -1))
			luaL_error(L, "auth.tokens[%d] must be a table {name=, role=, sha256=}", (int)i);
		lua_getfield(L, -1, "name");
		lua_getfield(L, -2, "role");
		lua_getfield(L, -3, "sha256");
		const char *name = lua_tostring(L, -3), *role = lua_tostring(L, -2),
			   *hex = lua_tostring(L, -1);
		if (!name || !*name)
			luaL_error(L, "auth.tokens[%d].name must be a non-empty string", (int)i);
		if (!role || role_from_name(role) == ROLE_NONE)
			luaL_error(L, "auth.tokens[%d].role must be ingest, viewer, editor or admin", (int)i);
		if (!hex || strlen(hex) != 64)
			luaL_error(L, "auth.tokens[%d].sha256 must be 64 hex digits", (int)i);
		struct config_token *tok = &c->tokens[c->ntokens];
		size_t got = 0;
		if (sodium_hex2bin(tok->hash, 32, hex, 64, NULL, &got, NULL) != 0 || got != 32)
			luaL_error(L, "auth.tokens[%d].sha256 must be 64 hex digits", (int)i);
		tok->name = strdup(name);
		tok->role = role_from_name(role);
		c->ntokens++;
		lua_pop(L, 4);
	}
}

static void users_free(struct config *c)
{
	for (size_t i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].hash);
	}
	free(c->users);
	c->users = NULL;
	c->nusers = 0;
}

/* auth.users = { { name = "...", role = "viewer", password = "$argon2id$..." }, ... } */
static void set_users(lua_State *L, struct config *c, int idx)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	struct config_user *u = calloc((size_t)n + 1, sizeof(*u));
	if (!u)
		luaL_error(L, "out of memory");
	users_free(c);
	c->users = u;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, idx, i);
		if (!lua_istable(L, -1))
			luaL_error(L, "auth.users[%d] must be a table {name=, role=, password=}", (int)i);
		lua_getfield(L, -1, "name");
		lua_getfield(L, -2, "role");
		lua_getfield(L, -3, "password");
		const char *name = lua_tostring(L, -3), *role = lua_tostring(L, -2),
			   *hash = lua_tostring(L, -1);
		if (!name || !*name || strlen(name) >= 64)
			luaL_error(L, "auth.users[%d].name must be a string of 1 to 63 bytes", (int)i);
		if (!role || role_from_name(role) == ROLE_NONE)
			luaL_error(L, "auth.users[%d].role must be viewer, editor or admin", (int)i);
		if (!hash || strncmp(hash, "$argon2", 7) != 0 || strlen(hash) >= 128)
			luaL_error(L, "auth.users[%d].password must be a hash from `mizan passwd`", (int)i);
		c->users[c->nusers].name = strdup(name);
		c->users[c->nusers].role = role_from_name(role);
		c->users[c->nusers].hash = strdup(hash);
		c->nusers++;
		lua_pop(L, 4);
	}
}

static int set_option(lua_State *L, struct config *c, const struct option *o, int idx)
{
	char *base = (char *)c;

	switch (o->type) {
	case OT_INT:
	case OT_I64:
	case OT_SIZE: {
		int isnum;
		lua_Number v = lua_tonumberx(L, idx, &isnum);
		if (!isnum || lua_type(L, idx) != LUA_TNUMBER)
			return luaL_error(L, "%s.%s must be a number", o->section, o->key);
		/* An infinity or NaN must not be cast to an integer (that is
		 * undefined): refused first, and the range before the cast. */
		if (!isfinite(v))
			return luaL_error(L, "%s.%s must be a finite number", o->section, o->key);
		if (!(v >= o->min && v <= o->max) || v != (lua_Number)(int64_t)v) {
			char msg[160]; /* lua_pushfstring knows no %.0f */
			snprintf(msg, sizeof(msg), "%s.%s must be a whole number from %.0f to %.0f, got %g",
				 o->section, o->key, o->min, o->max, (double)v);
			return luaL_error(L, "%s", msg);
		}
		if (o->type == OT_INT)
			*(int *)(base + o->offset) = (int)v;
		else if (o->type == OT_I64)
			*(int64_t *)(base + o->offset) = (int64_t)v;
		else
			*(size_t *)(base + o->offset) = (size_t)v;
		return 0;
	}
	case OT_ENUM:
	case OT_STRING: {
		if (lua_type(L, idx) != LUA_TSTRING)
			return luaL_error(L, "%s.%s must be a string", o->section, o->key);
		const char *s = lua_tostring(L, idx);
		if (o->type == OT_ENUM && !config_in_values(o->values, s))
			return luaL_error(L, "%s.%s must be one of %s, got '%s'", o->section, o->key,
					  o->values, s);
		config_set_string((char **)(base + o->offset), s);
		return 0;
	}
	case OT_SQLITE_PATH: {
		if (lua_type(L, idx) != LUA_TSTRING)
			return luaL_error(L, "%s.%s must be a string", o->section, o->key);
		/* A bare path is a store URL already, unless it would read as
		 * one ("a:b.db"): then it gets its scheme. */
		const char *s = lua_tostring(L, idx);
		char *url = malloc(strlen(s) + sizeof("sqlite:"));
		if (!url)
			return luaL_error(L, "out of memory");
		snprintf(url, strlen(s) + sizeof("sqlite:"), "%s%s", strchr(s, ':') ? "sqlite:" : "", s);
		free(*(char **)(base + o->offset));
		*(char **)(base + o->offset) = url;
		return 0;
	}
	case OT_NUM: {
		if (lua_type(L, idx) != LUA_TNUMBER)
			return luaL_error(L, "%s.%s must be a number", o->section, o->key);
		double v = (double)lua_tonumber(L, idx);
		if (!(v >= o->min && v <= o->max)) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%s.%s must be from %g to %g, got %g", o->section, o->key,
				 o->min, o->max, v);
			return luaL_error(L, "%s", msg);
		}
		*(double *)(base + o->offset) = v;
		return 0;
	}
	case OT_BOOL:
		if (lua_type(L, idx) != LUA_TBOOLEAN)
			return luaL_error(L, "%s.%s must be true or false", o->section, o->key);
		*(int *)(base + o->offset) = lua_toboolean(L, idx);
		return 0;
	case OT_STRLIST: {
		if (!lua_istable(L, idx))
			return luaL_error(L, "%s.%s must be a list of strings", o->section, o->key);
		struct strlist *l = (struct strlist *)(base + o->offset);
		strlist_free(l);
		lua_Integer n = luaL_len(L, idx);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_geti(L, idx, i);
			const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
			if (!v)
				return luaL_error(L, "%s.%s[%d] must be a string", o->section, o->key, (int)i);
			if (o->values && !config_in_values(o->values, v))
				return luaL_error(L, "%s.%s[%d] must be one of %s, got '%s'", o->section,
						  o->key, (int)i, o->values, v);
			if (strlist_push(l, v) < 0)
				return luaL_error(L, "out of memory");
			lua_pop(L, 1);
		}
		return 0;
	}
	case OT_TOKENS:
		set_tokens(L, c, idx);
		return 0;
	case OT_USERS:
		set_users(L, c, idx);
		return 0;
	}
	return 0;
}

/* __newindex of a section table: upvalue 1 is the config, 2 the section. */
static int section_newindex(lua_State *L)
{
	struct config *c = lua_touserdata(L, lua_upvalueindex(1));
	const char *section = lua_tostring(L, lua_upvalueindex(2));
	const char *key = lua_tostring(L, 2);
	const struct option *o = key ? find_option(section, key) : NULL;

	if (!o)
		return luaL_error(L, "unknown key '%s.%s'", section, key ? key : "?");
	set_option(L, c, o, 3);
	/* Kept in the section's __index table, not in the section itself, so a
	 * second assignment reaches this function again. */
	lua_settop(L, 3);
	lua_rawset(L, lua_upvalueindex(3));
	return 0;
}

static int global_newindex(lua_State *L)
{
	return luaL_error(L, "unknown key '%s' (settings go in a section: server, store, limits, auth, demo, plugins, scripts, evaluation, mail, alerts, charts)",
			  lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
}

/* ---- loading: include "file", the sandbox, the sections ---------------------- */

static int load_chunk(lua_State *L, struct load_ctx *ctx, const char *path);
static int lua_include(lua_State *L);

/* Binds the global include() to the file being read (raw: the globals'
 * metatable refuses new names). */
static void set_include(lua_State *L, struct load_ctx *ctx)
{
	lua_pushglobaltable(L);
	lua_pushstring(L, "include");
	lua_pushlightuserdata(L, ctx);
	lua_pushcclosure(L, lua_include, 1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* include "file": another file of the configuration, relative to this one. */
static int lua_include(lua_State *L)
{
	struct load_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	char path[1024];
	const char *slash = strrchr(ctx->path, '/');
	if (name[0] != '/' && slash)
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - ctx->path), ctx->path, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	if (ctx->depth >= 8)
		return luaL_error(L, "include '%s': includes nested too deep", name);
	struct load_ctx inner = {ctx->c, path, ctx->depth + 1};
	load_chunk(L, &inner, path);
	set_include(L, ctx); /* back to this file's include(): `inner` dies with this call */
	return 0;
}

static int load_protected(lua_State *L)
{
	struct load_ctx *ctx = lua_touserdata(L, 1);

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	lua_settop(L, 1);
	lua_pushglobaltable(L);
	static const char *const unsafe[] = {"dofile", "loadfile", "load", "require", "collectgarbage"};
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		lua_pushnil(L);
		lua_setfield(L, -2, unsafe[i]);
	}
	lua_pushinteger(L, 1024);
	lua_setfield(L, -2, "KiB");
	lua_pushinteger(L, 1024 * 1024);
	lua_setfield(L, -2, "MiB");
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		lua_newtable(L);           /* the section */
		lua_newtable(L);           /* its metatable */
		lua_newtable(L);           /* the values set, readable through __index */
		lua_pushlightuserdata(L, ctx->c);
		lua_pushstring(L, sections[i]);
		lua_pushvalue(L, -3);
		lua_pushcclosure(L, section_newindex, 3);
		lua_setfield(L, -3, "__newindex");
		lua_setfield(L, -2, "__index");
		lua_setmetatable(L, -2);
		lua_setfield(L, -2, sections[i]);
	}
	config_strategy_open(L, ctx);
	lua_newtable(L);
	lua_pushcfunction(L, global_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);
	return load_chunk(L, ctx, ctx->path);
}

static int load_chunk(lua_State *L, struct load_ctx *ctx, const char *path)
{
	set_include(L, ctx);
	if (luaL_loadfilex(L, path, "t") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	config_defaults(c);
	if (!c->listen || !c->store_url || !c->synchronous || !c->demo_mail_to) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!path)
		return 0;
	c->path = strdup(path);

	lua_State *L = luaL_newstate();
	if (!L) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	struct load_ctx ctx = {c, path, 0};
	lua_pushcfunction(L, load_protected);
	lua_pushlightuserdata(L, &ctx);
	int rc = lua_pcall(L, 1, 0, 0);
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		/* Errors from loadfile name the file already; "cannot open" ones
		 * do too.  Everything else carries file:line from luaL_error. */
		snprintf(err, errlen, "%s", msg ? msg : "unknown error");
	}
	lua_close(L);
	if (rc == LUA_OK && c->bodies_bytes < c->body_bytes) {
		snprintf(err, errlen,
			 "%s: limits.bodies_bytes (%zu) must be at least limits.body_bytes (%zu): "
			 "one body that large could never be read",
			 path, c->bodies_bytes, c->body_bytes);
		return -EINVAL;
	}
	return rc == LUA_OK ? 0 : rc == LUA_ERRMEM ? -ENOMEM : -EINVAL;
}

void config_free(struct config *c)
{
	free(c->listen);
	free(c->store_url);
	free(c->synchronous);
	for (size_t i = 0; i < c->ntokens; i++)
		free(c->tokens[i].name);
	free(c->tokens);
	users_free(c);
	strlist_free(&c->plugin_dirs);
	strlist_free(&c->plugin_replace);
	strlist_free(&c->script_dirs);
	strlist_free(&c->slices);
	strlist_free(&c->alert_slices);
	strlist_free(&c->trusted_proxies);
	free(c->timezone);
	char **strings[] = {&c->smtp_url,       &c->smtp_user, &c->smtp_password, &c->mail_from,
			    &c->mail_from_name, &c->mail_tls,  &c->mail_ca_file,  &c->base_url,
			    &c->dashboards,     &c->gnuplot,   &c->demo_mail_to, &c->metrics_role};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	config_strategy_free(c);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
