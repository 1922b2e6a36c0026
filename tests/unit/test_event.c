/* test_event.c - validation of every field of every kind, good and bad. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "model/event.h"
#include "harness.h"

static const char *const base[EV_NKINDS] = {
	[EV_SERVICE] = "{\"kind\":\"service\",\"id\":\"s1\",\"ts\":\"2026-03-01T09:30:00+03:00\","
		       "\"service\":\"passport-renewal\",\"channel\":\"online\",\"automated\":true,"
		       "\"outcome\":\"completed\"}",
	[EV_TRAINING] = "{\"kind\":\"training\",\"id\":\"t1\",\"ts\":\"2026-03-01T09:30:00Z\","
			"\"title\":\"Consular excellence\",\"hours\":6,\"participants\":20,\"cost\":1000}",
	[EV_PROJECT] = "{\"kind\":\"project\",\"id\":\"p1\",\"ts\":\"2026-03-01T09:30:00Z\","
		       "\"sector\":\"education\",\"contribution\":\"donation\",\"amount\":5000}",
	[EV_SATISFACTION] = "{\"kind\":\"satisfaction\",\"id\":\"q1\",\"ts\":\"2026-03-01T09:30:00Z\","
			    "\"subject\":\"service\",\"score\":4,\"scale\":5}",
};

/* 2026-06-01T00:00:00Z: "now" for every case. */
static const struct event_limits lim = {
	.attrs_bytes = 256, .attrs_depth = 4, .future_ms = 86400000, .now_ms = 1780272000000LL};

struct tcase {
	enum event_kind kind;
	const char *patch; /* merged into the base event; null deletes */
	const char *bad;   /* the field the error must name, or NULL when valid */
};

static const struct tcase cases[] = {
	/* every kind's base is valid */
	{EV_SERVICE, "{}", NULL},
	{EV_TRAINING, "{}", NULL},
	{EV_PROJECT, "{}", NULL},
	{EV_SATISFACTION, "{}", NULL},
	/* kind */
	{EV_SERVICE, "{\"kind\":\"services\"}", "kind"},
	{EV_SERVICE, "{\"kind\":5}", "kind"},
	{EV_SERVICE, "{\"kind\":null}", "kind"},
	/* id */
	{EV_SERVICE, "{\"id\":\"ev-1.2:3_x\"}", NULL},
	{EV_SERVICE, "{\"id\":\"\"}", "id"},
	{EV_SERVICE, "{\"id\":\"a b\"}", "id"},
	{EV_SERVICE, "{\"id\":123}", "id"},
	{EV_SERVICE, "{\"id\":null}", "id"},
	{EV_SERVICE,
	 "{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	 "id"},
	/* ts */
	{EV_SERVICE, "{\"ts\":\"2026-03-01T09:30:00.123456+05:30\"}", NULL},
	{EV_SERVICE, "{\"ts\":\"2026-03-01t09:30:00z\"}", NULL},
	{EV_SERVICE, "{\"ts\":\"2026-03-01T09:30:00-0130\"}", NULL},
	{EV_SERVICE, "{\"ts\":\"2026-06-01T23:00:00Z\"}", NULL}, /* within a day ahead */
	{EV_SERVICE, "{\"ts\":\"2026-03-01T09:30:00\"}", "ts"},
	{EV_SERVICE, "{\"ts\":\"2026-03-01\"}", "ts"},
	{EV_SERVICE, "{\"ts\":\"2026-02-29T09:30:00Z\"}", "ts"}, /* 2026 is not a leap year */
	{EV_SERVICE, "{\"ts\":\"2026-03-01T24:00:00Z\"}", "ts"},
	{EV_SERVICE, "{\"ts\":\"2026-03-01T09:30:00+25:00\"}", "ts"},
	{EV_SERVICE, "{\"ts\":\"1999-12-31T23:59:59Z\"}", "ts"},
	{EV_SERVICE, "{\"ts\":\"2026-06-04T00:00:00Z\"}", "ts"}, /* three days ahead */
	{EV_SERVICE, "{\"ts\":1772346600}", "ts"},
	{EV_SERVICE, "{\"ts\":\"2026-03-01T09:30:00Zjunk\"}", "ts"},
	/* mission, country, sex, age_group */
	{EV_SERVICE, "{\"mission\":\"AE-AUH\",\"country\":\"AE\",\"sex\":\"female\",\"age_group\":\"60+\"}",
	 NULL},
	{EV_SERVICE, "{\"mission\":\"\"}", "mission"},
	{EV_SERVICE, "{\"mission\":\"\xd8\xb9\xd9\x85\xd8\xa7\xd9\x86\"}", "mission"},
	{EV_SERVICE, "{\"mission\":null}", NULL},
	{EV_SERVICE, "{\"country\":\"ae\"}", "country"},
	{EV_SERVICE, "{\"country\":\"ARE\"}", "country"},
	{EV_SERVICE, "{\"sex\":\"other\"}", "sex"},
	{EV_SERVICE, "{\"age_group\":\"18-25\"}", "age_group"},
	{EV_SERVICE, "{\"age_group\":\"18-24\"}", NULL},
	/* attrs */
	{EV_SERVICE, "{\"attrs\":{}}", NULL},
	{EV_SERVICE, "{\"attrs\":{\"a\":[1,{\"b\":2}]}}", NULL},
	{EV_SERVICE, "{\"attrs\":[1]}", "attrs"},
	{EV_SERVICE, "{\"attrs\":\"x\"}", "attrs"},
	{EV_SERVICE, "{\"attrs\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}}", NULL},          /* depth 4 */
	{EV_SERVICE, "{\"attrs\":{\"a\":{\"b\":{\"c\":{\"d\":[1]}}}}}", "attrs"}, /* depth 5 */
	{EV_SERVICE,
	 "{\"attrs\":{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxx\"}}",
	 "attrs"},
	/* fields that do not exist, or belong to another kind */
	{EV_SERVICE, "{\"foo\":1}", "foo"},
	{EV_SERVICE, "{\"score\":3}", "score"},
	{EV_TRAINING, "{\"channel\":\"online\"}", "channel"},
	/* service */
	{EV_SERVICE, "{\"service\":null}", "service"},
	{EV_SERVICE, "{\"service\":\"a/b\"}", "service"},
	{EV_SERVICE, "{\"channel\":\"fax\"}", "channel"},
	{EV_SERVICE, "{\"channel\":null}", "channel"},
	{EV_SERVICE, "{\"channel\":\"social_media\"}", NULL},
	{EV_SERVICE, "{\"automated\":\"yes\"}", "automated"},
	{EV_SERVICE, "{\"automated\":1}", "automated"},
	{EV_SERVICE, "{\"automated\":false}", NULL},
	{EV_SERVICE, "{\"outcome\":\"done\"}", "outcome"},
	{EV_SERVICE, "{\"outcome\":\"rejected\"}", NULL},
	{EV_SERVICE, "{\"duration_min\":0}", NULL},
	{EV_SERVICE, "{\"duration_min\":-1}", "duration_min"},
	{EV_SERVICE, "{\"duration_min\":525601}", "duration_min"},
	{EV_SERVICE, "{\"duration_min\":\"5\"}", "duration_min"},
	{EV_SERVICE, "{\"duration_min\":1e400}", "duration_min"},
	/* training */
	{EV_TRAINING, "{\"title\":null}", "title"},
	{EV_TRAINING, "{\"title\":\"\"}", "title"},
	{EV_TRAINING, "{\"title\":\"two\\nlines\"}", "title"},
	{EV_TRAINING, "{\"title\":\"\xd9\x88\xd8\xb1\xd8\xb4\xd8\xa9 \xd8\xaa\xd8\xaf\xd8\xb1\xd9\x8a\xd8\xa8\"}",
	 NULL},
	{EV_TRAINING, "{\"programme\":\"staff-excellence\"}", NULL},
	{EV_TRAINING, "{\"programme\":\"a b\"}", "programme"},
	{EV_TRAINING, "{\"hours\":0}", "hours"},
	{EV_TRAINING, "{\"hours\":0.25}", NULL},
	{EV_TRAINING, "{\"hours\":null}", "hours"},
	{EV_TRAINING, "{\"participants\":2.5}", "participants"},
	{EV_TRAINING, "{\"participants\":-1}", "participants"},
	{EV_TRAINING, "{\"participants\":0}", NULL},
	{EV_TRAINING, "{\"participants\":1e30}", "participants"},
	{EV_TRAINING, "{\"cost\":-0.01}", "cost"},
	{EV_TRAINING, "{\"cost\":0}", NULL},
	{EV_TRAINING, "{\"benefit\":2500.5}", NULL},
	{EV_TRAINING, "{\"benefit\":-1}", "benefit"},
	{EV_TRAINING, "{\"currency\":\"usd\"}", "currency"},
	{EV_TRAINING, "{\"currency\":\"USD\"}", NULL},
	/* project */
	{EV_PROJECT, "{\"sector\":null}", "sector"},
	{EV_PROJECT, "{\"contribution\":\"gift\"}", "contribution"},
	{EV_PROJECT, "{\"contribution\":\"expertise\"}", NULL},
	{EV_PROJECT, "{\"amount\":-5}", "amount"},
	{EV_PROJECT, "{\"amount\":1e16}", "amount"},
	{EV_PROJECT, "{\"amount\":0}", NULL},
	{EV_PROJECT, "{\"contributors\":0}", "contributors"},
	{EV_PROJECT, "{\"contributors\":3}", NULL},
	{EV_PROJECT, "{\"currency\":\"EURO\"}", "currency"},
	{EV_PROJECT, "{\"title\":\"Solar school in Mafraq\"}", NULL},
	{EV_PROJECT, "{\"hours\":3}", "hours"},
	/* satisfaction */
	{EV_SATISFACTION, "{\"subject\":\"product\"}", "subject"},
	{EV_SATISFACTION, "{\"subject\":\"communication\",\"channel\":\"messaging\"}", NULL},
	{EV_SATISFACTION, "{\"channel\":\"fax\"}", "channel"},
	{EV_SATISFACTION, "{\"service\":\"visa\"}", NULL},
	{EV_SATISFACTION, "{\"score\":0}", "score"},
	{EV_SATISFACTION, "{\"score\":6}", "score"},
	{EV_SATISFACTION, "{\"score\":5}", NULL},
	{EV_SATISFACTION, "{\"score\":9,\"scale\":10}", NULL},
	{EV_SATISFACTION, "{\"scale\":1,\"score\":1}", "scale"},
	{EV_SATISFACTION, "{\"scale\":7.5}", "scale"},
	{EV_SATISFACTION, "{\"scale\":null}", "scale"},
	{EV_SATISFACTION, "{\"score\":\"4\"}", "score"},
};

static cJSON *patched(enum event_kind k, const char *patch)
{
	cJSON *o = cJSON_Parse(base[k]);
	cJSON *p = cJSON_Parse(patch);
	if (!o || !p) {
		cJSON_Delete(o);
		cJSON_Delete(p);
		return NULL;
	}
	for (cJSON *item = p->child; item; item = item->next) {
		cJSON *copy = cJSON_Duplicate(item, 1);
		if (cJSON_GetObjectItemCaseSensitive(o, item->string))
			cJSON_ReplaceItemInObjectCaseSensitive(o, item->string, copy);
		else
			cJSON_AddItemToObject(o, item->string, copy);
	}
	cJSON_Delete(p);
	return o;
}

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		cJSON *o = patched(c->kind, c->patch);
		struct event e;
		struct event_error err = {{0}, {0}};
		CHECK(o != NULL, "case %zu: the test's JSON does not parse: %s", i, c->patch);
		if (!o)
			continue;
		int rc = event_from_json(o, &lim, &e, &err);
		if (c->bad) {
			CHECK(rc == -EINVAL, "case %zu (%s %s) was accepted", i,
			      event_kind_names[c->kind], c->patch);
			CHECK(strcmp(err.field, c->bad) == 0,
			      "case %zu (%s): error names '%s' (%s), want '%s'", i, c->patch, err.field,
			      err.msg, c->bad);
			CHECK(err.msg[0] != '\0', "case %zu: no message", i);
		} else {
			CHECK(rc == 0, "case %zu (%s %s) rejected: %s %s", i, event_kind_names[c->kind],
			      c->patch, err.field, err.msg);
			event_clear(&e);
		}
		cJSON_Delete(o);
	}
}

static int64_t parse(const char *s)
{
	int64_t ms = 0;
	return event_parse_time(s, true, &ms) == 0 ? ms : -1;
}

static void test_time(void)
{
	/* Normalised to UTC. */
	CHECK_INT(parse("2026-03-01T02:00:00+03:00"), parse("2026-02-28T23:00:00Z"));
	CHECK_INT(parse("2026-03-01T00:00:00-01:30"), parse("2026-03-01T01:30:00Z"));
	CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
	CHECK_INT(parse("2000-01-01T00:00:00.250Z"), 946684800250LL);
	CHECK_INT(parse("2024-02-29"), 1709164800000LL);
	CHECK_INT(parse("2023-02-29"), -1);
	char buf[32];
	event_format_time(parse("2026-03-01T02:00:00.5+03:00"), buf);
	CHECK_STR(buf, "2026-02-28T23:00:00.500Z");
	event_format_time(parse("2031-12-31T23:59:59Z"), buf);
	CHECK_STR(buf, "2031-12-31T23:59:59Z");
}

static void test_round_trip(void)
{
	cJSON *o = patched(EV_TRAINING, "{\"benefit\":1500,\"attrs\":{\"room\":\"B\"},\"mission\":\"QA-DOH\"}");
	struct event e;
	struct event_error err;
	CHECK(event_from_json(o, &lim, &e, &err) == 0, "%s: %s", err.field, err.msg);
	cJSON *back = event_to_json(&e);
	char *text = cJSON_PrintUnformatted(back);
	CHECK_STR(text, "{\"kind\":\"training\",\"id\":\"t1\",\"ts\":\"2026-03-01T09:30:00Z\","
			"\"mission\":\"QA-DOH\",\"title\":\"Consular excellence\",\"hours\":6,"
			"\"participants\":20,\"cost\":1000,\"benefit\":1500,\"attrs\":{\"room\":\"B\"}}");
	free(text);
	cJSON_Delete(back);
	event_clear(&e);
	cJSON_Delete(o);
}

static void test_csv_cells(void)
{
	char *names[] = {"kind", "id", "ts", "title", "hours", "participants", "cost", "attrs"};
	char *cells[] = {"training", "t9", "2026-01-01T00:00:00Z", "A, \"quoted\" title", "2.5", "7",
			 "", "{\"x\":1}"};
	struct event_error err;
	cJSON *o = event_csv_to_json(names, cells, 8, &err);
	CHECK(o != NULL, "%s: %s", err.field, err.msg);
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(o, "hours")), "hours should be a number");
	CHECK(cJSON_GetObjectItem(o, "cost") == NULL, "an empty cell is absent");
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(o, "attrs")), "attrs should be parsed");
	struct event e;
	CHECK(event_from_json(o, &lim, &e, &err) == -EINVAL && strcmp(err.field, "cost") == 0,
	      "cost is required, got %s", err.field);
	cJSON_Delete(o);

	char *bad[] = {"training", "t9", "2026-01-01T00:00:00Z", "x", "0x10", "7", "1", ""};
	CHECK(event_csv_to_json(names, bad, 8, &err) == NULL && strcmp(err.field, "hours") == 0,
	      "hex is not a number here");
	char *inf[] = {"training", "t9", "2026-01-01T00:00:00Z", "x", "inf", "7", "1", ""};
	CHECK(event_csv_to_json(names, inf, 8, &err) == NULL, "inf is not a number here");
	char *names2[] = {"kind", "automated"};
	char *yes[] = {"service", "yes"};
	CHECK(event_csv_to_json(names2, yes, 2, &err) == NULL && strcmp(err.field, "automated") == 0,
	      "yes is not a boolean");
}

/* The README's contract lists every field, with its help text. */
static void test_readme(void)
{
	FILE *f = fopen(MIZAN_SOURCE_ROOT "/README.md", "r");
	CHECK(f != NULL, "cannot read README.md");
	if (!f)
		return;
	static char text[1 << 17];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	for (int i = 0; i < F_NFIELDS; i++) {
		char row[96];
		snprintf(row, sizeof(row), "| `%s` |", event_fields[i].name);
		const char *at = strstr(text, row);
		CHECK(at != NULL, "README has no row for %s", event_fields[i].name);
		const char *eol = at ? strchr(at, '\n') : NULL;
		const char *help = at ? strstr(at, event_fields[i].help) : NULL;
		CHECK(help && help < eol, "README's row for %s lacks: %s", event_fields[i].name,
		      event_fields[i].help);
	}
	/* Its four examples are valid events, one of each kind. */
	const char *block = strstr(text, "One event of each kind");
	block = block ? strstr(block, "```json\n") : NULL;
	CHECK(block != NULL, "README has no example events");
	if (!block)
		return;
	block += 8;
	unsigned kinds = 0;
	for (int i = 0; i < 4; i++) {
		const char *eol = strchr(block, '\n');
		if (!eol)
			break;
		cJSON *o = cJSON_ParseWithLength(block, (size_t)(eol - block));
		struct event e = {0};
		struct event_error err = {{0}, {0}};
		CHECK(o && event_from_json(o, &lim, &e, &err) == 0, "README example %d: %s %s", i + 1,
		      err.field, err.msg);
		if (o && e.present)
			kinds |= 1u << e.kind;
		event_clear(&e);
		cJSON_Delete(o);
		block = eol + 1;
	}
	CHECK_INT(kinds, 0xf);
}

TEST_MAIN(test_cases, test_time, test_round_trip, test_csv_cells, test_readme)
