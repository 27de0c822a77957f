/* The SQLite store: opening (mode, WAL, schema version), fixtures rows,
 * lookups, packets, the ledger and its balance check, the counters and
 * transactions. */
#include "check.h"

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sql_probe.h"
#include "sqlite_mem.h"
#include "sqlite_wal_vfs.h"
#include "store.h"
#include "store_wal.h"

static char dir[] = "/tmp/test_store.XXXXXX";
static char dbpath[256];

/* ---- a second, plain connection for what the store does not expose --- */

#define sql_int sql_probe_int
#define sql_text sql_probe_text

/* ---- fixtures ---------------------------------------------------------- */

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

/* ---- tests ------------------------------------------------------------- */

/* Ids are never given twice (schema.sql, migration 11): not after the
 * newest packets and ledger rows go in a merchant's reset slices, its
 * wipe or a wipe of everything. */
static void on_ledger_id(void *arg, const struct ledger_row *l)
{
	*(int64_t *)arg = l->id;
}

static void ids_never_repeat(void)
{
	char err[256] = "";
	struct store *s = store_open(":memory:", err, sizeof(err));
	struct merchant m = merchant("10000098", 10);
	int64_t id = 0, next = 0, rows = 0, top_packet = 0, top_ledger = 0, ledger_id;
	char billno[16];

	CHECK(s != NULL);
	if (!s)
		return;
	for (int round = 0; round < 3; round++) {
		CHECK(store_merchant_insert(s, &m) == 0);
		CHECK(store_ledger_add(s, m.mch_id, 10000, "topup", 0, 1) == 0);
		for (int i = 0; i < 3; i++) {
			snprintf(billno, sizeof(billno), "B%d", i);
			struct packet_new p = packet(m.mch_id, billno, "oA", "SENT", 300, 5, 5);
			CHECK(store_packet_insert(s, &p, &id) == 0);
			CHECK(id > top_packet);
			top_packet = id;
			CHECK(store_ledger_add(s, m.mch_id, -300, "send", id, 5) == 0);
			ledger_id = 0;
			CHECK(store_ledger_each(s, id, on_ledger_id, &ledger_id) == 0);
			CHECK(ledger_id > top_ledger);
			top_ledger = ledger_id;
		}
		CHECK(store_packet_next_id(s, &next) == 0 && next == top_packet + 1);
		switch (round) {
		case 0: /* a merchant's reset: its packets in slices, then the rest */
			while (store_reset_slice(s, m.mch_id, 2, &rows) > 0)
				;
			struct packet_row gone;
			CHECK(store_packet_find(s, m.mch_id, "B2", &gone) == 0);
			CHECK(store_wipe(s, m.mch_id) == 0);
			break;
		case 1:
			CHECK(store_wipe(s, m.mch_id) == 0);
			break;
		default:
			CHECK(store_wipe(s, NULL) == 0);
			break;
		}
		CHECK(store_packet_next_id(s, &next) == 0 && next == top_packet + 1);
	}
	store_close(s);
}

static void open_memory(void)
{
	char err[256] = "";
	struct store *s = store_open(":memory:", err, sizeof(err));
	struct merchant m = merchant("10000098", 10), got;

	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "store_open: %s\n", err);
		return;
	}
	CHECK(store_is_empty(s) == 1);
	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_is_empty(s) == 0);
	CHECK(store_merchant_lookup(s, "10000098", &got) == 1);
	CHECK(got.balance == 0);
	store_close(s);
	store_close(NULL); /* free functions accept NULL */

	/* A second :memory: store is a new, empty database. */
	s = store_open(":memory:", err, sizeof(err));
	CHECK(s && store_is_empty(s) == 1);
	store_close(s);
}

static void open_refused(void)
{
	char err[256] = "";
	struct store *s = store_open("/nonexistent-dir/x/y.db", err, sizeof(err));
	CHECK(s == NULL);
	CHECK(err[0] != '\0');
	store_close(s);
}

static void lookups(struct store *s)
{
	struct merchant m = merchant("10000098", 10), got;
	char kind[8], appid[STORE_ID_MAX];

	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_merchant_insert(s, &m) == -1); /* primary key */
	CHECK(store_app_insert(s, "10000098", "wx8888888888888888", "MP") == 0);
	CHECK(store_app_insert(s, "10000098", "wx2421b1c4370ec43b", "APP") == 0);
	CHECK(store_app_insert(s, "10000098", "wxbad", "WEB") == -1); /* kind CHECK */
	CHECK(store_scene_insert(s, "10000098", "PRODUCT_1") == 0);
	CHECK(store_user_insert(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", "wx8888888888888888") == 0);
	CHECK(store_user_insert(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", "wx9") == -1);

	memset(&got, 0, sizeof(got));
	CHECK(store_merchant_lookup(s, "10000098", &got) == 1);
	CHECK_STR(got.mch_id, "10000098");
	CHECK_STR(got.name, "商户10000098");
	CHECK_STR(got.api_key, "key-10000098");
	CHECK(got.balance == 0);
	CHECK(got.sends_per_minute == 1800);
	CHECK(got.packets_per_user_per_day == 10);
	CHECK(got.amount_per_user_per_day == 100000);
	CHECK(got.amount_per_day == 100000000);
	CHECK(store_merchant_lookup(s, "10000099", &got) == 0);
	CHECK(store_merchant_lookup(s, "", &got) == 0);

	CHECK(store_app_kind(s, "10000098", "wx8888888888888888", kind) == 1);
	CHECK_STR(kind, "MP");
	CHECK(store_app_kind(s, "10000098", "wx2421b1c4370ec43b", kind) == 1);
	CHECK_STR(kind, "APP");
	CHECK(store_app_kind(s, "10000098", "wx9999999999999999", kind) == 0);
	CHECK(store_app_kind(s, "10000099", "wx8888888888888888", kind) == 0);

	CHECK(store_user_appid(s, "oxTWIuGaIt6gTKsQRLau2M0yL16E", appid) == 1);
	CHECK_STR(appid, "wx8888888888888888");
	CHECK(store_user_appid(s, "oUnknown", appid) == 0);

	CHECK(store_scene_enabled(s, "10000098", "PRODUCT_1") == 1);
	CHECK(store_scene_enabled(s, "10000098", "PRODUCT_8") == 0);
	CHECK(store_scene_enabled(s, "10000099", "PRODUCT_1") == 0);
}

static void packets(struct store *s)
{
	struct packet_new p = packet("10000098", "B1", "oA", "SENT", 300, 1000, 1000);
	struct packet_row row;
	int64_t id = 0, id2 = 0;

	CHECK(store_packet_insert(s, &p, &id) == 0);
	CHECK(id > 0);
	CHECK(store_packet_set_listid(s, id, "1000041701202403013000000000001") == 0);
	memset(&row, 0, sizeof(row));
	CHECK(store_packet_find(s, "10000098", "B1", &row) == 1);
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

	CHECK(store_packet_find(s, "10000098", "B2", &row) == 0);
	CHECK(store_packet_find(s, "10000099", "B1", &row) == 0);

	/* UNIQUE (mch_id, mch_billno). */
	CHECK(store_packet_insert(s, &p, &id2) == -1);
	/* The same billno for another merchant is another order. */
	struct merchant m2 = merchant("10000099", 10);
	CHECK(store_merchant_insert(s, &m2) == 0);
	p.mch_id = "10000099";
	CHECK(store_packet_insert(s, &p, &id2) == 0);
	CHECK(id2 != id);
	/* send_listid is not a key of its own (it is made from the id). */
	CHECK(store_packet_set_listid(s, id2, "1000041701202403013000000000001") == 0);

	/* A held order: err_code kept, send_time 0 reads back as 0. */
	struct packet_new h = packet("10000098", "H1", "oA", "SENDING", 500, 1001, 0);
	h.err_code = "NOTENOUGH";
	h.reason = "帐号余额不足，请到商户平台充值后再重试";
	CHECK(store_packet_insert(s, &h, &id2) == 0);
	CHECK(store_packet_find(s, "10000098", "H1", &row) == 1);
	CHECK_STR(row.status, "SENDING");
	CHECK_STR(row.err_code, "NOTENOUGH");
	CHECK_STR(row.send_listid, "");
	CHECK(row.send_time == 0);

	/* Schema checks. */
	struct packet_new bad = packet("10000098", "Z1", "oA", "SENT", 0, 1, 1);
	CHECK(store_packet_insert(s, &bad, &id2) == -1); /* total_amount > 0 */
	bad = packet("10000098", "Z3", "oA", "SENT", 10, 1, 1);
	bad.hb_type = "OTHER";
	CHECK(store_packet_insert(s, &bad, &id2) == -1);

	CHECK(store_share_insert(s, id, 0, 200) == 0);
	CHECK(store_share_insert(s, id, 1, 99) == 0);
	CHECK(store_share_insert(s, id, 2, 1) == 0);
	CHECK(store_share_insert(s, id, 2, 1) == -1); /* (packet_id, seq) */
	CHECK(store_share_insert(s, id, 3, 0) == -1); /* amount >= 1 */
}

static int64_t balance(struct store *s, const char *mch_id)
{
	struct merchant m;
	return store_merchant_lookup(s, mch_id, &m) == 1 ? m.balance : -1;
}

static void ledger(struct store *s, const char *path)
{
	CHECK(balance(s, "10000098") == 0);
	CHECK(store_ledger_add(s, "10000098", 1000, "fixture", 0, 1) == 0);
	CHECK(balance(s, "10000098") == 1000);
	CHECK(store_ledger_add(s, "10000098", -300, "send", 1, 2) == 0);
	CHECK(balance(s, "10000098") == 700);
	CHECK(store_ledger_add(s, "10000098", 5, "bogus", 0, 3) == -1); /* kind CHECK */
	CHECK(balance(s, "10000098") == 700);

	/* An overdraft is refused by CHECK (balance >= 0), inside a
	 * transaction as the send path uses it. */
	CHECK(store_begin(s) == 0);
	CHECK(store_ledger_add(s, "10000098", -701, "send", 0, 4) == -1);
	store_rollback(s);
	CHECK(balance(s, "10000098") == 700);
	/* Exactly down to zero is fine. */
	CHECK(store_begin(s) == 0);
	CHECK(store_ledger_add(s, "10000098", -700, "send", 0, 5) == 0);
	store_rollback(s);
	CHECK(balance(s, "10000098") == 700);

	/* And outside a transaction: refused, and the ledger keeps matching
	 * the balance (no ledger row without its balance change). */
	CHECK(store_ledger_add(s, "10000098", -10000, "send", 0, 6) == -1);
	CHECK(balance(s, "10000098") == 700);
	if (path) {
		CHECK(sql_int(path, "SELECT SUM(amount) FROM ledger WHERE mch_id = '10000098'") ==
		      700);
		CHECK(sql_int(path, "SELECT COUNT(*) FROM ledger WHERE mch_id = '10000098'") == 2);
	}
}

/* The running counters: kept by triggers, read by key, per Beijing day. */
static void counters(struct store *s)
{
	const int64_t day0 = INT64_C(1709222400); /* 2024-03-01 00:00 Beijing */
	struct merchant m = merchant("20000001", 10);
	int64_t id, count = -1, amount = -1, issued = 0, issued_count = 0;
	char billno[16];

	CHECK(store_merchant_insert(s, &m) == 0);
	/* Another user, the day before. */
	struct packet_new o = packet("20000001", "C9", "oV", "SENT", 7000000, day0 - 50, day0 - 50);
	o.hb_type = "NORMAL";
	CHECK(store_packet_insert(s, &o, &id) == 0);
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
		CHECK(store_packet_insert(s, &p, &id) == 0);
	}

	/* The rate: orders created per second, the ones over two minutes old
	 * pruned (C9 is gone). */
	CHECK(store_packets_created_since(s, "20000001", 0, &count) == 0);
	CHECK(count == 6);
	CHECK(store_packets_created_since(s, "20000001", day0 + 104, &count) == 0);
	CHECK(count == 2);
	CHECK(store_packets_created_since(s, "20000001", day0 + 106, &count) == 0);
	CHECK(count == 0);
	CHECK(store_packets_created_since(s, "20000002", 0, &count) == 0);
	CHECK(count == 0);

	/* Only issued statuses count: SENT, RECEIVED, RFUND_ING, REFUND. */
	CHECK(issued_count == 4);
	CHECK(store_user_receipts_since(s, "20000001", "oU", day0, &count, &amount) == 0);
	CHECK(count == issued_count && amount == issued);
	CHECK(store_user_receipts_since(s, "20000001", "oU", day0 - 86400, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(store_user_receipts_since(s, "20000001", "oV", day0 - 86400, &count, &amount) == 0);
	CHECK(count == 1 && amount == 7000000);
	CHECK(store_user_receipts_since(s, "20000001", "oV", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(store_user_receipts_since(s, "20000002", "oU", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);

	CHECK(store_merchant_sent_since(s, "20000001", day0, &amount) == 0);
	CHECK(amount == issued);
	CHECK(store_merchant_sent_since(s, "20000001", day0 - 86400, &amount) == 0);
	CHECK(amount == 7000000);
	CHECK(store_merchant_sent_since(s, "20000001", day0 + 86400, &amount) == 0);
	CHECK(amount == 0);

	/* A group's receiver got its first share, not the total; a share
	 * opened by someone else is theirs; the seed opening its own share
	 * adds nothing. */
	struct packet_new g = packet("20000001", "G1", "oG", "SENT", 21, day0 + 200, day0 + 200);
	CHECK(store_packet_insert(s, &g, &id) == 0);
	CHECK(store_share_insert(s, id, 0, 5) == 0 && store_share_insert(s, id, 1, 7) == 0 &&
	      store_share_insert(s, id, 2, 9) == 0);
	CHECK(store_user_receipts_since(s, "20000001", "oG", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 5);
	CHECK(store_share_open(s, id, 0, "oG", day0 + 201) == 0);
	CHECK(store_share_open(s, id, 1, "oH", day0 + 202) == 0);
	CHECK(store_user_receipts_since(s, "20000001", "oG", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 5);
	CHECK(store_user_receipts_since(s, "20000001", "oH", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 7);
	CHECK(store_merchant_sent_since(s, "20000001", day0, &amount) == 0);
	CHECK(amount == issued + 21);

	/* A held order (no send_time) never counts as received; issuing it
	 * later counts it on the day it was issued. */
	struct packet_new h = packet("20000001", "C10", "oW", "SENDING", 500, day0 + 300, 0);
	h.hb_type = "NORMAL";
	CHECK(store_packet_insert(s, &h, &id) == 0);
	CHECK(store_user_receipts_since(s, "20000001", "oW", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(store_packet_issue(s, id, day0 + 86400 + 5) == 0);
	CHECK(store_user_receipts_since(s, "20000001", "oW", day0, &count, &amount) == 0);
	CHECK(count == 0 && amount == 0);
	CHECK(store_user_receipts_since(s, "20000001", "oW", day0 + 86400, &count, &amount) == 0);
	CHECK(count == 1 && amount == 500);
	CHECK(store_merchant_sent_since(s, "20000001", day0 + 86400, &amount) == 0);
	CHECK(amount == 500);
}

static void transactions(struct store *s)
{
	struct merchant m = merchant("30000001", 10), got;
	struct packet_row row;
	int64_t id;

	store_rollback(s); /* safe with no transaction open */
	CHECK(store_begin(s) == 0);
	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "30000001", 500, "topup", 0, 1) == 0);
	struct packet_new p = packet("30000001", "T1", "oA", "SENT", 300, 1, 1);
	CHECK(store_packet_insert(s, &p, &id) == 0);
	CHECK(store_share_insert(s, id, 0, 300) == 0);
	CHECK(store_merchant_lookup(s, "30000001", &got) == 1); /* visible inside */
	store_rollback(s);
	CHECK(store_merchant_lookup(s, "30000001", &got) == 0);
	CHECK(store_packet_find(s, "30000001", "T1", &row) == 0);
	/* The failed insert of the same row now works: nothing was left. */
	CHECK(store_begin(s) == 0);
	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "30000001", 500, "topup", 0, 1) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(balance(s, "30000001") == 500);
	/* BEGIN twice is an error (no nested transactions). */
	CHECK(store_begin(s) == 0);
	CHECK(store_begin(s) == -1);
	store_rollback(s);
	CHECK(store_commit(s) == -1); /* nothing open */
}

/* Group commit: units of work inside a batch are savepoints; a failing
 * unit rolls back alone, the batch commits the rest at once; a batch that
 * cannot commit keeps nothing. */
static void batches(struct store *s)
{
	struct merchant a = merchant("31000001", 10), b = merchant("31000002", 10), got;
	int64_t before;

	CHECK(store_batch_open(s) == 0);
	CHECK(store_batch_commit(s) == 0); /* nothing open: nothing to do */
	CHECK(store_batch_begin(s) == 0);
	CHECK(store_batch_begin(s) == 0); /* already open */
	CHECK(store_batch_open(s) == 1);
	store_rollback(s); /* no unit open: the batch is untouched */
	before = store_changes(s);
	CHECK(store_begin(s) == 0);
	CHECK(store_merchant_insert(s, &a) == 0);
	CHECK(store_ledger_add(s, "31000001", 700, "topup", 0, 1) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_changes(s) > before);
	CHECK(store_begin(s) == 0);
	CHECK(store_merchant_insert(s, &b) == 0);
	store_rollback(s); /* this unit only */
	CHECK(store_merchant_lookup(s, "31000001", &got) == 1 && got.balance == 700);
	CHECK(store_merchant_lookup(s, "31000002", &got) == 0);
	/* A unit that fails half way (a duplicate) leaves nothing of itself. */
	CHECK(store_begin(s) == 0);
	CHECK(store_ledger_add(s, "31000001", 5, "topup", 0, 2) == 0);
	CHECK(store_merchant_insert(s, &a) == -1);
	store_rollback(s);
	CHECK(balance(s, "31000001") == 700);
	CHECK(store_batch_commit(s) == 0);
	CHECK(store_batch_open(s) == 0);
	CHECK(store_merchant_lookup(s, "31000001", &got) == 1 && got.balance == 700);
	/* Outside a batch, units are transactions again. */
	CHECK(store_begin(s) == 0);
	CHECK(store_begin(s) == -1);
	store_rollback(s);
}

static void count_violation(void *arg, const char *text);

static void sum_status(void *arg, const char *status, int64_t n)
{
	if (strcmp(status, "SENT") == 0)
		*(int64_t *)arg += n;
}

/* One group send as redpack.c writes it: the packet, its shares, the debit. */
static int send_rows(struct store *s, const char *mch_id, const char *billno, const char *openid,
		     const int64_t *shares, int64_t t, int64_t *id)
{
	struct packet_new p = packet(mch_id, billno, openid, "SENT",
				     shares[0] + shares[1] + shares[2], t, t);
	if (store_packet_insert(s, &p, id) != 0 || store_shares_insert(s, *id, shares, 3) != 0)
		return -1;
	return store_ledger_add(s, mch_id, -p.total_amount, "send", *id, t);
}

/* In a group batch the counters are held in memory and written at the
 * commit (store.c, holding): the send path's reads see what is held; a
 * unit that fails takes back what it held, a debit held still keeps the
 * balance's CHECK, a reader of the counter tables off the send path sees
 * them written; after the commit the tables agree with the rows. */
static void held_counters(struct store *s)
{
	const int64_t t = INT64_C(1709265600); /* 2024-03-01 12:00 Beijing */
	const int64_t day = t - 12 * 3600;
	const int64_t ok[3] = {100, 120, 80}, bad[3] = {300, 0, 0};
	struct merchant m = merchant("32000001", 10), got;
	int64_t id, count = -1, amount = -1, sent = 0;

	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "32000001", 1000, "topup", 0, t - 10) == 0);

	CHECK(store_batch_begin(s) == 0);
	CHECK(store_begin(s) == 0);
	CHECK(send_rows(s, "32000001", "H1", "oH", ok, t, &id) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_merchant_lookup(s, "32000001", &got) == 1 && got.balance == 700);
	CHECK(store_packets_created_since(s, "32000001", t, &count) == 0 && count == 1);
	CHECK(store_packets_created_since(s, "32000001", t + 1, &count) == 0 && count == 0);
	CHECK(store_user_receipts_since(s, "32000001", "oH", day, &count, &amount) == 0);
	CHECK(count == 1 && amount == 100); /* the seed share */
	CHECK(store_merchant_sent_since(s, "32000001", day, &amount) == 0 && amount == 300);

	/* A unit that fails half way (a share of 0 fen) holds nothing after. */
	CHECK(store_begin(s) == 0);
	CHECK(send_rows(s, "32000001", "H2", "oH", bad, t + 1, &id) == -1);
	store_rollback(s);
	CHECK(store_packets_created_since(s, "32000001", t, &count) == 0 && count == 1);
	CHECK(store_user_receipts_since(s, "32000001", "oH", day, &count, &amount) == 0);
	CHECK(count == 1 && amount == 100);
	/* A debit past the balance (700 held) fails in its own unit. */
	CHECK(store_begin(s) == 0);
	CHECK(store_ledger_add(s, "32000001", -701, "send", 0, t + 1) == -1);
	store_rollback(s);
	CHECK(balance(s, "32000001") == 700);

	/* A reader of the counter tables in the batch writes what is held. */
	CHECK(store_status_counts(s, sum_status, &sent) == 0);
	CHECK(sent >= 1);
	CHECK(store_begin(s) == 0);
	CHECK(send_rows(s, "32000001", "H3", "oJ", ok, t + 2, &id) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_merchant_lookup(s, "32000001", &got) == 1 && got.balance == 400);
	CHECK(store_packets_created_since(s, "32000001", t, &count) == 0 && count == 2);
	CHECK(store_batch_commit(s) == 0);

	/* Written: the same figures from the tables, which agree with the rows. */
	CHECK(sql_int(dbpath, "SELECT balance FROM merchants WHERE mch_id = '32000001'") == 400);
	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM packets WHERE mch_id = '32000001'") == 2);
	CHECK(sql_int(dbpath, "SELECT SUM(count) FROM rate_second WHERE mch_id = '32000001'") == 2);
	CHECK(sql_int(dbpath, "SELECT amount FROM day_merchant WHERE mch_id = '32000001'") == 600);
	CHECK(sql_int(dbpath, "SELECT count * 1000 + amount FROM day_user"
			      " WHERE mch_id = '32000001' AND openid = 'oH'") == 1100);
	CHECK(sql_int(dbpath, "SELECT n FROM status_count"
			      " WHERE mch_id = '32000001' AND status = 'SENT'") == 2);
	/* A packet inserted and moved to another status in the same batch:
	 * its first status's count is held, the move's decrement written by
	 * the trigger; they meet at the commit (migration 10). */
	struct merchant fresh = merchant("32000002", 10);
	struct packet_new moved = packet("32000002", "M1", "oM", "SENDING", 300, t, 0);
	CHECK(store_merchant_insert(s, &fresh) == 0);
	CHECK(store_batch_begin(s) == 0);
	CHECK(store_begin(s) == 0);
	CHECK(store_packet_insert(s, &moved, &id) == 0);
	CHECK(store_packet_set_status(s, id, STATUS_FAILED) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_batch_commit(s) == 0);
	CHECK(sql_int(dbpath, "SELECT IFNULL(SUM(n), 0) FROM status_count"
			      " WHERE mch_id = '32000002' AND status = 'SENDING'") == 0);
	CHECK(sql_int(dbpath, "SELECT n FROM status_count"
			      " WHERE mch_id = '32000002' AND status = 'FAILED'") == 1);

	/* A billno found absent is known absent until something is written,
	 * in the same batch: no second lookup (store.c, known_absent). */
	struct packet_row row;
	CHECK(store_batch_begin(s) == 0);
	CHECK(store_packet_find(s, "32000001", "H9", &row) == 0);
	int64_t steps = store_vm_steps(s);
	CHECK(store_packet_find(s, "32000001", "H9", &row) == 0);
	CHECK(store_vm_steps(s) == steps);
	CHECK(store_packet_find(s, "32000001", "H8", &row) == 0);
	CHECK(store_vm_steps(s) > steps);
	CHECK(store_begin(s) == 0);
	CHECK(send_rows(s, "32000001", "H8", "oH", ok, t + 3, &id) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_packet_find(s, "32000001", "H8", &row) == 1 && row.id == id);
	CHECK(store_batch_commit(s) == 0);
	/* Outside a batch another process may write between two lookups. */
	CHECK(store_packet_find(s, "32000001", "H9", &row) == 0);
	steps = store_vm_steps(s);
	CHECK(store_packet_find(s, "32000001", "H9", &row) == 0);
	CHECK(store_vm_steps(s) > steps);

	static const enum store_check counted[] = {
		STORE_CHECK_BALANCE_EQUALS_LEDGER, STORE_CHECK_BALANCE_NOT_NEGATIVE,
		STORE_CHECK_MERCHANT_DAY_COUNTER,  STORE_CHECK_USER_DAY_COUNTER,
		STORE_CHECK_STATUS_COUNTER,	   STORE_CHECK_RATE_COUNTER,
	};
	int violations = 0;
	for (size_t c = 0; c < sizeof(counted) / sizeof(counted[0]); c++)
		CHECK(store_check(s, counted[c], count_violation, &violations) == 0);
	CHECK(violations == 0);
}

/* A unit of inserts (a send, store_begin_inserts) in a batch opens no
 * savepoint: the same rows cost fewer VM steps than in a plain unit (no
 * SAVEPOINT, no RELEASE). Rolled back, it deletes
 * the packet, shares and ledger rows it inserted and takes back what it
 * held, whole or failed half way; a write of another kind in it opens the
 * savepoint first and a rollback then undoes both; a unit begun inside it
 * rolls back alone. The units committed beside them stay. */
/* In a batch a day counter read once answers again from memory, with
 * what the batch holds since added, until a write that may move the row
 * (exec_done): the values agree with the tables after the commit. */
static void day_counters_remembered(struct store *s)
{
	const int64_t t = INT64_C(1709265600); /* 2024-03-01 12:00 Beijing */
	const int64_t day = t - 12 * 3600;
	const int64_t ok[3] = {100, 120, 80};
	struct merchant m = merchant("34000003", 10);
	int64_t id, steps, sent = -1, again = -1, count = -1, amount = -1;

	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, m.mch_id, 5000, "topup", 0, t - 10) == 0);
	CHECK(store_begin(s) == 0); /* a send before the batch: in the tables */
	CHECK(send_rows(s, m.mch_id, "D0", "oD", ok, t, &id) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_batch_begin(s) == 0);
	CHECK(store_merchant_sent_since(s, m.mch_id, day, &sent) == 0 && sent == 300);
	CHECK(store_user_receipts_since(s, m.mch_id, "oD", day, &count, &amount) == 0);
	steps = store_vm_steps(s);
	CHECK(store_merchant_sent_since(s, m.mch_id, day, &again) == 0 && again == 300);
	CHECK(store_user_receipts_since(s, m.mch_id, "oD", day, &count, &amount) == 0);
	CHECK(store_vm_steps(s) == steps); /* from memory */
	for (int i = 1; i <= 3; i++) {
		char billno[8];
		snprintf(billno, sizeof(billno), "D%d", i);
		CHECK(store_begin_inserts(s) == 0);
		CHECK(send_rows(s, m.mch_id, billno, "oD", ok, t, &id) == 0);
		CHECK(store_commit(s) == 0);
		CHECK(store_merchant_sent_since(s, m.mch_id, day, &sent) == 0);
		CHECK(sent == 300 * (i + 1)); /* the row as read, and what is held */
	}
	CHECK(store_user_receipts_since(s, m.mch_id, "oD", day, &count, &amount) == 0);
	int64_t held_count = count;
	/* A write of another kind: the rows are read again. */
	m.sends_per_minute = 99;
	CHECK(store_merchant_update(s, &m) == 0);
	steps = store_vm_steps(s);
	CHECK(store_merchant_sent_since(s, m.mch_id, day, &again) == 0 && again == sent);
	CHECK(store_vm_steps(s) > steps);
	CHECK(store_batch_commit(s) == 0);
	CHECK(store_merchant_sent_since(s, m.mch_id, day, &again) == 0 && again == sent);
	CHECK(store_user_receipts_since(s, m.mch_id, "oD", day, &count, &amount) == 0);
	CHECK(count == held_count);
	CHECK(sql_int(dbpath, "SELECT amount FROM day_merchant WHERE mch_id = '34000003'") == 1200);
}

/* In a batch the next ledger id is known without a read (the one after
 * the last written), and stays right across writes outside a batch and
 * a rollback: every add succeeds, no id is given twice, and the second
 * add of a batch runs fewer VM steps than its first. */
static void ledger_ids_remembered(struct store *s)
{
	struct merchant m = merchant("34000002", 10);
	int64_t steps, first, second;

	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, m.mch_id, 1000, "topup", 0, 1) == 0);
	CHECK(store_batch_begin(s) == 0);
	steps = store_vm_steps(s);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 2) == 0);
	first = store_vm_steps(s) - steps;
	steps = store_vm_steps(s);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 2) == 0);
	second = store_vm_steps(s) - steps;
	CHECK(second < first);
	CHECK(store_batch_commit(s) == 0);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 3) == 0); /* outside a batch */
	CHECK(store_batch_begin(s) == 0);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 4) == 0);
	CHECK(store_begin(s) == 0);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 4) == 0);
	store_rollback(s);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 4) == 0);
	CHECK(store_batch_commit(s) == 0);
	CHECK(store_ledger_add(s, m.mch_id, 1, "topup", 0, 5) == 0);
	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM ledger WHERE mch_id = '34000002'") == 7);
	CHECK(sql_int(dbpath, "SELECT COUNT(DISTINCT id) = COUNT(*) FROM ledger") == 1);
	CHECK(sql_int(dbpath, "SELECT balance FROM merchants WHERE mch_id = '34000002'") == 1006);
}

static void units_of_inserts(struct store *s)
{
	const int64_t t = INT64_C(1709265600); /* 2024-03-01 12:00 Beijing */
	const int64_t ok[3] = {100, 120, 80}, bad[3] = {300, 0, 0};
	struct merchant m = merchant("34000001", 10), got;
	struct packet_row row;
	int64_t id, count = -1;

	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "34000001", 1000, "topup", 0, t - 10) == 0);
	CHECK(store_batch_begin(s) == 0);
	int64_t steps = store_vm_steps(s);
	CHECK(store_begin(s) == 0);
	CHECK(send_rows(s, "34000001", "U0", "oU", ok, t, &id) == 0);
	CHECK(store_commit(s) == 0);
	int64_t plain = store_vm_steps(s) - steps;
	steps = store_vm_steps(s);
	CHECK(store_begin_inserts(s) == 0);
	CHECK(send_rows(s, "34000001", "U1", "oU", ok, t, &id) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_vm_steps(s) - steps < plain);
	/* In a batch the next packet id is known without a read: the one
	 * after the highest inserted, whatever id a caller gave. */
	int64_t next = 0, again = 0;
	steps = store_vm_steps(s);
	CHECK(store_packet_next_id(s, &next) == 0 && next == id + 1);
	CHECK(store_vm_steps(s) == steps);
	struct packet_new given = packet("34000001", "U9", "oU", "SENDING", 300, t, 0);
	given.id = next + 10;
	CHECK(store_begin_inserts(s) == 0);
	CHECK(store_packet_insert(s, &given, &id) == 0 && id == next + 10);
	CHECK(store_packet_next_id(s, &again) == 0 && again == next + 11);
	store_rollback(s); /* a rollback: read again, the highest id gone */
	CHECK(store_packet_next_id(s, &again) == 0 && again == next);
	CHECK(store_vm_steps(s) > steps);

	/* Rolled back whole. */
	CHECK(store_begin_inserts(s) == 0);
	CHECK(send_rows(s, "34000001", "U2", "oU", ok, t + 1, &id) == 0);
	CHECK(store_packet_find(s, "34000001", "U2", &row) == 1);
	store_rollback(s);
	CHECK(store_packet_find(s, "34000001", "U2", &row) == 0);
	CHECK(store_merchant_lookup(s, "34000001", &got) == 1 && got.balance == 400);
	CHECK(store_packets_created_since(s, "34000001", t, &count) == 0 && count == 2);
	/* Failed half way: its shares refused (0 fen), the packet written. */
	CHECK(store_begin_inserts(s) == 0);
	CHECK(send_rows(s, "34000001", "U3", "oU", bad, t + 2, &id) == -1);
	store_rollback(s);
	CHECK(store_packet_find(s, "34000001", "U3", &row) == 0);
	/* A write of another kind: the savepoint, then both undone. */
	CHECK(store_begin_inserts(s) == 0);
	CHECK(send_rows(s, "34000001", "U4", "oU", ok, t + 3, &id) == 0);
	m.sends_per_minute = 9;
	CHECK(store_merchant_update(s, &m) == 0);
	store_rollback(s);
	CHECK(store_packet_find(s, "34000001", "U4", &row) == 0);
	CHECK(store_merchant_lookup(s, "34000001", &got) == 1 && got.sends_per_minute == 1800);
	/* A unit inside: it alone rolls back. */
	CHECK(store_begin_inserts(s) == 0);
	CHECK(send_rows(s, "34000001", "U5", "oU", ok, t + 4, &id) == 0);
	CHECK(store_begin(s) == 0);
	CHECK(store_ledger_add(s, "34000001", 5, "topup", 0, t + 4) == 0);
	store_rollback(s);
	CHECK(store_commit(s) == 0);
	CHECK(store_batch_commit(s) == 0);

	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM packets WHERE mch_id = '34000001'") == 3);
	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM packets WHERE mch_id = '34000001'"
			      " AND mch_billno IN ('U0', 'U1', 'U5')") == 3);
	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM shares WHERE packet_id IN"
			      " (SELECT id FROM packets WHERE mch_id = '34000001')") == 9);
	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM ledger WHERE mch_id = '34000001'") == 4);
	CHECK(sql_int(dbpath, "SELECT balance FROM merchants WHERE mch_id = '34000001'") == 100);
	CHECK(sql_int(dbpath, "SELECT SUM(count) FROM rate_second WHERE mch_id = '34000001'") == 3);
	static const enum store_check kept[] = {
		STORE_CHECK_SHARES_SUM_TO_TOTAL,  STORE_CHECK_NO_ORPHAN_SHARES,
		STORE_CHECK_NO_ORPHAN_LEDGER,	  STORE_CHECK_BALANCE_EQUALS_LEDGER,
		STORE_CHECK_MERCHANT_DAY_COUNTER, STORE_CHECK_USER_DAY_COUNTER,
		STORE_CHECK_STATUS_COUNTER,	  STORE_CHECK_RATE_COUNTER,
	};
	int violations = 0;
	for (size_t c = 0; c < sizeof(kept) / sizeof(kept[0]); c++)
		CHECK(store_check(s, kept[c], count_violation, &violations) == 0);
	CHECK(violations == 0);
}

/* Within a batch, a lookup answered once answers again from memory
 * (store.c, memo_hit) until a write that may change it: an update, an
 * insert, a rollback, the batch's end. The balance as written too: a
 * debit held adds to it, and writing the balance through (a reader of the
 * counters flushes what is held) makes the next lookup read it again. */
static void lookups_remembered(struct store *s)
{
	struct merchant m = merchant("33000001", 10), got;
	char kind[8] = "", appid[STORE_ID_MAX] = "";
	int64_t steps;

	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "33000001", 500, "topup", 0, 1) == 0);
	CHECK(store_batch_begin(s) == 0);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.balance == 500);
	steps = store_vm_steps(s);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.balance == 500);
	CHECK_STR(got.api_key, "key-33000001");
	CHECK(store_vm_steps(s) == steps);
	CHECK(store_ledger_add(s, "33000001", -100, "send", 0, 2) == 0);
	steps = store_vm_steps(s);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.balance == 400);
	CHECK(store_vm_steps(s) == steps); /* the debit held: added, nothing read */
	int64_t sent = 0;
	CHECK(store_status_counts(s, sum_status, &sent) == 0); /* writes what is held */
	steps = store_vm_steps(s);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.balance == 400);
	CHECK(store_vm_steps(s) > steps);
	steps = store_vm_steps(s);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.balance == 400);
	CHECK(store_vm_steps(s) == steps);
	m.sends_per_minute = 7;
	CHECK(store_merchant_update(s, &m) == 0);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.sends_per_minute == 7);

	/* Not found is remembered too, until an insert. */
	CHECK(store_app_kind(s, "33000001", "wx3300", kind) == 0);
	steps = store_vm_steps(s);
	CHECK(store_app_kind(s, "33000001", "wx3300", kind) == 0);
	CHECK(store_vm_steps(s) == steps);
	CHECK(store_begin(s) == 0);
	CHECK(store_app_insert(s, "33000001", "wx3300", "MP") == 0);
	CHECK(store_app_kind(s, "33000001", "wx3300", kind) == 1);
	CHECK_STR(kind, "MP");
	store_rollback(s); /* the insert undone: so is what was looked up */
	CHECK(store_app_kind(s, "33000001", "wx3300", kind) == 0);
	CHECK(store_user_appid(s, "o33", appid) == 0);
	CHECK(store_user_insert(s, "o33", "wx3301") == 0);
	CHECK(store_user_appid(s, "o33", appid) == 1);
	CHECK_STR(appid, "wx3301");
	CHECK(store_scene_enabled(s, "33000001", "PRODUCT_1") == 0);
	CHECK(store_scene_insert(s, "33000001", "PRODUCT_1") == 0);
	CHECK(store_scene_enabled(s, "33000001", "PRODUCT_1") == 1);
	CHECK(store_batch_commit(s) == 0);

	/* Outside a batch every lookup reads. */
	steps = store_vm_steps(s);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1 && got.balance == 400);
	int64_t first = store_vm_steps(s) - steps;
	steps = store_vm_steps(s);
	CHECK(store_merchant_lookup(s, "33000001", &got) == 1);
	CHECK(store_vm_steps(s) - steps == first);
	CHECK(first > 0);
}

static void file_store(void)
{
	char err[256] = "";
	struct stat st;
	struct store *s;
	struct merchant got;

	snprintf(dbpath, sizeof(dbpath), "%s/redpack.db", dir);
	mode_t old = umask(0); /* the store, not the umask, makes it private */
	s = store_open(dbpath, err, sizeof(err));
	umask(old);
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "store_open: %s\n", err);
		return;
	}
	CHECK(stat(dbpath, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	CHECK_STR(sql_text(dbpath, "PRAGMA journal_mode"), "wal");
	CHECK(sql_int(dbpath, "PRAGMA user_version") == store_schema_version());
	CHECK(sql_int(dbpath,
		      "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
		      "('merchants', 'apps', 'scenes', 'users', 'packets', 'shares', 'ledger')") ==
	      7);

	lookups(s);
	packets(s);
	ledger(s, dbpath);
	counters(s);
	transactions(s);
	batches(s);
	held_counters(s);
	units_of_inserts(s);
	ledger_ids_remembered(s);
	day_counters_remembered(s);
	lookups_remembered(s);
	/* --durability: synchronous NORMAL (1) by default, FULL (2) for power loss. */
	CHECK(store_durability(s) == 1);
	CHECK(store_set_durability(s, 1) == 0);
	CHECK(store_durability(s) == 2);
	CHECK(store_set_durability(s, 0) == 0);
	CHECK(store_durability(s) == 1);
	struct store_totals t = {-1, -1, -1};
	CHECK(store_totals(s, &t) == 0 && t.issued >= 0 && t.refunded == 0 && t.bytes > 0);
	store_close(s);

	/* Reopen: the data is kept and no migration runs again (it would
	 * fail on the existing tables). */
	s = store_open(dbpath, err, sizeof(err));
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "reopen: %s\n", err);
		return;
	}
	CHECK(store_is_empty(s) == 0);
	CHECK(store_merchant_lookup(s, "10000098", &got) == 1);
	CHECK(got.balance == 700);
	CHECK(sql_int(dbpath, "PRAGMA user_version") == store_schema_version());
	CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM packets WHERE mch_id = '20000001'") == 9);
	CHECK(stat(dbpath, &st) == 0 && (st.st_mode & 0777) == 0600);
	store_close(s);

	/* A database from a newer build is refused. */
	sqlite3 *db;
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	s = store_open(dbpath, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "99") != NULL);
	store_close(s);
}

static void collect_share(void *arg, const struct share_row *r)
{
	int64_t *got = arg;
	got[r->seq] = r->amount;
}

/* A packet's shares in one statement: every row, in seq order, the seed
 * share counted for the receiver once; counts out of range refused. */
static void shares_at_once(struct store *s)
{
	const int64_t day0 = INT64_C(1709222400);
	struct merchant m = merchant("20000003", 10);
	int64_t amounts[STORE_SHARES_MAX] = {0}, got[STORE_SHARES_MAX] = {0}, id, count, amount;

	CHECK(store_merchant_insert(s, &m) == 0);
	struct packet_new p = packet("20000003", "S1", "oS", "SENT", 0, day0, day0);
	p.total_num = 20;
	for (int i = 0; i < STORE_SHARES_MAX; i++)
		amounts[i] = 10 + i;
	for (int i = 0; i < 20; i++)
		p.total_amount += amounts[i];
	CHECK(store_packet_insert(s, &p, &id) == 0);
	CHECK(store_shares_insert(s, id, amounts, 0) == -1);
	CHECK(store_shares_insert(s, id, amounts, STORE_SHARES_MAX + 1) == -1);
	CHECK(store_shares_insert(s, id, amounts, 20) == 0);
	CHECK(store_shares_each(s, id, collect_share, got) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(got[i] == 10 + i);
	CHECK(store_user_receipts_since(s, "20000003", "oS", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 10);
	/* All or nothing: a second write of the same shares fails whole. */
	CHECK(store_shares_insert(s, id, amounts, 21) == -1);
	CHECK(store_user_receipts_since(s, "20000003", "oS", day0, &count, &amount) == 0);
	CHECK(count == 1 && amount == 10);
	/* The largest packet, on another order. */
	for (int i = 0; i < STORE_SHARES_MAX; i++)
		amounts[i] = 1;
	struct packet_new big = packet("20000003", "S2", "oT", "SENT", STORE_SHARES_MAX, day0,
				       day0);
	big.total_num = STORE_SHARES_MAX;
	CHECK(store_packet_insert(s, &big, &id) == 0);
	CHECK(store_shares_insert(s, id, amounts, STORE_SHARES_MAX) == 0);
}

static void memory_store(void)
{
	char err[256];
	struct store *s = store_open(":memory:", err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	lookups(s);
	packets(s);
	ledger(s, NULL);
	counters(s);
	shares_at_once(s);
	transactions(s);
	batches(s);
	store_close(s);
}

/* schema.sql as the build embedded it (store.c runs it). */
extern const char store_schema_sql[];

/* A database at version `version`: schema.sql's migrations 1 to version
 * run as they were released, before the store's later ones. */
static int database_at(const char *path, int version)
{
	char mark[32], pragma[48];
	snprintf(mark, sizeof(mark), "-- migration %d\n", version + 1);
	const char *end = strstr(store_schema_sql, mark);
	char *sql = end ? strndup(store_schema_sql, (size_t)(end - store_schema_sql)) : NULL;
	sqlite3 *db = NULL;
	int rc = -1;

	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", version);
	if (sql && sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, pragma, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
	else
		fprintf(stderr, "database_at %d: %s\n", version,
			db ? sqlite3_errmsg(db) : "no mark");
	sqlite3_close(db);
	free(sql);
	return rc;
}

static void count_violation(void *arg, const char *text)
{
	fprintf(stderr, "violation: %s\n", text);
	++*(int *)arg;
}

/* A database of version 7, filled by the code of its time (its triggers
 * kept the counters), migrated to today: migration 8 rebuilds the ledger
 * for its CHECK, keeping rows, ids and sequence, and tests statuses with
 * a CASE (no temporary b-tree per run); migration 9 moves the send
 * path's counters out of triggers and rebuilds shares WITHOUT ROWID,
 * keeping every share and who opened it. The counters still agree with
 * the rows, and new sends still count. */
static void migrations_from_7(void)
{
	static const char v7_rows[] =
		"INSERT INTO merchants (mch_id, name, api_key, balance, sends_per_minute,"
		" packets_per_user_per_day, amount_per_user_per_day, amount_per_day)"
		" VALUES ('10000098', 'm', 'k', 0, 10, 10, 100000, 1000000);"
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES"
		" ('10000098', 1000, 'topup', NULL, 5);"
		"INSERT INTO packets (mch_id, mch_billno, hb_type, status, wxappid, re_openid,"
		" send_name, wishing, act_name, remark, total_amount, total_num, send_listid,"
		" created_at, send_time) VALUES ('10000098', 'B1', 'GROUP', 'SENT', 'wx', 'oSeed',"
		" 's', 'w', 'a', 'r', 300, 3, 'L1', 1709222400, 1709222400);"
		"INSERT INTO shares (packet_id, seq, amount) VALUES (1, 0, 200), (1, 1, 99), (1, "
		"2, 1);"
		"UPDATE shares SET openid = 'oSeed', rcv_time = 1709222410 WHERE seq = 0;"
		"UPDATE shares SET openid = 'oOther', rcv_time = 1709222420 WHERE seq = 1;"
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES"
		" ('10000098', -300, 'send', 1, 1709222400);"
		"UPDATE merchants SET balance = 700;"
		"UPDATE sqlite_sequence SET seq = 50 WHERE name = 'ledger';";
	char path[300], err[256] = "";
	struct merchant got;
	struct store *s;
	sqlite3 *db = NULL;
	int64_t id, count = -1, amount = -1;

	snprintf(path, sizeof(path), "%s/migrate.db", dir);
	CHECK(database_at(path, 7) == 0);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, v7_rows, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(sql_int(path, "SELECT count FROM day_user WHERE openid = 'oSeed'") == 1);
	CHECK(sql_int(path, "SELECT amount FROM day_user WHERE openid = 'oSeed'") == 200);

	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "migration: %s\n", err);
		return;
	}
	CHECK(sql_int(path, "PRAGMA user_version") == store_schema_version());
	CHECK(sql_int(path, "SELECT COUNT(*) FROM ledger WHERE mch_id = '10000098'") == 2);
	CHECK(sql_int(path, "SELECT SUM(amount) FROM ledger") == 700);
	/* Migration 11: the ledger's sequence became its id floor. */
	CHECK(sql_int(path, "SELECT value FROM meta WHERE key = 'ledger_id_floor'") == 50);
	CHECK(sql_int(path,
		      "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%%AUTOINCREMENT%%'"
		      " OR (name = 'packets' AND sql LIKE '%%send_listid TEXT UNIQUE%%')") == 0);
	/* Migration 12: the ledger keeps only its index by packet. */
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
			    " ('ledger_by_merchant', 'ledger_by_packet')") == 1);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ledger_by_packet'") ==
	      1);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%%IN (''SENT'', "
			    "''RECEIVED''%%'"
			    " OR sql LIKE '%%kind IN (''fixture''%%'") == 0);
	/* The triggers left are those on UPDATEs: issue, open, status. */
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'") == 3);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
			    " AND sql LIKE '%%AFTER INSERT%%'") == 0);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
			    " ('shares_by_opener', 'packets_by_billno')") == 0);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'shares'"
			    " AND sql LIKE '%%WITHOUT ROWID%%'") == 1);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM shares WHERE packet_id = 1") == 3);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM shares WHERE openid = 'oOther'"
			    " AND rcv_time = 1709222420 AND amount = 99") == 1);
	for (int c = STORE_CHECK_MERCHANT_DAY_COUNTER; c <= STORE_CHECK_RATE_COUNTER; c++) {
		int bad = 0;
		CHECK(store_check(s, (enum store_check)c, count_violation, &bad) == 0);
	}

	/* The sequence goes on past the rows deleted at its top; the CHECK
	 * still refuses an unknown kind. */
	CHECK(store_ledger_add(s, "10000098", 1, "topup", 0, 7) == 0);
	CHECK(sql_int(path, "SELECT MAX(id) FROM ledger") == 51);
	CHECK(store_ledger_add(s, "10000098", 1, "gift", 0, 7) == -1);
	CHECK(store_merchant_lookup(s, "10000098", &got) == 1 && got.balance == 701);
	/* One process has a SQLite file: it sweeps, shares nothing. */
	CHECK(store_sweep_turn(s) == 1);
	CHECK(store_shared(s) == 0);

	/* A new group send counts its seed share; opening the last share
	 * counts its opener (the trigger kept for UPDATEs). */
	struct packet_new p = packet("10000098", "B2", "oSeed", "SENT", 300, 1709222500,
				     1709222500);
	p.total_num = 2;
	CHECK(store_packet_insert(s, &p, &id) == 0);
	CHECK(store_share_insert(s, id, 0, 150) == 0 && store_share_insert(s, id, 1, 150) == 0);
	CHECK(store_user_receipts_since(s, "10000098", "oSeed", 1709222400, &count, &amount) == 0);
	CHECK(count == 2 && amount == 350);
	CHECK(store_share_open(s, 1, 2, "oThird", 1709222600) == 0);
	CHECK(store_user_receipts_since(s, "10000098", "oThird", 1709222400, &count, &amount) == 0);
	CHECK(count == 1 && amount == 1);
	for (int c = STORE_CHECK_MERCHANT_DAY_COUNTER; c <= STORE_CHECK_RATE_COUNTER; c++) {
		int bad = 0;
		CHECK(store_check(s, (enum store_check)c, count_violation, &bad) == 0);
	}
	store_close(s);
}

/* The first line of /proc/self/task/TID/FILE into out ("" when
 * unreadable), its line end removed. */
static void task_line(const char *tid, const char *file, char *out, size_t size)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/%s", tid, file);
	out[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		if (!fgets(out, (int)size, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

/* The nice value of this process's thread named name, or INT_MIN when
 * there is none: its stat's 17th field after the name's closing
 * parenthesis. */
static int thread_nice(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int nice = INT_MIN;

	while (d && nice == INT_MIN && (e = readdir(d)) != NULL) {
		char comm[64], stat[1024];
		if (e->d_name[0] == '.')
			continue;
		task_line(e->d_name, "comm", comm, sizeof(comm));
		if (strcmp(comm, name) != 0)
			continue;
		task_line(e->d_name, "stat", stat, sizeof(stat));
		const char *p = strrchr(stat, ')');
		for (int field = 2; p && field < 19; field++)
			p = strchr(p + 1, ' ');
		if (p)
			nice = atoi(p + 1);
	}
	if (d)
		closedir(d);
	return nice;
}

/* WAL checkpoints run on the checkpointer's thread, not in a COMMIT on
 * the loop, and the WAL still starts over: after enough batches of
 * writes for twice the drain mark (4 frames a batch), it holds at most
 * the drain mark plus a nudge's worth of frames, where without the
 * writer's drain it would hold them all. A reader of the file sees every
 * committed row. */
static void wal_checkpoints(void)
{
	char path[300], wal[310], err[256] = "";
	struct merchant m = merchant("10000097", 10), got;
	struct stat st;
	uint64_t passes = 0, drains = 0, synced = 0;

	snprintf(path, sizeof(path), "%s/wal.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	struct store *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(store_merchant_insert(s, &m) == 0);
	int n_batches = STORE_WAL_DRAIN_FRAMES * 3 / 4;
	for (int i = 0; i < n_batches; i++) {
		CHECK(store_batch_begin(s) == 0 && store_begin(s) == 0);
		CHECK(store_ledger_add(s, "10000097", 1, "topup", 0, i) == 0);
		CHECK(store_commit(s) == 0 && store_batch_commit(s) == 0);
	}
	store_wal_stats(s, &passes, &drains, &synced);
	printf("WAL: %" PRIu64 " checkpoint passes (%" PRIu64 " synced), %" PRIu64 " waits\n",
	       passes, synced, drains);
	/* How many passes the nudges made, and whether the writer ever had
	 * to wait, depends on how the thread was scheduled: a checkpointer
	 * that keeps up lets the WAL start over by itself, with no drain (as
	 * in a container build, on a fast overlay file system). Without a
	 * finished pass the WAL starts over at most once, so twice the drain
	 * mark of frames forces one: at least one pass either way. */
	CHECK(passes >= 1);
	CHECK(passes >= drains);
	/* A pass that found frames checkpointed syncs the database file
	 * after it, so a drain's sync is left none of the passes' pages: each
	 * wait made one such pass, its ask coming after a commit. */
	CHECK(synced >= 1);
	CHECK(synced >= drains);
	CHECK(stat(wal, &st) == 0);
	CHECK(st.st_size <= (STORE_WAL_DRAIN_FRAMES + 1000 + 64) * (4096 + 24));
	/* The checkpointer yields to every other thread of the machine:
	 * named, at nice 19 (store_wal.c). */
	CHECK(thread_nice(WALCKPT_THREAD_NAME) == WALCKPT_NICE);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM ledger WHERE mch_id = '10000097'") == n_batches);
	CHECK(store_merchant_lookup(s, "10000097", &got) == 1 && got.balance == n_batches);

	/* The drain itself, made certain: a reader holding its snapshot keeps
	 * every pass from finishing, so the WAL cannot start over and grows
	 * past the drain mark; the writer then waits for a pass, and goes on
	 * (a pass that copies nothing still answers). */
	sqlite3 *reader = NULL;
	sqlite3_stmt *q = NULL;
	uint64_t drains_before = drains;
	int extra = 0;
	CHECK(sqlite3_open(path, &reader) == SQLITE_OK &&
	      sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
	      sqlite3_prepare_v2(reader, "SELECT COUNT(*) FROM ledger", -1, &q, NULL) ==
		      SQLITE_OK &&
	      sqlite3_step(q) == SQLITE_ROW);
	sqlite3_finalize(q);
	for (; drains == drains_before && extra < STORE_WAL_DRAIN_FRAMES; extra++) {
		CHECK(store_batch_begin(s) == 0 && store_begin(s) == 0);
		CHECK(store_ledger_add(s, "10000097", 1, "topup", 0, extra) == 0);
		CHECK(store_commit(s) == 0 && store_batch_commit(s) == 0);
		store_wal_stats(s, &passes, &drains, &synced);
	}
	printf("WAL, a reader holding its snapshot: a drain after %d more commits\n", extra);
	CHECK(drains > drains_before);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	CHECK(store_merchant_lookup(s, "10000097", &got) == 1 && got.balance == n_batches + extra);
	store_close(s);
	/* Closed: the last checkpoint made the file whole, the WAL is gone. */
	CHECK(stat(wal, &st) != 0);
	CHECK(sql_int(path, "SELECT balance FROM merchants WHERE mch_id = '10000097'") ==
	      n_batches + extra);
	unlink(path);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char chunk[65536];
	size_t n;

	while (in && out && (n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		fwrite(chunk, 1, n, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* A process killed right after a COMMIT returns keeps the transaction:
 * the database and WAL files as the kernel holds them, copied, recover
 * it whole. The transaction is bigger than the page cache and changes a
 * page it had already spilled to the WAL, so SQLite rewrites frame
 * headers after the commit frame (walRewriteChecksums): a commit header
 * written alone, with no page after it, must reach the file too. */
static void wal_crash_copy(void)
{
	char path[300], wal[310], copy[300], copy_wal[310];
	sqlite3 *db = NULL, *back = NULL;

	snprintf(path, sizeof(path), "%s/crash.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(copy, sizeof(copy), "%s/crash-copy.db", dir);
	snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK); /* the default VFS: the gathering one */
	CHECK(sqlite3_exec(
		      db,
		      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		      " PRAGMA cache_size = 10; PRAGMA wal_autocheckpoint = 0;"
		      " CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE marker (x);",
		      NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
			   " WHERE i < 3000) INSERT INTO t SELECT i, randomblob(300) FROM c;"
			   " UPDATE t SET v = randomblob(300) WHERE id < 50;"
			   " INSERT INTO marker VALUES (42); COMMIT;",
			   NULL, NULL, NULL) == SQLITE_OK);
	copy_file(path, copy); /* the "crash": what the kernel holds now */
	copy_file(wal, copy_wal);
	CHECK(sqlite3_open(copy, &back) == SQLITE_OK);
	CHECK(one_int(back, "SELECT COUNT(*) FROM t") == 3000);
	CHECK(one_int(back, "SELECT COUNT(*) FROM marker") == 1);
	sqlite3_close(back);
	sqlite3_close(db);
	static const char *const suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		char p[320];
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s%s", copy, suffix[i]);
		unlink(p);
	}
}

/* A commit's WAL frames reach the file in two writes (sqlite_wal_vfs.c),
 * and another connection reads them as soon as the commit returns; a
 * commit bigger than the buffer takes a few writes and reads back whole. */
static void wal_gathered(void)
{
	char path[300], err[256] = "", billno[16];
	struct merchant m = merchant("10000096", 100000);
	uint64_t pw0, w0, pw1, w1;
	int64_t id;

	snprintf(path, sizeof(path), "%s/gathered.db", dir);
	struct store *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "10000096", 100000000, "topup", 0, 1) == 0);
	for (int round = 0; round < 2; round++) {
		int sends = round == 0 ? 16 : 2000; /* 2,000: some MiB of frames */
		sqlite_wal_vfs_counts(&pw0, &w0);
		CHECK(store_batch_begin(s) == 0);
		for (int i = 0; i < sends; i++) {
			const int64_t shares[3] = {1, 1, 1};
			snprintf(billno, sizeof(billno), "W%d-%d", round, i);
			CHECK(store_begin(s) == 0);
			CHECK(send_rows(s, "10000096", billno, "oW", shares, 1000 + i, &id) == 0);
			CHECK(store_commit(s) == 0);
		}
		CHECK(store_batch_commit(s) == 0);
		sqlite_wal_vfs_counts(&pw1, &w1);
		printf("WAL, %d sends in one commit: %" PRIu64 " writes asked, %" PRIu64
		       " pwrite()s\n",
		       sends, w1 - w0, pw1 - pw0);
		CHECK(w1 - w0 >= 2 * 8); /* two per frame, eight pages at least */
		if (round == 0)
			CHECK(pw1 - pw0 == 2); /* the commit header, then its page */
		else
			CHECK(pw1 - pw0 >= 2 && pw1 - pw0 < (w1 - w0) / 20);
		CHECK(sql_int(path, "SELECT COUNT(*) FROM packets WHERE mch_id = '10000096'") ==
		      (round == 0 ? 16 : 2016));
	}
	CHECK_STR(sql_text(path, "PRAGMA integrity_check"), "ok");
	store_close(s);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM shares s JOIN packets p ON p.id = s.packet_id"
			    " WHERE p.mch_id = '10000096'") == 3 * 2016);
	unlink(path);
}

static void cleanup(void)
{
	char p[300];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/migrate.db%s", dir, suffix[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s/redpack.db%s", dir, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* A merchant's wipe takes every ledger row of it, those of its packets
 * and those of no packet (found by ledger_by_packet's NULL keys since
 * migration 12), and none of another merchant's. */
static void wipe_one_ledger(void)
{
	char path[300], err[256] = "";
	struct merchant a = merchant("10000095", 10), b = merchant("10000094", 10);
	int64_t id = 0;

	snprintf(path, sizeof(path), "%s/wipe.db", dir);
	struct store *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 2; i++) {
		const struct merchant *m = i ? &b : &a;
		struct packet_new p = packet(m->mch_id, "W1", "oW", "SENT", 300, 5, 5);
		CHECK(store_merchant_insert(s, m) == 0);
		CHECK(store_ledger_add(s, m->mch_id, 1000, "topup", 0, 1) == 0);
		CHECK(store_packet_insert(s, &p, &id) == 0);
		CHECK(store_ledger_add(s, m->mch_id, -300, "send", id, 5) == 0);
	}
	CHECK(sql_int(path, "SELECT COUNT(*) FROM ledger") == 4);
	CHECK(store_wipe(s, a.mch_id) == 0);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM ledger WHERE mch_id = '10000095'") == 0);
	CHECK(sql_int(path, "SELECT COUNT(*) FROM ledger WHERE mch_id = '10000094'") == 2);
	CHECK(sql_int(path, "SELECT SUM(amount) FROM ledger") == 700);
	store_close(s);
}

/* A unit's savepoint keeps the pages it changes in an in-memory journal
 * of 1 KB chunks, all freed at its RELEASE (sqlite_mem.c): the next unit
 * takes the same chunks back from the thread's cache, none from malloc. */
static void journal_chunks(void)
{
	char path[300], err[256] = "";
	struct merchant m = merchant("10000096", 10);

	snprintf(path, sizeof(path), "%s/chunks.db", dir);
	struct store *s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(store_merchant_insert(s, &m) == 0);
	CHECK(store_ledger_add(s, "10000096", 1, "topup", 0, 1) == 0);
	sqlite_mem_thread_release();
	CHECK(sqlite_mem_cached() == 0);
	int cached[4];
	for (int i = 0; i < 4; i++) {
		CHECK(store_batch_begin(s) == 0 && store_begin(s) == 0);
		CHECK(store_ledger_add(s, "10000096", 1, "topup", 0, 2 + i) == 0);
		CHECK(store_commit(s) == 0 && store_batch_commit(s) == 0);
		cached[i] = sqlite_mem_cached();
	}
	printf("statement journal chunks cached after each unit: %d %d %d %d\n", cached[0],
	       cached[1], cached[2], cached[3]);
	CHECK(cached[0] >= 4); /* at least one 4 KB page saved */
	CHECK(cached[1] == cached[0] && cached[3] == cached[0]);
	sqlite_mem_thread_release();
	CHECK(sqlite_mem_cached() == 0);
	store_close(s);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	open_memory();
	open_refused();
	memory_store();
	file_store();
	migrations_from_7();
	ids_never_repeat();
	wipe_one_ledger();
	wal_checkpoints();
	wal_gathered();
	wal_crash_copy();
	journal_chunks();
	cleanup();
	/* SQLite alone never loads libpq (pq_dl.h). */
	CHECK(!check_mapped("libpq.so"));
	return check_done("store");
}
