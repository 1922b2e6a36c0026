/* internal.h - what the dashboard's own files share (not for other layers).
 *
 * One file per concern: web.c (set-up, routing), page.c (answers, the page
 * frame, languages, periods), form.c (form bodies), session.c (sign-in,
 * sessions, CSRF), charts.c (the pages' SVG charts), scorecard.c, kpi.c,
 * alerts.c, report.c, edit.c (the pages and their posts), static.c (files
 * under /static/).  Every function here runs on an HTTP thread, for one
 * request (struct page), unless it says otherwise.
 */
#ifndef MIZAN_WEB_INTERNAL_H
#define MIZAN_WEB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "model/period.h"
#include "render/chart.h"
#include "render/i18n.h"
#include "render/view.h"
#include "store/store.h"
#include "web/web.h"
#include "util/time.h"

struct cJSON;
struct tmpl;

#define SESSION_COOKIE "mizan_session"
#define LANG_COOKIE "mizan_lang"
#define SESSION_S (12 * 3600)
#define TEXT_MAX 10000 /* a note's text */
#define COMMENT_MAX 2000
#define FORM_MAX (64 * 1024)

/* ---- the state the pages share (web.c) ---- */

enum tpl { T_LAYOUT, T_LOGIN, T_SCORECARD, T_KPI, T_ALERTS, T_REPORT, T_EDIT, T_ERROR, T_N };

/* Set by web_init before the server starts and freed by web_free after it
 * stopped: read-only while pages are served. */
struct web_state {
	struct tmpl *t[T_N];
	struct chart_pool *charts; /* NULL: pages without charts */
	bool ready;
};
extern struct web_state web_g;

/* The time now, ms since the epoch (UTC).  The dashboard's one clock. */

/* ---- one request ---- */

struct form_field {
	char *key, *value; /* decoded, valid UTF-8, without NUL bytes */
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
	struct form_field *form; /* a POST's fields (form.c), owned by the page */
	size_t nform;
};

/* Extra headers of an answer; every member may be NULL.  Borrowed. */
struct extra {
	const char *location, *disposition, *cookie, *cache;
	int retry_after; /* seconds, for a Retry-After header; 0: none */
};

/* page.c: answers.  Each takes ownership of body (malloc'd; NULL: empty). */
enum MHD_Result web_respond(struct page *pg, unsigned status, const char *type, char *body,
			    size_t len, const struct extra *x);
enum MHD_Result web_redirect(struct page *pg, const char *to, const char *cookie);
/* The data every page has (language, its table of words, the user and the
 * CSRF token); the caller owns it and hands it to web_send_page. */
struct cJSON *web_page_data(struct page *pg, const char *name, const char *title);
/* Renders template t with d (or takes the body already rendered, which stays
 * the caller's) into the layout, answers, and frees d. */
enum MHD_Result web_send_page(struct page *pg, unsigned status, enum tpl t, struct cJSON *d,
			      const char *prerendered, const struct extra *x, bool download);
/* An error page: the word of msg_key, and detail (may be NULL) after it. */
enum MHD_Result web_error(struct page *pg, unsigned status, const char *msg_key,
			  const char *detail);
/* A query argument, NULL when absent or empty (the connection's; borrowed). */
const char *web_arg(struct page *pg, const char *name);
/* Picks the page's language: ?lang=, the language cookie, Accept-Language. */
void web_choose_lang(struct page *pg);
/* The current URL with lang=l, malloc'd (the caller frees); NULL when out
 * of memory. */
char *web_lang_href(struct page *pg, enum lang l);
void web_add_str(struct cJSON *o, const char *key, const char *v);
const char *web_kpi_title(const struct cfg_kpi *k, enum lang l);
const char *web_goal_title(const struct cfg_goal *g, enum lang l);
/* NULL when id is NULL or no goal has it. */
const struct cfg_goal *web_find_goal(const struct config *c, const char *id);
bool web_dim_known(const struct config *c, const char *dim);
void web_current_quarter(struct period *p);
/* Quarters and years of the last four years, newest first, for a <select>. */
struct cJSON *web_period_options(const struct period *sel, enum lang l);
/* A page's ?period= (a quarter or a year); the current quarter when v is
 * NULL.  -1 when it is given but not valid. */
int web_page_period(const char *v, struct period *p);

/* form.c: a POST's form fields into pg->form; -1 when the body is not a
 * valid form.  web_field: a field's value (borrowed from the page), NULL
 * when absent. */
int web_form_parse(struct page *pg);
const char *web_field(struct page *pg, const char *name);
void web_form_free(struct page *pg);

/* session.c */
void web_session_load(struct page *pg);
bool web_csrf_ok(struct page *pg);
enum MHD_Result web_login_page(struct page *pg, unsigned status, bool failed);
/* The client's address as text: the socket's, or the one a trusted proxy
 * (server.trusted_proxies) names last in X-Forwarded-For. */
void web_client_addr(struct page *pg, char *out, size_t outlen);
/* Whether the request came over TLS: server.base_url is https, or a
 * trusted proxy says X-Forwarded-Proto: https. */
bool web_over_tls(struct page *pg);
enum MHD_Result web_login_post(struct page *pg);
enum MHD_Result web_logout_post(struct page *pg);

/* charts.c: inline SVGs (from "<svg" on), malloc'd, the caller frees; NULL
 * without charts or when the render failed (*failed is then set; failed may
 * be NULL).  Thread-safe (the chart pool is). */
/* A chart of v's series (its last `last` periods; 0: all) against v's
 * target, with forecast (NaN: none) at its end.  title and unit may be NULL;
 * width and height 0 for the kind's own size. */
char *web_series_svg(const struct kpi_view *v, size_t last, enum chart_kind kind, double forecast,
		     const char *title, const char *unit, enum lang l, int width, int height,
		     bool *failed);
/* A bar chart of v's breakdown, its first `top` slices. */
char *web_breakdown_svg(const struct kpi_view *v, size_t top, const char *title, enum lang l);

/* The pages (scorecard.c, kpi.c, alerts.c, report.c, edit.c). */
enum MHD_Result web_scorecard(struct page *pg);
/* The scorecard's and the report's entry of a KPI: its view in the page's
 * language, with the last `history` periods (the caller frees both). */
struct cJSON *web_kpi_entry(struct page *pg, const struct cfg_kpi *k, const struct period *p,
			    size_t history, struct kpi_view *v);
void web_scorecard_forget(void);
enum MHD_Result web_kpi_page(struct page *pg, const char *id);
enum MHD_Result web_alerts_page(struct page *pg);
enum MHD_Result web_ack_post(struct page *pg);
enum MHD_Result web_silence_post(struct page *pg);
enum MHD_Result web_report_page(struct page *pg);
/* Adds the newest notes of (goal, period) to o as {difficulties, solutions,
 * who, at, recorded}. */
void web_notes_add(struct page *pg, struct cJSON *o, const char *goal, const char *period);
enum MHD_Result web_edit_page(struct page *pg, unsigned status, const char *error_msg,
			      const char *saved);
enum MHD_Result web_value_post(struct page *pg);
enum MHD_Result web_notes_post(struct page *pg);

/* static.c: files under /static/, read once by web_static_load (0, or -1
 * when out of memory) and freed by web_static_free. */
int web_static_load(const char *dir);
void web_static_free(void);
enum MHD_Result web_static_file(struct page *pg, const char *name);
/* mizan.css, for a downloaded report (NULL when there is none). */
const char *web_static_css(void);

#endif
