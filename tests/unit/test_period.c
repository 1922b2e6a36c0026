/* test_period.c - months, quarters and years in the office's time zone:
 * boundaries in UTC milliseconds, labels, parsing, the period of an instant.
 *
 * Every boundary below is worked by hand from midnight UTC of 1 January:
 *
 *   2022-01-01T00:00Z = 18 993 days after the epoch (52 years, 13 of them
 *   leap: 1972 ... 2020) = 1 640 995 200 s.  2024-01-01T00:00Z is 730 days
 *   later (2022 and 2023 are not leap) = 1 704 067 200 s.
 *
 *   Day of the year of each first of the month (not leap):
 *     Jan 0, Feb 31, Mar 59, Apr 90, May 120, Jun 151, Jul 181, Aug 212,
 *     Sep 243, Oct 273, Nov 304, Dec 334, next Jan 365.
 *
 * A local midnight at UTC+h is h hours before midnight UTC of that date.
 *
 * Asia/Amman (tzdata):
 *   2021: UTC+2, UTC+3 from 2021-03-26 00:00 local (2021-03-25T22:00Z),
 *         UTC+2 again from 2021-10-29 01:00 local (2021-10-28T22:00Z).
 *   2022: UTC+2 until 2022-02-24 24:00 local (2022-02-24T22:00Z), then UTC+3;
 *         no return to UTC+2: permanent UTC+3 from 2022-10-28 (the offset
 *         does not change at 2022-10-27T22:00Z, only its name).
 *   So 2022-01 and 2022-02 start at UTC+2 (22:00Z the day before), every
 *   later month of 2022, and 2023, at UTC+3 (21:00Z the day before).
 *
 * America/New_York 2022: UTC-5, UTC-4 from 2022-03-13 to 2022-11-06.
 */
#include <stdint.h>

#include <errno.h>

#include "harness.h"
#include "model/period.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)
static const int64_t Y2022 = 1640995200000LL; /* 2022-01-01T00:00:00Z */
static const int64_t Y2024 = 1704067200000LL; /* 2024-01-01T00:00:00Z */
static const int month_day[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

#define CHECK_PERIOD(p, k, y, i, start, end)                                                      \
	do {                                                                                       \
		CHECK_INT((p).kind, (k));                                                          \
		CHECK_INT((p).year, (y));                                                          \
		CHECK_INT((p).index, (i));                                                         \
		CHECK_INT((p).start_ms, (start));                                                  \
		CHECK_INT((p).end_ms, (end));                                                      \
	} while (0)

static void set_zone(const char *zone)
{
	CHECK(period_set_zone(zone) == 0, "zone %s refused", zone);
}

static void test_zone_names(void)
{
	struct period p;
	CHECK_INT(period_set_zone("Asia/Amman"), 0);
	CHECK_INT(period_set_zone("UTC"), 0);
	CHECK_INT(period_set_zone("America/New_York"), 0);
	CHECK_INT(period_set_zone("Asia/Nowhere"), -EINVAL);
	CHECK_INT(period_set_zone("../../etc/passwd"), -EINVAL);
	CHECK_INT(period_set_zone("Asia/../Asia/Amman"), -EINVAL);
	/* glibc reads a folder, the empty name or a file that is not a zone
	 * as UTC without a word: they are not zones. */
	CHECK_INT(period_set_zone("Asia"), -EINVAL);
	CHECK_INT(period_set_zone(""), -EINVAL);
	CHECK_INT(period_set_zone("zone.tab"), -EINVAL);

	/* A refused name leaves the zone as it was. */
	set_zone("Asia/Amman");
	CHECK_INT(period_set_zone("Asia"), -EINVAL);
	CHECK_INT(period_set_zone("Asia/Nowhere"), -EINVAL);
	period_make(PK_YEAR, 2022, 1, &p);
	CHECK_INT(p.start_ms, Y2022 - 2 * HOUR); /* 2021-12-31T22:00:00Z */
}

/* Every month of 2022 in Amman, made directly and walked with period_next. */
static void test_amman_2022_months(void)
{
	set_zone("Asia/Amman");
	int64_t start[13];
	for (int m = 0; m < 13; m++)
		start[m] = Y2022 + month_day[m] * DAY - (m < 2 ? 2 : 3) * HOUR;
	/* The hand-worked values spelled out, as a check on the table. */
	CHECK_INT(start[0], 1640988000000LL);  /* 2021-12-31T22:00:00Z */
	CHECK_INT(start[1], 1643666400000LL);  /* 2022-01-31T22:00:00Z */
	CHECK_INT(start[2], 1646082000000LL);  /* 2022-02-28T21:00:00Z */
	CHECK_INT(start[10], 1667250000000LL); /* 2022-10-31T21:00:00Z */
	CHECK_INT(start[12], 1672520400000LL); /* 2022-12-31T21:00:00Z */

	struct period p, walk;
	period_make(PK_MONTH, 2022, 1, &walk);
	for (int m = 1; m <= 12; m++) {
		period_make(PK_MONTH, 2022, m, &p);
		CHECK_PERIOD(p, PK_MONTH, 2022, m, start[m - 1], start[m]);
		CHECK_PERIOD(walk, PK_MONTH, 2022, m, start[m - 1], start[m]);
		period_next(&walk);
	}
	CHECK_PERIOD(walk, PK_MONTH, 2023, 1, start[12], start[12] + 31 * DAY);

	/* February loses the hour daylight time took: 28 days less an hour. */
	period_make(PK_MONTH, 2022, 2, &p);
	CHECK_INT(p.end_ms - p.start_ms, 28 * DAY - HOUR);
	/* November, after what was the return to UTC+2, is 30 days long. */
	period_make(PK_MONTH, 2022, 11, &p);
	CHECK_INT(p.end_ms - p.start_ms, 30 * DAY);
}

static void test_amman_2022_quarters_and_year(void)
{
	set_zone("Asia/Amman");
	struct period p;
	period_make(PK_QUARTER, 2022, 1, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, 1640988000000LL, Y2022 + 90 * DAY - 3 * HOUR);
	CHECK_INT(p.end_ms - p.start_ms, 90 * DAY - HOUR);
	period_next(&p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 2, Y2022 + 90 * DAY - 3 * HOUR, Y2022 + 181 * DAY - 3 * HOUR);
	CHECK_INT(p.start_ms, 1648760400000LL); /* 2022-03-31T21:00:00Z */
	period_next(&p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 3, Y2022 + 181 * DAY - 3 * HOUR, Y2022 + 273 * DAY - 3 * HOUR);
	period_next(&p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 4, Y2022 + 273 * DAY - 3 * HOUR, Y2022 + 365 * DAY - 3 * HOUR);
	CHECK_INT(p.start_ms, 1664571600000LL); /* 2022-09-30T21:00:00Z */
	/* Q4 stays at UTC+3 to its end: 92 days, not 92 days and an hour. */
	CHECK_INT(p.end_ms - p.start_ms, 92 * DAY);
	period_next(&p);
	CHECK_PERIOD(p, PK_QUARTER, 2023, 1, 1672520400000LL, 1672520400000LL + 90 * DAY);

	period_make(PK_YEAR, 2022, 1, &p);
	CHECK_PERIOD(p, PK_YEAR, 2022, 1, 1640988000000LL, 1672520400000LL);
	CHECK_INT(p.end_ms - p.start_ms, 365 * DAY - HOUR);
	period_next(&p);
	/* 2023 starts and ends at UTC+3: exactly 365 days. */
	CHECK_PERIOD(p, PK_YEAR, 2023, 1, 1672520400000LL, 1672520400000LL + 365 * DAY);
	CHECK_INT(p.end_ms, 1704056400000LL); /* 2023-12-31T21:00:00Z */
}

/* 2021, when Amman still went back to UTC+2 at the end of October. */
static void test_amman_2021(void)
{
	set_zone("Asia/Amman");
	const int64_t y2021 = Y2022 - 365 * DAY; /* 2021-01-01T00:00:00Z */
	struct period p;
	period_make(PK_YEAR, 2021, 1, &p);
	CHECK_PERIOD(p, PK_YEAR, 2021, 1, 1609452000000LL, 1640988000000LL); /* 2020-12-31T22:00Z */
	CHECK_INT(p.start_ms, y2021 - 2 * HOUR);
	CHECK_INT(p.end_ms - p.start_ms, 365 * DAY);
	period_make(PK_QUARTER, 2021, 2, &p); /* 2021-04-01 at UTC+3 */
	CHECK_PERIOD(p, PK_QUARTER, 2021, 2, 1617224400000LL, y2021 + 181 * DAY - 3 * HOUR);
	period_make(PK_MONTH, 2021, 10, &p); /* from UTC+3 to UTC+2: an hour longer */
	CHECK_PERIOD(p, PK_MONTH, 2021, 10, 1633035600000LL, 1635717600000LL);
	CHECK_INT(p.end_ms - p.start_ms, 31 * DAY + HOUR);
	period_make(PK_QUARTER, 2021, 4, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2021, 4, y2021 + 273 * DAY - 3 * HOUR, Y2022 - 2 * HOUR);
	CHECK_INT(p.end_ms - p.start_ms, 92 * DAY + HOUR);
}

/* The period that holds an instant, on either side of each boundary. */
static void test_amman_period_of(void)
{
	set_zone("Asia/Amman");
	struct period p;
	const int64_t y_start = 1640988000000LL; /* 2022 in Amman */

	period_of(PK_YEAR, y_start - 1, &p);
	CHECK_PERIOD(p, PK_YEAR, 2021, 1, 1609452000000LL, y_start);
	period_of(PK_YEAR, y_start, &p);
	CHECK_PERIOD(p, PK_YEAR, 2022, 1, y_start, 1672520400000LL);
	/* 2022-01-01T00:00Z is already 02:00 on 1 January in Amman. */
	period_of(PK_MONTH, Y2022, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 1, y_start, 1643666400000LL);
	period_of(PK_QUARTER, y_start - 1, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2021, 4, 1633035600000LL, y_start);

	/* The start of daylight time, 2022-02-24T22:00Z: 23:59:59.999 at
	 * UTC+2 before, 01:00 at UTC+3 after; February either way. */
	const int64_t dst = Y2022 + 54 * DAY + 22 * HOUR;
	CHECK_INT(dst, 1645740000000LL);
	period_of(PK_MONTH, dst - 1, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 2, 1643666400000LL, 1646082000000LL);
	period_of(PK_MONTH, dst, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 2, 1643666400000LL, 1646082000000LL);
	/* March 2022 begins at 21:00Z on the 28th. */
	period_of(PK_MONTH, 1646082000000LL - 1, &p);
	CHECK_INT(p.index, 2);
	period_of(PK_MONTH, 1646082000000LL, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 3, 1646082000000LL, 1648760400000LL);

	/* Q1 ends at 2022-03-31T21:00Z (midnight at UTC+3). */
	period_of(PK_QUARTER, 1648760400000LL - 1, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, y_start, 1648760400000LL);
	period_of(PK_QUARTER, 1648760400000LL, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 2, 1648760400000LL, 1656622800000LL);

	/* 2022-10-27T22:00Z, where UTC+2 would have returned: October on
	 * either side, and the same October. */
	const int64_t was_dst_end = Y2022 + 299 * DAY + 22 * HOUR;
	CHECK_INT(was_dst_end, 1666908000000LL);
	period_of(PK_MONTH, was_dst_end - 1, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 10, 1664571600000LL, 1667250000000LL);
	period_of(PK_MONTH, was_dst_end, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 10, 1664571600000LL, 1667250000000LL);
	/* Permanent UTC+3: 2022-10-31T21:00Z is midnight of 1 November (at
	 * UTC+2 it would still be 23:00 on 31 October). */
	period_of(PK_MONTH, 1667250000000LL - 1, &p);
	CHECK_INT(p.index, 10);
	period_of(PK_MONTH, 1667250000000LL, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 11, 1667250000000LL, 1669842000000LL);
	period_of(PK_MONTH, 1667250000000LL + HOUR, &p);
	CHECK_INT(p.index, 11);

	/* The last millisecond of 2022 and the first of 2023. */
	period_of(PK_QUARTER, 1672520400000LL - 1, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 4, 1664571600000LL, 1672520400000LL);
	period_of(PK_MONTH, 1672520400000LL, &p);
	CHECK_PERIOD(p, PK_MONTH, 2023, 1, 1672520400000LL, 1672520400000LL + 31 * DAY);
}

static void test_labels(void)
{
	set_zone("Asia/Amman");
	char buf[16];
	struct period p;
	period_make(PK_MONTH, 2022, 3, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "2022-03");
	period_make(PK_MONTH, 2022, 12, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "2022-12");
	period_make(PK_QUARTER, 2022, 4, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "2022-Q4");
	period_make(PK_YEAR, 2022, 1, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "2022");
	period_make(PK_MONTH, 1970, 1, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "1970-01");
	/* The label of the period of an instant: 2022-10-31T21:00Z. */
	period_of(PK_MONTH, 1667250000000LL, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "2022-11");
	period_of(PK_QUARTER, 1667250000000LL, &p);
	period_label(&p, buf);
	CHECK_STR(buf, "2022-Q4");
}

static void test_parse(void)
{
	set_zone("Asia/Amman");
	struct period p, made;
	char buf[16];

	CHECK_INT(period_parse("2022-Q1", &p), 0);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, 1640988000000LL, 1648760400000LL);
	CHECK_INT(period_parse("2022-02", &p), 0);
	CHECK_PERIOD(p, PK_MONTH, 2022, 2, 1643666400000LL, 1646082000000LL);
	CHECK_INT(period_parse("2022", &p), 0);
	CHECK_PERIOD(p, PK_YEAR, 2022, 1, 1640988000000LL, 1672520400000LL);
	CHECK_INT(period_parse("2022-11", &p), 0);
	CHECK_PERIOD(p, PK_MONTH, 2022, 11, 1667250000000LL, 1669842000000LL);
	CHECK_INT(period_parse("1970-01", &p), 0);
	CHECK_PERIOD(p, PK_MONTH, 1970, 1, -2 * HOUR, 31 * DAY - 2 * HOUR);

	/* Parsing a label gives the period it was made from. */
	const struct {
		enum period_kind k;
		int year, index;
	} each[] = {{PK_MONTH, 2022, 1}, {PK_MONTH, 2022, 12}, {PK_QUARTER, 2021, 4},
		    {PK_QUARTER, 2023, 2}, {PK_YEAR, 2030, 1},   {PK_MONTH, 9999, 12}};
	for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++) {
		period_make(each[i].k, each[i].year, each[i].index, &made);
		period_label(&made, buf);
		CHECK(period_parse(buf, &p) == 0, "'%s' did not parse", buf);
		CHECK_PERIOD(p, made.kind, made.year, made.index, made.start_ms, made.end_ms);
	}

	static const char *const bad[] = {
		"",        "2022-Q0", "2022-Q5",  "2022-00", "2022-13", "1969",     "1969-12", "22-01",
		"2022-1",  "2022-001", "2022-01 ", " 2022-01", "2022-q1", "2022/01", "abcd",    "2022-Q",
		"2022-Q+", "10000",   "2022-01x", "Q1-2022", "2022-+1", "2022- 1", "2022-1 ", "2022-Q1 ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(period_parse(bad[i], &p) == -EINVAL, "'%s' parsed", bad[i]);
}

static void test_next_across_years(void)
{
	set_zone("Asia/Amman");
	struct period p;
	period_make(PK_MONTH, 2021, 12, &p);
	CHECK_PERIOD(p, PK_MONTH, 2021, 12, Y2022 - 31 * DAY - 2 * HOUR, Y2022 - 2 * HOUR);
	period_next(&p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 1, Y2022 - 2 * HOUR, Y2022 + 31 * DAY - 2 * HOUR);
	period_make(PK_QUARTER, 2021, 4, &p);
	period_next(&p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, Y2022 - 2 * HOUR, Y2022 + 90 * DAY - 3 * HOUR);
	period_make(PK_YEAR, 2021, 1, &p);
	period_next(&p);
	CHECK_PERIOD(p, PK_YEAR, 2022, 1, Y2022 - 2 * HOUR, Y2022 + 365 * DAY - 3 * HOUR);
}

/* UTC: no daylight time, so a boundary is midnight UTC. */
static void test_utc(void)
{
	set_zone("UTC");
	struct period p;
	period_make(PK_QUARTER, 2022, 1, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, Y2022, Y2022 + 90 * DAY);
	/* 2024 is a leap year: February has 29 days, Q1 91, the year 366. */
	period_make(PK_MONTH, 2024, 2, &p);
	CHECK_PERIOD(p, PK_MONTH, 2024, 2, Y2024 + 31 * DAY, Y2024 + 60 * DAY);
	CHECK_INT(p.start_ms, 1706745600000LL); /* 2024-02-01T00:00:00Z */
	period_make(PK_QUARTER, 2024, 1, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2024, 1, Y2024, Y2024 + 91 * DAY);
	period_make(PK_YEAR, 2024, 1, &p);
	CHECK_PERIOD(p, PK_YEAR, 2024, 1, Y2024, Y2024 + 366 * DAY);
	CHECK_INT(p.end_ms, 1735689600000LL); /* 2025-01-01T00:00:00Z */

	period_of(PK_MONTH, Y2024 + 60 * DAY - 1, &p);
	CHECK_PERIOD(p, PK_MONTH, 2024, 2, Y2024 + 31 * DAY, Y2024 + 60 * DAY);
	period_of(PK_MONTH, Y2024 + 60 * DAY, &p);
	CHECK_PERIOD(p, PK_MONTH, 2024, 3, Y2024 + 60 * DAY, Y2024 + 91 * DAY);
	/* The same instants as in Amman fall in the other period here:
	 * 2022-10-31T21:00Z is still October. */
	period_of(PK_MONTH, 1667250000000LL, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 10, Y2022 + 273 * DAY, Y2022 + 304 * DAY);

	/* Before the epoch: the millisecond before it is in December 1969. */
	period_of(PK_MONTH, -1, &p);
	CHECK_PERIOD(p, PK_MONTH, 1969, 12, -31 * DAY, 0);
	period_of(PK_YEAR, -1001, &p);
	CHECK_PERIOD(p, PK_YEAR, 1969, 1, -365 * DAY, 0);
	period_of(PK_QUARTER, 0, &p);
	CHECK_PERIOD(p, PK_QUARTER, 1970, 1, 0, 90 * DAY);
}

/* New York: west of UTC, and back from daylight time inside a quarter. */
static void test_new_york(void)
{
	set_zone("America/New_York");
	struct period p;
	period_make(PK_QUARTER, 2022, 1, &p); /* from UTC-5 to UTC-4 */
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, Y2022 + 5 * HOUR, Y2022 + 90 * DAY + 4 * HOUR);
	CHECK_INT(p.start_ms, 1641013200000LL); /* 2022-01-01T05:00:00Z */
	CHECK_INT(p.end_ms - p.start_ms, 90 * DAY - HOUR);
	period_make(PK_MONTH, 2022, 11, &p); /* from UTC-4 to UTC-5 */
	CHECK_PERIOD(p, PK_MONTH, 2022, 11, Y2022 + 304 * DAY + 4 * HOUR, Y2022 + 334 * DAY + 5 * HOUR);
	CHECK_INT(p.end_ms - p.start_ms, 30 * DAY + HOUR);
	period_make(PK_YEAR, 2022, 1, &p);
	CHECK_PERIOD(p, PK_YEAR, 2022, 1, Y2022 + 5 * HOUR, Y2022 + 365 * DAY + 5 * HOUR);

	/* 2022-04-01T02:00Z is 22:00 on 31 March in New York. */
	period_of(PK_QUARTER, Y2022 + 90 * DAY + 2 * HOUR, &p);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 1, Y2022 + 5 * HOUR, Y2022 + 90 * DAY + 4 * HOUR);
	period_of(PK_MONTH, Y2022 + 90 * DAY + 4 * HOUR, &p);
	CHECK_PERIOD(p, PK_MONTH, 2022, 4, Y2022 + 90 * DAY + 4 * HOUR, Y2022 + 120 * DAY + 4 * HOUR);
	/* 2022-01-01T03:00Z is still 2021 there. */
	period_of(PK_YEAR, Y2022 + 3 * HOUR, &p);
	CHECK_INT(p.year, 2021);
	CHECK_INT(p.end_ms, Y2022 + 5 * HOUR);

	CHECK_INT(period_parse("2022-Q2", &p), 0);
	CHECK_PERIOD(p, PK_QUARTER, 2022, 2, Y2022 + 90 * DAY + 4 * HOUR, Y2022 + 181 * DAY + 4 * HOUR);
}

/* Days in the office's zone: local midnight to local midnight, across
 * Amman's 2022 changes. */
static void test_days(void)
{
	set_zone("Asia/Amman");
	int64_t start = 0, end = 0;
	/* 2022-02-24: still UTC+2; the clocks go forward at its end. */
	CHECK_INT(period_day_parse("2022-02-24", &start, &end), 0);
	CHECK_INT(start, Y2022 + (31 + 23) * DAY - 2 * HOUR);
	CHECK_INT(end, Y2022 + (31 + 24) * DAY - 2 * HOUR);
	/* 2022-02-25: the first day at UTC+3, 23 hours long. */
	CHECK_INT(period_day_parse("2022-02-25", &start, &end), 0);
	CHECK_INT(start, Y2022 + (31 + 24) * DAY - 2 * HOUR);
	CHECK_INT(end, Y2022 + (31 + 25) * DAY - 3 * HOUR);
	CHECK_INT(end - start, 23 * HOUR);
	/* 2022-10-28: UTC+3 for good, a whole day. */
	CHECK_INT(period_day_parse("2022-10-28", &start, &end), 0);
	CHECK_INT(start, Y2022 + (month_day[9] + 27) * DAY - 3 * HOUR);
	CHECK_INT(end - start, DAY);
	/* Leap day, and the end of a month carried over. */
	CHECK_INT(period_day_parse("2024-02-29", &start, &end), 0);
	CHECK_INT(start, Y2024 + (31 + 28) * DAY - 3 * HOUR);
	CHECK_INT(period_day_parse("2022-12-31", &start, &end), 0);
	CHECK_INT(end, Y2022 + 365 * DAY - 3 * HOUR);
	const char *bad[] = {"2022-02-29", "2022-13-01", "2022-00-10", "2022-04-31", "2022-1-01",
			     "22-01-01",   "2022-01-1",  "2022/01/01", "abcd-ef-gh", "2022-01-01 ",
			     "",           "1969-12-31", "2022-01-00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(period_day_parse(bad[i], &start, &end) == -EINVAL, "'%s' parsed", bad[i]);
}

TEST_MAIN(test_days, test_zone_names, test_amman_2022_months, test_amman_2022_quarters_and_year, test_amman_2021,
	  test_amman_period_of, test_labels, test_parse, test_next_across_years, test_utc,
	  test_new_york)
