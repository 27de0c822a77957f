/*
 * api.c - route table and the one straight pipeline of a request.
 */
#include "api.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "faults.h"
#include "journal.h"
#include "kv.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "sign.h"
#include "store.h"
#include "xmlcodec.h"

/* In --sign-fields received mode: everything received but these. */
static const char *const unsigned_received[] = {"sign", "sign_type", NULL};
static const struct sign_fields sign_received = {NULL, unsigned_received, 0};

struct request {
	struct api_ctx *ctx;
	const struct endpoint *ep;
	struct kvlist params;
	struct merchant merchant;
	struct send_result result;   /* answer, and the order it found or made */
	struct fault_decision fault; /* what magic values and fault rules ask */
	const char *peer_ip;
	struct opened_shares hb; /* gethbinfo: the order's opened shares; last
				  * (api_handle zeroes what comes before) */
};

typedef void (*handler_fn)(struct request *r);
typedef void (*writer_fn)(const struct request *r, struct buf *reply);

struct endpoint {
	const char *path;
	const char *name; /* the path's last segment */
	enum endpoint_id id;
	enum hb_kind kind;
	enum err_endpoint bit;			 /* its column in the catalogue */
	const struct sign_fields *signed_fields; /* endpoints.c's */
	const struct field_rule *rules;
	handler_fn handle;
	writer_fn write;
};

static void api_send(struct request *r);
static void api_query(struct request *r);
static void write_send_answer(const struct request *r, struct buf *reply);
static void write_query_answer(const struct request *r, struct buf *reply);

static const struct endpoint endpoints[] = {
#define ENDPOINT(name, bit, kind, handler)                                                         \
	{"/mmpaymkttransfers/" #name,                                                              \
	 #name,                                                                                    \
	 ENDPOINT_##name,                                                                          \
	 kind,                                                                                     \
	 bit,                                                                                      \
	 &endpoint_signed[ENDPOINT_##name],                                                        \
	 validate_##name,                                                                          \
	 api_##handler,                                                                            \
	 write_##handler##_answer},
#include "endpoints.def"
#undef ENDPOINT
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
		.force = r->fault.err > 0 ? r->fault.err : 0,
		.peer_ip = r->peer_ip,
		.merchant = &r->merchant,
	};

	/* A PROCESSING rule with a delay settles the order by itself. */
	if (r->fault.rule && r->fault.err == ERR_PROCESSING && r->fault.transport == FAULT_NONE) {
		req.settle_after = (r->fault.delay_ms + 999) / 1000;
		req.settle_to = r->fault.settle_to;
	}

	/* The rule table guarantees both are in range. */
	parse_digits(kvlist_get(p, "total_amount"), &req.total_amount);
	parse_digits(kvlist_get(p, "total_num"), &req.total_num);
	/* A settle due but not swept yet happens first (lifecycle.h). */
	lifecycle_catch_up_billno(r->ctx->redpack, req.mch_id, req.mch_billno, clock_now());
	redpack_send(r->ctx->redpack, &req, clock_now(), &r->result);
}

/* gethbinfo (spec 5): steps due but not swept yet first, so the answer
 * shows them; then the order and its opened shares (redpack_query). */
static void api_query(struct request *r)
{
	const char *billno = kvlist_get(&r->params, "mch_billno");
	int64_t now = clock_now();

	lifecycle_catch_up_billno(r->ctx->redpack, r->merchant.mch_id, billno, now);
	r->result.answer.err = redpack_query(r->ctx->redpack, r->merchant.mch_id, billno, now,
					     &r->result.order, &r->hb);
}

/* ---- answers ----------------------------------------------------------- */

static int64_t echo_int(const struct kvlist *p, const char *name)
{
	int64_t v = 0;
	return parse_digits(kvlist_get(p, name), &v) == 0 ? v : 0;
}

static void write_status(const struct endpoint *ep, const struct answer *a, struct buf *reply)
{
	const struct err_info *info = errors_info(a->err);
	const char *des = a->des ? a->des : errors_des(a->err, ep->bit);

	xmlcodec_cdata(reply, "return_code", info->level == LEVEL_RETURN ? "FAIL" : "SUCCESS");
	xmlcodec_cdata(reply, "return_msg", des);
	xmlcodec_cdata(reply, "result_code", info->level == LEVEL_OK ? "SUCCESS" : "FAIL");
	xmlcodec_cdata(reply, "err_code", info->code);
	xmlcodec_cdata(reply, "err_code_des", des);
}

/* The live XML_ERROR answer (F9): bare zeros, no echoes. Returns 1 when
 * the answer was that one (and is complete). */
static int write_xml_error(const struct request *r, struct buf *reply)
{
	xmlcodec_begin(reply);
	write_status(r->ep, &r->result.answer, reply);
	if (r->result.answer.err != ERR_XML_ERROR)
		return 0;
	xmlcodec_bare(reply, "mch_id", 0);
	xmlcodec_bare(reply, "total_amount", 0);
	xmlcodec_end(reply);
	return 1;
}

/* The layout of spec 5.2: on failure only mch_billno and mch_id follow;
 * on success the order, the optional fields only when they have values,
 * and hblist once a share is opened. */
static void write_query_answer(const struct request *r, struct buf *reply)
{
	const struct packet_row *o = &r->result.order;
	char t[20];

	if (write_xml_error(r, reply))
		return;
	xmlcodec_cdata(reply, "mch_billno", kvlist_get(&r->params, "mch_billno"));
	xmlcodec_cdata(reply, "mch_id", kvlist_get(&r->params, "mch_id"));
	if (r->result.answer.err != ERR_SUCCESS) {
		xmlcodec_end(reply);
		return;
	}
	xmlcodec_cdata(reply, "detail_id", o->send_listid);
	xmlcodec_cdata(reply, "status", o->status);
	xmlcodec_cdata(reply, "send_type", "API");
	xmlcodec_cdata(reply, "hb_type", o->hb_type);
	xmlcodec_bare(reply, "total_num", o->total_num);
	xmlcodec_bare(reply, "total_amount", o->total_amount);
	if (o->reason[0])
		xmlcodec_cdata(reply, "reason", o->reason);
	clock_beijing_format(o->send_time ? o->send_time : o->created_at, t);
	xmlcodec_cdata(reply, "send_time", t);
	if (o->refund_time) {
		clock_beijing_format(o->refund_time, t);
		xmlcodec_cdata(reply, "refund_time", t);
		xmlcodec_bare(reply, "refund_amount", o->refund_amount);
	}
	if (r->hb.count) {
		xmlcodec_open(reply, "hblist");
		for (int i = 0; i < r->hb.count; i++) {
			const struct share_row *s = &r->hb.share[i];
			xmlcodec_open(reply, "hbinfo");
			xmlcodec_cdata(reply, "openid", s->openid);
			xmlcodec_bare(reply, "amount", s->amount);
			clock_beijing_format(s->rcv_time, t);
			xmlcodec_cdata(reply, "rcv_time", t);
			xmlcodec_close(reply, "hbinfo");
		}
		xmlcodec_close(reply, "hblist");
	}
	xmlcodec_end(reply);
}

/* The layout of spec 3.3 / 4.3: the request echoed (or, for a replay,
 * the stored order), total_num for groups, send_listid on success. A
 * missing string is echoed empty (F2) and a missing total_amount as 0
 * (F9); a missing total_num is not echoed. */
static void write_send_answer(const struct request *r, struct buf *reply)
{
	const struct answer *a = &r->result.answer;
	const struct packet_row *o = &r->result.order;
	const struct kvlist *p = &r->params;
	int replay = r->result.replayed;

	if (write_xml_error(r, reply))
		return;
	xmlcodec_cdata(reply, "mch_billno", replay ? o->mch_billno : kvlist_get(p, "mch_billno"));
	xmlcodec_cdata(reply, "mch_id", replay ? o->mch_id : kvlist_get(p, "mch_id"));
	xmlcodec_cdata(reply, "wxappid", replay ? o->wxappid : kvlist_get(p, "wxappid"));
	xmlcodec_cdata(reply, "re_openid", replay ? o->re_openid : kvlist_get(p, "re_openid"));
	xmlcodec_bare(reply, "total_amount",
		      replay ? o->total_amount : echo_int(p, "total_amount"));
	/* total_num: the group's always, sendredpack's only when it is not 1
	 * (F3); in both, only a number that was sent (or stored). */
	int64_t num = replay ? o->total_num : 0;
	int sent_num = replay || parse_digits(kvlist_get(p, "total_num"), &num) == 0;
	if (sent_num && (r->ep->kind == HB_GROUP || num != 1))
		xmlcodec_bare(reply, "total_num", num);
	if (a->err == ERR_SUCCESS)
		xmlcodec_cdata(reply, "send_listid", o->send_listid);
	xmlcodec_end(reply);
}

/* ---- the pipeline ------------------------------------------------------ */

static const struct sign_fields *fields_signed(const struct api_ctx *ctx, const struct endpoint *ep)
{
	return ctx->sign_received ? &sign_received : ep->signed_fields;
}

/* The journal's explainer: a SIGN_ERROR entry's request parsed again and
 * diagnosed against its merchant's key (keys never change after the
 * fixtures load them), when the entry is first read. */
static void explain_sign_error(void *arg, const struct journal_entry *e, struct buf *string,
			       struct buf *cause)
{
	struct api_ctx *ctx = arg;
	const struct endpoint *ep = NULL;
	struct kvlist params;
	struct merchant m;

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		if (strcmp(endpoints[i].name, e->endpoint) == 0)
			ep = &endpoints[i];
	kvlist_init(&params);
	if (ep && xmlcodec_parse(e->request, e->request_bytes, &params) == 0 &&
	    store_merchant_lookup(ctx->redpack->store, kvlist_get(&params, "mch_id"), &m) == 1 &&
	    m.api_key[0])
		sign_diagnose(&params, fields_signed(ctx, ep), m.api_key, string, cause);
	kvlist_release(&params);
}

void api_journal_attach(struct api_ctx *ctx)
{
	if (ctx->journal)
		journal_set_explainer(ctx->journal, explain_sign_error, ctx);
}

/* Journals the request and its answer; for a SIGN_ERROR of a known
 * merchant, with what the server signed and the likely cause (worked out
 * when the entry is read, where the journal can do that). */
static void record(const struct request *r, const struct api_call *call, const struct buf *reply)
{
	struct buf string, cause;
	int diagnose = r->result.answer.err == ERR_SIGN_ERROR && r->merchant.api_key[0];
	const char *endpoint = r->ep->name;
	const char *code = errors_info(r->result.answer.err)->code;

	if (diagnose &&
	    journal_add_to_explain(r->ctx->journal, endpoint, kvlist_get(&r->params, "mch_id"),
				   kvlist_get(&r->params, "mch_billno"), code, call->body,
				   call->len, reply->data) == 0)
		return;
	buf_init(&string);
	buf_init(&cause);
	if (diagnose)
		sign_diagnose(&r->params, fields_signed(r->ctx, r->ep), r->merchant.api_key,
			      &string, &cause);
	journal_add(r->ctx->journal, endpoint, kvlist_get(&r->params, "mch_id"),
		    kvlist_get(&r->params, "mch_billno"), code, call->body, call->len, reply->data,
		    diagnose ? string.data : NULL, diagnose ? cause.data : NULL);
	buf_release(&string);
	buf_release(&cause);
}

static void fail(struct request *r, enum err_id err, const char *des)
{
	r->result.answer.err = err;
	r->result.answer.des = des;
}

/* The phases of a request, in the order of spec 14 (as nginx runs its
 * phase handlers, ngx_http_core_run_phases): each either lets the request
 * go on or has decided its answer. */
enum { PHASE_NEXT, PHASE_ANSWERED };
typedef int (*phase_fn)(struct request *r, const struct api_call *call);

static int phase_parse(struct request *r, const struct api_call *call)
{
	if ((call->negative_test && strcmp(call->negative_test, "XML_ERROR") == 0) ||
	    xmlcodec_parse(call->body, call->len, &r->params) != 0) {
		fail(r, ERR_XML_ERROR, NULL);
		return PHASE_ANSWERED;
	}
	return PHASE_NEXT;
}

/* The merchant by mch_id, and the certificate must be its own. */
static int phase_identify(struct request *r, const struct api_call *call)
{
	const char *mch_id;
	struct answer bad;
	int found;

	if (validate_fields(validate_mch_id, &r->params, &bad) != 0) {
		r->result.answer = bad;
		return PHASE_ANSWERED;
	}
	mch_id = kvlist_get(&r->params, "mch_id");
	found = store_merchant_lookup(r->ctx->redpack->store, mch_id, &r->merchant);
	if (found < 0)
		fail(r, ERR_SYSTEMERROR, NULL);
	else if (found == 0)
		fail(r, ERR_PARAM_ERROR, "参数错误:找不到对应的商户号.");
	else if (!call->cert_cn || strcmp(call->cert_cn, mch_id) != 0)
		fail(r, ERR_CA_ERROR, NULL);
	else
		return PHASE_NEXT;
	return PHASE_ANSWERED;
}

static int phase_sign(struct request *r, const struct api_call *call)
{
	(void)call;
	if (sign_verify(&r->params, fields_signed(r->ctx, r->ep), r->merchant.api_key))
		return PHASE_NEXT;
	fail(r, ERR_SIGN_ERROR, NULL);
	return PHASE_ANSWERED;
}

static int phase_validate(struct request *r, const struct api_call *call)
{
	struct answer bad;
	(void)call;
	if (validate_fields(r->ep->rules, &r->params, &bad) == 0)
		return PHASE_NEXT;
	r->result.answer = bad;
	return PHASE_ANSWERED;
}

/* Magic values and fault rules (faults_decide). */
static int phase_faults(struct request *r, const struct api_call *call)
{
	r->fault = faults_decide(r->ctx->faults, call->negative_test, &r->params, r->ep->name,
				 r->ep->bit);
	if (!r->fault.answer)
		return PHASE_NEXT;
	fail(r, (enum err_id)r->fault.err, NULL);
	return PHASE_ANSWERED;
}

/* Its reset is deleting its rows (admin.c): nothing half-deleted is shown
 * or written; the caller retries, as after any SYSTEMERROR. */
static int phase_resetting(struct request *r, const struct api_call *call)
{
	(void)call;
	if (!redpack_resetting(r->ctx->redpack, kvlist_get(&r->params, "mch_id")))
		return PHASE_NEXT;
	fail(r, ERR_SYSTEMERROR, NULL);
	return PHASE_ANSWERED;
}

/* The endpoint's handler; under group commit, the answer to give if the
 * rows it wrote are not kept. */
static int phase_handle(struct request *r, const struct api_call *call)
{
	int64_t changes = store_changes(r->ctx->redpack->store);

	r->ep->handle(r);
	if (call->fallback && store_changes(r->ctx->redpack->store) != changes) {
		/* The same request answering SYSTEMERROR, then back: a copy
		 * of the request would be 16 KB of shares for each send. */
		struct answer kept = r->result.answer;
		int replayed = r->result.replayed;

		r->result.replayed = 0;
		fail(r, ERR_SYSTEMERROR, NULL);
		r->ep->write(r, call->fallback);
		r->result.answer = kept;
		r->result.replayed = replayed;
	}
	return PHASE_ANSWERED;
}

static const phase_fn phases[] = {
	phase_parse,  phase_identify,  phase_sign,   phase_validate,
	phase_faults, phase_resetting, phase_handle,
};

struct fault_decision api_handle(struct api_ctx *ctx, const struct endpoint *ep,
				 const struct api_call *call, struct buf *reply)
{
	struct request r;

	/* All but the opened shares (64 of them, 16 KB), which only a query
	 * fills: their count says how many are there. */
	memset(&r, 0, offsetof(struct request, hb));
	r.hb.count = 0;
	r.ctx = ctx;
	r.ep = ep;
	r.fault.err = -1;
	r.peer_ip = call->peer_ip;
	kvlist_init(&r.params);

	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (phases[i](&r, call) == PHASE_ANSWERED)
			break;
	ep->write(&r, reply);
	metrics_answer(ep->id, r.result.answer.err);
	if (ctx->journal)
		record(&r, call, reply);
	if (call->outcome) {
		struct api_outcome *o = call->outcome;
		o->ep = ep->id;
		o->err = r.result.answer.err;
		str_copy_cut(o->mch_id, sizeof(o->mch_id), kvlist_get(&r.params, "mch_id"));
		str_copy_cut(o->mch_billno, sizeof(o->mch_billno),
			     kvlist_get(&r.params, "mch_billno"));
	}
	kvlist_release(&r.params);
	return r.fault;
}

const struct sign_fields *api_signed_fields(const struct endpoint *ep)
{
	return ep->signed_fields;
}

void api_answered(const struct api_outcome *o, uint64_t latency_us, const char *request_id,
		  const char *client, const char *cert_cn, const char *fault)
{
	struct log_event e;

	metrics_latency(o->ep, latency_us);
	log_begin(&e, LOG_INFO, "api.request");
	log_str(&e, "endpoint", metrics_endpoint_name(o->ep));
	log_str(&e, "mch_id", o->mch_id);
	log_str(&e, "mch_billno", o->mch_billno);
	log_str(&e, "err_code", errors_info(o->err)->code);
	log_ms(&e, "latency_ms", latency_us);
	log_str(&e, "request_id", request_id);
	log_str(&e, "client", client);
	log_str(&e, "cert_cn", cert_cn);
	log_str(&e, "fault", fault);
	log_end(&e);
}
