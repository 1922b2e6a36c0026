/* folds.c - the SQLite store's fold states: each KPI's partial states per
 * scope and slice, and the signature and event number they were made by
 * (see store.h, "fold states"). */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sq_fold_meta_get(struct store *store, const char *kpi, char *sig, size_t siglen,
		     int64_t *upto_seq, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, "SELECT signature, upto FROM fold_meta WHERE kpi = ?", &rc,
				 "fold states", err)))
		return rc;
	sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
	if ((rc = sq_read_step(s, st, err)) > 0) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		snprintf(sig, siglen, "%s", t ? t : "");
		*upto_seq = sqlite3_column_int64(st, 1);
	}
	sq_read_end(s, st);
	return rc;
}

int sq_fold_states_each(struct store *store, const char *kpi, int64_t scope_from, int64_t scope_to,
			int (*cb)(const struct store_fold_state *st, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s,
				 "SELECT scope, dim, slice, state FROM fold_states WHERE kpi = ?1"
				 " AND scope >= ?2 AND scope <= ?3 ORDER BY scope, dim, slice",
				 &rc, "fold states", err)))
		return rc;
	sqlite3_bind_text(st, 1, kpi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, scope_from);
	sqlite3_bind_int64(st, 3, scope_to);
	while ((rc = sq_read_step(s, st, err)) > 0) {
		struct store_fold_state f = {
			.scope = sqlite3_column_int64(st, 0),
			.dim = (const char *)sqlite3_column_text(st, 1),
			.slice = (const char *)sqlite3_column_text(st, 2),
			.data = sqlite3_column_blob(st, 3),
			.len = (size_t)sqlite3_column_bytes(st, 3),
		};
		if ((rc = cb(&f, ud)) != 0)
			break;
	}
	sq_read_end(s, st);
	return rc;
}

int sq_folds_put(struct sq *s, const struct store_fold_write *folds, size_t n)
{
	sqlite3_stmt *del = NULL, *put = NULL, *meta = NULL;
	int rc = SQLITE_OK;

	if ((rc = sqlite3_prepare_v2(s->w, "DELETE FROM fold_states WHERE kpi = ?", -1, &del,
				     NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(s->w,
				     "INSERT OR REPLACE INTO fold_states(kpi, scope, dim, slice, state)"
				     " VALUES(?,?,?,?,?)",
				     -1, &put, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(s->w,
				     "INSERT OR REPLACE INTO fold_meta(kpi, signature, upto)"
				     " VALUES(?,?,?)",
				     -1, &meta, NULL)) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct store_fold_write *w = &folds[i];
		if (w->reset) {
			sqlite3_bind_text(del, 1, w->kpi, -1, SQLITE_STATIC);
			if ((rc = sq_step_done(del)) != SQLITE_DONE)
				goto out;
		}
		for (size_t j = 0; j < w->nstates; j++) {
			const struct store_fold_state *f = &w->states[j];
			sqlite3_bind_text(put, 1, w->kpi, -1, SQLITE_STATIC);
			sqlite3_bind_int64(put, 2, f->scope);
			sqlite3_bind_text(put, 3, f->dim, -1, SQLITE_STATIC);
			sqlite3_bind_text(put, 4, f->slice, -1, SQLITE_STATIC);
			sqlite3_bind_blob(put, 5, f->len ? f->data : "", (int)f->len,
					  SQLITE_STATIC);
			if ((rc = sq_step_done(put)) != SQLITE_DONE)
				goto out;
		}
		sqlite3_bind_text(meta, 1, w->kpi, -1, SQLITE_STATIC);
		sqlite3_bind_text(meta, 2, w->signature, -1, SQLITE_STATIC);
		sqlite3_bind_int64(meta, 3, w->upto_seq);
		if ((rc = sq_step_done(meta)) != SQLITE_DONE)
			goto out;
	}
	rc = SQLITE_OK;
out:
	sqlite3_finalize(del);
	sqlite3_finalize(put);
	sqlite3_finalize(meta);
	return rc;
}
