/* log.c - see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util/time.h"

size_t log_escape(char *out, size_t outlen, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (!outlen)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char esc[5];
		size_t n = 0;
		if (*p == '\n')
			esc[n++] = '\\', esc[n++] = 'n';
		else if (*p == '\r')
			esc[n++] = '\\', esc[n++] = 'r';
		else if (*p == '\t')
			esc[n++] = '\\', esc[n++] = 't';
		else if (*p < 0x20 || *p == 0x7f) {
			esc[n++] = '\\', esc[n++] = 'x';
			esc[n++] = hex[*p >> 4], esc[n++] = hex[*p & 15];
		} else
			esc[n++] = (char)*p;
		if (o + n >= outlen)
			break; /* cut whole: never half an escape */
		for (size_t i = 0; i < n; i++)
			out[o++] = esc[i];
	}
	out[o] = '\0';
	return o;
}

void log_msg(const char *level, const char *fmt, ...)
{
	char raw[1024], line[1024], stamp[32];
	int64_t ms = time_now_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	va_list ap;

	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* A value that holds a newline must not start a line of its own. */
	log_escape(line, sizeof(line), raw);
	/* One fprintf per line, so lines from several threads do not mix. */
	fprintf(stderr, "%s.%03dZ %s %s\n", stamp, (int)(ms % 1000), level, line);
}
