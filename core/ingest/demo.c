/* demo.c - deterministic demo event generator.
 *
 * The model.  Forty Jordanian missions in 33 host countries; their sizes
 * follow a Zipf law (rank 1 = Jeddah, the Gulf first) and each has its own
 * quality offset, which moves completion rates and satisfaction.  Time is
 * walked day by day.  A day's weight is growth (+20 %/year) x month (summer,
 * when expatriates travel home, is busiest; late December is quiet) x
 * Ramadan and the two Eids (a lunar cycle, so they drift through the years)
 * x weekday (Friday and Saturday quiet) x a little noise x the share of the
 * day's traffic inside [from, to) by an hourly profile in UTC.  Exactly
 * `events` events are shared out over the days by cumulative rounding of the
 * weights; inside a day, sorted uniforms drawn one after another (no buffer)
 * are mapped through the hourly profile, so timestamps never go backwards.
 *
 * Trends follow the progress p: 0 at `from`, 1 at `to` (or a year on, if
 * the range is shorter).  Online and app channels gain on the counter;
 * services become automatable quarter by quarter and the automated share
 * rises from ~20 % to ~70 %; satisfaction creeps up (and dips in the summer
 * rush); trainings pay back better.  All randomness is xoshiro256** seeded
 * from the seed (day noise: a hash of seed and day), so the output depends
 * on the options only - and on libm returning the same exp/log/pow bits.
 */
#include "ingest/demo.h"
#include "model/event.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define MAX_MS 253402300800000LL /* 10000-01-01T00:00:00Z */
#define RAMADAN_DAY 19439        /* 1 Ramadan 1444 = 2023-03-23 */
#define LUNAR_YEAR 354.367
#define LINE_CAP 1024
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { K_SERVICE, K_TRAINING, K_PROJECT, K_SATISFACTION };

/* By size; quality -0.08..+0.08; cur: the project currency besides JOD. */
static const struct mission {
	const char *code, *country;
	double quality;
	char cur;
} missions[] = {
	{"SA-JED", "SA", .02, 'U'},  {"AE-DXB", "AE", .05, 'U'},  {"SA-RUH", "SA", .03, 'U'},
	{"AE-AUH", "AE", .06, 'U'},  {"KW-KWI", "KW", -.02, 'U'}, {"QA-DOH", "QA", .04, 'U'},
	{"US-WAS", "US", .03, 'U'},  {"SA-DMM", "SA", -.03, 'U'}, {"OM-MCT", "OM", .01, 'U'},
	{"BH-BAH", "BH", .00, 'U'},  {"EG-CAI", "EG", -.05, 'U'}, {"GB-LON", "GB", .04, 'U'},
	{"DE-BER", "DE", .05, 'E'},  {"US-LAX", "US", .00, 'U'},  {"TR-IST", "TR", -.02, 'U'},
	{"TR-ANK", "TR", .00, 'U'},  {"CA-OTT", "CA", .02, 'U'},  {"LB-BEY", "LB", -.06, 'U'},
	{"IQ-BGW", "IQ", -.07, 'U'}, {"US-NYC", "US", .01, 'U'},  {"US-CHI", "US", -.01, 'U'},
	{"FR-PAR", "FR", .03, 'E'},  {"SE-STO", "SE", .06, 'E'},  {"AU-CBR", "AU", .02, 'U'},
	{"NL-AMS", "NL", .05, 'E'},  {"IT-ROM", "IT", .00, 'E'},  {"ES-MAD", "ES", .01, 'E'},
	{"RU-MOW", "RU", -.04, 'U'}, {"CN-PEK", "CN", .00, 'U'},  {"MY-KUL", "MY", .02, 'U'},
	{"IN-DEL", "IN", -.03, 'U'}, {"PK-ISB", "PK", -.05, 'U'}, {"JP-TYO", "JP", .07, 'U'},
	{"CY-NIC", "CY", .01, 'E'},  {"GR-ATH", "GR", -.01, 'E'}, {"AT-VIE", "AT", .04, 'E'},
	{"BE-BRU", "BE", .03, 'E'},  {"MA-RBA", "MA", -.02, 'E'}, {"TN-TUN", "TN", -.03, 'E'},
	{"DZ-ALG", "DZ", -.04, 'E'},
};
#define NMISSIONS N(missions)

/* Services, their share of demand and their rank in the automation roll-out. */
static const char *const services[] = {
	"passport-renewal", "civil-registry", "power-of-attorney", "document-attestation",
	"consular-registration", "birth-registration", "family-book", "visa", "student-seat",
	"scholarship", "e-signature", "id-card", "marriage-registration", "death-registration",
	"school-enrolment",
};
static const double svc_w[] = {22, 8, 14, 16, 7, 6, 4, 8, 2, 1.5, 3, 5, 2, 1, 1.5};
static const int svc_rank[] = {4, 7, 3, 1, 2, 8, 12, 6, 9, 10, 0, 5, 13, 14, 11};

static const char *const channels[] = {"in_person", "online", "mobile_app", "phone",
				       "email", "messaging", "social_media", "video_call"};
static const double ch_w0[] = {50, 15, 5, 10, 8, 6, 3, 3};    /* mix at p = 0 */
static const double ch_w1[] = {26, 28, 22, 6, 5, 8, 2, 3};    /* mix at p = 1 */
static const double ch_auto[] = {.5, 1.3, 1.4, .4, .9, 1, .6, .6}; /* automation */
static const double ch_done[] = {.93, .9, .91, .86, .87, .88, .85, .9}; /* completed */
static const double ch_min[] = {22, 7, 5, 11, 18, 9, 10, 16}; /* median minutes */
static const double ch_sat[] = {0, .03, .05, -.04, -.05, .01, -.03, .02};

static const char *const ages[] = {"0-17", "18-24", "25-34", "35-44", "45-59", "60+"};
static const double age_w[2][6] = {{8, 14, 28, 24, 18, 8}, {0, 14, 28, 24, 18, 8}};
static const char *const not_done[] = {"pending", "rejected", "cancelled"};
static const double not_done_w[] = {5, 3, 2};

/* Trainings: title, programme, JOD per participant-hour (median). */
static const struct {
	const char *title, *programme;
	double rate;
} trainings[] = {
	{"Consular service excellence workshop", "staff-excellence", 4},
	{"Customer care and communication skills", "staff-excellence", 4},
	{"Crisis management for consular staff", "staff-excellence", 5},
	{"Digital consular services platform", "digital-services", 6},
	{"E-signature and online payments", "digital-services", 6},
	{"Data protection and records management", "digital-services", 5},
	{"Host-country best practices exchange", "foreign-experience", 12},
	{"Study visit: public service innovation", "foreign-experience", 15},
};
static const double hours_v[] = {4, 6, 8, 12, 16, 24, 32, 40};
static const double hours_w[] = {20, 15, 25, 12, 10, 8, 5, 5};

static const char *const sectors[] = {"economy", "education", "health", "technology",
				      "tourism", "culture", "energy", "agriculture"};
static const double sector_w[] = {20, 18, 15, 14, 10, 9, 8, 6};
static const char *const project_titles[][2] = {
	{"Expatriate business forum", "Export partnership programme"},
	{"Scholarships for Jordanian students", "School equipment drive"},
	{"Medical supplies donation", "Visiting doctors programme"},
	{"Software engineering mentorship", "Start-up investment round"},
	{"Promoting Jordan as a destination", "Petra and Wadi Rum roadshow"},
	{"Jordanian heritage week", "Arabic calligraphy exhibition"},
	{"Solar power plant investment", "Energy efficiency expertise"},
	{"Irrigation technology transfer", "Date palm farming partnership"},
};
/* Contributions: amount lognormal(median, sigma); contributors min + spread u^2. */
static const struct {
	const char *name;
	double median, sigma;
	int min, spread;
} contribs[] = {
	{"investment", 150000, 1.3, 1, 4}, {"donation", 3000, 1.2, 1, 40},
	{"expertise", 2500, .8, 1, 5},     {"volunteering", 600, .9, 3, 60},
	{"trade", 40000, 1.1, 1, 10},      {"sponsorship", 8000, .9, 1, 3},
};
static const double contrib_w[] = {15, 25, 20, 15, 15, 10};

static const char *const attrs[][4] = {
	{"{\"appointment\":true}", "{\"appointment\":false}", "{\"lang\":\"ar\"}",
	 "{\"first_visit\":true}"},
	{"{\"venue\":\"online\"}", "{\"venue\":\"amman\"}", "{\"venue\":\"on_site\"}",
	 "{\"certified\":true}"},
	{"{\"partner\":\"chamber-of-commerce\"}", "{\"partner\":\"diaspora-association\"}",
	 "{\"mou\":true}", "{\"lang\":\"en\"}"},
	{"{\"survey\":\"sms\"}", "{\"survey\":\"email\"}", "{\"survey\":\"kiosk\"}",
	 "{\"lang\":\"ar\"}"},
};
static const char *const kinds[] = {"service", "training", "project", "satisfaction"};
static const double kind_w[] = {80, 2, 3, 15};
static const double month_w[] = {.95, .95, 1, 1, 1.05, 1.25, 1.4, 1.3, 1.05, 1, .95, .9};
static const double hour_w[24] = {1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 12, 10,
				  8, 6, 5, 5, 5, 4, 3, 2, 2, 1, 1, 1};

struct gen {
	const struct demo_opts *o;
	uint64_t s[4];             /* xoshiro256** state */
	uint64_t counter;          /* events so far */
	double cdf[25];            /* hourly profile, cumulative, 0..1 */
	double mw[2][NMISSIONS];   /* mission weights: Zipf; flatter for trainings, projects */
	double span;               /* ms from p = 0 to p = 1 */
	int q0, nq;                /* first quarter (year * 4 + q), number of quarters */
	int y, m, d, qoff;         /* the day being produced */
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(struct gen *g)
{
	uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static double unif(struct gen *g) /* [0, 1) */
{
	return (double)(next(g) >> 11) * 0x1.0p-53;
}

static bool chance(struct gen *g, double p)
{
	return unif(g) < p;
}

static double normal(struct gen *g)
{
	double u = 1 - unif(g); /* (0, 1] */

	return sqrt(-2 * log(u)) * cos(6.283185307179586 * unif(g));
}

static double lognormal(struct gen *g, double median, double sigma)
{
	return median * exp(sigma * normal(g));
}

static size_t pick(struct gen *g, const double *w, size_t n)
{
	double sum = 0, r;
	size_t i;

	for (i = 0; i < n; i++)
		sum += w[i];
	r = unif(g) * sum;
	for (i = 0; i + 1 < n && r >= w[i]; i++)
		r -= w[i];
	return i;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	unsigned um, ud;

	event_civil_from_days(z, y, &um, &ud);
	*m = (int)um;
	*d = (int)ud;
}

static int quarter_of(int64_t day)
{
	int y, m, d;

	civil_from_days(day, &y, &m, &d);
	return y * 4 + (m - 1) / 3;
}

/* Share of a day's traffic before `ms` into the day, and its inverse. */
static double cdf_at(const struct gen *g, int64_t ms)
{
	int64_t h = ms / HOUR_MS;

	if (h >= 24)
		return 1;
	return g->cdf[h] + (g->cdf[h + 1] - g->cdf[h]) * (double)(ms - h * HOUR_MS) / HOUR_MS;
}

static int64_t cdf_inv(const struct gen *g, double u)
{
	int h = 0;

	while (h < 23 && g->cdf[h + 1] <= u)
		h++;
	return (int64_t)((h + (u - g->cdf[h]) / (g->cdf[h + 1] - g->cdf[h])) * HOUR_MS);
}

static void gen_init(struct gen *g, const struct demo_opts *o)
{
	uint64_t x = o->seed;

	memset(g, 0, sizeof(*g));
	g->o = o;
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&x);
	for (int h = 0; h < 24; h++)
		g->cdf[h + 1] = g->cdf[h] + hour_w[h];
	for (int h = 1; h <= 24; h++)
		g->cdf[h] /= g->cdf[24];
	for (size_t i = 0; i < NMISSIONS; i++) {
		g->mw[0][i] = 1.0 / (double)(i + 1);
		g->mw[1][i] = 1.0 / sqrt((double)(i + 1));
	}
	g->span = (double)(o->to_ms - o->from_ms);
	if (g->span < 365.25 * DAY_MS)
		g->span = 365.25 * DAY_MS;
	g->q0 = quarter_of(o->from_ms / DAY_MS);
	g->nq = quarter_of((o->to_ms - 1) / DAY_MS) - g->q0 + 1;
}

/* Relative traffic of one day, counting only its part inside [from, to). */
static double day_weight(const struct gen *g, int64_t day)
{
	const struct demo_opts *o = g->o;
	int64_t start = day * DAY_MS, lo = o->from_ms - start, hi = o->to_ms - start;
	uint64_t x = o->seed ^ ((uint64_t)day * 0xd1b54a32d192ed03ULL);
	int y, m, d, wd = (int)((day + 4) % 7); /* 0 = Sunday */
	double w, lunar = fmod((double)(day - RAMADAN_DAY), LUNAR_YEAR);

	civil_from_days(day, &y, &m, &d);
	w = pow(1.2, (double)(day - o->from_ms / DAY_MS) / 365.25) * month_w[m - 1];
	if (m == 12 && d >= 20)
		w *= 0.75;
	if (lunar < 0)
		lunar += LUNAR_YEAR;
	if (lunar < 29.5)
		w *= 0.8; /* Ramadan */
	else if (lunar < 33 || (lunar >= 98 && lunar < 102))
		w *= 0.45; /* Eid al-Fitr, Eid al-Adha */
	if (wd == 5 || wd == 6)
		w *= wd == 5 ? 0.45 : 0.6;
	w *= 0.9 + 0.2 * (double)(splitmix64(&x) >> 11) * 0x1.0p-53;
	return w * (cdf_at(g, hi < DAY_MS ? hi : DAY_MS) - cdf_at(g, lo > 0 ? lo : 0));
}

struct line {
	char b[LINE_CAP];
	size_t n;
};

/* Appends to the line; the fixed tables keep it far below LINE_CAP. */
__attribute__((format(printf, 2, 3))) static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(l->b + l->n, LINE_CAP - l->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		l->n += (size_t)k < LINE_CAP - l->n ? (size_t)k : LINE_CAP - 1 - l->n;
}

/* Appends strings up to a NULL: much faster than put() with "%s". */
__attribute__((sentinel)) static void cat(struct line *l, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, l);
	while ((s = va_arg(ap, const char *))) {
		size_t k = strlen(s);

		if (k > LINE_CAP - 1 - l->n)
			k = LINE_CAP - 1 - l->n;
		memcpy(l->b + l->n, s, k);
		l->n += k;
	}
	va_end(ap);
	l->b[l->n] = '\0';
}

/* Writes the low n digits of v in base 10 or 16, then `end`. */
static char *digits(char *p, uint64_t v, int n, unsigned base, char end)
{
	for (int i = n; i--; v = base == 16 ? v >> 4 : v / 10)
		p[i] = "0123456789abcdef"[base == 16 ? v & 15 : v % 10];
	p[n] = end;
	return p + n + 1;
}

/* The common fields; id and ts by hand, as printf would be much slower. */
static void put_head(struct gen *g, struct line *l, size_t kind, const struct mission *m,
		     int64_t ts)
{
	uint64_t ms = (uint64_t)(ts % DAY_MS);
	char id[40], t[32], *p;

	if (g->o->random_ids) { /* UUID version 4, variant 10 */
		uint64_t a = next(g), b = next(g);

		p = digits(id, a >> 32, 8, 16, '-');
		p = digits(p, a >> 16, 4, 16, '-');
		p = digits(p, 0x4000 | (a & 0xfff), 4, 16, '-');
		p = digits(p, 0x8000 | (b >> 50), 4, 16, '-');
		digits(p, b, 12, 16, '\0');
	} else {
		memcpy(id, "ev-", 3);
		p = digits(id + 3, (uint64_t)ts, 12, 16, '-');
		digits(p, g->counter, 8, 16, '\0');
	}
	g->counter++;
	p = digits(t, (uint64_t)g->y, 4, 10, '-');
	p = digits(p, (uint64_t)g->m, 2, 10, '-');
	p = digits(p, (uint64_t)g->d, 2, 10, 'T');
	p = digits(p, ms / 3600000, 2, 10, ':');
	p = digits(p, ms / 60000 % 60, 2, 10, ':');
	p = digits(p, ms / 1000 % 60, 2, 10, '.');
	p = digits(p, ms % 1000, 3, 10, 'Z');
	*p = '\0';
	cat(l, "{\"kind\":\"", kinds[kind], "\",\"id\":\"", id, "\",\"ts\":\"", t,
	    "\",\"mission\":\"", m->code, "\",\"country\":\"", m->country, "\"", NULL);
}

/* Sex and age group, left out on 5 %.  (Here and below, one random draw per
 * expression: argument evaluation order would make output compiler-specific.) */
static void put_person(struct gen *g, struct line *l, bool adult)
{
	const char *sex;

	if (chance(g, 0.05))
		return;
	sex = chance(g, 0.45) ? "female" : "male";
	cat(l, ",\"sex\":\"", sex, "\",\"age_group\":\"", ages[pick(g, age_w[adult], N(ages))],
	    "\"", NULL);
}

static size_t pick_channel(struct gen *g, double p)
{
	double w[N(channels)];

	for (size_t i = 0; i < N(channels); i++)
		w[i] = ch_w0[i] + (ch_w1[i] - ch_w0[i]) * p;
	return pick(g, w, N(channels));
}

/* The first three services are automatable from the start, the others
 * join one after another, spread over the quarters of the range. */
static bool automatable(const struct gen *g, size_t svc)
{
	int r = svc_rank[svc];

	return r < 3 || g->qoff >= (r - 2) * g->nq / 13;
}

static void gen_service(struct gen *g, struct line *l, const struct mission *m, double p)
{
	size_t svc = pick(g, svc_w, N(svc_w)), ch = pick_channel(g, p);
	bool aut = automatable(g, svc) && chance(g, (0.4 + 0.35 * p) * ch_auto[ch]);
	double done = ch_done[ch] + 0.3 * m->quality + (aut ? 0.02 : 0);
	double minutes = lognormal(g, ch_min[ch], 0.5) * (aut ? 0.4 : 1);
	const char *outcome = chance(g, done) ? "completed" :
				not_done[pick(g, not_done_w, N(not_done_w))];

	put_person(g, l, false);
	cat(l, ",\"service\":\"", services[svc], "\",\"channel\":\"", channels[ch],
	    "\",\"automated\":", aut ? "true" : "false", NULL);
	put(l, ",\"outcome\":\"%s\",\"duration_min\":%.1f", outcome, minutes);
}

static void gen_satisfaction(struct gen *g, struct line *l, const struct mission *m, double p)
{
	size_t ch = pick_channel(g, p);
	bool svc = chance(g, 0.75), summer = g->m >= 6 && g->m <= 8;
	int scale = chance(g, 0.85) ? 5 : 10;
	double q = 0.64 + 0.12 * p + m->quality + ch_sat[ch] - (summer ? 0.04 : 0) + 0.2 * normal(g);
	int score = 1 + (int)lround((scale - 1) * (q < 0 ? 0 : q > 1 ? 1 : q));

	put_person(g, l, true);
	cat(l, ",\"subject\":\"", svc ? "service" : "communication", "\",\"channel\":\"",
	    channels[ch], "\"", NULL);
	if (svc)
		cat(l, ",\"service\":\"", services[pick(g, svc_w, N(svc_w))], "\"", NULL);
	put(l, ",\"score\":%d,\"scale\":%d", score, scale);
}

static void gen_training(struct gen *g, struct line *l, double p)
{
	size_t t = (size_t)(unif(g) * N(trainings));
	double hours = hours_v[pick(g, hours_w, N(hours_w))];
	double u = unif(g), rate = lognormal(g, trainings[t].rate, 0.3);
	int people = 5 + (int)(56 * u * unif(g));
	double cost = people * hours * rate + 50 * unif(g);

	put(l, ",\"title\":\"%s\",\"programme\":\"%s\"", trainings[t].title, trainings[t].programme);
	put(l, ",\"hours\":%.1f,\"participants\":%d,\"cost\":%.2f", hours, people, cost);
	if (chance(g, 0.7)) /* benefit/cost: 0.8-1.8 at first, 1.1-2.5 at the end */
		put(l, ",\"benefit\":%.2f", cost * (0.8 + 0.3 * p + (1 + 0.4 * p) * unif(g)));
	put(l, ",\"currency\":\"JOD\"");
}

static void gen_project(struct gen *g, struct line *l, const struct mission *m)
{
	size_t s = pick(g, sector_w, N(sector_w)), c = pick(g, contrib_w, N(contrib_w));
	double amount = lognormal(g, contribs[c].median, contribs[c].sigma), u = unif(g);
	const char *cur = u < 0.75 ? "JOD" : m->cur == 'E' && u < 0.95 ? "EUR" : "USD";

	u = unif(g);
	put(l, ",\"sector\":\"%s\",\"contribution\":\"%s\",\"amount\":%.2f,\"currency\":\"%s\"",
	    sectors[s], contribs[c].name, amount, cur);
	put(l, ",\"contributors\":%d", contribs[c].min + (int)(contribs[c].spread * u * u));
	if (chance(g, 0.6))
		put(l, ",\"title\":\"%s\"", project_titles[s][next(g) & 1]);
}

static int gen_event(struct gen *g, int64_t ts, int (*emit)(const char *, size_t, void *),
		     void *ud)
{
	struct line l = {.n = 0};
	size_t k = pick(g, kind_w, N(kind_w));
	bool rare = k == K_TRAINING || k == K_PROJECT;
	const struct mission *m = &missions[pick(g, g->mw[rare], NMISSIONS)];
	double p = (double)(ts - g->o->from_ms) / g->span;

	put_head(g, &l, k, m, ts);
	if (k == K_SERVICE)
		gen_service(g, &l, m, p);
	else if (k == K_SATISFACTION)
		gen_satisfaction(g, &l, m, p);
	else if (k == K_TRAINING)
		gen_training(g, &l, p);
	else
		gen_project(g, &l, m);
	if (chance(g, 0.1))
		cat(&l, ",\"attrs\":", attrs[k][next(g) & 3], NULL);
	cat(&l, "}", NULL);
	return emit(l.b, l.n, ud);
}

/* Emits n events inside one day, in time order. */
static int gen_day(struct gen *g, int64_t day, uint64_t n,
		   int (*emit)(const char *, size_t, void *), void *ud)
{
	int64_t start = day * DAY_MS;
	int64_t lo = g->o->from_ms > start ? g->o->from_ms - start : 0;
	int64_t hi = g->o->to_ms - start < DAY_MS ? g->o->to_ms - start : DAY_MS;
	double a = cdf_at(g, lo), b = cdf_at(g, hi), cur = 0;
	int64_t prev = lo;

	civil_from_days(day, &g->y, &g->m, &g->d);
	g->qoff = quarter_of(day) - g->q0;
	for (uint64_t i = 0; i < n; i++) {
		/* the smallest of n - i uniforms on (cur, 1) */
		cur = 1 - (1 - cur) * pow(1 - unif(g), 1.0 / (double)(n - i));
		int64_t ms = cdf_inv(g, a + (b - a) * cur);

		ms = ms < prev ? prev : ms >= hi ? hi - 1 : ms;
		prev = ms;
		int rc = gen_event(g, start + ms, emit, ud);
		if (rc)
			return rc;
	}
	return 0;
}

int demo_generate(const struct demo_opts *o, int (*emit)(const char *line, size_t len, void *ud), void *ud)
{
	struct gen g;
	int64_t d0, d1;
	double total = 0, cum = 0;
	uint64_t done = 0;

	if (!o || !emit || o->to_ms <= o->from_ms || o->from_ms < 0 || o->to_ms > MAX_MS)
		return -EINVAL;
	if (!o->events)
		return 0;
	gen_init(&g, o);
	d0 = o->from_ms / DAY_MS;
	d1 = (o->to_ms - 1) / DAY_MS;
	for (int64_t day = d0; day <= d1; day++)
		total += day_weight(&g, day);
	for (int64_t day = d0; day <= d1; day++) {
		uint64_t target = o->events;

		cum += day_weight(&g, day);
		if (day < d1 && cum < total)
			target = (uint64_t)floor((double)o->events * (cum / total) + 0.5);
		if (target > done) {
			int rc = gen_day(&g, day, target - done, emit, ud);

			if (rc)
				return rc;
			done = target;
		}
	}
	return 0;
}
