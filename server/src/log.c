/*
 * log.c - stderr logging: one event a line, built on the caller's stack
 * with no allocation, written with one write per line, or per event-loop
 * turn while the front end holds a batch of answers (log_hold).
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define HOLD_MAX 16384 /* held lines past this are written at once */
/* Room kept at the end of a line for its close (",\"cut\":true}\n"). */
#define LINE_RESERVE 16

static enum log_format format = LOG_FORMAT_TEXT;
static enum log_level min_level = LOG_INFO;
/* Each loop holds its own turn's lines (handoff.h: the store's thread
 * holds a batch's while the front end's writes its own). */
static __thread struct buf held_lines;
static __thread int holding;
/* One writer at a time: a held turn is longer than a pipe writes whole. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_format(enum log_format f)
{
	format = f;
}

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_find(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (strcmp(level_names[i], name) == 0)
			return i;
	return -1;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

static void write_all(const char *p, size_t n)
{
	pthread_mutex_lock(&write_lock);
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to report it */
		p += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&write_lock);
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

void log_thread_release(void)
{
	log_flush();
	buf_release(&held_lines);
}

/* ---- building a line ----------------------------------------------------- */

/* Appends n bytes, or marks the line full (e->on = 2: no more fields). */
static int put(struct log_event *e, const char *p, size_t n)
{
	if (e->len + n > LOG_LINE_MAX - LINE_RESERVE) {
		e->on = 2;
		return -1;
	}
	memcpy(e->line + e->len, p, n);
	e->len += n;
	return 0;
}

/* A text value goes bare when it has no space, quote, '=', backslash or
 * control character (UTF-8 passes), else quoted and escaped as JSON. */
static int needs_quotes(const char *s, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return 1;
	}
	return 0;
}

/* s[0..n) between quotes, JSON-escaped; stops at a NUL. */
static void put_quoted(struct log_event *e, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + n;

	put(e, "\"", 1);
	for (; s < end && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(e, run, (size_t)(s - run));
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			put(e, esc, 2);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(e, esc, 6);
		}
		run = s + 1;
	}
	put(e, run, (size_t)(s - run));
	put(e, "\"", 1);
}

/* The separator and key of a field: ,"key": or " key=". */
static void put_key(struct log_event *e, const char *key)
{
	size_t k = strlen(key);
	if (format == LOG_FORMAT_JSON) {
		put(e, ",\"", 2);
		put(e, key, k);
		put(e, "\":", 2);
	} else {
		put(e, " ", 1);
		put(e, key, k);
		put(e, "=", 1);
	}
}

/* A field is written whole or not at all: one that does not fit is
 * taken back and the line is marked cut. */
static size_t field_start(const struct log_event *e)
{
	return e->len;
}

static void field_end(struct log_event *e, size_t start)
{
	if (e->on == 2)
		e->len = start;
}

void log_strn(struct log_event *e, const char *key, const char *value, size_t n)
{
	if (e->on != 1 || !value || !*value)
		return;
	size_t start = field_start(e);
	const char *nul = memchr(value, '\0', n);
	if (nul)
		n = (size_t)(nul - value);
	put_key(e, key);
	if (format == LOG_FORMAT_JSON || needs_quotes(value, n))
		put_quoted(e, value, n);
	else
		put(e, value, n);
	field_end(e, start);
}

void log_str(struct log_event *e, const char *key, const char *value)
{
	if (e->on == 1 && value && *value)
		log_strn(e, key, value, strlen(value));
}

/* Decimal digits of v into the end of out[24]; returns where they start. */
static char *digits(char out[24], unsigned long long v)
{
	char *p = out + 24;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

void log_int(struct log_event *e, const char *key, long long value)
{
	char num[24], *p;
	unsigned long long mag;

	if (e->on != 1)
		return;
	size_t start = field_start(e);
	mag = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
	p = digits(num, mag);
	if (value < 0)
		*--p = '-';
	put_key(e, key);
	put(e, p, (size_t)(num + 24 - p));
	field_end(e, start);
}

void log_ms(struct log_event *e, const char *key, uint64_t us)
{
	char num[24], *p;
	char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
			(char)('0' + us % 10)};

	if (e->on != 1)
		return;
	size_t start = field_start(e);
	p = digits(num, us / 1000);
	put_key(e, key);
	put(e, p, (size_t)(num + 24 - p));
	put(e, frac, 4);
	field_end(e, start);
}

/* "2024-05-01T12:00:00.123Z": the seconds part formatted once a second. */
static void put_time(struct log_event *e)
{
	static __thread time_t cached_sec = (time_t)-1;
	static __thread char cached[24];
	static __thread size_t cached_len;
	struct timespec ts;
	struct tm tm;
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = ts.tv_sec;
	}
	ms = ts.tv_nsec / 1000000;
	char tail[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
			(char)('0' + ms % 10), 'Z'};
	put(e, cached, cached_len);
	put(e, tail, sizeof(tail));
}

void log_begin(struct log_event *e, enum log_level level, const char *event)
{
	e->on = level >= min_level;
	e->level = level;
	e->len = 0;
	if (!e->on)
		return;
	const char *name = level_names[level];
	if (format == LOG_FORMAT_JSON) {
		put(e, "{\"time\":\"", 9);
		put_time(e);
		put(e, "\",\"level\":\"", 11);
		put(e, name, strlen(name));
		put(e, "\",\"event\":\"", 11);
		put(e, event, strlen(event));
		put(e, "\"", 1);
	} else {
		put_time(e);
		put(e, " ", 1);
		put(e, name, strlen(name));
		put(e, " ", 1);
		put(e, event, strlen(event));
	}
}

static void emit(const char *p, size_t n, int urgent)
{
	if (holding && !urgent) {
		buf_append(&held_lines, p, n);
		if (held_lines.len > HOLD_MAX) {
			write_all(held_lines.data, held_lines.len);
			buf_reset(&held_lines);
		}
		return;
	}
	if (held_lines.len) { /* keep the order of the lines */
		write_all(held_lines.data, held_lines.len);
		buf_reset(&held_lines);
	}
	write_all(p, n);
}

void log_end(struct log_event *e)
{
	if (!e->on)
		return;
	/* LINE_RESERVE keeps room for the close, cut or not. */
	if (e->on == 2) {
		const char *cut = format == LOG_FORMAT_JSON ? ",\"cut\":true" : " cut=true";
		size_t n = strlen(cut);
		memcpy(e->line + e->len, cut, n);
		e->len += n;
	}
	if (format == LOG_FORMAT_JSON)
		e->line[e->len++] = '}';
	e->line[e->len++] = '\n';
	emit(e->line, e->len, e->level >= LOG_WARN);
	e->on = 0;
}

/* ---- sentences ----------------------------------------------------------- */

/* The length of a leading "word: " naming the event (lower-case letters,
 * digits, '_', '.', '-'; up to 24), or 0. */
static size_t event_prefix(const char *msg)
{
	size_t n = 0;
	while (n < 24 && ((msg[n] >= 'a' && msg[n] <= 'z') || (msg[n] >= '0' && msg[n] <= '9') ||
			  msg[n] == '_' || msg[n] == '.' || msg[n] == '-'))
		n++;
	return n > 0 && msg[n] == ':' && msg[n + 1] == ' ' ? n : 0;
}

static void sentence(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX / 2], event[32] = "message";
	struct log_event e;
	size_t pre;

	if (level < min_level)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	if (format == LOG_FORMAT_TEXT) {
		/* "TIME LEVEL text", the sentence as written (one line). */
		log_begin(&e, level, "");
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		put(&e, msg, strlen(msg)); /* half a line: it fits */
		log_end(&e);
		return;
	}
	pre = event_prefix(msg);
	if (pre) {
		memcpy(event, msg, pre);
		event[pre] = '\0';
	}
	log_begin(&e, level, event);
	log_str(&e, "msg", msg + (pre ? pre + 2 : 0));
	log_end(&e);
}

#define LEVEL_FN(fn, level)                                                                        \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		sentence(level, fmt, ap);                                                          \
		va_end(ap);                                                                        \
	}

LEVEL_FN(log_debug, LOG_DEBUG)
LEVEL_FN(log_info, LOG_INFO)
LEVEL_FN(log_warn, LOG_WARN)
LEVEL_FN(log_error, LOG_ERROR)
