/* buf.c - see buf.h. */
#include "util/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool buf_reserve(struct buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void buf_add(struct buf *b, const void *d, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->p[len] = '\0';
}

char *buf_take(struct buf *b, size_t *len)
{
	if (b->oom) {
		buf_free(b);
		return NULL;
	}
	if (!b->p && !buf_reserve(b, 0))
		return NULL;
	char *p = b->p;
	if (len)
		*len = b->len;
	*b = (struct buf){0};
	return p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){0};
}

char *buf_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = {0};
	char chunk[65536];
	for (size_t got; (got = fread(chunk, 1, sizeof(chunk), f)) > 0;)
		buf_add(&b, chunk, got);
	int failed = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (failed) {
		buf_free(&b);
		errno = failed;
		return NULL;
	}
	char *p = buf_take(&b, len);
	if (!p)
		errno = ENOMEM;
	return p;
}
