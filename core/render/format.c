/* format.c - see format.h. */
#include "render/format.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONE "—"
#define AR_GROUP "\xd9\xac" /* U+066C ARABIC THOUSANDS SEPARATOR */
#define AR_POINT "\xd9\xab" /* U+066B ARABIC DECIMAL SEPARATOR */

void fmt_number(double v, enum lang l, char *out, size_t outlen)
{
	if (!isfinite(v)) {
		snprintf(out, outlen, NONE);
		return;
	}
	int decimals = v == floor(v) || fabs(v) >= 100 ? 0 : fabs(v) < 10 ? 2 : 1;
	char raw[64];
	snprintf(raw, sizeof(raw), "%.*f", decimals, fabs(v));
	const char *dot = strchr(raw, '.');
	size_t intlen = dot ? (size_t)(dot - raw) : strlen(raw);
	const char *group = l == LANG_AR ? AR_GROUP : ",", *point = l == LANG_AR ? AR_POINT : ".";
	/* raw has at most 63 digits: 21 groups of 2 bytes and a sign fit. */
	char buf[128];
	size_t o = 0;
	if (v < 0 && strspn(raw, "0.") != strlen(raw)) /* no "-0" */
		buf[o++] = '-';
	for (size_t i = 0; i < intlen; i++) {
		buf[o++] = raw[i];
		size_t left = intlen - i - 1;
		if (left && left % 3 == 0)
			for (const char *g = group; *g; g++)
				buf[o++] = *g;
	}
	if (dot) {
		for (const char *p = point; *p; p++)
			buf[o++] = *p;
		for (const char *p = dot + 1; *p; p++)
			buf[o++] = *p;
	}
	buf[o] = '\0';
	snprintf(out, outlen, "%s", buf);
}

void fmt_percent(double pct, enum lang l, char *out, size_t outlen)
{
	if (!isfinite(pct)) {
		snprintf(out, outlen, NONE);
		return;
	}
	char raw[64];
	snprintf(raw, sizeof(raw), "%.1f", pct);
	if (l == LANG_AR) {
		char *dot = strchr(raw, '.');
		if (dot)
			*dot = '\0';
		snprintf(out, outlen, "%s%s%s\xd9\xaa", raw, dot ? AR_POINT : "", dot ? dot + 1 : "");
	} else {
		snprintf(out, outlen, "%s%%", raw);
	}
}

void fmt_raw(double v, char *out, size_t outlen)
{
	char buf[32];
	if (!isfinite(v)) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	/* As cJSON writes the API's numbers, to the character: 15 digits when
	 * they read back within a relative DBL_EPSILON, else 17. */
	snprintf(buf, sizeof(buf), "%.15g", v);
	double back = strtod(buf, NULL);
	if (!(fabs(back - v) <= fmax(fabs(back), fabs(v)) * DBL_EPSILON))
		snprintf(buf, sizeof(buf), "%.17g", v);
	snprintf(out, outlen, "%s", buf);
}

void fmt_target(const struct target *t, enum lang l, char *out, size_t outlen)
{
	char a[64], b[64];
	switch (t->rule) {
	case TR_MIN:
		fmt_number(t->low, l, a, sizeof(a));
		snprintf(out, outlen, "%s %s", i18n_text(l, "at_least"), a);
		break;
	case TR_MAX:
		fmt_number(t->high, l, a, sizeof(a));
		snprintf(out, outlen, "%s %s", i18n_text(l, "at_most"), a);
		break;
	case TR_RANGE:
		fmt_number(t->low, l, a, sizeof(a));
		fmt_number(t->high, l, b, sizeof(b));
		snprintf(out, outlen, "%s %s %s %s", i18n_text(l, "between"), a, i18n_text(l, "and"), b);
		break;
	default:
		snprintf(out, outlen, NONE);
	}
}

void fmt_period(const struct period *p, enum lang l, char *out, size_t outlen)
{
	static const char *const ar_quarters[] = {"الأول", "الثاني", "الثالث", "الرابع"};
	if (p->kind == PK_QUARTER && l == LANG_AR)
		snprintf(out, outlen, "الربع %s %d", ar_quarters[(p->index - 1) & 3], p->year);
	else if (p->kind == PK_QUARTER)
		snprintf(out, outlen, "Q%d %d", p->index, p->year);
	else if (p->kind == PK_YEAR)
		snprintf(out, outlen, "%d", p->year);
	else
		snprintf(out, outlen, "%d-%02d", p->year, p->index);
}

void fmt_period_label(const char *label, enum lang l, char *out, size_t outlen)
{
	struct period p;
	if (label && period_parse(label, &p) == 0)
		fmt_period(&p, l, out, outlen);
	else
		snprintf(out, outlen, "%s", label ? label : "");
}

/* ms as a broken-down UTC time; false for 0 or less (out is then "—"). */
static bool utc(int64_t ms, struct tm *tm, char *out, size_t outlen)
{
	if (ms <= 0) {
		snprintf(out, outlen, NONE);
		return false;
	}
	time_t t = (time_t)(ms / 1000);
	gmtime_r(&t, tm);
	return true;
}

void fmt_time(int64_t ms, char *out, size_t outlen)
{
	struct tm tm;
	if (utc(ms, &tm, out, outlen))
		snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

void fmt_date(int64_t ms, char *out, size_t outlen)
{
	struct tm tm;
	if (utc(ms, &tm, out, outlen))
		snprintf(out, outlen, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool fmt_csv_formula(const char *cell)
{
	if (!strchr("=+-@\t\r", cell[0]) || cell[0] == '\0')
		return false;
	char *end;
	const char *digits = cell + (cell[0] == '-' || cell[0] == '+');
	if (*digits < '0' || *digits > '9')
		return true;
	(void)strtod(cell, &end);
	return *end != '\0';
}
