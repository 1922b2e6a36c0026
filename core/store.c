/* store.c - the SQLite store: schema, migrations, batched idempotent writes. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store {
	sqlite3 *w, *r;          /* writer and reader connections */
	pthread_mutex_t wlock, rlock;
	sqlite3_stmt *insert;    /* on w */
	sqlite3_stmt *begin, *commit, *rollback;
};

/* Migrations: entry i brings the schema from version i to i + 1.  Never
 * edit one that has shipped; append a new one. */
static const char *const migrations[] = {
	/* 0 -> 1: events and tokens */
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY,"
	" kind INTEGER NOT NULL,"
	" id TEXT NOT NULL,"
	" ts INTEGER NOT NULL," /* ms since the epoch, UTC */
	" mission TEXT, country TEXT, sex TEXT, age_group TEXT, service TEXT, channel TEXT,"
	" automated INTEGER, outcome TEXT, duration_min REAL,"
	" title TEXT, programme TEXT, hours REAL, participants INTEGER, cost REAL, benefit REAL,"
	" sector TEXT, contribution TEXT, amount REAL, currency TEXT, contributors INTEGER,"
	" subject TEXT, score REAL, scale INTEGER,"
	" attrs TEXT,"
	" received INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX events_id ON events(id);"
	"CREATE INDEX events_kind_ts ON events(kind, ts);"
	"CREATE TABLE tokens ("
	" name TEXT PRIMARY KEY,"
	" role TEXT NOT NULL,"
	" hash BLOB NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps an SQLite failure to an errno value and a sentence. */
static int db_error(sqlite3 *db, int rc, const char *what, char *err)
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

static int exec(sqlite3 *db, const char *sql, char *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_error(db, rc, sql, err);
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(sqlite3 *db, char *err)
{
	int rc = exec(db, "BEGIN IMMEDIATE", err);
	if (rc < 0)
		return rc;
	int v = user_version(db);
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, STORE_ERRLEN,
			 "the database has schema version %d; this build knows up to %d", v,
			 STORE_SCHEMA_VERSION);
		exec(db, "ROLLBACK", NULL);
		return -EPROTO;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		char sql[64];
		if ((rc = exec(db, migrations[v], err)) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = exec(db, sql, err)) < 0)
			goto fail;
	}
	return exec(db, "COMMIT", err);
fail:
	exec(db, "ROLLBACK", NULL);
	return rc;
}

static int open_conn(sqlite3 **db, const struct store_opts *o, bool writer, char *err)
{
	char sql[160];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(o->path, db, flags, NULL);
	if (rc != SQLITE_OK)
		return db_error(*db, rc, o->path, err);
	sqlite3_busy_timeout(*db, o->busy_timeout_ms);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -%d;"
		 "PRAGMA foreign_keys = ON;",
		 o->sync_full ? "FULL" : "NORMAL", o->cache_mib * 1024);
	return exec(*db, sql, err);
}

static char *insert_sql(void)
{
	size_t cap = 1024;
	char *sql = malloc(cap);
	if (!sql)
		return NULL;
	int n = snprintf(sql, cap, "INSERT INTO events(kind, received");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, cap - (size_t)n, ", %s", event_fields[f].name);
	n += snprintf(sql + n, cap - (size_t)n, ") VALUES(?, ?");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, cap - (size_t)n, ", ?");
	snprintf(sql + n, cap - (size_t)n, ") ON CONFLICT(id) DO NOTHING");
	return sql;
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
	if ((rc = open_conn(&s->w, o, true, err)) < 0 || (rc = migrate(s->w, err)) < 0 ||
	    (rc = open_conn(&s->r, o, false, err)) < 0)
		goto fail;
	sql = insert_sql();
	if (!sql) {
		rc = -ENOMEM;
		snprintf(err, STORE_ERRLEN, "out of memory");
		goto fail;
	}
	const char *stmts[] = {sql, "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
	sqlite3_stmt **slots[] = {&s->insert, &s->begin, &s->commit, &s->rollback};
	for (int i = 0; i < 4; i++) {
		int r = sqlite3_prepare_v3(s->w, stmts[i], -1, SQLITE_PREPARE_PERSISTENT, slots[i], NULL);
		if (r != SQLITE_OK) {
			rc = db_error(s->w, r, "prepare", err);
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
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_close(s->r);
	sqlite3_close(s->w);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->rlock);
	free(s);
}

int store_schema_version(struct store *s)
{
	pthread_mutex_lock(&s->rlock);
	int v = user_version(s->r);
	pthread_mutex_unlock(&s->rlock);
	return v;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

static int bind_event(sqlite3_stmt *st, const struct event *e, int64_t received)
{
	int rc = sqlite3_bind_int(st, 1, (int)e->kind);
	rc |= sqlite3_bind_int64(st, 2, received);
	for (int f = 0; f < F_NFIELDS; f++) {
		int col = f + 3;
		if (!event_has(e, (enum field_id)f)) {
			rc |= sqlite3_bind_null(st, col);
			continue;
		}
		switch (event_fields[f].type) {
		case FT_NUM:
			rc |= sqlite3_bind_double(st, col, e->v[f].d);
			break;
		case FT_INT:
		case FT_BOOL:
		case FT_TIME:
			rc |= sqlite3_bind_int64(st, col, e->v[f].i);
			break;
		default:
			rc |= sqlite3_bind_text(st, col, e->v[f].s, -1, SQLITE_STATIC);
		}
	}
	return rc;
}

int store_put_events(struct store *s, const struct event *ev, size_t n,
		     struct store_put_result *res, char *err)
{
	struct store_put_result r = {0};
	int64_t received = now_ms();
	int rc;

	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&s->wlock);
	if ((rc = step_done(s->begin)) != SQLITE_DONE) {
		rc = db_error(s->w, rc, "begin", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (bind_event(s->insert, &ev[i], received) != SQLITE_OK) {
			rc = db_error(s->w, sqlite3_errcode(s->w), "bind", err);
			goto rollback;
		}
		if ((rc = step_done(s->insert)) != SQLITE_DONE) {
			rc = db_error(s->w, rc, "insert", err);
			goto rollback;
		}
		if (sqlite3_changes(s->w))
			r.accepted_by_kind[ev[i].kind]++;
		else
			r.duplicates_by_kind[ev[i].kind]++;
	}
	sqlite3_clear_bindings(s->insert);
	if ((rc = step_done(s->commit)) != SQLITE_DONE) {
		rc = db_error(s->w, rc, "commit", err);
		goto rollback;
	}
	for (int k = 0; k < EV_NKINDS; k++) {
		r.accepted += r.accepted_by_kind[k];
		r.duplicates += r.duplicates_by_kind[k];
	}
	*res = r;
	rc = 0;
	goto out;
rollback:
	sqlite3_clear_bindings(s->insert);
	if (!sqlite3_get_autocommit(s->w))
		step_done(s->rollback);
out:
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

static void row_to_event(sqlite3_stmt *st, struct event *e)
{
	memset(e, 0, sizeof(*e));
	e->kind = (enum event_kind)sqlite3_column_int(st, 0);
	for (int f = 0; f < F_NFIELDS; f++) {
		int col = f + 1;
		if (sqlite3_column_type(st, col) == SQLITE_NULL)
			continue;
		e->present |= 1u << f;
		switch (event_fields[f].type) {
		case FT_NUM:
			e->v[f].d = sqlite3_column_double(st, col);
			break;
		case FT_INT:
		case FT_BOOL:
		case FT_TIME:
			e->v[f].i = sqlite3_column_int64(st, col);
			break;
		default:
			e->v[f].s = (const char *)sqlite3_column_text(st, col);
		}
	}
}

int store_get_events(struct store *s, const struct store_query *q,
		     int (*cb)(const struct event *e, void *ud), void *ud, char *err)
{
	char sql[1024];
	int n = snprintf(sql, sizeof(sql), "SELECT kind");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s", event_fields[f].name);
	snprintf(sql + n, sizeof(sql) - (size_t)n,
		 " FROM events WHERE (?1 < 0 OR kind = ?1) AND ts >= ?2 AND ts < ?3"
		 " AND (?4 IS NULL OR mission = ?4) ORDER BY ts, seq LIMIT ?5");

	sqlite3_stmt *st;
	int rc;
	pthread_mutex_lock(&s->rlock);
	if ((rc = sqlite3_prepare_v2(s->r, sql, -1, &st, NULL)) != SQLITE_OK) {
		rc = db_error(s->r, rc, "query", err);
		goto out;
	}
	sqlite3_bind_int(st, 1, q->kind);
	sqlite3_bind_int64(st, 2, q->from_ms);
	sqlite3_bind_int64(st, 3, q->to_ms);
	if (q->mission)
		sqlite3_bind_text(st, 4, q->mission, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, q->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct event e;
		row_to_event(st, &e);
		int stop = cb(&e, ud);
		if (stop) {
			rc = stop;
			goto done;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : db_error(s->r, rc, "query", err);
done:
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&s->rlock);
	return rc;
}

static int64_t read_int(struct store *s, const char *sql)
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

int64_t store_count_events(struct store *s)
{
	return read_int(s, "SELECT count(*) FROM events");
}

int64_t store_size_bytes(struct store *s)
{
	return read_int(s, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
}

int store_token_add(struct store *s, const char *name, enum role role, const unsigned char hash[32],
		    char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w, "INSERT INTO tokens(name, role, hash, created) VALUES(?, ?, ?, ?)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, role_name(role), -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now_ms());
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		snprintf(err, STORE_ERRLEN, "a token named '%s' already exists", name);
		return -EEXIST;
	}
	return db_error(s->w, rc, "token add", err);
}

int store_token_revoke(struct store *s, const char *name, char *err)
{
	sqlite3_stmt *st;
	int rc, changed = 0;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w, "DELETE FROM tokens WHERE name = ?", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		changed = sqlite3_changes(s->w);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	if (rc != SQLITE_DONE)
		return db_error(s->w, rc, "token revoke", err);
	if (!changed) {
		snprintf(err, STORE_ERRLEN, "no token is named '%s'", name);
		return -ENOENT;
	}
	return 0;
}

int store_token_each(struct store *s, int (*cb)(const struct store_token *t, void *ud), void *ud,
		     char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->rlock);
	rc = sqlite3_prepare_v2(s->r, "SELECT name, role, hash, created FROM tokens ORDER BY name", -1,
				&st, NULL);
	if (rc != SQLITE_OK) {
		rc = db_error(s->r, rc, "tokens", err);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) != 32)
			continue;
		struct store_token t = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.role = role_from_name((const char *)sqlite3_column_text(st, 1)),
			.hash = sqlite3_column_blob(st, 2),
			.created_ms = sqlite3_column_int64(st, 3),
		};
		int stop = cb(&t, ud);
		if (stop) {
			rc = stop;
			goto done;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : db_error(s->r, rc, "tokens", err);
done:
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&s->rlock);
	return rc;
}
