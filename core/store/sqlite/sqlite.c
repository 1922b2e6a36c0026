/* store.c - the SQLite store: schema, migrations, batched idempotent writes. */
#include "store/store.h"

#include <errno.h>
#include <math.h>
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
	sqlite3_stmt *mark;      /* on w: a dirty (kind, day) */
	sqlite3_stmt *source;    /* on w: a (kind, mission) seen */
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
	/* 1 -> 2: what evaluation reads and writes */
	"CREATE TABLE dirty (id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, day INTEGER NOT NULL);"
	"CREATE TABLE kpi_results ("
	" kpi TEXT NOT NULL, period TEXT NOT NULL, dim TEXT NOT NULL, slice TEXT NOT NULL,"
	" pkind INTEGER NOT NULL, start INTEGER NOT NULL,"
	" value REAL, n REAL NOT NULL, extra TEXT, note TEXT, provenance TEXT NOT NULL,"
	" computed INTEGER NOT NULL, run INTEGER NOT NULL,"
	" PRIMARY KEY (kpi, period, dim, slice)) WITHOUT ROWID;"
	"CREATE INDEX kpi_results_series ON kpi_results(kpi, pkind, dim, start);"
	"CREATE TABLE kpi_values ("
	" id INTEGER PRIMARY KEY, kpi TEXT NOT NULL, period TEXT NOT NULL, pkind INTEGER NOT NULL,"
	" start INTEGER NOT NULL, dim TEXT NOT NULL, slice TEXT NOT NULL, value REAL NOT NULL,"
	" note TEXT, who TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX kpi_values_key ON kpi_values(kpi, period, dim, slice, id);"
	"CREATE TABLE kpi_status (kpi TEXT PRIMARY KEY, error TEXT, at INTEGER NOT NULL);",
	/* 2 -> 3: targets, alerts, the audit log and the outbox */
	"CREATE TABLE targets ("
	" kpi TEXT NOT NULL, period TEXT NOT NULL, rule TEXT NOT NULL, low REAL, high REAL,"
	" warn REAL NOT NULL, who TEXT NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY (kpi, period)) WITHOUT ROWID;"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,"
	" object TEXT NOT NULL, old TEXT, new TEXT, reason TEXT);"
	"CREATE TABLE alerts ("
	" id INTEGER PRIMARY KEY, kpi TEXT NOT NULL, period TEXT NOT NULL, dim TEXT NOT NULL,"
	" slice TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, since INTEGER NOT NULL,"
	" pending TEXT, pending_since INTEGER, value REAL, target REAL, forecast REAL,"
	" detail TEXT, notified INTEGER, acked_by TEXT, acked_at INTEGER, ack_comment TEXT,"
	" UNIQUE (kpi, period, dim, slice, kind));"
	"CREATE TABLE alert_history ("
	" id INTEGER PRIMARY KEY, alert INTEGER NOT NULL, at INTEGER NOT NULL, old TEXT,"
	" new TEXT NOT NULL, value REAL, target REAL, forecast REAL, detail TEXT);"
	"CREATE INDEX alert_history_alert ON alert_history(alert, at);"
	"CREATE TABLE silences ("
	" id INTEGER PRIMARY KEY, kpi TEXT, dim TEXT, slice TEXT, until INTEGER NOT NULL,"
	" who TEXT NOT NULL, comment TEXT, created INTEGER NOT NULL);"
	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY, created INTEGER NOT NULL, alert INTEGER, to_addr TEXT NOT NULL,"
	" subject TEXT NOT NULL, message BLOB NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
	" attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL, last_error TEXT,"
	" sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox(status, next_attempt);"
	"CREATE TABLE sources (kind INTEGER NOT NULL, mission TEXT NOT NULL, first INTEGER NOT NULL,"
	" last INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (kind, mission)) WITHOUT ROWID;"
	"INSERT INTO sources SELECT kind, mission, min(ts), max(ts), count(*) FROM events"
	" WHERE mission IS NOT NULL GROUP BY kind, mission;"
	"ALTER TABLE kpi_status ADD COLUMN kinds INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: the dashboard's sessions (only the SHA-256 of an id) and the
	 * quarterly notes per goal (every save kept, the newest shown) */
	"CREATE TABLE sessions ("
	" hash BLOB PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE notes ("
	" id INTEGER PRIMARY KEY, goal TEXT NOT NULL, period TEXT NOT NULL,"
	" difficulties TEXT NOT NULL, solutions TEXT NOT NULL, who TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX notes_key ON notes(goal, period, id);",
	/* 4 -> 5: the newest run is read on every page: an index, not a scan */
	"CREATE INDEX kpi_results_run ON kpi_results(run);",
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

/* Reading: one statement on the reader connection, under its lock, from
 * read_begin to read_end.  read_begin returns NULL (and unlocks) with *rc
 * set when the statement cannot be prepared; read_step returns 1 for a row,
 * 0 at the end, or a negative errno. */
static sqlite3_stmt *read_begin(struct store *s, const char *sql, int *rc, const char *what,
				char *err)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	int r = sqlite3_prepare_v2(s->r, sql, -1, &st, NULL);
	if (r == SQLITE_OK)
		return st;
	*rc = db_error(s->r, r, what, err);
	pthread_mutex_unlock(&s->rlock);
	return NULL;
}

static int read_step(struct store *s, sqlite3_stmt *st, char *err)
{
	int r = sqlite3_step(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : db_error(s->r, r, "read", err);
}

static void read_end(struct store *s, sqlite3_stmt *st)
{
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
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
	char sql[256];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(o->path, db, flags, NULL);
	if (rc != SQLITE_OK)
		return db_error(*db, rc, o->path, err);
	sqlite3_busy_timeout(*db, o->busy_timeout_ms);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -%d;"
		 "PRAGMA foreign_keys = ON; PRAGMA mmap_size = %lld;",
		 o->sync_full ? "FULL" : "NORMAL", o->cache_mib * 1024,
		 writer ? 0LL : (long long)o->mmap_mib << 20);
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Marks each distinct (kind, UTC day) of the stored events dirty. */
static int mark_dirty(struct store *s, const struct event *ev, size_t n, const bool *stored)
{
	uint64_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	size_t k = 0;
	int rc = SQLITE_DONE;

	if (!keys)
		return SQLITE_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!stored[i])
			continue;
		int64_t ms = ev[i].v[F_TS].i;
		int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
		keys[k++] = (uint64_t)ev[i].kind << 40 | (uint64_t)(day & 0xffffffffff);
	}
	qsort(keys, k, sizeof(*keys), cmp_u64);
	for (size_t i = 0; i < k && rc == SQLITE_DONE; i++) {
		if (i && keys[i] == keys[i - 1])
			continue;
		sqlite3_bind_int(s->mark, 1, (int)(keys[i] >> 40));
		sqlite3_bind_int64(s->mark, 2, (int64_t)(keys[i] & 0xffffffffff));
		rc = step_done(s->mark);
	}
	free(keys);
	return rc;
}

/* Keeps the newest time of each (kind, mission) stored: stale-data alerts
 * read it.  Batches come from one sender mostly: only changes are written. */
static int mark_sources(struct store *s, const struct event *ev, size_t n, const bool *stored)
{
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		if (!stored[i] || !event_has(&ev[i], F_MISSION))
			continue;
		int64_t first = ev[i].v[F_TS].i, last = first, count = 1;
		const char *m = ev[i].v[F_MISSION].s;
		size_t j = i + 1;
		/* the run of events of the same kind and mission that follows */
		for (; j < n && ev[j].kind == ev[i].kind && event_has(&ev[j], F_MISSION) &&
		       strcmp(ev[j].v[F_MISSION].s, m) == 0;
		     j++) {
			if (!stored[j])
				continue;
			int64_t ts = ev[j].v[F_TS].i;
			first = ts < first ? ts : first;
			last = ts > last ? ts : last;
			count++;
		}
		sqlite3_bind_int(s->source, 1, (int)ev[i].kind);
		sqlite3_bind_text(s->source, 2, m, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->source, 3, first);
		sqlite3_bind_int64(s->source, 4, last);
		sqlite3_bind_int64(s->source, 5, count);
		rc = step_done(s->source);
		i = j - 1;
	}
	return rc;
}

int store_put_events(struct store *s, const struct event *ev, size_t n,
		     struct store_put_result *res, char *err)
{
	struct store_put_result r = {0};
	int64_t received = now_ms();
	bool *stored = calloc(n ? n : 1, sizeof(*stored));
	int rc;

	memset(res, 0, sizeof(*res));
	if (!stored) {
		snprintf(err, STORE_ERRLEN, "out of memory");
		return -ENOMEM;
	}
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
		stored[i] = sqlite3_changes(s->w) > 0;
		if (stored[i])
			r.accepted_by_kind[ev[i].kind]++;
		else
			r.duplicates_by_kind[ev[i].kind]++;
	}
	sqlite3_clear_bindings(s->insert);
	if ((rc = mark_dirty(s, ev, n, stored)) != SQLITE_DONE ||
	    (rc = mark_sources(s, ev, n, stored)) != SQLITE_DONE) {
		rc = db_error(s->w, rc, "mark", err);
		goto rollback;
	}
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
	free(stored);
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
	if (!(st = read_begin(s, sql, &rc, "query", err)))
		return rc;
	sqlite3_bind_int(st, 1, q->kind);
	sqlite3_bind_int64(st, 2, q->from_ms);
	sqlite3_bind_int64(st, 3, q->to_ms);
	if (q->mission)
		sqlite3_bind_text(st, 4, q->mission, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, q->limit);
	while ((rc = read_step(s, st, err)) > 0) {
		struct event e;
		row_to_event(st, &e);
		if ((rc = cb(&e, ud)) != 0)
			break;
	}
	read_end(s, st);
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

	if (!(st = read_begin(s, "SELECT name, role, hash, created FROM tokens ORDER BY name", &rc,
			      "tokens", err)))
		return rc;
	while ((rc = read_step(s, st, err)) > 0) {
		if (sqlite3_column_bytes(st, 2) != 32)
			continue;
		struct store_token t = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.role = role_from_name((const char *)sqlite3_column_text(st, 1)),
			.hash = sqlite3_column_blob(st, 2),
			.created_ms = sqlite3_column_int64(st, 3),
		};
		if ((rc = cb(&t, ud)) != 0)
			break;
	}
	read_end(s, st);
	return rc;
}

/* ---- evaluation ------------------------------------------------------------------ */

int store_scan(struct store *s, int kind, int64_t from_ms, int64_t to_ms,
	       int (*cb)(const struct event *e, void *ud), void *ud, char *err)
{
	char sql[1024];
	int n = snprintf(sql, sizeof(sql), "SELECT kind");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s",
			      f == F_ATTRS ? "NULL" : event_fields[f].name);
	snprintf(sql + n, sizeof(sql) - (size_t)n,
		 " FROM events WHERE kind = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY kind, ts");

	sqlite3_stmt *st;
	int rc;
	if (!(st = read_begin(s, sql, &rc, "scan", err)))
		return rc;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	while ((rc = read_step(s, st, err)) > 0) {
		struct event e;
		row_to_event(st, &e);
		if ((rc = cb(&e, ud)) != 0)
			break;
	}
	read_end(s, st);
	return rc;
}

int store_dirty_read(struct store *s, int64_t *upto,
		     void (*cb)(int kind, int64_t day, void *ud), void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	*upto = -1;
	if (!(st = read_begin(s, "SELECT id, kind, day FROM dirty ORDER BY id", &rc, "dirty", err)))
		return rc;
	while ((rc = read_step(s, st, err)) > 0) {
		*upto = sqlite3_column_int64(st, 0);
		cb(sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2), ud);
	}
	read_end(s, st);
	return rc;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *v)
{
	if (v)
		sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

static void bind_number_or_null(sqlite3_stmt *st, int col, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_double(st, col, v);
}

int store_results_write(struct store *s, const struct store_result_key *cleared, size_t ncleared,
			const struct store_result *rows, size_t n, int64_t dirty_upto, char *err)
{
	sqlite3_stmt *del = NULL, *ins = NULL, *undirty = NULL;
	int rc;

	pthread_mutex_lock(&s->wlock);
	if ((rc = step_done(s->begin)) != SQLITE_DONE) {
		rc = db_error(s->w, rc, "begin", err);
		goto out;
	}
	if ((rc = sqlite3_prepare_v2(s->w, "DELETE FROM kpi_results WHERE kpi = ? AND period = ?", -1,
				     &del, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(s->w,
				     "INSERT OR REPLACE INTO kpi_results(kpi, period, dim, slice, pkind,"
				     " start, value, n, extra, note, provenance, computed, run)"
				     " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
				     -1, &ins, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(s->w, "DELETE FROM dirty WHERE id <= ?", -1, &undirty, NULL)) !=
		    SQLITE_OK) {
		rc = db_error(s->w, rc, "results", err);
		goto rollback;
	}
	for (size_t i = 0; i < ncleared; i++) {
		sqlite3_bind_text(del, 1, cleared[i].kpi, -1, SQLITE_STATIC);
		sqlite3_bind_text(del, 2, cleared[i].period, -1, SQLITE_STATIC);
		if ((rc = step_done(del)) != SQLITE_DONE) {
			rc = db_error(s->w, rc, "results", err);
			goto rollback;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_result *r = &rows[i];
		sqlite3_bind_text(ins, 1, r->kpi, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, r->period, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, r->dim, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, r->slice, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 5, r->pkind);
		sqlite3_bind_int64(ins, 6, r->start_ms);
		bind_number_or_null(ins, 7, r->value);
		sqlite3_bind_double(ins, 8, r->n);
		bind_text_or_null(ins, 9, r->extra);
		bind_text_or_null(ins, 10, r->note);
		sqlite3_bind_text(ins, 11, r->provenance, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 12, r->computed_ms);
		sqlite3_bind_int64(ins, 13, r->run);
		if ((rc = step_done(ins)) != SQLITE_DONE) {
			rc = db_error(s->w, rc, "results", err);
			goto rollback;
		}
	}
	if (dirty_upto >= 0) {
		sqlite3_bind_int64(undirty, 1, dirty_upto);
		if ((rc = step_done(undirty)) != SQLITE_DONE) {
			rc = db_error(s->w, rc, "dirty", err);
			goto rollback;
		}
	}
	if ((rc = step_done(s->commit)) != SQLITE_DONE) {
		rc = db_error(s->w, rc, "commit", err);
		goto rollback;
	}
	rc = 0;
	goto out;
rollback:
	if (!sqlite3_get_autocommit(s->w))
		step_done(s->rollback);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	sqlite3_finalize(undirty);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

/* Rows of kpi_results or kpi_values, filtered alike. */
static int results_query(struct store *s, const char *table, const struct store_result_query *q,
			 int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	bool values = strcmp(table, "kpi_values") == 0;
	/* Only the conditions that are set, so that SQLite can use the keys. */
	char where[512] = "";
	size_t w = 0;
	if (q->kpi)
		w += (size_t)snprintf(where + w, sizeof(where) - w, " AND kpi = ?1");
	if (q->pkind >= 0)
		w += (size_t)snprintf(where + w, sizeof(where) - w, " AND pkind = ?2");
	if (q->dim)
		w += (size_t)snprintf(where + w, sizeof(where) - w, " AND dim = ?3");
	if (q->slice)
		w += (size_t)snprintf(where + w, sizeof(where) - w, " AND slice = ?4");
	if (q->from_ms != INT64_MIN)
		w += (size_t)snprintf(where + w, sizeof(where) - w, " AND start >= ?5");
	if (q->to_ms != INT64_MAX)
		w += (size_t)snprintf(where + w, sizeof(where) - w, " AND start < ?6");
	/* Reported values keep their history: the newest row of a key wins. */
	const char *newest = values ? " AND id = (SELECT max(id) FROM kpi_values v WHERE v.kpi = r.kpi"
				      " AND v.period = r.period AND v.dim = r.dim AND v.slice = r.slice)"
				    : "";
	char latest[160] = "";
	if (q->latest)
		snprintf(latest, sizeof(latest),
			 " AND start = (SELECT max(start) FROM %s l WHERE l.kpi = r.kpi"
			 " AND l.pkind = r.pkind AND l.dim = '')",
			 table);
	char sql[1600];
	snprintf(sql, sizeof(sql),
		 "SELECT kpi, period, dim, slice, pkind, start, value, %s, %s, note, %s, %s, %s"
		 " FROM %s r WHERE 1%s%s%s ORDER BY kpi, pkind, start, dim, slice",
		 values ? "1" : "n", values ? "NULL" : "extra",
		 values ? "'reported by ' || who" : "provenance", values ? "at" : "computed",
		 values ? "id" : "run", table, where, newest, latest);
	sqlite3_stmt *st;
	int rc;
	if (!(st = read_begin(s, sql, &rc, "results", err)))
		return rc;
	bind_text_or_null(st, 1, q->kpi);
	sqlite3_bind_int(st, 2, q->pkind);
	bind_text_or_null(st, 3, q->dim);
	bind_text_or_null(st, 4, q->slice);
	sqlite3_bind_int64(st, 5, q->from_ms);
	sqlite3_bind_int64(st, 6, q->to_ms);
	while ((rc = read_step(s, st, err)) > 0) {
		struct store_result r = {
			.kpi = (const char *)sqlite3_column_text(st, 0),
			.period = (const char *)sqlite3_column_text(st, 1),
			.dim = (const char *)sqlite3_column_text(st, 2),
			.slice = (const char *)sqlite3_column_text(st, 3),
			.pkind = sqlite3_column_int(st, 4),
			.start_ms = sqlite3_column_int64(st, 5),
			.value = sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN
									  : sqlite3_column_double(st, 6),
			.n = sqlite3_column_double(st, 7),
			.extra = (const char *)sqlite3_column_text(st, 8),
			.note = (const char *)sqlite3_column_text(st, 9),
			.provenance = (const char *)sqlite3_column_text(st, 10),
			.computed_ms = sqlite3_column_int64(st, 11),
			.run = sqlite3_column_int64(st, 12),
		};
		if ((rc = cb(&r, ud)) != 0)
			break;
	}
	read_end(s, st);
	return rc;
}

int store_results_each(struct store *s, const struct store_result_query *q,
		       int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	return results_query(s, "kpi_results", q, cb, ud, err);
}

int store_values_each(struct store *s, const struct store_result_query *q,
		      int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	return results_query(s, "kpi_values", q, cb, ud, err);
}

int64_t store_results_max_run(struct store *s)
{
	return read_int(s, "SELECT coalesce(max(run), 0) FROM kpi_results");
}

int store_value_add(struct store *s, const struct store_result *v, const char *who, char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO kpi_values(kpi, period, pkind, start, dim, slice, value, note,"
				" who, at) VALUES(?,?,?,?,?,?,?,?,?,?)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, v->kpi, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v->period, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, v->pkind);
		sqlite3_bind_int64(st, 4, v->start_ms);
		sqlite3_bind_text(st, 5, v->dim, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, v->slice, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 7, v->value);
		bind_text_or_null(st, 8, v->note);
		sqlite3_bind_text(st, 9, who, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, now_ms());
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "value", err);
}

int store_kpi_status_set(struct store *s, const char *kpi, const char *error, unsigned kinds,
			 char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	/* kinds 0 keeps what the worker recorded last. */
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO kpi_status(kpi, error, at, kinds) VALUES(?1, ?2, ?3, ?4)"
				" ON CONFLICT(kpi) DO UPDATE SET error = ?2, at = ?3,"
				" kinds = CASE WHEN ?4 = 0 THEN kinds ELSE ?4 END",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
		bind_text_or_null(st, 2, error);
		sqlite3_bind_int64(st, 3, now_ms());
		sqlite3_bind_int(st, 4, (int)kinds);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "status", err);
}

int store_kpi_status_each(struct store *s,
			  void (*cb)(const char *kpi, const char *error, int64_t at_ms, void *ud),
			  void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s, "SELECT kpi, error, at FROM kpi_status ORDER BY kpi", &rc, "status",
			      err)))
		return rc;
	while ((rc = read_step(s, st, err)) > 0)
		cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int64(st, 2), ud);
	read_end(s, st);
	return rc;
}

/* ---- the outbox ------------------------------------------------------------------ */

int store_outbox_due(struct store *s, int64_t now, int limit,
		     int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s,
				"SELECT id, to_addr, subject, message, attempts, created FROM outbox"
				" WHERE status = 'pending' AND next_attempt <= ? ORDER BY next_attempt, id"
				" LIMIT ?", &rc, "outbox", err)))
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = read_step(s, st, err)) > 0) {
		struct store_mail m = {
			.id = sqlite3_column_int64(st, 0),
			.to_addr = (const char *)sqlite3_column_text(st, 1),
			.subject = (const char *)sqlite3_column_text(st, 2),
			.message = (const char *)sqlite3_column_blob(st, 3),
			.len = (size_t)sqlite3_column_bytes(st, 3),
			.attempts = sqlite3_column_int(st, 4),
			.created_ms = sqlite3_column_int64(st, 5),
		};
		if ((rc = cb(&m, ud)) != 0)
			break;
	}
	read_end(s, st);
	return rc;
}

int store_outbox_mark(struct store *s, int64_t id, enum store_mail_status status,
		      const char *error, int64_t next_attempt, char *err)
{
	sqlite3_stmt *st;
	int rc;
	static const char *const names[] = {"pending", "sent", "failed"};

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w,
				"UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
				" next_attempt = ?, sent_at = CASE WHEN ? = 'sent' THEN ? END WHERE id = ?",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, names[status], -1, SQLITE_STATIC);
		bind_text_or_null(st, 2, error);
		sqlite3_bind_int64(st, 3, next_attempt);
		sqlite3_bind_text(st, 4, names[status], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now_ms());
		sqlite3_bind_int64(st, 6, id);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "outbox", err);
}

int store_outbox_add(struct store *s, const struct store_mail *m, int64_t alert, char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO outbox(created, alert, to_addr, subject, message, next_attempt)"
				" VALUES(?, ?, ?, ?, ?, ?)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		int64_t now = now_ms();
		sqlite3_bind_int64(st, 1, now);
		if (alert > 0)
			sqlite3_bind_int64(st, 2, alert);
		else
			sqlite3_bind_null(st, 2);
		sqlite3_bind_text(st, 3, m->to_addr, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, m->subject, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, m->message, (int)m->len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, now);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "outbox", err);
}

int store_outbox_each(struct store *s, const char *status, int limit,
		      int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s,
				"SELECT id, to_addr, subject, attempts, created, status, last_error,"
				" next_attempt, sent_at, alert FROM outbox WHERE (?1 IS NULL OR status = ?1)"
				" ORDER BY id DESC LIMIT ?2", &rc, "outbox", err)))
		return rc;
	bind_text_or_null(st, 1, status);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = read_step(s, st, err)) > 0) {
		struct store_mail m = {
			.id = sqlite3_column_int64(st, 0),
			.to_addr = (const char *)sqlite3_column_text(st, 1),
			.subject = (const char *)sqlite3_column_text(st, 2),
			.attempts = sqlite3_column_int(st, 3),
			.created_ms = sqlite3_column_int64(st, 4),
			.status = (const char *)sqlite3_column_text(st, 5),
			.last_error = (const char *)sqlite3_column_text(st, 6),
			.next_ms = sqlite3_column_int64(st, 7),
			.sent_ms = sqlite3_column_int64(st, 8),
			.alert = sqlite3_column_int64(st, 9),
		};
		if ((rc = cb(&m, ud)) != 0)
			break;
	}
	read_end(s, st);
	return rc;
}

/* ---- targets and the audit log --------------------------------------------------- */

static const char *const rule_names[] = {"none", "min", "max", "range"};

int store_target_get(struct store *s, const char *kpi, const char *period, struct target *t,
		     char *err)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	pthread_mutex_lock(&s->rlock);
	rc = sqlite3_prepare_v2(s->r, "SELECT rule, low, high, warn FROM targets WHERE kpi = ? AND period = ?",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *rule = (const char *)sqlite3_column_text(st, 0);
			t->rule = TR_NONE;
			for (int i = 0; i < 4; i++)
				if (rule && strcmp(rule, rule_names[i]) == 0)
					t->rule = (enum target_rule)i;
			t->low = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
			t->high = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
			t->warn = sqlite3_column_double(st, 3);
			found = 1;
			rc = SQLITE_DONE;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return rc == SQLITE_DONE ? found : db_error(s->r, rc, "targets", err);
}

static int audit_insert(sqlite3 *db, const struct store_audit *a)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO audit(at, who, action, object, old, new, reason)"
				    " VALUES(?,?,?,?,?,?,?)",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_text(st, 2, a->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->object, -1, SQLITE_STATIC);
	bind_text_or_null(st, 5, a->old);
	bind_text_or_null(st, 6, a->new_);
	bind_text_or_null(st, 7, a->reason);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc;
}

int store_audit_add(struct store *s, const struct store_audit *a, char *err)
{
	pthread_mutex_lock(&s->wlock);
	int rc = audit_insert(s->w, a);
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "audit", err);
}

int store_target_put(struct store *s, const char *kpi, const char *period, const struct target *t,
		     const char *who, const char *old_json, const char *new_json, const char *reason,
		     char *err)
{
	sqlite3_stmt *st = NULL;
	int rc;
	char object[128];

	snprintf(object, sizeof(object), "kpi %s target %s", kpi, period);
	pthread_mutex_lock(&s->wlock);
	if ((rc = step_done(s->begin)) != SQLITE_DONE)
		goto fail;
	rc = sqlite3_prepare_v2(s->w,
				"INSERT OR REPLACE INTO targets(kpi, period, rule, low, high, warn, who, at)"
				" VALUES(?,?,?,?,?,?,?,?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rule_names[t->rule], -1, SQLITE_STATIC);
	bind_number_or_null(st, 4, t->low);
	bind_number_or_null(st, 5, t->high);
	sqlite3_bind_double(st, 6, t->warn);
	sqlite3_bind_text(st, 7, who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now_ms());
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		goto fail;
	struct store_audit a = {.who = who, .action = "target.set", .object = object,
				.old = old_json, .new_ = new_json, .reason = reason};
	if ((rc = audit_insert(s->w, &a)) != SQLITE_DONE || (rc = step_done(s->commit)) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->wlock);
	return 0;
fail:
	rc = db_error(s->w, rc, "target", err);
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(s->w))
		step_done(s->rollback);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

int store_audit_each(struct store *s, int limit, int (*cb)(const struct store_audit *a, void *ud),
		     void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s,
				"SELECT id, at, who, action, object, old, new, reason FROM audit"
				" ORDER BY id DESC LIMIT ?", &rc, "audit", err)))
		return rc;
	sqlite3_bind_int(st, 1, limit);
	while ((rc = read_step(s, st, err)) > 0) {
		struct store_audit a = {
			.id = sqlite3_column_int64(st, 0),
			.at_ms = sqlite3_column_int64(st, 1),
			.who = (const char *)sqlite3_column_text(st, 2),
			.action = (const char *)sqlite3_column_text(st, 3),
			.object = (const char *)sqlite3_column_text(st, 4),
			.old = (const char *)sqlite3_column_text(st, 5),
			.new_ = (const char *)sqlite3_column_text(st, 6),
			.reason = (const char *)sqlite3_column_text(st, 7),
		};
		if ((rc = cb(&a, ud)) != 0)
			break;
	}
	read_end(s, st);
	return rc;
}

unsigned store_kpi_kinds(struct store *s, const char *kpi)
{
	sqlite3_stmt *st;
	unsigned kinds = 0;

	pthread_mutex_lock(&s->rlock);
	if (sqlite3_prepare_v2(s->r, "SELECT kinds FROM kpi_status WHERE kpi = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			kinds = (unsigned)sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return kinds;
}

/* ---- alerts ----------------------------------------------------------------------- */

#define ALERT_COLUMNS                                                                              \
	"id, kpi, period, dim, slice, kind, state, since, pending, pending_since, value, target,"  \
	" forecast, detail, notified, acked_by, acked_at, ack_comment"

static double column_number(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

static void row_to_alert(sqlite3_stmt *st, struct store_alert *a)
{
	*a = (struct store_alert){
		.id = sqlite3_column_int64(st, 0),
		.kpi = (const char *)sqlite3_column_text(st, 1),
		.period = (const char *)sqlite3_column_text(st, 2),
		.dim = (const char *)sqlite3_column_text(st, 3),
		.slice = (const char *)sqlite3_column_text(st, 4),
		.kind = (const char *)sqlite3_column_text(st, 5),
		.state = (const char *)sqlite3_column_text(st, 6),
		.since_ms = sqlite3_column_int64(st, 7),
		.pending = (const char *)sqlite3_column_text(st, 8),
		.pending_since_ms = sqlite3_column_int64(st, 9),
		.value = column_number(st, 10),
		.target = column_number(st, 11),
		.forecast = column_number(st, 12),
		.detail = (const char *)sqlite3_column_text(st, 13),
		.notified_ms = sqlite3_column_int64(st, 14),
		.acked_by = (const char *)sqlite3_column_text(st, 15),
		.acked_ms = sqlite3_column_int64(st, 16),
		.ack_comment = (const char *)sqlite3_column_text(st, 17),
	};
}

/* Runs a read-only statement (prepared from sql with `bind`) and hands each
 * row to `row`, under the read lock. */
static int read_rows(struct store *s, const char *sql, void (*bind)(sqlite3_stmt *st, const void *arg),
		     const void *arg, int (*row)(sqlite3_stmt *st, void *ud), void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s, sql, &rc, "query", err)))
		return rc;
	bind(st, arg);
	while ((rc = read_step(s, st, err)) > 0)
		if ((rc = row(st, ud)) != 0)
			break;
	read_end(s, st);
	return rc;
}

struct alert_cb {
	int (*cb)(const struct store_alert *a, void *ud);
	void *ud;
};

static int alert_row(sqlite3_stmt *st, void *ud)
{
	struct alert_cb *c = ud;
	struct store_alert a;
	row_to_alert(st, &a);
	return c->cb(&a, c->ud);
}

struct alert_key {
	const char *kpi, *period, *dim, *slice, *kind;
};

static void bind_alert_key(sqlite3_stmt *st, const void *arg)
{
	const struct alert_key *k = arg;
	sqlite3_bind_text(st, 1, k->kpi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->period, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->dim, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->slice, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, k->kind, -1, SQLITE_STATIC);
}

int store_alert_get(struct store *s, const char *kpi, const char *period, const char *dim,
		    const char *slice, const char *kind,
		    int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	struct alert_key k = {kpi, period, dim, slice, kind};
	struct alert_cb c = {cb, ud};
	return read_rows(s,
			 "SELECT " ALERT_COLUMNS " FROM alerts WHERE kpi = ? AND period = ? AND dim = ?"
			 " AND slice = ? AND kind = ?",
			 bind_alert_key, &k, alert_row, &c, err);
}

static void bind_alert_query(sqlite3_stmt *st, const void *arg)
{
	const struct store_alert_query *q = arg;
	bind_text_or_null(st, 1, q->kpi);
	bind_text_or_null(st, 2, q->state);
	sqlite3_bind_int64(st, 3, q->id);
	sqlite3_bind_int(st, 4, q->limit > 0 ? q->limit : 1000);
}

int store_alerts_each(struct store *s, const struct store_alert_query *q,
		      int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	struct alert_cb c = {cb, ud};
	return read_rows(s,
			 "SELECT " ALERT_COLUMNS " FROM alerts WHERE (?1 IS NULL OR kpi = ?1)"
			 " AND (?2 IS NULL OR (?2 = 'active' AND state <> 'ok') OR state = ?2)"
			 " AND (?3 = 0 OR id = ?3) ORDER BY since DESC, id DESC LIMIT ?4",
			 bind_alert_query, q, alert_row, &c, err);
}

struct history_q {
	const char *kpi;
	int limit;
};

static void bind_history(sqlite3_stmt *st, const void *arg)
{
	const struct history_q *q = arg;
	bind_text_or_null(st, 1, q->kpi);
	sqlite3_bind_int(st, 2, q->limit > 0 ? q->limit : 1000);
}

static int history_row(sqlite3_stmt *st, void *ud)
{
	struct alert_cb *c = ud;
	struct store_alert a = {
		.id = sqlite3_column_int64(st, 0),
		.kpi = (const char *)sqlite3_column_text(st, 1),
		.period = (const char *)sqlite3_column_text(st, 2),
		.dim = (const char *)sqlite3_column_text(st, 3),
		.slice = (const char *)sqlite3_column_text(st, 4),
		.kind = (const char *)sqlite3_column_text(st, 5),
		.pending = (const char *)sqlite3_column_text(st, 6), /* old */
		.state = (const char *)sqlite3_column_text(st, 7),   /* new */
		.since_ms = sqlite3_column_int64(st, 8),
		.value = column_number(st, 9),
		.target = column_number(st, 10),
		.forecast = column_number(st, 11),
		.detail = (const char *)sqlite3_column_text(st, 12),
	};
	return c->cb(&a, c->ud);
}

int store_alert_history_each(struct store *s, const char *kpi, int limit,
			     int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	struct history_q q = {kpi, limit};
	struct alert_cb c = {cb, ud};
	return read_rows(s,
			 "SELECT a.id, a.kpi, a.period, a.dim, a.slice, a.kind, h.old, h.new, h.at,"
			 " h.value, h.target, h.forecast, h.detail FROM alert_history h"
			 " JOIN alerts a ON a.id = h.alert WHERE (?1 IS NULL OR a.kpi = ?1)"
			 " ORDER BY h.at DESC, h.id DESC LIMIT ?2",
			 bind_history, &q, history_row, &c, err);
}

int store_alert_put(struct store *s, const struct store_alert *a, const char *old_state,
		    const struct store_mail *mails, size_t nmails, int64_t *id, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&s->wlock);
	if ((rc = step_done(s->begin)) != SQLITE_DONE)
		goto fail;
	rc = sqlite3_prepare_v2(
		s->w,
		"INSERT INTO alerts(kpi, period, dim, slice, kind, state, since, pending, pending_since,"
		" value, target, forecast, detail, notified)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
		" ON CONFLICT(kpi, period, dim, slice, kind) DO UPDATE SET state = ?6, since = ?7,"
		" pending = ?8, pending_since = ?9, value = ?10, target = ?11, forecast = ?12,"
		" detail = ?13, notified = ?14,"
		" acked_by = CASE WHEN ?15 THEN NULL ELSE acked_by END,"
		" acked_at = CASE WHEN ?15 THEN NULL ELSE acked_at END,"
		" ack_comment = CASE WHEN ?15 THEN NULL ELSE ack_comment END"
		" RETURNING id",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, a->kpi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->period, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->dim, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->slice, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, a->since_ms);
	bind_text_or_null(st, 8, a->pending);
	sqlite3_bind_int64(st, 9, a->pending_since_ms);
	bind_number_or_null(st, 10, a->value);
	bind_number_or_null(st, 11, a->target);
	bind_number_or_null(st, 12, a->forecast);
	bind_text_or_null(st, 13, a->detail);
	sqlite3_bind_int64(st, 14, a->notified_ms);
	sqlite3_bind_int(st, 15, old_state != NULL); /* a new state needs a new ack */
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		goto fail;
	*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (old_state) {
		rc = sqlite3_prepare_v2(s->w,
					"INSERT INTO alert_history(alert, at, old, new, value, target, forecast,"
					" detail) VALUES(?,?,?,?,?,?,?,?)",
					-1, &st, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int64(st, 2, a->since_ms);
		sqlite3_bind_text(st, 3, old_state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->state, -1, SQLITE_STATIC);
		bind_number_or_null(st, 5, a->value);
		bind_number_or_null(st, 6, a->target);
		bind_number_or_null(st, 7, a->forecast);
		bind_text_or_null(st, 8, a->detail);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (nmails) {
		rc = sqlite3_prepare_v2(s->w,
					"INSERT INTO outbox(created, alert, to_addr, subject, message,"
					" next_attempt) VALUES(?,?,?,?,?,?)",
					-1, &st, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		for (size_t i = 0; i < nmails; i++) {
			int64_t now = now_ms();
			sqlite3_bind_int64(st, 1, now);
			sqlite3_bind_int64(st, 2, *id);
			sqlite3_bind_text(st, 3, mails[i].to_addr, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, mails[i].subject, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 5, mails[i].message, (int)mails[i].len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, now);
			if ((rc = step_done(st)) != SQLITE_DONE)
				goto fail;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if ((rc = step_done(s->commit)) != SQLITE_DONE)
		goto fail;
	pthread_mutex_unlock(&s->wlock);
	return 0;
fail:
	rc = db_error(s->w, rc, "alert", err);
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(s->w))
		step_done(s->rollback);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

/* Runs one write statement and its audit entry in one transaction.
 * Returns the number of rows the statement changed, or a negative errno. */
static int write_audited(struct store *s, sqlite3_stmt *st, const struct store_audit *a,
			 int64_t *rowid, char *err)
{
	int rc, changed;
	if ((rc = step_done(s->begin)) != SQLITE_DONE)
		goto fail;
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		goto fail;
	changed = sqlite3_changes(s->w);
	if (rowid)
		*rowid = sqlite3_last_insert_rowid(s->w);
	if (changed && (rc = audit_insert(s->w, a)) != SQLITE_DONE)
		goto fail;
	if ((rc = step_done(s->commit)) != SQLITE_DONE)
		goto fail;
	return changed;
fail:
	rc = db_error(s->w, rc, a->action, err);
	if (!sqlite3_get_autocommit(s->w))
		step_done(s->rollback);
	return rc;
}

int store_alert_ack(struct store *s, int64_t id, const char *who, const char *comment, char *err)
{
	sqlite3_stmt *st;
	char object[64];
	int rc;

	snprintf(object, sizeof(object), "alert %lld", (long long)id);
	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w,
				"UPDATE alerts SET acked_by = ?, acked_at = ?, ack_comment = ? WHERE id = ?",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now_ms());
		bind_text_or_null(st, 3, comment);
		sqlite3_bind_int64(st, 4, id);
		struct store_audit a = {.who = who, .action = "alert.ack", .object = object,
					.new_ = comment, .reason = comment};
		rc = write_audited(s, st, &a, NULL, err);
		sqlite3_finalize(st);
	} else {
		rc = db_error(s->w, rc, "ack", err);
	}
	pthread_mutex_unlock(&s->wlock);
	if (rc == 0) {
		snprintf(err, STORE_ERRLEN, "no alert has id %lld", (long long)id);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

int store_silence_add(struct store *s, const struct store_silence *si, int64_t *id, char *err)
{
	sqlite3_stmt *st;
	char object[192], until[32];
	int rc;

	event_format_time(si->until_ms, until);
	snprintf(object, sizeof(object), "silence kpi=%s dim=%s slice=%s", si->kpi ? si->kpi : "*",
		 si->dim ? si->dim : "*", si->slice ? si->slice : "*");
	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO silences(kpi, dim, slice, until, who, comment, created)"
				" VALUES(?,?,?,?,?,?,?)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text_or_null(st, 1, si->kpi);
		bind_text_or_null(st, 2, si->dim);
		bind_text_or_null(st, 3, si->slice);
		sqlite3_bind_int64(st, 4, si->until_ms);
		sqlite3_bind_text(st, 5, si->who, -1, SQLITE_STATIC);
		bind_text_or_null(st, 6, si->comment);
		sqlite3_bind_int64(st, 7, now_ms());
		struct store_audit a = {.who = si->who, .action = "silence.add", .object = object,
					.new_ = until, .reason = si->comment};
		rc = write_audited(s, st, &a, id, err);
		sqlite3_finalize(st);
	} else {
		rc = db_error(s->w, rc, "silence", err);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc < 0 ? rc : 0;
}

struct silence_cb {
	int (*cb)(const struct store_silence *si, void *ud);
	void *ud;
};

static void bind_at(sqlite3_stmt *st, const void *arg)
{
	sqlite3_bind_int64(st, 1, *(const int64_t *)arg);
}

static int silence_row(sqlite3_stmt *st, void *ud)
{
	struct silence_cb *c = ud;
	struct store_silence si = {
		.id = sqlite3_column_int64(st, 0),
		.kpi = (const char *)sqlite3_column_text(st, 1),
		.dim = (const char *)sqlite3_column_text(st, 2),
		.slice = (const char *)sqlite3_column_text(st, 3),
		.until_ms = sqlite3_column_int64(st, 4),
		.who = (const char *)sqlite3_column_text(st, 5),
		.comment = (const char *)sqlite3_column_text(st, 6),
		.created_ms = sqlite3_column_int64(st, 7),
	};
	return c->cb(&si, c->ud);
}

int store_silences_each(struct store *s, int64_t at,
			int (*cb)(const struct store_silence *si, void *ud), void *ud, char *err)
{
	struct silence_cb c = {cb, ud};
	return read_rows(s,
			 "SELECT id, kpi, dim, slice, until, who, comment, created FROM silences"
			 " WHERE until > ?1 ORDER BY id DESC",
			 bind_at, &at, silence_row, &c, err);
}

struct source_cb {
	int (*cb)(const struct store_source *src, void *ud);
	void *ud;
};

static void bind_nothing(sqlite3_stmt *st, const void *arg)
{
	(void)st;
	(void)arg;
}

static int source_row(sqlite3_stmt *st, void *ud)
{
	struct source_cb *c = ud;
	struct store_source src = {
		.kind = sqlite3_column_int(st, 0),
		.mission = (const char *)sqlite3_column_text(st, 1),
		.first_ms = sqlite3_column_int64(st, 2),
		.last_ms = sqlite3_column_int64(st, 3),
		.count = sqlite3_column_int64(st, 4),
	};
	return c->cb(&src, c->ud);
}

int store_sources_each(struct store *s, int (*cb)(const struct store_source *src, void *ud),
		       void *ud, char *err)
{
	struct source_cb c = {cb, ud};
	return read_rows(s, "SELECT kind, mission, first, last, count FROM sources ORDER BY kind, mission",
			 bind_nothing, NULL, source_row, &c, err);
}

/* ---- the dashboard: sessions and notes ---- */

int store_session_add(struct store *s, const unsigned char hash[32], const char *name, enum role role,
		      const char *csrf, int64_t expires_ms, char *err)
{
	sqlite3_stmt *st;
	int rc;
	int64_t now = now_ms();

	pthread_mutex_lock(&s->wlock);
	/* Expired sessions go as new ones come. */
	rc = sqlite3_prepare_v2(s->w, "DELETE FROM sessions WHERE expires <= ?", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO sessions(hash, name, role, csrf, created, expires)"
				" VALUES(?,?,?,?,?,?)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, role_name(role), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, csrf, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_int64(st, 6, expires_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "session", err);
}

int store_session_get(struct store *s, const unsigned char hash[32], int64_t now,
		      struct store_session *out, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s, "SELECT name, role, csrf, expires FROM sessions"
				 " WHERE hash = ? AND expires > ?", &rc, "session", err)))
		return rc;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = read_step(s, st, err);
	if (rc > 0) {
		snprintf(out->name, sizeof(out->name), "%s", (const char *)sqlite3_column_text(st, 0));
		out->role = role_from_name((const char *)sqlite3_column_text(st, 1));
		snprintf(out->csrf, sizeof(out->csrf), "%s", (const char *)sqlite3_column_text(st, 2));
		out->expires_ms = sqlite3_column_int64(st, 3);
	}
	read_end(s, st);
	return rc;
}

int store_session_delete(struct store *s, const unsigned char hash[32], char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w, "DELETE FROM sessions WHERE hash = ?", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "session", err);
}

int store_note_add(struct store *s, const struct store_note *n, char *err)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO notes(goal, period, difficulties, solutions, who, at)"
				" VALUES(?,?,?,?,?,?)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, n->goal, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, n->period, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, n->difficulties ? n->difficulties : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, n->solutions ? n->solutions : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, n->who, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, now_ms());
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : db_error(s->w, rc, "note", err);
}

int store_note_get(struct store *s, const char *goal, const char *period,
		   int (*cb)(const struct store_note *n, void *ud), void *ud, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = read_begin(s, "SELECT id, goal, period, difficulties, solutions, who, at FROM notes"
				 " WHERE goal = ? AND period = ? ORDER BY id DESC LIMIT 1", &rc, "note", err)))
		return rc;
	sqlite3_bind_text(st, 1, goal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	rc = read_step(s, st, err);
	if (rc > 0) {
		struct store_note n = {
			.id = sqlite3_column_int64(st, 0),
			.goal = (const char *)sqlite3_column_text(st, 1),
			.period = (const char *)sqlite3_column_text(st, 2),
			.difficulties = (const char *)sqlite3_column_text(st, 3),
			.solutions = (const char *)sqlite3_column_text(st, 4),
			.who = (const char *)sqlite3_column_text(st, 5),
			.at_ms = sqlite3_column_int64(st, 6),
		};
		rc = cb(&n, ud);
	}
	read_end(s, st);
	return rc;
}

int64_t store_data_version(struct store *s)
{
	/* Every part grows monotonically; their sum changes when any does. */
	return read_int(s, "SELECT (SELECT coalesce(max(run), 0) FROM kpi_results)"
			   " + (SELECT coalesce(max(id), 0) FROM kpi_values)"
			   " + (SELECT coalesce(max(id), 0) FROM audit)"
			   " + (SELECT coalesce(max(id), 0) FROM notes)");
}
