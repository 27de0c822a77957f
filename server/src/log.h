/*
 * log.h - one line per event on stderr, as text or JSON. Callers never
 * pass secrets (API keys, private keys) to these functions.
 */
#ifndef REDPACK_LOG_H
#define REDPACK_LOG_H

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_set_format(enum log_format f);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
