/* notice.h - the mail that announces a change of an alert's state.
 *
 * The judge (judge/alert.h) decides that a change is to be announced; this
 * says it: to the KPI's owner, its managers and its goal's managers (for a
 * stale source, the owners of the KPIs that read its kind), each once and in
 * their language, with the figure, the target, the forecast, the slices
 * furthest below, a link to the KPI's page and its chart as a PNG.
 *
 * What a message says is the KPI's view (render/view.h) rendered through
 * three templates, subject.txt, alert.txt and alert.html, from the mail/
 * folder of the configuration's dashboards folder, or, when that folder has
 * no mail/, from the copies compiled into the binary (the same files, as
 * they were at build time).  So a figure reads the same in the mail as on
 * the KPI's page.
 */
#ifndef MIZAN_NOTIFY_NOTICE_H
#define MIZAN_NOTIFY_NOTICE_H

#include <stddef.h>

#include "judge/alert.h"
#include "store/store.h"

struct chart_pool;

/* Fills *out with a notifier for alert_evaluate, its templates loaded.  c,
 * s and charts (may be NULL: mail without a chart) are borrowed and must
 * outlive it.  The notifier is used from one thread at a time; release it
 * with notice_free (also after a failure: then it frees nothing).  0, or -1
 * with why in err[errlen] (a template that cannot be read or parsed, or
 * memory ran out). */
int notice_new(struct alert_notifier *out, const struct config *c, struct store *s,
	       struct chart_pool *charts, char *err, size_t errlen);
void notice_free(struct alert_notifier *nf);

#endif
