/*
 * validate.c - field rules and their walker.
 *
 * Texts are the live service's (protocol reference 3.2, 4.2, 7.2): the
 * doc sentence prefixed with "参数错误:" and, where the captures show it,
 * a final ".". Rows are in the order the checks are applied.
 */
#include "validate.h"

#include <string.h>

#include "util.h"

#define P "参数错误:"

static const char *const amt_types[] = {"ALL_RAND", NULL};
static const char *const bill_types[] = {"MCHT", NULL};
static const char *const total_amount[] = {"total_amount", NULL};

/* clang-format off */
const struct field_rule validate_mch_id[] = {
	{"mch_id", 1, 32, FIELD_NUMERIC, 0, 0, NULL, P "输入的商户号有误.", NULL},
	{NULL, 0, 0, FIELD_TEXT, 0, 0, NULL, NULL, NULL},
};

const struct field_rule validate_sendgroupredpack[] = {
	{"mch_billno", 1, 28, FIELD_ALNUM, 0, 0, NULL, P "订单号字段必填,最长为28个字符.", NULL},
	{"act_name", 1, 32, FIELD_TEXT, 0, 0, NULL, P "act_name字段必填,并且少于32个字符.", NULL},
	{"re_openid", 1, 32, FIELD_OPENID, 0, 0, NULL, P "re_openid字段为必填并且少于32个字符.",
	 P "re_openid字段不正确,请检查是否合法"},
	{"total_num", 1, 0, FIELD_DIGITS, 3, 20, NULL, P "total_num必须介于(包括)3到20之间", NULL},
	{"total_amount", 1, 0, FIELD_DIGITS, 1, 100000000000LL, NULL, P "红包金额参数错误.", NULL},
	{"amt_type", 1, 32, FIELD_ENUM, 0, 0, amt_types, P "amt_type字段必填,并且只能为ALL_RAND.", NULL},
	{"wxappid", 1, 32, FIELD_TEXT, 0, 0, NULL, P "appid字段必填,最长为32个字符.", NULL},
	{"send_name", 1, 32, FIELD_TEXT, 0, 0, NULL, P "send_name字段为必填并且少于32字符.", NULL},
	{"wishing", 1, 128, FIELD_TEXT, 0, 0, NULL, P "wishing字段为必填,并且少于128个字符.", NULL},
	{"remark", 1, 256, FIELD_TEXT, 0, 0, NULL, P "remark字段为必填,并且少于256字符.", NULL},
	{"nonce_str", 1, 32, FIELD_TEXT, 0, 0, NULL, P "nonce_str字段必填,并且少于32字符.", NULL},
	{"scene_id", 0, 32, FIELD_TEXT, 0, 0, NULL,
	 P "该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-使用场景 进行开通", NULL},
	{"risk_info", 0, 128, FIELD_TEXT, 0, 0, NULL, P "risk_info字段长度不能超过128个字符.", NULL},
	{"consume_mch_id", 0, 32, FIELD_NUMERIC, 0, 0, NULL, P "consume_mch_id字段不正确.", NULL},
	{"sub_mch_id", 0, 32, FIELD_NUMERIC, 0, 0, NULL, P "sub_mch_id字段不正确.", NULL},
	{NULL, 0, 0, FIELD_TEXT, 0, 0, NULL, NULL, NULL},
};

const struct field_rule validate_sendredpack[] = {
	{"mch_billno", 1, 28, FIELD_ALNUM, 0, 0, NULL, P "订单号字段必填,最长为28个字符.", NULL},
	{"act_name", 1, 32, FIELD_TEXT, 0, 0, NULL, P "act_name字段必填,并且少于32个字符.", NULL},
	{"re_openid", 1, 32, FIELD_OPENID, 0, 0, NULL, P "re_openid字段为必填并且少于32个字符.",
	 P "re_openid字段不正确,请检查是否合法"},
	{"total_num", 1, 0, FIELD_DIGITS, 1, 1, NULL, P "total_num必须等于1", NULL},
	{"total_amount", 1, 0, FIELD_DIGITS, 1, 100000000000LL, NULL, P "红包金额参数错误.", NULL},
	{"wxappid", 1, 32, FIELD_TEXT, 0, 0, NULL, P "appid字段必填,最长为32个字符.", NULL},
	{"send_name", 1, 32, FIELD_TEXT, 0, 0, NULL, P "send_name字段为必填并且少于32字符.", NULL},
	{"wishing", 1, 128, FIELD_TEXT, 0, 0, NULL, P "wishing字段为必填,并且少于128个字符.", NULL},
	{"client_ip", 1, 15, FIELD_IPV4, 0, 0, NULL, P "client_ip必须是合法的IP字符串.", NULL},
	{"remark", 1, 256, FIELD_TEXT, 0, 0, NULL, P "remark字段为必填,并且少于256字符.", NULL},
	{"nonce_str", 1, 32, FIELD_TEXT, 0, 0, NULL, P "nonce_str字段必填,并且少于32字符.", NULL},
	{"nick_name", 0, 16, FIELD_TEXT, 0, 0, NULL, P "nick_name字段必填，并且少于16字符.", NULL},
	{"scene_id", 0, 32, FIELD_TEXT, 0, 0, NULL,
	 P "该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-使用场景 进行开通", NULL},
	{"risk_info", 0, 128, FIELD_TEXT, 0, 0, NULL, P "risk_info字段长度不能超过128个字符.", NULL},
	{"consume_mch_id", 0, 32, FIELD_NUMERIC, 0, 0, NULL, P "consume_mch_id字段不正确.", NULL},
	{"sub_mch_id", 0, 32, FIELD_NUMERIC, 0, 0, NULL, P "sub_mch_id字段不正确.", NULL},
	{"msgappid", 0, 32, FIELD_TEXT, 0, 0, NULL, P "msgappid字段不正确.", NULL},
	/* The legacy fields, when sent, must equal total_amount (spec 3.1, 7.2). */
	{"min_value", 0, 0, FIELD_SAME_AS, 0, 0, total_amount, P "发放金额、最小金额、最大金额必须相等.", NULL},
	{"max_value", 0, 0, FIELD_SAME_AS, 0, 0, total_amount, P "发放金额、最小金额、最大金额必须相等.", NULL},
	{NULL, 0, 0, FIELD_TEXT, 0, 0, NULL, NULL, NULL},
};

const struct field_rule validate_gethbinfo[] = {
	{"mch_billno", 1, 28, FIELD_ALNUM, 0, 0, NULL, P "订单号字段必填,最长为28个字符.", NULL},
	{"appid", 1, 32, FIELD_TEXT, 0, 0, NULL, P "appid字段必填,最长为32个字符.", NULL},
	{"bill_type", 1, 32, FIELD_ENUM, 0, 0, bill_types, P "bill_type字段必填,并且只能为MCHT.", NULL},
	{"nonce_str", 1, 32, FIELD_TEXT, 0, 0, NULL, P "nonce_str字段必填,并且少于32字符.", NULL},
	{NULL, 0, 0, FIELD_TEXT, 0, 0, NULL, NULL, NULL},
};
/* clang-format on */

static int all_chars(const char *v, const char *extra)
{
	for (; *v; v++) {
		char c = *v;
		int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			 (c >= 'A' && c <= 'Z') || (extra && strchr(extra, c));
		if (!ok)
			return 0;
	}
	return 1;
}

static int is_ipv4(const char *v)
{
	int parts = 0;
	while (parts < 4) {
		int digits = 0, n = 0;
		while (*v >= '0' && *v <= '9' && digits < 4) {
			n = n * 10 + (*v++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || n > 255)
			return 0;
		parts++;
		if (parts < 4 && *v++ != '.')
			return 0;
	}
	return *v == '\0';
}

static int in_enum(const char *v, const char *const *allowed)
{
	for (; allowed && *allowed; allowed++)
		if (strcmp(v, *allowed) == 0)
			return 1;
	return 0;
}

/* 0: the value obeys the rule's kind; 1: bad value (des); 2: bad format
 * (bad_format). */
static int check_kind(const struct field_rule *r, const char *v, const struct kvlist *params)
{
	int64_t n;

	switch (r->kind) {
	case FIELD_TEXT:
		return 0;
	case FIELD_ALNUM:
		return all_chars(v, NULL) ? 0 : 1;
	case FIELD_OPENID:
		return all_chars(v, "-_") ? 0 : 2;
	case FIELD_DIGITS:
		return parse_digits(v, &n) == 0 && n >= r->min && n <= r->max ? 0 : 1;
	case FIELD_NUMERIC:
		return v[strspn(v, "0123456789")] == '\0' ? 0 : 1;
	case FIELD_ENUM:
		return in_enum(v, r->allowed) ? 0 : 1;
	case FIELD_IPV4:
		return is_ipv4(v) ? 0 : 1;
	case FIELD_SAME_AS:
		return strcmp(v, kvlist_get(params, r->allowed[0])) == 0 ? 0 : 1;
	}
	return 1;
}

int validate_fields(const struct field_rule *rules, const struct kvlist *params,
		    struct answer *failure)
{
	for (const struct field_rule *r = rules; r->name; r++) {
		const char *v = kvlist_get(params, r->name);
		int bad;

		if (*v == '\0')
			bad = r->required ? 1 : 0;
		else if (r->max_chars && utf8_length(v) > r->max_chars)
			bad = 1;
		else
			bad = check_kind(r, v, params);
		if (bad) {
			failure->err = ERR_PARAM_ERROR;
			failure->des = bad == 2 && r->bad_format ? r->bad_format : r->des;
			return -1;
		}
	}
	return 0;
}
