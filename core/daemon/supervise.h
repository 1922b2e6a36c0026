/* supervise.h - evaluation in a worker process the daemon can kill.
 *
 * Indicators are other people's code: a C plugin may crash or hang, a Lua
 * script may sit inside a C function (a backtracking pattern) where no hook
 * reaches it.  So the daemon never runs them itself.  It starts `mizan
 * worker`, which loads the plugins and scripts and evaluates into the store,
 * and it watches the worker through a page of shared memory: a heartbeat that
 * grows with every event and the KPI being stepped.  A worker that dies, or
 * whose heartbeat stops for evaluation.stall_s, is killed and restarted with
 * a doubling backoff; the KPI it was in gets an error with the reason and is
 * left out until evaluation.retry_s has passed.  Ingest and pages never wait
 * for any of this.
 */
#ifndef MIZAN_SUPERVISE_H
#define MIZAN_SUPERVISE_H

#include <stddef.h>

#include "model/config.h"
#include "store/store.h"

struct metrics;

struct supervisor;

struct outbox;
struct alert_notifier;

/* `self` is the path of the mizan binary; config_path may be NULL.  After
 * each evaluation the supervisor evaluates the alerts (judge/alert.h) with
 * the notifier nf (may be NULL: nothing announced) and pokes the outbox
 * `ob` (may be NULL) when they queued mail.  It registers its figures in m.
 * c, s, m, ob and nf are borrowed and must outlive the supervisor; self and
 * config_path are copied.  0, with *out the caller's (freed by
 * supervise_stop) and the supervisor's thread running; or a negative errno
 * with a sentence in err. */
int supervise_start(struct supervisor **out, const struct config *c, const char *self,
		    const char *config_path, struct store *s, struct metrics *m, struct outbox *ob,
		    const struct alert_notifier *nf, char *err, size_t errlen);
/* New events arrived: evaluate within evaluation.after_ingest_s.  Any
 * thread (the API's, after a batch is stored); NULL is a no-op. */
void supervise_poke(struct supervisor *sv);
/* Stops the thread, kills the worker if it still runs, and frees the
 * supervisor (NULL is a no-op).  Not from the supervisor's own thread; no
 * supervise_poke may run at the same time or after. */
void supervise_stop(struct supervisor *sv);

#endif
