/* embedded.h - the mail templates of dashboards/mail, compiled into the
 * binary at build time (core/notify/embed.py writes the definition).
 * notify/notice.c falls back on them when the configuration's dashboards
 * folder has no mail/ folder. */
#ifndef MIZAN_NOTIFY_EMBEDDED_H
#define MIZAN_NOTIFY_EMBEDDED_H

#include <stddef.h>

/* The text of template `name` ("alert.html"), static, with its length in
 * *len; NULL when there is no such template.  Thread-safe. */
const char *notice_embedded(const char *name, size_t *len);

#endif
