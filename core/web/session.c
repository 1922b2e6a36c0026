/* session.c - signing in (with a token or a user of auth.users), sessions
 * and the CSRF token of every form (see internal.h).
 *
 * A session is a random id in a cookie; the store keeps only its SHA-256,
 * with the user's name, role, CSRF token and expiry.
 */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "util/log.h"

/* Sessions just read from the store, kept for SESSION_MEMO_MS so that a
 * page does not query the store for every request of one browser; a
 * sign-out forgets its session here first. */
#define SESSION_MEMO_MS 2000
#define SESSION_MEMO 64
static struct {
	pthread_mutex_t lock;
	struct {
		unsigned char hash[32];
		struct store_session s;
		int64_t read_ms;
	} v[SESSION_MEMO];
	unsigned next;
} memo = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool memo_get(const unsigned char hash[32], int64_t now, struct store_session *out)
{
	bool found = false;
	pthread_mutex_lock(&memo.lock);
	for (int i = 0; i < SESSION_MEMO && !found; i++)
		if (memo.v[i].read_ms && now - memo.v[i].read_ms < SESSION_MEMO_MS &&
		    now < memo.v[i].s.expires_ms && sodium_memcmp(memo.v[i].hash, hash, 32) == 0) {
			*out = memo.v[i].s;
			found = true;
		}
	pthread_mutex_unlock(&memo.lock);
	return found;
}

static void memo_put(const unsigned char hash[32], int64_t now, const struct store_session *s)
{
	pthread_mutex_lock(&memo.lock);
	unsigned i = memo.next++ % SESSION_MEMO;
	memcpy(memo.v[i].hash, hash, 32);
	memo.v[i].s = *s;
	memo.v[i].read_ms = now;
	pthread_mutex_unlock(&memo.lock);
}

static void memo_forget(const unsigned char hash[32])
{
	pthread_mutex_lock(&memo.lock);
	for (int i = 0; i < SESSION_MEMO; i++)
		if (sodium_memcmp(memo.v[i].hash, hash, 32) == 0)
			memo.v[i].read_ms = 0;
	pthread_mutex_unlock(&memo.lock);
}

/* Whether the token or the user a session was opened with is still there,
 * with the role the session has: a session dies with a revoked token (seen
 * within a second) or a user taken out of auth.users. */
static bool session_current(struct web *h, const struct store_session *s)
{
	if (auth_role_of(h->auth, s->name) == s->role)
		return true;
	for (size_t i = 0; i < h->cfg->nusers; i++)
		if (strcmp(h->cfg->users[i].name, s->name) == 0 && h->cfg->users[i].role == s->role)
			return true;
	return false;
}

static void session_end(struct page *pg)
{
	char err[STORE_ERRLEN];
	memo_forget(pg->sid_hash);
	if (store_session_delete(pg->h->store, pg->sid_hash, err) < 0)
		log_error("session: %s", err);
	log_info("dashboard: the session of %s ended: its token or user is gone", pg->s.name);
	sodium_memzero(&pg->s, sizeof(pg->s));
	pg->signed_in = false;
}

void web_session_load(struct page *pg)
{
	const char *sid = MHD_lookup_connection_value(pg->c, MHD_COOKIE_KIND, SESSION_COOKIE);
	if (!sid || strlen(sid) < 16 || strlen(sid) > 128)
		return;
	crypto_hash_sha256(pg->sid_hash, (const unsigned char *)sid, strlen(sid));
	int64_t now = time_now_ms();
	if (memo_get(pg->sid_hash, now, &pg->s)) {
		pg->signed_in = role_allows(pg->s.role, ROLE_VIEWER);
		if (pg->signed_in && !session_current(pg->h, &pg->s))
			session_end(pg);
		return;
	}
	char err[STORE_ERRLEN];
	int rc = store_session_get(pg->h->store, pg->sid_hash, now, &pg->s, err);
	if (rc < 0)
		log_error("session: %s", err);
	if (rc > 0)
		memo_put(pg->sid_hash, now, &pg->s);
	pg->signed_in = rc > 0 && role_allows(pg->s.role, ROLE_VIEWER);
	if (pg->signed_in && !session_current(pg->h, &pg->s))
		session_end(pg);
}

enum MHD_Result web_login_page(struct page *pg, unsigned status, bool failed)
{
	cJSON *d = web_page_data(pg, "login", i18n_text(pg->lang, "login"));
	if (failed)
		cJSON_AddStringToObject(d, "error", i18n_text(pg->lang, "e_login"));
	const char *user = web_field(pg, "user");
	if (user)
		cJSON_AddStringToObject(d, "user_value", user);
	return web_send_page(pg, status, T_LOGIN, d, NULL, NULL, false);
}

static void random_text(char *out, size_t outlen)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, outlen, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

enum MHD_Result web_login_post(struct page *pg)
{
	struct web *h = pg->h;
	const char *token = web_field(pg, "token"), *user = web_field(pg, "user"),
		   *password = web_field(pg, "password");
	enum role role = ROLE_NONE;
	char name[AUTH_NAME_LEN] = "";
	if (token && *token) {
		role = auth_check(h->auth, token, strlen(token), name);
	} else if (user && *user && password) {
		/* Every attempt costs one verification, known user or not. */
		static const char dummy[crypto_pwhash_STRBYTES] =
			"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
			"3Wg8/pOajlDpjkdkKTzmWbcbxSQk5SUv9J0GKF5qTsE";
		const struct config_user *u = NULL;
		for (size_t i = 0; i < h->cfg->nusers; i++)
			if (strcmp(h->cfg->users[i].name, user) == 0)
				u = &h->cfg->users[i];
		int ok = crypto_pwhash_str_verify(u ? u->hash : dummy, password, strlen(password));
		if (u && ok == 0) {
			role = u->role;
			snprintf(name, sizeof(name), "%s", u->name);
		}
	}
	if (role == ROLE_NONE || !role_allows(role, ROLE_VIEWER))
		return web_login_page(pg, MHD_HTTP_UNAUTHORIZED, true);
	char sid[64], csrf[64];
	random_text(sid, sizeof(sid));
	random_text(csrf, sizeof(csrf));
	unsigned char hash[32];
	crypto_hash_sha256(hash, (const unsigned char *)sid, strlen(sid));
	char err[STORE_ERRLEN];
	if (store_session_add(h->store, hash, name, role, csrf, time_now_ms() + SESSION_S * 1000LL, err) < 0) {
		log_error("session: %s", err);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	char cookie[160];
	snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
		 sid, SESSION_S);
	sodium_memzero(sid, sizeof(sid));
	log_info("dashboard: %s signed in (%s)", name, role_name(role));
	return web_redirect(pg, "/", cookie);
}

enum MHD_Result web_logout_post(struct page *pg)
{
	char err[STORE_ERRLEN];
	memo_forget(pg->sid_hash);
	if (store_session_delete(pg->h->store, pg->sid_hash, err) < 0)
		log_error("session: %s", err);
	return web_redirect(pg, "/login", SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

/* The form's csrf field is the session's token (compared in constant time). */
bool web_csrf_ok(struct page *pg)
{
	const char *v = web_field(pg, "csrf");
	size_t n = strlen(pg->s.csrf);
	return v && n > 0 && strlen(v) == n && sodium_memcmp(v, pg->s.csrf, n) == 0;
}
