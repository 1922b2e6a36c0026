/* http.c - the server, its router and its limits (see http.h). */
#include "http/http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"

/* The status codes Mizan answers with, each counted in its own series;
 * anything else counts as "other". */
static const unsigned codes[] = {200, 201, 400, 401, 403, 404, 405, 408, 409, 413, 415, 429, 503, 507};
#define NCODES (sizeof(codes) / sizeof(codes[0]))
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5};

/* A route as added, with its series in the metrics. */
struct route {
	struct http_route r;
	struct metric *answered[NCODES + 1]; /* last: any other code */
	struct metric *duration;
};

enum { JOB_NONE, JOB_QUEUED, JOB_DONE };

/* A connection's clock for limits.request_s: libmicrohttpd's idle timeout
 * starts again with every byte, so a client sending one byte every few
 * seconds would keep a connection for ever.  Each request must arrive
 * whole within limits.request_s of its start (the connection's opening,
 * or the end of the request before on the same connection); the watcher
 * thread shuts the socket of one that does not, and the library closes it. */
struct watch {
	struct watch *prev, *next;
	int fd;
	double start;   /* time_mono() when the request began */
	bool answering; /* the request is whole (or answered): off the clock */
};

struct http {
	struct MHD_Daemon *d;
	atomic_size_t body_mem; /* bytes of request bodies held, all requests */
	const struct config *cfg;
	struct auth *auth;
	struct metrics *metrics;
	uint16_t port;
	struct route *routes;
	size_t nroutes;
	struct route unmatched; /* no route's path matched */
	/* the work threads and their queue of suspended requests */
	pthread_t *workers;
	int nworkers;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct http_req *head, *tail;
	int deferred; /* http_defer's requests queued or running */
	bool stopping;
	/* the connections on the clock of limits.request_s, and their watcher */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct watch *watched;
	struct http_req *delayed; /* http_delay's requests, through next */
	pthread_t watcher;
	bool watching, wstop;
};

static struct watch *watch_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* The request on c is whole or answered: off the clock. */
static void watch_answering(struct http *h, struct MHD_Connection *c)
{
	struct watch *w = watch_of(c);
	if (!w)
		return;
	pthread_mutex_lock(&h->wlock);
	w->answering = true;
	pthread_mutex_unlock(&h->wlock);
}

static void watch_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct watch *w = ci ? calloc(1, sizeof(*w)) : NULL;
		if (!w)
			return;
		w->fd = ci->connect_fd;
		w->start = time_mono();
		pthread_mutex_lock(&h->wlock);
		w->next = h->watched;
		if (w->next)
			w->next->prev = w;
		h->watched = w;
		pthread_mutex_unlock(&h->wlock);
		*socket_context = w;
	} else if (*socket_context) {
		/* Called before the library closes the socket: the watcher,
		 * holding the lock, never shuts a descriptor that was reused. */
		struct watch *w = *socket_context;
		pthread_mutex_lock(&h->wlock);
		if (w->prev)
			w->prev->next = w->next;
		else
			h->watched = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&h->wlock);
		free(w);
		*socket_context = NULL;
	}
}

/* Resumes the delayed requests that are due (all of them when stopping);
 * under wlock. */
static void resume_due(struct http *h, double now, bool all)
{
	for (struct http_req **p = &h->delayed; *p;) {
		struct http_req *r = *p;
		if (all || r->due <= now) {
			*p = r->next;
			r->job = JOB_DONE;
			MHD_resume_connection(r->conn);
		} else {
			p = &r->next;
		}
	}
}

int http_delay(struct MHD_Connection *c, struct http_req *r, double seconds)
{
	struct http *h = r->h;
	int rc = 0;
	watch_answering(h, c);
	pthread_mutex_lock(&h->wlock);
	if (h->wstop || !h->watching) {
		rc = -ECANCELED;
	} else {
		r->conn = c;
		r->job = JOB_QUEUED;
		r->due = time_mono() + (seconds < 5 ? seconds : 5);
		MHD_suspend_connection(c);
		r->next = h->delayed;
		h->delayed = r;
	}
	pthread_mutex_unlock(&h->wlock);
	return rc;
}

static void *watch_thread(void *arg)
{
	struct http *h = arg;
	double limit = h->cfg->request_s;
	pthread_mutex_lock(&h->wlock);
	while (!h->wstop) {
		struct timespec until = time_mono_after(0.5);
		pthread_cond_timedwait(&h->wcond, &h->wlock, &until);
		double now = time_mono();
		for (struct watch *w = h->watched; w; w = w->next)
			if (!w->answering && now - w->start > limit) {
				shutdown(w->fd, SHUT_RDWR);
				w->start = now; /* once is enough */
			}
		resume_due(h, now, false);
	}
	resume_due(h, 0, true); /* the library may stop only with none suspended */
	pthread_mutex_unlock(&h->wlock);
	return NULL;
}

static void count_route(struct metrics *m, struct route *rt)
{
	char labels[96];
	for (size_t i = 0; i <= NCODES; i++) {
		if (i < NCODES)
			snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%u\"", rt->r.name, codes[i]);
		else
			snprintf(labels, sizeof(labels), "route=\"%s\",code=\"other\"", rt->r.name);
		rt->answered[i] = metrics_counter_sparse(m, "mizan_http_requests_total",
							 "HTTP requests answered.", labels);
	}
	snprintf(labels, sizeof(labels), "route=\"%s\"", rt->r.name);
	rt->duration = metrics_histogram(m, "mizan_http_request_duration_seconds",
					 "Time from request to response.", labels, bounds,
					 (int)(sizeof(bounds) / sizeof(bounds[0])));
}

static void count(struct http_req *r, unsigned status)
{
	const struct route *rt = r->route ? (const struct route *)r->route : &r->h->unmatched;
	size_t i = 0;
	while (i < NCODES && codes[i] != status)
		i++;
	metric_add(rt->answered[i], 1);
	metric_observe(rt->duration, time_mono() - r->start);
}

/* ---- answers ------------------------------------------------------------------------ */

/* The methods the routes of this path answer, for a 405's Allow header. */
static bool path_matches(const char *pattern, const char *url, struct http_req *r);

static void allowed_methods(struct http *h, const char *url, char *out, size_t n)
{
	struct http_req scratch;
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i].r;
		if (!rt->method || !path_matches(rt->path, url, &scratch) || strstr(out, rt->method))
			continue;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? ", " : "",
					rt->method);
	}
}

enum MHD_Result http_queue(struct MHD_Connection *c, struct http_req *r, unsigned status,
			   struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mizan\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	    !MHD_get_response_header(resp, MHD_HTTP_HEADER_ALLOW)) {
		char allow[64];
		allowed_methods(r->h, r->url, allow, sizeof(allow));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	}
	watch_answering(r->h, c);
	enum MHD_Result ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	/* Counted when the answer is queued, so a client that reads /metrics
	 * right after an answer sees it counted. */
	r->status = status;
	count(r, status);
	return ok;
}

enum MHD_Result http_send_buf(struct MHD_Connection *c, struct http_req *r, unsigned status,
			      const char *type, char *buf, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	return http_queue(c, r, status, resp);
}

enum MHD_Result http_send_json(struct MHD_Connection *c, struct http_req *r, unsigned status,
			       cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!text)
		return MHD_NO;
	struct buf b = {.p = text, .len = strlen(text), .cap = strlen(text) + 1};
	buf_putc(&b, '\n'); /* a trailing newline is kind to curl users */
	size_t n;
	text = buf_take(&b, &n);
	return text ? http_send_buf(c, r, status, "application/json", text, n) : MHD_NO;
}

enum MHD_Result http_send_error(struct MHD_Connection *c, struct http_req *r, unsigned status,
				const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	return http_send_json(c, r, status, o);
}

const char *http_query(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* ---- the checks every route shares ------------------------------------------------- */

/* Answers 401 or 403 (into *ret) and returns false unless the request
 * carries a token whose role allows `need`. */
static bool authorise(struct http *h, struct MHD_Connection *c, struct http_req *r, enum role need,
		      enum MHD_Result *ret)
{
	const char *v = http_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!v || strncasecmp(v, "Bearer ", 7) != 0) {
		*ret = http_send_error(c, r, MHD_HTTP_UNAUTHORIZED,
				       "this needs a token: send 'Authorization: Bearer <token>'");
		return false;
	}
	v += 7;
	while (*v == ' ')
		v++;
	enum role have = auth_check(h->auth, v, strlen(v), r->who);
	if (have == ROLE_NONE) {
		*ret = http_send_error(c, r, MHD_HTTP_UNAUTHORIZED,
				       "the token is not known (or was revoked)");
		return false;
	}
	if (!role_allows(have, need)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "a token with the %s role cannot do this; it needs %s",
			 role_name(have), role_name(need));
		*ret = http_send_error(c, r, MHD_HTTP_FORBIDDEN, msg);
		return false;
	}
	r->role = have;
	return true;
}

static bool media_is(const char *v, const char *type)
{
	size_t n = strlen(type);
	return strncasecmp(v, type, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}

/* Answers 415 unless the body's Content-Type is one the route takes. */
static bool type_ok(struct MHD_Connection *c, struct http_req *r, enum MHD_Result *ret)
{
	const char *const *types = r->route->types;
	if (!types)
		return true;
	const char *type = http_header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	for (int i = 0; type && types[i]; i++)
		if (media_is(type, types[i])) {
			r->type = i;
			return true;
		}
	struct buf msg = {0};
	buf_puts(&msg, "Content-Type must be ");
	for (int i = 0; types[i]; i++)
		buf_printf(&msg, "%s%s", i == 0 ? "" : types[i + 1] ? ", " : " or ", types[i]);
	*ret = http_send_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, msg.p ? msg.p : "bad Content-Type");
	buf_free(&msg);
	return false;
}

/* Counts the body buffer of r at cap bytes against limits.bodies_bytes, the
 * bytes all requests' bodies may hold at once; false (nothing counted) when
 * that would pass it. */
static bool body_charge(struct http_req *r, size_t cap)
{
	struct http *h = r->h;
	if (cap <= r->charged)
		return true;
	size_t more = cap - r->charged;
	size_t was = atomic_fetch_add(&h->body_mem, more);
	if (was + more > h->cfg->bodies_bytes) {
		atomic_fetch_sub(&h->body_mem, more);
		return false;
	}
	r->charged = cap;
	return true;
}

/* Frees r's body and gives its bytes back. */
static void body_drop(struct http_req *r)
{
	free(r->body);
	r->body = NULL;
	if (r->charged) {
		atomic_fetch_sub(&r->h->body_mem, r->charged);
		r->charged = 0;
	}
}

/* 503 with Retry-After: the bodies being read hold limits.bodies_bytes. */
static enum MHD_Result send_busy(struct MHD_Connection *c, struct http_req *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error",
				"the server is reading as many request bodies as it may hold at once "
				"(limits.bodies_bytes); nothing was stored, try again shortly");
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return MHD_NO;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	return http_queue(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
}

/* Refuses a Content-Length over the limit before the body is read; sizes
 * the buffer from it otherwise. */
static enum MHD_Result body_begin(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	size_t limit = r->route->body_limit ? r->route->body_limit : h->cfg->body_bytes;
	const char *cl = http_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t want = 64 * 1024;
	r->limit = limit;
	if (cl) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || *end || n > limit) {
			char msg[128];
			snprintf(msg, sizeof(msg), "the body is larger than the limit of %zu bytes", limit);
			return http_send_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
		}
		want = (size_t)n;
	}
	/* Sized from Content-Length when there is one: no copying as it grows. */
	if (!body_charge(r, want + 1))
		return send_busy(c, r);
	r->cap = want + 1;
	r->body = malloc(r->cap);
	if (r->body)
		r->body[0] = '\0';
	return r->body ? MHD_YES : MHD_NO;
}

/* Answers while the body is still arriving, and closes the connection.
 * libmicrohttpd takes a response only before the body or after all of it,
 * but a body past the limit must be cut off now: the answer is written to
 * the socket directly, the sending side shut, and MHD_NO makes the library
 * close the connection without reading the rest. */
static enum MHD_Result refuse_mid_body(struct MHD_Connection *c, struct http_req *r, unsigned status,
				       const char *reason, const char *msg)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	char body[256], head[256];
	int nb = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
	int nh = snprintf(head, sizeof(head),
			  "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
			  "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
			  status, reason, nb);
	body_drop(r);
	r->status = status;
	count(r, status);
	if (ci) {
		struct iovec iov[2] = {{head, (size_t)nh}, {body, (size_t)nb}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		if (sendmsg(ci->connect_fd, &mh, MSG_NOSIGNAL) > 0)
			shutdown(ci->connect_fd, SHUT_WR);
	}
	return MHD_NO;
}


static enum MHD_Result body_data(struct MHD_Connection *c, struct http_req *r, const char *data,
				 size_t n)
{
	if (r->len + n > r->limit) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the body is larger than the limit of %zu bytes", r->limit);
		return refuse_mid_body(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large", msg);
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap * 2;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > r->limit + 1)
			cap = r->limit + 1;
		if (!body_charge(r, cap))
			return refuse_mid_body(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
					       "the server holds as many request bodies as it may "
					       "(limits.bodies_bytes); try again shortly");
		char *p = realloc(r->body, cap);
		if (!p)
			return refuse_mid_body(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
					       "out of memory");
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return MHD_YES;
}

/* ---- work threads ------------------------------------------------------------------ */

/* A whole body has arrived for a route whose work may block: the
 * connection is suspended and the request goes to the work threads, so
 * that one batch is parsed while another is stored, whichever network
 * thread their connections landed on.  When the work is done the
 * connection is resumed and the handler, called again, answers. */
static void enqueue(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	watch_answering(h, c);
	r->conn = c;
	r->job = JOB_QUEUED;
	MHD_suspend_connection(c);
	r->next = NULL;
	if (h->tail)
		h->tail->next = r;
	else
		h->head = r;
	h->tail = r;
	pthread_cond_signal(&h->qcond);
}

int http_defer(struct MHD_Connection *c, struct http_req *r, http_work work, void *ud, int max)
{
	struct http *h = r->h;
	int rc = 0;
	pthread_mutex_lock(&h->qlock);
	if (h->stopping)
		rc = -ECANCELED;
	else if (h->deferred >= max)
		rc = -EAGAIN;
	else {
		h->deferred++;
		r->dwork = work;
		r->dud = ud;
		enqueue(h, c, r);
	}
	pthread_mutex_unlock(&h->qlock);
	return rc;
}

bool http_resumed(const struct http_req *r)
{
	return (r->dwork || r->due > 0) && r->job == JOB_DONE;
}

static enum MHD_Result defer(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	if (r->job == JOB_DONE && (r->dwork || r->due > 0))
		return r->route->fn(r->route->ud, c, r); /* http_defer's or http_delay's handler, again */
	if (r->job == JOB_DONE) {
		cJSON *reply = r->reply;
		r->reply = NULL;
		return http_send_json(c, r, r->reply_status, reply);
	}
	pthread_mutex_lock(&h->qlock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->qlock);
		body_drop(r);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "the server is stopping; nothing was stored");
	}
	enqueue(h, c, r);
	pthread_mutex_unlock(&h->qlock);
	return MHD_YES;
}

static void *work_thread(void *arg)
{
	struct http *h = arg;
	pthread_mutex_lock(&h->qlock);
	for (;;) {
		while (!h->head && !h->stopping)
			pthread_cond_wait(&h->qcond, &h->qlock);
		struct http_req *r = h->head;
		if (!r)
			break; /* stopping, and nothing left */
		h->head = r->next;
		if (!h->head)
			h->tail = NULL;
		pthread_mutex_unlock(&h->qlock);
		if (r->dwork) {
			r->dwork(r->dud, r);
			r->job = JOB_DONE;
			pthread_mutex_lock(&h->qlock);
			h->deferred--;
			pthread_mutex_unlock(&h->qlock);
			MHD_resume_connection(r->conn);
			pthread_mutex_lock(&h->qlock);
			continue;
		}
		r->route->work(r->route->ud, r);
		body_drop(r);
		if (!r->reply) {
			r->reply_status = MHD_HTTP_SERVICE_UNAVAILABLE;
			r->reply = cJSON_CreateObject();
			cJSON_AddStringToObject(r->reply, "error", "out of memory");
		}
		r->job = JOB_DONE;
		MHD_resume_connection(r->conn); /* r is the library's again from here */
		pthread_mutex_lock(&h->qlock);
	}
	pthread_mutex_unlock(&h->qlock);
	return NULL;
}

/* Lets the work threads finish the queue, then joins them. */
static void stop_workers(struct http *h)
{
	pthread_mutex_lock(&h->qlock);
	h->stopping = true;
	pthread_cond_broadcast(&h->qcond);
	pthread_mutex_unlock(&h->qlock);
	for (int i = 0; i < h->nworkers; i++)
		pthread_join(h->workers[i], NULL);
	free(h->workers);
	h->workers = NULL;
	h->nworkers = 0;
}

/* ---- the router --------------------------------------------------------------------- */

/* Whether url matches pattern; "{}" segments are copied into r->arg. */
static bool path_matches(const char *pattern, const char *url, struct http_req *r)
{
	int arg = 0;
	const char *p = pattern, *u = url;
	for (;;) {
		if (p[0] == '*' && p[1] == '\0')
			return true;
		if (p[0] == '{' && p[1] == '}') {
			size_t n = strcspn(u, "/");
			if (n == 0 || n >= HTTP_ARG_LEN || arg >= HTTP_MAX_ARGS)
				return false;
			memcpy(r->arg[arg], u, n);
			r->arg[arg++][n] = '\0';
			p += 2;
			u += n;
			continue;
		}
		if (*p != *u)
			return false;
		if (!*p)
			return true;
		p++;
		u++;
	}
}

static bool method_is(const char *route_method, const char *method)
{
	if (!route_method)
		return true;
	if (strcmp(route_method, method) == 0)
		return true;
	return strcmp(route_method, MHD_HTTP_METHOD_GET) == 0 &&
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* The route for this method and path, or NULL; *path_known then says
 * whether a route has this path with another method (405 rather than 404). */
static const struct http_route *route_of(struct http *h, const char *url, const char *method,
					 struct http_req *r, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i].r;
		if (!path_matches(rt->path, url, r))
			continue;
		/* A path's own routes come before a catch-all (a path ending in "*"): a known
		 * path with another method is a 405, not the catch-all's answer. */
		bool catch_all = rt->path[strlen(rt->path) - 1] == '*';
		if (method_is(rt->method, method) && !(catch_all && *path_known))
			return rt;
		if (!catch_all)
			*path_known = true;
	}
	return NULL;
}

static bool sends_body(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_POST) == 0 || strcmp(method, MHD_HTTP_METHOD_PUT) == 0;
}

/* The first call: what can be refused before a body is read. */
static enum MHD_Result begin(struct http *h, struct MHD_Connection *c, struct http_req *r)
{
	enum MHD_Result ret;
	if (r->route->role != ROLE_NONE && !authorise(h, c, r, r->route->role, &ret))
		return ret;
	if (!type_ok(c, r, &ret))
		return ret;
	r->allowed = true;
	return body_begin(h, c, r);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;
	(void)version;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r || !(r->url_copy = strdup(url))) {
			free(r);
			return MHD_NO;
		}
		r->start = time_mono();
		r->h = h;
		r->url = r->url_copy;
		r->method = method;
		bool path_known;
		r->route = route_of(h, url, method, r, &path_known);
		*con_cls = r;
		if (!r->route) {
			/* Answered once the request is whole; a body is dropped. */
			r->unrouted = path_known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
			return MHD_YES;
		}
		if (r->route->body == HTTP_BODY_READ && sends_body(method))
			return begin(h, c, r);
		/* Answering on the second call keeps the connection alive. */
		return MHD_YES;
	}
	if (r->status) { /* answered already; the rest of the body is dropped */
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->job == JOB_DONE)
		return defer(h, c, r);
	if (r->body) {
		if (*upload_size) {
			enum MHD_Result ret = body_data(c, r, upload, *upload_size);
			*upload_size = 0;
			return ret;
		}
		return r->route->work ? defer(h, c, r) : r->route->fn(r->route->ud, c, r);
	}
	if (*upload_size) { /* a body where none is wanted */
		*upload_size = 0;
		return MHD_YES;
	}
	if (!r->route)
		return http_send_error(c, r, r->unrouted,
				       r->unrouted == MHD_HTTP_NOT_FOUND ? "no such resource"
									 : "method not allowed here");
	enum MHD_Result ret;
	if (!r->allowed && r->route->role != ROLE_NONE && !authorise(h, c, r, r->route->role, &ret))
		return ret;
	return r->route->fn(r->route->ud, c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;
	struct watch *w = watch_of(c);
	if (w) { /* the next request on this connection starts its clock now */
		pthread_mutex_lock(&h->wlock);
		w->answering = false;
		w->start = time_mono();
		pthread_mutex_unlock(&h->wlock);
	}

	if (!r)
		return;
	/* A request cut off before an answer (timeout, client gone) counts as 408. */
	if (!r->status)
		count(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 408);
	body_drop(r);
	free(r->url_copy);
	cJSON_Delete(r->reply);
	if (r->state_free)
		r->state_free(r->state);
	free(r);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	/* refuse_mid_body closes connections on purpose; that is no news. */
	if (strstr(line, "Application reported internal error"))
		return;
	log_warn("http: %s", line);
}

/* "ADDR:PORT" or "[ADDR6]:PORT" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || end == colon + 1)
		goto bad;
	size_t n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		memcpy(host, s + 1, n - 2);
		host[n - 2] = '\0';
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		return 0;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "listen address '%s' must be IPv4:PORT or [IPv6]:PORT", s);
	return -EINVAL;
}


int http_new(struct http **out, const struct config *c, struct auth *auth, struct metrics *metrics,
	     char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->cfg = c;
	h->auth = auth;
	h->metrics = metrics;
	h->unmatched.r.name = "other";
	count_route(metrics, &h->unmatched);
	pthread_mutex_init(&h->qlock, NULL);
	pthread_cond_init(&h->qcond, NULL);
	pthread_mutex_init(&h->wlock, NULL);
	time_cond_init(&h->wcond);
	*out = h;
	return 0;
}

int http_route_add(struct http *h, const struct http_route *r)
{
	struct route *p = realloc(h->routes, sizeof(*p) * (h->nroutes + 1));
	if (!p)
		return -ENOMEM;
	h->routes = p;
	p = &h->routes[h->nroutes++];
	memset(p, 0, sizeof(*p));
	p->r = *r;
	count_route(h->metrics, p);
	return 0;
}

int http_start(struct http *h, char *err, size_t errlen)
{
	const struct config *c = h->cfg;
	struct sockaddr_storage ss;
	int rc = parse_listen(c->listen, &ss, err, errlen);
	if (rc < 0)
		return rc;
	h->workers = calloc((size_t)c->threads, sizeof(*h->workers));
	rc = h->workers ? 0 : ENOMEM;
	for (int i = 0; h->workers && i < c->threads; i++) {
		int e = pthread_create(&h->workers[i], NULL, work_thread, h);
		if (e == 0)
			h->nworkers++;
		else
			rc = e;
	}
	if (h->nworkers == 0) {
		snprintf(err, errlen, "cannot start the work threads: %s", strerror(rc));
		return -rc;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	errno = 0; /* what MHD leaves there says why it failed, when anything does */
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)c->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)c->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->connection_memory,
		MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_NOTIFY_CONNECTION, watch_notify, h,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
		MHD_OPTION_END);
	if (!h->d) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot listen on %s: %s", c->listen, strerror(-rc));
		return rc;
	}
	int e = pthread_create(&h->watcher, NULL, watch_thread, h);
	if (e != 0) {
		snprintf(err, errlen, "cannot start the request watcher: %s", strerror(e));
		return -e;
	}
	h->watching = true;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	return 0;
}

uint16_t http_port(const struct http *h)
{
	return h->port;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	/* Work already taken is finished and answered; later requests get 503.
	 * Only then may the library stop: no connection is left suspended. */
	MHD_socket listener = h->d ? MHD_quiesce_daemon(h->d) : MHD_INVALID_SOCKET;
	stop_workers(h);
	if (h->watching) {
		pthread_mutex_lock(&h->wlock);
		h->wstop = true;
		pthread_cond_broadcast(&h->wcond);
		pthread_mutex_unlock(&h->wlock);
		pthread_join(h->watcher, NULL);
	}
	if (h->d)
		MHD_stop_daemon(h->d);
	if (listener != MHD_INVALID_SOCKET)
		close(listener); /* quiescing handed it to us */
	pthread_mutex_destroy(&h->qlock);
	pthread_cond_destroy(&h->qcond);
	pthread_mutex_destroy(&h->wlock);
	pthread_cond_destroy(&h->wcond);
	free(h->routes);
	free(h);
}
