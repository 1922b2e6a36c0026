/* kpis.c - goals, KPIs, their series and reported values, as JSON. */
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
#include "render/view.h"
#include "util/time.h"

static cJSON *number_or_null(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

cJSON *target_json(const struct target *t)
{
	static const char *const rules[] = {"none", "min", "max", "range"};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "rule", rules[t->rule]);
	if (t->rule == TR_MIN || t->rule == TR_RANGE)
		cJSON_AddNumberToObject(o, "low", t->low);
	if (t->rule == TR_MAX || t->rule == TR_RANGE)
		cJSON_AddNumberToObject(o, "high", t->high);
	cJSON_AddNumberToObject(o, "warn", t->warn);
	return o;
}

static cJSON *result_json(const struct store_result *r, bool with_slice)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];
	cJSON_AddStringToObject(o, "period", r->period);
	event_format_time(r->start_ms, when);
	cJSON_AddStringToObject(o, "start", when);
	if (with_slice) {
		cJSON_AddStringToObject(o, "dim", r->dim);
		cJSON_AddStringToObject(o, "slice", r->slice);
	}
	cJSON_AddItemToObject(o, "value", number_or_null(r->value));
	cJSON_AddNumberToObject(o, "n", r->n);
	cJSON *extra = r->extra ? cJSON_Parse(r->extra) : NULL;
	cJSON_AddItemToObject(o, "extra", extra ? extra : cJSON_CreateObject());
	if (r->note)
		cJSON_AddStringToObject(o, "note", r->note);
	else
		cJSON_AddNullToObject(o, "note");
	cJSON_AddStringToObject(o, "provenance", r->provenance);
	event_format_time(r->computed_ms, when);
	cJSON_AddStringToObject(o, "computed_at", when);
	cJSON_AddNumberToObject(o, "run", (double)r->run);
	return o;
}

/* The status of a KPI's latest figure against that period's target: what
 * GET /api/v1/kpis reports as its status. */
static enum status latest_status(struct api *h, const struct cfg_kpi *k)
{
	struct period p;
	struct kpi_view v;
	struct view_opts o = {0};
	char err[STORE_ERRLEN];
	if (view_latest(h->store, k, &p, err) <= 0)
		return ST_GREY;
	enum status st = view_build(&v, h->store, k, &p, &o, err) < 0 ? ST_GREY : v.status;
	view_free(&v);
	return st;
}

enum MHD_Result api_goals(struct api *h, struct MHD_Connection *c, struct http_req *r)
{
	cJSON *list = cJSON_CreateArray();
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		const struct cfg_goal *goal = &h->cfg->goals[g];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", goal->id);
		cJSON_AddStringToObject(o, "title_ar", goal->title_ar);
		cJSON_AddStringToObject(o, "title_en", goal->title_en);
		cJSON *kpis = cJSON_AddArrayToObject(o, "kpis");
		enum status worst = ST_GREY;
		for (size_t k = 0; k < h->cfg->nkpis; k++) {
			const struct cfg_kpi *kc = &h->cfg->kpis[k];
			if (strcmp(kc->goal, goal->id) != 0)
				continue;
			cJSON_AddItemToArray(kpis, cJSON_CreateString(kc->id));
			enum status st = latest_status(h, kc);
			if (st > worst)
				worst = st;
		}
		/* A goal is as good as its worst KPI that has a status. */
		cJSON_AddStringToObject(o, "status", status_name(worst));
		cJSON_AddItemToArray(list, o);
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "goals", list);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

/* ---- KPIs ------------------------------------------------------------------------ */

struct errors {
	cJSON *map; /* kpi -> message */
};

static void note_error(const char *kpi, const char *error, int64_t at, void *ud)
{
	struct errors *e = ud;
	(void)at;
	if (error)
		cJSON_AddStringToObject(e->map, kpi, error);
}

/* The view's figure as the API gives it, numbers raw: {period, start, value,
 * n, extra, note, provenance, computed_at, run, target, status, forecast}. */
static cJSON *latest_json(const struct kpi_view *v)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];
	cJSON_AddStringToObject(o, "period", v->period);
	event_format_time(v->p.start_ms, when);
	cJSON_AddStringToObject(o, "start", when);
	cJSON_AddItemToObject(o, "value", number_or_null(v->value));
	cJSON_AddNumberToObject(o, "n", v->n);
	cJSON *extra = v->extra ? cJSON_Parse(v->extra) : NULL;
	cJSON_AddItemToObject(o, "extra", extra ? extra : cJSON_CreateObject());
	if (v->note)
		cJSON_AddStringToObject(o, "note", v->note);
	else
		cJSON_AddNullToObject(o, "note");
	cJSON_AddStringToObject(o, "provenance", v->provenance ? v->provenance : "");
	event_format_time(v->computed_ms, when);
	cJSON_AddStringToObject(o, "computed_at", when);
	cJSON_AddNumberToObject(o, "run", (double)v->run);
	const struct target *t = &v->target;
	cJSON_AddItemToObject(o, "target", t->rule == TR_NONE ? cJSON_CreateNull() : target_json(t));
	cJSON_AddStringToObject(o, "status", status_name(v->status));
	const struct forecast *fc = &v->fc;
	if (v->forecast_made && fc->open) {
		cJSON *f = cJSON_AddObjectToObject(o, "forecast");
		cJSON_AddStringToObject(f, "method", fc->method);
		cJSON_AddItemToObject(f, "value", number_or_null(fc->value));
		cJSON_AddNumberToObject(f, "elapsed", fc->elapsed);
		if (strcmp(fc->method, "trend") == 0) {
			cJSON_AddNumberToObject(f, "slope", fc->slope);
			cJSON_AddNumberToObject(f, "history", fc->history);
		}
		cJSON_AddStringToObject(f, "status", status_name(status_of(fc->value, t)));
		cJSON_AddBoolToObject(f, "at_risk", isfinite(fc->value) && !target_met(fc->value, t));
	} else {
		cJSON_AddNullToObject(o, "forecast");
	}
	return o;
}

static cJSON *kpi_json(struct api *h, const struct cfg_kpi *k, const cJSON *errors)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", k->id);
	cJSON_AddStringToObject(o, "goal", k->goal);
	cJSON_AddStringToObject(o, "title_ar", k->title_ar);
	cJSON_AddStringToObject(o, "title_en", k->title_en);
	cJSON_AddStringToObject(o, "unit", k->unit);
	cJSON_AddStringToObject(o, "direction", k->direction > 0 ? "higher" : "lower");
	cJSON_AddStringToObject(o, "period", period_kind_name(k->period));
	cJSON_AddStringToObject(o, "source", k->indicator ? "computed" : "reported");
	if (k->indicator)
		cJSON_AddStringToObject(o, "indicator", k->indicator);
	else
		cJSON_AddNullToObject(o, "indicator");
	cJSON *params = cJSON_AddObjectToObject(o, "params");
	for (size_t i = 0; i < k->nparams; i++)
		cJSON_AddStringToObject(params, k->param_keys[i], k->param_values[i]);
	cJSON *owner = cJSON_AddObjectToObject(o, "owner");
	cJSON_AddStringToObject(owner, "name", k->owner.name ? k->owner.name : "");
	cJSON_AddStringToObject(owner, "email", k->owner.email ? k->owner.email : "");
	cJSON_AddStringToObject(owner, "lang", k->owner.lang ? k->owner.lang : "ar");
	cJSON *targets = cJSON_AddObjectToObject(o, "targets");
	for (int p = 0; p < PK_N; p++)
		if (k->target[p].rule != TR_NONE)
			cJSON_AddItemToObject(targets, period_kind_name((enum period_kind)p),
					      target_json(&k->target[p]));

	/* The latest period with a figure, in its view. */
	cJSON *latest = NULL;
	enum status st = ST_GREY;
	struct period p;
	char err[STORE_ERRLEN];
	int rc = view_latest(h->store, k, &p, err);
	if (rc > 0) {
		struct kpi_view v;
		struct view_opts vo = {.parts = VIEW_FORECAST, .now_ms = time_now_ms()};
		rc = view_build(&v, h->store, k, &p, &vo, err);
		if (rc == 0 && v.has) {
			latest = latest_json(&v);
			st = v.status;
		}
		view_free(&v);
	}
	if (rc < 0)
		log_error("kpi %s: %s", k->id, err);
	cJSON_AddStringToObject(o, "status", status_name(st));
	cJSON_AddItemToObject(o, "latest", latest ? latest : cJSON_CreateNull());
	const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(errors, k->id));
	if (e)
		cJSON_AddStringToObject(o, "error", e);
	else
		cJSON_AddNullToObject(o, "error");
	return o;
}

enum MHD_Result api_kpis(struct api *h, struct MHD_Connection *c, struct http_req *r, const char *kpi)
{
	const struct cfg_kpi *one = kpi ? config_kpi(h->cfg, kpi) : NULL;
	if (kpi && !one)
		return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such KPI");
	struct errors errs = {cJSON_CreateObject()};
	char err[STORE_ERRLEN];
	store_kpi_status_each(h->store, note_error, &errs, err);
	cJSON *body;
	if (one) {
		body = kpi_json(h, one, errs.map);
	} else {
		body = cJSON_CreateObject();
		cJSON *list = cJSON_AddArrayToObject(body, "kpis");
		for (size_t k = 0; k < h->cfg->nkpis; k++)
			cJSON_AddItemToArray(list, kpi_json(h, &h->cfg->kpis[k], errs.map));
	}
	cJSON_Delete(errs.map);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

/* ---- series ------------------------------------------------------------------------ */

static int add_point(const struct store_result *res, void *ud)
{
	cJSON *list = ud;
	cJSON_AddItemToArray(list, result_json(res, *res->dim != '\0'));
	return 0;
}

/* A bound, inclusive: a period label (its start for `from`, its end for
 * `to`), a day in the office's time zone (its local midnight for `from`, the
 * next day's for `to`), or a date-time with its zone. */
static int parse_bound(const char *v, bool upper, int64_t *ms)
{
	struct period p;
	int64_t start, end;
	if (period_parse(v, &p) == 0) {
		*ms = upper ? p.end_ms : p.start_ms;
		return 0;
	}
	if (period_day_parse(v, &start, &end) == 0) {
		*ms = upper ? end : start;
		return 0;
	}
	return event_parse_time(v, false, ms);
}

static bool slice_dim_known(const struct config *c, const char *dim)
{
	for (size_t i = 0; i < c->slices.n; i++)
		if (strcmp(c->slices.v[i], dim) == 0)
			return true;
	return false;
}

enum MHD_Result api_series(struct api *h, struct MHD_Connection *c, struct http_req *r, const char *kpi)
{
	const struct cfg_kpi *k = config_kpi(h->cfg, kpi);
	if (!k)
		return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such KPI");
	struct store_result_query q = {.kpi = k->id, .pkind = (int)k->period, .dim = "",
				       .from_ms = INT64_MIN, .to_ms = INT64_MAX};
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "period");
	if (v && *v) {
		int pk = -1;
		for (int i = 0; i < PK_N; i++)
			if (strcmp(v, period_kind_name((enum period_kind)i)) == 0)
				pk = i;
		if (pk < 0)
			return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "period must be month, quarter or year (the periods the KPIs are evaluated for)");
		q.pkind = pk;
	}
	const char *names[2] = {"from", "to"};
	int64_t *slots[2] = {&q.from_ms, &q.to_ms};
	for (int i = 0; i < 2; i++)
		if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, names[i])) && *v &&
		    parse_bound(v, i == 1, slots[i]) < 0) {
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "%s must be a period (2026-Q1, 2026-03, 2026), a day (2026-03-01, in the "
				 "office's time zone) or a date-time with its zone",
				 names[i]);
			return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
		}
	if (q.from_ms >= q.to_ms)
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "from must come before to");
	/* The periods that overlap [from, to]: from the one that holds `from`. */
	if (q.from_ms != INT64_MIN) {
		struct period first;
		period_of((enum period_kind)q.pkind, q.from_ms, &first);
		q.from_ms = first.start_ms;
	}
	const char *by = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "by");
	if (by && *by) {
		if (!slice_dim_known(h->cfg, by))
			return http_send_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "by must be one of the configured slices (evaluation.slices)");
		q.dim = by;
	}
	cJSON *points = cJSON_CreateArray();
	char err[STORE_ERRLEN];
	if ((k->indicator ? store_results_each : store_values_each)(h->store, &q, add_point, points,
								    err) < 0) {
		cJSON_Delete(points);
		log_error("series of %s: %s", k->id, err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store could not be read");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "kpi", k->id);
	cJSON_AddStringToObject(body, "period", period_kind_name((enum period_kind)q.pkind));
	if (*q.dim)
		cJSON_AddStringToObject(body, "by", q.dim);
	else
		cJSON_AddNullToObject(body, "by");
	cJSON_AddStringToObject(body, "unit", k->unit);
	cJSON_AddItemToObject(body, "points", points);
	return http_send_json(c, r, MHD_HTTP_OK, body);
}

/* ---- reported values ------------------------------------------------------------------ */

enum MHD_Result api_value_post(struct api *h, struct MHD_Connection *c, struct http_req *r,
			       const char *kpi)
{
	const struct cfg_kpi *k = config_kpi(h->cfg, kpi);
	if (!k)
		return http_send_error(c, r, MHD_HTTP_NOT_FOUND, "no such KPI");
	if (k->indicator)
		return http_send_error(c, r, MHD_HTTP_CONFLICT,
				  "this KPI is computed from events; only reported KPIs take values");
	if (utf8_check(r->body ? r->body : "", r->len) < r->len)
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, "the body is not valid UTF-8");
	char field[64], msg[128];
	if (batch_json_nul(r->body ? r->body : "", r->len, field, sizeof(field)) < r->len) {
		snprintf(msg, sizeof(msg), "%.60s%smust not contain \\u0000 (a NUL character)", field,
			 field[0] ? " " : "");
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
	}
	cJSON *o = cJSON_ParseWithLength(r->body ? r->body : "", r->len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST,
				  "the body must be a JSON object {period, value, dim?, slice?, note?}");
	}
	/* Only the keys of a reported value, each once (a second would be
	 * ignored, and nobody knows which one the sender meant). */
	static const char *const keys[] = {"period", "value", "dim", "slice", "note"};
	char keymsg[160] = "";
	unsigned seen = 0;
	for (const cJSON *j = o->child; j && !keymsg[0]; j = j->next) {
		size_t i = 0;
		while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(j->string, keys[i]) != 0)
			i++;
		if (i == sizeof(keys) / sizeof(keys[0]))
			snprintf(keymsg, sizeof(keymsg),
				 "%.40s is not a field of a reported value (period, value, dim, slice, note)",
				 j->string);
		else if (seen & (1u << i))
			snprintf(keymsg, sizeof(keymsg), "%s appears twice", keys[i]);
		seen |= 1u << i;
	}
	if (keymsg[0]) {
		cJSON_Delete(o);
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, keymsg);
	}
	const char *label = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "period"));
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
	const char *dim = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "dim"));
	const char *slice = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "slice"));
	const cJSON *note = cJSON_GetObjectItemCaseSensitive(o, "note");
	struct period p;
	const char *bad = NULL;
	if (!label || period_parse(label, &p) < 0)
		bad = "period must be a label such as 2026-Q1, 2026-03 or 2026";
	else if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))
		bad = "value must be a finite number";
	else if ((dim && !slice) || (!dim && slice))
		bad = "dim and slice go together";
	else if (dim && !slice_dim_known(h->cfg, dim))
		bad = "dim must be one of the configured slices (evaluation.slices)";
	else if (slice && (!*slice || strlen(slice) > 64))
		bad = "slice must be 1 to 64 bytes";
	else if (note && (!cJSON_IsString(note) || strlen(note->valuestring) > 2000))
		bad = "note must be a string of at most 2000 bytes";
	else if (note && utf8_text_problem(note->valuestring, true))
		bad = "note must not contain control characters, a line separator (U+2028) or an "
		      "unclosed direction override";
	if (bad) {
		cJSON_Delete(o);
		return http_send_error(c, r, MHD_HTTP_BAD_REQUEST, bad);
	}
	char plabel[16];
	period_label(&p, plabel);
	struct store_result v = {.kpi = k->id, .period = plabel, .dim = dim ? dim : "",
				 .slice = slice ? slice : "", .pkind = (int)p.kind,
				 .start_ms = p.start_ms, .value = value->valuedouble,
				 .note = note ? note->valuestring : NULL};
	char err[STORE_ERRLEN];
	int rc = store_value_add(h->store, &v, r->who, err);
	cJSON *body = NULL;
	if (rc == 0) {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "kpi", k->id);
		cJSON_AddStringToObject(body, "period", plabel);
		cJSON_AddStringToObject(body, "dim", v.dim);
		cJSON_AddStringToObject(body, "slice", v.slice);
		cJSON_AddNumberToObject(body, "value", v.value);
		cJSON_AddStringToObject(body, "who", r->who);
	}
	cJSON_Delete(o);
	if (rc < 0) {
		log_error("value for %s not stored: %s", k->id, err);
		return http_send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store refused the value");
	}
	return http_send_json(c, r, MHD_HTTP_CREATED, body);
}
