/* test_target.c - the status of a figure against its target, the targets of
 * a period (the configuration's, a year's split, an editor's), their audit,
 * and the forecast of an open period. */
#include <math.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "judge/target.h"
#include "model/period.h"
#include "store/store.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)

static struct target min_of(double v, double warn)
{
	return (struct target){TR_MIN, v, v, warn};
}

static struct target max_of(double v, double warn)
{
	return (struct target){TR_MAX, v, v, warn};
}

static struct target range_of(double low, double high, double warn)
{
	return (struct target){TR_RANGE, low, high, warn};
}

static const struct target none = {TR_NONE, NAN, NAN, 0.1};

/* A KPI as the configuration leaves it: no target for any kind of period. */
static struct cfg_kpi kpi_named(char *id)
{
	struct cfg_kpi k = {.id = id, .direction = 1, .period = PK_QUARTER};
	for (int p = 0; p < PK_N; p++)
		k.target[p] = none;
	return k;
}

#define CHECK_TARGET(got, r, lo, hi, w)                                                            \
	do {                                                                                       \
		CHECK_INT((got).rule, (r));                                                        \
		CHECK_DOUBLE((got).low, (double)(lo));                                             \
		CHECK_DOUBLE((got).high, (double)(hi));                                            \
		CHECK_DOUBLE((got).warn, (double)(w));                                             \
	} while (0)

/* ---- status ---- */

static void test_status_names(void)
{
	CHECK_STR(status_name(ST_GREY), "grey");
	CHECK_STR(status_name(ST_GREEN), "green");
	CHECK_STR(status_name(ST_AMBER), "amber");
	CHECK_STR(status_name(ST_RED), "red");
}

/* At least 100, amber down to 90 (100 - 0.1 × 100). */
static void test_status_min(void)
{
	struct target t = min_of(100, 0.1);
	CHECK_INT(status_of(100, &t), ST_GREEN);
	CHECK_INT(status_of(250, &t), ST_GREEN);
	CHECK_INT(status_of(nextafter(100, 0), &t), ST_AMBER);
	CHECK_INT(status_of(95, &t), ST_AMBER);
	CHECK_INT(status_of(90, &t), ST_AMBER);
	CHECK_INT(status_of(nextafter(90, 0), &t), ST_RED);
	CHECK_INT(status_of(89.99, &t), ST_RED);
	CHECK_INT(status_of(0, &t), ST_RED);
	CHECK_INT(status_of(-100, &t), ST_RED);
	CHECK(target_met(100, &t), "100 does not meet at least 100");
	CHECK(!target_met(99.999, &t), "99.999 meets at least 100");
	CHECK(!target_met(NAN, &t), "NaN meets at least 100");

	/* No band: a miss is red at once. */
	t = min_of(100, 0);
	CHECK_INT(status_of(100, &t), ST_GREEN);
	CHECK_INT(status_of(99.999, &t), ST_RED);

	/* A target below zero: the band is a fraction of its size (-10 - 1). */
	t = min_of(-10, 0.1);
	CHECK_INT(status_of(-10, &t), ST_GREEN);
	CHECK_INT(status_of(-11, &t), ST_AMBER);
	CHECK_INT(status_of(nextafter(-11, -100), &t), ST_RED);

	/* The README's example: at least 63 of a target of 70. */
	t = min_of(70, 0.1);
	CHECK_INT(status_of(63, &t), ST_AMBER);
	CHECK_INT(status_of(62.99, &t), ST_RED);
}

/* At most 50, amber up to 60 (50 + 0.2 × 50). */
static void test_status_max(void)
{
	struct target t = max_of(50, 0.2);
	CHECK_INT(status_of(50, &t), ST_GREEN);
	CHECK_INT(status_of(0, &t), ST_GREEN);
	CHECK_INT(status_of(-5, &t), ST_GREEN);
	CHECK_INT(status_of(nextafter(50, 100), &t), ST_AMBER);
	CHECK_INT(status_of(55, &t), ST_AMBER);
	CHECK_INT(status_of(60, &t), ST_AMBER);
	CHECK_INT(status_of(nextafter(60, 100), &t), ST_RED);
	CHECK_INT(status_of(1000, &t), ST_RED);
	CHECK(target_met(50, &t), "50 does not meet at most 50");
	CHECK(!target_met(50.001, &t), "50.001 meets at most 50");
	CHECK(!target_met(NAN, &t), "NaN meets at most 50");
}

/* Between 60 and 80: amber from 54 (60 - 6) and up to 88 (80 + 8). */
static void test_status_range(void)
{
	struct target t = range_of(60, 80, 0.1);
	CHECK_INT(status_of(60, &t), ST_GREEN);
	CHECK_INT(status_of(70, &t), ST_GREEN);
	CHECK_INT(status_of(80, &t), ST_GREEN);
	CHECK_INT(status_of(nextafter(60, 0), &t), ST_AMBER);
	CHECK_INT(status_of(54, &t), ST_AMBER);
	CHECK_INT(status_of(nextafter(54, 0), &t), ST_RED);
	CHECK_INT(status_of(nextafter(80, 100), &t), ST_AMBER);
	CHECK_INT(status_of(88, &t), ST_AMBER);
	CHECK_INT(status_of(nextafter(88, 100), &t), ST_RED);
	/* Each side's band is a fraction of its own bound: 8 above, 6 below. */
	CHECK_INT(status_of(87, &t), ST_AMBER);
	CHECK_INT(status_of(53, &t), ST_RED);
	CHECK_INT(status_of(0, &t), ST_RED);
	CHECK_INT(status_of(200, &t), ST_RED);
	CHECK(target_met(60, &t), "60 is not in 60..80");
	CHECK(target_met(80, &t), "80 is not in 60..80");
	CHECK(!target_met(59.9, &t), "59.9 is in 60..80");
	CHECK(!target_met(80.1, &t), "80.1 is in 60..80");
	CHECK(!target_met(NAN, &t), "NaN is in 60..80");
}

/* No figure or no target: grey, whatever the rest. */
static void test_status_grey(void)
{
	struct target t = min_of(100, 0.1);
	CHECK_INT(status_of(NAN, &t), ST_GREY);
	CHECK_INT(status_of(INFINITY, &t), ST_GREY);
	CHECK_INT(status_of(-INFINITY, &t), ST_GREY);
	t = max_of(50, 0.2);
	CHECK_INT(status_of(NAN, &t), ST_GREY);
	t = range_of(60, 80, 0.1);
	CHECK_INT(status_of(NAN, &t), ST_GREY);
	CHECK_INT(status_of(70, &none), ST_GREY);
	CHECK_INT(status_of(0, &none), ST_GREY);
	CHECK_INT(status_of(NAN, &none), ST_GREY);
	CHECK(target_met(-1e9, &none), "no target is not met");
}

/* ---- the configuration's targets ---- */

static void test_target_default(void)
{
	struct cfg_kpi k = kpi_named("1.1");
	struct target t;

	/* Nothing configured: none for every kind of period. */
	for (int p = 0; p < PK_N; p++) {
		target_default(&k, (enum period_kind)p, &t);
		CHECK_INT(t.rule, TR_NONE);
	}

	/* A quarter's own target, with or without split. */
	k.target[PK_QUARTER] = min_of(12, 0.1);
	k.target[PK_YEAR] = min_of(40, 0.2);
	target_default(&k, PK_QUARTER, &t);
	CHECK_TARGET(t, TR_MIN, 12, 12, 0.1);
	k.split = true;
	target_default(&k, PK_QUARTER, &t);
	CHECK_TARGET(t, TR_MIN, 12, 12, 0.1);
	target_default(&k, PK_YEAR, &t);
	CHECK_TARGET(t, TR_MIN, 40, 40, 0.2);

	/* Only a year's, split: a quarter gets a quarter of it (its warn too). */
	k.target[PK_QUARTER] = none;
	target_default(&k, PK_QUARTER, &t);
	CHECK_TARGET(t, TR_MIN, 10, 10, 0.2);
	/* ... but a month gets nothing, nor a quarter without split. */
	target_default(&k, PK_MONTH, &t);
	CHECK_INT(t.rule, TR_NONE);
	k.split = false;
	target_default(&k, PK_QUARTER, &t);
	CHECK_INT(t.rule, TR_NONE);

	/* At most, and a range: both bounds split. */
	k.split = true;
	k.target[PK_YEAR] = max_of(8, 0.1);
	target_default(&k, PK_QUARTER, &t);
	CHECK_TARGET(t, TR_MAX, 2, 2, 0.1);
	k.target[PK_YEAR] = range_of(200, 400, 0.05);
	target_default(&k, PK_QUARTER, &t);
	CHECK_TARGET(t, TR_RANGE, 50, 100, 0.05);
	target_default(&k, PK_YEAR, &t);
	CHECK_TARGET(t, TR_RANGE, 200, 400, 0.05);

	/* A month's own target. */
	k.target[PK_MONTH] = max_of(3, 0);
	target_default(&k, PK_MONTH, &t);
	CHECK_TARGET(t, TR_MAX, 3, 3, 0);
}

/* ---- editors' targets, in a store ---- */

static struct store *open_fresh(const char *path)
{
	char err[STORE_ERRLEN] = "", side[64];
	struct store *s = NULL;
	struct store_opts o = {.sync_full = false, .cache_mib = 2, .busy_timeout_ms = 1000};
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	CHECK(store_open(&s, path, &o, err) == 0, "%s", err);
	return s;
}

static void test_target_for(void)
{
	CHECK_INT(period_set_zone("Asia/Amman"), 0);
	struct store *s = open_fresh("test-target-for.db");
	char err[STORE_ERRLEN] = "";
	struct cfg_kpi k = kpi_named("1.2"), other = kpi_named("1.3"), split = kpi_named("2.1");
	k.target[PK_QUARTER] = min_of(70, 0.1);
	k.target[PK_YEAR] = min_of(70, 0.1);
	other.target[PK_QUARTER] = min_of(70, 0.1);
	split.split = true;
	split.target[PK_YEAR] = min_of(1600, 0.1);
	struct period q1, q2, y;
	period_make(PK_QUARTER, 2022, 1, &q1);
	period_make(PK_QUARTER, 2022, 2, &q2);
	period_make(PK_YEAR, 2022, 1, &y);
	struct target t = none;

	/* Nothing stored: the configuration's. */
	CHECK_INT(target_for(s, &k, &q1, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 70, 70, 0.1);
	CHECK_INT(target_for(s, &split, &q1, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 400, 400, 0.1);

	/* An editor's target for 2022-Q1 wins there, and only there. */
	struct target edited = min_of(75, 0.05);
	CHECK(store_target_put(s, "1.2", "2022-Q1", &edited, "editor", NULL, "{}", "test", err) == 0,
	      "%s", err);
	CHECK_INT(target_for(s, &k, &q1, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 75, 75, 0.05);
	CHECK_INT(target_for(s, &k, &q2, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 70, 70, 0.1);
	CHECK_INT(target_for(s, &k, &y, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 70, 70, 0.1);
	CHECK_INT(target_for(s, &other, &q1, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 70, 70, 0.1);

	/* Over a split year's share, and with another rule than the default's. */
	edited = range_of(300, 500, 0.2);
	CHECK(store_target_put(s, "2.1", "2022-Q2", &edited, "editor", NULL, "{}", "test", err) == 0,
	      "%s", err);
	CHECK_INT(target_for(s, &split, &q2, &t, err), 0);
	CHECK_TARGET(t, TR_RANGE, 300, 500, 0.2);
	CHECK_INT(target_for(s, &split, &q1, &t, err), 0);
	CHECK_TARGET(t, TR_MIN, 400, 400, 0.1);

	/* A KPI with no default gets the editor's for the year. */
	struct cfg_kpi bare = kpi_named("3.1");
	CHECK_INT(target_for(s, &bare, &y, &t, err), 0);
	CHECK_INT(t.rule, TR_NONE);
	edited = max_of(8, 0.1);
	CHECK(store_target_put(s, "3.1", "2022", &edited, "editor", NULL, "{}", "test", err) == 0,
	      "%s", err);
	CHECK_INT(target_for(s, &bare, &y, &t, err), 0);
	CHECK_TARGET(t, TR_MAX, 8, 8, 0.1);
	store_close(s);
}

struct audit_copy {
	int n;
	struct {
		char who[32], action[32], object[64], old[200], new_[200], reason[64];
		int64_t at_ms;
		int has_old;
	} e[8];
};

static int copy_audit(const struct store_audit *a, void *ud)
{
	struct audit_copy *c = ud;
	if (c->n == 8)
		return 0;
	snprintf(c->e[c->n].who, sizeof(c->e[0].who), "%s", harness_str(a->who));
	snprintf(c->e[c->n].action, sizeof(c->e[0].action), "%s", harness_str(a->action));
	snprintf(c->e[c->n].object, sizeof(c->e[0].object), "%s", harness_str(a->object));
	snprintf(c->e[c->n].old, sizeof(c->e[0].old), "%s", harness_str(a->old));
	snprintf(c->e[c->n].new_, sizeof(c->e[0].new_), "%s", harness_str(a->new_));
	snprintf(c->e[c->n].reason, sizeof(c->e[0].reason), "%s", harness_str(a->reason));
	c->e[c->n].has_old = a->old != NULL;
	c->e[c->n].at_ms = a->at_ms;
	c->n++;
	return 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_target_set_audit(void)
{
	CHECK_INT(period_set_zone("Asia/Amman"), 0);
	struct store *s = open_fresh("test-target-set.db");
	char err[STORE_ERRLEN] = "";
	struct cfg_kpi k = kpi_named("1.2"), bare = kpi_named("3.1"), split = kpi_named("2.1");
	k.target[PK_QUARTER] = min_of(70, 0.1);
	split.split = true;
	split.target[PK_YEAR] = min_of(1600, 0.25);
	struct period q1, y;
	period_make(PK_QUARTER, 2022, 1, &q1);
	period_make(PK_YEAR, 2022, 1, &y);
	struct target t;
	int64_t before = wall_ms();

	/* Over the configuration's default: the old entry is the default. */
	t = min_of(75, 0.1);
	CHECK(target_set(s, &k, &q1, &t, "editor", "the board raised it", err) == 0, "%s", err);
	/* Over the editor's own. */
	t = range_of(60, 80, 0.05);
	CHECK(target_set(s, &k, &q1, &t, "chief", "a range this time", err) == 0, "%s", err);
	/* A KPI without any target: no old entry. */
	t = max_of(8, 0.5);
	CHECK(target_set(s, &bare, &y, &t, "editor", "first target", err) == 0, "%s", err);
	/* Over a split year's share (1600 / 4). */
	t = min_of(500, 0.25);
	CHECK(target_set(s, &split, &q1, &t, "editor", "more workshops", err) == 0, "%s", err);
	int64_t after = wall_ms();

	struct target got = none;
	CHECK_INT(target_for(s, &k, &q1, &got, err), 0);
	CHECK_TARGET(got, TR_RANGE, 60, 80, 0.05);
	CHECK_INT(target_for(s, &bare, &y, &got, err), 0);
	CHECK_TARGET(got, TR_MAX, 8, 8, 0.5);

	struct audit_copy a = {0};
	CHECK_INT(store_audit_each(s, 10, copy_audit, &a, err), 0);
	CHECK_INT(a.n, 4);
	/* Newest first. */
	CHECK_STR(a.e[3].who, "editor");
	CHECK_STR(a.e[3].action, "target.set");
	CHECK_STR(a.e[3].object, "kpi 1.2 target 2022-Q1");
	CHECK_STR(a.e[3].old, "{\"rule\":\"min\",\"low\":70,\"high\":70,\"warn\":0.10000000000000001}");
	CHECK_STR(a.e[3].new_, "{\"rule\":\"min\",\"low\":75,\"high\":75,\"warn\":0.10000000000000001}");
	CHECK_STR(a.e[3].reason, "the board raised it");
	CHECK(a.e[3].at_ms >= before && a.e[3].at_ms <= after, "at %lld, not in %lld..%lld",
	      (long long)a.e[3].at_ms, (long long)before, (long long)after);

	CHECK_STR(a.e[2].who, "chief");
	CHECK_STR(a.e[2].object, "kpi 1.2 target 2022-Q1");
	CHECK_STR(a.e[2].old, "{\"rule\":\"min\",\"low\":75,\"high\":75,\"warn\":0.10000000000000001}");
	CHECK_STR(a.e[2].new_,
		  "{\"rule\":\"range\",\"low\":60,\"high\":80,\"warn\":0.050000000000000003}");
	CHECK_STR(a.e[2].reason, "a range this time");

	CHECK_STR(a.e[1].object, "kpi 3.1 target 2022");
	CHECK_INT(a.e[1].has_old, 0);
	CHECK_STR(a.e[1].new_, "{\"rule\":\"max\",\"low\":8,\"high\":8,\"warn\":0.5}");

	CHECK_STR(a.e[0].object, "kpi 2.1 target 2022-Q1");
	CHECK_STR(a.e[0].old, "{\"rule\":\"min\",\"low\":400,\"high\":400,\"warn\":0.25}");
	CHECK_STR(a.e[0].new_, "{\"rule\":\"min\",\"low\":500,\"high\":500,\"warn\":0.25}");
	CHECK_STR(a.e[0].reason, "more workshops");
	store_close(s);
}

/* ---- forecasts ---- */

/* 2024-Q1 in UTC: 91 days, 7 862 400 000 ms, so that a quarter, a half,
 * 1/200 of it are whole milliseconds and the fractions exact. */
static struct period q1_2024(void)
{
	struct period p;
	CHECK_INT(period_set_zone("UTC"), 0);
	period_make(PK_QUARTER, 2024, 1, &p);
	CHECK_INT(p.end_ms - p.start_ms, 91 * DAY);
	return p;
}

static void test_forecast_run_rate(void)
{
	struct period p = q1_2024();
	const int64_t len = p.end_ms - p.start_ms;
	const double closed[] = {1, 2, 3, 4};
	struct forecast f;

	/* A quarter gone, 30 so far: 120 by the end. */
	forecast_from(true, &p, 30, p.start_ms + len / 4, NULL, 0, &f);
	CHECK(f.open, "not open");
	CHECK_STR(f.method, "run_rate");
	CHECK_DOUBLE(f.elapsed, 0.25);
	CHECK_DOUBLE(f.value, 120.0);
	CHECK_INT(f.history, 0);
	CHECK_DOUBLE(f.slope, 0.0);
	/* The closed periods play no part in a run rate. */
	forecast_from(true, &p, 30, p.start_ms + len / 4, closed, 4, &f);
	CHECK_STR(f.method, "run_rate");
	CHECK_DOUBLE(f.value, 120.0);
	CHECK_INT(f.history, 0);
	/* Half gone, nothing yet: nothing by the end. */
	forecast_from(true, &p, 0, p.start_ms + len / 2, NULL, 0, &f);
	CHECK_DOUBLE(f.elapsed, 0.5);
	CHECK_DOUBLE(f.value, 0.0);
	/* Three quarters gone, 90: 120. */
	forecast_from(true, &p, 90, p.start_ms + len / 4 * 3, NULL, 0, &f);
	CHECK_DOUBLE(f.value, 120.0);

	/* Before 1% of the period (not a day into a quarter): no figure yet. */
	forecast_from(true, &p, 3, p.start_ms + len / 200, NULL, 0, &f);
	CHECK(f.open, "not open");
	CHECK_STR(f.method, "run_rate");
	CHECK_DOUBLE(f.elapsed, 0.005);
	CHECK_DOUBLE(f.value, NAN);
	forecast_from(true, &p, 3, p.start_ms, NULL, 0, &f);
	CHECK_STR(f.method, "run_rate");
	CHECK_DOUBLE(f.elapsed, 0.0);
	CHECK_DOUBLE(f.value, NAN);
	/* A millisecond past 1%: 1 / (78 624 001 / 7 862 400 000). */
	forecast_from(true, &p, 1, p.start_ms + len / 100 + 1, NULL, 0, &f);
	CHECK_STR(f.method, "run_rate");
	CHECK_DOUBLE(f.value, 7862400000.0 / 78624001.0);
	/* 2%: 3 so far, 150 by the end. */
	forecast_from(true, &p, 3, p.start_ms + len / 50, NULL, 0, &f);
	CHECK_DOUBLE(f.value, 150.0);
}

/* Not cumulative: the value now, moved along the least-squares slope of the
 * closed periods (x = 0, 1, ... oldest first) for the part still to come. */
static void test_forecast_trend(void)
{
	struct period p = q1_2024();
	const int64_t quarter_gone = p.start_ms + (p.end_ms - p.start_ms) / 4;
	struct forecast f;

	/* No history: no slope, the value as it is. */
	forecast_from(false, &p, 50, quarter_gone, NULL, 0, &f);
	CHECK(f.open, "not open");
	CHECK_STR(f.method, "trend");
	CHECK_INT(f.history, 0);
	CHECK_DOUBLE(f.slope, 0.0);
	CHECK_DOUBLE(f.elapsed, 0.25);
	CHECK_DOUBLE(f.value, 50.0);

	/* One closed period: still no slope. */
	const double one[] = {40};
	forecast_from(false, &p, 50, quarter_gone, one, 1, &f);
	CHECK_STR(f.method, "trend");
	CHECK_INT(f.history, 1);
	CHECK_DOUBLE(f.slope, 0.0);
	CHECK_DOUBLE(f.value, 50.0);

	/* Two: the slope is their difference, 46 - 40 = 6; three quarters of
	 * the period to come: 50 + 6 × 0.75 = 54.5. */
	const double two[] = {40, 46};
	forecast_from(false, &p, 50, quarter_gone, two, 2, &f);
	CHECK_INT(f.history, 2);
	CHECK_DOUBLE(f.slope, 6.0);
	CHECK_DOUBLE(f.value, 54.5);
	/* At the very start the whole period is to come: 50 + 6. */
	forecast_from(false, &p, 50, p.start_ms, two, 2, &f);
	CHECK_STR(f.method, "trend");
	CHECK_DOUBLE(f.elapsed, 0.0);
	CHECK_DOUBLE(f.value, 56.0);

	/* Four: 10, 12, 15, 19.  x̄ = 1.5, ȳ = 14; x - x̄ = -1.5 -0.5 0.5 1.5,
	 * y - ȳ = -4 -2 1 5; Σ(x-x̄)(y-ȳ) = 6 + 1 + 0.5 + 7.5 = 15,
	 * Σ(x-x̄)² = 2.25 + 0.25 + 0.25 + 2.25 = 5; slope 15 / 5 = 3;
	 * 50 + 3 × 0.75 = 52.25. */
	const double rising[] = {10, 12, 15, 19};
	forecast_from(false, &p, 50, quarter_gone, rising, 4, &f);
	CHECK_INT(f.history, 4);
	CHECK_DOUBLE(f.slope, 3.0);
	CHECK_DOUBLE(f.value, 52.25);

	/* Four falling: 20, 18, 17, 13.  ȳ = 17; y - ȳ = 3 1 0 -4;
	 * Σ(x-x̄)(y-ȳ) = -4.5 - 0.5 + 0 - 6 = -11; slope -11 / 5 = -2.2;
	 * half gone: 50 - 2.2 × 0.5 = 48.9. */
	const double falling[] = {20, 18, 17, 13};
	forecast_from(false, &p, 50, p.start_ms + (p.end_ms - p.start_ms) / 2, falling, 4, &f);
	CHECK_DOUBLE(f.slope, -2.2);
	CHECK_DOUBLE(f.value, 48.9);

	/* A flat history: slope 0. */
	const double flat[] = {7, 7, 7, 7};
	forecast_from(false, &p, 9, quarter_gone, flat, 4, &f);
	CHECK_DOUBLE(f.slope, 0.0);
	CHECK_DOUBLE(f.value, 9.0);
}

/* Closed, not yet started, or no figure: no forecast. */
static void test_forecast_none(void)
{
	struct period p = q1_2024();
	const double two[] = {40, 46};
	struct forecast f;
	for (int cumulative = 0; cumulative < 2; cumulative++) {
		forecast_from(cumulative, &p, 50, p.end_ms, two, 2, &f);
		CHECK(!f.open, "open at its end");
		CHECK_STR(f.method, "none");
		CHECK_DOUBLE(f.value, NAN);
		forecast_from(cumulative, &p, 50, p.end_ms + 30 * DAY, two, 2, &f);
		CHECK(!f.open, "open a month after its end");
		CHECK_STR(f.method, "none");
		CHECK_DOUBLE(f.value, NAN);

		/* Not started: still open (it has not ended), nothing gone. */
		forecast_from(cumulative, &p, 50, p.start_ms - 1, two, 2, &f);
		CHECK(f.open, "not open before its start");
		CHECK_STR(f.method, "none");
		CHECK_DOUBLE(f.value, NAN);
		CHECK_DOUBLE(f.elapsed, 0.0);

		forecast_from(cumulative, &p, NAN, p.start_ms + DAY * 10, two, 2, &f);
		CHECK(f.open, "not open");
		CHECK_STR(f.method, "none");
		CHECK_DOUBLE(f.value, NAN);
		forecast_from(cumulative, &p, INFINITY, p.start_ms + DAY * 10, two, 2, &f);
		CHECK_STR(f.method, "none");
		CHECK_DOUBLE(f.value, NAN);
	}
	/* The last millisecond is still open. */
	forecast_from(true, &p, 50, p.end_ms - 1, NULL, 0, &f);
	CHECK(f.open, "not open in its last millisecond");
	CHECK_STR(f.method, "run_rate");
}

/* forecast_of reads the closed periods from the store: the same KPI, kind of
 * period and slice, before the period's start, the last four with a figure. */
struct rows {
	struct store_result r[32];
	char label[32][16];
	size_t n;
};

static void add_row(struct rows *w, const char *kpi, enum period_kind k, int year, int index,
		    const char *dim, const char *slice, double value)
{
	struct period p;
	period_make(k, year, index, &p);
	period_label(&p, w->label[w->n]);
	w->r[w->n] = (struct store_result){.kpi = kpi, .period = w->label[w->n], .dim = dim,
					   .slice = slice, .pkind = (int)k, .start_ms = p.start_ms,
					   .value = value, .n = 1, .provenance = "test",
					   .computed_ms = 1, .run = 1};
	w->n++;
}

static void test_forecast_of(void)
{
	CHECK_INT(period_set_zone("Asia/Amman"), 0);
	struct store *s = open_fresh("test-target-forecast.db");
	char err[STORE_ERRLEN] = "";
	struct rows w = {.n = 0};
	/* KPI 1.2, the whole: six closed quarters, the open one and a later one. */
	const double whole[] = {100, 90, 10, 12, 15, 19, 1000, 2000};
	for (int i = 0; i < 8; i++)
		add_row(&w, "1.2", PK_QUARTER, 2021 + i / 4, i % 4 + 1, "", "", whole[i]);
	/* One slice of it: two closed quarters with a figure, one without. */
	add_row(&w, "1.2", PK_QUARTER, 2021, 4, "mission", "QA-DOH", 5);
	add_row(&w, "1.2", PK_QUARTER, 2022, 1, "mission", "QA-DOH", 7);
	add_row(&w, "1.2", PK_QUARTER, 2022, 2, "mission", "QA-DOH", NAN);
	add_row(&w, "1.2", PK_QUARTER, 2022, 3, "mission", "QA-DOH", 500);
	/* Other kinds of period of the same KPI, and another KPI. */
	add_row(&w, "1.2", PK_MONTH, 2022, 6, "", "", -500);
	add_row(&w, "1.2", PK_MONTH, 2022, 5, "", "", 700);
	add_row(&w, "1.2", PK_YEAR, 2021, 1, "", "", 5000);
	add_row(&w, "1.3", PK_QUARTER, 2022, 1, "", "", 0);
	add_row(&w, "1.3", PK_QUARTER, 2022, 2, "", "", 1000);
	add_row(&w, "2.1", PK_QUARTER, 2022, 1, "", "", 1);
	add_row(&w, "2.1", PK_QUARTER, 2022, 2, "", "", 1000);
	int64_t run;
	CHECK(store_results_write(s, NULL, 0, w.r, w.n, -1, &run, err) == 0, "%s", err);

	struct cfg_kpi k = kpi_named("1.2"), none_stored = kpi_named("2.2"), cum = kpi_named("2.1");
	cum.cumulative = true;
	struct period q3;
	period_make(PK_QUARTER, 2022, 3, &q3);
	/* 2022-Q3 in Amman: 2022-06-30T21:00Z to 2022-09-30T21:00Z, 92 days
	 * at UTC+3 throughout; a quarter of it is 23 days. */
	CHECK_INT(q3.end_ms - q3.start_ms, 92 * DAY);
	const int64_t now = q3.start_ms + 23 * DAY;
	struct forecast f;

	/* The last four: 10, 12, 15, 19, slope 3 (worked in test_forecast_trend);
	 * 50 + 3 × 0.75 = 52.25. */
	CHECK_INT(forecast_of(s, &k, &q3, "", "", 50, now, &f, err), 0);
	CHECK_STR(f.method, "trend");
	CHECK_INT(f.history, 4);
	CHECK_DOUBLE(f.elapsed, 0.25);
	CHECK_DOUBLE(f.slope, 3.0);
	CHECK_DOUBLE(f.value, 52.25);

	/* The slice's own: 5 and 7 (the quarter without a figure left out),
	 * slope 2; 8 + 2 × 0.75 = 9.5. */
	CHECK_INT(forecast_of(s, &k, &q3, "mission", "QA-DOH", 8, now, &f, err), 0);
	CHECK_STR(f.method, "trend");
	CHECK_INT(f.history, 2);
	CHECK_DOUBLE(f.slope, 2.0);
	CHECK_DOUBLE(f.value, 9.5);

	/* 2022-Q1: only 2021's four before it, 100, 90, 10, 12.  ȳ = 53;
	 * y - ȳ = 47 37 -43 -41; Σ(x-x̄)(y-ȳ) = -70.5 - 18.5 - 21.5 - 61.5 = -172;
	 * slope -172 / 5 = -34.4.  Q1 is 90 days less an hour (2159 h); a
	 * quarter of it gone: 20 - 34.4 × 0.75 = -5.8. */
	struct period q1;
	period_make(PK_QUARTER, 2022, 1, &q1);
	CHECK_INT(q1.end_ms - q1.start_ms, 2159 * HOUR);
	CHECK_INT(forecast_of(s, &k, &q1, "", "", 20, q1.start_ms + 2159 * HOUR / 4, &f, err), 0);
	CHECK_INT(f.history, 4);
	CHECK_DOUBLE(f.slope, -34.4);
	CHECK_DOUBLE(f.value, -5.8);

	/* 2021-Q2: one before it. */
	struct period q;
	period_make(PK_QUARTER, 2021, 2, &q);
	CHECK_INT(forecast_of(s, &k, &q, "", "", 20, q.start_ms + DAY, &f, err), 0);
	CHECK_STR(f.method, "trend");
	CHECK_INT(f.history, 1);
	CHECK_DOUBLE(f.slope, 0.0);
	CHECK_DOUBLE(f.value, 20.0);

	/* Nothing stored for the KPI. */
	CHECK_INT(forecast_of(s, &none_stored, &q3, "", "", 50, now, &f, err), 0);
	CHECK_STR(f.method, "trend");
	CHECK_INT(f.history, 0);
	CHECK_DOUBLE(f.value, 50.0);

	/* Cumulative: the run rate, whatever the history. */
	CHECK_INT(forecast_of(s, &cum, &q3, "", "", 50, now, &f, err), 0);
	CHECK_STR(f.method, "run_rate");
	CHECK_INT(f.history, 0);
	CHECK_DOUBLE(f.value, 200.0);

	/* A closed period, and no figure: none. */
	struct period q2;
	period_make(PK_QUARTER, 2022, 2, &q2);
	CHECK_INT(forecast_of(s, &k, &q2, "", "", 19, now, &f, err), 0);
	CHECK(!f.open, "2022-Q2 open in 2022-Q3");
	CHECK_STR(f.method, "none");
	CHECK_DOUBLE(f.value, NAN);
	CHECK_INT(forecast_of(s, &k, &q3, "", "", NAN, now, &f, err), 0);
	CHECK_STR(f.method, "none");
	CHECK_DOUBLE(f.value, NAN);
	store_close(s);
}

/* The one judgement: an open quarter ten days in is judged by its milestone
 * to date (a cumulative KPI) or by its forecast (any other), never missed
 * before it closes; closed, it is met, near or missed. */
static void test_judge_figure(void)
{
	struct period q;
	CHECK_INT(period_parse("2026-Q1", &q), 0); /* UTC here: 90 days */
	int64_t ten_days = q.start_ms + 10 * 86400000LL;
	struct target t = {.rule = TR_MIN, .low = 400, .high = NAN, .warn = 0.1};
	struct forecast fc;
	struct judgement j;

	/* Cumulative, 10 of 90 days gone: the milestone is 400 x 10/90 = 44.44. */
	forecast_from(true, &q, 50, ten_days, NULL, 0, &fc);
	judge_figure(true, &t, 50, &fc, &j);
	CHECK_INT(j.verdict, V_ON_TRACK);
	CHECK_INT(j.status, ST_GREEN);
	CHECK_STR(j.method, "milestone");
	CHECK_DOUBLE(j.against.low, 400.0 * 10 / 90);
	forecast_from(true, &q, 40, ten_days, NULL, 0, &fc);
	judge_figure(true, &t, 40, &fc, &j);
	CHECK_INT(j.verdict, V_AT_RISK);
	CHECK_INT(j.status, ST_AMBER); /* at risk, not red: the quarter is open */
	/* Day one: a handful of events is on track, not red against 400. */
	forecast_from(true, &q, 3, q.start_ms + 3600000, NULL, 0, &fc);
	judge_figure(true, &t, 3, &fc, &j);
	CHECK_INT(j.verdict, V_ON_TRACK);

	/* The same quarter closed: below the band is missed, within it near. */
	judge_figure(true, &t, 300, NULL, &j);
	CHECK_INT(j.verdict, V_MISSED);
	CHECK_INT(j.status, ST_RED);
	CHECK_STR(j.method, "closed");
	judge_figure(true, &t, 370, NULL, &j);
	CHECK_INT(j.verdict, V_NEAR);
	CHECK_INT(j.status, ST_AMBER);
	judge_figure(true, &t, 400, NULL, &j);
	CHECK_INT(j.verdict, V_MET);
	forecast_from(true, &q, 300, q.end_ms + 1, NULL, 0, &fc); /* judged after its end */
	judge_figure(true, &t, 300, &fc, &j);
	CHECK_INT(j.verdict, V_MISSED);

	/* A ratio: by its forecast; without one, by its value. */
	struct target r = {.rule = TR_MIN, .low = 70, .high = NAN, .warn = 0.1};
	double history[] = {60, 64, 68, 72}; /* slope 4 per quarter */
	forecast_from(false, &q, 66, ten_days, history, 4, &fc);
	judge_figure(false, &r, 66, &fc, &j);
	CHECK_STR(j.method, "forecast");
	CHECK_DOUBLE(j.judged, 66 + 4 * (1 - 10.0 / 90));
	CHECK_INT(j.verdict, V_AT_RISK); /* 69.56 is below 70 */
	CHECK_INT(j.status, ST_AMBER);
	forecast_from(false, &q, 67, ten_days, history, 4, &fc);
	judge_figure(false, &r, 67, &fc, &j);
	CHECK_INT(j.verdict, V_ON_TRACK);
	CHECK_INT(j.status, ST_GREEN);
	struct forecast no_fc = {.open = true, .method = "none", .value = NAN, .elapsed = 0.1};
	judge_figure(false, &r, 65, &no_fc, &j);
	CHECK_STR(j.method, "value");
	CHECK_INT(j.verdict, V_AT_RISK);

	/* No figure, or no target: grey. */
	judge_figure(false, &r, NAN, NULL, &j);
	CHECK_INT(j.verdict, V_NONE);
	CHECK_INT(j.status, ST_GREY);
	struct target no = {.rule = TR_NONE};
	judge_figure(false, &no, 50, NULL, &j);
	CHECK_INT(j.status, ST_GREY);
	CHECK_STR(verdict_name(V_AT_RISK), "at_risk");
}

TEST_MAIN(test_judge_figure, test_status_names, test_status_min, test_status_max, test_status_range, test_status_grey,
	  test_target_default, test_target_for, test_target_set_audit, test_forecast_run_rate,
	  test_forecast_trend, test_forecast_none, test_forecast_of)
