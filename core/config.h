/* config.h - the server's settings, read from a Lua file.
 *
 * The file is plain Lua run in a state with only the base, string, math and
 * table libraries.  Settings are assigned into predeclared sections
 * (`server.listen = "127.0.0.1:8080"`); an unknown section or key, or a value
 * of the wrong type or out of range, stops loading with "file:line: ...".
 */
#ifndef MIZAN_CONFIG_H
#define MIZAN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum role { ROLE_NONE, ROLE_INGEST, ROLE_VIEWER, ROLE_EDITOR, ROLE_ADMIN };

struct config_token {
	char *name;
	enum role role;
	unsigned char hash[32]; /* SHA-256 of the secret */
};

struct config {
	/* server */
	char *listen; /* ADDR:PORT */
	int threads;
	/* store */
	char *db_path;
	char *synchronous; /* full | normal */
	int cache_mib;
	int busy_timeout_ms;
	/* limits */
	size_t body_bytes;
	int batch_events;
	int connections;
	int per_ip;
	int timeout_s;
	size_t connection_memory;
	size_t attrs_bytes;
	int attrs_depth;
	int future_s;
	int query_rows;
	/* auth */
	struct config_token *tokens;
	size_t ntokens;
	/* demo */
	int64_t demo_when_empty;
	int64_t demo_seed;

	char *path; /* the file read, or NULL for built-in defaults */
};

/* Fills `c` with defaults, then applies `path` when it is not NULL.
 * Returns 0, or -1 with a "file:line: message" in err[errlen]. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
void config_free(struct config *c);

/* Replaces a string setting, freeing the old value. */
void config_set_string(char **slot, const char *value);

const char *role_name(enum role r);
enum role role_from_name(const char *name); /* ROLE_NONE if unknown */

#endif
