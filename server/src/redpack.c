/*
 * redpack.c - one send, decided and recorded in one transaction.
 */
#include "redpack.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "split.h"
#include "status.h"
#include "util.h"

/* Amount bounds of one share on average, in fen: without a scene the
 * live service answered MONEY_LIMIT outside 1.00-200.00 yuan; an enabled
 * scene allows 0.01-4999.00 yuan (spec 3.1, 10). */
#define AVG_MIN_DEFAULT 100
#define AVG_MAX_DEFAULT 20000
#define AVG_MIN_SCENE 1
#define AVG_MAX_SCENE 499900

#define SCENE_TEXT                                                                                 \
	"参数错误:该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-使用场景 进行开通"
#define SCENE_MONEY_TEXT "红包金额发放限制"
#define APPID_TEXT "参数错误:商户号和wxappid不匹配."
#define FATAL_OPENID_TEXT "openid和原始单参数不一致"
#define FATAL_AMOUNT_TEXT "金额和原始单参数不一致"

#define IP_TEXT "IP地址非你在商户平台设置的可用IP地址"
/* Spec 3.2 row 21, 11: an order not issued within about a day. */
#define EXPIRED_TEXT "该订单已经过期,请更换商户单号"
#define ORDER_LIFETIME (24 * 3600)

/* Whether ip is one of the space-separated addresses of list. */
static int in_allowlist(const char *list, const char *ip)
{
	size_t n = ip ? strlen(ip) : 0;
	if (!n)
		return 0;
	for (const char *p = list; (p = strstr(p, ip)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

static void set(struct answer *a, enum err_id err, const char *des)
{
	a->err = err;
	a->des = des;
}

void redpack_listid(int64_t id, const char ymd[9], char out[48])
{
	static const char head[] = "1000041701";
	int64_t n = id % INT64_C(100000000000);
	char *p = out;

	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	memcpy(p, ymd, 8);
	p += 8;
	*p++ = '3';
	*p++ = '0';
	for (int i = 10; i >= 0; i--, n /= 10) /* %011 of a non-negative id */
		p[i] = (char)('0' + n % 10);
	p[11] = '\0';
}

/* ---- checks: each returns 1 when it decided the answer, 0 to go on,
 * -1 on a store error. ---------------------------------------------------- */

static int check_amount(struct redpack *rp, const struct send_request *req, struct answer *a)
{
	int64_t lo = AVG_MIN_DEFAULT, hi = AVG_MAX_DEFAULT;
	const char *text = NULL;

	if (req->scene_id) {
		int on = store_scene_enabled(rp->store, req->mch_id, req->scene_id);
		if (on < 0)
			return -1;
		if (!on) {
			set(a, ERR_PARAM_ERROR, SCENE_TEXT);
			return 1;
		}
		lo = AVG_MIN_SCENE;
		hi = AVG_MAX_SCENE;
		text = SCENE_MONEY_TEXT;
	}
	if (req->total_amount < lo * req->total_num || req->total_amount > hi * req->total_num) {
		set(a, ERR_MONEY_LIMIT, text);
		return 1;
	}
	return 0;
}

static int check_bindings(struct redpack *rp, const struct send_request *req, struct answer *a)
{
	char kind[8], bound[STORE_ID_MAX];
	int rc = store_app_kind(rp->store, req->mch_id, req->wxappid, kind);

	if (rc < 0)
		return -1;
	if (rc == 1 && strcmp(kind, "APP") == 0) {
		set(a, ERR_ILLEGAL_APPID, NULL);
		return 1;
	}
	if (rc == 0) {
		set(a, ERR_PARAM_ERROR, APPID_TEXT);
		return 1;
	}
	rc = store_user_appid(rp->store, req->re_openid, bound);
	if (rc < 0)
		return -1;
	if (rc == 1 && strcmp(bound, req->wxappid) != 0) {
		set(a, ERR_OPENID_ERROR, NULL);
		return 1;
	}
	return 0;
}

/* The merchant's IP allow-list and API switch (spec 3.2 rows 15-16). */
static int check_access(const struct merchant *m, const struct send_request *req, struct answer *a)
{
	if (m->ip_allowlist[0] && !in_allowlist(m->ip_allowlist, req->peer_ip)) {
		set(a, ERR_NO_AUTH, IP_TEXT);
		return 1;
	}
	if (m->api_closed) {
		set(a, ERR_API_METHOD_CLOSED, NULL);
		return 1;
	}
	return 0;
}

/* The rate's window: the orders created in the last minute, this second
 * included. */
static int64_t rate_since(int64_t now)
{
	return now - 59;
}

static int check_rate(struct redpack *rp, const struct merchant *m, int64_t now, struct answer *a)
{
	int64_t count = 0;

	if (m->sends_per_minute <= 0)
		return 0;
	if (store_packets_created_since(rp->store, m->mch_id, rate_since(now), &count) != 0)
		return -1;
	if (count >= m->sends_per_minute) {
		set(a, ERR_FREQ_LIMIT, NULL);
		return 1;
	}
	return 0;
}

/* An order with this billno exists: decide from it (spec 11, 14 step 9).
 * An order never issued is burnt once it is a day old: the billno then
 * answers the expiry text whatever the order's state (held, pending or
 * failed). The reference gives no err_code for that text; SEND_FAILED is
 * the code whose advice ("use a new billno") is the one the text gives. */
static int check_existing(struct redpack *rp, const struct send_request *req, int64_t now,
			  struct send_result *out)
{
	struct packet_row *o = &out->order;
	int rc = store_packet_find(rp->store, req->mch_id, req->mch_billno, o);
	const char *kind = req->kind == HB_GROUP ? "GROUP" : "NORMAL";

	if (rc <= 0)
		return rc;
	if (strcmp(o->re_openid, req->re_openid) != 0)
		set(&out->answer, ERR_FATAL_ERROR, FATAL_OPENID_TEXT);
	else if (o->total_amount != req->total_amount || o->total_num != req->total_num ||
		 strcmp(o->hb_type, kind) != 0)
		set(&out->answer, ERR_FATAL_ERROR, FATAL_AMOUNT_TEXT);
	else if (status_issued(status_parse(o->status))) {
		set(&out->answer, ERR_SUCCESS, NULL);
		out->replayed = 1;
	} else if (now - o->created_at >= ORDER_LIFETIME)
		set(&out->answer, ERR_SEND_FAILED, EXPIRED_TEXT);
	else if (status_is(o->status, STATUS_SENDING) && o->err_code[0] == '\0')
		set(&out->answer, ERR_PROCESSING, NULL);
	else
		set(&out->answer, ERR_SEND_FAILED, NULL);
	return 1;
}

/* The daily limits and the balance; the first one hit holds the order.
 * A user's receipts are what they got: normal packets, the first share
 * of the groups they seed, and the shares they opened of others' groups.
 * A group is checked against the user's count only: the group endpoint's
 * error table (spec 7.3) has SENDNUM_LIMIT but no RCVDAMOUNT_LIMIT, and
 * its seed user receives one share, not the total (spec 12). */
static int check_limits(struct redpack *rp, const struct merchant *m,
			const struct send_request *req, int64_t now, struct answer *a)
{
	int64_t day = clock_beijing_day_start(now);
	int64_t user_count = 0, user_amount = 0, mch_amount = 0;

	if (store_user_receipts_since(rp->store, m->mch_id, req->re_openid, day, &user_count,
				      &user_amount) != 0 ||
	    store_merchant_sent_since(rp->store, m->mch_id, day, &mch_amount) != 0)
		return -1;
	if (m->packets_per_user_per_day > 0 && user_count >= m->packets_per_user_per_day)
		set(a, ERR_SENDNUM_LIMIT, NULL);
	else if (req->kind == HB_NORMAL && m->amount_per_user_per_day > 0 &&
		 user_amount + req->total_amount > m->amount_per_user_per_day)
		set(a, ERR_RCVDAMOUNT_LIMIT, NULL);
	else if (m->amount_per_day > 0 && mch_amount + req->total_amount > m->amount_per_day)
		set(a, ERR_SENDAMOUNT_LIMIT, NULL);
	else if (m->balance < req->total_amount)
		set(a, ERR_NOTENOUGH, NULL);
	else
		return 0;
	return 1;
}

/* ---- writes ---------------------------------------------------------- */

/* Writes the order: issued (SENT, with send_time) when held is NULL and
 * the answer is not PROCESSING; held by a limit (SENDING with err_code and
 * reason); or pending (SENDING, neither). */
static int record(struct redpack *rp, const struct send_request *req, int64_t now,
		  const struct answer *held, struct packet_row *o)
{
	char ymd[9];
	int pending = !held && req->force == ERR_PROCESSING;
	struct packet_new p = {
		.mch_id = req->mch_id,
		.mch_billno = req->mch_billno,
		.hb_type = req->kind == HB_GROUP ? "GROUP" : "NORMAL",
		.status = status_name(held || pending ? STATUS_SENDING : STATUS_SENT),
		.wxappid = req->wxappid,
		.re_openid = req->re_openid,
		.send_name = req->send_name,
		.wishing = req->wishing,
		.act_name = req->act_name,
		.remark = req->remark,
		.scene_id = req->scene_id,
		.client_ip = req->client_ip,
		.amt_type = req->amt_type,
		.total_amount = req->total_amount,
		.total_num = req->total_num,
		.err_code = held ? errors_info(held->err)->code : NULL,
		.reason = held ? answer_des(held) : NULL,
		.created_at = now,
		.send_time = held || pending ? 0 : now,
		.settle_at = pending && req->settle_after > 0 ? now + req->settle_after : 0,
		.settle_to = req->settle_to ? req->settle_to : status_name(STATUS_SENT),
	};

	/* The id first, so the row is written once, with its send_listid. */
	if (store_packet_next_id(rp->store, &p.id) != 0)
		return -1;
	clock_beijing_ymd(now, ymd);
	redpack_listid(p.id, ymd, o->send_listid);
	p.send_listid = o->send_listid;
	return store_packet_insert(rp->store, &p, &o->id);
}

/* What issuing packet id (its row written, status SENT) adds, for a send
 * and a settle alike: the shares split from (mch_id, mch_billno), and the
 * merchant's debit at now. In the caller's transaction; 0 or -1. */
static int issue_shares(struct redpack *rp, int64_t id, const char *mch_id, const char *mch_billno,
			int64_t total_amount, int64_t total_num, int64_t now)
{
	int64_t shares[REDPACK_MAX_SHARES];
	int num = (int)total_num;

	if (total_num < 1 || total_num > REDPACK_MAX_SHARES ||
	    split_all_rand(rp->seed, mch_id, mch_billno, total_amount, num, shares) != 0)
		return -1;
	if (store_shares_insert(rp->store, id, shares, num) != 0)
		return -1;
	return store_ledger_add(rp->store, mch_id, -total_amount, "send", id, now);
}

/* A send issued at once: the row, then its shares and debit. */
static int issue(struct redpack *rp, const struct send_request *req, int64_t now,
		 struct packet_row *o)
{
	if (record(rp, req, now, NULL, o) != 0)
		return -1;
	return issue_shares(rp, o->id, req->mch_id, req->mch_billno, req->total_amount,
			    req->total_num, now);
}

/* ---- the decision ---------------------------------------------------- */

void redpack_send(struct redpack *rp, const struct send_request *req, int64_t now,
		  struct send_result *out)
{
	struct merchant m;
	int rc;

	memset(out, 0, sizeof(*out));
	set(&out->answer, ERR_SUCCESS, NULL);
	/* Reads, then the order's inserts: a unit of inserts (store.h). */
	if (store_begin_inserts(rp->store) != 0)
		goto error;
	if (req->merchant)
		m = *req->merchant;
	else if (store_merchant_lookup(rp->store, req->mch_id, &m) != 1)
		goto error;
	/* What check_rate, check_existing and check_limits read, at once. */
	store_send_prefetch(rp->store, m.mch_id, req->mch_billno, req->re_openid, rate_since(now),
			    clock_beijing_day_start(now));
	if ((rc = check_amount(rp, req, &out->answer)) != 0 ||
	    (rc = check_bindings(rp, req, &out->answer)) != 0 ||
	    (rc = check_access(&m, req, &out->answer)) != 0 ||
	    (rc = check_rate(rp, &m, now, &out->answer)) != 0 ||
	    (rc = check_existing(rp, req, now, out)) != 0) {
		if (rc < 0)
			goto error;
		store_rollback(rp->store);
		return;
	}
	if (req->force == ERR_PROCESSING) {
		/* Accepted, not final: SENDING without a reason until settled. */
		set(&out->answer, ERR_PROCESSING, NULL);
		if (record(rp, req, now, NULL, &out->order) != 0)
			goto error;
	} else {
		if (req->force > 0) {
			set(&out->answer, (enum err_id)req->force, NULL);
			rc = 1;
		} else {
			rc = check_limits(rp, &m, req, now, &out->answer);
		}
		if (rc < 0)
			goto error;
		if (rc == 1 ? record(rp, req, now, &out->answer, &out->order) != 0
			    : issue(rp, req, now, &out->order) != 0)
			goto error;
	}
	if (store_commit(rp->store) != 0)
		goto error;
	return;
error:
	store_rollback(rp->store);
	out->replayed = 0;
	set(&out->answer, ERR_SYSTEMERROR, NULL);
}

/* ---- the query -------------------------------------------------------- */

static void on_share(void *arg, const struct share_row *s)
{
	struct opened_shares *opened = arg;
	if (s->openid[0] && opened->count < REDPACK_QUERY_SHARES)
		opened->share[opened->count++] = *s;
}

static int newest_first(const void *a, const void *b)
{
	const struct share_row *x = a, *y = b;
	if (x->rcv_time != y->rcv_time)
		return x->rcv_time < y->rcv_time ? 1 : -1;
	return y->seq - x->seq;
}

enum err_id redpack_query(struct redpack *rp, const char *mch_id, const char *mch_billno,
			  int64_t now, struct packet_row *order, struct opened_shares *opened)
{
	int found = store_packet_find(rp->store, mch_id, mch_billno, order);

	opened->count = 0;
	if (found < 0 ||
	    (found == 1 && store_shares_each(rp->store, order->id, on_share, opened) != 0))
		return ERR_SYSTEMERROR;
	if (found == 0 || order->created_at < now - REDPACK_QUERY_WINDOW)
		return ERR_NOT_FOUND;
	qsort(opened->share, (size_t)opened->count, sizeof(opened->share[0]), newest_first);
	return ERR_SUCCESS;
}

/* ---- settling a PROCESSING order ------------------------------------- */

/* Settles the pending order o (already loaded). */
static enum settle_result settle_order(struct redpack *rp, int to_sent, int64_t now,
				       struct packet_row *o)
{
	struct merchant m;

	if (!status_is(o->status, STATUS_SENDING) || o->err_code[0])
		return SETTLE_NOT_PENDING;
	if (!to_sent)
		return store_packet_set_status(rp->store, o->id, STATUS_FAILED) ? SETTLE_STORE_ERROR
										: SETTLE_OK;
	if (store_merchant_lookup(rp->store, o->mch_id, &m) != 1)
		return SETTLE_STORE_ERROR;
	if (m.balance < o->total_amount)
		return SETTLE_NOTENOUGH;
	if (store_packet_issue(rp->store, o->id, now) != 0 ||
	    issue_shares(rp, o->id, o->mch_id, o->mch_billno, o->total_amount, o->total_num, now) !=
		    0)
		return SETTLE_STORE_ERROR;
	return SETTLE_OK;
}

static enum settle_result settle(struct redpack *rp, const char *mch_id, const char *mch_billno,
				 int to_sent, int64_t now, struct packet_row *o)
{
	switch (store_packet_resolve(rp->store, mch_id, mch_billno, o)) {
	case STORE_RESOLVE_FOUND:
		return settle_order(rp, to_sent, now, o);
	case STORE_RESOLVE_NOT_FOUND:
		return SETTLE_NOT_FOUND;
	case STORE_RESOLVE_AMBIGUOUS:
		return SETTLE_AMBIGUOUS;
	case STORE_RESOLVE_ERROR:
		break;
	}
	return SETTLE_STORE_ERROR;
}

int redpack_settle_due(struct redpack *rp, int64_t id, int64_t now)
{
	struct packet_row *o = xmalloc(sizeof(*o));
	char to[8];
	enum settle_result r = SETTLE_STORE_ERROR;

	if (store_packet_by_id(rp->store, id, o) == 1 &&
	    store_packet_settle_to(rp->store, id, to) == 0)
		r = settle_order(rp, status_is(to, STATUS_SENT), now, o);
	/* A balance that no longer covers the packet fails it, as the real
	 * service's pending orders ended FAILED. */
	if (r == SETTLE_NOTENOUGH)
		r = settle_order(rp, 0, now, o);
	free(o);
	return r == SETTLE_OK ? 0 : -1;
}

enum settle_result redpack_settle(struct redpack *rp, const char *mch_id, const char *mch_billno,
				  int to_sent, int64_t now, struct packet_row *order)
{
	enum settle_result r;

	if (store_begin(rp->store) != 0)
		return SETTLE_STORE_ERROR;
	r = settle(rp, mch_id, mch_billno, to_sent, now, order);
	if (r != SETTLE_OK || store_commit(rp->store) != 0) {
		store_rollback(rp->store);
		return r == SETTLE_OK ? SETTLE_STORE_ERROR : r;
	}
	store_packet_by_id(rp->store, order->id, order);
	return SETTLE_OK;
}

/* ---- merchants ------------------------------------------------------- */

/* LIMIT(field, default): the one list of them; the defaults are the real
 * service's (protocol reference section 10). */
#define LIMITS(LIMIT)                                                                              \
	LIMIT(sends_per_minute, 1800)                                                              \
	LIMIT(packets_per_user_per_day, 10)                                                        \
	LIMIT(amount_per_user_per_day, 100000)                                                     \
	LIMIT(amount_per_day, 100000000)

#define LIMIT_ROW(field, dflt) {#field, offsetof(struct merchant, field), dflt},
#define LIMIT_NAME(field, dflt) ", " #field

const struct redpack_limit redpack_limits[] = {LIMITS(LIMIT_ROW)};
_Static_assert(sizeof(redpack_limits) / sizeof(redpack_limits[0]) == REDPACK_LIMITS,
	       "REDPACK_LIMITS counts the rows of LIMITS");
const char *const redpack_limit_names = &(LIMITS(LIMIT_NAME))[2]; /* past the first ", " */

int64_t *redpack_limit_of(struct merchant *m, size_t i)
{
	return (int64_t *)((char *)m + redpack_limits[i].offset);
}

int redpack_merchant_update(struct redpack *rp, struct merchant *m, int64_t delta, const char *kind,
			    int64_t now)
{
	if (store_begin(rp->store) != 0 || store_merchant_update(rp->store, m) != 0 ||
	    (delta && store_ledger_add(rp->store, m->mch_id, delta, kind, 0, now) != 0) ||
	    store_merchant_lookup(rp->store, m->mch_id, m) != 1 || store_commit(rp->store) != 0) {
		store_rollback(rp->store);
		return -1;
	}
	return 0;
}

int redpack_resetting(const struct redpack *rp, const char *mch_id)
{
	return rp->resetting[0] && mch_id && strcmp(rp->resetting, mch_id) == 0;
}
