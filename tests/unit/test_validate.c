/* The field rules of sendgroupredpack and mch_id against the texts of
 * tests/e2e/CONTRACT.md (decision steps 1 and 4) and spec 3.2 / 4.2. */
#include "check.h"

#include <stdlib.h>

#include "errors.h"
#include "kv.h"
#include "util.h"
#include "validate.h"

#define P "参数错误:"
#define T_BILLNO P "订单号字段必填,最长为28个字符."
#define T_ACT P "act_name字段必填,并且少于32个字符."
#define T_OPENID P "re_openid字段为必填并且少于32个字符."
#define T_OPENID_FMT P "re_openid字段不正确,请检查是否合法"
#define T_NUM P "total_num必须介于(包括)3到20之间"
#define T_AMOUNT P "红包金额参数错误."
#define T_AMT_TYPE P "amt_type字段必填,并且只能为ALL_RAND."
#define T_APPID P "appid字段必填,最长为32个字符."
#define T_SEND_NAME P "send_name字段为必填并且少于32字符."
#define T_WISHING P "wishing字段为必填,并且少于128个字符."
#define T_REMARK P "remark字段为必填,并且少于256字符."
#define T_NONCE P "nonce_str字段必填,并且少于32字符."
#define T_MCH_ID P "输入的商户号有误."

/* A request that passes every rule (spec 8.4 example D). */
static const char *const good[] = {"act_name",
				   "新年红包",
				   "amt_type",
				   "ALL_RAND",
				   "mch_billno",
				   "0010010404201411170000046545",
				   "mch_id",
				   "10000098",
				   "nonce_str",
				   "50780e0cca98c8c8e814883e5caa672e",
				   "re_openid",
				   "onqOjjmM1tad-3ROpncN-yUfa6uI",
				   "remark",
				   "新年红包",
				   "send_name",
				   "send_name",
				   "total_amount",
				   "600",
				   "total_num",
				   "3",
				   "wishing",
				   "恭喜发财",
				   "wxappid",
				   "wxcbda96de0b165486",
				   NULL};

/* The good request with name set to value (NULL: left out). */
static void build(struct kvlist *l, const char *name, const char *value)
{
	kvlist_init(l);
	for (const char *const *p = good; p[0]; p += 2) {
		if (name && strcmp(p[0], name) == 0) {
			if (value)
				kvlist_add(l, name, value);
		} else {
			kvlist_add(l, p[0], p[1]);
		}
	}
	if (name && value && !kvlist_lookup(l, name))
		kvlist_add(l, name, value);
}

/* The PARAM_ERROR text for the good request with one field changed, or
 * "OK" when it passes. */
static const char *with(const char *name, const char *value)
{
	static char text[512];
	struct kvlist l;
	struct answer a = {ERR_SUCCESS, NULL};

	build(&l, name, value);
	if (validate_fields(validate_sendgroupredpack, &l, &a) == 0)
		snprintf(text, sizeof(text), "OK");
	else if (a.err != ERR_PARAM_ERROR)
		snprintf(text, sizeof(text), "not PARAM_ERROR: %s", errors_info(a.err)->code);
	else
		snprintf(text, sizeof(text), "%s", answer_des(&a));
	kvlist_release(&l);
	return text;
}

/* n copies of unit. */
static const char *repeat(const char *unit, int n)
{
	static char s[4096];
	s[0] = '\0';
	for (int i = 0; i < n; i++)
		strcat(s, unit);
	return s;
}

static void passes(void)
{
	CHECK_STR(with(NULL, NULL), "OK");
	/* Extra elements are not the validator's business. */
	CHECK_STR(with("client_ip", "127.0.0.1"), "OK");
	CHECK_STR(with("scene_id", "PRODUCT_1"), "OK");
	CHECK_STR(with("risk_info", "posttime%3d123123412%26clientversion%3d234134"), "OK");
	CHECK_STR(with("consume_mch_id", "10000097"), "OK");
}

/* Each required field, missing and empty: its own text. */
static void required(void)
{
	static const char *const rows[][2] = {
		{"mch_billno", T_BILLNO}, {"act_name", T_ACT},	      {"re_openid", T_OPENID},
		{"total_num", T_NUM},	  {"total_amount", T_AMOUNT}, {"amt_type", T_AMT_TYPE},
		{"wxappid", T_APPID},	  {"send_name", T_SEND_NAME}, {"wishing", T_WISHING},
		{"remark", T_REMARK},	  {"nonce_str", T_NONCE},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK_STR(with(rows[i][0], NULL), rows[i][1]);
		CHECK_STR(with(rows[i][0], ""), rows[i][1]);
	}
}

/* Lengths are Unicode characters, the maximum included. */
static void lengths(void)
{
	CHECK_STR(with("act_name", repeat("红", 32)), "OK");
	CHECK_STR(with("act_name", repeat("红", 33)), T_ACT);
	CHECK_STR(with("act_name", repeat("a", 32)), "OK");
	CHECK_STR(with("act_name", repeat("a", 33)), T_ACT);
	CHECK_STR(with("act_name", repeat("😀", 32)), "OK"); /* 4-byte characters */
	CHECK_STR(with("send_name", repeat("天", 32)), "OK");
	CHECK_STR(with("send_name", repeat("天", 33)), T_SEND_NAME);
	CHECK_STR(with("wishing", repeat("喜", 128)), "OK");
	CHECK_STR(with("wishing", repeat("喜", 129)), T_WISHING);
	CHECK_STR(with("remark", repeat("备", 256)), "OK");
	CHECK_STR(with("remark", repeat("备", 257)), T_REMARK);
	CHECK_STR(with("nonce_str", repeat("n", 32)), "OK");
	CHECK_STR(with("nonce_str", repeat("n", 33)), T_NONCE);
	CHECK_STR(with("wxappid", repeat("w", 32)), "OK");
	CHECK_STR(with("wxappid", repeat("w", 33)), T_APPID);
	CHECK_STR(with("re_openid", repeat("o", 32)), "OK");
	CHECK_STR(with("re_openid", repeat("o", 33)), T_OPENID);
}

static void billno(void)
{
	CHECK_STR(with("mch_billno", repeat("1", 28)), "OK");
	CHECK_STR(with("mch_billno", repeat("1", 29)), T_BILLNO);
	CHECK_STR(with("mch_billno", "abc"), "OK");
	CHECK_STR(with("mch_billno", "tuitui1499741303"), "OK");
	CHECK_STR(with("mch_billno", "abc-1"), T_BILLNO);
	CHECK_STR(with("mch_billno", "abc_1"), T_BILLNO);
	CHECK_STR(with("mch_billno", "abc 1"), T_BILLNO);
	CHECK_STR(with("mch_billno", "单号"), T_BILLNO);
}

static void openid(void)
{
	CHECK_STR(with("re_openid", "oxTWIuGaIt6gTKsQRLau2M0yL16E"), "OK");
	CHECK_STR(with("re_openid", "a-b_c"), "OK");
	/* A bad character has its own wording. */
	CHECK_STR(with("re_openid", "oxTWIuGaIt6gTKsQ!"), T_OPENID_FMT);
	CHECK_STR(with("re_openid", "o x"), T_OPENID_FMT);
	CHECK_STR(with("re_openid", "用户"), T_OPENID_FMT);
	/* Too long wins over the bad character (length is checked first). */
	CHECK_STR(with("re_openid", repeat("!", 33)), T_OPENID);
}

static void numbers(void)
{
	CHECK_STR(with("total_num", "2"), T_NUM);
	CHECK_STR(with("total_num", "3"), "OK");
	CHECK_STR(with("total_num", "20"), "OK");
	CHECK_STR(with("total_num", "21"), T_NUM);
	CHECK_STR(with("total_num", "0"), T_NUM);
	CHECK_STR(with("total_num", "abc"), T_NUM);
	CHECK_STR(with("total_num", "-3"), T_NUM);
	CHECK_STR(with("total_num", "+3"), T_NUM);
	CHECK_STR(with("total_num", " 3"), T_NUM);
	CHECK_STR(with("total_num", "3.0"), T_NUM);
	CHECK_STR(with("total_num", "99999999999999999999"), T_NUM);
	/* A leading zero is still the integer 3 (the contract only asks for
	 * an integer in 3..20). */
	CHECK_STR(with("total_num", "03"), "OK");

	CHECK_STR(with("total_amount", "0"), T_AMOUNT);
	CHECK_STR(with("total_amount", "1"), "OK"); /* MONEY_LIMIT is the business rule */
	CHECK_STR(with("total_amount", "x"), T_AMOUNT);
	CHECK_STR(with("total_amount", "-100"), T_AMOUNT);
	CHECK_STR(with("total_amount", "1.00"), T_AMOUNT);
	CHECK_STR(with("total_amount", "99999999999999999999"), T_AMOUNT);

	CHECK_STR(with("amt_type", "ALL_RAND"), "OK");
	CHECK_STR(with("amt_type", "all_rand"), T_AMT_TYPE);
	CHECK_STR(with("amt_type", "ALL_RAND "), T_AMT_TYPE);
	CHECK_STR(with("amt_type", "FIXED"), T_AMT_TYPE);
}

/* Two bad fields: the earlier row (contract step 4 order) answers. */
static void order(void)
{
	struct kvlist l;
	struct answer a;

	static const char *const sequence[][3] = {
		/* first bad field, value, its text */
		{"mch_billno", "bad-billno", T_BILLNO},
		{"act_name", "", T_ACT},
		{"re_openid", "o!", T_OPENID_FMT},
		{"total_num", "2", T_NUM},
		{"total_amount", "0", T_AMOUNT},
		{"amt_type", "X", T_AMT_TYPE},
		{"wxappid", "", T_APPID},
		{"send_name", "", T_SEND_NAME},
		{"wishing", "", T_WISHING},
		{"remark", "", T_REMARK},
		{"nonce_str", "", T_NONCE},
	};
	size_t n = sizeof(sequence) / sizeof(sequence[0]);

	/* Every pair (i < j) broken together: row i answers. */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			build(&l, sequence[i][0], sequence[i][1]);
			for (size_t k = 0; k < l.count; k++) {
				if (strcmp(l.items[k].name, sequence[j][0]) == 0) {
					kvlist_set(&l, k, sequence[j][1]);
				}
			}
			a.err = ERR_SUCCESS;
			a.des = NULL;
			CHECK(validate_fields(validate_sendgroupredpack, &l, &a) == -1);
			CHECK(a.err == ERR_PARAM_ERROR);
			CHECK_STR(answer_des(&a), sequence[i][2]);
			kvlist_release(&l);
		}
	}

	/* Nothing at all: the first row. */
	kvlist_init(&l);
	CHECK(validate_fields(validate_sendgroupredpack, &l, &a) == -1);
	CHECK_STR(answer_des(&a), T_BILLNO);
	kvlist_release(&l);
}

static const char *mch_id(const char *value)
{
	static char text[256];
	struct kvlist l;
	struct answer a = {ERR_SUCCESS, NULL};

	kvlist_init(&l);
	kvlist_add(&l, "nonce_str", "x");
	if (value)
		kvlist_add(&l, "mch_id", value);
	if (validate_fields(validate_mch_id, &l, &a) == 0)
		snprintf(text, sizeof(text), "OK");
	else
		snprintf(text, sizeof(text), "%s%s", a.err == ERR_PARAM_ERROR ? "" : "?",
			 answer_des(&a));
	kvlist_release(&l);
	return text;
}

static void mch_id_rules(void)
{
	CHECK_STR(mch_id("10000098"), "OK");
	CHECK_STR(mch_id("1"), "OK");
	CHECK_STR(mch_id(NULL), T_MCH_ID);
	CHECK_STR(mch_id(""), T_MCH_ID);
	CHECK_STR(mch_id("abc"), T_MCH_ID);
	CHECK_STR(mch_id("1000a098"), T_MCH_ID);
	CHECK_STR(mch_id("-10000098"), T_MCH_ID);
	CHECK_STR(mch_id(" 10000098"), T_MCH_ID);
	CHECK_STR(mch_id(repeat("1", 33)), T_MCH_ID);
	/* mch_id is String(32) of digits, not an int64: 32 digits are well
	 * formed (an unknown one then answers 找不到对应的商户号). */
	CHECK_STR(mch_id(repeat("1", 32)), "OK");
	CHECK_STR(mch_id("99999999999999999999"), "OK");
	/* The mch_id table looks at nothing else. */
	struct kvlist l;
	struct answer a;
	build(&l, "mch_billno", "");
	CHECK(validate_fields(validate_mch_id, &l, &a) == 0);
	kvlist_release(&l);
}

/* sendredpack's cross-field rule: min_value and max_value, when sent,
 * equal total_amount; checked after every field rule. */
static void same_as(void)
{
	static const char *const sent[][2] = {
		{"mch_billno", "B1"}, {"act_name", "a"},       {"re_openid", "oA"},
		{"total_num", "1"},   {"total_amount", "200"}, {"wxappid", "wx1"},
		{"send_name", "s"},   {"wishing", "w"},	       {"client_ip", "10.0.0.1"},
		{"remark", "r"},      {"nonce_str", "n"}};
	static const struct {
		const char *min, *max, *drop;
		int ok;
		const char *des;
	} cases[] = {
		{NULL, NULL, NULL, 1, NULL},
		{"200", "200", NULL, 1, NULL},
		{"200", NULL, NULL, 1, NULL},
		{"100", NULL, NULL, 0, "参数错误:发放金额、最小金额、最大金额必须相等."},
		{NULL, "300", NULL, 0, "参数错误:发放金额、最小金额、最大金额必须相等."},
		{"200", "201", NULL, 0, "参数错误:发放金额、最小金额、最大金额必须相等."},
		{"100", NULL, "nonce_str", 0, "参数错误:nonce_str字段必填,并且少于32字符."},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct kvlist l;
		struct answer a = {ERR_SUCCESS, NULL};
		kvlist_init(&l);
		for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++)
			if (!cases[k].drop || strcmp(cases[k].drop, sent[i][0]) != 0)
				kvlist_add(&l, sent[i][0], sent[i][1]);
		if (cases[k].min)
			kvlist_add(&l, "min_value", cases[k].min);
		if (cases[k].max)
			kvlist_add(&l, "max_value", cases[k].max);
		int rc = validate_fields(validate_sendredpack, &l, &a);
		CHECK(rc == (cases[k].ok ? 0 : -1));
		if (!cases[k].ok)
			CHECK_STR(a.des, cases[k].des);
		kvlist_release(&l);
	}
}

int main(void)
{
	passes();
	required();
	lengths();
	billno();
	openid();
	numbers();
	order();
	mch_id_rules();
	same_as();
	return check_done("validate");
}
