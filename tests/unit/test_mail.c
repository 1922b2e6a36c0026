/* test_mail.c - composing messages (headers, RFC 2047, MIME) and the outbox's bookkeeping. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/config.h"
#include "harness.h"
#include "notify/mail.h"
#include "notify/outbox.h"
#include "store/store.h"

static const char *const arabic_subject = "تنبيه: مستوى رضا المغتربين";
static const char *const arabic_text = "انخفض مستوى رضا المغتربين إلى ٦٢٪ (الهدف ٨٠٪).\nالتفاصيل: https://mizan.example/kpi/sat";
static const char *const arabic_html =
	"<html dir=\"rtl\" lang=\"ar\"><body><p>انخفض مستوى رضا المغتربين</p>"
	"<img src=\"cid:chart1@mizan\"></body></html>";

/* ---- helpers: a small RFC 5322 / MIME / RFC 2047 reader ------------------------------ */

/* base64 (line breaks ignored) -> malloc'd bytes with a NUL after them; NULL if invalid. */
static unsigned char *unbase64(const char *s, size_t n, size_t *out_len)
{
	unsigned char *bin = malloc(n + 1);
	size_t len = 0;
	if (!bin)
		return NULL;
	if (sodium_base642bin(bin, n + 1, s, n, "\r\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
	    0) {
		free(bin);
		return NULL;
	}
	bin[len] = '\0';
	*out_len = len;
	return bin;
}

/* The header block (up to the blank line), malloc'd. */
static char *header_block(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	if (!end)
		return NULL;
	size_t n = (size_t)(end - msg) + 2;
	char *h = malloc(n + 1);
	memcpy(h, msg, n);
	h[n] = '\0';
	return h;
}

/* The unfolded value of header `name` in a header block (first match), malloc'd;
 * *count gets how many headers have that name. */
static char *header_value(const char *block, const char *name, int *count)
{
	char *value = NULL;
	size_t nl = strlen(name);
	int n = 0;
	for (const char *line = block; *line;) {
		const char *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			n++;
			if (!value) {
				/* the value, with continuation lines, CRLFs removed */
				size_t cap = strlen(line) + 1, o = 0;
				value = malloc(cap);
				const char *p = line + nl + 1;
				for (;;) {
					const char *e = strstr(p, "\r\n");
					memcpy(value + o, p, (size_t)(e - p));
					o += (size_t)(e - p);
					if (e[2] != ' ' && e[2] != '\t')
						break;
					p = e + 2;
				}
				value[o] = '\0';
			}
		}
		line = eol + 2;
	}
	if (count)
		*count = n;
	return value;
}

/* Decodes RFC 2047 B/UTF-8 encoded-words in an unfolded value (whitespace
 * between adjacent encoded-words dropped; a leading space trimmed). */
static char *decode_2047(const char *v)
{
	size_t cap = strlen(v) + 1, o = 0;
	char *out = malloc(cap);
	int prev_encoded = 0;
	while (*v == ' ')
		v++;
	while (*v) {
		size_t ws = strspn(v, " \t");
		const char *tok = v + ws;
		size_t tl = strcspn(tok, " \t");
		int encoded = tl > 12 && strncmp(tok, "=?UTF-8?B?", 10) == 0 &&
			      strncmp(tok + tl - 2, "?=", 2) == 0;
		if (!(encoded && prev_encoded)) {
			memcpy(out + o, v, ws);
			o += ws;
		}
		if (encoded) {
			size_t bl;
			unsigned char *bin = unbase64(tok + 10, tl - 12, &bl);
			if (bin) {
				memcpy(out + o, bin, bl);
				o += bl;
				free(bin);
			}
		} else {
			memcpy(out + o, tok, tl);
			o += tl;
		}
		prev_encoded = encoded;
		v = tok + tl;
	}
	out[o] = '\0';
	return out;
}

/* Every header line is "Name: value" or a continuation starting with a
 * space, at most 78 characters, and none is a Bcc/Cc. */
static void check_header_lines(const char *block, const char *what)
{
	int lines = 0;
	for (const char *line = block; *line;) {
		const char *eol = strstr(line, "\r\n");
		CHECK(eol != NULL, "%s: header block ends with CRLF", what);
		if (!eol)
			break;
		size_t len = (size_t)(eol - line);
		CHECK(len <= 78, "%s: header line of %zu characters: %.*s", what, len, (int)len, line);
		CHECK(memchr(line, '\r', len) == NULL && memchr(line, '\n', len) == NULL,
		      "%s: a bare CR or LF in a header line", what);
		if (line[0] == ' ' || line[0] == '\t') {
			CHECK(lines > 0, "%s: a continuation first", what);
			CHECK(strspn(line, " \t") < len, "%s: a blank continuation line", what);
		} else {
			size_t name = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");
			CHECK(name > 0 && line[name] == ':', "%s: not a header line: %.*s", what,
			      (int)len, line);
		}
		CHECK(strncasecmp(line, "Bcc:", 4) != 0 && strncasecmp(line, "Cc:", 3) != 0,
		      "%s: an injected header: %.*s", what, (int)len, line);
		for (size_t i = 0; i < len; i++)
			CHECK((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f,
			      "%s: a non-ASCII byte in the header: %.*s", what, (int)len, line);
		lines++;
		line = eol + 2;
	}
}

/* Every encoded-word in the header block is at most 75 characters. */
static void check_encoded_words(const char *block, const char *what)
{
	for (const char *p = block; (p = strstr(p, "=?UTF-8?B?")) != NULL;) {
		const char *end = strstr(p + 10, "?=");
		CHECK(end != NULL, "%s: an unterminated encoded-word", what);
		if (!end)
			return;
		size_t len = (size_t)(end + 2 - p);
		CHECK(len <= 75, "%s: an encoded-word of %zu characters", what, len);
		p = end + 2;
	}
}

/* The boundary parameter of a Content-Type value, malloc'd. */
static char *boundary_of(const char *ctype)
{
	const char *b = strstr(ctype, "boundary=\"");
	if (!b)
		return NULL;
	b += 10;
	const char *e = strchr(b, '"');
	return e ? strndup(b, (size_t)(e - b)) : NULL;
}

/* The body of the part of a multipart body whose headers contain `marker`,
 * as it stands in the message (still encoded), malloc'd.  NULL when not
 * found. */
static char *raw_part(const char *msg, const char *boundary, const char *marker)
{
	char delim[128];
	snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	for (const char *p = strstr(msg, delim); p; p = strstr(p + 1, delim)) {
		const char *hdr = p + strlen(delim);
		if (strncmp(hdr, "--", 2) == 0)
			break;
		const char *body = strstr(hdr, "\r\n\r\n");
		if (!body)
			return NULL;
		if (!memmem(hdr, (size_t)(body - hdr), marker, strlen(marker)))
			continue;
		body += 4;
		/* The CRLF before the delimiter is the one that ends the last
		 * base64 line: kept, so that every line here ends with one. */
		const char *end = strstr(body, delim);
		return end ? strndup(body, (size_t)(end - body) + 2) : NULL;
	}
	return NULL;
}

/* The same part base64-decoded, its lines checked to be at most 76
 * characters.  NULL when not found. */
static unsigned char *part_body(const char *msg, const char *boundary, const char *marker,
				size_t *len)
{
	char *raw = raw_part(msg, boundary, marker);
	if (!raw)
		return NULL;
	for (const char *l = raw; *l;) {
		const char *e = strstr(l, "\r\n");
		CHECK(e && (size_t)(e - l) <= 76, "a base64 line over 76 characters");
		if (!e)
			break;
		l = e + 2;
	}
	unsigned char *bin = unbase64(raw, strlen(raw), len);
	free(raw);
	return bin;
}

static struct mail_message sample(void)
{
	return (struct mail_message){
		.from_addr = "mizan@example.org",
		.from_name = "ميزان",
		.to_addr = "owner@example.org",
		.to_name = "سارة العتيبي",
		.subject = arabic_subject,
		.text = arabic_text,
		.html = arabic_html,
		.message_id_domain = "mizan.localhost",
		.date_ms = 1700000000123,
	};
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_arabic(void)
{
	struct mail_message m = sample();
	size_t len = 0;
	char *msg = mail_format(&m, &len);
	CHECK(msg != NULL, "formatted");
	if (!msg)
		return;
	CHECK_INT(strlen(msg), len);
	char *h = header_block(msg);
	check_header_lines(h, "arabic");
	check_encoded_words(h, "arabic");

	int n;
	char *subj = header_value(h, "Subject", &n);
	CHECK_INT(n, 1);
	CHECK(strstr(subj, "=?UTF-8?B?") != NULL, "the subject is encoded: %s", subj);
	char *dec = decode_2047(subj);
	CHECK_STR(dec, arabic_subject);
	free(dec);
	free(subj);

	char *from = header_value(h, "From", &n);
	CHECK_INT(n, 1);
	dec = decode_2047(from);
	CHECK_STR(dec, "ميزان <mizan@example.org>");
	free(dec);
	free(from);
	char *to = header_value(h, "To", &n);
	dec = decode_2047(to);
	CHECK_STR(dec, "سارة العتيبي <owner@example.org>");
	free(dec);
	free(to);

	char *date = header_value(h, "Date", &n);
	CHECK_INT(n, 1);
	CHECK_STR(date, " Tue, 14 Nov 2023 22:13:20 +0000");
	free(date);
	char *mid = header_value(h, "Message-ID", &n);
	CHECK_INT(n, 1);
	CHECK(mid && mid[1] == '<' && strstr(mid, "@mizan.localhost>") && strlen(mid) > 30,
	      "Message-ID: %s", mid);
	free(mid);
	char *mv = header_value(h, "MIME-Version", &n);
	CHECK_STR(mv, " 1.0");
	free(mv);

	char *ct = header_value(h, "Content-Type", &n);
	CHECK_INT(n, 1);
	CHECK(strstr(ct, "multipart/alternative") != NULL, "Content-Type: %s", ct);
	char *bd = boundary_of(ct);
	CHECK(bd != NULL, "a boundary");
	if (bd) {
		size_t bl;
		unsigned char *t = part_body(msg, bd, "text/plain; charset=UTF-8", &bl);
		CHECK(t != NULL, "a text/plain part");
		CHECK_STR((char *)t, arabic_text);
		free(t);
		unsigned char *ht = part_body(msg, bd, "text/html; charset=UTF-8", &bl);
		CHECK(ht != NULL, "a text/html part");
		CHECK_STR((char *)ht, arabic_html);
		free(ht);
		char end[128];
		snprintf(end, sizeof(end), "\r\n--%s--\r\n", bd);
		CHECK(len > strlen(end) && strcmp(msg + len - strlen(end), end) == 0,
		      "ends with the closing boundary");
		CHECK(strstr(msg, "Content-Transfer-Encoding: base64") != NULL, "base64");
		CHECK(strstr(msg, "multipart/related") == NULL, "no related part without an image");
	}
	free(bd);
	free(ct);
	/* only CRLF line ends */
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) {
			CHECK(0, "a bare LF at %zu", i);
			break;
		}
		if (msg[i] == '\r' && msg[i + 1] != '\n') {
			CHECK(0, "a bare CR at %zu", i);
			break;
		}
	}

	/* a second message gets a different Message-ID and boundary */
	size_t len2;
	char *msg2 = mail_format(&m, &len2);
	char *h2 = header_block(msg2);
	char *mid1 = header_value(h, "Message-ID", NULL), *mid2 = header_value(h2, "Message-ID", NULL);
	CHECK(strcmp(mid1, mid2) != 0, "Message-IDs differ");
	free(mid1);
	free(mid2);
	free(h2);
	free(msg2);
	free(h);
	free(msg);
}

static void test_injection(void)
{
	struct mail_message m = sample();
	m.subject = "Alert\r\nBcc: evil@example.com";
	m.from_name = "Mizan\r\nBcc: evil@example.com";
	m.to_name = "Owner\nCc: evil2@example.com\r\n\r\nbody";
	size_t len;
	char *msg = mail_format(&m, &len);
	CHECK(msg != NULL, "formatted");
	if (!msg)
		return;
	char *h = header_block(msg);
	check_header_lines(h, "injection");
	int n;
	static const char *const once[] = {"From", "To", "Subject", "Date", "Message-ID",
					   "MIME-Version", "Content-Type"};
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		free(header_value(h, once[i], &n));
		CHECK(n == 1, "%s appears %d times", once[i], n);
	}
	free(header_value(h, "Bcc", &n));
	CHECK_INT(n, 0);
	char *subj = header_value(h, "Subject", NULL);
	char *dec = decode_2047(subj);
	CHECK_STR(dec, "Alert Bcc: evil@example.com");
	free(dec);
	free(subj);
	free(h);
	free(msg);

	/* other control characters, invalid UTF-8, tabs */
	m = sample();
	m.subject = "a\tb\x01" "c\x7f" "d\xc2\x85" "e\xff" "f";
	msg = mail_format(&m, &len);
	h = header_block(msg);
	check_header_lines(h, "controls");
	subj = header_value(h, "Subject", NULL);
	dec = decode_2047(subj);
	CHECK_STR(dec, "a b c d e\xef\xbf\xbd" "f");
	free(dec);
	free(subj);
	free(h);
	free(msg);

	/* something that looks like an encoded-word is encoded itself */
	m.subject = "=?UTF-8?B?ZXZpbA==?=";
	msg = mail_format(&m, &len);
	h = header_block(msg);
	subj = header_value(h, "Subject", NULL);
	dec = decode_2047(subj);
	CHECK_STR(dec, "=?UTF-8?B?ZXZpbA==?=");
	free(dec);
	free(subj);
	free(h);
	free(msg);
}

static void test_long(void)
{
	char subject[4096] = "";
	for (int i = 0; i < 20; i++)
		strcat(subject, i % 2 ? "مستوى رضا المغتربين في البعثات " : "تنبيه عاجل ");
	struct mail_message m = sample();
	m.subject = subject;
	size_t len;
	char *msg = mail_format(&m, &len);
	char *h = header_block(msg);
	check_header_lines(h, "long arabic");
	check_encoded_words(h, "long arabic");
	char *subj = header_value(h, "Subject", NULL);
	char *dec = decode_2047(subj);
	/* the cleaned subject: no trailing space */
	subject[strlen(subject) - 1] = '\0';
	CHECK_STR(dec, subject);
	free(dec);
	free(subj);
	free(h);
	free(msg);

	/* plain ASCII: folded at spaces, unfolds to the same text */
	char ascii[2048] = "";
	for (int i = 0; i < 40; i++)
		strcat(ascii, "Expatriate satisfaction fell ");
	ascii[strlen(ascii) - 1] = '\0';
	m.subject = ascii;
	m.from_name = "Mizan";
	m.to_name = NULL;
	msg = mail_format(&m, &len);
	h = header_block(msg);
	check_header_lines(h, "long ascii");
	subj = header_value(h, "Subject", NULL);
	CHECK(strstr(subj, "=?") == NULL, "plain ASCII stays plain");
	CHECK_STR(subj + 1, ascii);
	free(subj);
	char *from = header_value(h, "From", NULL);
	CHECK_STR(from, " Mizan <mizan@example.org>");
	free(from);
	char *to = header_value(h, "To", NULL);
	CHECK_STR(to, " owner@example.org");
	free(to);
	free(h);
	free(msg);

	/* one very long word cannot be folded: encoded instead */
	char word[300];
	memset(word, 'x', sizeof(word) - 1);
	word[sizeof(word) - 1] = '\0';
	m.subject = word;
	msg = mail_format(&m, &len);
	h = header_block(msg);
	check_header_lines(h, "long word");
	check_encoded_words(h, "long word");
	subj = header_value(h, "Subject", NULL);
	dec = decode_2047(subj);
	CHECK_STR(dec, word);
	free(dec);
	free(subj);
	free(h);
	free(msg);

	/* an empty subject and bodies */
	m = sample();
	m.subject = "";
	m.text = "";
	m.html = NULL;
	msg = mail_format(&m, &len);
	CHECK(msg != NULL, "empty parts");
	h = header_block(msg);
	check_header_lines(h, "empty");
	free(h);
	free(msg);
}

static void test_image(void)
{
	unsigned char png[300];
	for (size_t i = 0; i < sizeof(png); i++)
		png[i] = (unsigned char)(i * 7 + 3);
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	struct mail_part_image img = {"chart1@mizan", png, sizeof(png)};
	struct mail_message m = sample();
	m.image = &img;
	size_t len;
	char *msg = mail_format(&m, &len);
	CHECK(msg != NULL, "formatted");
	if (!msg)
		return;
	char *h = header_block(msg);
	char *ct = header_value(h, "Content-Type", NULL);
	char *alt = boundary_of(ct);
	size_t bl;
	unsigned char *t = part_body(msg, alt, "text/plain", &bl);
	CHECK_STR((char *)t, arabic_text);
	free(t);
	/* the related part's own boundary */
	const char *rel = strstr(msg, "multipart/related");
	CHECK(rel != NULL, "a multipart/related part");
	char *rb = rel ? boundary_of(rel) : NULL;
	CHECK(rb != NULL && strcmp(rb, alt) != 0, "its own boundary");
	if (rb) {
		unsigned char *ht = part_body(msg, rb, "text/html", &bl);
		CHECK_STR((char *)ht, arabic_html);
		free(ht);
		unsigned char *p = part_body(msg, rb, "Content-ID: <chart1@mizan>", &bl);
		CHECK(p && bl == sizeof(png) && memcmp(p, png, bl) == 0, "the PNG decodes back");
		free(p);
		CHECK(strstr(msg, "Content-Type: image/png\r\n") != NULL, "image/png");
		CHECK(strstr(msg, "Content-Disposition: inline") != NULL, "inline");
	}
	free(rb);
	free(alt);
	free(ct);
	free(h);
	free(msg);

	img.cid = "bad cid>";
	CHECK(mail_format(&m, &len) == NULL, "a bad cid is refused");
}

/* The raw text/plain part of a message whose text is `text`, malloc'd. */
static char *encoded_text(const char *text)
{
	struct mail_message m = sample();
	m.text = text;
	size_t len;
	char *msg = mail_format(&m, &len);
	CHECK(msg != NULL, "formatted");
	if (!msg)
		return NULL;
	char *h = header_block(msg);
	char *ct = header_value(h, "Content-Type", NULL);
	char *alt = boundary_of(ct);
	char *raw = alt ? raw_part(msg, alt, "text/plain") : NULL;
	CHECK(raw != NULL, "a text/plain part");
	free(alt);
	free(ct);
	free(h);
	free(msg);
	return raw;
}

/* A body is base64 in lines of exactly 76 characters but the last, each
 * ending with CRLF, nothing after the last. */
static void test_base64_lines(void)
{
	/* 1000 bytes: 17 lines of 57 bytes and one of 31; 1000 is not a
	 * multiple of 3, so the last line ends in "==". */
	char text[1001];
	for (int i = 0; i < 1000; i++)
		text[i] = "abcdefghijklmnopqrstuvwxyz0123456789 \n"[i % 38];
	text[1000] = '\0';
	char *raw = encoded_text(text);
	if (raw) {
		int lines = 0;
		size_t last = 0;
		for (const char *l = raw; *l; lines++) {
			const char *e = strstr(l, "\r\n");
			CHECK(e != NULL, "line %d ends with CRLF", lines + 1);
			if (!e)
				break;
			last = (size_t)(e - l);
			if (e[2])
				CHECK_INT(last, 76);
			l = e + 2;
		}
		CHECK_INT(lines, 18);
		CHECK_INT(last, 44); /* 31 bytes: 10 groups of 3 and one of 1 */
		size_t n = strlen(raw);
		CHECK(n > 4 && strcmp(raw + n - 4, "==\r\n") == 0, "padding, then CRLF: ...%s",
		      raw + (n > 8 ? n - 8 : 0));
		size_t bl = 0;
		unsigned char *bin = unbase64(raw, n, &bl);
		CHECK(bin && bl == 1000 && memcmp(bin, text, 1000) == 0, "decodes back");
		free(bin);
	}
	free(raw);

	/* 114 bytes: exactly two whole lines, and no empty line after them. */
	char two[115];
	memset(two, 'm', 114);
	two[114] = '\0';
	raw = encoded_text(two);
	if (raw) {
		CHECK_INT(strlen(raw), 2 * 78);
		CHECK(strstr(raw, "\r\n") == raw + 76, "the first line is 76 characters");
	}
	free(raw);

	/* Short bodies, against their known encodings: 5, 4 and 6 bytes (two,
	 * one and no padding characters), and nothing at all. */
	static const struct {
		const char *text, *want;
	} known[] = {
		{"Mizan", "TWl6YW4=\r\n"},
		{"abcd", "YWJjZA==\r\n"},
		{"Mizan!", "TWl6YW4h\r\n"},
		{"", "\r\n"},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		raw = encoded_text(known[i].text);
		CHECK_STR(raw, known[i].want);
		free(raw);
	}
}

static void test_addresses(void)
{
	static const char *const good[] = {"a@b", "first.last@example.org", "o'brien+kpi@mail.example.com",
					   "x_y-z@sub-domain.example"};
	static const char *const bad[] = {"",           "a",          "a@",         "@b",
					  "a@b@c",      "a b@c",      "a@b c",      "<a@b>",
					  "\"a\"@b",    "a\r\n@b",    "a@b\r\nBcc: x@y", "a@b\n",
					  "a..b@c",     ".a@b",       "a@b.",       "a@-b_c",
					  "a,b@c",      "a@b;c",      "ä@b",        "a@b>\r\nX: y"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(mail_address_valid(good[i]), "'%s' is valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!mail_address_valid(bad[i]), "'%s' is refused", bad[i]);
		struct mail_message m = sample();
		size_t len;
		m.to_addr = bad[i];
		CHECK(mail_format(&m, &len) == NULL, "to '%s' is refused", bad[i]);
		m = sample();
		m.from_addr = bad[i];
		CHECK(mail_format(&m, &len) == NULL, "from '%s' is refused", bad[i]);
	}
	CHECK(!mail_address_valid(NULL), "NULL");
}

static void test_check_config(void)
{
	struct config c;
	char err[256];
	CHECK_INT(config_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_INT(mail_check_config(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "smtp_url") != NULL, "%s", err);
	struct {
		const char *url, *tls;
		int ok;
	} cases[] = {
		{"smtp://127.0.0.1:25", "starttls", 0}, {"smtp://127.0.0.1:25", "none", 0},
		{"smtps://mail.example:465", "implicit", 0}, {"smtp://mail.example", "implicit", -EINVAL},
		{"smtps://mail.example", "starttls", -EINVAL}, {"smtps://mail.example", "none", -EINVAL},
		{"http://mail.example", "none", -EINVAL}, {"file:///etc/passwd", "none", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_set_string(&c.smtp_url, cases[i].url);
		config_set_string(&c.mail_tls, cases[i].tls);
		CHECK(mail_check_config(&c, err, sizeof(err)) == cases[i].ok, "%s with tls %s: %s",
		      cases[i].url, cases[i].tls, err);
	}
	config_set_string(&c.smtp_url, "smtp://127.0.0.1:25");
	config_set_string(&c.mail_from, "bad address");
	CHECK_INT(mail_check_config(&c, err, sizeof(err)), -EINVAL);
	int perm = 0;
	CHECK_INT(mail_deliver(&c, "a@b", "x", 1, err, sizeof(err), &perm), -EINVAL);
	CHECK_INT(perm, 0);
	config_free(&c);
}

static void test_backoff(void)
{
	struct config c;
	char err[256];
	config_load(&c, NULL, err, sizeof(err));
	c.mail_backoff_s = 30;
	c.mail_backoff_max_s = 3600;
	CHECK_INT(outbox_backoff_ms(&c, 1), 30000);
	CHECK_INT(outbox_backoff_ms(&c, 2), 60000);
	CHECK_INT(outbox_backoff_ms(&c, 3), 120000);
	CHECK_INT(outbox_backoff_ms(&c, 7), 1920000);
	CHECK_INT(outbox_backoff_ms(&c, 8), 3600000);
	CHECK_INT(outbox_backoff_ms(&c, 1000), 3600000);
	config_free(&c);
}

struct seen {
	int n;
	char status[16], error[256];
	int attempts;
	int64_t next;
};

static int seen_cb(const struct store_mail *m, void *ud)
{
	struct seen *s = ud;
	s->n++;
	snprintf(s->status, sizeof(s->status), "%s", m->status);
	snprintf(s->error, sizeof(s->error), "%s", m->last_error ? m->last_error : "");
	s->attempts = m->attempts;
	s->next = m->next_ms;
	return 0;
}

/* The outbox against a port nobody listens on: pending, counted, retried later. */
static void test_outbox(void)
{
	char dir[] = "/tmp/mizan-test-mail-XXXXXX", path[256], err[STORE_ERRLEN];
	CHECK(mkdtemp(dir) != NULL, "temporary directory");
	snprintf(path, sizeof(path), "%s/m.db", dir);
	struct store_opts o = {.cache_mib = 2, .busy_timeout_ms = 1000};
	struct store *s = NULL;
	CHECK_INT(store_open(&s, path, &o, err), 0);
	if (!s)
		return;
	struct config c;
	config_load(&c, NULL, err, sizeof(err));
	struct mail_message mm = sample();
	size_t len;
	char *msg = mail_format(&mm, &len);
	struct store_mail row = {.to_addr = mm.to_addr, .subject = mm.subject, .message = msg,
				 .len = len};
	CHECK_INT(store_outbox_add(s, &row, 0, err), 0);
	free(msg);

	/* no server configured: nothing happens */
	int64_t now = 4102444800000; /* 2100: everything written before is due */
	CHECK_INT(outbox_deliver_due(&c, s, now), 0);
	struct seen sn = {0};
	store_outbox_each(s, NULL, 10, seen_cb, &sn, err);
	CHECK_STR(sn.status, "pending");
	CHECK_INT(sn.attempts, 0);

	/* nobody listens on port 1: a failed attempt, rescheduled with backoff */
	config_set_string(&c.smtp_url, "smtp://127.0.0.1:1");
	config_set_string(&c.mail_tls, "none");
	c.mail_timeout_s = 5;
	c.mail_attempts = 2;
	c.mail_backoff_s = 10;
	CHECK_INT(outbox_deliver_due(&c, s, now), 0);
	memset(&sn, 0, sizeof(sn));
	store_outbox_each(s, NULL, 10, seen_cb, &sn, err);
	CHECK_STR(sn.status, "pending");
	CHECK_INT(sn.attempts, 1);
	CHECK(sn.error[0] != '\0', "last_error set");
	CHECK(sn.next >= now + 10000 && sn.next <= now + 11000, "next attempt in 10 s (+10%%): %" PRId64,
	      sn.next - now);
	/* not due yet */
	CHECK_INT(outbox_deliver_due(&c, s, now + 5000), 0);
	memset(&sn, 0, sizeof(sn));
	store_outbox_each(s, NULL, 10, seen_cb, &sn, err);
	CHECK_INT(sn.attempts, 1);
	/* the second and last attempt: failed, kept */
	CHECK_INT(outbox_deliver_due(&c, s, now + 12000), 0);
	memset(&sn, 0, sizeof(sn));
	store_outbox_each(s, NULL, 10, seen_cb, &sn, err);
	CHECK_STR(sn.status, "failed");
	CHECK_INT(sn.attempts, 2);
	CHECK(strstr(sn.error, "gave up after 2 attempts") != NULL, "%s", sn.error);
	CHECK_INT(sn.n, 1);

	/* the thread starts, is poked and stops promptly */
	struct outbox *ob = NULL;
	CHECK_INT(outbox_start(&ob, &c, s), 0);
	outbox_poke(ob);
	outbox_stop(ob);

	config_free(&c);
	store_close(s);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

static void init(void)
{
	CHECK_INT(mail_init(), 0);
}

static void fini(void)
{
	mail_cleanup();
}

TEST_MAIN(init, test_arabic, test_injection, test_long, test_image, test_base64_lines, test_addresses,
	  test_check_config, test_backoff, test_outbox, fini)
