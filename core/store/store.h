/* store.h - where events, figures, alerts, mail, tokens and notes live.
 *
 * The one interface the layers above see.  It names no backend: a store is
 * opened from a URL whose scheme picks the backend ("sqlite:PATH", or a bare
 * PATH, for the embedded SQLite file; see store_open), and store/store.c
 * hands each call to that backend (store/backend.h says what one implements).
 *
 * Transactions stay inside the store: each function that writes is one
 * transaction, whole or not at all, and the store serialises writers as its
 * backend needs.  Callers hold no lock and open no transaction, and must not
 * rely on how writers are ordered beyond what a function promises.
 *
 * Threads: every function may be called from any thread at once, except
 * store_open and store_close (no other call on the same store may be in
 * flight during store_close).  A callback runs on the calling thread, inside
 * the call, while the store reads: it may call the store's write functions,
 * not its reading ones (those would wait for the read in progress).
 *
 * Ownership: the store keeps no pointer it is given once the call returns
 * (it copies what it stores), and every pointer a callback receives
 * (strings, events, structs) is valid only during that callback: copy what
 * must outlive it.  A pointer passed in may be NULL only where a comment
 * says so.  The handle store_open gives is the caller's until store_close.
 *
 * Errors: a function returns 0 (or a count, or what it is documented to
 * return) on success, and a negative errno value on failure, with one
 * sentence in `err` (the caller's buffer of STORE_ERRLEN bytes; `err` may be
 * NULL when the caller does not want it).  -ENOSPC means the disk is full,
 * -EROFS that the store cannot be written, -EBUSY that a lock was not had in
 * time, -EPROTO a schema this build does not know, -EPROTONOSUPPORT an unknown
 * scheme, -EIO anything else the store refused.  A walk (the *_each
 * functions, store_get_events, store_scan) returns 0 at its end, or the
 * nonzero value a callback returned to stop it; a callback that stops a walk
 * should return a positive value, so that it is not taken for a failure.
 */
#ifndef MIZAN_STORE_H
#define MIZAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "model/event.h"

#define STORE_ERRLEN 256

struct store;

/* What every backend understands; each maps them onto its own knobs. */
struct store_opts {
	bool sync_full;      /* every commit on disk when it returns (true), or it may be
			      * lost to a power failure, not to a crash (false) */
	int cache_mib;       /* memory for cached pages, per connection */
	int busy_timeout_ms; /* how long to wait for a lock another writer holds */
	bool scans;          /* this handle will read much of the store (evaluation) */
};

/* The options the configuration's store section asks for. */
struct store_opts store_opts_from_config(const struct config *c, bool scans);

/* A private store that lives as long as its handle: for tests and
 * `mizan test-kpi`. */
#define STORE_URL_SCRATCH "sqlite::memory:"

/* Opens (creating and migrating as needed) the store at url:
 *   sqlite:PATH        the SQLite file PATH (created if missing)
 *   sqlite::memory:    a private store in memory, gone at store_close
 *   PATH               a bare path: the same as sqlite:PATH
 * A url is read as SCHEME:REST when it starts with a letter followed by
 * letters, digits, '+', '-' or '.' up to its first ':'; anything else is a
 * bare path ("./a:b.db" is one).  An unknown scheme is refused with
 * -EPROTONOSUPPORT and a message naming it.  o may be NULL (defaults: the
 * shipped configuration's).  url and o are read only during the call.  On
 * success *out is the caller's, to give back with store_close; on failure it
 * is NULL. */
int store_open(struct store **out, const char *url, const struct store_opts *o, char *err);
/* Closes the store and frees it (NULL: nothing).  No other call on s may be
 * in flight or follow. */
void store_close(struct store *s);

/* The schema version this build writes. */
#define STORE_SCHEMA_VERSION 7

/* How the store is, into the caller's *h: its schema (found, and expected
 * by this build), whether it answers with the expected schema, its size in
 * bytes and how many events it holds.  Counts events: use it where that is
 * affordable (a check, a status page), not per request.  0 when the figures
 * were read (h->ok false, and a sentence in err, when the schema is not the
 * expected one), or a negative errno (h->ok false, and the figures that
 * could not be read -1). */
struct store_health {
	int schema, expected_schema;
	bool ok;
	int64_t bytes, events;
};
int store_health(struct store *s, struct store_health *h, char *err);

/* ---- integrity and demo data ------------------------------------------------- */

enum store_check_state { STORE_CHECK_NEVER, STORE_CHECK_OK, STORE_CHECK_DAMAGED, STORE_CHECK_FAILED };
struct store_check {
	enum store_check_state state;
	int64_t at_ms;             /* when the last check ended (0: never) */
	char detail[STORE_ERRLEN]; /* what it found damaged, or why it could not run */
};
/* Checks the store's integrity (SQLite: PRAGMA quick_check, on a connection
 * of its own, so reads and writes go on meanwhile).  0 when it is sound;
 * -EUCLEAN when it is damaged, with what was found in err; another negative
 * errno when the check could not run.  The outcome is kept for
 * store_check_last.  Slow (reads the whole store); any thread. */
int store_check(struct store *s, char *err);
/* The outcome of the last store_check, into *out.  Cheap; any thread. */
void store_check_last(struct store *s, struct store_check *out);
/* Marks the store as holding demo data, for good (the mark stays whatever
 * is stored after it).  0, or a negative errno with err filled. */
int store_demo_mark(struct store *s, char *err);
/* 1 when the store holds demo data, 0 when not, or a negative errno.  Cheap;
 * any thread. */
int store_is_demo(struct store *s);
/* The schema version found in the store, or a negative errno.  Cheap. */
int store_schema_version(struct store *s);
/* The store's size in bytes, or a negative errno.  Cheap. */
int64_t store_size_bytes(struct store *s);
/* How many events are stored, or a negative errno.  Reads every event's key. */
int64_t store_count_events(struct store *s);

/* ---- events ------------------------------------------------------------------- */

/* Stores the batch (ev[0..n), read during the call) whole or not at all.  An
 * event whose id is already stored (or appears earlier in the same batch)
 * is counted as a duplicate and not stored again.  Marks the (kind, UTC day)
 * pairs of the stored events dirty and records their sources, in the same
 * transaction.  On success the batch is durable as the store's sync_full
 * promises and *res (the caller's) says what was stored; on failure nothing
 * was. */
struct store_put_result {
	size_t accepted, duplicates;
	size_t accepted_by_kind[EV_NKINDS], duplicates_by_kind[EV_NKINDS];
};
int store_put_events(struct store *s, const struct event *ev, size_t n,
		     struct store_put_result *res, char *err);

struct store_query {
	int kind;            /* -1: any */
	int64_t from_ms;     /* inclusive; INT64_MIN: unbounded */
	int64_t to_ms;       /* exclusive; INT64_MAX: unbounded */
	const char *mission; /* NULL: any */
	int limit;
};

/* Calls cb for each matching event in time order (of arrival among equal
 * times).  The event and its strings are valid only during the call. */
int store_get_events(struct store *s, const struct store_query *q,
		     int (*cb)(const struct event *e, void *ud), void *ud, char *err);

/* Every event of one kind with from_ms <= ts < to_ms, in time order, for
 * evaluation (attrs left out).  As store_get_events otherwise. */
int store_scan(struct store *s, int kind, int64_t from_ms, int64_t to_ms,
	       int (*cb)(const struct event *e, void *ud), void *ud, char *err);

/* Ingest marks the (kind, UTC day) pairs it touched as dirty, each with a
 * change number the store allocates inside the writing transaction (so
 * numbers become visible in the order they were allocated, whatever the
 * backend's concurrency).  Evaluation reads the marks, recomputes, and hands
 * *upto (the highest change number read; -1 when there was no mark) to
 * store_results_write, which clears the marks up to it: a mark made or
 * renewed meanwhile carries a higher number and survives.  cb gets each
 * dirty (kind, day) once, oldest change first. */
int store_dirty_read(struct store *s, int64_t *upto,
		     void (*cb)(int kind, int64_t day, void *ud), void *ud, char *err);

/* Each (kind, mission) that sent events: the first and newest event times
 * and how many.  Strings valid during the callback. */
struct store_source {
	int kind;
	const char *mission;
	int64_t first_ms, last_ms, count;
};
int store_sources_each(struct store *s, int (*cb)(const struct store_source *src, void *ud),
		       void *ud, char *err);

/* ---- figures, reported values, KPI status and targets ---------------------------- */

/* One computed figure of a KPI for a period and a slice.  dim and slice are
 * "" for the whole; extra is a JSON object or NULL; note may be NULL. */
struct store_result {
	const char *kpi, *period, *dim, *slice;
	int pkind;        /* enum period_kind */
	int64_t start_ms; /* the period's start */
	double value;     /* NaN: no figure */
	double n;
	const char *extra, *note, *provenance;
	int64_t computed_ms, run;
};

struct store_result_key {
	const char *kpi, *period;
};

/* In one transaction: allocates the evaluation's run number, drops the
 * results of every (kpi, period) in cleared, stores rows (each stamped with
 * the run number; their own `run` is not read), and clears the dirty marks
 * up to dirty_upto (-1: none; see store_dirty_read).  Everything is read
 * during the call.  *run (may be NULL) gets the run number, or 0 when
 * nothing was cleared or stored (no number is used then).  Run numbers
 * grow, and two writers never get the same one. */
int store_results_write(struct store *s, const struct store_result_key *cleared, size_t ncleared,
			const struct store_result *rows, size_t n, int64_t dirty_upto,
			int64_t *run, char *err);

/* ---- fold states: incremental evaluation ------------------------------------------ */

/* Events are numbered as they are stored (1, 2, ...), inside the writing
 * transaction: a number becomes visible only with every smaller one.  The
 * highest number stored (0: none), or a negative errno. */
int64_t store_events_last_seq(struct store *s, char *err);

/* Every event of one kind with after_seq < number <= upto_seq and
 * from_ms <= ts < to_ms (attrs left out): in time order when by_time (then
 * as store_scan), else in the order they were stored (what a batch added:
 * the number range is read through its key).  As store_scan otherwise. */
int store_scan_seq(struct store *s, int kind, int64_t from_ms, int64_t to_ms, int64_t after_seq,
		   int64_t upto_seq, bool by_time, int (*cb)(const struct event *e, void *ud),
		   void *ud, char *err);

/* A KPI's partial state for one scope (a number the evaluation gives: a
 * day, a period) and one slice (dim and slice "" for the whole): opaque
 * bytes the evaluation serialised. */
struct store_fold_state {
	int64_t scope;
	const char *dim, *slice;
	const void *data;
	size_t len;
};

/* What a KPI's states were made by (its signature: indicator, version,
 * parameters, zone, ...) and the event number they include up to.  1 found
 * (the signature copied into sig[siglen], cut to fit), 0 none, or a
 * negative errno. */
int store_fold_meta_get(struct store *s, const char *kpi, char *sig, size_t siglen,
			int64_t *upto_seq, char *err);

/* Calls cb with each state of kpi whose scope is in [scope_from, scope_to],
 * by scope, dim and slice. */
int store_fold_states_each(struct store *s, const char *kpi, int64_t scope_from, int64_t scope_to,
			   int (*cb)(const struct store_fold_state *st, void *ud), void *ud,
			   char *err);

/* The states one evaluation writes for one KPI: with reset, every state the
 * KPI had is dropped first; then states[0..nstates) replace those of the
 * same (scope, dim, slice), and the KPI's signature and event number are
 * set. */
struct store_fold_write {
	const char *kpi, *signature;
	int64_t upto_seq;
	bool reset;
	const struct store_fold_state *states;
	size_t nstates;
};

/* store_results_write, and in the same transaction the fold states
 * folds[0..nfolds): the figures and the states they came from are stored
 * together or not at all. */
int store_results_write_folds(struct store *s, const struct store_result_key *cleared,
			      size_t ncleared, const struct store_result *rows, size_t n,
			      int64_t dirty_upto, const struct store_fold_write *folds,
			      size_t nfolds, int64_t *run, char *err);

struct store_result_query {
	const char *kpi;          /* NULL: every KPI */
	int pkind;                /* -1: any */
	const char *dim;          /* NULL: any; "" the whole */
	const char *slice;        /* NULL: any */
	int64_t from_ms, to_ms;   /* on the period's start; INT64_MIN / INT64_MAX: unbounded */
	bool latest;              /* only the latest period per KPI (of the whole) */
};
/* Calls cb with each stored figure that matches, by kpi, period kind, start,
 * dim and slice.  The row's strings are valid during the callback. */
int store_results_each(struct store *s, const struct store_result_query *q,
		       int (*cb)(const struct store_result *r, void *ud), void *ud, char *err);
/* The highest run number a stored figure carries (0: none), or a negative
 * errno. */
int64_t store_results_max_run(struct store *s);

/* A value people report for a KPI (v's kpi, period, pkind, start_ms, dim,
 * slice, value and note), kept with who and when; the newest wins. */
int store_value_add(struct store *s, const struct store_result *v, const char *who, char *err);
/* The newest reported value per (kpi, period, dim, slice), as results whose
 * provenance is "reported by WHO" (n is 1, run the value's id).  As
 * store_results_each otherwise. */
int store_values_each(struct store *s, const struct store_result_query *q,
		      int (*cb)(const struct store_result *r, void *ud), void *ud, char *err);

/* Whether a KPI's last evaluation failed, and why (error NULL: it did not);
 * and the event kinds its indicator reads (a MIZAN_KIND_BIT mask; 0 leaves
 * it as it was). */
int store_kpi_status_set(struct store *s, const char *kpi, const char *error, unsigned kinds,
			 char *err);
/* The kinds recorded for a KPI (0 when unknown, or when it cannot be read). */
unsigned store_kpi_kinds(struct store *s, const char *kpi);
/* Calls cb with each KPI's status (error NULL when it did not fail). */
int store_kpi_status_each(struct store *s, void (*cb)(const char *kpi, const char *error,
						       int64_t at_ms, void *ud),
			  void *ud, char *err);

/* Targets set by editors (the configuration holds the defaults).
 * store_target_get fills the caller's *t: 1 found, 0 none, or a negative
 * errno. */
int store_target_get(struct store *s, const char *kpi, const char *period, struct target *t,
		     char *err);
/* Sets a target and writes its audit entry (old and new as JSON, reason;
 * each may be NULL) in one transaction. */
int store_target_put(struct store *s, const char *kpi, const char *period, const struct target *t,
		     const char *who, const char *old_json, const char *new_json, const char *reason,
		     char *err);

/* A number that changes whenever figures, reported values, targets (the
 * audit log) or notes change: what cached pages are keyed by.  It comes
 * from a counter the store advances inside each such write, so it never
 * goes back and does not depend on how rows are numbered.  0 or more, or a
 * negative errno. */
int64_t store_data_version(struct store *s);

/* ---- the audit log --------------------------------------------------------------- */

/* Who changed what, when, from what to what, and why (old, new_ and reason
 * may be NULL).  store_audit_add ignores id and at_ms (the store sets them). */
struct store_audit {
	int64_t id, at_ms;
	const char *who, *action, *object, *old, *new_, *reason;
};
int store_audit_add(struct store *s, const struct store_audit *a, char *err);
/* The newest `limit` entries, newest first. */
int store_audit_each(struct store *s, int limit, int (*cb)(const struct store_audit *a, void *ud),
		     void *ud, char *err);

/* ---- alerts, silences and the outbox --------------------------------------------- */

struct store_mail;

/* Alerts: one row per (kpi, period, dim, slice, kind) with its state. */
struct store_alert {
	int64_t id;
	const char *kpi, *period, *dim, *slice;
	const char *kind;  /* "target" or "stale" */
	const char *state; /* "ok", "at_risk", "missed", "stale" */
	int64_t since_ms;
	const char *pending; /* a state waiting out alerts.min_state_s, or NULL */
	int64_t pending_since_ms;
	double value, target, forecast; /* NaN: none */
	const char *detail; /* JSON: status, forecast method and inputs, ... (or NULL) */
	int64_t notified_ms; /* 0: never */
	const char *acked_by; /* NULL: not acknowledged */
	int64_t acked_ms;
	const char *ack_comment;
};

/* Calls cb with the alert of that key, if there is one. */
int store_alert_get(struct store *s, const char *kpi, const char *period, const char *dim,
		    const char *slice, const char *kind,
		    int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
/* Writes the alert (by its key; a->id is not read), a history entry when
 * old_state is not NULL (the state changed from it; the acknowledgement is
 * then dropped), and its messages (mails[0..nmails), their alert set to this
 * one), in one transaction: a state change and the mail announcing it are
 * stored together or not at all.  *id (not NULL) gets the alert's id. */
int store_alert_put(struct store *s, const struct store_alert *a, const char *old_state,
		    const struct store_mail *mails, size_t nmails, int64_t *id, char *err);

struct store_alert_query {
	const char *kpi;   /* NULL: any */
	const char *state; /* NULL: any; "active": any but ok */
	int64_t id;        /* 0: any */
	int limit;         /* 0 or less: 1000 */
};
/* Matching alerts, newest state first. */
int store_alerts_each(struct store *s, const struct store_alert_query *q,
		      int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
/* State changes (of kpi; NULL: every KPI), newest first, at most limit (0 or
 * less: 1000): a->state is the new state, a->pending the old, a->since_ms
 * when. */
int store_alert_history_each(struct store *s, const char *kpi, int limit,
			     int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
/* Acknowledges an alert (stops repeats; comment may be NULL) and audits it.
 * -ENOENT: no such alert. */
int store_alert_ack(struct store *s, int64_t id, const char *who, const char *comment, char *err);

struct store_silence {
	int64_t id;
	const char *kpi, *dim, *slice; /* NULL: any */
	int64_t until_ms, created_ms;
	const char *who, *comment;     /* comment may be NULL */
};
/* Adds a silence (si->id and created_ms are not read) and audits it; *id
 * (not NULL) gets its id. */
int store_silence_add(struct store *s, const struct store_silence *si, int64_t *id, char *err);
/* Silences in force at `at` (INT64_MIN: all), newest first. */
int store_silences_each(struct store *s, int64_t at,
			int (*cb)(const struct store_silence *si, void *ud), void *ud, char *err);

/* The outbox: messages written with the alert change that caused them,
 * delivered later, retried, never dropped. */
struct store_mail {
	int64_t id, alert;
	const char *to_addr, *subject;
	const char *message; /* the whole RFC 5322 message, len bytes (not NUL-terminated) */
	size_t len;
	int attempts;
	int64_t created_ms, next_ms, sent_ms;
	const char *status, *last_error; /* store_outbox_each only */
};
enum store_mail_status { MAIL_PENDING, MAIL_SENT, MAIL_FAILED };

/* Adds a pending message (m's to_addr, subject, message and len; alert: the
 * alert it is about, or 0), due now. */
int store_outbox_add(struct store *s, const struct store_mail *m, int64_t alert, char *err);
/* Pending messages whose next attempt is due at now_ms, oldest first, at
 * most limit; each with its message. */
int store_outbox_due(struct store *s, int64_t now_ms, int limit,
		     int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err);
/* Records an attempt: sent, failed for good, or pending again at
 * next_attempt (error may be NULL). */
int store_outbox_mark(struct store *s, int64_t id, enum store_mail_status status,
		      const char *error, int64_t next_attempt, char *err);
/* Messages, newest first (status NULL: all), at most limit, without their
 * message text. */
int store_outbox_each(struct store *s, const char *status, int limit,
		      int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err);

/* ---- tokens, sessions and notes -------------------------------------------------- */

/* Tokens: only the SHA-256 of a secret is stored. */
struct store_token {
	const char *name;
	enum role role;
	const unsigned char *hash; /* 32 bytes */
	int64_t created_ms;
};
/* -EEXIST when a token has that name already. */
int store_token_add(struct store *s, const char *name, enum role role, const unsigned char hash[32],
		    char *err);
/* -ENOENT when no token has that name. */
int store_token_revoke(struct store *s, const char *name, char *err);
/* Every token, by name. */
int store_token_each(struct store *s, int (*cb)(const struct store_token *t, void *ud), void *ud,
		     char *err);

/* A signed-in session: the store keeps only the SHA-256 of its id. */
struct store_session {
	char name[64];
	enum role role;
	char csrf[64];
	int64_t expires_ms;
};
/* Adds a session (and drops expired ones). */
int store_session_add(struct store *s, const unsigned char hash[32], const char *name,
		      enum role role, const char *csrf, int64_t expires_ms, char *err);
/* 1 found and unexpired at `now` (copied into the caller's *out), 0 none,
 * or a negative errno. */
int store_session_get(struct store *s, const unsigned char hash[32], int64_t now,
		      struct store_session *out, char *err);
/* Deleting a session that is not there is not an error. */
int store_session_delete(struct store *s, const unsigned char hash[32], char *err);

/* The notes editors record per goal and quarter (or year): every save is
 * kept with who and when; the newest is the goal's note.  store_note_add
 * ignores id and at_ms; difficulties and solutions NULL are stored as "". */
struct store_note {
	int64_t id;
	const char *goal, *period, *difficulties, *solutions, *who;
	int64_t at_ms;
};
int store_note_add(struct store *s, const struct store_note *n, char *err);
/* Calls cb with the newest note of (goal, period), if there is one: returns
 * 0 when there is none, else what cb returned. */
int store_note_get(struct store *s, const char *goal, const char *period,
		   int (*cb)(const struct store_note *n, void *ud), void *ud, char *err);

#endif
