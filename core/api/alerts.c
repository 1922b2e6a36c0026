/* alerts.c - alerts, silences, targets, the outbox and the audit log, as JSON. */
#include "api/api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/utf8.h"
#include "ingest/batch.h"
#include "model/period.h"
#include "judge/target.h"
#include "util/time.h"

static void add_time(cJSON *o, const char *key, int64_t ms)
{
	char when[32];
	if (ms <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	event_format_time(ms, when);
	cJSON_AddStringToObject(o, key, when);
}

static void add_text(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_number(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* A query argument as a bounded whole number. */
static int int_arg(struct MHD_Connection *c, const char *name, int dflt, int max)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	if (!v || !*v)
		return dflt;
	long n = strtol(v, &end, 10);
	return *end || n < 1 || n > max ? -1 : (int)n;
}

/* The body, parsed as a JSON object; NULL after answering 400. */
static cJSON *json_body(struct MHD_Connection *c, struct http_req *r, enum MHD_Result *ret)
{
	if (utf8_check(r->body ? r->body : "", r->len) < r->len) {
		*ret = http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "the body is not valid UTF-8");
		return NULL;
	}
	char field[64], msg[128];
	if (batch_json_nul(r->body ? r->body : "", r->len, field, sizeof(field)) < r->len) {
		snprintf(msg, sizeof(msg), "%.60s%smust not contain \\u0000 (a NUL character)", field,
			 field[0] ? " " : "");
		*ret = http_send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
		return NULL;
	}
	cJSON *o = cJSON_ParseWithLength(r->body ? r->body : "", r->len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		*ret = http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
		return NULL;
	}
	return o;
}

/* ---- alerts --------------------------------------------------------------------------- */

/* What an alert and a change of it share: its id, its key and its figures. */
static cJSON *alert_json(const struct store_alert *a, const char *id_key)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, id_key, (double)a->id);
	cJSON_AddStringToObject(o, "kind", a->kind);
	cJSON_AddStringToObject(o, "kpi", a->kpi);
	cJSON_AddStringToObject(o, "period", a->period);
	cJSON_AddStringToObject(o, "dim", a->dim);
	cJSON_AddStringToObject(o, "slice", a->slice);
	add_number(o, "value", a->value);
	add_number(o, "target", a->target);
	add_number(o, "forecast", a->forecast);
	return o;
}

static int add_alert(const struct store_alert *a, void *ud)
{
	cJSON *list = ud, *o = alert_json(a, "id");
	cJSON_AddStringToObject(o, "state", a->state);
	add_text(o, "pending", a->pending);
	add_time(o, "since", a->since_ms);
	cJSON *detail = a->detail ? cJSON_Parse(a->detail) : NULL;
	cJSON_AddItemToObject(o, "detail", detail ? detail : cJSON_CreateObject());
	add_time(o, "notified_at", a->notified_ms);
	add_text(o, "acked_by", a->acked_by);
	add_time(o, "acked_at", a->acked_ms);
	add_text(o, "ack_comment", a->ack_comment);
	cJSON_AddItemToArray(list, o);
	return 0;
}

/* History rows carry the old state in `pending` (see store.h). */
static int add_change(const struct store_alert *a, void *ud)
{
	cJSON *list = ud, *o = alert_json(a, "alert");
	add_text(o, "from", a->pending);
	cJSON_AddStringToObject(o, "to", a->state);
	add_time(o, "at", a->since_ms);
	cJSON_AddItemToArray(list, o);
	return 0;
}

enum MHD_Result api_alerts(struct api *h, struct MHD_Connection *c, struct http_req *r, bool history)
{
	const char *kpi = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kpi");
	const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	int limit = int_arg(c, "limit", 100, 10000);
	if (limit < 0)
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "limit must be a whole number from 1 to 10000");
	if (kpi && !*kpi)
		kpi = NULL;
	if (!state || !*state)
		state = "active";
	if (strcmp(state, "all") == 0)
		state = NULL;
	else if (strcmp(state, "active") && strcmp(state, "ok") && strcmp(state, "at_risk") &&
		 strcmp(state, "missed") && strcmp(state, "stale"))
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST,
				  "state must be active, all, ok, at_risk, missed or stale");
	cJSON *list = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	int rc;
	if (history) {
		rc = store_alert_history_each(h->store, kpi, limit, add_change, list, err);
	} else {
		struct store_alert_query q = {.kpi = kpi, .state = state, .limit = limit};
		rc = store_alerts_each(h->store, &q, add_alert, list, err);
	}
	if (rc < 0) {
		cJSON_Delete(list);
		log_error("alerts: %s", err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, history ? "changes" : "alerts", list);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

enum MHD_Result api_alert_ack(struct api *h, struct MHD_Connection *c, struct http_req *r,
			      const char *id)
{
	enum MHD_Result ret;
	char *end;
	long long n = strtoll(id, &end, 10);
	if (*end || n <= 0)
		return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such alert");
	cJSON *o = json_body(c, r, &ret);
	if (!o)
		return ret;
	const cJSON *comment = cJSON_GetObjectItemCaseSensitive(o, "comment");
	if (!cJSON_IsString(comment) || !*comment->valuestring || strlen(comment->valuestring) > 2000) {
		cJSON_Delete(o);
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST,
				  "comment must be a non-empty string of at most 2000 bytes");
	}
	char err[STORE_ERRLEN];
	int rc = store_alert_ack(h->store, n, r->who, comment->valuestring, err);
	cJSON_Delete(o);
	if (rc == -ENOENT)
		return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such alert");
	if (rc < 0) {
		log_error("ack: %s", err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store refused the acknowledgement");
	}
	cJSON *list = cJSON_CreateArray();
	struct store_alert_query q = {.id = n, .limit = 1};
	store_alerts_each(h->store, &q, add_alert, list, err);
	cJSON *body = cJSON_DetachItemFromArray(list, 0);
	cJSON_Delete(list);
	return http_send_json(c, r, MHD_HTTP_OK, body ? body : cJSON_CreateObject());
}

/* ---- silences ------------------------------------------------------------------------- */

static int add_silence(const struct store_silence *si, void *ud)
{
	cJSON *list = ud, *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)si->id);
	add_text(o, "kpi", si->kpi);
	add_text(o, "dim", si->dim);
	add_text(o, "slice", si->slice);
	add_time(o, "until", si->until_ms);
	cJSON_AddStringToObject(o, "who", si->who);
	add_text(o, "comment", si->comment);
	add_time(o, "created", si->created_ms);
	cJSON_AddItemToArray(list, o);
	return 0;
}

enum MHD_Result api_silences(struct api *h, struct MHD_Connection *c, struct http_req *r)
{
	const char *all = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "all");
	cJSON *list = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	if (store_silences_each(h->store, all ? INT64_MIN : time_now_ms(), add_silence, list, err) < 0) {
		cJSON_Delete(list);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "silences", list);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

enum MHD_Result api_silence_post(struct api *h, struct MHD_Connection *c, struct http_req *r)
{
	enum MHD_Result ret;
	cJSON *o = json_body(c, r, &ret);
	if (!o)
		return ret;
	const char *kpi = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kpi"));
	const char *dim = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "dim"));
	const char *slice = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "slice"));
	const char *until = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "until"));
	const char *comment = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "comment"));
	int64_t until_ms = 0;
	const char *bad = NULL;
	if (!until || event_parse_time(until, true, &until_ms) < 0)
		bad = "until must be a date or an ISO 8601 date-time with a zone";
	else if (until_ms <= time_now_ms())
		bad = "until must be in the future";
	else if (kpi && !config_kpi(h->cfg, kpi) && event_kind_from_name(kpi) < 0)
		bad = "kpi must be a KPI's id (or an event kind, for stale-data alerts)";
	else if ((kpi && strlen(kpi) > 64) || (dim && strlen(dim) > 32) || (slice && strlen(slice) > 64))
		bad = "kpi, dim or slice is too long";
	else if (!comment || !*comment || strlen(comment) > 2000)
		bad = "comment must be a non-empty string of at most 2000 bytes";
	if (bad) {
		cJSON_Delete(o);
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, bad);
	}
	struct store_silence si = {.kpi = kpi, .dim = dim, .slice = slice, .until_ms = until_ms,
				   .who = r->who, .comment = comment};
	int64_t id = 0;
	char err[STORE_ERRLEN];
	int rc = store_silence_add(h->store, &si, &id, err);
	cJSON *body = NULL;
	if (rc == 0) {
		body = cJSON_CreateObject();
		cJSON_AddNumberToObject(body, "id", (double)id);
		add_text(body, "kpi", kpi);
		add_text(body, "dim", dim);
		add_text(body, "slice", slice);
		add_time(body, "until", until_ms);
		cJSON_AddStringToObject(body, "who", r->who);
	}
	cJSON_Delete(o);
	if (rc < 0) {
		log_error("silence: %s", err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store refused the silence");
	}
	return http_send_json(c, r, MHD_HTTP_CREATED, body);
}

/* ---- the outbox and the audit log --------------------------------------------------------- */

static int add_mail(const struct store_mail *m, void *ud)
{
	cJSON *list = ud, *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)m->id);
	if (m->alert)
		cJSON_AddNumberToObject(o, "alert", (double)m->alert);
	else
		cJSON_AddNullToObject(o, "alert");
	cJSON_AddStringToObject(o, "to", m->to_addr);
	cJSON_AddStringToObject(o, "subject", m->subject);
	cJSON_AddStringToObject(o, "status", m->status);
	cJSON_AddNumberToObject(o, "attempts", m->attempts);
	add_time(o, "created", m->created_ms);
	add_time(o, "next_attempt", strcmp(m->status, "pending") == 0 ? m->next_ms : 0);
	add_time(o, "sent_at", m->sent_ms);
	add_text(o, "last_error", m->last_error);
	cJSON_AddItemToArray(list, o);
	return 0;
}

enum MHD_Result api_outbox(struct api *h, struct MHD_Connection *c, struct http_req *r)
{
	const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	if (status && !*status)
		status = NULL;
	if (status && strcmp(status, "pending") && strcmp(status, "sent") && strcmp(status, "failed"))
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "status must be pending, sent or failed");
	int limit = int_arg(c, "limit", 100, 10000);
	if (limit < 0)
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "limit must be a whole number from 1 to 10000");
	cJSON *list = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	if (store_outbox_each(h->store, status, limit, add_mail, list, err) < 0) {
		cJSON_Delete(list);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "messages", list);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

static int add_audit(const struct store_audit *a, void *ud)
{
	cJSON *list = ud, *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)a->id);
	add_time(o, "at", a->at_ms);
	cJSON_AddStringToObject(o, "who", a->who);
	cJSON_AddStringToObject(o, "action", a->action);
	cJSON_AddStringToObject(o, "object", a->object);
	cJSON *old = a->old ? cJSON_Parse(a->old) : NULL, *new_ = a->new_ ? cJSON_Parse(a->new_) : NULL;
	if (old)
		cJSON_AddItemToObject(o, "old", old);
	else
		add_text(o, "old", a->old);
	if (new_)
		cJSON_AddItemToObject(o, "new", new_);
	else
		add_text(o, "new", a->new_);
	add_text(o, "reason", a->reason);
	cJSON_AddItemToArray(list, o);
	return 0;
}

enum MHD_Result api_audit(struct api *h, struct MHD_Connection *c, struct http_req *r)
{
	int limit = int_arg(c, "limit", 100, 10000);
	if (limit < 0)
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "limit must be a whole number from 1 to 10000");
	cJSON *list = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	if (store_audit_each(h->store, limit, add_audit, list, err) < 0) {
		cJSON_Delete(list);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "entries", list);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

/* ---- targets ---------------------------------------------------------------------------- */

enum MHD_Result api_target_put(struct api *h, struct MHD_Connection *c, struct http_req *r,
			       const char *kpi, const char *label)
{
	const struct cfg_kpi *k = config_kpi(h->cfg, kpi);
	if (!k)
		return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such KPI");
	struct period p;
	if (period_parse(label, &p) < 0 || p.kind == PK_MONTH)
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST,
				  "the period must be a quarter (2026-Q1) or a year (2026)");
	enum MHD_Result ret;
	cJSON *o = json_body(c, r, &ret);
	if (!o)
		return ret;
	const char *rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "rule"));
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
	const cJSON *low = cJSON_GetObjectItemCaseSensitive(o, "low");
	const cJSON *high = cJSON_GetObjectItemCaseSensitive(o, "high");
	const cJSON *warn = cJSON_GetObjectItemCaseSensitive(o, "warn");
	const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "reason"));
	struct target t = {.rule = k->direction > 0 ? TR_MIN : TR_MAX, .low = NAN, .high = NAN,
			   .warn = warn ? (cJSON_IsNumber(warn) ? warn->valuedouble : -1)
					: k->target[p.kind].warn};
	const char *bad = NULL;
	if (rule && strcmp(rule, "min") == 0)
		t.rule = TR_MIN;
	else if (rule && strcmp(rule, "max") == 0)
		t.rule = TR_MAX;
	else if (rule && strcmp(rule, "range") == 0)
		t.rule = TR_RANGE;
	else if (rule)
		bad = "rule must be min, max or range";
	if (!bad && t.rule == TR_RANGE) {
		if (!cJSON_IsNumber(low) || !cJSON_IsNumber(high) || low->valuedouble > high->valuedouble)
			bad = "a range needs numbers low <= high";
		else
			t.low = low->valuedouble, t.high = high->valuedouble;
	} else if (!bad) {
		if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))
			bad = "value must be a finite number";
		else
			t.low = t.high = value->valuedouble;
	}
	if (!bad && !(t.warn >= 0 && t.warn <= 1))
		bad = "warn must be a fraction from 0 to 1";
	if (!bad && (!reason || !*reason || strlen(reason) > 2000))
		bad = "reason must be a non-empty string of at most 2000 bytes (it goes in the audit log)";
	if (bad) {
		cJSON_Delete(o);
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, bad);
	}
	char err[STORE_ERRLEN];
	int rc = target_set(h->store, k, &p, &t, r->who, reason, err);
	cJSON_Delete(o);
	if (rc < 0) {
		log_error("target of %s: %s", k->id, err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store refused the target");
	}
	char plabel[16];
	period_label(&p, plabel);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "kpi", k->id);
	cJSON_AddStringToObject(body, "period", plabel);
	cJSON_AddItemToObject(body, "target", target_json(&t));
	cJSON_AddStringToObject(body, "who", r->who);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}
