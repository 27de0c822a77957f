/*
 * lifecycle.c - claims, expiry, refunds, the clock.
 */
#include "lifecycle.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store.h"

#define MAX_SHARES 64
#define SWEEP_BATCH 256

struct shares {
	struct share_row rows[MAX_SHARES];
	int count;
};

static void on_share(void *arg, const struct share_row *share)
{
	struct shares *s = arg;
	if (s->count < MAX_SHARES)
		s->rows[s->count++] = *share;
}

static int load_shares(struct store *st, int64_t packet_id, struct shares *out)
{
	out->count = 0;
	return store_shares_each(st, packet_id, on_share, out);
}

/* ---- claims ------------------------------------------------------------ */

static const char *const claim_messages[] = {
	[CLAIM_OK] = "opened",
	[CLAIM_NOT_FOUND] = "no packet with this mch_billno",
	[CLAIM_AMBIGUOUS] = "several merchants use this mch_billno: add \"mch_id\"",
	[CLAIM_NOT_ISSUED] = "the packet was never issued (SENDING or FAILED)",
	[CLAIM_EXPIRED] = "the packet expired (24 hours after sending) or was refunded",
	[CLAIM_ALL_OPENED] = "every share is already opened",
	[CLAIM_SEED_FIRST] = "the seed user (re_openid) must open the first share",
	[CLAIM_NOT_RECEIVER] = "a normal packet opens for its receiver (re_openid) only",
	[CLAIM_TWICE] = "this openid already opened a share of this packet",
	[CLAIM_LIMIT] = "the opener's daily limit is reached",
	[CLAIM_STORE_ERROR] = "the database could not be written",
};

const char *lifecycle_claim_message(enum claim_result r)
{
	return claim_messages[r];
}

static int find_packet(struct redpack *rp, const char *mch_id, const char *mch_billno,
		       struct packet_row *p, struct claim_outcome *out)
{
	int rc, n = 0;

	if (mch_id) {
		rc = store_packet_find(rp->store, mch_id, mch_billno, p);
		n = rc == 1;
	} else {
		rc = store_packets_by_billno(rp->store, mch_billno, &n, p);
	}
	if (rc < 0)
		out->result = CLAIM_STORE_ERROR;
	else if (n == 0)
		out->result = CLAIM_NOT_FOUND;
	else if (n > 1)
		out->result = CLAIM_AMBIGUOUS;
	else
		return 0;
	return -1;
}

static enum claim_result by_status(const struct packet_row *p, int64_t now)
{
	if (strcmp(p->status, "SENDING") == 0 || strcmp(p->status, "FAILED") == 0)
		return CLAIM_NOT_ISSUED;
	if (strcmp(p->status, "RECEIVED") == 0)
		return CLAIM_ALL_OPENED;
	if (strcmp(p->status, "SENT") != 0 || now >= p->send_time + LIFECYCLE_EXPIRY)
		return CLAIM_EXPIRED;
	return CLAIM_OK;
}

/* The opener's daily limits; the seed user was counted at send time. */
static int check_opener(struct redpack *rp, const struct packet_row *p, const char *openid,
			int64_t amount, int64_t now, struct claim_outcome *out)
{
	struct merchant m;
	int64_t count = 0, sum = 0;

	if (strcmp(openid, p->re_openid) == 0)
		return 0;
	if (store_merchant_lookup(rp->store, p->mch_id, &m) != 1 ||
	    store_user_receipts_since(rp->store, p->mch_id, openid, clock_beijing_day_start(now),
				      &count, &sum) != 0) {
		out->result = CLAIM_STORE_ERROR;
		return -1;
	}
	if (m.packets_per_user_per_day > 0 && count >= m.packets_per_user_per_day)
		out->limit = ERR_SENDNUM_LIMIT;
	else if (m.amount_per_user_per_day > 0 && sum + amount > m.amount_per_user_per_day)
		out->limit = ERR_RCVDAMOUNT_LIMIT;
	else
		return 0;
	out->result = CLAIM_LIMIT;
	return -1;
}

static void decide_claim(struct redpack *rp, const char *mch_id, const char *mch_billno,
			 const char *openid, int64_t now, struct claim_outcome *out)
{
	struct packet_row p;
	struct shares sh;
	int opened = 0, next = -1;

	if (find_packet(rp, mch_id, mch_billno, &p, out) != 0)
		return;
	snprintf(out->mch_id, sizeof(out->mch_id), "%s", p.mch_id);
	snprintf(out->status, sizeof(out->status), "%s", p.status);
	if ((out->result = by_status(&p, now)) != CLAIM_OK)
		return;
	if (load_shares(rp->store, p.id, &sh) != 0) {
		out->result = CLAIM_STORE_ERROR;
		return;
	}
	for (int i = 0; i < sh.count; i++) {
		if (sh.rows[i].openid[0]) {
			opened++;
			if (strcmp(sh.rows[i].openid, openid) == 0) {
				out->result = CLAIM_TWICE;
				return;
			}
		} else if (next < 0) {
			next = i;
		}
	}
	if (strcmp(p.hb_type, "NORMAL") == 0 && strcmp(openid, p.re_openid) != 0) {
		out->result = CLAIM_NOT_RECEIVER;
		return;
	}
	if (opened == 0 && strcmp(openid, p.re_openid) != 0) {
		out->result = CLAIM_SEED_FIRST;
		return;
	}
	if (next < 0) {
		out->result = CLAIM_ALL_OPENED;
		return;
	}
	if (check_opener(rp, &p, openid, sh.rows[next].amount, now, out) != 0)
		return;
	if (store_share_open(rp->store, p.id, sh.rows[next].seq, openid, now) != 0 ||
	    (opened + 1 == sh.count && store_packet_set_status(rp->store, p.id, "RECEIVED") != 0)) {
		out->result = CLAIM_STORE_ERROR;
		return;
	}
	out->seq = sh.rows[next].seq;
	out->amount = sh.rows[next].amount;
	out->rcv_time = now;
	snprintf(out->status, sizeof(out->status), "%s", opened + 1 == sh.count ? "RECEIVED" : "SENT");
}

void lifecycle_claim(struct redpack *rp, const char *mch_id, const char *mch_billno,
		     const char *openid, int64_t now, struct claim_outcome *out)
{
	memset(out, 0, sizeof(*out));
	if (store_begin(rp->store) != 0) {
		out->result = CLAIM_STORE_ERROR;
		return;
	}
	decide_claim(rp, mch_id, mch_billno, openid, now, out);
	if (out->result != CLAIM_OK || store_commit(rp->store) != 0) {
		store_rollback(rp->store);
		if (out->result == CLAIM_OK)
			out->result = CLAIM_STORE_ERROR;
	}
}

/* ---- expiry and refund ------------------------------------------------- */

/* One step for one packet; the caller holds the transaction. */
static int step(struct redpack *rp, enum store_due which, int64_t id, int64_t now)
{
	struct packet_row p;
	struct shares sh;
	int64_t unopened = 0, due;

	if (store_packet_by_id(rp->store, id, &p) != 1)
		return -1;
	switch (which) {
	case DUE_EXPIRE:
		return store_packet_set_status(rp->store, id, "RFUND_ING");
	case DUE_FAIL:
		return store_packet_set_status(rp->store, id, "FAILED");
	case DUE_SETTLE:
		return redpack_settle_due(rp, id, now);
	case DUE_REFUND:
		if (load_shares(rp->store, id, &sh) != 0)
			return -1;
		for (int i = 0; i < sh.count; i++)
			if (!sh.rows[i].openid[0])
				unopened += sh.rows[i].amount;
		/* The refund happened when it fell due, whatever the clock
		 * says now: a jump of ten days refunds at day one. */
		due = p.send_time + LIFECYCLE_EXPIRY + rp->refund_delay;
		if (store_packet_set_refund(rp->store, id, "REFUND", due, unopened) != 0)
			return -1;
		return unopened ? store_ledger_add(rp->store, p.mch_id, unopened, "refund", id, due) : 0;
	}
	return -1;
}

/* Runs one kind of step over every packet due, a batch per transaction. */
static int sweep_kind(struct redpack *rp, enum store_due which, int64_t cutoff)
{
	int64_t ids[SWEEP_BATCH];
	int total = 0;

	for (;;) {
		if (store_begin(rp->store) != 0)
			return -1;
		int n = store_due_ids(rp->store, which, cutoff, ids, SWEEP_BATCH);
		if (n <= 0) {
			store_rollback(rp->store);
			return n < 0 ? -1 : total;
		}
		for (int i = 0; i < n; i++) {
			if (step(rp, which, ids[i], cutoff) != 0) {
				store_rollback(rp->store);
				return -1;
			}
		}
		if (store_commit(rp->store) != 0)
			return -1;
		total += n;
	}
}

int lifecycle_sweep(struct redpack *rp, int64_t now)
{
	int a = sweep_kind(rp, DUE_EXPIRE, now - LIFECYCLE_EXPIRY);
	int b = a < 0 ? -1 : sweep_kind(rp, DUE_REFUND, now - LIFECYCLE_EXPIRY - rp->refund_delay);
	int d = b < 0 ? -1 : sweep_kind(rp, DUE_SETTLE, now);
	int c = d < 0 ? -1 : sweep_kind(rp, DUE_FAIL, now - LIFECYCLE_EXPIRY);

	if (c < 0) {
		log_error("lifecycle: a sweep step failed; it will be retried");
		return -1;
	}
	if (a + b + c + d)
		log_info("lifecycle: %d expired, %d refunded, %d settled, %d held orders failed", a, b,
			 d, c);
	return a + b + c + d;
}

/* ---- the clock --------------------------------------------------------- */

int lifecycle_load_clock(struct redpack *rp)
{
	int64_t offset;
	if (store_clock_offset(rp->store, &offset) != 0)
		return -1;
	clock_set_offset(offset);
	return 0;
}

int lifecycle_set_clock(struct redpack *rp, int64_t new_now, char *err, size_t errlen)
{
	int64_t now = clock_now();
	int64_t offset = clock_offset() + (new_now - now);

	if (new_now < now) {
		snprintf(err, errlen, "the clock never goes backwards (it is %lld, asked %lld)",
			 (long long)now, (long long)new_now);
		return -1;
	}
	if (store_begin(rp->store) != 0 || store_set_clock_offset(rp->store, offset) != 0 ||
	    store_commit(rp->store) != 0) {
		store_rollback(rp->store);
		snprintf(err, errlen, "the database could not be written");
		return -1;
	}
	clock_set_offset(offset);
	lifecycle_sweep(rp, clock_now());
	return 0;
}
