/* plugin.c - loads C indicator plugins into a registry (see plugin.h).
 *
 * A loaded plugin is a struct plugin_lib: the dl handle and the plugin's
 * description, with a count of the indicators that still use it.  Each
 * indicator's impl is a struct plugin_ind pointing at its lib and at the
 * plugin's struct mizan_indicator.  Unloading the last indicator calls the
 * plugin's fini and dlcloses the handle.
 *
 * Loading checks everything before it calls anything of the plugin but its
 * entry, so a refused plugin never runs code beyond that and its init.
 */
#include "eval/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/log.h"

/* The size of struct mizan_plugin in ABI 1, its first version: a plugin's
 * description must be at least this big.  Members added later are read only
 * when the plugin's `size` says they are there. */
#define PLUGIN_DESC_MIN (offsetof(struct mizan_plugin, fini) + sizeof(void (*)(void)))
/* Likewise for each indicator's description. */
#define INDICATOR_DESC_MIN (offsetof(struct mizan_indicator, fini) + sizeof(void (*)(void *)))

/* The i-th indicator description, stepped through with the plugin's size. */
static const struct mizan_indicator *indicator_at(const struct mizan_plugin *d, size_t i)
{
	return (const struct mizan_indicator *)((const char *)d->indicators + i * d->indicator_size);
}

struct plugin_lib {
	void *dl;
	struct mizan_plugin desc; /* the plugin's description, copied up to its size */
	char file[256];
	char name[64];
	char version[64];
	char label[64]; /* "<name> <version>": the indicators' version */
	int refs;      /* indicators that use this lib */
	int init_done; /* the plugin's init succeeded: call its fini */
};

struct plugin_ind {
	struct plugin_lib *lib;
	const struct mizan_indicator *mi; /* &copy */
	struct mizan_indicator copy;      /* the plugin's, up to its indicator_size */
};

static void lib_release(struct plugin_lib *lib)
{
	if (--lib->refs > 0)
		return;
	if (lib->init_done && lib->desc.fini)
		lib->desc.fini();
	dlclose(lib->dl);
	free(lib);
}

/* ---- the ops ----------------------------------------------------------- */

static void *op_state_new(struct indicator *ind, const struct mizan_params *params, char *err)
{
	const struct plugin_ind *pi = ind->impl;
	/* calloc: zeroed, and aligned for any type (max_align_t). */
	void *state = calloc(1, pi->mi->state_size ? pi->mi->state_size : 1);
	if (!state) {
		snprintf(err, IND_ERRLEN, "%s: out of memory", ind->name);
		return NULL;
	}
	if (pi->mi->init) {
		int rc = pi->mi->init(state, params, &indicator_host);
		if (rc != 0) {
			snprintf(err, IND_ERRLEN, "init of %s failed: %s", ind->name,
				 strerror(rc < 0 ? -rc : rc));
			free(state);
			return NULL;
		}
	}
	return state;
}

static int op_step(struct indicator *ind, void *state, const struct mizan_event *ev, char *err)
{
	const struct plugin_ind *pi = ind->impl;
	pi->mi->step(state, ev);
	return 0;
}

static int op_merge(struct indicator *ind, void *state, void *other, char *err)
{
	const struct plugin_ind *pi = ind->impl;
	int rc = pi->mi->merge(state, other);
	if (rc != 0) {
		snprintf(err, IND_ERRLEN, "merge of %s failed: %s", ind->name,
			 strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	return 0;
}

/* ABI 2: the state as bytes, through the plugin's save or, for plain data,
 * as its state_size bytes. */
static int op_save(struct indicator *ind, void *state, struct buf *out, char *err)
{
	const struct plugin_ind *pi = ind->impl;
	if (!pi->mi->save) {
		buf_add(out, state, pi->mi->state_size);
		return out->oom ? -ENOMEM : 0;
	}
	size_t at = out->len, cap = 256;
	for (;;) {
		if (!buf_reserve(out, cap))
			return -ENOMEM;
		long n = pi->mi->save(state, out->p + at, cap);
		if (n < 0) {
			snprintf(err, IND_ERRLEN, "save of %s failed: %s", ind->name,
				 strerror((int)-n));
			return (int)n;
		}
		if ((size_t)n <= cap) {
			out->len = at + (size_t)n;
			return 0;
		}
		cap = (size_t)n;
	}
}

static int op_load(struct indicator *ind, void *state, const void *data, size_t len, char *err)
{
	const struct plugin_ind *pi = ind->impl;
	if (!pi->mi->load) {
		if (len != pi->mi->state_size) {
			snprintf(err, IND_ERRLEN, "a kept state of %s is %zu bytes, not %zu", ind->name,
				 len, pi->mi->state_size);
			return -EINVAL;
		}
		memcpy(state, data, len);
		return 0;
	}
	int rc = pi->mi->load(state, data, len);
	if (rc != 0)
		snprintf(err, IND_ERRLEN, "load of %s failed: %s", ind->name,
			 strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : rc ? -EINVAL : 0;
}

static int op_final(struct indicator *ind, void *state, struct mizan_result *out, char *err)
{
	const struct plugin_ind *pi = ind->impl;
	memset(out, 0, sizeof(*out));
	out->value = NAN;
	pi->mi->final(state, out);
	if (out->nextra < 0 || out->nextra > MIZAN_MAX_EXTRA) {
		snprintf(err, IND_ERRLEN, "final of %s gave %d extra figures (0 to %d allowed)",
			 ind->name, out->nextra, MIZAN_MAX_EXTRA);
		return -ERANGE;
	}
	for (int i = 0; i < out->nextra; i++) {
		if (!out->extra[i].name) {
			snprintf(err, IND_ERRLEN, "final of %s gave extra figure %d without a name",
				 ind->name, i);
			return -EINVAL;
		}
	}
	return 0;
}

static void op_state_free(struct indicator *ind, void *state)
{
	const struct plugin_ind *pi = ind->impl;
	if (!state)
		return;
	if (pi->mi->fini)
		pi->mi->fini(state);
	free(state);
}

static void op_unload(struct indicator *ind)
{
	struct plugin_ind *pi = ind->impl;
	if (!pi)
		return;
	ind->impl = NULL;
	lib_release(pi->lib);
	free(pi);
}

/* Three tables, so that ops->merge is NULL exactly when the plugin cannot
 * merge, and ops->save exactly when its states cannot be kept (ABI 1). */
static const struct indicator_ops plugin_ops_keep = {
	.state_new = op_state_new,
	.step = op_step,
	.merge = op_merge,
	.save = op_save,
	.load = op_load,
	.final = op_final,
	.state_free = op_state_free,
	.unload = op_unload,
};

static const struct indicator_ops plugin_ops_merge = {
	.state_new = op_state_new,
	.step = op_step,
	.merge = op_merge,
	.final = op_final,
	.state_free = op_state_free,
	.unload = op_unload,
};

static const struct indicator_ops plugin_ops_nomerge = {
	.state_new = op_state_new,
	.step = op_step,
	.merge = NULL,
	.final = op_final,
	.state_free = op_state_free,
	.unload = op_unload,
};

int plugin_is_plugin(const struct indicator *ind)
{
	return ind->ops == &plugin_ops_merge || ind->ops == &plugin_ops_nomerge ||
	       ind->ops == &plugin_ops_keep;
}

/* ---- loading ----------------------------------------------------------- */

static int name_ok(const char *name)
{
	size_t n = 0;
	if (!name)
		return 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return n >= 1 && n < sizeof(((struct indicator *)0)->name);
}

/* Checks one indicator of the plugin; 0, or -EINVAL with the reason recorded. */
static int check_indicator(struct registry *r, const char *path, const struct mizan_indicator *mi,
			   size_t i, unsigned abi, size_t isize)
{
	if (!name_ok(mi->name)) {
		registry_error(r, path, "indicator %zu: name '%s' is not [a-z0-9_], 1 to 63 characters",
			       i, mi->name ? mi->name : "(null)");
		return -EINVAL;
	}
	if (!mi->step) {
		registry_error(r, path, "indicator '%s' has no step function", mi->name);
		return -EINVAL;
	}
	if (!mi->final) {
		registry_error(r, path, "indicator '%s' has no final function", mi->name);
		return -EINVAL;
	}
	if (mi->kinds == 0) {
		registry_error(r, path, "indicator '%s' reads no event kinds", mi->name);
		return -EINVAL;
	}
	unsigned known = MIZAN_KIND_BIT(MIZAN_SERVICE) | MIZAN_KIND_BIT(MIZAN_TRAINING) |
			 MIZAN_KIND_BIT(MIZAN_PROJECT) | MIZAN_KIND_BIT(MIZAN_SATISFACTION);
	if (mi->kinds & ~known) {
		registry_error(r, path, "indicator '%s' reads unknown event kinds 0x%x", mi->name,
			       mi->kinds & ~known);
		return -EINVAL;
	}
	if (abi >= 2 && isize >= offsetof(struct mizan_indicator, load) + sizeof(mi->load) &&
	    !mi->save != !mi->load) {
		registry_error(r, path, "indicator '%s' has %s without %s", mi->name,
			       mi->save ? "save" : "load", mi->save ? "load" : "save");
		return -EINVAL;
	}
	return 0;
}

/* Checks the description; 0, or a negative errno with the reason recorded. */
static int check_plugin(struct registry *r, const char *path, const struct mizan_plugin *d)
{
	int rc = 0;
	if (!d->name || !*d->name || strlen(d->name) >= sizeof(((struct plugin_lib *)0)->name)) {
		registry_error(r, path, "the plugin has no name (or one of 64 bytes or more)");
		return -EINVAL;
	}
	if (!d->version || !*d->version) {
		registry_error(r, path, "the plugin has no version");
		return -EINVAL;
	}
	if (!d->indicators || d->nindicators == 0) {
		registry_error(r, path, "provides no indicators");
		return -EINVAL;
	}
	if (d->indicator_size < INDICATOR_DESC_MIN) {
		registry_error(r, path,
			       "indicator descriptions are %zu bytes; this host needs at least %zu "
			       "(set them with MIZAN_INDICATORS)",
			       d->indicator_size, (size_t)INDICATOR_DESC_MIN);
		return -EINVAL;
	}
	for (size_t i = 0; i < d->nindicators; i++) {
		rc = check_indicator(r, path, indicator_at(d, i), i, d->abi, d->indicator_size);
		if (rc)
			return rc;
	}
	/* Names: unique within the plugin and not yet registered.  Checked here
	 * rather than left to registry_add so that the plugin is refused whole. */
	for (size_t i = 0; i < d->nindicators; i++) {
		const char *name = indicator_at(d, i)->name;
		const struct indicator *other = registry_find(r, name);
		if (other && !registry_may_replace(r, name)) {
			rc = registry_clash(r, path, other);
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(indicator_at(d, j)->name, name) == 0) {
				registry_error(r, path, "indicator '%s' is listed twice", name);
				rc = -EEXIST;
				break;
			}
		}
	}
	return rc;
}

static struct indicator *indicator_make(struct plugin_lib *lib, const struct mizan_indicator *mi)
{
	struct indicator *ind = calloc(1, sizeof(*ind));
	struct plugin_ind *pi = calloc(1, sizeof(*pi));
	if (!ind || !pi) {
		free(ind);
		free(pi);
		return NULL;
	}
	pi->lib = lib;
	memcpy(&pi->copy, mi,
	       lib->desc.indicator_size < sizeof(pi->copy) ? lib->desc.indicator_size : sizeof(pi->copy));
	pi->mi = mi = &pi->copy;
	lib->refs++;
	snprintf(ind->name, sizeof(ind->name), "%s", mi->name);
	snprintf(ind->unit, sizeof(ind->unit), "%s", mi->unit ? mi->unit : "");
	snprintf(ind->description, sizeof(ind->description), "%s",
		 mi->description ? mi->description : "");
	ind->kinds = mi->kinds;
	snprintf(ind->source, sizeof(ind->source), "plugin");
	snprintf(ind->origin, sizeof(ind->origin), "%s", lib->file);
	snprintf(ind->version, sizeof(ind->version), "%s", lib->label);
	/* ABI 2 members are read only from an ABI-2 description that has them. */
	bool v2 = lib->desc.abi >= 2 &&
		  lib->desc.indicator_size >= offsetof(struct mizan_indicator, load) + sizeof(mi->load);
	if (!v2)
		pi->copy.save = NULL, pi->copy.load = NULL;
	ind->ops = !mi->merge ? &plugin_ops_nomerge : v2 ? &plugin_ops_keep : &plugin_ops_merge;
	ind->impl = pi;
	return ind;
}

int plugin_load_file(struct registry *r, const char *path)
{
	struct plugin_lib *lib = NULL;
	void *dl = NULL;
	int rc;

	if (strlen(path) >= sizeof(lib->file)) {
		registry_error(r, path, "the path is longer than %zu bytes", sizeof(lib->file) - 1);
		return -ENAMETOOLONG;
	}
	dlerror();
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *e = dlerror();
		registry_error(r, path, "%s", e ? e : "dlopen failed");
		return -ENOEXEC;
	}
	/* POSIX: a data pointer and a function pointer convert through memcpy. */
	void *sym = dlsym(dl, MIZAN_PLUGIN_ENTRY_NAME);
	if (!sym) {
		registry_error(r, path, "no %s symbol: not a Mizan plugin", MIZAN_PLUGIN_ENTRY_NAME);
		rc = -ENOENT;
		goto fail;
	}
	mizan_plugin_entry_fn entry;
	memcpy(&entry, &sym, sizeof(entry));
	const struct mizan_plugin *d = entry();
	if (!d) {
		registry_error(r, path, "%s returned NULL", MIZAN_PLUGIN_ENTRY_NAME);
		rc = -EINVAL;
		goto fail;
	}
	/* abi and size first, before anything else is read. */
	if (d->abi < MIZAN_PLUGIN_ABI_MIN || d->abi > MIZAN_PLUGIN_ABI) {
		registry_error(r, path, "built for plugin ABI %u; this host speaks %d to %d",
			       (unsigned)d->abi, MIZAN_PLUGIN_ABI_MIN, MIZAN_PLUGIN_ABI);
		rc = -EPROTO;
		goto fail;
	}
	if (d->size < PLUGIN_DESC_MIN) {
		registry_error(r, path, "plugin description is %u bytes; this host needs at least %zu",
			       (unsigned)d->size, (size_t)PLUGIN_DESC_MIN);
		rc = -EPROTO;
		goto fail;
	}

	lib = calloc(1, sizeof(*lib));
	if (!lib) {
		registry_error(r, path, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	/* Our copy: members the plugin's (older) struct lacks stay zero. */
	memcpy(&lib->desc, d, d->size < sizeof(lib->desc) ? d->size : sizeof(lib->desc));
	lib->dl = dl;
	snprintf(lib->file, sizeof(lib->file), "%s", path);

	rc = check_plugin(r, path, &lib->desc);
	if (rc)
		goto fail;
	snprintf(lib->name, sizeof(lib->name), "%s", lib->desc.name);
	snprintf(lib->version, sizeof(lib->version), "%s", lib->desc.version);
	int len = snprintf(lib->label, sizeof(lib->label), "%s %s", lib->name, lib->version);
	if (len < 0 || (size_t)len >= sizeof(lib->label)) {
		registry_error(r, path, "the plugin's name and version are longer than %zu bytes",
			       sizeof(lib->label) - 1);
		rc = -EINVAL;
		goto fail;
	}

	if (lib->desc.init) {
		char msg[IND_ERRLEN] = "";
		rc = lib->desc.init(&indicator_host, msg, sizeof(msg));
		if (rc != 0) {
			msg[sizeof(msg) - 1] = '\0';
			registry_error(r, path, "plugin init failed: %s",
				       *msg ? msg : strerror(rc < 0 ? -rc : rc));
			rc = rc < 0 ? rc : -rc;
			goto fail;
		}
		lib->init_done = 1;
	}

	/* From here the indicators own the lib: the last one unloaded closes it.
	 * A reference of our own keeps it alive while we add them. */
	lib->refs = 1;
	size_t n0 = r->n;
	for (size_t i = 0; i < lib->desc.nindicators; i++) {
		/* plugins.replace: the one found first stays, this one is skipped. */
		const struct indicator *kept = registry_find(r, indicator_at(&lib->desc, i)->name);
		if (kept) {
			registry_skip(r, path, kept);
			continue;
		}
		struct indicator *ind = indicator_make(lib, indicator_at(&lib->desc, i));
		if (!ind) {
			registry_error(r, path, "out of memory");
			rc = -ENOMEM;
			break;
		}
		/* On refusal registry_add unloads (releases the lib) and frees ind. */
		rc = registry_add(r, ind, path);
		if (rc)
			break;
	}
	if (rc) {
		/* Undo: nothing of a refused plugin stays registered. */
		while (r->n > n0) {
			struct indicator *ind = r->v[--r->n];
			ind->ops->unload(ind);
			free(ind);
		}
	} else {
		log_info("%s: plugin %s %s, %zu indicators", path, lib->name, lib->version,
			 lib->desc.nindicators);
	}
	lib_release(lib); /* our own reference: closes the lib if nothing was added */
	return rc;

fail:
	free(lib);
	dlclose(dl);
	return rc;
}

int plugin_load_dir(struct registry *r, const char *dir)
{
	struct strlist names;
	int rc = indicator_files(r, dir, ".so", false, "plugin", &names);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < names.n; i++) {
		char path[4096];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			registry_error(r, names.v[i], "the path is too long");
			continue;
		}
		/* Regular files (or links to them) only. */
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (plugin_load_file(r, path) == 0)
			rc++;
	}
	strlist_free(&names);
	return rc;
}

/* ---- listing ----------------------------------------------------------- */

int plugin_foreach(const struct registry *r,
		   void (*fn)(const struct plugin_info *info, void *ud), void *ud)
{
	const char **names = malloc((r->n ? r->n : 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		if (!plugin_is_plugin(r->v[i]))
			continue;
		const struct plugin_lib *lib = ((const struct plugin_ind *)r->v[i]->impl)->lib;
		/* Seen already: a plugin is listed where its first indicator is. */
		size_t j;
		for (j = 0; j < i; j++)
			if (plugin_is_plugin(r->v[j]) &&
			    ((const struct plugin_ind *)r->v[j]->impl)->lib == lib)
				break;
		if (j < i)
			continue;
		size_t k = 0;
		for (j = i; j < r->n; j++)
			if (plugin_is_plugin(r->v[j]) &&
			    ((const struct plugin_ind *)r->v[j]->impl)->lib == lib)
				names[k++] = r->v[j]->name;
		struct plugin_info info = {
			.name = lib->name,
			.version = lib->version,
			.file = lib->file,
			.nindicators = k,
			.indicators = names,
			.abi = lib->desc.abi,
		};
		fn(&info, ud);
	}
	free(names);
	return 0;
}

static void print_one(const struct plugin_info *info, void *ud)
{
	FILE *out = ud;
	fprintf(out, "%s %s %s:", info->name, info->version, info->file);
	for (size_t i = 0; i < info->nindicators; i++)
		fprintf(out, "%s %s", i ? "," : "", info->indicators[i]);
	if (info->abi < 2)
		fprintf(out, " (plugin ABI %u: its states are not kept, every period its events touch "
			     "is rescanned)",
			info->abi);
	fputc('\n', out);
}

int plugin_print(const struct registry *r, FILE *out)
{
	return plugin_foreach(r, print_one, out);
}
