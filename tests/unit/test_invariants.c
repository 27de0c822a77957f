/* The invariant checker (server/src/invariants.c): no violation on a
 * healthy database after sends, claims, expiry and refunds; then one
 * corruption at a time, written with a second SQLite connection, each
 * reported under the invariant that names it.
 *
 * Usage: test_invariants [FIXTURES]   (default: fixtures/default.json) */
#include "check.h"
#include "sql_probe.h"
#include "unit_world.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "fixtures.h"
#include "invariants.h"
#include "lifecycle.h"
#include "redpack.h"
#include "store.h"

#define SEED 42
#define MCH "10000098"
#define APPID "wx8888888888888888"
#define SEED_USER "oxTWIuGaIt6gTKsQRLau2M0yL16E"

#define DAY INT64_C(86400)
/* 2024-03-01 12:00:00 Beijing (04:00 UTC). */
#define T0 INT64_C(1709265600)

static char dir[] = "/tmp/test_invariants.XXXXXX";
static char dbpath[300];
static const char *fixtures_path;
static struct store *store;
static struct redpack rp;
static int worlds;
static int invariants_count = -1;

/* ---- the violations of one run ---------------------------------------- */

#define MAX_FOUND 64

struct found {
	int n;
	char name[MAX_FOUND][64];
	char detail[MAX_FOUND][256];
};

static void on_violation(void *arg, const char *invariant, const char *detail)
{
	struct found *f = arg;
	if (f->n < MAX_FOUND) {
		snprintf(f->name[f->n], sizeof(f->name[0]), "%s", invariant);
		snprintf(f->detail[f->n], sizeof(f->detail[0]), "%s", detail);
	}
	f->n++;
}

static int run(struct found *f)
{
	int checked = -1;
	memset(f, 0, sizeof(*f));
	int n = invariants_run(store, on_violation, f, &checked);
	CHECK(n == f->n);
	CHECK(checked > 0);
	if (invariants_count < 0)
		invariants_count = checked;
	CHECK(checked == invariants_count);
	return n;
}

static void print_found(const struct found *f)
{
	for (int i = 0; i < f->n && i < MAX_FOUND; i++)
		fprintf(stderr, "    %s: %s\n", f->name[i], f->detail[i]);
}

/* ---- SQL on a second connection --------------------------------------- */

#define sql_int(...) sql_probe_int(dbpath, __VA_ARGS__)

/* Runs statements on a writable second connection (the corruption). */
static int sql_exec(const char *fmt, ...)
{
	char sql[2048];
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	rc = sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "sql_exec(%s): %s\n", sql, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---- the healthy world ------------------------------------------------- */

#define remove_db() world_remove_db(dbpath)

#define send_at(...) world_send(&rp, __VA_ARGS__)

static void sent(enum hb_kind kind, const char *mch_id, const char *appid, const char *billno,
		 const char *openid, int64_t amount, int64_t num, int64_t now, enum err_id want)
{
	struct send_result res = send_at(kind, mch_id, appid, billno, openid, amount, num, now);
	if (res.answer.err != want)
		fprintf(stderr, "send %s: %s\n", billno, errors_info(res.answer.err)->code);
	CHECK(res.answer.err == want);
}

static void opened(const char *billno, const char *openid, int64_t now)
{
	struct claim_outcome o;
	lifecycle_claim(&rp, NULL, billno, openid, now, &o);
	if (o.result != CLAIM_OK)
		fprintf(stderr, "claim %s by %s: %s\n", billno, openid,
			lifecycle_claim_message(o.result));
	CHECK(o.result == CLAIM_OK);
}

/* Packets in every state:
 *   OLDREF  group, seed opened, refunded (sent two days before T0)
 *   OLDNRM  normal, unopened, refunded
 *   OLDHELD held two days before T0, FAILED
 *   SENT1   group 300/3, seed opened: SENT
 *   RECV1   group 300/3, all opened: RECEIVED
 *   NORMAL1 normal 200, unopened: SENT
 *   NORMAL2 normal 300, opened: RECEIVED
 *   HELD1   held (NOTENOUGH): SENDING
 *   ING1    with refund_delay: RFUND_ING */
static int world(void)
{
	struct merchant m;

	if (world_open_numbered(dbpath, sizeof(dbpath), dir, &worlds, fixtures_path, T0 - 30 * DAY,
				SEED, &rp) != 0) {
		CHECK(0);
		store = NULL;
		return -1;
	}
	store = rp.store;

	/* A small merchant whose orders are held. */
	memset(&m, 0, sizeof(m));
	snprintf(m.mch_id, sizeof(m.mch_id), "30000001");
	snprintf(m.name, sizeof(m.name), "小商户");
	snprintf(m.api_key, sizeof(m.api_key), "k30000001");
	CHECK(store_begin(store) == 0);
	CHECK(store_merchant_insert(store, &m) == 0);
	CHECK(store_app_insert(store, "30000001", "wx3000000000000001", "MP") == 0);
	CHECK(store_ledger_add(store, "30000001", 100, "topup", 0, T0 - 10 * DAY) == 0);
	CHECK(store_commit(store) == 0);

	sent(HB_GROUP, MCH, APPID, "OLDREF", SEED_USER, 600, 3, T0 - 2 * DAY, ERR_SUCCESS);
	opened("OLDREF", SEED_USER, T0 - 2 * DAY + 5);
	sent(HB_NORMAL, MCH, APPID, "OLDNRM", "oOldReceiver", 400, 1, T0 - 2 * DAY, ERR_SUCCESS);
	sent(HB_GROUP, "30000001", "wx3000000000000001", "OLDHELD", "oU", 300, 3, T0 - 2 * DAY,
	     ERR_NOTENOUGH);
	CHECK(lifecycle_sweep(&rp, T0) == 5);

	sent(HB_GROUP, MCH, APPID, "SENT1", SEED_USER, 300, 3, T0, ERR_SUCCESS);
	opened("SENT1", SEED_USER, T0 + 1);
	sent(HB_GROUP, MCH, APPID, "RECV1", "oSeedR", 300, 3, T0, ERR_SUCCESS);
	opened("RECV1", "oSeedR", T0 + 2);
	opened("RECV1", "oA", T0 + 3);
	opened("RECV1", "oB", T0 + 4);
	sent(HB_NORMAL, MCH, APPID, "NORMAL1", "oN1", 200, 1, T0, ERR_SUCCESS);
	sent(HB_NORMAL, MCH, APPID, "NORMAL2", "oN2", 300, 1, T0, ERR_SUCCESS);
	opened("NORMAL2", "oN2", T0 + 5);
	sent(HB_GROUP, "30000001", "wx3000000000000001", "HELD1", "oU", 300, 3, T0, ERR_NOTENOUGH);
	rp.refund_delay = 3600;
	sent(HB_GROUP, MCH, APPID, "ING1", "oSeedI", 300, 3, T0 - DAY - 60, ERR_SUCCESS);
	CHECK(lifecycle_sweep(&rp, T0 + 10) == 1);
	return 0;
}

static void world_close(void)
{
	world_store_close(&store, dbpath);
}

/* ---- tests ------------------------------------------------------------- */

static void healthy(void)
{
	struct found f;

	if (world() != 0)
		return;
	/* The world is what it says. */
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'REFUND'") == 2);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'FAILED'") == 1);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'SENT'") == 2);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'RECEIVED'") == 2);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'SENDING'") == 1);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'RFUND_ING'") == 1);
	CHECK(sql_int("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'") == 2);

	if (run(&f) != 0) {
		fprintf(stderr, "healthy world: %d violations\n", f.n);
		print_found(&f);
		CHECK(0);
	}
	/* Still healthy after more sweeps and a refund of ING1. */
	CHECK(lifecycle_sweep(&rp, T0 + 3600) == 1);
	CHECK(lifecycle_sweep(&rp, T0 + 40 * DAY) >= 4);
	CHECK(run(&f) == 0);
	print_found(&f);
	world_close();
}

/* One corruption in a fresh world; want is reported (with a detail that
 * names what) and every violation found is listed on failure. */
static void corrupt(const char *what, const char *sql, const char *want, const char *mention)
{
	struct found f;
	int hit = 0, named = 0;

	if (world() != 0)
		return;
	if (run(&f) != 0) {
		fprintf(stderr, "%s: the world was not healthy before\n", what);
		print_found(&f);
		CHECK(0);
	}
	if (sql_exec("%s", sql) != 0) {
		CHECK(0);
		world_close();
		return;
	}
	int n = run(&f);
	for (int i = 0; i < f.n && i < MAX_FOUND; i++) {
		if (strcmp(f.name[i], want) == 0) {
			hit++;
			if (!mention || strstr(f.detail[i], mention))
				named++;
		}
	}
	check_count++;
	if (n < 1 || hit == 0 || named == 0) {
		check_failures++;
		fprintf(stderr, "%s: expected a violation of %s%s%s; got %d:\n", what, want,
			mention ? " mentioning " : "", mention ? mention : "", n);
		print_found(&f);
	}
	world_close();
}

static void corruptions(void)
{
	char sql[1024];

	corrupt("share sum",
		"UPDATE shares SET amount = amount + 1 WHERE seq = 2 AND packet_id = (SELECT id "
		"FROM "
		"packets WHERE mch_billno = 'SENT1')",
		"shares_sum_to_total", "SENT1");
	corrupt("share count",
		"DELETE FROM shares WHERE seq = 2 AND packet_id = (SELECT id FROM packets WHERE "
		"mch_billno = 'SENT1'); UPDATE shares SET amount = amount + (SELECT total_amount "
		"FROM "
		"packets WHERE mch_billno = 'SENT1') - (SELECT SUM(amount) FROM shares WHERE "
		"packet_id = "
		"(SELECT id FROM packets WHERE mch_billno = 'SENT1')) WHERE seq = 1 AND packet_id "
		"= "
		"(SELECT id FROM packets WHERE mch_billno = 'SENT1')",
		"shares_sum_to_total", "SENT1");
	corrupt("balance vs ledger",
		"UPDATE merchants SET balance = balance + 1 WHERE mch_id = '" MCH "'",
		"balance_equals_ledger", MCH);
	corrupt("ledger row without balance",
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES ('" MCH
		"', 5, 'topup', "
		"NULL, 1709265600)",
		"balance_equals_ledger", MCH);
	corrupt("double debit",
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) SELECT mch_id, "
		"-total_amount, "
		"'send', id, created_at FROM packets WHERE mch_billno = 'SENT1'; UPDATE merchants "
		"SET "
		"balance = balance - 300 WHERE mch_id = '" MCH "'",
		"issued_packet_debited_once", "SENT1");
	corrupt("missing debit",
		"UPDATE merchants SET balance = balance + 300 WHERE mch_id = '" MCH
		"'; DELETE FROM ledger "
		"WHERE kind = 'send' AND packet_id = (SELECT id FROM packets WHERE mch_billno = "
		"'RECV1')",
		"issued_packet_debited_once", "RECV1");
	corrupt("RECEIVED with an unopened share",
		"UPDATE shares SET openid = NULL, rcv_time = NULL WHERE seq = 2 AND packet_id = "
		"(SELECT "
		"id FROM packets WHERE mch_billno = 'RECV1')",
		"received_iff_all_opened", "RECV1");
	corrupt("SENT with every share opened",
		"UPDATE shares SET openid = 'oLate' || seq, rcv_time = 1709265700 WHERE openid IS "
		"NULL AND "
		"packet_id = (SELECT id FROM packets WHERE mch_billno = 'SENT1')",
		"received_iff_all_opened", "SENT1");
	corrupt("refund amount mismatch",
		"UPDATE packets SET refund_amount = refund_amount + 1 WHERE mch_billno = 'OLDREF'",
		"refund_is_unopened_rest", "OLDREF");
	corrupt("refund credited twice",
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) SELECT mch_id, "
		"refund_amount, "
		"'refund', id, refund_time FROM packets WHERE mch_billno = 'OLDNRM'; UPDATE "
		"merchants SET "
		"balance = balance + 400 WHERE mch_id = '" MCH "'",
		"refund_credited_once", "OLDNRM");
	corrupt("refund row of another amount",
		"UPDATE ledger SET amount = amount - 1 WHERE kind = 'refund' AND packet_id = "
		"(SELECT id "
		"FROM packets WHERE mch_billno = 'OLDNRM'); UPDATE merchants SET balance = balance "
		"- 1 "
		"WHERE mch_id = '" MCH "'",
		"refund_credited_once", "OLDNRM");
	corrupt("refund of an RFUND_ING packet",
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) SELECT mch_id, 300, "
		"'refund', "
		"id, 1709265600 FROM packets WHERE mch_billno = 'ING1'; UPDATE merchants SET "
		"balance = "
		"balance + 300 WHERE mch_id = '" MCH "'",
		"refund_credited_once", "ING1");
	corrupt("refund fields on a SENT packet",
		"UPDATE packets SET refund_time = 1709265600, refund_amount = 1 WHERE mch_billno = "
		"'SENT1'",
		"refund_fields_only_when_refunded", "SENT1");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO shares (packet_id, seq, amount) VALUES (999999, 0, 5)");
	corrupt("orphan share", sql, "no_orphan_shares", "999999");
	/* The SQLite store does not enforce the declared keys (store.c,
	 * store_open): the checker finds each kind of orphan. */
	corrupt("orphan packet",
		"INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,"
		" send_name, wishing, act_name, remark, total_amount, total_num, send_listid,"
		" created_at) VALUES (888888, '99999999', 'ORPHAN', 'GROUP', 'SENDING', 'wx',"
		" 'oA', 's', 'w', 'a', 'r', 300, 3, '1000041701202403013000000888888', 1709265600)",
		"no_orphan_packets", "ORPHAN");
	corrupt("ledger of a missing merchant",
		"INSERT INTO ledger (mch_id, amount, kind, at) VALUES ('99999999', 0, 'topup',"
		" 1709265600)",
		"no_orphan_ledger", "missing merchant 99999999");
	corrupt("ledger of a missing packet",
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES ('" MCH "', 0,"
		" 'refund', 777777, 1709265600)",
		"no_orphan_ledger", "missing packet 777777");
	corrupt("app of a missing merchant",
		"INSERT INTO apps (mch_id, appid, kind) VALUES ('99999999', 'wxorphan', 'MP')",
		"no_orphan_apps", "wxorphan");
	corrupt("scene of a missing merchant",
		"INSERT INTO scenes (mch_id, scene_id) VALUES ('99999999', 'PRODUCT_9')",
		"no_orphan_apps", "scene PRODUCT_9");
	corrupt("seed user not first",
		"UPDATE shares SET openid = 'oIntruder' WHERE seq = 0 AND packet_id = (SELECT id "
		"FROM "
		"packets WHERE mch_billno = 'SENT1')",
		"seed_user_opens_first", "SENT1");
	corrupt("opened out of order",
		"UPDATE shares SET openid = 'oLate', rcv_time = 1709265650 WHERE seq = 2 AND "
		"packet_id = "
		"(SELECT id FROM packets WHERE mch_billno = 'SENT1')",
		"shares_opened_in_order", "share 2");
	corrupt("one opener twice",
		"UPDATE shares SET openid = 'oA' WHERE seq = 2 AND packet_id = (SELECT id FROM "
		"packets "
		"WHERE mch_billno = 'RECV1')",
		"one_share_per_opener", "oA");
	corrupt("opened without rcv_time",
		"UPDATE shares SET rcv_time = NULL WHERE seq = 0 AND packet_id = (SELECT id FROM "
		"packets "
		"WHERE mch_billno = 'SENT1')",
		"opened_share_complete", "share 0");
	corrupt("unknown status", "UPDATE packets SET status = 'LOST' WHERE mch_billno = 'NORMAL1'",
		"status_known", "NORMAL1");
	corrupt("status in lower case",
		"UPDATE packets SET status = 'sent' WHERE mch_billno = 'NORMAL1'", "status_known",
		"NORMAL1");
	corrupt("held order with shares",
		"INSERT INTO shares (packet_id, seq, amount) SELECT id, 0, 300 FROM packets WHERE "
		"mch_billno = 'HELD1'",
		"unissued_packet_has_no_shares", "HELD1");
	corrupt("issued packet without shares",
		"DELETE FROM shares WHERE packet_id = (SELECT id FROM packets WHERE mch_billno = "
		"'NORMAL1')",
		"issued_packet_has_shares", "NORMAL1");
	corrupt("held order debited",
		"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) SELECT mch_id, -1, "
		"'send', id, "
		"created_at FROM packets WHERE mch_billno = 'HELD1'; UPDATE merchants SET balance "
		"= "
		"balance - 1 WHERE mch_id = '30000001'",
		"unissued_packet_not_debited", "HELD1");
	corrupt("held order without reason",
		"UPDATE packets SET reason = NULL WHERE mch_billno = 'HELD1'",
		"held_packet_has_reason", "HELD1");
	/* The running counters the limits read (issue 10). */
	corrupt("user counter off by one", "UPDATE day_user SET count = count + 1",
		"user_day_counter", "counter");
	corrupt("user counter missing", "DELETE FROM day_user", "user_day_counter", "counter none");
	corrupt("merchant counter off", "UPDATE day_merchant SET amount = amount - 1",
		"merchant_day_counter", "counter");
	corrupt("rate counter off", "UPDATE rate_second SET count = count + 2", "rate_counter",
		"rate_second");
	corrupt("status counter off", "UPDATE status_count SET n = n + 1 WHERE status = 'SENT'",
		"status_counter", "SENT");
}

int main(int argc, char **argv)
{
	fixtures_path = argc > 1 ? argv[1] : "fixtures/default.json";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	clock_set_offset(0);
	healthy();
	corruptions();
	rmdir(dir);
	return check_done("invariants");
}
