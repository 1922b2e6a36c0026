/* store.c - the public functions of store.h: pick a backend by the URL's
 * scheme, then hand every call to it (see backend.h). */
#include "store/backend.h"
#include "util/time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct store_ops *const backends[] = {&store_sqlite_ops};

/* Every call gives the backend a writable, empty sentence buffer, and makes
 * sure a failure comes back with a sentence in it. */
#define ERR_IN(err)                                                                                \
	char err_local_[STORE_ERRLEN];                                                             \
	if (!(err))                                                                                \
		(err) = err_local_;                                                                \
	(err)[0] = '\0'

static int64_t err_out(int64_t rc, char *err)
{
	if (rc < 0 && !err[0]) {
		char buf[128];
		snprintf(err, STORE_ERRLEN, "%s", strerror_r((int)-rc, buf, sizeof(buf)));
	}
	return rc;
}

struct store_opts store_opts_from_config(const struct config *c, bool scans)
{
	return (struct store_opts){
		.sync_full = strcmp(c->synchronous, "full") == 0,
		.cache_mib = c->cache_mib,
		.busy_timeout_ms = c->busy_timeout_ms,
		.scans = scans,
	};
}

/* The length of url's scheme (up to its first ':'), or 0 when it has none:
 * then it is a bare path. */
static size_t scheme_len(const char *url)
{
	if (!isalpha((unsigned char)url[0]))
		return 0;
	size_t n = 1;
	while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return url[n] == ':' ? n : 0;
}

int store_open(struct store **out, const char *url, const struct store_opts *o, char *err)
{
	static const struct store_opts defaults = {
		.sync_full = true, .cache_mib = 16, .busy_timeout_ms = 5000};
	ERR_IN(err);
	*out = NULL;
	if (!url || !*url) {
		snprintf(err, STORE_ERRLEN, "no store given (a URL such as sqlite:PATH, or a path)");
		return -EINVAL;
	}
	size_t n = scheme_len(url);
	const struct store_ops *ops = backends[0]; /* a bare path: the embedded default */
	const char *target = url;
	if (n) {
		ops = NULL;
		for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
			if (strlen(backends[i]->scheme) == n && strncmp(backends[i]->scheme, url, n) == 0)
				ops = backends[i];
		if (!ops) {
			int w = snprintf(err, STORE_ERRLEN, "unknown store scheme '%.*s' (this build knows",
					 (int)(n > 64 ? 64 : n), url);
			for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
				if (w >= 0 && (size_t)w < STORE_ERRLEN)
					w += snprintf(err + w, STORE_ERRLEN - (size_t)w, " %s:",
						      backends[i]->scheme);
			if (w >= 0 && (size_t)w < STORE_ERRLEN)
				snprintf(err + w, STORE_ERRLEN - (size_t)w, ")");
			return -EPROTONOSUPPORT;
		}
		target = url + n + 1;
	}
	int rc = ops->open(out, target, o ? o : &defaults, err);
	if (rc < 0)
		*out = NULL;
	else
		pthread_mutex_init(&(*out)->check_lock, NULL);
	return (int)err_out(rc, err);
}

void store_close(struct store *s)
{
	if (s) {
		pthread_mutex_destroy(&s->check_lock);
		s->ops->close(s);
	}
}

int store_check(struct store *s, char *err)
{
	ERR_IN(err);
	int rc = (int)err_out(s->ops->check(s, err), err);
	pthread_mutex_lock(&s->check_lock);
	s->last_check.state = rc == 0 ? STORE_CHECK_OK : rc == -EUCLEAN ? STORE_CHECK_DAMAGED
								       : STORE_CHECK_FAILED;
	s->last_check.at_ms = time_now_ms();
	snprintf(s->last_check.detail, sizeof(s->last_check.detail), "%s", rc == 0 ? "" : err);
	pthread_mutex_unlock(&s->check_lock);
	return rc;
}

void store_check_last(struct store *s, struct store_check *out)
{
	pthread_mutex_lock(&s->check_lock);
	*out = s->last_check;
	pthread_mutex_unlock(&s->check_lock);
}

int store_demo_mark(struct store *s, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->demo_mark(s, err), err);
}

int store_is_demo(struct store *s)
{
	char *err = NULL;
	ERR_IN(err);
	return s->ops->is_demo(s, err);
}

int store_health(struct store *s, struct store_health *h, char *err)
{
	ERR_IN(err);
	*h = (struct store_health){.schema = -1, .expected_schema = STORE_SCHEMA_VERSION,
				   .bytes = -1, .events = -1};
	int rc = s->ops->schema_version(s, err);
	if (rc < 0)
		return (int)err_out(rc, err);
	h->schema = rc;
	int64_t v = s->ops->size_bytes(s, err);
	if (v < 0)
		return (int)err_out(v, err);
	h->bytes = v;
	if ((v = s->ops->count_events(s, err)) < 0)
		return (int)err_out(v, err);
	h->events = v;
	h->ok = h->schema == h->expected_schema;
	if (!h->ok)
		snprintf(err, STORE_ERRLEN, "the store has schema version %d; this build expects %d",
			 h->schema, h->expected_schema);
	return 0;
}

int store_schema_version(struct store *s)
{
	char *err = NULL;
	ERR_IN(err);
	return s->ops->schema_version(s, err);
}

int64_t store_size_bytes(struct store *s)
{
	char *err = NULL;
	ERR_IN(err);
	return s->ops->size_bytes(s, err);
}

int64_t store_count_events(struct store *s)
{
	char *err = NULL;
	ERR_IN(err);
	return s->ops->count_events(s, err);
}

/* ---- events ----------------------------------------------------------------------- */

int store_put_events(struct store *s, const struct event *ev, size_t n,
		     struct store_put_result *res, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->put_events(s, ev, n, res, err), err);
}

int store_get_events(struct store *s, const struct store_query *q, int (*cb)(const struct event *e,
		     void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->get_events(s, q, cb, ud, err), err);
}

int store_scan(struct store *s, int kind, int64_t from_ms, int64_t to_ms,
	       int (*cb)(const struct event *e, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->scan(s, kind, from_ms, to_ms, cb, ud, err), err);
}

int store_dirty_read(struct store *s, int64_t *upto, void (*cb)(int kind, int64_t day, void *ud),
		     void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->dirty_read(s, upto, cb, ud, err), err);
}

int store_sources_each(struct store *s, int (*cb)(const struct store_source *src, void *ud),
		       void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->sources_each(s, cb, ud, err), err);
}

/* ---- figures, reported values, KPI status and targets ---------------------------- */

int store_results_write(struct store *s, const struct store_result_key *cleared, size_t ncleared,
			const struct store_result *rows, size_t n, int64_t dirty_upto,
			int64_t *run, char *err)
{
	int64_t local_run;
	ERR_IN(err);
	if (!run)
		run = &local_run;
	*run = 0;
	return (int)err_out(s->ops->results_write(s, cleared, ncleared, rows, n, dirty_upto, NULL,
						  0, run, err),
			    err);
}

int store_results_write_folds(struct store *s, const struct store_result_key *cleared,
			      size_t ncleared, const struct store_result *rows, size_t n,
			      int64_t dirty_upto, const struct store_fold_write *folds,
			      size_t nfolds, int64_t *run, char *err)
{
	int64_t local_run;
	ERR_IN(err);
	if (!run)
		run = &local_run;
	*run = 0;
	return (int)err_out(s->ops->results_write(s, cleared, ncleared, rows, n, dirty_upto, folds,
						  nfolds, run, err),
			    err);
}

int64_t store_events_last_seq(struct store *s, char *err)
{
	ERR_IN(err);
	return err_out(s->ops->events_last_seq(s, err), err);
}

int store_scan_seq(struct store *s, int kind, int64_t from_ms, int64_t to_ms, int64_t after_seq,
		   int64_t upto_seq, bool by_time, int (*cb)(const struct event *e, void *ud),
		   void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->scan_seq(s, kind, from_ms, to_ms, after_seq, upto_seq, by_time,
					     cb, ud, err),
			    err);
}

int store_fold_meta_get(struct store *s, const char *kpi, char *sig, size_t siglen,
			int64_t *upto_seq, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->fold_meta_get(s, kpi, sig, siglen, upto_seq, err), err);
}

int store_fold_states_each(struct store *s, const char *kpi, int64_t scope_from, int64_t scope_to,
			   int (*cb)(const struct store_fold_state *st, void *ud), void *ud,
			   char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->fold_states_each(s, kpi, scope_from, scope_to, cb, ud, err),
			    err);
}

int store_results_each(struct store *s, const struct store_result_query *q,
		       int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->results_each(s, q, cb, ud, err), err);
}

int64_t store_results_max_run(struct store *s)
{
	char *err = NULL;
	ERR_IN(err);
	return s->ops->results_max_run(s, err);
}

int store_value_add(struct store *s, const struct store_result *v, const char *who, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->value_add(s, v, who, err), err);
}

int store_values_each(struct store *s, const struct store_result_query *q,
		      int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->values_each(s, q, cb, ud, err), err);
}

int store_kpi_status_set(struct store *s, const char *kpi, const char *error, unsigned kinds,
			 char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->kpi_status_set(s, kpi, error, kinds, err), err);
}

unsigned store_kpi_kinds(struct store *s, const char *kpi)
{
	return s->ops->kpi_kinds(s, kpi);
}

int store_kpi_status_each(struct store *s,
			  void (*cb)(const char *kpi, const char *error, int64_t at_ms, void *ud),
			  void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->kpi_status_each(s, cb, ud, err), err);
}

int store_target_get(struct store *s, const char *kpi, const char *period, struct target *t,
		     char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->target_get(s, kpi, period, t, err), err);
}

int store_target_put(struct store *s, const char *kpi, const char *period, const struct target *t,
		     const char *who, const char *old_json, const char *new_json,
		     const char *reason, char *err)
{
	ERR_IN(err);
	return (int)err_out(
		s->ops->target_put(s, kpi, period, t, who, old_json, new_json, reason, err), err);
}

int64_t store_data_version(struct store *s)
{
	char *err = NULL;
	ERR_IN(err);
	return s->ops->data_version(s, err);
}

/* ---- the audit log --------------------------------------------------------------- */

int store_audit_add(struct store *s, const struct store_audit *a, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->audit_add(s, a, err), err);
}

int store_audit_each(struct store *s, int limit, int (*cb)(const struct store_audit *a, void *ud),
		     void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->audit_each(s, limit, cb, ud, err), err);
}

/* ---- alerts, silences and the outbox --------------------------------------------- */

int store_alert_get(struct store *s, const char *kpi, const char *period, const char *dim,
		    const char *slice, const char *kind,
		    int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->alert_get(s, kpi, period, dim, slice, kind, cb, ud, err), err);
}

int store_alert_put(struct store *s, const struct store_alert *a, const char *old_state,
		    const struct store_mail *mails, size_t nmails, int64_t *id, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->alert_put(s, a, old_state, mails, nmails, id, err), err);
}

int store_alerts_each(struct store *s, const struct store_alert_query *q,
		      int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->alerts_each(s, q, cb, ud, err), err);
}

int store_alert_history_each(struct store *s, const char *kpi, int limit,
			     int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->alert_history_each(s, kpi, limit, cb, ud, err), err);
}

int store_alert_ack(struct store *s, int64_t id, const char *who, const char *comment, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->alert_ack(s, id, who, comment, err), err);
}

int store_silence_add(struct store *s, const struct store_silence *si, int64_t *id, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->silence_add(s, si, id, err), err);
}

int store_silences_each(struct store *s, int64_t at,
			int (*cb)(const struct store_silence *si, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->silences_each(s, at, cb, ud, err), err);
}

int store_outbox_add(struct store *s, const struct store_mail *m, int64_t alert, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->outbox_add(s, m, alert, err), err);
}

int store_outbox_due(struct store *s, int64_t now_ms, int limit,
		     int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->outbox_due(s, now_ms, limit, cb, ud, err), err);
}

int store_outbox_mark(struct store *s, int64_t id, enum store_mail_status status,
		      const char *error, int64_t next_attempt, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->outbox_mark(s, id, status, error, next_attempt, err), err);
}

int store_outbox_each(struct store *s, const char *status, int limit,
		      int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->outbox_each(s, status, limit, cb, ud, err), err);
}

/* ---- tokens, sessions and notes -------------------------------------------------- */

int store_token_add(struct store *s, const char *name, enum role role,
		    const unsigned char hash[32], char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->token_add(s, name, role, hash, err), err);
}

int store_token_revoke(struct store *s, const char *name, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->token_revoke(s, name, err), err);
}

int store_token_each(struct store *s, int (*cb)(const struct store_token *t, void *ud), void *ud,
		     char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->token_each(s, cb, ud, err), err);
}

int store_session_add(struct store *s, const unsigned char hash[32], const char *name,
		      enum role role, const char *csrf, int64_t expires_ms, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->session_add(s, hash, name, role, csrf, expires_ms, err), err);
}

int store_session_get(struct store *s, const unsigned char hash[32], int64_t now,
		      struct store_session *out, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->session_get(s, hash, now, out, err), err);
}

int store_session_delete(struct store *s, const unsigned char hash[32], char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->session_delete(s, hash, err), err);
}

int store_note_add(struct store *s, const struct store_note *n, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->note_add(s, n, err), err);
}

int store_note_get(struct store *s, const char *goal, const char *period,
		   int (*cb)(const struct store_note *n, void *ud), void *ud, char *err)
{
	ERR_IN(err);
	return (int)err_out(s->ops->note_get(s, goal, period, cb, ud, err), err);
}
