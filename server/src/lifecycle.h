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

#define LIFECYCLE_EXPIRY (24 * 3600) /* unopened money goes back after a day */

enum claim_result {
	CLAIM_OK,
	CLAIM_NOT_FOUND,    /* no packet with this billno */
	CLAIM_AMBIGUOUS,    /* several merchants have it: say which */
	CLAIM_NOT_ISSUED,   /* SENDING or FAILED */
	CLAIM_EXPIRED,	    /* 24 hours passed, or refunded */
	CLAIM_ALL_OPENED,   /* RECEIVED */
	CLAIM_SEED_FIRST,   /* the seed user (re_openid) has not opened yet */
	CLAIM_NOT_RECEIVER, /* a normal packet opens for its receiver only */
	CLAIM_TWICE,	    /* this openid already opened a share */
	CLAIM_LIMIT,	    /* the opener's daily limits: see limit */
	CLAIM_STORE_ERROR,
};

struct claim_outcome {
	enum claim_result result;
	enum err_id limit; /* SENDNUM_LIMIT / RCVDAMOUNT_LIMIT for CLAIM_LIMIT */
	int seq;	   /* the share opened */
	int64_t amount;
	int64_t rcv_time;
	char status[16]; /* the packet's status afterwards */
	char mch_id[132];
};

/* Opens the next share of the packet (mch_id NULL: any merchant, if the
 * billno is unique) for openid at business time now, in one transaction. */
void lifecycle_claim(struct redpack *rp, const char *mch_id, const char *mch_billno,
		     const char *openid, int64_t now, struct claim_outcome *out);

/* A text for a claim result (for the control API's error body). */
const char *lifecycle_claim_message(enum claim_result r);

/* ---- timed steps ----
 * SENT -> RFUND_ING at send_time + 24 h; RFUND_ING -> REFUND (the
 * unopened shares back through the ledger) refund_delay seconds later;
 * a pending order (PROCESSING with a settle delay) settles at settle_at
 * (send_time = settle_at); a held or pending SENDING order fails 24 h
 * after creation. Each step takes effect as of its due time, whatever
 * the size of a clock jump, and a packet's steps run oldest first. */

/* What a sweep (or a part of one) did. */
struct lifecycle_report {
	int64_t packets;	 /* packets caught up (or tried) */
	int64_t steps;		 /* steps taken */
	int64_t failed;		 /* packets whose step failed: retried next sweep */
	const char *failed_step; /* the first failure: "settle", "expire", "refund",
				    "fail", "read", "commit"; NULL if none */
	char error[160];	 /* SQLite's message for it */
};

/* Runs every step of one packet due at now, in a unit of work of its own
 * (a savepoint when a group-commit batch is open). The read and write
 * paths call it for the packet they touch, so an answer never shows a
 * transition that is due but not swept yet. Returns the steps taken, or
 * -1 (logged; the packet stays as it was). */
int lifecycle_catch_up(struct redpack *rp, int64_t packet_id, int64_t now);

/* The same for the packet (mch_id, mch_billno); mch_id NULL: the packet
 * with this billno if only one merchant has it. No packet: 0. */
int lifecycle_catch_up_billno(struct redpack *rp, const char *mch_id, const char *mch_billno,
			      int64_t now);

/* The most packets one sweep slice catches up: a slice holds the event
 * loop for a bounded time, whatever the number of packets due. */
#define LIFECYCLE_SLICE 256

/* A sweep in progress: which kind of step, where in it, what it did. */
struct lifecycle_round {
	int kind;
	int64_t key, id;
	struct lifecycle_report report;
};

void lifecycle_round_start(struct lifecycle_round *round);

/* Catches up at most limit packets of round (each packet its own unit;
 * the slice one commit unless a batch is open), adding to round->report.
 * A packet whose step fails is passed over until the next round, so a
 * round always ends. Returns 1 when the round has more to do, 0 when it
 * is finished. */
int lifecycle_sweep_slice(struct redpack *rp, struct lifecycle_round *round, int64_t now,
			  int limit);

/* A whole round at once (start-up, before the loop runs; tests). Returns
 * the number of steps taken, or -1 when a packet failed a step. */
int lifecycle_sweep(struct redpack *rp, int64_t now);

/* The background sweeper: a round each second, run in slices of
 * LIFECYCLE_SLICE packets with a zero-timeout event between them, so
 * requests are served between slices. One per server (a clock move
 * restarts its round); the caller frees it with lifecycle_sweeper_free
 * (NULL allowed) before the base. NULL on failure. */
struct event_base;
struct lifecycle_sweeper;
struct lifecycle_sweeper *lifecycle_sweeper_new(struct event_base *base, struct redpack *rp);
void lifecycle_sweeper_free(struct lifecycle_sweeper *sw);

/* 1 while the sweeper's round is still running. */
int lifecycle_sweep_pending(void);

/* ---- the clock ---- */

enum clock_move_result {
	CLOCK_MOVED,	    /* moved, and the first slice's steps all taken */
	CLOCK_BACKWARDS,    /* refused: the clock never goes backwards */
	CLOCK_OUT_OF_RANGE, /* refused: past CLOCK_LATEST */
	CLOCK_NOT_SAVED,    /* refused: the offset could not be written */
	CLOCK_STEPS_FAILED, /* moved, but some packets failed a step (retried) */
};

struct clock_move {
	enum clock_move_result result;
	int pending;		 /* 1: more packets are due, the sweeper goes on */
	int64_t steps, failed;	 /* of the first slice */
	const char *failed_step; /* as in lifecycle_report */
	char error[200];	 /* why, for the answer */
};

/* Moves the business clock to new_now (never backwards, never past
 * CLOCK_LATEST), persists the offset, then runs a first sweep slice at
 * the new time (the whole sweep when no sweeper runs). out says what
 * happened; a refused move leaves the clock as it was. */
void lifecycle_set_clock(struct redpack *rp, int64_t new_now, struct clock_move *out);

/* Loads the persisted clock offset at start-up. -1 when it cannot be
 * read, or when it is out of range (logged, with how to fix it): the
 * server then refuses to start rather than show a year past 9999. */
int lifecycle_load_clock(struct redpack *rp);

/* On a database other processes share (store_shared), takes the clock's
 * offset another process may have moved; nothing otherwise. Called at
 * the start of each batch and clock move. */
void lifecycle_sync_clock(struct redpack *rp);

#endif
