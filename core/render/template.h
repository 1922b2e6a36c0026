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
#ifndef MIZAN_RENDER_TEMPLATE_H
#define MIZAN_RENDER_TEMPLATE_H

#include <stddef.h>

struct cJSON;
struct tmpl;

/* Parses text[0..len) (the template keeps its own copy; text stays the
 * caller's).  The template is the caller's, freed with tmpl_free (NULL is
 * nothing).  NULL with a message ("line 3: unclosed section 'x'") in err on
 * a syntax error (an unclosed or mismatched section, an unclosed tag) or
 * when out of memory. */
struct tmpl *tmpl_parse(const char *text, size_t len, char *err, size_t errlen);
/* Reads the file at path and parses it: as tmpl_parse, and NULL with
 * "path: why" in err when it cannot be read or parsed. */
struct tmpl *tmpl_load(const char *path, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

/* The rendering of data (borrowed, not changed; NULL renders every name as
 * missing), malloc'd and NUL-terminated: the caller frees it.  Its length
 * in *len (len may be NULL).  NULL when out of memory.  {{x}} goes through
 * the engine's HTML escaper, the only one in the project: text for a
 * text/plain part uses {{{x}}}. */
char *tmpl_render(const struct tmpl *t, const struct cJSON *data, size_t *len);

#endif
