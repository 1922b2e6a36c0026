/* sqlite.c - the SQLite store: opening, closing, and the helpers its files share. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t sq_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps an SQLite failure to an errno value and a sentence. */
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

/* Reading: one statement on the reader connection, under its lock, from
 * read_begin to read_end.  read_begin returns NULL (and unlocks) with *rc
 * set when the statement cannot be prepared; read_step returns 1 for a row,
 * 0 at the end, or a negative errno. */
sqlite3_stmt *sq_read_begin(struct store *s, const char *sql, int *rc, const char *what,
				char *err)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	int r = sqlite3_prepare_v2(s->r, sql, -1, &st, NULL);
	if (r == SQLITE_OK)
		return st;
	*rc = sq_error(s->r, r, what, err);
	pthread_mutex_unlock(&s->rlock);
	return NULL;
}

int sq_read_step(struct store *s, sqlite3_stmt *st, char *err)
{
	int r = sqlite3_step(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : sq_error(s->r, r, "read", err);
}

void sq_read_end(struct store *s, sqlite3_stmt *st)
{
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
}

static int open_conn(sqlite3 **db, const struct store_opts *o, bool writer, char *err)
{
	char sql[256];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(o->path, db, flags, NULL);
	if (rc != SQLITE_OK)
		return sq_error(*db, rc, o->path, err);
	sqlite3_busy_timeout(*db, o->busy_timeout_ms);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -%d;"
		 "PRAGMA foreign_keys = ON; PRAGMA mmap_size = %lld;",
		 o->sync_full ? "FULL" : "NORMAL", o->cache_mib * 1024,
		 writer ? 0LL : (long long)o->mmap_mib << 20);
	return sq_exec(*db, sql, err);
}

int store_open(struct store **out, const struct store_opts *o, char *err)
{
	struct store *s = calloc(1, sizeof(*s));
	char *sql = NULL;
	int rc;

	*out = NULL;
	if (!s) {
		snprintf(err, STORE_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	if ((rc = open_conn(&s->w, o, true, err)) < 0 || (rc = sq_migrate(s->w, err)) < 0 ||
	    (rc = open_conn(&s->r, o, false, err)) < 0)
		goto fail;
	sql = sq_insert_sql();
	if (!sql) {
		rc = -ENOMEM;
		snprintf(err, STORE_ERRLEN, "out of memory");
		goto fail;
	}
	const char *stmts[] = {sql, "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
			       "INSERT INTO dirty(kind, day) VALUES(?, ?)",
			       "INSERT INTO sources(kind, mission, first, last, count) VALUES(?1, ?2, ?3, ?4, ?5)"
			       " ON CONFLICT(kind, mission) DO UPDATE SET first = min(first, ?3),"
			       " last = max(last, ?4), count = count + ?5"};
	sqlite3_stmt **slots[] = {&s->insert, &s->begin, &s->commit, &s->rollback, &s->mark,
				  &s->source};
	for (int i = 0; i < 6; i++) {
		int r = sqlite3_prepare_v3(s->w, stmts[i], -1, SQLITE_PREPARE_PERSISTENT, slots[i], NULL);
		if (r != SQLITE_OK) {
			rc = sq_error(s->w, r, "prepare", err);
			goto fail;
		}
	}
	free(sql);
	*out = s;
	return 0;
fail:
	free(sql);
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->mark);
	sqlite3_finalize(s->source);
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
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

int64_t sq_read_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	pthread_mutex_lock(&s->rlock);
	if (sqlite3_prepare_v2(s->r, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return v;
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

/* Runs a read-only statement (prepared from sql with `bind`) and hands each
 * row to `row`, under the read lock. */
int sq_read_rows(struct store *s, const char *sql, void (*bind)(sqlite3_stmt *st, const void *arg),
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
