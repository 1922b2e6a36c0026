/* i18n.h - the one table of the interface's words, in Arabic and English.
 *
 * Every word the pages and the mail show, under a key: "value" is "Value"
 * and "القيمة", "status_red" is "Off target" and "دون المستهدف",
 * "notice_missed" is what a mail announces.  Templates see the table of
 * their language as {{t.key}}; C code asks for one word with i18n_text.
 * What comes from the configuration (titles, units) or from events
 * (missions, channels) is not here: it is shown as it is.
 *
 * Thread-safe: the tables are built once, on first use, and never change.
 */
#ifndef MIZAN_RENDER_I18N_H
#define MIZAN_RENDER_I18N_H

struct cJSON;

enum lang { LANG_EN, LANG_AR };

/* "ar" is Arabic, anything else English; NULL is def. */
enum lang lang_from_code(const char *code, enum lang def);
/* "ar" or "en" (static). */
const char *lang_code(enum lang l);
/* "rtl" or "ltr" (static). */
const char *lang_dir(enum lang l);

/* The word for key in l: static, never NULL.  An unknown key is returned
 * as it is (so a missing word shows, rather than nothing). */
const char *i18n_text(enum lang l, const char *key);
/* The same for a key made of a prefix and a name ("status_" "red"), as
 * templates need for states, statuses and dimensions. */
const char *i18n_text2(enum lang l, const char *prefix, const char *name);

/* The whole table of l, key -> word, for templates' {{t.key}}.  It belongs
 * to this module and lives as long as the process: never free or change it;
 * add it to page data with cJSON_AddItemReferenceToObject.  NULL only when
 * memory ran out building it. */
struct cJSON *i18n_table(enum lang l);

#endif
