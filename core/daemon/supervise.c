/* supervise.c - see supervise.h. */
#include "daemon/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "judge/alert.h"
#include "util/metrics.h"
#include "eval/kpi.h"
#include "eval/worker.h"
#include "notify/outbox.h"
#include "util/log.h"
#include "util/time.h"
#include "model/period.h"

extern char **environ;

#define REAP_GRACE_S 2.0 /* a worker that closed its reply pipe has this long to exit */

struct skip {
	char kpi[64];
	double until; /* monotonic seconds */
};

struct supervisor {
	const struct config *cfg;
	struct store *store;
	struct outbox *ob;
	const struct alert_notifier *nf;
	struct metric *runs, *failures, *periods, *restarts, *last_s, *alert_changes, *alert_messages;
	char *self, *config_path;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop, poked;
	double poked_at;
	/* the worker */
	pid_t pid;
	int to_worker, from_worker;
	struct kpi_progress *prog; /* shared with the worker */
	int prog_fd;
	double backoff;
	struct skip *skips;
	size_t nskips;
};

/* ---- the worker process ---------------------------------------------------------- */

/* fd, moved to a descriptor of at least 10 (close-on-exec): the worker's
 * descriptors 0 to 5 are then set with dup2 from sources none of them can
 * overwrite. */
static int high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	int e = errno;
	close(fd);
	errno = e;
	return h;
}

static int spawn_worker(struct supervisor *sv)
{
	int req[2], rep[2];
	if (pipe2(req, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(req[0]);
		close(req[1]);
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		req[i] = req[i] >= 0 ? high_fd(req[i]) : -1;
		rep[i] = rep[i] >= 0 ? high_fd(rep[i]) : -1;
	}
	if (req[0] < 0 || req[1] < 0 || rep[0] < 0 || rep[1] < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (req[i] >= 0)
				close(req[i]);
			if (rep[i] >= 0)
				close(rep[i]);
		}
		return -e;
	}
	/* The protocol has descriptors of its own: what a plugin prints goes
	 * to the log (the daemon's standard error), never into the reply. */
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	posix_spawn_file_actions_adddup2(&fa, sv->prog_fd, WORKER_FD_PROGRESS);
	posix_spawn_file_actions_adddup2(&fa, req[0], WORKER_FD_REQUEST);
	posix_spawn_file_actions_adddup2(&fa, rep[1], WORKER_FD_REPLY);
	char *argv[8];
	int argc = 0;
	argv[argc++] = sv->self;
	argv[argc++] = "worker";
	argv[argc++] = "--db";
	argv[argc++] = sv->cfg->store_url;
	if (sv->config_path) {
		argv[argc++] = "--config";
		argv[argc++] = sv->config_path;
	}
	argv[argc] = NULL;
	/* The worker starts with default signal handling (the daemon blocks
	 * SIGINT and SIGTERM for sigwait), in a process group of its own: it
	 * is killed as a group, with any process a plugin forked. */
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr,
				 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	int rc = posix_spawn(&sv->pid, sv->self, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(req[0]);
	close(rep[1]);
	if (rc != 0) {
		close(req[1]);
		close(rep[0]);
		sv->pid = 0;
		return -rc;
	}
	sv->to_worker = req[1];
	sv->from_worker = rep[0];
	log_info("evaluation worker started (pid %d)", (int)sv->pid);
	return 0;
}

/* Whether the worker has ended within `grace` seconds; it is not reaped,
 * so its pid (and process group id) stay its own. */
static bool ended_within(pid_t pid, double grace)
{
	double until = time_mono() + grace;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
			return true; /* not ours to wait for: nothing left to wait for */
		if (si.si_pid == pid)
			return true;
		if (time_mono() >= until)
			return false;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
}

/* Ends the worker and returns how it ended.  kill_it: at once; otherwise
 * it has REAP_GRACE_S to end by itself (it closed its reply pipe or died),
 * and *killed says whether it had to be killed.  Either way its whole
 * process group is killed before the worker is reaped (so the group's id
 * cannot have been reused): no process a plugin started outlives it. */
static int reap_worker(struct supervisor *sv, bool kill_it, bool *killed)
{
	int status = 0;
	if (killed)
		*killed = false;
	if (!sv->pid)
		return 0;
	close(sv->to_worker);
	close(sv->from_worker);
	bool ended = !kill_it && ended_within(sv->pid, REAP_GRACE_S);
	if (killed)
		*killed = !kill_it && !ended;
	kill(-sv->pid, SIGKILL);
	kill(sv->pid, SIGKILL); /* in case it left its group */
	while (waitpid(sv->pid, &status, 0) < 0 && errno == EINTR)
		;
	sv->pid = 0;
	return status;
}

/* The worker's resident anonymous memory (its heap and stacks, not the
 * database it maps) in KiB, or -1 when it cannot be read. */
static long worker_memory_kib(pid_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static bool stopping(struct supervisor *sv)
{
	pthread_mutex_lock(&sv->lock);
	bool stop = sv->stop;
	pthread_mutex_unlock(&sv->lock);
	return stop;
}

static void skip_kpi(struct supervisor *sv, const char *kpi)
{
	struct skip *p = realloc(sv->skips, (sv->nskips + 1) * sizeof(*p));
	if (!p)
		return;
	sv->skips = p;
	snprintf(p[sv->nskips].kpi, sizeof(p[sv->nskips].kpi), "%s", kpi);
	p[sv->nskips].until = time_mono() + sv->cfg->eval_retry_s;
	sv->nskips++;
}

/* "eval skip=a,b\n": KPIs whose skip has not expired. */
static void request_line(struct supervisor *sv, char *buf, size_t len)
{
	double now = time_mono();
	size_t n = (size_t)snprintf(buf, len, "eval");
	size_t kept = 0;
	for (size_t i = 0; i < sv->nskips; i++) {
		if (sv->skips[i].until <= now)
			continue;
		sv->skips[kept++] = sv->skips[i];
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", kept == 1 ? " skip=" : ",",
					      sv->skips[i].kpi);
	}
	sv->nskips = kept;
	if (n < len)
		snprintf(buf + n, len - n, "\n");
}

/* Blames the KPI the worker was in for its end, and leaves it out. */
static void blame(struct supervisor *sv, const char *why)
{
	int k = sv->prog->kpi;
	char err[STORE_ERRLEN], msg[320];
	if (k >= 0 && (size_t)k < sv->cfg->nkpis) {
		const struct cfg_kpi *kc = &sv->cfg->kpis[k];
		snprintf(msg, sizeof(msg), "indicator %s %s; left out for %d s", kc->indicator, why,
			 sv->cfg->eval_retry_s);
		log_error("kpi %s: %s", kc->id, msg);
		store_kpi_status_set(sv->store, kc->id, msg, 0, err);
		skip_kpi(sv, kc->id);
	} else {
		log_error("evaluation worker %s outside any indicator", why);
	}
}

static const char *describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "crashed the worker (signal %d, %s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended the worker (exit %d)", WEXITSTATUS(status));
	return buf;
}

/* Sends one request and waits for its answer, watching the heartbeat. */
static void evaluate_once(struct supervisor *sv)
{
	char line[1024];
	int rc = sv->pid ? 0 : spawn_worker(sv);
	if (rc < 0) {
		log_error("cannot start the evaluation worker: %s", strerror(-rc));
		return;
	}
	request_line(sv, line, sizeof(line));
	if (write(sv->to_worker, line, strlen(line)) < 0) {
		char why[128];
		blame(sv, describe(reap_worker(sv, true, NULL), why, sizeof(why)));
		return;
	}
	double start = time_mono(), last_move = start;
	uint64_t last_beat = sv->prog->beat;
	size_t got = 0;
	for (;;) {
		struct pollfd pfd = {sv->from_worker, POLLIN, 0};
		int pr = poll(&pfd, 1, 100);
		double now = time_mono();
		if (pr > 0) {
			ssize_t r = read(sv->from_worker, line + got, sizeof(line) - 1 - got);
			if (r <= 0) { /* the worker died, or its reply pipe was closed */
				char why[128];
				bool killed;
				int status = reap_worker(sv, false, &killed);
				if (killed)
					snprintf(why, sizeof(why),
						 "closed the worker's reply pipe and did not end (killed)");
				else
					describe(status, why, sizeof(why));
				blame(sv, why);
				metric_add(sv->failures, 1);
				return;
			}
			got += (size_t)r;
			line[got] = '\0';
			if (strchr(line, '\n'))
				break;
			if (got == sizeof(line) - 1)
				break;
		}
		if (pr == 0 && ended_within(sv->pid, 0)) {
			/* It died, but something it started holds the reply
			 * pipe open: no end of file will come. */
			char why[128];
			blame(sv, describe(reap_worker(sv, false, NULL), why, sizeof(why)));
			metric_add(sv->failures, 1);
			return;
		}
		if (stopping(sv)) { /* SIGTERM: no evaluation holds the daemon */
			log_info("stopping the evaluation worker");
			reap_worker(sv, true, NULL);
			return;
		}
		long kib = worker_memory_kib(sv->pid);
		if (kib > (long)sv->cfg->eval_memory_mib * 1024) {
			char why[160];
			snprintf(why, sizeof(why), "used more than %d MiB of memory (evaluation.memory_mib)",
				 sv->cfg->eval_memory_mib);
			blame(sv, why);
			reap_worker(sv, true, NULL);
			metric_add(sv->failures, 1);
			return;
		}
		uint64_t beat = sv->prog->beat;
		if (beat != last_beat) {
			last_beat = beat;
			last_move = now;
		}
		bool stalled = now - last_move > sv->cfg->eval_stall_s;
		if (stalled || now - start > sv->cfg->eval_timeout_s) {
			char why[160];
			snprintf(why, sizeof(why), "%s %d s (evaluation.%s)",
				 stalled ? "made no progress for" : "ran past",
				 stalled ? sv->cfg->eval_stall_s : sv->cfg->eval_timeout_s,
				 stalled ? "stall_s" : "timeout_s");
			blame(sv, why);
			reap_worker(sv, true, NULL);
			metric_add(sv->failures, 1);
			return;
		}
	}
	unsigned long long run = 0, periods = 0, results = 0, events = 0, failed = 0;
	double seconds = 0;
	if (sscanf(line, "ok run=%llu periods=%llu results=%llu events=%llu failed=%llu seconds=%lf",
		   &run, &periods, &results, &events, &failed, &seconds) == 6) {
		metric_add(sv->runs, 1);
		metric_add(sv->periods, periods);
		metric_set(sv->last_s, seconds);
		if (periods)
			log_info("evaluation %llu: %llu periods, %llu results from %llu events in %.2f s%s",
				 run, periods, results, events, seconds, failed ? " (some KPIs failed)" : "");
		sv->backoff = 0;
	} else {
		metric_add(sv->failures, 1);
		line[strcspn(line, "\n")] = '\0';
		log_error("evaluation failed: %s", line);
	}
}

/* Alerts follow every evaluation, whatever it managed: they read what is
 * stored. */
static void check_alerts(struct supervisor *sv)
{
	struct alert_stats st;
	char err[STORE_ERRLEN];
	if (alert_evaluate(sv->cfg, sv->store, sv->nf, time_now_ms(), &st, err, sizeof(err)) < 0) {
		log_error("alert evaluation failed: %s", err);
		return;
	}
	metric_add(sv->alert_changes, st.changed);
	metric_add(sv->alert_messages, st.messages);
	if (st.messages)
		outbox_poke(sv->ob);
}

/* The store's integrity, checked on schedule (store.check_interval_s; the
 * first check ran before the server started). */
static void check_store(struct supervisor *sv)
{
	char err[STORE_ERRLEN];
	int rc = store_check(sv->store, err);
	if (rc == -EUCLEAN)
		log_error("the store is damaged: %s", err);
	else if (rc < 0)
		log_warn("the store's integrity check could not run: %s", err);
}

static void *supervise_thread(void *arg)
{
	struct supervisor *sv = arg;
	double next = time_mono(); /* evaluate once at start */
	double next_check = next + sv->cfg->store_check_s;

	pthread_mutex_lock(&sv->lock);
	while (!sv->stop) {
		double now = time_mono();
		double due = next;
		if (sv->poked && sv->poked_at + sv->cfg->eval_after_ingest_s < due)
			due = sv->poked_at + sv->cfg->eval_after_ingest_s;
		if (sv->cfg->store_check_s > 0 && now >= next_check) {
			pthread_mutex_unlock(&sv->lock);
			check_store(sv);
			pthread_mutex_lock(&sv->lock);
			next_check = time_mono() + sv->cfg->store_check_s;
			continue;
		}
		if (sv->cfg->store_check_s > 0 && next_check < due)
			due = next_check;
		if (now < due) {
			struct timespec ts = time_mono_after(due - now);
			pthread_cond_timedwait(&sv->wake, &sv->lock, &ts);
			continue;
		}
		sv->poked = false;
		pthread_mutex_unlock(&sv->lock);
		bool had_worker = sv->pid != 0;
		evaluate_once(sv);
		check_alerts(sv);
		if (had_worker && !sv->pid) /* it died: wait before the next one */
			sv->backoff = sv->backoff ? (sv->backoff * 2 > 60 ? 60 : sv->backoff * 2) : 1;
		if (!sv->pid && sv->backoff) {
			metric_add(sv->restarts, 1);
			log_warn("restarting the evaluation worker in %.0f s", sv->backoff);
		}
		pthread_mutex_lock(&sv->lock);
		next = time_mono() + (sv->pid ? sv->cfg->eval_interval_s : sv->backoff);
		if (!sv->pid && sv->backoff)
			sv->poked = false;
	}
	pthread_mutex_unlock(&sv->lock);
	reap_worker(sv, true, NULL);
	return NULL;
}

int supervise_start(struct supervisor **out, const struct config *c, const char *self,
		    const char *config_path, struct store *s, struct metrics *m, struct outbox *ob,
		    const struct alert_notifier *nf, char *err, size_t errlen)
{
	struct supervisor *sv = calloc(1, sizeof(*sv));
	if (!sv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sv->prog_fd = -1;
	sv->cfg = c;
	sv->store = s;
	sv->ob = ob;
	sv->nf = nf;
	sv->runs = metrics_counter(m, "mizan_eval_runs_total", "Evaluations that completed.", NULL);
	sv->failures = metrics_counter(m, "mizan_eval_failures_total",
				       "Evaluations whose worker crashed, hung or failed.", NULL);
	sv->periods = metrics_counter(m, "mizan_eval_periods_recomputed_total",
				      "(KPI, period) pairs recomputed.", NULL);
	sv->restarts = metrics_counter(m, "mizan_eval_worker_restarts_total",
				       "Times the evaluation worker was restarted.", NULL);
	sv->last_s = metrics_gauge(m, "mizan_eval_last_seconds", "How long the last evaluation took.",
				   NULL);
	sv->alert_changes = metrics_counter(m, "mizan_alert_changes_total",
					    "Alerts whose state changed.", NULL);
	sv->alert_messages = metrics_counter(m, "mizan_alert_messages_total",
					     "Messages queued for alert changes.", NULL);
	sv->self = strdup(self);
	sv->config_path = config_path ? strdup(config_path) : NULL;
	int rc = 0;
	if (!sv->self || (config_path && !sv->config_path)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	sv->prog_fd = memfd_create("mizan-progress", MFD_CLOEXEC);
	if (sv->prog_fd >= 0)
		sv->prog_fd = high_fd(sv->prog_fd);
	if (sv->prog_fd < 0 || ftruncate(sv->prog_fd, 4096) < 0 ||
	    (sv->prog = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, sv->prog_fd, 0)) ==
		    MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "shared memory for the worker: %s", strerror(-rc));
		sv->prog = NULL;
		goto fail;
	}
	sv->prog->kpi = -1;
	pthread_mutex_init(&sv->lock, NULL);
	rc = time_cond_init(&sv->wake);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start the supervisor: %s", strerror(-rc));
		pthread_mutex_destroy(&sv->lock);
		goto fail;
	}
	rc = -pthread_create(&sv->thread, NULL, supervise_thread, sv);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start the supervisor thread: %s", strerror(-rc));
		pthread_cond_destroy(&sv->wake);
		pthread_mutex_destroy(&sv->lock);
		goto fail;
	}
	*out = sv;
	return 0;
fail:
	if (sv->prog)
		munmap(sv->prog, 4096);
	if (sv->prog_fd >= 0)
		close(sv->prog_fd);
	free(sv->self);
	free(sv->config_path);
	free(sv);
	return rc;
}

void supervise_poke(struct supervisor *sv)
{
	if (!sv)
		return;
	pthread_mutex_lock(&sv->lock);
	if (!sv->poked) {
		sv->poked = true;
		sv->poked_at = time_mono();
		pthread_cond_signal(&sv->wake);
	}
	pthread_mutex_unlock(&sv->lock);
}

void supervise_stop(struct supervisor *sv)
{
	if (!sv)
		return;
	pthread_mutex_lock(&sv->lock);
	sv->stop = true;
	pthread_cond_signal(&sv->wake);
	pthread_mutex_unlock(&sv->lock);
	pthread_join(sv->thread, NULL);
	pthread_mutex_destroy(&sv->lock);
	pthread_cond_destroy(&sv->wake);
	munmap(sv->prog, 4096);
	close(sv->prog_fd);
	free(sv->skips);
	free(sv->self);
	free(sv->config_path);
	free(sv);
}
