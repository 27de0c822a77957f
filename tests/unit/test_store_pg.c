/* The PostgreSQL store (store_pg.c), against the throwaway PostgreSQL
 * whose URL is in the file named by argv[1] (the ctest fixture pg), each
 * test in a database of its own (tsp_*): test_store.c's scenarios on
 * pgstore_* (lookups, packets, the ledger and its balance check, the
 * counters, transactions, batches with a failing unit, shares at once);
 * the invariant checks run on the same rows in SQLite and here, healthy
 * and with one violation of each planted, find the same texts; wipes,
 * a merchant's reset in slices keeping every invariant, due pages,
 * listings; the reader's snapshot and its interrupt; two connections
 * sending one billno at once make one packet (the write lock); a
 * terminated backend fails the next call and the one after works; a
 * statement failing inside a batch outside a unit loses the batch. */
#include "check.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pg.h"
#include "status.h"
#include "store.h"
#include "store_pg.h"
#include "util.h"

static char base_url[512];
static char tmpdir[] = "/tmp/test_store_pg.XXXXXX";

/* ---- helpers ----------------------------------------------------------- */

/* base_url with its database replaced by db. */
static const char *url_for(const char *db)
{
	static char out[600];
	const char *slash = strrchr(base_url, '/');
	snprintf(out, sizeof(out), "%.*s/%s", (int)(slash - base_url), base_url, db);
	return out;
}

/* A plain connection to db, for what the store does not expose. */
static struct pg *admin_db(const char *db)
{
	char err[256] = "";
	struct pg *pg = pg_open(url_for(db), NULL, 0, err, sizeof(err));
	if (!pg)
		fprintf(stderr, "pg_open(%s): %s\n", db, err);
	return pg;
}

/* A new, empty database db (dropped first when a run before left it). */
static void fresh_db(const char *db)
{
	char sql[128];
	struct pg *admin = admin_db("redpack");

	CHECK(admin != NULL);
	if (!admin)
		exit(1);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	CHECK(pg_exec(admin, sql) == 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	CHECK(pg_exec(admin, sql) == 0);
	pg_close(admin);
}

/* The store on a new database db. */
static struct pgstore *fresh_store(const char *db)
{
	char err[256] = "";
	struct pgstore *s;

	fresh_db(db);
	s = pgstore_open(url_for(db), err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		fprintf(stderr, "pgstore_open(%s): %s\n", db, err);
	return s;
}

/* The first column of the first row of sql on pg: -1 for NULL, -999999
 * when there is no row or the query fails. */
static int64_t pg_int(struct pg *pg, const char *sql)
{
	PGresult *res = PQexec(pg_conn(pg), sql);
	int64_t v = -999999;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = PQgetisnull(res, 0, 0) ? -1 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "pg_int(%s): %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return v;
}

/* Every row's first column of sql on pg, one per line, into out. */
static void pg_lines(struct pg *pg, const char *sql, struct buf *out)
{
	PGresult *res = PQexec(pg_conn(pg), sql);

	buf_reset(out);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "pg_lines(%s): %s", sql, PQresultErrorMessage(res));
	for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++)
		buf_printf(out, "%s\n", PQgetvalue(res, i, 0));
	PQclear(res);
}

static int pg_sql(struct pg *pg, const char *sql)
{
	int rc = pg_exec(pg, sql);
	if (rc != 0)
		fprintf(stderr, "pg_sql: %s\n", pg_last_error(pg)->message);
	return rc;
}

static void count_violation(void *arg, const char *text)
{
	fprintf(stderr, "violation: %s\n", text);
	++*(int *)arg;
}

/* Every check on s: the violations found (printed), or -1 when one
 * failed to run. */
static int violations(struct pgstore *s)
{
	int bad = 0;

	for (int c = 0; c < STORE_CHECK__COUNT; c++)
		if (pgstore_check(s, (enum store_check)c, count_violation, &bad) < 0) {
			fprintf(stderr, "check %d: %s\n", c, pgstore_first_error(s));
			return -1;
		}
	return bad;
}

/* ---- fixtures (as test_store.c's) --------------------------------------- */

static struct merchant merchant(const char *mch_id, int64_t per_user)
{
	struct merchant m;
	memset(&m, 0, sizeof(m));
	snprintf(m.mch_id, sizeof(m.mch_id), "%s", mch_id);
	snprintf(m.name, sizeof(m.name), "商户%s", mch_id);
	snprintf(m.api_key, sizeof(m.api_key), "key-%s", mch_id);
	m.balance = 777; /* ignored by insert: balances move through the ledger */
	m.sends_per_minute = 1800;
	m.packets_per_user_per_day = per_user;
	m.amount_per_user_per_day = 100000;
	m.amount_per_day = 100000000;
	return m;
}

static struct packet_new packet(const char *mch_id, const char *billno, const char *openid,
				const char *status, int64_t amount, int64_t created, int64_t sent)
{
	struct packet_new p = {
		.mch_id = mch_id,
		.mch_billno = billno,
		.hb_type = "GROUP",
		.status = status,
		.wxappid = "wx8888888888888888",
		.re_openid = openid,
		.send_name = "天虹百货",
		.wishing = "恭喜发财",
		.act_name = "新年红包",
		.remark = "备注",
		.scene_id = NULL,
		.client_ip = NULL,
		.amt_type = "ALL_RAND",
		.total_amount = amount,
		.total_num = 3,
		.err_code = NULL,
		.reason = NULL,
		.created_at = created,
		.send_time = sent,
	};
	return p;
}

/* ---- test_store.c's tests, on pgstore_* -------------------------------- */

static void lookups(struct pgstore *s)
{
	struct merchant m = merchant("10000098", 10), got;
	char kind[8], appid[STORE_ID_MAX];

	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_merchant_insert(s, &m) == -1); /* primary key */
	CHECK(pgstore_app_insert(s, "10000098", "wx8888888888888888", "MP") == 0);
	CHECK(pgstore_app_insert(s, "10000098", "wx2421b1c4370ec43b", "APP") == 0);
	CHECK(pgstore_app_insert(s, "10000098", "wxbad", "WEB") == -1); /* kind CHECK */
	CHECK(pgstore_app_insert(s, "99999999", "wx1", "MP") == -1);	/* foreign key */
	CHECK(pgstore_scene_insert(s, "10000098", "PRODUCT_1") == 0);
	CHECK(pgstore_user_insert(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", "wx8888888888888888") == 0);
	CHECK(pgstore_user_insert(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", "wx9") == -1);

	memset(&got, 0, sizeof(got));
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1);
	CHECK_STR(got.mch_id, "10000098");
	CHECK_STR(got.name, "商户10000098");
	CHECK_STR(got.api_key, "key-10000098");
	CHECK(got.balance == 0);
	CHECK(got.sends_per_minute == 1800);
	CHECK(got.packets_per_user_per_day == 10);
	CHECK(got.amount_per_user_per_day == 100000);
	CHECK(got.amount_per_day == 100000000);
	CHECK(pgstore_merchant_lookup(s, "10000099", &got) == 0);
	CHECK(pgstore_merchant_lookup(s, "", &got) == 0);

	CHECK(pgstore_app_kind(s, "10000098", "wx8888888888888888", kind) == 1);
	CHECK_STR(kind, "MP");
	CHECK(pgstore_app_kind(s, "10000098", "wx2421b1c4370ec43b", kind) == 1);
	CHECK_STR(kind, "APP");
	CHECK(pgstore_app_kind(s, "10000098", "wx9999999999999999", kind) == 0);
	CHECK(pgstore_app_kind(s, "10000099", "wx8888888888888888", kind) == 0);

	CHECK(pgstore_user_appid(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", appid) == 1);
	CHECK_STR(appid, "wx8888888888888888");
	CHECK(pgstore_user_appid(s, "oUnknown", appid) == 0);

	CHECK(pgstore_scene_enabled(s, "10000098", "PRODUCT_1") == 1);
	CHECK(pgstore_scene_enabled(s, "10000098", "PRODUCT_8") == 0);
	CHECK(pgstore_scene_enabled(s, "10000099", "PRODUCT_1") == 0);
}

/* In a batch (the write lock held: no other process of ours writes) an
 * app, a user or a scene looked up once answers again from memory: a row
 * another session deletes without taking the lock is still seen until
 * the batch ends, read again in the next; an insert of the store's own
 * moves the memory. */
static void lookups_remembered(struct pgstore *s, struct pg *admin)
{
	const char *app = "wx7777777777777777";
	char kind[8] = "", appid[STORE_ID_MAX];

	CHECK(pgstore_app_insert(s, "10000098", app, "MP") == 0);
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_app_kind(s, "10000098", app, kind) == 1);
	CHECK(pgstore_user_appid(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", appid) == 1);
	CHECK(pgstore_scene_enabled(s, "10000098", "PRODUCT_9") == 0);
	CHECK(pg_exec(admin, "DELETE FROM apps WHERE appid = 'wx7777777777777777'") == 0);
	CHECK(pg_exec(admin, "INSERT INTO scenes VALUES ('10000098', 'PRODUCT_9')") == 0);
	kind[0] = '\0';
	CHECK(pgstore_app_kind(s, "10000098", app, kind) == 1); /* from memory */
	CHECK_STR(kind, "MP");
	CHECK(pgstore_scene_enabled(s, "10000098", "PRODUCT_9") == 0); /* a miss too */
	CHECK(pgstore_user_appid(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", appid) == 1);
	CHECK_STR(appid, "wx8888888888888888");
	CHECK(pgstore_batch_commit(s) == 0);
	CHECK(pgstore_app_kind(s, "10000098", app, kind) == 0); /* outside a batch: read */
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_scene_enabled(s, "10000098", "PRODUCT_9") == 1); /* a new batch reads */
	CHECK(pgstore_app_kind(s, "10000098", app, kind) == 0);
	CHECK(pgstore_app_insert(s, "10000098", app, "APP") == 0); /* moves the memory */
	CHECK(pgstore_app_kind(s, "10000098", app, kind) == 1);
	CHECK_STR(kind, "APP");
	CHECK(pgstore_batch_commit(s) == 0);

	/* The merchant: its balance moved by the store's own ledger rows. */
	struct merchant m = merchant("10000097", 10), got;
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_ledger_add(s, "10000097", 500, "topup", 0, 1) == 0);
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000097", &got) == 1 && got.balance == 500);
	CHECK(pg_exec(admin, "UPDATE merchants SET name = 'renamed' WHERE mch_id = '10000097'") ==
	      0);
	CHECK(pgstore_ledger_add(s, "10000097", -200, "send", 0, 2) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000097", &got) == 1);
	CHECK_STR(got.name, "商户10000097"); /* from memory */
	CHECK(got.balance == 300);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000097", -100, "send", 0, 3) == 0);
	pgstore_rollback(s); /* undone: read again */
	CHECK(pgstore_merchant_lookup(s, "10000097", &got) == 1 && got.balance == 300);
	CHECK_STR(got.name, "renamed");
	CHECK(pgstore_batch_commit(s) == 0);
}

static void packets(struct pgstore *s)
{
	struct packet_new p = packet("10000098", "B1", "oA", "SENT", 300, 1000, 1000);
	struct packet_row row;
	int64_t id = 0, id2 = 0;

	CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	CHECK(id > 0);
	CHECK(pgstore_packet_set_listid(s, id, "1000041701202403013000000000001") == 0);
	memset(&row, 0, sizeof(row));
	CHECK(pgstore_packet_find(s, "10000098", "B1", &row) == 1);
	CHECK(row.id == id);
	CHECK_STR(row.mch_id, "10000098");
	CHECK_STR(row.mch_billno, "B1");
	CHECK_STR(row.hb_type, "GROUP");
	CHECK_STR(row.status, "SENT");
	CHECK_STR(row.wxappid, "wx8888888888888888");
	CHECK_STR(row.re_openid, "oA");
	CHECK(row.total_amount == 300);
	CHECK(row.total_num == 3);
	CHECK_STR(row.send_listid, "1000041701202403013000000000001");
	CHECK_STR(row.err_code, "");
	CHECK(row.created_at == 1000);
	CHECK(row.send_time == 1000);

	CHECK(pgstore_packet_find(s, "10000098", "B2", &row) == 0);
	CHECK(pgstore_packet_find(s, "10000099", "B1", &row) == 0);

	/* UNIQUE (mch_id, mch_billno). */
	CHECK(pgstore_packet_insert(s, &p, &id2) == -1);
	/* The same billno for another merchant is another order. */
	struct merchant m2 = merchant("10000099", 10);
	CHECK(pgstore_merchant_insert(s, &m2) == 0);
	p.mch_id = "10000099";
	CHECK(pgstore_packet_insert(s, &p, &id2) == 0);
	CHECK(id2 != id);
	/* send_listid is not a key of its own (it is made from the id). */
	CHECK(pgstore_packet_set_listid(s, id2, "1000041701202403013000000000001") == 0);

	/* A held order: err_code kept, send_time 0 reads back as 0. */
	struct packet_new h = packet("10000098", "H1", "oA", "SENDING", 500, 1001, 0);
	h.err_code = "NOTENOUGH";
	h.reason = "帐号余额不足，请到商户平台充值后再重试";
	CHECK(pgstore_packet_insert(s, &h, &id2) == 0);
	CHECK(pgstore_packet_find(s, "10000098", "H1", &row) == 1);
	CHECK_STR(row.status, "SENDING");
	CHECK_STR(row.err_code, "NOTENOUGH");
	CHECK_STR(row.send_listid, "");
	CHECK(row.send_time == 0);

	/* Schema checks. */
	struct packet_new bad = packet("10000098", "Z1", "oA", "SENT", 0, 1, 1);
	CHECK(pgstore_packet_insert(s, &bad, &id2) == -1); /* total_amount > 0 */
	bad = packet("99999999", "Z2", "oA", "SENT", 10, 1, 1);
	CHECK(pgstore_packet_insert(s, &bad, &id2) == -1); /* unknown merchant */
	bad = packet("10000098", "Z3", "oA", "SENT", 10, 1, 1);
	bad.hb_type = "OTHER";
	CHECK(pgstore_packet_insert(s, &bad, &id2) == -1);

	CHECK(pgstore_share_insert(s, id, 0, 200) == 0);
	CHECK(pgstore_share_insert(s, id, 1, 99) == 0);
	CHECK(pgstore_share_insert(s, id, 2, 1) == 0);
	CHECK(pgstore_share_insert(s, id, 2, 1) == -1);	    /* (packet_id, seq) */
	CHECK(pgstore_share_insert(s, id, 3, 0) == -1);	    /* amount >= 1 */
	CHECK(pgstore_share_insert(s, 999999, 0, 1) == -1); /* foreign key */
}

static int64_t balance(struct pgstore *s, const char *mch_id)
{
	struct merchant m;
	return pgstore_merchant_lookup(s, mch_id, &m) == 1 ? m.balance : -1;
}

static void ledger(struct pgstore *s, struct pg *admin)
{
	CHECK(balance(s, "10000098") == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 1000, "fixture", 0, 1) == 0);
	CHECK(balance(s, "10000098") == 1000);
	CHECK(pgstore_ledger_add(s, "10000098", -300, "send", 1, 2) == 0);
	CHECK(balance(s, "10000098") == 700);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "bogus", 0, 3) == -1); /* kind CHECK */
	CHECK(balance(s, "10000098") == 700);

	/* An overdraft is refused by CHECK (balance >= 0), inside a
	 * transaction as the send path uses it. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", -701, "send", 0, 4) == -1);
	pgstore_rollback(s);
	CHECK(balance(s, "10000098") == 700);
	/* Exactly down to zero is fine. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", -700, "send", 0, 5) == 0);
	pgstore_rollback(s);
	CHECK(balance(s, "10000098") == 700);

	/* And outside a transaction: refused, and the ledger keeps matching
	 * the balance (no ledger row without its balance change). */
	CHECK(pgstore_ledger_add(s, "10000098", -10000, "send", 0, 6) == -1);
	CHECK(balance(s, "10000098") == 700);
	CHECK(pg_int(admin, "SELECT SUM(amount) FROM ledger WHERE mch_id = '10000098'") == 700);
	CHECK(pg_int(admin, "SELECT COUNT(*) FROM ledger WHERE mch_id = '10000098'") == 2);
}

/* The running counters: kept by triggers, read by key, per Beijing day. */
static void counters(struct pgstore *s)
{
	const int64_t day0 = INT64_C(1709222400); /* 2024-03-01 00:00 Beijing */
	struct merchant m = merchant("20000001", 10);
	int64_t id, count = -1, amount = -1, issued = 0, issued_count = 0;
	char billno[16];

	CHECK(pgstore_merchant_insert(s, &m) == 0);
	/* Another user, the day before. */
	struct packet_new o = packet("20000001", "C9", "oV", "SENT", 7000000, day0 - 50, day0 - 50);
	o.hb_type = "NORMAL";
	CHECK(pgstore_packet_insert(s, &o, &id) == 0);
	/* One normal packet to user oU per status of status.def at day0 +
	 * 100..105 (send_time set for all, so only the status decides),
	 * amounts 1, 10, 100, ...: the schema's triggers count the ones
	 * status.def calls issued. */
	CHECK(STATUS__COUNT == 6);
	for (int i = 0; i < STATUS__COUNT; i++) {
		int64_t amt = 1;
		for (int k = 0; k < i; k++)
			amt *= 10;
		if (status_issued(i)) {
			issued += amt;
			issued_count++;
		}
		snprintf(billno, sizeof(billno), "C%d", i);
		struct packet_new p = packet("20000001", billno, "oU", status_name(i), amt,
					     day0 + 100 + i, day0 + 100 + i);
		p.hb_type = "NORMAL";
		p.total_num = 1;
		CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	}

	/* The rate: orders created per second, the ones over two minutes old
	 * pruned (C9 is gone). */
	CHECK(pgstore_packets_created_since(s, "20000001", 0, &count) == 0);
	CHECK(count == 6);
	CHECK(pgstore_packets_created_since(s, "20000001", day0 + 104, &count) == 0);
	CHECK(count == 2);
	CHECK(pgstore_packets_created_since(s, "20000001", day0 + 106, &count) == 0);
	CHECK(count == 0);
	CHECK(pgstore_packets_created_since(s, "20000002", 0, &count) == 0);
	CHECK(count == 0);

	/* Only issued statuses count: SENT, RECEIVED, RFUND_ING, REFUND. */
	CHECK(issued_count == 4);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oU", day0, &count, &amount) == 0);
	CHECK(count == issued_count && amount == issued);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oU", day0 - 86400, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oV", day0 - 86400, &count, &amount) == 0);
	CHECK(count == 1 && amount == 7000000);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oV", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(pgstore_user_receipts_since(s, "20000002", "oU", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);

	CHECK(pgstore_merchant_sent_since(s, "20000001", day0, &amount) == 0);
	CHECK(amount == issued);
	CHECK(pgstore_merchant_sent_since(s, "20000001", day0 - 86400, &amount) == 0);
	CHECK(amount == 7000000);
	CHECK(pgstore_merchant_sent_since(s, "20000001", day0 + 86400, &amount) == 0);
	CHECK(amount == 0);

	/* A group's receiver got its first share, not the total; a share
	 * opened by someone else is theirs; the seed opening its own share
	 * adds nothing. */
	struct packet_new g = packet("20000001", "G1", "oG", "SENT", 21, day0 + 200, day0 + 200);
	CHECK(pgstore_packet_insert(s, &g, &id) == 0);
	CHECK(pgstore_share_insert(s, id, 0, 5) == 0 && pgstore_share_insert(s, id, 1, 7) == 0 &&
	      pgstore_share_insert(s, id, 2, 9) == 0);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oG", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 5);
	CHECK(pgstore_share_open(s, id, 0, "oG", day0 + 201) == 0);
	CHECK(pgstore_share_open(s, id, 1, "oH", day0 + 202) == 0);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oG", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 5);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oH", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 7);
	CHECK(pgstore_merchant_sent_since(s, "20000001", day0, &amount) == 0);
	CHECK(amount == issued + 21);

	/* A held order (no send_time) never counts as received; issuing it
	 * later counts it on the day it was issued. */
	struct packet_new h = packet("20000001", "C10", "oW", "SENDING", 500, day0 + 300, 0);
	h.hb_type = "NORMAL";
	CHECK(pgstore_packet_insert(s, &h, &id) == 0);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oW", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(pgstore_packet_issue(s, id, day0 + 86400 + 5) == 0);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oW", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(pgstore_user_receipts_since(s, "20000001", "oW", day0 + 86400, &count, &amount) == 0);
	CHECK(count == 1 && amount == 500);
	CHECK(pgstore_merchant_sent_since(s, "20000001", day0 + 86400, &amount) == 0);
	CHECK(amount == 500);
}

static void transactions(struct pgstore *s)
{
	struct merchant m = merchant("30000001", 10), got;
	struct packet_row row;
	int64_t id;

	pgstore_rollback(s); /* safe with no transaction open */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_ledger_add(s, "30000001", 500, "topup", 0, 1) == 0);
	struct packet_new p = packet("30000001", "T1", "oA", "SENT", 300, 1, 1);
	CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	CHECK(pgstore_share_insert(s, id, 0, 300) == 0);
	CHECK(pgstore_merchant_lookup(s, "30000001", &got) == 1); /* visible inside */
	pgstore_rollback(s);
	CHECK(pgstore_merchant_lookup(s, "30000001", &got) == 0);
	CHECK(pgstore_packet_find(s, "30000001", "T1", &row) == 0);
	/* The failed insert of the same row now works: nothing was left. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_ledger_add(s, "30000001", 500, "topup", 0, 1) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(balance(s, "30000001") == 500);
	/* BEGIN twice is an error (no nested transactions). */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_begin(s) == -1);
	pgstore_rollback(s);
	CHECK(pgstore_commit(s) == -1); /* nothing open */
}

/* Group commit: units of work inside a batch are savepoints; a failing
 * unit rolls back alone, the batch commits the rest at once; a batch that
 * cannot commit keeps nothing. */
static void batches(struct pgstore *s)
{
	struct merchant a = merchant("31000001", 10), b = merchant("31000002", 10), got;
	int64_t before;

	CHECK(pgstore_batch_open(s) == 0);
	CHECK(pgstore_batch_commit(s) == 0); /* nothing open: nothing to do */
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_batch_begin(s) == 0); /* already open */
	CHECK(pgstore_batch_open(s) == 1);
	pgstore_rollback(s); /* no unit open: the batch is untouched */
	before = pgstore_changes(s);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_merchant_insert(s, &a) == 0);
	CHECK(pgstore_ledger_add(s, "31000001", 700, "topup", 0, 1) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_changes(s) > before);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_merchant_insert(s, &b) == 0);
	pgstore_rollback(s); /* this unit only */
	CHECK(pgstore_merchant_lookup(s, "31000001", &got) == 1 && got.balance == 700);
	CHECK(pgstore_merchant_lookup(s, "31000002", &got) == 0);
	/* A unit that fails half way (a duplicate) leaves nothing of itself. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "31000001", 5, "topup", 0, 2) == 0);
	CHECK(pgstore_merchant_insert(s, &a) == -1);
	pgstore_rollback(s);
	CHECK(balance(s, "31000001") == 700);
	CHECK(pgstore_batch_commit(s) == 0);
	CHECK(pgstore_batch_open(s) == 0);
	CHECK(pgstore_merchant_lookup(s, "31000001", &got) == 1 && got.balance == 700);
	/* Outside a batch, units are transactions again. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_begin(s) == -1);
	pgstore_rollback(s);
}

/* A unit's SAVEPOINT and RELEASE go with its first statement and the
 * next one after it (libpq's pipeline): a unit inside a batch costs the
 * round trips of its statements alone, and what fails still fails alone. */
static void savepoints_ride_along(struct pgstore *s)
{
	struct merchant m = merchant("31000003", 10), got;
	uint64_t t0, bare, unit;

	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_batch_begin(s) == 0);
	t0 = pgstore_round_trips(s);
	CHECK(pgstore_ledger_add(s, "31000003", 100, "topup", 0, 1) ==
	      0); /* the batch's, no unit */
	bare = pgstore_round_trips(s) - t0;
	t0 = pgstore_round_trips(s);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "31000003", 20, "topup", 0, 2) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "31000003", 3, "topup", 0, 3) == 0);
	CHECK(pgstore_commit(s) == 0);
	unit = pgstore_round_trips(s) - t0;
	CHECK(bare >= 1);
	CHECK(unit == 2 * bare);
	/* A unit that fails: its savepoint was there, it alone goes. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "31000003", 4000, "topup", 0, 4) == 0);
	CHECK(pgstore_merchant_insert(s, &m) == -1);
	pgstore_rollback(s);
	/* One whose failure its caller ignores: the COMMIT says so. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "31000003", 50000, "topup", 0, 5) == 0);
	CHECK(pgstore_merchant_insert(s, &m) == -1);
	CHECK(pgstore_commit(s) == -1);
	/* A unit with no statement at all, kept and rolled back. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	pgstore_rollback(s);
	t0 = pgstore_round_trips(s);
	CHECK(pgstore_batch_commit(s) == 0);
	CHECK(pgstore_round_trips(s) - t0 == 1); /* the last RELEASEs with the COMMIT */
	CHECK(pgstore_merchant_lookup(s, "31000003", &got) == 1 && got.balance == 123);
	CHECK(balance(s, "31000003") == 123);
}

/* In a batch the store counts its sends itself, holding the changes until
 * the COMMIT (the INSERT triggers stand aside: schema_pg.sql migration 5):
 * its reads see them at once, a unit rolled back takes its own away, and
 * after the COMMIT the rows say what the triggers would have (once, not
 * twice), the checks agreeing. */
static void counters_held(struct pgstore *s, struct pg *admin)
{
	const int64_t day0 = INT64_C(1709222400); /* 2024-03-01 00:00 Beijing */
	struct merchant m = merchant("20000004", 10);
	int64_t id, amounts[3] = {50, 30, 20}, count = -1, amount = -1, n = -1;

	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_batch_begin(s) == 0);
	/* A: a group packet to oH, its seed share 50 counted for oH. */
	CHECK(pgstore_begin(s) == 0);
	struct packet_new a = packet("20000004", "H1", "oH", "SENT", 100, day0 + 10, day0 + 10);
	CHECK(pgstore_packet_insert(s, &a, &id) == 0);
	CHECK(pgstore_shares_insert(s, id, amounts, 3) == 0);
	CHECK(pgstore_commit(s) == 0);
	/* B: the same, rolled back. */
	CHECK(pgstore_begin(s) == 0);
	struct packet_new b = packet("20000004", "H2", "oH", "SENT", 1000, day0 + 11, day0 + 11);
	CHECK(pgstore_packet_insert(s, &b, &id) == 0);
	CHECK(pgstore_shares_insert(s, id, amounts, 3) == 0);
	pgstore_rollback(s);
	/* C: a normal packet to oH, its whole amount oH's. */
	CHECK(pgstore_begin(s) == 0);
	struct packet_new c = packet("20000004", "H3", "oH", "SENT", 7, day0 + 12, day0 + 12);
	c.hb_type = "NORMAL";
	c.total_num = 1;
	CHECK(pgstore_packet_insert(s, &c, &id) == 0);
	CHECK(pgstore_commit(s) == 0);
	/* The batch's own reads add what it holds. */
	CHECK(pgstore_merchant_sent_since(s, "20000004", day0, &amount) == 0 && amount == 107);
	CHECK(pgstore_user_receipts_since(s, "20000004", "oH", day0, &count, &amount) == 0);
	CHECK(count == 2 && amount == 57);
	CHECK(pgstore_packets_created_since(s, "20000004", day0, &n) == 0 && n == 2);
	CHECK(pgstore_batch_commit(s) == 0);
	CHECK(pg_int(admin, "SELECT amount FROM day_merchant WHERE mch_id = '20000004'") == 107);
	CHECK(pg_int(admin, "SELECT count FROM day_user WHERE mch_id = '20000004'") == 2);
	CHECK(pg_int(admin, "SELECT amount FROM day_user WHERE mch_id = '20000004'") == 57);
	CHECK(pg_int(admin, "SELECT n FROM status_count WHERE mch_id = '20000004'"
			    " AND status = 'SENT'") == 2);
	CHECK(pg_int(admin, "SELECT SUM(count) FROM rate_second WHERE mch_id = '20000004'") == 2);
	/* Outside a batch the triggers count, as before. */
	struct packet_new d = packet("20000004", "H4", "oH", "SENT", 1, day0 + 13, day0 + 13);
	d.hb_type = "NORMAL";
	CHECK(pgstore_packet_insert(s, &d, &id) == 0);
	CHECK(pg_int(admin, "SELECT amount FROM day_merchant WHERE mch_id = '20000004'") == 108);
	/* A status change in the batch that inserted the packet: its first
	 * status's count taken back although its row was not yet written. */
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	struct packet_new e = packet("20000004", "H5", "oH", "SENDING", 1, day0 + 14, 0);
	CHECK(pgstore_packet_insert(s, &e, &id) == 0);
	CHECK(pgstore_packet_set_status(s, id, STATUS_FAILED) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_batch_commit(s) == 0);
	CHECK(pg_int(admin, "SELECT COALESCE(SUM(n), 0) FROM status_count WHERE mch_id = '20000004'"
			    " AND status = 'SENDING'") == 0);
	for (int k = STORE_CHECK_MERCHANT_DAY_COUNTER; k <= STORE_CHECK_RATE_COUNTER; k++) {
		int bad = 0;
		CHECK(pgstore_check(s, (enum store_check)k, count_violation, &bad) == 0);
		CHECK(bad == 0);
	}
}

/* What a send of merchant 20000005's billno P1 to oP reads on day0. */
struct send_reads {
	int64_t created, merchant_day, user_count, user_amount, next_id;
	int found;
	struct packet_row packet;
};

/* The send's reads one by one, the next id too when next_id. */
static void read_send(struct pgstore *s, int64_t day0, int next_id, struct send_reads *r)
{
	CHECK(pgstore_packets_created_since(s, "20000005", day0, &r->created) == 0);
	r->found = pgstore_packet_find(s, "20000005", "P1", &r->packet);
	CHECK(pgstore_user_receipts_since(s, "20000005", "oP", day0, &r->user_count,
					  &r->user_amount) == 0);
	CHECK(pgstore_merchant_sent_since(s, "20000005", day0, &r->merchant_day) == 0);
	if (next_id)
		CHECK(pgstore_packet_next_id(s, &r->next_id) == 0);
}

/* A send's reads announced (pgstore_send_prefetch) cost one round trip
 * together, answer what the reads one by one answer, and are read again
 * once the store has written. */
static void send_reads_at_once(struct pgstore *s)
{
	const int64_t day0 = INT64_C(1709222400);
	struct merchant m = merchant("20000005", 10);
	struct send_reads one = {0}, all = {0};
	struct packet_row o2;
	int64_t id, md2, uc2, ua2;

	CHECK(pgstore_merchant_insert(s, &m) == 0);
	struct packet_new a = packet("20000005", "P1", "oP", "SENT", 100, day0 + 10, day0 + 10);
	a.hb_type = "NORMAL";
	CHECK(pgstore_packet_insert(s, &a, &id) == 0);
	CHECK(pgstore_batch_begin(s) == 0);
	/* Each statement prepared on the connection first (its first use
	 * costs a round trip more). */
	for (int k = 0; k < 2; k++) {
		CHECK(pgstore_begin(s) == 0);
		pgstore_send_prefetch(s, "20000005", "P1", "oP", day0, day0);
		pgstore_commit(s);
		CHECK(pgstore_begin(s) == 0);
		read_send(s, day0, 0, &one);
		CHECK(one.found == 1);
		pgstore_commit(s);
	}
	/* One by one. */
	CHECK(pgstore_begin(s) == 0);
	uint64_t t0 = pgstore_round_trips(s);
	read_send(s, day0, 1, &one);
	uint64_t one_by_one = pgstore_round_trips(s) - t0;
	pgstore_rollback(s);
	/* At once. */
	CHECK(pgstore_begin(s) == 0);
	t0 = pgstore_round_trips(s);
	pgstore_send_prefetch(s, "20000005", "P1", "oP", day0, day0);
	read_send(s, day0, 1, &all);
	uint64_t at_once = pgstore_round_trips(s) - t0;
	CHECK(one_by_one == 4); /* the id taken already, by the warm-up */
	CHECK(at_once == 1);
	CHECK(one.found == 1 && all.found == 1 && one.packet.id == all.packet.id &&
	      all.packet.id == id);
	CHECK_STR(all.packet.re_openid, "oP");
	CHECK(all.packet.total_amount == 100 && all.packet.send_time == day0 + 10);
	CHECK(one.created == 1 && all.created == 1 && one.merchant_day == 100 &&
	      all.merchant_day == 100);
	CHECK(one.user_count == 1 && all.user_count == 1 && one.user_amount == 100 &&
	      all.user_amount == 100);
	CHECK(one.next_id == all.next_id); /* kept for the next insert, as before */
	/* Another billno, another day: asked of the server as before. */
	t0 = pgstore_round_trips(s);
	CHECK(pgstore_packet_find(s, "20000005", "P2", &o2) == 0);
	CHECK(pgstore_merchant_sent_since(s, "20000005", day0 + 86400, &md2) == 0 && md2 == 0);
	CHECK(pgstore_round_trips(s) - t0 == 2);
	/* After a write, read again (a packet of the same user the same day). */
	struct packet_new b = packet("20000005", "P3", "oP", "SENT", 5, day0 + 20, day0 + 20);
	b.hb_type = "NORMAL";
	CHECK(pgstore_packet_insert(s, &b, &id) == 0);
	t0 = pgstore_round_trips(s);
	CHECK(pgstore_user_receipts_since(s, "20000005", "oP", day0, &uc2, &ua2) == 0);
	CHECK(pgstore_round_trips(s) - t0 == 1);
	CHECK(uc2 == 2 && ua2 == 105);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_batch_commit(s) == 0);
}

/* A command held back that fails: the statement after it did not run, so
 * its failure is the transaction's loss (the connection made again,
 * nothing of it kept), with the command's own message, never that
 * statement's error. */
static void held_back_fails(struct pg *admin)
{
	CHECK(pg_exec(admin, "CREATE TABLE held (x int)") == 0);
	CHECK(pg_exec(admin, "BEGIN") == 0);
	CHECK(pg_exec(admin, "INSERT INTO held VALUES (1)") == 0);
	CHECK(pg_defer(admin, "SELECT 1 / 0") == 0);
	CHECK(pg_exec(admin, "INSERT INTO held VALUES (2)") == -1);
	CHECK(pg_last_error(admin)->fault == PG_FAULT_LOST);
	CHECK(strstr(pg_last_error(admin)->message, "division by zero") != NULL);
	CHECK(PQtransactionStatus(pg_conn(admin)) == PQTRANS_IDLE);
	CHECK(pg_int(admin, "SELECT count(*) FROM held") == 0);
	/* And the next call is an ordinary one again. */
	CHECK(pg_exec(admin, "INSERT INTO held VALUES (3)") == 0);
	CHECK(pg_int(admin, "SELECT count(*) FROM held") == 1);
}

static void collect_share(void *arg, const struct share_row *r)
{
	int64_t *got = arg;
	got[r->seq] = r->amount;
}

/* A packet's shares in one statement: every row, in seq order, the seed
 * share counted for the receiver once; counts out of range refused. */
static void shares_at_once(struct pgstore *s)
{
	const int64_t day0 = INT64_C(1709222400);
	struct merchant m = merchant("20000003", 10);
	int64_t amounts[STORE_SHARES_MAX] = {0}, got[STORE_SHARES_MAX] = {0}, id, count, amount;

	CHECK(pgstore_merchant_insert(s, &m) == 0);
	struct packet_new p = packet("20000003", "S1", "oS", "SENT", 0, day0, day0);
	p.total_num = 20;
	for (int i = 0; i < 20; i++)
		p.total_amount += amounts[i] = 10 + i;
	CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	CHECK(pgstore_shares_insert(s, id, amounts, 0) == -1);
	CHECK(pgstore_shares_insert(s, id, amounts, STORE_SHARES_MAX + 1) == -1);
	CHECK(pgstore_shares_insert(s, id, amounts, 20) == 0);
	CHECK(pgstore_shares_each(s, id, collect_share, got) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(got[i] == 10 + i);
	CHECK(pgstore_user_receipts_since(s, "20000003", "oS", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 10);
	/* All or nothing: a second write of the same shares fails whole. */
	CHECK(pgstore_shares_insert(s, id, amounts, 21) == -1);
	CHECK(pgstore_user_receipts_since(s, "20000003", "oS", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 10);
	/* The largest packet, on another order. */
	for (int i = 0; i < STORE_SHARES_MAX; i++)
		amounts[i] = 1;
	struct packet_new big = packet("20000003", "S2", "oT", "SENT", STORE_SHARES_MAX, day0,
				       day0);
	big.total_num = STORE_SHARES_MAX;
	CHECK(pgstore_packet_insert(s, &big, &id) == 0);
	CHECK(pgstore_shares_insert(s, id, amounts, STORE_SHARES_MAX) == 0);
}

/* ---- test_store.c's scenarios ------------------------------------------ */

/* The running counters after them: kept by the triggers, equal to what
 * store.c's sums make of the rows. */
static void ported(void)
{
	struct pgstore *s = fresh_store("tsp_ported");
	struct pg *admin = admin_db("tsp_ported");

	if (!s || !admin)
		goto out;
	lookups(s);
	lookups_remembered(s, admin);
	packets(s);
	ledger(s, admin);
	counters(s);
	shares_at_once(s);
	transactions(s);
	batches(s);
	savepoints_ride_along(s);
	held_back_fails(admin);
	counters_held(s, admin);
	send_reads_at_once(s);
	for (int c = STORE_CHECK_MERCHANT_DAY_COUNTER; c <= STORE_CHECK_RATE_COUNTER; c++) {
		int bad = 0;
		CHECK(pgstore_check(s, (enum store_check)c, count_violation, &bad) == 0);
	}
	/* store_counters_rebuild makes them again, the same. */
	CHECK(pgstore_counters_rebuild(s) == 0);
	for (int c = STORE_CHECK_MERCHANT_DAY_COUNTER; c <= STORE_CHECK_RATE_COUNTER; c++) {
		int bad = 0;
		CHECK(pgstore_check(s, (enum store_check)c, count_violation, &bad) == 0);
	}
out:
	pgstore_close(s);
	pg_close(admin);
}

/* ---- the rest of store.h ----------------------------------------------- */

/* The schema, the settings SQLite has and PostgreSQL does not, totals. */
static void basics(void)
{
	struct pgstore *s = fresh_store("tsp_basics");
	struct pg *admin = admin_db("tsp_basics");
	struct store_totals t = {-1, -1, -1};
	char err[128] = "", sql[160];

	if (!s || !admin)
		goto out;
	CHECK(pgstore_schema_version() == pg_schema_target(pg_schema_sql));
	CHECK(pgstore_schema_version() >= 2);
	CHECK(pg_int(admin, "SELECT max(version) FROM schema_migrations") ==
	      pgstore_schema_version());
	CHECK(pgstore_is_empty(s) == 1);
	/* status.def's tests as SQL functions (migration 2), as store.c
	 * registers them with SQLite. */
	for (int i = 0; i < STATUS__COUNT; i++) {
		snprintf(sql, sizeof(sql), "SELECT packet_issued('%s')::int", status_name(i));
		CHECK(pg_int(admin, sql) == status_issued(i));
		snprintf(sql, sizeof(sql), "SELECT packet_status_known('%s')::int", status_name(i));
		CHECK(pg_int(admin, sql) == 1);
	}
	CHECK(pg_int(admin, "SELECT packet_issued('BOGUS')::int") == 0);
	CHECK(pg_int(admin, "SELECT packet_status_known('sent')::int") == 0);
	CHECK(pg_int(admin, "SELECT packet_issued(NULL)::int") == 0);
	CHECK(pg_int(admin, "SELECT packet_status_known(NULL)::int") == 0);

	/* SQLite's settings: no page cap, no replace, the keys stay on. */
	CHECK(pgstore_set_max_pages(s, 0) == 0);
	pgstore_error_clear(s);
	CHECK_STR(pgstore_first_error(s), "unknown error");
	CHECK(pgstore_set_max_pages(s, 1000) == -1);
	CHECK(strstr(pgstore_first_error(s), "not with PostgreSQL") != NULL);
	CHECK(pgstore_can_replace(s) == 0);
	CHECK(pgstore_replace(s, NULL, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not with PostgreSQL") != NULL);
	CHECK(pgstore_vm_steps(s) == 0);
	CHECK(pgstore_can_share(s) == 1);
	/* --durability: synchronous_commit local (1, SQLite's NORMAL) by
	 * default, never off (an acknowledged commit lost when the server
	 * crashes); on (2, FULL) for power loss. */
	CHECK(pgstore_durability(s) == 1);
	CHECK(pgstore_set_durability(s, 1) == 0);
	CHECK(pgstore_durability(s) == 2);
	CHECK(pgstore_set_durability(s, 0) == 0);
	CHECK(pgstore_durability(s) == 1);
	CHECK(pgstore_totals(s, &t) == 0);
	CHECK(t.issued == 0 && t.refunded == 0 && t.bytes > 1000000);
	CHECK(t.bytes == pg_int(admin, "SELECT pg_database_size(current_database())"));
out:
	pgstore_close(s);
	pg_close(admin);
	pgstore_close(NULL); /* free functions accept NULL */
}

/* Reopening keeps the data and runs no migration again; a newer
 * database, a missing one and a server that is not there are refused. */
static void reopen(void)
{
	struct pgstore *s = fresh_store("tsp_reopen");
	struct merchant m = merchant("10000098", 10), got;
	struct pg *admin = admin_db("tsp_reopen");
	char err[256] = "";

	if (!s || !admin)
		goto out;
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 700, "fixture", 0, 1) == 0);
	pgstore_close(s);
	s = pgstore_open(url_for("tsp_reopen"), err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK(pgstore_is_empty(s) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 700);
	CHECK(pg_int(admin, "SELECT count(*) FROM schema_migrations") == pgstore_schema_version());
	pgstore_close(s);

	CHECK(pg_sql(admin, "INSERT INTO schema_migrations (version) VALUES (99)") == 0);
	err[0] = '\0';
	s = pgstore_open(url_for("tsp_reopen"), err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "99") != NULL);
	pgstore_close(s);
	err[0] = '\0';
	s = pgstore_open(url_for("tsp_missing"), err, sizeof(err));
	CHECK(s == NULL && err[0] != '\0');
	pgstore_close(s);
	err[0] = '\0';
	s = pgstore_open("postgresql://redpack@127.0.0.1:1/redpack?connect_timeout=2", err,
			 sizeof(err));
	CHECK(s == NULL && err[0] != '\0');
out:
	pgstore_close(s);
	pg_close(admin);
}

/* A send's send_listid comes from a packet id (redpack.c). */
static void listid_for(int64_t id, char out[32])
{
	snprintf(out, 32, "10000417012024030130%011" PRId64, id);
}

/* The id taken before the insert: the same until inserted, used by the
 * next insert without one; a rolled-back insert leaves a gap, a failed
 * one keeps it. */
static void next_ids(void)
{
	struct pgstore *s = fresh_store("tsp_ids");
	struct merchant m = merchant("10000098", 10);
	int64_t a, b, c, d, id;
	char listid[32];

	if (!s)
		return;
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_packet_next_id(s, &a) == 0 && a >= 1);
	CHECK(pgstore_packet_next_id(s, &b) == 0 && b == a);
	struct packet_new p = packet("10000098", "N1", "oA", "SENT", 300, 1000, 1000);
	CHECK(pgstore_packet_insert(s, &p, &id) == 0 && id == a);
	CHECK(pgstore_packet_next_id(s, &b) == 0 && b == a + 1);
	/* As redpack.c: the id, the send_listid from it, the insert with both. */
	p = packet("10000098", "N2", "oA", "SENT", 300, 1000, 1000);
	listid_for(b, listid);
	p.id = b;
	p.send_listid = listid;
	CHECK(pgstore_packet_insert(s, &p, &id) == 0 && id == b);
	/* Rolled back: a gap (a sequence gives nothing back). */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_packet_next_id(s, &c) == 0 && c == b + 1);
	p = packet("10000098", "N3", "oA", "SENT", 300, 1000, 1000);
	p.id = c;
	CHECK(pgstore_packet_insert(s, &p, &id) == 0 && id == c);
	pgstore_rollback(s);
	CHECK(pgstore_packet_next_id(s, &d) == 0 && d == c + 1);
	/* A failed insert (a billno taken) keeps the id for the next one. */
	p = packet("10000098", "N1", "oA", "SENT", 300, 1000, 1000);
	CHECK(pgstore_packet_insert(s, &p, &id) == -1);
	CHECK(pgstore_packet_next_id(s, &a) == 0 && a == d);
	p.mch_billno = "N4";
	CHECK(pgstore_packet_insert(s, &p, &id) == 0 && id == d);
	pgstore_close(s);
}

/* ---- the invariant checks, against SQLite's ----------------------------- */

#define PACKET_ROW                                                                                 \
	"INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,"        \
	" send_name, wishing, act_name, remark, total_amount, total_num, send_listid, created_at," \
	" send_time, err_code, reason, refund_time, refund_amount) VALUES "

/* A healthy world in SQL that both databases run as it is: a group
 * partly opened, a normal packet refunded. */
static const char healthy_sql[] =
	"INSERT INTO merchants (mch_id, name, api_key, balance, sends_per_minute,"
	" packets_per_user_per_day, amount_per_user_per_day, amount_per_day) VALUES"
	" ('10000098', 'm', 'k', 700, 10, 10, 100000, 1000000),"
	" ('10000099', 'n', 'k', 0, 10, 10, 100000, 1000000);"
	"INSERT INTO apps (mch_id, appid, kind) VALUES ('10000098', 'wx1', 'MP');"
	"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES"
	" ('10000098', 1000, 'topup', NULL, 5);" PACKET_ROW
	"(1, '10000098', 'B1', 'GROUP', 'SENT', 'wx1', 'oSeed', 's', 'w', 'a', 'r', 300, 3,"
	" '1000041701202403013000000000001', 1709222400, 1709222400, NULL, NULL, NULL, NULL),"
	"(2, '10000098', 'B2', 'NORMAL', 'REFUND', 'wx1', 'oNorm', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000002', 1709222500, 1709222500, NULL, NULL, 1709395300, 100);"
	"INSERT INTO shares (packet_id, seq, amount, openid, rcv_time) VALUES"
	" (1, 0, 200, 'oSeed', 1709222410), (1, 1, 99, 'oOther', 1709222420), (1, 2, 1, NULL, "
	"NULL),"
	" (2, 0, 100, NULL, NULL);"
	"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES"
	" ('10000098', -300, 'send', 1, 1709222400), ('10000098', -100, 'send', 2, 1709222500),"
	" ('10000098', 100, 'refund', 2, 1709395300);";

/* Then at least one violation of each invariant, written around the
 * store (no trigger, no key, no CHECK: each database's prelude turns
 * them off), touching no column an SQLite trigger watches. */
static const char planted_sql[] = PACKET_ROW
	/* shares that do not sum up, and no debit */
	"(11, '10000098', 'P11', 'GROUP', 'SENT', 'wx1', 'oA', 's', 'w', 'a', 'r', 500, 2,"
	" '1000041701202403013000000000011', 1709222600, 1709222600, NULL, NULL, NULL, NULL),"
	/* issued without shares, no send_listid */
	"(12, '10000098', 'P12', 'NORMAL', 'SENT', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" NULL, 1709222700, 1709222700, NULL, NULL, NULL, NULL),"
	/* failed, yet shares and a debit */
	"(13, '10000098', 'P13', 'NORMAL', 'FAILED', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000013', 1709222700, NULL, NULL, NULL, NULL, NULL),"
	"(14, '10000098', 'P14', 'NORMAL', 'BOGUS', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000014', 1709222700, NULL, NULL, NULL, NULL, NULL),"
	/* held without a reason */
	"(15, '10000098', 'P15', 'NORMAL', 'SENDING', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000015', 1709222700, NULL, 'NOTENOUGH', NULL, NULL, NULL),"
	/* received with a share unopened, opened out of order, half opened */
	"(16, '10000098', 'P16', 'GROUP', 'RECEIVED', 'wx1', 'oA', 's', 'w', 'a', 'r', 300, 3,"
	" '1000041701202403013000000000016', 1709222800, 1709222800, NULL, NULL, NULL, NULL),"
	/* first share opened by another, twice by one opener */
	"(17, '10000098', 'P17', 'GROUP', 'SENT', 'wx1', 'oSeed', 's', 'w', 'a', 'r', 300, 3,"
	" '1000041701202403013000000000017', 1709222800, 1709222800, NULL, NULL, NULL, NULL),"
	/* refunded without its fields, credited twice */
	"(18, '10000098', 'P18', 'NORMAL', 'REFUND', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000018', 1709222900, 1709222900, NULL, NULL, NULL, NULL),"
	/* refund fields while sent */
	"(19, '10000098', 'P19', 'NORMAL', 'SENT', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000019', 1709222900, 1709222900, NULL, NULL, 5, NULL),"
	/* of no merchant */
	"(20, '99999998', 'P20', 'NORMAL', 'SENDING', 'wx1', 'oA', 's', 'w', 'a', 'r', 100, 1,"
	" '1000041701202403013000000000020', 1709222900, NULL, 'NOTENOUGH', 'r', NULL, NULL);"
	"INSERT INTO shares (packet_id, seq, amount, openid, rcv_time) VALUES"
	" (11, 0, 100, NULL, NULL), (11, 1, 100, NULL, NULL), (13, 0, 100, NULL, NULL),"
	" (16, 0, 100, NULL, NULL), (16, 1, 100, 'oX', 1709222810), (16, 2, 100, 'oY', NULL),"
	" (17, 0, 100, 'oNotSeed', 1709222810), (17, 1, 100, 'oNotSeed', 1709222820),"
	" (17, 2, 100, NULL, NULL), (18, 0, 100, NULL, NULL), (19, 0, 100, NULL, NULL),"
	" (999, 0, 5, NULL, NULL), (11, 2, 0, NULL, NULL);"
	"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES"
	" ('10000098', -100, 'send', 13, 1), ('10000098', -5, 'send', NULL, 2),"
	" ('10000098', 60, 'refund', 18, 3), ('10000098', 40, 'refund', 18, 4),"
	" ('99999999', 5, 'topup', NULL, 5);"
	"INSERT INTO merchants (mch_id, name, api_key, balance, sends_per_minute,"
	" packets_per_user_per_day, amount_per_user_per_day, amount_per_day) VALUES"
	" ('10000097', 'o', 'k', -5, 10, 10, 100000, 1000000);"
	"INSERT INTO apps (mch_id, appid, kind) VALUES ('99999997', 'wx2', 'APP');"
	"UPDATE day_merchant SET amount = amount + 1;"
	"UPDATE day_user SET count = count + 1 WHERE openid = 'oOther';"
	"DELETE FROM status_count WHERE status = 'REFUND';"
	"UPDATE rate_second SET count = count + 7;";

static const char *const counter_rows[] = {
	"SELECT mch_id || '|' || second || '|' || count FROM rate_second ORDER BY 1",
	"SELECT mch_id || '|' || day || '|' || amount FROM day_merchant ORDER BY 1",
	"SELECT mch_id || '|' || openid || '|' || day || '|' || count || '|' || amount"
	" FROM day_user ORDER BY 1",
	"SELECT mch_id || '|' || status || '|' || n FROM status_count ORDER BY 1",
};

static int on_sqlite_line(void *arg, int n, char **values, char **names)
{
	(void)names;
	buf_printf(arg, "%s\n", n > 0 && values[0] ? values[0] : "(null)");
	return 0;
}

static void sqlite_lines(sqlite3 *db, const char *sql, struct buf *out)
{
	buf_reset(out);
	if (sqlite3_exec(db, sql, on_sqlite_line, out, NULL) != SQLITE_OK)
		fprintf(stderr, "sqlite_lines(%s): %s\n", sql, sqlite3_errmsg(db));
}

static int sqlite_sql(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "sqlite_sql: %s\n", sqlite3_errmsg(db));
	return rc == SQLITE_OK ? 0 : -1;
}

/* A check's texts, sorted, one per line. */
#define TEXTS_MAX 64

struct texts {
	int n;
	char *line[TEXTS_MAX];
};

static void on_text(void *arg, const char *text)
{
	struct texts *t = arg;
	if (t->n < TEXTS_MAX)
		t->line[t->n++] = xstrdup(text);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void texts_join(struct texts *t, struct buf *out)
{
	qsort(t->line, (size_t)t->n, sizeof(t->line[0]), by_text);
	buf_reset(out);
	buf_puts(out, "");
	for (int i = 0; i < t->n; i++) {
		buf_printf(out, "%s\n", t->line[i]);
		free(t->line[i]);
	}
	t->n = 0;
}

/* Every check on both: the same texts (sorted); 0 each when healthy, at
 * least one each when planted. */
static void compare_checks(struct store *lite, struct pgstore *s, int planted)
{
	struct texts a = {0}, b = {0};
	struct buf want, got;

	buf_init(&want);
	buf_init(&got);
	for (int c = 0; c < STORE_CHECK__COUNT; c++) {
		int n1 = store_check(lite, (enum store_check)c, on_text, &a);
		int n2 = pgstore_check(s, (enum store_check)c, on_text, &b);
		CHECK(n1 == n2);
		CHECK(planted ? n2 >= 1 : n2 == 0);
		if (n2 < 0)
			fprintf(stderr, "check %d: %s\n", c, pgstore_first_error(s));
		texts_join(&a, &want);
		texts_join(&b, &got);
		CHECK_STR(got.data, want.data);
	}
	buf_release(&want);
	buf_release(&got);
}

static void same_checks(void)
{
	char path[300], err[256] = "";
	struct pgstore *s = fresh_store("tsp_checks");
	struct pg *admin = admin_db("tsp_checks");
	struct store *lite;
	sqlite3 *db = NULL;
	struct buf want, got;

	snprintf(path, sizeof(path), "%s/checks.db", tmpdir);
	lite = store_open(path, err, sizeof(err));
	CHECK(lite != NULL);
	buf_init(&want);
	buf_init(&got);
	if (!s || !admin || !lite || sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	CHECK(sqlite_sql(db, healthy_sql) == 0);
	CHECK(pg_sql(admin, healthy_sql) == 0);
	/* The counters, made again from the rows by each store's rebuild (the
	 * triggers do not count a share inserted opened): the same rows. */
	CHECK(store_counters_rebuild(lite) == 0);
	CHECK(pgstore_counters_rebuild(s) == 0);
	for (size_t i = 0; i < sizeof(counter_rows) / sizeof(counter_rows[0]); i++) {
		sqlite_lines(db, counter_rows[i], &want);
		pg_lines(admin, counter_rows[i], &got);
		CHECK(want.len > 0);
		CHECK_STR(got.data, want.data);
	}
	compare_checks(lite, s, 0);
	CHECK(sqlite_sql(db, "PRAGMA ignore_check_constraints = 1;") == 0);
	CHECK(sqlite_sql(db, planted_sql) == 0);
	CHECK(pg_sql(admin, "SET session_replication_role = replica;"
			    "ALTER TABLE shares DROP CONSTRAINT shares_amount_check;"
			    "ALTER TABLE merchants DROP CONSTRAINT merchants_balance_check;") == 0);
	CHECK(pg_sql(admin, planted_sql) == 0);
	compare_checks(lite, s, 1);
	/* One text as SQLite writes it, to be sure both are not both wrong. */
	struct texts t = {0};
	CHECK(pgstore_check(s, STORE_CHECK_SEND_ROWS_MATCH_PACKETS, on_text, &t) == 1);
	texts_join(&t, &got);
	CHECK(strstr(got.data, ": send of -5 for packet NULL\n") != NULL);
out:
	buf_release(&want);
	buf_release(&got);
	sqlite3_close(db);
	store_close(lite);
	pgstore_close(s);
	pg_close(admin);
	for (int i = 0; i < 3; i++) {
		char p[320];
		snprintf(p, sizeof(p), "%s%s", path, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
}

/* ---- a world written through the store ---------------------------------- */

/* A group send issued at t, as redpack.c writes it (its id first, then
 * the row with its send_listid, the shares, the debit): the packet id. */
static int64_t issue_group(struct pgstore *s, const char *mch_id, const char *billno,
			   const char *openid, int64_t total, int n, int64_t t)
{
	int64_t amounts[STORE_SHARES_MAX], id = 0, next = 0;
	struct packet_new p = packet(mch_id, billno, openid, "SENT", total, t, t);
	char listid[32];

	p.total_num = n;
	for (int i = 0; i < n; i++)
		amounts[i] = total / n + (i == 0 ? total % n : 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_packet_next_id(s, &next) == 0);
	listid_for(next, listid);
	p.id = next;
	p.send_listid = listid;
	CHECK(pgstore_packet_insert(s, &p, &id) == 0 && id == next);
	CHECK(pgstore_shares_insert(s, id, amounts, n) == 0);
	CHECK(pgstore_ledger_add(s, mch_id, -total, "send", id, t) == 0);
	CHECK(pgstore_commit(s) == 0);
	return id;
}

/* An order held by a limit at t. */
static int64_t hold(struct pgstore *s, const char *mch_id, const char *billno, int64_t t)
{
	struct packet_new p = packet(mch_id, billno, "oHeld", "SENDING", 100, t, 0);
	char listid[32];
	int64_t id = 0;

	CHECK(pgstore_packet_next_id(s, &p.id) == 0);
	listid_for(p.id, listid);
	p.send_listid = listid;
	p.err_code = "NOTENOUGH";
	p.reason = "帐号余额不足";
	CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	return id;
}

/* Opens every share of a group (seed first, then others) and receives it. */
static void open_all(struct pgstore *s, int64_t id, const char *seed, int n, int64_t t)
{
	char openid[24];

	CHECK(pgstore_begin(s) == 0);
	for (int i = 0; i < n; i++) {
		snprintf(openid, sizeof(openid), "oOpener%d", i);
		CHECK(pgstore_share_open(s, id, i, i == 0 ? seed : openid, t + i) == 0);
	}
	CHECK(pgstore_packet_set_status(s, id, STATUS_RECEIVED) == 0);
	CHECK(pgstore_commit(s) == 0);
}

/* Expires and refunds a group whose shares after the first are unopened. */
static void refund(struct pgstore *s, const char *mch_id, int64_t id, const char *seed,
		   int64_t rest, int64_t t)
{
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_share_open(s, id, 0, seed, t) == 0);
	CHECK(pgstore_packet_set_status(s, id, STATUS_RFUND_ING) == 0);
	CHECK(pgstore_packet_set_refund(s, id, STATUS_REFUND, t + 86400, rest) == 0);
	CHECK(pgstore_ledger_add(s, mch_id, rest, "refund", id, t + 86400) == 0);
	CHECK(pgstore_commit(s) == 0);
}

#define T0 INT64_C(1709265600) /* 2024-03-01 12:00:00 Beijing */

/* Two merchants' worlds, every invariant kept: the packets of 10000098. */
static int world(struct pgstore *s)
{
	struct merchant a = merchant("10000098", 10), b = merchant("10000099", 10);
	int64_t id;

	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_merchant_insert(s, &a) == 0 && pgstore_merchant_insert(s, &b) == 0);
	CHECK(pgstore_app_insert(s, "10000098", "wx8888888888888888", "MP") == 0);
	CHECK(pgstore_app_insert(s, "10000099", "wx8888888888888888", "MP") == 0);
	CHECK(pgstore_scene_insert(s, "10000098", "PRODUCT_1") == 0);
	CHECK(pgstore_user_insert(s, "oSeed", "wx8888888888888888") == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 100000, "fixture", 0, T0) == 0);
	CHECK(pgstore_ledger_add(s, "10000099", 50000, "fixture", 0, T0) == 0);
	CHECK(pgstore_commit(s) == 0);
	issue_group(s, "10000098", "W1", "oSeed", 300, 3, T0);
	id = issue_group(s, "10000098", "W2", "oSeed", 500, 5, T0 + 1);
	open_all(s, id, "oSeed", 5, T0 + 10);
	id = issue_group(s, "10000098", "W3", "oSeed", 400, 4, T0 + 2);
	refund(s, "10000098", id, "oSeed", 300, T0 + 20);
	issue_group(s, "10000098", "W4", "oOther", 200, 2, T0 + 86400);
	hold(s, "10000098", "W5", T0 + 3);
	id = issue_group(s, "10000098", "W6", "oSeed", 100, 1, T0 + 4);
	open_all(s, id, "oSeed", 1, T0 + 30);
	issue_group(s, "10000098", "W7", "oThird", 600, 6, T0 + 5);
	issue_group(s, "10000099", "V1", "oSeed", 300, 3, T0 + 6);
	hold(s, "10000099", "V2", T0 + 7);
	return 7;
}

/* A merchant's wipe, then everything's: no row left of it, the others'
 * rows and the clock kept, the sequences going on. */
static void wipes(void)
{
	struct pgstore *s = fresh_store("tsp_wipe");
	struct pg *admin = admin_db("tsp_wipe");
	int64_t before, after, offset = 0;

	if (!s || !admin)
		goto out;
	world(s);
	CHECK(violations(s) == 0);
	CHECK(pgstore_set_clock_offset(s, 3600) == 0);
	CHECK(pgstore_packet_next_id(s, &before) == 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_wipe(s, "10000098") == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pg_int(admin,
		     "SELECT (SELECT count(*) FROM packets WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM ledger WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM apps WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM scenes WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM merchants WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM rate_second WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM day_merchant WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM day_user WHERE mch_id = '10000098')"
		     " + (SELECT count(*) FROM status_count WHERE mch_id = '10000098')") == 0);
	CHECK(pg_int(admin, "SELECT count(*) FROM packets WHERE mch_id = '10000099'") == 2);
	CHECK(pg_int(admin, "SELECT count(*) FROM shares") == 3);
	CHECK(pg_int(admin, "SELECT count(*) FROM users") == 1);
	CHECK(violations(s) == 0);
	/* Everything, outside a transaction (one of its own). */
	CHECK(pgstore_wipe(s, NULL) == 0);
	CHECK(pgstore_is_empty(s) == 1);
	CHECK(pg_int(admin,
		     "SELECT (SELECT count(*) FROM packets) + (SELECT count(*) FROM shares)"
		     " + (SELECT count(*) FROM ledger) + (SELECT count(*) FROM users)"
		     " + (SELECT count(*) FROM apps) + (SELECT count(*) FROM rate_second)"
		     " + (SELECT count(*) FROM day_merchant) + (SELECT count(*) FROM day_user)"
		     " + (SELECT count(*) FROM status_count)") == 0);
	CHECK(pgstore_clock_offset(s, &offset) == 0 && offset == 3600);
	CHECK(pgstore_packet_next_id(s, &after) == 0 && after == before);
	world(s);
	CHECK(pgstore_packet_next_id(s, &after) == 0 && after > before);
	CHECK(violations(s) == 0);
out:
	pgstore_close(s);
	pg_close(admin);
}

/* A merchant's reset in slices of 2: every invariant kept after each,
 * the rows counted, the balance back to the merchant's own rows, the
 * other merchant untouched. */
static void reset_slices(void)
{
	struct pgstore *s = fresh_store("tsp_reset");
	struct pg *admin = admin_db("tsp_reset");
	struct merchant m;
	int64_t rows, total = 0, expected;
	int n, packets = 0, slices = 0;

	if (!s || !admin)
		goto out;
	int made = world(s);
	CHECK(violations(s) == 0);
	expected = pg_int(admin,
			  "SELECT (SELECT count(*) FROM packets WHERE mch_id = '10000098')"
			  " + (SELECT count(*) FROM shares WHERE packet_id IN (SELECT id FROM"
			  " packets WHERE mch_id = '10000098')) + (SELECT count(*) FROM ledger"
			  " WHERE mch_id = '10000098' AND packet_id IS NOT NULL)");
	do {
		CHECK(pgstore_begin(s) == 0);
		n = pgstore_reset_slice(s, "10000098", 2, &rows);
		CHECK(n >= 0 && n <= 2);
		CHECK(pgstore_commit(s) == 0);
		packets += n > 0 ? n : 0;
		total += rows;
		slices++;
		CHECK(violations(s) == 0);
	} while (n > 0 && slices < 20);
	CHECK(packets == made);
	CHECK(slices == 5); /* 2, 2, 2, 1, 0 */
	CHECK(total == expected);
	CHECK(pgstore_merchant_lookup(s, "10000098", &m) == 1 && m.balance == 100000);
	CHECK(pg_int(admin, "SELECT (SELECT count(*) FROM rate_second WHERE mch_id = '10000098')"
			    " + (SELECT count(*) FROM day_merchant WHERE mch_id = '10000098')"
			    " + (SELECT count(*) FROM day_user WHERE mch_id = '10000098')") == 0);
	CHECK(pg_int(admin, "SELECT sum(n) FROM status_count WHERE mch_id = '10000098'") == 0);
	CHECK(pgstore_merchant_lookup(s, "10000099", &m) == 1 && m.balance == 50000 - 300);
	CHECK(pg_int(admin, "SELECT count(*) FROM packets WHERE mch_id = '10000099'") == 2);
	/* The rest of the merchant goes with its wipe. */
	CHECK(pgstore_begin(s) == 0 && pgstore_wipe(s, "10000098") == 0 && pgstore_commit(s) == 0);
	CHECK(violations(s) == 0);
out:
	pgstore_close(s);
	pg_close(admin);
}

static int64_t insert_at(struct pgstore *s, const char *billno, const char *status, int64_t created,
			 int64_t sent)
{
	struct packet_new p = packet("10000098", billno, "oA", status, 100, created, sent);
	int64_t id = 0;

	CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	return id;
}

/* Due ids and due pages: by the due key, ties in id order, the cursor
 * moving past each page; settle_at and settle_to; a pending order issued. */
static void due_pages(void)
{
	struct pgstore *s = fresh_store("tsp_due");
	struct merchant m = merchant("10000098", 10);
	int64_t id[8], ids[8], key = INT64_MIN, cur = 0, t = T0, settle_at = -1, count, amount;
	char to[8] = "";

	if (!s)
		return;
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	/* Ids 1, 2 sent at t + 10; 3, 4, 5 at t; 6 at t + 100. */
	id[0] = insert_at(s, "D1", "SENT", t, t + 10);
	id[1] = insert_at(s, "D2", "SENT", t, t + 10);
	id[2] = insert_at(s, "D3", "SENT", t, t);
	id[3] = insert_at(s, "D4", "SENT", t, t);
	id[4] = insert_at(s, "D5", "SENT", t, t);
	id[5] = insert_at(s, "D6", "SENT", t, t + 100);
	CHECK(pgstore_due_ids(s, DUE_EXPIRE, t + 10, ids, 8) == 5);
	CHECK(ids[0] == id[2] && ids[1] == id[3] && ids[2] == id[4] && ids[3] == id[0] &&
	      ids[4] == id[1]);
	CHECK(pgstore_due_ids(s, DUE_EXPIRE, t + 10, ids, 2) == 2 && ids[1] == id[3]);
	CHECK(pgstore_due_ids(s, DUE_REFUND, t + 10, ids, 8) == 0);
	CHECK(pgstore_due_page(s, DUE_EXPIRE, t + 10, &key, &cur, ids, 2) == 2);
	CHECK(ids[0] == id[2] && ids[1] == id[3] && key == t && cur == id[3]);
	CHECK(pgstore_due_page(s, DUE_EXPIRE, t + 10, &key, &cur, ids, 2) == 2);
	CHECK(ids[0] == id[4] && ids[1] == id[0] && key == t + 10 && cur == id[0]);
	CHECK(pgstore_due_page(s, DUE_EXPIRE, t + 10, &key, &cur, ids, 2) == 1 && ids[0] == id[1]);
	CHECK(pgstore_due_page(s, DUE_EXPIRE, t + 10, &key, &cur, ids, 2) == 0);
	CHECK(pgstore_packet_set_status(s, id[5], STATUS_RFUND_ING) == 0);
	key = INT64_MIN, cur = 0;
	CHECK(pgstore_due_page(s, DUE_REFUND, t + 100, &key, &cur, ids, 8) == 1 && ids[0] == id[5]);
	CHECK(pgstore_due_ids(s, DUE_REFUND, t + 100, ids, 8) == 1);

	/* Pending orders: one settling to FAILED at t + 50, one without. */
	struct packet_new p = packet("10000098", "D7", "oP", "SENDING", 100, t + 1, 0);
	p.settle_at = t + 50;
	p.settle_to = "FAILED";
	CHECK(pgstore_packet_insert(s, &p, &id[6]) == 0);
	id[7] = insert_at(s, "D8", "SENDING", t + 2, 0);
	CHECK(pgstore_packet_settle_at(s, id[6], &settle_at) == 0 && settle_at == t + 50);
	CHECK(pgstore_packet_settle_to(s, id[6], to) == 0);
	CHECK_STR(to, "FAILED");
	CHECK(pgstore_packet_settle_at(s, id[7], &settle_at) == 0 && settle_at == 0);
	CHECK(pgstore_packet_settle_to(s, id[7], to) == 0);
	CHECK_STR(to, "SENT");
	CHECK(pgstore_packet_settle_at(s, 999999, &settle_at) == 0 && settle_at == 0);
	CHECK(pgstore_packet_settle_to(s, 999999, to) == -1);
	CHECK(pgstore_due_ids(s, DUE_SETTLE, t + 49, ids, 8) == 0);
	CHECK(pgstore_due_ids(s, DUE_SETTLE, t + 50, ids, 8) == 1 && ids[0] == id[6]);
	key = INT64_MIN, cur = 0;
	CHECK(pgstore_due_page(s, DUE_SETTLE, t + 50, &key, &cur, ids, 8) == 1);
	CHECK(key == t + 50 && cur == id[6]);
	key = INT64_MIN, cur = 0;
	CHECK(pgstore_due_page(s, DUE_FAIL, t + 2, &key, &cur, ids, 8) == 2);
	CHECK(ids[0] == id[6] && ids[1] == id[7] && key == t + 2);
	CHECK(pgstore_due_ids(s, DUE_FAIL, t + 1, ids, 8) == 1 && ids[0] == id[6]);
	/* Issued later: counted on the day it was issued, once. */
	CHECK(pgstore_packet_issue(s, id[7], t + 86400) == 0);
	CHECK(pgstore_packet_issue(s, id[7], t + 86400) == -1);
	CHECK(pgstore_user_receipts_since(s, "10000098", "oA", t + 86400 - 43200, &count,
					  &amount) == 0);
	CHECK(count == 1 && amount == 0); /* a group's amount comes with its first share */
	pgstore_close(s);
}

/* ---- listings ---------------------------------------------------------- */

struct seen {
	int n;
	int64_t id[16];
	char text[512];
};

static void on_packet(void *arg, const struct packet_row *p)
{
	struct seen *v = arg;
	if (v->n < 16)
		v->id[v->n++] = p->id;
}

static void on_ledger(void *arg, const struct ledger_row *l)
{
	struct seen *v = arg;
	size_t len = strlen(v->text);
	snprintf(v->text + len, sizeof(v->text) - len, "%s %s %" PRId64 " %" PRId64 ";", l->mch_id,
		 l->kind, l->amount, l->packet_id);
	v->n++;
}

static void on_status(void *arg, const char *status, int64_t n)
{
	struct seen *v = arg;
	size_t len = strlen(v->text);
	snprintf(v->text + len, sizeof(v->text) - len, "%s=%" PRId64 ";", status, n);
}

static void on_share_row(void *arg, const struct share_row *r)
{
	struct seen *v = arg;
	size_t len = strlen(v->text);
	snprintf(v->text + len, sizeof(v->text) - len, "%d:%" PRId64 ":%s:%" PRId64 ";", r->seq,
		 r->amount, r->openid, r->rcv_time);
}

static void listings(void)
{
	struct pgstore *s = fresh_store("tsp_list");
	struct packet_row row;
	struct seen v;
	int64_t w1, w2, w3, v1, w5;

	if (!s)
		return;
	world(s);
	CHECK(pgstore_packet_find(s, "10000098", "W1", &row) == 1);
	w1 = row.id;
	CHECK(pgstore_packet_find(s, "10000098", "W2", &row) == 1);
	w2 = row.id;
	CHECK(pgstore_packet_find(s, "10000098", "W3", &row) == 1);
	w3 = row.id;
	CHECK(pgstore_packet_find(s, "10000098", "W5", &row) == 1);
	w5 = row.id;
	CHECK_STR(row.err_code, "NOTENOUGH");
	CHECK_STR(row.reason, "帐号余额不足");
	CHECK_STR(row.send_name, "天虹百货");
	CHECK(row.send_time == 0 && row.refund_time == 0);
	CHECK(pgstore_packet_find(s, "10000099", "V1", &row) == 1);
	v1 = row.id;
	CHECK(pgstore_packet_by_id(s, w3, &row) == 1);
	CHECK_STR(row.status, "REFUND");
	CHECK(row.refund_amount == 300 && row.refund_time == T0 + 20 + 86400);
	CHECK(pgstore_packet_by_id(s, 999999, &row) == 0);

	/* Newest first, filtered, paged. */
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_packets_each(s, NULL, NULL, 0, 100, on_packet, &v) == 0);
	CHECK(v.n == 9);
	for (int i = 1; i < v.n; i++)
		CHECK(v.id[i] < v.id[i - 1]);
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_packets_each(s, "10000098", NULL, 0, 100, on_packet, &v) == 0 && v.n == 7);
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_packets_each(s, "10000098", "SENT", 0, 2, on_packet, &v) == 0 && v.n == 2);
	int64_t last = v.id[1];
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_packets_each(s, "10000098", "SENT", last, 100, on_packet, &v) == 0);
	CHECK(v.n == 1 && v.id[0] == w1); /* W1, W4, W7 are SENT */
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_packets_each(s, NULL, "SENDING", 0, 100, on_packet, &v) == 0 && v.n == 2);
	CHECK(v.id[1] == w5);

	/* A billno alone: one merchant's, several, none. */
	CHECK(pgstore_packet_resolve(s, NULL, "W2", &row) == STORE_RESOLVE_FOUND && row.id == w2);
	CHECK(pgstore_packet_resolve(s, NULL, "W9", &row) == STORE_RESOLVE_NOT_FOUND);
	CHECK(pgstore_packet_resolve(s, "10000099", "W2", &row) == STORE_RESOLVE_NOT_FOUND);
	CHECK(pgstore_packet_resolve(s, "10000099", "V1", &row) == STORE_RESOLVE_FOUND);
	struct packet_new p = packet("10000099", "W2", "oA", "SENDING", 100, T0, 0);
	int64_t id;
	CHECK(pgstore_packet_insert(s, &p, &id) == 0);
	CHECK(pgstore_packet_resolve(s, NULL, "W2", &row) == STORE_RESOLVE_AMBIGUOUS);
	CHECK(row.id == w2); /* the first, by id */

	memset(&v, 0, sizeof(v));
	CHECK(pgstore_ledger_each(s, w3, on_ledger, &v) == 0 && v.n == 2);
	char want[128];
	snprintf(want, sizeof(want),
		 "10000098 send -400 %" PRId64 ";10000098 refund 300 %" PRId64 ";", w3, w3);
	CHECK_STR(v.text, want);
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_ledger_each(s, 999999, on_ledger, &v) == 0 && v.n == 0);

	memset(&v, 0, sizeof(v));
	CHECK(pgstore_shares_each(s, w3, on_share_row, &v) == 0);
	snprintf(want, sizeof(want), "0:100:oSeed:%" PRId64 ";1:100::0;2:100::0;3:100::0;",
		 T0 + 20);
	CHECK_STR(v.text, want);
	/* An opened share does not open again. */
	CHECK(pgstore_share_open(s, w3, 0, "oSomeone", T0) == -1);
	CHECK(pgstore_share_open(s, w3, 9, "oSomeone", T0) == -1);

	/* Per status, in status order, from the counters. */
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_status_counts(s, on_status, &v) == 0);
	CHECK_STR(v.text, "RECEIVED=2;REFUND=1;SENDING=3;SENT=4;");
	CHECK(pgstore_packet_set_status(s, v1, STATUS_RFUND_ING) == 0);
	memset(&v, 0, sizeof(v));
	CHECK(pgstore_status_counts(s, on_status, &v) == 0);
	CHECK_STR(v.text, "RECEIVED=2;REFUND=1;RFUND_ING=1;SENDING=3;SENT=3;");
	struct store_totals t;
	CHECK(pgstore_totals(s, &t) == 0);
	CHECK(t.issued == 300 + 500 + 400 + 200 + 100 + 600 + 300 && t.refunded == 300);
	pgstore_close(s);
}

/* ---- concurrency -------------------------------------------------------- */

/* Polls sql on pg until it answers want (a thread is seen waiting): at
 * most 10 seconds, a guard that only a broken store reaches. */
static int wait_for(struct pg *pg, const char *sql, int64_t want)
{
	struct timespec nap = {0, 5 * 1000 * 1000};

	for (int i = 0; i < 2000; i++) {
		if (pg_int(pg, sql) == want)
			return 1;
		nanosleep(&nap, NULL);
	}
	fprintf(stderr, "wait_for(%s): never %" PRId64 "\n", sql, want);
	return 0;
}

struct check_thread {
	struct pgstore *reader;
	int n;
};

static void *run_check(void *arg)
{
	struct check_thread *c = arg;
	int bad = 0;
	c->n = pgstore_check(c->reader, STORE_CHECK_SHARE_AT_LEAST_ONE_FEN, count_violation, &bad);
	return NULL;
}

#define LOCK_WAITERS(rel)                                                                          \
	"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"                    \
	" WHERE c.relname = '" rel "' AND NOT l.granted"

/* The reader sees the snapshot of its opening, whatever is committed
 * after; pgstore_interrupt cancels its running query and fails the
 * checks after it. */
static void reader(void)
{
	struct pgstore *s = fresh_store("tsp_reader"), *r = NULL;
	struct pg *admin = admin_db("tsp_reader"), *locker = admin_db("tsp_reader");
	struct check_thread c = {0};
	char err[256] = "";
	int bad = 0;
	pthread_t thread;

	if (!s || !admin || !locker)
		goto out;
	world(s);
	r = pgstore_reader_open(s, err, sizeof(err));
	CHECK(r != NULL);
	if (!r) {
		fprintf(stderr, "reader: %s\n", err);
		goto out;
	}
	/* Committed after the reader opened: a balance off its ledger. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pg_sql(admin, "UPDATE merchants SET balance = balance + 1"
			    " WHERE mch_id = '10000098'") == 0);
	pgstore_rollback(s);
	CHECK(pgstore_check(r, STORE_CHECK_BALANCE_EQUALS_LEDGER, count_violation, &bad) == 0);
	CHECK(violations(r) == 0);
	CHECK(pgstore_check(s, STORE_CHECK_BALANCE_EQUALS_LEDGER, count_violation, &bad) == 1);
	pgstore_reader_close(s, r);
	r = pgstore_reader_open(s, err, sizeof(err));
	CHECK(r && pgstore_check(r, STORE_CHECK_BALANCE_EQUALS_LEDGER, count_violation, &bad) == 1);
	pgstore_reader_close(s, r);
	pgstore_reader_close(s, NULL);

	/* A check held by a lock, cancelled from this thread. */
	r = pgstore_reader_open(s, err, sizeof(err));
	CHECK(r != NULL);
	if (!r)
		goto out;
	CHECK(pg_sql(locker, "BEGIN; LOCK TABLE shares IN ACCESS EXCLUSIVE MODE") == 0);
	c.reader = r;
	c.n = 99;
	CHECK(pthread_create(&thread, NULL, run_check, &c) == 0);
	CHECK(wait_for(admin, LOCK_WAITERS("shares"), 1));
	pgstore_interrupt(r);
	pthread_join(thread, NULL);
	CHECK(c.n == -1);
	CHECK(strstr(pgstore_first_error(r), "57014") != NULL); /* query_canceled */
	CHECK(pg_sql(locker, "ROLLBACK") == 0);
	/* Every check after it fails at once. */
	pgstore_error_clear(r);
	CHECK(pgstore_check(r, STORE_CHECK_BALANCE_NOT_NEGATIVE, count_violation, &bad) == -1);
	CHECK_STR(pgstore_first_error(r), "interrupted");
	pgstore_reader_close(s, r);
	r = NULL;
	/* An interrupt between checks: the next one fails. */
	r = pgstore_reader_open(s, err, sizeof(err));
	CHECK(r != NULL);
	if (r) {
		pgstore_interrupt(r);
		CHECK(pgstore_check(r, STORE_CHECK_BALANCE_NOT_NEGATIVE, count_violation, &bad) ==
		      -1);
		pgstore_reader_close(s, r);
	}
	r = NULL;
out:
	pgstore_close(s);
	pg_close(admin);
	pg_close(locker);
}

/* A send as redpack.c makes it: begin, find the billno, the packet if
 * it is new, commit. */
struct sender {
	struct pgstore *s;
	int found, rc;
	int64_t id;
};

static void *send_b(void *arg)
{
	struct sender *b = arg;
	struct packet_row row;
	int64_t next;

	b->rc = -1;
	if (pgstore_begin(b->s) != 0)
		return NULL;
	b->found = pgstore_packet_find(b->s, "10000098", "R1", &row);
	if (b->found == 1)
		b->id = row.id;
	if (b->found == 0) {
		struct packet_new p = packet("10000098", "R1", "oB", "SENT", 300, T0, T0);
		if (pgstore_packet_next_id(b->s, &next) != 0 ||
		    pgstore_packet_insert(b->s, &p, &b->id) != 0) {
			pgstore_rollback(b->s);
			return NULL;
		}
	}
	b->rc = pgstore_commit(b->s);
	return NULL;
}

/* Two connections send the same billno at once: the second waits for the
 * first's write lock, then finds its packet (no unique-key failure, no
 * second packet). */
static void same_billno(void)
{
	struct pgstore *a = fresh_store("tsp_race"), *b = NULL;
	struct pg *admin = admin_db("tsp_race");
	struct merchant m = merchant("10000098", 10);
	struct sender sb = {0};
	struct packet_row row;
	char err[256] = "";
	int64_t id = 0, next = 0;
	pthread_t thread;

	if (!a || !admin)
		goto out;
	b = pgstore_open(url_for("tsp_race"), err, sizeof(err));
	CHECK(b != NULL);
	if (!b)
		goto out;
	CHECK(pgstore_merchant_insert(a, &m) == 0);
	CHECK(pgstore_begin(a) == 0);
	CHECK(pgstore_packet_find(a, "10000098", "R1", &row) == 0);
	sb.s = b;
	CHECK(pthread_create(&thread, NULL, send_b, &sb) == 0);
	CHECK(wait_for(admin,
		       "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		       " AND NOT granted",
		       1));
	struct packet_new p = packet("10000098", "R1", "oA", "SENT", 300, T0, T0);
	CHECK(pgstore_packet_next_id(a, &next) == 0);
	p.id = next;
	CHECK(pgstore_packet_insert(a, &p, &id) == 0);
	CHECK(pgstore_commit(a) == 0);
	pthread_join(thread, NULL);
	CHECK(sb.rc == 0);
	CHECK(sb.found == 1);
	CHECK(sb.id == id);
	CHECK(pg_int(admin, "SELECT count(*) FROM packets WHERE mch_billno = 'R1'") == 1);
	CHECK(pg_int(admin,
		     "SELECT (re_openid = 'oA')::int FROM packets WHERE mch_billno = 'R1'") == 1);
	/* A batch holds the lock to its commit: the other's unit waits for it. */
	CHECK(pgstore_batch_begin(a) == 0);
	sb = (struct sender){.s = b};
	CHECK(pgstore_packet_find(a, "10000098", "R1", &row) == 1);
	CHECK(pthread_create(&thread, NULL, send_b, &sb) == 0);
	CHECK(wait_for(admin,
		       "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		       " AND NOT granted",
		       1));
	CHECK(pgstore_batch_commit(a) == 0);
	pthread_join(thread, NULL);
	CHECK(sb.rc == 0 && sb.found == 1 && sb.id == id);
out:
	pgstore_close(a);
	pgstore_close(b);
	pg_close(admin);
}

/* ---- faults ------------------------------------------------------------ */

/* Terminates every other backend of the database (the store's). */
static int terminate(struct pg *admin)
{
	return (int)pg_int(admin, "SELECT count(pg_terminate_backend(pid, 5000)) FROM"
				  " pg_stat_activity WHERE datname = current_database()"
				  " AND pid <> pg_backend_pid()");
}

/* A terminated backend: the next call fails (the connection was lost),
 * the open transaction or batch is gone and every call fails until it
 * ends; the next call outside one connects again, with the settings. */
static void lost(void)
{
	struct pgstore *s = fresh_store("tsp_lost");
	struct pg *admin = admin_db("tsp_lost");
	struct merchant m = merchant("10000098", 10), got;
	struct packet_row row;
	int64_t id;

	if (!s || !admin)
		goto out;
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 1000, "topup", 0, 1) == 0);
	CHECK(pgstore_set_durability(s, 1) == 0);

	/* Outside a transaction. */
	CHECK(terminate(admin) == 1);
	pgstore_error_clear(s);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == -1);
	CHECK(strstr(pgstore_first_error(s), "connection was lost") != NULL);
	CHECK(pgstore_in_transaction(s) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 1000);
	CHECK(pgstore_durability(s) == 2);

	/* Inside a transaction: nothing of it is kept. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 2) == 0);
	CHECK(pgstore_in_transaction(s) == 1);
	CHECK(terminate(admin) == 1);
	pgstore_error_clear(s);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 3) == -1);
	CHECK(strstr(pgstore_first_error(s), "connection was lost") != NULL);
	CHECK(pgstore_in_transaction(s) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == -1); /* not inside it */
	CHECK(pgstore_commit(s) == -1);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 1000);

	/* A commit whose connection is gone. */
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 4) == 0);
	CHECK(terminate(admin) == 1);
	CHECK(pgstore_commit(s) == -1);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 1000);

	/* Inside a batch: its units go with it. */
	uint64_t commits, units, commits2, units2;
	pgstore_commit_stats(s, &commits, &units);
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 5) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(terminate(admin) == 1);
	struct packet_new p = packet("10000098", "L1", "oA", "SENT", 300, T0, T0);
	CHECK(pgstore_packet_insert(s, &p, &id) == -1);
	pgstore_rollback(s);
	CHECK(pgstore_in_transaction(s) == 0);
	CHECK(pgstore_batch_open(s) == 1);
	CHECK(pgstore_begin(s) == -1);
	CHECK(pgstore_batch_commit(s) == -1);
	CHECK(pgstore_batch_open(s) == 0);
	pgstore_commit_stats(s, &commits2, &units2);
	CHECK(commits2 == commits && units2 == units + 1);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 1000);
	CHECK(pgstore_packet_find(s, "10000098", "L1", &row) == 0);
	/* Service as before. */
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 6) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 1005);
out:
	pgstore_close(s);
	pg_close(admin);
}

/* A statement that fails inside a batch: inside a unit, the unit goes
 * (even when committed after), the batch stays; outside any unit, the
 * batch is lost, as SQLite's when it rolls a transaction back. */
static void batch_failures(void)
{
	struct pgstore *s = fresh_store("tsp_batch");
	struct merchant m = merchant("10000098", 10), got;
	uint64_t commits, units, commits2, units2;

	if (!s)
		return;
	CHECK(pgstore_merchant_insert(s, &m) == 0);
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 1) == 0);
	CHECK(pgstore_merchant_insert(s, &m) == -1);
	CHECK(pgstore_commit(s) == -1); /* its statement failed: the unit goes */
	CHECK(pgstore_in_transaction(s) == 1);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 7, "topup", 0, 2) == 0);
	CHECK(pgstore_commit(s) == 0);
	CHECK(pgstore_batch_commit(s) == 0);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 7);

	pgstore_commit_stats(s, &commits, &units);
	CHECK(pgstore_batch_begin(s) == 0);
	CHECK(pgstore_begin(s) == 0);
	CHECK(pgstore_ledger_add(s, "10000098", 5, "topup", 0, 3) == 0);
	CHECK(pgstore_commit(s) == 0);
	pgstore_error_clear(s);
	CHECK(pgstore_merchant_insert(s, &m) == -1); /* outside any unit */
	CHECK(strstr(pgstore_first_error(s), "23505") != NULL);
	CHECK(pgstore_in_transaction(s) == 0);
	CHECK(pgstore_batch_open(s) == 1);
	CHECK(pgstore_begin(s) == -1);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == -1);
	CHECK(pgstore_batch_commit(s) == -1);
	CHECK(strstr(pgstore_first_error(s), "23505") != NULL); /* the cause, not its echoes */
	pgstore_commit_stats(s, &commits2, &units2);
	CHECK(commits2 == commits && units2 == units + 1);
	CHECK(pgstore_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 7);
	CHECK(pgstore_batch_begin(s) == 0 && pgstore_batch_commit(s) == 0);
	pgstore_commit_stats(s, &commits2, &units2);
	CHECK(commits2 == commits + 1);
	pgstore_close(s);
}

/* One process sweeps a shared database: the first store to ask holds the
 * sweeper lock for its session, a second is refused while it lives, and
 * takes it over once the first's connection is gone. Not inside a
 * transaction. */
static void sweep_turns(void)
{
	char err[256] = "";
	struct pgstore *a = fresh_store("tsp_sweep"), *b;

	if (!a)
		return;
	b = pgstore_open(url_for("tsp_sweep"), err, sizeof(err));
	CHECK(b != NULL);
	if (!b) {
		pgstore_close(a);
		return;
	}
	CHECK(pgstore_sweep_turn(a) == 1);
	CHECK(pgstore_sweep_turn(a) == 1);
	CHECK(pgstore_sweep_turn(b) == 0);
	CHECK(pgstore_begin(b) == 0);
	CHECK(pgstore_sweep_turn(b) == 0);
	CHECK(pgstore_commit(b) == 0);
	pgstore_close(a);
	/* The server frees a's session lock as its backend exits, a moment
	 * after the close: b asks again, as the sweeper does each second. */
	int turn = 0;
	for (int i = 0; i < 100 && !turn; i++) {
		turn = pgstore_sweep_turn(b);
		if (!turn)
			usleep(20000);
	}
	CHECK(turn == 1);
	pgstore_close(b);
}

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;

	if (!f || !fgets(base_url, sizeof(base_url), f) || !strrchr(base_url, '/')) {
		fprintf(stderr,
			"usage: test_store_pg URL_FILE (scripts/pg-throwaway.sh start writes "
			"it)\n");
		return 2;
	}
	fclose(f);
	base_url[strcspn(base_url, "\n")] = '\0';
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	ported();
	basics();
	reopen();
	next_ids();
	same_checks();
	wipes();
	reset_slices();
	due_pages();
	listings();
	reader();
	same_billno();
	lost();
	batch_failures();
	sweep_turns();
	rmdir(tmpdir);
	return check_done("store_pg");
}
