/* outbox.c - the thread that delivers the store's outbox. */
#include "notify/outbox.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/time.h"
#include "notify/mail.h"

/* Messages read from the store per round (each is copied, then sent with
 * the store's locks released). */
#define OUTBOX_BATCH 32

int64_t outbox_backoff_ms(const struct config *c, int attempts)
{
	int64_t base = c->mail_backoff_s > 0 ? c->mail_backoff_s : 1;
	int64_t max = c->mail_backoff_max_s > 0 ? c->mail_backoff_max_s : base;
	int64_t d = base;
	for (int i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	return d * 1000;
}

/* ---- one pass -------------------------------------------------------------------- */

struct due {
	int64_t id;
	int attempts;
	char *to, *message;
	size_t len;
};

struct due_list {
	struct due v[OUTBOX_BATCH];
	size_t n;
	bool oom;
};

static int collect(const struct store_mail *m, void *ud)
{
	struct due_list *l = ud;
	if (l->n >= OUTBOX_BATCH)
		return 1;
	struct due *d = &l->v[l->n];
	d->id = m->id;
	d->attempts = m->attempts;
	d->len = m->len;
	d->to = strdup(m->to_addr ? m->to_addr : "");
	d->message = malloc(m->len + 1);
	if (!d->to || !d->message) {
		free(d->to);
		free(d->message);
		l->oom = true;
		return 1;
	}
	if (m->len)
		memcpy(d->message, m->message, m->len);
	d->message[m->len] = '\0';
	l->n++;
	return 0;
}

static void due_free(struct due_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].to);
		free(l->v[i].message);
	}
	l->n = 0;
}

/* Logged once per process: the settings cannot deliver. */
static atomic_int warned_config;

/* Sends one message and records the outcome.  Returns 1 sent, 0 not sent
 * (recorded), -ECANCELED cancelled (nothing recorded: the attempt does not
 * count), or the store's negative errno when the outcome could not be
 * recorded. */
static int deliver_one(const struct config *c, struct store *s, const struct due *d,
		       int64_t now, const atomic_int *cancel)
{
	char err[512], serr[STORE_ERRLEN];
	int permanent = 0;

	int rc = mail_deliver_cancellable(c, d->to, d->message, d->len, cancel, err, sizeof(err),
					  &permanent);
	if (rc == 0) {
		/* The server has the message now.  Until the next statement
		 * commits, a crash leaves it pending and it is sent again on
		 * restart: delivery is at least once, and this is the window. */
		rc = store_outbox_mark(s, d->id, MAIL_SENT, NULL, now, serr);
		if (rc < 0) {
			log_error("mail %lld: sent, but the outbox could not record it (%s); it may be "
				  "sent again",
				  (long long)d->id, serr);
			return rc;
		}
		log_info("mail %lld: sent to %s", (long long)d->id, d->to);
		return 1;
	}
	if (cancel && atomic_load(cancel))
		return -ECANCELED;

	int attempts = d->attempts + 1;
	int limit = c->mail_attempts > 0 ? c->mail_attempts : 1;
	if (permanent || attempts >= limit) {
		char why[600];
		if (permanent)
			snprintf(why, sizeof(why), "%s", err);
		else
			snprintf(why, sizeof(why), "gave up after %d attempts: %s", attempts, err);
		log_error("mail %lld to %s failed for good: %s", (long long)d->id, d->to, why);
		rc = store_outbox_mark(s, d->id, MAIL_FAILED, why, now, serr);
	} else {
		int64_t delay = outbox_backoff_ms(c, attempts);
		int64_t jitter = (int64_t)randombytes_uniform((uint32_t)(delay / 10 + 1));
		log_warn("mail %lld to %s: attempt %d of %d failed: %s; next in %llds", (long long)d->id,
			 d->to, attempts, limit, err, (long long)((delay + jitter) / 1000));
		rc = store_outbox_mark(s, d->id, MAIL_PENDING, err, now + delay + jitter, serr);
	}
	if (rc < 0) {
		log_error("mail %lld: the outbox could not record the attempt: %s", (long long)d->id,
			  serr);
		return rc;
	}
	return 0;
}

static int deliver_due(const struct config *c, struct store *s, int64_t now,
		       const atomic_int *cancel)
{
	char err[512], serr[STORE_ERRLEN];
	if (mail_check_config(c, err, sizeof(err)) < 0) {
		if (!atomic_exchange(&warned_config, 1)) {
			if (!c->smtp_url || !*c->smtp_url)
				log_info("mail: %s; messages stay in the outbox", err);
			else
				log_error("mail: %s; messages stay in the outbox", err);
		}
		return 0;
	}

	int sent = 0;
	for (;;) {
		struct due_list l;
		l.n = 0;
		l.oom = false;
		int rc = store_outbox_due(s, now, OUTBOX_BATCH, collect, &l, serr);
		if (rc < 0) {
			due_free(&l);
			log_error("mail: cannot read the outbox: %s", serr);
			return sent ? sent : rc;
		}
		if (l.oom)
			log_error("mail: out of memory reading the outbox");
		bool go_on = l.n == OUTBOX_BATCH;
		for (size_t i = 0; i < l.n; i++) {
			if (cancel && atomic_load(cancel)) {
				go_on = false;
				break;
			}
			int r = deliver_one(c, s, &l.v[i], now, cancel);
			if (r > 0)
				sent++;
			else if (r < 0)
				go_on = false; /* the store is failing, or we are stopping */
		}
		due_free(&l);
		if (!go_on)
			break;
	}
	return sent;
}

int outbox_deliver_due(const struct config *c, struct store *s, int64_t now_ms)
{
	return deliver_due(c, s, now_ms, NULL);
}

/* ---- the thread ------------------------------------------------------------------ */

struct outbox {
	const struct config *c;
	struct store *s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool poked;
	atomic_int stop;
};

static void *outbox_thread(void *arg)
{
	struct outbox *o = arg;
	int poll = o->c->mail_poll_s > 0 ? o->c->mail_poll_s : 5;

	pthread_mutex_lock(&o->mu);
	while (!atomic_load(&o->stop)) {
		o->poked = false;
		pthread_mutex_unlock(&o->mu);
		deliver_due(o->c, o->s, time_now_ms(), &o->stop);
		pthread_mutex_lock(&o->mu);
		struct timespec ts = time_mono_after(poll);
		while (!o->poked && !atomic_load(&o->stop))
			if (pthread_cond_timedwait(&o->cv, &o->mu, &ts) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

int outbox_start(struct outbox **out, const struct config *c, struct store *s)
{
	struct outbox *o = calloc(1, sizeof(*o));
	*out = NULL;
	if (!o) {
		log_error("mail: out of memory starting the outbox");
		return -ENOMEM;
	}
	o->c = c;
	o->s = s;
	atomic_init(&o->stop, 0);
	int rc = time_cond_init(&o->cv);
	if (rc < 0) {
		free(o);
		log_error("mail: cannot start the outbox: %s", strerror(-rc));
		return rc;
	}
	pthread_mutex_init(&o->mu, NULL);
	rc = pthread_create(&o->thread, NULL, outbox_thread, o);
	if (rc != 0) {
		pthread_cond_destroy(&o->cv);
		pthread_mutex_destroy(&o->mu);
		free(o);
		log_error("mail: cannot start the outbox thread: %s", strerror(rc));
		return -rc;
	}
	*out = o;
	return 0;
}

void outbox_poke(struct outbox *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->poked = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

void outbox_stop(struct outbox *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	atomic_store(&o->stop, 1);
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
