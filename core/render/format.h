/* format.h - the one way numbers, targets, periods and dates are written.
 *
 * Numbers: Western digits in both languages.  Whole numbers and numbers of
 * 100 or more without decimals, numbers under 10 with two, the rest with
 * one (rounded as printf rounds).  Thousands are grouped.  English writes
 * "1,234" and "62.5"; Arabic writes the same digits with the Arabic
 * thousands and decimal separators, U+066C and U+066B: "1٬234", "62٫5".
 * No number (NaN, infinite) is "—".  The raw form (for data-* attributes
 * and CSV) is the API's, as cJSON writes numbers: printf's %.15g when it
 * reads back within a relative DBL_EPSILON, else %.17g; "" for no number.
 *
 * Targets in words, without the unit: "at least 70", "at most 5",
 * "between 60 and 80" (Arabic: "لا يقل عن 70", ...); no target is "—".
 * Periods: "Q1 2026" / "الربع الأول 2026", "2026", "2026-03".  Times:
 * "2026-03-04 12:00 UTC" in both languages; dates "2026-03-04".
 *
 * Every function writes a NUL-terminated text into the caller's out[outlen]
 * (cut short, never overrun, when it does not fit; FMT_LEN always fits) and
 * keeps nothing.  All are pure and thread-safe.
 */
#ifndef MIZAN_RENDER_FORMAT_H
#define MIZAN_RENDER_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "model/period.h"
#include "render/i18n.h"

#define FMT_LEN 160

void fmt_number(double v, enum lang l, char *out, size_t outlen);
void fmt_raw(double v, char *out, size_t outlen);
/* A percentage with one decimal and its sign: "12.5%", Arabic "12٫5٪"
 * (U+066A); "—" for no number. */
void fmt_percent(double pct, enum lang l, char *out, size_t outlen);
/* Whether a CSV cell would be read as a formula by a spreadsheet: it
 * starts with =, +, -, @, a tab or a carriage return, and is not a plain
 * number (-5 and +1e3 stay numbers).  Such a cell is written with a
 * leading apostrophe ("'=1+1"), which the spreadsheet shows as text. */
bool fmt_csv_formula(const char *cell);
void fmt_target(const struct target *t, enum lang l, char *out, size_t outlen);
void fmt_period(const struct period *p, enum lang l, char *out, size_t outlen);
/* A period label ("2026-Q1") as fmt_period writes it; anything that is not
 * a label is copied as it is. */
void fmt_period_label(const char *label, enum lang l, char *out, size_t outlen);
/* ms since the epoch, UTC; "—" for 0 or less. */
void fmt_time(int64_t ms, char *out, size_t outlen);
void fmt_date(int64_t ms, char *out, size_t outlen);

#endif
