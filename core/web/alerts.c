/* alerts.c - the alerts page (/alerts): active alerts, stale sources,
 * silences and the history of changes; and its posts, acknowledging an
 * alert and silencing a KPI (editors). */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/format.h"
#include "util/log.h"

struct alert_rows {
	struct page *pg;
	cJSON *active, *stale;
};

static void alert_common(struct page *pg, cJSON *o, const struct store_alert *a)
{
	enum lang l = pg->lang;
	char buf[FMT_LEN];
	cJSON_AddNumberToObject(o, "id", (double)a->id);
	web_add_str(o, "kpi", a->kpi);
	const struct cfg_kpi *k = config_kpi(pg->h->cfg, a->kpi);
	web_add_str(o, "kpi_title", k ? web_kpi_title(k, l) : a->kpi);
	cJSON_AddBoolToObject(o, "is_kpi", k != NULL);
	web_add_str(o, "period", a->period);
	fmt_period_label(a->period, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "period_text", buf);
	if (a->dim && *a->dim) {
		char sl[160];
		snprintf(sl, sizeof(sl), "%s: %s", i18n_text2(l, "dim_", a->dim), a->slice ? a->slice : "");
		cJSON_AddStringToObject(o, "slice", sl);
	} else {
		cJSON_AddStringToObject(o, "slice", i18n_text(l, "whole"));
	}
	fmt_number(a->value, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "value", buf);
	fmt_number(a->target, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "target", buf);
	fmt_number(a->forecast, l, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "forecast", buf);
}

static const char *state_text(enum lang l, const char *state)
{
	return i18n_text2(l, "state_", state ? state : "ok");
}

static int alert_row(const struct store_alert *a, void *ud)
{
	struct alert_rows *ar = ud;
	cJSON *o = cJSON_CreateObject();
	char buf[FMT_LEN];
	alert_common(ar->pg, o, a);
	web_add_str(o, "state", a->state);
	web_add_str(o, "state_text", state_text(ar->pg->lang, a->state));
	fmt_time(a->since_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "since", buf);
	if (a->acked_by) {
		cJSON *ack = cJSON_AddObjectToObject(o, "acked");
		web_add_str(ack, "by", a->acked_by);
		web_add_str(ack, "comment", a->ack_comment);
		fmt_time(a->acked_ms, buf, sizeof(buf));
		cJSON_AddStringToObject(ack, "at", buf);
	}
	cJSON_AddItemToArray(strcmp(a->kind, "stale") == 0 ? ar->stale : ar->active, o);
	return 0;
}

static int history_row(const struct store_alert *a, void *ud)
{
	struct alert_rows *ar = ud;
	cJSON *o = cJSON_CreateObject();
	char buf[FMT_LEN];
	alert_common(ar->pg, o, a);
	web_add_str(o, "from", state_text(ar->pg->lang, a->pending));
	web_add_str(o, "to", state_text(ar->pg->lang, a->state));
	web_add_str(o, "to_state", a->state);
	fmt_time(a->since_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "at", buf);
	cJSON_AddItemToArray(ar->active, o);
	return 0;
}

static int silence_row(const struct store_silence *si, void *ud)
{
	struct alert_rows *ar = ud;
	cJSON *o = cJSON_CreateObject();
	char buf[FMT_LEN];
	const struct cfg_kpi *k = si->kpi ? config_kpi(ar->pg->h->cfg, si->kpi) : NULL;
	web_add_str(o, "kpi", si->kpi ? (k ? web_kpi_title(k, ar->pg->lang) : si->kpi)
				  : i18n_text(ar->pg->lang, "any_kpi"));
	fmt_time(si->until_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "until", buf);
	web_add_str(o, "who", si->who);
	web_add_str(o, "comment", si->comment);
	cJSON_AddItemToArray(ar->active, o);
	return 0;
}

enum MHD_Result web_alerts_page(struct page *pg)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	cJSON *d = web_page_data(pg, "alerts", i18n_text(l, "alerts"));
	char err[STORE_ERRLEN];
	struct alert_rows ar = {pg, cJSON_AddArrayToObject(d, "active"),
				cJSON_AddArrayToObject(d, "stale")};
	struct store_alert_query q = {.state = "active", .limit = 500};
	int rc = store_alerts_each(h->store, &q, alert_row, &ar, err);
	struct alert_rows hist = {pg, cJSON_AddArrayToObject(d, "history"), NULL};
	if (rc >= 0)
		rc = store_alert_history_each(h->store, NULL, 100, history_row, &hist, err);
	struct alert_rows sil = {pg, cJSON_AddArrayToObject(d, "silences"), NULL};
	if (rc >= 0)
		rc = store_silences_each(h->store, time_now_ms(), silence_row, &sil, err);
	if (rc < 0) {
		log_error("alerts page: %s", err);
		cJSON_Delete(d);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	cJSON *kpis = cJSON_AddArrayToObject(d, "kpis");
	for (size_t i = 0; i < h->cfg->nkpis; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", h->cfg->kpis[i].id);
		web_add_str(o, "title", web_kpi_title(&h->cfg->kpis[i], l));
		cJSON_AddItemToArray(kpis, o);
	}
	for (int k = 0; k < EV_NKINDS; k++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", event_kind_names[k]);
		char t[96];
		snprintf(t, sizeof(t), "%s (%s)", event_kind_names[k], i18n_text(l, "state_stale"));
		cJSON_AddStringToObject(o, "title", t);
		cJSON_AddItemToArray(kpis, o);
	}
	char until[16];
	fmt_date(time_now_ms() + 7 * 86400 * 1000LL, until, sizeof(until));
	cJSON_AddStringToObject(d, "until_default", until);
	return web_send_page(pg, MHD_HTTP_OK, T_ALERTS, d, NULL, NULL, false);
}

static enum MHD_Result bad_form(struct page *pg, const char *key)
{
	return web_error(pg, MHD_HTTP_BAD_REQUEST, "e_form", i18n_text(pg->lang, key));
}

enum MHD_Result web_ack_post(struct page *pg)
{
	const char *id = web_field(pg, "id"), *comment = web_field(pg, "comment");
	char *end = NULL;
	long long n = id ? strtoll(id, &end, 10) : 0;
	if (!id || !*id || *end || n <= 0)
		return web_error(pg, MHD_HTTP_NOT_FOUND, "e_alert", NULL);
	if (!comment || !*comment || strlen(comment) > COMMENT_MAX)
		return bad_form(pg, "e_comment");
	char err[STORE_ERRLEN];
	int rc = store_alert_ack(pg->h->store, n, pg->s.name, comment, err);
	if (rc == -ENOENT)
		return web_error(pg, MHD_HTTP_NOT_FOUND, "e_alert", NULL);
	if (rc < 0) {
		log_error("ack: %s", err);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	return web_redirect(pg, "/alerts", NULL);
}

enum MHD_Result web_silence_post(struct page *pg)
{
	const char *kpi = web_field(pg, "kpi"), *until = web_field(pg, "until"),
		   *comment = web_field(pg, "comment");
	if (kpi && !*kpi)
		kpi = NULL;
	int64_t until_ms = 0;
	if (!until || event_parse_time(until, true, &until_ms) < 0 || until_ms <= time_now_ms())
		return bad_form(pg, "e_until");
	if (kpi && ((!config_kpi(pg->h->cfg, kpi) && event_kind_from_name(kpi) < 0) || strlen(kpi) > 64))
		return bad_form(pg, "e_kpi");
	if (!comment || !*comment || strlen(comment) > COMMENT_MAX)
		return bad_form(pg, "e_comment");
	struct store_silence si = {.kpi = kpi, .until_ms = until_ms, .who = pg->s.name,
				   .comment = comment};
	int64_t id;
	char err[STORE_ERRLEN];
	if (store_silence_add(pg->h->store, &si, &id, err) < 0) {
		log_error("silence: %s", err);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	return web_redirect(pg, "/alerts", NULL);
}
