/* alert.h - alert states, and the mail that announces their changes.
 *
 * Per KPI, period and slice (the whole, and each slice of alerts.slices), an
 * alert is ok, at_risk (an open period whose forecast misses the target) or
 * missed (a closed period whose figure misses it); back to ok, it is
 * announced as recovered.  A new state must hold for alerts.min_state_s
 * before it is taken (figures that flap around a threshold send nothing),
 * and only a change of state sends mail: to the KPI's owner, its managers
 * and its goal's managers, each in their language.  A missed alert that no
 * one acknowledged is repeated every alerts.repeat_s; a silence that covers
 * it keeps it quiet.  A mission that sent events of a kind and then stopped
 * for alerts.stale_s raises a stale alert of its own.
 *
 * Every change of state is written with its history entry and its messages
 * in one transaction (store_alert_put): a state is never changed without the
 * mail that announces it, nor mail queued for a change that did not happen.
 */
#ifndef MIZAN_ALERT_H
#define MIZAN_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "store/store.h"

struct alert_stats {
	size_t evaluated; /* figures looked at */
	size_t changed;   /* alerts whose state changed */
	size_t messages;  /* messages queued */
	double seconds;
};

struct chart_pool;
/* charts (may be NULL) draws the chart each message carries inline. */
int alert_evaluate(const struct config *c, struct store *s, struct chart_pool *charts,
		   int64_t now_ms, struct alert_stats *st, char *err, size_t errlen);

#endif
