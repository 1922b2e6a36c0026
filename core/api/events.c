/* events.c - POST and GET /api/v1/events: ingest and the event query. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api/api.h"
#include "ingest/batch.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"

/* The body types ingest takes, in the order of `formats`. */
const char *const api_event_types[] = {"application/json", "application/x-ndjson",
				       "application/ndjson", "text/csv", NULL};
static const enum batch_format formats[] = {BATCH_JSON, BATCH_NDJSON, BATCH_NDJSON, BATCH_CSV};

/* POST /api/v1/events: parses and stores one batch; leaves the answer in
 * r->reply_status and r->reply.  Runs on a work thread, never on a network
 * thread (see http.h). */
void api_events_post(void *ud, struct http_req *r)
{
	struct api *h = ud;
	struct event_limits lim = {
		.attrs_bytes = h->cfg->attrs_bytes,
		.attrs_depth = h->cfg->attrs_depth,
		.csv_columns = (size_t)h->cfg->csv_columns,
		.future_ms = (int64_t)h->cfg->future_s * 1000,
	};
	lim.now_ms = time_now_ms();

	struct batch b;
	int rc = batch_parse(&b, formats[r->type], r->body ? r->body : "", r->len, NULL, 1, &lim,
			     (size_t)h->cfg->batch_events);
	char msg[STORE_ERRLEN + 64];
	cJSON *o = cJSON_CreateObject();

	if (rc == -E2BIG) {
		snprintf(msg, sizeof(msg), "the batch holds more than %d events; nothing was stored",
			 h->cfg->batch_events);
		r->reply_status = MHD_HTTP_CONTENT_TOO_LARGE;
		cJSON_AddStringToObject(o, "error", msg);
	} else if (rc == -EINVAL) {
		for (int k = 0; k <= EV_NKINDS; k++)
			metric_add(h->rejected[k], b.rejected[k]);
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
			metric_add(h->batches_failed, 1);
			log_error("batch of %zu events not stored: %s", b.n, err);
			snprintf(msg, sizeof(msg), "the store refused the batch (%s); nothing was stored",
				 err);
			r->reply_status = rc == -ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE
							: MHD_HTTP_SERVICE_UNAVAILABLE;
			cJSON_AddStringToObject(o, "error", msg);
		} else {
			for (int k = 0; k < EV_NKINDS; k++) {
				metric_add(h->accepted[k], res.accepted_by_kind[k]);
				metric_add(h->duplicates[k], res.duplicates_by_kind[k]);
			}
			if (res.accepted && h->stored)
				h->stored(h->stored_ud);
			r->reply_status = MHD_HTTP_OK;
			cJSON_AddNumberToObject(o, "accepted", (double)res.accepted);
			cJSON_AddNumberToObject(o, "duplicates", (double)res.duplicates);
		}
	}
	batch_free(&b);
	r->reply = o;
}

static int add_event(const struct event *e, void *ud)
{
	cJSON *o = event_to_json(e);
	if (!o)
		return -ENOMEM;
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* GET /api/v1/events?kind=&from=&to=&mission=&limit= */
enum MHD_Result api_events_get(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	struct api *h = ud;
	struct store_query q = {.kind = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = 100};
	char msg[160];
	const char *v;

	if ((v = http_query(c, "kind")) && *v) {
		q.kind = event_kind_from_name(v);
		if (q.kind < 0)
			return http_send_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "kind must be service, training, project or satisfaction");
	}
	const char *names[2] = {"from", "to"};
	int64_t *slots[2] = {&q.from_ms, &q.to_ms};
	for (int i = 0; i < 2; i++)
		if ((v = http_query(c, names[i])) && *v &&
		    event_parse_time(v, true, slots[i]) < 0) {
			snprintf(msg, sizeof(msg),
				 "%s must be a date (2026-01-01) or an ISO 8601 date-time with a zone",
				 names[i]);
			return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
		}
	q.mission = http_query(c, "mission");
	if (q.mission && !*q.mission)
		q.mission = NULL;
	if ((v = http_query(c, "limit")) && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > h->cfg->query_rows) {
			snprintf(msg, sizeof(msg), "limit must be a whole number from 1 to %d",
				 h->cfg->query_rows);
			return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
		}
		q.limit = (int)n;
	}
	cJSON *list = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	if (store_get_events(h->store, &q, add_event, list, err) != 0) {
		cJSON_Delete(list);
		log_error("event query failed: %s", err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(list));
	cJSON_AddItemToObject(o, "events", list);
	return http_send_json(c, r, MHD_HTTP_OK, o);
}

