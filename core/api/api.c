/* api.c - the API's routes, and /healthz and /metrics. */
#include "api/api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>

#include "model/event.h"
#include "util/metrics.h"

static enum MHD_Result healthz(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	static const char *const states[] = {
		[STORE_CHECK_NEVER] = "never", [STORE_CHECK_OK] = "ok",
		[STORE_CHECK_DAMAGED] = "damaged", [STORE_CHECK_FAILED] = "failed"};
	struct api *a = ud;
	int v = store_schema_version(a->store);
	struct store_check ck;
	store_check_last(a->store, &ck);
	bool damaged = ck.state == STORE_CHECK_DAMAGED;
	bool ok = v == STORE_SCHEMA_VERSION && !damaged;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", ok ? "ok" : damaged ? "damaged" : "degraded");
	cJSON_AddNumberToObject(o, "schema", v);
	cJSON *chk = cJSON_AddObjectToObject(o, "check");
	cJSON_AddStringToObject(chk, "state", states[ck.state]);
	if (ck.at_ms) {
		char at[32];
		event_format_time(ck.at_ms, at);
		cJSON_AddStringToObject(chk, "at", at);
	} else {
		cJSON_AddNullToObject(chk, "at");
	}
	if (ck.detail[0])
		cJSON_AddStringToObject(chk, "detail", ck.detail);
	cJSON_AddBoolToObject(o, "demo", store_is_demo(a->store) == 1);
	return http_send_json(c, r, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static enum MHD_Result metrics(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	struct api *a = ud;
	size_t len;
	char *text = metrics_render(a->metrics, &len);
	if (!text)
		return MHD_NO;
	return http_send_buf(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static enum MHD_Result not_found(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	(void)ud;
	return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such resource");
}

/* The handlers that take a path argument or a flag, as router handlers. */
static enum MHD_Result goals(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_goals(ud, c, r);
}
static enum MHD_Result kpis(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_kpis(ud, c, r, NULL);
}
static enum MHD_Result kpi(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_kpis(ud, c, r, r->arg[0]);
}
static enum MHD_Result series(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_series(ud, c, r, r->arg[0]);
}
static enum MHD_Result values(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_value_post(ud, c, r, r->arg[0]);
}
static enum MHD_Result target(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_target_put(ud, c, r, r->arg[0], r->arg[1]);
}
static enum MHD_Result alerts(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_alerts(ud, c, r, false);
}
static enum MHD_Result history(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_alerts(ud, c, r, true);
}
static enum MHD_Result ack(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_alert_ack(ud, c, r, r->arg[0]);
}
static enum MHD_Result silences(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_silences(ud, c, r);
}
static enum MHD_Result silence_post(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_silence_post(ud, c, r);
}
static enum MHD_Result outbox(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_outbox(ud, c, r);
}
static enum MHD_Result audit(void *ud, struct MHD_Connection *c, struct http_req *r)
{
	return api_audit(ud, c, r);
}

static const char *const json[] = {"application/json", NULL};

int api_register(struct http *h, struct api *a)
{
	const struct http_route routes[] = {
		{"events_post", "POST", "/api/v1/events", ROLE_INGEST, HTTP_BODY_READ, api_event_types,
		 0, NULL, api_events_post, a},
		{"events_get", "GET", "/api/v1/events", ROLE_VIEWER, .fn = api_events_get, .ud = a},
		{"goals", "GET", "/api/v1/goals", ROLE_VIEWER, .fn = goals, .ud = a},
		{"kpis", "GET", "/api/v1/kpis", ROLE_VIEWER, .fn = kpis, .ud = a},
		{"kpi", "GET", "/api/v1/kpis/{}", ROLE_VIEWER, .fn = kpi, .ud = a},
		{"kpi_series", "GET", "/api/v1/kpis/{}/series", ROLE_VIEWER, .fn = series, .ud = a},
		{"kpi_values", "POST", "/api/v1/kpis/{}/values", ROLE_EDITOR, HTTP_BODY_READ, json,
		 .fn = values, .ud = a},
		{"kpi_target", "PUT", "/api/v1/kpis/{}/targets/{}", ROLE_EDITOR, HTTP_BODY_READ, json,
		 .fn = target, .ud = a},
		{"alerts", "GET", "/api/v1/alerts", ROLE_VIEWER, .fn = alerts, .ud = a},
		{"alert_history", "GET", "/api/v1/alerts/history", ROLE_VIEWER, .fn = history, .ud = a},
		{"alert_ack", "POST", "/api/v1/alerts/{}/ack", ROLE_EDITOR, HTTP_BODY_READ, json,
		 .fn = ack, .ud = a},
		{"silences", "GET", "/api/v1/silences", ROLE_VIEWER, .fn = silences, .ud = a},
		{"silences", "POST", "/api/v1/silences", ROLE_EDITOR, HTTP_BODY_READ, json,
		 .fn = silence_post, .ud = a},
		{"outbox", "GET", "/api/v1/outbox", ROLE_ADMIN, .fn = outbox, .ud = a},
		{"audit", "GET", "/api/v1/audit", ROLE_VIEWER, .fn = audit, .ud = a},
		{"healthz", "GET", "/healthz", ROLE_NONE, .fn = healthz, .ud = a},
		{"metrics", "GET", "/metrics", role_from_name(a->cfg->metrics_role), .fn = metrics, .ud = a},
		{"other", NULL, "/api/*", ROLE_NONE, .fn = not_found, .ud = a},
	};
	char labels[64];
	for (int k = 0; k <= EV_NKINDS; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", k < EV_NKINDS ? event_kind_names[k] : "unknown");
		if (k < EV_NKINDS) {
			a->accepted[k] = metrics_counter(a->metrics, "mizan_events_accepted_total",
							 "Events stored.", labels);
			a->duplicates[k] = metrics_counter(a->metrics, "mizan_events_duplicate_total",
							   "Events not stored again: their id was known.",
							   labels);
		}
	}
	for (int k = 0; k <= EV_NKINDS; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", k < EV_NKINDS ? event_kind_names[k] : "unknown");
		a->rejected[k] = metrics_counter(a->metrics, "mizan_events_rejected_total",
						 "Events that failed validation.", labels);
	}
	a->batches_failed = metrics_counter(a->metrics, "mizan_batches_failed_total",
					    "Valid batches the store could not write.", NULL);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (http_route_add(h, &routes[i]) < 0)
			return -ENOMEM;
	return 0;
}
