/*
 * log.c - stderr logging.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

static enum log_format format = LOG_FORMAT_TEXT;

void log_set_format(enum log_format f)
{
	format = f;
}

static void json_string(struct buf *out, const char *s)
{
	buf_puts(out, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < 0x20)
			buf_printf(out, "\\u%04x", c);
		else
			buf_append(out, s, 1);
	}
	buf_puts(out, "\"");
}

static void emit(const char *level, const char *fmt, va_list ap)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	struct buf msg, line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_init(&msg);
	buf_init(&line);
	{
		va_list copy;
		va_copy(copy, ap);
		int n = vsnprintf(NULL, 0, fmt, copy);
		va_end(copy);
		if (n > 0) {
			char *tmp = xmalloc((size_t)n + 1);
			vsnprintf(tmp, (size_t)n + 1, fmt, ap);
			buf_append(&msg, tmp, (size_t)n);
			free(tmp);
		} else {
			buf_puts(&msg, "");
		}
	}
	if (format == LOG_FORMAT_JSON) {
		buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", stamp, level);
		json_string(&line, msg.data);
		buf_puts(&line, "}\n");
	} else {
		buf_printf(&line, "%s %s %s\n", stamp, level, msg.data);
	}
	fputs(line.data, stderr);
	fflush(stderr);
	buf_release(&msg);
	buf_release(&line);
}

#define LEVEL_FN(fn, level)                      \
	void fn(const char *fmt, ...)            \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		emit(level, fmt, ap);            \
		va_end(ap);                      \
	}

LEVEL_FN(log_info, "info")
LEVEL_FN(log_warn, "warn")
LEVEL_FN(log_error, "error")
