/* import.h - events from files and from the demo generator into the store.
 *
 * A file is read twice: first every event is validated (and every problem
 * printed as file:line: field: what), then, only if all are valid, stored in
 * batches of limits.batch_events, each its own transaction.  A rejected file
 * stores nothing.
 */
#ifndef MIZAN_IMPORT_H
#define MIZAN_IMPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "model/config.h"
#include "ingest/demo.h"
#include "store/store.h"

struct import_stats {
	size_t events, accepted, duplicates;
	double seconds;
};

/* Returns 0; -EINVAL when some events are invalid (listed on `errs`);
 * another negative errno when the file cannot be read or the store
 * refuses (a sentence on `errs`).  `progress` draws a bar on stderr.  s, c
 * and errs (not NULL) are borrowed for the call; *st is always filled.
 * Any thread (the store serialises the writes). */
int import_file(struct store *s, const struct config *c, const char *path, bool progress,
		struct import_stats *st, FILE *errs);

/* Generates demo events and stores them through the same validation, in
 * batches of limits.batch_events.  0, or the first negative errno (a
 * problem on `errs`); what was stored before it stays.  As import_file for
 * the rest. */
int import_demo(struct store *s, const struct config *c, const struct demo_opts *o,
		bool progress, struct import_stats *st, FILE *errs);

#endif
