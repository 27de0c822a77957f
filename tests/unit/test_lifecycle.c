/* A packet's life after the send (tests/e2e/CONTRACT.md "Lifecycle
 * (issue 4)"): lifecycle_claim, lifecycle_sweep and lifecycle_set_clock
 * driven directly on a temp-file store loaded with the fixtures, the rows
 * checked through a second SQLite connection. Each scenario gets a fresh
 * world (its own database file).
 *
 * Usage: test_lifecycle [FIXTURES]   (default: fixtures/default.json) */
#include "check.h"
#include "sql_probe.h"
#include "unit_world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "fixtures.h"
#include "lifecycle.h"
#include "redpack.h"
#include "store.h"

#define SEED 42
#define MCH "10000098"
#define APPID "wx8888888888888888"
#define SEED_USER "oxTWIuGaIt6gTKsQRLau2M0yL16E"
#define MCH2 "10000099"
#define APPID2 "wx9999999999999999"
#define USER2 "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY"
#define LOAD "10000100"
#define LOAD_APPID "wx1000000000000000"

#define DAY INT64_C(86400)
/* 2024-03-01 12:00:00 Beijing (04:00 UTC). */
#define T0 INT64_C(1709265600)

static char dir[] = "/tmp/test_lifecycle.XXXXXX";
static char dbpath[300];
static const char *fixtures_path;
static struct store *store;
static struct redpack rp;
static int worlds;

/* ---- SQL on a second connection --------------------------------------- */

#define sql_int(...) sql_probe_int(dbpath, __VA_ARGS__)

#define sql_text(...) sql_probe_text(dbpath, __VA_ARGS__)

/* ---- worlds ------------------------------------------------------------ */

#define remove_db() world_remove_db(dbpath)

/* A fresh database with the fixtures, the split seed and refund_delay. */
static int world_open(int64_t refund_delay)
{
	if (world_open_numbered(dbpath, sizeof(dbpath), dir, &worlds, fixtures_path, T0 - 30 * DAY,
				SEED, &rp) != 0) {
		CHECK(0);
		store = NULL;
		return -1;
	}
	store = rp.store;
	rp.refund_delay = refund_delay;
	clock_set_offset(0);
	return 0;
}

static void world_close(void)
{
	world_store_close(&store, dbpath);
	clock_set_offset(0);
}

/* A merchant of our own with one official-account app. */
static void add_merchant(const char *mch_id, const char *appid, int64_t bal, int64_t per_user_num,
			 int64_t per_user_amount)
{
	CHECK(world_add_merchant(store, mch_id, appid, bal, 0, per_user_num, per_user_amount, 0,
				 T0 - 10 * DAY) == 0);
}

static int64_t balance(const char *mch_id)
{
	struct merchant m;
	return store_merchant_lookup(store, mch_id, &m) == 1 ? m.balance : -1;
}

/* ---- sends and claims -------------------------------------------------- */

#define send_at(...) world_send(&rp, __VA_ARGS__)

/* A group packet that must be issued. */
static void group(const char *mch_id, const char *appid, const char *billno, const char *openid,
		  int64_t amount, int64_t num, int64_t now)
{
	struct send_result res = send_at(HB_GROUP, mch_id, appid, billno, openid, amount, num, now);
	if (res.answer.err != ERR_SUCCESS)
		fprintf(stderr, "group %s: %s\n", billno, errors_info(res.answer.err)->code);
	CHECK(res.answer.err == ERR_SUCCESS);
}

static void normal(const char *mch_id, const char *appid, const char *billno, const char *openid,
		   int64_t amount, int64_t now)
{
	struct send_result res = send_at(HB_NORMAL, mch_id, appid, billno, openid, amount, 1, now);
	if (res.answer.err != ERR_SUCCESS)
		fprintf(stderr, "normal %s: %s\n", billno, errors_info(res.answer.err)->code);
	CHECK(res.answer.err == ERR_SUCCESS);
}

static struct claim_outcome claim(const char *mch_id, const char *billno, const char *openid,
				  int64_t now)
{
	struct claim_outcome out;
	memset(&out, 0xAB, sizeof(out)); /* lifecycle_claim must fill it */
	lifecycle_claim(&rp, mch_id, billno, openid, now, &out);
	return out;
}

static int64_t share_amount(const char *mch_id, const char *billno, int seq)
{
	return sql_int("SELECT s.amount FROM shares s JOIN packets p ON p.id = s.packet_id WHERE "
		       "p.mch_id = '%s' AND p.mch_billno = '%s' AND s.seq = %d",
		       mch_id, billno, seq);
}

static const char *status_of(const char *mch_id, const char *billno)
{
	return sql_text("SELECT status FROM packets WHERE mch_id = '%s' AND mch_billno = '%s'",
			mch_id, billno);
}

static int64_t packet_int(const char *mch_id, const char *billno, const char *column)
{
	return sql_int("SELECT %s FROM packets WHERE mch_id = '%s' AND mch_billno = '%s'", column,
		       mch_id, billno);
}

static int64_t refund_rows(const char *mch_id, const char *billno)
{
	return sql_int(
		"SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND packet_id = (SELECT id "
		"FROM packets WHERE mch_id = '%s' AND mch_billno = '%s')",
		mch_id, billno);
}

static int64_t refund_sum(const char *mch_id, const char *billno)
{
	return sql_int(
		"SELECT IFNULL(SUM(amount), 0) FROM ledger WHERE kind = 'refund' AND "
		"packet_id = (SELECT id FROM packets WHERE mch_id = '%s' AND mch_billno = '%s')",
		mch_id, billno);
}

static int64_t refund_at(const char *mch_id, const char *billno)
{
	return sql_int(
		"SELECT at FROM ledger WHERE kind = 'refund' AND packet_id = (SELECT id FROM "
		"packets WHERE mch_id = '%s' AND mch_billno = '%s')",
		mch_id, billno);
}

/* balance == SUM(ledger) everywhere; at most one refund row per packet,
 * equal to refund_amount for REFUND packets. */
static void ledger_consistent(void)
{
	CHECK(sql_int("SELECT COUNT(*) FROM merchants m WHERE m.balance != (SELECT "
		      "IFNULL(SUM(amount), "
		      "0) FROM ledger l WHERE l.mch_id = m.mch_id)") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets p WHERE (SELECT COUNT(*) FROM ledger l WHERE "
		      "l.packet_id = p.id AND l.kind = 'refund') > 1") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets p WHERE p.status = 'REFUND' AND "
		      "p.refund_amount "
		      "!= (SELECT IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id "
		      "AND "
		      "l.kind = 'refund')") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets p WHERE p.status = 'REFUND' AND "
		      "p.refund_amount "
		      "!= (SELECT IFNULL(SUM(amount), 0) FROM shares s WHERE s.packet_id = p.id "
		      "AND "
		      "s.openid IS NULL)") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status != 'REFUND' AND (refund_time IS "
		      "NOT "
		      "NULL OR refund_amount IS NOT NULL)") == 0);
}

/* ---- claims ------------------------------------------------------------ */

static void claims_group(void)
{
	struct claim_outcome o;
	int64_t s0, s1, s2, bal;

	if (world_open(0) != 0)
		return;
	group(MCH, APPID, "G1", SEED_USER, 300, 3, T0);
	bal = balance(MCH);
	s0 = share_amount(MCH, "G1", 0);
	s1 = share_amount(MCH, "G1", 1);
	s2 = share_amount(MCH, "G1", 2);
	CHECK(s0 + s1 + s2 == 300);

	/* The seed user opens first. */
	o = claim(NULL, "G1", "oUser0000000000000000000001", T0 + 10);
	CHECK(o.result == CLAIM_SEED_FIRST);
	CHECK_STR(o.status, "SENT");
	CHECK_STR(o.mch_id, MCH);
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE openid IS NOT NULL") == 0);

	o = claim(MCH, "G1", SEED_USER, T0 + 11);
	CHECK(o.result == CLAIM_OK);
	CHECK(o.seq == 0 && o.amount == s0 && o.rcv_time == T0 + 11);
	CHECK_STR(o.status, "SENT");
	CHECK_STR(o.mch_id, MCH);
	CHECK_STR(
		sql_text("SELECT openid || '@' || rcv_time FROM shares WHERE seq = 0 AND packet_id "
			 "= (SELECT id FROM packets WHERE mch_billno = 'G1')"),
		SEED_USER "@1709265611");

	/* Twice: refused, nothing changes. */
	o = claim(MCH, "G1", SEED_USER, T0 + 12);
	CHECK(o.result == CLAIM_TWICE);
	CHECK_STR(o.status, "SENT");
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE openid IS NOT NULL") == 1);

	o = claim(NULL, "G1", "oUser0000000000000000000001", T0 + 13);
	CHECK(o.result == CLAIM_OK && o.seq == 1 && o.amount == s1);
	CHECK_STR(o.status, "SENT");
	o = claim(NULL, "G1", "oUser0000000000000000000001", T0 + 14);
	CHECK(o.result == CLAIM_TWICE);
	o = claim(NULL, "G1", "oUser0000000000000000000002", T0 + 15);
	CHECK(o.result == CLAIM_OK && o.seq == 2 && o.amount == s2);
	CHECK_STR(o.status, "RECEIVED");
	CHECK_STR(status_of(MCH, "G1"), "RECEIVED");
	o = claim(NULL, "G1", "oUser0000000000000000000003", T0 + 16);
	CHECK(o.result == CLAIM_ALL_OPENED);
	CHECK_STR(o.status, "RECEIVED");

	/* Unknown billno, another merchant's view. */
	o = claim(NULL, "NOPE", SEED_USER, T0 + 17);
	CHECK(o.result == CLAIM_NOT_FOUND);
	o = claim(LOAD, "G1", SEED_USER, T0 + 17);
	CHECK(o.result == CLAIM_NOT_FOUND);

	/* The same billno at two merchants: the caller must say which. */
	group(MCH2, APPID2, "G1", USER2, 300, 3, T0 + 20);
	o = claim(NULL, "G1", USER2, T0 + 21);
	CHECK(o.result == CLAIM_AMBIGUOUS);
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE openid = '%s'", USER2) == 0);
	o = claim(MCH2, "G1", USER2, T0 + 22);
	CHECK(o.result == CLAIM_OK && o.seq == 0);
	CHECK_STR(o.mch_id, MCH2);

	/* Claims never move money. */
	CHECK(balance(MCH) == bal);
	CHECK(sql_int("SELECT COUNT(*) FROM ledger WHERE kind NOT IN ('fixture', 'send')") == 0);

	/* Every result has a message. */
	for (int r = CLAIM_OK; r <= CLAIM_STORE_ERROR; r++)
		CHECK(lifecycle_claim_message((enum claim_result)r) != NULL &&
		      lifecycle_claim_message((enum claim_result)r)[0] != '\0');
	ledger_consistent();
	world_close();
}

static void claims_expiry(void)
{
	struct claim_outcome o;

	if (world_open(0) != 0)
		return;
	group(MCH, APPID, "E1", SEED_USER, 300, 3, T0);
	/* The last second of the 24 hours still opens. */
	o = claim(MCH, "E1", SEED_USER, T0 + DAY - 1);
	CHECK(o.result == CLAIM_OK);
	/* From send_time + 24 h: expired, even before a sweep ran: the
	 * claim catches the packet up first (expired, refunded at once). */
	o = claim(MCH, "E1", "oUser0000000000000000000001", T0 + DAY);
	CHECK(o.result == CLAIM_EXPIRED);
	CHECK_STR(o.status, "REFUND");
	CHECK(packet_int(MCH, "E1", "refund_time") == T0 + DAY);
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 0);
	o = claim(MCH, "E1", "oUser0000000000000000000001", T0 + DAY + 1);
	CHECK(o.result == CLAIM_EXPIRED);
	CHECK_STR(o.status, "REFUND");
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE openid IS NOT NULL") == 1);
	ledger_consistent();
	world_close();

	/* RFUND_ING is expired too. */
	if (world_open(3600) != 0)
		return;
	group(MCH, APPID, "E2", SEED_USER, 300, 3, T0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 1);
	CHECK_STR(status_of(MCH, "E2"), "RFUND_ING");
	o = claim(MCH, "E2", SEED_USER, T0 + DAY + 1);
	CHECK(o.result == CLAIM_EXPIRED);
	CHECK_STR(o.status, "RFUND_ING");
	world_close();
}

static void claims_normal(void)
{
	struct claim_outcome o;

	if (world_open(0) != 0)
		return;
	normal(MCH, APPID, "N1", "oReceiver000000000000000001", 500, T0);
	CHECK_STR(
		sql_text("SELECT hb_type || '/' || total_num FROM packets WHERE mch_billno = 'N1'"),
		"NORMAL/1");
	o = claim(MCH, "N1", SEED_USER, T0 + 1);
	CHECK(o.result == CLAIM_NOT_RECEIVER);
	CHECK_STR(o.status, "SENT");
	o = claim(MCH, "N1", "oSomeone000000000000000001", T0 + 2);
	CHECK(o.result == CLAIM_NOT_RECEIVER);
	o = claim(MCH, "N1", "oReceiver000000000000000001", T0 + 3);
	CHECK(o.result == CLAIM_OK && o.seq == 0 && o.amount == 500 && o.rcv_time == T0 + 3);
	CHECK_STR(o.status, "RECEIVED");
	CHECK_STR(status_of(MCH, "N1"), "RECEIVED");
	o = claim(MCH, "N1", "oReceiver000000000000000001", T0 + 4);
	CHECK(o.result == CLAIM_ALL_OPENED || o.result == CLAIM_TWICE);
	o = claim(MCH, "N1", "oSomeone000000000000000001", T0 + 4);
	CHECK(o.result != CLAIM_OK);
	/* Received packets are never swept. */
	CHECK(lifecycle_sweep(&rp, T0 + 5 * DAY) == 0);
	CHECK_STR(status_of(MCH, "N1"), "RECEIVED");
	CHECK(refund_rows(MCH, "N1") == 0);
	world_close();
}

static void claims_held(void)
{
	struct claim_outcome o;
	struct send_result res;

	if (world_open(0) != 0)
		return;
	add_merchant("30000001", "wx3000000000000001", 100, 0, 0);
	res = send_at(HB_GROUP, "30000001", "wx3000000000000001", "H1", "oU", 300, 3, T0);
	CHECK(res.answer.err == ERR_NOTENOUGH);
	CHECK_STR(status_of("30000001", "H1"), "SENDING");
	o = claim(NULL, "H1", "oU", T0 + 1);
	CHECK(o.result == CLAIM_NOT_ISSUED);
	CHECK_STR(o.status, "SENDING");
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 1);
	o = claim(NULL, "H1", "oU", T0 + DAY + 1);
	CHECK(o.result == CLAIM_NOT_ISSUED);
	CHECK_STR(o.status, "FAILED");
	world_close();
}

static void claims_limits(void)
{
	struct claim_outcome o;
	int64_t day2 = clock_beijing_day_start(T0) + DAY, s1, s2;

	if (world_open(0) != 0)
		return;
	/* One packet per user per day: shares opened in others' packets count. */
	add_merchant("30000001", "wx3000000000000001", 1000000, 1, 0);
	group("30000001", "wx3000000000000001", "L1", "oS", 300, 3, T0);
	o = claim(NULL, "L1", "oS", T0 + 1); /* the seed user: counted at send time */
	CHECK(o.result == CLAIM_OK);
	o = claim(NULL, "L1", "oU", T0 + 2);
	CHECK(o.result == CLAIM_OK);
	group("30000001", "wx3000000000000001", "L2", "oV", 300, 3, T0 + 3);
	CHECK(claim(NULL, "L2", "oV", T0 + 4).result == CLAIM_OK);
	o = claim(NULL, "L2", "oU", T0 + 5);
	CHECK(o.result == CLAIM_LIMIT);
	CHECK(o.limit == ERR_SENDNUM_LIMIT);
	CHECK_STR(o.status, "SENT");
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE openid = 'oU'") == 1);
	/* oV received L2 today (as re_openid). */
	o = claim(NULL, "L1", "oV", T0 + 6);
	CHECK(o.result == CLAIM_LIMIT && o.limit == ERR_SENDNUM_LIMIT);
	/* The Beijing day: 23:59:59 still today, 00:00:00 a new day. */
	o = claim(NULL, "L2", "oU", day2 - 1);
	CHECK(o.result == CLAIM_LIMIT && o.limit == ERR_SENDNUM_LIMIT);
	o = claim(NULL, "L2", "oU", day2);
	CHECK(o.result == CLAIM_OK);
	/* A send to oU counts the share oU opened today too (issue 8.3:
	 * what a user received), so the daily count of 1 is used up. */
	CHECK(send_at(HB_GROUP, "30000001", "wx3000000000000001", "L3", "oU", 300, 3, day2 + 1)
		      .answer.err == ERR_SENDNUM_LIMIT);
	CHECK_STR(status_of("30000001", "L3"), "SENDING");

	/* The amount per user per day, the limit itself included. */
	add_merchant("30000002", "wx3000000000000002", 1000000, 0, 1000);
	group("30000002", "wx3000000000000002", "R1", "oS", 900, 3, T0);
	CHECK(claim(NULL, "R1", "oS", T0 + 1).result == CLAIM_OK);
	normal("30000002", "wx3000000000000002", "R2", "oU", 1000, T0 + 2);
	o = claim(NULL, "R1", "oU", T0 + 3);
	CHECK(o.result == CLAIM_LIMIT);
	CHECK(o.limit == ERR_RCVDAMOUNT_LIMIT);
	s1 = share_amount("30000002", "R1", 1);
	s2 = share_amount("30000002", "R1", 2);
	/* oW has 1000 - s1 already: s1 more is exactly the limit. */
	normal("30000002", "wx3000000000000002", "R3", "oW", 1000 - s1, T0 + 4);
	o = claim(NULL, "R1", "oW", T0 + 5);
	CHECK(o.result == CLAIM_OK && o.seq == 1 && o.amount == s1);
	/* oZ has 1000 - s2 + 1: one fen over. */
	if (1000 - s2 + 1 >= 100 && 1000 - s2 + 1 <= 20000) {
		normal("30000002", "wx3000000000000002", "R4", "oZ", 1000 - s2 + 1, T0 + 6);
		o = claim(NULL, "R1", "oZ", T0 + 7);
		CHECK(o.result == CLAIM_LIMIT && o.limit == ERR_RCVDAMOUNT_LIMIT);
	}
	/* Shares opened count by amount too: oW is at 1000 now. */
	group("30000002", "wx3000000000000002", "R5", "oY", 300, 3, T0 + 8);
	CHECK(claim(NULL, "R5", "oY", T0 + 9).result == CLAIM_OK);
	o = claim(NULL, "R5", "oW", T0 + 10);
	CHECK(o.result == CLAIM_LIMIT && o.limit == ERR_RCVDAMOUNT_LIMIT);

	/* Both limits hit: SENDNUM first. */
	add_merchant("30000003", "wx3000000000000003", 1000000, 1, 300);
	group("30000003", "wx3000000000000003", "B1", "oS", 300, 3, T0);
	group("30000003", "wx3000000000000003", "B2", "oU", 300, 3, T0);
	CHECK(claim(NULL, "B1", "oS", T0 + 1).result == CLAIM_OK);
	o = claim(NULL, "B1", "oU", T0 + 2);
	CHECK(o.result == CLAIM_LIMIT && o.limit == ERR_SENDNUM_LIMIT);
	ledger_consistent();
	world_close();
}

/* ---- sweeps ------------------------------------------------------------ */

static void sweep_no_delay(void)
{
	int64_t bal0, s0, r_total = 0;

	if (world_open(0) != 0)
		return;
	bal0 = balance(MCH);
	group(MCH, APPID, "G", SEED_USER, 300, 3, T0);
	CHECK(claim(MCH, "G", SEED_USER, T0 + 5).result == CLAIM_OK);
	s0 = share_amount(MCH, "G", 0);
	normal(MCH, APPID, "N", "oReceiver000000000000000001", 500, T0 + 10);
	group(MCH, APPID, "R", "oRcv", 600, 3, T0);
	CHECK(claim(MCH, "R", "oRcv", T0 + 1).result == CLAIM_OK);
	CHECK(claim(MCH, "R", "oA", T0 + 2).result == CLAIM_OK);
	CHECK(claim(MCH, "R", "oB", T0 + 3).result == CLAIM_OK);
	CHECK_STR(status_of(MCH, "R"), "RECEIVED");
	r_total = 600;
	add_merchant("30000001", "wx3000000000000001", 100, 0, 0);
	CHECK(send_at(HB_GROUP, "30000001", "wx3000000000000001", "H", "oU", 300, 3, T0 + 20)
		      .answer.err == ERR_NOTENOUGH);

	CHECK(lifecycle_sweep(&rp, T0) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY - 1) == 0);
	CHECK_STR(status_of(MCH, "G"), "SENT");
	/* Due: expired and refunded in the same sweep. */
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 2);
	CHECK_STR(status_of(MCH, "G"), "REFUND");
	CHECK(packet_int(MCH, "G", "refund_time") == T0 + DAY);
	CHECK(packet_int(MCH, "G", "refund_amount") == 300 - s0);
	CHECK(refund_rows(MCH, "G") == 1);
	CHECK(refund_sum(MCH, "G") == 300 - s0);
	CHECK(refund_at(MCH, "G") == T0 + DAY);
	CHECK_STR(status_of(MCH, "N"), "SENT");
	/* Twice: a no-op. */
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 0);
	CHECK(refund_rows(MCH, "G") == 1);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 9) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 10) == 2);
	CHECK_STR(status_of(MCH, "N"), "REFUND");
	CHECK(packet_int(MCH, "N", "refund_amount") == 500);
	CHECK(packet_int(MCH, "N", "refund_time") == T0 + 10 + DAY);
	/* The held order fails 24 h after it was created; its reason stays. */
	CHECK_STR(status_of("30000001", "H"), "SENDING");
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 19) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 20) == 1);
	CHECK_STR(status_of("30000001", "H"), "FAILED");
	CHECK_STR(sql_text("SELECT err_code || '|' || reason FROM packets WHERE mch_billno = 'H'"),
		  "NOTENOUGH|帐号余额不足，请到商户平台充值后再重试");
	CHECK(packet_int("30000001", "H", "send_time") == -1);
	CHECK(packet_int("30000001", "H", "refund_time") == -1);
	CHECK(sql_int("SELECT COUNT(*) FROM ledger WHERE packet_id = (SELECT id FROM packets WHERE "
		      "mch_billno = 'H')") == 0);
	CHECK(balance("30000001") == 100);
	/* Much later: nothing else to do; RECEIVED untouched. */
	CHECK(lifecycle_sweep(&rp, T0 + 40 * DAY) == 0);
	CHECK_STR(status_of(MCH, "R"), "RECEIVED");
	CHECK(refund_rows(MCH, "R") == 0);
	CHECK(balance(MCH) == bal0 - 300 - 500 - r_total + (300 - s0) + 500);
	ledger_consistent();
	world_close();
}

static void sweep_with_delay(void)
{
	int64_t bal0, s0;

	if (world_open(3600) != 0)
		return;
	bal0 = balance(MCH);
	group(MCH, APPID, "G", SEED_USER, 600, 3, T0);
	CHECK(claim(MCH, "G", SEED_USER, T0 + 1).result == CLAIM_OK);
	s0 = share_amount(MCH, "G", 0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY - 1) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 1);
	CHECK_STR(status_of(MCH, "G"), "RFUND_ING");
	CHECK(packet_int(MCH, "G", "refund_time") == -1);
	CHECK(packet_int(MCH, "G", "refund_amount") == -1);
	CHECK(refund_rows(MCH, "G") == 0);
	CHECK(balance(MCH) == bal0 - 600);
	CHECK(lifecycle_sweep(&rp, T0 + DAY) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 3599) == 0);
	CHECK_STR(status_of(MCH, "G"), "RFUND_ING");
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 3600) == 1);
	CHECK_STR(status_of(MCH, "G"), "REFUND");
	CHECK(packet_int(MCH, "G", "refund_time") == T0 + DAY + 3600);
	CHECK(packet_int(MCH, "G", "refund_amount") == 600 - s0);
	CHECK(refund_at(MCH, "G") == T0 + DAY + 3600);
	CHECK(balance(MCH) == bal0 - s0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 3600) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + 9 * DAY) == 0);
	CHECK(refund_rows(MCH, "G") == 1);
	ledger_consistent();
	world_close();
}

/* refund_time is when the refund fell due, whatever time the sweep runs. */
static void refund_due_time(void)
{
	if (world_open(3600) != 0)
		return;
	group(MCH, APPID, "A", SEED_USER, 300, 3, T0);
	normal(MCH, APPID, "B", "oReceiver000000000000000001", 400, T0 + 100);
	group(MCH, APPID, "C", "oSeedC", 300, 3, T0 + 200);
	/* C expires at one sweep, refunds at a much later one. */
	CHECK(lifecycle_sweep(&rp, T0 + 200 + DAY + 1800) == 3);
	CHECK_STR(status_of(MCH, "A"), "RFUND_ING");
	CHECK_STR(status_of(MCH, "C"), "RFUND_ING");
	/* The first sweep after ten days: every step at once, dated when due. */
	CHECK(lifecycle_sweep(&rp, T0 + 10 * DAY) == 3);
	CHECK(packet_int(MCH, "A", "refund_time") == T0 + DAY + 3600);
	CHECK(packet_int(MCH, "B", "refund_time") == T0 + 100 + DAY + 3600);
	CHECK(packet_int(MCH, "C", "refund_time") == T0 + 200 + DAY + 3600);
	CHECK(refund_at(MCH, "A") == T0 + DAY + 3600);
	CHECK(refund_at(MCH, "B") == T0 + 100 + DAY + 3600);
	CHECK(refund_at(MCH, "C") == T0 + 200 + DAY + 3600);
	CHECK(packet_int(MCH, "B", "refund_amount") == 400);
	CHECK(lifecycle_sweep(&rp, T0 + 20 * DAY) == 0);
	ledger_consistent();
	world_close();

	if (world_open(0) != 0)
		return;
	group(MCH, APPID, "D", SEED_USER, 300, 3, T0);
	CHECK(lifecycle_sweep(&rp, T0 + 5 * DAY) == 2);
	CHECK(packet_int(MCH, "D", "refund_time") == T0 + DAY);
	CHECK(refund_at(MCH, "D") == T0 + DAY);
	world_close();
}

/* More packets than one sweep batch: every one moves, once. */
static void sweep_many(void)
{
	char billno[32];
	int64_t bal0;

	if (world_open(0) != 0)
		return;
	bal0 = balance(LOAD);
	for (int i = 0; i < 300; i++) {
		snprintf(billno, sizeof(billno), "M%d", i);
		group(LOAD, LOAD_APPID, billno, "oLoadUser0000000000000000001", 300, 3, T0 + i);
	}
	CHECK(balance(LOAD) == bal0 - 300 * 300);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 1000) == 600);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") == 300);
	CHECK(sql_int("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'") == 300);
	CHECK(balance(LOAD) == bal0);
	CHECK(lifecycle_sweep(&rp, T0 + DAY + 1000) == 0);
	ledger_consistent();
	world_close();
}

/* ---- the clock --------------------------------------------------------- */

static struct clock_move moved;

static enum clock_move_result move_clock(int64_t to)
{
	lifecycle_set_clock(&rp, to, &moved);
	return moved.result;
}

static void set_clock(void)
{
	int64_t now, off, stored;
	struct send_result res;

	if (world_open(0) != 0)
		return;
	/* A fresh database: offset 0. */
	clock_set_offset(12345);
	CHECK(lifecycle_load_clock(&rp) == 0);
	CHECK(clock_offset() == 0);

	now = clock_now();
	res = send_at(HB_GROUP, MCH, APPID, "C1", SEED_USER, 300, 3, now);
	CHECK(res.answer.err == ERR_SUCCESS);

	CHECK(move_clock(now + 1000) == CLOCK_MOVED);
	off = clock_offset();
	CHECK(off >= 998 && off <= 1000);
	CHECK(clock_now() >= now + 1000 && clock_now() <= now + 1002);
	stored = sql_int("SELECT value FROM meta WHERE key = 'clock_offset'");
	CHECK(stored == off);

	/* Never backwards: refused, nothing stored. */
	CHECK(move_clock(clock_now() - 10) == CLOCK_BACKWARDS);
	CHECK(strstr(moved.error, "backwards") != NULL);
	CHECK(clock_offset() == off);
	CHECK(sql_int("SELECT value FROM meta WHERE key = 'clock_offset'") == off);
	/* Not moving at all is allowed. */
	CHECK(move_clock(clock_now()) == CLOCK_MOVED);

	/* Reloading restores the stored offset. */
	off = clock_offset();
	clock_set_offset(0);
	CHECK(lifecycle_load_clock(&rp) == 0);
	CHECK(clock_offset() == off);

	/* Moving the clock sweeps: C1 expires and is refunded at once. */
	CHECK_STR(status_of(MCH, "C1"), "SENT");
	CHECK(move_clock(now + DAY + 5) == CLOCK_MOVED);
	CHECK_STR(status_of(MCH, "C1"), "REFUND");
	CHECK(packet_int(MCH, "C1", "refund_time") == now + DAY);
	CHECK(sql_int("SELECT value FROM meta WHERE key = 'clock_offset'") == clock_offset());
	CHECK(clock_offset() >= DAY + 4);
	ledger_consistent();
	world_close();
}

/* ---- due times, slices, failures (issue 9) ------------------------------ */

/* A group order left pending (PROCESSING) that settles settle_after later. */
static void pending(const char *billno, int64_t settle_after, int64_t now)
{
	struct send_request r = world_request(HB_GROUP, MCH, APPID, billno, SEED_USER, 300, 3);
	struct send_result out;

	r.force = ERR_PROCESSING;
	r.settle_after = settle_after;
	redpack_send(&rp, &r, now, &out);
	CHECK(out.answer.err == ERR_PROCESSING);
}

static void one_jump(void)
{
	struct claim_outcome o;
	int64_t bal;

	/* refund_delay 3600: settle at T0 + 60, expire a day later, refund an
	 * hour after that; one sweep at T0 + 10 days does all three. */
	if (world_open(3600) != 0)
		return;
	bal = balance(MCH);
	pending("J1", 60, T0);
	CHECK(lifecycle_sweep(&rp, T0 + 10 * DAY) == 3);
	CHECK_STR(status_of(MCH, "J1"), "REFUND");
	CHECK(packet_int(MCH, "J1", "send_time") == T0 + 60);
	CHECK(packet_int(MCH, "J1", "refund_time") == T0 + 60 + DAY + 3600);
	CHECK(sql_int("SELECT at FROM ledger WHERE kind = 'send' AND packet_id ="
		      " (SELECT id FROM packets WHERE mch_billno = 'J1')") == T0 + 60);
	CHECK(sql_int("SELECT at FROM ledger WHERE kind = 'refund' AND packet_id ="
		      " (SELECT id FROM packets WHERE mch_billno = 'J1')") == T0 + 60 + DAY + 3600);
	CHECK(balance(MCH) == bal);
	o = claim(MCH, "J1", SEED_USER, T0 + 10 * DAY);
	CHECK(o.result == CLAIM_EXPIRED);
	ledger_consistent();
	world_close();

	/* No sweep at all: a claim catches the packet up itself. */
	if (world_open(0) != 0)
		return;
	pending("J2", 60, T0);
	o = claim(MCH, "J2", SEED_USER, T0 + 59);
	CHECK(o.result == CLAIM_NOT_ISSUED);
	o = claim(MCH, "J2", SEED_USER, T0 + 60);
	CHECK(o.result == CLAIM_OK);
	CHECK(packet_int(MCH, "J2", "send_time") == T0 + 60);
	o = claim(MCH, "J2", "oUser0000000000000000000001", T0 + 60 + DAY);
	CHECK(o.result == CLAIM_EXPIRED);
	CHECK_STR(o.status, "REFUND");
	CHECK(packet_int(MCH, "J2", "refund_time") == T0 + 60 + DAY);
	/* And lifecycle_catch_up_billno, as gethbinfo and a resend call it. */
	pending("J3", 600, T0);
	CHECK(lifecycle_catch_up_billno(&rp, MCH, "J3", T0 + 599) == 0);
	CHECK_STR(status_of(MCH, "J3"), "SENDING");
	CHECK(lifecycle_catch_up_billno(&rp, MCH, "J3", T0 + 5 * DAY) == 3);
	CHECK_STR(status_of(MCH, "J3"), "REFUND");
	CHECK(packet_int(MCH, "J3", "send_time") == T0 + 600);
	CHECK(lifecycle_catch_up_billno(&rp, MCH, "nope", T0 + 5 * DAY) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + 5 * DAY) == 0);
	ledger_consistent();
	world_close();
}

static void slices(void)
{
	struct lifecycle_round round;
	char billno[32];
	int more, slices_run = 0;
	int64_t bal;

	if (world_open(0) != 0)
		return;
	bal = balance(LOAD);
	for (int i = 0; i < 300; i++) {
		snprintf(billno, sizeof(billno), "S%04d", i);
		group(LOAD, LOAD_APPID, billno, "oLoadUser0000000000000000001", 300, 3, T0 + i);
	}
	/* One slice takes LIFECYCLE_SLICE packets at most, then yields. */
	lifecycle_round_start(&round);
	more = lifecycle_sweep_slice(&rp, &round, T0 + 2 * DAY, LIFECYCLE_SLICE);
	CHECK(more == 1);
	CHECK(round.report.packets == LIFECYCLE_SLICE);
	CHECK(round.report.steps == 2 * LIFECYCLE_SLICE);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") == LIFECYCLE_SLICE);
	/* Between slices, a packet not swept yet already reads as refunded
	 * to whoever touches it. */
	CHECK_STR(status_of(LOAD, "S0299"), "SENT");
	CHECK(claim(LOAD, "S0299", "oLoadUser0000000000000000001", T0 + 2 * DAY).result ==
	      CLAIM_EXPIRED);
	CHECK_STR(status_of(LOAD, "S0299"), "REFUND");
	/* The rest, slice by slice, each bounded. */
	while (more) {
		int64_t before = round.report.packets;
		more = lifecycle_sweep_slice(&rp, &round, T0 + 2 * DAY, LIFECYCLE_SLICE);
		CHECK(round.report.packets - before <= LIFECYCLE_SLICE);
		CHECK(++slices_run < 10);
	}
	CHECK(round.report.packets == 299);
	CHECK(round.report.failed == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") == 300);
	CHECK(balance(LOAD) == bal);
	/* A limit of 1 still ends. */
	lifecycle_round_start(&round);
	for (int i = 0; i < 10 && lifecycle_sweep_slice(&rp, &round, T0 + 2 * DAY, 1); i++)
		;
	CHECK(round.kind == 4 && round.report.packets == 0);
	ledger_consistent();
	world_close();
}

/* The background sweeper yields to the loop between slices: one turn of
 * the loop runs one slice, not the whole round (a chain of activated
 * events ran every slice before the sockets were polled again). */
static void sweeper_yields(void)
{
	struct event_base *base;
	struct lifecycle_sweeper *sw;
	char billno[32];
	int64_t now, before;
	int turns = 0;

	if (world_open(0) != 0)
		return;
	base = event_base_new();
	sw = base ? lifecycle_sweeper_new(base, &rp) : NULL;
	CHECK(sw != NULL);
	if (!sw)
		goto out;
	now = clock_now();
	for (int i = 0; i < 3 * LIFECYCLE_SLICE + 10; i++) {
		snprintf(billno, sizeof(billno), "Y%04d", i);
		group(LOAD, LOAD_APPID, billno, "oLoadUser0000000000000000001", 300, 3, now);
	}
	/* The move sweeps one slice itself and leaves the rest pending. */
	CHECK(move_clock(now + 2 * DAY) == CLOCK_MOVED);
	CHECK(moved.pending == 1);
	CHECK(lifecycle_sweep_pending());
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") == LIFECYCLE_SLICE);
	/* One turn: one slice more, and still pending. */
	CHECK(event_base_loop(base, EVLOOP_ONCE) == 0);
	before = sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'");
	CHECK(before == 2 * LIFECYCLE_SLICE);
	CHECK(lifecycle_sweep_pending());
	/* The rest in a bounded number of turns. */
	while (lifecycle_sweep_pending() && ++turns < 10)
		CHECK(event_base_loop(base, EVLOOP_ONCE) == 0);
	CHECK(!lifecycle_sweep_pending());
	CHECK(turns == 2);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") ==
	      3 * LIFECYCLE_SLICE + 10);
	ledger_consistent();
out:
	lifecycle_sweeper_free(sw);
	if (base)
		event_base_free(base);
	world_close();
}

/* A full database: refunds fail, the packets before and after a failing
 * one still take what steps they can, the sweep ends, and retries
 * succeed once there is room. */
static void full_database(void)
{
	char billno[32];
	int64_t pages;

	if (world_open(0) != 0)
		return;
	for (int i = 0; i < 300; i++) {
		snprintf(billno, sizeof(billno), "F%04d", i);
		group(LOAD, LOAD_APPID, billno, "oLoadUser0000000000000000001", 300, 3, T0 + i);
	}
	pages = sql_int("PRAGMA page_count");
	CHECK(store_set_max_pages(store, pages + 2) == 0);
	/* The sweep ends; steps that fit are kept (expiries, some refunds)
	 * though others failed before and after them. */
	CHECK(lifecycle_sweep(&rp, T0 + 2 * DAY) == -1);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status IN ('RFUND_ING', 'REFUND')") > 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status != 'REFUND'") > 0);
	ledger_consistent();
	/* The clock move says so, naming the step and SQLite's cause. */
	clock_set_offset(T0 + 2 * DAY - clock_real_now());
	CHECK(move_clock(T0 + 3 * DAY) == CLOCK_STEPS_FAILED);
	CHECK(strcmp(moved.failed_step, "refund") == 0 || strcmp(moved.failed_step, "expire") == 0);
	CHECK(strstr(moved.error, "database or disk is full") != NULL);
	CHECK(moved.failed > 0);
	/* Room again: the next sweep finishes, at the due times. */
	CHECK(store_set_max_pages(store, 0) == 0);
	CHECK(lifecycle_sweep(&rp, T0 + 3 * DAY) > 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") == 300);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE refund_time != send_time + 86400") == 0);
	ledger_consistent();
	world_close();
}

static void clock_range(void)
{
	if (world_open(0) != 0)
		return;
	CHECK(move_clock(CLOCK_LATEST + 1) == CLOCK_OUT_OF_RANGE);
	CHECK(strstr(moved.error, CLOCK_LATEST_TEXT) != NULL);
	CHECK(clock_offset() == 0);
	CHECK(move_clock(CLOCK_LATEST) == CLOCK_MOVED);
	CHECK(clock_now() >= CLOCK_LATEST);
	CHECK(lifecycle_load_clock(&rp) == 0);
	/* A stored offset past the range stops a start. */
	CHECK(store_begin(store) == 0);
	CHECK(store_set_clock_offset(store, CLOCK_SHOWN_LAST) == 0);
	CHECK(store_commit(store) == 0);
	clock_set_offset(0);
	CHECK(lifecycle_load_clock(&rp) == -1);
	CHECK(clock_offset() == 0);
	world_close();
}

int main(int argc, char **argv)
{
	fixtures_path = argc > 1 ? argv[1] : "fixtures/default.json";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	claims_group();
	claims_expiry();
	claims_normal();
	claims_held();
	claims_limits();
	sweep_no_delay();
	sweep_with_delay();
	refund_due_time();
	sweep_many();
	set_clock();
	one_jump();
	slices();
	sweeper_yields();
	full_database();
	clock_range();
	rmdir(dir);
	return check_done("lifecycle");
}
