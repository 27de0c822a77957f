/*
 * admin_status.c - how the server is: readiness (/healthz), the
 * invariant check, Prometheus metrics, the error catalogue.
 */
#include "admin_handlers.h"

#include <stdint.h>

#include "admin_later.h"
#include "clock.h"
#include "errors.h"
#include "metrics.h"
#include "store.h"

void admin_healthz(struct admin_ctx *ctx, struct admin_request *req,
		   const struct admin_params *p)
{
	(void)p;
	req->status = ctx->ready ? 200 : 503;
	req->content_type = "text/plain";
	buf_puts(&req->reply, ctx->ready ? "ok\n" : "starting\n");
}

/* On a thread of its own when it can, else here (admin_later.h). */
void admin_check(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	(void)p;
	admin_later_check(ctx, req);
}

/* ---- metrics ----------------------------------------------------------- */

static void on_status_count(void *arg, const char *status, int64_t n)
{
	buf_printf(arg, "redpack_packets{status=\"%s\"} %lld\n", status, (long long)n);
}

/* Prometheus text format. */
void admin_metrics(struct admin_ctx *ctx, struct admin_request *req,
		   const struct admin_params *p)
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
	admin_later_metrics(ctx, out);
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

void admin_errors(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
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
	admin_reply_json(req, 200, json_pack("{s:o}", "errors", list));
}
