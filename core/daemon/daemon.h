/* daemon.h - `mizan serve`: the parts wired together, and their loops.
 *
 * daemon_run starts, in order: the gnuplot pool (render/chart.h), the
 * outbox's delivery thread (notify/outbox.h), the supervisor that runs the
 * evaluation worker and then the alerts (daemon/supervise.h), and the HTTP
 * server with the API's and the dashboard's routes (http/, api/, web/);
 * then it waits for SIGINT or SIGTERM and stops them in the reverse order.
 */
#ifndef MIZAN_DAEMON_H
#define MIZAN_DAEMON_H

#include "model/config.h"
#include "store/store.h"

/* Serves until SIGINT or SIGTERM.  c and s are borrowed; self is the path
 * of the mizan binary (the worker is started from it).  0 after a signal,
 * or a negative errno when something could not start (logged; -EIO for the
 * parts that do not say why).  The main thread: it blocks SIGINT and
 * SIGTERM for the threads it starts and waits for them with sigwait. */
int daemon_run(const struct config *c, struct store *s, const char *self);

#endif
