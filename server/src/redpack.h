/*
 * redpack.h - the business rules of a send (protocol reference sections
 * 10, 11 and 14 steps 5-11): scene and amount, appid bindings, rate,
 * idempotency by (mch_id, mch_billno), daily limits, balance, the split,
 * and the rows that record it all, in one transaction.
 */
#ifndef REDPACK_REDPACK_H
#define REDPACK_REDPACK_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "store.h"

enum hb_kind { HB_GROUP, HB_NORMAL };

struct redpack {
	struct store *store;
	uint64_t seed;	      /* the split seed (--seed) */
	int64_t refund_delay; /* seconds a packet stays RFUND_ING (--refund-delay) */
	/* The merchant whose reset is deleting its rows in slices (admin.c),
	 * "" none: meanwhile its API calls answer SYSTEMERROR (try again). */
	char resetting[STORE_ID_MAX];
};

/* A validated send request; strings borrowed for the call. Empty
 * optional strings are NULL. */
struct send_request {
	enum hb_kind kind;
	const char *mch_id, *mch_billno, *wxappid, *re_openid;
	const char *send_name, *wishing, *act_name, *remark;
	const char *scene_id, *client_ip, *amt_type;
	int64_t total_amount, total_num;
	/* 0 (ERR_SUCCESS: nothing forced), or a code asked for by a magic
	 * value: a HELD code records the order as a real limit would,
	 * PROCESSING records it pending; the billno rules still come first. */
	int force;
	const char *peer_ip; /* the caller's address (NULL: unknown) */
	/* The merchant as the pipeline read it for this request (NULL: read
	 * it here). Nothing writes between the two on the event loop. */
	const struct merchant *merchant;
	/* With force PROCESSING: settle by itself after this many seconds
	 * (0: only by the control API) to settle_to ("SENT" or "FAILED"). */
	int64_t settle_after;
	const char *settle_to;
};

struct send_result {
	struct answer answer;
	/* When replayed is set, the answer echoes the stored order (the
	 * original answer again); otherwise the request. */
	int replayed;
	struct packet_row order;
};

/* Decides and records one send at business time now. Never fails
 * silently: a store error rolls back and answers SYSTEMERROR. */
void redpack_send(struct redpack *rp, const struct send_request *req, int64_t now,
		  struct send_result *out);

enum settle_result {
	SETTLE_OK,
	SETTLE_NOT_FOUND,
	SETTLE_AMBIGUOUS,   /* several merchants use the billno: name one */
	SETTLE_NOT_PENDING, /* only an order answered PROCESSING can settle */
	SETTLE_NOTENOUGH,   /* to SENT, but the balance no longer covers it */
	SETTLE_STORE_ERROR,
};

/* Settles a pending (PROCESSING) order at business time now: to SENT
 * (debit, shares, send_time now) or to FAILED, in one transaction. The
 * packet afterwards is copied to *order. */
enum settle_result redpack_settle(struct redpack *rp, const char *mch_id, const char *mch_billno,
				  int to_sent, int64_t now, struct packet_row *order);

/* Settles the pending order with row id (the sweep, at its settle_at),
 * inside the caller's transaction. Returns 0 or -1. */
int redpack_settle_due(struct redpack *rp, int64_t id, int64_t now);

/* ---- merchants ---- */

/* A merchant's limits (protocol reference section 10), one row each: the
 * key the fixtures and the control API name it by, its field of struct
 * merchant, and the real service's default. 0 means unlimited. */
struct redpack_limit {
	const char *name;
	size_t offset;
	int64_t dflt;
};
extern const struct redpack_limit redpack_limits[];
#define REDPACK_LIMITS 4
/* Their names, ", "-separated, for a message. */
extern const char *const redpack_limit_names;

/* The field of m that redpack_limits[i] is. */
int64_t *redpack_limit_of(struct merchant *m, size_t i);

/* Writes a control API change of merchant m (read, then changed by the
 * caller: limits, API switch, allow-list) and moves its balance by delta
 * (0: not at all) as a ledger row of kind ("set", "topup") at business
 * time now, in one transaction; then reads m back. Returns 0, or -1 when
 * the store failed (nothing written). */
int redpack_merchant_update(struct redpack *rp, struct merchant *m, int64_t delta, const char *kind,
			    int64_t now);

/* 1 while mch_id's reset runs in slices (rp->resetting): none of its
 * rows may be read or written by the merchant API meanwhile. */
int redpack_resetting(const struct redpack *rp, const char *mch_id);

/* The most shares a packet has: above any total_num the field rules let
 * through (validate.c: a group's is 3-20), the size of every array of a
 * packet's shares (store.h: what one store_shares_insert writes). */
#define REDPACK_MAX_SHARES STORE_SHARES_MAX

#define REDPACK_QUERY_WINDOW (30 * 86400)	/* gethbinfo sees 30 days back */
#define REDPACK_QUERY_SHARES REDPACK_MAX_SHARES /* opened shares a query lists */

/* The opened shares of an order, newest first (rcv_time, then seq). */
struct opened_shares {
	struct share_row share[REDPACK_QUERY_SHARES];
	int count;
};

/* gethbinfo (spec 5): mch_id's order mch_billno, if it was created within
 * REDPACK_QUERY_WINDOW before now, copied to *order with its opened shares
 * in *opened. Returns SUCCESS, NOT_FOUND, or SYSTEMERROR on a store error.
 * Steps due but not swept yet are the caller's to catch up first. */
enum err_id redpack_query(struct redpack *rp, const char *mch_id, const char *mch_billno,
			  int64_t now, struct packet_row *order, struct opened_shares *opened);

/* The send_listid of packet id issued on Beijing day ymd ("yyyymmdd"):
 * "1000041701" + ymd + "30" + 11 digits, 31 digits in all. */
void redpack_listid(int64_t id, const char ymd[9], char out[48]);

#endif
