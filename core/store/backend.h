/* backend.h - what a store backend implements (private to core/store).
 *
 * store/store.c holds the public functions of store.h; each checks nothing
 * about the backend and calls it through the table below, chosen at
 * store_open by the URL's scheme (the way PostgreSQL calls a table access
 * method through its routine table).  A backend lives in its own folder
 * (store/sqlite/, later store/postgresql/) and exports one const struct
 * store_ops; store.c lists the tables it knows.
 *
 * The handle: a backend's own struct begins with a struct store (its `ops`
 * pointing at the backend's table); open allocates it, close frees it, and
 * every other entry gets the pointer open returned.
 *
 * What every entry must do, so that the store is the same whichever backend
 * runs it:
 * - Contract: each entry does what store.h says of the public function of the
 *   same name, with the same arguments.  Pointers it is given are read during
 *   the call only; pointers it hands to a callback are valid during that
 *   callback only.
 * - Errors: return 0 (or the documented count or value) on success and a
 *   negative errno on failure, with one sentence in err.  store.c always
 *   passes a writable err of STORE_ERRLEN bytes, set to "" (so err is never
 *   NULL here), and writes strerror's sentence itself if a failing entry left
 *   it empty.  Use the errno values store.h lists.
 * - Threads: every entry but open and close may be called from many threads
 *   at once; the backend serialises what it must.  A callback is called on
 *   the calling thread; it may call the store's write entries (not its read
 *   ones), so a backend must not hold a lock a writer needs while it calls
 *   one, or must make that lock reentrant.
 * - Transactions: each writing entry is one transaction, whole or not at all;
 *   a failure rolls back what the entry did.  No transaction spans two calls.
 * - Sequences: run numbers (results_write), dirty-mark change numbers
 *   (put_events) and the data version (results_write, value_add, audit_add
 *   and every audited write, note_add) are allocated inside the writing
 *   transaction from a counter that serialises the writers that take it, so
 *   that a number becomes visible only after every smaller one has; never
 *   from max(id) + 1 read outside it, and never from row order.  results_write
 *   gets *run set to 0 by store.c and sets it when it allocates one.
 * - Schema: open creates or migrates the schema to STORE_SCHEMA_VERSION and
 *   refuses (-EPROTO) a store whose schema is newer than that.
 */
#ifndef MIZAN_STORE_BACKEND_H
#define MIZAN_STORE_BACKEND_H

#include <pthread.h>

#include "store/store.h"

struct store_ops;

/* The head of every backend's handle.  store.c keeps the outcome of the
 * last integrity check in it (under check_lock); a backend leaves those
 * fields alone. */
struct store {
	const struct store_ops *ops;
	pthread_mutex_t check_lock;
	struct store_check last_check;
};

struct store_ops {
	const char *scheme; /* the URL's scheme, without the ':' */

	/* target: the URL after "SCHEME:" (never NULL, maybe ""); o: never NULL. */
	int (*open)(struct store **out, const char *target, const struct store_opts *o, char *err);
	void (*close)(struct store *s);

	int (*schema_version)(struct store *s, char *err);
	int64_t (*size_bytes)(struct store *s, char *err);
	int64_t (*count_events)(struct store *s, char *err);
	/* 0 sound, -EUCLEAN damaged (what was found in err), or another
	 * negative errno when the check could not run. */
	int (*check)(struct store *s, char *err);
	int (*demo_mark)(struct store *s, char *err);
	/* 1, 0, or a negative errno. */
	int (*is_demo)(struct store *s, char *err);

	int (*put_events)(struct store *s, const struct event *ev, size_t n,
			  struct store_put_result *res, char *err);
	int (*get_events)(struct store *s, const struct store_query *q,
			  int (*cb)(const struct event *e, void *ud), void *ud, char *err);
	int (*scan)(struct store *s, int kind, int64_t from_ms, int64_t to_ms,
		    int (*cb)(const struct event *e, void *ud), void *ud, char *err);
	int (*dirty_read)(struct store *s, int64_t *upto,
			  void (*cb)(int kind, int64_t day, void *ud), void *ud, char *err);
	int (*sources_each)(struct store *s, int (*cb)(const struct store_source *src, void *ud),
			    void *ud, char *err);

	/* store_results_write_folds (store_results_write: no folds). */
	int (*results_write)(struct store *s, const struct store_result_key *cleared,
			     size_t ncleared, const struct store_result *rows, size_t n,
			     int64_t dirty_upto, const struct store_fold_write *folds, size_t nfolds,
			     int64_t *run, char *err);
	int64_t (*events_last_seq)(struct store *s, char *err);
	int (*scan_seq)(struct store *s, int kind, int64_t from_ms, int64_t to_ms,
			int64_t after_seq, int64_t upto_seq, bool by_time,
			int (*cb)(const struct event *e, void *ud), void *ud, char *err);
	int (*fold_meta_get)(struct store *s, const char *kpi, char *sig, size_t siglen,
			     int64_t *upto_seq, char *err);
	int (*fold_states_each)(struct store *s, const char *kpi, int64_t scope_from,
				int64_t scope_to,
				int (*cb)(const struct store_fold_state *st, void *ud), void *ud,
				char *err);
	int (*results_each)(struct store *s, const struct store_result_query *q,
			    int (*cb)(const struct store_result *r, void *ud), void *ud, char *err);
	int64_t (*results_max_run)(struct store *s, char *err);
	int (*value_add)(struct store *s, const struct store_result *v, const char *who, char *err);
	int (*values_each)(struct store *s, const struct store_result_query *q,
			   int (*cb)(const struct store_result *r, void *ud), void *ud, char *err);
	int (*kpi_status_set)(struct store *s, const char *kpi, const char *error, unsigned kinds,
			      char *err);
	/* 0 when unknown or unreadable. */
	unsigned (*kpi_kinds)(struct store *s, const char *kpi);
	int (*kpi_status_each)(struct store *s,
			       void (*cb)(const char *kpi, const char *error, int64_t at_ms, void *ud),
			       void *ud, char *err);
	int (*target_get)(struct store *s, const char *kpi, const char *period, struct target *t,
			  char *err);
	int (*target_put)(struct store *s, const char *kpi, const char *period,
			  const struct target *t, const char *who, const char *old_json,
			  const char *new_json, const char *reason, char *err);
	int64_t (*data_version)(struct store *s, char *err);

	int (*audit_add)(struct store *s, const struct store_audit *a, char *err);
	int (*audit_each)(struct store *s, int limit,
			  int (*cb)(const struct store_audit *a, void *ud), void *ud, char *err);

	int (*alert_get)(struct store *s, const char *kpi, const char *period, const char *dim,
			 const char *slice, const char *kind,
			 int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
	int (*alert_put)(struct store *s, const struct store_alert *a, const char *old_state,
			 const struct store_mail *mails, size_t nmails, int64_t *id, char *err);
	int (*alerts_each)(struct store *s, const struct store_alert_query *q,
			   int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err);
	int (*alert_history_each)(struct store *s, const char *kpi, int limit,
				  int (*cb)(const struct store_alert *a, void *ud), void *ud,
				  char *err);
	int (*alert_ack)(struct store *s, int64_t id, const char *who, const char *comment,
			 char *err);
	int (*silence_add)(struct store *s, const struct store_silence *si, int64_t *id, char *err);
	int (*silences_each)(struct store *s, int64_t at,
			     int (*cb)(const struct store_silence *si, void *ud), void *ud,
			     char *err);
	int (*outbox_add)(struct store *s, const struct store_mail *m, int64_t alert, char *err);
	int (*outbox_due)(struct store *s, int64_t now_ms, int limit,
			  int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err);
	int (*outbox_mark)(struct store *s, int64_t id, enum store_mail_status status,
			   const char *error, int64_t next_attempt, char *err);
	int (*outbox_each)(struct store *s, const char *status, int limit,
			   int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err);

	int (*token_add)(struct store *s, const char *name, enum role role,
			 const unsigned char hash[32], char *err);
	int (*token_revoke)(struct store *s, const char *name, char *err);
	int (*token_each)(struct store *s, int (*cb)(const struct store_token *t, void *ud),
			  void *ud, char *err);
	int (*session_add)(struct store *s, const unsigned char hash[32], const char *name,
			   enum role role, const char *csrf, int64_t expires_ms, char *err);
	int (*session_get)(struct store *s, const unsigned char hash[32], int64_t now,
			   struct store_session *out, char *err);
	int (*session_delete)(struct store *s, const unsigned char hash[32], char *err);
	int (*note_add)(struct store *s, const struct store_note *n, char *err);
	int (*note_get)(struct store *s, const char *goal, const char *period,
			int (*cb)(const struct store_note *n, void *ud), void *ud, char *err);
};

/* The backends this build has. */
extern const struct store_ops store_sqlite_ops;

#endif
