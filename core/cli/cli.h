/* cli.h - what the commands of `mizan` share.
 *
 * Everything here runs on the process's main thread, before the server
 * (if any) starts its own.  Strings in struct common (config, db, listen)
 * are borrowed from argv; cfg is owned and freed with config_free.
 */
#ifndef MIZAN_CLI_H
#define MIZAN_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "eval/indicator.h"
#include "model/config.h"
#include "store/store.h"

/* Exit codes, as the README documents them. */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1, /* the store, the network or the disk failed */
	EXIT_USAGE = 2,   /* the command line is wrong */
	EXIT_CONFIG = 3,  /* the configuration is invalid */
	EXIT_DATA = 4,    /* events were rejected (test-kpi: an expectation failed) */
};

struct common {
	const char *config, *db, *listen;
	struct config cfg;
};

enum { OPT_CONFIG = 256, OPT_DB, OPT_LISTEN, OPT_EVENTS, OPT_SEED, OPT_FROM, OPT_TO, OPT_RANDOM,
       OPT_LOAD, OPT_ROLE, OPT_NAME, OPT_KPI, OPT_PERIOD, OPT_BY, OPT_JSON, OPT_FULL, OPT_ALERTS, OPT_NOW,
       OPT_TOLERANCE, OPT_DEMO, OPT_ALLOW_DAMAGED };

#define COMMON_LONGOPTS                                                                            \
	{"config", required_argument, NULL, OPT_CONFIG}, {"db", required_argument, NULL, OPT_DB},   \
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}

/* Prints text (to stdout for EXIT_OK, else stderr) and returns code. */
int print_usage(const char *text, int code);
/* Handles the options every command shares: 0 handled, 1 stop with
 * *exit_code, -1 not one of them (a tri-state answer, not an error).  Uses
 * getopt's optarg. */
int common_opt(struct common *co, int opt, const char *usage, int *exit_code);
/* What a command takes after its options. */
enum operands { ARGS_NONE, ARGS_SOME, ARGS_ANY };
/* The start of a command whose options are only the shared ones (those in
 * longopts): parses argv with common_opt, checks what is left after the
 * options against `want`, and reads the configuration.  0: go on, with the
 * configuration in co->cfg (the caller frees it with config_free) and the
 * operands from argv[optind]; 1: stop and exit with *exit_code (help, the
 * version, a usage error or a configuration that cannot be read, each said
 * on stdout or stderr). */
int common_start(struct common *co, int argc, char **argv, const struct option *longopts,
		 const char *usage, enum operands want, int *exit_code);
/* Reads the configuration into co->cfg (and sets the time zone).  0, or a
 * negative errno after printing why on stderr (co->cfg is then freed). */
int load_config(struct common *co);
/* Opens the configured store into *s (the caller closes it with
 * store_close).  scans: see struct store_opts (evaluation reads a lot).
 * 0, or the store's negative errno after printing why. */
int open_store(struct common *co, struct store **s, bool scans);

/* The commands: argv[0] is the command's name; each returns the process's
 * exit code (EXIT_...).  cli/kpi.c and cli/web.c. */
int cmd_worker(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_test_kpi(int argc, char **argv);
int cmd_passwd(int argc, char **argv);

/* For `check` and `plugins` (cli/kpi.c): every KPI that names an indicator
 * must find it in reg, and its init must accept the KPI's params; each that
 * does not is printed to out as "FILE:LINE: kpi ID: why".  Returns their
 * number. */
int check_kpi_indicators(const struct config *c, struct registry *reg, FILE *out);
/* The plugin and script folders, in search order (eval/search.h), to out. */
void print_search_path(const struct config *c, FILE *out);

#endif
