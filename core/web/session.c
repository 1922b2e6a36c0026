/* session.c - signing in (with a token or a user of auth.users), sessions
 * and the CSRF token of every form (see internal.h).
 *
 * A session is a random id in a cookie; the store keeps only its SHA-256,
 * with the user's name, role, CSRF token and expiry.
 */
#include "web/internal.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	int rc = 1;
	if (!memo_get(pg->sid_hash, now, &pg->s)) {
		char err[STORE_ERRLEN];
		rc = store_session_get(pg->h->store, pg->sid_hash, now, &pg->s, err);
		if (rc < 0)
			log_error("session: %s", err);
		if (rc > 0)
			memo_put(pg->sid_hash, now, &pg->s);
	}
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

/* ---- sign-in limits ---------------------------------------------------------------- */

/* Attempts to sign in are counted per client address and per account (a
 * user name): each may make THROTTLE_ATTEMPTS a minute, and after
 * THROTTLE_FREE failures in a row each further failure doubles the wait
 * before the next attempt (1 s, 2 s, ... up to THROTTLE_MAX_MS).  A refused
 * attempt costs no hashing: it is answered 429 with Retry-After at once.
 * The table is small and fixed: when it is full the oldest key goes. */
#define THROTTLE_SLOTS 4096
#define THROTTLE_PROBE 16
#define THROTTLE_WINDOW_MS 60000
#define THROTTLE_MAX_MS 300000
#define THROTTLE_FREE 5
#define ADDR_ATTEMPTS 30
#define USER_ATTEMPTS 10
/* Sign-ins hashing at once (each Argon2id takes 64 MiB and a core for a
 * while), on the server's work threads; past it, 503 with Retry-After. */
#define LOGIN_MAX_HASHING 2

struct throttle_entry {
	unsigned char key[16]; /* a hash of "a:ADDR" or "u:NAME"; all zero: free */
	int64_t last_ms, next_ok_ms, win_start_ms;
	int fails, attempts;
};
static struct {
	pthread_mutex_t lock;
	struct throttle_entry v[THROTTLE_SLOTS];
} throttle = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void throttle_key(const char *kind, const char *name, unsigned char out[16])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 16);
	crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
	crypto_generichash_update(&st, (const unsigned char *)name, strlen(name));
	crypto_generichash_final(&st, out, 16);
}

/* The entry of key (made when `make`), or NULL; under the lock. */
static struct throttle_entry *throttle_find(const unsigned char key[16], bool make)
{
	size_t at;
	memcpy(&at, key, sizeof(at));
	struct throttle_entry *oldest = NULL;
	for (int i = 0; i < THROTTLE_PROBE; i++) {
		struct throttle_entry *e = &throttle.v[(at + (size_t)i) % THROTTLE_SLOTS];
		if (memcmp(e->key, key, 16) == 0)
			return e;
		if (!oldest || e->last_ms < oldest->last_ms)
			oldest = e;
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	memcpy(oldest->key, key, 16);
	return oldest;
}

/* How long (ms) before key may try again; 0: now.  Counts the attempt
 * when it may. */
static int64_t throttle_attempt(const unsigned char key[16], int per_minute, int64_t now)
{
	int64_t wait = 0;
	pthread_mutex_lock(&throttle.lock);
	struct throttle_entry *e = throttle_find(key, true);
	if (now - e->win_start_ms >= THROTTLE_WINDOW_MS) {
		e->win_start_ms = now;
		e->attempts = 0;
	}
	if (now < e->next_ok_ms)
		wait = e->next_ok_ms - now;
	else if (e->attempts >= per_minute)
		wait = e->win_start_ms + THROTTLE_WINDOW_MS - now;
	else
		e->attempts++;
	e->last_ms = now;
	pthread_mutex_unlock(&throttle.lock);
	return wait;
}

/* How long (ms) before key may try again, without counting an attempt. */
static int64_t throttle_peek(const unsigned char key[16], int per_minute, int64_t now)
{
	int64_t wait = 0;
	pthread_mutex_lock(&throttle.lock);
	struct throttle_entry *e = throttle_find(key, false);
	if (e && now < e->next_ok_ms)
		wait = e->next_ok_ms - now;
	else if (e && now - e->win_start_ms < THROTTLE_WINDOW_MS && e->attempts >= per_minute)
		wait = e->win_start_ms + THROTTLE_WINDOW_MS - now;
	pthread_mutex_unlock(&throttle.lock);
	return wait;
}

static void throttle_result(const unsigned char key[16], bool ok, int64_t now)
{
	pthread_mutex_lock(&throttle.lock);
	struct throttle_entry *e = throttle_find(key, !ok);
	if (e && ok) {
		e->fails = 0;
		e->next_ok_ms = 0;
	} else if (e && ++e->fails > THROTTLE_FREE) {
		int shift = e->fails - THROTTLE_FREE - 1;
		int64_t wait = shift >= 9 ? THROTTLE_MAX_MS : 1000LL << shift;
		e->next_ok_ms = now + (wait < THROTTLE_MAX_MS ? wait : THROTTLE_MAX_MS);
	}
	pthread_mutex_unlock(&throttle.lock);
}

/* A refused attempt is answered after a second's pause (its connection
 * suspended, no thread held), so that a client which waits for each answer
 * makes one attempt a second, not thousands, and costs the server nothing
 * meanwhile; per_ip bounds the connections one address can hold. */
#define THROTTLE_PAUSE_S 1.0

static enum MHD_Result login_refused(struct page *pg, unsigned status, int64_t wait_ms)
{
	cJSON *d = web_page_data(pg, "login", i18n_text(pg->lang, "login"));
	cJSON_AddStringToObject(d, "error", i18n_text(pg->lang, "e_throttled"));
	struct extra x = {.retry_after = (int)((wait_ms + 999) / 1000)};
	if (x.retry_after < 1)
		x.retry_after = 1;
	return web_send_page(pg, status, T_LOGIN, d, NULL, &x, false);
}

/* ---- addresses and TLS behind a proxy ------------------------------------------------ */

static bool peer_text(struct page *pg, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(pg->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!ci || !ci->client_addr)
		return false;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
				 (socklen_t)outlen) != NULL;
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				 out, (socklen_t)outlen) != NULL;
	return false;
}

static bool from_trusted_proxy(struct page *pg)
{
	char peer[INET6_ADDRSTRLEN];
	return pg->h->cfg->trusted_proxies.n && peer_text(pg, peer, sizeof(peer)) &&
	       strlist_has(&pg->h->cfg->trusted_proxies, peer);
}

void web_client_addr(struct page *pg, char *out, size_t outlen)
{
	if (!peer_text(pg, out, outlen))
		snprintf(out, outlen, "?");
	const char *xff = from_trusted_proxy(pg) ? http_header(pg->c, "X-Forwarded-For") : NULL;
	if (xff && *xff) {
		/* The proxy appends the address it saw: the last entry. */
		const char *last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		while (*last == ' ')
			last++;
		snprintf(out, outlen, "%.*s", (int)strcspn(last, " "), last);
	}
}

bool web_over_tls(struct page *pg)
{
	if (strncasecmp(pg->h->cfg->base_url, "https:", 6) == 0)
		return true;
	const char *proto = from_trusted_proxy(pg) ? http_header(pg->c, "X-Forwarded-Proto") : NULL;
	return proto && strcasecmp(proto, "https") == 0;
}

/* ---- signing in ---------------------------------------------------------------------- */

/* A sign-in by user and password, hashed on a work thread. */
struct login_job {
	const struct config *cfg;
	char user[AUTH_NAME_LEN];
	char *password;
	enum role role; /* the answer: ROLE_NONE when refused */
	char name[AUTH_NAME_LEN];
};

static void login_job_free(void *p)
{
	struct login_job *j = p;
	if (!j)
		return;
	if (j->password) {
		sodium_memzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j);
}

/* On a work thread: one Argon2id verification, known user or not. */
static void login_verify(void *ud, struct http_req *r)
{
	struct login_job *j = r->state;
	(void)ud;
	static const char dummy[crypto_pwhash_STRBYTES] =
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
		"3Wg8/pOajlDpjkdkKTzmWbcbxSQk5SUv9J0GKF5qTsE";
	const struct config_user *u = NULL;
	for (size_t i = 0; i < j->cfg->nusers; i++)
		if (strcmp(j->cfg->users[i].name, j->user) == 0)
			u = &j->cfg->users[i];
	int ok = crypto_pwhash_str_verify(u ? u->hash : dummy, j->password, strlen(j->password));
	if (u && ok == 0) {
		j->role = u->role;
		snprintf(j->name, sizeof(j->name), "%s", u->name);
	}
}

static enum MHD_Result login_open(struct page *pg, enum role role, const char *name)
{
	struct web *h = pg->h;
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
	char cookie[192];
	snprintf(cookie, sizeof(cookie),
		 SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", sid, SESSION_S,
		 web_over_tls(pg) ? "; Secure" : "");
	sodium_memzero(sid, sizeof(sid));
	log_info("dashboard: %s signed in (%s)", name, role_name(role));
	return web_redirect(pg, "/", cookie);
}

enum MHD_Result web_login_post(struct page *pg)
{
	struct web *h = pg->h;
	int64_t now = time_now_ms();
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char akey[16], ukey[16];
	web_client_addr(pg, addr, sizeof(addr));
	throttle_key("a", addr, akey);

	if (http_resumed(pg->r) && !pg->r->state) { /* a refused attempt, after its pause */
		const char *user = web_field(pg, "user");
		int64_t wait = throttle_peek(akey, ADDR_ATTEMPTS, now);
		if (user && *user) {
			throttle_key("u", user, ukey);
			int64_t w = throttle_peek(ukey, USER_ATTEMPTS, now);
			wait = w > wait ? w : wait;
		}
		return login_refused(pg, MHD_HTTP_TOO_MANY_REQUESTS, wait);
	}
	if (http_resumed(pg->r)) { /* the password was verified on a work thread */
		struct login_job *j = pg->r->state;
		throttle_key("u", j->user, ukey);
		throttle_result(akey, j->role != ROLE_NONE, now);
		throttle_result(ukey, j->role != ROLE_NONE, now);
		return login_open(pg, j->role, j->name);
	}

	const char *token = web_field(pg, "token"), *user = web_field(pg, "user"),
		   *password = web_field(pg, "password");
	int64_t wait = throttle_attempt(akey, ADDR_ATTEMPTS, now);
	if (wait > 0)
		return http_delay(pg->c, pg->r, THROTTLE_PAUSE_S) == 0
			       ? MHD_YES
			       : login_refused(pg, MHD_HTTP_TOO_MANY_REQUESTS, wait);
	if (token && *token) {
		/* A token is checked by its SHA-256: cheap, here. */
		char name[AUTH_NAME_LEN] = "";
		enum role role = auth_check(h->auth, token, strlen(token), name);
		throttle_result(akey, role != ROLE_NONE, now);
		return login_open(pg, role, name);
	}
	if (!user || !*user || !password || strlen(user) >= AUTH_NAME_LEN) {
		throttle_result(akey, false, now);
		return web_login_page(pg, MHD_HTTP_UNAUTHORIZED, true);
	}
	throttle_key("u", user, ukey);
	if ((wait = throttle_attempt(ukey, USER_ATTEMPTS, now)) > 0)
		return http_delay(pg->c, pg->r, THROTTLE_PAUSE_S) == 0
			       ? MHD_YES
			       : login_refused(pg, MHD_HTTP_TOO_MANY_REQUESTS, wait);
	struct login_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->password = strdup(password))) {
		free(j);
		return web_error(pg, MHD_HTTP_SERVICE_UNAVAILABLE, "e_store", NULL);
	}
	j->cfg = h->cfg;
	snprintf(j->user, sizeof(j->user), "%s", user);
	pg->r->state = j;
	pg->r->state_free = login_job_free;
	int rc = http_defer(pg->c, pg->r, login_verify, NULL, LOGIN_MAX_HASHING);
	if (rc == 0)
		return MHD_YES; /* answered when the work is done */
	return login_refused(pg, MHD_HTTP_SERVICE_UNAVAILABLE, 1000);
}

enum MHD_Result web_logout_post(struct page *pg)
{
	char err[STORE_ERRLEN];
	memo_forget(pg->sid_hash);
	if (store_session_delete(pg->h->store, pg->sid_hash, err) < 0)
		log_error("session: %s", err);
	return web_redirect(pg, "/login",
			    web_over_tls(pg) ? SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
					     : SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

/* The form's csrf field is the session's token (compared in constant time). */
bool web_csrf_ok(struct page *pg)
{
	const char *v = web_field(pg, "csrf");
	size_t n = strlen(pg->s.csrf);
	return v && n > 0 && strlen(v) == n && sodium_memcmp(v, pg->s.csrf, n) == 0;
}
