/* script.c - Lua indicator scripts, one sandboxed lua_State per script.
 *
 * How a script runs (see script.h for the rules a script sees):
 *
 *  - Loading reads the file once (the same bytes are hashed for the version
 *    and compiled, so what is hashed is what runs), refuses precompiled
 *    chunks, creates the lua_State on the capped allocator, opens the
 *    allowed libraries one by one, compiles the text with mode "t", runs it
 *    and checks the table it returns.  The functions go into registry slots;
 *    the field list is resolved once to offsets into struct mizan_event.
 *  - The fold calls (init, step, merge, final, free) are in script_fold.c;
 *    each goes through the protected calls below.
 *  - Every call first resets the per-call counters; the count hook runs
 *    every HOOK_EVERY VM instructions, adds HOOK_EVERY to the count and
 *    checks the budget and the clock.  The clock is first read at the first
 *    hook of a call (a trivial step then never reads it), so the deadline
 *    counts from at most HOOK_EVERY instructions after the call began.
 *    When a limit is hit, the hook raises and switches to run at every
 *    instruction, raising again each time: the first instruction after any
 *    pcall/xpcall in the script that caught the error raises again, so the
 *    error always reaches the host.  The call then fails with the limit's
 *    message whatever the script did with the error, and the fold state is
 *    dead.  The next call resets the hook.
 *  - Memory: the allocator counts the bytes of the state and refuses any
 *    growth past the cap (Lua then collects garbage and retries once, then
 *    raises a memory error).  string.rep('x', 1e10) asks for 10 GB in one
 *    request: refused outright, nothing is allocated.
 *
 * What the sandbox cannot stop, and why it stays bounded otherwise:
 *  The count hook only runs between VM instructions, never inside a C
 *  function.  The string pattern functions (find, match, gmatch, gsub)
 *  backtrack: string.find(('a'):rep(60)..'b', ('a*'):rep(6)..'c') runs for
 *  a very long time inside one C call, and nothing in this process can
 *  interrupt it; the evaluation runs in a worker process that the daemon
 *  kills at a deadline.  Everything else about those functions is bounded:
 *  their recursion is capped by Lua (MAXCCALLS, "pattern too complex"),
 *  captures are capped (LUA_MAXCAPTURES), every buffer they build (gsub's
 *  result, a capture string) comes from the capped allocator, and a gsub
 *  replacement function or __index/__tostring metamethod they call is Lua
 *  code under the hook.  Other C functions are linear in what they touch
 *  and what they touch is bounded by the memory cap (string.rep, concat,
 *  table.concat, table.unpack, which also checks its count), and the C stack
 *  is bounded by LUAI_MAXCCALLS ("C stack overflow").
 *  Two ways Lua runs script code with hooks off are closed: finalizers
 *  (setmetatable refuses a metatable with __gc) and xpcall message handlers
 *  (our xpcall calls the handler after unwinding, as a plain call).
 */
#include "eval/script.h"
#include "eval/script_internal.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/time.h"

#define HOOK_EVERY 1000             /* VM instructions between two runs of the count hook */
#define SCRIPT_MAX_BYTES (1u << 20) /* a larger file is refused unread */
#define MAX_PRINT 100 /* lines `print` may log per script */

#define DEFAULT_MEMORY (64u << 20)
#define DEFAULT_INSTRUCTIONS 100000000ull
#define DEFAULT_SECONDS 5.0

/* ---- the fields a script can ask for ---------------------------------- */

/* Every field of the contract that the plugins' view has (event_members),
 * under its contract name (but `ts_ms` for the time, as in the view), and
 * the kind; made once from the table, on first use by a loading script
 * (pthread_once: registries in two threads may load at once). */
#define NFIELD_DEFS (F_NFIELDS + 1)
static struct field_def field_defs[NFIELD_DEFS];
static size_t nfield_defs;

static enum ftype ftype_of(int f)
{
	switch (event_fields[f].type) {
	case FT_NUM:
		return F_DBL;
	case FT_BOOL:
		return F_BOOL;
	case FT_INT:
	case FT_TIME:
		return F_I64;
	default:
		return F_STR;
	}
}

static void field_defs_fill(void)
{
	size_t n = 0;
	for (int f = 0; f < F_NFIELDS; f++) {
		const struct event_member *m = &event_members[f];
		if (!m->size)
			continue;
		field_defs[n++] = (struct field_def){f == F_TS ? "ts_ms" : event_fields[f].name, m->off,
						     m->off + m->size, ftype_of(f)};
	}
	field_defs[n++] = (struct field_def){"kind", offsetof(struct mizan_event, kind),
					     offsetof(struct mizan_event, kind) + sizeof(int), F_KIND};
	nfield_defs = n;
}

static void field_defs_make(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, field_defs_fill);
}

const char *const script_kind_names[SCRIPT_NKINDS] = {
	[MIZAN_SERVICE] = "service",
	[MIZAN_TRAINING] = "training",
	[MIZAN_PROJECT] = "project",
	[MIZAN_SATISFACTION] = "satisfaction",
};

/* ---- one script --------------------------------------------------------- */

static struct script *script_of(lua_State *L)
{
	return *(struct script **)lua_getextraspace(L);
}

static void *script_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct script *s = ud;
	size_t old = ptr ? osize : 0; /* with ptr NULL, osize is a type tag */

	if (nsize == 0) {
		free(ptr);
		s->mem_used -= old;
		return NULL;
	}
	if (nsize > old && nsize - old > s->lim.memory_bytes - s->mem_used) {
		s->mem_refused = true;
		return NULL;
	}
	void *p = realloc(ptr, nsize);
	if (!p) {
		s->mem_refused = true;
		return NULL;
	}
	s->mem_used = s->mem_used - old + nsize;
	return p;
}

/* Writes a message of at most IND_ERRLEN bytes (truncated if longer). */
__attribute__((format(printf, 2, 3))) void script_errf(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, IND_ERRLEN, fmt, ap);
	va_end(ap);
}

static void format_bytes(char *buf, size_t len, size_t n)
{
	if (n && n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else if (n && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n >> 10);
	else
		snprintf(buf, len, "%zu bytes", n);
}

/* Instructions counted by the hook in this thread, across every script
 * and call: what the engine charges a KPI's per-run budget with. */
static _Thread_local uint64_t counted;

uint64_t script_instructions_counted(void)
{
	return counted;
}

static void hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct script *s = script_of(L);

	if (!s->tripped) {
		s->used += HOOK_EVERY;
		counted += HOOK_EVERY;
		if (s->used > s->lim.instructions) {
			script_errf(s->tripmsg,
				 "%s: instruction budget of %llu exceeded in %s", s->path,
				 (unsigned long long)s->lim.instructions, s->call);
			s->tripped = true;
		} else {
			double now = time_mono();
			if (!s->t0_set) {
				s->t0 = now;
				s->t0_set = true;
			} else if (now - s->t0 > s->lim.seconds) {
				script_errf(s->tripmsg,
					 "%s: wall-clock deadline of %g s exceeded in %s", s->path,
					 s->lim.seconds, s->call);
				s->tripped = true;
			}
		}
		if (!s->tripped)
			return;
		/* From now on, every instruction raises. */
		lua_sethook(L, hook, LUA_MASKCOUNT, 1);
	}
	lua_pushstring(L, s->tripmsg);
	lua_error(L);
}

void script_call_begin(struct script *s, const char *what)
{
	s->call = what;
	s->used = 0;
	s->t0_set = false;
	s->mem_refused = false;
	if (s->tripped) {
		s->tripped = false;
		lua_sethook(s->L, hook, LUA_MASKCOUNT, HOOK_EVERY);
	}
}

int script_call_end(struct script *s, int status, int top, char *err)
{
	lua_State *L = s->L;
	int rc = 0;

	if (s->tripped) {
		script_errf(err, "%s", s->tripmsg);
		rc = -ETIMEDOUT;
	} else if (status != LUA_OK) {
		const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		rc = -EINVAL;
		if (status == LUA_ERRMEM ||
		    (s->mem_refused && msg && strcmp(msg, "not enough memory") == 0)) {
			rc = -ENOMEM;
			char cap[32];
			format_bytes(cap, sizeof(cap), s->lim.memory_bytes);
			script_errf(err, "%s: memory limit of %s reached in %s", s->path,
				 cap, s->call);
		} else if (!msg) {
			script_errf(err, "%s: error object is a %s value in %s", s->path,
				 luaL_typename(L, -1), s->call);
		} else if (strncmp(msg, s->path, strlen(s->path)) == 0) {
			script_errf(err, "%s", msg);
		} else {
			script_errf(err, "%s: %s", s->path, msg);
		}
	}
	lua_settop(L, top);
	return rc;
}

int script_protected(struct script *s, const char *what, lua_CFunction fn, void *ud, char *err)
{
	lua_State *L = s->L;
	int top = lua_gettop(L);
	script_call_begin(s, what);
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, ud);
	int status = lua_pcall(L, 1, 0, 0);
	return script_call_end(s, status, top, err);
}

/* ---- the sandbox -------------------------------------------------------- */

/* print: to the log, prefixed with the script, at most MAX_PRINT lines. */
static int sandbox_print(lua_State *L)
{
	struct script *s = script_of(L);
	int n = lua_gettop(L);
	luaL_Buffer b;

	if (s->nprint > MAX_PRINT)
		return 0;
	if (s->nprint++ == MAX_PRINT) {
		log_info("%s: further output of print suppressed", s->path);
		return 0;
	}
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	log_info("%s: %s", s->path, lua_tostring(L, -1));
	return 0;
}

/* load(chunk [, chunkname [, mode [, env]]]): text chunks only, given as a
 * string (no reader functions).  The mode argument is ignored: always "t". */
static int sandbox_load(lua_State *L)
{
	size_t len;
	const char *chunk = lua_tolstring(L, 1, &len);
	if (!chunk || lua_type(L, 1) != LUA_TSTRING)
		return luaL_argerror(L, 1, "a string chunk is expected (this load takes text only)");
	const char *name = luaL_optstring(L, 2, chunk);
	int env = !lua_isnone(L, 4);
	if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
		luaL_pushfail(L);
		lua_insert(L, -2);
		return 2;
	}
	if (env) {
		lua_pushvalue(L, 4);
		if (!lua_setupvalue(L, -2, 1))
			lua_pop(L, 1);
	}
	return 1;
}

/* setmetatable, refusing a metatable with a __gc field.  Finalizers run
 * with hooks off (lgc.c GCTM), so a looping __gc would escape the budget.
 * Lua marks an object for finalization only when its metatable has __gc at
 * the time it is set, so checking here is enough. */
static int sandbox_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_argerror(L, 2, "__gc metamethods are not allowed");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1)); /* the base library's setmetatable */
	lua_insert(L, 1);
	lua_settop(L, 3);
	lua_call(L, 2, 1);
	return 1;
}

/* xpcall(f, msgh, ...): the message handler runs after the stack unwound,
 * as an ordinary call.  Lua runs a handler inside the error, and when the
 * error was raised by the count hook that is with hooks off: a looping
 * handler would escape the budget. */
static int sandbox_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2); /* f msgh true f args... */
	if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK)
		return lua_gettop(L) - 2;
	/* f msgh true err */
	lua_pushvalue(L, 2);
	lua_insert(L, -2);
	lua_call(L, 1, 1);
	lua_pushboolean(L, 0);
	lua_insert(L, -2);
	return 2;
}

static const char *const allowed_globals[] = {
	"assert", "error",	"getmetatable", "ipairs",	"next",	    "pairs",
	"pcall",  "rawequal", "rawget",	"rawlen",	"rawset",   "select",
	"setmetatable", "tonumber", "tostring", "type", "_G",
	"_VERSION", "string", "table", "math", "utf8",
};

static bool is_allowed_global(const char *k)
{
	for (size_t i = 0; i < sizeof(allowed_globals) / sizeof(allowed_globals[0]); i++)
		if (strcmp(k, allowed_globals[i]) == 0)
			return true;
	return false;
}

static void sandbox_open(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{LUA_GNAME, luaopen_base},	    {LUA_STRLIBNAME, luaopen_string},
		{LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
		{LUA_UTF8LIBNAME, luaopen_utf8},
	};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		luaL_requiref(L, libs[i].name, libs[i].func, 1);
		lua_pop(L, 1);
	}

	/* Globals: the allow list, then our print and load. */
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING || !is_allowed_global(lua_tostring(L, -1))) {
			lua_pushvalue(L, -1);
			lua_pushnil(L);
			lua_rawset(L, -4); /* clearing a field during traversal is allowed */
		}
	}
	lua_pushcfunction(L, sandbox_print);
	lua_setfield(L, -2, "print");
	lua_pushcfunction(L, sandbox_load);
	lua_setfield(L, -2, "load");
	lua_pushcfunction(L, sandbox_xpcall);
	lua_setfield(L, -2, "xpcall");
	lua_getfield(L, -1, "setmetatable");
	lua_pushcclosure(L, sandbox_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");

	/* string.dump is the way to make binary chunks: gone. */
	lua_getfield(L, -1, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 2);

	/* Lock the string metatable: getmetatable('') now returns false, and
	 * setmetatable only takes tables (debug.setmetatable is not there). */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* ---- loading ------------------------------------------------------------ */

struct load_args {
	struct script *s;
	struct indicator *ind;
	const char *text;
	size_t len;
};

static const char *const meta_keys[] = {"name",	  "unit", "description", "kinds", "fields",
					"init",	  "step", "merge",	 "final"};

bool script_valid_name(const char *n, size_t len)
{
	if (len < 1 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
			return false;
	return true;
}

/* The string at key `k` of the table at -1: shorter than max bytes, not
 * empty when nonempty, no NUL inside; copied into out. */
static void meta_string(lua_State *L, const char *k, char *out, size_t max, bool nonempty)
{
	size_t len;
	if (lua_getfield(L, -1, k) != LUA_TSTRING)
		luaL_error(L, "'%s' must be a string, got %s", k, luaL_typename(L, -1));
	const char *v = lua_tolstring(L, -1, &len);
	if (len >= max || strlen(v) != len)
		luaL_error(L, "'%s' must be at most %d bytes, without NUL", k, (int)max - 1);
	if (nonempty && len == 0)
		luaL_error(L, "'%s' must not be empty", k);
	memcpy(out, v, len + 1);
	lua_pop(L, 1);
}

/* A reference to the function at key `k`; LUA_NOREF when optional and nil. */
static int meta_function(lua_State *L, const char *k, bool optional)
{
	int t = lua_getfield(L, -1, k);
	if (t == LUA_TNIL && optional) {
		lua_pop(L, 1);
		return LUA_NOREF;
	}
	if (t != LUA_TFUNCTION)
		luaL_error(L, "'%s' must be a function%s, got %s", k, optional ? " or nil" : "",
			   luaL_typename(L, -1));
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

static int do_load(lua_State *L)
{
	struct load_args *a = lua_touserdata(L, 1);
	struct script *s = a->s;
	struct indicator *ind = a->ind;

	lua_settop(L, 0);
	sandbox_open(L);

	const char *chunkname = lua_pushfstring(L, "@%s", s->path);
	if (luaL_loadbufferx(L, a->text, a->len, chunkname, "t") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	if (!lua_istable(L, -1))
		return luaL_error(L, "the script must return a table, got %s", luaL_typename(L, -1));

	/* Every key must be one we know: a misspelt 'merge' would otherwise
	 * be silently ignored. */
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		bool known = false;
		if (lua_type(L, -1) == LUA_TSTRING)
			for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++)
				known = known || strcmp(lua_tostring(L, -1), meta_keys[i]) == 0;
		if (!known) {
			if (lua_type(L, -1) == LUA_TSTRING)
				return luaL_error(L, "unknown key '%s' in the returned table",
						  lua_tostring(L, -1));
			return luaL_error(L, "the returned table has a %s key; only names are allowed",
					  luaL_typename(L, -1));
		}
	}

	if (lua_getfield(L, -1, "name") != LUA_TSTRING)
		return luaL_error(L, "'name' must be a string, got %s", luaL_typename(L, -1));
	size_t nlen;
	const char *name = lua_tolstring(L, -1, &nlen);
	if (!script_valid_name(name, nlen))
		return luaL_error(L, "name '%s' must match [a-z0-9_]{1,63}", name);
	memcpy(ind->name, name, nlen + 1);
	lua_pop(L, 1);
	meta_string(L, "unit", ind->unit, sizeof(ind->unit), false);
	meta_string(L, "description", ind->description, sizeof(ind->description), true);

	if (lua_getfield(L, -1, "kinds") != LUA_TTABLE)
		return luaL_error(L, "'kinds' must be a list of event kinds, got %s",
				  luaL_typename(L, -1));
	lua_Unsigned nk = lua_rawlen(L, -1);
	if (nk == 0)
		return luaL_error(L, "'kinds' must name at least one event kind");
	ind->kinds = 0;
	for (lua_Unsigned i = 1; i <= nk; i++) {
		if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
			return luaL_error(L, "kinds[%d] must be a string, got %s", (int)i,
					  luaL_typename(L, -1));
		const char *k = lua_tostring(L, -1);
		size_t j = 0;
		while (j < SCRIPT_NKINDS && strcmp(k, script_kind_names[j]) != 0)
			j++;
		if (j == SCRIPT_NKINDS)
			return luaL_error(L,
					  "kinds[%d]: unknown event kind '%s' (service, training, "
					  "project, satisfaction)",
					  (int)i, k);
		ind->kinds |= MIZAN_KIND_BIT(j);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	int t = lua_getfield(L, -1, "fields");
	if (t != LUA_TNIL) {
		if (t != LUA_TTABLE)
			return luaL_error(L, "'fields' must be a list of event fields, got %s",
					  luaL_typename(L, -1));
		lua_Unsigned nf = lua_rawlen(L, -1);
		if (nf > MAX_FIELDS)
			return luaL_error(L, "'fields' lists %d fields, at most %d are allowed",
					  (int)nf, MAX_FIELDS);
		for (lua_Unsigned i = 1; i <= nf; i++) {
			if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
				return luaL_error(L, "fields[%d] must be a string, got %s", (int)i,
						  luaL_typename(L, -1));
			const char *f = lua_tostring(L, -1);
			size_t j = 0;
			field_defs_make();
			while (j < nfield_defs && strcmp(f, field_defs[j].name) != 0)
				j++;
			if (j == nfield_defs)
				return luaL_error(L, "fields[%d]: unknown event field '%s'", (int)i, f);
			s->fields[s->nfields++] = &field_defs[j];
			if (field_defs[j].type == F_STR || field_defs[j].type == F_KIND)
				s->has_strings = true;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	s->init_ref = meta_function(L, "init", false);
	s->step_ref = meta_function(L, "step", false);
	s->merge_ref = meta_function(L, "merge", true);
	s->final_ref = meta_function(L, "final", false);
	return 0;
}

void script_free(struct script *s)
{
	if (!s)
		return;
	if (s->L) {
		/* Finalizers run in lua_close: give them a fresh budget. */
		script_call_begin(s, "unload");
		lua_close(s->L);
	}
	for (size_t i = 0; i < s->npool; i++)
		free(s->pool[i]);
	free(s);
}

/* ---- the loaders -------------------------------------------------------- */

/* Reads a whole regular file of at most SCRIPT_MAX_BYTES.  0, or a negative
 * errno with why in `why`. */
static int read_script(const char *path, char **text, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(why, whylen, "cannot open: %s", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > (off_t)SCRIPT_MAX_BYTES) {
		snprintf(why, whylen, "larger than %u bytes", SCRIPT_MAX_BYTES);
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			snprintf(why, whylen, "cannot read: %s", strerror(e));
			free(buf);
			close(fd);
			return -e;
		}
		if (k == 0)
			break;
		got += (size_t)k;
		if (got > (size_t)st.st_size) { /* grew while we read */
			snprintf(why, whylen, "changed while being read");
			free(buf);
			close(fd);
			return -EAGAIN;
		}
	}
	close(fd);
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}

int script_load_file(struct registry *r, const char *path, const struct script_limits *lim)
{
	char why[IND_ERRLEN];
	char *text = NULL;
	size_t len = 0;
	struct script *s = NULL;
	struct indicator *ind = NULL;
	int rc;

	if (strlen(path) >= sizeof(s->path)) {
		registry_error(r, path, "path longer than %zu bytes", sizeof(s->path) - 1);
		return -ENAMETOOLONG;
	}
	rc = read_script(path, &text, &len, why, sizeof(why));
	if (rc != 0) {
		registry_error(r, path, "%s: %s", path, why);
		return rc;
	}
	if (len >= 1 && text[0] == LUA_SIGNATURE[0]) {
		registry_error(r, path,
			       "%s: a precompiled (binary) Lua chunk; only source text is accepted",
			       path);
		rc = -EINVAL;
		goto fail;
	}

	s = calloc(1, sizeof(*s));
	ind = calloc(1, sizeof(*ind));
	if (!s || !ind) {
		registry_error(r, path, "%s: out of memory", path);
		rc = -ENOMEM;
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->lim.memory_bytes = lim && lim->memory_bytes ? lim->memory_bytes : DEFAULT_MEMORY;
	s->lim.instructions = lim && lim->instructions ? lim->instructions : DEFAULT_INSTRUCTIONS;
	s->lim.seconds = lim && lim->seconds > 0 ? lim->seconds : DEFAULT_SECONDS;
	s->init_ref = s->step_ref = s->merge_ref = s->final_ref = LUA_NOREF;

	s->L = lua_newstate(script_alloc, s);
	if (!s->L) {
		char cap[32];
		format_bytes(cap, sizeof(cap), s->lim.memory_bytes);
		registry_error(r, path, "%s: cannot create a Lua state within %s", path, cap);
		rc = -ENOMEM;
		goto fail;
	}
	*(struct script **)lua_getextraspace(s->L) = s;
	lua_sethook(s->L, hook, LUA_MASKCOUNT, HOOK_EVERY);

	struct load_args a = {s, ind, text, len};
	rc = script_protected(s, "load", do_load, &a, why);
	if (rc < 0) {
		registry_error(r, path, "%s", why);
		goto fail;
	}

	unsigned char hash[crypto_hash_sha256_BYTES];
	if (sodium_init() < 0) {
		registry_error(r, path, "%s: libsodium failed to initialise", path);
		rc = -EIO;
		goto fail;
	}
	crypto_hash_sha256(hash, (const unsigned char *)text, len);
	memcpy(ind->version, "sha256:", 7);
	for (int i = 0; i < 8; i++)
		snprintf(ind->version + 7 + 2 * i, 3, "%02x", hash[i]);
	snprintf(ind->source, sizeof(ind->source), "script");
	snprintf(ind->origin, sizeof(ind->origin), "%s", path);
	ind->ops = s->merge_ref == LUA_NOREF ? &script_ops_nomerge : &script_ops;
	ind->impl = s;
	free(text);
	/* registry_add owns ind from here, and unloads it when it refuses. */
	return registry_add(r, ind, path);

fail:
	script_free(s);
	free(ind);
	free(text);
	return rc;
}

int script_load_dir(struct registry *r, const char *dir, const struct script_limits *lim)
{
	struct strlist names;
	int rc = indicator_files(r, dir, ".lua", true, "script", &names);
	if (rc < 0)
		return rc;
	int added = 0;
	for (size_t i = 0; i < names.n; i++) {
		char path[512];
		int k = snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
		if (k < 0 || (size_t)k >= sizeof(path))
			registry_error(r, names.v[i], "path too long in %s", dir);
		else if (script_load_file(r, path, lim) == 0)
			added++;
	}
	strlist_free(&names);
	return added;
}
