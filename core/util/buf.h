/* buf.h - the one growable byte buffer.
 *
 * A buffer starts zeroed (`struct buf b = {0};`) and grows by doubling.  Its
 * bytes are always NUL-terminated once anything was added, so b.p is a C
 * string too.  When an allocation fails the buffer remembers it (b.oom),
 * ignores every later addition and keeps what it had: a caller builds a
 * whole text and checks once at the end.
 *
 * Ownership: the buffer owns b.p until buf_take hands it to the caller or
 * buf_free frees it.  Not thread-safe: one buffer, one thread at a time.
 */
#ifndef MIZAN_UTIL_BUF_H
#define MIZAN_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Room for `more` bytes (and the terminating NUL); false when out of memory
 * (b.oom is then set: see util/README.md for why this one returns bool). */
bool buf_reserve(struct buf *b, size_t more);
/* Appends d[0..n) (copied; d may be NULL when n is 0). */
void buf_add(struct buf *b, const void *d, size_t n);
/* Appends the string s (copied; not NULL). */
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
/* Appends the formatted text, of any length. */
__attribute__((format(printf, 2, 3))) void buf_printf(struct buf *b, const char *fmt, ...);
/* Keeps the first len bytes (len <= b->len) and drops the rest; the memory
 * stays for what is added next. */
void buf_truncate(struct buf *b, size_t len);
/* The bytes (malloc'd, NUL-terminated; the caller frees them with free)
 * and their length (len may be NULL); the buffer is left empty, ready for
 * reuse.  An empty buffer gives "".  NULL when out of memory at any point,
 * after freeing what there was. */
char *buf_take(struct buf *b, size_t *len);
/* A whole file's bytes (malloc'd, NUL-terminated; the caller frees them)
 * and their length into *len (may be NULL); NULL with errno set when the
 * file cannot be opened or read, or memory ran out (ENOMEM). */
char *buf_read_file(const char *path, size_t *len);
/* Frees the bytes and leaves the buffer empty and zeroed, ready for reuse. */
void buf_free(struct buf *b);

#endif
