/* no_entry.c - a shared object that exports no mizan_plugin_entry: the host
 * must refuse it as "not a Mizan plugin". */
#include <mizan/plugin.h>

MIZAN_EXPORT int mizan_plugin_entri(void);

MIZAN_EXPORT int mizan_plugin_entri(void)
{
	return MIZAN_PLUGIN_ABI;
}
