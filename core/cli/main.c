/* main.c - the `mizan` command: serve, import, check, demo, token. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/daemon.h"
#include "eval/kpi.h"
#include "http/auth.h"
#include "notify/mail.h"
#include "model/config.h"
#include "ingest/demo.h"
#include "model/event.h"
#include "ingest/import.h"
#include "util/log.h"
#include "util/time.h"
#include "model/period.h"
#include "store/store.h"

#ifndef MIZAN_VERSION
#define MIZAN_VERSION "0"
#endif

static const char usage_main[] =
	"usage: mizan [COMMAND] [OPTIONS]\n"
	"\n"
	"Mizan, a KPI monitoring server.  Commands:\n"
	"  serve            run the server (the default command)\n"
	"  import FILE...   load events from NDJSON, JSON or CSV files\n"
	"  check            validate the configuration\n"
	"  demo             generate realistic demo events\n"
	"  token            add, list or revoke API tokens\n"
	"  eval             evaluate the KPIs now and print their figures\n"
	"  plugins          list the loaded indicator plugins and scripts\n"
	"  test-kpi FILE    check an indicator against a fixture of events\n"
	"\n"
	"Options for every command that touches the server's files:\n"
	"  --config PATH    configuration file (default: $MIZAN_CONFIG, else config/mizan.lua\n"
	"                   when it exists, else built-in defaults)\n"
	"  --db PATH        database file (overrides store.path)\n"
	"  -h, --help       show help for a command;  -V, --version  show the version\n"
	"\n"
	"Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 invalid configuration, 4 invalid events.\n";

static const char usage_serve[] =
	"usage: mizan serve [--config PATH] [--db PATH] [--listen ADDR:PORT] [--demo]\n"
	"                   [--allow-damaged]\n"
	"Serves the API until SIGINT or SIGTERM.  The store's integrity is checked first\n"
	"(and every store.check_interval_s): a damaged store is refused unless\n"
	"--allow-damaged is given.  --demo loads demo.when_empty demo events into an\n"
	"empty store and marks it as demo data (a banner on every page; mail only to\n"
	"demo.mail_to).\n";
static const char usage_import[] =
	"usage: mizan import [--config PATH] [--db PATH] FILE...\n"
	"Validates each file whole (every problem is printed as FILE:LINE: field: what),\n"
	"then stores it in batches of limits.batch_events.  A file with any invalid event\n"
	"stores nothing.  Format by extension: .csv, .ndjson/.jsonl, .json (array or NDJSON).\n";
static const char usage_check[] =
	"usage: mizan check [--config PATH]\n"
	"Reads the configuration, loads the indicators as the server would, and prints\n"
	"FILE:LINE: what is wrong, or 'ok'.  Exit code 3 for an invalid configuration\n"
	"(and a KPI whose indicator is not loaded or refuses its params), 1 when a file\n"
	"on the plugin or script search path was refused, else 0.\n";
static const char usage_demo[] =
	"usage: mizan demo [--events N] [--seed S] [--from DATE] [--to DATE] [--random-ids]\n"
	"                  [-o FILE | --load [--config PATH] [--db PATH]]\n"
	"Generates N (default 100000) deterministic demo events between DATE and DATE\n"
	"(default 2023-01-01 to the start of today, UTC) as NDJSON on standard output,\n"
	"into FILE, or straight into the database with --load.\n";
static const char usage_token[] =
	"usage: mizan token add --role ROLE --name NAME   (ROLE: ingest, viewer, editor, admin)\n"
	"       mizan token list\n"
	"       mizan token revoke NAME\n"
	"       (each also takes --config PATH and --db PATH)\n"
	"'add' prints the new secret once; only its SHA-256 is stored.\n";

/* ---- serve -------------------------------------------------------------------- */

static int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS, {"listen", required_argument, NULL, OPT_LISTEN},
		{"demo", no_argument, NULL, OPT_DEMO},
		{"allow-damaged", no_argument, NULL, OPT_ALLOW_DAMAGED}, {0}};
	struct common co = {0};
	bool demo = false, allow_damaged = false;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (opt == OPT_DEMO || opt == OPT_ALLOW_DAMAGED) {
			*(opt == OPT_DEMO ? &demo : &allow_damaged) = true;
			continue;
		}
		if (common_opt(&co, opt, usage_serve, &code) > 0)
			return code;
	}
	if (optind < argc)
		return print_usage(usage_serve, EXIT_USAGE);
	if (load_config(&co) < 0)
		return EXIT_CONFIG;

	struct store *s = NULL;
	char err[STORE_ERRLEN];
	code = EXIT_RUNTIME;
	if (open_store(&co, &s, 0) < 0)
		goto out;
	int rc = store_check(s, err);
	if (rc == -EUCLEAN) {
		log_error("the store %s is damaged: %s", co.cfg.store_url, err);
		if (!allow_damaged) {
			log_error("not starting on a damaged store: restore a backup, or start with "
				  "--allow-damaged to serve what can be read");
			goto out;
		}
		log_warn("starting on a damaged store (--allow-damaged): /healthz says so");
	} else if (rc < 0) {
		log_warn("the store's integrity check could not run: %s", err);
	}
	if (demo) {
		int64_t n = store_count_events(s);
		if (n == 0 && co.cfg.demo_when_empty > 0) {
			struct demo_opts d = {
				.events = (uint64_t)co.cfg.demo_when_empty,
				.seed = (uint64_t)co.cfg.demo_seed,
				.from_ms = 1672531200000LL, /* 2023-01-01 */
				.to_ms = time_now_ms() / 86400000 * 86400000,
			};
			struct import_stats st;
			/* Marked first: a store half loaded is demo data too. */
			if (store_demo_mark(s, err) < 0) {
				log_error("cannot mark the store as demo data: %s", err);
				goto out;
			}
			log_info("--demo: loading %lld demo events into the empty store (demo.when_empty)",
				 (long long)co.cfg.demo_when_empty);
			if (import_demo(s, &co.cfg, &d, false, &st, stderr) < 0)
				goto out;
			log_info("loaded %zu demo events in %.2f s", st.accepted, st.seconds);
		} else if (n > 0 && store_is_demo(s) != 1) {
			log_warn("--demo: the store holds events that are not demo data: loading none");
		}
	}
	if (store_is_demo(s) == 1)
		log_warn("the store holds demo data: a banner says so on every page, and mail goes "
			 "only to demo.mail_to");
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		log_error("cannot find my own binary to start the evaluation worker");
		goto out;
	}
	self[n] = '\0';
	if (daemon_run(&co.cfg, s, self) == 0)
		code = EXIT_OK;
out:
	store_close(s);
	config_free(&co.cfg);
	return code;
}

/* ---- import ------------------------------------------------------------------- */

/* The one line `import` and `demo --load` end with. */
static void print_summary(const char *what, const struct import_stats *st)
{
	printf("%s: %zu events, %zu accepted, %zu duplicates in %.2f s (%.0f events/s)\n", what,
	       st->events, st->accepted, st->duplicates, st->seconds,
	       st->seconds > 0 ? (double)st->events / st->seconds : 0.0);
}

static int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS, {0}};
	struct common co = {0};
	int code;

	if (common_start(&co, argc, argv, longopts, usage_import, ARGS_SOME, &code) > 0)
		return code;
	struct store *s;
	if (open_store(&co, &s, 0) < 0) {
		config_free(&co.cfg);
		return EXIT_RUNTIME;
	}
	bool tty = isatty(STDERR_FILENO);
	code = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		struct import_stats st;
		int rc = import_file(s, &co.cfg, argv[i], tty, &st, stderr);
		if (rc == -EINVAL) {
			fprintf(stderr, "%s: rejected: nothing was stored\n", argv[i]);
			code = EXIT_DATA;
			continue;
		}
		if (rc < 0) {
			code = EXIT_RUNTIME;
			continue;
		}
		print_summary(argv[i], &st);
	}
	store_close(s);
	config_free(&co.cfg);
	return code;
}

/* ---- check -------------------------------------------------------------------- */

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS, {0}};
	struct common co = {0};
	int code;

	if (common_start(&co, argc, argv, longopts, usage_check, ARGS_NONE, &code) > 0)
		return code;
	/* The indicators, as the server would load them. */
	struct registry reg = {0};
	kpi_registry_load(&reg, &co.cfg);
	for (size_t i = 0; i < reg.nerrors; i++)
		fprintf(stderr, "%s: refused: %s\n", reg.errors[i].file, reg.errors[i].reason);
	int bad = check_kpi_indicators(&co.cfg, &reg, stderr);
	if (bad)
		print_search_path(&co.cfg, stderr);
	code = bad ? EXIT_CONFIG : reg.nerrors ? EXIT_RUNTIME : EXIT_OK;
	if (code == EXIT_OK)
		printf("%s: ok\n", co.cfg.path ? co.cfg.path : "built-in defaults");
	registry_free(&reg);
	config_free(&co.cfg);
	return code;
}

/* ---- demo ----------------------------------------------------------------------- */

static int write_line(const char *line, size_t n, void *ud)
{
	FILE *f = ud;
	if (fwrite(line, 1, n, f) != n || putc('\n', f) == EOF)
		return -EIO;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || !*s || *s == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmd_demo(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS,
						 {"events", required_argument, NULL, OPT_EVENTS},
						 {"seed", required_argument, NULL, OPT_SEED},
						 {"from", required_argument, NULL, OPT_FROM},
						 {"to", required_argument, NULL, OPT_TO},
						 {"random-ids", no_argument, NULL, OPT_RANDOM},
						 {"load", no_argument, NULL, OPT_LOAD},
						 {"output", required_argument, NULL, 'o'},
						 {0}};
	struct common co = {0};
	struct demo_opts d = {.events = 100000, .seed = 1, .from_ms = 1672531200000LL,
			      .to_ms = time_now_ms() / 86400000 * 86400000};
	const char *out = NULL;
	bool load = false;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "hVo:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_EVENTS:
		case OPT_SEED:
			if (parse_u64(optarg, opt == OPT_EVENTS ? &d.events : &d.seed) < 0) {
				fprintf(stderr, "mizan demo: --%s must be a whole number, got '%s'\n",
					opt == OPT_EVENTS ? "events" : "seed", optarg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_FROM:
		case OPT_TO:
			if (event_parse_time(optarg, true, opt == OPT_FROM ? &d.from_ms : &d.to_ms) < 0) {
				fprintf(stderr, "mizan demo: --%s must be a date like 2024-01-01, got '%s'\n",
					opt == OPT_FROM ? "from" : "to", optarg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_RANDOM:
			d.random_ids = true;
			continue;
		case OPT_LOAD:
			load = true;
			continue;
		case 'o':
			out = optarg;
			continue;
		}
		if (common_opt(&co, opt, usage_demo, &code) > 0)
			return code;
	}
	if (optind < argc || (load && out))
		return print_usage(usage_demo, EXIT_USAGE);
	if (d.to_ms <= d.from_ms) {
		fprintf(stderr, "mizan demo: --to must be after --from\n");
		return EXIT_USAGE;
	}
	if (!load) {
		FILE *f = out ? fopen(out, "w") : stdout;
		if (!f) {
			fprintf(stderr, "mizan demo: %s: %s\n", out, strerror(errno));
			return EXIT_RUNTIME;
		}
		int rc = demo_generate(&d, write_line, f);
		if (fflush(f) != 0)
			rc = -EIO;
		if (out && fclose(f) != 0)
			rc = -EIO;
		if (rc < 0) {
			fprintf(stderr, "mizan demo: cannot write %s\n", out ? out : "standard output");
			return EXIT_RUNTIME;
		}
		return EXIT_OK;
	}
	if (load_config(&co) < 0)
		return EXIT_CONFIG;
	struct store *s;
	code = EXIT_RUNTIME;
	if (open_store(&co, &s, 0) == 0) {
		struct import_stats st;
		char err[STORE_ERRLEN];
		int rc = store_demo_mark(s, err);
		if (rc < 0)
			fprintf(stderr, "mizan demo: cannot mark the store as demo data: %s\n", err);
		else
			rc = import_demo(s, &co.cfg, &d, isatty(STDERR_FILENO), &st, stderr);
		if (rc == 0) {
			print_summary("demo", &st);
			code = EXIT_OK;
		}
		store_close(s);
	}
	config_free(&co.cfg);
	return code;
}

/* ---- token ---------------------------------------------------------------------- */

static int print_token(const struct store_token *t, void *ud)
{
	char when[32];
	(void)ud;
	event_format_time(t->created_ms, when);
	printf("%-24s %-7s %s\n", t->name, role_name(t->role), when);
	return 0;
}

static int cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS,
						 {"role", required_argument, NULL, OPT_ROLE},
						 {"name", required_argument, NULL, OPT_NAME},
						 {0}};
	struct common co = {0};
	const char *role = NULL, *name = NULL;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (opt == OPT_ROLE || opt == OPT_NAME) {
			*(opt == OPT_ROLE ? &role : &name) = optarg;
			continue;
		}
		if (common_opt(&co, opt, usage_token, &code) > 0)
			return code;
	}
	const char *verb = optind < argc ? argv[optind++] : "";
	bool add = strcmp(verb, "add") == 0, list = strcmp(verb, "list") == 0,
	     revoke = strcmp(verb, "revoke") == 0;
	if (revoke && optind < argc)
		name = argv[optind++];
	if ((!add && !list && !revoke) || optind < argc || (add && (!role || !name)) ||
	    (revoke && !name))
		return print_usage(usage_token, EXIT_USAGE);
	if (add && role_from_name(role) == ROLE_NONE) {
		fprintf(stderr, "mizan token: role must be ingest, viewer, editor or admin, got '%s'\n",
			role);
		return EXIT_USAGE;
	}
	if (load_config(&co) < 0)
		return EXIT_CONFIG;
	struct store *s;
	if (open_store(&co, &s, 0) < 0) {
		config_free(&co.cfg);
		return EXIT_RUNTIME;
	}
	char err[STORE_ERRLEN];
	int rc;
	if (add) {
		char secret[AUTH_SECRET_LEN];
		unsigned char hash[32];
		auth_new_secret(secret);
		auth_hash(secret, strlen(secret), hash);
		rc = store_token_add(s, name, role_from_name(role), hash, err);
		if (rc == 0)
			printf("%s\n", secret);
	} else if (list) {
		rc = store_token_each(s, print_token, NULL, err);
	} else {
		rc = store_token_revoke(s, name, err);
	}
	if (rc < 0)
		fprintf(stderr, "mizan token: %s\n", err);
	store_close(s);
	config_free(&co.cfg);
	return rc == 0 ? EXIT_OK : rc == -EEXIST || rc == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {{"serve", cmd_serve}, {"import", cmd_import}, {"check", cmd_check},
		    {"demo", cmd_demo},   {"token", cmd_token},   {"eval", cmd_eval},
		    {"plugins", cmd_plugins}, {"test-kpi", cmd_test_kpi}, {"worker", cmd_worker},
		    {"passwd", cmd_passwd}};

	if (auth_init() < 0 || mail_init() < 0) {
		fprintf(stderr, "mizan: libsodium or libcurl failed to start\n");
		return EXIT_RUNTIME;
	}
	atexit(mail_cleanup);
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
			return print_usage(usage_main, EXIT_OK);
		if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
			printf("mizan %s\n", MIZAN_VERSION);
			return EXIT_OK;
		}
		return cmd_serve(argc, argv); /* `mizan` alone, or `mizan --listen ...` */
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mizan: unknown command '%s'\n\n", argv[1]);
	return print_usage(usage_main, EXIT_USAGE);
}
