/*
 * admin.c - control API handlers.
 */
#include "admin.h"

#include <string.h>

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "api.h"
#include "background.h"
#include "clock.h"
#include "faults.h"
#include "fixtures.h"
#include "invariants.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

/* The query parameters a route may take, one row each in query_specs
 * (below the handlers). A route names its own in the route table;
 * check_query enforces them before the handler runs, so handlers read
 * p->q[] (and p->limit, p->cursor) and never re-check. */
enum query_id {
	QP_MCH_ID,
	QP_STATUS,
	QP_MCH_BILLNO,
	QP_ERR_CODE,
	QP_LIMIT,
	QP_CURSOR,
	QP__COUNT
};

#define Q(id) (1u << (id))

/* Lists answer a page at a time: limit 1..PAGE_MAX, default per route. */
#define PAGE_MAX 1000

struct params {
	const char *seg[ADMIN_MAX_PARAMS];
	size_t len[ADMIN_MAX_PARAMS];
	size_t count;
	char *q[QP__COUNT]; /* decoded query values, NULL when absent (owned here) */
	int64_t limit;      /* a list: the page size */
	int64_t cursor;     /* a list: the "next" of the page before, 0 for the first */
};

typedef void (*admin_fn)(struct admin_ctx *ctx, struct admin_request *req,
			 const struct params *p);

struct admin_route {
	const char *method;
	const char *pattern; /* "*" matches one path segment */
	admin_fn handle;
	unsigned query; /* Q(QP_...): the query parameters it takes */
	int page;       /* a list: its default limit (it also takes limit and cursor); 0: not a list */
};

static void admin_healthz(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p);
static void admin_check(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_clock_get(struct admin_ctx *ctx, struct admin_request *req,
			    const struct params *p);
static void admin_clock_set(struct admin_ctx *ctx, struct admin_request *req,
			    const struct params *p);
static void admin_packets(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_packet(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_claim(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_settle(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_errors(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_reset(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);
static void admin_faults_add(struct admin_ctx *ctx, struct admin_request *req,
			     const struct params *p);
static void admin_faults_list(struct admin_ctx *ctx, struct admin_request *req,
			      const struct params *p);
static void admin_faults_delete(struct admin_ctx *ctx, struct admin_request *req,
				const struct params *p);
static void admin_journal(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p);
static void admin_metrics(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p);
static void admin_merchant_get(struct admin_ctx *ctx, struct admin_request *req,
			       const struct params *p);
static void admin_merchant_put(struct admin_ctx *ctx, struct admin_request *req,
			       const struct params *p);

static void work_metrics(const struct admin_work *w, struct buf *out);

static const struct admin_route routes[] = {
	{"GET", "/healthz", admin_healthz, 0, 0},
	{"GET", "/admin/v1/check", admin_check, 0, 0},
	{"GET", "/admin/v1/errors", admin_errors, 0, 0},
	{"POST", "/admin/v1/reset", admin_reset, Q(QP_MCH_ID), 0},
	{"POST", "/admin/v1/faults", admin_faults_add, 0, 0},
	{"GET", "/admin/v1/faults", admin_faults_list, 0, 100},
	{"DELETE", "/admin/v1/faults", admin_faults_delete, 0, 0},
	{"DELETE", "/admin/v1/faults/*", admin_faults_delete, 0, 0},
	{"GET", "/admin/v1/journal", admin_journal, Q(QP_MCH_BILLNO) | Q(QP_ERR_CODE), 50},
	{"GET", "/metrics", admin_metrics, 0, 0},
	{"GET", "/admin/v1/merchants/*", admin_merchant_get, 0, 0},
	{"PUT", "/admin/v1/merchants/*", admin_merchant_put, 0, 0},
	{"GET", "/admin/v1/clock", admin_clock_get, 0, 0},
	{"POST", "/admin/v1/clock", admin_clock_set, 0, 0},
	{"GET", "/admin/v1/packets", admin_packets, Q(QP_MCH_ID) | Q(QP_STATUS), 100},
	{"GET", "/admin/v1/packets/*", admin_packet, Q(QP_MCH_ID), 0},
	{"POST", "/admin/v1/packets/*/claims", admin_claim, 0, 0},
	{"POST", "/admin/v1/packets/*/settle", admin_settle, 0, 0},
};

/* ---- replies ----------------------------------------------------------- */

const char *admin_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Sets the reply to json (stolen) with status. */
static void reply_json(struct admin_request *req, int status, json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	req->status = status;
	req->content_type = "application/json";
	buf_reset(&req->reply);
	buf_puts(&req->reply, text ? text : "{}");
	buf_puts(&req->reply, "\n");
	free(text);
	json_decref(json);
}

static void reply_error(struct admin_request *req, int status, const char *message)
{
	reply_json(req, status, json_pack("{s:s}", "error", message));
}

/* ---- handlers ---------------------------------------------------------- */

static void admin_healthz(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p)
{
	(void)p;
	req->status = ctx->ready ? 200 : 503;
	req->content_type = "text/plain";
	buf_puts(&req->reply, ctx->ready ? "ok\n" : "starting\n");
}

static void on_violation(void *arg, const char *invariant, const char *detail)
{
	json_array_append_new(arg, json_pack("{s:s,s:s}", "invariant", invariant, "detail", detail));
}

/* The check's answer: n violations (in violations, stolen) of checked
 * invariants, or n < 0 when the store could not be read. */
static void check_answer(struct admin_request *req, int n, int checked, json_t *violations)
{
	if (n < 0) {
		json_decref(violations);
		reply_error(req, 500, "the database could not be read");
		return;
	}
	reply_json(req, n ? 409 : 200,
		   json_pack("{s:b,s:i,s:o}", "ok", n == 0, "checked", checked, "violations",
			     violations));
}

static void check_now(struct admin_ctx *ctx, struct admin_request *req)
{
	json_t *violations = json_array();
	int checked = 0;
	int n = invariants_run(ctx->redpack->store, on_violation, violations, &checked);

	check_answer(req, n, checked, violations);
}

static int check_later(struct admin_ctx *ctx, struct admin_request *req);

/* On a thread of its own when it can (check_later), else here. */
static void admin_check(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	(void)p;
	if (check_later(ctx, req) != 0)
		check_now(ctx, req);
}

/* ---- input ------------------------------------------------------------- */

/* The body as a JSON object with only the allowed keys; NULL after
 * answering 400 with what is wrong. */
static json_t *json_body(struct admin_request *req, const char *const *allowed)
{
	json_error_t jerr;
	json_t *j;
	const char *key;
	json_t *v;
	char msg[256];

	if (req->body_len == 0) {
		reply_error(req, 400, "a JSON object body is required");
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		snprintf(msg, sizeof(msg), "the body is not a JSON object%s%s", j ? "" : ": ",
			 j ? "" : jerr.text);
		json_decref(j);
		reply_error(req, 400, msg);
		return NULL;
	}
	json_object_foreach(j, key, v) {
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (!*a) {
			snprintf(msg, sizeof(msg), "unknown key \"%.64s\"", key);
			json_decref(j);
			reply_error(req, 400, msg);
			return NULL;
		}
	}
	return j;
}

static char *segment(const struct params *p, size_t i)
{
	return xstrndup(p->seg[i], p->len[i]);
}

/* ---- packets ----------------------------------------------------------- */

static json_t *time_json(int64_t t)
{
	char iso[26];
	if (!t)
		return json_null();
	clock_format_iso8601(t, iso);
	return json_string(iso);
}

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
	json_object_set_new(j, "created_at", time_json(o->created_at));
	json_object_set_new(j, "send_time", time_json(o->send_time));
	json_object_set_new(j, "refund_time", time_json(o->refund_time));
	json_object_set_new(j, "refund_amount",
			    o->refund_time ? json_integer(o->refund_amount) : json_null());
	return j;
}

/* One page of a list: up to limit items; more when another one exists
 * after them, and the cursor (key of the last item) that starts it. */
struct page {
	json_t *list;
	int64_t limit;
	int64_t last;
	int more;
};

/* The "next" of a page: the cursor of the next one, or null at the end. */
static json_t *next_json(const struct page *pg)
{
	char text[24];
	if (!pg->more)
		return json_null();
	snprintf(text, sizeof(text), "%lld", (long long)pg->last);
	return json_string(text);
}

static void on_packet(void *arg, const struct packet_row *o)
{
	struct page *pg = arg;
	if ((int64_t)json_array_size(pg->list) == pg->limit) {
		pg->more = 1;
		return;
	}
	json_array_append_new(pg->list, packet_json(o));
	pg->last = o->id;
}

static const char *const statuses[] = {"SENDING", "SENT", "FAILED", "RECEIVED", "RFUND_ING",
				       "REFUND", NULL};

/* Newest first; the cursor is the internal id of the last packet shown. */
static void admin_packets(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	struct page pg = {json_array(), p->limit, 0, 0};

	/* One row more than the page says whether there is a next one. */
	if (store_packets_each(ctx->redpack->store, p->q[QP_MCH_ID], p->q[QP_STATUS], p->cursor,
			       (int)p->limit + 1, on_packet, &pg) != 0) {
		json_decref(pg.list);
		reply_error(req, 500, "the database could not be read");
		return;
	}
	reply_json(req, 200, json_pack("{s:o,s:o}", "packets", pg.list, "next", next_json(&pg)));
}

static void on_share_json(void *arg, const struct share_row *s)
{
	json_t *j = json_pack("{s:i,s:I}", "seq", s->seq, "amount", (json_int_t)s->amount);
	json_object_set_new(j, "openid", s->openid[0] ? json_string(s->openid) : json_null());
	json_object_set_new(j, "rcv_time", time_json(s->rcv_time));
	json_array_append_new(arg, j);
}

static void on_ledger_json(void *arg, const struct ledger_row *l)
{
	json_t *j = json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)l->id, "mch_id", l->mch_id,
			      "amount", (json_int_t)l->amount, "kind", l->kind);
	json_object_set_new(j, "at", time_json(l->at));
	json_array_append_new(arg, j);
}

/* Finds the packet of a path that names only its billno (?mch_id= or a
 * body's "mch_id" picks one when several merchants use the billno).
 * Returns 0, or -1 after answering. */
static int find_packet(struct admin_ctx *ctx, struct admin_request *req, const char *billno,
		       const char *mch_id, struct packet_row *o)
{
	int n = 0, rc;

	if (mch_id) {
		rc = store_packet_find(ctx->redpack->store, mch_id, billno, o);
		n = rc == 1;
	} else {
		rc = store_packets_by_billno(ctx->redpack->store, billno, &n, o);
	}
	if (rc < 0)
		reply_error(req, 500, "the database could not be read");
	else if (n == 0)
		reply_error(req, 404, "no packet with this mch_billno");
	else if (n > 1)
		reply_error(req, 409, "several merchants use this mch_billno: add ?mch_id=");
	else
		return 0;
	return -1;
}

static void admin_packet(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	char *billno = segment(p, 0);
	struct packet_row *o = xmalloc(sizeof(*o));
	struct store *st = ctx->redpack->store;

	if (find_packet(ctx, req, billno, p->q[QP_MCH_ID], o) == 0) {
		json_t *j = packet_json(o), *shares = json_array(), *ledger = json_array();
		if (store_shares_each(st, o->id, on_share_json, shares) != 0 ||
		    store_ledger_each(st, o->id, on_ledger_json, ledger) != 0) {
			json_decref(shares);
			json_decref(ledger);
			json_decref(j);
			reply_error(req, 500, "the database could not be read");
		} else {
			json_object_set_new(j, "shares", shares);
			json_object_set_new(j, "ledger", ledger);
			reply_json(req, 200, j);
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

static void admin_claim(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	static const char *const keys[] = {"openid", "mch_id", NULL};
	json_t *body = json_body(req, keys);
	const char *openid, *mch_id;
	char *billno;
	struct claim_outcome out;

	if (!body)
		return;
	openid = json_string_value(json_object_get(body, "openid"));
	mch_id = json_string_value(json_object_get(body, "mch_id"));
	if (!openid || !*openid || utf8_length(openid) > 32 ||
	    (json_object_get(body, "mch_id") && !mch_id)) {
		json_decref(body);
		reply_error(req, 400, "\"openid\" must be a string of 1-32 characters"
				      " (and \"mch_id\", if given, a string)");
		return;
	}
	billno = segment(p, 0);
	lifecycle_claim(ctx->redpack, mch_id, billno, openid, clock_now(), &out);
	if (out.result == CLAIM_OK) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:I,s:s}", "mch_id", out.mch_id, "mch_billno",
				      billno, "openid", openid, "seq", out.seq, "amount",
				      (json_int_t)out.amount, "status", out.status);
		json_object_set_new(j, "rcv_time", time_json(out.rcv_time));
		reply_json(req, 201, j);
	} else {
		json_t *j = json_pack("{s:s}", "error", lifecycle_claim_message(out.result));
		if (out.result == CLAIM_LIMIT)
			json_object_set_new(j, "err_code", json_string(errors_info(out.limit)->code));
		if (out.status[0])
			json_object_set_new(j, "status", json_string(out.status));
		reply_json(req, claim_status[out.result], j);
	}
	free(billno);
	json_decref(body);
}

static void admin_settle(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	static const char *const keys[] = {"result", "mch_id", NULL};
	static const struct {
		int status;
		const char *message;
	} answers[] = {
		[SETTLE_OK] = {200, NULL},
		[SETTLE_NOT_FOUND] = {404, "no packet with this mch_billno"},
		[SETTLE_AMBIGUOUS] = {409, "several merchants use this mch_billno: add \"mch_id\""},
		[SETTLE_NOT_PENDING] = {409, "only an order answered PROCESSING (SENDING, no reason) settles"},
		[SETTLE_NOTENOUGH] = {409, "the balance no longer covers the packet; top up or settle FAILED"},
		[SETTLE_STORE_ERROR] = {500, "the database could not be written"},
	};
	json_t *body = json_body(req, keys);
	const char *result, *mch_id;
	struct packet_row *o;
	char *billno;
	enum settle_result r;

	if (!body)
		return;
	result = json_string_value(json_object_get(body, "result"));
	mch_id = json_string_value(json_object_get(body, "mch_id"));
	if (!result || (strcmp(result, "SENT") != 0 && strcmp(result, "FAILED") != 0) ||
	    (json_object_get(body, "mch_id") && !mch_id)) {
		json_decref(body);
		reply_error(req, 400, "\"result\" must be \"SENT\" or \"FAILED\" (and \"mch_id\", "
				      "if given, a string)");
		return;
	}
	billno = segment(p, 0);
	o = xcalloc(1, sizeof(*o));
	r = redpack_settle(ctx->redpack, mch_id, billno, strcmp(result, "SENT") == 0, clock_now(), o);
	if (r == SETTLE_OK)
		reply_json(req, 200, packet_json(o));
	else
		reply_error(req, answers[r].status, answers[r].message);
	free(o);
	free(billno);
	json_decref(body);
}

/* ---- merchants --------------------------------------------------------- */

struct limit_field {
	const char *name;
	size_t offset;
};

static const struct limit_field limit_fields[] = {
	{"sends_per_minute", offsetof(struct merchant, sends_per_minute)},
	{"packets_per_user_per_day", offsetof(struct merchant, packets_per_user_per_day)},
	{"amount_per_user_per_day", offsetof(struct merchant, amount_per_user_per_day)},
	{"amount_per_day", offsetof(struct merchant, amount_per_day)},
};

#define N_LIMITS (sizeof(limit_fields) / sizeof(limit_fields[0]))

static int64_t *limit_of(struct merchant *m, size_t i)
{
	return (int64_t *)((char *)m + limit_fields[i].offset);
}

static json_t *merchant_json(struct merchant *m)
{
	json_t *limits = json_object(), *ips = json_array();
	char list[sizeof(m->ip_allowlist)];

	for (size_t i = 0; i < N_LIMITS; i++)
		json_object_set_new(limits, limit_fields[i].name, json_integer(*limit_of(m, i)));
	snprintf(list, sizeof(list), "%s", m->ip_allowlist);
	for (char *save = NULL, *ip = strtok_r(list, " ", &save); ip; ip = strtok_r(NULL, " ", &save))
		json_array_append_new(ips, json_string(ip));
	return json_pack("{s:s,s:s,s:I,s:o,s:b,s:o}", "mch_id", m->mch_id, "name", m->name,
			 "balance", (json_int_t)m->balance, "limits", limits, "api_enabled",
			 !m->api_closed, "ip_allowlist", ips);
}

static int load_merchant(struct admin_ctx *ctx, struct admin_request *req,
			 const struct params *p, struct merchant *m)
{
	char *id = segment(p, 0);
	int rc = store_merchant_lookup(ctx->redpack->store, id, m);
	free(id);
	if (rc < 0)
		reply_error(req, 500, "the database could not be read");
	else if (rc == 0)
		reply_error(req, 404, "no merchant with this mch_id");
	return rc == 1 ? 0 : -1;
}

static void admin_merchant_get(struct admin_ctx *ctx, struct admin_request *req,
			       const struct params *p)
{
	struct merchant *m = xmalloc(sizeof(*m));
	if (load_merchant(ctx, req, p, m) == 0)
		reply_json(req, 200, merchant_json(m));
	free(m);
}

/* Applies a PUT body to m: limits, switch, allow-list; the balance change
 * (new balance minus old) into *delta with its ledger kind. NULL, or what
 * is wrong. */
static const char *apply_merchant(json_t *body, struct merchant *m, int64_t *delta,
				  const char **kind)
{
	json_t *v, *limits = json_object_get(body, "limits");
	const char *key;

	*delta = 0;
	*kind = NULL;
	if (json_object_get(body, "balance") && json_object_get(body, "topup"))
		return "give \"balance\" (set) or \"topup\" (add), not both";
	if ((v = json_object_get(body, "balance"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT64_MAX / 4)
			return "\"balance\" must be an integer number of fen >= 0";
		*delta = json_integer_value(v) - m->balance;
		*kind = "set";
	}
	if ((v = json_object_get(body, "topup"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > INT64_MAX / 4 - m->balance)
			return "\"topup\" must be an integer number of fen >= 1";
		*delta = json_integer_value(v);
		*kind = "topup";
	}
	if (limits && !json_is_object(limits))
		return "\"limits\" must be an object";
	json_object_foreach(limits, key, v) {
		size_t i;
		for (i = 0; i < N_LIMITS && strcmp(limit_fields[i].name, key) != 0; i++)
			;
		if (i == N_LIMITS)
			return "unknown key in \"limits\" (sends_per_minute, packets_per_user_per_day, "
			       "amount_per_user_per_day, amount_per_day)";
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return "limits are integers >= 0 (0: unlimited)";
		*limit_of(m, i) = json_integer_value(v);
	}
	if ((v = json_object_get(body, "api_enabled"))) {
		if (!json_is_boolean(v))
			return "\"api_enabled\" must be true or false";
		m->api_closed = !json_is_true(v);
	}
	if (json_object_get(body, "ip_allowlist") &&
	    fixtures_allowlist(json_object_get(body, "ip_allowlist"), m->ip_allowlist,
			       sizeof(m->ip_allowlist)) != 0)
		return "\"ip_allowlist\" must be an array of IPv4 addresses ([] allows any)";
	return NULL;
}

static void admin_merchant_put(struct admin_ctx *ctx, struct admin_request *req,
			       const struct params *p)
{
	static const char *const keys[] = {"balance", "topup", "limits", "api_enabled",
					   "ip_allowlist", NULL};
	struct store *st = ctx->redpack->store;
	struct merchant *m = xmalloc(sizeof(*m));
	json_t *body = json_body(req, keys);
	const char *problem, *kind;
	int64_t delta;

	if (!body)
		goto out;
	if (store_begin(st) != 0) {
		reply_error(req, 500, "the database could not be written");
		goto out;
	}
	if (load_merchant(ctx, req, p, m) != 0) {
		store_rollback(st);
		goto out;
	}
	if ((problem = apply_merchant(body, m, &delta, &kind))) {
		store_rollback(st);
		reply_error(req, 400, problem);
		goto out;
	}
	if (store_merchant_update(st, m) != 0 ||
	    (delta && store_ledger_add(st, m->mch_id, delta, kind, 0, clock_now()) != 0) ||
	    store_merchant_lookup(st, m->mch_id, m) != 1 || store_commit(st) != 0) {
		store_rollback(st);
		reply_error(req, 500, "the database could not be written");
		goto out;
	}
	reply_json(req, 200, merchant_json(m));
out:
	json_decref(body);
	free(m);
}

/* ---- reset ------------------------------------------------------------- */

/* The answer of a reset begun at t0: rc as fixtures_reset's. */
static void reset_answer(struct admin_request *req, int rc, const char *err, const char *mch_id,
			 const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 1) {
		reply_error(req, 404, "the fixtures do not list this mch_id");
	} else if (rc != 0) {
		reply_error(req, 500, err);
	} else {
		double ms = (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
			    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
		json_t *j = json_pack("{s:b,s:f}", "reset", 1, "milliseconds", ms);
		json_object_set_new(j, "mch_id", mch_id ? json_string(mch_id) : json_null());
		reply_json(req, 200, j);
	}
}

static int reset_later(struct admin_ctx *ctx, struct admin_request *req, const char *mch_id);

/* Everything, or the one merchant ?mch_id= names: a query that names
 * nothing else is guaranteed by check_query, so a bad one never widens
 * the scope. A merchant's rows go in slices when it can (reset_later). */
static void admin_reset(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	char err[512];
	const char *mch_id = p->q[QP_MCH_ID];
	struct timespec t0;
	int rc;

	if (!ctx->fixtures) {
		reply_error(req, 500, "no fixtures file to reset to");
		return;
	}
	if (reset_later(ctx, req, mch_id) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fixtures_reset(ctx->redpack->store, ctx->fixtures, mch_id, clock_now(), err, sizeof(err));
	reset_answer(req, rc, err, mch_id, &t0);
}

/* ---- fault rules ------------------------------------------------------- */

static json_t *rule_json(const struct fault_rule *r)
{
	json_t *match = json_object();
	json_t *j;

	if (r->mch_id[0])
		json_object_set_new(match, "mch_id", json_string(r->mch_id));
	if (r->re_openid[0])
		json_object_set_new(match, "re_openid", json_string(r->re_openid));
	if (r->mch_billno[0])
		json_object_set_new(match, "mch_billno", json_string(r->mch_billno));
	j = json_pack("{s:i,s:o,s:o,s:o,s:s,s:i,s:i,s:o,s:f,s:I}", "id", r->id, "api",
		      r->api[0] ? json_string(r->api) : json_null(), "match", match, "err_code",
		      r->err >= 0 ? json_string(errors_info((enum err_id)r->err)->code) : json_null(),
		      "transport", faults_transport_name(r->transport), "delay_ms", r->delay_ms,
		      "delay_max_ms", r->delay_max_ms, "times",
		      r->times < 0 ? json_null() : json_integer(r->times), "probability",
		      r->probability, "hits", (json_int_t)r->hits);
	if (r->err == ERR_PROCESSING)
		json_object_set_new(j, "settle_result", json_string(r->settle_to));
	return j;
}

static const char *copy_id(json_t *v, char *out, size_t outlen)
{
	const char *s = json_string_value(v);
	if (!v)
		return "";
	if (!s || !*s || strlen(s) >= outlen)
		return NULL;
	snprintf(out, outlen, "%s", s);
	return out;
}

/* A rule from the POST body; NULL, or what is wrong. */
static const char *parse_rule(json_t *body, struct fault_rule *r)
{
	static const char *const match_keys[] = {"mch_id", "re_openid", "mch_billno"};
	static const char *const apis[] = {"sendgroupredpack", "sendredpack", "gethbinfo"};
	static const enum err_endpoint api_bits[] = {EP_G, EP_S, EP_Q};
	json_t *match = json_object_get(body, "match"), *v;
	const char *key;
	unsigned bits = EP_S | EP_G | EP_Q;

	memset(r, 0, sizeof(*r));
	r->err = -1;
	r->times = -1;
	r->probability = 1.0;
	if ((v = json_object_get(body, "api"))) {
		size_t i;
		for (i = 0; i < 3 && (!json_is_string(v) || strcmp(apis[i], json_string_value(v))); i++)
			;
		if (i == 3)
			return "\"api\" must be sendgroupredpack, sendredpack or gethbinfo";
		snprintf(r->api, sizeof(r->api), "%s", apis[i]);
		bits = api_bits[i];
	}
	if (match && !json_is_object(match))
		return "\"match\" must be an object";
	json_object_foreach(match, key, v) {
		size_t i;
		for (i = 0; i < 3 && strcmp(match_keys[i], key) != 0; i++)
			;
		char *slot = i == 0 ? r->mch_id : i == 1 ? r->re_openid : r->mch_billno;
		if (i == 3 || !copy_id(v, slot, sizeof(r->mch_id)))
			return "\"match\" takes mch_id, re_openid, mch_billno: strings of 1-32 characters";
	}
	if ((v = json_object_get(body, "err_code"))) {
		int id = json_is_string(v) ? errors_find(json_string_value(v)) : -1;
		if (id < 0 || !(errors_info((enum err_id)id)->endpoints & bits))
			return "\"err_code\" must be a catalogue code of that endpoint (GET /admin/v1/errors)";
		r->err = id;
	}
	if ((v = json_object_get(body, "transport"))) {
		int t = json_is_string(v) ? faults_transport_find(json_string_value(v)) : -1;
		if (t < 0)
			return "\"transport\" must be none, delay, hang, reset, empty, truncate, http_503 or "
			       "html_502";
		r->transport = (enum fault_transport)t;
	}
	if (r->err < 0 && r->transport == FAULT_NONE)
		return "give \"err_code\", \"transport\" or both";
	if ((v = json_object_get(body, "delay_ms")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000))
		return "\"delay_ms\" must be 0..600000";
	r->delay_ms = (int)json_integer_value(v);
	if ((v = json_object_get(body, "delay_max_ms")) &&
	    (!json_is_integer(v) || json_integer_value(v) < r->delay_ms ||
	     json_integer_value(v) > 600000))
		return "\"delay_max_ms\" must be delay_ms..600000";
	r->delay_max_ms = v ? (int)json_integer_value(v) : r->delay_ms;
	if (r->transport == FAULT_DELAY && r->delay_max_ms == 0)
		return "a delay needs \"delay_ms\" (and optionally \"delay_max_ms\")";
	if ((v = json_object_get(body, "times")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000))
		return "\"times\" must be a positive integer (absent: until deleted)";
	if (v)
		r->times = (int)json_integer_value(v);
	if ((v = json_object_get(body, "probability")) &&
	    (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1))
		return "\"probability\" must be a number in (0, 1]";
	if (v)
		r->probability = json_number_value(v);
	snprintf(r->settle_to, sizeof(r->settle_to), "SENT");
	if ((v = json_object_get(body, "settle_result"))) {
		if (r->err != ERR_PROCESSING || !json_is_string(v) ||
		    (strcmp(json_string_value(v), "SENT") && strcmp(json_string_value(v), "FAILED")))
			return "\"settle_result\" (SENT or FAILED) goes with err_code PROCESSING";
		snprintf(r->settle_to, sizeof(r->settle_to), "%s", json_string_value(v));
	}
	return NULL;
}

static void admin_faults_add(struct admin_ctx *ctx, struct admin_request *req,
			     const struct params *p)
{
	static const char *const keys[] = {"api",	   "match", "err_code", "transport",
					   "delay_ms",	   "delay_max_ms", "times", "probability",
					   "settle_result", NULL};
	json_t *body = json_body(req, keys);
	struct fault_rule r;
	const char *problem;
	size_t n;

	(void)p;
	if (!body)
		return;
	if ((problem = parse_rule(body, &r))) {
		reply_error(req, 400, problem);
	} else {
		int id = faults_add(ctx->faults, &r);
		const struct fault_rule *all = faults_list(ctx->faults, &n);
		for (size_t i = 0; i < n; i++)
			if (all[i].id == id)
				reply_json(req, 201, rule_json(&all[i]));
	}
	json_decref(body);
}

/* In the order they apply (the order they were added, ids ascending);
 * the cursor is the id of the last rule shown. */
static void admin_faults_list(struct admin_ctx *ctx, struct admin_request *req,
			      const struct params *p)
{
	size_t n, lo = 0, hi;
	const struct fault_rule *all = faults_list(ctx->faults, &n);
	struct page pg = {json_array(), p->limit, 0, 0};

	/* The first rule after the cursor. */
	for (hi = n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (all[mid].id <= p->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n; i++) {
		if ((int64_t)json_array_size(pg.list) == pg.limit) {
			pg.more = 1;
			break;
		}
		json_array_append_new(pg.list, rule_json(&all[i]));
		pg.last = all[i].id;
	}
	reply_json(req, 200, json_pack("{s:o,s:o}", "faults", pg.list, "next", next_json(&pg)));
}

static void admin_faults_delete(struct admin_ctx *ctx, struct admin_request *req,
				const struct params *p)
{
	int64_t id = -1;
	char *text = p->count ? segment(p, 0) : NULL;

	if (text && (parse_digits(text, &id) != 0 || id > INT32_MAX)) {
		reply_error(req, 404, "no fault rule with this id");
	} else if (faults_remove(ctx->faults, (int)id) != 0) {
		reply_error(req, 404, "no fault rule with this id");
	} else {
		json_t *j = json_pack("{s:b}", "deleted", 1);
		json_object_set_new(j, "id", text ? json_integer(id) : json_string("all"));
		reply_json(req, 200, j);
	}
	free(text);
}

/* ---- the journal ------------------------------------------------------- */

struct journal_query {
	const char *mch_billno, *err_code;
	struct page page;
};

/* Every string of an entry is valid UTF-8 (journal.h), so every entry
 * packs. */
static int on_entry(void *arg, const struct journal_entry *e)
{
	struct journal_query *q = arg;
	json_t *j;

	if ((q->mch_billno && strcmp(q->mch_billno, e->mch_billno) != 0) ||
	    (q->err_code && strcmp(q->err_code, e->err_code) != 0))
		return 0;
	if ((int64_t)json_array_size(q->page.list) == q->page.limit) {
		q->page.more = 1;
		return 1;
	}
	j = json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:s}", "seq", (json_int_t)e->seq,
		      "at", time_json(e->at), "endpoint", e->endpoint, "mch_id", e->mch_id,
		      "mch_billno", e->mch_billno, "err_code", e->err_code, "request", e->request,
		      "request_bytes", (json_int_t)e->request_bytes, "request_cut",
		      (e->request_flags & JOURNAL_CUT) != 0, "request_escaped",
		      (e->request_flags & JOURNAL_ESCAPED) != 0, "answer", e->answer);
	if (e->sign_string)
		json_object_set_new(j, "sign_check",
				    json_pack("{s:s,s:s}", "string_to_sign", e->sign_string,
					      "likely_cause", e->sign_cause));
	json_array_append_new(q->page.list, j);
	q->page.last = (int64_t)e->seq;
	return 0;
}

/* Newest first; the cursor is the seq of the last entry shown. */
static void admin_journal(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p)
{
	struct journal_query q = {p->q[QP_MCH_BILLNO], p->q[QP_ERR_CODE], {NULL, p->limit, 0, 0}};

	if (!ctx->journal) {
		reply_error(req, 404, "the journal is off (--journal-size 0)");
		return;
	}
	q.page.list = json_array();
	journal_each_before(ctx->journal, (uint64_t)p->cursor, on_entry, &q);
	reply_json(req, 200,
		   json_pack("{s:I,s:I,s:o,s:o}", "kept", (json_int_t)journal_count(ctx->journal),
			     "bytes", (json_int_t)journal_bytes(ctx->journal), "entries", q.page.list,
			     "next", next_json(&q.page)));
}

/* ---- metrics ----------------------------------------------------------- */

static void on_status_count(void *arg, const char *status, int64_t n)
{
	buf_printf(arg, "redpack_packets{status=\"%s\"} %lld\n", status, (long long)n);
}

/* Prometheus text format. */
static void admin_metrics(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p)
{
	struct buf *out = &req->reply;

	(void)p;
	buf_puts(out, "# HELP redpack_answers_total Merchant API answers by endpoint and err_code.\n"
		      "# TYPE redpack_answers_total counter\n");
	for (int e = 0; e < ENDPOINT__COUNT; e++)
		for (int i = 0; i < ERR__COUNT; i++)
			if (metrics_answer_count(e, (enum err_id)i))
				buf_printf(out, "redpack_answers_total{endpoint=\"%s\",err_code=\"%s\"} %lu\n",
					   metrics_endpoint_name(e), errors_info((enum err_id)i)->code,
					   metrics_answer_count(e, (enum err_id)i));
	buf_puts(out, "# HELP redpack_packets Packets in the database by status.\n"
		      "# TYPE redpack_packets gauge\n");
	store_status_counts(ctx->redpack->store, on_status_count, out);
	uint64_t commits, units;
	store_commit_stats(ctx->redpack->store, &commits, &units);
	buf_printf(out, "# HELP redpack_store_commits_total Transactions committed (group commit:"
			" one per event-loop turn of requests).\n"
			"# TYPE redpack_store_commits_total counter\nredpack_store_commits_total %llu\n"
			"# HELP redpack_store_units_total Units of work committed (a send, a claim, a"
			" sweep step...).\n"
			"# TYPE redpack_store_units_total counter\nredpack_store_units_total %llu\n",
		   (unsigned long long)commits, (unsigned long long)units);
	buf_printf(out, "# HELP redpack_clock_offset_seconds Business clock minus real time.\n"
			"# TYPE redpack_clock_offset_seconds gauge\nredpack_clock_offset_seconds %lld\n",
		   (long long)clock_offset());
	if (ctx->work)
		work_metrics(ctx->work, out);
	if (ctx->journal)
		buf_printf(out, "# HELP redpack_journal_entries Requests the journal keeps.\n"
				"# TYPE redpack_journal_entries gauge\nredpack_journal_entries %zu\n"
				"# HELP redpack_journal_bytes Memory the journal uses.\n"
				"# TYPE redpack_journal_bytes gauge\nredpack_journal_bytes %zu\n",
			   journal_count(ctx->journal), journal_bytes(ctx->journal));
	req->status = 200;
	req->content_type = "text/plain; version=0.0.4";
}

/* ---- the catalogue ---------------------------------------------------- */

static void admin_errors(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	static const struct {
		enum err_endpoint bit;
		const char *name;
	} eps[] = {{EP_S, "sendredpack"}, {EP_G, "sendgroupredpack"}, {EP_Q, "gethbinfo"}};
	json_t *list = json_array();

	(void)ctx, (void)p;
	for (int i = 0; i < ERR__COUNT; i++) {
		const struct err_info *e = errors_info((enum err_id)i);
		json_t *names = json_array(), *texts = json_object();
		for (size_t k = 0; k < sizeof(eps) / sizeof(eps[0]); k++) {
			if (!(e->endpoints & eps[k].bit))
				continue;
			json_array_append_new(names, json_string(eps[k].name));
			json_object_set_new(texts, eps[k].name,
					    json_string(errors_des((enum err_id)i, eps[k].bit)));
		}
		json_array_append_new(
			list, json_pack("{s:s,s:o,s:o,s:s,s:s,s:s}", "err_code", e->code, "endpoints",
					names, "err_code_des", texts, "level",
					errors_level_name(e->level), "order", errors_order_name(e->order),
					"retry", e->retry));
	}
	reply_json(req, 200, json_pack("{s:o}", "errors", list));
}

/* ---- the clock --------------------------------------------------------- */

static json_t *clock_json(void)
{
	char iso[26];
	int64_t now = clock_now();
	clock_format_iso8601(now, iso);
	return json_pack("{s:s,s:I,s:I}", "now", iso, "epoch", (json_int_t)now, "offset_seconds",
			 (json_int_t)clock_offset());
}

static void admin_clock_get(struct admin_ctx *ctx, struct admin_request *req,
			    const struct params *p)
{
	(void)ctx, (void)p;
	reply_json(req, 200, clock_json());
}

/* The answer to each outcome of a clock move. */
static const int clock_status[] = {
	[CLOCK_MOVED] = 200,
	[CLOCK_BACKWARDS] = 409,
	[CLOCK_OUT_OF_RANGE] = 400,
	[CLOCK_NOT_SAVED] = 500,
	[CLOCK_STEPS_FAILED] = 500,
};

static json_t *clock_move_json(const struct clock_move *m)
{
	json_t *j;

	if (m->result == CLOCK_BACKWARDS || m->result == CLOCK_OUT_OF_RANGE)
		return json_pack("{s:s,s:s}", "error", m->error, "latest", CLOCK_LATEST_TEXT);
	if (m->result == CLOCK_NOT_SAVED)
		return json_pack("{s:s,s:s,s:s,s:b}", "error", "the clock could not be saved",
				 "step", m->failed_step, "sqlite", m->error, "moved", 0);
	j = clock_json();
	if (m->result == CLOCK_STEPS_FAILED) {
		json_object_set_new(j, "error",
				    json_string("the clock moved, but some packets failed a"
						" lifecycle step; they are retried each second"));
		json_object_set_new(j, "step", json_string(m->failed_step));
		json_object_set_new(j, "sqlite", json_string(m->error));
		json_object_set_new(j, "failed", json_integer((json_int_t)m->failed));
		json_object_set_new(j, "moved", json_true());
	}
	return j;
}

static void admin_clock_set(struct admin_ctx *ctx, struct admin_request *req,
			    const struct params *p)
{
	static const char *const keys[] = {"advance_seconds", "now", NULL};
	json_t *body = json_body(req, keys);
	json_t *adv, *now;
	int64_t target;
	struct clock_move move;

	(void)p;
	if (!body)
		return;
	adv = json_object_get(body, "advance_seconds");
	now = json_object_get(body, "now");
	if ((adv != NULL) == (now != NULL)) {
		reply_error(req, 400, "give exactly one of \"advance_seconds\" or \"now\"");
	} else if (adv && (!json_is_integer(adv) || json_integer_value(adv) < 0 ||
			   json_integer_value(adv) > 100LL * 365 * 86400)) {
		reply_error(req, 400, "\"advance_seconds\" must be an integer from 0 to 100 years");
	} else if (now && (!json_is_string(now) ||
			   clock_parse_iso8601(json_string_value(now), &target) != 0)) {
		reply_error(req, 400, "\"now\" must look like 2026-02-01T10:00:00+08:00");
	} else {
		if (adv)
			target = clock_now() + json_integer_value(adv);
		lifecycle_set_clock(ctx->redpack, target, &move);
		reply_json(req, clock_status[move.result], clock_move_json(&move));
	}
	json_decref(body);
}

/* ---- answers given later ----------------------------------------------- */

/* The invariant check runs on a thread of its own over a second
 * connection whose read transaction starts when the check does, so the
 * answer is the one the check would have given on the loop at that
 * moment, while the loop goes on serving. One thread at a time: checks
 * asked for while one runs wait for it to end, then share the next run
 * (each of them came before that run's snapshot). A merchant's reset
 * deletes its packets ADMIN_RESET_SLICE at a time, each slice a
 * transaction of its own in a turn of its own (every commit keeps every
 * invariant), then writes the merchant again from the fixtures in one
 * last transaction, and answers. Meanwhile the merchant API answers that
 * merchant SYSTEMERROR (redpack_resetting). Resets run one after the
 * other, in the order asked; a full reset, which swaps the database
 * file, waits until no check's connection is open on the old one. */

/* A request waiting for its answer. */
struct later {
	struct later *next;
	void *transport;
};

struct check_run {
	struct admin_work *work;
	struct store *reader;  /* the snapshot, opened on the loop */
	struct buf found;      /* "invariant\0detail\0" per violation */
	int n, checked;        /* invariants_run_reader's */
	struct later *waiters; /* answered with this run */
};

struct reset_job {
	struct reset_job *next;
	char *mch_id; /* NULL: everything */
	void *transport;
	struct timespec t0;
};

struct admin_work {
	struct admin_ctx *ctx;
	struct background *bg;
	struct check_run *check;  /* on the thread; NULL: none */
	struct later *next_check; /* asked for since: the next run's */
	struct reset_job *resets; /* the first runs, the others wait */
	int stopping;
	/* for /metrics */
	uint64_t checks_threaded, reset_slices;
	int64_t slice_packets_max, slice_rows_max;
};

static int can_defer(struct admin_ctx *ctx, const struct admin_request *req)
{
	return ctx->work && !ctx->work->stopping && ctx->send_later && req->transport;
}

static struct later *later_new(void *transport, struct later *next)
{
	struct later *l = xmalloc(sizeof(*l));
	l->transport = transport;
	l->next = next;
	return l;
}

/* Sends answer to every waiter (or, while stopping, drops them), and
 * frees the list. */
static void answer_all(struct admin_ctx *ctx, struct later *l, const struct admin_request *answer)
{
	while (l) {
		struct later *next = l->next;
		if (answer)
			ctx->send_later(ctx->later_arg, l->transport, answer);
		else
			ctx->drop_later(ctx->later_arg, l->transport);
		free(l);
		l = next;
	}
}

static int full_reset_queued(const struct admin_work *w)
{
	for (const struct reset_job *j = w->resets; j; j = j->next)
		if (!j->mch_id)
			return 1;
	return 0;
}

/* ---- the check on its thread ---- */

static void on_found(void *arg, const char *invariant, const char *detail)
{
	buf_append(arg, invariant, strlen(invariant) + 1);
	buf_append(arg, detail, strlen(detail) + 1);
}

static void check_work(void *arg)
{
	struct check_run *run = arg;
	run->n = invariants_run_reader(run->reader, on_found, &run->found, &run->checked);
}

static void check_stop(void *arg)
{
	struct check_run *run = arg;
	store_interrupt(run->reader);
}

static int check_start(struct admin_work *w, struct later *waiters);

/* The same on the loop, for waiters whose thread could not start. */
static void check_now_for(struct admin_work *w, struct later *waiters)
{
	struct admin_request answer = {0};

	buf_init(&answer.reply);
	check_now(w->ctx, &answer);
	answer_all(w->ctx, waiters, &answer);
	buf_release(&answer.reply);
}

/* The checks asked for while one ran (or while a full reset waited),
 * when nothing holds them any more. */
static void check_next(struct admin_work *w)
{
	struct later *waiters = w->next_check;

	if (w->stopping || w->check || !waiters || full_reset_queued(w))
		return;
	w->next_check = NULL;
	if (check_start(w, waiters) != 0)
		check_now_for(w, waiters);
}

/* On the loop, once the thread's work has returned. */
static void check_done(void *arg)
{
	struct check_run *run = arg;
	struct admin_work *w = run->work;
	struct store *st = w->ctx->redpack->store;

	if (run->n < 0 && !w->stopping)
		log_error("check: %s", store_first_error(run->reader));
	store_reader_close(st, run->reader);
	w->check = NULL;
	if (w->stopping) {
		answer_all(w->ctx, run->waiters, NULL);
	} else {
		struct admin_request answer = {0};
		json_t *violations = json_array();
		for (size_t at = 0; at < run->found.len;) {
			const char *name = run->found.data + at;
			const char *detail = name + strlen(name) + 1;
			on_violation(violations, name, detail);
			at = (size_t)(detail + strlen(detail) + 1 - run->found.data);
		}
		buf_init(&answer.reply);
		check_answer(&answer, run->n, run->checked, violations);
		answer_all(w->ctx, run->waiters, &answer);
		buf_release(&answer.reply);
	}
	buf_release(&run->found);
	free(run);
	check_next(w);
	background_kick(w->bg); /* a full reset may have waited for this */
}

/* Opens the snapshot now and starts the thread on it for waiters.
 * Returns 0, or -1 with nothing started. */
static int check_start(struct admin_work *w, struct later *waiters)
{
	struct store *st = w->ctx->redpack->store;
	struct check_run *run;
	char err[256];

	run = xcalloc(1, sizeof(*run));
	run->work = w;
	run->waiters = waiters;
	buf_init(&run->found);
	run->reader = store_reader_open(st, err, sizeof(err));
	if (!run->reader)
		log_warn("check: %s: checking on the event loop", err);
	if (!run->reader ||
	    background_thread(w->bg, check_work, check_done, check_stop, run) != 0) {
		store_reader_close(st, run->reader);
		free(run);
		return -1;
	}
	w->check = run;
	w->checks_threaded++;
	return 0;
}

/* Returns 0 when the check answers later, -1 when it must run now. */
static int check_later(struct admin_ctx *ctx, struct admin_request *req)
{
	struct admin_work *w = ctx->work;
	struct later *l;

	if (!can_defer(ctx, req) || !store_can_share(ctx->redpack->store))
		return -1;
	l = later_new(req->transport, NULL);
	if (w->check || full_reset_queued(w)) {
		l->next = w->next_check;
		w->next_check = l;
	} else if (check_start(w, l) != 0) {
		free(l);
		return -1;
	}
	req->later = 1;
	return 0;
}

/* ---- resets in slices ---- */

/* The merchant's rows are all deleted: the rest in one transaction. */
static void reset_finish(struct admin_ctx *ctx, const struct reset_job *job,
			 struct admin_request *answer)
{
	char err[512];
	int rc = fixtures_reset(ctx->redpack->store, ctx->fixtures, job->mch_id, clock_now(), err,
				sizeof(err));
	reset_answer(answer, rc, err, job->mch_id, &job->t0);
}

/* One step of the job: a full reset at once, or a slice of a merchant's
 * (and the end when none of its packets is left). Returns 1 when more is
 * to do, 2 when a full reset waits for a check's connection to close, 0
 * when done (answer filled in). */
static int reset_step(struct admin_work *w, const struct reset_job *job,
		      struct admin_request *answer)
{
	struct redpack *rp = w->ctx->redpack;
	int64_t rows = 0;
	int n;

	if (!job->mch_id) {
		if (w->check)
			return 2;
		reset_finish(w->ctx, job, answer);
		return 0;
	}
	snprintf(rp->resetting, sizeof(rp->resetting), "%s", job->mch_id);
	if (store_begin(rp->store) != 0 ||
	    (n = store_reset_slice(rp->store, job->mch_id, ADMIN_RESET_SLICE, &rows)) < 0 ||
	    store_commit(rp->store) != 0) {
		store_rollback(rp->store);
		rp->resetting[0] = '\0';
		reply_error(answer, 500, "the database could not be reset (see the log)");
		return 0;
	}
	if (n > 0) {
		w->reset_slices++;
		if (n > w->slice_packets_max)
			w->slice_packets_max = n;
		if (rows > w->slice_rows_max)
			w->slice_rows_max = rows;
	}
	if (n == ADMIN_RESET_SLICE)
		return 1; /* perhaps more: the next slice in a later turn */
	rp->resetting[0] = '\0';
	reset_finish(w->ctx, job, answer);
	return 0;
}

static void reset_job_free(struct reset_job *job)
{
	free(job->mch_id);
	free(job);
}

/* The stepper: the first job's next step, once per turn. */
static int on_reset_step(void *arg)
{
	struct admin_work *w = arg;
	struct reset_job *job = w->resets;
	struct admin_request answer = {0};
	int r;

	if (!job)
		return -1;
	buf_init(&answer.reply);
	r = reset_step(w, job, &answer);
	if (r != 0) {
		buf_release(&answer.reply);
		return r == 1 ? 0 : 1000; /* waiting for a check: it kicks us when done */
	}
	w->ctx->send_later(w->ctx->later_arg, job->transport, &answer);
	buf_release(&answer.reply);
	w->resets = job->next;
	reset_job_free(job);
	check_next(w); /* the checks a full reset held back */
	return w->resets ? 0 : -1;
}

/* Returns 0 when the reset was answered (now or later), -1 when it must
 * run now as before. */
static int reset_later(struct admin_ctx *ctx, struct admin_request *req, const char *mch_id)
{
	struct admin_work *w = ctx->work;
	struct reset_job *job, **tail;
	char err[512];

	if (!can_defer(ctx, req))
		return -1;
	if (mch_id) {
		switch (fixtures_lists(ctx->fixtures, mch_id, err, sizeof(err))) {
		case -1:
			reply_error(req, 500, err);
			return 0;
		case 0:
			reply_error(req, 404, "the fixtures do not list this mch_id");
			return 0;
		}
	}
	job = xcalloc(1, sizeof(*job));
	job->mch_id = mch_id ? xstrdup(mch_id) : NULL;
	job->transport = req->transport;
	clock_gettime(CLOCK_MONOTONIC, &job->t0);
	/* Nothing queued: a reset done in one step answers at once. */
	if (!w->resets && reset_step(w, job, req) == 0) {
		reset_job_free(job);
		return 0;
	}
	for (tail = &w->resets; *tail; tail = &(*tail)->next)
		;
	*tail = job;
	if (w->resets == job)
		background_steps(w->bg, on_reset_step, w);
	req->later = 1;
	return 0;
}

/* ---- start and stop ---- */

int admin_background_start(struct admin_ctx *ctx, struct event_base *base)
{
	struct admin_work *w = xcalloc(1, sizeof(*w));

	w->ctx = ctx;
	w->bg = background_new(base, ctx->redpack->store);
	if (!w->bg) {
		free(w);
		return -1;
	}
	ctx->work = w;
	return 0;
}

void admin_background_stop(struct admin_ctx *ctx)
{
	struct admin_work *w = ctx->work;

	if (!w)
		return;
	w->stopping = 1;
	background_free(w->bg); /* joins a running check: check_done drops its waiters */
	answer_all(ctx, w->next_check, NULL);
	while (w->resets) {
		struct reset_job *job = w->resets;
		w->resets = job->next;
		ctx->drop_later(ctx->later_arg, job->transport);
		reset_job_free(job);
	}
	ctx->redpack->resetting[0] = '\0';
	free(w);
	ctx->work = NULL;
}

static int resets_count(const struct admin_work *w)
{
	int n = 0;
	for (const struct reset_job *j = w->resets; j; j = j->next)
		n++;
	return n;
}

/* What the background work did, for /metrics. */
static void work_metrics(const struct admin_work *w, struct buf *out)
{
	buf_printf(out,
		   "# HELP redpack_check_threads_total Invariant checks run on their own thread,"
		   " beside the event loop.\n"
		   "# TYPE redpack_check_threads_total counter\nredpack_check_threads_total %llu\n"
		   "# HELP redpack_check_running 1 while a check runs on its thread.\n"
		   "# TYPE redpack_check_running gauge\nredpack_check_running %d\n"
		   "# HELP redpack_reset_slices_total Slices of merchants' resets (each its own"
		   " transaction and turn of the event loop).\n"
		   "# TYPE redpack_reset_slices_total counter\nredpack_reset_slices_total %llu\n"
		   "# HELP redpack_reset_slice_packets_max The most packets one slice deleted"
		   " (at most %d).\n"
		   "# TYPE redpack_reset_slice_packets_max gauge\nredpack_reset_slice_packets_max %lld\n"
		   "# HELP redpack_reset_slice_rows_max The most rows (packets, shares, ledger) one"
		   " slice deleted.\n"
		   "# TYPE redpack_reset_slice_rows_max gauge\nredpack_reset_slice_rows_max %lld\n"
		   "# HELP redpack_resets_waiting Resets running or waiting their turn.\n"
		   "# TYPE redpack_resets_waiting gauge\nredpack_resets_waiting %d\n",
		   (unsigned long long)w->checks_threaded, w->check != NULL,
		   (unsigned long long)w->reset_slices, ADMIN_RESET_SLICE,
		   (long long)w->slice_packets_max, (long long)w->slice_rows_max, resets_count(w));
}

/* ---- query parameters -------------------------------------------------- */

static int valid_id(const char *v)
{
	size_t n = strlen(v);
	return n <= 32 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789_-") == n;
}

static int valid_status(const char *v)
{
	const char *const *s;
	for (s = statuses; *s && strcmp(*s, v) != 0; s++)
		;
	return *s != NULL;
}

static int valid_text(const char *v)
{
	return strlen(v) <= 64;
}

static int valid_err_code(const char *v)
{
	return errors_find(v) >= 0;
}

static int valid_limit(const char *v)
{
	int64_t n;
	return parse_digits(v, &n) == 0 && n >= 1 && n <= PAGE_MAX;
}

static int valid_cursor(const char *v)
{
	int64_t n;
	return parse_digits(v, &n) == 0 && n >= 1;
}

static const struct query_spec {
	const char *name;
	int (*valid)(const char *v); /* the decoded value, non-empty UTF-8 */
	const char *rule;
} query_specs[QP__COUNT] = {
	[QP_MCH_ID] = {"mch_id", valid_id, "must be 1-32 letters, digits, '_' or '-'"},
	[QP_STATUS] = {"status", valid_status,
		       "must be one of SENDING SENT FAILED RECEIVED RFUND_ING REFUND"},
	[QP_MCH_BILLNO] = {"mch_billno", valid_text, "must be at most 64 bytes"},
	[QP_ERR_CODE] = {"err_code", valid_err_code,
			 "must be an err_code of the catalogue (GET /admin/v1/errors)"},
	[QP_LIMIT] = {"limit", valid_limit, "must be an integer in 1..1000"},
	[QP_CURSOR] = {"cursor", valid_cursor,
		       "must be the \"next\" of the page before (a positive integer)"},
};

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decodes a query name or value, s[0..n): "%XX" escapes, '+' for a space.
 * The raw text must be printable ASCII, the result UTF-8 without control
 * characters. Returns it (the caller frees), or NULL. */
static char *query_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	struct buf utf8;
	unsigned flags;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f)
			goto bad;
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			if (c < ' ' || c == 0x7f)
				goto bad;
		}
		out[k++] = (char)c;
	}
	out[k] = '\0';
	buf_init(&utf8);
	flags = journal_encode(&utf8, out, k, SIZE_MAX);
	buf_release(&utf8);
	if (flags == 0)
		return out;
bad:
	free(out);
	return NULL;
}

/* Answers 400 for one query parameter: "<lead> "<name>" <what>", the name
 * shown through the journal's encoding (it may be any bytes), and
 * "parameter" for programs. */
static void reply_param(struct admin_request *req, const char *lead, const char *name,
			size_t name_len, const char *what)
{
	struct buf shown, msg;
	json_t *j;

	buf_init(&shown);
	buf_init(&msg);
	journal_encode(&shown, name, name_len, 64);
	buf_printf(&msg, "%s \"%s\" %s", lead, shown.data ? shown.data : "", what);
	j = json_pack("{s:s,s:s}", "error", msg.data, "parameter", shown.data ? shown.data : "");
	reply_json(req, 400, j);
	buf_release(&shown);
	buf_release(&msg);
}

/* "this path takes a, b" for an unknown parameter's answer. */
static void takes(unsigned accepted, struct buf *out)
{
	buf_puts(out, accepted ? "(this path takes" : "(this path takes no query parameters)");
	for (int i = 0, first = 1; i < QP__COUNT; i++) {
		if (!(accepted & Q(i)))
			continue;
		buf_printf(out, "%s %s", first ? "" : ",", query_specs[i].name);
		first = 0;
	}
	if (accepted)
		buf_puts(out, ")");
}

/* Checks the query string against what the route takes and fills p->q[],
 * p->limit and p->cursor. Every piece must be NAME=VALUE with a name the
 * route takes, given once, and a non-empty value its row allows. Returns
 * 0, or -1 after answering 400. */
static int check_query(const struct admin_route *route, const char *query,
		       struct admin_request *req, struct params *p)
{
	unsigned accepted = route->query | (route->page ? Q(QP_LIMIT) | Q(QP_CURSOR) : 0);
	const char *piece = query ? query : "";
	struct buf what;
	int64_t n;

	p->limit = route->page;
	p->cursor = 0;
	buf_init(&what);
	while (*piece) {
		size_t len = strcspn(piece, "&");
		const char *eq = memchr(piece, '=', len);
		size_t name_len = eq ? (size_t)(eq - piece) : len;
		char *name = NULL;
		int id = QP__COUNT;

		if (len == 0 || name_len == 0) {
			reply_error(req, 400, len == 0 ? "the query string has an empty parameter "
							  "(\"&&\", or '&' at an end)"
							: "a query parameter has no name (\"=VALUE\")");
			goto bad;
		}
		if ((name = query_decode(piece, name_len)))
			for (id = 0; id < QP__COUNT && strcmp(query_specs[id].name, name) != 0; id++)
				;
		free(name);
		if (id == QP__COUNT || !(accepted & Q(id))) {
			takes(accepted, &what);
			reply_param(req, "unknown query parameter", piece, name_len, what.data);
			goto bad;
		}
		if (!eq || name_len + 1 == len) {
			reply_param(req, "query parameter", piece, name_len,
				    eq ? "is empty" : "has no value (NAME=VALUE)");
			goto bad;
		}
		if (p->q[id]) {
			reply_param(req, "query parameter", piece, name_len, "is given twice");
			goto bad;
		}
		if (!(p->q[id] = query_decode(eq + 1, len - name_len - 1))) {
			reply_param(req, "query parameter", piece, name_len,
				    "is not percent-encoded UTF-8 text");
			goto bad;
		}
		if (!query_specs[id].valid(p->q[id])) {
			reply_param(req, "query parameter", piece, name_len, query_specs[id].rule);
			goto bad;
		}
		piece += len + (piece[len] == '&');
		if (piece[-1] == '&' && !*piece) {
			reply_error(req, 400, "the query string has an empty parameter "
					      "(\"&&\", or '&' at an end)");
			goto bad;
		}
	}
	if (p->q[QP_LIMIT] && parse_digits(p->q[QP_LIMIT], &n) == 0)
		p->limit = n;
	if (p->q[QP_CURSOR] && parse_digits(p->q[QP_CURSOR], &n) == 0)
		p->cursor = n;
	buf_release(&what);
	return 0;
bad:
	buf_release(&what);
	return -1;
}

/* ---- routing ----------------------------------------------------------- */

static int match(const char *pattern, const char *path, struct params *p)
{
	p->count = 0;
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");
			if (n == 0 || p->count == ADMIN_MAX_PARAMS)
				return 0;
			p->seg[p->count] = path;
			p->len[p->count++] = n;
			pattern++;
			path += n;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

/* Route, method, query, handler: the first that fails answers. */
void admin_handle(struct admin_ctx *ctx, struct admin_request *req)
{
	const struct admin_route *route = NULL;
	int path_known = 0;
	struct params p;

	buf_init(&req->reply);
	req->status = 500;
	req->content_type = "application/json";
	memset(&p, 0, sizeof(p));
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !route; i++) {
		if (!match(routes[i].pattern, req->path, &p))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, req->method) == 0)
			route = &routes[i];
	}
	if (!route)
		reply_error(req, path_known ? 405 : 404,
			    path_known ? "method not allowed on this path"
				       : "no such control endpoint (see README: control API)");
	else if (check_query(route, req->query, req, &p) == 0)
		route->handle(ctx, req, &p);
	for (int i = 0; i < QP__COUNT; i++)
		free(p.q[i]);
}
