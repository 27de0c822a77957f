/*
 * clock.h - business time. Every time the simulator shows or reasons
 * about (send_time, daily windows, expiry) comes from clock_now(); the
 * wire shows it in Beijing time (UTC+8, no zone marker).
 */
#ifndef REDPACK_CLOCK_H
#define REDPACK_CLOCK_H

#include <stdint.h>

#define CLOCK_BEIJING_OFFSET (8 * 3600)

/* Seconds since the epoch, business time: real time plus an offset that
 * only ever grows (the simulated clock of the control API). */
int64_t clock_now(void);

/* The offset in seconds, and setting it (loaded from the store at
 * start-up; the caller persists it and never lowers it). */
int64_t clock_offset(void);
void clock_set_offset(int64_t offset);

/* Real time, for what is not business time (HTTP Date, logs). */
int64_t clock_real_now(void);

/* Parses "yyyy-mm-ddThh:mm:ss" followed by "Z" or "+hh:mm"/"-hh:mm" into
 * epoch seconds. Returns 0 or -1. */
int clock_parse_iso8601(const char *text, int64_t *out);

/* t as "yyyy-mm-ddThh:mm:ss+08:00" (Beijing) into out[26]. */
void clock_format_iso8601(int64_t t, char out[26]);

/* The Beijing calendar day of t as yyyymmdd into out[9]. */
void clock_beijing_ymd(int64_t t, char out[9]);

/* "yyyy-MM-dd HH:mm:ss" in Beijing time into out[20]. */
void clock_beijing_format(int64_t t, char out[20]);

/* The epoch second at which t's Beijing day began. */
int64_t clock_beijing_day_start(int64_t t);

#endif
