/* log.h - one line per message on standard error, with a UTC timestamp.
 *
 * Any thread may log: each line is written with one fprintf, so lines from
 * several threads do not mix.  A message is cut at 1023 bytes.  Nothing is
 * allocated; the arguments are only read during the call.
 *
 * Control characters in the message (a newline in a value sent by a
 * client, say) are written escaped, \n, \r, \t or \xNN, so that no value
 * can forge a line of its own.
 */
#ifndef MIZAN_LOG_H
#define MIZAN_LOG_H

#include <stddef.h>

/* in with its control characters escaped (\n, \r, \t, \xNN) into
 * out[outlen], cut before an escape that does not fit; the length written. */
size_t log_escape(char *out, size_t outlen, const char *in);

/* "<time> <level> <message>"; level is a word such as "info" (not NULL). */
__attribute__((format(printf, 2, 3))) void log_msg(const char *level, const char *fmt, ...);

#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

#endif
