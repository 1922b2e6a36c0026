/* mail.h - composing and sending one mail message; no state of its own.
 *
 * mail_format writes a whole RFC 5322 / MIME message (multipart/alternative:
 * text/plain and text/html in UTF-8, base64; optionally the HTML inside
 * multipart/related with one inline PNG).  Every header value that comes
 * from configuration or data is cleaned first: CR, LF and other control
 * characters become a space, invalid UTF-8 becomes U+FFFD, and anything not
 * plain printable ASCII is written as RFC 2047 encoded-words, so no value
 * can ever start a header of its own.
 *
 * mail_deliver hands one formatted message to the configured SMTP server
 * with libcurl.  mail_init() must be called once at program start, before
 * any thread is started (it initialises libcurl and libsodium);
 * mail_cleanup() at exit, after every thread has stopped.
 */
#ifndef MIZAN_MAIL_H
#define MIZAN_MAIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"

struct mail_part_image {
	const char *cid; /* referenced as "cid:CID" in the HTML; no spaces, <, > or quotes */
	const unsigned char *png;
	size_t len;
};

/* Everything a message points to is borrowed for the mail_format call. */
struct mail_message {
	const char *from_addr, *from_name; /* from_name may be NULL or "" */
	const char *to_addr, *to_name;     /* to_name may be NULL or "" */
	const char *subject;               /* UTF-8, any text; NULL: empty */
	const char *text;                  /* the text/plain part, UTF-8; NULL: empty */
	const char *html;                  /* the text/html part, UTF-8; NULL: empty */
	const struct mail_part_image *image; /* NULL, or one inline PNG */
	const char *message_id_domain;     /* e.g. "mizan.localhost"; NULL: the sender's domain */
	int64_t date_ms;                   /* the Date header (Unix milliseconds) */
};

/* 0, or -EIO when libcurl or libsodium cannot start.  The main thread,
 * before any other starts. */
int mail_init(void);
/* The main thread, after every other has stopped. */
void mail_cleanup(void);

/* Whether `a` is an address mail_format and mail_deliver accept: printable
 * ASCII, no spaces, quotes, angle brackets or other specials around one
 * '@' with a non-empty local part and domain, at most 254 bytes.  NULL is
 * not.  Pure; any thread. */
int mail_address_valid(const char *a);

/* The whole message, CRLF line ends, malloc'd: the caller frees it (*len
 * set, a NUL follows the last byte).  NULL when memory runs out or an
 * address or the image's cid is invalid.  Any thread (mail_init first). */
char *mail_format(const struct mail_message *m, size_t *len);

/* Whether the mail settings can deliver at all: 0, or -EINVAL with a
 * sentence in err (no smtp_url, an smtp_url that is neither smtp:// nor
 * smtps://, a tls setting that contradicts the URL's scheme, an invalid
 * mail.from).  Pure; any thread. */
int mail_check_config(const struct config *c, char *err, size_t errlen);

/* Delivers one formatted message to one recipient.  0 once the server has
 * accepted it; otherwise a negative errno with a sentence in err: -EINVAL
 * settings that cannot deliver or a recipient that is not an address,
 * -ENOMEM, -EIO the transfer failed or the server refused.  *permanent is
 * set to 1 when retrying will not help: an invalid recipient, or a 5xx
 * answer (a refused login is not counted as permanent, since fixing the
 * settings cures it).  c, to_addr and message are borrowed for the call,
 * which blocks until the server answers or mail.timeout_s passes.  Any
 * thread (mail_init first). */
int mail_deliver(const struct config *c, const char *to_addr, const char *message, size_t len,
		 char *err, size_t errlen, int *permanent);

/* As mail_deliver; a transfer in progress is abandoned soon after *cancel
 * becomes nonzero (then -ECANCELED, not permanent, and err says
 * "cancelled").  cancel may be NULL; another thread may set it. */
int mail_deliver_cancellable(const struct config *c, const char *to_addr, const char *message,
			     size_t len, const atomic_int *cancel, char *err, size_t errlen,
			     int *permanent);

#endif
