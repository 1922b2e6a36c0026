/* web.h - the dashboard: server-rendered pages in Arabic and English.
 *
 * Pages (the .html templates in dashboards/, rendered by template.c), static
 * files (dashboards/static/, cached by browsers for an hour), sign-in with a
 * token or a user of auth.users, sessions kept in the store (only the SHA-256
 * of their id), a CSRF token per session on every form, and the quarterly
 * notes.  http.c routes every URL that is not /api/..., /healthz or /metrics
 * here, with a POST's form body already read into r->body and no bearer-token
 * check: pages check their own session.
 */
#ifndef MIZAN_WEB_H
#define MIZAN_WEB_H

#include "http/http_internal.h"

struct chart_pool;

/* Loads the templates and static files of dashboards_dir once; charts may be
 * NULL (pages then show figures without charts).  0, or -1 after logging why. */
int web_init(struct http *h, const char *dashboards_dir, struct chart_pool *charts);
void web_free(void);

/* Answers any page, static file or form post.  method: "GET", "HEAD" or "POST". */
enum MHD_Result web_handle(struct http *h, struct MHD_Connection *c, struct req *r, const char *url,
			   const char *method);

#endif
