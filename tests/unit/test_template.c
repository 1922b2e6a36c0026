/* test_template.c - the page template engine: escaping, raw values, sections
 * over arrays, objects and booleans, inverted sections, dotted names, missing
 * keys, syntax errors. */
#include "render/template.h"
#include "harness.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

/* Renders text with data (JSON text); returns a malloc'd string or NULL. */
static char *run(const char *text, const char *json)
{
	char err[128];
	struct tmpl *t = tmpl_parse(text, strlen(text), err, sizeof(err));
	if (!t)
		return NULL;
	cJSON *d = cJSON_Parse(json);
	char *out = tmpl_render(t, d, NULL);
	cJSON_Delete(d);
	tmpl_free(t);
	return out;
}

#define CHECK_RENDER(text, json, want)                                                             \
	do {                                                                                       \
		char *got_ = run(text, json);                                                      \
		CHECK_STR(got_, want);                                                             \
		free(got_);                                                                        \
	} while (0)

static void test_escaping(void)
{
	CHECK_RENDER("<p>{{x}}</p>", "{\"x\":\"<script>alert(1)</script>\"}",
		     "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
	CHECK_RENDER("<a title=\"{{x}}\">", "{\"x\":\"a\\\"b'c&d\"}",
		     "<a title=\"a&quot;b&#39;c&amp;d\">");
	CHECK_RENDER("{{{x}}}", "{\"x\":\"<svg><g/></svg>\"}", "<svg><g/></svg>");
	CHECK_RENDER("{{&x}}", "{\"x\":\"<b>\"}", "<b>");
	CHECK_RENDER("{{ x }}", "{\"x\":\"عربي\"}", "عربي");
	CHECK_RENDER("{{n}} {{f}} {{t}} {{z}}", "{\"n\":12.5,\"f\":false,\"t\":true,\"z\":null}",
		     "12.5  true ");
}

static void test_sections(void)
{
	CHECK_RENDER("{{#l}}[{{name}}]{{/l}}", "{\"l\":[{\"name\":\"a\"},{\"name\":\"<b>\"}]}",
		     "[a][&lt;b&gt;]");
	CHECK_RENDER("{{#l}}{{.}},{{/l}}", "{\"l\":[\"x\",\"y\"]}", "x,y,");
	CHECK_RENDER("{{#b}}yes{{/b}}{{^b}}no{{/b}}", "{\"b\":true}", "yes");
	CHECK_RENDER("{{#b}}yes{{/b}}{{^b}}no{{/b}}", "{\"b\":false}", "no");
	CHECK_RENDER("{{#l}}x{{/l}}{{^l}}empty{{/l}}", "{\"l\":[]}", "empty");
	CHECK_RENDER("{{#o}}{{a}}-{{top}}{{/o}}", "{\"top\":\"T\",\"o\":{\"a\":\"A\"}}", "A-T");
	/* The inner context shadows the outer one; outer names stay reachable. */
	CHECK_RENDER("{{#l}}{{id}}:{{lang}} {{/l}}", "{\"lang\":\"ar\",\"l\":[{\"id\":1},{\"id\":2,\"lang\":\"en\"}]}",
		     "1:ar 2:en ");
	CHECK_RENDER("{{#a}}{{#b}}{{c}}{{/b}}{{/a}}", "{\"a\":[{\"b\":[{\"c\":1},{\"c\":2}]}]}", "12");
	CHECK_RENDER("{{t.title}}|{{t.none}}|{{t.deep.x}}", "{\"t\":{\"title\":\"T\",\"deep\":{\"x\":\"X\"}}}",
		     "T||X");
	CHECK_RENDER("a{{! a comment }}b", "{}", "ab");
}

static void test_missing(void)
{
	CHECK_RENDER("[{{nothing}}]", "{}", "[]");
	CHECK_RENDER("[{{#nothing}}x{{/nothing}}]", "{}", "[]");
	CHECK_RENDER("[{{^nothing}}x{{/nothing}}]", "{}", "[x]");
	CHECK_RENDER("[{{a.b.c}}]", "{\"a\":{}}", "[]");
	CHECK_RENDER("[{{{raw}}}]", "{}", "[]");
	CHECK_RENDER("no tags at all", "null", "no tags at all");
}

static void test_errors(void)
{
	char err[128];
	const char *bad[] = {"{{#a}}x", "{{#a}}x{{/b}}", "x{{/a}}", "{{x", "{{{x}}", "{{}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		struct tmpl *t = tmpl_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		CHECK(t == NULL, "'%s' should not parse", bad[i]);
		CHECK(err[0] != '\0', "'%s' says why", bad[i]);
		tmpl_free(t);
	}
	struct tmpl *t = tmpl_parse("a\nb\n{{#x}}", strlen("a\nb\n{{#x}}"), err, sizeof(err));
	CHECK(t == NULL, "unclosed");
	CHECK(strstr(err, "x") != NULL, "names the section: %s", err);
}

TEST_MAIN(test_escaping, test_sections, test_missing, test_errors)
