/*
 * log.c - stderr logging, one write per line, or per event-loop turn
 * while the front end holds a batch of answers (log_hold).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LINE_MAX_STACK 1024
#define HOLD_MAX 16384 /* held lines past this are written at once */

static enum log_format format = LOG_FORMAT_TEXT;
static struct buf held_lines;
static int holding;

void log_set_format(enum log_format f)
{
	format = f;
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to report it */
		p += w;
		n -= (size_t)w;
	}
}

void log_hold(void)
{
	holding = 1;
}

void log_flush(void)
{
	holding = 0;
	if (held_lines.len)
		write_all(held_lines.data, held_lines.len);
	buf_reset(&held_lines);
}

static void json_string(struct buf *out, const char *s)
{
	buf_puts(out, "\"");
	for (const char *run = s;; s++) {
		unsigned char c = (unsigned char)*s;
		if (c && c != '"' && c != '\\' && c >= 0x20)
			continue;
		buf_append(out, run, (size_t)(s - run));
		if (!c)
			break;
		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else
			buf_printf(out, "\\u%04x", c);
		run = s + 1;
	}
	buf_puts(out, "\"");
}

static void emit(const char *level, int urgent, const char *fmt, va_list ap)
{
	char stamp[32], stack[LINE_MAX_STACK];
	char *msg = stack;
	struct timespec ts;
	struct tm tm;
	struct buf line;
	va_list copy;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)ts.tv_sec);
	va_copy(copy, ap);
	n = vsnprintf(stack, sizeof(stack), fmt, copy);
	va_end(copy);
	if (n < 0) {
		stack[0] = '\0';
	} else if ((size_t)n >= sizeof(stack)) {
		msg = xmalloc((size_t)n + 1);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
	}
	buf_init(&line);
	if (format == LOG_FORMAT_JSON) {
		buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", stamp, level);
		json_string(&line, msg);
		buf_puts(&line, "}\n");
	} else {
		buf_printf(&line, "%s %s %s\n", stamp, level, msg);
	}
	if (holding && !urgent) {
		buf_append(&held_lines, line.data, line.len);
		if (held_lines.len > HOLD_MAX) {
			write_all(held_lines.data, held_lines.len);
			buf_reset(&held_lines);
		}
	} else {
		if (held_lines.len) { /* keep the order of the lines */
			write_all(held_lines.data, held_lines.len);
			buf_reset(&held_lines);
		}
		write_all(line.data, line.len);
	}
	buf_release(&line);
	if (msg != stack)
		free(msg);
}

#define LEVEL_FN(fn, level, urgent)              \
	void fn(const char *fmt, ...)            \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		emit(level, urgent, fmt, ap);    \
		va_end(ap);                      \
	}

LEVEL_FN(log_info, "info", 0)
LEVEL_FN(log_warn, "warn", 1)
LEVEL_FN(log_error, "error", 1)
