/* The request pipeline end to end, without sockets: bytes and a
 * certificate name in, the whole answer's bytes out (CONTRACT.md,
 * "Answer layout" and the decision order; spec 3.3, 3.4, 4.3).
 *
 * Usage: test_api [FIXTURES]   (default: fixtures/default.json,
 * relative to the working directory) */
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>

#include "api.h"
#include "clock.h"
#include "fixtures.h"
#include "kv.h"
#include "redpack.h"
#include "sign.h"
#include "store.h"
#include "util.h"
#include "xmlcodec.h"

#define PATH "/mmpaymkttransfers/sendgroupredpack"
#define MCH "10000098"
#define KEY "192006250b4c09247ec02edce69f6a2d"
#define APPID "wx8888888888888888"
#define OPENID "oxTWIuGaIt6gTKsQRLau2M0yL16E"

static struct store *store;
static struct redpack rp;
static struct api_ctx ctx;
static const struct endpoint *ep;

/* ---- requests ---------------------------------------------------------- */

static const char *const base[] = {"nonce_str",
				   "50780e0cca98c8c8e814883e5caa672e",
				   "mch_billno",
				   "BILL",
				   "mch_id",
				   MCH,
				   "wxappid",
				   APPID,
				   "send_name",
				   "天虹百货",
				   "re_openid",
				   OPENID,
				   "total_amount",
				   "300",
				   "total_num",
				   "3",
				   "amt_type",
				   "ALL_RAND",
				   "wishing",
				   "恭喜发财",
				   "act_name",
				   "新年红包",
				   "remark",
				   "新年红包",
				   NULL};

/* The base request with overrides: name, value pairs, then NULL; a NULL
 * value leaves the field out; a name not in base is added. */
static void params(struct kvlist *l, const char *billno, va_list ap)
{
	const char *over[64];
	int n = 0;
	for (const char *k; (k = va_arg(ap, const char *)) != NULL && n < 62;) {
		over[n++] = k;
		over[n++] = va_arg(ap, const char *);
	}
	kvlist_init(l);
	for (const char *const *p = base; p[0]; p += 2) {
		const char *v = strcmp(p[0], "mch_billno") == 0 ? billno : p[1];
		int skip = 0;
		for (int i = 0; i < n; i += 2) {
			if (strcmp(over[i], p[0]) == 0) {
				v = over[i + 1];
				skip = v == NULL;
			}
		}
		if (!skip)
			kvlist_add(l, p[0], v);
	}
	for (int i = 0; i < n; i += 2)
		if (over[i + 1] && !kvlist_lookup(l, over[i]))
			kvlist_add(l, over[i], over[i + 1]);
}

/* The body: every field in CDATA, sign last (wechatpy's layout), the
 * sign computed with key over fields (NULL: the endpoint's). */
static char *body_of(const struct kvlist *l, const char *key, const struct sign_fields *fields)
{
	struct buf b;
	char hex[SIGN_HEX_LEN + 1];
	buf_init(&b);
	xmlcodec_begin(&b);
	for (size_t i = 0; i < l->count; i++)
		xmlcodec_cdata(&b, l->items[i].name, l->items[i].value);
	if (key) {
		sign_compute(l, fields ? fields : api_signed_fields(ep), key, hex);
		xmlcodec_cdata(&b, "sign", hex);
	}
	xmlcodec_end(&b);
	return buf_detach(&b);
}

/* The answer to the base request for billno with overrides, signed with
 * key, presented with certificate cn. The result is static. */
static const char *ask_signed(const char *cn, const char *key, const char *billno, ...)
{
	static struct buf reply;
	struct kvlist l;
	va_list ap;

	va_start(ap, billno);
	params(&l, billno, ap);
	va_end(ap);
	char *body = body_of(&l, key, NULL);
	buf_release(&reply);
	buf_init(&reply);
	api_handle(&ctx, ep, &(struct api_call){.body = body, .len = strlen(body), .cert_cn = cn},
		   &reply);
	free(body);
	kvlist_release(&l);
	return reply.data ? reply.data : "";
}

static const char *answer_raw(const char *body, size_t len, const char *cn)
{
	static struct buf reply;
	buf_release(&reply);
	buf_init(&reply);
	api_handle(&ctx, ep, &(struct api_call){.body = body, .len = len, .cert_cn = cn}, &reply);
	return reply.data ? reply.data : "";
}

/* The answer layout for a failure with the request's echoes. */
static const char *failure(const char *code, const char *des, const char *billno,
			   const char *mch_id, const char *appid, const char *openid,
			   long long amount, long long num)
{
	static char text[4096];
	snprintf(text, sizeof(text),
		 "<xml>\n"
		 "<return_code><![CDATA[SUCCESS]]></return_code>\n"
		 "<return_msg><![CDATA[%s]]></return_msg>\n"
		 "<result_code><![CDATA[FAIL]]></result_code>\n"
		 "<err_code><![CDATA[%s]]></err_code>\n"
		 "<err_code_des><![CDATA[%s]]></err_code_des>\n"
		 "<mch_billno><![CDATA[%s]]></mch_billno>\n"
		 "<mch_id><![CDATA[%s]]></mch_id>\n"
		 "<wxappid><![CDATA[%s]]></wxappid>\n"
		 "<re_openid><![CDATA[%s]]></re_openid>\n"
		 "<total_amount>%lld</total_amount>\n"
		 "<total_num>%lld</total_num>\n"
		 "</xml>",
		 des, code, des, billno, mch_id, appid, openid, amount, num);
	if (num < 0) /* total_num not sent: not echoed */
		memmove(strstr(text, "<total_num>"), strstr(text, "</xml>"), sizeof("</xml>"));
	return text;
}

static const char *xml_error = "<xml>\n"
			       "<return_code><![CDATA[FAIL]]></return_code>\n"
			       "<return_msg><![CDATA[输入xml参数格式错误]]></return_msg>\n"
			       "<result_code><![CDATA[FAIL]]></result_code>\n"
			       "<err_code><![CDATA[XML_ERROR]]></err_code>\n"
			       "<err_code_des><![CDATA[输入xml参数格式错误]]></err_code_des>\n"
			       "<mch_id>0</mch_id>\n"
			       "<total_amount>0</total_amount>\n"
			       "</xml>";

/* The success layout up to send_listid; then 31 digits of today. */
static int is_success(const char *got, const char *billno, const char *openid, const char *amount,
		      const char *num, char listid[32])
{
	char head[2048], ymd[9], prefix[24];
	const char *tail = "]]></send_listid>\n</xml>";
	snprintf(head, sizeof(head),
		 "<xml>\n"
		 "<return_code><![CDATA[SUCCESS]]></return_code>\n"
		 "<return_msg><![CDATA[发放成功]]></return_msg>\n"
		 "<result_code><![CDATA[SUCCESS]]></result_code>\n"
		 "<err_code><![CDATA[SUCCESS]]></err_code>\n"
		 "<err_code_des><![CDATA[发放成功]]></err_code_des>\n"
		 "<mch_billno><![CDATA[%s]]></mch_billno>\n"
		 "<mch_id><![CDATA[" MCH "]]></mch_id>\n"
		 "<wxappid><![CDATA[" APPID "]]></wxappid>\n"
		 "<re_openid><![CDATA[%s]]></re_openid>\n"
		 "<total_amount>%s</total_amount>\n"
		 "<total_num>%s</total_num>\n"
		 "<send_listid><![CDATA[",
		 billno, openid, amount, num);
	clock_beijing_ymd(clock_now(), ymd);
	snprintf(prefix, sizeof(prefix), "1000041701%s30", ymd);
	size_t hl = strlen(head);
	if (strncmp(got, head, hl) != 0 || strlen(got) != hl + 31 + strlen(tail)) {
		fprintf(stderr, "not the success layout:\n%s\n", got);
		return 0;
	}
	const char *id = got + hl;
	for (int i = 0; i < 31; i++)
		if (id[i] < '0' || id[i] > '9')
			return 0;
	if (strncmp(id, prefix, 20) != 0 || strcmp(id + 31, tail) != 0) {
		fprintf(stderr, "bad send_listid or tail:\n%s\n", got);
		return 0;
	}
	if (listid) {
		memcpy(listid, id, 31);
		listid[31] = '\0';
	}
	return 1;
}

/* ---- tests ------------------------------------------------------------- */

static void routes(void)
{
	CHECK(ep != NULL);
	CHECK(api_route("/mmpaymkttransfers/sendgroupredpack/") == NULL);
	CHECK(api_route("/mmpaymkttransfers/nosuch") == NULL);
	CHECK(api_route("") == NULL);
	CHECK(api_route("/MMPAYMKTTRANSFERS/SENDGROUPREDPACK") == NULL);
}

static void success_and_replay(void)
{
	char listid[32] = "", again[32] = "";
	int64_t before;
	struct merchant m;

	CHECK(store_merchant_lookup(store, MCH, &m) == 1);
	before = m.balance;
	CHECK(is_success(ask_signed(MCH, KEY, "API1", NULL), "API1", OPENID, "300", "3", listid));
	CHECK(store_merchant_lookup(store, MCH, &m) == 1 && m.balance == before - 300);

	/* The identical resend: the same bytes, no second debit. */
	CHECK(is_success(ask_signed(MCH, KEY, "API1", NULL), "API1", OPENID, "300", "3", again));
	CHECK_STR(again, listid);
	CHECK(store_merchant_lookup(store, MCH, &m) == 1 && m.balance == before - 300);

	/* A resend with another nonce_str (a new signature) and another
	 * wishing is the same order: the stored values are echoed. */
	CHECK(is_success(
		ask_signed(MCH, KEY, "API1", "nonce_str", "other", "wishing", "再来", NULL), "API1",
		OPENID, "300", "3", again));
	CHECK_STR(again, listid);

	/* php style (bare values, no line feeds) and a declaration. */
	struct kvlist l;
	kvlist_init(&l);
	for (const char *const *p = base; p[0]; p += 2)
		kvlist_add(&l, p[0], strcmp(p[0], "mch_billno") == 0 ? "API2" : p[1]);
	char hex[SIGN_HEX_LEN + 1];
	sign_compute(&l, api_signed_fields(ep), KEY, hex);
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml>");
	buf_printf(&b, "<sign>%s</sign>", hex); /* sign first, as the official sample */
	for (size_t i = 0; i < l.count; i++)
		buf_printf(&b, "<%s>%s</%s>", l.items[i].name, l.items[i].value, l.items[i].name);
	buf_puts(&b, "</xml>");
	CHECK(is_success(answer_raw(b.data, b.len, MCH), "API2", OPENID, "300", "3", NULL));
	buf_release(&b);
	kvlist_release(&l);

	/* The documentation's sign_type and the SDKs' client_ip are not
	 * signed fields: sent but unsigned, they are ignored. */
	CHECK(is_success(ask_signed(MCH, KEY, "API3", "sign_type", "MD5", NULL), "API3", OPENID,
			 "300", "3", NULL));
}

static void xml_errors(void)
{
	static const char nul[] = "<xml><mch_id>1\0000</mch_id></xml>";
	CHECK_STR(answer_raw("", 0, MCH), xml_error);
	CHECK_STR(answer_raw("<xml><mch_id>10000098</mch_id>", 30, MCH), xml_error);
	CHECK_STR(answer_raw("hello", 5, MCH), xml_error);
	const char *b = "<root><mch_id>10000098</mch_id></root>";
	CHECK_STR(answer_raw(b, strlen(b), MCH), xml_error);
	b = "<xml><mch_id><v>10000098</v></mch_id></xml>";
	CHECK_STR(answer_raw(b, strlen(b), MCH), xml_error);
	b = "<xml><mch_id>10000098</mch_id><mch_id>10000098</mch_id></xml>";
	CHECK_STR(answer_raw(b, strlen(b), MCH), xml_error);
	b = "<!DOCTYPE xml [<!ENTITY m \"10000098\">]><xml><mch_id>&m;</mch_id></xml>";
	CHECK_STR(answer_raw(b, strlen(b), MCH), xml_error);
	b = "<xml><mch_id>&m;</mch_id></xml>";
	CHECK_STR(answer_raw(b, strlen(b), MCH), xml_error);
	b = "<xml><act_name>\xE6\x96</act_name></xml>";
	CHECK_STR(answer_raw(b, strlen(b), MCH), xml_error);
	CHECK_STR(answer_raw(nul, sizeof(nul) - 1, MCH), xml_error);
	/* Any certificate: the body is looked at first. */
	CHECK_STR(answer_raw("", 0, "10000099"), xml_error);
}

static void identify(void)
{
	/* mch_id missing / not digits: PARAM_ERROR, before the certificate. */
	CHECK_STR(ask_signed(MCH, KEY, "ID1", "mch_id", NULL, NULL),
		  failure("PARAM_ERROR", "参数错误:输入的商户号有误.", "ID1", "", APPID, OPENID,
			  300, 3));
	CHECK_STR(ask_signed(MCH, KEY, "ID1", "mch_id", "", NULL),
		  failure("PARAM_ERROR", "参数错误:输入的商户号有误.", "ID1", "", APPID, OPENID,
			  300, 3));
	CHECK_STR(ask_signed(MCH, KEY, "ID1", "mch_id", "1000009x", NULL),
		  failure("PARAM_ERROR", "参数错误:输入的商户号有误.", "ID1", "1000009x", APPID,
			  OPENID, 300, 3));
	/* Unknown merchant, whatever the certificate. */
	CHECK_STR(ask_signed("12345678", KEY, "ID2", "mch_id", "12345678", NULL),
		  failure("PARAM_ERROR", "参数错误:找不到对应的商户号.", "ID2", "12345678", APPID,
			  OPENID, 300, 3));
	CHECK_STR(ask_signed(MCH, KEY, "ID2", "mch_id", "12345678", NULL),
		  failure("PARAM_ERROR", "参数错误:找不到对应的商户号.", "ID2", "12345678", APPID,
			  OPENID, 300, 3));

	/* Another merchant's certificate: CA_ERROR, before the signature. */
	char ca[4096];
	snprintf(ca, sizeof(ca), "%s",
		 failure("CA_ERROR", "CA证书出错，请登录微信支付商户平台下载证书", "ID3", MCH,
			 APPID, OPENID, 300, 3));
	CHECK_STR(ask_signed("10000099", KEY, "ID3", NULL), ca);
	CHECK_STR(ask_signed("10000099", "wrong-key", "ID3", NULL), ca);
	CHECK_STR(ask_signed("", KEY, "ID3", NULL), ca);
	CHECK_STR(ask_signed("100000980", KEY, "ID3", NULL), ca);
	/* and the merchant 10000099 with its own certificate but the key
	 * of 10000098: SIGN_ERROR. */
	CHECK_STR(ask_signed("10000099", KEY, "ID4", "mch_id", "10000099", "wxappid",
			     "wx9999999999999999", NULL),
		  failure("SIGN_ERROR", "签名错误", "ID4", "10000099", "wx9999999999999999", OPENID,
			  300, 3));
	CHECK(!store_packet_find(store, MCH, "ID3", &(struct packet_row){0}));
}

static void signatures(void)
{
	char sign_error[4096];
	struct kvlist l;
	char hex[SIGN_HEX_LEN + 1];

	snprintf(sign_error, sizeof(sign_error), "%s",
		 failure("SIGN_ERROR", "签名错误", "SG1", MCH, APPID, OPENID, 300, 3));
	CHECK_STR(ask_signed(MCH, "192006250b4c09247ec02edce69f6a2e", "SG1", NULL), sign_error);
	/* No sign at all. */
	CHECK_STR(ask_signed(MCH, NULL, "SG1", NULL), sign_error);

	/* A value changed after signing. */
	kvlist_init(&l);
	for (const char *const *p = base; p[0]; p += 2)
		kvlist_add(&l, p[0], strcmp(p[0], "mch_billno") == 0 ? "SG1" : p[1]);
	char *body = body_of(&l, KEY, NULL);
	char *at = strstr(body, "<total_amount><![CDATA[300");
	CHECK(at != NULL);
	if (at)
		at[strlen("<total_amount><![CDATA[")] = '4';
	CHECK_STR(answer_raw(body, strlen(body), MCH),
		  failure("SIGN_ERROR", "签名错误", "SG1", MCH, APPID, OPENID, 400, 3));
	free(body);

	/* Lower-case hex is refused. */
	sign_compute(&l, api_signed_fields(ep), KEY, hex);
	for (char *p = hex; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	kvlist_add(&l, "sign", hex);
	body = body_of(&l, NULL, NULL);
	CHECK_STR(answer_raw(body, strlen(body), MCH), sign_error);
	free(body);
	kvlist_release(&l);

	/* A client that signed client_ip (wechatpy) fails in endpoint mode
	 * and passes with --sign-fields received. */
	static const struct sign_fields everything = {NULL, NULL, 0};
	kvlist_init(&l);
	for (const char *const *p = base; p[0]; p += 2)
		kvlist_add(&l, p[0], strcmp(p[0], "mch_billno") == 0 ? "SG2" : p[1]);
	kvlist_add(&l, "client_ip", "127.0.0.1");
	body = body_of(&l, KEY, &everything);
	CHECK_STR(answer_raw(body, strlen(body), MCH),
		  failure("SIGN_ERROR", "签名错误", "SG2", MCH, APPID, OPENID, 300, 3));
	ctx.sign_received = 1;
	CHECK(is_success(answer_raw(body, strlen(body), MCH), "SG2", OPENID, "300", "3", NULL));
	/* In received mode, the endpoint-only signature no longer matches. */
	free(body);
	kvlist_release(&l);
	kvlist_init(&l);
	for (const char *const *p = base; p[0]; p += 2)
		kvlist_add(&l, p[0], strcmp(p[0], "mch_billno") == 0 ? "SG3" : p[1]);
	kvlist_add(&l, "client_ip", "127.0.0.1");
	body = body_of(&l, KEY, NULL);
	CHECK_STR(answer_raw(body, strlen(body), MCH),
		  failure("SIGN_ERROR", "签名错误", "SG3", MCH, APPID, OPENID, 300, 3));
	ctx.sign_received = 0;
	CHECK(is_success(answer_raw(body, strlen(body), MCH), "SG3", OPENID, "300", "3", NULL));
	free(body);
	kvlist_release(&l);
}

static void param_errors(void)
{
	/* Spec F2: an empty billno is echoed as empty CDATA. */
	CHECK_STR(ask_signed(MCH, KEY, "", NULL),
		  failure("PARAM_ERROR", "参数错误:订单号字段必填,最长为28个字符.", "", MCH, APPID,
			  OPENID, 300, 3));
	/* Missing billno: the same echo. */
	CHECK_STR(ask_signed(MCH, KEY, "X", "mch_billno", NULL, NULL),
		  failure("PARAM_ERROR", "参数错误:订单号字段必填,最长为28个字符.", "", MCH, APPID,
			  OPENID, 300, 3));
	/* A non-integer amount is echoed as 0 (as XML_ERROR's F9); a
	 * total_num that was not sent is not echoed at all. */
	CHECK_STR(ask_signed(MCH, KEY, "PE1", "total_amount", "abc", NULL),
		  failure("PARAM_ERROR", "参数错误:红包金额参数错误.", "PE1", MCH, APPID, OPENID, 0,
			  3));
	CHECK_STR(ask_signed(MCH, KEY, "PE2", "total_num", NULL, NULL),
		  failure("PARAM_ERROR", "参数错误:total_num必须介于(包括)3到20之间", "PE2", MCH,
			  APPID, OPENID, 300, -1));
	CHECK_STR(ask_signed(MCH, KEY, "PE3", "total_num", "21", NULL),
		  failure("PARAM_ERROR", "参数错误:total_num必须介于(包括)3到20之间", "PE3", MCH,
			  APPID, OPENID, 300, 21));
	CHECK_STR(ask_signed(MCH, KEY, "PE4", "re_openid", "o!x", NULL),
		  failure("PARAM_ERROR", "参数错误:re_openid字段不正确,请检查是否合法", "PE4", MCH,
			  APPID, "o!x", 300, 3));
	/* An echo is CDATA-safe. */
	CHECK_STR(ask_signed(MCH, KEY, "PE5", "act_name", NULL, "wxappid", "a]]>b", NULL),
		  failure("PARAM_ERROR", "参数错误:act_name字段必填,并且少于32个字符.", "PE5", MCH,
			  "a]]]]><![CDATA[>b", OPENID, 300, 3));
	/* A validation failure leaves no order: the billno is reusable. */
	CHECK_STR(ask_signed(MCH, KEY, "PE6", "act_name", "", NULL),
		  failure("PARAM_ERROR", "参数错误:act_name字段必填,并且少于32个字符.", "PE6", MCH,
			  APPID, OPENID, 300, 3));
	CHECK(is_success(ask_signed(MCH, KEY, "PE6", NULL), "PE6", OPENID, "300", "3", NULL));
}

static void business_errors(void)
{
	/* Group MONEY_LIMIT (spec 4.2/4.3): 300 fen for 4, total_num echoed. */
	CHECK_STR(ask_signed(MCH, KEY, "BE1", "total_num", "4", NULL),
		  failure("MONEY_LIMIT", "每个红包的平均金额必须在1.00元到200.00元之间.", "BE1",
			  MCH, APPID, OPENID, 300, 4));
	/* The same billno, corrected, then succeeds. */
	CHECK(is_success(ask_signed(MCH, KEY, "BE1", NULL), "BE1", OPENID, "300", "3", NULL));
	/* FATAL_ERROR echoes the request, not the stored order. */
	CHECK_STR(ask_signed(MCH, KEY, "BE1", "total_amount", "600", NULL),
		  failure("FATAL_ERROR", "金额和原始单参数不一致", "BE1", MCH, APPID, OPENID, 600,
			  3));
	CHECK_STR(ask_signed(MCH, KEY, "BE1", "re_openid", "oOther", NULL),
		  failure("FATAL_ERROR", "openid和原始单参数不一致", "BE1", MCH, APPID, "oOther",
			  300, 3));
	CHECK_STR(ask_signed(MCH, KEY, "BE2", "wxappid", "wx2421b1c4370ec43b", NULL),
		  failure("ILLEGAL_APPID", "非法appid，请确认是否为公众号的appid，不能为APP的appid",
			  "BE2", MCH, "wx2421b1c4370ec43b", OPENID, 300, 3));
	CHECK_STR(ask_signed(MCH, KEY, "BE3", "scene_id", "PRODUCT_9", NULL),
		  failure("PARAM_ERROR",
			  "参数错误:该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-"
			  "使用场景 进行开通",
			  "BE3", MCH, APPID, OPENID, 300, 3));
	CHECK_STR(ask_signed(MCH, KEY, "BE4", "re_openid", "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY", NULL),
		  failure("OPENID_ERROR", "openid和appid不匹配", "BE4", MCH, APPID,
			  "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY", 300, 3));
	/* A held order (10000099, asked for by a magic openid): the limit's
	 * answer with the request echoed, then the billno is burnt. */
	CHECK_STR(
		ask_signed("10000099", "8a4f0e6b2c9d41e7a35b7c0d9e1f2a3b", "BE5", "mch_id",
			   "10000099", "wxappid", "wx9999999999999999", "re_openid",
			   "oMOCK_SENDNUM_LIMIT", "total_amount", "100001", "total_num", "10",
			   NULL),
		failure("SENDNUM_LIMIT",
			"该用户今日操作次数超过限制，如有需要请登录微信支付商户平台更改API安全配置",
			"BE5", "10000099", "wx9999999999999999", "oMOCK_SENDNUM_LIMIT", 100001,
			10));
	CHECK_STR(ask_signed("10000099", "8a4f0e6b2c9d41e7a35b7c0d9e1f2a3b", "BE5", "mch_id",
			     "10000099", "wxappid", "wx9999999999999999", "re_openid",
			     "oMOCK_SENDNUM_LIMIT", "total_amount", "100001", "total_num", "10",
			     NULL),
		  failure("SEND_FAILED", "红包发放失败,请更换单号再重试", "BE5", "10000099",
			  "wx9999999999999999", "oMOCK_SENDNUM_LIMIT", 100001, 10));
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "fixtures/default.json";
	char err[512];

	xmlcodec_global_init();
	store = store_open(":memory:", err, sizeof(err));
	if (!store) {
		fprintf(stderr, "store_open: %s\n", err);
		return 2;
	}
	if (fixtures_load(store, fixtures, clock_now(), 0, err, sizeof(err)) != 1) {
		fprintf(stderr, "fixtures_load: %s\n", err);
		CHECK(0);
		store_close(store);
		return check_done("api");
	}
	rp.store = store;
	rp.seed = 42;
	ctx.redpack = &rp;
	ctx.sign_received = 0;
	ep = api_route(PATH);

	routes();
	if (ep) {
		success_and_replay();
		xml_errors();
		identify();
		signatures();
		param_errors();
		business_errors();
	}
	store_close(store);
	xmlcodec_global_release();
	return check_done("api");
}
