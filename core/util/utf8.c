/* utf8.c - see utf8.h. */
#include "util/utf8.h"

#include <string.h>

size_t utf8_decode(const char *str, size_t n, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n == 0)
		return 0;
	unsigned c = s[0], min;
	size_t len;
	if (c < 0x80) {
		if (cp)
			*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned v = c & (0xffu >> (len + 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp)
		*cp = v;
	return len;
}

size_t utf8_check(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t k = utf8_decode(s + i, len - i, NULL);
		if (k == 0)
			return i;
		i += k;
	}
	return len;
}

const char *utf8_text_problem(const char *s, bool newlines)
{
	/* Open embeddings and overrides (U+202A..U+202E, closed by U+202C) and
	 * isolates (U+2066..U+2068, closed by U+2069), as Unicode's bidi
	 * algorithm pairs them; one left open reorders whatever follows it. */
	int embeds = 0, isolates = 0;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (!k)
			return "is not valid UTF-8";
		i += k;
		if (newlines && (cp == '\n' || cp == '\r' || cp == '\t'))
			continue;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return "must not contain control characters";
		if (cp == 0x2028 || cp == 0x2029)
			return "must not contain a line or paragraph separator (U+2028, U+2029)";
		if (cp >= 0x202a && cp <= 0x202e && cp != 0x202c)
			embeds++;
		else if (cp == 0x202c && embeds-- == 0)
			return "closes a bidirectional embedding (U+202C) that was not opened";
		else if (cp >= 0x2066 && cp <= 0x2068)
			isolates++;
		else if (cp == 0x2069 && isolates-- == 0)
			return "closes a bidirectional isolate (U+2069) that was not opened";
	}
	if (embeds || isolates)
		return "leaves a bidirectional override, embedding or isolate (U+202A-U+202E, "
		       "U+2066-U+2069) open";
	return NULL;
}
