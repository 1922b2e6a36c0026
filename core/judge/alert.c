/* alert.c - see alert.h. */
#include "judge/alert.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render/chart.h"
#include "util/log.h"
#include "notify/mail.h"
#include "model/period.h"
#include "judge/target.h"

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

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

enum notice { N_AT_RISK, N_MISSED, N_RECOVERED, N_STALE, N_REMINDER };

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

/* One gap in the top contributors: a slice and how far it fell. */
struct gap {
	char slice[64];
	double value, gap;
};

struct recipient {
	const struct cfg_person *p;
};

/* What one notice says, before it is put in a language. */
struct notice_ctx {
	const struct config *cfg;
	const struct cfg_kpi *k;
	const struct period *p;
	const struct store_alert *a;
	const struct target *t;
	const struct forecast *fc;
	enum notice kind;
	const struct gap *gaps;
	int ngaps;
	const char *stale_kind;
	int64_t stale_since;
};

static void compose(const struct notice_ctx *n, const struct cfg_person *to, struct buf *subject,
		    struct buf *text, struct buf *html, bool chart)
{
	bool arabic = !to->lang || strcmp(to->lang, "ar") == 0;
	const struct words *w = arabic ? &ar : &en;
	char value[64], target[128], when[32];
	const char *dir = arabic ? "rtl" : "ltr";

	if (!n->k) { /* a stale source, or one that resumed */
		event_format_time(n->stale_since, when);
		bprintf(subject, "[%s] %s: %s %s", w->brand,
			n->kind == N_STALE ? w->stale_subject : w->state[n->kind], n->a->slice,
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
	struct store_mail *v;
	size_t n;
};

static void mails_free(struct mails *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free((char *)m->v[i].to_addr);
		free((char *)m->v[i].subject);
		free((char *)m->v[i].message);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

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

static int queue(const struct notice_ctx *n, const struct cfg_person *to, int64_t now,
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
	struct store_mail *v = msg ? realloc(out->v, (out->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		if (msg)
			log_error("out of memory queueing mail to %s", to->email);
		else
			log_error("cannot format mail to '%s' (an invalid address?)", to->email);
		free(subject.s);
		free(msg);
		return -1;
	}
	out->v = v;
	out->v[out->n++] = (struct store_mail){.to_addr = strdup(to->email), .subject = subject.s,
					       .message = msg, .len = len};
	return 0;
}

/* ---- one alert ----------------------------------------------------------------------- */

struct silences {
	struct store_silence *v;
	size_t n;
	char **owned;
	size_t nowned;
};

static char *keep(struct silences *s, const char *v)
{
	if (!v)
		return NULL;
	char **p = realloc(s->owned, (s->nowned + 1) * sizeof(*p));
	if (!p)
		return NULL;
	s->owned = p;
	return s->owned[s->nowned++] = strdup(v);
}

static int keep_silence(const struct store_silence *si, void *ud)
{
	struct silences *s = ud;
	struct store_silence *p = realloc(s->v, (s->n + 1) * sizeof(*p));
	if (!p)
		return -1;
	s->v = p;
	s->v[s->n] = *si;
	s->v[s->n].kpi = keep(s, si->kpi);
	s->v[s->n].dim = keep(s, si->dim);
	s->v[s->n].slice = keep(s, si->slice);
	s->v[s->n].who = s->v[s->n].comment = NULL;
	s->n++;
	return 0;
}

static bool silenced(const struct silences *s, const char *kpi, const char *dim, const char *slice)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct store_silence *si = &s->v[i];
		if ((!si->kpi || strcmp(si->kpi, kpi) == 0) && (!si->dim || strcmp(si->dim, dim) == 0) &&
		    (!si->slice || strcmp(si->slice, slice) == 0))
			return true;
	}
	return false;
}

/* The alert as stored, copied (the store's strings live for one callback). */
struct current {
	bool found;
	struct store_alert a;
	char state[16], pending[16], acked_by[64];
};

static int copy_alert(const struct store_alert *a, void *ud)
{
	struct current *c = ud;
	c->found = true;
	c->a = *a;
	snprintf(c->state, sizeof(c->state), "%s", a->state);
	snprintf(c->pending, sizeof(c->pending), "%s", a->pending ? a->pending : "");
	snprintf(c->acked_by, sizeof(c->acked_by), "%s", a->acked_by ? a->acked_by : "");
	c->a.state = c->state;
	c->a.pending = a->pending ? c->pending : NULL;
	c->a.acked_by = a->acked_by ? c->acked_by : NULL;
	c->a.kpi = c->a.period = c->a.dim = c->a.slice = c->a.kind = c->a.detail = NULL;
	c->a.ack_comment = NULL;
	return 0;
}

struct engine {
	const struct config *c;
	struct store *s;
	struct chart_pool *charts;
	int64_t now;
	struct silences sil;
	struct alert_stats *st;
	char err[STORE_ERRLEN];
};

struct figure {
	char slice[64];
	double value, n;
};

struct figures {
	struct figure *v;
	size_t n;
};

static int keep_figure(const struct store_result *r, void *ud)
{
	struct figures *f = ud;
	struct figure *p = realloc(f->v, (f->n + 1) * sizeof(*p));
	if (!p)
		return -1;
	f->v = p;
	snprintf(p[f->n].slice, sizeof(p[f->n].slice), "%s", r->slice);
	p[f->n].value = r->value;
	p[f->n].n = r->n;
	f->n++;
	return 0;
}

static int figures_of(struct engine *e, const struct cfg_kpi *k, const struct period *p,
		      const char *dim, struct figures *out)
{
	struct store_result_query q = {.kpi = k->id, .pkind = (int)p->kind, .dim = dim,
				       .from_ms = p->start_ms, .to_ms = p->start_ms + 1};
	return (k->indicator ? store_results_each : store_values_each)(e->s, &q, keep_figure, out,
									 e->err);
}

/* The KPI's last eight periods up to the alert's, with its target and the
 * forecast, as a PNG for the message; NULL without charts. */
static unsigned char *kpi_chart(struct engine *e, const struct notice_ctx *n, size_t *len)
{
	if (!e->charts)
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
		struct figures f = {0};
		double v = NAN;
		if (figures_of(e, n->k, &q, n->a->dim, &f) == 0)
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
	unsigned char *png = chart_render(e->charts, &spec, len, err, sizeof(err));
	if (!png)
		log_warn("mail goes without its chart: %s", err);
	return png;
}

/* Moves one alert towards `desired`; queues mail when its state changes. */
static int step_alert(struct engine *e, struct store_alert *next, const char *desired,
		      struct notice_ctx *n)
{
	struct current cur = {0};
	if (store_alert_get(e->s, next->kpi, next->period, next->dim, next->slice, next->kind,
			    copy_alert, &cur, e->err) < 0)
		return -1;
	const char *state = cur.found ? cur.state : "ok";
	if (!cur.found && strcmp(desired, "ok") == 0)
		return 0; /* nothing to remember */
	next->state = state;
	next->since_ms = cur.found ? cur.a.since_ms : e->now;
	next->pending = cur.found ? cur.a.pending : NULL;
	next->pending_since_ms = cur.found ? cur.a.pending_since_ms : 0;
	next->notified_ms = cur.found ? cur.a.notified_ms : 0;
	const char *old = NULL;
	if (strcmp(desired, state) != 0) {
		int64_t hold = (int64_t)e->c->alert_min_state_s * 1000;
		bool waited = next->pending && strcmp(next->pending, desired) == 0 &&
			      e->now - next->pending_since_ms >= hold;
		if (hold == 0 || waited) {
			old = state;
			next->state = desired;
			next->since_ms = e->now;
			next->pending = NULL;
			next->pending_since_ms = 0;
		} else if (!next->pending || strcmp(next->pending, desired) != 0) {
			next->pending = desired;
			next->pending_since_ms = e->now;
		}
	} else {
		next->pending = NULL;
		next->pending_since_ms = 0;
	}

	/* What to announce. */
	bool bad_old = old && (strcmp(old, "at_risk") == 0 || strcmp(old, "missed") == 0 ||
			       strcmp(old, "stale") == 0);
	int kind = -1;
	if (old && strcmp(next->state, "at_risk") == 0)
		kind = N_AT_RISK;
	else if (old && strcmp(next->state, "missed") == 0)
		kind = N_MISSED;
	else if (old && strcmp(next->state, "stale") == 0)
		kind = N_STALE;
	else if (old && strcmp(next->state, "ok") == 0 && bad_old)
		kind = N_RECOVERED;
	else if (!old && strcmp(next->state, "missed") == 0 && !cur.a.acked_by &&
		 e->c->alert_repeat_s > 0 &&
		 e->now - next->notified_ms >= (int64_t)e->c->alert_repeat_s * 1000)
		kind = N_REMINDER;

	struct mails m = {0};
	if (kind >= 0 && !silenced(&e->sil, next->kpi, next->dim, next->slice)) {
		n->kind = (enum notice)kind;
		n->a = next;
		const struct cfg_person *to[64];
		size_t nto = 0;
		if (n->k) {
			nto = recipients_of(e->c, n->k, to, 64);
		} else {
			/* A stale source: the owners of the KPIs that read its kind. */
			int kindbit = 1 << event_kind_from_name(n->stale_kind);
			for (size_t i = 0; i < e->c->nkpis && nto < 64; i++)
				if (store_kpi_kinds(e->s, e->c->kpis[i].id) & (unsigned)kindbit)
					add_person(to, &nto, &e->c->kpis[i].owner);
		}
		/* One chart for every recipient: the figures do not change with the language. */
		size_t png_len = 0;
		unsigned char *png = n->k ? kpi_chart(e, n, &png_len) : NULL;
		struct mail_part_image image = {"kpi-chart", png, png_len};
		for (size_t i = 0; i < nto; i++)
			queue(n, to[i], e->now, png ? &image : NULL, &m);
		free(png);
		if (m.n)
			next->notified_ms = e->now;
	}
	bool changed = old || !cur.found || m.n ||
		       (next->pending ? !cur.a.pending || strcmp(next->pending, cur.a.pending)
				      : cur.a.pending != NULL) ||
		       !(next->value == cur.a.value || (isnan(next->value) && isnan(cur.a.value))) ||
		       !(next->forecast == cur.a.forecast ||
			 (isnan(next->forecast) && isnan(cur.a.forecast)));
	int rc = 0;
	if (changed) {
		int64_t id;
		rc = store_alert_put(e->s, next, old, m.v, m.n, &id, e->err);
		if (rc == 0) {
			e->st->changed += old != NULL;
			e->st->messages += m.n;
			if (old)
				log_info("alert %s %s%s%s%s%s: %s -> %s%s", next->kind, next->kpi,
					 *next->period ? " " : "", next->period, *next->dim ? " " : "",
					 next->slice, old, next->state, m.n ? " (mail queued)" : "");
		}
	}
	mails_free(&m);
	return rc < 0 ? -1 : 0;
}

/* ---- KPIs ---------------------------------------------------------------------------- */

static int cmp_gap(const void *a, const void *b)
{
	const struct gap *x = a, *y = b;
	return x->gap < y->gap ? -1 : x->gap > y->gap;
}

/* The missions that fell furthest below: against the target for a ratio,
 * against their own previous period for a count or a sum. */
static int top_gaps(struct engine *e, const struct cfg_kpi *k, const struct period *p,
		    const struct target *t, struct gap *out, int max)
{
	struct figures now = {0}, before = {0};
	struct period prev;
	period_of(p->kind, p->start_ms - 1, &prev);
	figures_of(e, k, p, "mission", &now);
	if (k->cumulative)
		figures_of(e, k, &prev, "mission", &before);
	struct gap *all = calloc(now.n + 1, sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; all && i < now.n; i++) {
		double base = t->rule == TR_MAX ? t->high : t->low;
		if (k->cumulative) {
			base = NAN;
			for (size_t j = 0; j < before.n; j++)
				if (strcmp(before.v[j].slice, now.v[i].slice) == 0)
					base = before.v[j].value;
		}
		if (!isfinite(now.v[i].value) || !isfinite(base))
			continue;
		double gap = (now.v[i].value - base) * (t->rule == TR_MAX ? -1 : 1) * k->direction;
		if (gap >= 0)
			continue;
		snprintf(all[n].slice, sizeof(all[n].slice), "%s", now.v[i].slice);
		all[n].value = now.v[i].value;
		all[n++].gap = gap;
	}
	int m = 0;
	if (all) {
		qsort(all, n, sizeof(*all), cmp_gap);
		for (; m < max && (size_t)m < n; m++)
			out[m] = all[m];
	}
	free(all);
	free(now.v);
	free(before.v);
	return m;
}

static void detail_json(char *out, size_t n, const struct target *t, const struct forecast *fc,
			enum status st, double samples)
{
	static const char *const rules[] = {"none", "min", "max", "range"};
	snprintf(out, n,
		 "{\"status\":\"%s\",\"n\":%.17g,\"target\":{\"rule\":\"%s\",\"low\":%.17g,\"high\":%.17g,"
		 "\"warn\":%.17g},\"forecast\":{\"open\":%s,\"method\":\"%s\",\"value\":%.17g,"
		 "\"elapsed\":%.6f,\"slope\":%.17g,\"history\":%d}}",
		 status_name(st), samples, rules[t->rule], isfinite(t->low) ? t->low : 0,
		 isfinite(t->high) ? t->high : 0, t->warn, fc->open ? "true" : "false", fc->method,
		 isfinite(fc->value) ? fc->value : 0, fc->elapsed, isfinite(fc->slope) ? fc->slope : 0,
		 fc->history);
	/* JSON has no NaN: a missing forecast is method "none". */
}

static int evaluate_period(struct engine *e, const struct cfg_kpi *k, const struct period *p)
{
	struct target t;
	if (target_for(e->s, k, p, &t, e->err) < 0)
		return -1;
	if (t.rule == TR_NONE)
		return 0;
	char label[16];
	period_label(p, label);
	size_t ndims = 1 + e->c->alert_slices.n;
	for (size_t d = 0; d < ndims; d++) {
		const char *dim = d == 0 ? "" : e->c->alert_slices.v[d - 1];
		struct figures f = {0};
		if (figures_of(e, k, p, dim, &f) < 0) {
			free(f.v);
			return -1;
		}
		for (size_t i = 0; i < f.n; i++) {
			struct figure *fig = &f.v[i];
			if (!isfinite(fig->value))
				continue; /* grey: no figure, nothing to judge */
			e->st->evaluated++;
			struct forecast fc;
			if (forecast_of(e->s, k, p, dim, fig->slice, fig->value, e->now, &fc, e->err) < 0) {
				free(f.v);
				return -1;
			}
			double judged = fc.open && isfinite(fc.value) ? fc.value : fig->value;
			const char *desired = target_met(judged, &t) ? "ok" : fc.open ? "at_risk" : "missed";
			char detail[512];
			detail_json(detail, sizeof(detail), &t, &fc, status_of(fig->value, &t), fig->n);
			struct store_alert next = {
				.kpi = k->id, .period = label, .dim = dim, .slice = fig->slice,
				.kind = "target", .value = fig->value,
				.target = t.rule == TR_MAX ? t.high : t.low,
				.forecast = fc.open ? fc.value : NAN, .detail = detail};
			struct gap gaps[3];
			struct notice_ctx n = {.cfg = e->c, .k = k, .p = p, .t = &t, .fc = &fc};
			if (d == 0 && strcmp(desired, "ok") != 0)
				n.ngaps = top_gaps(e, k, p, &t, gaps, 3);
			n.gaps = gaps;
			if (step_alert(e, &next, desired, &n) < 0) {
				free(f.v);
				return -1;
			}
		}
		free(f.v);
	}
	return 0;
}

struct source {
	int kind;
	char mission[64];
	int64_t last_ms;
	double gap_ms; /* the mean time between its events */
};

struct sources {
	struct source *v;
	size_t n;
};

/* Copied out first: judging one takes the store's read lock again. */
static int keep_source(const struct store_source *src, void *ud)
{
	struct sources *s = ud;
	struct source *p = realloc(s->v, (s->n + 1) * sizeof(*p));
	if (!p)
		return -1;
	s->v = p;
	p[s->n].kind = src->kind;
	snprintf(p[s->n].mission, sizeof(p[s->n].mission), "%s", src->mission);
	p[s->n].last_ms = src->last_ms;
	p[s->n].gap_ms = src->count > 1 ? (double)(src->last_ms - src->first_ms) / (double)(src->count - 1)
					: INFINITY;
	s->n++;
	return 0;
}

/* A source is stale when it has been silent for alerts.stale_s and for ten
 * times its usual gap between events: a mission that sends a survey answer
 * a week is not "stopped" after three days. */
static int judge_source(struct engine *e, int kind, const char *mission, int64_t last_ms,
			double gap_ms)
{
	if (e->c->alert_stale_s <= 0 || kind < 0 || kind >= EV_NKINDS || !isfinite(gap_ms))
		return 0;
	double quiet = (double)(e->now - last_ms);
	bool stale = quiet > (double)e->c->alert_stale_s * 1000 && quiet > 10 * gap_ms;
	struct store_alert next = {.kpi = event_kind_names[kind], .period = "", .dim = "mission",
				   .slice = mission, .kind = "stale", .value = NAN, .target = NAN,
				   .forecast = NAN, .detail = NULL};
	char detail[96];
	char when[32];
	event_format_time(last_ms, when);
	snprintf(detail, sizeof(detail), "{\"last_event\":\"%s\"}", when);
	next.detail = detail;
	struct notice_ctx n = {.cfg = e->c, .kind = N_STALE, .stale_kind = event_kind_names[kind],
			       .stale_since = last_ms};
	e->st->evaluated++;
	return step_alert(e, &next, stale ? "stale" : "ok", &n) < 0 ? -1 : 0;
}

int alert_evaluate(const struct config *c, struct store *s, struct chart_pool *charts,
		   int64_t now_ms, struct alert_stats *st, char *err, size_t errlen)
{
	double t0 = mono();
	struct engine e = {.c = c, .s = s, .charts = charts, .now = now_ms, .st = st};
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (store_silences_each(s, now_ms, keep_silence, &e.sil, e.err) < 0)
		goto out;
	for (size_t i = 0; i < c->nkpis; i++) {
		const struct cfg_kpi *k = &c->kpis[i];
		struct period open, closed;
		period_of(k->period, now_ms, &open);
		period_of(k->period, open.start_ms - 1, &closed);
		if (evaluate_period(&e, k, &closed) < 0 || evaluate_period(&e, k, &open) < 0)
			goto out;
	}
	struct sources src = {0};
	if (store_sources_each(s, keep_source, &src, e.err) < 0) {
		free(src.v);
		goto out;
	}
	for (size_t i = 0; i < src.n; i++)
		if (judge_source(&e, src.v[i].kind, src.v[i].mission, src.v[i].last_ms,
				 src.v[i].gap_ms) < 0) {
			free(src.v);
			goto out;
		}
	free(src.v);
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "%s", e.err);
	for (size_t i = 0; i < e.sil.nowned; i++)
		free(e.sil.owned[i]);
	free(e.sil.owned);
	free(e.sil.v);
	st->seconds = mono() - t0;
	return rc;
}
