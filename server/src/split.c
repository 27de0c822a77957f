/*
 * split.c - the double-average split on a seeded generator.
 *
 * The generator is splitmix64 seeded with the first 8 bytes of
 * SHA-256(seed ":" mch_id ":" mch_billno), so one (seed, merchant,
 * billno) always gives the same shares, on any machine.
 */
#include "split.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

static uint64_t next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [1, upper] without modulo bias. */
static int64_t uniform(uint64_t *state, int64_t upper)
{
	uint64_t range = (uint64_t)upper;
	uint64_t limit = UINT64_MAX - UINT64_MAX % range;
	uint64_t x;
	do
		x = next(state);
	while (x >= limit);
	return (int64_t)(x % range) + 1;
}

static uint64_t derive_state(uint64_t seed, const char *mch_id, const char *mch_billno)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[128];
	uint64_t state = 0;
	int n = snprintf(text, sizeof(text), "%llu:%s:%s", (unsigned long long)seed, mch_id,
			 mch_billno);

	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)strlen(text);
	EVP_Digest(text, (size_t)n, md, &mdlen, digest_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		state = state << 8 | md[i];
	return state;
}

int split_all_rand(uint64_t seed, const char *mch_id, const char *mch_billno, int64_t total,
		   int num, int64_t *shares)
{
	uint64_t state;
	int64_t remaining = total;

	if (num < 1 || total < num)
		return -1;
	state = derive_state(seed, mch_id, mch_billno);
	for (int left = num; left > 1; left--) {
		int64_t upper = 2 * remaining / left;
		if (upper > remaining - (left - 1))
			upper = remaining - (left - 1);
		if (upper < 1)
			upper = 1;
		int64_t amount = uniform(&state, upper);
		shares[num - left] = amount;
		remaining -= amount;
	}
	shares[num - 1] = remaining;
	return 0;
}
