/* schema.c - the SQLite store's schema, its migrations and its size. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	/* 5 -> 6: numbers allocated inside the writing transaction, not read
	 * from max(rowid): counters for run numbers, dirty marks and the data
	 * version (each starting where the old reading left it), and one dirty
	 * mark per (kind, day) carrying the change number that last made it */
	"CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO counters(name, value) VALUES"
	" ('run', (SELECT coalesce(max(run), 0) FROM kpi_results)),"
	" ('dirty', (SELECT coalesce(max(id), 0) FROM dirty)),"
	" ('data', (SELECT coalesce(max(run), 0) FROM kpi_results)"
	"  + (SELECT coalesce(max(id), 0) FROM kpi_values) + (SELECT coalesce(max(id), 0) FROM audit)"
	"  + (SELECT coalesce(max(id), 0) FROM notes));"
	"CREATE TABLE dirty_marks (kind INTEGER NOT NULL, day INTEGER NOT NULL,"
	" change INTEGER NOT NULL, PRIMARY KEY (kind, day)) WITHOUT ROWID;"
	"INSERT INTO dirty_marks SELECT kind, day, max(id) FROM dirty GROUP BY kind, day;"
	"DROP TABLE dirty;"
	"ALTER TABLE dirty_marks RENAME TO dirty;",
	/* 6 -> 7: incremental evaluation: each KPI's partial states per scope
	 * (a day or a period, numbered by the evaluation) and slice, and what
	 * made them (a signature) up to which event number */
	"CREATE TABLE fold_meta (kpi TEXT PRIMARY KEY, signature TEXT NOT NULL,"
	" upto INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE fold_states (kpi TEXT NOT NULL, scope INTEGER NOT NULL, dim TEXT NOT NULL,"
	" slice TEXT NOT NULL, state BLOB NOT NULL,"
	" PRIMARY KEY (kpi, scope, dim, slice)) WITHOUT ROWID;",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

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

int sq_migrate(sqlite3 *db, char *err)
{
	int rc = sq_exec(db, "BEGIN IMMEDIATE", err);
	if (rc < 0)
		return rc;
	int v = user_version(db);
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, STORE_ERRLEN,
			 "the database has schema version %d; this build knows up to %d", v,
			 STORE_SCHEMA_VERSION);
		sq_exec(db, "ROLLBACK", NULL);
		return -EPROTO;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		char sql[64];
		if ((rc = sq_exec(db, migrations[v], err)) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = sq_exec(db, sql, err)) < 0)
			goto fail;
	}
	return sq_exec(db, "COMMIT", err);
fail:
	sq_exec(db, "ROLLBACK", NULL);
	return rc;
}

int sq_schema_version(struct store *store, char *err)
{
	int64_t v = sq_read_int(sq_of(store), "PRAGMA user_version", "schema version", err);
	return (int)v;
}

int64_t sq_count_events(struct store *store, char *err)
{
	return sq_read_int(sq_of(store), "SELECT count(*) FROM events", "count events", err);
}

int64_t sq_size_bytes(struct store *store, char *err)
{
	return sq_read_int(sq_of(store),
			   "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
			   "size", err);
}

/* PRAGMA quick_check on a connection of its own (the one connection of a
 * store in memory, under the writer's lock), so that reads and writes go on
 * while it reads the whole file.  Its first rows are what it found. */
int sq_check(struct store *store, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (s->memory) {
		pthread_mutex_lock(&s->wlock);
		db = s->w;
	} else {
		const char *path = sqlite3_db_filename(s->r, "main");
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			rc = sq_error(db, rc, "check: open", err);
			sqlite3_close(db);
			return rc;
		}
		sqlite3_busy_timeout(db, 5000);
	}
	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &st, NULL);
	int r = rc == SQLITE_OK ? sqlite3_step(st) : rc;
	size_t used = 0;
	bool damaged = false;
	while (r == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (!line || strcmp(line, "ok") != 0) {
			damaged = true;
			if (used < STORE_ERRLEN)
				used += (size_t)snprintf(err + used, STORE_ERRLEN - used, "%s%s",
							 used ? "; " : "", line ? line : "?");
		}
		r = sqlite3_step(st);
	}
	if (r == SQLITE_DONE) {
		rc = damaged ? -EUCLEAN : 0;
	} else if ((r & 0xff) == SQLITE_CORRUPT || (r & 0xff) == SQLITE_NOTADB) {
		snprintf(err, STORE_ERRLEN, "%s", sqlite3_errmsg(db));
		rc = -EUCLEAN;
	} else {
		rc = sq_error(db, r, "check", err);
	}
	sqlite3_finalize(st);
	if (s->memory)
		pthread_mutex_unlock(&s->wlock);
	else
		sqlite3_close(db);
	return rc;
}

/* The demo mark is a row of the counters table (schema 6): no migration. */
int sq_demo_mark(struct store *store, char *err)
{
	struct sq *s = sq_of(store);
	int rc;
	sqlite3_stmt *st = sq_write_begin(
		s, "INSERT INTO counters(name, value) VALUES('demo', 1) ON CONFLICT(name) DO NOTHING",
		&rc, "demo mark", err);
	if (!st)
		return rc;
	rc = sq_write_end(s, st, "demo mark", err);
	return rc < 0 ? rc : 0;
}

int sq_is_demo(struct store *store, char *err)
{
	int64_t v = sq_read_int(sq_of(store), "SELECT value FROM counters WHERE name = 'demo'",
				"demo mark", err);
	return v < 0 && v != -1 ? (int)v : v > 0;
}
