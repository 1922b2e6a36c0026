/* search.c - the search path of indicator folders, and loading the
 * registry from it (kpi_registry_load, declared in kpi.h).  See search.h. */
#include "eval/search.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/kpi.h"
#include "eval/plugin.h"
#include "eval/script.h"

/* Set by the build from its prefix (meson.build); these are the fallbacks
 * of a build that does not say. */
#ifndef MIZAN_PLUGINDIR
#define MIZAN_PLUGINDIR "/usr/local/lib/mizan/plugins"
#endif
#ifndef MIZAN_SCRIPTDIR
#define MIZAN_SCRIPTDIR "/usr/local/share/mizan/scripts"
#endif

const char search_plugindir[] = MIZAN_PLUGINDIR;
const char search_scriptdir[] = MIZAN_SCRIPTDIR;

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The real path of `path` into out (PATH_MAX), or path itself when it has
 * none (it is not there). */
static void real_or_same(const char *path, char *out)
{
	if (!realpath(path, out)) {
		size_t n = strnlen(path, PATH_MAX - 1);
		memcpy(out, path, n);
		out[n] = '\0';
	}
}

/* Appends dir unless a folder with the same real path is listed already. */
static int add_dir(struct strlist *l, struct strlist *seen, const char *dir)
{
	char real[PATH_MAX];
	if (!*dir)
		return 0;
	real_or_same(dir, real);
	if (strlist_has(seen, real))
		return 0;
	if (strlist_push(seen, real) < 0 || strlist_push(l, dir) < 0)
		return -ENOMEM;
	return 0;
}

/* Each folder of a colon-separated list. */
static int add_env(struct strlist *l, struct strlist *seen, const char *var)
{
	const char *v = getenv(var);
	int rc = 0;
	while (v && *v && rc == 0) {
		const char *end = strchr(v, ':');
		size_t n = end ? (size_t)(end - v) : strlen(v);
		char dir[PATH_MAX];
		if (n && n < sizeof(dir)) {
			memcpy(dir, v, n);
			dir[n] = '\0';
			rc = add_dir(l, seen, dir);
		}
		v = end ? end + 1 : v + n;
	}
	return rc;
}

/* One kind of folder: environment, settings, beside the binary, installed. */
static int make_list(struct strlist *l, const char *var, const struct strlist *set,
		     const char *beside, const char *installed)
{
	struct strlist seen = {0};
	int rc = add_env(l, &seen, var);
	for (size_t i = 0; rc == 0 && i < set->n; i++)
		rc = add_dir(l, &seen, set->v[i]);
	char exe[PATH_MAX], dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (rc == 0 && n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		int len = snprintf(dir, sizeof(dir), "%s/%s", exe, beside);
		if (len > 0 && (size_t)len < sizeof(dir) && is_dir(dir))
			rc = add_dir(l, &seen, dir);
	}
	if (rc == 0 && is_dir(installed))
		rc = add_dir(l, &seen, installed);
	strlist_free(&seen);
	return rc;
}

int search_path_get(struct search_path *sp, const struct config *c)
{
	*sp = (struct search_path){0};
	int rc = make_list(&sp->plugins, "MIZAN_PLUGIN_PATH", &c->plugin_dirs, "plugins",
			   MIZAN_PLUGINDIR);
	if (rc == 0)
		rc = make_list(&sp->scripts, "MIZAN_SCRIPT_PATH", &c->script_dirs, "scripts",
			       MIZAN_SCRIPTDIR);
	if (rc < 0)
		search_path_free(sp);
	return rc;
}

void search_path_free(struct search_path *sp)
{
	strlist_free(&sp->plugins);
	strlist_free(&sp->scripts);
}

/* Loads the files of one folder, each file once (by its real path). */
static void load_dir(struct registry *r, const char *dir, bool scripts,
		     const struct script_limits *lim, struct strlist *loaded)
{
	struct strlist names;
	if (indicator_files(r, dir, scripts ? ".lua" : ".so", scripts, scripts ? "script" : "plugin",
			    &names) < 0)
		return;
	for (size_t i = 0; i < names.n; i++) {
		char path[PATH_MAX], real[PATH_MAX];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			registry_error(r, names.v[i], "the path is too long in %s", dir);
			continue;
		}
		/* Regular files (or links to them) only. */
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		real_or_same(path, real);
		if (strlist_has(loaded, real))
			continue;
		if (strlist_push(loaded, real) < 0) {
			registry_error(r, path, "out of memory");
			continue;
		}
		if (scripts)
			script_load_file(r, path, lim);
		else
			plugin_load_file(r, path);
	}
	strlist_free(&names);
}

void kpi_registry_load(struct registry *r, const struct config *c)
{
	struct search_path sp;
	struct strlist loaded = {0};
	struct script_limits lim = {
		.memory_bytes = (size_t)c->script_memory_mib << 20,
		.instructions = (uint64_t)c->script_instructions,
		.seconds = c->script_seconds,
	};
	r->replace = &c->plugin_replace;
	if (search_path_get(&sp, c) < 0) {
		registry_error(r, "(search path)", "out of memory");
		return;
	}
	for (size_t i = 0; i < sp.plugins.n; i++)
		load_dir(r, sp.plugins.v[i], false, NULL, &loaded);
	for (size_t i = 0; i < sp.scripts.n; i++)
		load_dir(r, sp.scripts.v[i], true, &lim, &loaded);
	strlist_free(&loaded);
	search_path_free(&sp);
}
