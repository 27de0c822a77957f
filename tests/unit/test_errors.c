/* The error catalogue against the protocol reference: the live-captured
 * texts byte for byte (spec 3.2, 3.4, 7.1), levels, uniqueness. */
#include "check.h"

#include "errors.h"

/* err_code and err_code_des exactly as the spec quotes them. The UTF-8
 * bytes of the full-width comma are spelled out once, so a folded
 * ASCII comma in the table cannot pass. */
#define FW_COMMA "\xEF\xBC\x8C" /* ， U+FF0C */

static const struct {
	enum err_id id;
	const char *code, *des;
} live[] = {
	{ERR_XML_ERROR, "XML_ERROR", "输入xml参数格式错误"},				   /* F9 */
	{ERR_SIGN_ERROR, "SIGN_ERROR", "签名错误"},					   /* F1 */
	{ERR_MONEY_LIMIT, "MONEY_LIMIT", "每个红包的平均金额必须在1.00元到200.00元之间."}, /* F5 */
	{ERR_NOTENOUGH, "NOTENOUGH", "帐号余额不足" FW_COMMA "请到商户平台充值后再重试"},  /* F10 */
	{ERR_NO_AUTH, "NO_AUTH", "发放失败" FW_COMMA "此请求可能存在风险" FW_COMMA "已被微信拦截"},
	{ERR_FREQ_LIMIT, "FREQ_LIMIT", "超过频率限制,请稍后再试"},
	{ERR_SEND_FAILED, "SEND_FAILED", "红包发放失败,请更换单号再重试"},
	{ERR_CA_ERROR, "CA_ERROR", "CA证书出错" FW_COMMA "请登录微信支付商户平台下载证书"},
	{ERR_ILLEGAL_APPID, "ILLEGAL_APPID",
	 "非法appid" FW_COMMA "请确认是否为公众号的appid" FW_COMMA "不能为APP的appid"},
	{ERR_OPENID_ERROR, "OPENID_ERROR", "openid和appid不匹配"},
	{ERR_FATAL_ERROR, "FATAL_ERROR", "openid和原始单参数不一致"},
	{ERR_API_METHOD_CLOSED, "API_METHOD_CLOSED",
	 "你的商户号API发放方式已关闭" FW_COMMA "请联系管理员在商户平台开启"},
	{ERR_SENDAMOUNT_LIMIT, "SENDAMOUNT_LIMIT",
	 "您的商户号今日发放金额超过限制" FW_COMMA "如有需要请登录微信支付商户平台更改API安全配置"},
	{ERR_RCVDAMOUNT_LIMIT, "RCVDAMOUNT_LIMIT",
	 "该用户今日领取金额超过限制" FW_COMMA "如有需要请登录微信支付商户平台更改API安全配置"},
	/* F7 was folded to ASCII commas by the forum page (punctuation
	 * unverified); CONTRACT.md fixes the full-width form of its
	 * siblings. */
	{ERR_SENDNUM_LIMIT, "SENDNUM_LIMIT",
	 "该用户今日操作次数超过限制" FW_COMMA "如有需要请登录微信支付商户平台更改API安全配置"},
	{ERR_MSGAPPID_ERROR, "MSGAPPID_ERROR", "触达消息给用户appid有误"},
	{ERR_ACCEPTMODE_ERROR, "ACCEPTMODE_ERROR", "主、子商户号关系校验失败"},
	{ERR_PROCESSING, "PROCESSING", "请求已受理" FW_COMMA "请稍后使用原单号查询发放结果"},
	{ERR_SYSTEMERROR, "SYSTEMERROR", "请求已受理" FW_COMMA "请稍后使用原单号查询发放结果"},
	{ERR_NOT_FOUND, "NOT_FOUND", "指定单号数据不存在"},
	{ERR_SUCCESS, "SUCCESS", "发放成功"},
	{ERR_PARAM_ERROR, "PARAM_ERROR", "参数错误"},
};

static void every_row(void)
{
	for (int i = 0; i < ERR__COUNT; i++) {
		const struct err_info *e = errors_info((enum err_id)i);
		CHECK(e != NULL);
		CHECK(e->code && e->code[0]);
		CHECK(e->des && e->des[0]);
		CHECK(e->retry && e->retry[0]);
		/* Codes are upper-case ASCII with underscores, as on the wire. */
		int plain = 1;
		for (const char *p = e->code; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || *p == '_'))
				plain = 0;
		CHECK(plain);
		for (int j = i + 1; j < ERR__COUNT; j++)
			CHECK(strcmp(e->code, errors_info((enum err_id)j)->code) != 0);
		CHECK(errors_find(e->code) == i);
	}
	CHECK(errors_find("NO_SUCH_CODE") == -1);
	CHECK(errors_find("") == -1);
	CHECK(errors_find("sign_error") == -1); /* case-sensitive */
	CHECK(ERR__COUNT >= (int)(sizeof(live) / sizeof(live[0])));
}

static void live_texts(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		const struct err_info *e = errors_info(live[i].id);
		CHECK_STR(e->code, live[i].code);
		CHECK_STR(e->des, live[i].des);
		CHECK(errors_find(live[i].code) == (int)live[i].id);
	}
}

static void levels(void)
{
	CHECK(errors_info(ERR_SUCCESS)->level == LEVEL_OK);
	CHECK(errors_info(ERR_XML_ERROR)->level == LEVEL_RETURN);
	for (int i = 0; i < ERR__COUNT; i++) {
		if (i == ERR_SUCCESS || i == ERR_XML_ERROR)
			continue;
		const struct err_info *e = errors_info((enum err_id)i);
		if (e->level != LEVEL_RESULT)
			fprintf(stderr, "level of %s\n", e->code);
		CHECK(e->level == LEVEL_RESULT);
	}
}

/* What stays behind (spec 3.2 rows, 11). */
static void orders(void)
{
	CHECK(errors_info(ERR_SUCCESS)->order == ORDER_ISSUED);
	CHECK(errors_info(ERR_PARAM_ERROR)->order == ORDER_NONE);
	CHECK(errors_info(ERR_MONEY_LIMIT)->order == ORDER_NONE);
	CHECK(errors_info(ERR_XML_ERROR)->order == ORDER_NONE);
	CHECK(errors_info(ERR_SIGN_ERROR)->order == ORDER_NONE);
	CHECK(errors_info(ERR_FREQ_LIMIT)->order == ORDER_NONE);
	CHECK(errors_info(ERR_SENDNUM_LIMIT)->order == ORDER_HELD);
	CHECK(errors_info(ERR_RCVDAMOUNT_LIMIT)->order == ORDER_HELD);
	CHECK(errors_info(ERR_SENDAMOUNT_LIMIT)->order == ORDER_HELD);
	CHECK(errors_info(ERR_NOTENOUGH)->order == ORDER_HELD);
	CHECK(errors_info(ERR_NO_AUTH)->order == ORDER_HELD);
	CHECK(errors_info(ERR_FATAL_ERROR)->order == ORDER_KEPT);
	CHECK(errors_info(ERR_SEND_FAILED)->order == ORDER_KEPT);
	CHECK(errors_info(ERR_SYSTEMERROR)->order == ORDER_KEPT);
	CHECK(errors_info(ERR_PROCESSING)->order == ORDER_KEPT);
}

static void answers(void)
{
	struct answer a = {ERR_SIGN_ERROR, NULL};
	CHECK_STR(answer_des(&a), "签名错误");
	a.err = ERR_PARAM_ERROR;
	a.des = "参数错误:订单号字段必填,最长为28个字符.";
	CHECK_STR(answer_des(&a), "参数错误:订单号字段必填,最长为28个字符.");
	a.err = ERR_FATAL_ERROR;
	a.des = "金额和原始单参数不一致";
	CHECK_STR(answer_des(&a), "金额和原始单参数不一致");
	a.des = NULL;
	CHECK_STR(answer_des(&a), "openid和原始单参数不一致");
}

int main(void)
{
	every_row();
	live_texts();
	levels();
	orders();
	answers();
	return check_done("errors");
}
