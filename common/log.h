/* common/log.h: one JSON object per line on stderr, for the programs (never the libraries).
 * Thread-safe: each line is written with a single write(2). */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the program name printed in every line and the lowest level printed
 * (EDGEPLANE_LOG_LEVEL=debug|info|warn|error overrides `min`). */
void log_init(const char *program, enum log_level min);

/* Logs `fmt` as the "msg" field. */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes an already-formed JSON object (no newline) as one line, for access logs. */
void log_json_line(const char *json);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
