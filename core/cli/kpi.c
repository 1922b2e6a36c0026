/* kpi.c - `mizan eval`, `mizan plugins`, `mizan test-kpi`, `mizan worker`. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "judge/alert.h"
#include "ingest/batch.h"
#include "render/chart.h"
#include "cli/cli.h"
#include "eval/kpi.h"
#include "notify/notice.h"
#include "notify/outbox.h"
#include "model/period.h"
#include "eval/plugin.h"
#include "eval/script.h"
#include "eval/search.h"
#include "daemon/supervise.h"
#include "eval/worker.h"
#include "util/buf.h"
#include "util/time.h"

static const char usage_eval[] =
	"usage: mizan eval [--kpi ID] [--period LABEL] [--by DIM] [--json] [--full]\n"
	"                  [--alerts [--now TIME]] [--config PATH] [--db PATH]\n"
	"       mizan eval --reference [--kpi ID] [--period LABEL] [--by DIM] [--json]\n"
	"                  [--config PATH] [--db PATH]\n"
	"Evaluates what changed since the last evaluation (everything with --full), then\n"
	"prints each KPI's figure for LABEL (2026-Q1, 2026-03, 2026; default: its latest\n"
	"period), for the whole or by DIM (mission, country, service, channel, sex,\n"
	"age_group), as a table or as JSON.  With --alerts, also evaluates the alerts\n"
	"(queueing mail for changes of state) and delivers the mail that is due; --now\n"
	"judges them as of TIME (an ISO 8601 date-time), to replay or to look ahead.\n"
	"With --reference, evaluates nothing and writes nothing: prints the figures of\n"
	"LABEL (default: every period of each KPI's own kind) folded straight from\n"
	"their events in time order, to compare with what the evaluation stored.\n";

/* Not in cli.h's list: only eval has it. */
#define OPT_REFERENCE 1000
static const char usage_plugins[] =
	"usage: mizan plugins [--config PATH]\n"
	"Lists the folders searched, the C plugins and Lua scripts that load, their\n"
	"versions and indicators, every file that was refused, with the reason, and\n"
	"every KPI whose indicator is not loaded or refuses its params.\n"
	"Exit code 0 when all is well, 3 when a KPI's indicator is missing or refuses\n"
	"its params, else 1 when a file was refused.\n";
static const char usage_test_kpi[] =
	"usage: mizan test-kpi [--config PATH] [--tolerance REL] FILE...\n"
	"Replays each fixture's events through its indicator and checks the expected\n"
	"values.  A fixture is a JSON object:\n"
	"  {\"indicator\": NAME, \"load\": [FILE.so | FILE.lua ...] (optional),\n"
	"   \"params\": {...}, \"period\": \"quarter\", \"slices\": [DIM...],\n"
	"   \"events\": [...], \"expect\": [{\"period\", \"dim\", \"slice\", \"value\", \"n\",\n"
	"   \"extra\": {...}, \"note\"}...], \"tolerance\": 1e-9}\n"
	"Paths in \"load\" are relative to the fixture's folder; without \"load\" the\n"
	"indicator is found on the server's search path.  Values and extra figures\n"
	"match within a relative tolerance: --tolerance REL, else the fixture's\n"
	"\"tolerance\", else 1e-12 (|got - want| <= REL * max(|got|, |want|));\n"
	"n, a count, must match exactly.\n"
	"Exit code 0 when every expectation holds, 4 when one does not, 1 when a\n"
	"fixture cannot be run.\n";

int cmd_worker(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS, {0}};
	struct common co = {0};
	int code;

	if (common_start(&co, argc, argv, longopts, "usage: mizan worker (started by mizan serve)\n",
			 ARGS_ANY, &code) > 0)
		return code;
	code = eval_worker_main(&co.cfg, 3);
	config_free(&co.cfg);
	return code;
}

/* ---- eval ----------------------------------------------------------------------- */

struct printer {
	const struct config *cfg;
	cJSON *json; /* NULL: a table */
	size_t rows;
};

static const char *unit_of(const struct config *c, const char *kpi)
{
	const struct cfg_kpi *k = config_kpi(c, kpi);
	return k ? k->unit : "";
}

static int print_result(const struct store_result *r, void *ud)
{
	struct printer *p = ud;
	p->rows++;
	if (p->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kpi", r->kpi);
		cJSON_AddStringToObject(o, "period", r->period);
		if (*r->dim) {
			cJSON_AddStringToObject(o, "dim", r->dim);
			cJSON_AddStringToObject(o, "slice", r->slice);
		}
		if (isnan(r->value))
			cJSON_AddNullToObject(o, "value");
		else
			cJSON_AddNumberToObject(o, "value", r->value);
		cJSON_AddNumberToObject(o, "n", r->n);
		cJSON_AddStringToObject(o, "unit", unit_of(p->cfg, r->kpi));
		cJSON_AddItemToObject(o, "extra", r->extra ? cJSON_Parse(r->extra) : cJSON_CreateObject());
		if (r->note)
			cJSON_AddStringToObject(o, "note", r->note);
		cJSON_AddStringToObject(o, "provenance", r->provenance);
		cJSON_AddItemToArray(p->json, o);
		return 0;
	}
	char value[32];
	if (isnan(r->value))
		snprintf(value, sizeof(value), "-");
	else
		snprintf(value, sizeof(value), "%.2f", r->value);
	printf("%-5s %-8s %-22.22s %14s %-10.10s %8.0f  %-24.24s %s\n", r->kpi, r->period,
	       *r->dim ? r->slice : "(all)", value, unit_of(p->cfg, r->kpi), r->n,
	       r->note ? r->note : "", r->provenance);
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS,
						 {"kpi", required_argument, NULL, OPT_KPI},
						 {"period", required_argument, NULL, OPT_PERIOD},
						 {"by", required_argument, NULL, OPT_BY},
						 {"json", no_argument, NULL, OPT_JSON},
						 {"full", no_argument, NULL, OPT_FULL},
						 {"alerts", no_argument, NULL, OPT_ALERTS},
						 {"now", required_argument, NULL, OPT_NOW},
						 {"reference", no_argument, NULL, OPT_REFERENCE},
						 {0}};
	struct common co = {0};
	const char *kpi = NULL, *label = NULL, *by = NULL;
	bool json = false, full = false, alerts = false, reference = false;
	const char *at = NULL;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_KPI:
			kpi = optarg;
			continue;
		case OPT_PERIOD:
			label = optarg;
			continue;
		case OPT_BY:
			by = optarg;
			continue;
		case OPT_JSON:
			json = true;
			continue;
		case OPT_FULL:
			full = true;
			continue;
		case OPT_ALERTS:
			alerts = true;
			continue;
		case OPT_NOW:
			at = optarg;
			continue;
		case OPT_REFERENCE:
			reference = true;
			continue;
		}
		if (common_opt(&co, opt, usage_eval, &code) > 0)
			return code;
	}
	if (optind < argc || (reference && (full || alerts)))
		return print_usage(usage_eval, EXIT_USAGE);
	if (load_config(&co) < 0)
		return EXIT_CONFIG;
	code = EXIT_USAGE;
	struct period per; /* parsed after the configuration set the time zone */
	if (label && period_parse(label, &per) < 0) {
		fprintf(stderr, "mizan eval: --period must look like 2026-Q1, 2026-03 or 2026, got '%s'\n",
			label);
		goto out_cfg;
	}
	if (kpi && !config_kpi(&co.cfg, kpi)) {
		fprintf(stderr, "mizan eval: no KPI '%s' in the configuration\n", kpi);
		goto out_cfg;
	}
	if (by && !strlist_has(&co.cfg.slices, by)) {
		fprintf(stderr, "mizan eval: --by must be one of evaluation.slices, got '%s'\n", by);
		goto out_cfg;
	}
	struct store *s;
	code = EXIT_RUNTIME;
	if (open_store(&co, &s, true) < 0)
		goto out_cfg;
	struct registry reg = {0};
	struct kpi_engine *e = NULL;
	struct eval_stats st;
	char err[512];
	kpi_registry_load(&reg, &co.cfg);
	if (reference) {
		memset(&st, 0, sizeof(st));
		struct printer rp = {&co.cfg, json ? cJSON_CreateArray() : NULL, 0};
		if (!json)
			printf("%-5s %-8s %-22s %14s %-10s %8s  %-24s %s\n", "KPI", "PERIOD", "SLICE",
			       "VALUE", "UNIT", "N", "NOTE", "PROVENANCE");
		if (kpi_engine_new(&e, &co.cfg, s, &reg) < 0 ||
		    kpi_reference(e, kpi, label ? (int)per.kind : -1,
				  label ? per.start_ms : INT64_MIN, label ? per.end_ms : INT64_MAX,
				  by ? by : "", print_result, &rp, err, sizeof(err)) < 0) {
			fprintf(stderr, "mizan eval: %s\n", e ? err : "out of memory");
			cJSON_Delete(rp.json);
			goto out;
		}
		if (json) {
			char *text = cJSON_Print(rp.json);
			printf("%s\n", text ? text : "[]");
			free(text);
			cJSON_Delete(rp.json);
		}
		code = EXIT_OK;
		goto out;
	}
	if (kpi_engine_new(&e, &co.cfg, s, &reg) < 0 ||
	    kpi_eval(e, full, NULL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "mizan eval: %s\n", e ? err : "out of memory");
		goto out;
	}
	fprintf(stderr, "evaluated %zu KPIs: %zu periods, %zu results from %zu events in %.2f s%s\n",
		st.kpis, st.periods, st.results, st.events, st.seconds,
		st.failed ? "; some failed (see below)" : "");

	struct printer p = {&co.cfg, json ? cJSON_CreateArray() : NULL, 0};
	if (!json)
		printf("%-5s %-8s %-22s %14s %-10s %8s  %-24s %s\n", "KPI", "PERIOD", "SLICE", "VALUE",
		       "UNIT", "N", "NOTE", "PROVENANCE");
	for (size_t k = 0; k < co.cfg.nkpis; k++) {
		const struct cfg_kpi *kc = &co.cfg.kpis[k];
		if (kpi && strcmp(kpi, kc->id) != 0)
			continue;
		struct store_result_query q = {.kpi = kc->id,
					       .pkind = label ? (int)per.kind : (int)kc->period,
					       .dim = by ? by : "",
					       .from_ms = label ? per.start_ms : INT64_MIN,
					       .to_ms = label ? per.start_ms + 1 : INT64_MAX,
					       .latest = !label};
		int (*each)(struct store *, const struct store_result_query *,
			    int (*)(const struct store_result *, void *), void *, char *) =
			kc->indicator ? store_results_each : store_values_each;
		if (each(s, &q, print_result, &p, err) < 0) {
			fprintf(stderr, "mizan eval: %s\n", err);
			cJSON_Delete(p.json);
			goto out;
		}
	}
	if (alerts) {
		struct alert_stats as;
		int64_t now_ms = time_now_ms();
		if (at && event_parse_time(at, false, &now_ms) < 0) {
			fprintf(stderr, "mizan eval: --now must be an ISO 8601 date-time with a zone\n");
			cJSON_Delete(p.json);
			code = EXIT_USAGE;
			goto out;
		}
		struct chart_pool *charts = NULL;
		char cerr[256];
		if (*co.cfg.gnuplot &&
		    chart_pool_start(&charts, co.cfg.gnuplot, 1, co.cfg.chart_timeout_s, cerr,
				     sizeof(cerr)) < 0)
			charts = NULL; /* mail without charts */
		struct alert_notifier nf = {0};
		int arc = notice_new(&nf, &co.cfg, s, charts, err, sizeof(err));
		if (arc == 0)
			arc = alert_evaluate(&co.cfg, s, &nf, now_ms, &as, err, sizeof(err));
		notice_free(&nf);
		chart_pool_stop(charts);
		if (arc < 0) {
			fprintf(stderr, "mizan eval: alerts: %s\n", err);
			cJSON_Delete(p.json);
			goto out;
		}
		/* Mail queued just now is due now: by the clock, whatever --now said. */
		int sent = *co.cfg.smtp_url ? outbox_deliver_due(&co.cfg, s, time_now_ms()) : 0;
		fprintf(stderr, "alerts: %zu figures judged, %zu changed state, %zu messages queued, %d sent, in %.2f s\n",
			as.evaluated, as.changed, as.messages, sent < 0 ? 0 : sent, as.seconds);
	}
	if (json) {
		char *text = cJSON_Print(p.json);
		printf("%s\n", text ? text : "[]");
		free(text);
		cJSON_Delete(p.json);
	}
	code = st.failed ? EXIT_RUNTIME : EXIT_OK;
out:
	kpi_engine_free(e);
	registry_free(&reg);
	store_close(s);
out_cfg:
	config_free(&co.cfg);
	return code;
}

/* ---- plugins --------------------------------------------------------------------- */

int cmd_plugins(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS, {0}};
	struct common co = {0};
	int code;

	if (common_start(&co, argc, argv, longopts, usage_plugins, ARGS_NONE, &code) > 0)
		return code;
	struct registry reg = {0};
	kpi_registry_load(&reg, &co.cfg);
	print_search_path(&co.cfg, stdout);
	printf("plugins:\n");
	plugin_print(&reg, stdout);
	printf("scripts:\n");
	for (size_t i = 0; i < reg.n; i++)
		if (strcmp(reg.v[i]->source, "script") == 0)
			printf("  %s %s %s (%s)\n", reg.v[i]->name, reg.v[i]->version, reg.v[i]->origin,
			       reg.v[i]->unit);
	if (reg.nnotes)
		printf("replaced:\n");
	for (size_t i = 0; i < reg.nnotes; i++)
		printf("  %s: %s\n", reg.notes[i].file, reg.notes[i].reason);
	if (reg.nerrors)
		printf("refused:\n");
	for (size_t i = 0; i < reg.nerrors; i++)
		printf("  %s: %s\n", reg.errors[i].file, reg.errors[i].reason);
	int bad = check_kpi_indicators(&co.cfg, &reg, stdout);
	code = bad ? EXIT_CONFIG : reg.nerrors ? EXIT_RUNTIME : EXIT_OK;
	registry_free(&reg);
	config_free(&co.cfg);
	return code;
}

void print_search_path(const struct config *c, FILE *out)
{
	struct search_path sp;
	if (search_path_get(&sp, c) < 0)
		return;
	fprintf(out, "plugin folders, in search order:\n");
	for (size_t i = 0; i < sp.plugins.n; i++)
		fprintf(out, "  %s\n", sp.plugins.v[i]);
	if (!strlist_has(&sp.plugins, search_plugindir))
		fprintf(out, "  (%s: not there)\n", search_plugindir);
	fprintf(out, "script folders, in search order:\n");
	for (size_t i = 0; i < sp.scripts.n; i++)
		fprintf(out, "  %s\n", sp.scripts.v[i]);
	if (!strlist_has(&sp.scripts, search_scriptdir))
		fprintf(out, "  (%s: not there)\n", search_scriptdir);
	search_path_free(&sp);
}

int check_kpi_indicators(const struct config *c, struct registry *reg, FILE *out)
{
	int bad = 0;
	char min_answers[24];
	snprintf(min_answers, sizeof(min_answers), "%d", c->min_answers);
	for (size_t k = 0; k < c->nkpis; k++) {
		const struct cfg_kpi *kc = &c->kpis[k];
		const char *file = kc->file ? kc->file : "configuration";
		if (!kc->indicator)
			continue;
		struct indicator *ind = registry_find(reg, kc->indicator);
		if (!ind) {
			fprintf(out, "%s:%d: kpi %s: no indicator named '%s' is loaded\n", file, kc->line,
				kc->id, kc->indicator);
			bad++;
			continue;
		}
		/* Its init, with the KPI's params as the engine gives them
		 * (evaluation.min_answers when the KPI does not set it). */
		const char **keys = calloc(kc->nparams + 1, sizeof(*keys));
		const char **vals = calloc(kc->nparams + 1, sizeof(*vals));
		if (!keys || !vals) {
			free(keys);
			free(vals);
			fprintf(out, "%s:%d: kpi %s: out of memory\n", file, kc->line, kc->id);
			bad++;
			continue;
		}
		size_t n = 0;
		bool has_min = false;
		for (; n < kc->nparams; n++) {
			keys[n] = kc->param_keys[n];
			vals[n] = kc->param_values[n];
			has_min |= strcmp(keys[n], "min_answers") == 0;
		}
		if (!has_min) {
			keys[n] = "min_answers";
			vals[n++] = min_answers;
		}
		struct mizan_params p = {n, keys, vals};
		char err[IND_ERRLEN] = "";
		void *state = ind->ops->state_new(ind, &p, err);
		if (!state) {
			fprintf(out, "%s:%d: kpi %s: %s\n", file, kc->line, kc->id, err);
			bad++;
		} else {
			ind->ops->state_free(ind, state);
		}
		free(keys);
		free(vals);
	}
	return bad;
}

/* ---- test-kpi ----------------------------------------------------------------------- */

struct expect_ctx {
	const char *file;
	const cJSON *expect;
	double tol;
	int failures, checked;
};

/* Relative: |got - want| <= tol * max(|got|, |want|); 0 tolerance is exact. */
static bool near(double got, double want, double tol)
{
	if (isnan(got) || isnan(want))
		return isnan(got) && isnan(want);
	return got == want || fabs(got - want) <= tol * fmax(fabs(got), fabs(want));
}

static const struct store_result *find_row(const struct store_result *rows, size_t n,
					   const char *period, const char *dim, const char *slice)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].period, period) && !strcmp(rows[i].dim, dim) &&
		    !strcmp(rows[i].slice, slice))
			return &rows[i];
	return NULL;
}

struct collected {
	struct store_result *v;
	size_t n;
	cJSON *keep; /* copies of the texts */
};

static int collect_row(const struct store_result *r, void *ud)
{
	struct collected *c = ud;
	struct store_result *p = realloc(c->v, (c->n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->v = p;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToArray(c->keep, o);
	struct store_result copy = *r;
	copy.period = cJSON_AddStringToObject(o, "p", r->period)->valuestring;
	copy.dim = cJSON_AddStringToObject(o, "d", r->dim)->valuestring;
	copy.slice = cJSON_AddStringToObject(o, "s", r->slice)->valuestring;
	copy.extra = r->extra ? cJSON_AddStringToObject(o, "e", r->extra)->valuestring : NULL;
	copy.note = r->note ? cJSON_AddStringToObject(o, "n", r->note)->valuestring : NULL;
	c->v[c->n++] = copy;
	return 0;
}

static void check_one(struct expect_ctx *x, const struct collected *rows, const cJSON *want)
{
	const char *period = cJSON_GetStringValue(cJSON_GetObjectItem(want, "period"));
	const char *dim = cJSON_GetStringValue(cJSON_GetObjectItem(want, "dim"));
	const char *slice = cJSON_GetStringValue(cJSON_GetObjectItem(want, "slice"));
	char where[160];
	snprintf(where, sizeof(where), "%s %s%s%s", period ? period : "?", dim ? dim : "",
		 dim ? "=" : "", slice ? slice : "");
	x->checked++;
	const struct store_result *r =
		period ? find_row(rows->v, rows->n, period, dim ? dim : "", slice ? slice : "") : NULL;
	if (!r) {
		printf("FAIL %s: %s: no figure was computed\n", x->file, where);
		x->failures++;
		return;
	}
	const cJSON *v = cJSON_GetObjectItem(want, "value");
	if (v && !near(r->value, cJSON_IsNull(v) ? NAN : v->valuedouble, x->tol)) {
		printf("FAIL %s: %s: value %.10g, expected %.10g\n", x->file, where, r->value,
		       cJSON_IsNull(v) ? NAN : v->valuedouble);
		x->failures++;
	}
	const cJSON *n = cJSON_GetObjectItem(want, "n");
	if (n && !near(r->n, n->valuedouble, 0)) {
		printf("FAIL %s: %s: n %.10g, expected %.10g\n", x->file, where, r->n, n->valuedouble);
		x->failures++;
	}
	const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(want, "note"));
	if (note && (!r->note || strcmp(note, r->note) != 0)) {
		printf("FAIL %s: %s: note '%s', expected '%s'\n", x->file, where,
		       r->note ? r->note : "", note);
		x->failures++;
	}
	const cJSON *extra = cJSON_GetObjectItem(want, "extra");
	cJSON *got = r->extra ? cJSON_Parse(r->extra) : cJSON_CreateObject();
	const cJSON *item;
	cJSON_ArrayForEach(item, extra)
	{
		const cJSON *g = cJSON_GetObjectItem(got, item->string);
		double gv = g && cJSON_IsNumber(g) ? g->valuedouble : NAN;
		if (!near(gv, cJSON_IsNull(item) ? NAN : item->valuedouble, x->tol)) {
			printf("FAIL %s: %s: extra %s %.10g, expected %.10g\n", x->file, where,
			       item->string, gv, item->valuedouble);
			x->failures++;
		}
	}
	cJSON_Delete(got);
}

static void print_failure(const char *kpi, const char *error, int64_t at, void *ud)
{
	(void)kpi;
	(void)at;
	if (error)
		printf("FAIL %s: the indicator failed: %s\n", (const char *)ud, error);
}

/* Runs one fixture in a scratch store; returns how many expectations
 * failed, or a negative errno when the fixture could not be run (said on
 * stderr): -EINVAL a fixture that is not one, else the store's error. */
static int run_fixture(const struct config *base, const char *file, double tolerance)
{
	size_t len;
	char *text = buf_read_file(file, &len);
	cJSON *fx = text ? cJSON_ParseWithLength(text, len) : NULL;
	free(text);
	if (!fx || !cJSON_IsObject(fx)) {
		fprintf(stderr, "%s: not a JSON object\n", file);
		cJSON_Delete(fx);
		return -EINVAL;
	}
	int result;
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(fx, "indicator"));
	const cJSON *events = cJSON_GetObjectItem(fx, "events");
	const cJSON *expect = cJSON_GetObjectItem(fx, "expect");
	if (!name || !cJSON_IsArray(events) || !cJSON_IsArray(expect)) {
		fprintf(stderr, "%s: needs \"indicator\", \"events\" and \"expect\"\n", file);
		cJSON_Delete(fx);
		return -EINVAL;
	}

	/* The indicator: from the given files, else from the configured folders. */
	struct registry reg = {0};
	const cJSON *load = cJSON_GetObjectItem(fx, "load"), *item;
	if (load) {
		struct script_limits lim = {(size_t)base->script_memory_mib << 20,
					    (uint64_t)base->script_instructions, base->script_seconds};
		const char *slash = strrchr(file, '/');
		cJSON_ArrayForEach(item, load)
		{
			const char *given = cJSON_GetStringValue(item);
			char path[4096];
			/* Relative to the fixture's folder. */
			if (given && given[0] != '/' && slash)
				snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file), file, given);
			else if (given)
				snprintf(path, sizeof(path), "%s", given);
			size_t n = given ? strlen(path) : 0;
			if (n > 4 && strcmp(path + n - 4, ".lua") == 0)
				script_load_file(&reg, path, &lim);
			else if (given)
				plugin_load_file(&reg, path);
		}
	} else {
		kpi_registry_load(&reg, base);
	}

	/* A configuration of one KPI that uses it. */
	struct config c = *base;
	struct cfg_kpi k = {0};
	const cJSON *params = cJSON_GetObjectItem(fx, "params");
	size_t np = (size_t)cJSON_GetArraySize(params);
	char **keys = calloc(np + 1, sizeof(char *)), **vals = calloc(np + 1, sizeof(char *));
	char numbers[64][32];
	cJSON_ArrayForEach(item, params)
	{
		if (k.nparams >= 64)
			break;
		keys[k.nparams] = item->string;
		if (cJSON_IsString(item)) {
			vals[k.nparams] = item->valuestring;
		} else {
			snprintf(numbers[k.nparams], sizeof(numbers[0]), "%.17g", item->valuedouble);
			vals[k.nparams] = numbers[k.nparams];
		}
		k.nparams++;
	}
	k.param_keys = keys;
	k.param_values = vals;
	k.id = "test";
	k.indicator = (char *)name;
	k.period = PK_QUARTER;
	const char *pk = cJSON_GetStringValue(cJSON_GetObjectItem(fx, "period"));
	for (int i = 0; pk && i < PK_N; i++)
		if (strcmp(pk, period_kind_name((enum period_kind)i)) == 0)
			k.period = (enum period_kind)i;
	c.kpis = &k;
	c.nkpis = 1;
	const cJSON *slices = cJSON_GetObjectItem(fx, "slices");
	char *slice_names[8];
	struct strlist sl = {slice_names, 0};
	cJSON_ArrayForEach(item, slices) if (sl.n < 8 && cJSON_IsString(item)) slice_names[sl.n++] =
		item->valuestring;
	c.slices = sl;

	struct store *s = NULL;
	struct kpi_engine *e = NULL;
	struct batch b = {0};
	char err[512];
	struct store_opts so = {.sync_full = false, .cache_mib = 2, .busy_timeout_ms = 1000};
	char *body = cJSON_PrintUnformatted(events);
	struct event_limits lim = {.attrs_bytes = base->attrs_bytes, .attrs_depth = base->attrs_depth,
				   .future_ms = INT64_MAX / 4, .now_ms = 0};
	struct store_put_result pr;
	struct eval_stats st;
	int rc = store_open(&s, STORE_URL_SCRATCH, &so, err);
	if (rc < 0) {
		fprintf(stderr, "%s: scratch store: %s\n", file, err);
		result = rc;
		goto out;
	}
	rc = body ? batch_parse(&b, BATCH_JSON, body, strlen(body), NULL, 1, &lim, SIZE_MAX) : -ENOMEM;
	if (rc < 0) {
		char *errs = cJSON_PrintUnformatted(b.errors);
		fprintf(stderr, "%s: invalid events: %s\n", file, errs ? errs : strerror(-rc));
		free(errs);
		result = rc;
		goto out;
	}
	rc = store_put_events(s, b.ev, b.n, &pr, err);
	if (rc >= 0 && (rc = kpi_engine_new(&e, &c, s, &reg)) < 0)
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	if (rc >= 0)
		rc = kpi_eval(e, true, NULL, &st, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", file, err);
		result = rc;
		goto out;
	}
	if (st.failed)
		store_kpi_status_each(s, print_failure, (void *)file, err);
	struct collected rows = {NULL, 0, cJSON_CreateArray()};
	struct store_result_query q = {.pkind = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX};
	store_results_each(s, &q, collect_row, &rows, err);
	double tol = 1e-12;
	const cJSON *t = cJSON_GetObjectItem(fx, "tolerance");
	if (tolerance >= 0)
		tol = tolerance;
	else if (cJSON_IsNumber(t))
		tol = t->valuedouble;
	struct expect_ctx x = {file, expect, tol, st.failed ? 1 : 0, 0};
	cJSON_ArrayForEach(item, expect) check_one(&x, &rows, item);
	printf("%s %s: %d expectations, %d failed (indicator %s)\n", x.failures ? "FAIL" : "ok", file,
	       x.checked, x.failures, name);
	free(rows.v);
	cJSON_Delete(rows.keep);
	result = x.failures;
out:
	free(body);
	batch_free(&b);
	kpi_engine_free(e);
	store_close(s);
	registry_free(&reg);
	free(keys);
	free(vals);
	cJSON_Delete(fx);
	return result;
}

int cmd_test_kpi(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS, {"tolerance", required_argument, NULL, OPT_TOLERANCE}, {0}};
	struct common co = {0};
	double tolerance = -1; /* not given */
	int opt, code;

	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (opt == OPT_TOLERANCE) {
			char *end;
			tolerance = strtod(optarg, &end);
			if (!*optarg || *end || !(tolerance >= 0 && tolerance < 1)) {
				fprintf(stderr, "mizan test-kpi: --tolerance must be a number from 0 "
						"up to 1 (relative), got '%s'\n", optarg);
				return EXIT_USAGE;
			}
			continue;
		}
		if (common_opt(&co, opt, usage_test_kpi, &code) > 0)
			return code;
	}
	if (optind >= argc)
		return print_usage(usage_test_kpi, EXIT_USAGE);
	if (load_config(&co) < 0)
		return EXIT_CONFIG;
	code = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int r = run_fixture(&co.cfg, argv[i], tolerance);
		if (r < 0)
			code = EXIT_RUNTIME;
		else if (r > 0 && code == EXIT_OK)
			code = EXIT_DATA;
	}
	config_free(&co.cfg);
	return code;
}
