/* event.h - the four event kinds: parse, validate, normalise.
 *
 * The ingestion contract lives here as one table of fields (event.c); the
 * README documents the same table.  Every path that accepts events (HTTP
 * JSON, NDJSON, CSV, `mizan import`, `mizan demo --load`) ends in
 * event_from_json(), so all of them validate exactly alike.
 *
 * Nothing here keeps state: any thread may call any function, on its own
 * events.  The tables (event_fields, event_kind_names) are constant.
 */
#ifndef MIZAN_EVENT_H
#define MIZAN_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum event_kind {
	EV_SERVICE,
	EV_TRAINING,
	EV_PROJECT,
	EV_SATISFACTION,
	EV_NKINDS
};

enum field_type { FT_TEXT, FT_CODE, FT_ENUM, FT_NUM, FT_INT, FT_BOOL, FT_TIME, FT_JSON };

/* Field numbers double as store column order.  The first two are always
 * present once an event is valid. */
enum field_id {
	F_ID,
	F_TS,
	F_MISSION,
	F_COUNTRY,
	F_SEX,
	F_AGE_GROUP,
	F_SERVICE,
	F_CHANNEL,
	F_AUTOMATED,
	F_OUTCOME,
	F_DURATION,
	F_TITLE,
	F_PROGRAMME,
	F_HOURS,
	F_PARTICIPANTS,
	F_COST,
	F_BENEFIT,
	F_SECTOR,
	F_CONTRIBUTION,
	F_AMOUNT,
	F_CURRENCY,
	F_CONTRIBUTORS,
	F_SUBJECT,
	F_SCORE,
	F_SCALE,
	F_ATTRS,
	F_NFIELDS
};

struct field_spec {
	const char *name;
	enum field_type type;
	unsigned allowed;  /* bit per kind: 1u << EV_... */
	unsigned required; /* bit per kind */
	double min, max;   /* FT_NUM, FT_INT; lengths for FT_TEXT and FT_CODE */
	const char *const *values; /* FT_ENUM: NULL-terminated */
	const char *help;  /* one line for the README and `mizan --help` */
};

extern const struct field_spec event_fields[F_NFIELDS];
extern const char *const event_kind_names[EV_NKINDS];

union field_value {
	const char *s; /* FT_TEXT, FT_CODE, FT_ENUM, FT_JSON: borrowed */
	double d;      /* FT_NUM */
	int64_t i;     /* FT_INT, FT_BOOL, FT_TIME (ms since the epoch, UTC) */
};

/* A validated event.  Text values point into the cJSON tree it came from,
 * except F_ATTRS, which points at `attrs` (owned, freed by event_clear). */
struct event {
	enum event_kind kind;
	uint32_t present; /* bit per field_id */
	union field_value v[F_NFIELDS];
	char *attrs;
};

static inline bool event_has(const struct event *e, enum field_id f)
{
	return (e->present >> f) & 1u;
}

/* Limits applied while validating; see config.h for their defaults. */
struct event_limits {
	size_t attrs_bytes; /* serialised size of `attrs` */
	int attrs_depth;    /* nesting depth of `attrs`; the object itself is 1 */
	int64_t future_ms;  /* how far past `now` a timestamp may be */
	int64_t now_ms;     /* the clock validation compares with */
	size_t csv_columns; /* most cells in a CSV record (0: EVENT_CSV_COLUMNS) */
};
#define EVENT_CSV_COLUMNS 64

/* One problem with one event: the field it concerns ("" for the event as a
 * whole) and a sentence saying what is wrong. */
struct event_error {
	char field[32];
	char msg[160];
};

/* Validates the JSON object `obj` and fills `out`.  Returns 0, or -EINVAL
 * with `err` filled.  `out` borrows strings from `obj`: keep the tree alive
 * while `out` is in use, then call event_clear(). */
int event_from_json(const struct cJSON *obj, const struct event_limits *lim,
		    struct event *out, struct event_error *err);
/* Frees what the event owns (its attrs) and clears it. */
void event_clear(struct event *e);

/* Writes the event as one JSON object (the contract's field names and
 * types, `ts` in ISO 8601 UTC).  Returns a cJSON tree the caller deletes
 * (cJSON_Delete), or NULL when out of memory. */
struct cJSON *event_to_json(const struct event *e);

/* Converts one CSV record (header names and their texts, borrowed for the
 * call) to the JSON object that the same event would have been posted as:
 * numbers for numeric fields, booleans for boolean ones, `attrs` parsed as
 * JSON, empty cells left out.  Returns a cJSON tree the caller deletes, or
 * NULL with `err` filled when a cell cannot be converted (or memory runs
 * out). */
struct cJSON *event_csv_to_json(char *const *names, char *const *cells, size_t n,
				struct event_error *err);

/* Parses an ISO 8601 date-time with a zone (Z or +HH:MM) into ms since the
 * epoch.  A date alone (YYYY-MM-DD) is taken as midnight UTC when
 * `date_ok`.  Returns 0 or -EINVAL. */
int event_parse_time(const char *s, bool date_ok, int64_t *ms);
/* Formats ms since the epoch as YYYY-MM-DDTHH:MM:SS[.mmm]Z into buf[32]. */
void event_format_time(int64_t ms, char buf[32]);

/* The enum event_kind of a kind's name; -1 if unknown (a lookup, not an
 * error: see util/README.md). */
int event_kind_from_name(const char *name);

/* Calendar arithmetic on days since 1970-01-01, proleptic Gregorian. */
int64_t event_days_from_civil(int64_t y, unsigned m, unsigned d);
void event_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);

#endif
