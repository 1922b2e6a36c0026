/* results.c - the SQLite store's figures, reported values, KPI status,
 * targets and data version. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int sq_results_write(struct store *store, const struct store_result_key *cleared, size_t ncleared,
		     const struct store_result *rows, size_t n, int64_t dirty_upto,
		     const struct store_fold_write *folds, size_t nfolds, int64_t *run, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sq_tx_begin(s, err)) < 0)
		return rc;
	/* A run that changes figures takes the next number, and moves the data
	 * version, in this transaction. */
	if ((ncleared || n) && ((rc = sq_counter_next(s, "run", run)) != SQLITE_OK ||
				(rc = sq_counter_next(s, "data", NULL)) != SQLITE_OK))
		return sq_tx_fail(s, NULL, rc, "run number", err);
	if (ncleared) {
		if ((rc = sqlite3_prepare_v2(s->w, "DELETE FROM kpi_results WHERE kpi = ? AND period = ?",
					     -1, &st, NULL)) != SQLITE_OK)
			return sq_tx_fail(s, NULL, rc, "results", err);
		for (size_t i = 0; i < ncleared; i++) {
			sqlite3_bind_text(st, 1, cleared[i].kpi, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, cleared[i].period, -1, SQLITE_STATIC);
			if ((rc = sq_step_done(st)) != SQLITE_DONE)
				return sq_tx_fail(s, st, rc, "results", err);
		}
		sqlite3_finalize(st);
	}
	if (n) {
		if ((rc = sqlite3_prepare_v2(s->w,
					     "INSERT OR REPLACE INTO kpi_results(kpi, period, dim, slice,"
					     " pkind, start, value, n, extra, note, provenance, computed,"
					     " run) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
					     -1, &st, NULL)) != SQLITE_OK)
			return sq_tx_fail(s, NULL, rc, "results", err);
		for (size_t i = 0; i < n; i++) {
			const struct store_result *r = &rows[i];
			sqlite3_bind_text(st, 1, r->kpi, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, r->period, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, r->dim, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, r->slice, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 5, r->pkind);
			sqlite3_bind_int64(st, 6, r->start_ms);
			sq_bind_number_or_null(st, 7, r->value);
			sqlite3_bind_double(st, 8, r->n);
			sq_bind_text_or_null(st, 9, r->extra);
			sq_bind_text_or_null(st, 10, r->note);
			sqlite3_bind_text(st, 11, r->provenance, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 12, r->computed_ms);
			sqlite3_bind_int64(st, 13, *run);
			if ((rc = sq_step_done(st)) != SQLITE_DONE)
				return sq_tx_fail(s, st, rc, "results", err);
		}
		sqlite3_finalize(st);
	}
	if (nfolds && (rc = sq_folds_put(s, folds, nfolds)) != SQLITE_OK)
		return sq_tx_fail(s, NULL, rc, "fold states", err);
	if (dirty_upto >= 0) {
		if ((rc = sqlite3_prepare_v2(s->w, "DELETE FROM dirty WHERE change <= ?", -1, &st,
					     NULL)) != SQLITE_OK)
			return sq_tx_fail(s, NULL, rc, "dirty", err);
		sqlite3_bind_int64(st, 1, dirty_upto);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			return sq_tx_fail(s, st, rc, "dirty", err);
		sqlite3_finalize(st);
	}
	return sq_tx_commit(s, err);
}

/* Rows of kpi_results or kpi_values, filtered alike. */
static int results_query(struct sq *s, const char *table, const struct store_result_query *q,
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
	if (!(st = sq_read_begin(s, sql, &rc, "results", err)))
		return rc;
	sq_bind_text_or_null(st, 1, q->kpi);
	sqlite3_bind_int(st, 2, q->pkind);
	sq_bind_text_or_null(st, 3, q->dim);
	sq_bind_text_or_null(st, 4, q->slice);
	sqlite3_bind_int64(st, 5, q->from_ms);
	sqlite3_bind_int64(st, 6, q->to_ms);
	while ((rc = sq_read_step(s, st, err)) > 0) {
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
	sq_read_end(s, st);
	return rc;
}

int sq_results_each(struct store *store, const struct store_result_query *q,
		    int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	return results_query(s, "kpi_results", q, cb, ud, err);
}

int sq_values_each(struct store *store, const struct store_result_query *q,
		   int (*cb)(const struct store_result *r, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	return results_query(s, "kpi_values", q, cb, ud, err);
}

int64_t sq_results_max_run(struct store *store, char *err)
{
	return sq_read_int(sq_of(store), "SELECT coalesce(max(run), 0) FROM kpi_results", "runs", err);
}

int sq_value_add(struct store *store, const struct store_result *v, const char *who, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_write_begin(s,
				  "INSERT INTO kpi_values(kpi, period, pkind, start, dim, slice, value,"
				  " note, who, at) VALUES(?,?,?,?,?,?,?,?,?,?)",
				  &rc, "value", err)))
		return rc;
	sqlite3_bind_text(st, 1, v->kpi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v->period, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, v->pkind);
	sqlite3_bind_int64(st, 4, v->start_ms);
	sqlite3_bind_text(st, 5, v->dim, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, v->slice, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 7, v->value);
	sq_bind_text_or_null(st, 8, v->note);
	sqlite3_bind_text(st, 9, who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, time_now_ms());
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, "value", err);
	sqlite3_finalize(st);
	if ((rc = sq_counter_next(s, "data", NULL)) != SQLITE_OK)
		return sq_tx_fail(s, NULL, rc, "value", err);
	return sq_tx_commit(s, err);
}

int sq_kpi_status_set(struct store *store, const char *kpi, const char *error, unsigned kinds,
		      char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	/* kinds 0 keeps what the worker recorded last. */
	if (!(st = sq_write_begin(s,
				  "INSERT INTO kpi_status(kpi, error, at, kinds) VALUES(?1, ?2, ?3, ?4)"
				  " ON CONFLICT(kpi) DO UPDATE SET error = ?2, at = ?3,"
				  " kinds = CASE WHEN ?4 = 0 THEN kinds ELSE ?4 END",
				  &rc, "status", err)))
		return rc;
	sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
	sq_bind_text_or_null(st, 2, error);
	sqlite3_bind_int64(st, 3, time_now_ms());
	sqlite3_bind_int(st, 4, (int)kinds);
	rc = sq_write_end(s, st, "status", err);
	return rc < 0 ? rc : 0;
}

int sq_kpi_status_each(struct store *store,
		       void (*cb)(const char *kpi, const char *error, int64_t at_ms, void *ud),
		       void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, "SELECT kpi, error, at FROM kpi_status ORDER BY kpi", &rc, "status",
				 err)))
		return rc;
	while ((rc = sq_read_step(s, st, err)) > 0)
		cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int64(st, 2), ud);
	sq_read_end(s, st);
	return rc;
}

static const char *const rule_names[] = {"none", "min", "max", "range"};

int sq_target_get(struct store *store, const char *kpi, const char *period, struct target *t,
		  char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s,
				 "SELECT rule, low, high, warn FROM targets"
				 " WHERE kpi = ? AND period = ?",
				 &rc, "targets", err)))
		return rc;
	sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	if ((rc = sq_read_step(s, st, err)) > 0) {
		const char *rule = (const char *)sqlite3_column_text(st, 0);
		t->rule = TR_NONE;
		for (int i = 0; i < 4; i++)
			if (rule && strcmp(rule, rule_names[i]) == 0)
				t->rule = (enum target_rule)i;
		t->low = sq_column_number(st, 1);
		t->high = sq_column_number(st, 2);
		t->warn = sqlite3_column_double(st, 3);
	}
	sq_read_end(s, st);
	return rc;
}

int sq_target_put(struct store *store, const char *kpi, const char *period, const struct target *t,
		  const char *who, const char *old_json, const char *new_json, const char *reason,
		  char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;
	char object[128];

	snprintf(object, sizeof(object), "kpi %s target %s", kpi, period);
	if (!(st = sq_write_begin(s,
				  "INSERT OR REPLACE INTO targets(kpi, period, rule, low, high, warn, who,"
				  " at) VALUES(?,?,?,?,?,?,?,?)",
				  &rc, "target", err)))
		return rc;
	sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rule_names[t->rule], -1, SQLITE_STATIC);
	sq_bind_number_or_null(st, 4, t->low);
	sq_bind_number_or_null(st, 5, t->high);
	sqlite3_bind_double(st, 6, t->warn);
	sqlite3_bind_text(st, 7, who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, time_now_ms());
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, "target", err);
	sqlite3_finalize(st);
	struct store_audit a = {.who = who, .action = "target.set", .object = object,
				.old = old_json, .new_ = new_json, .reason = reason};
	if ((rc = sq_audit_insert(s, &a)) != SQLITE_DONE)
		return sq_tx_fail(s, NULL, rc, "target", err);
	return sq_tx_commit(s, err);
}

unsigned sq_kpi_kinds(struct store *store, const char *kpi)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	unsigned kinds = 0;

	pthread_mutex_lock(s->rl);
	if (sqlite3_prepare_v2(s->r, "SELECT kinds FROM kpi_status WHERE kpi = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			kinds = (unsigned)sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(s->rl);
	return kinds;
}

int64_t sq_data_version(struct store *store, char *err)
{
	return sq_read_int(sq_of(store), "SELECT value FROM counters WHERE name = 'data'",
			   "data version", err);
}
