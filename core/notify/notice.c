/* notice.c - the mail that announces an alert's change (see notice.h). */
#include "notify/notice.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/target.h"
#include "model/period.h"
#include "notify/mail.h"
#include "render/chart.h"
#include "util/log.h"

struct notifier {
	const struct config *cfg;
	struct store *store;
	struct chart_pool *charts;
};

/* ---- text ------------------------------------------------------------------------- */

/* A growing string. */
struct buf {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (!p)
			return;
		b->s = p;
		b->cap = cap;
	}
}

/* Text for HTML: & < > " ' escaped. */
static void bhtml(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			bprintf(b, "&amp;");
			break;
		case '<':
			bprintf(b, "&lt;");
			break;
		case '>':
			bprintf(b, "&gt;");
			break;
		case '"':
			bprintf(b, "&quot;");
			break;
		case '\'':
			bprintf(b, "&#39;");
			break;
		default:
			bprintf(b, "%c", *s);
		}
	}
}

/* The words of a message, in Arabic and in English. */
struct words {
	const char *brand, *state[5], *kpi, *period, *value, *target, *status, *forecast,
		*contributors, *open_link, *no_value, *run_rate, *trend, *stale_subject, *stale_body,
		*status_name[4], *at_least, *at_most, *between, *and_, *slice, *reminder;
};


static const struct words ar = {
	.brand = "ميزان",
	.state = {"معرّض لعدم بلوغ الهدف", "لم يبلغ الهدف", "عاد إلى الهدف", "انقطاع البيانات",
		  "تذكير: لم يبلغ الهدف"},
	.kpi = "المؤشر",
	.period = "الفترة",
	.value = "القيمة",
	.target = "الهدف",
	.status = "الحالة",
	.forecast = "التوقع لنهاية الفترة",
	.contributors = "أكثر البعثات ابتعاداً عن الهدف",
	.open_link = "افتح صفحة المؤشر",
	.no_value = "لا توجد قيمة",
	.run_rate = "بمعدل الإنجاز حتى الآن",
	.trend = "باتجاه الفترات الأخيرة",
	.stale_subject = "لم تصل بيانات",
	.stale_body = "لم تصل أحداث من هذا النوع من البعثة منذ",
	.status_name = {"رمادي", "أخضر", "كهرماني", "أحمر"},
	.at_least = "لا يقل عن",
	.at_most = "لا يزيد على",
	.between = "بين",
	.and_ = "و",
	.slice = "الشريحة",
	.reminder = "تذكير",
};

static const struct words en = {
	.brand = "Mizan",
	.state = {"at risk", "missed", "recovered", "stale data", "reminder: missed"},
	.kpi = "KPI",
	.period = "Period",
	.value = "Value",
	.target = "Target",
	.status = "Status",
	.forecast = "Forecast for the end of the period",
	.contributors = "Furthest below target",
	.open_link = "Open the KPI page",
	.no_value = "no value",
	.run_rate = "at the run rate so far",
	.trend = "along the recent trend",
	.stale_subject = "no data",
	.stale_body = "No events of this kind have arrived from this mission since",
	.status_name = {"grey", "green", "amber", "red"},
	.at_least = "at least",
	.at_most = "at most",
	.between = "between",
	.and_ = "and",
	.slice = "Slice",
	.reminder = "reminder",
};

static void fmt_number(char *out, size_t n, double v, const char *unit)
{
	if (!isfinite(v))
		snprintf(out, n, "-");
	else if (fabs(v) >= 1000)
		snprintf(out, n, "%.0f %s", v, unit);
	else
		snprintf(out, n, "%.2f %s", v, unit);
}

static void fmt_target(char *out, size_t n, const struct target *t, const struct words *w,
		       const char *unit)
{
	char a[48], b[48];
	fmt_number(a, sizeof(a), t->low, unit);
	fmt_number(b, sizeof(b), t->high, unit);
	if (t->rule == TR_MIN)
		snprintf(out, n, "%s %s", w->at_least, a);
	else if (t->rule == TR_MAX)
		snprintf(out, n, "%s %s", w->at_most, b);
	else
		snprintf(out, n, "%s %s %s %s", w->between, a, w->and_, b);
}

static void compose(const struct alert_notice *n, const struct cfg_person *to, struct buf *subject,
		    struct buf *text, struct buf *html, bool chart)
{
	bool arabic = !to->lang || strcmp(to->lang, "ar") == 0;
	const struct words *w = arabic ? &ar : &en;
	char value[64], target[128], when[32];
	const char *dir = arabic ? "rtl" : "ltr";

	if (!n->k) { /* a stale source, or one that resumed */
		event_format_time(n->stale_since, when);
		bprintf(subject, "[%s] %s: %s %s", w->brand,
			n->kind == AN_STALE ? w->stale_subject : w->state[n->kind], n->a->slice,
			n->stale_kind);
		bprintf(text, "%s: %s %s\n%s %s.\n", w->state[n->kind], n->a->slice, n->stale_kind,
			w->stale_body, when);
		bprintf(html, "<!DOCTYPE html><html lang=\"%s\" dir=\"%s\"><body dir=\"%s\"><p><b>",
			arabic ? "ar" : "en", dir, dir);
		bhtml(html, w->state[n->kind]);
		bprintf(html, "</b>: ");
		bhtml(html, n->a->slice);
		bprintf(html, " %s</p><p>", n->stale_kind);
		bhtml(html, w->stale_body);
		bprintf(html, " %s.</p></body></html>", when);
		return;
	}
	const char *title = arabic ? n->k->title_ar : n->k->title_en;
	const char *unit = n->k->unit;
	char period[16];
	period_label(n->p, period);
	fmt_number(value, sizeof(value), n->a->value, unit);
	fmt_target(target, sizeof(target), n->t, w, unit);
	enum status st = status_of(n->a->value, n->t);
	const char *slice = *n->a->dim ? n->a->slice : NULL;
	bprintf(subject, "[%s] %s: %s %s — %s%s%s", w->brand, w->state[n->kind], n->k->id, title,
		period, slice ? " — " : "", slice ? slice : "");

	char link[512];
	snprintf(link, sizeof(link), "%s/kpis/%s?period=%s", n->cfg->base_url, n->k->id, period);
	char fc[128] = "";
	if (n->fc && isfinite(n->fc->value)) {
		char v[48];
		fmt_number(v, sizeof(v), n->fc->value, unit);
		snprintf(fc, sizeof(fc), "%s (%s)", v,
			 strcmp(n->fc->method, "run_rate") == 0 ? w->run_rate : w->trend);
	}

	/* text/plain */
	bprintf(text, "%s: %s\n\n%s: %s %s\n%s: %s\n", w->state[n->kind], title, w->kpi, n->k->id,
		title, w->period, period);
	if (slice)
		bprintf(text, "%s: %s = %s\n", w->slice, n->a->dim, slice);
	bprintf(text, "%s: %s\n%s: %s\n%s: %s\n", w->value, value, w->target, target, w->status,
		w->status_name[st]);
	if (*fc)
		bprintf(text, "%s: %s\n", w->forecast, fc);
	if (n->ngaps) {
		bprintf(text, "\n%s:\n", w->contributors);
		for (int i = 0; i < n->ngaps; i++) {
			char v[48];
			fmt_number(v, sizeof(v), n->gaps[i].value, unit);
			bprintf(text, "  - %s: %s\n", n->gaps[i].slice, v);
		}
	}
	bprintf(text, "\n%s: %s\n", w->open_link, link);

	/* text/html, right to left in Arabic */
	static const char *const colours[] = {"#8a8f98", "#1e8e3e", "#c77700", "#c5221f"};
	bprintf(html,
		"<!DOCTYPE html><html lang=\"%s\" dir=\"%s\"><head><meta charset=\"utf-8\"></head>"
		"<body dir=\"%s\" style=\"font-family:Tahoma,Arial,sans-serif;text-align:%s\">"
		"<h2 style=\"color:%s\">",
		arabic ? "ar" : "en", dir, dir, arabic ? "right" : "left", colours[st]);
	bhtml(html, w->state[n->kind]);
	bprintf(html, ": ");
	bhtml(html, n->k->id);
	bprintf(html, " ");
	bhtml(html, title);
	bprintf(html, "</h2><table cellpadding=\"4\">");
	const char *labels[] = {w->period, w->value, w->target, w->status};
	const char *values[] = {period, value, target, w->status_name[st]};
	for (int i = 0; i < 4; i++) {
		bprintf(html, "<tr><th>");
		bhtml(html, labels[i]);
		bprintf(html, "</th><td>");
		bhtml(html, values[i]);
		bprintf(html, "</td></tr>");
	}
	if (slice) {
		bprintf(html, "<tr><th>");
		bhtml(html, w->slice);
		bprintf(html, "</th><td>");
		bhtml(html, n->a->dim);
		bprintf(html, " = ");
		bhtml(html, slice);
		bprintf(html, "</td></tr>");
	}
	if (*fc) {
		bprintf(html, "<tr><th>");
		bhtml(html, w->forecast);
		bprintf(html, "</th><td>");
		bhtml(html, fc);
		bprintf(html, "</td></tr>");
	}
	bprintf(html, "</table>");
	if (n->ngaps) {
		bprintf(html, "<h3>");
		bhtml(html, w->contributors);
		bprintf(html, "</h3><ul>");
		for (int i = 0; i < n->ngaps; i++) {
			char v[48];
			fmt_number(v, sizeof(v), n->gaps[i].value, unit);
			bprintf(html, "<li>");
			bhtml(html, n->gaps[i].slice);
			bprintf(html, ": ");
			bhtml(html, v);
			bprintf(html, "</li>");
		}
		bprintf(html, "</ul>");
	}
	if (chart)
		bprintf(html, "<p><img src=\"cid:kpi-chart\" alt=\"\" width=\"720\" height=\"320\"></p>");
	bprintf(html, "<p><a href=\"");
	bhtml(html, link);
	bprintf(html, "\">");
	bhtml(html, w->open_link);
	bprintf(html, "</a></p></body></html>");
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

static int queue(const struct alert_notice *n, const struct cfg_person *to, int64_t now,
		 const struct mail_part_image *image, struct mails *out)
{
	struct buf subject = {0}, text = {0}, html = {0};
	compose(n, to, &subject, &text, &html, image != NULL);
	struct mail_message m = {
		.from_addr = n->cfg->mail_from,
		.from_name = n->cfg->mail_from_name,
		.to_addr = to->email,
		.to_name = to->name,
		.subject = subject.s,
		.text = text.s,
		.html = html.s,
		.image = image,
		.message_id_domain = NULL,
		.date_ms = now,
	};
	size_t len = 0;
	char *msg = subject.s && text.s && html.s ? mail_format(&m, &len) : NULL;
	free(text.s);
	free(html.s);
	struct store_mail *v = msg ? realloc(*out->v, (*out->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		if (msg)
			log_error("out of memory queueing mail to %s", to->email);
		else
			log_error("cannot format mail to '%s' (an invalid address?)", to->email);
		free(subject.s);
		free(msg);
		return -1;
	}
	*out->v = v;
	v[(*out->n)++] = (struct store_mail){.to_addr = strdup(to->email), .subject = subject.s,
					       .message = msg, .len = len};
	return 0;
}


/* ---- the chart ---- */


/* The KPI's last eight periods up to the alert's, with its target and the
 * forecast, as a PNG for the message; NULL without charts. */
static unsigned char *kpi_chart(struct notifier *nf, const struct alert_notice *n, size_t *len)
{
	if (!nf->charts)
		return NULL;
	struct history {
		struct chart_point v[8];
		char labels[8][16];
		int n;
	} h = {.n = 0};
	struct period p = *n->p;
	for (int i = 7; i >= 0; i--) { /* oldest first */
		struct period q = p;
		for (int back = 0; back < i; back++)
			period_of(q.kind, q.start_ms - 1, &q);
		struct slice_figures f = {0};
		char err[STORE_ERRLEN];
		double v = NAN;
		if (figures_of(nf->store, n->k, &q, n->a->dim, &f, err) == 0)
			for (size_t j = 0; j < f.n; j++)
				if (strcmp(f.v[j].slice, n->a->slice) == 0)
					v = f.v[j].value;
		free(f.v);
		period_label(&q, h.labels[h.n]);
		h.v[h.n].label = h.labels[h.n];
		h.v[h.n].value = v;
		h.n++;
	}
	struct chart_spec spec = {
		.kind = CHART_SERIES,
		.format = CHART_PNG,
		.title = n->k->title_en,
		.unit = n->k->unit,
		.lang = "en",
		.points = h.v,
		.n = (size_t)h.n,
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
	if (n->k) {
		nto = recipients_of(c, n->k, to, 64);
	} else {
		/* A stale source: the owners of the KPIs that read its kind. */
		unsigned kindbit = 1u << event_kind_from_name(n->stale_kind);
		for (size_t i = 0; i < c->nkpis && nto < 64; i++)
			if (store_kpi_kinds(nf->store, c->kpis[i].id) & kindbit)
				add_person(to, &nto, &c->kpis[i].owner);
	}
	/* One chart for every recipient: the figures do not change with the language. */
	size_t png_len = 0;
	unsigned char *png = n->k ? kpi_chart(nf, n, &png_len) : NULL;
	struct mail_part_image image = {"kpi-chart", png, png_len};
	struct mails out = {mails, nm};
	int rc = 0;
	for (size_t i = 0; i < nto; i++)
		if (queue(n, to[i], n->now_ms, png ? &image : NULL, &out) < 0)
			rc = -1;
	free(png);
	return rc;
}

int notice_new(struct alert_notifier *out, const struct config *c, struct store *s,
	       struct chart_pool *charts)
{
	struct notifier *nf = calloc(1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	*nf = (struct notifier){c, s, charts};
	*out = (struct alert_notifier){compose_all, nf};
	return 0;
}

void notice_free(struct alert_notifier *nf)
{
	free(nf->ud);
	nf->ud = NULL;
}
