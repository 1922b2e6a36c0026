/* script.h - indicators written in Lua 5.4, each in its own sandbox.
 *
 * A script is a file that returns a table describing one indicator (name,
 * unit, description, kinds, fields) and the fold as Lua functions (init,
 * step, optional merge, final); see the files in scripts/ for examples.
 * The loader checks the table and adds a struct indicator whose ops
 * (indicator.h) run the functions.
 *
 * The sandbox, one per script:
 *  - one lua_State per script, from an allocator that refuses to go beyond
 *    memory_bytes (all states of the script's folds live in it);
 *  - only the base, string, table, math and utf8 libraries, and of base only
 *    an allow list (no dofile, loadfile, require, collectgarbage; `load`
 *    takes a string of source text only, its mode argument ignored;
 *    `print` goes to the log, 100 lines at most);
 *    string.dump is removed and the string metatable is locked;
 *    setmetatable refuses __gc and xpcall runs its handler after unwinding
 *    (Lua runs both with hooks off, out of reach of the budget);
 *  - source only: precompiled chunks are refused, in the file and in `load`;
 *  - every call into the script (the load itself, init, step, merge, final)
 *    runs under an instruction budget and a wall-clock deadline, enforced by
 *    a count hook.  Once a limit is hit the hook raises at every
 *    instruction, so a script cannot catch its way out with pcall; the call
 *    fails and its fold state is dead (it may only be freed).
 *  The count hook does not run inside C functions: a backtracking pattern
 *  (string.find and friends) can run for long inside one call.  Only the
 *  process running the evaluation can be stopped from outside then.
 *
 * Errors name the script: "scripts/x.lua:12: attempt to ...",
 * "scripts/x.lua: instruction budget of 1000000 exceeded in step",
 * "scripts/x.lua: wall-clock deadline of 2 s exceeded in step",
 * "scripts/x.lua: memory limit of 64 MiB reached in init".  The ops return
 * them with -EINVAL (the script's own error), -ETIMEDOUT (the budget or
 * the deadline) and -ENOMEM (the memory limit).
 *
 * Threads: like a plugin, one script indicator must not be called from two
 * threads at once (its states share one lua_State).  Different scripts may.
 */
#ifndef MIZAN_SCRIPT_H
#define MIZAN_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "eval/indicator.h"

/* A zero (or, for seconds, not positive) limit means the default:
 * 64 MiB, 100000000 instructions, 5 s.  There is no "unlimited".  The
 * loader copies the limits: the struct may be freed after the call. */
struct script_limits {
	size_t memory_bytes;   /* per Lua state; the allocator refuses beyond it */
	uint64_t instructions; /* per call into the script (init/step/merge/final) */
	double seconds;        /* wall-clock deadline per call (checked in the count hook) */
};

/* Loads every *.lua file directly in `dir` (not hidden, not in
 * subdirectories), in byte order of their names, each with
 * script_load_file, adding one indicator per script to r; refusals
 * (syntax error, bad metadata, error at load, a name that is not a regular
 * file) go to registry_error with the reason.  Returns the number of
 * indicators added, or a negative errno when the directory cannot be read
 * or listed (also recorded against `dir`).  lim may be NULL (the
 * defaults).  The thread that owns r. */
int script_load_dir(struct registry *r, const char *dir, const struct script_limits *lim);

/* Loads one file (used by the above and by `mizan test-kpi`).  0 when the
 * indicator was added, r owning it from then on (registry_free unloads it,
 * closing its lua_State); otherwise a negative errno and the reason
 * recorded with registry_error against `path`: -ENAMETOOLONG a path of 256
 * bytes or more, the errno of a file that cannot be read, -EFBIG one over
 * 1 MiB, -EINVAL a precompiled chunk, a script error or bad metadata,
 * -ETIMEDOUT or -ENOMEM a limit hit while the file ran, -EEXIST a name
 * already registered.  `path` is copied, kept as the indicator's origin and
 * names the script in its error messages.  lim may be NULL (the defaults).
 * The thread that owns r. */
int script_load_file(struct registry *r, const char *path, const struct script_limits *lim);

/* The VM instructions the count hook has counted in the calling thread
 * since it started, in every script (to within 1000 per call: the hook
 * counts in steps of 1000, across calls of the same script).  The
 * difference across a stretch of work is what that work used: the engine
 * charges each KPI's per-run budget (evaluation.run_instructions) with it. */
uint64_t script_instructions_counted(void);

#endif
