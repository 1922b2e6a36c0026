/* alerts.c - the SQLite store's alerts, silences and outbox. */
#include "store/sqlite/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sq_outbox_due(struct store *store, int64_t now, int limit,
		  int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s,
				 "SELECT id, to_addr, subject, message, attempts, created FROM outbox"
				 " WHERE status = 'pending' AND next_attempt <= ? ORDER BY next_attempt, id"
				 " LIMIT ?", &rc, "outbox", err)))
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sq_read_step(s, st, err)) > 0) {
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
	sq_read_end(s, st);
	return rc;
}

int sq_outbox_mark(struct store *store, int64_t id, enum store_mail_status status,
		   const char *error, int64_t next_attempt, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;
	static const char *const names[] = {"pending", "sent", "failed"};

	if (!(st = sq_write_begin(s,
				  "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
				  " next_attempt = ?, sent_at = CASE WHEN ? = 'sent' THEN ? END"
				  " WHERE id = ?",
				  &rc, "outbox", err)))
		return rc;
	sqlite3_bind_text(st, 1, names[status], -1, SQLITE_STATIC);
	sq_bind_text_or_null(st, 2, error);
	sqlite3_bind_int64(st, 3, next_attempt);
	sqlite3_bind_text(st, 4, names[status], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, time_now_ms());
	sqlite3_bind_int64(st, 6, id);
	rc = sq_write_end(s, st, "outbox", err);
	return rc < 0 ? rc : 0;
}

int sq_outbox_add(struct store *store, const struct store_mail *m, int64_t alert, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_write_begin(s,
				  "INSERT INTO outbox(created, alert, to_addr, subject, message,"
				  " next_attempt) VALUES(?, ?, ?, ?, ?, ?)",
				  &rc, "outbox", err)))
		return rc;
	int64_t now = time_now_ms();
	sqlite3_bind_int64(st, 1, now);
	if (alert > 0)
		sqlite3_bind_int64(st, 2, alert);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, m->to_addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, m->subject, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, m->message, (int)m->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	rc = sq_write_end(s, st, "outbox", err);
	return rc < 0 ? rc : 0;
}

int sq_outbox_each(struct store *store, const char *status, int limit,
		   int (*cb)(const struct store_mail *m, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	int rc;

	if (!(st = sq_read_begin(s,
				 "SELECT id, to_addr, subject, attempts, created, status, last_error,"
				 " next_attempt, sent_at, alert FROM outbox WHERE (?1 IS NULL OR status = ?1)"
				 " ORDER BY id DESC LIMIT ?2", &rc, "outbox", err)))
		return rc;
	sq_bind_text_or_null(st, 1, status);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sq_read_step(s, st, err)) > 0) {
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
	sq_read_end(s, st);
	return rc;
}

#define ALERT_COLUMNS                                                                              \
	"id, kpi, period, dim, slice, kind, state, since, pending, pending_since, value, target,"  \
	" forecast, detail, notified, acked_by, acked_at, ack_comment"

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
		.value = sq_column_number(st, 10),
		.target = sq_column_number(st, 11),
		.forecast = sq_column_number(st, 12),
		.detail = (const char *)sqlite3_column_text(st, 13),
		.notified_ms = sqlite3_column_int64(st, 14),
		.acked_by = (const char *)sqlite3_column_text(st, 15),
		.acked_ms = sqlite3_column_int64(st, 16),
		.ack_comment = (const char *)sqlite3_column_text(st, 17),
	};
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

int sq_alert_get(struct store *store, const char *kpi, const char *period, const char *dim,
		 const char *slice, const char *kind, int (*cb)(const struct store_alert *a, void *ud),
		 void *ud, char *err)
{
	struct sq *s = sq_of(store);
	struct alert_key k = {kpi, period, dim, slice, kind};
	struct alert_cb c = {cb, ud};
	return sq_read_rows(s,
			    "SELECT " ALERT_COLUMNS " FROM alerts WHERE kpi = ? AND period = ? AND dim = ?"
			    " AND slice = ? AND kind = ?",
			    bind_alert_key, &k, alert_row, &c, err);
}

static void bind_alert_query(sqlite3_stmt *st, const void *arg)
{
	const struct store_alert_query *q = arg;
	sq_bind_text_or_null(st, 1, q->kpi);
	sq_bind_text_or_null(st, 2, q->state);
	sqlite3_bind_int64(st, 3, q->id);
	sqlite3_bind_int(st, 4, q->limit > 0 ? q->limit : 1000);
}

int sq_alerts_each(struct store *store, const struct store_alert_query *q,
		   int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	struct alert_cb c = {cb, ud};
	return sq_read_rows(s,
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
	sq_bind_text_or_null(st, 1, q->kpi);
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
		.value = sq_column_number(st, 9),
		.target = sq_column_number(st, 10),
		.forecast = sq_column_number(st, 11),
		.detail = (const char *)sqlite3_column_text(st, 12),
	};
	return c->cb(&a, c->ud);
}

int sq_alert_history_each(struct store *store, const char *kpi, int limit,
			  int (*cb)(const struct store_alert *a, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	struct history_q q = {kpi, limit};
	struct alert_cb c = {cb, ud};
	return sq_read_rows(s,
			    "SELECT a.id, a.kpi, a.period, a.dim, a.slice, a.kind, h.old, h.new, h.at,"
			    " h.value, h.target, h.forecast, h.detail FROM alert_history h"
			    " JOIN alerts a ON a.id = h.alert WHERE (?1 IS NULL OR a.kpi = ?1)"
			    " ORDER BY h.at DESC, h.id DESC LIMIT ?2",
			    bind_history, &q, history_row, &c, err);
}

int sq_alert_put(struct store *store, const struct store_alert *a, const char *old_state,
		 const struct store_mail *mails, size_t nmails, int64_t *id, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sq_tx_begin(s, err)) < 0)
		return rc;
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
	sq_bind_text_or_null(st, 8, a->pending);
	sqlite3_bind_int64(st, 9, a->pending_since_ms);
	sq_bind_number_or_null(st, 10, a->value);
	sq_bind_number_or_null(st, 11, a->target);
	sq_bind_number_or_null(st, 12, a->forecast);
	sq_bind_text_or_null(st, 13, a->detail);
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
		sq_bind_number_or_null(st, 5, a->value);
		sq_bind_number_or_null(st, 6, a->target);
		sq_bind_number_or_null(st, 7, a->forecast);
		sq_bind_text_or_null(st, 8, a->detail);
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
			int64_t now = time_now_ms();
			sqlite3_bind_int64(st, 1, now);
			sqlite3_bind_int64(st, 2, *id);
			sqlite3_bind_text(st, 3, mails[i].to_addr, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, mails[i].subject, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 5, mails[i].message, (int)mails[i].len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, now);
			if ((rc = sq_step_done(st)) != SQLITE_DONE)
				goto fail;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	return sq_tx_commit(s, err);
fail:
	return sq_tx_fail(s, st, rc, "alert", err);
}

/* Runs a statement from sq_write_begin, writes its audit entry when it
 * changed a row, and commits.  Returns the number of rows it changed, or a
 * negative errno. */
static int write_audited(struct sq *s, sqlite3_stmt *st, const struct store_audit *a,
			 int64_t *rowid, char *err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return sq_tx_fail(s, st, rc, a->action, err);
	int changed = sqlite3_changes(s->w);
	if (rowid)
		*rowid = sqlite3_last_insert_rowid(s->w);
	sqlite3_finalize(st);
	if (changed && (rc = sq_audit_insert(s, a)) != SQLITE_DONE)
		return sq_tx_fail(s, NULL, rc, a->action, err);
	rc = sq_tx_commit(s, err);
	return rc < 0 ? rc : changed;
}

int sq_alert_ack(struct store *store, int64_t id, const char *who, const char *comment, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	char object[64];
	int rc;

	snprintf(object, sizeof(object), "alert %lld", (long long)id);
	if (!(st = sq_write_begin(s,
				  "UPDATE alerts SET acked_by = ?, acked_at = ?, ack_comment = ?"
				  " WHERE id = ?",
				  &rc, "ack", err)))
		return rc;
	sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time_now_ms());
	sq_bind_text_or_null(st, 3, comment);
	sqlite3_bind_int64(st, 4, id);
	struct store_audit a = {.who = who, .action = "alert.ack", .object = object,
				.new_ = comment, .reason = comment};
	rc = write_audited(s, st, &a, NULL, err);
	if (rc == 0) {
		snprintf(err, STORE_ERRLEN, "no alert has id %lld", (long long)id);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

int sq_silence_add(struct store *store, const struct store_silence *si, int64_t *id, char *err)
{
	struct sq *s = sq_of(store);
	sqlite3_stmt *st;
	char object[192], until[32];
	int rc;

	event_format_time(si->until_ms, until);
	snprintf(object, sizeof(object), "silence kpi=%s dim=%s slice=%s", si->kpi ? si->kpi : "*",
		 si->dim ? si->dim : "*", si->slice ? si->slice : "*");
	if (!(st = sq_write_begin(s,
				  "INSERT INTO silences(kpi, dim, slice, until, who, comment, created)"
				  " VALUES(?,?,?,?,?,?,?)",
				  &rc, "silence", err)))
		return rc;
	sq_bind_text_or_null(st, 1, si->kpi);
	sq_bind_text_or_null(st, 2, si->dim);
	sq_bind_text_or_null(st, 3, si->slice);
	sqlite3_bind_int64(st, 4, si->until_ms);
	sqlite3_bind_text(st, 5, si->who, -1, SQLITE_STATIC);
	sq_bind_text_or_null(st, 6, si->comment);
	sqlite3_bind_int64(st, 7, time_now_ms());
	struct store_audit a = {.who = si->who, .action = "silence.add", .object = object,
				.new_ = until, .reason = si->comment};
	rc = write_audited(s, st, &a, id, err);
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

int sq_silences_each(struct store *store, int64_t at,
		     int (*cb)(const struct store_silence *si, void *ud), void *ud, char *err)
{
	struct sq *s = sq_of(store);
	struct silence_cb c = {cb, ud};
	return sq_read_rows(s,
			    "SELECT id, kpi, dim, slice, until, who, comment, created FROM silences"
			    " WHERE until > ?1 ORDER BY id DESC",
			    bind_at, &at, silence_row, &c, err);
}
