/* web.c - the dashboard: see web.h.
 *
 * Words come from render/i18n.h, numbers, periods and dates are written by
 * render/format.h.
 */
#include "web/web.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "ingest/batch.h"
#include "render/chart.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"
#include "model/period.h"
#include "judge/target.h"
#include "render/format.h"
#include "render/i18n.h"
#include "render/template.h"

#define SESSION_COOKIE "mizan_session"
#define LANG_COOKIE "mizan_lang"
#define SESSION_S (12 * 3600)
#define CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"
#define TEXT_MAX 10000 /* a note's text */
#define COMMENT_MAX 2000

/* ---- state ------------------------------------------------------------------------------ */

enum tpl { T_LAYOUT, T_LOGIN, T_SCORECARD, T_KPI, T_ALERTS, T_REPORT, T_EDIT, T_ERROR, T_N };
static const char *const tpl_names[T_N] = {"layout.html", "login.html",  "scorecard.html",
					   "kpi.html",    "alerts.html", "report.html",
					   "edit.html",   "error.html"};

struct static_file {
	char *name, *type;
	char *data;
	size_t len;
};

#define CACHE_SLOTS 16
struct cached_page {
	char key[48];
	int64_t version;
	char *html;
	size_t len;
	uint64_t used;
};

static struct {
	struct tmpl *t[T_N];
	struct static_file *files;
	size_t nfiles;
	struct chart_pool *charts;
	char *css;         /* mizan.css, inlined into a downloaded report */
	pthread_mutex_t lock;
	struct cached_page cache[CACHE_SLOTS];
	uint64_t tick;
	bool ready;
} W = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- small helpers -------------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *S(enum lang l, const char *key)
{
	return i18n_text(l, key);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *kpi_title(const struct cfg_kpi *k, enum lang l)
{
	return l == LANG_AR ? k->title_ar : k->title_en;
}

static const char *goal_title(const struct cfg_goal *g, enum lang l)
{
	return l == LANG_AR ? g->title_ar : g->title_en;
}

static const struct cfg_goal *find_goal(const struct config *c, const char *id)
{
	for (size_t i = 0; id && i < c->ngoals; i++)
		if (strcmp(c->goals[i].id, id) == 0)
			return &c->goals[i];
	return NULL;
}

static bool dim_known(const struct config *c, const char *dim)
{
	for (size_t i = 0; dim && i < c->slices.n; i++)
		if (strcmp(c->slices.v[i], dim) == 0)
			return true;
	return false;
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	cJSON_AddStringToObject(o, key, v ? v : "");
}

/* ---- the request -------------------------------------------------------------------------- */

struct form_field {
	char *key, *value;
};

struct page {
	struct web *h;
	struct MHD_Connection *c;
	struct http_req *r;
	const char *url;
	enum lang lang;
	bool lang_cookie; /* ?lang= was given: remember it */
	bool signed_in;
	struct store_session s;
	unsigned char sid_hash[32];
	struct form_field *form;
	size_t nform;
};

static const char *arg(struct page *pg, const char *name)
{
	const char *v = MHD_lookup_connection_value(pg->c, MHD_GET_ARGUMENT_KIND, name);
	return v && *v ? v : NULL;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes application/x-www-form-urlencoded text; NULL when it holds a NUL
 * or invalid UTF-8. */
static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	if (strlen(out) != o || utf8_check(out, o) < o) {
		free(out);
		return NULL;
	}
	return out;
}

static void form_free(struct page *pg)
{
	for (size_t i = 0; i < pg->nform; i++) {
		free(pg->form[i].key);
		free(pg->form[i].value);
	}
	free(pg->form);
	pg->form = NULL;
	pg->nform = 0;
}

/* Parses the body; -1 when it is not a valid form. */
static int form_parse(struct page *pg)
{
	const char *b = pg->r->body ? pg->r->body : "";
	size_t len = pg->r->len;
	if (len > 64 * 1024)
		return -1;
	size_t count = 1;
	for (size_t i = 0; i < len; i++)
		count += b[i] == '&';
	pg->form = calloc(count, sizeof(*pg->form));
	if (!pg->form)
		return -1;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && b[j] != '&')
			j++;
		if (j > i) {
			const char *eq = memchr(b + i, '=', j - i);
			size_t klen = eq ? (size_t)(eq - (b + i)) : j - i;
			char *k = url_decode(b + i, klen);
			char *v = eq ? url_decode(eq + 1, (size_t)(b + j - eq - 1)) : strdup("");
			if (!k || !v) {
				free(k);
				free(v);
				return -1;
			}
			pg->form[pg->nform].key = k;
			pg->form[pg->nform].value = v;
			pg->nform++;
		}
		i = j + 1;
	}
	return 0;
}

static const char *field(struct page *pg, const char *name)
{
	for (size_t i = 0; i < pg->nform; i++)
		if (strcmp(pg->form[i].key, name) == 0)
			return pg->form[i].value;
	return NULL;
}

/* Percent-encodes s into b (for links). */
static void url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			buf_add(b, s, 1);
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
	buf_add(&q->b, q->b.len ? "&" : "?", 1);
	url_encode(&q->b, key);
	buf_add(&q->b, "=", 1);
	url_encode(&q->b, value ? value : "");
	return MHD_YES;
}

/* The current URL with lang=l (for the language switch). */
static char *lang_href(struct page *pg, enum lang l)
{
	struct query_build q = {{0}, "lang"};
	buf_add(&q.b, "", 0);
	struct buf path = {0};
	/* the path as requested, re-encoded segment by segment */
	for (const char *p = pg->url; *p; p++) {
		if (*p == '/') {
			buf_add(&path, "/", 1);
		} else {
			char one[2] = {*p, 0};
			url_encode(&path, one);
		}
	}
	if (!path.p)
		buf_add(&path, "/", 1);
	MHD_get_connection_values(pg->c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	buf_add(&path, q.b.p, q.b.len);
	buf_add(&path, q.b.len ? "&lang=" : "?lang=", 6);
	buf_add(&path, l == LANG_AR ? "ar" : "en", 2);
	free(q.b.p);
	return path.p;
}

static void choose_lang(struct page *pg)
{
	const char *v = arg(pg, "lang");
	if (v && (strcmp(v, "ar") == 0 || strcmp(v, "en") == 0)) {
		pg->lang = strcmp(v, "ar") == 0 ? LANG_AR : LANG_EN;
		pg->lang_cookie = true;
		return;
	}
	v = MHD_lookup_connection_value(pg->c, MHD_COOKIE_KIND, LANG_COOKIE);
	if (v && (strcmp(v, "ar") == 0 || strcmp(v, "en") == 0)) {
		pg->lang = strcmp(v, "ar") == 0 ? LANG_AR : LANG_EN;
		return;
	}
	v = MHD_lookup_connection_value(pg->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
	while (v && (*v == ' ' || *v == '\t'))
		v++;
	pg->lang = v && strncasecmp(v, "ar", 2) == 0 && (v[2] == '\0' || v[2] == '-' || v[2] == ',' ||
							v[2] == ';' || v[2] == ' ')
			   ? LANG_AR
			   : LANG_EN;
}

/* Sessions just read from the store, kept for SESSION_MEMO_MS so that a
 * page does not query the store for every request of one browser; a
 * sign-out forgets its session here first. */
#define SESSION_MEMO_MS 2000
#define SESSION_MEMO 64
static struct {
	pthread_mutex_t lock;
	struct {
		unsigned char hash[32];
		struct store_session s;
		int64_t read_ms;
	} v[SESSION_MEMO];
	unsigned next;
} memo = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool memo_get(const unsigned char hash[32], int64_t now, struct store_session *out)
{
	bool found = false;
	pthread_mutex_lock(&memo.lock);
	for (int i = 0; i < SESSION_MEMO && !found; i++)
		if (memo.v[i].read_ms && now - memo.v[i].read_ms < SESSION_MEMO_MS &&
		    now < memo.v[i].s.expires_ms && sodium_memcmp(memo.v[i].hash, hash, 32) == 0) {
			*out = memo.v[i].s;
			found = true;
		}
	pthread_mutex_unlock(&memo.lock);
	return found;
}

static void memo_put(const unsigned char hash[32], int64_t now, const struct store_session *s)
{
	pthread_mutex_lock(&memo.lock);
	unsigned i = memo.next++ % SESSION_MEMO;
	memcpy(memo.v[i].hash, hash, 32);
	memo.v[i].s = *s;
	memo.v[i].read_ms = now;
	pthread_mutex_unlock(&memo.lock);
}

static void memo_forget(const unsigned char hash[32])
{
	pthread_mutex_lock(&memo.lock);
	for (int i = 0; i < SESSION_MEMO; i++)
		if (sodium_memcmp(memo.v[i].hash, hash, 32) == 0)
			memo.v[i].read_ms = 0;
	pthread_mutex_unlock(&memo.lock);
}

static void load_session(struct page *pg)
{
	const char *sid = MHD_lookup_connection_value(pg->c, MHD_COOKIE_KIND, SESSION_COOKIE);
	if (!sid || strlen(sid) < 16 || strlen(sid) > 128)
		return;
	crypto_hash_sha256(pg->sid_hash, (const unsigned char *)sid, strlen(sid));
	int64_t now = now_ms();
	if (memo_get(pg->sid_hash, now, &pg->s)) {
		pg->signed_in = role_allows(pg->s.role, ROLE_VIEWER);
		return;
	}
	char err[STORE_ERRLEN];
	int rc = store_session_get(pg->h->store, pg->sid_hash, now, &pg->s, err);
	if (rc < 0)
		log_error("session: %s", err);
	if (rc > 0)
		memo_put(pg->sid_hash, now, &pg->s);
	pg->signed_in = rc > 0 && role_allows(pg->s.role, ROLE_VIEWER);
}

/* ---- responses ---------------------------------------------------------------------------- */

struct extra {
	const char *location, *disposition, *cookie, *cache;
};

static enum MHD_Result respond(struct page *pg, unsigned status, const char *type, char *body,
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
	if (pg && pg->lang_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
					pg->lang == LANG_AR ? LANG_COOKIE "=ar; Path=/; Max-Age=31536000; SameSite=Lax"
						       : LANG_COOKIE "=en; Path=/; Max-Age=31536000; SameSite=Lax");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	return http_queue(pg->c, pg->r, status, resp);
}

static enum MHD_Result redirect(struct page *pg, const char *to, const char *cookie)
{
	struct extra x = {.location = to, .cookie = cookie};
	return respond(pg, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", NULL, 0, &x);
}

/* The common data of every page. */
static cJSON *page_data(struct page *pg, const char *name, const char *title)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "lang", pg->lang == LANG_AR ? "ar" : "en");
	cJSON_AddStringToObject(d, "dir", pg->lang == LANG_AR ? "rtl" : "ltr");
	cJSON_AddStringToObject(d, "other_lang", pg->lang == LANG_AR ? "en" : "ar");
	cJSON_AddItemReferenceToObject(d, "t", i18n_table(pg->lang));
	cJSON_AddStringToObject(d, "page", name);
	char on[32];
	snprintf(on, sizeof(on), "on_%s", name);
	cJSON_AddBoolToObject(d, on, true);
	add_str(d, "title", title);
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

/* Renders a page's body into the layout and answers with it. */
static enum MHD_Result send_page(struct page *pg, unsigned status, enum tpl t, cJSON *d,
				 const char *content_prerendered, const struct extra *x, bool download)
{
	char *content = content_prerendered ? strdup(content_prerendered) : tmpl_render(W.t[t], d, NULL);
	if (!content) {
		cJSON_Delete(d);
		return MHD_NO;
	}
	cJSON_AddStringToObject(d, "content", content);
	free(content);
	char *href = lang_href(pg, pg->lang == LANG_AR ? LANG_EN : LANG_AR);
	add_str(d, "lang_href", href);
	free(href);
	if (download) {
		cJSON_AddBoolToObject(d, "download", true);
		add_str(d, "inline_css", W.css);
	}
	size_t len;
	char *html = tmpl_render(W.t[T_LAYOUT], d, &len);
	cJSON_Delete(d);
	if (!html)
		return MHD_NO;
	return respond(pg, status, "text/html; charset=utf-8", html, len, x);
}

static enum MHD_Result error_page(struct page *pg, unsigned status, const char *msg_key,
				  const char *detail)
{
	cJSON *d = page_data(pg, "error", S(pg->lang, "error"));
	char msg[512];
	snprintf(msg, sizeof(msg), "%s%s%s", S(pg->lang, msg_key), detail ? ": " : "",
		 detail ? detail : "");
	cJSON_AddStringToObject(d, "message", msg);
	cJSON_AddNumberToObject(d, "status", status);
	return send_page(pg, status, T_ERROR, d, NULL, NULL, false);
}

/* ---- charts ------------------------------------------------------------------------------- */

struct point {
	char label[72]; /* a period label or a slice */
	int64_t start;
	double value, n;
	char provenance[256];
};

struct series {
	struct point *v;
	size_t n, cap;
};

static int series_add(const struct store_result *res, void *ud)
{
	struct series *s = ud;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct point *p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	struct point *p = &s->v[s->n++];
	snprintf(p->label, sizeof(p->label), "%s", *res->dim ? res->slice : res->period);
	p->start = res->start_ms;
	p->value = res->value;
	p->n = res->n;
	snprintf(p->provenance, sizeof(p->provenance), "%s", res->provenance ? res->provenance : "");
	return 0;
}

/* The KPI's figures of one kind of period, whole or by a dimension, with
 * from <= start < to. */
static int load_series(struct web *h, const struct cfg_kpi *k, int pkind, const char *dim,
		       int64_t from, int64_t to, struct series *out)
{
	struct store_result_query q = {.kpi = k->id, .pkind = pkind, .dim = dim,
				       .slice = *dim ? NULL : "", .from_ms = from, .to_ms = to};
	char err[STORE_ERRLEN];
	int rc = (k->indicator ? store_results_each : store_values_each)(h->store, &q, series_add, out,
									  err);
	if (rc < 0)
		log_error("figures of %s: %s", k->id, err);
	return rc;
}

/* Renders a chart as inline SVG (from "<svg" on); NULL without charts or
 * when the render failed (*failed then set). */
static char *chart_svg(const struct chart_spec *spec, bool *failed)
{
	if (!W.charts || spec->n == 0)
		return NULL;
	char err[256];
	size_t len;
	unsigned char *img = chart_render(W.charts, spec, &len, err, sizeof(err));
	if (!img) {
		log_warn("chart: %s", err);
		if (failed)
			*failed = true;
		return NULL;
	}
	char *svg = malloc(len + 1);
	if (svg) {
		memcpy(svg, img, len);
		svg[len] = '\0';
		char *start = strstr(svg, "<svg");
		if (start && start != svg)
			memmove(svg, start, strlen(start) + 1);
		else if (!start) {
			free(svg);
			svg = NULL;
		}
	}
	free(img);
	return svg;
}

static void spec_target(struct chart_spec *spec, const struct target *t)
{
	spec->target_low = t->rule == TR_MIN || t->rule == TR_RANGE ? t->low : NAN;
	spec->target_high = t->rule == TR_MAX || t->rule == TR_RANGE ? t->high : NAN;
	spec->warn = t->rule == TR_NONE ? NAN : t->warn;
}

/* A series chart of pts (period labels) against t. */
static char *series_chart(const struct series *s, size_t from, enum chart_kind kind,
			  const struct target *t, double forecast, const char *title,
			  const char *unit, enum lang l, int width, int height, bool *failed)
{
	size_t n = s->n - from;
	if (n == 0)
		return NULL;
	struct chart_point *pts = calloc(n, sizeof(*pts));
	if (!pts)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		pts[i].label = s->v[from + i].label;
		pts[i].value = s->v[from + i].value;
	}
	struct chart_spec spec = {.kind = kind, .format = CHART_SVG, .title = title, .unit = unit,
				  .lang = l == LANG_AR ? "ar" : "en", .points = pts, .n = n,
				  .forecast = forecast, .width = width, .height = height};
	spec_target(&spec, t);
	char *svg = chart_svg(&spec, failed);
	free(pts);
	return svg;
}

/* ---- periods ---------------------------------------------------------------------------- */

static void current_quarter(struct period *p)
{
	period_of(PK_QUARTER, now_ms(), p);
}

/* Quarters and years of the last four years, newest first, for selectors. */
static cJSON *period_options(const struct period *sel, enum lang l)
{
	cJSON *list = cJSON_CreateArray();
	struct period cur;
	current_quarter(&cur);
	char label[16], text[64];
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

/* The ?period= of a page (a quarter or a year); the current quarter when absent.
 * -1 when it is given but not valid. */
static int page_period(struct page *pg, const char *v, struct period *p)
{
	if (!v) {
		current_quarter(p);
		return 0;
	}
	if (period_parse(v, p) < 0 || p->kind == PK_MONTH)
		return -1;
	return 0;
}

/* The figure of k for p (whole), its target and status. */
struct figure {
	double value, n;
	struct target t;
	enum status st;
	bool has;
	char provenance[256];
};

static void figure_of(struct web *h, const struct cfg_kpi *k, const struct period *p,
		      struct figure *f)
{
	struct series s = {0};
	char err[STORE_ERRLEN];
	memset(f, 0, sizeof(*f));
	f->value = NAN;
	f->n = 0;
	load_series(h, k, (int)p->kind, "", p->start_ms, p->start_ms + 1, &s);
	if (s.n) {
		f->has = true;
		f->value = s.v[0].value;
		f->n = s.v[0].n;
		snprintf(f->provenance, sizeof(f->provenance), "%s", s.v[0].provenance);
	}
	free(s.v);
	if (target_for(h->store, k, p, &f->t, err) < 0)
		f->t.rule = TR_NONE;
	f->st = status_of(f->value, &f->t);
}

/* status (green, amber, ...) and its words in the page's language */
static void add_status(cJSON *o, enum status st, enum lang l)
{
	char key[32];
	cJSON_AddStringToObject(o, "status", status_name(st));
	snprintf(key, sizeof(key), "status_%s", status_name(st));
	cJSON_AddStringToObject(o, "status_text", S(l, key));
}

static void add_figure(cJSON *o, const struct figure *f, enum lang l)
{
	char buf[96];
	fmt_number(f->value, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "value", buf);
	fmt_raw(f->value, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "value_raw", buf);
	fmt_target(&f->t, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "target", buf);
	fmt_number(f->n, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "n", f->has ? buf : "—");
	add_status(o, f->st, l);
}

/* A KPI's entry on the scorecard and in the report: its figure for p; the
 * worst status of its goal so far is updated. */
static cJSON *kpi_entry(struct web *h, const struct cfg_kpi *k, const struct period *p,
			enum lang l, struct figure *f, enum status *worst)
{
	figure_of(h, k, p, f);
	if (f->st > *worst)
		*worst = f->st;
	cJSON *ko = cJSON_CreateObject();
	cJSON_AddStringToObject(ko, "id", k->id);
	add_str(ko, "title", kpi_title(k, l));
	add_str(ko, "unit", k->unit);
	add_figure(ko, f, l);
	return ko;
}

/* ---- the scorecard ---------------------------------------------------------------------- */

static char *scorecard_content(struct page *pg, const struct period *p, bool *failed)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	cJSON *d = page_data(pg, "scorecard", NULL);
	char label[16], text[64];
	period_label(p, label);
	fmt_period(p, l, text, sizeof(text));
	cJSON_AddStringToObject(d, "period", label);
	cJSON_AddStringToObject(d, "period_text", text);
	cJSON_AddItemToObject(d, "periods", period_options(p, l));
	cJSON_AddBoolToObject(d, "charts", W.charts != NULL);
	cJSON *goals = cJSON_AddArrayToObject(d, "goals");
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		const struct cfg_goal *goal = &h->cfg->goals[g];
		cJSON *go = cJSON_CreateObject();
		cJSON_AddStringToObject(go, "id", goal->id);
		add_str(go, "title", goal_title(goal, l));
		add_str(go, "title_other", goal_title(goal, l == LANG_AR ? LANG_EN : LANG_AR));
		cJSON *kpis = cJSON_AddArrayToObject(go, "kpis");
		enum status worst = ST_GREY;
		for (size_t i = 0; i < h->cfg->nkpis; i++) {
			const struct cfg_kpi *k = &h->cfg->kpis[i];
			if (strcmp(k->goal, goal->id) != 0)
				continue;
			struct figure f;
			cJSON *ko = kpi_entry(h, k, p, l, &f, &worst);
			char href[128];
			snprintf(href, sizeof(href), "/kpis/%s?period=%s", k->id, label);
			cJSON_AddStringToObject(ko, "href", href);
			/* the trend: the last 8 periods up to this one */
			struct series s = {0};
			load_series(h, k, (int)p->kind, "", INT64_MIN, p->start_ms + 1, &s);
			size_t from = s.n > 8 ? s.n - 8 : 0;
			char *svg = series_chart(&s, from, CHART_SPARK, &f.t, NAN, NULL, NULL, l, 0, 0,
						 failed);
			if (svg)
				cJSON_AddStringToObject(ko, "spark", svg);
			free(svg);
			free(s.v);
			cJSON_AddItemToArray(kpis, ko);
		}
		add_status(go, worst, l);
		cJSON_AddItemToArray(goals, go);
	}
	char *html = tmpl_render(W.t[T_SCORECARD], d, NULL);
	cJSON_Delete(d);
	return html;
}

/* The store's data version, read at most every half second: the scorecard
 * may be that late, and a busy page does not query the store per request. */
static int64_t data_version(struct store *s)
{
	static _Atomic int64_t version = -1, read_at = 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now - atomic_load(&read_at) < 500 && atomic_load(&version) >= 0)
		return atomic_load(&version);
	int64_t v = store_data_version(s);
	atomic_store(&version, v);
	atomic_store(&read_at, now);
	return v;
}

static enum MHD_Result scorecard(struct page *pg)
{
	struct period p;
	if (page_period(pg, arg(pg, "period"), &p) < 0)
		return error_page(pg, MHD_HTTP_BAD_REQUEST, "e_period", NULL);
	char label[16], key[48];
	period_label(&p, label);
	snprintf(key, sizeof(key), "%s|%s|%d", pg->lang == LANG_AR ? "ar" : "en", label, W.charts != NULL);
	int64_t version = data_version(pg->h->store);
	char *content = NULL;
	pthread_mutex_lock(&W.lock);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (W.cache[i].html && strcmp(W.cache[i].key, key) == 0 && W.cache[i].version == version) {
			content = strdup(W.cache[i].html);
			W.cache[i].used = ++W.tick;
			break;
		}
	pthread_mutex_unlock(&W.lock);
	if (!content) {
		bool failed = false;
		content = scorecard_content(pg, &p, &failed);
		if (!content)
			return MHD_NO;
		if (!failed && version >= 0) {
			pthread_mutex_lock(&W.lock);
			int slot = 0;
			for (int i = 0; i < CACHE_SLOTS; i++) {
				if (strcmp(W.cache[i].key, key) == 0 || !W.cache[i].html) {
					slot = i;
					break;
				}
				if (W.cache[i].used < W.cache[slot].used)
					slot = i;
			}
			char *copy = strdup(content);
			if (copy) {
				free(W.cache[slot].html);
				snprintf(W.cache[slot].key, sizeof(W.cache[slot].key), "%s", key);
				W.cache[slot].version = version;
				W.cache[slot].html = copy;
				W.cache[slot].used = ++W.tick;
			}
			pthread_mutex_unlock(&W.lock);
		}
	}
	cJSON *d = page_data(pg, "scorecard", S(pg->lang, "scorecard"));
	enum MHD_Result ret = send_page(pg, MHD_HTTP_OK, T_SCORECARD, d, content, NULL, false);
	free(content);
	return ret;
}

/* ---- a KPI's page ------------------------------------------------------------------------ */

static int cmp_value_desc(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	bool xf = isfinite(x->value), yf = isfinite(y->value);
	if (xf != yf)
		return xf ? -1 : 1;
	if (!xf || x->value == y->value)
		return strcmp(x->label, y->label);
	return x->value > y->value ? -1 : 1;
}

static void csv_field(struct buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		buf_add(b, s, strlen(s));
		return;
	}
	buf_add(b, "\"", 1);
	for (; *s; s++) {
		buf_add(b, s, 1);
		if (*s == '"')
			buf_add(b, "\"", 1);
	}
	buf_add(b, "\"", 1);
}

static enum MHD_Result kpi_page(struct page *pg, const char *id)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	const struct cfg_kpi *k = config_kpi(h->cfg, id);
	if (!k)
		return error_page(pg, MHD_HTTP_NOT_FOUND, "e_kpi", NULL);
	struct period p;
	const char *pv = arg(pg, "period");
	if (pv) {
		if (page_period(pg, pv, &p) < 0)
			return error_page(pg, MHD_HTTP_BAD_REQUEST, "e_period", NULL);
	} else {
		/* the latest period of the KPI's own kind with a figure, else now */
		struct series last = {0};
		struct store_result_query q = {.kpi = k->id, .pkind = (int)k->period, .dim = "",
					       .slice = "", .from_ms = INT64_MIN, .to_ms = INT64_MAX,
					       .latest = true};
		char err[STORE_ERRLEN];
		(k->indicator ? store_results_each : store_values_each)(h->store, &q, series_add, &last,
									  err);
		if (!last.n || period_parse(last.v[0].label, &p) < 0 || p.kind == PK_MONTH)
			current_quarter(&p);
		free(last.v);
	}
	const char *by = arg(pg, "by");
	if (by && !dim_known(h->cfg, by))
		return error_page(pg, MHD_HTTP_BAD_REQUEST, "e_by", NULL);
	if (!by && h->cfg->slices.n)
		by = h->cfg->slices.v[0];
	char label[16], text[64], buf[96];
	period_label(&p, label);
	fmt_period(&p, l, text, sizeof(text));

	/* the series of this kind of period, up to the chosen one */
	struct series s = {0};
	load_series(h, k, (int)p.kind, "", INT64_MIN, p.start_ms + 1, &s);
	struct figure f;
	figure_of(h, k, &p, &f);
	bool csv = arg(pg, "format") && strcmp(arg(pg, "format"), "csv") == 0;

	/* the table of values per period: the page's table and the CSV */
	cJSON *rows = cJSON_CreateArray();
	struct buf out = {0};
	if (csv)
		buf_add(&out, "period,value,target_low,target_high,status,n\r\n", 46);
	for (size_t i = s.n; i-- > 0;) {
		struct period rp;
		struct target t = {.rule = TR_NONE};
		char err[STORE_ERRLEN];
		if (period_parse(s.v[i].label, &rp) < 0 || target_for(h->store, k, &rp, &t, err) < 0)
			t.rule = TR_NONE;
		enum status st = status_of(s.v[i].value, &t);
		char v[64], lo[64], hi[64], n[64];
		fmt_raw(s.v[i].value, v, sizeof(v));
		fmt_raw(t.rule == TR_MIN || t.rule == TR_RANGE ? t.low : NAN, lo, sizeof(lo));
		fmt_raw(t.rule == TR_MAX || t.rule == TR_RANGE ? t.high : NAN, hi, sizeof(hi));
		fmt_raw(s.v[i].n, n, sizeof(n));
		if (csv) {
			const char *cells[] = {s.v[i].label, v, lo, hi, status_name(st), n};
			for (int c = 0; c < 6; c++) {
				if (c)
					buf_add(&out, ",", 1);
				csv_field(&out, cells[c]);
			}
			buf_add(&out, "\r\n", 2);
			continue;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "period", s.v[i].label);
		fmt_period_label(s.v[i].label, l, buf, sizeof(buf));
		cJSON_AddStringToObject(o, "period_text", buf);
		cJSON_AddStringToObject(o, "value_raw", v);
		cJSON_AddStringToObject(o, "low_raw", lo);
		cJSON_AddStringToObject(o, "high_raw", hi);
		cJSON_AddStringToObject(o, "n_raw", n);
		fmt_number(s.v[i].value, l, buf, sizeof(buf));
		cJSON_AddStringToObject(o, "value", buf);
		fmt_target(&t, l, buf, sizeof(buf));
		cJSON_AddStringToObject(o, "target", buf);
		fmt_number(s.v[i].n, l, buf, sizeof(buf));
		cJSON_AddStringToObject(o, "n", buf);
		add_status(o, st, l);
		cJSON_AddItemToArray(rows, o);
	}
	if (csv) {
		cJSON_Delete(rows);
		free(s.v);
		char disp[128];
		snprintf(disp, sizeof(disp), "attachment; filename=\"mizan-kpi-%s-%s.csv\"", k->id, label);
		struct extra x = {.disposition = disp};
		if (!out.p)
			buf_add(&out, "", 0);
		return respond(pg, MHD_HTTP_OK, "text/csv; charset=utf-8", out.p, out.len, &x);
	}

	cJSON *d = page_data(pg, "kpi", kpi_title(k, l));
	cJSON *ko = cJSON_AddObjectToObject(d, "kpi");
	cJSON_AddStringToObject(ko, "id", k->id);
	add_str(ko, "title", kpi_title(k, l));
	add_str(ko, "unit", k->unit);
	cJSON_AddStringToObject(ko, "goal", k->goal);
	cJSON_AddStringToObject(ko, "source", k->indicator ? "computed" : "reported");
	add_figure(ko, &f, l);
	cJSON_AddStringToObject(d, "period", label);
	cJSON_AddStringToObject(d, "period_text", text);
	cJSON_AddItemToObject(d, "periods", period_options(&p, l));
	cJSON_AddItemToObject(d, "values", rows);
	add_str(d, "by", by);

	/* forecast of an open period */
	double forecast = NAN;
	struct forecast fc;
	char err[STORE_ERRLEN];
	if (f.has && forecast_of(h->store, k, &p, "", "", f.value, now_ms(), &fc, err) == 0 &&
	    fc.open && isfinite(fc.value)) {
		forecast = fc.value;
		fmt_number(fc.value, l, buf, sizeof(buf));
		cJSON *fo = cJSON_AddObjectToObject(d, "forecast");
		cJSON_AddStringToObject(fo, "value", buf);
		cJSON_AddStringToObject(fo, "method", fc.method);
	}
	char *svg = series_chart(&s, 0, CHART_SERIES, &f.t, forecast, kpi_title(k, l), k->unit, l, 0,
				 0, NULL);
	if (svg)
		cJSON_AddStringToObject(d, "series_svg", svg);
	free(svg);
	cJSON_AddBoolToObject(d, "charts", W.charts != NULL);

	/* the breakdown */
	cJSON *dims = cJSON_AddArrayToObject(d, "dims");
	for (size_t i = 0; i < h->cfg->slices.n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "value", h->cfg->slices.v[i]);
		snprintf(buf, sizeof(buf), "dim_%s", h->cfg->slices.v[i]);
		cJSON_AddStringToObject(o, "text", S(l, buf));
		cJSON_AddBoolToObject(o, "selected", by && strcmp(by, h->cfg->slices.v[i]) == 0);
		cJSON_AddItemToArray(dims, o);
	}
	if (by) {
		snprintf(buf, sizeof(buf), "dim_%s", by);
		cJSON_AddStringToObject(d, "by_text", S(l, buf));
		struct series b = {0};
		load_series(h, k, (int)p.kind, by, p.start_ms, p.start_ms + 1, &b);
		if (b.n)
			qsort(b.v, b.n, sizeof(*b.v), cmp_value_desc);
		cJSON *brows = cJSON_AddArrayToObject(d, "breakdown");
		for (size_t i = 0; i < b.n && i < 500; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "slice", b.v[i].label);
			fmt_number(b.v[i].value, l, buf, sizeof(buf));
			cJSON_AddStringToObject(o, "value", buf);
			fmt_raw(b.v[i].value, buf, sizeof(buf));
			cJSON_AddStringToObject(o, "value_raw", buf);
			fmt_number(b.v[i].n, l, buf, sizeof(buf));
			cJSON_AddStringToObject(o, "n", buf);
			cJSON_AddStringToObject(o, "status", status_name(status_of(b.v[i].value, &f.t)));
			cJSON_AddItemToArray(brows, o);
		}
		if (b.n > 20)
			b.n = 20; /* the chart shows the top twenty */
		char title[200];
		snprintf(title, sizeof(title), "%s — %s", S(l, "breakdown"), text);
		svg = series_chart(&b, 0, CHART_BARS, &f.t, NAN, title, k->unit, l, 0, 0, NULL);
		if (svg)
			cJSON_AddStringToObject(d, "breakdown_svg", svg);
		free(svg);
		free(b.v);
	}

	/* provenance: of the chosen period's figure, else the latest */
	const char *prov = f.has ? f.provenance : s.n ? s.v[s.n - 1].provenance : "";
	add_str(d, "provenance", prov);
	if (k->indicator)
		add_str(d, "indicator", k->indicator);
	char csvh[200];
	snprintf(csvh, sizeof(csvh), "/kpis/%s?period=%s&format=csv", k->id, label);
	cJSON_AddStringToObject(d, "csv_href", csvh);
	free(s.v);
	return send_page(pg, MHD_HTTP_OK, T_KPI, d, NULL, NULL, false);
}

/* ---- alerts ------------------------------------------------------------------------------ */

struct alert_rows {
	struct page *pg;
	cJSON *active, *stale;
};

static void alert_common(struct page *pg, cJSON *o, const struct store_alert *a)
{
	enum lang l = pg->lang;
	char buf[96];
	cJSON_AddNumberToObject(o, "id", (double)a->id);
	add_str(o, "kpi", a->kpi);
	const struct cfg_kpi *k = config_kpi(pg->h->cfg, a->kpi);
	add_str(o, "kpi_title", k ? kpi_title(k, l) : a->kpi);
	cJSON_AddBoolToObject(o, "is_kpi", k != NULL);
	add_str(o, "period", a->period);
	fmt_period_label(a->period, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "period_text", buf);
	if (a->dim && *a->dim) {
		snprintf(buf, sizeof(buf), "dim_%s", a->dim);
		char sl[160];
		snprintf(sl, sizeof(sl), "%s: %s", S(l, buf), a->slice ? a->slice : "");
		cJSON_AddStringToObject(o, "slice", sl);
	} else {
		cJSON_AddStringToObject(o, "slice", S(l, "whole"));
	}
	fmt_number(a->value, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "value", buf);
	fmt_number(a->target, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "target", buf);
	fmt_number(a->forecast, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "forecast", buf);
}

static const char *state_text(enum lang l, const char *state)
{
	char key[48];
	snprintf(key, sizeof(key), "state_%s", state ? state : "ok");
	return S(l, key);
}

static int alert_row(const struct store_alert *a, void *ud)
{
	struct alert_rows *ar = ud;
	cJSON *o = cJSON_CreateObject();
	char buf[64];
	alert_common(ar->pg, o, a);
	add_str(o, "state", a->state);
	add_str(o, "state_text", state_text(ar->pg->lang, a->state));
	fmt_time(a->since_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "since", buf);
	if (a->acked_by) {
		cJSON *ack = cJSON_AddObjectToObject(o, "acked");
		add_str(ack, "by", a->acked_by);
		add_str(ack, "comment", a->ack_comment);
		fmt_time(a->acked_ms, buf, sizeof(buf));
		cJSON_AddStringToObject(ack, "at", buf);
	}
	cJSON_AddItemToArray(strcmp(a->kind, "stale") == 0 ? ar->stale : ar->active, o);
	return 0;
}

static int history_row(const struct store_alert *a, void *ud)
{
	struct alert_rows *ar = ud;
	cJSON *o = cJSON_CreateObject();
	char buf[64];
	alert_common(ar->pg, o, a);
	add_str(o, "from", state_text(ar->pg->lang, a->pending));
	add_str(o, "to", state_text(ar->pg->lang, a->state));
	add_str(o, "to_state", a->state);
	fmt_time(a->since_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "at", buf);
	cJSON_AddItemToArray(ar->active, o);
	return 0;
}

static int silence_row(const struct store_silence *si, void *ud)
{
	struct alert_rows *ar = ud;
	cJSON *o = cJSON_CreateObject();
	char buf[64];
	const struct cfg_kpi *k = si->kpi ? config_kpi(ar->pg->h->cfg, si->kpi) : NULL;
	add_str(o, "kpi", si->kpi ? (k ? kpi_title(k, ar->pg->lang) : si->kpi)
				  : S(ar->pg->lang, "any_kpi"));
	fmt_time(si->until_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "until", buf);
	add_str(o, "who", si->who);
	add_str(o, "comment", si->comment);
	cJSON_AddItemToArray(ar->active, o);
	return 0;
}

static enum MHD_Result alerts_page(struct page *pg)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	cJSON *d = page_data(pg, "alerts", S(l, "alerts"));
	char err[STORE_ERRLEN];
	struct alert_rows ar = {pg, cJSON_AddArrayToObject(d, "active"),
				cJSON_AddArrayToObject(d, "stale")};
	struct store_alert_query q = {.state = "active", .limit = 500};
	int rc = store_alerts_each(h->store, &q, alert_row, &ar, err);
	struct alert_rows hist = {pg, cJSON_AddArrayToObject(d, "history"), NULL};
	if (rc >= 0)
		rc = store_alert_history_each(h->store, NULL, 100, history_row, &hist, err);
	struct alert_rows sil = {pg, cJSON_AddArrayToObject(d, "silences"), NULL};
	if (rc >= 0)
		rc = store_silences_each(h->store, now_ms(), silence_row, &sil, err);
	if (rc < 0) {
		log_error("alerts page: %s", err);
		cJSON_Delete(d);
		return error_page(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	cJSON *kpis = cJSON_AddArrayToObject(d, "kpis");
	for (size_t i = 0; i < h->cfg->nkpis; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", h->cfg->kpis[i].id);
		add_str(o, "title", kpi_title(&h->cfg->kpis[i], l));
		cJSON_AddItemToArray(kpis, o);
	}
	for (int k = 0; k < EV_NKINDS; k++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", event_kind_names[k]);
		char t[96];
		snprintf(t, sizeof(t), "%s (%s)", event_kind_names[k], S(l, "state_stale"));
		cJSON_AddStringToObject(o, "title", t);
		cJSON_AddItemToArray(kpis, o);
	}
	char until[16];
	fmt_date(now_ms() + 7 * 86400 * 1000LL, until, sizeof(until));
	cJSON_AddStringToObject(d, "until_default", until);
	return send_page(pg, MHD_HTTP_OK, T_ALERTS, d, NULL, NULL, false);
}

/* ---- the report --------------------------------------------------------------------------- */

struct note_copy {
	cJSON *o;
	enum lang l;
};

static int note_row(const struct store_note *n, void *ud)
{
	struct note_copy *nc = ud;
	char buf[64];
	add_str(nc->o, "difficulties", n->difficulties);
	add_str(nc->o, "solutions", n->solutions);
	add_str(nc->o, "who", n->who);
	fmt_time(n->at_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(nc->o, "at", buf);
	cJSON_AddBoolToObject(nc->o, "recorded", true);
	return 0;
}

static cJSON *report_goal(struct page *pg, const struct cfg_goal *goal, const struct period *p)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	char label[16];
	period_label(p, label);
	cJSON *go = cJSON_CreateObject();
	cJSON_AddStringToObject(go, "id", goal->id);
	add_str(go, "title", goal_title(goal, l));
	cJSON *kpis = cJSON_AddArrayToObject(go, "kpis");
	enum status worst = ST_GREY;
	for (size_t i = 0; i < h->cfg->nkpis; i++) {
		const struct cfg_kpi *k = &h->cfg->kpis[i];
		if (strcmp(k->goal, goal->id) != 0)
			continue;
		struct figure f;
		cJSON *ko = kpi_entry(h, k, p, l, &f, &worst);
		struct series s = {0};
		load_series(h, k, (int)p->kind, "", INT64_MIN, p->start_ms + 1, &s);
		size_t from = s.n > 8 ? s.n - 8 : 0;
		char *svg = series_chart(&s, from, CHART_SERIES, &f.t, NAN, kpi_title(k, l), k->unit, l,
					 640, 240, NULL);
		if (svg)
			cJSON_AddStringToObject(ko, "chart", svg);
		free(svg);
		free(s.v);
		cJSON_AddItemToArray(kpis, ko);
	}
	add_status(go, worst, l);
	struct note_copy nc = {cJSON_AddObjectToObject(go, "notes"), l};
	char err[STORE_ERRLEN];
	if (store_note_get(h->store, goal->id, label, note_row, &nc, err) < 0)
		log_error("notes: %s", err);
	return go;
}

static enum MHD_Result report_page(struct page *pg)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	struct period p;
	if (page_period(pg, arg(pg, "period"), &p) < 0)
		return error_page(pg, MHD_HTTP_BAD_REQUEST, "e_period", NULL);
	const char *gid = arg(pg, "goal");
	const struct cfg_goal *one = gid ? find_goal(h->cfg, gid) : NULL;
	if (gid && !one)
		return error_page(pg, MHD_HTTP_NOT_FOUND, "e_goal", NULL);
	char label[16], text[64];
	period_label(&p, label);
	fmt_period(&p, l, text, sizeof(text));
	char title[200];
	snprintf(title, sizeof(title), "%s — %s", S(l, "report"), text);
	cJSON *d = page_data(pg, "report", title);
	cJSON_AddStringToObject(d, "period", label);
	cJSON_AddStringToObject(d, "period_text", text);
	cJSON_AddItemToObject(d, "periods", period_options(&p, l));
	cJSON *gl = cJSON_AddArrayToObject(d, "goal_options");
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "value", h->cfg->goals[g].id);
		add_str(o, "text", goal_title(&h->cfg->goals[g], l));
		cJSON_AddBoolToObject(o, "selected", one == &h->cfg->goals[g]);
		cJSON_AddItemToArray(gl, o);
	}
	cJSON *goals = cJSON_AddArrayToObject(d, "goals");
	for (size_t g = 0; g < h->cfg->ngoals; g++)
		if (!one || one == &h->cfg->goals[g])
			cJSON_AddItemToArray(goals, report_goal(pg, &h->cfg->goals[g], &p));
	char href[160];
	snprintf(href, sizeof(href), "/report?%s%s%speriod=%s&download=1", one ? "goal=" : "",
		 one ? one->id : "", one ? "&" : "", label);
	cJSON_AddStringToObject(d, "download_href", href);
	bool download = arg(pg, "download") && strcmp(arg(pg, "download"), "0") != 0;
	char disp[200];
	struct extra x = {0};
	if (download) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"mizan-report-%s%s%s.html\"",
			 one ? one->id : "", one ? "-" : "", label);
		x.disposition = disp;
		cJSON_AddBoolToObject(d, "download", true);
	}
	return send_page(pg, MHD_HTTP_OK, T_REPORT, d, NULL, &x, download);
}

/* ---- the edit page -------------------------------------------------------------------------- */

static enum MHD_Result edit_page(struct page *pg, unsigned status, const char *error_msg,
				 const char *saved)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	if (!role_allows(pg->s.role, ROLE_EDITOR))
		return error_page(pg, MHD_HTTP_FORBIDDEN, "e_role", NULL);
	struct period p;
	const char *pv = pg->nform ? field(pg, "period") : arg(pg, "period");
	if (page_period(pg, pv && *pv ? pv : NULL, &p) < 0)
		current_quarter(&p);
	const char *gid = pg->nform ? field(pg, "goal") : arg(pg, "goal");
	const struct cfg_goal *goal = find_goal(h->cfg, gid);
	if (!goal && h->cfg->ngoals)
		goal = &h->cfg->goals[0];
	char label[16];
	period_label(&p, label);
	cJSON *d = page_data(pg, "edit", S(l, "edit"));
	cJSON_AddStringToObject(d, "period", label);
	if (error_msg)
		cJSON_AddStringToObject(d, "error", error_msg);
	if (saved)
		cJSON_AddStringToObject(d, "saved", S(l, "saved"));
	cJSON *kpis = cJSON_AddArrayToObject(d, "reported");
	for (size_t i = 0; i < h->cfg->nkpis; i++) {
		const struct cfg_kpi *k = &h->cfg->kpis[i];
		if (k->indicator)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", k->id);
		add_str(o, "title", kpi_title(k, l));
		add_str(o, "unit", k->unit);
		cJSON_AddItemToArray(kpis, o);
	}
	cJSON *goals = cJSON_AddArrayToObject(d, "goals");
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", h->cfg->goals[g].id);
		add_str(o, "title", goal_title(&h->cfg->goals[g], l));
		cJSON_AddBoolToObject(o, "selected", goal == &h->cfg->goals[g]);
		cJSON_AddItemToArray(goals, o);
	}
	struct note_copy nc = {cJSON_AddObjectToObject(d, "notes"), l};
	char err[STORE_ERRLEN];
	if (goal && store_note_get(h->store, goal->id, label, note_row, &nc, err) < 0)
		log_error("notes: %s", err);
	return send_page(pg, status, T_EDIT, d, NULL, NULL, false);
}

/* ---- sign-in ---------------------------------------------------------------------------- */

static enum MHD_Result login_page(struct page *pg, unsigned status, bool failed)
{
	cJSON *d = page_data(pg, "login", S(pg->lang, "login"));
	if (failed)
		cJSON_AddStringToObject(d, "error", S(pg->lang, "e_login"));
	const char *user = field(pg, "user");
	if (user)
		cJSON_AddStringToObject(d, "user_value", user);
	return send_page(pg, status, T_LOGIN, d, NULL, NULL, false);
}

static void random_text(char *out, size_t outlen)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, outlen, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static enum MHD_Result login_post(struct page *pg)
{
	struct web *h = pg->h;
	const char *token = field(pg, "token"), *user = field(pg, "user"),
		   *password = field(pg, "password");
	enum role role = ROLE_NONE;
	char name[AUTH_NAME_LEN] = "";
	if (token && *token) {
		role = auth_check(h->auth, token, strlen(token), name);
	} else if (user && *user && password) {
		/* Every attempt costs one verification, known user or not. */
		static const char dummy[crypto_pwhash_STRBYTES] =
			"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
			"3Wg8/pOajlDpjkdkKTzmWbcbxSQk5SUv9J0GKF5qTsE";
		const struct config_user *u = NULL;
		for (size_t i = 0; i < h->cfg->nusers; i++)
			if (strcmp(h->cfg->users[i].name, user) == 0)
				u = &h->cfg->users[i];
		int ok = crypto_pwhash_str_verify(u ? u->hash : dummy, password, strlen(password));
		if (u && ok == 0) {
			role = u->role;
			snprintf(name, sizeof(name), "%s", u->name);
		}
	}
	if (role == ROLE_NONE || !role_allows(role, ROLE_VIEWER))
		return login_page(pg, MHD_HTTP_UNAUTHORIZED, true);
	char sid[64], csrf[64];
	random_text(sid, sizeof(sid));
	random_text(csrf, sizeof(csrf));
	unsigned char hash[32];
	crypto_hash_sha256(hash, (const unsigned char *)sid, strlen(sid));
	char err[STORE_ERRLEN];
	if (store_session_add(h->store, hash, name, role, csrf, now_ms() + SESSION_S * 1000LL, err) < 0) {
		log_error("session: %s", err);
		return error_page(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	char cookie[160];
	snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
		 sid, SESSION_S);
	sodium_memzero(sid, sizeof(sid));
	log_info("dashboard: %s signed in (%s)", name, role_name(role));
	return redirect(pg, "/", cookie);
}

/* ---- form posts ------------------------------------------------------------------------- */

static bool csrf_ok(struct page *pg)
{
	const char *v = field(pg, "csrf");
	size_t n = strlen(pg->s.csrf);
	return v && n > 0 && strlen(v) == n && sodium_memcmp(v, pg->s.csrf, n) == 0;
}

static enum MHD_Result bad_form(struct page *pg, const char *key)
{
	return error_page(pg, MHD_HTTP_BAD_REQUEST, "e_form", S(pg->lang, key));
}

static enum MHD_Result ack_post(struct page *pg)
{
	const char *id = field(pg, "id"), *comment = field(pg, "comment");
	char *end = NULL;
	long long n = id ? strtoll(id, &end, 10) : 0;
	if (!id || !*id || *end || n <= 0)
		return error_page(pg, MHD_HTTP_NOT_FOUND, "e_alert", NULL);
	if (!comment || !*comment || strlen(comment) > COMMENT_MAX)
		return bad_form(pg, "e_comment");
	char err[STORE_ERRLEN];
	int rc = store_alert_ack(pg->h->store, n, pg->s.name, comment, err);
	if (rc == -ENOENT)
		return error_page(pg, MHD_HTTP_NOT_FOUND, "e_alert", NULL);
	if (rc < 0) {
		log_error("ack: %s", err);
		return error_page(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	return redirect(pg, "/alerts", NULL);
}

static enum MHD_Result silence_post(struct page *pg)
{
	const char *kpi = field(pg, "kpi"), *until = field(pg, "until"),
		   *comment = field(pg, "comment");
	if (kpi && !*kpi)
		kpi = NULL;
	int64_t until_ms = 0;
	if (!until || event_parse_time(until, true, &until_ms) < 0 || until_ms <= now_ms())
		return bad_form(pg, "e_until");
	if (kpi && ((!config_kpi(pg->h->cfg, kpi) && event_kind_from_name(kpi) < 0) || strlen(kpi) > 64))
		return bad_form(pg, "e_kpi");
	if (!comment || !*comment || strlen(comment) > COMMENT_MAX)
		return bad_form(pg, "e_comment");
	struct store_silence si = {.kpi = kpi, .until_ms = until_ms, .who = pg->s.name,
				   .comment = comment};
	int64_t id;
	char err[STORE_ERRLEN];
	if (store_silence_add(pg->h->store, &si, &id, err) < 0) {
		log_error("silence: %s", err);
		return error_page(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	return redirect(pg, "/alerts", NULL);
}

static enum MHD_Result value_post(struct page *pg)
{
	const struct cfg_kpi *k = config_kpi(pg->h->cfg, field(pg, "kpi") ? field(pg, "kpi") : "");
	const char *pv = field(pg, "period"), *vv = field(pg, "value"), *note = field(pg, "note");
	if (!k)
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_kpi"), NULL);
	if (k->indicator)
		return edit_page(pg, MHD_HTTP_CONFLICT, S(pg->lang, "e_reported"), NULL);
	struct period p;
	if (!pv || period_parse(pv, &p) < 0)
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_period"), NULL);
	char *end = NULL;
	double v = vv ? strtod(vv, &end) : NAN;
	if (!vv || !*vv || *end || !isfinite(v))
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_value"), NULL);
	if (note && !*note)
		note = NULL;
	if (note && strlen(note) > COMMENT_MAX)
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_comment"), NULL);
	char plabel[16];
	period_label(&p, plabel);
	struct store_result r = {.kpi = k->id, .period = plabel, .dim = "", .slice = "",
				 .pkind = (int)p.kind, .start_ms = p.start_ms, .value = v, .note = note};
	char err[STORE_ERRLEN];
	if (store_value_add(pg->h->store, &r, pg->s.name, err) < 0) {
		log_error("value for %s: %s", k->id, err);
		return error_page(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	char to[128];
	snprintf(to, sizeof(to), "/kpis/%s?period=%s", k->id, plabel);
	return redirect(pg, to, NULL);
}

static enum MHD_Result notes_post(struct page *pg)
{
	const struct cfg_goal *g = find_goal(pg->h->cfg, field(pg, "goal"));
	const char *pv = field(pg, "period"), *dif = field(pg, "difficulties"),
		   *sol = field(pg, "solutions");
	struct period p;
	if (!g)
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_goal"), NULL);
	if (!pv || period_parse(pv, &p) < 0 || p.kind == PK_MONTH)
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_period"), NULL);
	if ((dif && strlen(dif) > TEXT_MAX) || (sol && strlen(sol) > TEXT_MAX))
		return edit_page(pg, MHD_HTTP_BAD_REQUEST, S(pg->lang, "e_text"), NULL);
	char plabel[16];
	period_label(&p, plabel);
	struct store_note n = {.goal = g->id, .period = plabel, .difficulties = dif ? dif : "",
			       .solutions = sol ? sol : "", .who = pg->s.name};
	char err[STORE_ERRLEN];
	if (store_note_add(pg->h->store, &n, err) < 0) {
		log_error("note: %s", err);
		return error_page(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	char to[128];
	snprintf(to, sizeof(to), "/report?goal=%s&period=%s", g->id, plabel);
	return redirect(pg, to, NULL);
}

/* ---- static files ------------------------------------------------------------------------ */

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".css", "text/css; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
		{".svg", "image/svg+xml"},            {".png", "image/png"},
		{".ico", "image/x-icon"},             {".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"}, {".json", "application/json"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

static enum MHD_Result static_file(struct page *pg, const char *name)
{
	for (size_t i = 0; i < W.nfiles; i++)
		if (strcmp(W.files[i].name, name) == 0) {
			struct MHD_Response *resp = MHD_create_response_from_buffer(
				W.files[i].len, W.files[i].data, MHD_RESPMEM_PERSISTENT);
			if (!resp)
				return MHD_NO;
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, W.files[i].type);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
						"public, max-age=3600");
			MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
			return http_queue(pg->c, pg->r, MHD_HTTP_OK, resp);
		}
	char *msg = strdup("no such file\n");
	return respond(pg, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", msg, msg ? strlen(msg) : 0,
		       NULL);
}

static int load_static(const char *dir)
{
	DIR *dp = opendir(dir);
	if (!dp) {
		log_warn("dashboard: no static files in %s: %s", dir, strerror(errno));
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(dp))) {
		const char *type = content_type(e->d_name);
		if (e->d_name[0] == '.' || !type)
			continue;
		char path[4096];
		int pn = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (pn < 0 || (size_t)pn >= sizeof(path))
			continue;
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		size_t len;
		char *data = read_file(path, &len);
		struct static_file *f = realloc(W.files, (W.nfiles + 1) * sizeof(*f));
		if (!data || !f) {
			free(data);
			if (f)
				W.files = f;
			closedir(dp);
			return -1;
		}
		W.files = f;
		W.files[W.nfiles] = (struct static_file){strdup(e->d_name), strdup(type), data, len};
		if (strcmp(e->d_name, "mizan.css") == 0)
			W.css = strdup(data);
		W.nfiles++;
	}
	closedir(dp);
	return 0;
}

/* ---- set-up and routing ------------------------------------------------------------------- */

int web_init(struct web *h)
{
	const char *dir = h->cfg->dashboards;
	web_free();
	if (sodium_init() < 0) {
		log_error("dashboard: libsodium failed to start");
		return -1;
	}
	struct stat dst;
	if (stat(dir, &dst) < 0 || !S_ISDIR(dst.st_mode)) {
		/* No dashboard installed: the API still serves; pages answer 503. */
		log_warn("dashboard: no folder %s; pages are off", dir);
		return 0;
	}
	for (int t = 0; t < T_N; t++) {
		char path[4096], err[4400];
		snprintf(path, sizeof(path), "%s/%s", dir, tpl_names[t]);
		W.t[t] = tmpl_load(path, err, sizeof(err));
		if (!W.t[t]) {
			log_error("dashboard: %s", err);
			web_free();
			return -1;
		}
	}
	char sdir[4096];
	snprintf(sdir, sizeof(sdir), "%s/static", dir);
	if (load_static(sdir) < 0) {
		log_error("dashboard: out of memory loading %s", sdir);
		web_free();
		return -1;
	}
	W.charts = h->charts;
	W.ready = true;
	return 0;
}

void web_free(void)
{
	for (int t = 0; t < T_N; t++) {
		tmpl_free(W.t[t]);
		W.t[t] = NULL;
	}
	for (size_t i = 0; i < W.nfiles; i++) {
		free(W.files[i].name);
		free(W.files[i].type);
		free(W.files[i].data);
	}
	free(W.files);
	W.files = NULL;
	W.nfiles = 0;
	free(W.css);
	W.css = NULL;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(W.cache[i].html);
		memset(&W.cache[i], 0, sizeof(W.cache[i]));
	}
	W.charts = NULL;
	W.ready = false;
}

/* Whether s is one non-empty path segment. */
static bool one_segment(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (s[n] == '/')
			return false;
	return n > 0;
}

static enum MHD_Result dispatch(struct page *pg, const char *url, bool get, bool post)
{
	if (strncmp(url, "/static/", 8) == 0) {
		const char *name = url + 8;
		if (!get)
			return error_page(pg, MHD_HTTP_METHOD_NOT_ALLOWED, "e_method", NULL);
		return static_file(pg, name);
	}
	if (strcmp(url, "/login") == 0) {
		if (post) {
			if (form_parse(pg) < 0)
				return login_page(pg, MHD_HTTP_BAD_REQUEST, true);
			return login_post(pg);
		}
		return get ? login_page(pg, MHD_HTTP_OK, false)
			   : error_page(pg, MHD_HTTP_METHOD_NOT_ALLOWED, "e_method", NULL);
	}
	load_session(pg);
	if (!pg->signed_in)
		return redirect(pg, "/login", NULL);
	if (post) {
		if (form_parse(pg) < 0 || !csrf_ok(pg))
			return error_page(pg, MHD_HTTP_FORBIDDEN, "e_forged", NULL);
		if (strcmp(url, "/logout") == 0) {
			char err[STORE_ERRLEN];
			memo_forget(pg->sid_hash);
			store_session_delete(pg->h->store, pg->sid_hash, err);
			return redirect(pg, "/login",
					SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
		}
		if (!role_allows(pg->s.role, ROLE_EDITOR))
			return error_page(pg, MHD_HTTP_FORBIDDEN, "e_role", NULL);
		if (strcmp(url, "/alerts/ack") == 0)
			return ack_post(pg);
		if (strcmp(url, "/silences") == 0)
			return silence_post(pg);
		if (strcmp(url, "/edit/value") == 0)
			return value_post(pg);
		if (strcmp(url, "/edit/notes") == 0)
			return notes_post(pg);
		return error_page(pg, MHD_HTTP_NOT_FOUND, "e_notfound", NULL);
	}
	if (!get)
		return error_page(pg, MHD_HTTP_METHOD_NOT_ALLOWED, "e_method", NULL);
	if (strcmp(url, "/") == 0)
		return scorecard(pg);
	if (strncmp(url, "/kpis/", 6) == 0 && one_segment(url + 6))
		return kpi_page(pg, url + 6);
	if (strcmp(url, "/alerts") == 0)
		return alerts_page(pg);
	if (strcmp(url, "/report") == 0)
		return report_page(pg);
	if (strcmp(url, "/edit") == 0)
		return edit_page(pg, MHD_HTTP_OK, NULL, arg(pg, "saved"));
	return error_page(pg, MHD_HTTP_NOT_FOUND, "e_notfound", NULL);
}

/* Any page, static file or form post. */
static enum MHD_Result handle(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	struct web *h = ud;
	const char *url = r->url, *method = r->method;
	struct page pg = {.h = h, .c = c, .r = r, .url = url};
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	if (!W.ready) {
		char *msg = strdup("the dashboard is not installed (no dashboards folder)\n");
		return respond(&pg, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", msg,
			       msg ? strlen(msg) : 0, NULL);
	}
	choose_lang(&pg);
	enum MHD_Result ret = dispatch(&pg, url, get, post);
	form_free(&pg);
	sodium_memzero(&pg.s, sizeof(pg.s));
	return ret;
}

static const char *const form_types[] = {"application/x-www-form-urlencoded", NULL};

int web_register(struct http *http, struct web *w)
{
	/* Every path the API did not take: the API registers first. */
	const struct http_route route = {"web", NULL, "/*", ROLE_NONE, HTTP_BODY_READ, form_types,
					 64 * 1024, handle, NULL, w};
	return http_route_add(http, &route);
}
