/* records.c - the SQLite store's tokens, sessions, notes and audit log. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <stdio.h>

int sq_token_add(struct store *store, const char *name, enum role role,
		 const unsigned char hash[32], char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_write_begin(s, "INSERT INTO tokens(name, role, hash, created) VALUES(?, ?, ?, ?)",
				  &rc, "token add", err)))
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time_now_ms());
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		sqlite3_finalize(st);
		return sq_tx_commit(s, err);
	}
	bool taken = (rc & 0xff) == SQLITE_CONSTRAINT;
	rc = sq_tx_fail(s, st, rc, "token add", err);
	if (taken) {
		snprintf(err, STORE_ERRLEN, "a token named '%s' already exists", name);
		return -EEXIST;
	}
	return rc;
}

int sq_token_revoke(struct store *store, const char *name, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_write_begin(s, "DELETE FROM tokens WHERE name = ?", &rc, "token revoke", err)))
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sq_write_end(s, st, "token revoke", err)) < 0)
		return rc;
	if (rc == 0) {
		snprintf(err, STORE_ERRLEN, "no token is named '%s'", name);
		return -ENOENT;
	}
	return 0;
}

int sq_token_each(struct store *store, int (*cb)(const struct store_token *t, void *ud), void *ud,
		  char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, "SELECT name, role, hash, created FROM tokens ORDER BY name", &rc,
				 "tokens", err)))
		return rc;
	while ((rc = sq_read_step(s, st, err)) > 0) {
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
	sq_read_end(s, st);
	return rc;
}

int sq_audit_insert(struct sq *s, const struct store_audit *a)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->w,
				    "INSERT INTO audit(at, who, action, object, old, new, reason)"
				    " VALUES(?,?,?,?,?,?,?)",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, time_now_ms());
	sqlite3_bind_text(st, 2, a->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->object, -1, SQLITE_STATIC);
	sq_bind_text_or_null(st, 5, a->old);
	sq_bind_text_or_null(st, 6, a->new_);
	sq_bind_text_or_null(st, 7, a->reason);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE && (rc = sq_counter_next(s, "data", NULL)) == SQLITE_OK)
		rc = SQLITE_DONE;
	return rc;
}

int sq_audit_add(struct store *store, const struct store_audit *a, char *err)
{
	struct sq *s = sq_of(store);
	int rc;
	if ((rc = sq_tx_begin(s, err)) < 0)
		return rc;
	if ((rc = sq_audit_insert(s, a)) != SQLITE_DONE)
		return sq_tx_fail(s, NULL, rc, "audit", err);
	return sq_tx_commit(s, err);
}

int sq_audit_each(struct store *store, int limit, int (*cb)(const struct store_audit *a, void *ud),
		  void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s,
				 "SELECT id, at, who, action, object, old, new, reason FROM audit"
				 " ORDER BY id DESC LIMIT ?", &rc, "audit", err)))
		return rc;
	sqlite3_bind_int(st, 1, limit);
	while ((rc = sq_read_step(s, st, err)) > 0) {
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
	sq_read_end(s, st);
	return rc;
}

int sq_session_add(struct store *store, const unsigned char hash[32], const char *name,
		   enum role role, const char *csrf, int64_t expires_ms, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st = NULL;
	int rc;
	int64_t now = time_now_ms();

	if ((rc = sq_tx_begin(s, err)) < 0)
		return rc;
	/* Expired sessions go as new ones come. */
	if ((rc = sqlite3_prepare_v2(s->w, "DELETE FROM sessions WHERE expires <= ?", -1, &st,
				     NULL)) != SQLITE_OK)
		return sq_tx_fail(s, NULL, rc, "session", err);
	sqlite3_bind_int64(st, 1, now);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, "session", err);
	sqlite3_finalize(st);
	if ((rc = sqlite3_prepare_v2(s->w,
				     "INSERT INTO sessions(hash, name, role, csrf, created, expires)"
				     " VALUES(?,?,?,?,?,?)",
				     -1, &st, NULL)) != SQLITE_OK)
		return sq_tx_fail(s, NULL, rc, "session", err);
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, csrf, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, expires_ms);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, "session", err);
	sqlite3_finalize(st);
	return sq_tx_commit(s, err);
}

int sq_session_get(struct store *store, const unsigned char hash[32], int64_t now,
		   struct store_session *out, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, "SELECT name, role, csrf, expires FROM sessions"
				 " WHERE hash = ? AND expires > ?", &rc, "session", err)))
		return rc;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = sq_read_step(s, st, err);
	if (rc > 0) {
		snprintf(out->name, sizeof(out->name), "%s", (const char *)sqlite3_column_text(st, 0));
		out->role = role_from_name((const char *)sqlite3_column_text(st, 1));
		snprintf(out->csrf, sizeof(out->csrf), "%s", (const char *)sqlite3_column_text(st, 2));
		out->expires_ms = sqlite3_column_int64(st, 3);
	}
	sq_read_end(s, st);
	return rc;
}

int sq_session_delete(struct store *store, const unsigned char hash[32], char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_write_begin(s, "DELETE FROM sessions WHERE hash = ?", &rc, "session", err)))
		return rc;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	rc = sq_write_end(s, st, "session", err);
	return rc < 0 ? rc : 0;
}

int sq_note_add(struct store *store, const struct store_note *n, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_write_begin(s,
				  "INSERT INTO notes(goal, period, difficulties, solutions, who, at)"
				  " VALUES(?,?,?,?,?,?)",
				  &rc, "note", err)))
		return rc;
	sqlite3_bind_text(st, 1, n->goal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->period, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->difficulties ? n->difficulties : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, n->solutions ? n->solutions : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, n->who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, time_now_ms());
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, "note", err);
	sqlite3_finalize(st);
	if ((rc = sq_counter_next(s, "data", NULL)) != SQLITE_OK)
		return sq_tx_fail(s, NULL, rc, "note", err);
	return sq_tx_commit(s, err);
}

int sq_note_get(struct store *store, const char *goal, const char *period,
		int (*cb)(const struct store_note *n, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s, "SELECT id, goal, period, difficulties, solutions, who, at FROM notes"
				 " WHERE goal = ? AND period = ? ORDER BY id DESC LIMIT 1", &rc, "note", err)))
		return rc;
	sqlite3_bind_text(st, 1, goal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	rc = sq_read_step(s, st, err);
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
	sq_read_end(s, st);
	return rc;
}
