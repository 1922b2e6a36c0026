/* http.h - the HTTP API on libmicrohttpd.
 *
 * One listening socket served by a small pool of threads, each running its
 * own epoll loop (libmicrohttpd's thread pool): no thread per connection.
 * Limits on connections, connections per IP, idle time, per-connection
 * memory and request body size all come from the configuration.
 */
#ifndef MIZAN_HTTP_H
#define MIZAN_HTTP_H

#include <stdint.h>

#include "http/auth.h"
#include "model/config.h"
#include "util/metrics.h"
#include "store/store.h"

struct http;

/* Starts serving on c->listen.  Returns 0, or -1 with a sentence in err. */
struct supervisor;
struct chart_pool;
/* sv (may be NULL) hears of every batch that stored something; charts (may
 * be NULL: pages without charts) draws the pages' charts. */
int http_start(struct http **out, const struct config *c, struct store *s, struct auth *a,
	       struct metrics *m, struct supervisor *sv, struct chart_pool *charts, char *err,
	       size_t errlen);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http *h);
void http_stop(struct http *h);

#endif
