/*
 * log.h - one line per event on stderr, as text (key=value) or JSON (one
 * object per line). Every line has time, level and event (a short stable
 * name: "api.request", "tls.refused", "admin.action", "http.error",
 * "server.start"...), then the event's own fields. docs/settings.md
 * (Logs) lists them. Callers never pass secrets (API keys, signs, private keys, the
 * admin token) to these functions.
 */
#ifndef REDPACK_LOG_H
#define REDPACK_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_format(enum log_format f);
/* Lines below level are dropped (before anything is formatted). */
void log_set_level(enum log_level level);
/* The level named "debug", "info", "warn" or "error"; -1 for another. */
int log_level_find(const char *name);
/* 1 when a line of level would be written: for callers that must work
 * to get a field's value. */
int log_enabled(enum log_level level);

/* While the front end holds a turn's answers (group commit), info and
 * debug lines are kept and written together by log_flush, before the
 * answers leave; warnings and errors are written at once (after what is
 * kept, in order). */
void log_hold(void);
void log_flush(void);
/* Writes what the calling thread holds and frees its buffer: a thread
 * that logged calls it before it ends. */
void log_thread_release(void);

/* ---- events with fields ------------------------------------------------ */

#define LOG_LINE_MAX 2048 /* a longer line is cut (its fields end "..."), never split */

/* One event being written, on the caller's stack: log_begin, then one
 * call per field in the order they are to appear, then log_end, which
 * writes the line (or keeps it, log_hold). Nothing is allocated. When
 * the level is filtered out every call is a no-op. */
struct log_event {
	int on;
	enum log_level level;
	size_t len;
	char line[LOG_LINE_MAX];
};

void log_begin(struct log_event *e, enum log_level level, const char *event);
/* A string field; NULL or "" is left out. */
void log_str(struct log_event *e, const char *key, const char *value);
/* At most n bytes of value (stops at a NUL); nothing when empty. */
void log_strn(struct log_event *e, const char *key, const char *value, size_t n);
void log_int(struct log_event *e, const char *key, long long value);
/* A duration given in microseconds, written in milliseconds with three
 * decimals ("latency_ms": 1.234). */
void log_ms(struct log_event *e, const char *key, uint64_t us);
void log_end(struct log_event *e);

/* ---- sentences ----------------------------------------------------------- */

/* A line of free text: event is the message's leading "word: " when it
 * has one ("lifecycle: 3 steps" -> event "lifecycle", msg "3 steps"),
 * else "message"; the text is the msg field. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
