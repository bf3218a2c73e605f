/* common/log.c: JSON lines on stderr. */
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "edgeplane";
static enum log_level log_min = LOG_INFO;
static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *program, enum log_level min)
{
	const char *env = getenv("EDGEPLANE_LOG_LEVEL");

	log_program = program;
	log_min = min;
	if (env == NULL)
		return;
	for (int i = 0; i < 4; i++)
		if (strcasecmp(env, log_names[i]) == 0)
			log_min = (enum log_level)i;
}

/* Escapes `s` into `out` as JSON string content; truncates rather than overflow. */
static size_t log_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

void log_json_line(const char *json)
{
	size_t len = strlen(json);
	char *line = malloc(len + 2);

	if (line == NULL)
		return;
	memcpy(line, json, len);
	line[len] = '\n';
	/* One write per line keeps lines from interleaving across threads. */
	ssize_t w = write(STDERR_FILENO, line, len + 1);
	(void)w;
	free(line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[2048], esc[4200], line[4600], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof esc, msg);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(line, sizeof line, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\",\"msg\":\"%s\"}",
		 ts, now.tv_nsec / 1000000, log_names[lvl], log_program, esc);
	log_json_line(line);
}
