/* auth.h - bearer tokens and roles.
 *
 * A token's secret is shown once, when it is made; the store and the
 * configuration keep only its SHA-256.  A presented secret is hashed and
 * compared with every known hash in constant time.  Roles: ingest posts
 * events; viewer reads; editor reads and writes targets and notes; admin
 * may do everything.
 */
#ifndef MIZAN_AUTH_H
#define MIZAN_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "model/config.h"
#include "store/store.h"

struct auth;

int auth_init(void); /* once per process, before any other auth_ call */
int auth_new(struct auth **out, const struct config *c, struct store *s);
void auth_free(struct auth *a);

/* The role of the token whose secret is `secret`, or ROLE_NONE; its name
 * goes into name[AUTH_NAME_LEN] when name is not NULL.  Tokens made or
 * revoked with `mizan token` are seen within a second. */
#define AUTH_NAME_LEN 64
enum role auth_check(struct auth *a, const char *secret, size_t len, char *name);

/* The role of the token named `name` as it is now (made or revoked with
 * `mizan token` within a second), or ROLE_NONE when there is none. */
enum role auth_role_of(struct auth *a, const char *name);

bool role_allows(enum role have, enum role need);

void auth_hash(const char *secret, size_t len, unsigned char out[32]);
/* A new secret: "mzn_" and 43 characters of URL-safe base64 (256 bits). */
#define AUTH_SECRET_LEN 48
void auth_new_secret(char out[AUTH_SECRET_LEN]);

#endif
