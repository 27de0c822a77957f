/*
 * hist.c - the log-bucket latency histogram (see hist.h).
 */
#include <string.h>

#include "hist.h"

/* Values below 2 * HIST_SUB have a bucket each; past that, a power of two
 * 2^k (k >= HIST_SUB_BITS + 1) is split into HIST_SUB equal buckets. */
static unsigned bucket_of(uint64_t v)
{
	unsigned k;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	if (v >= (UINT64_C(1) << HIST_MAX_EXP))
		v = (UINT64_C(1) << HIST_MAX_EXP) - 1;
	k = 63u - (unsigned)__builtin_clzll(v);
	return 2 * HIST_SUB + (k - HIST_SUB_BITS - 1) * HIST_SUB +
	       (unsigned)((v >> (k - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

static uint64_t upper_bound_of(unsigned b)
{
	unsigned k, sub;
	uint64_t width;

	if (b < 2 * HIST_SUB)
		return b;
	k = (b - 2 * HIST_SUB) / HIST_SUB + HIST_SUB_BITS + 1;
	sub = (b - 2 * HIST_SUB) % HIST_SUB;
	width = UINT64_C(1) << (k - HIST_SUB_BITS);
	return ((uint64_t)(HIST_SUB + sub) << (k - HIST_SUB_BITS)) + width - 1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_record(struct hist *h, uint64_t value)
{
	h->count[bucket_of(value)]++;
	h->total++;
	h->sum += (double)value;
	if (value > h->max)
		h->max = value;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		into->count[i] += from->count[i];
	into->total += from->total;
	into->sum += from->sum;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (h->total == 0)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->total + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			uint64_t v = upper_bound_of(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
