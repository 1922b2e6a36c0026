/* script_internal.h - what the two halves of the Lua indicator host share:
 * script.c (the sandbox, the protected calls, the loading) and script_fold.c
 * (the fold calls).  Not for other files.
 *
 * A struct script is one loaded script: its lua_State, its limits and the
 * state of the call in progress.  It belongs to the indicator whose impl it
 * is, and like that indicator is used by one thread at a time.
 */
#ifndef MIZAN_EVAL_SCRIPT_INTERNAL_H
#define MIZAN_EVAL_SCRIPT_INTERNAL_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eval/indicator.h"
#include "eval/script.h"

#define MAX_FIELDS 32
#define MAX_POOL 256 /* distinct extra names and notes kept per script */

/* ---- the fields a script can ask for ---------------------------------- */

enum ftype { F_STR, F_DBL, F_I64, F_BOOL, F_KIND };

struct field_def {
	const char *name;
	size_t off, end; /* [off, end) in struct mizan_event */
	enum ftype type;
};

/* The event kinds by enum mizan_kind, as scripts name them. */
#define SCRIPT_NKINDS 4
extern const char *const script_kind_names[SCRIPT_NKINDS];

struct script {
	lua_State *L;
	char path[256];
	struct script_limits lim;

	/* the allocator */
	size_t mem_used;
	bool mem_refused; /* an allocation was refused during this call */

	/* the current call, for the hook */
	const char *call; /* "load", "init", "step", ... */
	uint64_t used;    /* instructions counted so far in this call */
	double t0;        /* monotonic seconds at the first hook of the call */
	bool t0_set;
	bool tripped; /* a limit was hit in this call: the hook raises at every instruction */
	char tripmsg[IND_ERRLEN];

	int init_ref, step_ref, merge_ref, final_ref;
	int nfields;
	bool has_strings;
	const struct field_def *fields[MAX_FIELDS];

	size_t nprint;
	char *pool[MAX_POOL]; /* extra names and notes handed out in results */
	size_t npool;
};

/* Writes a message of at most IND_ERRLEN bytes into err (truncated if longer). */
__attribute__((format(printf, 2, 3))) void script_errf(char *err, const char *fmt, ...);

/* Starts call `what` ("init", "step", ...): resets the per-call counters and,
 * after a limit tripped, the hook. */
void script_call_begin(struct script *s, const char *what);
/* Turns the outcome of a protected call into 0, or a negative errno with
 * err filled, naming the script: -ETIMEDOUT a limit was hit (the
 * instruction budget or the wall-clock deadline), -ENOMEM the memory limit,
 * -EINVAL the script raised an error.  Leaves the stack at `top`. */
int script_call_end(struct script *s, int status, int top, char *err);
/* Runs fn(ud) in protected mode as call `what` (fn finds ud at index 1).
 * 0, or a negative errno with err filled, as script_call_end. */
int script_protected(struct script *s, const char *what, lua_CFunction fn, void *ud, char *err);

/* Whether n[0..len) is a name an indicator or an extra figure may have:
 * [a-z0-9_], 1 to 63 characters. */
bool script_valid_name(const char *n, size_t len);

/* Closes the script's lua_State and frees it (NULL is a no-op). */
void script_free(struct script *s);

/* The ops of a script indicator, with and without merge (script_fold.c). */
extern const struct indicator_ops script_ops, script_ops_nomerge;

#endif
