/* The v2 signature against every worked example of spec 8.4. */
#include "check.h"

#include "api.h"
#include "kv.h"
#include "sign.h"

#define KEY "192006250b4c09247ec02edce69f6a2d"

static const struct sign_fields all = {NULL, NULL, 0};

static void add_pairs(struct kvlist *l, const char *const *pairs)
{
	for (; pairs[0]; pairs += 2)
		kvlist_add(l, pairs[0], pairs[1]);
}

static const char *hex_of(const struct kvlist *l, const struct sign_fields *f)
{
	static char hex[SIGN_HEX_LEN + 1];
	sign_compute(l, f, KEY, hex);
	return hex;
}

/* An example of pairs with its string to sign and its sign over every
 * field. */
static void example(const char *const *pairs, const char *string, const char *hex)
{
	struct kvlist l;
	struct buf s;
	kvlist_init(&l);
	buf_init(&s);
	add_pairs(&l, pairs);
	sign_string(&l, &all, &s);
	CHECK_STR(s.data, string);
	CHECK_STR(hex_of(&l, &all), hex);
	buf_release(&s);
	kvlist_release(&l);
}

static void example_a(void)
{
	static const char *const p[] = {"appid",       "wxd930ea5d5a258f4f",
					"mch_id",      "10000100",
					"device_info", "1000",
					"body",	       "test",
					"nonce_str",   "ibuaiVcKdpRxkhJA",
					NULL};
	example(p,
		"appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&"
		"nonce_str=ibuaiVcKdpRxkhJA",
		"9A0A8659F005D6984697E2CA0A9CF3B7");
}

static void example_b(void)
{
	static const char *const p[] = {"test2", "test2", "test1", "test1", NULL};
	struct kvlist l;
	kvlist_init(&l);
	add_pairs(&l, p);
	CHECK_STR(hex_of(&l, &all), "1E3A8D73B5A4AEE787C0F68B5DAB8520");
	kvlist_release(&l);
}

static void example_c(void)
{
	static const char *const p[] = {"mch_billno",
					"0010010404201411170000046545",
					"mch_id",
					"888",
					"wxappid",
					"wxcbda96de0b165486",
					"send_name",
					"send_name",
					"re_openid",
					"onqOjjmM1tad-3ROpncN-yUfa6uI",
					"total_amount",
					"200",
					"total_num",
					"1",
					"wishing",
					"恭喜发财",
					"client_ip",
					"127.0.0.1",
					"act_name",
					"新年红包",
					"remark",
					"新年红包",
					"scene_id",
					"PRODUCT_2",
					"consume_mch_id",
					"",
					"nonce_str",
					"50780e0cca98c8c8e814883e5caa672e",
					"risk_info",
					"posttime%3d123123412%26clientversion%3d234134%26mobile%"
					"3d122344545%26deviceid%3dIOS",
					"sign",
					"E1EE61A91C8E90F299DE6AE075D60A2D",
					NULL};
	static const char *const no_sign_type[] = {"sign_type", NULL};
	const struct sign_fields without = {NULL, no_sign_type, 0};
	struct kvlist l;
	struct buf s;
	kvlist_init(&l);
	buf_init(&s);
	add_pairs(&l, p);
	sign_string(&l, &all, &s);
	CHECK(s.len == 404); /* the spec's byte count before "&key=" */
	CHECK_STR(hex_of(&l, &all), "1F2FE4FBE6A352347E886F336E519BAE");
	/* The sample's own sign is not reproducible: verify must refuse it. */
	CHECK(!sign_verify(&l, &all, KEY));
	kvlist_add(&l, "sign_type", "MD5");
	CHECK_STR(hex_of(&l, &all), "9842CE5CF432634FFD92287AC2190FA8");
	CHECK_STR(hex_of(&l, &without), "1F2FE4FBE6A352347E886F336E519BAE");
	buf_release(&s);
	kvlist_release(&l);
}

static void example_d(void)
{
	static const char *const p[] = {"act_name",
					"新年红包",
					"amt_type",
					"ALL_RAND",
					"mch_billno",
					"0010010404201411170000046545",
					"mch_id",
					"1000888888",
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
	const struct endpoint *ep = api_route("/mmpaymkttransfers/sendgroupredpack");
	struct kvlist l;
	kvlist_init(&l);
	add_pairs(&l, p);
	CHECK(ep != NULL);
	CHECK_STR(hex_of(&l, &all), "3FCA8C6E228C5F6D0E6BD1142EA41FA2");
	CHECK_STR(hex_of(&l, api_signed_fields(ep)), "3FCA8C6E228C5F6D0E6BD1142EA41FA2");
	/* client_ip is not a field of the endpoint: the server leaves it out,
	 * so a client that signed it (wechatpy) fails. */
	kvlist_add(&l, "client_ip", "127.0.0.1");
	CHECK_STR(hex_of(&l, api_signed_fields(ep)), "3FCA8C6E228C5F6D0E6BD1142EA41FA2");
	CHECK(strcmp(hex_of(&l, &all), "3FCA8C6E228C5F6D0E6BD1142EA41FA2") != 0);
	kvlist_add(&l, "sign", "3FCA8C6E228C5F6D0E6BD1142EA41FA2");
	CHECK(sign_verify(&l, api_signed_fields(ep), KEY));
	kvlist_release(&l);
	/* Lower case is refused. */
	kvlist_init(&l);
	add_pairs(&l, p);
	kvlist_add(&l, "sign", "3fca8c6e228c5f6d0e6bd1142ea41fa2");
	CHECK(!sign_verify(&l, api_signed_fields(ep), KEY));
	kvlist_release(&l);
}

static void example_e(void)
{
	static const char *const p[] = {"sign",	      "E1EE61A91C8E90F299DE6AE075D60A2D",
					"mch_billno", "0010010404201411170000046545",
					"mch_id",     "10000097",
					"appid",      "wxe062425f740c30d8",
					"bill_type",  "MCHT",
					"nonce_str",  "50780e0cca98c8c8e814883e5caa672e",
					NULL};
	example(p,
		"appid=wxe062425f740c30d8&bill_type=MCHT&mch_billno="
		"0010010404201411170000046545&mch_id=10000097&nonce_str="
		"50780e0cca98c8c8e814883e5caa672e",
		"12733425FC5D9ECF9CB5BBF7FE3BD89B");
}

static void empty_and_missing(void)
{
	struct kvlist l;
	kvlist_init(&l);
	kvlist_add(&l, "test1", "test1");
	kvlist_add(&l, "empty", "");
	kvlist_add(&l, "test2", "test2");
	/* Empty values are left out of the signature. */
	CHECK_STR(hex_of(&l, &all), "1E3A8D73B5A4AEE787C0F68B5DAB8520");
	CHECK(!sign_verify(&l, &all, KEY)); /* no sign at all */
	kvlist_release(&l);
}

int main(void)
{
	example_a();
	example_b();
	example_c();
	example_d();
	example_e();
	empty_and_missing();
	return check_done("sign");
}
