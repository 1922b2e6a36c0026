/* batch.h - a body of events (JSON, NDJSON or CSV) parsed and validated.
 *
 * HTTP ingest and `mizan import` both go through batch_parse(), so a file
 * and a POST are held to exactly the same contract.
 */
#ifndef MIZAN_BATCH_H
#define MIZAN_BATCH_H

#include <stddef.h>

#include "model/event.h"

struct cJSON;

enum batch_format { BATCH_JSON, BATCH_NDJSON, BATCH_CSV };

struct batch {
	struct event *ev; /* the valid events, in order */
	size_t n, cap;
	/* The events' texts, copied out of each parsed object so that the object
	 * can be freed at once: a batch holds its events, not its parse trees. */
	struct batch_chunk *texts;
	/* Every problem found, as a JSON array of {index|line, field, error}:
	 * `index` (0-based) for a JSON body, `line` (1-based) for NDJSON and
	 * CSV.  At most BATCH_MAX_ERRORS are listed; nerrors counts them all. */
	struct cJSON *errors;
	size_t nerrors;
	size_t total; /* events seen, valid or not */
	size_t rejected[EV_NKINDS + 1]; /* bad events by kind; the last: kind unknown */
};

#define BATCH_MAX_ERRORS 1000

/* Parses and validates `len` bytes of `body` into *b (its old contents are
 * not freed).  `first_line` numbers the body's first line (1 for a whole
 * body; more when a file is read in chunks).  `csv_header` is the header
 * line to use when the chunk has none (NULL otherwise).  body, csv_header
 * and lim are borrowed for the call: the events keep copies of their
 * texts.  Returns 0 when every event is valid, -EINVAL when some are not
 * (see b->errors), -E2BIG when the body holds more than max_events events,
 * -ENOMEM.  Whatever it returns, the caller frees b with batch_free.  Any
 * thread, on its own batch. */
int batch_parse(struct batch *b, enum batch_format fmt, const char *body, size_t len,
		const char *csv_header, size_t first_line, const struct event_limits *lim,
		size_t max_events);
/* Frees the events, their texts and the errors, and zeroes b. */
void batch_free(struct batch *b);

/* The offset in the JSON text s[0..len) of a NUL byte or of a \u0000
 * escape (which cJSON would decode into a C string and so cut it short),
 * or len when there is none; when there is, the key of the top-level
 * object's member it stands in goes into field[fieldlen] ("" when none). */
size_t batch_json_nul(const char *s, size_t len, char *field, size_t fieldlen);

#endif
