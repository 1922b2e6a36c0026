/* log.h - one line per message on standard error, with a UTC timestamp. */
#ifndef MIZAN_LOG_H
#define MIZAN_LOG_H

__attribute__((format(printf, 2, 3))) void log_msg(const char *level, const char *fmt, ...);

#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

#endif
