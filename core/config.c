/* config.c - settings from a Lua file, checked key by key as they are set. */
#include "config.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { OT_INT, OT_I64, OT_SIZE, OT_STRING, OT_ENUM, OT_TOKENS };

struct option {
	const char *section, *key;
	enum opt_type type;
	size_t offset;
	double min, max;
	const char *values; /* OT_ENUM: "a|b|c" */
};

#define OFF(f) offsetof(struct config, f)

/* Every setting, its type and its range.  Defaults are in config_defaults. */
static const struct option options[] = {
	{"server", "listen", OT_STRING, OFF(listen), 0, 0, NULL},
	{"server", "threads", OT_INT, OFF(threads), 1, 64, NULL},
	{"store", "path", OT_STRING, OFF(db_path), 0, 0, NULL},
	{"store", "synchronous", OT_ENUM, OFF(synchronous), 0, 0, "full|normal"},
	{"store", "cache_mib", OT_INT, OFF(cache_mib), 1, 4096, NULL},
	{"store", "busy_timeout_ms", OT_INT, OFF(busy_timeout_ms), 0, 600000, NULL},
	{"limits", "body_bytes", OT_SIZE, OFF(body_bytes), 1024, 1024.0 * 1024 * 1024, NULL},
	{"limits", "batch_events", OT_INT, OFF(batch_events), 1, 1000000, NULL},
	{"limits", "connections", OT_INT, OFF(connections), 1, 100000, NULL},
	{"limits", "per_ip", OT_INT, OFF(per_ip), 0, 100000, NULL},
	{"limits", "timeout_s", OT_INT, OFF(timeout_s), 1, 86400, NULL},
	{"limits", "connection_memory", OT_SIZE, OFF(connection_memory), 8192, 64.0 * 1024 * 1024, NULL},
	{"limits", "attrs_bytes", OT_SIZE, OFF(attrs_bytes), 2, 1024.0 * 1024, NULL},
	{"limits", "attrs_depth", OT_INT, OFF(attrs_depth), 1, 64, NULL},
	{"limits", "future_s", OT_INT, OFF(future_s), 0, 366 * 86400, NULL},
	{"limits", "query_rows", OT_INT, OFF(query_rows), 1, 1000000, NULL},
	{"auth", "tokens", OT_TOKENS, 0, 0, 0, NULL},
	{"demo", "when_empty", OT_I64, OFF(demo_when_empty), 0, 1e9, NULL},
	{"demo", "seed", OT_I64, OFF(demo_seed), 0, 9007199254740992.0, NULL},
};

static const char *const sections[] = {"server", "store", "limits", "auth", "demo"};

static void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = strdup("127.0.0.1:8080");
	c->threads = 2;
	c->db_path = strdup("mizan.db");
	c->synchronous = strdup("full");
	c->cache_mib = 16;
	c->busy_timeout_ms = 5000;
	c->body_bytes = 16u << 20;
	c->batch_events = 10000;
	c->connections = 512;
	c->per_ip = 64;
	c->timeout_s = 30;
	c->connection_memory = 64u << 10;
	c->attrs_bytes = 4096;
	c->attrs_depth = 8;
	c->future_s = 86400;
	c->query_rows = 10000;
	c->demo_when_empty = 0;
	c->demo_seed = 1;
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

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
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
		for (int b = 0; b < 32; b++) {
			int hi = hexval(hex[2 * b]), lo = hexval(hex[2 * b + 1]);
			if (hi < 0 || lo < 0)
				luaL_error(L, "auth.tokens[%d].sha256 must be 64 hex digits", (int)i);
			tok->hash[b] = (unsigned char)(hi << 4 | lo);
		}
		tok->name = strdup(name);
		tok->role = role_from_name(role);
		c->ntokens++;
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
		if (v != (lua_Number)(int64_t)v || v < o->min || v > o->max) {
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
		if (o->type == OT_ENUM) {
			size_t n = strlen(s);
			const char *p = strstr(o->values, s);
			if (!n || !p || (p != o->values && p[-1] != '|') || (p[n] && p[n] != '|'))
				return luaL_error(L, "%s.%s must be one of %s, got '%s'", o->section, o->key,
						  o->values, s);
		}
		config_set_string((char **)(base + o->offset), s);
		return 0;
	}
	case OT_TOKENS:
		set_tokens(L, c, idx);
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
	lua_rawset(L, 1); /* remember it, so the file can read it back */
	return 0;
}

static int global_newindex(lua_State *L)
{
	return luaL_error(L, "unknown key '%s' (settings go in a section: server, store, limits, auth, demo)",
			  lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
}

struct load_ctx {
	struct config *c;
	const char *path;
};

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
		lua_pushlightuserdata(L, ctx->c);
		lua_pushstring(L, sections[i]);
		lua_pushcclosure(L, section_newindex, 2);
		lua_setfield(L, -2, "__newindex");
		lua_setmetatable(L, -2);
		lua_setfield(L, -2, sections[i]);
	}
	lua_newtable(L);
	lua_pushcfunction(L, global_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);

	if (luaL_loadfilex(L, ctx->path, "t") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	config_defaults(c);
	if (!c->listen || !c->db_path || !c->synchronous) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!path)
		return 0;
	c->path = strdup(path);

	lua_State *L = luaL_newstate();
	if (!L) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	struct load_ctx ctx = {c, path};
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
	return rc == LUA_OK ? 0 : -1;
}

void config_free(struct config *c)
{
	free(c->listen);
	free(c->db_path);
	free(c->synchronous);
	for (size_t i = 0; i < c->ntokens; i++)
		free(c->tokens[i].name);
	free(c->tokens);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
