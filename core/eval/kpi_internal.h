/* kpi_internal.h - what the evaluation (kpi.c) and its results
 * (kpi_results.c) share; not for other files.  Everything here belongs to
 * one struct kpi_engine and is used by the thread that runs kpi_eval. */
#ifndef MIZAN_EVAL_KPI_INTERNAL_H
#define MIZAN_EVAL_KPI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/period.h"
#include "eval/kpi.h"

#define MAX_DIMS 6

/* One state per slice value of one dimension: open addressing on the text. */
struct slot {
	char *key;
	void *state;
};

struct slice_map {
	struct slot *v;
	size_t cap, n;
};

/* The folds of one KPI over one period, or (day) the new events of one
 * local day: the whole and every slice. */
struct fold {
	uint64_t key;
	int kpi;
	struct period p; /* a day: its kind means nothing, start_ms is one of its events */
	char label[16];
	bool day;    /* a day's delta: merged into its periods, never written */
	bool loaded; /* a period's kept states were read into it */
	void *total;
	struct slice_map dims[MAX_DIMS];
};

#define SIGLEN 2048

struct kpi_run {
	const struct cfg_kpi *cfg;
	struct indicator *ind;
	struct mizan_params params;
	const char **keys, **values;
	enum period_kind pkinds[2];
	int npk;
	bool full, failed, skipped;
	bool keep;      /* its indicator merges and its states can be kept */
	bool incr;      /* keep, and its kept states are valid: only new events are folded */
	int64_t upto;   /* incr: the event number its states include up to */
	char sig[SIGLEN]; /* keep: what its states are made by */
	char error[IND_ERRLEN];
	uint64_t *dirty; /* period keys to recompute, sorted */
	size_t ndirty;
	struct fold *cur[2]; /* the fold the last event went to, per period kind */
	double seconds;        /* spent in its steps this evaluation */
	uint64_t instructions; /* script instructions its steps used this evaluation */
};

struct kpi_engine {
	const struct config *cfg;
	struct store *store;
	struct registry *reg;
	struct strlist skip; /* KPIs left out */
	int dim_field[MAX_DIMS];
	const char *dim_name[MAX_DIMS];
	int ndims;
	/* per evaluation */
	struct kpi_run *runs;
	struct fold **folds; /* hash table on fold->key */
	size_t fcap, nfolds;
	struct kpi_progress *prog;
	size_t events;
	int64_t last_seq; /* the highest event number this evaluation folds */
};

/* Marks KPI k as failed for this evaluation, with why (which may be its own
 * error buffer), and logs it once. */
void kpi_fail_run(struct kpi_engine *e, int k, const char *why);

/* The rows an evaluation writes, and the texts they point to (owned). */
struct kpi_rows {
	struct store_result *v;
	size_t n, cap;
	char **owned; /* texts the rows point to */
	size_t nowned, ocap;
};

/* Appends the rows of every fold of a KPI that has not failed, and the
 * (KPI, period) keys they replace (*cleared, calloc'd: the caller frees
 * it).  prov[k] is KPI k's provenance.  0, or -ENOMEM. */
int kpi_rows_collect(struct kpi_engine *e, struct kpi_rows *r, struct store_result_key **cleared,
		     size_t *ncleared, char (*prov)[300]);
/* Drops the rows and keys of KPIs that failed while being finalised. */
void kpi_rows_drop_failed(struct kpi_engine *e, struct kpi_rows *r, struct store_result_key *keys,
			  size_t *nkeys);
/* Frees the rows and their texts (not the struct). */
void kpi_rows_free(struct kpi_rows *r);

#endif
