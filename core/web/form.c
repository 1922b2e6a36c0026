/* form.c - a POST's application/x-www-form-urlencoded body, decoded by
 * libmicrohttpd's post processor (see internal.h).
 *
 * The router has read the whole body (at most FORM_MAX bytes) into r->body;
 * the post processor splits and unescapes it and hands each field over,
 * a long value in several pieces.  A field that holds a NUL byte or is not
 * valid UTF-8 makes the whole form invalid.
 */
#include "web/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/utf8.h"

struct decoding {
	struct page *pg;
	struct buf value; /* the field being read */
	char *key;
	bool bad;
};

/* Keeps the field being read, if there is one; false when it is not valid. */
static bool keep_field(struct decoding *d)
{
	if (!d->key)
		return true;
	size_t len = 0;
	char *value = buf_take(&d->value, &len);
	char *key = d->key;
	d->key = NULL;
	struct form_field *f = value ? realloc(d->pg->form, (d->pg->nform + 1) * sizeof(*f)) : NULL;
	if (!f || memchr(value, '\0', len) || utf8_check(value, len) < len ||
	    utf8_check(key, strlen(key)) < strlen(key)) {
		if (f)
			d->pg->form = f;
		free(key);
		free(value);
		return false;
	}
	d->pg->form = f;
	f[d->pg->nform++] = (struct form_field){key, value};
	return true;
}

static enum MHD_Result field_piece(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *filename, const char *content_type,
				   const char *transfer_encoding, const char *data, uint64_t off,
				   size_t size)
{
	struct decoding *d = cls;
	(void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
	if (!key || d->bad)
		return MHD_NO;
	if (off == 0 || !d->key || strcmp(d->key, key) != 0) {
		if (!keep_field(d)) {
			d->bad = true;
			return MHD_NO;
		}
		d->key = strdup(key);
		buf_add(&d->value, "", 0);
		if (!d->key) {
			d->bad = true;
			return MHD_NO;
		}
	}
	if (data && size)
		buf_add(&d->value, data, size);
	return MHD_YES;
}

int web_form_parse(struct page *pg)
{
	const char *body = pg->r->body ? pg->r->body : "";
	size_t len = pg->r->len;
	if (len > FORM_MAX)
		return -1;
	struct decoding d = {.pg = pg};
	struct MHD_PostProcessor *pp = MHD_create_post_processor(pg->c, 4096, field_piece, &d);
	if (!pp)
		return -1;
	enum MHD_Result ok = len ? MHD_post_process(pp, body, len) : MHD_YES;
	enum MHD_Result done = MHD_destroy_post_processor(pp);
	bool kept = keep_field(&d);
	buf_free(&d.value);
	free(d.key);
	if (ok != MHD_YES || done != MHD_YES || d.bad || !kept) {
		web_form_free(pg);
		return -1;
	}
	return 0;
}

const char *web_field(struct page *pg, const char *name)
{
	for (size_t i = 0; i < pg->nform; i++)
		if (strcmp(pg->form[i].key, name) == 0)
			return pg->form[i].value;
	return NULL;
}

void web_form_free(struct page *pg)
{
	for (size_t i = 0; i < pg->nform; i++) {
		free(pg->form[i].key);
		free(pg->form[i].value);
	}
	free(pg->form);
	pg->form = NULL;
	pg->nform = 0;
}
