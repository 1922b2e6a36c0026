/* script_fold.c - the fold calls of a Lua indicator: init, step, merge,
 * final and free, each a protected call under the script's budget (see
 * script.c for the sandbox and the loading).
 *
 * A fold state is a Lua table in the script's lua_State, held by a
 * registry reference; struct fold is the C handle the engine sees.
 *
 * A step pushes the step function, the state and the fields as plain
 * values (no table per event) and calls.  When no field is a string
 * nothing pushed can allocate or fail, so the values are pushed straight
 * onto the stack and the function is called with lua_pcall.  When some
 * field is a string, the pushes can allocate (and so raise a memory
 * error, which outside a protected call would abort the process), so a
 * small C function does the pushes inside the protected call.
 * Everything else (load, init, merge, final, free) runs in such a
 * protected C function too.
 */
#include "eval/script_internal.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* A fold state as the engine holds it. */
struct fold {
	int ref; /* the state table in the registry */
	bool dead;
};

struct init_args {
	struct script *s;
	struct fold *f;
	const struct mizan_params *params;
};

static int do_init(lua_State *L)
{
	struct init_args *a = lua_touserdata(L, 1);
	const struct mizan_params *p = a->params;

	lua_rawgeti(L, LUA_REGISTRYINDEX, a->s->init_ref);
	lua_createtable(L, 0, p ? (int)p->n : 0);
	for (size_t i = 0; p && i < p->n; i++) {
		/* A number where the text is one (Lua's own syntax), else the text. */
		if (!p->values[i] || lua_stringtonumber(L, p->values[i]) == 0)
			lua_pushstring(L, p->values[i]);
		lua_setfield(L, -2, p->keys[i]);
	}
	lua_call(L, 1, 2);
	/* `return nil, "why"`: the indicator refuses these params, and says why. */
	if (lua_isnil(L, -2) && lua_type(L, -1) == LUA_TSTRING)
		return luaL_error(L, "init failed: %s", lua_tostring(L, -1));
	lua_pop(L, 1);
	if (!lua_istable(L, -1))
		return luaL_error(L, "init must return a table (the state), or nil and a message; got %s",
				  luaL_typename(L, -1));
	a->f->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

static void *op_state_new(struct indicator *ind, const struct mizan_params *params, char *err)
{
	struct script *s = ind->impl;
	struct fold *f = calloc(1, sizeof(*f));
	if (!f) {
		script_errf(err, "%s: out of memory", s->path);
		return NULL;
	}
	f->ref = LUA_NOREF;
	struct init_args a = {s, f, params};
	if (script_protected(s, "init", do_init, &a, err) != 0) {
		/* A reference taken before a limit tripped would leak in the
		 * state; let it go with the state's garbage. */
		if (f->ref != LUA_NOREF)
			luaL_unref(s->L, LUA_REGISTRYINDEX, f->ref);
		free(f);
		return NULL;
	}
	return f;
}

static inline void push_field(lua_State *L, const struct field_def *d, const struct mizan_event *ev)
{
	const char *p = (const char *)ev + d->off;

	if (d->end > ev->size) { /* an older, shorter event */
		lua_pushnil(L);
		return;
	}
	switch (d->type) {
	case F_STR: {
		const char *v;
		memcpy(&v, p, sizeof(v));
		if (v)
			lua_pushstring(L, v);
		else
			lua_pushnil(L);
		break;
	}
	case F_DBL: {
		double v;
		memcpy(&v, p, sizeof(v));
		if (isnan(v))
			lua_pushnil(L);
		else
			lua_pushnumber(L, v);
		break;
	}
	case F_I64: {
		int64_t v;
		memcpy(&v, p, sizeof(v));
		if (v == -1)
			lua_pushnil(L);
		else
			lua_pushinteger(L, v);
		break;
	}
	case F_BOOL: {
		int v;
		memcpy(&v, p, sizeof(v));
		if (v < 0)
			lua_pushnil(L);
		else
			lua_pushboolean(L, v);
		break;
	}
	case F_KIND: {
		int v;
		memcpy(&v, p, sizeof(v));
		if (v >= 0 && (size_t)v < SCRIPT_NKINDS)
			lua_pushstring(L, script_kind_names[v]);
		else
			lua_pushnil(L);
		break;
	}
	}
}

struct step_args {
	struct script *s;
	struct fold *f;
	const struct mizan_event *ev;
};

/* The step with string fields: the pushes may allocate, so inside the
 * protected call. */
static int do_step(lua_State *L)
{
	struct step_args *a = lua_touserdata(L, 1);
	struct script *s = a->s;

	lua_rawgeti(L, LUA_REGISTRYINDEX, s->step_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->f->ref);
	for (int i = 0; i < s->nfields; i++)
		push_field(L, s->fields[i], a->ev);
	lua_call(L, s->nfields + 1, 0);
	return 0;
}

static int op_step(struct indicator *ind, void *state, const struct mizan_event *ev, char *err)
{
	struct script *s = ind->impl;
	struct fold *f = state;
	lua_State *L = s->L;

	if (f->dead) {
		script_errf(err, "%s: the state failed earlier", s->path);
		return -EINVAL;
	}
	if (s->has_strings) {
		struct step_args a = {s, f, ev};
		int rc = script_protected(s, "step", do_step, &a, err);
		if (rc < 0)
			f->dead = true;
		return rc;
	}

	/* Numbers, booleans and nils only: nothing here allocates or raises,
	 * once the stack has room. */
	int top = lua_gettop(L);
	if (!lua_checkstack(L, s->nfields + 2)) {
		script_errf(err, "%s: out of stack space", s->path);
		f->dead = true;
		return -ENOMEM;
	}
	script_call_begin(s, "step");
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->step_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
	for (int i = 0; i < s->nfields; i++)
		push_field(L, s->fields[i], ev);
	int status = lua_pcall(L, s->nfields + 1, 0, 0);
	if (status == LUA_OK && !s->tripped)
		return 0;
	f->dead = true;
	return script_call_end(s, status, top, err);
}

struct merge_args {
	struct script *s;
	struct fold *a, *b;
};

static int do_merge(lua_State *L)
{
	struct merge_args *m = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, m->s->merge_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->a->ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->b->ref);
	lua_call(L, 2, 1);
	/* merge mutates a; if it returns a table instead, that is the new a. */
	if (lua_istable(L, -1)) {
		int ref = luaL_ref(L, LUA_REGISTRYINDEX);
		luaL_unref(L, LUA_REGISTRYINDEX, m->a->ref);
		m->a->ref = ref;
	}
	return 0;
}

static int op_merge(struct indicator *ind, void *state, void *other, char *err)
{
	struct script *s = ind->impl;
	struct merge_args m = {s, state, other};

	if (m.a->dead || m.b->dead) {
		script_errf(err, "%s: the state failed earlier", s->path);
		m.a->dead = true;
		return -EINVAL;
	}
	if (s->merge_ref == LUA_NOREF) {
		script_errf(err, "%s: the script has no merge", s->path);
		return -ENOTSUP;
	}
	int rc = script_protected(s, "merge", do_merge, &m, err);
	if (rc < 0)
		m.a->dead = true;
	return rc;
}

/* ---- kept states: a state table as bytes ----------------------------------
 *
 * A kept state is plain values: numbers (integers and floats kept apart,
 * each as its 8 bytes), strings, booleans and tables of those, at most
 * STATE_DEPTH deep.  Bytes: a value is one tag and its payload:
 *   'i' int64, 'd' double, 's' uint32 length and the bytes, 't' true,
 *   'f' false, 'T' the pairs (key value key value ...) and 'E'.
 */
#define STATE_DEPTH 16

struct save_args {
	struct script *s;
	struct fold *f;
	struct buf *out;
};

static void save_value(lua_State *L, int idx, struct buf *out, int depth)
{
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			lua_Integer v = lua_tointeger(L, idx);
			int64_t i = (int64_t)v;
			buf_putc(out, 'i');
			buf_add(out, &i, sizeof(i));
		} else {
			double d = (double)lua_tonumber(L, idx);
			buf_putc(out, 'd');
			buf_add(out, &d, sizeof(d));
		}
		break;
	case LUA_TSTRING: {
		size_t len;
		const char *p = lua_tolstring(L, idx, &len);
		uint32_t n = (uint32_t)len;
		if (len > UINT32_MAX)
			luaL_error(L, "a kept state holds a string too long");
		buf_putc(out, 's');
		buf_add(out, &n, sizeof(n));
		buf_add(out, p, len);
		break;
	}
	case LUA_TBOOLEAN:
		buf_putc(out, lua_toboolean(L, idx) ? 't' : 'f');
		break;
	case LUA_TTABLE:
		if (depth >= STATE_DEPTH)
			luaL_error(L, "the state is nested more than %d deep (or holds a cycle)",
				   STATE_DEPTH);
		luaL_checkstack(L, 3, "state");
		idx = lua_absindex(L, idx);
		buf_putc(out, 'T');
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			save_value(L, -2, out, depth + 1);
			save_value(L, -1, out, depth + 1);
			lua_pop(L, 1);
		}
		buf_putc(out, 'E');
		break;
	default:
		luaL_error(L, "the state holds a %s: a kept state holds only numbers, strings, "
			      "booleans and tables of them",
			   luaL_typename(L, idx));
	}
	if (out->oom)
		luaL_error(L, "not enough memory");
}

static int do_save(lua_State *L)
{
	struct save_args *a = lua_touserdata(L, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->f->ref);
	save_value(L, -1, a->out, 0);
	return 0;
}

static int op_save(struct indicator *ind, void *state, struct buf *out, char *err)
{
	struct script *s = ind->impl;
	struct fold *f = state;
	size_t at = out->len;
	if (f->dead) {
		script_errf(err, "%s: the state failed earlier", s->path);
		return -EINVAL;
	}
	struct save_args a = {s, f, out};
	int rc = script_protected(s, "save", do_save, &a, err);
	if (rc < 0 && !out->oom)
		buf_truncate(out, at);
	return out->oom ? -ENOMEM : rc;
}

struct load_args {
	struct script *s;
	struct fold *f;
	const unsigned char *p, *end;
};

static void load_value(lua_State *L, struct load_args *a, int depth)
{
	if (a->p >= a->end)
		luaL_error(L, "a kept state is cut short");
	luaL_checkstack(L, 3, "state");
	unsigned char tag = *a->p++;
	switch (tag) {
	case 'i':
	case 'd': {
		if ((size_t)(a->end - a->p) < 8)
			luaL_error(L, "a kept state is cut short");
		if (tag == 'i') {
			int64_t i;
			memcpy(&i, a->p, 8);
			lua_pushinteger(L, (lua_Integer)i);
		} else {
			double d;
			memcpy(&d, a->p, 8);
			lua_pushnumber(L, d);
		}
		a->p += 8;
		break;
	}
	case 's': {
		uint32_t n;
		if ((size_t)(a->end - a->p) < 4)
			luaL_error(L, "a kept state is cut short");
		memcpy(&n, a->p, 4);
		a->p += 4;
		if ((size_t)(a->end - a->p) < n)
			luaL_error(L, "a kept state is cut short");
		lua_pushlstring(L, (const char *)a->p, n);
		a->p += n;
		break;
	}
	case 't':
	case 'f':
		lua_pushboolean(L, tag == 't');
		break;
	case 'T':
		if (depth >= STATE_DEPTH)
			luaL_error(L, "a kept state is nested too deep");
		lua_newtable(L);
		while (a->p < a->end && *a->p != 'E') {
			load_value(L, a, depth + 1);
			load_value(L, a, depth + 1);
			lua_rawset(L, -3);
		}
		if (a->p >= a->end)
			luaL_error(L, "a kept state is cut short");
		a->p++;
		break;
	default:
		luaL_error(L, "a kept state has an unknown tag %d", tag);
	}
}

static int do_load(lua_State *L)
{
	struct load_args *a = lua_touserdata(L, 1);
	load_value(L, a, 0);
	if (!lua_istable(L, -1) || a->p != a->end)
		return luaL_error(L, "a kept state is not one table");
	int ref = luaL_ref(L, LUA_REGISTRYINDEX);
	luaL_unref(L, LUA_REGISTRYINDEX, a->f->ref);
	a->f->ref = ref;
	return 0;
}

static int op_load(struct indicator *ind, void *state, const void *data, size_t len, char *err)
{
	struct script *s = ind->impl;
	struct load_args a = {s, state, data, (const unsigned char *)data + len};
	int rc = script_protected(s, "load", do_load, &a, err);
	if (rc < 0)
		a.f->dead = true;
	return rc;
}

/* A copy of `str` that lives until the script is unloaded (result strings
 * must outlive the call); NULL when the pool is full. */
static const char *pool_intern(struct script *s, const char *str)
{
	for (size_t i = 0; i < s->npool; i++)
		if (strcmp(s->pool[i], str) == 0)
			return s->pool[i];
	if (s->npool == MAX_POOL)
		return NULL;
	char *c = strdup(str);
	if (c)
		s->pool[s->npool++] = c;
	return c;
}

struct final_args {
	struct script *s;
	struct fold *f;
	struct mizan_result *out;
};

static double finite_or_nan(double d)
{
	return isfinite(d) ? d : NAN;
}

static int cmp_extra(const void *x, const void *y)
{
	const char *const *a = x, *const *b = y;
	return strcmp(*a, *b);
}

static int do_final(lua_State *L)
{
	struct final_args *a = lua_touserdata(L, 1);
	struct script *s = a->s;
	struct mizan_result *out = a->out;

	lua_settop(L, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->final_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->f->ref);
	lua_call(L, 1, 4); /* value, n, extras, note at 1..4 */

	if (lua_isnil(L, 1))
		out->value = NAN;
	else if (lua_type(L, 1) == LUA_TNUMBER)
		out->value = finite_or_nan(lua_tonumber(L, 1));
	else
		return luaL_error(L, "final: the value must be a number or nil, got %s",
				  luaL_typename(L, 1));

	if (lua_isnil(L, 2))
		out->n = 0;
	else if (lua_type(L, 2) == LUA_TNUMBER)
		out->n = lua_tonumber(L, 2);
	else
		return luaL_error(L, "final: n must be a number or nil, got %s", luaL_typename(L, 2));

	if (!lua_isnil(L, 3)) {
		const char *names[MIZAN_MAX_EXTRA];
		double values[MIZAN_MAX_EXTRA];
		int n = 0;
		if (!lua_istable(L, 3))
			return luaL_error(L, "final: extras must be a table or nil, got %s",
					  luaL_typename(L, 3));
		lua_pushnil(L);
		while (lua_next(L, 3)) {
			if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
				return luaL_error(L, "final: extras must map names to numbers, got "
						     "%s -> %s",
						  luaL_typename(L, -2), luaL_typename(L, -1));
			size_t len;
			const char *k = lua_tolstring(L, -2, &len);
			if (!script_valid_name(k, len))
				return luaL_error(L, "final: extra name '%s' must match "
						     "[a-z0-9_]{1,63}",
						  k);
			if (n == MIZAN_MAX_EXTRA)
				return luaL_error(L, "final: more than %d extras", MIZAN_MAX_EXTRA);
			names[n] = k; /* anchored by the table during the loop */
			values[n++] = finite_or_nan(lua_tonumber(L, -1));
			lua_pop(L, 1);
		}
		/* Table order is not stable across runs: sort by name. */
		int order[MIZAN_MAX_EXTRA];
		for (int i = 0; i < n; i++)
			order[i] = i;
		for (int i = 1; i < n; i++) /* insertion sort on at most 8 */
			for (int j = i; j > 0 && cmp_extra(&names[order[j - 1]], &names[order[j]]) > 0;
			     j--) {
				int t = order[j];
				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (int i = 0; i < n; i++) {
			const char *k = pool_intern(s, names[order[i]]);
			if (!k)
				return luaL_error(L, "final: too many distinct extra names and notes "
						     "(at most %d)",
						  MAX_POOL);
			out->extra[i].name = k;
			out->extra[i].value = values[order[i]];
		}
		out->nextra = n;
	}

	if (!lua_isnil(L, 4)) {
		if (lua_type(L, 4) != LUA_TSTRING)
			return luaL_error(L, "final: the note must be a string or nil, got %s",
					  luaL_typename(L, 4));
		out->note = pool_intern(s, lua_tostring(L, 4));
		if (!out->note)
			out->note = "(note dropped: too many distinct notes)";
	}
	return 0;
}

static int op_final(struct indicator *ind, void *state, struct mizan_result *out, char *err)
{
	struct script *s = ind->impl;
	struct fold *f = state;
	struct final_args a = {s, f, out};

	memset(out, 0, sizeof(*out));
	out->value = NAN;
	if (f->dead) {
		script_errf(err, "%s: the state failed earlier", s->path);
		return -EINVAL;
	}
	int rc = script_protected(s, "final", do_final, &a, err);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		out->value = NAN;
		f->dead = true;
	}
	return rc;
}

struct unref_args {
	int ref;
};

static int do_unref(lua_State *L)
{
	struct unref_args *a = lua_touserdata(L, 1);
	luaL_unref(L, LUA_REGISTRYINDEX, a->ref);
	return 0;
}

static void op_state_free(struct indicator *ind, void *state)
{
	struct script *s = ind->impl;
	struct fold *f = state;
	char err[IND_ERRLEN];

	if (!f)
		return;
	if (f->ref != LUA_NOREF) {
		struct unref_args a = {f->ref};
		script_protected(s, "free", do_unref, &a, err);
	}
	free(f);
}

static void op_unload(struct indicator *ind)
{
	script_free(ind->impl);
	ind->impl = NULL;
}

const struct indicator_ops script_ops = {
	.state_new = op_state_new,
	.step = op_step,
	.merge = op_merge,
	.save = op_save,
	.load = op_load,
	.final = op_final,
	.state_free = op_state_free,
	.unload = op_unload,
};

/* The same ops without merge, for scripts that have none. */
const struct indicator_ops script_ops_nomerge = {
	.state_new = op_state_new,
	.step = op_step,
	.merge = NULL,
	.final = op_final,
	.state_free = op_state_free,
	.unload = op_unload,
};
