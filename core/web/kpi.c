/* kpi.c - a KPI's page (/kpis/{id}) and its table as CSV (?format=csv).
 *
 * The page is the KPI's view (render/view.h) for the period: the figure,
 * its target and status, the forecast of an open period, the series with
 * each period's own target, the breakdown by a dimension, the provenance;
 * with the series and breakdown charts.  The CSV is the page's table of
 * values, the raw numbers, written by libcsv (every cell quoted).
 */
#include "web/internal.h"

#include <csv.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/format.h"
#include "util/log.h"

#define BREAKDOWN_BARS 20 /* the breakdown chart shows the top twenty */

/* One cell, with an apostrophe before what a spreadsheet would take for a
 * formula (=, +, -, @): a label or a note must never run as one. */
static int csv_cell(FILE *f, const char *cell)
{
	if (!fmt_csv_formula(cell))
		return csv_fwrite(f, cell, strlen(cell));
	size_t n = strlen(cell);
	char *safe = malloc(n + 2);
	if (!safe)
		return EOF;
	safe[0] = '\'';
	memcpy(safe + 1, cell, n + 1);
	int rc = csv_fwrite(f, safe, n + 1);
	free(safe);
	return rc;
}

/* One line of six cells; 0, or EOF when it could not be written. */
static int csv_line(FILE *f, const char *const cells[6])
{
	for (int c = 0; c < 6; c++)
		if ((c && fputc(',', f) == EOF) || csv_cell(f, cells[c]) != 0)
			return EOF;
	return fputs("\r\n", f);
}

/* The view's series, newest first, as CSV: the page's table of values. */
static enum MHD_Result send_csv(struct page *pg, const struct kpi_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return MHD_NO;
	static const char *const head[] = {"period", "value", "target_low", "target_high", "status",
					   "n"};
	int rc = csv_line(f, head);
	for (size_t i = v->nseries; i-- > 0 && rc != EOF;) {
		const struct view_point *pt = &v->series[i];
		const struct target *t = &pt->target;
		char value[FMT_LEN], lo[FMT_LEN], hi[FMT_LEN], n[FMT_LEN];
		fmt_raw(pt->value, value, sizeof(value));
		fmt_raw(t->rule == TR_MIN || t->rule == TR_RANGE ? t->low : NAN, lo, sizeof(lo));
		fmt_raw(t->rule == TR_MAX || t->rule == TR_RANGE ? t->high : NAN, hi, sizeof(hi));
		fmt_raw(pt->n, n, sizeof(n));
		const char *const cells[] = {pt->label, value, lo, hi, status_name(pt->status), n};
		rc = csv_line(f, cells);
	}
	if (fclose(f) != 0 || rc == EOF) {
		free(text);
		return MHD_NO;
	}
	char disp[128];
	snprintf(disp, sizeof(disp), "attachment; filename=\"mizan-kpi-%s-%s.csv\"", v->k->id, v->period);
	struct extra x = {.disposition = disp};
	return web_respond(pg, MHD_HTTP_OK, "text/csv; charset=utf-8", text, len, &x);
}

/* The page's period: ?period=, else the latest of the KPI's own kind with a
 * figure, else the current quarter.  -1 when ?period= is not valid. */
static int kpi_period(struct page *pg, const struct cfg_kpi *k, struct period *p)
{
	const char *pv = web_arg(pg, "period");
	if (pv)
		return web_page_period(pv, p);
	char err[STORE_ERRLEN];
	int rc = view_latest(pg->h->store, k, p, err);
	if (rc < 0)
		log_error("figures of %s: %s", k->id, err);
	if (rc <= 0 || p->kind == PK_MONTH)
		web_current_quarter(p);
	return 0;
}

enum MHD_Result web_kpi_page(struct page *pg, const char *id)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	const struct cfg_kpi *k = config_kpi(h->cfg, id);
	if (!k)
		return web_error(pg, MHD_HTTP_NOT_FOUND, "e_kpi", NULL);
	struct period p;
	if (kpi_period(pg, k, &p) < 0)
		return web_error(pg, MHD_HTTP_BAD_REQUEST, "e_period", NULL);
	const char *by = web_arg(pg, "by");
	if (by && !web_dim_known(h->cfg, by))
		return web_error(pg, MHD_HTTP_BAD_REQUEST, "e_by", NULL);
	if (!by && h->cfg->slices.n)
		by = h->cfg->slices.v[0];
	const char *format = web_arg(pg, "format");
	bool csv = format && strcmp(format, "csv") == 0;

	struct kpi_view v;
	char err[STORE_ERRLEN];
	struct view_opts o = {.parts = VIEW_SERIES | VIEW_TARGETS |
				       (csv ? 0 : VIEW_FORECAST | VIEW_BREAKDOWN),
			      .by = by, .now_ms = time_now_ms()};
	if (view_build(&v, h->store, k, &p, &o, err) < 0)
		log_error("figures of %s: %s", k->id, err);
	if (csv) {
		enum MHD_Result ret = send_csv(pg, &v);
		view_free(&v);
		return ret;
	}

	cJSON *d = web_page_data(pg, "kpi", web_kpi_title(k, l));
	cJSON_AddItemToObject(d, "kpi", view_json(&v, l));
	cJSON_AddItemToObject(d, "periods", web_period_options(&p, l));
	cJSON_AddBoolToObject(d, "charts", web_g.charts != NULL);
	double forecast = v.forecast_made && v.fc.open ? v.fc.value : NAN;
	char *svg = web_series_svg(&v, 0, CHART_SERIES, forecast, web_kpi_title(k, l), k->unit, l, 0,
				   0, NULL);
	if (svg)
		cJSON_AddStringToObject(d, "series_svg", svg);
	free(svg);

	cJSON *dims = cJSON_AddArrayToObject(d, "dims");
	for (size_t i = 0; i < h->cfg->slices.n; i++) {
		cJSON *o2 = cJSON_CreateObject();
		cJSON_AddStringToObject(o2, "value", h->cfg->slices.v[i]);
		cJSON_AddStringToObject(o2, "text", i18n_text2(l, "dim_", h->cfg->slices.v[i]));
		cJSON_AddBoolToObject(o2, "selected", by && strcmp(by, h->cfg->slices.v[i]) == 0);
		cJSON_AddItemToArray(dims, o2);
	}
	if (by) {
		char title[FMT_LEN + 64], text[FMT_LEN];
		fmt_period(&p, l, text, sizeof(text));
		snprintf(title, sizeof(title), "%s — %s", i18n_text(l, "breakdown"), text);
		svg = web_breakdown_svg(&v, BREAKDOWN_BARS, title, l);
		if (svg)
			cJSON_AddStringToObject(d, "breakdown_svg", svg);
		free(svg);
	}
	char csvh[200];
	snprintf(csvh, sizeof(csvh), "/kpis/%s?period=%s&format=csv", k->id, v.period);
	cJSON_AddStringToObject(d, "csv_href", csvh);
	view_free(&v);
	return web_send_page(pg, MHD_HTTP_OK, T_KPI, d, NULL, NULL, false);
}
