/*
 * clock.h - business time. Every time the simulator shows or reasons
 * about (send_time, daily windows, expiry) comes from clock_now(); the
 * wire shows it in Beijing time (UTC+8, no zone marker).
 */
#ifndef REDPACK_CLOCK_H
#define REDPACK_CLOCK_H

#include <stdint.h>

#define CLOCK_BEIJING_OFFSET (8 * 3600)

/* Seconds since the epoch, business time. */
int64_t clock_now(void);

/* The Beijing calendar day of t as yyyymmdd into out[9]. */
void clock_beijing_ymd(int64_t t, char out[9]);

/* "yyyy-MM-dd HH:mm:ss" in Beijing time into out[20]. */
void clock_beijing_format(int64_t t, char out[20]);

/* The epoch second at which t's Beijing day began. */
int64_t clock_beijing_day_start(int64_t t);

#endif
