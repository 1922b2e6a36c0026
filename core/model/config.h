/* config.h - the server's settings, read from a Lua file.
 *
 * The file is plain Lua run in a state with only the base, string, math and
 * table libraries.  Settings are assigned into predeclared sections
 * (`server.listen = "127.0.0.1:8080"`); an unknown section or key, or a value
 * of the wrong type or out of range, stops loading with "file:line: ...".
 *
 * Ownership: a struct config owns every string and array in it, and
 * config_free frees them all.  Once loaded it is only read: any number of
 * threads may read it at once, and everything that borrows from it (the
 * store, the engine, the server) must be gone before config_free.
 */
#ifndef MIZAN_CONFIG_H
#define MIZAN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum role { ROLE_NONE, ROLE_INGEST, ROLE_VIEWER, ROLE_EDITOR, ROLE_ADMIN };

struct config_token {
	char *name;
	enum role role;
	unsigned char hash[32]; /* SHA-256 of the secret */
};

/* A dashboard user: the password is kept as a crypto_pwhash_str hash
 * (`mizan passwd` makes one). */
struct config_user {
	char *name;
	enum role role;
	char *hash;
};

/* A list of strings.  The configuration's own lists own their strings and
 * are freed by config_free. */
struct strlist {
	char **v;
	size_t n;
};

/* Appends a copy of v.  0, or -ENOMEM (the list is then unchanged). */
int strlist_push(struct strlist *l, const char *v);
/* Whether v is one of the list's strings. */
bool strlist_has(const struct strlist *l, const char *v);
/* Frees every string and the array, and leaves the list empty. */
void strlist_free(struct strlist *l);

struct cfg_person {
	char *name, *email, *lang; /* lang: "ar" or "en" */
};

struct cfg_goal {
	char *id, *title_ar, *title_en;
	struct cfg_person *managers; /* also hear of every KPI of the goal */
	size_t nmanagers;
	int line;
};

/* A target: at least `low` (TR_MIN), at most `high` (TR_MAX), or between. */
enum target_rule { TR_NONE, TR_MIN, TR_MAX, TR_RANGE };
struct target {
	enum target_rule rule;
	double low, high;
	double warn; /* amber within this fraction of the target */
};

enum period_kind { PK_MONTH, PK_QUARTER, PK_YEAR, PK_N };

struct cfg_kpi {
	char *id, *goal, *title_ar, *title_en, *unit;
	char *indicator;            /* NULL when reported by people */
	enum period_kind period;    /* the KPI's own period */
	int direction;              /* +1: higher is better; -1: lower is better */
	size_t nparams;
	char **param_keys, **param_values;
	struct cfg_person owner;
	struct cfg_person *managers;
	size_t nmanagers;
	struct target target[PK_N]; /* default targets per period kind */
	bool split;                 /* quarters without a target get a quarter of the year's */
	bool cumulative;            /* the figure grows through its period (a count, a sum) */
	char *file;                 /* where it is defined */
	int line;
};

struct config {
	/* server */
	char *listen; /* ADDR:PORT */
	int threads;
	/* store */
	/* store.url (or store.path as a URL), or --db: "sqlite:PATH", or a bare
	 * path (see store_open in store/store.h) */
	char *store_url;
	char *synchronous; /* full | normal */
	int cache_mib;
	int busy_timeout_ms;
	/* limits */
	size_t body_bytes;
	size_t bodies_bytes; /* all request bodies held at once */
	int batch_events;
	int connections;
	int per_ip;
	int timeout_s;
	size_t connection_memory;
	size_t attrs_bytes;
	int attrs_depth;
	int csv_columns; /* limits.csv_columns */
	int future_s;
	int query_rows;
	/* auth */
	struct config_token *tokens;
	size_t ntokens;
	struct config_user *users;
	size_t nusers;
	/* demo */
	int64_t demo_when_empty; /* demo events `serve --demo` loads into an empty store */
	int64_t demo_seed;
	char *demo_mail_to;      /* a demo store's mail goes only here ("": nowhere) */
	int store_check_s;       /* the store's integrity is checked this often (0: at start only) */
	/* indicators */
	struct strlist plugin_dirs, script_dirs; /* searched after the environment's, before the defaults */
	struct strlist plugin_replace; /* indicator names a later file may provide again (skipped) */
	int script_memory_mib;
	int64_t script_instructions;
	double script_seconds;
	/* evaluation */
	char *timezone;
	struct strlist slices;     /* dimensions results are cached by */
	int eval_interval_s, eval_after_ingest_s, eval_stall_s, eval_timeout_s, eval_retry_s;
	int eval_memory_mib;           /* the worker's resident memory, at most */
	int64_t eval_run_instructions; /* script instructions one KPI may use in one evaluation */
	double eval_run_seconds;       /* seconds one KPI may take stepping in one evaluation */
	int min_answers;
	/* mail */
	char *smtp_url;     /* smtp://host:port or smtps://host:port; "" sends nothing */
	char *smtp_user, *smtp_password;
	char *mail_from, *mail_from_name;
	char *mail_tls;     /* none | starttls | implicit */
	int mail_verify;    /* verify the server's certificate */
	char *mail_ca_file;
	int mail_timeout_s, mail_attempts, mail_backoff_s, mail_backoff_max_s, mail_poll_s;
	char *base_url;     /* links in mail point here */
	char *dashboards;   /* the folder of page templates and static files */
	struct strlist trusted_proxies; /* addresses whose X-Forwarded-* headers are believed */
	char *metrics_role; /* "none": /metrics is open; else the token role it needs */
	int request_s;      /* limits.request_s: the longest one request may take to arrive */
	char *gnuplot;      /* the gnuplot binary; "" draws no charts */
	int charts;         /* gnuplot processes */
	double chart_timeout_s;
	/* alerts */
	struct strlist alert_slices; /* dimensions alerts are raised per slice of (besides the whole) */
	int alert_min_state_s, alert_repeat_s, alert_stale_s;
	double alert_warn;
	/* the strategy */
	struct cfg_goal *goals;
	size_t ngoals;
	struct cfg_kpi *kpis;
	size_t nkpis;

	char *path; /* the file read, or NULL for built-in defaults */
};

/* Fills `c` (its old contents are not freed) with defaults, then applies
 * `path` when it is not NULL (path is copied).  Returns 0, or -EINVAL (a
 * file that cannot be read or a setting that is wrong) or -ENOMEM, with a
 * "file:line: message" in err[errlen].  Either way the caller frees c with
 * config_free.  One thread at a time: loading runs a Lua state of its own
 * but fills c. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
/* Frees everything c owns and zeroes it (a zeroed c is fine). */
void config_free(struct config *c);

/* Replaces a string setting, freeing the old value; value is copied.  For
 * the thread that loaded c, before anyone else reads it. */
void config_set_string(char **slot, const char *value);

/* The KPI with this id, borrowed from c (valid until config_free), or
 * NULL. */
const struct cfg_kpi *config_kpi(const struct config *c, const char *id);
/* "month", "quarter" or "year": a literal. */
const char *period_kind_name(enum period_kind k);

/* "none", "ingest", "viewer", "editor" or "admin": a literal. */
const char *role_name(enum role r);
enum role role_from_name(const char *name); /* ROLE_NONE if unknown */

#endif
