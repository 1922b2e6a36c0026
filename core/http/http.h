/* http.h - the HTTP server on libmicrohttpd, and its router.
 *
 * One listening socket served by a small pool of threads, each running its
 * own epoll loop (libmicrohttpd's thread pool): no thread per connection.
 * Limits on connections, connections per IP, idle time, per-connection
 * memory and request body size all come from the configuration.
 *
 * The server knows no handler.  The layers above register theirs as routes
 * (http_route_add) before http_start: a method, a path pattern, the token
 * role the route needs, the body it takes.  The router then does what every
 * route shares, in this order: finds the route (404 when no path matches,
 * 405 with Allow when the path matches but not the method), checks the
 * bearer token (401, 403), the Content-Type (415) and the body's size (413,
 * before reading it when there is a Content-Length, mid-body otherwise),
 * reads the body, and calls the handler, on the network thread, or on one
 * of the server's work threads with the connection suspended when the route
 * says its work may block (ingest: parsing and storing a batch).  Every
 * answer is counted in the metrics, by route name and status code.
 *
 * Threads: handlers are called on libmicrohttpd's threads (or the work
 * threads), several at once; what they share must be theirs to lock.
 */
#ifndef MIZAN_HTTP_H
#define MIZAN_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/auth.h"
#include "model/config.h"

struct cJSON;
struct http;
struct http_req;
struct metrics;
struct metric;

enum http_body {
	HTTP_BODY_NONE, /* a body sent anyway is read and dropped */
	HTTP_BODY_READ, /* read whole into r->body (NUL-terminated) before the handler */
};

/* A handler answers with one of the http_send_* functions (or http_queue)
 * and returns what it returned; MHD_NO closes the connection. */
typedef enum MHD_Result (*http_handler)(void *ud, struct MHD_Connection *c, struct http_req *r);
/* Work that may block: runs on a work thread, sets r->reply_status and
 * r->reply (a cJSON the server sends and frees). */
typedef void (*http_work)(void *ud, struct http_req *r);

struct http_route {
	const char *name;   /* its label in /metrics (routes may share one) */
	const char *method; /* "GET" (answers HEAD too), "POST", "PUT", or NULL for any */
	/* A path: literal segments, "{}" for one segment of at most 63 bytes
	 * (copied into r->arg[0], r->arg[1]), or a last segment "*" for any
	 * rest.  Routes are tried in the order they were added. */
	const char *path;
	enum role role;     /* the token's role needed; ROLE_NONE: no token check */
	enum http_body body;
	/* The body's Content-Types: NULL for any; else a NULL-terminated list,
	 * and the index of the one sent goes into r->type. */
	const char *const *types;
	size_t body_limit;  /* 0: limits.body_bytes */
	http_handler fn;    /* exactly one of fn and work */
	http_work work;
	void *ud;           /* handed to fn or work; must outlive the server */
};

#define HTTP_ARG_LEN 64
#define HTTP_MAX_ARGS 2

/* One request.  The router fills the fields above the line; a handler reads
 * them, and may keep nothing of the request after it answers. */
struct http_req {
	const struct http_route *route;
	const char *url;             /* the path, without the query string */
	const char *method;          /* as sent */
	char arg[HTTP_MAX_ARGS][HTTP_ARG_LEN];
	char who[AUTH_NAME_LEN];     /* the token's name, once authorised */
	enum role role;              /* the token's role (ROLE_NONE without a check) */
	int type;                    /* the index in route->types of the body's type */
	char *body;                  /* HTTP_BODY_READ: the body, NUL-terminated; else NULL */
	size_t len;
	/* work routes: the answer */
	unsigned reply_status;
	struct cJSON *reply;
	/* http_defer: the handler's own state, kept until the request ends
	 * (then freed with state_free, when not NULL) */
	void *state;
	void (*state_free)(void *state);
	/* ---- the router's own ---- */
	struct http *h;
	double start;                /* time_mono() when the request began */
	unsigned status;             /* set when an answer is queued */
	size_t cap, limit;
	size_t charged;              /* bytes of body held, counted against limits.bodies_bytes */
	int job;
	unsigned unrouted;           /* no route: 404 or 405 */
	bool allowed;                /* past the token and type checks */
	struct MHD_Connection *conn;
	struct http_req *next;
	char *url_copy;
	http_work dwork;             /* http_defer's work, and its ud */
	void *dud;
	double due;                  /* http_delay: when to resume (0: not delayed) */
};

/* A server for c->listen that does not listen yet.  auth checks the tokens
 * of routes that need a role; metrics (may be NULL) counts requests.  Both
 * are borrowed and must outlive the server.  0, or -ENOMEM with a sentence
 * in err. */
int http_new(struct http **out, const struct config *c, struct auth *auth, struct metrics *metrics,
	     char *err, size_t errlen);
/* Adds a route (the struct is copied; its strings and ud are borrowed).
 * Before http_start only.  0, or -ENOMEM. */
int http_route_add(struct http *h, const struct http_route *r);
/* Starts listening and serving.  0, or a negative errno with a sentence in
 * err: -EINVAL a listen address that is not one, or why the threads could
 * not start or the address could not be bound (-EADDRINUSE...). */
int http_start(struct http *h, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http *h);
/* Stops serving (work already taken is finished and answered) and frees
 * the server; NULL is a no-op. */
void http_stop(struct http *h);

/* Answers: they take ownership of buf, body and resp, and count the answer. */
enum MHD_Result http_send_buf(struct MHD_Connection *c, struct http_req *r, unsigned status,
			      const char *type, char *buf, size_t len);
enum MHD_Result http_send_json(struct MHD_Connection *c, struct http_req *r, unsigned status,
			       struct cJSON *body);
/* {"error": msg} */
enum MHD_Result http_send_error(struct MHD_Connection *c, struct http_req *r, unsigned status,
				const char *msg);
/* A response the handler built itself (headers of its own: cookies, caching). */
enum MHD_Result http_queue(struct MHD_Connection *c, struct http_req *r, unsigned status,
			   struct MHD_Response *resp);

/* From a handler (fn) of a route that reads its body: runs work(ud, r) on
 * a work thread with the connection suspended, and then calls the handler
 * again, where http_resumed(r) is true; r->body and r->state stay.  The
 * handler returns MHD_YES after a 0.  Returns 0, -EAGAIN when `max`
 * requests are deferred already (queued or running; the handler answers
 * itself), or -ECANCELED when the server is stopping. */
int http_defer(struct MHD_Connection *c, struct http_req *r, http_work work, void *ud, int max);
/* From a handler: holds the request, its connection suspended (it costs
 * no thread), for about `seconds` (at most 5; to the next half second),
 * then calls the handler again, where http_resumed(r) is true and r->state
 * is as it was.  Slows down a client that waits for each answer before it
 * sends again.  0, or -ECANCELED when the server is stopping. */
int http_delay(struct MHD_Connection *c, struct http_req *r, double seconds);
bool http_resumed(const struct http_req *r);

/* A query argument, or NULL (borrowed from the connection). */
const char *http_query(struct MHD_Connection *c, const char *name);
/* A request header, or NULL (borrowed from the connection). */
const char *http_header(struct MHD_Connection *c, const char *name);

#endif
