/* utf8.h - the one UTF-8 decoder.
 *
 * Strict RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF,
 * no sequence cut short by the end of the input.  Pure functions: any
 * thread, nothing allocated, the input only read.
 */
#ifndef MIZAN_UTIL_UTF8_H
#define MIZAN_UTIL_UTF8_H

#include <stddef.h>

/* The length (1..4) of the valid UTF-8 sequence at s, of which n bytes are
 * left, with its code point in *cp (cp may be NULL); 0 when it is not valid
 * or n is 0. */
size_t utf8_decode(const char *s, size_t n, unsigned *cp);

/* The offset of the first byte of s[0..len) that is not valid UTF-8, or
 * len when all is. */
size_t utf8_check(const char *s, size_t len);

#endif
