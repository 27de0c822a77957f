/*
 * admin_journal.c - the journal: what merchant code sent and what it
 * was answered, newest first.
 */
#include "admin_handlers.h"

#include <stdint.h>
#include <string.h>

#include "xmlcodec.h"

struct journal_query {
	const char *mch_billno, *err_code;
	struct admin_page page;
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
		      "at", admin_time_json(e->at), "endpoint", e->endpoint, "mch_id", e->mch_id,
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
void admin_journal(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	struct journal_query q = {p->q[QP_MCH_BILLNO], p->q[QP_ERR_CODE], {NULL, p->limit, 0, 0}};

	if (!ctx->journal) {
		admin_reply_error(req, 404, "the journal is off (--journal-size 0)");
		return;
	}
	q.page.list = json_array();
	journal_each_before(ctx->journal, (uint64_t)p->cursor, on_entry, &q);
	admin_reply_json(req, 200,
			 json_pack("{s:I,s:I,s:o,s:o}", "kept",
				   (json_int_t)journal_count(ctx->journal), "bytes",
				   (json_int_t)journal_bytes(ctx->journal), "entries", q.page.list,
				   "next", admin_page_next(&q.page)));
}

/* ---- the verification API ---------------------------------------------- */

/* Which requests a test asks about: every given filter must hold. */
struct request_filter {
	const char *endpoint, *mch_id, *mch_billno, *re_openid, *err_code;
	int64_t since, until; /* business time: since <= at < until */
	int has_since, has_until;
};

struct request_walk {
	const struct request_filter *f;
	struct admin_page page; /* list NULL: counting only */
	int64_t count;		/* matches, all pages */
	int64_t unreadable;	/* kept cut or escaped, so re_openid is unknown */
};

static void filter_from(const struct admin_params *p, struct request_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->endpoint = p->q[QP_ENDPOINT];
	f->mch_id = p->q[QP_MCH_ID];
	f->mch_billno = p->q[QP_MCH_BILLNO];
	f->re_openid = p->q[QP_RE_OPENID];
	f->err_code = p->q[QP_ERR_CODE];
	f->has_since = p->q[QP_SINCE] && admin_parse_time(p->q[QP_SINCE], &f->since) == 0;
	f->has_until = p->q[QP_UNTIL] && admin_parse_time(p->q[QP_UNTIL], &f->until) == 0;
}

static int same(const char *want, const char *got)
{
	return !want || strcmp(want, got) == 0;
}

/* The fields the entry's request parsed into, as the server read them:
 * 1, 0 for a body that is not a request (it was answered XML_ERROR), -1
 * when the body was not kept as received (cut or escaped). */
static int fields_of(const struct journal_entry *e, struct kvlist *out)
{
	kvlist_init(out);
	if (e->request_flags)
		return -1;
	return xmlcodec_parse(e->request, e->request_bytes, out) == 0;
}

static json_t *fields_json(const struct kvlist *kv)
{
	json_t *o = json_object();
	for (size_t i = 0; i < kv->count; i++)
		json_object_set_new(o, kv->items[i].name, json_string(kv->items[i].value));
	return o;
}

static int on_request(void *arg, const struct journal_entry *e)
{
	struct request_walk *w = arg;
	const struct request_filter *f = w->f;
	struct kvlist kv;
	int parsed = 0;

	kvlist_init(&kv);
	if (!same(f->endpoint, e->endpoint) || !same(f->mch_id, e->mch_id) ||
	    !same(f->mch_billno, e->mch_billno) || !same(f->err_code, e->err_code) ||
	    (f->has_since && e->sim_at < f->since) || (f->has_until && e->sim_at >= f->until))
		return 0;
	if (f->re_openid || w->page.list) {
		parsed = fields_of(e, &kv);
		if (f->re_openid && parsed < 0)
			w->unreadable++;
		if (f->re_openid &&
		    (parsed <= 0 || !same(f->re_openid, kvlist_get(&kv, "re_openid")))) {
			kvlist_release(&kv);
			return 0;
		}
	}
	w->count++;
	if (w->page.list && (int64_t)json_array_size(w->page.list) < w->page.limit) {
		json_array_append_new(
			w->page.list,
			json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:o,s:b}", "seq", (json_int_t)e->seq,
				  "at", admin_time_json(e->sim_at), "endpoint", e->endpoint,
				  "mch_id", e->mch_id, "mch_billno", e->mch_billno, "err_code",
				  e->err_code, "fields",
				  parsed > 0 ? fields_json(&kv) : json_null(), "request_cut",
				  (e->request_flags & JOURNAL_CUT) != 0));
		w->page.last = (int64_t)e->seq;
	} else if (w->page.list) {
		w->page.more = 1;
	}
	if (f->re_openid || w->page.list)
		kvlist_release(&kv);
	return 0;
}

/* Whether the count over f is exact: nothing dropped by the journal's
 * bounds could be in the window, and no kept entry hides its fields. */
static int complete(const struct admin_ctx *ctx, const struct request_filter *f,
		    const struct request_walk *w, uint64_t *dropped)
{
	int64_t newest;
	*dropped = journal_dropped(ctx->journal, &newest);
	return w->unreadable == 0 && (*dropped == 0 || (f->has_since && f->since > newest));
}

static int journal_on_or_reply(struct admin_ctx *ctx, struct admin_request *req)
{
	if (ctx->journal)
		return 0;
	admin_reply_error(req, 404, "the journal is off (--journal-size 0)");
	return -1;
}

/* Newest first, a page at a time; count is over every page. */
void admin_requests(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	struct request_filter f;
	struct request_walk w = {&f, {NULL, p->limit, 0, 0}, 0, 0};
	uint64_t dropped;
	int exact;

	if (journal_on_or_reply(ctx, req) != 0)
		return;
	filter_from(p, &f);
	w.page.list = json_array();
	journal_each_before(ctx->journal, (uint64_t)p->cursor, on_request, &w);
	exact = complete(ctx, &f, &w, &dropped);
	admin_reply_json(req, 200,
			 json_pack("{s:I,s:b,s:I,s:o,s:o}", "count", (json_int_t)w.count,
				   "complete", exact, "dropped", (json_int_t)dropped, "requests",
				   w.page.list, "next", admin_page_next(&w.page)));
}

/* The count alone; never a number that could be wrong: 409 then. */
void admin_requests_count(struct admin_ctx *ctx, struct admin_request *req,
			  const struct admin_params *p)
{
	struct request_filter f;
	struct request_walk w = {&f, {NULL, 0, 0, 0}, 0, 0};
	uint64_t dropped;
	struct buf msg;

	if (journal_on_or_reply(ctx, req) != 0)
		return;
	filter_from(p, &f);
	journal_each(ctx->journal, on_request, &w);
	if (complete(ctx, &f, &w, &dropped)) {
		admin_reply_json(
			req, 200,
			json_pack("{s:I,s:b}", "count", (json_int_t)w.count, "complete", 1));
		return;
	}
	buf_init(&msg);
	if (w.unreadable)
		buf_printf(&msg,
			   "%lld matching request(s) were kept cut or escaped, so their"
			   " re_openid is unknown: the count could be wrong",
			   (long long)w.unreadable);
	else
		buf_printf(&msg,
			   "the journal dropped %llu request(s) since it was last cleared"
			   " (its bounds: --journal-size, --journal-bytes), so the count could be"
			   " wrong: clear it when the test starts (DELETE /admin/v1/requests)"
			   " or ask with since= after the newest dropped one",
			   (unsigned long long)dropped);
	admin_reply_json(req, 409,
			 json_pack("{s:s,s:I,s:I,s:I}", "error", msg.data, "count_at_least",
				   (json_int_t)w.count, "dropped", (json_int_t)dropped,
				   "unreadable", (json_int_t)w.unreadable));
	buf_release(&msg);
}

/* Every entry dropped, and what was dropped before forgotten. */
void admin_journal_clear(struct admin_ctx *ctx, struct admin_request *req,
			 const struct admin_params *p)
{
	size_t had;
	(void)p;

	if (journal_on_or_reply(ctx, req) != 0)
		return;
	had = journal_count(ctx->journal);
	journal_clear(ctx->journal);
	admin_reply_json(req, 200, json_pack("{s:I}", "cleared", (json_int_t)had));
}
