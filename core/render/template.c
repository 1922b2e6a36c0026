/* template.c - see template.h. */
#include "render/template.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

enum node_kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED };

struct node {
	enum node_kind kind;
	char *text; /* N_TEXT: the text; else the name */
	size_t len;
	struct node *child; /* sections: their body */
	struct node *next;
};

struct tmpl {
	struct node *root;
};

static void nodes_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		nodes_free(n->child);
		free(n->text);
		free(n);
		n = next;
	}
}

void tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	nodes_free(t->root);
	free(t);
}

static int line_of(const char *text, const char *at)
{
	int line = 1;
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static struct node *node_new(enum node_kind kind, const char *s, size_t n)
{
	struct node *nd = calloc(1, sizeof(*nd));
	if (!nd)
		return NULL;
	nd->kind = kind;
	nd->text = malloc(n + 1);
	if (!nd->text) {
		free(nd);
		return NULL;
	}
	memcpy(nd->text, s, n);
	nd->text[n] = '\0';
	nd->len = n;
	return nd;
}

/* Trims spaces around a tag's name. */
static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t' || **s == '\n'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n'))
		(*n)--;
}

#define MAX_DEPTH 32

struct tmpl *tmpl_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct tmpl *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* stack[d]: where the next node of depth d goes; open[d]: its section */
	struct node **tail[MAX_DEPTH + 1];
	struct node *open[MAX_DEPTH + 1];
	int depth = 0;
	tail[0] = &t->root;
	open[0] = NULL;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *tag = NULL;
		for (const char *q = p; q + 1 < end; q++)
			if (q[0] == '{' && q[1] == '{') {
				tag = q;
				break;
			}
		const char *text_end = tag ? tag : end;
		if (text_end > p) {
			struct node *nd = node_new(N_TEXT, p, (size_t)(text_end - p));
			if (!nd)
				goto oom;
			*tail[depth] = nd;
			tail[depth] = &nd->next;
		}
		if (!tag)
			break;
		bool triple = tag + 2 < end && tag[2] == '{';
		const char *name = tag + (triple ? 3 : 2);
		const char *close = NULL;
		const char *want = triple ? "}}}" : "}}";
		size_t wl = triple ? 3 : 2;
		for (const char *q = name; q + wl <= end; q++)
			if (memcmp(q, want, wl) == 0) {
				close = q;
				break;
			}
		if (!close) {
			snprintf(err, errlen, "line %d: unclosed tag", line_of(text, tag));
			goto fail;
		}
		p = close + wl;
		char sigil = triple ? '{' : *name;
		if (!triple && (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' || sigil == '&'))
			name++;
		size_t n = (size_t)(close - name);
		trim(&name, &n);
		if (!triple && sigil == '!')
			continue;
		if (n == 0) {
			snprintf(err, errlen, "line %d: a tag without a name", line_of(text, tag));
			goto fail;
		}
		if (!triple && sigil == '/') {
			if (depth == 0 || open[depth]->len != n || memcmp(open[depth]->text, name, n) != 0) {
				snprintf(err, errlen, "line %d: '{{/%.*s}}' closes no open section",
					 line_of(text, tag), (int)n, name);
				goto fail;
			}
			depth--;
			continue;
		}
		enum node_kind kind = triple || sigil == '&' ? N_RAW
				      : sigil == '#'          ? N_SECTION
				      : sigil == '^'          ? N_INVERTED
							      : N_VAR;
		struct node *nd = node_new(kind, name, n);
		if (!nd)
			goto oom;
		*tail[depth] = nd;
		tail[depth] = &nd->next;
		if (kind == N_SECTION || kind == N_INVERTED) {
			if (depth == MAX_DEPTH) {
				snprintf(err, errlen, "line %d: sections nested too deep", line_of(text, tag));
				goto fail;
			}
			depth++;
			tail[depth] = &nd->child;
			open[depth] = nd;
		}
	}
	if (depth > 0) {
		snprintf(err, errlen, "unclosed section '%s'", open[depth]->text);
		goto fail;
	}
	return t;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	tmpl_free(t);
	return NULL;
}

/* ---- rendering ---------------------------------------------------------------------- */

/* The one HTML escaper: & < > " ' become entities. */
static void put_escaped(struct buf *b, const char *s, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e;
		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		buf_add(b, s + from, i - from);
		buf_puts(b, e);
		from = i + 1;
	}
	buf_add(b, s + from, n - from);
}

struct ctx {
	const cJSON *item;
	const struct ctx *up;
};

/* One step of a dotted name in an object. */
static const cJSON *member(const cJSON *o, const char *name, size_t n)
{
	if (!cJSON_IsObject(o))
		return NULL;
	for (const cJSON *c = o->child; c; c = c->next)
		if (c->string && strlen(c->string) == n && memcmp(c->string, name, n) == 0)
			return c;
	return NULL;
}

static const cJSON *lookup(const struct ctx *cx, const char *name)
{
	if (strcmp(name, ".") == 0)
		return cx ? cx->item : NULL;
	const char *dot = strchr(name, '.');
	size_t first = dot ? (size_t)(dot - name) : strlen(name);
	const cJSON *v = NULL;
	for (; cx && !v; cx = cx->up)
		v = member(cx->item, name, first);
	while (v && dot) {
		const char *part = dot + 1;
		dot = strchr(part, '.');
		v = member(v, part, dot ? (size_t)(dot - part) : strlen(part));
	}
	return v;
}

static bool truthy(const cJSON *v)
{
	if (!v || cJSON_IsFalse(v) || cJSON_IsNull(v) || cJSON_IsInvalid(v))
		return false;
	if (cJSON_IsArray(v))
		return v->child != NULL;
	if (cJSON_IsString(v))
		return v->valuestring && *v->valuestring;
	return true;
}

static void put_value(struct buf *b, const cJSON *v, bool raw)
{
	char num[64];
	const char *s = NULL;
	if (cJSON_IsString(v))
		s = v->valuestring;
	else if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.15g", v->valuedouble);
		s = num;
	} else if (cJSON_IsTrue(v))
		s = "true";
	if (!s)
		return;
	if (raw)
		buf_puts(b, s);
	else
		put_escaped(b, s, strlen(s));
}

/* Stops adding once the buffer ran out of memory: the rendering is lost anyway. */
static void render(struct buf *b, const struct node *n, const struct ctx *cx)
{
	for (; n && !b->oom; n = n->next) {
		switch (n->kind) {
		case N_TEXT:
			buf_add(b, n->text, n->len);
			break;
		case N_VAR:
		case N_RAW:
			put_value(b, lookup(cx, n->text), n->kind == N_RAW);
			break;
		case N_INVERTED:
			if (!truthy(lookup(cx, n->text)))
				render(b, n->child, cx);
			break;
		case N_SECTION: {
			const cJSON *v = lookup(cx, n->text);
			if (!truthy(v))
				break;
			if (cJSON_IsArray(v)) {
				for (const cJSON *it = v->child; it && !b->oom; it = it->next) {
					struct ctx inner = {it, cx};
					render(b, n->child, &inner);
				}
			} else if (cJSON_IsObject(v) || cJSON_IsString(v) || cJSON_IsNumber(v)) {
				struct ctx inner = {v, cx};
				render(b, n->child, &inner);
			} else {
				render(b, n->child, cx);
			}
			break;
		}
		}
	}
}

char *tmpl_render(const struct tmpl *t, const cJSON *data, size_t *len)
{
	struct buf b = {0};
	struct ctx top = {data, NULL};
	render(&b, t->root, &top);
	return buf_take(&b, len);
}

struct tmpl *tmpl_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	char *text = buf_read_file(path, &len);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char perr[200];
	struct tmpl *t = tmpl_parse(text, len, perr, sizeof(perr));
	free(text);
	if (!t)
		snprintf(err, errlen, "%s: %s", path, perr);
	return t;
}
