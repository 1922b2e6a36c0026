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
 * The judge decides what to announce (a struct alert_notice); what the
 * messages say, to whom and in which language is the notifier's, a layer
 * above (notify/notice.h), handed in by whoever runs the evaluation.
 */
#ifndef MIZAN_JUDGE_ALERT_H
#define MIZAN_JUDGE_ALERT_H

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

struct forecast;
struct period;

enum alert_notice_kind { AN_AT_RISK, AN_MISSED, AN_RECOVERED, AN_STALE, AN_REMINDER };

/* A slice that fell short, for "the three missions furthest below". */
struct alert_gap {
	char slice[64];
	double value, gap;
};

/* What a change of state announces, in no language.  Every pointer is
 * borrowed for the length of the notifier's call. */
struct alert_notice {
	enum alert_notice_kind kind;
	const struct config *cfg;
	const struct store_alert *a; /* the alert in its new state */
	int64_t now_ms;
	/* a KPI's target alert */
	const struct cfg_kpi *k;     /* NULL for a stale source */
	const struct period *p;
	const struct target *t;
	const struct forecast *fc;
	const struct alert_gap *gaps; /* the slices furthest below, worst first */
	int ngaps;
	/* a stale source: the kind of event its mission stopped sending, and
	 * when it last sent one */
	const char *stale_kind;
	int64_t stale_since;
};

/* Turns a notice into messages: appends them to *mails (*n of them, grown
 * with realloc), each with to_addr, subject and message malloc'd; the judge
 * stores them with the change and frees them (and the array).  Called on
 * the thread that runs alert_evaluate; ud is the notifier's own.  Returns 0,
 * or nonzero when a message could not be made: the judge does not look at
 * the value (notify/notice.c returns -1), and the change is stored with
 * whatever messages were appended. */
struct alert_notifier {
	int (*compose)(void *ud, const struct alert_notice *n, struct store_mail **mails, size_t *n_);
	void *ud;
};

/* Judges every KPI's open and last closed period, and every source, at
 * now_ms.  nf may be NULL (states change, nothing is announced).  c, s and
 * nf are borrowed for the call; *st is always filled.  0, or the store's
 * negative errno (or -ENOMEM) with its sentence in err.  One evaluation at
 * a time per store (the supervisor's thread, or `mizan eval --alerts` when
 * no server runs): two at once would judge the same alerts twice. */
int alert_evaluate(const struct config *c, struct store *s, const struct alert_notifier *nf,
		   int64_t now_ms, struct alert_stats *st, char *err, size_t errlen);

#endif
