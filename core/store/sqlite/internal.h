/* internal.h - what the files of the SQLite backend share (private to
 * core/store/sqlite).
 *
 * The files, by job: sqlite.c opens and closes the store and holds the
 * helpers below and the table of entries; schema.c the migrations and the
 * store's health; events.c events, dirty marks and sources; results.c
 * figures, reported values, KPI status, targets and the data version;
 * alerts.c alerts, silences and the outbox; records.c tokens, sessions,
 * notes and the audit log.
 *
 * Connections and locks: one writer connection (w) under wlock, on which
 * every write runs as one BEGIN IMMEDIATE ... COMMIT (sq_tx_begin ...
 * sq_tx_commit); one reader connection (r) under rlock, so that in WAL mode
 * reads never wait for a writer.  A private in-memory store has a single
 * connection: r is w, reads take wlock, and wlock is recursive, so that a
 * callback of a read may write.  Other processes (the evaluation worker,
 * the command line) open their own connections; SQLite's file lock
 * serialises their writers (busy_timeout_ms).
 *
 * Errors: helpers return SQLite result codes; an entry turns one into a
 * negative errno and a sentence with sq_error while it still holds the lock
 * of the connection that failed (its message is the connection's).
 */
#ifndef MIZAN_STORE_SQLITE_INTERNAL_H
#define MIZAN_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/backend.h"
#include "util/time.h"

struct sq {
	struct store base;       /* first: the handle store.c sees */
	sqlite3 *w, *r;          /* writer and reader connections (the same one in memory) */
	pthread_mutex_t wlock, rlock;
	pthread_mutex_t *rl;     /* what reads lock: &rlock, or &wlock in memory */
	bool memory;
	/* on w, prepared once */
	sqlite3_stmt *insert;    /* an event */
	sqlite3_stmt *mark;      /* a dirty (kind, day) and its change number */
	sqlite3_stmt *source;    /* a (kind, mission) seen */
	sqlite3_stmt *next;      /* advances a counter and returns it */
	sqlite3_stmt *begin, *commit, *rollback;
};

static inline struct sq *sq_of(struct store *s)
{
	return (struct sq *)s;
}

/* sqlite.c ---------------------------------------------------------------- */

/* Maps an SQLite result code to a negative errno and writes "what: why". */
int sq_error(sqlite3 *db, int rc, const char *what, char *err);
int sq_exec(sqlite3 *db, const char *sql, char *err);
/* Steps a statement that returns no row, then resets it: the result code. */
int sq_step_done(sqlite3_stmt *st);

/* Writing: sq_tx_begin locks the writer and begins a transaction (0, or a
 * negative errno with the lock released); sq_tx_commit commits and unlocks
 * (0, or a negative errno after rolling back); sq_tx_fail turns an SQLite
 * code into a negative errno and a sentence, finalizes st (may be NULL),
 * rolls back and unlocks.  For one statement: sq_write_begin begins and
 * prepares sql on the writer (NULL with *rc set, unlocked, when it cannot);
 * the caller binds; sq_write_end runs it and commits: the rows it changed,
 * or a negative errno.  Either way the statement is finalized. */
int sq_tx_begin(struct sq *s, char *err);
int sq_tx_commit(struct sq *s, char *err);
int sq_tx_fail(struct sq *s, sqlite3_stmt *st, int rc, const char *what, char *err);
sqlite3_stmt *sq_write_begin(struct sq *s, const char *sql, int *rc, const char *what, char *err);
int sq_write_end(struct sq *s, sqlite3_stmt *st, const char *what, char *err);

/* Inside a write transaction: advances the counter `name` ("run", "dirty",
 * "data") and puts its new value in *value (may be NULL).  SQLITE_OK or an
 * SQLite code. */
int sq_counter_next(struct sq *s, const char *name, int64_t *value);

/* Reading: one statement on the reader connection, under its lock, from
 * read_begin to read_end.  read_begin returns NULL (and unlocks) with *rc
 * set when the statement cannot be prepared; read_step returns 1 for a row,
 * 0 at the end, or a negative errno. */
sqlite3_stmt *sq_read_begin(struct sq *s, const char *sql, int *rc, const char *what, char *err);
int sq_read_step(struct sq *s, sqlite3_stmt *st, char *err);
void sq_read_end(struct sq *s, sqlite3_stmt *st);
/* Runs a read-only statement (bound by `bind`) and hands each row to `row`;
 * a nonzero return from row stops and is returned. */
int sq_read_rows(struct sq *s, const char *sql, void (*bind)(sqlite3_stmt *st, const void *arg),
		 const void *arg, int (*row)(sqlite3_stmt *st, void *ud), void *ud, char *err);
/* The first column of the first row of sql (-1 when there is no row), or a
 * negative errno. */
int64_t sq_read_int(struct sq *s, const char *sql, const char *what, char *err);

void sq_bind_text_or_null(sqlite3_stmt *st, int col, const char *v);
void sq_bind_number_or_null(sqlite3_stmt *st, int col, double v);
double sq_column_number(sqlite3_stmt *st, int col);

/* schema.c ---------------------------------------------------------------- */

/* The integrity check and the demo mark (store.h). */
int sq_check(struct store *store, char *err);
int sq_demo_mark(struct store *store, char *err);
int sq_is_demo(struct store *store, char *err);

/* Creates or upgrades the schema on the writer connection. */
int sq_migrate(sqlite3 *db, char *err);
int sq_schema_version(struct store *s, char *err);
int64_t sq_size_bytes(struct store *s, char *err);
int64_t sq_count_events(struct store *s, char *err);

/* events.c ---------------------------------------------------------------- */

/* The INSERT statement of an event (malloc'd, or NULL). */
char *sq_insert_sql(void);
int sq_put_events(struct store *s, const struct event *ev, size_t n, struct store_put_result *res,
		  char *err);
int sq_get_events(struct store *s, const struct store_query *q,
		  int (*cb)(const struct event *e, void *ud), void *ud, char *err);
int64_t sq_events_last_seq(struct store *s, char *err);
int sq_scan_seq(struct store *s, int kind, int64_t from_ms, int64_t to_ms, int64_t after_seq,
		int64_t upto_seq, bool by_time, int (*cb)(const struct event *e, void *ud), void *ud,
		char *err);
/* folds.c: the fold states of incremental evaluation. */
int sq_fold_meta_get(struct store *s, const char *kpi, char *sig, size_t siglen, int64_t *upto_seq,
		     char *err);
int sq_fold_states_each(struct store *s, const char *kpi, int64_t scope_from, int64_t scope_to,
			int (*cb)(const struct store_fold_state *st, void *ud), void *ud, char *err);
/* Writes folds[0..n) inside the writer's open transaction: an SQLite
 * result code (SQLITE_OK on success). */
int sq_folds_put(struct sq *s, const struct store_fold_write *folds, size_t n);
int sq_scan(struct store *s, int kind, int64_t from_ms, int64_t to_ms,
	    int (*cb)(const struct event *e, void *ud), void *ud, char *err);
int sq_dirty_read(struct store *s, int64_t *upto, void (*cb)(int kind, int64_t day, void *ud),
		  void *ud, char *err);
int sq_sources_each(struct store *s, int (*cb)(const struct store_source *src, void *ud), void *ud,
		    char *err);

/* results.c --------------------------------------------------------------- */

int sq_results_write(struct store *s, const struct store_result_key *cleared, size_t ncleared,
		     const struct store_result *rows, size_t n, int64_t dirty_upto,
		     const struct store_fold_write *folds, size_t nfolds, int64_t *run,
		     char *err);
int sq_results_each(struct store *s, const struct store_result_query *q,
		    int (*cb)(const struct store_result *r, void *ud), void *ud, char *err);
int64_t sq_results_max_run(struct store *s, char *err);
int sq_value_add(struct store *s, const struct store_result *v, const char *who, char *err);
int sq_values_each(struct store *s, const struct store_result_query *q,
		   int (*cb)(const struct store_result *r, void *ud), void *ud, char *err);
int sq_kpi_status_set(struct store *s, const char *kpi, const char *error, unsigned kinds,
		      char *err);
unsigned sq_kpi_kinds(struct store *s, const char *kpi);
int sq_kpi_status_each(struct store *s,
		       void (*cb)(const char *kpi, const char *error, int64_t at_ms, void *ud),
		       void *ud, char *err);
int sq_target_get(struct store *s, const char *kpi, const char *period, struct target *t,
		  char *err);
int sq_target_put(struct store *s, const char *kpi, const char *period, const struct target *t,
		  const char *who, const char *old_json, const char *new_json, const char *reason,
		  char *err);
int64_t sq_data_version(struct store *s, char *err);

/* alerts.c ---------------------------------------------------------------- */

int sq_alert_get(struct store *s, const char *kpi, const char *period, const char *dim,
		 const char *slice, const char *kind, int (*cb)(const struct store_alert *a, void *ud),
		 void *ud, char *err);
int sq_alert_put(struct store *s, const struct store_alert *a, const char *old_state,
		 const struct store_mail *mails, size_t nmails, int64_t *id, char *err);
int sq_alerts_each(struct store *s, const struct store_alert_query *q,
		   int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
int sq_alert_history_each(struct store *s, const char *kpi, int limit,
			  int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
int sq_alert_ack(struct store *s, int64_t id, const char *who, const char *comment, char *err);
int sq_silence_add(struct store *s, const struct store_silence *si, int64_t *id, char *err);
int sq_silences_each(struct store *s, int64_t at,
		     int (*cb)(const struct store_silence *si, void *ud), void *ud, char *err);
int sq_outbox_add(struct store *s, const struct store_mail *m, int64_t alert, char *err);
int sq_outbox_due(struct store *s, int64_t now_ms, int limit,
		  int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err);
int sq_outbox_mark(struct store *s, int64_t id, enum store_mail_status status, const char *error,
		   int64_t next_attempt, char *err);
int sq_outbox_each(struct store *s, const char *status, int limit,
		   int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err);

/* records.c --------------------------------------------------------------- */

/* Inside a write transaction: one audit entry, and the data version
 * moves.  SQLITE_DONE or an SQLite code. */
int sq_audit_insert(struct sq *s, const struct store_audit *a);
int sq_audit_add(struct store *s, const struct store_audit *a, char *err);
int sq_audit_each(struct store *s, int limit, int (*cb)(const struct store_audit *a, void *ud),
		  void *ud, char *err);
int sq_token_add(struct store *s, const char *name, enum role role, const unsigned char hash[32],
		 char *err);
int sq_token_revoke(struct store *s, const char *name, char *err);
int sq_token_each(struct store *s, int (*cb)(const struct store_token *t, void *ud), void *ud,
		  char *err);
int sq_session_add(struct store *s, const unsigned char hash[32], const char *name, enum role role,
		   const char *csrf, int64_t expires_ms, char *err);
int sq_session_get(struct store *s, const unsigned char hash[32], int64_t now,
		   struct store_session *out, char *err);
int sq_session_delete(struct store *s, const unsigned char hash[32], char *err);
int sq_note_add(struct store *s, const struct store_note *n, char *err);
int sq_note_get(struct store *s, const char *goal, const char *period,
		int (*cb)(const struct store_note *n, void *ud), void *ud, char *err);

#endif
