/* auth.c - token cache and constant-time lookup (libsodium). */
#include "http/auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/time.h"

struct known {
	enum role role;
	unsigned char hash[32];
	char name[AUTH_NAME_LEN];
};

struct auth {
	const struct config *cfg;
	struct store *store;
	pthread_mutex_t lock;
	struct known *tokens;
	size_t n;
	double loaded; /* monotonic seconds */
};

#define RELOAD_AFTER_S 1.0

int auth_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

struct collect {
	struct known *v;
	size_t n, cap;
};

static int push(struct collect *c, const char *name, enum role role, const unsigned char *hash)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct known *p = realloc(c->v, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->v = p;
		c->cap = cap;
	}
	c->v[c->n].role = role;
	memcpy(c->v[c->n].hash, hash, 32);
	snprintf(c->v[c->n].name, sizeof(c->v[c->n].name), "%s", name);
	c->n++;
	return 0;
}

static int collect_stored(const struct store_token *t, void *ud)
{
	return push(ud, t->name, t->role, t->hash);
}

/* Rebuilds the list from the configuration and the store; keeps the old
 * list when the store cannot be read. */
static void reload(struct auth *a)
{
	struct collect c = {0};
	char err[STORE_ERRLEN];

	for (size_t i = 0; i < a->cfg->ntokens; i++)
		if (push(&c, a->cfg->tokens[i].name, a->cfg->tokens[i].role, a->cfg->tokens[i].hash) < 0)
			goto fail;
	if (store_token_each(a->store, collect_stored, &c, err) != 0) {
		log_warn("cannot read tokens: %s", err);
		goto fail;
	}
	free(a->tokens);
	a->tokens = c.v;
	a->n = c.n;
	a->loaded = time_mono();
	return;
fail:
	free(c.v);
}

int auth_new(struct auth **out, const struct config *c, struct store *s)
{
	struct auth *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = c;
	a->store = s;
	pthread_mutex_init(&a->lock, NULL);
	reload(a);
	*out = a;
	return 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->tokens);
	free(a);
}

void auth_hash(const char *secret, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)secret, len);
}

enum role auth_check(struct auth *a, const char *secret, size_t len, char *name)
{
	unsigned char h[32];
	enum role role = ROLE_NONE;

	auth_hash(secret, len, h);
	pthread_mutex_lock(&a->lock);
	if (time_mono() - a->loaded > RELOAD_AFTER_S)
		reload(a);
	/* Look at every token, whether or not one matched already. */
	for (size_t i = 0; i < a->n; i++)
		if (sodium_memcmp(h, a->tokens[i].hash, 32) == 0) {
			role = a->tokens[i].role;
			if (name)
				memcpy(name, a->tokens[i].name, AUTH_NAME_LEN);
		}
	pthread_mutex_unlock(&a->lock);
	return role;
}

enum role auth_role_of(struct auth *a, const char *name)
{
	enum role role = ROLE_NONE;
	pthread_mutex_lock(&a->lock);
	if (time_mono() - a->loaded > RELOAD_AFTER_S)
		reload(a);
	for (size_t i = 0; i < a->n && role == ROLE_NONE; i++)
		if (strcmp(a->tokens[i].name, name) == 0)
			role = a->tokens[i].role;
	pthread_mutex_unlock(&a->lock);
	return role;
}

bool role_allows(enum role have, enum role need)
{
	if (have == ROLE_ADMIN)
		return true;
	if (need == ROLE_INGEST)
		return have == ROLE_INGEST;
	return have != ROLE_INGEST && have >= need && need != ROLE_NONE;
}

void auth_new_secret(char out[AUTH_SECRET_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "mzn_", 4);
	sodium_bin2base64(out + 4, AUTH_SECRET_LEN - 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
