/* log.c - see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util/time.h"

void log_msg(const char *level, const char *fmt, ...)
{
	char line[1024], stamp[32];
	int64_t ms = time_now_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	va_list ap;

	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line, so lines from several threads do not mix. */
	fprintf(stderr, "%s.%03dZ %s %s\n", stamp, (int)(ms % 1000), level, line);
}
