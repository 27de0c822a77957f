/*
 * deltas.h - counter changes held back until the group commit: the rate,
 * status, day and balance counters a batch of sends adds to, summed by
 * key in memory and written once per key when the batch commits (store.c),
 * with marks to take back what a failed unit of work added.
 */
#ifndef REDPACK_DELTAS_H
#define REDPACK_DELTAS_H

#include <stddef.h>
#include <stdint.h>

enum delta_kind {
	DELTA_RATE,	    /* rate_second: (mch_id, second) count */
	DELTA_STATUS,	    /* status_count: (mch_id, status) count */
	DELTA_MERCHANT_DAY, /* day_merchant: (mch_id, day) amount */
	DELTA_USER_DAY,	    /* day_user: (mch_id, openid, day) count, amount */
	DELTA_BALANCE,	    /* merchants.balance: (mch_id) amount */
};

#define DELTA_KEY_MAX 132 /* STORE_ID_MAX */

struct delta {
	enum delta_kind kind;
	char mch_id[DELTA_KEY_MAX];
	char text[DELTA_KEY_MAX]; /* the status, the openid, or "" */
	int64_t k;		  /* the second, the day, or 0 */
	int64_t count, amount;
};

struct deltas;

struct deltas *deltas_new(void);
void deltas_free(struct deltas *d);

/* Adds count and amount to the delta of key (kind, mch_id, text, k):
 * text NULL is "". Keys longer than DELTA_KEY_MAX - 1 bytes are refused:
 * -1, and nothing is held (the caller writes such a change itself). */
int deltas_add(struct deltas *d, enum delta_kind kind, const char *mch_id, const char *text,
	       int64_t k, int64_t count, int64_t amount);

/* The delta held for one key, or NULL. */
const struct delta *deltas_find(const struct deltas *d, enum delta_kind kind, const char *mch_id,
				const char *text, int64_t k);

/* The sum of the counts held for kind and mch_id with k >= since. */
int64_t deltas_count_since(const struct deltas *d, enum delta_kind kind, const char *mch_id,
			   int64_t since);

/* A mark, and taking back every deltas_add after it (a unit of work that
 * failed). Marks nest: undoing to one drops the marks after it. */
size_t deltas_mark(const struct deltas *d);
void deltas_undo(struct deltas *d, size_t mark);

/* Each delta held, in the order its key was first added. A key an undo
 * brought back to nothing may hold 0 and 0. */
size_t deltas_count(const struct deltas *d);
const struct delta *deltas_at(const struct deltas *d, size_t i);

/* Drops everything held (after it is written, or rolled back). */
void deltas_clear(struct deltas *d);

#endif
