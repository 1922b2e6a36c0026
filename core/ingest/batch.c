/* batch.c - JSON, NDJSON and CSV bodies into validated events. */
#include "ingest/batch.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

/* The offset of a NUL byte, or of a JSON escape \u0000, or len.  cJSON
 * would decode the escape into a C string and silently cut it there, so an
 * id "a\u0000x" would become "a". */
static size_t nul_check(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	size_t limit = nul ? (size_t)(nul - s) : len;
	for (const char *p = s; (p = memchr(p, '\\', limit - (size_t)(p - s))); p++) {
		size_t run = 1;
		while ((size_t)(p - s) + run < limit && p[run] == '\\')
			run++;
		p += run - 1; /* the last backslash of the run */
		if (run % 2 == 1 && (size_t)(p - s) + 6 <= limit &&
		    strncasecmp(p + 1, "u0000", 5) == 0)
			return (size_t)(p - s);
	}
	return limit;
}

/* Where byte `at` of the JSON text s stands: the index of its event when
 * s is an array of events (0 otherwise), and the event's field it is in
 * ("" when in none; "attrs" anywhere inside attrs), copied into
 * field[fieldlen] as sent.  A scan of the text, not a parse: it is called
 * only for a body that is refused anyway. */
static void json_locate(const char *s, size_t at, size_t *index, char *field, size_t fieldlen)
{
	char stack[64]; /* '{' or '[' of the outer levels */
	size_t depth = 0;
	bool root_array = false, key_next = false;
	*index = 0;
	field[0] = '\0';
	for (size_t i = 0; i < at; i++) {
		size_t ev_depth = root_array ? 2 : 1;
		char c = s[i];
		if (c == '"') {
			size_t j = i + 1;
			while (j < at && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (j >= at)
				return; /* `at` is inside this string */
			if (key_next && depth == ev_depth)
				snprintf(field, fieldlen, "%.*s", (int)(j - i - 1), s + i + 1);
			key_next = false;
			i = j;
		} else if (c == '{' || c == '[') {
			if (depth == 0 && c == '[')
				root_array = true;
			if (depth < sizeof(stack))
				stack[depth] = c;
			depth++;
			key_next = c == '{';
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
			key_next = false;
		} else if (c == ',') {
			if (depth == 1 && root_array)
				(*index)++;
			if (depth == ev_depth)
				field[0] = '\0';
			key_next = depth > 0 && depth <= sizeof(stack) && stack[depth - 1] == '{';
		}
	}
}

size_t batch_json_nul(const char *s, size_t len, char *field, size_t fieldlen)
{
	size_t nul = nul_check(s, len), index;
	if (nul < len)
		json_locate(s, nul, &index, field, fieldlen);
	return nul;
}

struct batch_chunk {
	struct batch_chunk *next;
	size_t used, cap;
	char data[];
};

/* A copy of s in the batch's text chunks; NULL when memory runs out. */
static const char *keep_text(struct batch *b, const char *s)
{
	size_t n = strlen(s) + 1;
	struct batch_chunk *c = b->texts;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = b->texts;
		c->used = 0;
		c->cap = cap;
		b->texts = c;
	}
	char *p = memcpy(c->data + c->used, s, n);
	c->used += n;
	return p;
}

/* Points the event's texts at copies of their own (enumerations point at
 * static tables, attrs is the event's already). */
static int own_texts(struct batch *b, struct event *e)
{
	for (int f = 0; f < F_NFIELDS; f++) {
		enum field_type t = event_fields[f].type;
		if (!event_has(e, (enum field_id)f) || (t != FT_TEXT && t != FT_CODE))
			continue;
		if (!(e->v[f].s = keep_text(b, e->v[f].s)))
			return -ENOMEM;
	}
	return 0;
}

static struct event *next_slot(struct batch *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct event *p = realloc(b->ev, cap * sizeof(*p));
		if (!p)
			return NULL;
		b->ev = p;
		b->cap = cap;
	}
	return &b->ev[b->n];
}

/* Records one problem: at `where` (index or line, named by `key`). */
static void add_error(struct batch *b, const char *key, size_t where, const char *field,
		      const char *msg)
{
	b->nerrors++;
	if (b->nerrors > BATCH_MAX_ERRORS)
		return;
	if (!b->errors)
		b->errors = cJSON_CreateArray();
	cJSON *e = cJSON_CreateObject();
	if (!b->errors || !e) {
		cJSON_Delete(e);
		return;
	}
	cJSON_AddNumberToObject(e, key, (double)where);
	cJSON_AddStringToObject(e, "field", field);
	cJSON_AddStringToObject(e, "error", msg);
	cJSON_AddItemToArray(b->errors, e);
}

/* Records that the body is refused for what stands at byte `at`, against
 * the line it is on; returns -EINVAL. */
static int body_error(struct batch *b, const char *body, size_t at, size_t first_line,
		      const char *what)
{
	size_t line = first_line;
	for (size_t i = 0; i < at; i++)
		line += body[i] == '\n';
	char msg[96];
	snprintf(msg, sizeof(msg), "%s at byte %zu", what, at + 1);
	add_error(b, "line", line, "", msg);
	return -EINVAL;
}

/* Counts one more event, valid or not, against the batch limit. */
static int count_one(struct batch *b, size_t max_events)
{
	return ++b->total > max_events ? -E2BIG : 0;
}

/* Validates one parsed object; keeps it when valid. */
static int take(struct batch *b, const cJSON *obj, const char *key, size_t where,
		const struct event_limits *lim, size_t max_events)
{
	struct event_error err;

	if (count_one(b, max_events) < 0)
		return -E2BIG;
	struct event *e = next_slot(b);
	if (!e)
		return -ENOMEM;
	if (event_from_json(obj, lim, e, &err) < 0) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
		int k = cJSON_IsString(kind) ? event_kind_from_name(kind->valuestring) : -1;
		b->rejected[k < 0 ? EV_NKINDS : k]++;
		add_error(b, key, where, err.field, err.msg);
	} else {
		if (own_texts(b, e) < 0) {
			event_clear(e);
			return -ENOMEM;
		}
		b->n++;
	}
	return 0;
}

static void parse_error(struct batch *b, const char *key, size_t where, const char *body,
			const char *at, size_t len)
{
	char msg[96];
	if (at && at >= body && at <= body + len)
		snprintf(msg, sizeof(msg), "malformed JSON at byte %td", at - body + 1);
	else
		snprintf(msg, sizeof(msg), "malformed JSON");
	add_error(b, key, where, "", msg);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

static int parse_json(struct batch *b, const char *body, size_t len,
		      const struct event_limits *lim, size_t max_events)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);

	if (!root || !blank(end, len - (size_t)(end - body))) {
		cJSON_Delete(root);
		parse_error(b, "index", 0, body, end, len);
		return -EINVAL;
	}
	int rc = 0;
	if (cJSON_IsObject(root)) {
		rc = take(b, root, "index", 0, lim, max_events);
	} else if (!cJSON_IsArray(root)) {
		add_error(b, "index", 0, "", "the body must be an event object or an array of them");
		rc = -EINVAL;
	} else {
		/* Each element is freed as soon as it is taken. */
		size_t i = 0;
		for (cJSON *o = root->child, *next; o && rc == 0; o = next, i++) {
			next = o->next;
			rc = take(b, o, "index", i, lim, max_events);
			cJSON_Delete(cJSON_DetachItemViaPointer(root, o));
		}
	}
	cJSON_Delete(root);
	return rc;
}

static int parse_ndjson(struct batch *b, const char *body, size_t len, size_t line,
			const struct event_limits *lim, size_t max_events)
{
	const char *p = body, *end = body + len;

	for (; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (nl ? nl : end) - p;
		if (!blank(p, n)) {
			const char *stop = NULL;
			cJSON *o = cJSON_ParseWithLengthOpts(p, n, &stop, false);
			if (!o || !blank(stop, n - (size_t)(stop - p))) {
				cJSON_Delete(o);
				if (count_one(b, max_events) < 0)
					return -E2BIG;
				parse_error(b, "line", line, p, stop, n);
			} else {
				int rc = take(b, o, "line", line, lim, max_events);
				cJSON_Delete(o);
				if (rc < 0)
					return rc;
			}
		}
		p += n + 1;
	}
	return 0;
}

/* ---- CSV through libcsv ----------------------------------------------------- */

struct csv_state {
	struct batch *b;
	const struct event_limits *lim;
	size_t max_events;
	char **names, **cells;
	size_t nnames, ncells, cap;
	bool in_header;
	size_t line, record_line; /* current line; first line of the record */
	bool record_started;
	int rc;
};

static void csv_field(void *s, size_t len, void *ud)
{
	struct csv_state *cs = ud;

	if (cs->rc < 0)
		return;
	if (!cs->record_started) {
		cs->record_started = true;
		cs->record_line = cs->line;
	}
	size_t max = cs->lim->csv_columns ? cs->lim->csv_columns : EVENT_CSV_COLUMNS;
	if (cs->ncells == max) {
		char msg[128];
		snprintf(msg, sizeof(msg), "has more than %zu columns, the limit (limits.csv_columns)",
			 max);
		add_error(cs->b, "line", cs->record_line, "", msg);
		cs->rc = -EOVERFLOW; /* refused whole; not malformed */
		return;
	}
	if (cs->ncells == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 32;
		char **p = realloc(cs->cells, cap * sizeof(*p));
		if (!p) {
			cs->rc = -ENOMEM;
			return;
		}
		cs->cells = p;
		cs->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy) {
		cs->rc = -ENOMEM;
		return;
	}
	memcpy(copy, s ? s : "", len);
	copy[len] = '\0';
	cs->cells[cs->ncells++] = copy;
}

static void free_cells(char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cells[i]);
}

/* FNV-1a. */
static size_t name_hash(const char *s)
{
	size_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void csv_header_record(struct csv_state *cs)
{
	cs->names = cs->cells;
	cs->nnames = cs->ncells;
	cs->cells = NULL;
	cs->ncells = cs->cap = 0;
	cs->in_header = false;
	/* Repeated names are found through a hash set of the columns seen
	 * (open addressing, at most half full): linear in the header's size. */
	size_t slots = 16;
	while (slots < 2 * cs->nnames)
		slots *= 2;
	size_t *seen = calloc(slots, sizeof(*seen)); /* column + 1; 0: free */
	if (!seen) {
		cs->rc = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < cs->nnames; i++) {
		const char *name = cs->names[i];
		bool known = strcmp(name, "kind") == 0;
		for (int f = 0; !known && f < F_NFIELDS; f++)
			known = strcmp(name, event_fields[f].name) == 0;
		char msg[96];
		if (!known) {
			add_error(cs->b, "line", cs->record_line, name,
				  "is not a field of any event; put extra data in attrs");
		}
		size_t k = name_hash(name) & (slots - 1);
		while (seen[k] && strcmp(name, cs->names[seen[k] - 1]) != 0)
			k = (k + 1) & (slots - 1);
		if (seen[k]) {
			snprintf(msg, sizeof(msg), "column %zu repeats column %zu", i + 1, seen[k]);
			add_error(cs->b, "line", cs->record_line, name, msg);
		} else {
			seen[k] = i + 1;
		}
	}
	free(seen);
}

static void csv_record(int term, void *ud)
{
	struct csv_state *cs = ud;
	struct event_error err;
	(void)term;

	if (cs->rc < 0)
		goto out;
	if (cs->in_header) {
		csv_header_record(cs);
		goto out_kept;
	}
	if (cs->ncells != cs->nnames) {
		char msg[96];
		snprintf(msg, sizeof(msg), "has %zu cells; the header has %zu", cs->ncells, cs->nnames);
		if ((cs->rc = count_one(cs->b, cs->max_events)) < 0)
			goto out;
		add_error(cs->b, "line", cs->record_line, "", msg);
		goto out;
	}
	cJSON *o = event_csv_to_json(cs->names, cs->cells, cs->ncells, &err);
	if (!o) {
		if ((cs->rc = count_one(cs->b, cs->max_events)) < 0)
			goto out;
		add_error(cs->b, "line", cs->record_line, err.field, err.msg);
		goto out;
	}
	int rc = take(cs->b, o, "line", cs->record_line, cs->lim, cs->max_events);
	cJSON_Delete(o);
	if (rc < 0)
		cs->rc = rc;
out:
	free_cells(cs->cells, cs->ncells);
out_kept:
	cs->ncells = 0;
	cs->record_started = false;
}

static int csv_feed(struct csv_state *cs, struct csv_parser *p, const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end && cs->rc == 0) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
		if (csv_parse(p, s, n, csv_field, csv_record, cs) != n)
			return -EINVAL;
		cs->line++;
		s += n;
	}
	return cs->rc;
}

static int parse_csv(struct batch *b, const char *body, size_t len, const char *header,
		     size_t line, const struct event_limits *lim, size_t max_events)
{
	struct csv_parser p;
	struct csv_state cs = {.b = b, .lim = lim, .max_events = max_events, .in_header = true};
	int rc;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return -ENOMEM;
	/* A byte order mark, as spreadsheets write at the start of a file, is
	 * not part of the first column's name. */
	static const char bom[] = "\xef\xbb\xbf";
	if (header && strncmp(header, bom, 3) == 0)
		header += 3;
	else if (!header && len >= 3 && memcmp(body, bom, 3) == 0) {
		body += 3;
		len -= 3;
	}
	if (header) {
		cs.line = 1;
		rc = csv_feed(&cs, &p, header, strlen(header));
		cs.line = line;
	} else {
		cs.line = line;
		rc = 0;
	}
	if (rc == 0)
		rc = csv_feed(&cs, &p, body, len);
	if (rc == 0 && csv_fini(&p, csv_field, csv_record, &cs) != 0)
		rc = -EINVAL;
	if (rc == -EINVAL) {
		char msg[128];
		snprintf(msg, sizeof(msg), "malformed CSV: %s", csv_strerror(csv_error(&p)));
		add_error(b, "line", cs.line, "", msg);
	} else if (rc == 0 && cs.in_header) {
		add_error(b, "line", line, "", "the CSV body has no header line");
	}
	csv_free(&p);
	free_cells(cs.cells, cs.ncells);
	free(cs.cells);
	free_cells(cs.names, cs.nnames);
	free(cs.names);
	rc = rc ? rc : cs.rc;
	return rc == -EOVERFLOW ? -EINVAL : rc; /* too many columns: said in the errors */
}

int batch_parse(struct batch *b, enum batch_format fmt, const char *body, size_t len,
		const char *csv_header, size_t first_line, const struct event_limits *lim,
		size_t max_events)
{
	int rc;

	memset(b, 0, sizeof(*b));
	size_t bad = utf8_check(body, len);
	if (bad < len)
		return body_error(b, body, bad, first_line, "invalid UTF-8");
	size_t nul = nul_check(body, len);
	if (nul < len && (body[nul] == '\0' || fmt == BATCH_CSV))
		return body_error(b, body, nul, first_line, "a NUL character (byte 0 or \\u0000)");
	if (nul < len) {
		/* \u0000 in a JSON string: cJSON would cut the string there, so it
		 * is refused before parsing, with the event and field it is in. */
		char field[64];
		size_t where = 0, start = 0;
		if (fmt == BATCH_NDJSON) {
			where = first_line;
			for (size_t i = 0; i < nul; i++)
				if (body[i] == '\n') {
					where++;
					start = i + 1;
				}
		}
		size_t index;
		json_locate(body + start, nul - start, &index, field, sizeof(field));
		char msg[96];
		snprintf(msg, sizeof(msg), "must not contain \\u0000 (a NUL character; at byte %zu)",
			 nul + 1);
		add_error(b, fmt == BATCH_NDJSON ? "line" : "index", fmt == BATCH_NDJSON ? where : index,
			  field, msg);
		return -EINVAL;
	}
	if (blank(body, len)) {
		add_error(b, "line", first_line, "", "the body is empty");
		return -EINVAL;
	}
	switch (fmt) {
	case BATCH_JSON:
		rc = parse_json(b, body, len, lim, max_events);
		break;
	case BATCH_NDJSON:
		rc = parse_ndjson(b, body, len, first_line, lim, max_events);
		break;
	default:
		rc = parse_csv(b, body, len, csv_header, first_line, lim, max_events);
	}
	if (rc == 0 && b->nerrors)
		rc = -EINVAL;
	return rc;
}

void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		event_clear(&b->ev[i]);
	free(b->ev);
	for (struct batch_chunk *c = b->texts, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	cJSON_Delete(b->errors);
	memset(b, 0, sizeof(*b));
}
