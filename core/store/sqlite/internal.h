/* internal.h - what the files of the SQLite store share (private to
 * core/store/sqlite).
 *
 * The files, by job: sqlite.c opens and closes the store and holds the
 * helpers below; schema.c the migrations and the store's size; events.c
 * events, dirty marks and sources; results.c figures, reported values, KPI
 * status, targets and the data version; alerts.c alerts, silences and the
 * outbox; records.c tokens, sessions, notes and the audit log.
 *
 * Writes run on one connection (w) under wlock; reads on another (r) under
 * rlock, so that in WAL mode they never wait for a writer.
 */
#ifndef MIZAN_STORE_SQLITE_INTERNAL_H
#define MIZAN_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

struct store {
	sqlite3 *w, *r;          /* writer and reader connections */
	pthread_mutex_t wlock, rlock;
	sqlite3_stmt *insert;    /* on w */
	sqlite3_stmt *mark;      /* on w: a dirty (kind, day) */
	sqlite3_stmt *source;    /* on w: a (kind, mission) seen */
	sqlite3_stmt *begin, *commit, *rollback;
};

/* sqlite.c */
int64_t sq_now_ms(void);
/* Maps an SQLite failure to an errno value and a sentence. */
int sq_error(sqlite3 *db, int rc, const char *what, char *err);
int sq_exec(sqlite3 *db, const char *sql, char *err);
int sq_step_done(sqlite3_stmt *st);
/* Reading: one statement on the reader connection, under its lock, from
 * read_begin to read_end (see sqlite.c). */
sqlite3_stmt *sq_read_begin(struct store *s, const char *sql, int *rc, const char *what, char *err);
int sq_read_step(struct store *s, sqlite3_stmt *st, char *err);
void sq_read_end(struct store *s, sqlite3_stmt *st);
int sq_read_rows(struct store *s, const char *sql, void (*bind)(sqlite3_stmt *st, const void *arg),
		 const void *arg, int (*row)(sqlite3_stmt *st, void *ud), void *ud, char *err);
int64_t sq_read_int(struct store *s, const char *sql);
void sq_bind_text_or_null(sqlite3_stmt *st, int col, const char *v);
void sq_bind_number_or_null(sqlite3_stmt *st, int col, double v);
double sq_column_number(sqlite3_stmt *st, int col);

/* schema.c */
int sq_migrate(sqlite3 *db, char *err);

/* events.c */
char *sq_insert_sql(void);

/* records.c: one audit entry, inside the caller's transaction. */
int sq_audit_insert(sqlite3 *db, const struct store_audit *a);

#endif
