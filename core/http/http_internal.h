/* http_internal.h - what the route files (api_*.c) share with http.c. */
#ifndef MIZAN_HTTP_INTERNAL_H
#define MIZAN_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "http/auth.h"
#include "ingest/batch.h"
#include "http/http.h"

struct cJSON;
struct supervisor;
struct chart_pool;

struct http {
	struct MHD_Daemon *d;
	const struct config *cfg;
	struct store *store;
	struct auth *auth;
	struct metrics *m;
	struct supervisor *sv;
	uint16_t port;
	/* the ingest threads and their queue of suspended requests */
	pthread_t *ingesters;
	int ningesters;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct req *head, *tail;
	bool stopping;
	struct chart_pool *charts;
};

enum job_state { JOB_NONE, JOB_QUEUED, JOB_DONE };

/* What one request has gathered so far. */
struct req {
	enum route route;
	struct timespec start;
	unsigned status;   /* set when a response is queued */
	enum batch_format fmt;
	char *body;
	size_t len, cap, limit;
	char who[AUTH_NAME_LEN]; /* the token's name, once authorised */
	char kpi[64];            /* the KPI (or alert id) named in the URL */
	char arg[32];            /* a period named in the URL */
	bool put;                /* the method is PUT */
	struct metrics *m;
	/* a batch handed to the ingest threads */
	enum job_state job;
	struct MHD_Connection *conn;
	struct req *next;
	unsigned reply_status;
	struct cJSON *reply;
	char *url; /* pages only (R_WEB) */
};

/* Queue a response; they take ownership of buf and body. */
enum MHD_Result send_buf(struct MHD_Connection *c, struct req *r, unsigned status, const char *type,
			 char *buf, size_t len);
enum MHD_Result send_json(struct MHD_Connection *c, struct req *r, unsigned status,
			  struct cJSON *body);
enum MHD_Result send_error(struct MHD_Connection *c, struct req *r, unsigned status,
			   const char *msg);
/* Answers 401 or 403 (into *ret) and returns false unless the request's
 * token may act as `need`; the token's name is then in r->who. */
bool authorise(struct http *h, struct MHD_Connection *c, struct req *r, enum role need,
	       enum MHD_Result *ret);

#endif
