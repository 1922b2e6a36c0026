/* notice.h - the mail that announces a change of an alert's state.
 *
 * The judge (judge/alert.h) decides that a change is to be announced; this
 * says it: to the KPI's owner, its managers and its goal's managers (for a
 * stale source, the owners of the KPIs that read its kind), each once and in
 * their language, with the figure, the target, the forecast, the slices
 * furthest below, a link to the KPI's page and its chart as a PNG.
 */
#ifndef MIZAN_NOTIFY_NOTICE_H
#define MIZAN_NOTIFY_NOTICE_H

#include "judge/alert.h"
#include "store/store.h"

struct chart_pool;

/* Fills *out with a notifier for alert_evaluate.  c, s and charts (may be
 * NULL: mail without a chart) are borrowed and must outlive it; the
 * notifier may be used from one thread at a time.  0, or -ENOMEM. */
int notice_new(struct alert_notifier *out, const struct config *c, struct store *s,
	       struct chart_pool *charts);
void notice_free(struct alert_notifier *nf);

#endif
