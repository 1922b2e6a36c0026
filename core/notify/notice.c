/* notice.c - the mail that announces an alert's change (see notice.h).
 *
 * The data the templates (dashboards/mail) see, per recipient:
 *   lang, dir, align   "ar", "rtl", "right" (or "en", "ltr", "left")
 *   t                  the table of words of render/i18n.h, in that language
 *   announce           what changed: notice_at_risk, _missed, _recovered,
 *                      _stale or _reminder, in words
 *   kpi                a KPI's alert: the KPI's view (render/view.h's
 *                      view_json) for the alert's period and slice
 *   link               the KPI's page
 *   gaps, has_gaps     the missions furthest below, worst first, each the
 *                      view's breakdown entry {slice, value, value_raw, n}
 *   chart              true when the message carries the chart (cid:kpi-chart)
 *   stale              a source that stopped: {mission, kind, since,
 *                      subject_word}
 */
#include "notify/notice.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "judge/target.h"
#include "model/period.h"
#include "notify/embedded.h"
#include "notify/mail.h"
#include "render/chart.h"
#include "render/format.h"
#include "render/i18n.h"
#include "render/template.h"
#include "render/view.h"
#include "util/log.h"

enum { T_SUBJECT, T_TEXT, T_HTML, T_N };
static const char *const template_names[T_N] = {"subject.txt", "alert.txt", "alert.html"};

struct notifier {
	const struct config *cfg;
	struct store *store;
	struct chart_pool *charts;
	struct tmpl *t[T_N];
};


/* ---- the words ------------------------------------------------------------------------ */

static const char *const notice_keys[] = {
	[AN_AT_RISK] = "at_risk", [AN_MISSED] = "missed", [AN_RECOVERED] = "recovered",
	[AN_STALE] = "stale",     [AN_REMINDER] = "reminder",
};

/* What the templates render for one recipient (see the head of this file);
 * v is the KPI's view, NULL for a stale source.  NULL when out of memory. */
static cJSON *notice_data(const struct alert_notice *n, const struct kpi_view *v, enum lang l,
			  bool chart)
{
	cJSON *d = cJSON_CreateObject();
	if (!d)
		return NULL;
	cJSON_AddStringToObject(d, "lang", lang_code(l));
	cJSON_AddStringToObject(d, "dir", lang_dir(l));
	cJSON_AddStringToObject(d, "align", l == LANG_AR ? "right" : "left");
	cJSON_AddItemReferenceToObject(d, "t", i18n_table(l));
	const char *announce = i18n_text2(l, "notice_", notice_keys[n->kind]);
	cJSON_AddStringToObject(d, "announce", announce);
	cJSON_AddBoolToObject(d, "chart", chart);
	if (!v) {
		char since[FMT_LEN];
		fmt_time(n->stale_since, since, sizeof(since));
		cJSON *st = cJSON_AddObjectToObject(d, "stale");
		cJSON_AddStringToObject(st, "mission", n->a->slice ? n->a->slice : "");
		cJSON_AddStringToObject(st, "kind", n->stale_kind ? n->stale_kind : "");
		cJSON_AddStringToObject(st, "since", since);
		cJSON_AddStringToObject(st, "subject_word", n->kind == AN_STALE
								  ? i18n_text(l, "stale_subject")
								  : announce);
		return d;
	}
	cJSON *k = view_json(v, l);
	cJSON_AddItemToObject(d, "kpi", k);
	char link[1024];
	snprintf(link, sizeof(link), "%s/kpis/%s?period=%s", n->cfg->base_url, n->k->id, v->period);
	cJSON_AddStringToObject(d, "link", link);
	/* The judge chose the missions; what they show is the view's breakdown. */
	cJSON *gaps = cJSON_AddArrayToObject(d, "gaps");
	const cJSON *breakdown = cJSON_GetObjectItemCaseSensitive(k, "breakdown");
	for (int i = 0; i < n->ngaps; i++) {
		long at = view_breakdown_find(v, n->gaps[i].slice);
		cJSON *g = at >= 0 ? cJSON_Duplicate(cJSON_GetArrayItem(breakdown, (int)at), 1) : NULL;
		if (!g) { /* gone from the store since the judge read it */
			char buf[FMT_LEN];
			g = cJSON_CreateObject();
			cJSON_AddStringToObject(g, "slice", n->gaps[i].slice);
			fmt_number(n->gaps[i].value, l, buf, sizeof(buf));
			cJSON_AddStringToObject(g, "value", buf);
			fmt_raw(n->gaps[i].value, buf, sizeof(buf));
			cJSON_AddStringToObject(g, "value_raw", buf);
		}
		cJSON_AddItemToArray(gaps, g);
	}
	cJSON_AddBoolToObject(d, "has_gaps", n->ngaps > 0);
	return d;
}

/* A rendered Subject on one line, without the spaces around it. */
static void one_line(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t start = strspn(s, " "), len = strlen(s);
	while (len > start && s[len - 1] == ' ')
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
}

/* ---- recipients and messages --------------------------------------------------------- */

struct mails {
	struct store_mail **v;
	size_t *n;
};

static void add_person(const struct cfg_person **list, size_t *n, const struct cfg_person *p)
{
	if (!p->email)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i]->email, p->email) == 0)
			return;
	list[(*n)++] = p;
}

/* The owner, the KPI's managers and the goal's managers, each once. */
static size_t recipients_of(const struct config *c, const struct cfg_kpi *k,
			    const struct cfg_person **list, size_t max)
{
	size_t n = 0;
	if (k->owner.email && n < max)
		add_person(list, &n, &k->owner);
	for (size_t i = 0; i < k->nmanagers && n < max; i++)
		add_person(list, &n, &k->managers[i]);
	for (size_t g = 0; g < c->ngoals; g++)
		if (strcmp(c->goals[g].id, k->goal) == 0)
			for (size_t i = 0; i < c->goals[g].nmanagers && n < max; i++)
				add_person(list, &n, &c->goals[g].managers[i]);
	return n;
}

static int queue(const struct notifier *nf, const struct alert_notice *n,
		 const struct kpi_view *v, const struct cfg_person *to, int64_t now,
		 const struct mail_part_image *image, bool demo, struct mails *out)
{
	enum lang l = lang_from_code(to->lang, LANG_AR);
	cJSON *d = notice_data(n, v, l, image != NULL);
	char *subject = d ? tmpl_render(nf->t[T_SUBJECT], d, NULL) : NULL;
	char *text = d ? tmpl_render(nf->t[T_TEXT], d, NULL) : NULL;
	char *html = d ? tmpl_render(nf->t[T_HTML], d, NULL) : NULL;
	cJSON_Delete(d);
	if (subject)
		one_line(subject);
	if (subject && demo) { /* every mail of demo data says so first */
		char *marked = malloc(strlen(subject) + 8);
		if (marked)
			sprintf(marked, "[DEMO] %s", subject);
		free(subject);
		subject = marked;
	}
	if (text) /* one line end at the end, whatever the template's last lines */
		for (size_t e = strlen(text); e > 1 && text[e - 1] == '\n' && text[e - 2] == '\n'; e--)
			text[e - 1] = '\0';
	struct mail_message m = {
		.from_addr = n->cfg->mail_from,
		.from_name = n->cfg->mail_from_name,
		.to_addr = to->email,
		.to_name = to->name,
		.subject = subject,
		.text = text,
		.html = html,
		.image = image,
		.message_id_domain = NULL,
		.date_ms = now,
	};
	size_t len = 0;
	bool rendered = subject && text && html;
	char *msg = rendered ? mail_format(&m, &len) : NULL;
	free(text);
	free(html);
	struct store_mail *grown = msg ? realloc(*out->v, (*out->n + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		if (msg || !rendered)
			log_error("out of memory queueing mail to %s", to->email);
		else
			log_error("cannot format mail to '%s' (an invalid address?)", to->email);
		free(subject);
		free(msg);
		return -1;
	}
	*out->v = grown;
	grown[(*out->n)++] = (struct store_mail){.to_addr = strdup(to->email), .subject = subject,
						 .message = msg, .len = len};
	return 0;
}

/* ---- the chart ------------------------------------------------------------------------ */

/* The KPI's last eight periods up to the alert's (the view's series), with
 * its target and the forecast, as a PNG for the message; NULL without
 * charts. */
static unsigned char *kpi_chart(struct notifier *nf, const struct alert_notice *n,
				const struct kpi_view *v, size_t *len)
{
	if (!nf->charts || !v->nseries)
		return NULL;
	struct chart_point pts[8];
	size_t np = v->nseries < 8 ? v->nseries : 8, first = v->nseries - np;
	for (size_t i = 0; i < np; i++)
		pts[i] = (struct chart_point){.label = v->series[first + i].label,
					      .value = v->series[first + i].value};
	struct chart_spec spec = {
		.kind = CHART_SERIES,
		.format = CHART_PNG,
		.title = n->k->title_en,
		.unit = n->k->unit,
		.lang = "en",
		.points = pts,
		.n = np,
		.target_low = n->t->rule == TR_MAX ? NAN : n->t->low,
		.target_high = n->t->rule == TR_MIN ? NAN : n->t->high,
		.warn = n->t->warn,
		.forecast = n->fc && n->fc->open ? n->fc->value : NAN,
	};
	char err[256];
	unsigned char *png = chart_render(nf->charts, &spec, len, err, sizeof(err));
	if (!png)
		log_warn("mail goes without its chart: %s", err);
	return png;
}


static int compose_all(void *ud, const struct alert_notice *n, struct store_mail **mails, size_t *nm)
{
	struct notifier *nf = ud;
	const struct config *c = n->cfg;
	const struct cfg_person *to[64];
	size_t nto = 0;
	struct kpi_view view, *v = NULL;
	if (n->k) {
		nto = recipients_of(c, n->k, to, 64);
		/* The KPI's view for the alert's period and slice: what every
		 * recipient reads, each in their language. */
		char err[STORE_ERRLEN];
		struct view_opts o = {.dim = n->a->dim, .slice = n->a->slice,
				      .parts = VIEW_FORECAST | VIEW_SERIES |
					       (n->ngaps ? VIEW_BREAKDOWN : 0),
				      .history = 8, .by = "mission", .now_ms = n->now_ms};
		if (view_build(&view, nf->store, n->k, n->p, &o, err) < 0) {
			log_error("mail about %s not composed: %s", n->k->id, err);
			view_free(&view);
			return -1;
		}
		v = &view;
	} else {
		/* A stale source: the owners of the KPIs that read its kind. */
		unsigned kindbit = 1u << event_kind_from_name(n->stale_kind);
		for (size_t i = 0; i < c->nkpis && nto < 64; i++)
			if (store_kpi_kinds(nf->store, c->kpis[i].id) & kindbit)
				add_person(to, &nto, &c->kpis[i].owner);
	}
	/* A store of demo data mails no one real: only demo.mail_to (in the
	 * first recipient's language), or no one when it is not set. */
	bool demo = store_is_demo(nf->store) == 1;
	struct cfg_person demo_to = {"Mizan demo", c->demo_mail_to, nto ? to[0]->lang : "en"};
	if (demo) {
		to[0] = &demo_to;
		nto = *c->demo_mail_to ? 1 : 0;
	}
		/* One chart for every recipient: the figures do not change with the language. */
	size_t png_len = 0;
	unsigned char *png = v ? kpi_chart(nf, n, v, &png_len) : NULL;
	struct mail_part_image image = {"kpi-chart", png, png_len};
	struct mails out = {mails, nm};
	int rc = 0;
	for (size_t i = 0; i < nto; i++)
		if (queue(nf, n, v, to[i], n->now_ms, png ? &image : NULL, demo, &out) < 0)
			rc = -1;
	free(png);
	if (v)
		view_free(v);
	return rc;
}

/* The templates of dir/mail, or the ones compiled in when there is no such
 * folder. */
static int load_templates(struct notifier *nf, const char *dir, char *err, size_t errlen)
{
	char mdir[4096];
	snprintf(mdir, sizeof(mdir), "%s/mail", dir);
	struct stat st;
	bool own = stat(mdir, &st) == 0 && S_ISDIR(st.st_mode);
	for (int i = 0; i < T_N; i++) {
		if (own) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/%s", mdir, template_names[i]);
			nf->t[i] = tmpl_load(path, err, errlen);
		} else {
			size_t len = 0;
			const char *text = notice_embedded(template_names[i], &len);
			char perr[200];
			nf->t[i] = text ? tmpl_parse(text, len, perr, sizeof(perr)) : NULL;
			if (!nf->t[i])
				snprintf(err, errlen, "the built-in mail template %s: %s", template_names[i],
					 text ? perr : "missing");
		}
		if (!nf->t[i])
			return -1;
	}
	if (!own)
		log_info("mail: no folder %s; the built-in mail templates are used", mdir);
	return 0;
}

int notice_new(struct alert_notifier *out, const struct config *c, struct store *s,
	       struct chart_pool *charts, char *err, size_t errlen)
{
	*out = (struct alert_notifier){0};
	struct notifier *nf = calloc(1, sizeof(*nf));
	if (!nf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*nf = (struct notifier){.cfg = c, .store = s, .charts = charts};
	*out = (struct alert_notifier){compose_all, nf};
	if (load_templates(nf, c->dashboards, err, errlen) < 0) {
		notice_free(out);
		return -1;
	}
	return 0;
}

void notice_free(struct alert_notifier *nf)
{
	struct notifier *n = nf->ud;
	for (int i = 0; n && i < T_N; i++)
		tmpl_free(n->t[i]);
	free(n);
	nf->ud = NULL;
}
