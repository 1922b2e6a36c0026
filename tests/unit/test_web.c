/* test_web.c - form decoding, sign-in and CSRF, through the real router.
 *
 * The dashboard's forms are decoded by libmicrohttpd's post processor,
 * which needs a real connection; so this test runs the real server in
 * process (http/ with web/ registered, on 127.0.0.1 port 0) and speaks
 * HTTP/1.1 to it over a socket.  One request per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "http/auth.h"
#include "http/http.h"
#include "model/config.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "web/web.h"

#define SECRET "a+b c/%&=\xd9\x85" /* needs every kind of form escape */
#define PASSWORD "pass word+%"

static struct {
	char dir[64], cfg_path[96], db_path[96];
	struct config c;
	struct store *s;
	struct auth *a;
	struct metrics *m;
	struct web w;
	struct http *h;
	uint16_t port;
} srv;

struct answer {
	unsigned status;
	char location[128], cookie[256];
	char *body;
};

/* One request; the whole answer (the server closes: Connection: close). */
static struct answer request(const char *method, const char *path, const char *cookie,
			     const char *type, const char *body)
{
	struct answer a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(srv.port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
	      strerror(errno));
	struct buf q = {0};
	buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path);
	if (cookie)
		buf_printf(&q, "Cookie: %s\r\n", cookie);
	if (body)
		buf_printf(&q, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, strlen(body));
	buf_printf(&q, "\r\n%s", body ? body : "");
	CHECK(write(fd, q.p, q.len) == (ssize_t)q.len, "write");
	buf_free(&q);
	struct buf r = {0};
	char chunk[4096];
	for (ssize_t n; (n = read(fd, chunk, sizeof(chunk))) > 0;)
		buf_add(&r, chunk, (size_t)n);
	close(fd);
	char *text = buf_take(&r, NULL);
	CHECK(text && sscanf(text, "HTTP/1.1 %u", &a.status) == 1, "no status line");
	if (!text)
		return a;
	char *end = strstr(text, "\r\n\r\n");
	for (char *line = strstr(text, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Location: ", 10) == 0)
			sscanf(line + 12, "%127[^\r]", a.location);
		if (strncasecmp(line + 2, "Set-Cookie: ", 12) == 0 && !a.cookie[0])
			sscanf(line + 14, "%255[^;\r]", a.cookie);
	}
	a.body = strdup(end ? end + 4 : "");
	free(text);
	return a;
}

static void start(void)
{
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/mizan-test-web-XXXXXX");
	CHECK(mkdtemp(srv.dir) != NULL, "mkdtemp");
	snprintf(srv.cfg_path, sizeof(srv.cfg_path), "%s/mizan.lua", srv.dir);
	snprintf(srv.db_path, sizeof(srv.db_path), "%s/mizan.db", srv.dir);
	char hash[crypto_pwhash_STRBYTES];
	CHECK(crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD), crypto_pwhash_OPSLIMIT_MIN,
				crypto_pwhash_MEMLIMIT_MIN) == 0,
	      "pwhash");
	FILE *f = fopen(srv.cfg_path, "w");
	CHECK(f != NULL, "config");
	fprintf(f,
		"server.listen = \"127.0.0.1:0\"\n"
		"server.dashboards = \"%s/dashboards\"\n"
		"charts.gnuplot = \"\"\n"
		"auth.users = { { name = \"huda\", role = \"editor\", password = \"%s\" } }\n"
		"goal { id = \"G1\", title_ar = \"هدف\", title_en = \"Goal\" }\n"
		"kpi { id = \"k1\", goal = \"G1\", title_ar = \"مؤشر\", title_en = \"KPI\", unit = \"%%\",\n"
		"      owner = { name = \"O\", email = \"o@example.org\", lang = \"en\" },\n"
		"      target = { quarter = 70, year = 70 } }\n",
		MIZAN_SOURCE_ROOT, hash);
	fclose(f);
	char err[512];
	CHECK(config_load(&srv.c, srv.cfg_path, err, sizeof(err)) == 0, "%s", err);
	CHECK(store_open(&srv.s, srv.db_path, NULL, err) == 0, "%s", err);
	unsigned char th[32];
	auth_hash(SECRET, strlen(SECRET), th);
	CHECK(store_token_add(srv.s, "ed", ROLE_EDITOR, th, err) == 0, "%s", err);
	auth_hash("viewer-secret", 13, th);
	CHECK(store_token_add(srv.s, "vi", ROLE_VIEWER, th, err) == 0, "%s", err);
	CHECK(auth_new(&srv.a, &srv.c, srv.s) == 0, "auth");
	CHECK(metrics_new(&srv.m) == 0, "metrics");
	srv.w = (struct web){.cfg = &srv.c, .store = srv.s, .auth = srv.a};
	CHECK(web_init(&srv.w) == 0, "web_init");
	CHECK(http_new(&srv.h, &srv.c, srv.a, srv.m, err, sizeof(err)) == 0, "%s", err);
	CHECK(web_register(srv.h, &srv.w) == 0, "web_register");
	CHECK(http_start(srv.h, err, sizeof(err)) == 0, "%s", err);
	srv.port = http_port(srv.h);
}

static void stop(void)
{
	http_stop(srv.h);
	web_free();
	auth_free(srv.a);
	metrics_free(srv.m);
	store_close(srv.s);
	config_free(&srv.c);
	char p[128];
	const char *files[] = {"mizan.lua", "mizan.db", "mizan.db-wal", "mizan.db-shm"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", srv.dir, files[i]);
		unlink(p);
	}
	rmdir(srv.dir);
}

#define FORM "application/x-www-form-urlencoded"

/* Signs in with a form body; the session cookie, or "" when refused. */
static struct answer sign_in(const char *body)
{
	return request("POST", "/login", NULL, FORM, body);
}

/* The value of the first hidden csrf input of a page. */
static void csrf_of(const char *page, char *out, size_t n)
{
	out[0] = '\0';
	const char *p = page ? strstr(page, "name=\"csrf\" value=\"") : NULL;
	if (p)
		snprintf(out, n, "%.*s", (int)strcspn(p + 19, "\""), p + 19);
}

/* Form decoding: '+' is a space, %XX any byte (UTF-8 kept), '&' and '='
 * inside a value escaped; a field that is not UTF-8, holds a NUL or ends in
 * a cut escape makes the whole form invalid. */
static void test_form_decoding(void)
{
	/* SECRET = "a+b c/%&=" then U+0645 */
	struct answer a = sign_in("token=a%2Bb+c%2F%25%26%3D%D9%85");
	CHECK_INT(a.status, 303);
	CHECK_STR(a.location, "/");
	CHECK(strncmp(a.cookie, "mizan_session=", 14) == 0 && strlen(a.cookie) > 30, "cookie '%s'",
	      a.cookie);
	free(a.body);

	/* The same secret with the escapes decoded wrongly is another token. */
	a = sign_in("token=a+b+c%2F%25%26%3D%D9%85");
	CHECK_INT(a.status, 401);
	free(a.body);

	const char *bad[] = {
		"token=%D9",            /* a UTF-8 sequence cut short */
		"token=abc%00def",      /* a NUL byte */
		"token=%FF%FE",         /* not UTF-8 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = sign_in(bad[i]);
		CHECK(a.status == 400, "'%s' gave %u, want 400", bad[i], a.status);
		CHECK(a.cookie[0] == '\0', "'%s' signed in", bad[i]);
		free(a.body);
	}

	/* Not a form at all. */
	a = request("POST", "/login", NULL, "application/json", "{\"token\":\"x\"}");
	CHECK_INT(a.status, 415);
	free(a.body);
}

/* Sign-in with a user's password (Argon2id), right and wrong; a viewer's
 * token signs in too. */
static void test_sign_in(void)
{
	struct answer a = sign_in("user=huda&password=pass+word%2B%25");
	CHECK_INT(a.status, 303);
	CHECK(a.cookie[0] != '\0', "no session cookie");
	free(a.body);

	a = sign_in("user=huda&password=pass+word");
	CHECK_INT(a.status, 401);
	CHECK(a.cookie[0] == '\0', "a wrong password signed in");
	free(a.body);

	a = sign_in("user=nobody&password=pass+word%2B%25");
	CHECK_INT(a.status, 401);
	free(a.body);

	a = sign_in("token=viewer-secret");
	CHECK_INT(a.status, 303);
	free(a.body);

	/* Without a session, a page sends the browser to sign in. */
	a = request("GET", "/edit", NULL, NULL, NULL);
	CHECK_INT(a.status, 303);
	CHECK_STR(a.location, "/login");
	free(a.body);
}

/* Every form post needs the session's own CSRF token; a missing or another
 * session's token is refused and changes nothing. */
static void test_csrf(void)
{
	struct answer one = sign_in("user=huda&password=pass+word%2B%25");
	struct answer two = sign_in("token=a%2Bb+c%2F%25%26%3D%D9%85");
	CHECK(one.cookie[0] && two.cookie[0], "two sessions");
	struct answer page1 = request("GET", "/edit", one.cookie, NULL, NULL);
	struct answer page2 = request("GET", "/edit", two.cookie, NULL, NULL);
	CHECK_INT(page1.status, 200);
	char csrf1[128], csrf2[128];
	csrf_of(page1.body, csrf1, sizeof(csrf1));
	csrf_of(page2.body, csrf2, sizeof(csrf2));
	CHECK(strlen(csrf1) >= 32 && strlen(csrf2) >= 32, "csrf tokens '%s' '%s'", csrf1, csrf2);
	CHECK(strcmp(csrf1, csrf2) != 0, "two sessions share a csrf token");

	char body[512];
	const char *notes = "goal=G1&period=2026-Q1&difficulties=d&solutions=s";
	struct answer a = request("POST", "/edit/notes", one.cookie, FORM, notes);
	CHECK_INT(a.status, 403);
	free(a.body);
	snprintf(body, sizeof(body), "%s&csrf=%s", notes, csrf2); /* the other session's */
	a = request("POST", "/edit/notes", one.cookie, FORM, body);
	CHECK_INT(a.status, 403);
	free(a.body);
	snprintf(body, sizeof(body), "%s&csrf=%.*sX", notes, (int)strlen(csrf1) - 1, csrf1);
	a = request("POST", "/edit/notes", one.cookie, FORM, body);
	CHECK_INT(a.status, 403);
	free(a.body);

	/* Nothing was stored by the forged posts: the report has no note yet. */
	int64_t before = store_data_version(srv.s);
	snprintf(body, sizeof(body), "%s&csrf=%s", notes, csrf1);
	a = request("POST", "/edit/notes", one.cookie, FORM, body);
	CHECK_INT(a.status, 303);
	free(a.body);
	CHECK(store_data_version(srv.s) > before, "the note was not stored");

	/* Sign-out needs the token too, and ends the session. */
	a = request("POST", "/logout", one.cookie, FORM, "csrf=nope");
	CHECK_INT(a.status, 403);
	free(a.body);
	snprintf(body, sizeof(body), "csrf=%s", csrf1);
	a = request("POST", "/logout", one.cookie, FORM, body);
	CHECK_INT(a.status, 303);
	CHECK_STR(a.location, "/login");
	free(a.body);
	sleep(3); /* past the sessions' two-second memo */
	a = request("GET", "/edit", one.cookie, NULL, NULL);
	CHECK_INT(a.status, 303);
	CHECK_STR(a.location, "/login");
	free(a.body);
	free(one.body);
	free(two.body);
	free(page1.body);
	free(page2.body);
}

/* The language link keeps the page it is on, never another site: a path
 * of "//host" is not a protocol-relative link. */
static void test_lang_link(void)
{
	struct answer in = sign_in("token=viewer-secret");
	const char *paths[] = {"//evil.example/x", "///evil.example", "/%2F%2Fevil.example"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct answer a = request("GET", paths[i], in.cookie, NULL, NULL);
		const char *href = a.body ? strstr(a.body, "id=\"lang-switch\" href=\"") : NULL;
		CHECK(href != NULL, "%s: no language link (status %u)", paths[i], a.status);
		href = href ? href + strlen("id=\"lang-switch\" href=\"") : "";
		CHECK(href[0] == '/' && href[1] != '/', "%s: the language link is '%.40s'", paths[i],
		      href);
		free(a.body);
	}
	free(in.body);
}

static void run_all(void)
{
	CHECK(auth_init() == 0, "auth_init");
	start();
	test_form_decoding();
	test_sign_in();
	test_csrf();
	test_lang_link();
	stop();
}

TEST_MAIN(run_all)
