/* scorecard.c - the scorecard (/): the goals and their KPIs, each KPI's
 * view for the period with a sparkline of its last eight periods.
 *
 * A period's scorecard is kept in memory, per language, until the store's
 * data version changes (figures, reported values, targets, notes), so a
 * busy page neither queries the store nor starts gnuplot per request.
 */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render/format.h"
#include "render/template.h"
#include "util/log.h"

#define CACHE_SLOTS 16
#define SPARK_PERIODS 8

static struct {
	pthread_mutex_t lock;
	struct {
		char key[48];
		int64_t version;
		char *html;
		uint64_t used;
	} v[CACHE_SLOTS];
	uint64_t tick;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

void web_scorecard_forget(void)
{
	pthread_mutex_lock(&cache.lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(cache.v[i].html);
		memset(&cache.v[i], 0, sizeof(cache.v[i]));
	}
	pthread_mutex_unlock(&cache.lock);
}

cJSON *web_kpi_entry(struct page *pg, const struct cfg_kpi *k, const struct period *p,
		     size_t history, struct kpi_view *v)
{
	char err[STORE_ERRLEN];
	struct view_opts o = {.parts = VIEW_SERIES, .history = history};
	if (view_build(v, pg->h->store, k, p, &o, err) < 0)
		log_error("figures of %s: %s", k->id, err);
	cJSON *ko = view_json(v, pg->lang);
	cJSON_DeleteItemFromObject(ko, "values"); /* the entry shows the series as a chart */
	return ko;
}

static void add_goal_status(cJSON *o, enum status st, enum lang l)
{
	cJSON_AddStringToObject(o, "status", status_name(st));
	cJSON_AddStringToObject(o, "status_text", i18n_text2(l, "status_", status_name(st)));
}

static char *scorecard_content(struct page *pg, const struct period *p, bool *failed)
{
	struct web *h = pg->h;
	enum lang l = pg->lang;
	cJSON *d = web_page_data(pg, "scorecard", NULL);
	char label[16], text[FMT_LEN];
	period_label(p, label);
	fmt_period(p, l, text, sizeof(text));
	cJSON_AddStringToObject(d, "period", label);
	cJSON_AddStringToObject(d, "period_text", text);
	cJSON_AddItemToObject(d, "periods", web_period_options(p, l));
	cJSON_AddBoolToObject(d, "charts", web_g.charts != NULL);
	cJSON *goals = cJSON_AddArrayToObject(d, "goals");
	for (size_t g = 0; g < h->cfg->ngoals; g++) {
		const struct cfg_goal *goal = &h->cfg->goals[g];
		cJSON *go = cJSON_CreateObject();
		cJSON_AddStringToObject(go, "id", goal->id);
		web_add_str(go, "title", web_goal_title(goal, l));
		web_add_str(go, "title_other", web_goal_title(goal, l == LANG_AR ? LANG_EN : LANG_AR));
		cJSON *kpis = cJSON_AddArrayToObject(go, "kpis");
		enum status worst = ST_GREY;
		for (size_t i = 0; i < h->cfg->nkpis; i++) {
			const struct cfg_kpi *k = &h->cfg->kpis[i];
			if (strcmp(k->goal, goal->id) != 0)
				continue;
			struct kpi_view v;
			cJSON *ko = web_kpi_entry(pg, k, p, SPARK_PERIODS, &v);
			if (v.status > worst)
				worst = v.status;
			char href[128];
			snprintf(href, sizeof(href), "/kpis/%s?period=%s", k->id, label);
			cJSON_AddStringToObject(ko, "href", href);
			char *svg = web_series_svg(&v, 0, CHART_SPARK, NAN, NULL, NULL, l, 0, 0, failed);
			if (svg)
				cJSON_AddStringToObject(ko, "spark", svg);
			free(svg);
			view_free(&v);
			cJSON_AddItemToArray(kpis, ko);
		}
		add_goal_status(go, worst, l);
		cJSON_AddItemToArray(goals, go);
	}
	char *html = tmpl_render(web_g.t[T_SCORECARD], d, NULL);
	cJSON_Delete(d);
	return html;
}

/* The store's data version, read at most every half second: the scorecard
 * may be that late, and a busy page does not query the store per request. */
static int64_t data_version(struct store *s)
{
	static _Atomic int64_t version = -1, read_at = 0;
	int64_t now = (int64_t)(time_mono() * 1000);
	if (now - atomic_load(&read_at) < 500 && atomic_load(&version) >= 0)
		return atomic_load(&version);
	int64_t v = store_data_version(s);
	atomic_store(&version, v);
	atomic_store(&read_at, now);
	return v;
}

/* A copy of the cached content of key at version, or NULL. */
static char *cache_get(const char *key, int64_t version)
{
	char *content = NULL;
	pthread_mutex_lock(&cache.lock);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (cache.v[i].html && strcmp(cache.v[i].key, key) == 0 &&
		    cache.v[i].version == version) {
			content = strdup(cache.v[i].html);
			cache.v[i].used = ++cache.tick;
			break;
		}
	pthread_mutex_unlock(&cache.lock);
	return content;
}

/* Keeps a copy of content under key, in the least recently used slot. */
static void cache_put(const char *key, int64_t version, const char *content)
{
	char *copy = strdup(content);
	if (!copy)
		return;
	pthread_mutex_lock(&cache.lock);
	int slot = 0;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (strcmp(cache.v[i].key, key) == 0 || !cache.v[i].html) {
			slot = i;
			break;
		}
		if (cache.v[i].used < cache.v[slot].used)
			slot = i;
	}
	free(cache.v[slot].html);
	snprintf(cache.v[slot].key, sizeof(cache.v[slot].key), "%s", key);
	cache.v[slot].version = version;
	cache.v[slot].html = copy;
	cache.v[slot].used = ++cache.tick;
	pthread_mutex_unlock(&cache.lock);
}

enum MHD_Result web_scorecard(struct page *pg)
{
	struct period p;
	if (web_page_period(web_arg(pg, "period"), &p) < 0)
		return web_error(pg, MHD_HTTP_BAD_REQUEST, "e_period", NULL);
	char label[16], key[48];
	period_label(&p, label);
	snprintf(key, sizeof(key), "%s|%s|%d", lang_code(pg->lang), label, web_g.charts != NULL);
	int64_t version = data_version(pg->h->store);
	char *content = cache_get(key, version);
	if (!content) {
		bool failed = false;
		content = scorecard_content(pg, &p, &failed);
		if (!content)
			return MHD_NO;
		if (!failed && version >= 0)
			cache_put(key, version, content);
	}
	cJSON *d = web_page_data(pg, "scorecard", i18n_text(pg->lang, "scorecard"));
	enum MHD_Result ret = web_send_page(pg, MHD_HTTP_OK, T_SCORECARD, d, content, NULL, false);
	free(content);
	return ret;
}
