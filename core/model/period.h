/* period.h - months, quarters and years in the configured time zone.
 *
 * A period starts at local midnight of its first day in the zone set by
 * period_set_zone() (process-wide, before any thread starts) and ends where
 * the next begins.  Labels: "2026-03", "2026-Q1", "2026".
 *
 * A struct period is a plain value (the caller's); nothing here allocates.
 * Apart from period_set_zone, any thread may call these functions.
 */
#ifndef MIZAN_PERIOD_H
#define MIZAN_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

#include "model/config.h"

struct period {
	enum period_kind kind;
	int year, index; /* index: month 1-12, quarter 1-4, 1 for a year */
	int64_t start_ms, end_ms;
};

/* Sets the zone (an IANA name such as "Asia/Amman") for the whole process
 * (TZ): 0, or -EINVAL when it is unknown.  Before any other thread runs. */
int period_set_zone(const char *zone);

/* The period of kind k that contains ms. */
void period_of(enum period_kind k, int64_t ms, struct period *p);
/* The period of kind k, year and index (month 1-12, quarter 1-4, 1). */
void period_make(enum period_kind k, int year, int index, struct period *p);
/* The one after p. */
void period_next(struct period *p);
/* Parses a label; the kind follows from its form.  0, or -EINVAL. */
int period_parse(const char *label, struct period *p);
/* A calendar day "YYYY-MM-DD" in the zone: its local midnight into *start_ms
 * and the next day's into *end_ms.  0, or -EINVAL when it is no date. */
int period_day_parse(const char *date, int64_t *start_ms, int64_t *end_ms);
/* Writes the label (NUL-terminated) into buf[16]. */
void period_label(const struct period *p, char buf[16]);

#endif
