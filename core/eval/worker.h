/* worker.h - the evaluation worker: the process `mizan worker` runs.
 *
 * The daemon (daemon/supervise.h) starts it and talks to it on descriptors
 * of their own, never on standard input or output, which a plugin may read
 * or print to: one request line per evaluation on WORKER_FD_REQUEST ("eval
 * [full] [skip=KPI,...]"), one answer line on WORKER_FD_REPLY ("ok run=N
 * periods=N results=N events=N failed=N seconds=S" or "error WHY").  Its
 * standard input is /dev/null and its standard output and error are the
 * daemon's log.  It reports where it is through the page of shared memory
 * at WORKER_FD_PROGRESS (a struct kpi_progress), which the daemon watches
 * for a stall.  It runs in a process group of its own, which the daemon
 * kills whole (with whatever a plugin started), and it is killed itself
 * when the daemon dies (Linux: PR_SET_PDEATHSIG).
 */
#ifndef MIZAN_EVAL_WORKER_H
#define MIZAN_EVAL_WORKER_H

#include "model/config.h"

enum { WORKER_FD_PROGRESS = 3, WORKER_FD_REQUEST = 4, WORKER_FD_REPLY = 5 };

/* Serves evaluation requests on WORKER_FD_REQUEST until it closes.  Returns
 * the process's exit code (0, or 1 when the store or the progress page
 * cannot be opened, or memory runs out).  c is borrowed for the call;
 * progress_fd stays open (the caller's).  The process's main thread only. */
int eval_worker_main(const struct config *c, int progress_fd);

#endif
