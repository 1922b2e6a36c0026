/* edit.c - the edit page (/edit, editors): a reported KPI's value and the
 * quarter's notes per goal; and the two posts that record them. */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"
#include "util/log.h"
#include "util/utf8.h"

enum MHD_Result web_edit_page(struct page *pg, unsigned status, const char *error_msg,
				 const char *saved)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	if (!role_allows(pg->s.role, ROLE_EDITOR))
		return web_error(pg, MHD_HTTP_FORBIDDEN, "e_role", NULL);
	struct period p;
	const char *pv = pg->nform ? web_field(pg, "period") : web_arg(pg, "period");
	if (web_page_period(pv && *pv ? pv : NULL, &p) < 0)
		web_current_quarter(&p);
	const char *gid = pg->nform ? web_field(pg, "goal") : web_arg(pg, "goal");
	const struct cfg_goal *goal = web_find_goal(h->cfg, gid);
	if (!goal && h->cfg->ngoals)
		goal = &h->cfg->goals[0];
	char label[16];
	period_label(&p, label);
	cJSON *d = web_page_data(pg, "edit", i18n_text(l, "edit"));
	cJSON_AddStringToObject(d, "period", label);
	if (error_msg)
		cJSON_AddStringToObject(d, "error", error_msg);
	if (saved)
		cJSON_AddStringToObject(d, "saved", i18n_text(l, "saved"));
	cJSON *kpis = cJSON_AddArrayToObject(d, "reported");
	for (size_t i = 0; i < h->cfg->nkpis; i++) {
		const struct cfg_kpi *k = &h->cfg->kpis[i];
		if (k->indicator)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", k->id);
		web_add_str(o, "title", web_kpi_title(k, l));
		web_add_str(o, "unit", k->unit);
		cJSON_AddItemToArray(kpis, o);
	}
	cJSON *goals = cJSON_AddArrayToObject(d, "goals");
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", h->cfg->goals[g].id);
		web_add_str(o, "title", web_goal_title(&h->cfg->goals[g], l));
		cJSON_AddBoolToObject(o, "selected", goal == &h->cfg->goals[g]);
		cJSON_AddItemToArray(goals, o);
	}
	cJSON *notes = cJSON_AddObjectToObject(d, "notes");
	if (goal)
		web_notes_add(pg, notes, goal->id, label);
	return web_send_page(pg, status, T_EDIT, d, NULL, NULL, false);
}

enum MHD_Result web_value_post(struct page *pg)
{
	const struct cfg_kpi *k = config_kpi(pg->h->cfg, web_field(pg, "kpi") ? web_field(pg, "kpi") : "");
	const char *pv = web_field(pg, "period"), *vv = web_field(pg, "value"), *note = web_field(pg, "note");
	if (!k)
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_kpi"), NULL);
	if (k->indicator)
		return web_edit_page(pg, MHD_HTTP_CONFLICT, i18n_text(pg->lang, "e_reported"), NULL);
	struct period p;
	if (!pv || period_parse(pv, &p) < 0)
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_period"), NULL);
	char *end = NULL;
	double v = vv ? strtod(vv, &end) : NAN;
	if (!vv || !*vv || *end || !isfinite(v))
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_value"), NULL);
	if (note && !*note)
		note = NULL;
	if (note && strlen(note) > COMMENT_MAX)
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_comment"), NULL);
	if (note && utf8_text_problem(note, true))
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_chars"), NULL);
	char plabel[16];
	period_label(&p, plabel);
	struct store_result r = {.kpi = k->id, .period = plabel, .dim = "", .slice = "",
				 .pkind = (int)p.kind, .start_ms = p.start_ms, .value = v, .note = note};
	char err[STORE_ERRLEN];
	if (store_value_add(pg->h->store, &r, pg->s.name, err) < 0) {
		log_error("value for %s: %s", k->id, err);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	char to[128];
	snprintf(to, sizeof(to), "/kpis/%s?period=%s", k->id, plabel);
	return web_redirect(pg, to, NULL);
}

enum MHD_Result web_notes_post(struct page *pg)
{
	const struct cfg_goal *g = web_find_goal(pg->h->cfg, web_field(pg, "goal"));
	const char *pv = web_field(pg, "period"), *dif = web_field(pg, "difficulties"),
		   *sol = web_field(pg, "solutions");
	struct period p;
	if (!g)
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_goal"), NULL);
	if (!pv || period_parse(pv, &p) < 0 || p.kind == PK_MONTH)
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_period"), NULL);
	if ((dif && strlen(dif) > TEXT_MAX) || (sol && strlen(sol) > TEXT_MAX))
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_text"), NULL);
	if ((dif && utf8_text_problem(dif, true)) || (sol && utf8_text_problem(sol, true)))
		return web_edit_page(pg, MHD_HTTP_BAD_REQUEST, i18n_text(pg->lang, "e_chars"), NULL);
	char plabel[16];
	period_label(&p, plabel);
	struct store_note n = {.goal = g->id, .period = plabel, .difficulties = dif ? dif : "",
			       .solutions = sol ? sol : "", .who = pg->s.name};
	char err[STORE_ERRLEN];
	if (store_note_add(pg->h->store, &n, err) < 0) {
		log_error("note: %s", err);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	char to[128];
	snprintf(to, sizeof(to), "/report?goal=%s&period=%s", g->id, plabel);
	return web_redirect(pg, to, NULL);
}
