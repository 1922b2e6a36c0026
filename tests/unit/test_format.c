/* test_format.c - the one way numbers, targets, periods and dates are
 * written (render/format.h) and the table of words (render/i18n.h). */
#include "render/format.h"
#include "render/i18n.h"
#include "harness.h"

#include <cjson/cJSON.h>

#define CHECK_NUM(v, lang, want)                                                                   \
	do {                                                                                       \
		char got_[FMT_LEN];                                                                \
		fmt_number((v), (lang), got_, sizeof(got_));                                       \
		CHECK_STR(got_, want);                                                             \
	} while (0)

static void test_numbers(void)
{
	CHECK_NUM(4, LANG_EN, "4");
	CHECK_NUM(4, LANG_AR, "4");
	CHECK_NUM(3.14159, LANG_EN, "3.14");
	CHECK_NUM(3.14159, LANG_AR, "3\u066b14");
	CHECK_NUM(62.5, LANG_EN, "62.5");
	CHECK_NUM(37.3333, LANG_AR, "37\u066b3");
	CHECK_NUM(123.6, LANG_EN, "124");
	CHECK_NUM(1234567.5, LANG_EN, "1,234,568");
	CHECK_NUM(1234567.5, LANG_AR, "1\u066c234\u066c568");
	CHECK_NUM(50000, LANG_AR, "50\u066c000");
	CHECK_NUM(-1234.4, LANG_EN, "-1,234");
	CHECK_NUM(-0.001, LANG_EN, "0.00"); /* no "-0.00" */
	CHECK_NUM(0, LANG_EN, "0");
	CHECK_NUM(NAN, LANG_EN, "—");
	CHECK_NUM(INFINITY, LANG_AR, "—");
	char out[FMT_LEN];
	fmt_number(1e300, LANG_EN, out, sizeof(out)); /* no overrun */
	CHECK(strlen(out) > 0 && strlen(out) < sizeof(out), "1e300: %s", out);
	fmt_raw(61.5, out, sizeof(out));
	CHECK_STR(out, "61.5");
	fmt_raw(112.0 / 3, out, sizeof(out)); /* 15 digits would not read back */
	CHECK_STR(out, "37.333333333333336");
	fmt_raw(0.1, out, sizeof(out));
	CHECK_STR(out, "0.1");
	fmt_raw(NAN, out, sizeof(out));
	CHECK_STR(out, "");
	char tiny[4];
	fmt_number(1234567, LANG_EN, tiny, sizeof(tiny));
	CHECK_STR(tiny, "1,2");
}

static void test_targets(void)
{
	char out[FMT_LEN];
	struct target t = {.rule = TR_MIN, .low = 70, .warn = 0.1};
	fmt_target(&t, LANG_EN, out, sizeof(out));
	CHECK_STR(out, "at least 70");
	fmt_target(&t, LANG_AR, out, sizeof(out));
	CHECK_STR(out, "لا يقل عن 70");
	t = (struct target){.rule = TR_MAX, .high = 2.5};
	fmt_target(&t, LANG_EN, out, sizeof(out));
	CHECK_STR(out, "at most 2.50");
	t = (struct target){.rule = TR_RANGE, .low = 60, .high = 30000};
	fmt_target(&t, LANG_EN, out, sizeof(out));
	CHECK_STR(out, "between 60 and 30,000");
	fmt_target(&t, LANG_AR, out, sizeof(out));
	CHECK_STR(out, "بين 60 و 30\u066c000");
	t = (struct target){.rule = TR_NONE};
	fmt_target(&t, LANG_AR, out, sizeof(out));
	CHECK_STR(out, "—");
}

static void test_periods_and_dates(void)
{
	char out[FMT_LEN];
	fmt_period_label("2026-Q3", LANG_EN, out, sizeof(out));
	CHECK_STR(out, "Q3 2026");
	fmt_period_label("2026-Q3", LANG_AR, out, sizeof(out));
	CHECK_STR(out, "الربع الثالث 2026");
	fmt_period_label("2026", LANG_AR, out, sizeof(out));
	CHECK_STR(out, "2026");
	fmt_period_label("2026-03", LANG_EN, out, sizeof(out));
	CHECK_STR(out, "2026-03");
	fmt_period_label("AE-AUH", LANG_EN, out, sizeof(out));
	CHECK_STR(out, "AE-AUH");
	fmt_time(1772627400000, out, sizeof(out)); /* 2026-03-04T12:30:00Z */
	CHECK_STR(out, "2026-03-04 12:30 UTC");
	fmt_date(1772627400000, out, sizeof(out));
	CHECK_STR(out, "2026-03-04");
	fmt_time(0, out, sizeof(out));
	CHECK_STR(out, "—");
}

static void test_words(void)
{
	CHECK_STR(i18n_text(LANG_EN, "value"), "Value");
	CHECK_STR(i18n_text(LANG_AR, "value"), "القيمة");
	CHECK_STR(i18n_text(LANG_AR, "no-such-key"), "no-such-key");
	CHECK_STR(i18n_text2(LANG_EN, "status_", "red"), "Off target");
	CHECK_STR(i18n_text2(LANG_AR, "dim_", "mission"), "البعثة");
	CHECK_STR(i18n_text2(LANG_EN, "dim_", "region"), "region");
	CHECK_STR(i18n_text(LANG_AR, "notice_missed"), "لم يبلغ الهدف");
	cJSON *t = i18n_table(LANG_AR);
	CHECK(t != NULL, "the Arabic table");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "target")), "المستهدف");
	CHECK(i18n_table(LANG_AR) == t, "built once");
	CHECK(lang_from_code("ar", LANG_EN) == LANG_AR && lang_from_code("en", LANG_AR) == LANG_EN &&
		      lang_from_code(NULL, LANG_AR) == LANG_AR,
	      "language codes");
	CHECK_STR(lang_dir(LANG_AR), "rtl");
}

/* CSV cells a spreadsheet would run as a formula; numbers stay numbers. */
static void test_csv_formula(void)
{
	const char *risky[] = {"=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-", "+",
			       "=HYPERLINK(\"http://x\")", "-1e3x"};
	for (size_t i = 0; i < sizeof(risky) / sizeof(risky[0]); i++)
		CHECK(fmt_csv_formula(risky[i]), "'%s' is not neutralised", risky[i]);
	const char *plain[] = {"", "2026-Q1", "12.5", "-5", "+1e3", "-0.25", "green", "مؤشر", "a=b"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		CHECK(!fmt_csv_formula(plain[i]), "'%s' is neutralised", plain[i]);
}

TEST_MAIN(test_numbers, test_targets, test_periods_and_dates, test_words, test_csv_formula)
