/*
 * lifecycle.h - a packet's life after it is sent (protocol reference 5.3
 * and 12): shares opened one by one, the 24-hour expiry, the refund of
 * the unopened rest, held orders failing, and the business clock that
 * drives all of it.
 */
#ifndef REDPACK_LIFECYCLE_H
#define REDPACK_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "redpack.h"

#define LIFECYCLE_EXPIRY (24 * 3600)     /* unopened money goes back after a day */
#define LIFECYCLE_QUERY_WINDOW (30 * 86400) /* gethbinfo sees 30 days back */

enum claim_result {
	CLAIM_OK,
	CLAIM_NOT_FOUND,     /* no packet with this billno */
	CLAIM_AMBIGUOUS,     /* several merchants have it: say which */
	CLAIM_NOT_ISSUED,    /* SENDING or FAILED */
	CLAIM_EXPIRED,       /* 24 hours passed, or refunded */
	CLAIM_ALL_OPENED,    /* RECEIVED */
	CLAIM_SEED_FIRST,    /* the seed user (re_openid) has not opened yet */
	CLAIM_NOT_RECEIVER,  /* a normal packet opens for its receiver only */
	CLAIM_TWICE,         /* this openid already opened a share */
	CLAIM_LIMIT,         /* the opener's daily limits: see limit */
	CLAIM_STORE_ERROR,
};

struct claim_outcome {
	enum claim_result result;
	enum err_id limit;     /* SENDNUM_LIMIT / RCVDAMOUNT_LIMIT for CLAIM_LIMIT */
	int seq;               /* the share opened */
	int64_t amount;
	int64_t rcv_time;
	char status[16];       /* the packet's status afterwards */
	char mch_id[132];
};

/* Opens the next share of the packet (mch_id NULL: any merchant, if the
 * billno is unique) for openid at business time now, in one transaction. */
void lifecycle_claim(struct redpack *rp, const char *mch_id, const char *mch_billno,
		     const char *openid, int64_t now, struct claim_outcome *out);

/* A text for a claim result (for the control API's error body). */
const char *lifecycle_claim_message(enum claim_result r);

/* Runs every lifecycle step due at now: SENT -> RFUND_ING at send_time +
 * 24 h, RFUND_ING -> REFUND (refund of the unopened shares through the
 * ledger) refund_delay seconds later, held SENDING -> FAILED after 24 h.
 * Each step of each packet is one transaction, so a restart never loses
 * or doubles one. Returns the number of steps taken, or -1. */
int lifecycle_sweep(struct redpack *rp, int64_t now);

/* Moves the business clock to new_now (never backwards), persists the
 * offset, then sweeps. Returns 0, or -1 with a reason in err. */
int lifecycle_set_clock(struct redpack *rp, int64_t new_now, char *err, size_t errlen);

/* Loads the persisted clock offset at start-up. */
int lifecycle_load_clock(struct redpack *rp);

#endif
