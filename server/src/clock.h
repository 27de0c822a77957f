/*
 * clock.h - business time. Every time the simulator shows or reasons
 * about (send_time, daily windows, expiry) comes from clock_now(); the
 * wire shows it in Beijing time (UTC+8, no zone marker).
 */
#ifndef REDPACK_CLOCK_H
#define REDPACK_CLOCK_H

#include <stdint.h>

#define CLOCK_BEIJING_OFFSET (8 * 3600)

/* What the wire can show: four-digit years in Beijing time, from
 * 1970-01-01T00:00:00+08:00 to 9999-12-31T23:59:59+08:00. */
#define CLOCK_SHOWN_FIRST INT64_C(-28800)
#define CLOCK_SHOWN_LAST INT64_C(253402271999)

/* The latest business time the clock may reach, 9999-11-30T00:00:00+08:00:
 * the last showable second minus the longest chain of timed steps ahead of
 * a send (a 600 s settle delay, the 24 h expiry, a refund delay of up to
 * 30 days), rounded down to a day, so nothing computed from the clock can
 * pass the year 9999. */
#define CLOCK_LATEST INT64_C(253399507200)
#define CLOCK_LATEST_TEXT "9999-11-30T00:00:00+08:00"

/* Seconds since the epoch, business time: real time plus an offset that
 * only ever grows (the simulated clock of the control API). */
int64_t clock_now(void);

/* The offset in seconds, and setting it (loaded from the store at
 * start-up; the caller persists it and never lowers it). */
int64_t clock_offset(void);
void clock_set_offset(int64_t offset);

/* Real time, for what is not business time (HTTP Date, logs). */
int64_t clock_real_now(void);

/* A clock set to CLOCK_LATEST keeps running with real time: a restart up
 * to 12 hours later still accepts it (the margin above covers that). */
#define CLOCK_GRACE INT64_C(43200)

/* 1 when offset puts business time (real_now plus offset) between real
 * time and CLOCK_LATEST + CLOCK_GRACE: the offsets a restart accepts. */
int clock_offset_in_range(int64_t offset, int64_t real_now);

/* Parses "yyyy-mm-ddThh:mm:ss" followed by "Z" or "+hh:mm"/"-hh:mm" into
 * epoch seconds (years 1970 to 9999; the caller checks the range it
 * allows). Returns 0 or -1. */
int clock_parse_iso8601(const char *text, int64_t *out);

/* The formatters below always write a terminated string of the stated
 * length. A t outside CLOCK_SHOWN_FIRST..CLOCK_SHOWN_LAST (which the
 * clock's range keeps out) is logged and shown as the nearest showable
 * second; they then return -1, else 0. */

/* t as "yyyy-mm-ddThh:mm:ss+08:00" (Beijing) into out[26]. */
int clock_format_iso8601(int64_t t, char out[26]);

/* The Beijing calendar day of t as yyyymmdd into out[9]. */
int clock_beijing_ymd(int64_t t, char out[9]);

/* "yyyy-MM-dd HH:mm:ss" in Beijing time into out[20]. */
int clock_beijing_format(int64_t t, char out[20]);

/* The epoch second at which t's Beijing day began. */
int64_t clock_beijing_day_start(int64_t t);

#endif
