/* config_strategy.c - the strategy a configuration declares: goal {...} and
 * kpi {...} blocks (ids, titles, owners and managers, parameters, targets),
 * each checked as it is read, errors naming the block. */
#include "model/config.h"
#include "model/config_internal.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const period_names[PK_N] = {"month", "quarter", "year"};

const char *period_kind_name(enum period_kind k)
{
	return period_names[k];
}

static void person_free(struct cfg_person *p)
{
	free(p->name);
	free(p->email);
	free(p->lang);
}

/* { name =, email =, lang = "ar" | "en" } at the top of the stack. */
static void parse_person(lua_State *L, struct cfg_person *p, const char *what, const char *key)
{
	if (!lua_istable(L, -1))
		luaL_error(L, "%s: '%s' must be a table { name =, email =, lang = }", what, key);
	const char *keys[] = {"name", "email", "lang"};
	char **slots[] = {&p->name, &p->email, &p->lang};
	for (int i = 0; i < 3; i++) {
		lua_getfield(L, -1, keys[i]);
		if (lua_type(L, -1) == LUA_TSTRING)
			*slots[i] = strdup(lua_tostring(L, -1));
		else if (!lua_isnil(L, -1))
			luaL_error(L, "%s: %s.%s must be a string", what, key, keys[i]);
		lua_pop(L, 1);
	}
	if (p->lang && strcmp(p->lang, "ar") && strcmp(p->lang, "en"))
		luaL_error(L, "%s: %s.lang must be \"ar\" or \"en\"", what, key);
	/* An address goes into a mail header: nothing that could end it. */
	if (!p->email || !strchr(p->email, '@') || strpbrk(p->email, " \t\r\n<>\"(),;"))
		luaL_error(L, "%s: %s.email '%s' is not an address", what, key,
			   p->email ? p->email : "");
}

static void kpi_owner(lua_State *L, struct cfg_kpi *k, const char *what)
{
	lua_getfield(L, 1, "owner");
	if (!lua_isnil(L, -1))
		parse_person(L, &k->owner, what, "owner");
	lua_pop(L, 1);
}

/* managers = { { name =, email =, lang = }, ... } of the table at index 1. */
static void parse_managers(lua_State *L, struct cfg_person **out, size_t *n, const char *what)
{
	lua_getfield(L, 1, "managers");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "%s: 'managers' must be a list of { name =, email =, lang = }", what);
	lua_Integer len = luaL_len(L, -1);
	*out = calloc((size_t)len + 1, sizeof(**out));
	if (!*out)
		luaL_error(L, "out of memory");
	for (lua_Integer i = 1; i <= len; i++) {
		lua_geti(L, -1, i);
		(*n)++; /* counted first, so config_free frees a half-read one */
		parse_person(L, &(*out)[i - 1], what, "managers[]");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void kpi_free(struct cfg_kpi *k)
{
	free(k->id);
	free(k->goal);
	free(k->title_ar);
	free(k->title_en);
	free(k->unit);
	free(k->indicator);
	for (size_t i = 0; i < k->nparams; i++) {
		free(k->param_keys[i]);
		free(k->param_values[i]);
	}
	free(k->param_keys);
	free(k->param_values);
	person_free(&k->owner);
	for (size_t i = 0; i < k->nmanagers; i++)
		person_free(&k->managers[i]);
	free(k->managers);
	free(k->file);
}

const struct cfg_kpi *config_kpi(const struct config *c, const char *id)
{
	for (size_t i = 0; i < c->nkpis; i++)
		if (strcmp(c->kpis[i].id, id) == 0)
			return &c->kpis[i];
	return NULL;
}

/* A string field of the table at index 1; `what` names the block in errors. */
static char *field_string(lua_State *L, const char *what, const char *key, bool required)
{
	lua_getfield(L, 1, key);
	int t = lua_type(L, -1);
	if (t == LUA_TNIL && !required) {
		lua_pop(L, 1);
		return NULL;
	}
	if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0)
		luaL_error(L, "%s: '%s' must be a non-empty string", what, key);
	char *v = strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return v;
}

/* Refuses keys the block does not know, naming the first. */
static void check_keys(lua_State *L, const char *what, const char *known)
{
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING || !config_in_values(known, lua_tostring(L, -1)))
			luaL_error(L, "%s: unknown key '%s'", what,
				   lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
	}
}

static int line_of_caller(lua_State *L)
{
	lua_Debug ar;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
		return ar.currentline;
	return 0;
}

/* The file the caller is in, malloc'd: the included file, not the one that
 * included it (luaL_loadfilex names a chunk "@path"); `fallback` when Lua
 * cannot say. */
static char *file_of_caller(lua_State *L, const char *fallback)
{
	lua_Debug ar;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) && ar.source[0] == '@')
		return strdup(ar.source + 1);
	return strdup(fallback);
}

static int lua_goal(lua_State *L)
{
	struct load_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	struct config *c = ctx->c;
	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, "goal", "id|title_ar|title_en|managers");
	struct cfg_goal g = {0};
	g.id = field_string(L, "goal", "id", true);
	for (size_t i = 0; i < c->ngoals; i++)
		if (strcmp(c->goals[i].id, g.id) == 0) {
			free(g.id);
			return luaL_error(L, "goal %s is defined twice", c->goals[i].id);
		}
	struct cfg_goal *p = realloc(c->goals, (c->ngoals + 1) * sizeof(*p));
	if (!p) {
		free(g.id);
		return luaL_error(L, "out of memory");
	}
	c->goals = p;
	c->goals[c->ngoals++] = g;
	struct cfg_goal *slot = &c->goals[c->ngoals - 1];
	char what[64];
	snprintf(what, sizeof(what), "goal %s", slot->id);
	slot->title_ar = field_string(L, what, "title_ar", true);
	slot->title_en = field_string(L, what, "title_en", true);
	slot->line = line_of_caller(L);
	parse_managers(L, &slot->managers, &slot->nmanagers, what);
	return 0;
}

static void kpi_params(lua_State *L, struct cfg_kpi *k, const char *what)
{
	lua_getfield(L, 1, "params");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "%s: 'params' must be a table", what);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
			luaL_error(L, "%s: params must map names to strings or numbers", what);
		char **keys = realloc(k->param_keys, (k->nparams + 1) * sizeof(char *));
		if (keys)
			k->param_keys = keys;
		char **vals = realloc(k->param_values, (k->nparams + 1) * sizeof(char *));
		if (vals)
			k->param_values = vals;
		if (!keys || !vals)
			luaL_error(L, "out of memory");
		k->param_keys[k->nparams] = strdup(lua_tostring(L, -2));
		lua_pushvalue(L, -1); /* tostring on a copy: the key must stay as it is */
		k->param_values[k->nparams] = strdup(lua_tostring(L, -1));
		lua_pop(L, 1);
		k->nparams++;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* target = { quarter = 12, year = 40, warn = 0.1, split = true }; a value is
 * a number (at least it, or at most it for a lower-is-better KPI) or a pair
 * { low, high } for a range. */
static void kpi_targets(lua_State *L, struct cfg_kpi *k, const char *what, double warn)
{
	for (int p = 0; p < PK_N; p++)
		k->target[p] = (struct target){TR_NONE, NAN, NAN, warn};
	lua_getfield(L, 1, "target");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "%s: 'target' must be a table like { quarter = 10, year = 40 }", what);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
		if (!config_in_values("month|quarter|year|warn|split", key))
			luaL_error(L, "%s: target has an unknown key '%s'", what, key);
	}
	lua_getfield(L, -1, "warn");
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < 0 || lua_tonumber(L, -1) > 1)
			luaL_error(L, "%s: target.warn must be a fraction from 0 to 1", what);
		warn = (double)lua_tonumber(L, -1);
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "split");
	k->split = lua_toboolean(L, -1);
	lua_pop(L, 1);
	for (int p = 0; p < PK_N; p++) {
		struct target *t = &k->target[p];
		t->warn = warn;
		lua_getfield(L, -1, period_names[p]);
		if (lua_type(L, -1) == LUA_TNUMBER) {
			double v = (double)lua_tonumber(L, -1);
			if (!isfinite(v))
				luaL_error(L, "%s: target.%s must be a finite number", what,
					   period_names[p]);
			t->rule = k->direction > 0 ? TR_MIN : TR_MAX;
			t->low = t->high = v;
		} else if (lua_istable(L, -1) && luaL_len(L, -1) == 2) {
			lua_geti(L, -1, 1);
			lua_geti(L, -2, 2);
			if (lua_type(L, -2) != LUA_TNUMBER || lua_type(L, -1) != LUA_TNUMBER ||
			    !isfinite(lua_tonumber(L, -2)) || !isfinite(lua_tonumber(L, -1)) ||
			    lua_tonumber(L, -2) > lua_tonumber(L, -1))
				luaL_error(L, "%s: target.%s must be a number or { low, high }", what,
					   period_names[p]);
			t->rule = TR_RANGE;
			t->low = (double)lua_tonumber(L, -2);
			t->high = (double)lua_tonumber(L, -1);
			lua_pop(L, 2);
		} else if (!lua_isnil(L, -1)) {
			luaL_error(L, "%s: target.%s must be a number or { low, high }", what,
				   period_names[p]);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static int lua_kpi(lua_State *L)
{
	struct load_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	struct config *c = ctx->c;
	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, "kpi", "id|goal|title_ar|title_en|unit|direction|period|indicator|params|owner|"
			     "managers|target|cumulative");
	struct cfg_kpi *p = realloc(c->kpis, (c->nkpis + 1) * sizeof(*p));
	if (!p)
		return luaL_error(L, "out of memory");
	c->kpis = p;
	struct cfg_kpi *k = &c->kpis[c->nkpis++];
	memset(k, 0, sizeof(*k)); /* counted now, so config_free frees what follows */
	k->line = line_of_caller(L);
	k->file = file_of_caller(L, ctx->path);
	k->id = field_string(L, "kpi", "id", true);
	char what[64];
	snprintf(what, sizeof(what), "kpi %s", k->id);
	for (size_t i = 0; i + 1 < c->nkpis; i++)
		if (strcmp(c->kpis[i].id, k->id) == 0)
			return luaL_error(L, "%s is defined twice", what);
	k->goal = field_string(L, what, "goal", true);
	bool goal_known = false;
	for (size_t i = 0; i < c->ngoals; i++)
		goal_known |= strcmp(c->goals[i].id, k->goal) == 0;
	if (!goal_known)
		return luaL_error(L, "%s: goal '%s' is not defined (define it above with goal {...})",
				  what, k->goal);
	k->title_ar = field_string(L, what, "title_ar", true);
	k->title_en = field_string(L, what, "title_en", true);
	k->unit = field_string(L, what, "unit", true);
	k->indicator = field_string(L, what, "indicator", false);
	char *dir = field_string(L, what, "direction", false);
	k->direction = !dir || strcmp(dir, "higher") == 0 ? 1 : strcmp(dir, "lower") == 0 ? -1 : 0;
	free(dir);
	if (!k->direction)
		return luaL_error(L, "%s: direction must be \"higher\" or \"lower\"", what);
	char *period = field_string(L, what, "period", false);
	k->period = PK_QUARTER;
	for (int i = 0; period && i < PK_N; i++)
		if (strcmp(period, period_names[i]) == 0)
			k->period = (enum period_kind)i;
	bool bad_period = period && strcmp(period, period_names[k->period]) != 0;
	free(period);
	if (bad_period)
		return luaL_error(L, "%s: period must be month, quarter or year", what);
	lua_getfield(L, 1, "cumulative");
	if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
		return luaL_error(L, "%s: cumulative must be true or false", what);
	k->cumulative = lua_toboolean(L, -1);
	lua_pop(L, 1);
	kpi_params(L, k, what);
	kpi_targets(L, k, what, c->alert_warn);
	kpi_owner(L, k, what);
	parse_managers(L, &k->managers, &k->nmanagers, what);
	return 0;
}

void config_strategy_open(lua_State *L, struct load_ctx *ctx)
{
	static const lua_CFunction fns[] = {lua_goal, lua_kpi};
	static const char *const fn_names[] = {"goal", "kpi"};
	for (int i = 0; i < 2; i++) {
		lua_pushlightuserdata(L, ctx);
		lua_pushcclosure(L, fns[i], 1);
		lua_setfield(L, -2, fn_names[i]);
	}
}

void config_strategy_free(struct config *c)
{
	for (size_t i = 0; i < c->ngoals; i++) {
		free(c->goals[i].id);
		free(c->goals[i].title_ar);
		free(c->goals[i].title_en);
		for (size_t j = 0; j < c->goals[i].nmanagers; j++)
			person_free(&c->goals[i].managers[j]);
		free(c->goals[i].managers);
	}
	free(c->goals);
	for (size_t i = 0; i < c->nkpis; i++)
		kpi_free(&c->kpis[i]);
	free(c->kpis);
	c->goals = NULL;
	c->kpis = NULL;
	c->ngoals = c->nkpis = 0;
}
