/* daemon.c - see daemon.h. */
#include "daemon/daemon.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "daemon/supervise.h"
#include "http/auth.h"
#include "http/http.h"
#include "notify/notice.h"
#include "notify/outbox.h"
#include "render/chart.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"
#include "web/web.h"

#ifndef MIZAN_VERSION
#define MIZAN_VERSION "0"
#endif

static double store_bytes(void *ud)
{
	int64_t n = store_size_bytes(ud);
	return n < 0 ? NAN : (double)n; /* NaN: the store could not say */
}

/* 1 when the last integrity check found the store sound, 0 when it found
 * it damaged or could not run, NaN before the first. */
static double store_check_ok(void *ud)
{
	struct store_check ck;
	store_check_last(ud, &ck);
	return ck.state == STORE_CHECK_NEVER ? NAN : ck.state == STORE_CHECK_OK;
}

static double store_check_time(void *ud)
{
	struct store_check ck;
	store_check_last(ud, &ck);
	return ck.at_ms ? (double)(ck.at_ms / 1000) : NAN;
}

static double store_demo(void *ud)
{
	int d = store_is_demo(ud);
	return d < 0 ? NAN : d;
}

static void poke(void *ud)
{
	supervise_poke(ud);
}

int daemon_run(const struct config *c, struct store *s, const char *self)
{
	/* Signals go to sigwait below, not to whichever thread is running. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct metrics *m = NULL;
	struct auth *a = NULL;
	struct http *h = NULL;
	struct supervisor *sv = NULL;
	struct outbox *ob = NULL;
	struct chart_pool *charts = NULL;
	struct alert_notifier nf = {0};
	struct web w = {0};
	struct api api = {0};
	bool web_ready = false;
	char err[512];
	int rc = metrics_new(&m);
	if (rc >= 0)
		rc = auth_new(&a, c, s);
	if (rc < 0) {
		log_error("cannot start: %s", strerror(-rc));
		goto out;
	}
	metric_set(metrics_gauge(m, "mizan_start_time_seconds", "When the server started.", NULL),
		   (double)(time_now_ms() / 1000));
	metrics_gauge_read(m, "mizan_db_size_bytes", "Size of the database file.", NULL, store_bytes, s);
	metrics_gauge_read(m, "mizan_store_check_ok",
			   "1 when the last integrity check found the store sound, else 0.", NULL,
			   store_check_ok, s);
	metrics_gauge_read(m, "mizan_store_check_time_seconds", "When the store was last checked.",
			   NULL, store_check_time, s);
	metrics_gauge_read(m, "mizan_store_demo", "1 when the store holds demo data.", NULL,
			   store_demo, s);
	if (*c->gnuplot &&
	    chart_pool_start(&charts, c->gnuplot, c->charts, c->chart_timeout_s, err, sizeof(err)) < 0) {
		log_warn("no charts: %s", err); /* pages and mail go without */
		charts = NULL;
	}
	rc = outbox_start(&ob, c, s);
	if (rc < 0) {
		log_error("cannot start mail delivery");
		goto out;
	}
	if (notice_new(&nf, c, s, charts, err, sizeof(err)) < 0) {
		log_error("cannot start the alert notifier: %s", err);
		rc = -EIO;
		goto out;
	}
	rc = supervise_start(&sv, c, self, c->path, s, m, ob, &nf, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		goto out;
	}
	api = (struct api){.cfg = c, .store = s, .metrics = m, .stored = poke, .stored_ud = sv};
	w = (struct web){.cfg = c, .store = s, .auth = a, .charts = charts};
	if (web_init(&w) < 0) { /* it logged why */
		log_error("cannot read the dashboard templates in %s", c->dashboards);
		rc = -EIO;
		goto out;
	}
	web_ready = true;
	rc = http_new(&h, c, a, m, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		goto out;
	}
	rc = api_register(h, &api);
	if (rc >= 0)
		rc = web_register(h, &w);
	if (rc < 0) {
		log_error("cannot register the routes: %s", strerror(-rc));
		goto out;
	}
	rc = http_start(h, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		goto out;
	}
	char addr[80];
	snprintf(addr, sizeof(addr), "%.*s:%u", (int)(strrchr(c->listen, ':') - c->listen), c->listen,
		 http_port(h));
	log_info("mizan %s listening on http://%s (database %s)", MIZAN_VERSION, addr, c->store_url);
	int sig;
	sigwait(&sigs, &sig);
	log_info("stopping on signal %d", sig);
	rc = 0;
out:
	http_stop(h);
	if (web_ready)
		web_free();
	supervise_stop(sv);
	notice_free(&nf);
	outbox_stop(ob);
	chart_pool_stop(charts);
	auth_free(a);
	metrics_free(m);
	return rc;
}
