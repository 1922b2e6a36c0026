/* web.h - the dashboard: server-rendered pages in Arabic and English.
 *
 * Pages (the .html templates in dashboards/, rendered by template.c), static
 * files (dashboards/static/, cached by browsers for an hour), sign-in with a
 * token or a user of auth.users, sessions kept in the store (only the SHA-256
 * of their id), a CSRF token per session on every form, and the quarterly
 * notes.  The router sends every path the API did not take
 * here, with a POST's form body already read into r->body and no bearer-token
 * check: pages check their own session.
 */
#ifndef MIZAN_WEB_H
#define MIZAN_WEB_H

#include "http/http.h"
#include "store/store.h"

struct chart_pool;

/* What the pages share; the caller fills it and keeps it (and what it
 * points to) alive while the server runs. */
struct web {
	const struct config *cfg;
	struct store *store;
	struct auth *auth;         /* sign-in with a token */
	struct chart_pool *charts; /* may be NULL: pages then show figures without charts */
};

/* Loads the templates and static files of cfg->dashboards once.  No folder
 * is not an error: pages then answer 503 and the API still serves.  0, or
 * -1 after logging why. */
int web_init(struct web *w);
void web_free(void);

/* Registers the pages on every path not taken before (register the API
 * first).  0, or -ENOMEM. */
int web_register(struct http *h, struct web *w);

#endif
