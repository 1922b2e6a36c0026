/* indicator.h - one interface over C plugin and Lua script indicators.
 *
 * The engine (kpi.c) folds events through a struct indicator without
 * knowing whether a plugin (plugin.c) or a script (script.c) is behind it.
 * Both loaders add what they load to a struct registry and record what they
 * refused, with the file and the reason.
 *
 * A registry starts zeroed (`struct registry r = {0};`), owns every
 * indicator in it (registry_free unloads them) and is used by one thread at
 * a time, its indicators and their states too.
 */
#ifndef MIZAN_INDICATOR_H
#define MIZAN_INDICATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "model/config.h"
#include "model/event.h"
#include "mizan/plugin.h"
#include "util/buf.h"

#define IND_ERRLEN 256

/* Where each field of the ingestion contract (model/event.h) lives in the
 * plugins' view of an event, struct mizan_event: its offset and size (a
 * size of 0: not in the view, as attrs).  The one place the contract meets
 * the public struct; kpi_event_view and the script host's fields both come
 * from it. */
struct event_member {
	size_t off, size;
};
extern const struct event_member event_members[F_NFIELDS];

/* A KPI's parameters, as the configuration gives them (the type named in
 * plugin.h).  Keys and values are borrowed from the configuration. */
struct mizan_params {
	size_t n;
	const char *const *keys;
	const char *const *values;
};

/* The value of key, borrowed from p, or NULL when unset (p may be NULL). */
const char *params_get(const struct mizan_params *p, const char *key);
/* The value of key as a number, or `otherwise` when unset or not a number. */
double params_number(const struct mizan_params *p, const char *key, double otherwise);

struct indicator;

struct indicator_ops {
	/* A new state, initialised for these params (borrowed for the call),
	 * freed with state_free.  NULL with err filled on failure (the
	 * indicator's init failed, out of memory, a script error). */
	void *(*state_new)(struct indicator *ind, const struct mizan_params *params, char *err);
	/* 0, or a negative errno with err filled: -EINVAL a script error (or
	 * a state that failed before), -ETIMEDOUT a script's instruction
	 * budget or deadline, -ENOMEM its memory limit.  After a failure the
	 * state may only be freed. */
	int (*step)(struct indicator *ind, void *state, const struct mizan_event *ev, char *err);
	/* Folds `other` into `state`; `other` must still be freed.  0, or a
	 * negative errno with err filled (as step; a plugin's own merge error).
	 * NULL when the indicator cannot merge. */
	int (*merge)(struct indicator *ind, void *state, void *other, char *err);
	/* Appends the state, as bytes, to *out; load restores such bytes into
	 * a state fresh from state_new (with the same params).  0, or a
	 * negative errno with err filled (-ENOMEM, a script's state that is
	 * not plain values, a plugin's own error).  Both NULL when the
	 * indicator's states cannot be kept: it is then rescanned. */
	int (*save)(struct indicator *ind, void *state, struct buf *out, char *err);
	int (*load)(struct indicator *ind, void *state, const void *data, size_t len, char *err);
	/* Fills *out.  0, or a negative errno with err filled (as step;
	 * -ERANGE a plugin that gave more extra figures than there is room
	 * for, -EINVAL one without a name); *out then means nothing. */
	int (*final)(struct indicator *ind, void *state, struct mizan_result *out, char *err);
	void (*state_free)(struct indicator *ind, void *state);
	/* Releases what the loader made for this indicator (not the struct). */
	void (*unload)(struct indicator *ind);
};

struct indicator {
	char name[64];
	char unit[32];
	char description[256];
	unsigned kinds;             /* MIZAN_KIND_BIT()s */
	char source[16];            /* "plugin" or "script" */
	char origin[256];           /* the file it came from */
	char version[64];           /* plugin version, or "sha256:<first 16 hex>" of the script */
	const struct indicator_ops *ops;
	void *impl;                 /* the loader's own data */
	int index;                  /* position in the registry */
};

struct load_error {
	char file[256];
	char reason[IND_ERRLEN];
};

struct registry {
	struct indicator **v;
	size_t n, cap;
	struct load_error *errors;
	size_t nerrors, errcap;
	/* Names a later file may provide again (plugins.replace; borrowed, may
	 * be NULL): the indicator registered first stays, the later one is
	 * skipped and noted here instead of refusing its file. */
	const struct strlist *replace;
	struct load_error *notes;
	size_t nnotes, notecap;
};

/* Takes ownership of `ind` (allocated with malloc/calloc), whatever the
 * outcome.  0; or, having unloaded and freed ind and recorded why against
 * `file`, -EEXIST for a name that is already registered or -ENOMEM.  A
 * name already registered that r->replace lists is noted (registry_skip),
 * not refused; still -EEXIST. */
int registry_add(struct registry *r, struct indicator *ind, const char *file);
/* The refusal of a name that `other` registered first, against `file`,
 * naming both files: "indicator 'x' is already provided by OTHER, found
 * earlier in the search path ...".  -EEXIST. */
int registry_clash(struct registry *r, const char *file, const struct indicator *other);
/* Whether a name already registered may be provided again by a later file
 * (listed in r->replace): then registry_skip notes that the later one is
 * skipped. */
bool registry_may_replace(const struct registry *r, const char *name);
void registry_skip(struct registry *r, const char *file, const struct indicator *kept);
/* Records a refusal (file and reason are copied, cut to their fields) and
 * logs it.  When memory runs out the refusal is lost, neither recorded nor
 * logged. */
void registry_error(struct registry *r, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The indicator of that name, borrowed from r (valid until registry_free),
 * or NULL. */
struct indicator *registry_find(const struct registry *r, const char *name);
/* Unloads every indicator (ops->unload), frees them and the refusals, and
 * leaves r zeroed.  No state of its indicators may be alive. */
void registry_free(struct registry *r);

/* The names of the entries of dir that end with suffix (and are longer
 * than it), hidden ones left out when skip_hidden, in byte order: what a
 * loader loads from a folder.  The names go into *out (the caller frees
 * them with strlist_free).  0, or a negative errno recorded against dir in
 * r ("cannot read the <what> directory: ...", or out of memory); *out is
 * then empty. */
int indicator_files(struct registry *r, const char *dir, const char *suffix, bool skip_hidden,
		    const char *what, struct strlist *out);

/* The host services handed to plugins (log, alloc, params): constant,
 * callable from any thread. */
extern const struct mizan_host indicator_host;

#endif
