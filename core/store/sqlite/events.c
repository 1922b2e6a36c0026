/* events.c - the SQLite store's events: batched idempotent writes, dirty marks,
 * sources, reads and scans. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sq_insert_sql(void)
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

/* Marks each distinct (kind, UTC day) of the stored events dirty, with one
 * change number for the batch: a mark already there takes the new number,
 * so that an evaluation that read the old one does not clear it. */
static int mark_dirty(struct sq *s, const struct event *ev, size_t n, const bool *stored)
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
	int64_t change = 0;
	if (k && (rc = sq_counter_next(s, "dirty", &change)) == SQLITE_OK)
		rc = SQLITE_DONE;
	for (size_t i = 0; i < k && rc == SQLITE_DONE; i++) {
		if (i && keys[i] == keys[i - 1])
			continue;
		sqlite3_bind_int(s->mark, 1, (int)(keys[i] >> 40));
		sqlite3_bind_int64(s->mark, 2, (int64_t)(keys[i] & 0xffffffffff));
		sqlite3_bind_int64(s->mark, 3, change);
		rc = sq_step_done(s->mark);
	}
	free(keys);
	return rc;
}

/* Keeps the newest time of each (kind, mission) stored: stale-data alerts
 * read it.  Batches come from one sender mostly: only changes are written. */
static int mark_sources(struct sq *s, const struct event *ev, size_t n, const bool *stored)
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
		rc = sq_step_done(s->source);
		i = j - 1;
	}
	return rc;
}

int sq_put_events(struct store *store, const struct event *ev, size_t n,
		  struct store_put_result *res, char *err)
{
	struct sq *s = sq_of(store);
	struct store_put_result r = {0};
	int64_t received = time_now_ms();
	bool *stored = calloc(n ? n : 1, sizeof(*stored));
	int rc;

	memset(res, 0, sizeof(*res));
	if (!stored) {
		snprintf(err, STORE_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	if ((rc = sq_tx_begin(s, err)) < 0)
		goto out;
	const char *what = "insert";
	for (size_t i = 0; i < n; i++) {
		if ((rc = bind_event(s->insert, &ev[i], received)) != SQLITE_OK) {
			what = "bind";
			goto fail;
		}
		if ((rc = sq_step_done(s->insert)) != SQLITE_DONE)
			goto fail;
		stored[i] = sqlite3_changes(s->w) > 0;
		if (stored[i])
			r.accepted_by_kind[ev[i].kind]++;
		else
			r.duplicates_by_kind[ev[i].kind]++;
	}
	sqlite3_clear_bindings(s->insert);
	what = "mark";
	if ((rc = mark_dirty(s, ev, n, stored)) != SQLITE_DONE ||
	    (rc = mark_sources(s, ev, n, stored)) != SQLITE_DONE)
		goto fail;
	if ((rc = sq_tx_commit(s, err)) < 0)
		goto out;
	for (int k = 0; k < EV_NKINDS; k++) {
		r.accepted += r.accepted_by_kind[k];
		r.duplicates += r.duplicates_by_kind[k];
	}
	*res = r;
	goto out;
fail:
	rc = sq_tx_fail(s, NULL, rc, what, err);
	sqlite3_clear_bindings(s->insert);
out:
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

/* "SELECT kind, <every field>" into sql[cap] (attrs as NULL unless asked
 * for); returns the length written. */
static int select_fields(char *sql, size_t cap, bool attrs)
{
	int n = snprintf(sql, cap, "SELECT kind");
	for (int f = 0; f < F_NFIELDS; f++)
		n += snprintf(sql + n, cap - (size_t)n, ", %s",
			      f == F_ATTRS && !attrs ? "NULL" : event_fields[f].name);
	return n;
}

/* Hands each row of a statement from select_fields to cb. */
static int each_event(struct sq *s, sqlite3_stmt *st, int (*cb)(const struct event *e, void *ud),
		      void *ud, char *err)
{
	int rc;
	while ((rc = sq_read_step(s, st, err)) > 0) {
		struct event e;
		row_to_event(st, &e);
		if ((rc = cb(&e, ud)) != 0)
			break;
	}
	sq_read_end(s, st);
	return rc;
}

int sq_get_events(struct store *store, const struct store_query *q,
		  int (*cb)(const struct event *e, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	char sql[1024];
	int n = select_fields(sql, sizeof(sql), true);
	snprintf(sql + n, sizeof(sql) - (size_t)n,
		 " FROM events WHERE (?1 < 0 OR kind = ?1) AND ts >= ?2 AND ts < ?3"
		 " AND (?4 IS NULL OR mission = ?4) ORDER BY ts, seq LIMIT ?5");

	sqlite3_stmt *st;
	int rc;
	if (!(st = sq_read_begin(s, sql, &rc, "query", err)))
		return rc;
	sqlite3_bind_int(st, 1, q->kind);
	sqlite3_bind_int64(st, 2, q->from_ms);
	sqlite3_bind_int64(st, 3, q->to_ms);
	if (q->mission)
		sqlite3_bind_text(st, 4, q->mission, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, q->limit);
	return each_event(s, st, cb, ud, err);
}

int sq_scan(struct store *store, int kind, int64_t from_ms, int64_t to_ms,
	    int (*cb)(const struct event *e, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	char sql[1024];
	int n = select_fields(sql, sizeof(sql), false);
	snprintf(sql + n, sizeof(sql) - (size_t)n,
		 " FROM events WHERE kind = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY kind, ts");

	sqlite3_stmt *st;
	int rc;
	if (!(st = sq_read_begin(s, sql, &rc, "scan", err)))
		return rc;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	return each_event(s, st, cb, ud, err);
}

int64_t sq_events_last_seq(struct store *store, char *err)
{
	int64_t v = sq_read_int(sq_of(store), "SELECT coalesce(max(seq), 0) FROM events",
				"last event number", err);
	return v;
}

int sq_scan_seq(struct store *store, int kind, int64_t from_ms, int64_t to_ms, int64_t after_seq,
		int64_t upto_seq, bool by_time, int (*cb)(const struct event *e, void *ud), void *ud,
		char *err)
{
	struct sq *s = sq_of(store);
	char sql[1200];
	int n = select_fields(sql, sizeof(sql), false);
	/* By time: through (kind, ts); else through the number, a batch's
	 * events being a short range of it. */
	snprintf(sql + n, sizeof(sql) - (size_t)n,
		 by_time ? " FROM events WHERE kind = ?1 AND ts >= ?2 AND ts < ?3 AND seq > ?4"
			   " AND seq <= ?5 ORDER BY kind, ts"
			 : " FROM events WHERE seq > ?4 AND seq <= ?5 AND kind = ?1 AND ts >= ?2"
			   " AND ts < ?3 ORDER BY seq");

	sqlite3_stmt *st;
	int rc;
	if (!(st = sq_read_begin(s, sql, &rc, "scan", err)))
		return rc;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	sqlite3_bind_int64(st, 4, after_seq);
	sqlite3_bind_int64(st, 5, upto_seq);
	return each_event(s, st, cb, ud, err);
}

int sq_dirty_read(struct store *store, int64_t *upto, void (*cb)(int kind, int64_t day, void *ud),
		  void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	*upto = -1;
	if (!(st = sq_read_begin(s, "SELECT change, kind, day FROM dirty ORDER BY change, kind, day",
				 &rc, "dirty", err)))
		return rc;
	while ((rc = sq_read_step(s, st, err)) > 0) {
		*upto = sqlite3_column_int64(st, 0);
		cb(sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2), ud);
	}
	sq_read_end(s, st);
	return rc;
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

int sq_sources_each(struct store *store, int (*cb)(const struct store_source *src, void *ud),
		    void *ud, char *err)
{
	struct sq *s = sq_of(store);
	struct source_cb c = {cb, ud};
	return sq_read_rows(s,
			    "SELECT kind, mission, first, last, count FROM sources"
			    " ORDER BY kind, mission",
			    bind_nothing, NULL, source_row, &c, err);
}
