/* sqlite.c - the SQLite backend: opening, closing, the helpers its files
 * share (see internal.h), and its table of entries. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* How much of the file a reader that scans maps into memory. */
#define SCAN_MMAP_MIB 4096

static void sq_close(struct store *store);

int sq_error(sqlite3 *db, int rc, const char *what, char *err)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		e = -ENOSPC;
		break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		e = -EROFS;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		e = -EBUSY;
		break;
	case SQLITE_NOMEM:
		e = -ENOMEM;
		break;
	default:
		e = -EIO;
	}
	if (err)
		snprintf(err, STORE_ERRLEN, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return e;
}

int sq_exec(sqlite3 *db, const char *sql, char *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_error(db, rc, sql, err);
}

sqlite3_stmt *sq_read_begin(struct sq *s, const char *sql, int *rc, const char *what, char *err)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(s->rl);
	int r = sqlite3_prepare_v2(s->r, sql, -1, &st, NULL);
	if (r == SQLITE_OK)
		return st;
	*rc = sq_error(s->r, r, what, err);
	pthread_mutex_unlock(s->rl);
	return NULL;
}

int sq_read_step(struct sq *s, sqlite3_stmt *st, char *err)
{
	int r = sqlite3_step(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : sq_error(s->r, r, "read", err);
}

void sq_read_end(struct sq *s, sqlite3_stmt *st)
{
	sqlite3_finalize(st);
	pthread_mutex_unlock(s->rl);
}

/* One connection to path (":memory:" for a private store), set up as o asks:
 * WAL, the sync level, the page cache, and for a reader of a store that
 * will be scanned, a memory map of the file. */
static int open_conn(sqlite3 **db, const char *path, const struct store_opts *o, bool writer,
		     char *err)
{
	char sql[256];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, db, flags, NULL);
	if (rc != SQLITE_OK)
		return sq_error(*db, rc, path, err);
	sqlite3_busy_timeout(*db, o->busy_timeout_ms);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -%d;"
		 "PRAGMA foreign_keys = ON; PRAGMA mmap_size = %lld;",
		 o->sync_full ? "FULL" : "NORMAL", o->cache_mib * 1024,
		 !writer && o->scans ? (long long)SCAN_MMAP_MIB << 20 : 0LL);
	return sq_exec(*db, sql, err);
}

/* target: a file's path, or ":memory:". */
static int sq_open(struct store **out, const char *target, const struct store_opts *o, char *err)
{
	if (!*target) {
		snprintf(err, STORE_ERRLEN, "sqlite: no file named (sqlite:PATH, or sqlite::memory:)");
		return -EINVAL;
	}
	struct sq *s = calloc(1, sizeof(*s));
	char *sql = NULL;
	int rc;

	*out = NULL;
	if (!s) {
		snprintf(err, STORE_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	s->base.ops = &store_sqlite_ops;
	s->memory = strcmp(target, ":memory:") == 0;
	/* SQLite takes an empty file for a new database.  A store that exists
	 * and is empty was lost (truncated, or a copy that failed): never fill
	 * it afresh as if it were new. */
	struct stat sb;
	if (!s->memory && stat(target, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
		snprintf(err, STORE_ERRLEN,
			 "%s is an empty file, not a store: remove it to start a new one", target);
		free(s);
		return -EUCLEAN;
	}
	/* In memory there is one connection: its lock is taken again when a
	 * read's callback writes. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	if (s->memory)
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->wlock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&s->rlock, NULL);
	s->rl = s->memory ? &s->wlock : &s->rlock;
	if ((rc = open_conn(&s->w, target, o, true, err)) < 0 || (rc = sq_migrate(s->w, err)) < 0)
		goto fail;
	if (s->memory)
		s->r = s->w;
	else if ((rc = open_conn(&s->r, target, o, false, err)) < 0)
		goto fail;
	sql = sq_insert_sql();
	if (!sql) {
		rc = -ENOMEM;
		snprintf(err, STORE_ERRLEN, "out of memory");
		goto fail;
	}
	const char *stmts[] = {sql, "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
			       "INSERT INTO dirty(kind, day, change) VALUES(?1, ?2, ?3)"
			       " ON CONFLICT(kind, day) DO UPDATE SET change = ?3",
			       "INSERT INTO sources(kind, mission, first, last, count) VALUES(?1, ?2, ?3, ?4, ?5)"
			       " ON CONFLICT(kind, mission) DO UPDATE SET first = min(first, ?3),"
			       " last = max(last, ?4), count = count + ?5",
			       "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value"};
	sqlite3_stmt **slots[] = {&s->insert, &s->begin, &s->commit, &s->rollback, &s->mark,
				  &s->source, &s->next};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		int r = sqlite3_prepare_v3(s->w, stmts[i], -1, SQLITE_PREPARE_PERSISTENT, slots[i], NULL);
		if (r != SQLITE_OK) {
			rc = sq_error(s->w, r, "prepare", err);
			goto fail;
		}
	}
	free(sql);
	*out = &s->base;
	return 0;
fail:
	free(sql);
	sq_close(&s->base);
	return rc;
}

static void sq_close(struct store *store)
{
	struct sq *s = sq_of(store);
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->mark);
	sqlite3_finalize(s->source);
	sqlite3_finalize(s->next);
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	if (s->r != s->w)
		sqlite3_close(s->r);
	sqlite3_close(s->w);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->rlock);
	free(s);
}

int sq_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

int sq_tx_begin(struct sq *s, char *err)
{
	pthread_mutex_lock(&s->wlock);
	int rc = sq_step_done(s->begin);
	if (rc == SQLITE_DONE)
		return 0;
	rc = sq_error(s->w, rc, "begin", err);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

int sq_tx_commit(struct sq *s, char *err)
{
	int rc = sq_step_done(s->commit);
	if (rc != SQLITE_DONE)
		return sq_tx_fail(s, NULL, rc, "commit", err);
	pthread_mutex_unlock(&s->wlock);
	return 0;
}

int sq_tx_fail(struct sq *s, sqlite3_stmt *st, int rc, const char *what, char *err)
{
	int e = sq_error(s->w, rc, what, err); /* before anything resets the message */
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(s->w))
		sq_step_done(s->rollback);
	pthread_mutex_unlock(&s->wlock);
	return e;
}

int sq_counter_next(struct sq *s, const char *name, int64_t *value)
{
	/* The UPDATE takes the writer's lock on the row until the transaction
	 * ends: numbers become visible in the order they were allocated. */
	sqlite3_bind_text(s->next, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s->next);
	if (rc == SQLITE_ROW) {
		if (value)
			*value = sqlite3_column_int64(s->next, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_CORRUPT; /* the counter's row is missing */
	}
	sqlite3_reset(s->next);
	return rc;
}

sqlite3_stmt *sq_write_begin(struct sq *s, const char *sql, int *rc, const char *what, char *err)
{
	sqlite3_stmt *st;
	if ((*rc = sq_tx_begin(s, err)) < 0)
		return NULL;
	int r = sqlite3_prepare_v2(s->w, sql, -1, &st, NULL);
	if (r == SQLITE_OK)
		return st;
	*rc = sq_tx_fail(s, NULL, r, what, err);
	return NULL;
}

int sq_write_end(struct sq *s, sqlite3_stmt *st, const char *what, char *err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, what, err);
	int changed = sqlite3_changes(s->w);
	sqlite3_finalize(st);
	rc = sq_tx_commit(s, err);
	return rc < 0 ? rc : changed;
}

int64_t sq_read_int(struct sq *s, const char *sql, const char *what, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, sql, &rc, what, err)))
		return rc;
	int64_t v = -1;
	if ((rc = sq_read_step(s, st, err)) > 0)
		v = sqlite3_column_int64(st, 0);
	sq_read_end(s, st);
	return rc < 0 ? rc : v;
}

void sq_bind_text_or_null(sqlite3_stmt *st, int col, const char *v)
{
	if (v)
		sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

void sq_bind_number_or_null(sqlite3_stmt *st, int col, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_double(st, col, v);
}

double sq_column_number(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

int sq_read_rows(struct sq *s, const char *sql, void (*bind)(sqlite3_stmt *st, const void *arg),
		 const void *arg, int (*row)(sqlite3_stmt *st, void *ud), void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, sql, &rc, "query", err)))
		return rc;
	bind(st, arg);
	while ((rc = sq_read_step(s, st, err)) > 0)
		if ((rc = row(st, ud)) != 0)
			break;
	sq_read_end(s, st);
	return rc;
}

const struct store_ops store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.size_bytes = sq_size_bytes,
	.count_events = sq_count_events,
	.check = sq_check,
	.demo_mark = sq_demo_mark,
	.is_demo = sq_is_demo,
	.put_events = sq_put_events,
	.get_events = sq_get_events,
	.scan = sq_scan,
	.dirty_read = sq_dirty_read,
	.sources_each = sq_sources_each,
	.results_write = sq_results_write,
	.events_last_seq = sq_events_last_seq,
	.scan_seq = sq_scan_seq,
	.fold_meta_get = sq_fold_meta_get,
	.fold_states_each = sq_fold_states_each,
	.results_each = sq_results_each,
	.results_max_run = sq_results_max_run,
	.value_add = sq_value_add,
	.values_each = sq_values_each,
	.kpi_status_set = sq_kpi_status_set,
	.kpi_kinds = sq_kpi_kinds,
	.kpi_status_each = sq_kpi_status_each,
	.target_get = sq_target_get,
	.target_put = sq_target_put,
	.data_version = sq_data_version,
	.audit_add = sq_audit_add,
	.audit_each = sq_audit_each,
	.alert_get = sq_alert_get,
	.alert_put = sq_alert_put,
	.alerts_each = sq_alerts_each,
	.alert_history_each = sq_alert_history_each,
	.alert_ack = sq_alert_ack,
	.silence_add = sq_silence_add,
	.silences_each = sq_silences_each,
	.outbox_add = sq_outbox_add,
	.outbox_due = sq_outbox_due,
	.outbox_mark = sq_outbox_mark,
	.outbox_each = sq_outbox_each,
	.token_add = sq_token_add,
	.token_revoke = sq_token_revoke,
	.token_each = sq_token_each,
	.session_add = sq_session_add,
	.session_get = sq_session_get,
	.session_delete = sq_session_delete,
	.note_add = sq_note_add,
	.note_get = sq_note_get,
};
