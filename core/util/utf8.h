/* utf8.h - the one UTF-8 decoder.
 *
 * Strict RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF,
 * no sequence cut short by the end of the input.  Pure functions: any
 * thread, nothing allocated, the input only read.
 */
#ifndef MIZAN_UTIL_UTF8_H
#define MIZAN_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1..4) of the valid UTF-8 sequence at s, of which n bytes are
 * left, with its code point in *cp (cp may be NULL); 0 when it is not valid
 * or n is 0. */
size_t utf8_decode(const char *s, size_t n, unsigned *cp);

/* The offset of the first byte of s[0..len) that is not valid UTF-8, or
 * len when all is. */
size_t utf8_check(const char *s, size_t len);

/* What makes s (NUL-terminated) unfit as text a person wrote, in words
 * ("must not contain ..."), or NULL when it is fit: invalid UTF-8, control
 * characters (C0, DEL, C1; newline, carriage return and tab are allowed
 * when newlines is true), the line and paragraph separators U+2028 and
 * U+2029, and bidirectional embeddings, overrides and isolates left open
 * or closed without being opened.  The marks U+200E, U+200F and U+061C
 * are fit: text pasted from office documents carries them. */
const char *utf8_text_problem(const char *s, bool newlines);

#endif
