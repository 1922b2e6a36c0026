/* template.h - a small mustache-like template engine over cJSON data.
 *
 *   {{name}}        the value, HTML-escaped (& < > " ' become entities)
 *   {{{name}}}      the value as it is (only for markup the server made: SVG)
 *   {{#name}}..{{/name}}  a section: once per item of an array (the item is
 *                   then the context), once for an object (pushed as the
 *                   context), once for true, a non-empty string or a number;
 *                   never for false, null, a missing key or an empty array
 *   {{^name}}..{{/name}}  inverted: once exactly when the section would not
 *   {{! comment }}  nothing
 *
 * Names are looked up in the innermost context first, then outwards; a dotted
 * name (t.title) walks into objects; "." is the current item.  A missing key
 * renders as nothing.  Numbers render with %.15g; true as "true"; false and
 * null as nothing.
 *
 * A template is parsed once (tmpl_parse) and rendered any number of times,
 * from any number of threads at once: rendering does not change it.
 */
#ifndef MIZAN_TEMPLATE_H
#define MIZAN_TEMPLATE_H

#include <stddef.h>

struct cJSON;
struct tmpl;

/* NULL with a message ("line 3: unclosed section 'x'") in err on a syntax
 * error (an unclosed or mismatched section, an unclosed tag). */
struct tmpl *tmpl_parse(const char *text, size_t len, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

/* The rendering, malloc'd and NUL-terminated (the caller frees), its length
 * in *len (may be NULL); NULL when out of memory. */
char *tmpl_render(const struct tmpl *t, const struct cJSON *data, size_t *len);

/* Appends s, HTML-escaped, to a growing buffer; -1 when out of memory. */
struct tbuf {
	char *p;
	size_t len, cap;
};
int tbuf_put(struct tbuf *b, const char *s, size_t n);
int tbuf_escape(struct tbuf *b, const char *s, size_t n);

#endif
