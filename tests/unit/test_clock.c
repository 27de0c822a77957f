/* The clock's formatting and parsing at the edges of what the wire can
 * show (four-digit years): every buffer terminated and exactly as long as
 * its format, out-of-range times clamped and reported, out-of-range text
 * refused, and the offsets a restart accepts. */
#include "check.h"

#include <stdint.h>
#include <string.h>

#include "clock.h"

/* out[size] holds a terminated string of exactly size - 1 characters and
 * nothing past the terminator was written (the canary stays). */
static int whole(const char *out, size_t size)
{
	return strlen(out) == size - 1 && (unsigned char)out[size] == 0xA5;
}

static void format_bounds(void)
{
	char iso[27], ymd[10], text[21];

	memset(iso, 0xA5, sizeof(iso));
	memset(ymd, 0xA5, sizeof(ymd));
	memset(text, 0xA5, sizeof(text));

	/* The last showable second. */
	CHECK(clock_format_iso8601(CLOCK_SHOWN_LAST, iso) == 0);
	CHECK_STR(iso, "9999-12-31T23:59:59+08:00");
	CHECK(whole(iso, 26));
	CHECK(clock_beijing_ymd(CLOCK_SHOWN_LAST, ymd) == 0);
	CHECK_STR(ymd, "99991231");
	CHECK(whole(ymd, 9));
	CHECK(clock_beijing_format(CLOCK_SHOWN_LAST, text) == 0);
	CHECK_STR(text, "9999-12-31 23:59:59");
	CHECK(whole(text, 20));

	/* The first. */
	CHECK(clock_format_iso8601(CLOCK_SHOWN_FIRST, iso) == 0);
	CHECK_STR(iso, "1970-01-01T00:00:00+08:00");
	CHECK(clock_beijing_ymd(CLOCK_SHOWN_FIRST, ymd) == 0);
	CHECK_STR(ymd, "19700101");

	/* The latest settable time. */
	CHECK(clock_format_iso8601(CLOCK_LATEST, iso) == 0);
	CHECK_STR(iso, CLOCK_LATEST_TEXT);

	/* Past year 9999 (the crash of issue 9): clamped, reported, whole. */
	static const int64_t past[] = {CLOCK_SHOWN_LAST + 1, CLOCK_SHOWN_LAST + 86400 * 400,
				       INT64_C(1) << 40, INT64_MAX / 2, INT64_MAX - 28800};
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		CHECK(clock_format_iso8601(past[i], iso) == -1);
		CHECK_STR(iso, "9999-12-31T23:59:59+08:00");
		CHECK(whole(iso, 26));
		CHECK(clock_beijing_ymd(past[i], ymd) == -1);
		CHECK_STR(ymd, "99991231");
		CHECK(whole(ymd, 9));
		CHECK(clock_beijing_format(past[i], text) == -1);
		CHECK_STR(text, "9999-12-31 23:59:59");
		CHECK(whole(text, 20));
	}
	/* Before 1970 in Beijing. */
	static const int64_t before[] = {CLOCK_SHOWN_FIRST - 1, -(INT64_C(1) << 40), INT64_MIN / 2};
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		CHECK(clock_format_iso8601(before[i], iso) == -1);
		CHECK_STR(iso, "1970-01-01T00:00:00+08:00");
		CHECK(whole(iso, 26));
		CHECK(clock_beijing_ymd(before[i], ymd) == -1);
		CHECK_STR(ymd, "19700101");
		CHECK(clock_beijing_format(before[i], text) == -1);
		CHECK_STR(text, "1970-01-01 00:00:00");
	}
}

/* The day of a send_listid across Beijing midnights, forwards and back
 * (clock_beijing_ymd remembers the last day it formatted). */
static void ymd_days(void)
{
	const int64_t midnight = INT64_C(1709222400); /* 2024-03-01 00:00 Beijing */
	static const struct {
		int64_t t;
		const char *ymd;
	} at[] = {
		{midnight - 1, "20240229"},	{midnight, "20240301"},
		{midnight + 86399, "20240301"}, {midnight + 86400, "20240302"},
		{midnight - 86401, "20240228"}, {midnight - 1, "20240229"},
	};
	char ymd[9];

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		CHECK(clock_beijing_ymd(at[i].t, ymd) == 0);
		CHECK_STR(ymd, at[i].ymd);
	}
}

static void parse_bounds(void)
{
	int64_t t = 7;

	CHECK(clock_parse_iso8601("9999-12-31T23:59:59+08:00", &t) == 0);
	CHECK(t == CLOCK_SHOWN_LAST);
	CHECK(clock_parse_iso8601(CLOCK_LATEST_TEXT, &t) == 0);
	CHECK(t == CLOCK_LATEST);
	CHECK(clock_parse_iso8601("1970-01-01T00:00:00+08:00", &t) == 0);
	CHECK(t == CLOCK_SHOWN_FIRST);

	/* Text that is not a time the clock could be set to. */
	static const char *const bad[] = {
		"10000-01-01T00:00:00+08:00", "+9999-01-01T00:00:00+08:00",
		"1969-12-31T23:59:59Z",	      "9999-13-01T00:00:00+08:00",
		"9999-12-32T00:00:00+08:00",  "9999-12-31T24:00:00+08:00",
		"9999-12-31T23:60:00+08:00",  "9999-12-31T23:59:60+08:00",
		"9999-12-31T23:59:59+24:00",  "9999-12-31T23:59:59+08:60",
		"9999-12-31T23:59:59",	      "9999-12-31T23:59:59+0800",
		"9999-12-31T23:59:59+08:00x", "",
		"-001-01-01T00:00:00Z",	      "9999-02-30T00:00:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 7;
		if (clock_parse_iso8601(bad[i], &t) != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(t == 7);
	}
}

static void offset_range(void)
{
	const int64_t real = INT64_C(1790000000);

	CHECK(clock_offset_in_range(0, real));
	CHECK(clock_offset_in_range(CLOCK_LATEST - real, real));
	CHECK(clock_offset_in_range(CLOCK_LATEST + CLOCK_GRACE - real, real));
	CHECK(!clock_offset_in_range(CLOCK_LATEST + CLOCK_GRACE - real + 1, real));
	CHECK(!clock_offset_in_range(-1, real));
	CHECK(!clock_offset_in_range(INT64_MAX, real));
	/* Whatever the clock may reach, the longest chain of steps after it
	 * (settle 600 s, expiry 24 h, refund delay 30 days) stays showable. */
	CHECK(CLOCK_LATEST + CLOCK_GRACE + 600 + 86400 + 30 * 86400 <= CLOCK_SHOWN_LAST);
}

int main(void)
{
	format_bounds();
	parse_bounds();
	ymd_days();
	offset_range();
	return check_done("clock");
}
