/* http.c - routes, auth, limits and the JSON API. */
#include "http/http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "ingest/batch.h"
#include "http/http_internal.h"
#include "util/log.h"
#include "daemon/supervise.h"
#include "web/web.h"

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- responses ------------------------------------------------------------ */

/* Counts the request when its answer is queued, so a client that reads
 * /metrics right after an answer sees it counted. */
static void answered(struct req *r, unsigned status)
{
	r->status = status;
	metrics_request(r->m, r->route, status, since(&r->start));
}

static const char *allowed_methods(enum route r)
{
	switch (r) {
	case R_EVENTS_POST:
	case R_EVENTS_GET:
	case R_SILENCES:
		return "GET, POST";
	case R_KPI_VALUES:
	case R_ALERT_ACK:
		return "POST";
	case R_KPI_TARGET:
		return "PUT";
	default:
		return "GET";
	}
}

enum MHD_Result send_buf(struct MHD_Connection *c, struct req *r, unsigned status,
				const char *type, char *buf, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"mizan\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					allowed_methods(r->route));
	enum MHD_Result ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	answered(r, status);
	return ok;
}

enum MHD_Result send_json(struct MHD_Connection *c, struct req *r, unsigned status,
				 cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!text)
		return MHD_NO;
	size_t n = strlen(text);
	char *nl = realloc(text, n + 2); /* a trailing newline is kind to curl users */
	if (nl) {
		text = nl;
		text[n++] = '\n';
		text[n] = '\0';
	}
	return send_buf(c, r, status, "application/json", text, n);
}

enum MHD_Result send_error(struct MHD_Connection *c, struct req *r, unsigned status,
				  const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	return send_json(c, r, status, o);
}

/* ---- auth ----------------------------------------------------------------- */

/* Answers 401 or 403 and returns false unless the request carries a token
 * whose role allows `need`. */
bool authorise(struct http *h, struct MHD_Connection *c, struct req *r, enum role need,
		      enum MHD_Result *ret)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!v || strncasecmp(v, "Bearer ", 7) != 0) {
		*ret = send_error(c, r, MHD_HTTP_UNAUTHORIZED,
				  "this needs a token: send 'Authorization: Bearer <token>'");
		return false;
	}
	v += 7;
	while (*v == ' ')
		v++;
	enum role have = auth_check(h->auth, v, strlen(v), r->who);
	if (have == ROLE_NONE) {
		*ret = send_error(c, r, MHD_HTTP_UNAUTHORIZED, "the token is not known (or was revoked)");
		return false;
	}
	if (!role_allows(have, need)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "a token with the %s role cannot do this; it needs %s",
			 role_name(have), role_name(need));
		*ret = send_error(c, r, MHD_HTTP_FORBIDDEN, msg);
		return false;
	}
	return true;
}

/* ---- POST /api/v1/events ------------------------------------------------------ */

static bool media_is(const char *v, const char *type)
{
	size_t n = strlen(type);
	return strncasecmp(v, type, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}

static enum MHD_Result body_begin(struct http *h, struct MHD_Connection *c, struct req *r,
				  size_t limit);

/* First call: everything that can be refused before the body is read. */
static enum MHD_Result post_begin(struct http *h, struct MHD_Connection *c, struct req *r)
{
	enum MHD_Result ret;
	bool events = r->route == R_EVENTS_POST, page = r->route == R_WEB;
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);

	if (page) {
		/* A form: the page checks its session and CSRF token itself. */
		if (!type || !media_is(type, "application/x-www-form-urlencoded"))
			return send_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
					  "Content-Type must be application/x-www-form-urlencoded");
		return body_begin(h, c, r, 64 * 1024);
	}
	if (!authorise(h, c, r, events ? ROLE_INGEST : ROLE_EDITOR, &ret))
		return ret;
	if (!events && !(type && media_is(type, "application/json")))
		return send_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				  "Content-Type must be application/json");
	if (type && media_is(type, "application/json"))
		r->fmt = BATCH_JSON;
	else if (type && (media_is(type, "application/x-ndjson") || media_is(type, "application/ndjson")))
		r->fmt = BATCH_NDJSON;
	else if (type && media_is(type, "text/csv"))
		r->fmt = BATCH_CSV;
	else
		return send_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				  "Content-Type must be application/json, application/x-ndjson or text/csv");
	return body_begin(h, c, r, h->cfg->body_bytes);
}

/* Refuses a Content-Length over `limit` before the body is read; sizes the
 * buffer from it otherwise. */
static enum MHD_Result body_begin(struct http *h, struct MHD_Connection *c, struct req *r,
				  size_t limit)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t want = 64 * 1024;
	r->limit = limit;
	if (cl) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || *end || n > limit) {
			char msg[128];
			snprintf(msg, sizeof(msg), "the body is larger than the limit of %zu bytes", limit);
			return send_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
		}
		want = (size_t)n;
	}
	/* Sized from Content-Length when there is one: no copying as it grows. */
	r->cap = want + 1;
	r->body = malloc(r->cap);
	return r->body ? MHD_YES : MHD_NO;
}

/* Answers while the body is still arriving, and closes the connection.
 * libmicrohttpd takes a response only before the body or after all of it,
 * but a body past the limit must be cut off now: the answer is written to
 * the socket directly, the sending side shut, and MHD_NO makes the library
 * close the connection without reading the rest. */
static enum MHD_Result refuse_mid_body(struct MHD_Connection *c, struct req *r, unsigned status,
				       const char *reason, const char *msg)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	char body[256], head[256];
	int nb = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
	int nh = snprintf(head, sizeof(head),
			  "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
			  "Connection: close\r\n\r\n",
			  status, reason, nb);
	free(r->body);
	r->body = NULL;
	answered(r, status);
	if (ci) {
		struct iovec iov[2] = {{head, (size_t)nh}, {body, (size_t)nb}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		if (sendmsg(ci->connect_fd, &mh, MSG_NOSIGNAL) > 0)
			shutdown(ci->connect_fd, SHUT_WR);
	}
	return MHD_NO;
}

static enum MHD_Result post_data(struct http *h, struct MHD_Connection *c, struct req *r,
				 const char *data, size_t n)
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
		char *p = realloc(r->body, cap);
		if (!p)
			return refuse_mid_body(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable",
					       "out of memory");
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	return MHD_YES;
}

static void count_rejected(struct metrics *m, const struct batch *b)
{
	for (int k = 0; k <= EV_NKINDS; k++)
		atomic_fetch_add_explicit(&m->rejected[k], b->rejected[k], memory_order_relaxed);
}

/* Parses and stores one batch; leaves the answer in r->reply_status and
 * r->reply.  Runs on an ingest thread, never on a network thread. */
static void ingest(struct http *h, struct req *r)
{
	struct event_limits lim = {
		.attrs_bytes = h->cfg->attrs_bytes,
		.attrs_depth = h->cfg->attrs_depth,
		.future_ms = (int64_t)h->cfg->future_s * 1000,
	};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	lim.now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;

	struct batch b;
	int rc = batch_parse(&b, r->fmt, r->body ? r->body : "", r->len, NULL, 1, &lim,
			     (size_t)h->cfg->batch_events);
	free(r->body);
	r->body = NULL;
	char msg[STORE_ERRLEN + 64];
	cJSON *o = cJSON_CreateObject();

	if (rc == -E2BIG) {
		snprintf(msg, sizeof(msg), "the batch holds more than %d events; nothing was stored",
			 h->cfg->batch_events);
		r->reply_status = MHD_HTTP_CONTENT_TOO_LARGE;
		cJSON_AddStringToObject(o, "error", msg);
	} else if (rc == -EINVAL) {
		count_rejected(h->m, &b);
		if (b.total)
			snprintf(msg, sizeof(msg), "%zu of %zu events are invalid; nothing was stored",
				 b.nerrors, b.total);
		else
			snprintf(msg, sizeof(msg), "the body is invalid; nothing was stored");
		r->reply_status = MHD_HTTP_BAD_REQUEST;
		cJSON_AddStringToObject(o, "error", msg);
		cJSON_AddNumberToObject(o, "rejected", (double)b.nerrors);
		cJSON_AddItemToObject(o, "errors", b.errors);
		b.errors = NULL;
	} else if (rc < 0) {
		r->reply_status = MHD_HTTP_SERVICE_UNAVAILABLE;
		cJSON_AddStringToObject(o, "error", "out of memory; nothing was stored");
	} else {
		struct store_put_result res;
		char err[STORE_ERRLEN];
		rc = store_put_events(h->store, b.ev, b.n, &res, err);
		if (rc < 0) {
			atomic_fetch_add_explicit(&h->m->batches_failed, 1, memory_order_relaxed);
			log_error("batch of %zu events not stored: %s", b.n, err);
			snprintf(msg, sizeof(msg), "the store refused the batch (%s); nothing was stored",
				 err);
			r->reply_status = rc == -ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE
							: MHD_HTTP_SERVICE_UNAVAILABLE;
			cJSON_AddStringToObject(o, "error", msg);
		} else {
			for (int k = 0; k < EV_NKINDS; k++) {
				atomic_fetch_add_explicit(&h->m->accepted[k], res.accepted_by_kind[k],
							  memory_order_relaxed);
				atomic_fetch_add_explicit(&h->m->duplicates[k],
							  res.duplicates_by_kind[k], memory_order_relaxed);
			}
			if (res.accepted)
				supervise_poke(h->sv);
			r->reply_status = MHD_HTTP_OK;
			cJSON_AddNumberToObject(o, "accepted", (double)res.accepted);
			cJSON_AddNumberToObject(o, "duplicates", (double)res.duplicates);
		}
	}
	batch_free(&b);
	r->reply = o;
}

/* ---- the ingest threads --------------------------------------------------------- */

/* A whole body has arrived: its connection is suspended and the batch goes
 * to the ingest threads, so that parsing one batch overlaps with storing
 * another whichever network thread their connections landed on.  When it is
 * done the connection is resumed and the handler, called again, answers. */
static enum MHD_Result post_end(struct http *h, struct MHD_Connection *c, struct req *r)
{
	if (r->job == JOB_DONE) {
		cJSON *reply = r->reply;
		r->reply = NULL;
		return send_json(c, r, r->reply_status, reply);
	}
	pthread_mutex_lock(&h->qlock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->qlock);
		free(r->body);
		r->body = NULL;
		return send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "the server is stopping; nothing was stored");
	}
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
	pthread_mutex_unlock(&h->qlock);
	return MHD_YES;
}

static void *ingest_thread(void *arg)
{
	struct http *h = arg;
	pthread_mutex_lock(&h->qlock);
	for (;;) {
		while (!h->head && !h->stopping)
			pthread_cond_wait(&h->qcond, &h->qlock);
		struct req *r = h->head;
		if (!r)
			break; /* stopping, and nothing left */
		h->head = r->next;
		if (!h->head)
			h->tail = NULL;
		pthread_mutex_unlock(&h->qlock);
		ingest(h, r);
		r->job = JOB_DONE;
		MHD_resume_connection(r->conn); /* r is the library's again from here */
		pthread_mutex_lock(&h->qlock);
	}
	pthread_mutex_unlock(&h->qlock);
	return NULL;
}

/* ---- GET /api/v1/events --------------------------------------------------------- */

static int add_event(const struct event *e, void *ud)
{
	cJSON *o = event_to_json(e);
	if (!o)
		return -ENOMEM;
	cJSON_AddItemToArray(ud, o);
	return 0;
}

static enum MHD_Result get_events(struct http *h, struct MHD_Connection *c, struct req *r)
{
	struct store_query q = {.kind = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 100};
	char msg[160];
	const char *v;

	if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kind")) && *v) {
		q.kind = event_kind_from_name(v);
		if (q.kind < 0)
			return send_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "kind must be service, training, project or satisfaction");
	}
	const char *names[2] = {"from", "to"};
	int64_t *slots[2] = {&q.from_ms, &q.to_ms};
	for (int i = 0; i < 2; i++)
		if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, names[i])) && *v &&
		    event_parse_time(v, true, slots[i]) < 0) {
			snprintf(msg, sizeof(msg),
				 "%s must be a date (2026-01-01) or an ISO 8601 date-time with a zone",
				 names[i]);
			return send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
		}
	q.mission = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mission");
	if (q.mission && !*q.mission)
		q.mission = NULL;
	if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit")) && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > h->cfg->query_rows) {
			snprintf(msg, sizeof(msg), "limit must be a whole number from 1 to %d",
				 h->cfg->query_rows);
			return send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
		}
		q.limit = (int)n;
	}
	cJSON *list = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	if (store_get_events(h->store, &q, add_event, list, err) != 0) {
		cJSON_Delete(list);
		log_error("event query failed: %s", err);
		return send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(list));
	cJSON_AddItemToObject(o, "events", list);
	return send_json(c, r, MHD_HTTP_OK, o);
}

/* ---- the rest ----------------------------------------------------------------- */

static enum MHD_Result get_healthz(struct http *h, struct MHD_Connection *c, struct req *r)
{
	int v = store_schema_version(h->store);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", v == STORE_SCHEMA_VERSION ? "ok" : "degraded");
	cJSON_AddNumberToObject(o, "schema", v);
	return send_json(c, r, v == STORE_SCHEMA_VERSION ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static enum MHD_Result get_metrics(struct http *h, struct MHD_Connection *c, struct req *r)
{
	size_t len;
	char *text = metrics_render(h->m, store_size_bytes(h->store), &len);
	if (!text)
		return MHD_NO;
	return send_buf(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* Copies the path segment at p (up to '/' or the end) into out[n]; returns
 * what follows it, or NULL when it is empty or too long. */
static const char *segment(const char *p, char *out, size_t n)
{
	const char *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	if (len == 0 || len >= n)
		return NULL;
	memcpy(out, p, len);
	out[len] = '\0';
	return p + len;
}

/* The route of a URL; a KPI's or an alert's id goes into r->kpi, a period
 * into r->arg. */
static enum route route_of(const char *url, bool post, struct req *r)
{
	static const struct {
		const char *path;
		enum route route;
	} fixed[] = {
		{"/api/v1/goals", R_GOALS},     {"/api/v1/kpis", R_KPIS},
		{"/api/v1/alerts", R_ALERTS},   {"/api/v1/alerts/history", R_ALERT_HISTORY},
		{"/api/v1/silences", R_SILENCES}, {"/api/v1/outbox", R_OUTBOX},
		{"/api/v1/audit", R_AUDIT},     {"/healthz", R_HEALTHZ},
		{"/metrics", R_METRICS},
	};
	if (strcmp(url, "/api/v1/events") == 0)
		return post ? R_EVENTS_POST : R_EVENTS_GET;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(url, fixed[i].path) == 0)
			return fixed[i].route;
	if (strncmp(url, "/api/", 5) != 0)
		return R_WEB; /* a page, a form or a static file */
	const char *rest;
	if (strncmp(url, "/api/v1/alerts/", 15) == 0) {
		rest = segment(url + 15, r->kpi, sizeof(r->kpi));
		return rest && strcmp(rest, "/ack") == 0 ? R_ALERT_ACK : R_OTHER;
	}
	if (strncmp(url, "/api/v1/kpis/", 13) != 0 || !(rest = segment(url + 13, r->kpi, sizeof(r->kpi))))
		return R_OTHER;
	if (!*rest)
		return R_KPI;
	if (strcmp(rest, "/series") == 0)
		return R_KPI_SERIES;
	if (strcmp(rest, "/values") == 0)
		return R_KPI_VALUES;
	if (strncmp(rest, "/targets/", 9) == 0 && (rest = segment(rest + 9, r->arg, sizeof(r->arg))) &&
	    !*rest)
		return R_KPI_TARGET;
	return R_OTHER;
}

/* Whether this method on this route carries a body to read. */
static bool has_body(const struct req *r, bool post)
{
	switch (r->route) {
	case R_EVENTS_POST:
	case R_KPI_VALUES:
	case R_ALERT_ACK:
		return post;
	case R_SILENCES:
	case R_WEB:
		return post;
	case R_KPI_TARGET:
		return r->put;
	default:
		return false;
	}
}

static enum MHD_Result with_body(struct http *h, struct MHD_Connection *c, struct req *r)
{
	switch (r->route) {
	case R_EVENTS_POST:
		return post_end(h, c, r);
	case R_KPI_VALUES:
		return api_value_post(h, c, r, r->kpi);
	case R_ALERT_ACK:
		return api_alert_ack(h, c, r, r->kpi);
	case R_SILENCES:
		return api_silence_post(h, c, r);
	case R_WEB:
		return web_handle(h, c, r, r->url, "POST");
	default:
		return api_target_put(h, c, r, r->kpi, r->arg);
	}
}

static enum MHD_Result without_body(struct http *h, struct MHD_Connection *c, struct req *r)
{
	enum MHD_Result ret;
	switch (r->route) {
	case R_EVENTS_GET:
		if (!authorise(h, c, r, ROLE_VIEWER, &ret))
			return ret;
		return get_events(h, c, r);
	case R_GOALS:
		return api_goals(h, c, r);
	case R_KPIS:
		return api_kpis(h, c, r, NULL);
	case R_KPI:
		return api_kpis(h, c, r, r->kpi);
	case R_KPI_SERIES:
		return api_series(h, c, r, r->kpi);
	case R_ALERTS:
		return api_alerts(h, c, r, false);
	case R_ALERT_HISTORY:
		return api_alerts(h, c, r, true);
	case R_SILENCES:
		return api_silences(h, c, r);
	case R_OUTBOX:
		return api_outbox(h, c, r);
	case R_AUDIT:
		return api_audit(h, c, r);
	case R_HEALTHZ:
		return get_healthz(h, c, r);
	case R_METRICS:
		return get_metrics(h, c, r);
	default:
		return send_error(c, r, MHD_HTTP_NOT_FOUND, "no such resource");
	}
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *r = *con_cls;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	bool put = strcmp(method, MHD_HTTP_METHOD_PUT) == 0;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	(void)version;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		r->m = h->m;
		r->put = put;
		r->route = route_of(url, post, r);
		if (r->route == R_WEB && !(r->url = strdup(url))) {
			free(r);
			return MHD_NO;
		}
		*con_cls = r;
		if (has_body(r, post))
			return post_begin(h, c, r);
		/* Answering on the second call keeps the connection alive. */
		return MHD_YES;
	}
	if (r->status) { /* answered already; the rest of the body is dropped */
		*upload_size = 0;
		return MHD_YES;
	}
	if (has_body(r, post)) {
		if (*upload_size) {
			enum MHD_Result ret = post_data(h, c, r, upload, *upload_size);
			*upload_size = 0;
			return ret;
		}
		return with_body(h, c, r);
	}
	if (*upload_size) { /* a body where none is wanted */
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->route == R_OTHER)
		return send_error(c, r, MHD_HTTP_NOT_FOUND, "no such resource");
	if (r->route == R_WEB)
		return web_handle(h, c, r, r->url, method);
	if (!get || r->route == R_KPI_VALUES || r->route == R_ALERT_ACK || r->route == R_KPI_TARGET)
		return send_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here");
	return without_body(h, c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct req *r = *con_cls;
	(void)c;

	if (!r)
		return;
	/* A request cut off before an answer (timeout, client gone) counts as 408. */
	if (!r->status)
		metrics_request(h->m, r->route,
				toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 408, since(&r->start));
	free(r->body);
	free(r->url);
	cJSON_Delete(r->reply);
	free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
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
	return -1;
}

/* Lets the ingest threads finish the queue, then joins them. */
static void stop_ingesters(struct http *h)
{
	pthread_mutex_lock(&h->qlock);
	h->stopping = true;
	pthread_cond_broadcast(&h->qcond);
	pthread_mutex_unlock(&h->qlock);
	for (int i = 0; i < h->ningesters; i++)
		pthread_join(h->ingesters[i], NULL);
	free(h->ingesters);
	h->ingesters = NULL;
	h->ningesters = 0;
	pthread_mutex_destroy(&h->qlock);
	pthread_cond_destroy(&h->qcond);
}

int http_start(struct http **out, const struct config *c, struct store *s, struct auth *a,
	       struct metrics *m, struct supervisor *sv, struct chart_pool *charts, char *err,
	       size_t errlen)
{
	struct sockaddr_storage ss;
	if (parse_listen(c->listen, &ss, err, errlen) < 0)
		return -1;
	struct http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->cfg = c;
	h->store = s;
	h->auth = a;
	h->m = m;
	h->sv = sv;
	h->charts = charts;
	if (web_init(h, c->dashboards, charts) < 0) {
		snprintf(err, errlen, "cannot read the dashboard templates in %s", c->dashboards);
		free(h);
		return -1;
	}
	pthread_mutex_init(&h->qlock, NULL);
	pthread_cond_init(&h->qcond, NULL);
	h->ingesters = calloc((size_t)c->threads, sizeof(*h->ingesters));
	for (int i = 0; h->ingesters && i < c->threads; i++)
		if (pthread_create(&h->ingesters[i], NULL, ingest_thread, h) == 0)
			h->ningesters++;
	if (h->ningesters == 0) {
		snprintf(err, errlen, "cannot start the ingest threads");
		free(h->ingesters);
		web_free();
		free(h);
		return -1;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)c->connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->connection_memory,
		MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s: %s", c->listen, strerror(errno));
		stop_ingesters(h);
		web_free();
		free(h);
		return -1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
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
	/* Batches already taken are finished and answered; later ones get 503.
	 * Only then may the library stop: no connection is left suspended. */
	MHD_socket listener = MHD_quiesce_daemon(h->d);
	stop_ingesters(h);
	MHD_stop_daemon(h->d);
	if (listener != MHD_INVALID_SOCKET)
		close(listener); /* quiescing handed it to us */
	web_free();
	free(h);
}
