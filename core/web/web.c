/* web.c - the dashboard: see web.h; its files are listed in internal.h.
 *
 * This file loads the templates, keeps the dashboard's one clock and routes
 * a request to its page.  Words come from render/i18n.h; numbers, periods
 * and dates are written by render/format.h; what a page says of a KPI is
 * its view (render/view.h).
 */
#include "web/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "render/template.h"
#include "util/log.h"

struct web_state web_g;

static const char *const tpl_names[T_N] = {"layout.html", "login.html",  "scorecard.html",
					   "kpi.html",    "alerts.html", "report.html",
					   "edit.html",   "error.html"};

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
		web_g.t[t] = tmpl_load(path, err, sizeof(err));
		if (!web_g.t[t]) {
			log_error("dashboard: %s", err);
			web_free();
			return -1;
		}
	}
	char sdir[4096];
	snprintf(sdir, sizeof(sdir), "%s/static", dir);
	if (web_static_load(sdir) < 0) {
		log_error("dashboard: out of memory loading %s", sdir);
		web_free();
		return -1;
	}
	web_g.charts = h->charts;
	web_g.ready = true;
	return 0;
}

void web_free(void)
{
	for (int t = 0; t < T_N; t++) {
		tmpl_free(web_g.t[t]);
		web_g.t[t] = NULL;
	}
	web_static_free();
	web_scorecard_forget();
	web_g.charts = NULL;
	web_g.ready = false;
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

static enum MHD_Result dispatch_post(struct page *pg, const char *url)
{
	if (web_form_parse(pg) < 0 || !web_csrf_ok(pg))
		return web_error(pg, MHD_HTTP_FORBIDDEN, "e_forged", NULL);
	if (strcmp(url, "/logout") == 0)
		return web_logout_post(pg);
	if (!role_allows(pg->s.role, ROLE_EDITOR))
		return web_error(pg, MHD_HTTP_FORBIDDEN, "e_role", NULL);
	if (strcmp(url, "/alerts/ack") == 0)
		return web_ack_post(pg);
	if (strcmp(url, "/silences") == 0)
		return web_silence_post(pg);
	if (strcmp(url, "/edit/value") == 0)
		return web_value_post(pg);
	if (strcmp(url, "/edit/notes") == 0)
		return web_notes_post(pg);
	return web_error(pg, MHD_HTTP_NOT_FOUND, "e_notfound", NULL);
}

static enum MHD_Result dispatch(struct page *pg, const char *url, bool get, bool post)
{
	if (strncmp(url, "/static/", 8) == 0) {
		if (!get)
			return web_error(pg, MHD_HTTP_METHOD_NOT_ALLOWED, "e_method", NULL);
		return web_static_file(pg, url + 8);
	}
	if (strcmp(url, "/login") == 0) {
		if (post) {
			if (web_form_parse(pg) < 0)
				return web_login_page(pg, MHD_HTTP_BAD_REQUEST, true);
			return web_login_post(pg);
		}
		return get ? web_login_page(pg, MHD_HTTP_OK, false)
			   : web_error(pg, MHD_HTTP_METHOD_NOT_ALLOWED, "e_method", NULL);
	}
	web_session_load(pg);
	if (!pg->signed_in)
		return web_redirect(pg, "/login", NULL);
	if (post)
		return dispatch_post(pg, url);
	if (!get)
		return web_error(pg, MHD_HTTP_METHOD_NOT_ALLOWED, "e_method", NULL);
	if (strcmp(url, "/") == 0)
		return web_scorecard(pg);
	if (strncmp(url, "/kpis/", 6) == 0 && one_segment(url + 6))
		return web_kpi_page(pg, url + 6);
	if (strcmp(url, "/alerts") == 0)
		return web_alerts_page(pg);
	if (strcmp(url, "/report") == 0)
		return web_report_page(pg);
	if (strcmp(url, "/edit") == 0)
		return web_edit_page(pg, MHD_HTTP_OK, NULL, web_arg(pg, "saved"));
	return web_error(pg, MHD_HTTP_NOT_FOUND, "e_notfound", NULL);
}

/* Any page, static file or form post. */
static enum MHD_Result handle(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	struct web *h = ud;
	const char *url = r->url, *method = r->method;
	struct page pg = {.h = h, .c = c, .r = r, .url = url};
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	if (!web_g.ready) {
		char *msg = strdup("the dashboard is not installed (no dashboards folder)\n");
		return web_respond(&pg, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", msg,
				   msg ? strlen(msg) : 0, NULL);
	}
	web_choose_lang(&pg);
	enum MHD_Result ret = dispatch(&pg, url, get, post);
	web_form_free(&pg);
	sodium_memzero(&pg.s, sizeof(pg.s));
	return ret;
}

static const char *const form_types[] = {"application/x-www-form-urlencoded", NULL};

int web_register(struct http *http, struct web *w)
{
	/* Every path the API did not take: the API registers first. */
	const struct http_route route = {"web", NULL, "/*", ROLE_NONE, HTTP_BODY_READ, form_types,
					 FORM_MAX, handle, NULL, w};
	return http_route_add(http, &route);
}
