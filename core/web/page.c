/* page.c - what every page shares: answers and their headers, the page
 * frame (layout.html), the language, links, periods (see internal.h). */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render/format.h"
#include "render/template.h"
#include "util/buf.h"

#define CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"

/* ---- answers -------------------------------------------------------------------------------- */

enum MHD_Result web_respond(struct page *pg, unsigned status, const char *type, char *body,
			    size_t len, const struct extra *x)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body ? body : (char *)"",
						body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				x && x->cache ? x->cache : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (strncmp(type, "text/html", 9) == 0) {
		MHD_add_response_header(resp, "Content-Security-Policy", CSP);
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	}
	if (x && x->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, x->location);
	if (x && x->disposition)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, x->disposition);
	if (x && x->cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, x->cookie);
	if (x && x->retry_after > 0) {
		char s[24];
		snprintf(s, sizeof(s), "%d", x->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
	}
	if (pg->lang_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
					pg->lang == LANG_AR
						? LANG_COOKIE "=ar; Path=/; Max-Age=31536000; SameSite=Lax"
						: LANG_COOKIE "=en; Path=/; Max-Age=31536000; SameSite=Lax");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	return http_queue(pg->c, pg->r, status, resp);
}

enum MHD_Result web_redirect(struct page *pg, const char *to, const char *cookie)
{
	struct extra x = {.location = to, .cookie = cookie};
	return web_respond(pg, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", NULL, 0, &x);
}

cJSON *web_page_data(struct page *pg, const char *name, const char *title)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "lang", lang_code(pg->lang));
	cJSON_AddStringToObject(d, "dir", lang_dir(pg->lang));
	cJSON_AddStringToObject(d, "other_lang", lang_code(pg->lang == LANG_AR ? LANG_EN : LANG_AR));
	cJSON_AddItemReferenceToObject(d, "t", i18n_table(pg->lang));
	cJSON_AddStringToObject(d, "page", name);
	char on[32];
	snprintf(on, sizeof(on), "on_%s", name);
	cJSON_AddBoolToObject(d, on, true);
	web_add_str(d, "title", title);
	if (store_is_demo(pg->h->store) == 1) /* the banner on every page */
		cJSON_AddBoolToObject(d, "demo", true);
	if (pg->signed_in) {
		cJSON *u = cJSON_AddObjectToObject(d, "user");
		cJSON_AddStringToObject(u, "name", pg->s.name);
		cJSON_AddStringToObject(u, "role", role_name(pg->s.role));
		cJSON_AddStringToObject(u, "csrf", pg->s.csrf);
		cJSON_AddBoolToObject(d, "editor", role_allows(pg->s.role, ROLE_EDITOR));
		cJSON_AddStringToObject(d, "csrf", pg->s.csrf);
	}
	return d;
}

enum MHD_Result web_send_page(struct page *pg, unsigned status, enum tpl t, cJSON *d,
			      const char *prerendered, const struct extra *x, bool download)
{
	char *content = prerendered ? strdup(prerendered) : tmpl_render(web_g.t[t], d, NULL);
	if (!content) {
		cJSON_Delete(d);
		return MHD_NO;
	}
	cJSON_AddStringToObject(d, "content", content);
	free(content);
	char *href = web_lang_href(pg, pg->lang == LANG_AR ? LANG_EN : LANG_AR);
	web_add_str(d, "lang_href", href);
	free(href);
	if (download) {
		cJSON_AddBoolToObject(d, "download", true);
		web_add_str(d, "inline_css", web_static_css());
	}
	size_t len;
	char *html = tmpl_render(web_g.t[T_LAYOUT], d, &len);
	cJSON_Delete(d);
	if (!html)
		return MHD_NO;
	return web_respond(pg, status, "text/html; charset=utf-8", html, len, x);
}

enum MHD_Result web_error(struct page *pg, unsigned status, const char *msg_key, const char *detail)
{
	cJSON *d = web_page_data(pg, "error", i18n_text(pg->lang, "error"));
	char msg[512];
	snprintf(msg, sizeof(msg), "%s%s%s", i18n_text(pg->lang, msg_key), detail ? ": " : "",
		 detail ? detail : "");
	cJSON_AddStringToObject(d, "message", msg);
	cJSON_AddNumberToObject(d, "status", status);
	return web_send_page(pg, status, T_ERROR, d, NULL, NULL, false);
}

/* ---- the request's language and links ------------------------------------------------------- */

const char *web_arg(struct page *pg, const char *name)
{
	const char *v = MHD_lookup_connection_value(pg->c, MHD_GET_ARGUMENT_KIND, name);
	return v && *v ? v : NULL;
}

void web_choose_lang(struct page *pg)
{
	const char *v = web_arg(pg, "lang");
	if (v && (strcmp(v, "ar") == 0 || strcmp(v, "en") == 0)) {
		pg->lang = lang_from_code(v, LANG_EN);
		pg->lang_cookie = true;
		return;
	}
	v = MHD_lookup_connection_value(pg->c, MHD_COOKIE_KIND, LANG_COOKIE);
	if (v && (strcmp(v, "ar") == 0 || strcmp(v, "en") == 0)) {
		pg->lang = lang_from_code(v, LANG_EN);
		return;
	}
	v = MHD_lookup_connection_value(pg->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
	while (v && (*v == ' ' || *v == '\t'))
		v++;
	pg->lang = v && strncasecmp(v, "ar", 2) == 0 &&
			   (v[2] == '\0' || v[2] == '-' || v[2] == ',' || v[2] == ';' || v[2] == ' ')
			   ? LANG_AR
			   : LANG_EN;
}

/* Percent-encodes s into b (for links). */
static void url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			buf_putc(b, *s);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			buf_add(b, e, 3);
		}
	}
}

struct query_build {
	struct buf b;
	const char *skip;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_build *q = cls;
	(void)kind;
	if (!key || (q->skip && strcmp(key, q->skip) == 0))
		return MHD_YES;
	buf_putc(&q->b, q->b.len ? '&' : '?');
	url_encode(&q->b, key);
	buf_putc(&q->b, '=');
	url_encode(&q->b, value ? value : "");
	return MHD_YES;
}

char *web_lang_href(struct page *pg, enum lang l)
{
	struct query_build q = {{0}, "lang"};
	struct buf path = {0};
	/* The path as requested, re-encoded segment by segment, with runs of
	 * slashes as one: "//host/x" would be a link to another site. */
	for (const char *p = pg->url; *p; p++) {
		if (*p == '/') {
			if (!path.len || path.p[path.len - 1] != '/')
				buf_putc(&path, '/');
		} else {
			char one[2] = {*p, 0};
			url_encode(&path, one);
		}
	}
	if (!path.len)
		buf_putc(&path, '/');
	MHD_get_connection_values(pg->c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	if (q.b.len)
		buf_add(&path, q.b.p, q.b.len);
	buf_puts(&path, q.b.len ? "&lang=" : "?lang=");
	buf_puts(&path, lang_code(l));
	buf_free(&q.b);
	return buf_take(&path, NULL);
}

/* ---- the configuration's names ---------------------------------------------------------------- */

void web_add_str(cJSON *o, const char *key, const char *v)
{
	cJSON_AddStringToObject(o, key, v ? v : "");
}

const char *web_kpi_title(const struct cfg_kpi *k, enum lang l)
{
	return l == LANG_AR ? k->title_ar : k->title_en;
}

const char *web_goal_title(const struct cfg_goal *g, enum lang l)
{
	return l == LANG_AR ? g->title_ar : g->title_en;
}

const struct cfg_goal *web_find_goal(const struct config *c, const char *id)
{
	for (size_t i = 0; id && i < c->ngoals; i++)
		if (strcmp(c->goals[i].id, id) == 0)
			return &c->goals[i];
	return NULL;
}

bool web_dim_known(const struct config *c, const char *dim)
{
	for (size_t i = 0; dim && i < c->slices.n; i++)
		if (strcmp(c->slices.v[i], dim) == 0)
			return true;
	return false;
}

/* ---- periods -------------------------------------------------------------------------------- */

void web_current_quarter(struct period *p)
{
	period_of(PK_QUARTER, time_now_ms(), p);
}

cJSON *web_period_options(const struct period *sel, enum lang l)
{
	cJSON *list = cJSON_CreateArray();
	struct period cur;
	web_current_quarter(&cur);
	char label[16], text[FMT_LEN];
	for (int y = cur.year; y >= cur.year - 4; y--) {
		struct period p;
		for (int q = (y == cur.year ? cur.index : 4); q >= 0; q--) {
			if (q == 0)
				period_make(PK_YEAR, y, 1, &p);
			else
				period_make(PK_QUARTER, y, q, &p);
			period_label(&p, label);
			fmt_period(&p, l, text, sizeof(text));
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "value", label);
			cJSON_AddStringToObject(o, "text", text);
			cJSON_AddBoolToObject(o, "selected", p.kind == sel->kind && p.year == sel->year &&
								    p.index == sel->index);
			cJSON_AddItemToArray(list, o);
		}
	}
	return list;
}

int web_page_period(const char *v, struct period *p)
{
	if (!v) {
		web_current_quarter(p);
		return 0;
	}
	if (period_parse(v, p) < 0 || p->kind == PK_MONTH)
		return -1;
	return 0;
}
