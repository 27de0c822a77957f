/*
 * api.c - route table and the one straight pipeline of a request.
 */
#include "api.h"

#include <string.h>

#include "clock.h"
#include "errors.h"
#include "kv.h"
#include "log.h"
#include "sign.h"
#include "store.h"
#include "xmlcodec.h"

/* Parameters each endpoint signs (protocol reference 8.3): the server
 * ignores any other element, so a client that signed one fails. */
static const char *const signed_sendgroupredpack[] = {
	"nonce_str", "mch_billno", "mch_id", "sub_mch_id", "wxappid", "send_name", "re_openid",
	"total_amount", "total_num", "amt_type", "wishing", "act_name", "remark", "scene_id",
	"risk_info", "consume_mch_id", NULL};

/* In --sign-fields received mode: everything received but these. */
static const char *const unsigned_received[] = {"sign", "sign_type", NULL};
static const struct sign_fields sign_received = {NULL, unsigned_received};

struct request {
	struct api_ctx *ctx;
	const struct endpoint *ep;
	struct kvlist params;
	struct merchant merchant;
	struct send_result result;
};

typedef void (*handler_fn)(struct request *r);
typedef void (*writer_fn)(const struct request *r, struct buf *reply);

struct endpoint {
	const char *path;
	enum hb_kind kind;
	struct sign_fields signed_fields;
	const struct field_rule *rules;
	handler_fn handle;
	writer_fn write;
};

static void api_send(struct request *r);
static void write_send_answer(const struct request *r, struct buf *reply);

static const struct endpoint endpoints[] = {
	{"/mmpaymkttransfers/sendgroupredpack", HB_GROUP, {signed_sendgroupredpack, NULL},
	 validate_sendgroupredpack, api_send, write_send_answer},
};

const struct endpoint *api_route(const char *path)
{
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		if (strcmp(endpoints[i].path, path) == 0)
			return &endpoints[i];
	return NULL;
}

/* ---- handlers ---------------------------------------------------------- */

static const char *optional(const struct kvlist *p, const char *name)
{
	const char *v = kvlist_get(p, name);
	return *v ? v : NULL;
}

static void api_send(struct request *r)
{
	const struct kvlist *p = &r->params;
	struct send_request req = {
		.kind = r->ep->kind,
		.mch_id = kvlist_get(p, "mch_id"),
		.mch_billno = kvlist_get(p, "mch_billno"),
		.wxappid = kvlist_get(p, "wxappid"),
		.re_openid = kvlist_get(p, "re_openid"),
		.send_name = kvlist_get(p, "send_name"),
		.wishing = kvlist_get(p, "wishing"),
		.act_name = kvlist_get(p, "act_name"),
		.remark = kvlist_get(p, "remark"),
		.scene_id = optional(p, "scene_id"),
		.client_ip = optional(p, "client_ip"),
		.amt_type = optional(p, "amt_type"),
	};

	/* The rule table guarantees both are in range. */
	parse_digits(kvlist_get(p, "total_amount"), &req.total_amount);
	parse_digits(kvlist_get(p, "total_num"), &req.total_num);
	redpack_send(r->ctx->redpack, &req, clock_now(), &r->result);
}

/* ---- answers ----------------------------------------------------------- */

static int64_t echo_int(const struct kvlist *p, const char *name)
{
	int64_t v = 0;
	return parse_digits(kvlist_get(p, name), &v) == 0 ? v : 0;
}

static void write_status(const struct answer *a, struct buf *reply)
{
	const struct err_info *info = errors_info(a->err);
	const char *des = answer_des(a);

	xmlcodec_cdata(reply, "return_code", info->level == LEVEL_RETURN ? "FAIL" : "SUCCESS");
	xmlcodec_cdata(reply, "return_msg", des);
	xmlcodec_cdata(reply, "result_code", info->level == LEVEL_OK ? "SUCCESS" : "FAIL");
	xmlcodec_cdata(reply, "err_code", info->code);
	xmlcodec_cdata(reply, "err_code_des", des);
}

/* The layout of spec 3.3 / 4.3: the request echoed (or, for a replay,
 * the stored order), total_num for groups, send_listid on success. */
static void write_send_answer(const struct request *r, struct buf *reply)
{
	const struct answer *a = &r->result.answer;
	const struct packet_row *o = &r->result.order;
	const struct kvlist *p = &r->params;
	int replay = r->result.replayed;

	xmlcodec_begin(reply);
	write_status(a, reply);
	if (a->err == ERR_XML_ERROR) {
		/* The live XML_ERROR answer (F9): bare zeros, no echoes. */
		xmlcodec_bare(reply, "mch_id", 0);
		xmlcodec_bare(reply, "total_amount", 0);
		xmlcodec_end(reply);
		return;
	}
	xmlcodec_cdata(reply, "mch_billno", replay ? o->mch_billno : kvlist_get(p, "mch_billno"));
	xmlcodec_cdata(reply, "mch_id", replay ? o->mch_id : kvlist_get(p, "mch_id"));
	xmlcodec_cdata(reply, "wxappid", replay ? o->wxappid : kvlist_get(p, "wxappid"));
	xmlcodec_cdata(reply, "re_openid", replay ? o->re_openid : kvlist_get(p, "re_openid"));
	xmlcodec_bare(reply, "total_amount", replay ? o->total_amount : echo_int(p, "total_amount"));
	int64_t num = replay ? o->total_num : echo_int(p, "total_num");
	if (r->ep->kind == HB_GROUP || num != 1)
		xmlcodec_bare(reply, "total_num", num);
	if (a->err == ERR_SUCCESS)
		xmlcodec_cdata(reply, "send_listid", o->send_listid);
	xmlcodec_end(reply);
}

/* ---- the pipeline ------------------------------------------------------ */

static void fail(struct request *r, enum err_id err, const char *des)
{
	r->result.answer.err = err;
	r->result.answer.des = des;
}

void api_handle(struct api_ctx *ctx, const struct endpoint *ep, const char *body, size_t len,
		const char *cert_cn, struct buf *reply)
{
	struct request r;
	struct answer bad;
	const char *mch_id;
	int found;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.ep = ep;
	kvlist_init(&r.params);

	if (xmlcodec_parse(body, len, &r.params) != 0) {
		fail(&r, ERR_XML_ERROR, NULL);
		goto respond;
	}
	if (validate_fields(validate_mch_id, &r.params, &bad) != 0) {
		r.result.answer = bad;
		goto respond;
	}
	mch_id = kvlist_get(&r.params, "mch_id");
	found = store_merchant_lookup(ctx->redpack->store, mch_id, &r.merchant);
	if (found < 0) {
		fail(&r, ERR_SYSTEMERROR, NULL);
		goto respond;
	}
	if (found == 0) {
		fail(&r, ERR_PARAM_ERROR, "参数错误:找不到对应的商户号.");
		goto respond;
	}
	if (!cert_cn || strcmp(cert_cn, mch_id) != 0) {
		fail(&r, ERR_CA_ERROR, NULL);
		goto respond;
	}
	if (!sign_verify(&r.params, ctx->sign_received ? &sign_received : &ep->signed_fields,
			 r.merchant.api_key)) {
		fail(&r, ERR_SIGN_ERROR, NULL);
		goto respond;
	}
	if (validate_fields(ep->rules, &r.params, &bad) != 0) {
		r.result.answer = bad;
		goto respond;
	}
	ep->handle(&r);
respond:
	ep->write(&r, reply);
	/* One line per request; never the key, the sign or the body. */
	log_info("api %s mch_id=%.32s mch_billno=%.32s -> %s", strrchr(ep->path, '/') + 1,
		 kvlist_get(&r.params, "mch_id"), kvlist_get(&r.params, "mch_billno"),
		 errors_info(r.result.answer.err)->code);
	kvlist_release(&r.params);
}

const struct sign_fields *api_signed_fields(const struct endpoint *ep)
{
	return &ep->signed_fields;
}
