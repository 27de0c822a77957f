/*
 * clock.c - real time, shown in Beijing time.
 */
#include "clock.h"

#include <string.h>
#include <time.h>

#include "log.h"

/* Set on the store's loop, read by both (handoff.h). */
static int64_t offset;

int64_t clock_real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t clock_now(void)
{
	return clock_real_now() + __atomic_load_n(&offset, __ATOMIC_RELAXED);
}

int64_t clock_offset(void)
{
	return __atomic_load_n(&offset, __ATOMIC_RELAXED);
}

void clock_set_offset(int64_t value)
{
	__atomic_store_n(&offset, value, __ATOMIC_RELAXED);
}

int clock_offset_in_range(int64_t value, int64_t real_now)
{
	return value >= 0 && value <= CLOCK_LATEST + CLOCK_GRACE - real_now;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int clock_parse_iso8601(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59 ||
	    y < 1970)
		return -1;
	const char *z = s + 19;
	if (strcmp(z, "Z") != 0) {
		if ((z[0] != '+' && z[0] != '-') || strlen(z) != 6 || digits(z + 1, 2, &oh) ||
		    z[3] != ':' || digits(z + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		sign = z[0] == '-' ? -1 : 1;
	}
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       sign * (oh * 3600 + om * 60);
	return 0;
}

/* ---- formatting ------------------------------------------------------- */

/* The Beijing wall clock of t, clamped to what four-digit years show.
 * Returns 0, or -1 (logged) when t had to be clamped. */
static int beijing_tm(int64_t t, struct tm *tm)
{
	int rc = 0;
	time_t local;

	if (t < CLOCK_SHOWN_FIRST || t > CLOCK_SHOWN_LAST) {
		log_error("clock: time %lld cannot be shown with a four-digit year; shown as %s",
			  (long long)t, t < CLOCK_SHOWN_FIRST ? "1970-01-01" : "9999-12-31");
		t = t < CLOCK_SHOWN_FIRST ? CLOCK_SHOWN_FIRST : CLOCK_SHOWN_LAST;
		rc = -1;
	}
	local = (time_t)(t + CLOCK_BEIJING_OFFSET);
	if (!gmtime_r(&local, tm)) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_year = 70;
		tm->tm_mday = 1;
		return -1;
	}
	return rc;
}

/* strftime into out[size], which must come out exactly size - 1 long;
 * anything else leaves the fallback (a terminated string of that length). */
static int format(int64_t t, const char *fmt, const char *fallback, char *out, size_t size)
{
	struct tm tm;
	int rc = beijing_tm(t, &tm);

	if (strftime(out, size, fmt, &tm) != size - 1) {
		log_error("clock: time %lld did not format as %s", (long long)t, fmt);
		memcpy(out, fallback, size);
		return -1;
	}
	return rc;
}

int clock_format_iso8601(int64_t t, char out[26])
{
	return format(t, "%Y-%m-%dT%H:%M:%S+08:00", "1970-01-01T08:00:00+08:00", out, 26);
}

int clock_beijing_ymd(int64_t t, char out[9])
{
	/* A send names its day in its send_listid: the last day formatted
	 * answers again until the clock leaves it (per thread). */
	static __thread int64_t day_start = -1, day_end = -1;
	static __thread char day[9];
	static __thread int day_rc;

	if (t < CLOCK_SHOWN_FIRST || t > CLOCK_SHOWN_LAST)
		return format(t, "%Y%m%d", "19700101", out, 9); /* clamped, reported */
	if (t < day_start || t >= day_end) {
		day_rc = format(t, "%Y%m%d", "19700101", day, sizeof(day));
		day_start = clock_beijing_day_start(t);
		day_end = day_start + 86400;
	}
	memcpy(out, day, sizeof(day));
	return day_rc;
}

int clock_beijing_format(int64_t t, char out[20])
{
	return format(t, "%Y-%m-%d %H:%M:%S", "1970-01-01 08:00:00", out, 20);
}

int64_t clock_beijing_day_start(int64_t t)
{
	int64_t local = t + CLOCK_BEIJING_OFFSET;
	int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	return day * 86400 - CLOCK_BEIJING_OFFSET;
}
