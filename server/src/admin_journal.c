/*
 * admin_journal.c - the journal: what merchant code sent and what it
 * was answered, newest first.
 */
#include "admin_handlers.h"

#include <stdint.h>
#include <string.h>

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
void admin_journal(struct admin_ctx *ctx, struct admin_request *req,
		   const struct admin_params *p)
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
