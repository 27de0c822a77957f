/*
 * admin_packets.c - red packets: the list, one with its shares and
 * ledger, a simulated user's claim, settling an order answered
 * PROCESSING.
 */
#include "admin_handlers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "lifecycle.h"
#include "status.h"
#include "store.h"

static json_t *packet_json(const struct packet_row *o)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "mch_id",
			      o->mch_id, "mch_billno", o->mch_billno, "hb_type", o->hb_type,
			      "status", o->status, "send_listid", o->send_listid, "wxappid",
			      o->wxappid, "re_openid", o->re_openid, "total_amount",
			      (json_int_t)o->total_amount, "total_num", (json_int_t)o->total_num,
			      "send_name", o->send_name, "wishing", o->wishing, "act_name",
			      o->act_name, "remark", o->remark);
	json_object_set_new(j, "scene_id", o->scene_id[0] ? json_string(o->scene_id) : json_null());
	json_object_set_new(j, "err_code", o->err_code[0] ? json_string(o->err_code) : json_null());
	json_object_set_new(j, "reason", o->reason[0] ? json_string(o->reason) : json_null());
	json_object_set_new(j, "created_at", admin_time_json(o->created_at));
	json_object_set_new(j, "send_time", admin_time_json(o->send_time));
	json_object_set_new(j, "refund_time", admin_time_json(o->refund_time));
	json_object_set_new(j, "refund_amount",
			    o->refund_time ? json_integer(o->refund_amount) : json_null());
	return j;
}

static void on_packet(void *arg, const struct packet_row *o)
{
	struct admin_page *pg = arg;
	if ((int64_t)json_array_size(pg->list) == pg->limit) {
		pg->more = 1;
		return;
	}
	json_array_append_new(pg->list, packet_json(o));
	pg->last = o->id;
}

/* Newest first; the cursor is the internal id of the last packet shown. */
void admin_packets(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	struct admin_page pg = {json_array(), p->limit, 0, 0};

	/* One row more than the page says whether there is a next one. */
	if (store_packets_each(ctx->redpack->store, p->q[QP_MCH_ID], p->q[QP_STATUS], p->cursor,
			       (int)p->limit + 1, on_packet, &pg) != 0) {
		json_decref(pg.list);
		admin_reply_error(req, 500, "the database could not be read");
		return;
	}
	admin_reply_json(req, 200,
			 json_pack("{s:o,s:o}", "packets", pg.list, "next", admin_page_next(&pg)));
}

static void on_share_json(void *arg, const struct share_row *s)
{
	json_t *j = json_pack("{s:i,s:I}", "seq", s->seq, "amount", (json_int_t)s->amount);
	json_object_set_new(j, "openid", s->openid[0] ? json_string(s->openid) : json_null());
	json_object_set_new(j, "rcv_time", admin_time_json(s->rcv_time));
	json_array_append_new(arg, j);
}

static void on_ledger_json(void *arg, const struct ledger_row *l)
{
	json_t *j = json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)l->id, "mch_id", l->mch_id,
			      "amount", (json_int_t)l->amount, "kind", l->kind);
	json_object_set_new(j, "at", admin_time_json(l->at));
	json_array_append_new(arg, j);
}

/* Finds the packet of a path that names only its billno (?mch_id= or a
 * body's "mch_id" picks one when several merchants use the billno).
 * Returns 0, or -1 after answering. */
static int find_packet(struct admin_ctx *ctx, struct admin_request *req, const char *billno,
		       const char *mch_id, struct packet_row *o)
{
	switch (store_packet_resolve(ctx->redpack->store, mch_id, billno, o)) {
	case STORE_RESOLVE_FOUND:
		return 0;
	case STORE_RESOLVE_NOT_FOUND:
		admin_reply_error(req, 404, "no packet with this mch_billno");
		break;
	case STORE_RESOLVE_AMBIGUOUS:
		admin_reply_error(req, 409, "several merchants use this mch_billno: add ?mch_id=");
		break;
	case STORE_RESOLVE_ERROR:
		admin_reply_error(req, 500, "the database could not be read");
		break;
	}
	return -1;
}

void admin_packet(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	char *billno = admin_segment(p, 0);
	struct packet_row *o = xmalloc(sizeof(*o));
	struct store *st = ctx->redpack->store;

	if (find_packet(ctx, req, billno, p->q[QP_MCH_ID], o) == 0) {
		json_t *j = packet_json(o), *shares = json_array(), *ledger = json_array();
		if (store_shares_each(st, o->id, on_share_json, shares) != 0 ||
		    store_ledger_each(st, o->id, on_ledger_json, ledger) != 0) {
			json_decref(shares);
			json_decref(ledger);
			json_decref(j);
			admin_reply_error(req, 500, "the database could not be read");
		} else {
			json_object_set_new(j, "shares", shares);
			json_object_set_new(j, "ledger", ledger);
			admin_reply_json(req, 200, j);
		}
	}
	free(o);
	free(billno);
}

static const int claim_status[] = {
	[CLAIM_OK] = 201,	  [CLAIM_NOT_FOUND] = 404,    [CLAIM_AMBIGUOUS] = 409,
	[CLAIM_NOT_ISSUED] = 409, [CLAIM_EXPIRED] = 409,      [CLAIM_ALL_OPENED] = 409,
	[CLAIM_SEED_FIRST] = 409, [CLAIM_NOT_RECEIVER] = 409, [CLAIM_TWICE] = 409,
	[CLAIM_LIMIT] = 409,	  [CLAIM_STORE_ERROR] = 500,
};

void admin_claim(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	const char *openid, *mch_id;
	char *billno;
	struct claim_outcome out;

	openid = json_string_value(json_object_get(p->body, "openid"));
	mch_id = json_string_value(json_object_get(p->body, "mch_id"));
	if (!openid || !*openid || utf8_length(openid) > 32 ||
	    (json_object_get(p->body, "mch_id") && !mch_id)) {
		admin_reply_error(req, 400,
				  "\"openid\" must be a string of 1-32 characters"
				  " (and \"mch_id\", if given, a string)");
		return;
	}
	billno = admin_segment(p, 0);
	lifecycle_claim(ctx->redpack, mch_id, billno, openid, clock_now(), &out);
	if (out.result == CLAIM_OK) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:I,s:s}", "mch_id", out.mch_id,
				      "mch_billno", billno, "openid", openid, "seq", out.seq,
				      "amount", (json_int_t)out.amount, "status", out.status);
		json_object_set_new(j, "rcv_time", admin_time_json(out.rcv_time));
		admin_reply_json(req, 201, j);
	} else {
		json_t *j = json_pack("{s:s}", "error", lifecycle_claim_message(out.result));
		if (out.result == CLAIM_LIMIT)
			json_object_set_new(j, "err_code",
					    json_string(errors_info(out.limit)->code));
		if (out.status[0])
			json_object_set_new(j, "status", json_string(out.status));
		admin_reply_json(req, claim_status[out.result], j);
	}
	free(billno);
}

void admin_settle(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	static const struct {
		int status;
		const char *message;
	} answers[] = {
		[SETTLE_OK] = {200, NULL},
		[SETTLE_NOT_FOUND] = {404, "no packet with this mch_billno"},
		[SETTLE_AMBIGUOUS] = {409, "several merchants use this mch_billno: add \"mch_id\""},
		[SETTLE_NOT_PENDING] =
			{409, "only an order answered PROCESSING (SENDING, no reason) settles"},
		[SETTLE_NOTENOUGH] =
			{409, "the balance no longer covers the packet; top up or settle FAILED"},
		[SETTLE_STORE_ERROR] = {500, "the database could not be written"},
	};
	const char *result, *mch_id;
	struct packet_row *o;
	char *billno;
	enum settle_result r;

	result = json_string_value(json_object_get(p->body, "result"));
	mch_id = json_string_value(json_object_get(p->body, "mch_id"));
	if (!result || (!status_is(result, STATUS_SENT) && !status_is(result, STATUS_FAILED)) ||
	    (json_object_get(p->body, "mch_id") && !mch_id)) {
		admin_reply_error(req, 400,
				  "\"result\" must be \"SENT\" or \"FAILED\" (and "
				  "\"mch_id\", if given, a string)");
		return;
	}
	billno = admin_segment(p, 0);
	o = xcalloc(1, sizeof(*o));
	r = redpack_settle(ctx->redpack, mch_id, billno, status_is(result, STATUS_SENT),
			   clock_now(), o);
	if (r == SETTLE_OK)
		admin_reply_json(req, 200, packet_json(o));
	else
		admin_reply_error(req, answers[r].status, answers[r].message);
	free(o);
	free(billno);
}
