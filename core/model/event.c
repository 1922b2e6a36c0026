/* event.c - the ingestion contract: one table of fields, one validator. */
#include "model/event.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

#define K(k) (1u << (k))
#define ALL (K(EV_SERVICE) | K(EV_TRAINING) | K(EV_PROJECT) | K(EV_SATISFACTION))
#define SVC K(EV_SERVICE)
#define TRN K(EV_TRAINING)
#define PRJ K(EV_PROJECT)
#define SAT K(EV_SATISFACTION)

const char *const event_kind_names[EV_NKINDS] = {"service", "training", "project", "satisfaction"};

static const char *const sexes[] = {"female", "male", NULL};
static const char *const age_groups[] = {"0-17", "18-24", "25-34", "35-44", "45-59", "60+", NULL};
static const char *const channels[] = {"in_person", "online",       "mobile_app", "phone",
				       "email",     "messaging",    "social_media", "video_call",
				       NULL};
static const char *const outcomes[] = {"completed", "pending", "rejected", "cancelled", NULL};
static const char *const contributions[] = {"investment", "donation", "expertise", "volunteering",
					    "trade",      "sponsorship", NULL};
static const char *const subjects[] = {"service", "communication", NULL};

/* For FT_TEXT and FT_CODE, min and max bound the length in bytes. */
const struct field_spec event_fields[F_NFIELDS] = {
	[F_ID] = {"id", FT_CODE, ALL, ALL, 1, 128, NULL,
		  "sender's unique id: letters, digits and . _ : -; a resent id is a duplicate"},
	[F_TS] = {"ts", FT_TIME, ALL, ALL, 0, 0, NULL,
		  "ISO 8601 date-time with a zone (Z or +03:00); stored in UTC"},
	[F_MISSION] = {"mission", FT_CODE, ALL, 0, 1, 64, NULL, "embassy or consulate code, e.g. AE-AUH"},
	[F_COUNTRY] = {"country", FT_CODE, ALL, 0, 2, 2, NULL,
		       "host country, ISO 3166-1 alpha-2, upper case"},
	[F_SEX] = {"sex", FT_ENUM, ALL, 0, 0, 0, sexes, "female, male"},
	[F_AGE_GROUP] = {"age_group", FT_ENUM, ALL, 0, 0, 0, age_groups,
			 "0-17, 18-24, 25-34, 35-44, 45-59, 60+"},
	[F_SERVICE] = {"service", FT_CODE, SVC | SAT, SVC, 1, 64, NULL,
		       "service code from the service registry, e.g. passport-renewal"},
	[F_CHANNEL] = {"channel", FT_ENUM, SVC | SAT, SVC, 0, 0, channels,
		       "in_person, online, mobile_app, phone, email, messaging, social_media, video_call"},
	[F_AUTOMATED] = {"automated", FT_BOOL, SVC, SVC, 0, 0, NULL,
			 "true when the service was delivered by an automated (electronic) process"},
	[F_OUTCOME] = {"outcome", FT_ENUM, SVC, SVC, 0, 0, outcomes,
		       "completed, pending, rejected, cancelled"},
	[F_DURATION] = {"duration_min", FT_NUM, SVC, 0, 0, 525600, NULL,
			"time taken in minutes, 0 to 525600"},
	[F_TITLE] = {"title", FT_TEXT, TRN | PRJ, TRN, 1, 200, NULL, "title, any language, up to 200 bytes"},
	[F_PROGRAMME] = {"programme", FT_CODE, TRN, 0, 1, 64, NULL, "programme code, e.g. staff-excellence"},
	[F_HOURS] = {"hours", FT_NUM, TRN, TRN, 0.25, 10000, NULL, "hours of training, 0.25 to 10000"},
	[F_PARTICIPANTS] = {"participants", FT_INT, TRN, TRN, 0, 1000000, NULL,
			    "number of participants, 0 to 1000000"},
	[F_COST] = {"cost", FT_NUM, TRN, TRN, 0, 1e12, NULL, "cost, >= 0, in `currency`"},
	[F_BENEFIT] = {"benefit", FT_NUM, TRN, 0, 0, 1e12, NULL,
		       "measured benefit, >= 0, in `currency` (for ROI); absent when not yet known"},
	[F_SECTOR] = {"sector", FT_CODE, PRJ, PRJ, 1, 64, NULL, "sector code, e.g. education"},
	[F_CONTRIBUTION] = {"contribution", FT_ENUM, PRJ, PRJ, 0, 0, contributions,
			    "investment, donation, expertise, volunteering, trade, sponsorship"},
	[F_AMOUNT] = {"amount", FT_NUM, PRJ, PRJ, 0, 1e15, NULL, "amount, >= 0, in `currency`"},
	[F_CURRENCY] = {"currency", FT_CODE, TRN | PRJ, 0, 3, 3, NULL,
			"ISO 4217 code, upper case; JOD when absent"},
	[F_CONTRIBUTORS] = {"contributors", FT_INT, PRJ, 0, 1, 10000000, NULL,
			    "number of expatriates who took part, >= 1; 1 when absent"},
	[F_SUBJECT] = {"subject", FT_ENUM, SAT, SAT, 0, 0, subjects, "service, communication"},
	[F_SCORE] = {"score", FT_NUM, SAT, SAT, 1, 100, NULL, "the answer, 1 to `scale`"},
	[F_SCALE] = {"scale", FT_INT, SAT, SAT, 2, 100, NULL, "points on the survey's scale, 2 to 100"},
	[F_ATTRS] = {"attrs", FT_JSON, ALL, 0, 0, 0, NULL,
		     "free JSON object for anything else (size and depth limited)"},
};

int event_kind_from_name(const char *name)
{
	for (int k = 0; k < EV_NKINDS; k++)
		if (strcmp(name, event_kind_names[k]) == 0)
			return k;
	return -1;
}

static int field_from_name(const char *name)
{
	for (int f = 0; f < F_NFIELDS; f++)
		if (strcmp(name, event_fields[f].name) == 0)
			return f;
	return -1;
}

__attribute__((format(printf, 3, 4))) static int fail(struct event_error *err, const char *field,
						      const char *fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- time ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * well-known civil calendar algorithm). */
int64_t event_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void event_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (*(*p)++ - '0');
	}
	return v;
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int event_parse_time(const char *s, bool date_ok, int64_t *ms)
{
	const char *p = s;
	int y = digits(&p, 4);
	if (y < 0 || *p++ != '-')
		return -EINVAL;
	int mo = digits(&p, 2);
	if (mo < 1 || mo > 12 || *p++ != '-')
		return -EINVAL;
	int d = digits(&p, 2);
	if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
		return -EINVAL;
	int64_t t = event_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000;
	if (*p == '\0' && date_ok) {
		*ms = t;
		return 0;
	}
	if (*p != 'T' && *p != 't')
		return -EINVAL;
	p++;
	int h = digits(&p, 2);
	if (h < 0 || h > 23 || *p++ != ':')
		return -EINVAL;
	int mi = digits(&p, 2);
	if (mi < 0 || mi > 59 || *p++ != ':')
		return -EINVAL;
	int sec = digits(&p, 2);
	if (sec < 0 || sec > 60) /* 60: a leap second, folded into the next */
		return -EINVAL;
	int frac = 0;
	if (*p == '.' || *p == ',') {
		int scale = 100, n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
		if (n == 0 || n > 9)
			return -EINVAL;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		int oh = digits(&p, 2);
		if (*p == ':')
			p++;
		int om = digits(&p, 2);
		if (oh < 0 || oh > 18 || om < 0 || om > 59)
			return -EINVAL;
		off = sign * (oh * 60 + om);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	t += ((int64_t)h * 3600 + mi * 60 + sec - off * 60) * 1000 + frac;
	*ms = t;
	return 0;
}

void event_format_time(int64_t ms, char buf[32])
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int y;
	unsigned m, d;

	event_civil_from_days(days, &y, &m, &d);
	int s = (int)(rem / 1000), frac = (int)(rem % 1000);
	char tmp[64]; /* wide enough for any year the compiler can imagine */
	int n = snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d, s / 3600,
			 s / 60 % 60, s % 60);
	if (frac)
		snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".%03dZ", frac);
	else
		snprintf(tmp + n, sizeof(tmp) - (size_t)n, "Z");
	snprintf(buf, 32, "%.31s", tmp);
}

/* ---- values -------------------------------------------------------------- */

static bool is_code_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == ':' || c == '-';
}


static int json_depth(const cJSON *j)
{
	int max = 0;

	for (const cJSON *c = j->child; c; c = c->next) {
		int d = json_depth(c);
		if (d > max)
			max = d;
	}
	return (cJSON_IsArray(j) || cJSON_IsObject(j)) ? max + 1 : 0;
}

/* The first key that appears twice in an object of j (at any depth), or
 * NULL.  Quadratic in an object's size: called on attrs only after its
 * size was checked against limits.attrs_bytes. */
static const char *dup_key(const cJSON *j)
{
	for (const cJSON *c = j->child; c; c = c->next) {
		if (cJSON_IsObject(j) && c->string)
			for (const cJSON *d = c->next; d; d = d->next)
				if (d->string && strcmp(c->string, d->string) == 0)
					return c->string;
		const char *k = dup_key(c);
		if (k)
			return k;
	}
	return NULL;
}

static int set_text(const struct field_spec *fs, const cJSON *j, union field_value *v,
		    struct event_error *err)
{
	if (!cJSON_IsString(j))
		return fail(err, fs->name, "must be a string");
	const char *s = j->valuestring;
	size_t n = strlen(s);
	if (n < (size_t)fs->min || n > (size_t)fs->max)
		return fail(err, fs->name, "must be %g to %g bytes long, got %zu", fs->min, fs->max, n);
	if (fs->type == FT_CODE) {
		for (const char *p = s; *p; p++)
			if (!is_code_char((unsigned char)*p))
				return fail(err, fs->name,
					    "may hold only letters, digits and . _ : - (found '%c' at byte %td)",
					    *p >= 0x20 && *p < 0x7f ? *p : '?', p - s);
	} else {
		/* Text must be UTF-8 (checked for the whole body before parsing),
		 * free of control characters and line separators, and leave no
		 * bidirectional override open: none has a place in a title, and
		 * each would reach a mail header or a chart label later. */
		const char *why = utf8_text_problem(s, false);
		if (why)
			return fail(err, fs->name, "%s", why);
	}
	v->s = s;
	return 0;
}

static int set_enum(const struct field_spec *fs, const cJSON *j, union field_value *v,
		    struct event_error *err)
{
	if (!cJSON_IsString(j))
		return fail(err, fs->name, "must be a string");
	for (const char *const *e = fs->values; *e; e++)
		if (strcmp(*e, j->valuestring) == 0) {
			v->s = *e;
			return 0;
		}
	return fail(err, fs->name, "'%.40s' is not one of: %s", j->valuestring, fs->help);
}

static int set_number(const struct field_spec *fs, const cJSON *j, union field_value *v,
		      struct event_error *err)
{
	if (!cJSON_IsNumber(j))
		return fail(err, fs->name, "must be a number");
	double d = j->valuedouble;
	if (!isfinite(d))
		return fail(err, fs->name, "must be a finite number");
	if (d < fs->min || d > fs->max)
		return fail(err, fs->name, "%g is out of range [%g, %g]", d, fs->min, fs->max);
	if (fs->type == FT_INT) {
		if (d != floor(d))
			return fail(err, fs->name, "must be a whole number, got %g", d);
		v->i = (int64_t)d;
	} else {
		v->d = d;
	}
	return 0;
}

static int set_field(const struct field_spec *fs, const cJSON *j, const struct event_limits *lim,
		     struct event *e, union field_value *v, struct event_error *err)
{
	switch (fs->type) {
	case FT_TEXT:
	case FT_CODE:
		return set_text(fs, j, v, err);
	case FT_ENUM:
		return set_enum(fs, j, v, err);
	case FT_NUM:
	case FT_INT:
		return set_number(fs, j, v, err);
	case FT_BOOL:
		if (!cJSON_IsBool(j))
			return fail(err, fs->name, "must be true or false");
		v->i = cJSON_IsTrue(j);
		return 0;
	case FT_TIME: {
		if (!cJSON_IsString(j) || event_parse_time(j->valuestring, false, &v->i) < 0)
			return fail(err, fs->name,
				    "must be an ISO 8601 date-time with a zone, e.g. 2026-03-01T09:30:00+03:00");
		if (v->i < 946684800000LL) /* 2000-01-01 */
			return fail(err, fs->name, "is before 2000-01-01");
		if (v->i > lim->now_ms + lim->future_ms)
			return fail(err, fs->name, "is more than %lld h in the future",
				    (long long)(lim->future_ms / 3600000));
		return 0;
	}
	case FT_JSON: {
		if (!cJSON_IsObject(j))
			return fail(err, fs->name, "must be a JSON object");
		int depth = json_depth(j);
		if (depth > lim->attrs_depth)
			return fail(err, fs->name, "is nested %d deep, the limit is %d", depth,
				    lim->attrs_depth);
		char *text = cJSON_PrintUnformatted(j);
		if (!text)
			return fail(err, fs->name, "out of memory");
		if (strlen(text) > lim->attrs_bytes) {
			size_t n = strlen(text);
			free(text);
			return fail(err, fs->name, "is %zu bytes, the limit is %zu", n, lim->attrs_bytes);
		}
		const char *dup = dup_key(j);
		if (dup) {
			free(text);
			return fail(err, fs->name, "has the key '%.40s' twice", dup);
		}
		e->attrs = text;
		v->s = text;
		return 0;
	}
	}
	return fail(err, fs->name, "has an unknown type");
}

int event_from_json(const cJSON *obj, const struct event_limits *lim, struct event *e,
		    struct event_error *err)
{
	memset(e, 0, sizeof(*e));
	if (!cJSON_IsObject(obj))
		return fail(err, "", "an event must be a JSON object");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	if (!kind)
		return fail(err, "kind", "is required");
	int k = cJSON_IsString(kind) ? event_kind_from_name(kind->valuestring) : -1;
	if (k < 0)
		return fail(err, "kind", "must be one of: service, training, project, satisfaction");
	e->kind = (enum event_kind)k;

	/* A key sent twice is refused, whichever value would have won (null
	 * included): the sender meant one of them, and nobody knows which. */
	unsigned seen = 0;
	int kinds = 0;
	for (const cJSON *j = obj->child; j; j = j->next) {
		if (j->string && strcmp(j->string, "kind") == 0) {
			if (++kinds > 1) {
				event_clear(e);
				return fail(err, "kind", "appears twice");
			}
			continue;
		}
		int f = j->string ? field_from_name(j->string) : -1;
		if (f < 0 || !(event_fields[f].allowed & K(k))) {
			int r = fail(err, j->string ? j->string : "",
				     f < 0 ? "is not a field of any event; put extra data in attrs"
					   : "is not a field of a %s event",
				     event_kind_names[k]);
			event_clear(e);
			return r;
		}
		if (seen & (1u << f)) {
			event_clear(e);
			return fail(err, j->string, "appears twice");
		}
		seen |= 1u << f;
		if (cJSON_IsNull(j))
			continue; /* null means absent */
		if (set_field(&event_fields[f], j, lim, e, &e->v[f], err) < 0) {
			event_clear(e);
			return -EINVAL;
		}
		e->present |= 1u << f;
	}
	for (int f = 0; f < F_NFIELDS; f++)
		if ((event_fields[f].required & K(k)) && !event_has(e, (enum field_id)f)) {
			event_clear(e);
			return fail(err, event_fields[f].name, "is required for a %s event",
				    event_kind_names[k]);
		}
	if (k == EV_SATISFACTION && e->v[F_SCORE].d > (double)e->v[F_SCALE].i) {
		double score = e->v[F_SCORE].d;
		int64_t scale = e->v[F_SCALE].i;
		event_clear(e);
		return fail(err, "score", "%g is above the scale's %lld points", score, (long long)scale);
	}
	if (event_has(e, F_COUNTRY))
		for (const char *p = e->v[F_COUNTRY].s; *p; p++)
			if (*p < 'A' || *p > 'Z') {
				event_clear(e);
				return fail(err, "country", "must be two upper-case letters (ISO 3166-1)");
			}
	if (event_has(e, F_CURRENCY))
		for (const char *p = e->v[F_CURRENCY].s; *p; p++)
			if (*p < 'A' || *p > 'Z') {
				event_clear(e);
				return fail(err, "currency", "must be three upper-case letters (ISO 4217)");
			}
	return 0;
}

void event_clear(struct event *e)
{
	free(e->attrs);
	e->attrs = NULL;
	e->present = 0;
}

cJSON *event_to_json(const struct event *e)
{
	cJSON *o = cJSON_CreateObject();
	char ts[32];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "kind", event_kind_names[e->kind]);
	for (int f = 0; f < F_NFIELDS; f++) {
		if (!event_has(e, (enum field_id)f))
			continue;
		const struct field_spec *fs = &event_fields[f];
		const union field_value *v = &e->v[f];
		switch (fs->type) {
		case FT_TEXT:
		case FT_CODE:
		case FT_ENUM:
			cJSON_AddStringToObject(o, fs->name, v->s);
			break;
		case FT_NUM:
			cJSON_AddNumberToObject(o, fs->name, v->d);
			break;
		case FT_INT:
			cJSON_AddNumberToObject(o, fs->name, (double)v->i);
			break;
		case FT_BOOL:
			cJSON_AddBoolToObject(o, fs->name, v->i != 0);
			break;
		case FT_TIME:
			event_format_time(v->i, ts);
			cJSON_AddStringToObject(o, fs->name, ts);
			break;
		case FT_JSON:
			cJSON_AddItemToObject(o, fs->name, cJSON_Parse(v->s));
			break;
		}
	}
	return o;
}

/* ---- CSV ----------------------------------------------------------------- */

/* Strict number syntax: what JSON would accept, nothing more (no hex, no
 * inf or nan, no trailing text).  0, or -EINVAL. */
static int parse_number(const char *s, double *out)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9' || p[strspn(p, "0123456789.eE+-")] != '\0')
		return -EINVAL;
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return *end == '\0' && errno != ERANGE && isfinite(*out) ? 0 : -EINVAL;
}

cJSON *event_csv_to_json(char *const *names, char *const *cells, size_t n, struct event_error *err)
{
	cJSON *o = cJSON_CreateObject();

	if (!o) {
		fail(err, "", "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i], *cell = cells[i];
		if (cell[0] == '\0')
			continue;
		int f = field_from_name(name);
		cJSON *v = NULL;
		double d;
		if (strcmp(name, "kind") == 0 || f < 0) {
			v = cJSON_CreateString(cell); /* unknown names fail in validation */
		} else {
			switch (event_fields[f].type) {
			case FT_NUM:
			case FT_INT:
				if (parse_number(cell, &d) < 0) {
					fail(err, name, "'%.40s' is not a number", cell);
					goto bad;
				}
				v = cJSON_CreateNumber(d);
				break;
			case FT_BOOL:
				if (strcmp(cell, "true") == 0 || strcmp(cell, "1") == 0)
					v = cJSON_CreateTrue();
				else if (strcmp(cell, "false") == 0 || strcmp(cell, "0") == 0)
					v = cJSON_CreateFalse();
				else {
					fail(err, name, "'%.40s' is not true, false, 1 or 0", cell);
					goto bad;
				}
				break;
			case FT_JSON:
				v = cJSON_ParseWithOpts(cell, NULL, true); /* nothing after it */
				if (!v) {
					fail(err, name, "is not valid JSON");
					goto bad;
				}
				break;
			default:
				v = cJSON_CreateString(cell);
			}
		}
		if (!v) {
			fail(err, name, "out of memory");
			goto bad;
		}
		cJSON_AddItemToObject(o, name, v);
	}
	return o;
bad:
	cJSON_Delete(o);
	return NULL;
}
