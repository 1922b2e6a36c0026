/* report.c - the quarterly report (/report?goal=&period=): per goal, each
 * KPI's view with its chart, and the quarter's notes (difficulties met,
 * solutions proposed); laid out for A4, and downloadable whole
 * (&download=1: the CSS inlined, no forms). */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/format.h"
#include "util/log.h"

#define CHART_PERIODS 8

static int note_row(const struct store_note *n, void *ud)
{
	cJSON *o = ud;
	char buf[FMT_LEN];
	web_add_str(o, "difficulties", n->difficulties);
	web_add_str(o, "solutions", n->solutions);
	web_add_str(o, "who", n->who);
	fmt_time(n->at_ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "at", buf);
	cJSON_AddBoolToObject(o, "recorded", true);
	return 0;
}

void web_notes_add(struct page *pg, cJSON *o, const char *goal, const char *period)
{
	char err[STORE_ERRLEN];
	if (store_note_get(pg->h->store, goal, period, note_row, o, err) < 0)
		log_error("notes: %s", err);
}

static cJSON *report_goal(struct page *pg, const struct cfg_goal *goal, const struct period *p)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	char label[16];
	period_label(p, label);
	cJSON *go = cJSON_CreateObject();
	cJSON_AddStringToObject(go, "id", goal->id);
	web_add_str(go, "title", web_goal_title(goal, l));
	cJSON *kpis = cJSON_AddArrayToObject(go, "kpis");
	enum status worst = ST_GREY;
	for (size_t i = 0; i < h->cfg->nkpis; i++) {
		const struct cfg_kpi *k = &h->cfg->kpis[i];
		if (strcmp(k->goal, goal->id) != 0)
			continue;
		struct kpi_view v;
		cJSON *ko = web_kpi_entry(pg, k, p, CHART_PERIODS, &v);
		if (v.status > worst)
			worst = v.status;
		char *svg = web_series_svg(&v, 0, CHART_SERIES, NAN, web_kpi_title(k, l), k->unit, l,
					   640, 240, NULL);
		if (svg)
			cJSON_AddStringToObject(ko, "chart", svg);
		free(svg);
		view_free(&v);
		cJSON_AddItemToArray(kpis, ko);
	}
	cJSON_AddStringToObject(go, "status", status_name(worst));
	cJSON_AddStringToObject(go, "status_text", i18n_text2(l, "status_", status_name(worst)));
	web_notes_add(pg, cJSON_AddObjectToObject(go, "notes"), goal->id, label);
	return go;
}

enum MHD_Result web_report_page(struct page *pg)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	struct period p;
	if (web_page_period(web_arg(pg, "period"), &p) < 0)
		return web_error(pg, MHD_HTTP_BAD_REQUEST, "e_period", NULL);
	const char *gid = web_arg(pg, "goal");
	const struct cfg_goal *one = gid ? web_find_goal(h->cfg, gid) : NULL;
	if (gid && !one)
		return web_error(pg, MHD_HTTP_NOT_FOUND, "e_goal", NULL);
	char label[16], text[FMT_LEN];
	period_label(&p, label);
	fmt_period(&p, l, text, sizeof(text));
	char title[FMT_LEN + 64];
	snprintf(title, sizeof(title), "%s — %s", i18n_text(l, "report"), text);
	cJSON *d = web_page_data(pg, "report", title);
	cJSON_AddStringToObject(d, "period", label);
	cJSON_AddStringToObject(d, "period_text", text);
	cJSON_AddItemToObject(d, "periods", web_period_options(&p, l));
	cJSON *gl = cJSON_AddArrayToObject(d, "goal_options");
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "value", h->cfg->goals[g].id);
		web_add_str(o, "text", web_goal_title(&h->cfg->goals[g], l));
		cJSON_AddBoolToObject(o, "selected", one == &h->cfg->goals[g]);
		cJSON_AddItemToArray(gl, o);
	}
	cJSON *goals = cJSON_AddArrayToObject(d, "goals");
	for (size_t g = 0; g < h->cfg->ngoals; g++)
		if (!one || one == &h->cfg->goals[g])
			cJSON_AddItemToArray(goals, report_goal(pg, &h->cfg->goals[g], &p));
	char href[160];
	snprintf(href, sizeof(href), "/report?%s%s%speriod=%s&download=1", one ? "goal=" : "",
		 one ? one->id : "", one ? "&" : "", label);
	cJSON_AddStringToObject(d, "download_href", href);
	const char *dl = web_arg(pg, "download");
	bool download = dl && strcmp(dl, "0") != 0;
	char disp[200];
	struct extra x = {0};
	if (download) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"mizan-report-%s%s%s.html\"",
			 one ? one->id : "", one ? "-" : "", label);
		x.disposition = disp;
		cJSON_AddBoolToObject(d, "download", true);
	}
	return web_send_page(pg, MHD_HTTP_OK, T_REPORT, d, NULL, &x, download);
}
