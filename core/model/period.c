/* period.c - see period.h. */
#include "model/period.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Whether path is a compiled zone file (it starts "TZif"): not a folder
 * such as "Asia" (or the empty name, zoneinfo itself), nor zone.tab. */
static bool is_zone_file(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
		  memcmp(magic, "TZif", sizeof(magic)) == 0;
	close(fd);
	return ok;
}

int period_set_zone(const char *zone)
{
	char path[512];
	/* glibc quietly falls back to UTC for a zone it cannot read: check first. */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (strstr(zone, "..") || (strcmp(zone, "UTC") != 0 && !is_zone_file(path)))
		return -EINVAL;
	setenv("TZ", zone, 1);
	tzset();
	return 0;
}

/* Local midnight of year-month-01, as ms since the epoch. */
static int64_t month_start(int year, int month)
{
	struct tm tm = {0};
	year += (month - 1) / 12;
	month = (month - 1) % 12 + 1;
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = 1;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

/* Local midnight of year-month-day (the day may run past the month's end:
 * mktime carries it over). */
static int64_t day_start(int year, int month, int day)
{
	struct tm tm = {0};
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

int period_day_parse(const char *date, int64_t *start_ms, int64_t *end_ms)
{
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;
	char c;
	if (strlen(date) != 10 || date[4] != '-' || date[7] != '-')
		return -EINVAL;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (date[i] < '0' || date[i] > '9'))
			return -EINVAL;
	if (sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &c) != 3 || y < 1970 || m < 1 || m > 12 ||
	    d < 1 || d > days[m - 1] ||
	    (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return -EINVAL;
	*start_ms = day_start(y, m, d);
	*end_ms = day_start(y, m, d + 1);
	return 0;
}

static int months_in(enum period_kind k)
{
	return k == PK_MONTH ? 1 : k == PK_QUARTER ? 3 : 12;
}

static int first_month(const struct period *p)
{
	return p->kind == PK_MONTH ? p->index : p->kind == PK_QUARTER ? (p->index - 1) * 3 + 1 : 1;
}

static void set_bounds(struct period *p)
{
	int m = first_month(p);
	p->start_ms = month_start(p->year, m);
	p->end_ms = month_start(p->year, m + months_in(p->kind));
}

void period_of(enum period_kind k, int64_t ms, struct period *p)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	p->kind = k;
	p->year = tm.tm_year + 1900;
	p->index = k == PK_MONTH ? tm.tm_mon + 1 : k == PK_QUARTER ? tm.tm_mon / 3 + 1 : 1;
	set_bounds(p);
}

void period_make(enum period_kind k, int year, int index, struct period *p)
{
	*p = (struct period){.kind = k, .year = year, .index = index};
	set_bounds(p);
}

void period_next(struct period *p)
{
	int per_year = 12 / months_in(p->kind);
	if (++p->index > per_year) {
		p->index = 1;
		p->year++;
	}
	set_bounds(p);
}

int period_parse(const char *label, struct period *p)
{
	int y, i;
	char c;
	/* Digits only but for the "-" and "Q": %d alone also takes a sign or
	 * blanks ("2026-+1", "2026- 1"). */
	for (size_t at = 0; label[at]; at++)
		if ((label[at] < '0' || label[at] > '9') && !(at == 4 && label[at] == '-') &&
		    !(at == 5 && label[at] == 'Q'))
			return -EINVAL;
	if (sscanf(label, "%4d-Q%1d%c", &y, &i, &c) == 2 && strlen(label) == 7) {
		*p = (struct period){.kind = PK_QUARTER, .year = y, .index = i};
		if (i < 1 || i > 4)
			return -EINVAL;
	} else if (sscanf(label, "%4d-%2d%c", &y, &i, &c) == 2 && strlen(label) == 7) {
		*p = (struct period){.kind = PK_MONTH, .year = y, .index = i};
		if (i < 1 || i > 12)
			return -EINVAL;
	} else if (sscanf(label, "%4d%c", &y, &c) == 1 && strlen(label) == 4) {
		*p = (struct period){.kind = PK_YEAR, .year = y, .index = 1};
	} else {
		return -EINVAL;
	}
	if (y < 1970 || y > 9999)
		return -EINVAL;
	set_bounds(p);
	return 0;
}

void period_label(const struct period *p, char buf[16])
{
	int y = p->year % 10000;
	if (p->kind == PK_MONTH)
		snprintf(buf, 16, "%04d-%02d", y, p->index % 100);
	else if (p->kind == PK_QUARTER)
		snprintf(buf, 16, "%04d-Q%d", y, p->index % 10);
	else
		snprintf(buf, 16, "%04d", y);
}
