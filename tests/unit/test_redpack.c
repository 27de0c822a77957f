/* The business rules of a send (tests/e2e/CONTRACT.md steps 5-11),
 * driven through redpack_send on a fixtures world at a chosen business
 * time, with the rows checked through a second SQLite connection.
 *
 * Usage: test_redpack [FIXTURES]   (default: fixtures/default.json,
 * relative to the working directory) */
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
#include "redpack.h"
#include "split.h"
#include "store.h"

#define SEED 42
#define MCH "10000098"
#define APPID "wx8888888888888888"
#define SEED_USER "oxTWIuGaIt6gTKsQRLau2M0yL16E"

/* 2024-03-01 12:00:00 Beijing (04:00 UTC). */
#define T0 INT64_C(1709265600)

static char dir[] = "/tmp/test_redpack.XXXXXX";
static char dbpath[256];
static struct store *store;
static struct redpack rp;

/* ---- SQL on a second connection --------------------------------------- */

#define sql_int(...) sql_probe_int(dbpath, __VA_ARGS__)

#define sql_text(...) sql_probe_text(dbpath, __VA_ARGS__)

/* ---- helpers ----------------------------------------------------------- */

/* A group request with the fixture-like texts (unit_world.h). */
static struct send_request request(const char *mch_id, const char *appid, const char *billno,
				   const char *openid, int64_t amount, int64_t num)
{
	return world_request(HB_GROUP, mch_id, appid, billno, openid, amount, num);
}

static struct send_result send_at(const struct send_request *r, int64_t now)
{
	struct send_result out;
	memset(&out, 0xAB, sizeof(out)); /* redpack_send must fill it all */
	redpack_send(&rp, r, now, &out);
	return out;
}

/* "CODE" or "CODE des" of a result, for one-line comparisons. */
static const char *outcome(const struct send_result *res)
{
	static char text[512];
	const struct err_info *e = errors_info(res->answer.err);
	if (res->answer.err == ERR_SUCCESS)
		snprintf(text, sizeof(text), "%s", e->code);
	else
		snprintf(text, sizeof(text), "%s %s", e->code, answer_des(&res->answer));
	return text;
}

/* num 1 sends a normal packet (sendredpack), anything else a group. */
static const char *send_outcome(const char *mch_id, const char *appid, const char *billno,
				const char *openid, int64_t amount, int64_t num, int64_t now)
{
	struct send_request r = request(mch_id, appid, billno, openid, amount, num);
	if (num == 1) {
		r.kind = HB_NORMAL;
		r.amt_type = NULL;
		r.client_ip = "127.0.0.1";
	}
	struct send_result res = send_at(&r, now);
	return outcome(&res);
}

static int64_t balance(const char *mch_id)
{
	struct merchant m;
	return store_merchant_lookup(store, mch_id, &m) == 1 ? m.balance : -1;
}

static int64_t ledger_rows(const char *mch_id)
{
	return sql_int("SELECT COUNT(*) FROM ledger WHERE mch_id = '%s'", mch_id);
}

static int packet_exists(const char *mch_id, const char *billno)
{
	struct packet_row row;
	return store_packet_find(store, mch_id, billno, &row) == 1;
}

static int all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* A merchant of our own, with its one official-account app. */
static void add_merchant(const char *mch_id, const char *appid, int64_t bal, int64_t per_minute,
			 int64_t per_user_num, int64_t per_user_amount, int64_t per_day)
{
	CHECK(world_add_merchant(store, mch_id, appid, bal, per_minute, per_user_num,
				 per_user_amount, per_day, T0 - 86400 * 10) == 0);
}

/* The order was held: SENDING with the error's code and text as reason,
 * no shares, no ledger row. */
static void check_held(const char *mch_id, const char *billno, enum err_id err)
{
	const struct err_info *e = errors_info(err);
	CHECK_STR(sql_text("SELECT status FROM packets WHERE mch_id = '%s' AND mch_billno = '%s'",
			   mch_id, billno),
		  "SENDING");
	CHECK_STR(sql_text("SELECT err_code FROM packets WHERE mch_id = '%s' AND mch_billno = '%s'",
			   mch_id, billno),
		  e->code);
	CHECK_STR(sql_text("SELECT reason FROM packets WHERE mch_id = '%s' AND mch_billno = '%s'",
			   mch_id, billno),
		  e->des);
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE packet_id = (SELECT id FROM packets WHERE "
		      "mch_id = '%s' AND mch_billno = '%s')",
		      mch_id, billno) == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM ledger WHERE packet_id = (SELECT id FROM packets WHERE "
		      "mch_id = '%s' AND mch_billno = '%s')",
		      mch_id, billno) == 0);
	CHECK(sql_int("SELECT IFNULL(send_time, -1) FROM packets WHERE mch_id = '%s' AND "
		      "mch_billno = '%s'",
		      mch_id, billno) == -1);
}

/* ---- tests ------------------------------------------------------------- */

static void success(void)
{
	struct send_request r = request(MCH, APPID, "S1", SEED_USER, 300, 3);
	int64_t before = balance(MCH), rows = ledger_rows(MCH);
	struct send_result res = send_at(&r, T0);
	int64_t shares[3];

	CHECK_STR(outcome(&res), "SUCCESS");
	CHECK(res.replayed == 0);
	CHECK(res.order.id > 0);
	CHECK(strlen(res.order.send_listid) == 31);
	CHECK(strncmp(res.order.send_listid,
		      "1000041701"
		      "20240301"
		      "30",
		      20) == 0);
	CHECK(all_digits(res.order.send_listid));

	struct packet_row row;
	CHECK(store_packet_find(store, MCH, "S1", &row) == 1);
	CHECK_STR(row.status, "SENT");
	CHECK_STR(row.hb_type, "GROUP");
	CHECK_STR(row.re_openid, SEED_USER);
	CHECK_STR(row.wxappid, APPID);
	CHECK(row.total_amount == 300 && row.total_num == 3);
	CHECK(row.send_time == T0 && row.created_at == T0);
	CHECK_STR(row.send_listid, res.order.send_listid);
	CHECK(row.id == res.order.id);
	CHECK_STR(sql_text("SELECT IFNULL(reason, 'none') FROM packets WHERE id = %lld",
			   (long long)row.id),
		  "none");
	CHECK_STR(sql_text("SELECT act_name || '|' || wishing || '|' || remark || '|' || send_name "
			   "|| '|' || amt_type FROM packets WHERE id = %lld",
			   (long long)row.id),
		  "新年红包|恭喜发财|备注|天虹百货|ALL_RAND");

	/* Shares: the seeded split, in order, unopened. */
	CHECK(split_all_rand(SEED, MCH, "S1", 300, 3, shares) == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE packet_id = %lld", (long long)row.id) ==
	      3);
	for (int i = 0; i < 3; i++)
		CHECK(sql_int("SELECT amount FROM shares WHERE packet_id = %lld AND seq = %d",
			      (long long)row.id, i) == shares[i]);
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE packet_id = %lld AND openid IS NULL AND "
		      "rcv_time IS NULL",
		      (long long)row.id) == 3);

	/* One debit. */
	CHECK(balance(MCH) == before - 300);
	CHECK(ledger_rows(MCH) == rows + 1);
	CHECK(sql_int("SELECT amount FROM ledger WHERE packet_id = %lld AND kind = 'send'",
		      (long long)row.id) == -300);

	/* The identical resend, later: the original answer, no second debit. */
	struct send_result again = send_at(&r, T0 + 30);
	CHECK_STR(outcome(&again), "SUCCESS");
	CHECK(again.replayed == 1);
	CHECK_STR(again.order.send_listid, res.order.send_listid);
	CHECK_STR(again.order.mch_billno, "S1");
	CHECK_STR(again.order.mch_id, MCH);
	CHECK_STR(again.order.re_openid, SEED_USER);
	CHECK_STR(again.order.wxappid, APPID);
	CHECK(again.order.total_amount == 300 && again.order.total_num == 3);
	CHECK(balance(MCH) == before - 300);
	CHECK(ledger_rows(MCH) == rows + 1);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE mch_id = '%s' AND mch_billno = 'S1'",
		      MCH) == 1);
	/* Other differing fields (wishing, ...) are not compared. */
	r.wishing = "另一句";
	again = send_at(&r, T0 + 31);
	CHECK_STR(outcome(&again), "SUCCESS");
	CHECK(again.replayed == 1);
	CHECK(balance(MCH) == before - 300);

	/* Same billno, other openid / amount / count: FATAL_ERROR, order kept. */
	CHECK_STR(send_outcome(MCH, APPID, "S1", "oSomeoneElse000000000000001", 300, 3, T0 + 40),
		  "FATAL_ERROR openid和原始单参数不一致");
	CHECK_STR(send_outcome(MCH, APPID, "S1", SEED_USER, 400, 3, T0 + 41),
		  "FATAL_ERROR 金额和原始单参数不一致");
	CHECK_STR(send_outcome(MCH, APPID, "S1", SEED_USER, 400, 4, T0 + 42),
		  "FATAL_ERROR 金额和原始单参数不一致");
	/* openid is compared first. */
	CHECK_STR(send_outcome(MCH, APPID, "S1", "oSomeoneElse000000000000001", 400, 4, T0 + 43),
		  "FATAL_ERROR openid和原始单参数不一致");
	CHECK(store_packet_find(store, MCH, "S1", &row) == 1);
	CHECK(row.total_amount == 300 && strcmp(row.re_openid, SEED_USER) == 0);
	CHECK(balance(MCH) == before - 300);

	/* The same billno at another merchant is another order. */
	CHECK_STR(send_outcome("10000099", "wx9999999999999999", "S1",
			       "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY", 300, 3, T0 + 50),
		  "SUCCESS");
}

static void money_and_scene(void)
{
	const char *const money = "MONEY_LIMIT 每个红包的平均金额必须在1.00元到200.00元之间.";
	const char *const scene_off =
		"PARAM_ERROR "
		"参数错误:该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-使用场景 进行开通";
	struct send_request r;
	struct send_result res;

	/* Without a scene: average 100..20000 fen, both ends included. */
	CHECK_STR(send_outcome(MCH, APPID, "M1", SEED_USER, 299, 3, T0), money);
	CHECK_STR(send_outcome(MCH, APPID, "M2", SEED_USER, 60001, 3, T0), money);
	CHECK_STR(send_outcome(MCH, APPID, "M3", SEED_USER, 300, 4, T0), money); /* spec 4.2 */
	CHECK(!packet_exists(MCH, "M1") && !packet_exists(MCH, "M2") && !packet_exists(MCH, "M3"));
	/* The refused billno is reusable with corrected values (spec 4.2). */
	CHECK_STR(send_outcome(MCH, APPID, "M3", SEED_USER, 300, 3, T0), "SUCCESS");
	CHECK_STR(send_outcome(MCH, APPID, "M4", SEED_USER, 60000, 3, T0), "SUCCESS");

	/* An enabled scene: 1..499900 fen on average, its own text. */
	r = request(MCH, APPID, "M5", SEED_USER, 3, 3);
	r.scene_id = "PRODUCT_1";
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), "SUCCESS");
	CHECK_STR(sql_text("SELECT scene_id FROM packets WHERE mch_id = '%s' AND mch_billno = 'M5'",
			   MCH),
		  "PRODUCT_1");
	r = request("10000100", "wx1000000000000000", "M6", "oLoadUser0000000000000000001",
		    499900 * 3 + 1, 3);
	r.scene_id = "PRODUCT_2";
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), "MONEY_LIMIT 红包金额发放限制");
	r.total_amount = 499900 * 3;
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), "SUCCESS");
	r = request("10000100", "wx1000000000000000", "M7", "oLoadUser0000000000000000001", 2, 3);
	r.scene_id = "PRODUCT_2";
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), "MONEY_LIMIT 红包金额发放限制");

	/* The demo merchant has all eight scenes (the seed document's
	 * example uses PRODUCT_8); unknown scenes are never enabled. */
	r = request(MCH, APPID, "M8", SEED_USER, 300, 3);
	r.scene_id = "PRODUCT_X";
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), scene_off);
	r.scene_id = "PRODUCT_8";
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), "SUCCESS");
	/* 10000099 has PRODUCT_1..7 only. */
	r = request("10000099", "wx9999999999999999", "M9", "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY", 300, 3);
	r.scene_id = "PRODUCT_8";
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), scene_off);
	/* The scene is checked before the amount. */
	r.total_amount = 1;
	res = send_at(&r, T0);
	CHECK_STR(outcome(&res), scene_off);
	CHECK(!packet_exists("10000099", "M9"));
}

static void bindings(void)
{
	CHECK_STR(send_outcome(MCH, "wx2421b1c4370ec43b", "A1", SEED_USER, 300, 3, T0),
		  "ILLEGAL_APPID 非法appid，请确认是否为公众号的appid，不能为APP的appid");
	CHECK_STR(send_outcome(MCH, "wx9999999999999999", "A2", SEED_USER, 300, 3, T0),
		  "PARAM_ERROR 参数错误:商户号和wxappid不匹配.");
	CHECK_STR(send_outcome(MCH, "wxUnknownApp00000", "A3", SEED_USER, 300, 3, T0),
		  "PARAM_ERROR 参数错误:商户号和wxappid不匹配.");
	CHECK_STR(send_outcome(MCH, APPID, "A4", "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY", 300, 3, T0),
		  "OPENID_ERROR openid和appid不匹配");
	/* An unlisted openid is accepted for any app of the merchant. */
	CHECK_STR(send_outcome(MCH, APPID, "A5", "oNotListedAnywhere00000000001", 300, 3, T0),
		  "SUCCESS");
	/* The amount is checked before the app (contract steps 6, 7). */
	CHECK_STR(send_outcome(MCH, "wx2421b1c4370ec43b", "A6", SEED_USER, 299, 3, T0),
		  "MONEY_LIMIT 每个红包的平均金额必须在1.00元到200.00元之间.");
	CHECK(!packet_exists(MCH, "A1") && !packet_exists(MCH, "A2") && !packet_exists(MCH, "A3") &&
	      !packet_exists(MCH, "A4") && !packet_exists(MCH, "A6"));
	/* A binding error on an existing billno does not reach it. */
	CHECK_STR(send_outcome(MCH, "wx2421b1c4370ec43b", "A5", "oNotListedAnywhere00000000001",
			       300, 3, T0),
		  "ILLEGAL_APPID 非法appid，请确认是否为公众号的appid，不能为APP的appid");
}

static void limits(void)
{
	int64_t bal, rows;

	/* SENDNUM_LIMIT: one packet per user per day. */
	add_merchant("20000001", "wx2000000000000001", 100000, 0, 1, 0, 0);
	CHECK_STR(send_outcome("20000001", "wx2000000000000001", "N1", "oU", 300, 3, T0),
		  "SUCCESS");
	bal = balance("20000001");
	rows = ledger_rows("20000001");
	CHECK_STR(send_outcome("20000001", "wx2000000000000001", "N2", "oU", 300, 3, T0 + 1),
		  "SENDNUM_LIMIT "
		  "该用户今日操作次数超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	check_held("20000001", "N2", ERR_SENDNUM_LIMIT);
	CHECK(balance("20000001") == bal && ledger_rows("20000001") == rows);
	/* The held billno is burnt; a day after it was first used it has
	 * expired (spec 3.2 row 21), to the second. */
	CHECK_STR(send_outcome("20000001", "wx2000000000000001", "N2", "oU", 300, 3, T0 + 2),
		  "SEND_FAILED 红包发放失败,请更换单号再重试");
	CHECK_STR(send_outcome("20000001", "wx2000000000000001", "N2", "oU", 300, 3, T0 + 86400),
		  "SEND_FAILED 红包发放失败,请更换单号再重试");
	CHECK_STR(
		send_outcome("20000001", "wx2000000000000001", "N2", "oU", 300, 3, T0 + 1 + 86400),
		"SEND_FAILED 该订单已经过期,请更换商户单号");
	CHECK_STR(
		send_outcome("20000001", "wx2000000000000001", "N2", "oU", 300, 3, T0 + 86400 * 2),
		"SEND_FAILED 该订单已经过期,请更换商户单号");
	/* An issued order is still replayed a day later. */
	CHECK_STR(
		send_outcome("20000001", "wx2000000000000001", "N1", "oU", 300, 3, T0 + 86400 * 2),
		"SUCCESS");
	check_held("20000001", "N2", ERR_SENDNUM_LIMIT);
	/* The limit is per user; a held order does not count as received. */
	CHECK_STR(send_outcome("20000001", "wx2000000000000001", "N3", "oV", 300, 3, T0 + 3),
		  "SUCCESS");
	CHECK(balance("20000001") == bal - 300);

	/* RCVDAMOUNT_LIMIT: 1000 fen per user per day, the limit included,
	 * on normal packets. */
	add_merchant("20000002", "wx2000000000000002", 100000, 0, 0, 1000, 0);
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R1", "oU", 600, 1, T0),
		  "SUCCESS");
	bal = balance("20000002");
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R2", "oU", 600, 1, T0),
		  "RCVDAMOUNT_LIMIT "
		  "该用户今日领取金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	check_held("20000002", "R2", ERR_RCVDAMOUNT_LIMIT);
	CHECK(balance("20000002") == bal);
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R2", "oU", 600, 1, T0),
		  "SEND_FAILED 红包发放失败,请更换单号再重试");
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R3", "oU", 400, 1, T0),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R4", "oU", 300, 1, T0),
		  "RCVDAMOUNT_LIMIT "
		  "该用户今日领取金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R5", "oV", 1000, 1, T0),
		  "SUCCESS");
	/* A group is never held by the amount a user received (spec 7.3
	 * has no RCVDAMOUNT_LIMIT): oU is at the limit, a 3000-fen group
	 * for oU goes out. */
	CHECK_STR(send_outcome("20000002", "wx2000000000000002", "R6", "oU", 3000, 3, T0),
		  "SUCCESS");

	/* What a group's seed user receives is the first share, not the
	 * total: with the limit at that share plus 20000, a 20000-fen normal
	 * packet still fits and one more fen does not. */
	add_merchant("20000017", "wx2000000000000017", 1000000, 0, 0, 0, 0);
	CHECK_STR(send_outcome("20000017", "wx2000000000000017", "S1", "oY", 3000, 3, T0),
		  "SUCCESS");
	int64_t seed_share = sql_int(
		"SELECT s.amount FROM shares s JOIN packets p ON p.id ="
		" s.packet_id WHERE p.mch_id = '20000017' AND p.mch_billno = 'S1'"
		" AND s.seq = 0");
	CHECK(seed_share > 0 && seed_share < 3000);
	struct merchant m7;
	CHECK(store_merchant_lookup(store, "20000017", &m7) == 1);
	m7.amount_per_user_per_day = seed_share + 20000;
	CHECK(store_merchant_update(store, &m7) == 0);
	CHECK_STR(send_outcome("20000017", "wx2000000000000017", "S2", "oY", 20000, 1, T0),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000017", "wx2000000000000017", "S3", "oY", 100, 1, T0),
		  "RCVDAMOUNT_LIMIT "
		  "该用户今日领取金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	/* A group of 2000 yuan in 20 shares under the default limits (issue
	 * 8.3: every group between 1000 and 4000 yuan used to fail). */
	add_merchant("20000018", "wx2000000000000018", 100000000, 1800, 10, 100000, 100000000);
	CHECK_STR(send_outcome("20000018", "wx2000000000000018", "G1", "oFresh", 200000, 20, T0),
		  "SUCCESS");

	/* SENDAMOUNT_LIMIT: 1000 fen per merchant per day, any users. */
	add_merchant("20000003", "wx2000000000000003", 100000, 0, 0, 0, 1000);
	CHECK_STR(send_outcome("20000003", "wx2000000000000003", "D1", "oU", 600, 3, T0),
		  "SUCCESS");
	bal = balance("20000003");
	CHECK_STR(send_outcome("20000003", "wx2000000000000003", "D2", "oV", 600, 3, T0),
		  "SENDAMOUNT_LIMIT "
		  "您的商户号今日发放金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	check_held("20000003", "D2", ERR_SENDAMOUNT_LIMIT);
	CHECK(balance("20000003") == bal);
	CHECK_STR(send_outcome("20000003", "wx2000000000000003", "D3", "oW", 400, 3, T0),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000003", "wx2000000000000003", "D4", "oX", 300, 3, T0),
		  "SENDAMOUNT_LIMIT "
		  "您的商户号今日发放金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	/* The next Beijing day starts afresh. */
	CHECK_STR(send_outcome("20000003", "wx2000000000000003", "D5", "oX", 600, 3, T0 + 86400),
		  "SUCCESS");

	/* NOTENOUGH: the balance, exactly to zero. */
	add_merchant("20000004", "wx2000000000000004", 500, 0, 0, 0, 0);
	CHECK_STR(send_outcome("20000004", "wx2000000000000004", "B1", "oU", 600, 3, T0),
		  "NOTENOUGH 帐号余额不足，请到商户平台充值后再重试");
	check_held("20000004", "B1", ERR_NOTENOUGH);
	CHECK(balance("20000004") == 500);
	CHECK(ledger_rows("20000004") == 1);
	CHECK_STR(send_outcome("20000004", "wx2000000000000004", "B2", "oU", 500, 3, T0),
		  "SUCCESS");
	CHECK(balance("20000004") == 0);
	CHECK_STR(send_outcome("20000004", "wx2000000000000004", "B3", "oU", 300, 3, T0),
		  "NOTENOUGH 帐号余额不足，请到商户平台充值后再重试");
	check_held("20000004", "B3", ERR_NOTENOUGH);
	CHECK(balance("20000004") == 0);
	/* Topping up does not revive a held billno. */
	CHECK(store_ledger_add(store, "20000004", 1000, "topup", 0, T0) == 0);
	CHECK_STR(send_outcome("20000004", "wx2000000000000004", "B3", "oU", 300, 3, T0 + 5),
		  "SEND_FAILED 红包发放失败,请更换单号再重试");
	CHECK_STR(send_outcome("20000004", "wx2000000000000004", "B4", "oU", 300, 3, T0 + 5),
		  "SUCCESS");

	/* Precedence: SENDNUM, RCVDAMOUNT, SENDAMOUNT, NOTENOUGH. */
	add_merchant("20000005", "wx2000000000000005", 1000, 0, 1, 700, 700);
	CHECK_STR(send_outcome("20000005", "wx2000000000000005", "P1", "oU", 600, 3, T0),
		  "SUCCESS");
	/* oU: all four would fail but the balance -> SENDNUM first. */
	CHECK_STR(send_outcome("20000005", "wx2000000000000005", "P2", "oU", 300, 3, T0),
		  "SENDNUM_LIMIT "
		  "该用户今日操作次数超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	/* oV: user amount, merchant amount and balance fail -> RCVDAMOUNT. */
	CHECK_STR(send_outcome("20000005", "wx2000000000000005", "P3", "oV", 800, 1, T0),
		  "RCVDAMOUNT_LIMIT "
		  "该用户今日领取金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	/* oW, 500: merchant amount and balance -> SENDAMOUNT. */
	CHECK_STR(send_outcome("20000005", "wx2000000000000005", "P4", "oW", 500, 3, T0),
		  "SENDAMOUNT_LIMIT "
		  "您的商户号今日发放金额超过限制，如有需要请登录微信支付商户平台更改API安全配置");
	/* The next day: only the balance (400) is short. */
	CHECK_STR(send_outcome("20000005", "wx2000000000000005", "P5", "oW", 500, 3, T0 + 86400),
		  "NOTENOUGH 帐号余额不足，请到商户平台充值后再重试");
	check_held("20000005", "P5", ERR_NOTENOUGH);
}

static void frequency(void)
{
	const char *const freq = "FREQ_LIMIT 超过频率限制,请稍后再试";

	add_merchant("20000006", "wx2000000000000006", 1000000, 2, 0, 0, 0);
	CHECK_STR(send_outcome("20000006", "wx2000000000000006", "F1", "oU", 300, 3, T0),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000006", "wx2000000000000006", "F2", "oU", 300, 3, T0 + 30),
		  "SUCCESS");
	int64_t bal = balance("20000006");
	CHECK_STR(send_outcome("20000006", "wx2000000000000006", "F3", "oU", 300, 3, T0 + 59),
		  freq);
	/* No order: the billno stays free. */
	CHECK(!packet_exists("20000006", "F3"));
	CHECK(balance("20000006") == bal);
	/* The rate comes before the billno (contract steps 8, 9). */
	CHECK_STR(send_outcome("20000006", "wx2000000000000006", "F1", "oU", 300, 3, T0 + 59),
		  freq);
	/* A minute after F1, one slot is free again. */
	CHECK_STR(send_outcome("20000006", "wx2000000000000006", "F3", "oU", 300, 3, T0 + 61),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000006", "wx2000000000000006", "F4", "oU", 300, 3, T0 + 62),
		  freq);
	/* Held orders are created orders: they count toward the rate. */
	add_merchant("20000009", "wx2000000000000009", 100, 2, 0, 0, 0);
	CHECK_STR(send_outcome("20000009", "wx2000000000000009", "G1", "oU", 300, 3, T0),
		  "NOTENOUGH 帐号余额不足，请到商户平台充值后再重试");
	CHECK_STR(send_outcome("20000009", "wx2000000000000009", "G2", "oU", 300, 3, T0),
		  "NOTENOUGH 帐号余额不足，请到商户平台充值后再重试");
	CHECK_STR(send_outcome("20000009", "wx2000000000000009", "G3", "oU", 300, 3, T0), freq);
	/* 0 means unlimited (10000100). */
	char billno[16];
	int ok = 0;
	for (int i = 0; i < 25; i++) {
		snprintf(billno, sizeof(billno), "L%d", i);
		ok += strcmp(send_outcome("10000100", "wx1000000000000000", billno,
					  "oLoadUser0000000000000000001", 300, 3, T0),
			     "SUCCESS") == 0;
	}
	CHECK(ok == 25);
}

static void day_window(void)
{
	const char *const num =
		"SENDNUM_LIMIT "
		"该用户今日操作次数超过限制，如有需要请登录微信支付商户平台更改API安全配置";
	int64_t day = clock_beijing_day_start(T0);

	CHECK(day == T0 - 12 * 3600); /* Beijing midnight */
	add_merchant("20000007", "wx2000000000000007", 100000, 0, 1, 0, 0);
	/* Yesterday's packet does not count today. */
	CHECK_STR(send_outcome("20000007", "wx2000000000000007", "Y1", "oU", 300, 3, T0 - 86400),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000007", "wx2000000000000007", "Y2", "oU", 300, 3, T0),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000007", "wx2000000000000007", "Y3", "oU", 300, 3, T0 + 1), num);

	/* The day is the Beijing calendar day: 23:59:59 and 00:00:00. */
	add_merchant("20000008", "wx2000000000000008", 100000, 0, 1, 0, 0);
	CHECK_STR(send_outcome("20000008", "wx2000000000000008", "E1", "oU", 300, 3, day - 1),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000008", "wx2000000000000008", "E2", "oU", 300, 3, day),
		  "SUCCESS");
	CHECK_STR(send_outcome("20000008", "wx2000000000000008", "E3", "oU", 300, 3, day + 86399),
		  num);
	CHECK_STR(send_outcome("20000008", "wx2000000000000008", "E4", "oU", 300, 3, day + 86400),
		  "SUCCESS");
}

static void processing(void)
{
	/* An order recorded as SENDING without an error (a fault left it
	 * mid-way): a resend answers PROCESSING and changes nothing. */
	struct packet_new p = {
		.mch_id = MCH,
		.mch_billno = "PR1",
		.hb_type = "GROUP",
		.status = "SENDING",
		.wxappid = APPID,
		.re_openid = SEED_USER,
		.send_name = "s",
		.wishing = "w",
		.act_name = "a",
		.remark = "r",
		.amt_type = "ALL_RAND",
		.total_amount = 300,
		.total_num = 3,
		.created_at = T0,
	};
	int64_t id, bal = balance(MCH);
	CHECK(store_packet_insert(store, &p, &id) == 0);
	CHECK_STR(send_outcome(MCH, APPID, "PR1", SEED_USER, 300, 3, T0 + 1),
		  "PROCESSING 请求已受理，请稍后使用原单号查询发放结果");
	CHECK(balance(MCH) == bal);
	CHECK_STR(sql_text("SELECT status FROM packets WHERE id = %lld", (long long)id), "SENDING");
}

static void listids(void)
{
	char out[48];

	redpack_listid(5, "20240301", out);
	CHECK_STR(out, "1000041701202403013000000000005");
	redpack_listid(12345678901, "20991231", out);
	CHECK_STR(out, "1000041701209912313012345678901");
	redpack_listid(INT64_C(123456789012), "20240301", out);
	CHECK(strlen(out) == 31);
	CHECK(all_digits(out));

	/* The date is the Beijing one: 17:00 UTC is already the next day. */
	struct send_request r = request(MCH, APPID, "LD1", SEED_USER, 300, 3);
	struct send_result res = send_at(&r, T0 + 13 * 3600); /* 2024-03-02 01:00 Beijing */
	CHECK_STR(outcome(&res), "SUCCESS");
	CHECK(strncmp(res.order.send_listid,
		      "1000041701"
		      "20240302"
		      "30",
		      20) == 0);
	CHECK(strlen(res.order.send_listid) == 31 && all_digits(res.order.send_listid));

	/* Distinct orders, distinct listids. */
	CHECK(sql_int("SELECT COUNT(*) - COUNT(DISTINCT send_listid) FROM packets WHERE "
		      "send_listid IS NOT NULL") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'SENT' AND (send_listid IS NULL "
		      "OR length(send_listid) != 31 OR send_listid NOT LIKE '1000041701%%')") == 0);
}

/* Same (seed, mch_id, billno), same shares, in a fresh database. */
static void reproducible(void)
{
	char err[320], path2[300];
	snprintf(path2, sizeof(path2), "%s/second.db", dir);
	struct store *s2 = store_open(path2, err, sizeof(err));
	CHECK(s2 != NULL);
	if (!s2)
		return;
	struct redpack rp2 = {.store = s2, .seed = SEED};
	struct send_request r = request("20000001", "wx2000000000000001", "RP1", "oU", 1000, 5);
	struct send_result res;

	/* The same merchant in the second world. */
	struct merchant m;
	CHECK(store_merchant_lookup(store, "20000001", &m) == 1);
	CHECK(store_begin(s2) == 0);
	CHECK(store_merchant_insert(s2, &m) == 0);
	CHECK(store_app_insert(s2, "20000001", "wx2000000000000001", "MP") == 0);
	CHECK(store_ledger_add(s2, "20000001", 100000, "topup", 0, T0) == 0);
	CHECK(store_commit(s2) == 0);
	redpack_send(&rp2, &r, T0 + 2 * 86400, &res);
	CHECK_STR(outcome(&res), "SUCCESS");
	redpack_send(&rp, &r, T0 + 2 * 86400, &res);
	CHECK_STR(outcome(&res), "SUCCESS");
	store_close(s2);

	/* Compare the two databases' shares. */
	sqlite3 *db;
	int64_t a[5] = {0}, b[5] = {0}, want[5];
	CHECK(split_all_rand(SEED, "20000001", "RP1", 1000, 5, want) == 0);
	if (sqlite3_open_v2(path2, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *q;
		if (sqlite3_prepare_v2(db, "SELECT seq, amount FROM shares ORDER BY seq", -1, &q,
				       NULL) == SQLITE_OK) {
			while (sqlite3_step(q) == SQLITE_ROW) {
				int seq = sqlite3_column_int(q, 0);
				if (seq >= 0 && seq < 5)
					b[seq] = sqlite3_column_int64(q, 1);
			}
			sqlite3_finalize(q);
		}
		sqlite3_close(db);
	}
	for (int i = 0; i < 5; i++) {
		a[i] = sql_int(
			"SELECT amount FROM shares WHERE seq = %d AND packet_id = (SELECT id "
			"FROM packets WHERE mch_id = '20000001' AND mch_billno = 'RP1')",
			i);
		CHECK(a[i] == b[i]);
		CHECK(a[i] == want[i]);
	}
	unlink(path2);
	snprintf(err, sizeof(err), "%s-wal", path2);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", path2);
	unlink(err);
}

/* After everything: balance == SUM(ledger) for every merchant; every
 * SENT packet's shares sum to its total, one debit each; held orders
 * have neither. */
static void conservation(void)
{
	CHECK(sql_int("SELECT COUNT(*) FROM merchants m WHERE m.balance != (SELECT "
		      "IFNULL(SUM(amount), "
		      "0) FROM ledger l WHERE l.mch_id = m.mch_id)") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets p WHERE p.status = 'SENT' AND (p.total_amount "
		      "!= "
		      "(SELECT IFNULL(SUM(amount), 0) FROM shares s WHERE s.packet_id = p.id) OR "
		      "p.total_num != (SELECT COUNT(*) FROM shares s WHERE s.packet_id = p.id))") ==
	      0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets p WHERE p.status = 'SENT' AND (SELECT "
		      "IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id AND l.kind = "
		      "'send') "
		      "!= -p.total_amount") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM packets p WHERE p.status != 'SENT' AND p.mch_billno != "
		      "'PR1' AND (EXISTS (SELECT 1 FROM shares s WHERE s.packet_id = p.id) OR "
		      "EXISTS "
		      "(SELECT 1 FROM ledger l WHERE l.packet_id = p.id))") == 0);
	CHECK(sql_int("SELECT COUNT(*) FROM shares WHERE amount < 1") == 0);
	/* Something was actually sent and held. */
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'SENT'") > 30);
	CHECK(sql_int("SELECT COUNT(*) FROM packets WHERE status = 'SENDING' AND reason IS NOT "
		      "NULL") >= 8);
	/* Fixture money is in the ledger. */
	CHECK(sql_int("SELECT amount FROM ledger WHERE mch_id = '10000099' AND kind = 'fixture'") ==
	      5000000);
}

static void cleanup(void)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[300];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "fixtures/default.json";
	char err[512];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/redpack.db", dir);
	store = store_open(dbpath, err, sizeof(err));
	if (!store) {
		fprintf(stderr, "store_open: %s\n", err);
		return 2;
	}
	if (fixtures_load(store, fixtures, T0 - 86400 * 30, 0, err, sizeof(err)) != 1) {
		fprintf(stderr, "fixtures_load: %s\n", err);
		CHECK(0);
		store_close(store);
		cleanup();
		return check_done("redpack");
	}
	rp.store = store;
	rp.seed = SEED;

	success();
	money_and_scene();
	bindings();
	limits();
	frequency();
	day_window();
	processing();
	listids();
	reproducible();
	conservation();

	store_close(store);
	cleanup();
	return check_done("redpack");
}
