/* small_size.c - a plugin whose description claims fewer bytes than ABI 1's
 * struct mizan_plugin: the host must refuse it. */
#include <stddef.h>

#include <mizan/plugin.h>

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = offsetof(struct mizan_plugin, indicators),
	.name = "small_size",
	.version = "1",
};

MIZAN_PLUGIN(plugin)
