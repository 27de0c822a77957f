/*
 * clock.c - real time, shown in Beijing time.
 */
#include "clock.h"

#include <time.h>

int64_t clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void beijing_tm(int64_t t, struct tm *tm)
{
	time_t local = (time_t)(t + CLOCK_BEIJING_OFFSET);
	gmtime_r(&local, tm);
}

void clock_beijing_ymd(int64_t t, char out[9])
{
	struct tm tm;
	beijing_tm(t, &tm);
	strftime(out, 9, "%Y%m%d", &tm);
}

void clock_beijing_format(int64_t t, char out[20])
{
	struct tm tm;
	beijing_tm(t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

int64_t clock_beijing_day_start(int64_t t)
{
	int64_t local = t + CLOCK_BEIJING_OFFSET;
	int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	return day * 86400 - CLOCK_BEIJING_OFFSET;
}
