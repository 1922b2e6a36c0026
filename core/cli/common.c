/* common.c - what every command shares: options, the configuration, the store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "model/period.h"

#ifndef MIZAN_VERSION
#define MIZAN_VERSION "0"
#endif

int print_usage(const char *text, int code)
{
	fputs(text, code == EXIT_OK ? stdout : stderr);
	return code;
}

int common_opt(struct common *co, int opt, const char *usage, int *exit_code)
{
	switch (opt) {
	case OPT_CONFIG:
		co->config = optarg;
		return 0;
	case OPT_DB:
		co->db = optarg;
		return 0;
	case OPT_LISTEN:
		co->listen = optarg;
		return 0;
	case 'h':
		*exit_code = print_usage(usage, EXIT_OK);
		return 1;
	case 'V':
		printf("mizan %s\n", MIZAN_VERSION);
		*exit_code = EXIT_OK;
		return 1;
	case '?':
		*exit_code = print_usage(usage, EXIT_USAGE);
		return 1;
	}
	return -1;
}

int common_start(struct common *co, int argc, char **argv, const struct option *longopts,
		 const char *usage, enum operands want, int *exit_code)
{
	int opt;
	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1)
		if (common_opt(co, opt, usage, exit_code) > 0)
			return 1;
	if ((want == ARGS_NONE && optind < argc) || (want == ARGS_SOME && optind >= argc)) {
		*exit_code = print_usage(usage, EXIT_USAGE);
		return 1;
	}
	if (load_config(co) < 0) {
		*exit_code = EXIT_CONFIG;
		return 1;
	}
	return 0;
}

int load_config(struct common *co)
{
	char err[512];
	const char *path = co->config ? co->config : getenv("MIZAN_CONFIG");
	if (!path && access("config/mizan.lua", R_OK) == 0)
		path = "config/mizan.lua";
	int rc = config_load(&co->cfg, path, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&co->cfg);
		return rc;
	}
	if (co->db)
		config_set_string(&co->cfg.store_url, co->db);
	if (co->listen)
		config_set_string(&co->cfg.listen, co->listen);
	rc = period_set_zone(co->cfg.timezone);
	if (rc < 0) {
		fprintf(stderr, "%s: evaluation.timezone '%s' is not a known time zone\n",
			co->cfg.path ? co->cfg.path : "configuration", co->cfg.timezone);
		config_free(&co->cfg);
		return rc;
	}
	return 0;
}

int open_store(struct common *co, struct store **s, bool scans)
{
	char err[STORE_ERRLEN];
	struct store_opts o = store_opts_from_config(&co->cfg, scans);
	int rc = store_open(s, co->cfg.store_url, &o, err);
	if (rc < 0)
		fprintf(stderr, "mizan: %s: %s\n", co->cfg.store_url, err);
	return rc;
}

