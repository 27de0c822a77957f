/*
 * log.h - one line per event on stderr, as text or JSON. Callers never
 * pass secrets (API keys, private keys) to these functions.
 */
#ifndef REDPACK_LOG_H
#define REDPACK_LOG_H

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_set_format(enum log_format f);

/* While the front end holds a turn's answers (group commit), info lines
 * are kept and written together by log_flush, before the answers leave;
 * warnings and errors are written at once (after what is kept, in order). */
void log_hold(void);
void log_flush(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
