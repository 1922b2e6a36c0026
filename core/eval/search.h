/* search.h - where indicators are found: the plugin and script search path.
 *
 * The plugin folders, in the order they are searched:
 *   1. each folder of $MIZAN_PLUGIN_PATH (colon-separated; empty entries
 *      are skipped);
 *   2. each folder of plugins.dirs;
 *   3. `plugins` beside the mizan binary (the build tree: build/plugins);
 *   4. the installed folder, <prefix>/<libdir>/mizan/plugins, fixed when
 *      Mizan is configured (MIZAN_PLUGINDIR).
 * The script folders likewise: $MIZAN_SCRIPT_PATH, scripts.dirs, `scripts`
 * beside the binary, <prefix>/<datadir>/mizan/scripts (MIZAN_SCRIPTDIR).
 * Plugins are loaded before scripts.  Settings add to the defaults; they
 * never replace them.  A default folder that is not there is skipped
 * quietly; a folder named in the environment or the configuration that
 * cannot be read is refused (recorded in the registry).  A folder reached
 * twice (listed twice, or through a link) is searched once, and a file
 * reached twice is loaded once (compared by their real paths).
 *
 * Names are unique: a file that provides a name already provided by a file
 * found earlier is refused, the reason naming both, unless the name is in
 * plugins.replace: then the earlier file's indicator is used and the later
 * one's is skipped (a plugin's other indicators still load), noted in
 * r->notes.
 */
#ifndef MIZAN_SEARCH_H
#define MIZAN_SEARCH_H

#include "eval/indicator.h"
#include "model/config.h"

struct search_path {
	struct strlist plugins, scripts; /* folders, in search order */
};

/* Fills *sp (zeroed first) from the environment, c and the defaults.  0, or
 * -ENOMEM (*sp is then empty).  The caller frees it with search_path_free. */
int search_path_get(struct search_path *sp, const struct config *c);
void search_path_free(struct search_path *sp);

/* The installed plugin and script folders this build searches last,
 * whether they are there or not. */
extern const char search_plugindir[], search_scriptdir[];

#endif
