/* demo.h - deterministic generator of realistic demo events.
 *
 * Used by `mizan demo`: it produces NDJSON lines in the ingestion contract's
 * shape (see event.h) for a made-up but plausible network of Jordanian
 * missions abroad.  No I/O, no clock, no global state: the caller decides
 * where the lines go.  Any thread may generate; nothing is allocated that
 * outlives the call.
 */
#ifndef MIZAN_DEMO_H
#define MIZAN_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct demo_opts {
	uint64_t events;   /* how many events to produce */
	uint64_t seed;     /* same seed and options -> byte-identical output */
	int64_t from_ms;   /* first instant, ms since epoch UTC (inclusive) */
	int64_t to_ms;     /* last instant (exclusive) */
	bool random_ids;   /* ids as random UUIDv4 instead of time-ordered */
};

/* Produces o->events events in time order as NDJSON lines (no trailing newline)
 * handed to emit(); stops at and returns the first nonzero value emit returns, else 0.
 * The line is NUL-terminated and valid only during the call.  Returns -EINVAL,
 * without calling emit, when o or emit is NULL, to_ms <= from_ms, from_ms < 0
 * or to_ms is past the year 9999. */
int demo_generate(const struct demo_opts *o, int (*emit)(const char *line, size_t len, void *ud), void *ud);

#endif
