/*
 * endpoints.c - each endpoint's path and the parameters it signs: what
 * the server, redpack-ctl and redpack-bench all need of an endpoint, and
 * nothing of the pipeline behind it.
 */
#include "endpoints.h"

#include <string.h>

/* Parameters each endpoint signs (protocol reference 8.3): the server
 * ignores any other element, so a client that signed one fails. */
static const char *const signed_sendgroupredpack[] = {
	"nonce_str", "mch_billno",   "mch_id",	  "sub_mch_id",	    "wxappid", "send_name",
	"re_openid", "total_amount", "total_num", "amt_type",	    "wishing", "act_name",
	"remark",    "scene_id",     "risk_info", "consume_mch_id", NULL};

static const char *const signed_sendredpack[] = {
	"nonce_str", "mch_billno",     "mch_id",    "sub_mch_id",   "msgappid",
	"wxappid",   "send_name",      "re_openid", "total_amount", "total_num",
	"wishing",   "client_ip",      "act_name",  "remark",	    "scene_id",
	"risk_info", "consume_mch_id", "nick_name", "min_value",    "max_value",
	NULL};

static const char *const signed_gethbinfo[] = {"nonce_str", "mch_billno", "mch_id",
					       "appid",	    "bill_type",  NULL};

const struct sign_fields endpoint_signed[ENDPOINT__COUNT] = {
#define ENDPOINT(name, bit, kind, handler) [ENDPOINT_##name] = {signed_##name, NULL, 0},
#include "endpoints.def"
#undef ENDPOINT
};

static const char *const paths[ENDPOINT__COUNT] = {
#define ENDPOINT(name, bit, kind, handler) [ENDPOINT_##name] = "/mmpaymkttransfers/" #name,
#include "endpoints.def"
#undef ENDPOINT
};

const char *endpoint_path(enum endpoint_id id)
{
	return paths[id];
}

int endpoint_by_path(const char *path)
{
	for (int i = 0; i < ENDPOINT__COUNT; i++)
		if (path && strcmp(paths[i], path) == 0)
			return i;
	return -1;
}
