/*
 * lifecycle.c - claims, expiry, refunds, the clock.
 */
#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "status.h"
#include "store.h"
#include "util.h"

#define SWEEP_BATCH 256

struct shares {
	struct share_row rows[REDPACK_MAX_SHARES];
	int count;
};

static void on_share(void *arg, const struct share_row *share)
{
	struct shares *s = arg;
	if (s->count < REDPACK_MAX_SHARES)
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
	switch (store_packet_resolve(rp->store, mch_id, mch_billno, p)) {
	case STORE_RESOLVE_FOUND:
		return 0;
	case STORE_RESOLVE_NOT_FOUND:
		out->result = CLAIM_NOT_FOUND;
		break;
	case STORE_RESOLVE_AMBIGUOUS:
		out->result = CLAIM_AMBIGUOUS;
		break;
	case STORE_RESOLVE_ERROR:
		out->result = CLAIM_STORE_ERROR;
		break;
	}
	return -1;
}

static enum claim_result by_status(const struct packet_row *p, int64_t now)
{
	int st = status_parse(p->status);

	if (st >= 0 && !status_issued(st))
		return CLAIM_NOT_ISSUED;
	if (st == STATUS_RECEIVED)
		return CLAIM_ALL_OPENED;
	if (st != STATUS_SENT || now >= p->send_time + LIFECYCLE_EXPIRY)
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
	    (opened + 1 == sh.count &&
	     store_packet_set_status(rp->store, p.id, STATUS_RECEIVED) != 0)) {
		out->result = CLAIM_STORE_ERROR;
		return;
	}
	out->seq = sh.rows[next].seq;
	out->amount = sh.rows[next].amount;
	out->rcv_time = now;
	snprintf(out->status, sizeof(out->status), "%s",
		 status_name(opened + 1 == sh.count ? STATUS_RECEIVED : STATUS_SENT));
}

void lifecycle_claim(struct redpack *rp, const char *mch_id, const char *mch_billno,
		     const char *openid, int64_t now, struct claim_outcome *out)
{
	memset(out, 0, sizeof(*out));
	/* Whatever fell due and is not swept yet (a settle, the expiry)
	 * happens first, in its own unit: a refused claim keeps it. */
	lifecycle_catch_up_billno(rp, mch_id, mch_billno, now);
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

/* ---- one packet's due steps ------------------------------------------- */

static const char *const step_names[] = {
	[DUE_EXPIRE] = "expire",
	[DUE_REFUND] = "refund",
	[DUE_FAIL] = "fail",
	[DUE_SETTLE] = "settle",
};

/* One step for one packet, taken as of at (when it fell due); the caller
 * holds the transaction. */
static int step(struct redpack *rp, enum store_due which, int64_t id, int64_t at)
{
	struct packet_row p;
	struct shares sh;
	int64_t unopened = 0;

	if (store_packet_by_id(rp->store, id, &p) != 1)
		return -1;
	switch (which) {
	case DUE_EXPIRE:
		return store_packet_set_status(rp->store, id, STATUS_RFUND_ING);
	case DUE_FAIL:
		return store_packet_set_status(rp->store, id, STATUS_FAILED);
	case DUE_SETTLE:
		/* Issued at settle_at: send_time, the ledger and the expiry
		 * all count from then, not from when a sweep noticed. */
		return redpack_settle_due(rp, id, at);
	case DUE_REFUND:
		if (load_shares(rp->store, id, &sh) != 0)
			return -1;
		for (int i = 0; i < sh.count; i++)
			if (!sh.rows[i].openid[0])
				unopened += sh.rows[i].amount;
		if (store_packet_set_refund(rp->store, id, STATUS_REFUND, at, unopened) != 0)
			return -1;
		return unopened ? store_ledger_add(rp->store, p.mch_id, unopened, "refund", id, at)
				: 0;
	}
	return -1;
}

/* The next step of p and when it fell (or falls) due. 0: none left. A
 * pending order settles at settle_at unless its day ran out first. */
static int next_step(const struct redpack *rp, const struct packet_row *p, int64_t settle_at,
		     enum store_due *which, int64_t *at)
{
	int st = status_parse(p->status);

	if (st == STATUS_SENDING) {
		int settles = !p->err_code[0] && settle_at &&
			      settle_at < p->created_at + LIFECYCLE_EXPIRY;
		*which = settles ? DUE_SETTLE : DUE_FAIL;
		*at = settles ? settle_at : p->created_at + LIFECYCLE_EXPIRY;
	} else if (st == STATUS_SENT) {
		*which = DUE_EXPIRE;
		*at = p->send_time + LIFECYCLE_EXPIRY;
	} else if (st == STATUS_RFUND_ING) {
		*which = DUE_REFUND;
		*at = p->send_time + LIFECYCLE_EXPIRY + rp->refund_delay;
	} else {
		return 0;
	}
	return 1;
}

/* The oldest step of packet id due at now, in the caller's transaction.
 * Returns 1 when a step was taken, 0 when none is due, -1 with the
 * failing step's name in *failed. */
static int one_step(struct redpack *rp, int64_t id, int64_t now, const char **failed)
{
	struct packet_row *p = xmalloc(sizeof(*p));
	enum store_due which;
	int64_t at, settle_at = 0;
	int rc = 0;

	if (store_packet_by_id(rp->store, id, p) != 1 ||
	    (status_is(p->status, STATUS_SENDING) &&
	     store_packet_settle_at(rp->store, id, &settle_at) != 0))
		rc = -1;
	else if (next_step(rp, p, settle_at, &which, &at) && at <= now &&
		 (rc = step(rp, which, id, at) == 0 ? 1 : -1) < 0)
		*failed = step_names[which];
	free(p);
	return rc;
}

/* Catches one packet up, each step a unit of its own (a savepoint when a
 * batch is open): settle, expire, refund are three steps at most, each
 * moving the status on. A failing step stops this packet only, keeping
 * the steps before it. Adds to report (NULL: none). Returns the steps
 * taken, or -1. */
static int catch_up_unit(struct redpack *rp, int64_t id, int64_t now,
			 struct lifecycle_report *report)
{
	const char *failed = "read";
	int n = 0, rc = 0, open = 0;

	store_error_clear(rp->store);
	for (int i = 0; i < 4; i++) {
		if (store_begin(rp->store) != 0) {
			rc = -1;
			break;
		}
		open = 1;
		rc = one_step(rp, id, now, &failed);
		if (rc == 1) {
			open = 0;
			if (store_commit(rp->store) != 0) {
				failed = "commit";
				rc = -1;
			}
		}
		if (rc != 1)
			break;
		n++;
	}
	if (rc < 0 && report && !report->failed)
		snprintf(report->error, sizeof(report->error), "%s", store_first_error(rp->store));
	if (open)
		store_rollback(rp->store);
	if (rc < 0)
		log_error("lifecycle: packet %lld: the %s step failed; retried next sweep",
			  (long long)id, failed);
	if (report) {
		report->packets++;
		if (rc < 0 && !report->failed++)
			report->failed_step = failed;
		report->steps += n;
	}
	return rc < 0 ? -1 : n;
}

int lifecycle_catch_up(struct redpack *rp, int64_t packet_id, int64_t now)
{
	return catch_up_unit(rp, packet_id, now, NULL);
}

int lifecycle_catch_up_billno(struct redpack *rp, const char *mch_id, const char *mch_billno,
			      int64_t now)
{
	struct packet_row *p = xmalloc(sizeof(*p));
	enum store_due which;
	int64_t at;
	int n = 0, rc = mch_billno ? store_packet_resolve(rp->store, mch_id, mch_billno, p)
				   : STORE_RESOLVE_NOT_FOUND;

	/* Most packets touched have nothing due: no unit of work for them
	 * (a pending order's settle_at is read inside the unit). */
	if (rc == STORE_RESOLVE_FOUND && next_step(rp, p, 0, &which, &at) &&
	    (at <= now || status_is(p->status, STATUS_SENDING)))
		n = catch_up_unit(rp, p->id, now, NULL);
	free(p);
	return rc < 0 ? -1 : n;
}

/* ---- sweeps in slices -------------------------------------------------- */

/* Each kind by its due key; a packet found by one kind is caught up
 * through every step due, so later kinds see it only if still due. */
static const enum store_due sweep_order[] = {DUE_SETTLE, DUE_FAIL, DUE_EXPIRE, DUE_REFUND};
#define SWEEP_KINDS ((int)(sizeof(sweep_order) / sizeof(sweep_order[0])))

static int64_t cutoff(const struct redpack *rp, enum store_due which, int64_t now)
{
	switch (which) {
	case DUE_SETTLE:
		return now;
	case DUE_FAIL:
	case DUE_EXPIRE:
		return now - LIFECYCLE_EXPIRY;
	case DUE_REFUND:
		return now - LIFECYCLE_EXPIRY - rp->refund_delay;
	}
	return now;
}

void lifecycle_round_start(struct lifecycle_round *round)
{
	memset(round, 0, sizeof(*round));
	round->key = INT64_MIN;
}

int lifecycle_sweep_slice(struct redpack *rp, struct lifecycle_round *round, int64_t now, int limit)
{
	int64_t ids[SWEEP_BATCH];
	struct lifecycle_round start = *round;
	int left = limit, own, lost = 0;

	/* Requests hold a batch until the end of their turn: not inside it. */
	if (store_batch_open(rp->store))
		return round->kind < SWEEP_KINDS;
	/* One commit for the slice; each step a savepoint in it, so a failing
	 * step rolls back alone. */
	own = store_batch_begin(rp->store) == 0;
	while (round->kind < SWEEP_KINDS && left > 0) {
		enum store_due which = sweep_order[round->kind];
		int ask = left < SWEEP_BATCH ? left : SWEEP_BATCH;
		int n;

		store_error_clear(rp->store);
		n = store_due_page(rp->store, which, cutoff(rp, which, now), &round->key,
				   &round->id, ids, ask);
		if (n < 0) {
			if (!round->report.failed++) {
				round->report.failed_step = "read";
				snprintf(round->report.error, sizeof(round->report.error), "%s",
					 store_first_error(rp->store));
			}
			n = 0; /* this kind again next round */
		}
		for (int i = 0; i < n && !lost; i++)
			if (catch_up_unit(rp, ids[i], now, &round->report) < 0 && own &&
			    !store_in_transaction(rp->store))
				lost = 1;
		if (lost) {
			/* SQLite rolled the whole slice back (a full database
			 * does): the slice again, each step committed alone. */
			store_batch_commit(rp->store);
			*round = start;
			own = 0;
			lost = 0;
			left = limit;
			continue;
		}
		left -= n;
		if (n < ask) {
			round->kind++;
			round->key = INT64_MIN;
			round->id = 0;
		}
	}
	if (own && store_batch_commit(rp->store) != 0 && !round->report.failed++) {
		round->report.failed_step = "commit";
		snprintf(round->report.error, sizeof(round->report.error),
			 "the sweep's commit failed (see the log)");
	}
	return round->kind < SWEEP_KINDS;
}

static void log_round(const struct lifecycle_round *round)
{
	if (round->report.steps)
		log_info("lifecycle: %lld steps on %lld packets", (long long)round->report.steps,
			 (long long)round->report.packets);
	if (round->report.failed)
		log_error(
			"lifecycle: %lld packets failed a step (first: %s: %s); retried next sweep",
			(long long)round->report.failed, round->report.failed_step,
			round->report.error);
}

int lifecycle_sweep(struct redpack *rp, int64_t now)
{
	struct lifecycle_round round;

	lifecycle_round_start(&round);
	while (lifecycle_sweep_slice(rp, &round, now, LIFECYCLE_SLICE))
		;
	log_round(&round);
	return round.report.failed ? -1 : (int)round.report.steps;
}

/* ---- the background sweeper -------------------------------------------- */

struct lifecycle_sweeper {
	struct redpack *rp;
	struct event *tick; /* each second: start a round */
	struct event *more; /* zero timeout: the round's next slice */
	struct lifecycle_round round;
	int running;
};

/* The one a clock move kicks (one server, one sweeper). */
static struct lifecycle_sweeper *kicked;

/* The next slice on a timer of 0, not event_active: an activated event
 * runs in the same turn as the one that activated it, so a chain of them
 * would sweep everything before the loop polls its sockets again. A timer
 * fires only after the poll, so requests are served between slices. */
static void next_slice(struct lifecycle_sweeper *sw)
{
	static const struct timeval now = {0, 0};
	evtimer_add(sw->more, &now);
}

static void run_slice(struct lifecycle_sweeper *sw)
{
	if (lifecycle_sweep_slice(sw->rp, &sw->round, clock_now(), LIFECYCLE_SLICE)) {
		next_slice(sw);
		return;
	}
	log_round(&sw->round);
	sw->running = 0;
}

static void start_round(struct lifecycle_sweeper *sw)
{
	if (sw->running)
		return;
	lifecycle_round_start(&sw->round);
	sw->running = 1;
	run_slice(sw);
}

/* Each second: a round, by the one process that sweeps a shared
 * database (store_sweep_turn), on the clock as the database has it. */
static void on_tick(evutil_socket_t fd, short events, void *arg)
{
	struct lifecycle_sweeper *sw = arg;
	(void)fd, (void)events;
	if (sw->running || store_batch_open(sw->rp->store) || !store_sweep_turn(sw->rp->store))
		return;
	lifecycle_sync_clock(sw->rp);
	start_round(sw);
}

static void on_more(evutil_socket_t fd, short events, void *arg)
{
	(void)fd, (void)events;
	run_slice(arg);
}

struct lifecycle_sweeper *lifecycle_sweeper_new(struct event_base *base, struct redpack *rp)
{
	static const struct timeval every_second = {1, 0};
	struct lifecycle_sweeper *sw = xcalloc(1, sizeof(*sw));

	sw->rp = rp;
	sw->tick = event_new(base, -1, EV_PERSIST, on_tick, sw);
	sw->more = event_new(base, -1, 0, on_more, sw);
	if (!sw->tick || !sw->more || event_add(sw->tick, &every_second) != 0) {
		lifecycle_sweeper_free(sw);
		return NULL;
	}
	kicked = sw;
	return sw;
}

void lifecycle_sweeper_free(struct lifecycle_sweeper *sw)
{
	if (!sw)
		return;
	if (kicked == sw)
		kicked = NULL;
	if (sw->tick)
		event_free(sw->tick);
	if (sw->more)
		event_free(sw->more);
	free(sw);
}

int lifecycle_sweep_pending(void)
{
	return kicked && kicked->running;
}

/* ---- the clock --------------------------------------------------------- */

int lifecycle_load_clock(struct redpack *rp)
{
	int64_t offset;
	if (store_clock_offset(rp->store, &offset) != 0)
		return -1;
	if (!clock_offset_in_range(offset, clock_real_now())) {
		log_error("the database's business clock (offset %lld s) is outside what the wire"
			  " can show (up to " CLOCK_LATEST_TEXT "); start on a fresh database, or"
			  " remove the offset: %s <db> \"DELETE FROM meta WHERE key ="
			  " 'clock_offset'\"",
			  (long long)offset, store_shared(rp->store) ? "psql" : "sqlite3");
		return -1;
	}
	clock_set_offset(offset);
	return 0;
}

void lifecycle_sync_clock(struct redpack *rp)
{
	int64_t offset;
	if (store_shared(rp->store) && store_clock_offset(rp->store, &offset) == 0 &&
	    offset != clock_offset() && clock_offset_in_range(offset, clock_real_now()))
		clock_set_offset(offset);
}

void lifecycle_set_clock(struct redpack *rp, int64_t new_now, struct clock_move *out)
{
	int64_t now, offset;
	char from[26];
	struct lifecycle_round round;

	memset(out, 0, sizeof(*out));
	store_error_clear(rp->store);
	/* Decided and written in one transaction: on a shared database another
	 * process may have moved the clock since this one last looked. */
	if (store_begin(rp->store) != 0) {
		out->result = CLOCK_NOT_SAVED;
		out->failed_step = "clock";
		snprintf(out->error, sizeof(out->error), "%s", store_first_error(rp->store));
		return;
	}
	lifecycle_sync_clock(rp);
	now = clock_now();
	offset = clock_offset() + (new_now - now);
	clock_format_iso8601(now, from);
	if (new_now < now) {
		store_rollback(rp->store);
		out->result = CLOCK_BACKWARDS;
		snprintf(out->error, sizeof(out->error),
			 "the clock never goes backwards (it is %s, asked %lld)", from,
			 (long long)new_now);
		return;
	}
	if (new_now > CLOCK_LATEST && new_now > now) {
		store_rollback(rp->store);
		out->result = CLOCK_OUT_OF_RANGE;
		snprintf(out->error, sizeof(out->error),
			 "the clock can move from %s to " CLOCK_LATEST_TEXT
			 " (later, an expiry or refund could fall past the year 9999)",
			 from);
		return;
	}
	if (store_set_clock_offset(rp->store, offset) != 0 || store_commit(rp->store) != 0) {
		out->result = CLOCK_NOT_SAVED;
		out->failed_step = "clock";
		snprintf(out->error, sizeof(out->error), "%s", store_first_error(rp->store));
		store_rollback(rp->store);
		return;
	}
	clock_set_offset(offset);
	/* A first slice now, to report its failures; the sweeper does the
	 * rest between requests (reads catch their packet up themselves).
	 * With no sweeper (tests, tools), the whole sweep now. */
	lifecycle_round_start(&round);
	out->pending = lifecycle_sweep_slice(rp, &round, new_now, LIFECYCLE_SLICE);
	while (out->pending && !kicked)
		out->pending = lifecycle_sweep_slice(rp, &round, new_now, LIFECYCLE_SLICE);
	if (out->pending && kicked) {
		/* The sweeper's round starts over at the new time, now. */
		lifecycle_round_start(&kicked->round);
		kicked->running = 1;
		next_slice(kicked);
	}
	log_round(&round);
	out->steps = round.report.steps;
	out->failed = round.report.failed;
	out->failed_step = round.report.failed_step;
	snprintf(out->error, sizeof(out->error), "%s", round.report.error);
	out->result = out->failed ? CLOCK_STEPS_FAILED : CLOCK_MOVED;
}
