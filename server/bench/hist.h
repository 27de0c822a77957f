/*
 * hist.h - a latency histogram in the manner of HdrHistogram: buckets
 * that double in width every 32 steps, so every value from 1 us to
 * about 25 days is kept within 1/32 (3%) of its true value, in a fixed
 * 9 KiB array that merges by addition.
 */
#ifndef REDPACK_BENCH_HIST_H
#define REDPACK_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_EXP 41 /* values at or past 2^41 us are clamped */
#define HIST_BUCKETS (2 * HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS - 1) * HIST_SUB)

struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t total; /* values recorded */
	uint64_t max;	/* exact largest value */
	double sum;	/* for the mean */
};

/* Zeroes h (a zeroed struct is an empty histogram too). */
void hist_init(struct hist *h);

/* Records one value (microseconds). */
void hist_record(struct hist *h, uint64_t value);

/* Adds every value of from into into. */
void hist_merge(struct hist *into, const struct hist *from);

/* The smallest recorded value v such that at least pct percent of the
 * values are <= v, rounded up to its bucket's upper bound (never above
 * the exact max); 0 when h is empty. */
uint64_t hist_percentile(const struct hist *h, double pct);

#endif
