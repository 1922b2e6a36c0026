/* plugin.h - loads C indicator plugins (shared objects) into a registry.
 *
 * A plugin is a shared object exporting mizan_plugin_entry (see
 * include/mizan/plugin.h).  Each of its indicators becomes a struct
 * indicator in the registry, with source "plugin", origin the file and
 * version "<plugin name> <plugin version>".  The indicators of one plugin
 * share its dl handle: when the last of them is unloaded (registry_free)
 * the plugin's fini is called (if it has an init and that init succeeded)
 * and the handle closed.
 *
 * A plugin is refused whole: when any check fails, its refusal is recorded
 * with registry_error (the file and the reason), it is dlclosed, and nothing
 * of it stays registered.  Reasons:
 *   - dlopen fails                     "<dlerror()>"
 *   - no entry symbol                  "no mizan_plugin_entry symbol: not a Mizan plugin"
 *   - another ABI                      "built for plugin ABI 2; this host speaks 1"
 *   - no description                   "mizan_plugin_entry returned NULL"
 *   - a description that is too small  "plugin description is 24 bytes; this host needs at least 56"
 *                                      "indicator descriptions are 8 bytes; this host needs at least 72 ..."
 *   - no name or version               "the plugin has no name (or one of 64 bytes or more)" / "... no version"
 *                                      "the plugin's name and version are longer than 63 bytes"
 *   - no indicators                    "provides no indicators"
 *   - a bad indicator                  "indicator 1: name 'Bad-Name' is not [a-z0-9_], 1 to 63 characters" (from 0)
 *                                      "indicator 'x' has no step function" / "... no final function"
 *                                      "indicator 'x' reads no event kinds" / "... unknown event kinds 0x10"
 *   - a name already registered        "indicator 'x' is already provided by <file>, found earlier ..."
 *     (unless r->replace lists it: then only that indicator is skipped, noted in r->notes)
 *                                      "indicator 'x' is listed twice"
 *   - the plugin's init fails          "plugin init failed: <its message, or strerror of its return>"
 *   - a path of 256 bytes or more, or memory running out
 *
 * Threads: loading and listing use the registry, so they run on the thread
 * that owns it; the host calls one plugin from one thread at a time.
 */
#ifndef MIZAN_PLUGIN_LOADER_H
#define MIZAN_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdio.h>

#include "eval/indicator.h"

/* Loads every regular file named *.so directly in `dir` (not below it), in
 * byte order of their names, each with plugin_load_file.  Returns the number
 * of plugins loaded, or a negative errno when the directory cannot be read
 * or listed (also recorded against `dir`).  Refused plugins do not stop the
 * others. */
int plugin_load_dir(struct registry *r, const char *dir);

/* Loads one plugin with dlopen(RTLD_NOW | RTLD_LOCAL) and adds its
 * indicators to r, which owns them from then on (path is copied).  0, or a
 * negative errno with the refusal recorded in r (the plugin is then
 * closed). */
int plugin_load_file(struct registry *r, const char *path);

/* One loaded plugin, for `mizan plugins`.  Everything is borrowed from the
 * registry and valid during the callback only. */
struct plugin_info {
	const char *name;    /* the plugin's own name, e.g. "strategy" */
	const char *version; /* the plugin's version, e.g. "1.0.0" */
	const char *file;    /* the path it was loaded from */
	size_t nindicators;
	const char *const *indicators; /* the names of its registered indicators */
	unsigned abi;                  /* the plugin ABI it was built for */
};

/* Calls fn once per plugin that has indicators in r, in the order the
 * plugins were loaded, on the calling thread.  0, or -ENOMEM (fn not
 * called). */
int plugin_foreach(const struct registry *r,
		   void (*fn)(const struct plugin_info *info, void *ud), void *ud);

/* Writes one line per plugin to out (borrowed):  name version file: ind1,
 * ind2, ...  (and, for a plugin of ABI 1, that its indicators are
 * rescanned).  0, or -ENOMEM. */
int plugin_print(const struct registry *r, FILE *out);

/* True when ind was loaded by this loader. */
int plugin_is_plugin(const struct indicator *ind);

#endif
