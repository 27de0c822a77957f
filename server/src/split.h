/*
 * split.h - ALL_RAND: total_amount fen into total_num shares by the
 * "double average" draw (protocol reference section 12), reproducible
 * from (seed, mch_id, mch_billno).
 */
#ifndef REDPACK_SPLIT_H
#define REDPACK_SPLIT_H

#include <stdint.h>

/* Fills shares[0..num) with amounts >= 1 fen summing to total, in the
 * order they are opened (seed user first). Requires num >= 1 and
 * total >= num; returns -1 otherwise, 0 on success. */
int split_all_rand(uint64_t seed, const char *mch_id, const char *mch_billno, int64_t total,
		   int num, int64_t *shares);

#endif
