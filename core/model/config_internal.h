/* config_internal.h - what the settings (config.c) and the strategy
 * (config_strategy.c) share while a configuration file is read; not for
 * other files.  Everything here runs on the thread that calls config_load. */
#ifndef MIZAN_MODEL_CONFIG_INTERNAL_H
#define MIZAN_MODEL_CONFIG_INTERNAL_H

#include <lua.h>
#include <stdbool.h>

#include "model/config.h"

/* The file being read: the goal, kpi and include functions find it in
 * their upvalue.  Lives on the C stack of the load (or of an include). */
struct load_ctx {
	struct config *c;
	const char *path;
	int depth; /* of include() */
};

/* Whether s is one of the values in "a|b|c". */
bool config_in_values(const char *values, const char *s);

/* Sets goal and kpi, bound to ctx, in the table at the top of the stack
 * (the globals). */
void config_strategy_open(lua_State *L, struct load_ctx *ctx);
/* Frees the goals and KPIs of c and empties their lists. */
void config_strategy_free(struct config *c);

#endif
