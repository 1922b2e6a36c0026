/* test_alert.c - the alert state machine (judge/alert.c) against a real store.
 *
 * One KPI reported by people ("k1": at least 70 per quarter, in UTC), its
 * figures written as reported values, and alert_evaluate run at chosen
 * instants.  The notifier is the judge's seam to the mail: here it records
 * what was announced and returns one message per notice, which the judge
 * stores in the outbox with the change.
 */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "judge/alert.h"
#include "model/config.h"
#include "model/period.h"
#include "store/store.h"

#define DAY 86400000LL
#define Q1 1767225600000LL      /* 2026-01-01T00:00:00Z */
#define Q2 1775001600000LL      /* 2026-04-01T00:00:00Z */

struct heard {
	int kinds[32];
	int n;
};

static int record(void *ud, const struct alert_notice *n, struct store_mail **mails, size_t *nm)
{
	struct heard *h = ud;
	if (h->n < 32)
		h->kinds[h->n++] = (int)n->kind;
	struct store_mail *v = realloc(*mails, (*nm + 1) * sizeof(*v));
	if (!v)
		return -1;
	*mails = v;
	v[(*nm)++] = (struct store_mail){.to_addr = strdup("owner@example.org"),
					 .subject = strdup("notice"),
					 .message = strdup("Subject: notice\r\n\r\nbody\r\n"),
					 .len = 26};
	return 0;
}

struct fixture {
	char dir[64], cfg_path[96], db_path[96];
	struct config c;
	struct store *s;
	struct heard heard;
	struct alert_notifier nf;
};

static void setup(struct fixture *f, int min_state_s, int repeat_s)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/mizan-test-alert-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL, "mkdtemp");
	snprintf(f->cfg_path, sizeof(f->cfg_path), "%s/mizan.lua", f->dir);
	snprintf(f->db_path, sizeof(f->db_path), "%s/mizan.db", f->dir);
	FILE *fp = fopen(f->cfg_path, "w");
	CHECK(fp != NULL, "cannot write the configuration");
	fprintf(fp,
		"evaluation.timezone = \"UTC\"\n"
		"alerts.min_state_s = %d\n"
		"alerts.repeat_s = %d\n"
		"alerts.stale_s = 0\n"
		"goal { id = \"G1\", title_ar = \"هدف\", title_en = \"Goal\" }\n"
		"kpi { id = \"k1\", goal = \"G1\", title_ar = \"مؤشر\", title_en = \"KPI\", unit = \"%%\",\n"
		"      period = \"quarter\", owner = { name = \"O\", email = \"owner@example.org\", lang = \"en\" },\n"
		"      target = { quarter = 70, year = 70, warn = 0.1 } }\n",
		min_state_s, repeat_s);
	fclose(fp);
	char err[512];
	CHECK(config_load(&f->c, f->cfg_path, err, sizeof(err)) == 0, "%s", err);
	CHECK(period_set_zone("UTC") == 0, "zone");
	struct store_opts o = {.sync_full = false, .cache_mib = 2, .busy_timeout_ms = 1000};
	char serr[STORE_ERRLEN];
	CHECK(store_open(&f->s, f->db_path, &o, serr) == 0, "%s", serr);
	f->nf = (struct alert_notifier){record, &f->heard};
}

static void teardown(struct fixture *f)
{
	store_close(f->s);
	config_free(&f->c);
	unlink(f->db_path);
	char wal[128];
	snprintf(wal, sizeof(wal), "%s-wal", f->db_path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", f->db_path);
	unlink(wal);
	unlink(f->cfg_path);
	rmdir(f->dir);
}

/* Reports k1's figure for a quarter (the newest report wins). */
static void report(struct fixture *f, const char *quarter, int64_t start_ms, double v)
{
	struct store_result r = {.kpi = "k1", .period = quarter, .dim = "", .slice = "",
				 .pkind = PK_QUARTER, .start_ms = start_ms, .value = v, .n = 1,
				 .provenance = "test"};
	char err[STORE_ERRLEN];
	CHECK(store_value_add(f->s, &r, "tester", err) == 0, "%s", err);
}

static struct alert_stats evaluate(struct fixture *f, int64_t now)
{
	struct alert_stats st;
	char err[256];
	CHECK(alert_evaluate(&f->c, f->s, &f->nf, now, &st, err, sizeof(err)) == 0, "%s", err);
	return st;
}

struct state {
	char state[16], pending[16];
	int64_t id;
	int found;
};

static int keep_state(const struct store_alert *a, void *ud)
{
	struct state *s = ud;
	snprintf(s->state, sizeof(s->state), "%s", a->state);
	snprintf(s->pending, sizeof(s->pending), "%s", a->pending ? a->pending : "");
	s->id = a->id;
	s->found = 1;
	return 0;
}

static struct state state_of(struct fixture *f, const char *quarter)
{
	struct state s = {0};
	char err[STORE_ERRLEN];
	CHECK(store_alert_get(f->s, "k1", quarter, "", "", "target", keep_state, &s, err) == 0, "%s",
	      err);
	return s;
}

static int count_mail(const struct store_mail *m, void *ud)
{
	(void)m;
	++*(int *)ud;
	return 0;
}

static int outbox_size(struct fixture *f)
{
	int n = 0;
	char err[STORE_ERRLEN];
	CHECK(store_outbox_each(f->s, NULL, 1000, count_mail, &n, err) == 0, "%s", err);
	return n;
}

/* An open quarter whose forecast misses is at risk; it says so once; a
 * figure that meets the target again recovers, and says so. */
static void test_at_risk_and_recovery(void)
{
	struct fixture f;
	setup(&f, 0, 0);
	int64_t mid = Q1 + 45 * DAY;

	evaluate(&f, mid);
	CHECK_INT(f.heard.n, 0); /* no figure yet: nothing to judge */
	CHECK_INT(state_of(&f, "2026-Q1").found, 0);

	report(&f, "2026-Q1", Q1, 50);
	struct alert_stats st = evaluate(&f, mid);
	CHECK_STR(state_of(&f, "2026-Q1").state, "at_risk");
	CHECK_INT(st.changed, 1);
	CHECK_INT(f.heard.n, 1);
	CHECK_INT(f.heard.kinds[0], AN_AT_RISK);
	CHECK_INT(outbox_size(&f), 1);

	st = evaluate(&f, mid + 1000); /* the same state: nothing new to say */
	CHECK_INT(st.changed, 0);
	CHECK_INT(f.heard.n, 1);
	CHECK_INT(outbox_size(&f), 1);

	report(&f, "2026-Q1", Q1, 75);
	evaluate(&f, mid + 2000);
	CHECK_STR(state_of(&f, "2026-Q1").state, "ok");
	CHECK_INT(f.heard.n, 2);
	CHECK_INT(f.heard.kinds[1], AN_RECOVERED);
	CHECK_INT(outbox_size(&f), 2);
	teardown(&f);
}

/* A quarter that closed below target is missed; an unacknowledged missed
 * alert is repeated every repeat_s; an acknowledgement stops that. */
static void test_missed_reminder_ack(void)
{
	struct fixture f;
	setup(&f, 0, 3600);
	report(&f, "2026-Q1", Q1, 60);
	int64_t t = Q2 + 10 * DAY;

	evaluate(&f, t);
	struct state s = state_of(&f, "2026-Q1");
	CHECK_STR(s.state, "missed");
	CHECK_INT(f.heard.n, 1);
	CHECK_INT(f.heard.kinds[0], AN_MISSED);

	evaluate(&f, t + 1800 * 1000LL); /* before repeat_s */
	CHECK_INT(f.heard.n, 1);
	evaluate(&f, t + 3601 * 1000LL); /* after */
	CHECK_INT(f.heard.n, 2);
	CHECK_INT(f.heard.kinds[1], AN_REMINDER);
	CHECK_STR(state_of(&f, "2026-Q1").state, "missed");

	char err[STORE_ERRLEN];
	CHECK(store_alert_ack(f.s, s.id, "tester", "known", err) == 0, "%s", err);
	evaluate(&f, t + 3 * 3601 * 1000LL);
	CHECK_INT(f.heard.n, 2);
	teardown(&f);
}

/* A new state must hold for min_state_s before it is taken and announced:
 * a figure that flaps around its target sends nothing. */
static void test_min_state_hold(void)
{
	struct fixture f;
	setup(&f, 600, 0);
	int64_t mid = Q1 + 45 * DAY;
	report(&f, "2026-Q1", Q1, 50);

	evaluate(&f, mid);
	struct state s = state_of(&f, "2026-Q1");
	CHECK_STR(s.state, "ok");
	CHECK_STR(s.pending, "at_risk");
	CHECK_INT(f.heard.n, 0);

	evaluate(&f, mid + 300 * 1000LL);
	CHECK_STR(state_of(&f, "2026-Q1").state, "ok");
	CHECK_INT(f.heard.n, 0);

	/* It flaps back: the pending state is forgotten. */
	report(&f, "2026-Q1", Q1, 80);
	evaluate(&f, mid + 400 * 1000LL);
	s = state_of(&f, "2026-Q1");
	CHECK_STR(s.state, "ok");
	CHECK_STR(s.pending, "");

	/* Down again, and this time it holds. */
	report(&f, "2026-Q1", Q1, 50);
	evaluate(&f, mid + 500 * 1000LL);
	evaluate(&f, mid + 1000 * 1000LL);
	CHECK_STR(state_of(&f, "2026-Q1").state, "ok"); /* 500 s held, 600 needed */
	CHECK_INT(f.heard.n, 0);
	evaluate(&f, mid + 1101 * 1000LL);
	CHECK_STR(state_of(&f, "2026-Q1").state, "at_risk");
	CHECK_INT(f.heard.n, 1);
	CHECK_INT(f.heard.kinds[0], AN_AT_RISK);
	teardown(&f);
}

/* A silence keeps a change quiet; the state still changes. */
static void test_silence(void)
{
	struct fixture f;
	setup(&f, 0, 0);
	int64_t mid = Q1 + 45 * DAY;
	struct store_silence si = {.kpi = "k1", .until_ms = mid + DAY, .created_ms = mid,
				   .who = "tester", .comment = "known"};
	int64_t id;
	char err[STORE_ERRLEN];
	CHECK(store_silence_add(f.s, &si, &id, err) == 0, "%s", err);
	report(&f, "2026-Q1", Q1, 50);

	evaluate(&f, mid);
	CHECK_STR(state_of(&f, "2026-Q1").state, "at_risk");
	CHECK_INT(f.heard.n, 0);
	CHECK_INT(outbox_size(&f), 0);

	/* After the silence ends, the next change is announced. */
	report(&f, "2026-Q1", Q1, 75);
	evaluate(&f, mid + 2 * DAY);
	CHECK_STR(state_of(&f, "2026-Q1").state, "ok");
	CHECK_INT(f.heard.n, 1);
	CHECK_INT(f.heard.kinds[0], AN_RECOVERED);
	teardown(&f);
}

/* Without a notifier, states change and nothing is queued. */
static void test_no_notifier(void)
{
	struct fixture f;
	setup(&f, 0, 0);
	report(&f, "2026-Q1", Q1, 50);
	struct alert_stats st;
	char err[256];
	CHECK(alert_evaluate(&f.c, f.s, NULL, Q1 + 45 * DAY, &st, err, sizeof(err)) == 0, "%s", err);
	CHECK_STR(state_of(&f, "2026-Q1").state, "at_risk");
	CHECK_INT(st.messages, 0);
	CHECK_INT(outbox_size(&f), 0);
	teardown(&f);
}

TEST_MAIN(test_at_risk_and_recovery, test_missed_reminder_ack, test_min_state_hold, test_silence,
	  test_no_notifier)
