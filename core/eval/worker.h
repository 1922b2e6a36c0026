/* worker.h - the evaluation worker: the process `mizan worker` runs.
 *
 * The daemon (daemon/supervise.h) starts it and talks to it over a pipe:
 * one request line per evaluation on standard input ("eval [full]
 * [skip=KPI,...]"), one answer line on standard output ("ok run=N
 * periods=N results=N events=N failed=N seconds=S" or "error WHY").  It
 * reports where it is through the page of shared memory at progress_fd (a
 * struct kpi_progress), which the daemon watches for a stall.
 */
#ifndef MIZAN_EVAL_WORKER_H
#define MIZAN_EVAL_WORKER_H

#include "model/config.h"

/* Serves evaluation requests on standard input until it closes.  Returns the
 * process's exit code (0, or 1 when the store or the progress page cannot
 * be opened, or memory runs out).  c is borrowed for the call; progress_fd stays open (the
 * caller's).  The process's main thread only. */
int eval_worker_main(const struct config *c, int progress_fd);

#endif
