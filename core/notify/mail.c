/* mail.c - composing (RFC 5322, MIME, RFC 2047) and sending (SMTP with libcurl). */
#include "notify/mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/buf.h"
#include "util/utf8.h"

/* Header lines are folded to stay within this many characters (RFC 5322
 * asks for 78 at most, CRLF not counted). */
#define LINE_MAX_COLS 76
/* An encoded-word is at most 75 characters: "=?UTF-8?B?" + text + "?=". */
#define EW_OVERHEAD 12
#define EW_MAX 75

/* ---- base64 ---------------------------------------------------------------------- */

/* A body line of base64: 57 bytes make 76 characters (RFC 2045's limit). */
#define B64_LINE_BYTES 57

/* Appends the base64 of d[0..n), encoded by libsodium.  With wrap, as a MIME
 * body wants it: lines of 76 characters (the last one shorter), each ending
 * with CRLF; an empty input gives one empty line.  Without wrap, one run of
 * characters. */
static void put_base64(struct buf *b, const unsigned char *d, size_t n, bool wrap)
{
	char line[sodium_base64_ENCODED_LEN(B64_LINE_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	size_t i = 0;
	do {
		/* Whole lines are a multiple of 3 bytes, so the lines joined are
		 * the base64 of the whole input. */
		size_t k = n - i < B64_LINE_BYTES ? n - i : B64_LINE_BYTES;
		sodium_bin2base64(line, sizeof(line), d + i, k, sodium_base64_VARIANT_ORIGINAL);
		buf_puts(b, line);
		if (wrap)
			buf_add(b, "\r\n", 2);
		i += k;
	} while (i < n);
}

/* ---- cleaning header text -------------------------------------------------------- */

/* A copy of s fit for a header: control characters (C0, DEL, C1), CR and
 * LF among them, become spaces; invalid UTF-8 becomes U+FFFD; runs of
 * spaces become one; no space at either end.  malloc'd; NULL: no memory. */
static char *clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	char *out = malloc(n * 3 + 1); /* every byte may become U+FFFD */
	if (!out)
		return NULL;
	size_t o = 0;
	bool space = true; /* drops leading spaces */
	while (*p) {
		unsigned cp;
		size_t k = utf8_decode((const char *)p, strlen((const char *)p), &cp);
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			space = false;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == ' ') {
			if (!space)
				out[o++] = ' ';
			space = true;
		} else {
			memcpy(out + o, p, k);
			o += k;
			space = false;
		}
		p += k;
	}
	if (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

static bool is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* ---- header writing -------------------------------------------------------------- */

/* Appends s (cleaned: single spaces, printable ASCII) word by word, folding
 * before a word that would pass the line limit. */
static void put_words(struct buf *b, size_t *col, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, " ");
		if (*col + 1 + n > LINE_MAX_COLS) {
			buf_puts(b, "\r\n");
			*col = 0;
		}
		buf_puts(b, " ");
		buf_add(b, s, n);
		*col += 1 + n;
		s += n;
		if (*s == ' ')
			s++;
	}
}

/* Appends s as RFC 2047 B encoded-words, each whole UTF-8 characters and at
 * most 75 characters long, folding between them. */
static void put_encoded(struct buf *b, size_t *col, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n > 0) {
		/* room for the base64 on this line after " =?UTF-8?B?" and "?=" */
		size_t room = *col + 1 + EW_OVERHEAD < LINE_MAX_COLS
				      ? LINE_MAX_COLS - *col - 1 - EW_OVERHEAD
				      : 0;
		if (room > EW_MAX - EW_OVERHEAD)
			room = EW_MAX - EW_OVERHEAD;
		size_t raw = room / 4 * 3, take = 0;
		while (take < n) {
			unsigned cp;
			size_t k = utf8_decode((const char *)p + take, n - take, &cp);
			if (k == 0)
				k = 1; /* cannot happen after clean_text */
			if (take + k > raw)
				break;
			take += k;
		}
		if (take == 0) {
			buf_puts(b, "\r\n");
			*col = 0;
			continue;
		}
		buf_puts(b, " =?UTF-8?B?");
		size_t before = b->len;
		put_base64(b, p, take, false);
		buf_puts(b, "?=");
		*col += 1 + EW_OVERHEAD + (b->oom ? 0 : b->len - before - 2);
		p += take;
		n -= take;
	}
}

/* Whether cleaned text may go into a header as it is: printable ASCII,
 * nothing a decoder could take for an encoded-word, no word too long to
 * fold, and (for a phrase) only atoms. */
static bool plain_ok(const char *s, bool phrase)
{
	size_t word = 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e)
			return false;
		if (phrase && c != ' ' && !is_atext(c))
			return false;
		word = c == ' ' ? 0 : word + 1;
		if (word > 60)
			return false;
	}
	return strstr(s, "=?") == NULL;
}

/* Appends "Name:" and returns the cleaned copy of value (malloc'd: the
 * caller frees it), *col set to the column after the colon; NULL when out
 * of memory. */
static char *header_start(struct buf *b, const char *name, const char *value, size_t *col)
{
	char *v = clean_text(value);
	if (!v)
		return NULL;
	*col = strlen(name) + 1;
	buf_puts(b, name);
	buf_puts(b, ":");
	return v;
}

/* "Name:" and the cleaned value, plain or encoded, ending with CRLF. */
static int put_text_header(struct buf *b, const char *name, const char *value)
{
	size_t col;
	char *v = header_start(b, name, value, &col);
	if (!v)
		return -ENOMEM;
	if (plain_ok(v, false))
		put_words(b, &col, v);
	else
		put_encoded(b, &col, v);
	buf_puts(b, "\r\n");
	free(v);
	return 0;
}

/* "Name: display <addr>" or "Name: addr". */
static int put_address_header(struct buf *b, const char *name, const char *display,
			      const char *addr)
{
	size_t col;
	char *v = header_start(b, name, display, &col);
	if (!v)
		return -ENOMEM;
	if (*v) {
		if (plain_ok(v, true))
			put_words(b, &col, v);
		else
			put_encoded(b, &col, v);
		if (col + 3 + strlen(addr) > LINE_MAX_COLS) {
			buf_puts(b, "\r\n");
			col = 0;
		}
		buf_puts(b, " <");
		buf_puts(b, addr);
		buf_puts(b, ">\r\n");
	} else {
		buf_puts(b, " ");
		buf_puts(b, addr);
		buf_puts(b, "\r\n");
	}
	free(v);
	return 0;
}

/* ---- addresses ------------------------------------------------------------------- */

/* A dot-atom: runs of allowed characters separated by single dots. */
static bool dot_atom(const char *s, size_t n, bool domain)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return false;
			continue;
		}
		bool ok = domain ? ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || c == '-')
				 : is_atext(c);
		if (!ok)
			return false;
	}
	return true;
}

int mail_address_valid(const char *a)
{
	if (!a)
		return 0;
	size_t n = strlen(a);
	const char *at = strchr(a, '@');
	if (n == 0 || n > 254 || !at || strchr(at + 1, '@'))
		return 0;
	size_t local = (size_t)(at - a);
	return local <= 64 && dot_atom(a, local, false) && dot_atom(at + 1, n - local - 1, true);
}

static bool cid_valid(const char *cid)
{
	if (!cid || !*cid || strlen(cid) > 200)
		return false;
	for (const char *p = cid; *p; p++)
		if (*p != '.' && *p != '@' && !is_atext((unsigned char)*p))
			return false;
	return true;
}

/* ---- the message ----------------------------------------------------------------- */

static void random_hex(char *out, size_t bytes)
{
	unsigned char r[32];
	if (bytes > sizeof(r))
		bytes = sizeof(r);
	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

static void put_date(struct buf *b, int64_t ms)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday % 7],
		   tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec);
}

static void put_part(struct buf *b, const char *boundary, const char *type, const char *body)
{
	buf_printf(b, "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
		      "Content-Transfer-Encoding: base64\r\n\r\n",
		   boundary, type);
	const char *s = body ? body : "";
	put_base64(b, (const unsigned char *)s, strlen(s), true);
}

char *mail_format(const struct mail_message *m, size_t *len)
{
	if (!mail_address_valid(m->from_addr) || !mail_address_valid(m->to_addr))
		return NULL;
	if (m->image && (!cid_valid(m->image->cid) || (!m->image->png && m->image->len)))
		return NULL;

	struct buf b = {0};
	if (put_address_header(&b, "From", m->from_name, m->from_addr) < 0 ||
	    put_address_header(&b, "To", m->to_name, m->to_addr) < 0 ||
	    put_text_header(&b, "Subject", m->subject) < 0)
		goto oom;
	put_date(&b, m->date_ms);

	const char *domain = m->message_id_domain;
	if (!domain || !dot_atom(domain, strlen(domain), true) || strlen(domain) > 200)
		domain = strchr(m->from_addr, '@') + 1;
	char id[33], alt[33], rel[33];
	random_hex(id, 16);
	random_hex(alt, 16);
	random_hex(rel, 16);
	buf_printf(&b, "Message-ID: <%s@%s>\r\n", id, domain);
	buf_puts(&b, "MIME-Version: 1.0\r\n"
		     "Auto-Submitted: auto-generated\r\n");
	buf_printf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"=_alt_%s\"\r\n\r\n",
		   alt);
	buf_puts(&b, "This is a message in MIME format.\r\n");

	char balt[48], brel[48];
	snprintf(balt, sizeof(balt), "=_alt_%s", alt);
	snprintf(brel, sizeof(brel), "=_rel_%s", rel);
	put_part(&b, balt, "text/plain", m->text);
	if (m->image) {
		buf_printf(&b, "--%s\r\nContent-Type: multipart/related; type=\"text/html\";\r\n"
			       " boundary=\"%s\"\r\n\r\n",
			   balt, brel);
		put_part(&b, brel, "text/html", m->html);
		buf_printf(&b, "--%s\r\nContent-Type: image/png\r\n"
			       "Content-Transfer-Encoding: base64\r\n",
			   brel);
		buf_puts(&b, "Content-ID: <");
		buf_puts(&b, m->image->cid);
		buf_puts(&b, ">\r\nContent-Disposition: inline; filename=\"chart.png\"\r\n\r\n");
		put_base64(&b, m->image->png ? m->image->png : (const unsigned char *)"",
			   m->image->len, true);
		buf_printf(&b, "--%s--\r\n", brel);
	} else {
		put_part(&b, balt, "text/html", m->html);
	}
	buf_printf(&b, "--%s--\r\n", balt);
	return buf_take(&b, len); /* NULL when b ran out of memory */
oom:
	buf_free(&b);
	return NULL;
}

/* ---- delivery -------------------------------------------------------------------- */

int mail_init(void)
{
	if (sodium_init() < 0)
		return -EIO;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void mail_cleanup(void)
{
	curl_global_cleanup();
}

int mail_check_config(const struct config *c, char *err, size_t errlen)
{
	const char *url = c->smtp_url ? c->smtp_url : "";
	const char *tls = c->mail_tls ? c->mail_tls : "starttls";
	bool smtps = strncasecmp(url, "smtps://", 8) == 0;

	if (!*url) {
		snprintf(err, errlen, "no SMTP server is configured (mail.smtp_url is empty)");
		return -EINVAL;
	}
	if (!smtps && strncasecmp(url, "smtp://", 7) != 0) {
		snprintf(err, errlen, "mail.smtp_url must start with smtp:// or smtps://");
		return -EINVAL;
	}
	if (strcmp(tls, "implicit") == 0 && !smtps) {
		snprintf(err, errlen, "mail.tls = \"implicit\" needs an smtps:// mail.smtp_url");
		return -EINVAL;
	}
	if (strcmp(tls, "implicit") != 0 && smtps) {
		snprintf(err, errlen,
			 "mail.smtp_url is smtps:// (implicit TLS) but mail.tls is \"%s\"; set "
			 "mail.tls = \"implicit\"",
			 strcmp(tls, "none") == 0 ? "none" : "starttls");
		return -EINVAL;
	}
	if (strcmp(tls, "implicit") != 0 && strcmp(tls, "starttls") != 0 &&
	    strcmp(tls, "none") != 0) {
		snprintf(err, errlen, "mail.tls must be none, starttls or implicit");
		return -EINVAL;
	}
	if (!mail_address_valid(c->mail_from)) {
		snprintf(err, errlen, "mail.from is not a valid address");
		return -EINVAL;
	}
	return 0;
}

struct reader {
	const char *p;
	size_t len, off;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct reader *r = ud;
	size_t n = size * nmemb, left = r->len - r->off;
	if (n > left)
		n = left;
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return n;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const atomic_int *cancel = ud;
	return cancel && atomic_load(cancel) ? 1 : 0;
}

int mail_deliver(const struct config *c, const char *to_addr, const char *message, size_t len,
		 char *err, size_t errlen, int *permanent)
{
	return mail_deliver_cancellable(c, to_addr, message, len, NULL, err, errlen, permanent);
}

int mail_deliver_cancellable(const struct config *c, const char *to_addr, const char *message,
			     size_t len, const atomic_int *cancel, char *err, size_t errlen,
			     int *permanent)
{
	*permanent = 0;
	int rc = mail_check_config(c, err, errlen);
	if (rc < 0)
		return rc;
	if (!mail_address_valid(to_addr)) {
		snprintf(err, errlen, "the recipient is not a valid address");
		*permanent = 1;
		return -EINVAL;
	}

	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "libcurl could not start a transfer");
		return -ENOMEM;
	}
	char from[300], ebuf[CURL_ERROR_SIZE] = "";
	snprintf(from, sizeof(from), "<%s>", c->mail_from);
	struct curl_slist *rcpt = NULL, *r2;
	char to[300];
	snprintf(to, sizeof(to), "<%s>", to_addr);
	r2 = curl_slist_append(rcpt, to);
	if (!r2) {
		curl_easy_cleanup(h);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rcpt = r2;
	struct reader rd = {message, len, 0};
	long tmo = c->mail_timeout_s > 0 ? c->mail_timeout_s : 30;
	bool none = strcmp(c->mail_tls, "none") == 0;

	curl_easy_setopt(h, CURLOPT_URL, c->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, tmo);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, tmo);
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(none ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->mail_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->mail_verify ? 2L : 0L);
	if (c->mail_ca_file && *c->mail_ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->mail_ca_file);
	if (c->smtp_user && *c->smtp_user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, c->smtp_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->smtp_password ? c->smtp_password : "");
	}
	if (cancel) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)cancel);
	}

	CURLcode cc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	if (cc == CURLE_OK)
		return 0;

	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "delivery cancelled");
		return -ECANCELED;
	}
	const char *why = ebuf[0] ? ebuf : curl_easy_strerror(cc);
	size_t wl = strlen(why);
	while (wl > 0 && (why[wl - 1] == '\n' || why[wl - 1] == '\r'))
		wl--;
	if (code >= 400)
		snprintf(err, errlen, "the SMTP server answered %ld: %.*s", code, (int)wl, why);
	else
		snprintf(err, errlen, "%.*s", (int)wl, why);
	*permanent = code >= 500 && code < 600 && cc != CURLE_LOGIN_DENIED;
	return -EIO;
}
