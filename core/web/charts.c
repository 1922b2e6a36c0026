/* charts.c - the pages' charts: a KPI view's series and breakdown drawn by
 * the gnuplot pool as SVG, inlined into the page (see internal.h). */
#include "web/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Renders spec as inline SVG (from "<svg" on); NULL without charts or when
 * the render failed (*failed then set). */
static char *chart_svg(const struct chart_spec *spec, bool *failed)
{
	if (!web_g.charts || spec->n == 0)
		return NULL;
	char err[256];
	size_t len;
	unsigned char *img = chart_render(web_g.charts, spec, &len, err, sizeof(err));
	if (!img) {
		log_warn("chart: %s", err);
		if (failed)
			*failed = true;
		return NULL;
	}
	char *svg = malloc(len + 1);
	if (svg) {
		memcpy(svg, img, len);
		svg[len] = '\0';
		char *start = strstr(svg, "<svg");
		if (start && start != svg)
			memmove(svg, start, strlen(start) + 1);
		else if (!start) {
			free(svg);
			svg = NULL;
		}
	}
	free(img);
	return svg;
}

static char *points_svg(const struct view_point *v, size_t n, const struct target *t,
			struct chart_spec *spec, bool *failed)
{
	if (n == 0)
		return NULL;
	struct chart_point *pts = calloc(n, sizeof(*pts));
	if (!pts)
		return NULL;
	/* Each period's own target, when the series carries them. */
	struct chart_target *own = NULL;
	for (size_t i = 0; i < n && !own; i++)
		if (v[i].target.rule != TR_NONE)
			own = calloc(n, sizeof(*own));
	for (size_t i = 0; i < n; i++) {
		pts[i].label = v[i].label;
		pts[i].value = v[i].value;
		if (own) {
			const struct target *pt = &v[i].target;
			own[i] = (struct chart_target){
				.low = pt->rule == TR_MIN || pt->rule == TR_RANGE ? pt->low : NAN,
				.high = pt->rule == TR_MAX || pt->rule == TR_RANGE ? pt->high : NAN,
				.warn = pt->rule == TR_NONE ? NAN : pt->warn};
		}
	}
	spec->points = pts;
	spec->n = n;
	spec->targets = own;
	spec->target_low = t->rule == TR_MIN || t->rule == TR_RANGE ? t->low : NAN;
	spec->target_high = t->rule == TR_MAX || t->rule == TR_RANGE ? t->high : NAN;
	spec->warn = t->rule == TR_NONE ? NAN : t->warn;
	char *svg = chart_svg(spec, failed);
	free(pts);
	free(own);
	return svg;
}

char *web_series_svg(const struct kpi_view *v, size_t last, enum chart_kind kind, double forecast,
		     const char *title, const char *unit, enum lang l, int width, int height,
		     bool *failed)
{
	size_t from = last && v->nseries > last ? v->nseries - last : 0;
	struct chart_spec spec = {.kind = kind, .format = CHART_SVG, .title = title, .unit = unit,
				  .lang = lang_code(l), .forecast = forecast, .width = width,
				  .height = height};
	return points_svg(v->series + from, v->nseries - from, &v->target, &spec, failed);
}

char *web_breakdown_svg(const struct kpi_view *v, size_t top, const char *title, enum lang l)
{
	struct chart_spec spec = {.kind = CHART_BARS, .format = CHART_SVG, .title = title,
				  .unit = v->k->unit, .lang = lang_code(l), .forecast = NAN};
	/* No target line: a slice is not judged against the whole's target. */
	static const struct target none = {.rule = TR_NONE};
	return points_svg(v->breakdown, v->nbreakdown < top ? v->nbreakdown : top, &none, &spec,
			  NULL);
}
