/*
 * admin_status.c - how the server is: readiness (/healthz), the
 * invariant check, Prometheus metrics, the error catalogue.
 */
#include "admin_handlers.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "admin_later.h"
#include "clock.h"
#include "errors.h"
#include "metrics.h"
#include "store.h"

void admin_healthz(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
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

/* Microseconds as Prometheus seconds ("0.0005", "1"). */
static void put_seconds(struct buf *out, uint64_t us)
{
	buf_printf(out, "%" PRIu64, us / 1000000);
	if (us % 1000000) {
		char frac[8];
		int n = snprintf(frac, sizeof(frac), "%06" PRIu64, us % 1000000);
		while (n > 0 && frac[n - 1] == '0')
			frac[--n] = '\0';
		buf_printf(out, ".%s", frac);
	}
}

static void latency_histogram(struct buf *out)
{
	buf_puts(out,
		 "# HELP redpack_api_request_duration_seconds Merchant API latency by endpoint,"
		 " from the request's arrival to its answer leaving (commit included).\n"
		 "# TYPE redpack_api_request_duration_seconds histogram\n");
	for (int e = 0; e < ENDPOINT__COUNT; e++) {
		const char *name = metrics_endpoint_name(e);
		for (int b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
			buf_printf(
				out,
				"redpack_api_request_duration_seconds_bucket{endpoint=\"%s\",le=\"",
				name);
			if (b < METRICS_LATENCY_BUCKETS)
				put_seconds(out, metrics_latency_bound(b));
			else
				buf_puts(out, "+Inf");
			buf_printf(out, "\"} %" PRIu64 "\n", metrics_latency_count(e, b));
		}
		buf_printf(out, "redpack_api_request_duration_seconds_sum{endpoint=\"%s\"} ", name);
		put_seconds(out, metrics_latency_sum_us(e));
		buf_printf(out,
			   "\nredpack_api_request_duration_seconds_count{endpoint=\"%s\"} %" PRIu64
			   "\n",
			   name, metrics_latency_count(e, METRICS_LATENCY_BUCKETS));
	}
}

static void front_end(struct buf *out)
{
	buf_puts(out, "# HELP redpack_tls_refused_total TLS handshakes and client certificates"
		      " refused, by reason.\n# TYPE redpack_tls_refused_total counter\n");
	for (int i = 0; i < TLS_REFUSED__COUNT; i++)
		buf_printf(out, "redpack_tls_refused_total{reason=\"%s\"} %lu\n",
			   metrics_tls_reason_name(i), metrics_tls_refused_count(i));
	buf_printf(out,
		   "# HELP redpack_open_connections Connections open, by port (under the caps).\n"
		   "# TYPE redpack_open_connections gauge\n"
		   "redpack_open_connections{port=\"api\"} %d\n"
		   "redpack_open_connections{port=\"admin\"} %d\n",
		   metrics_connections_open(0), metrics_connections_open(1));
}

/* Money and size (store_totals: counters and pragmas, no scan). */
static void totals(struct admin_ctx *ctx, struct buf *out)
{
	struct store_totals t;

	if (store_totals(ctx->redpack->store, &t) != 0)
		return; /* logged by the store */
	buf_printf(out,
		   "# HELP redpack_money_sent_fen Amount issued in packets (fen), refunds not"
		   " deducted.\n# TYPE redpack_money_sent_fen gauge\nredpack_money_sent_fen %lld\n"
		   "# HELP redpack_money_refunded_fen Amount refunded to merchants from expired"
		   " packets (fen).\n# TYPE redpack_money_refunded_fen gauge\n"
		   "redpack_money_refunded_fen %lld\n"
		   "# HELP redpack_db_bytes Database size (page_count * page_size).\n"
		   "# TYPE redpack_db_bytes gauge\nredpack_db_bytes %lld\n",
		   (long long)t.issued, (long long)t.refunded, (long long)t.bytes);
}

/* Prometheus text format. */
void admin_metrics(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	struct buf *out = &req->reply;

	(void)p;
	buf_puts(out,
		 "# HELP redpack_answers_total Merchant API answers by endpoint and err_code.\n"
		 "# TYPE redpack_answers_total counter\n");
	for (int e = 0; e < ENDPOINT__COUNT; e++)
		for (int i = 0; i < ERR__COUNT; i++)
			if (metrics_answer_count(e, (enum err_id)i))
				buf_printf(out,
					   "redpack_answers_total{endpoint=\"%s\",err_code=\"%s\"} "
					   "%lu\n",
					   metrics_endpoint_name(e),
					   errors_info((enum err_id)i)->code,
					   metrics_answer_count(e, (enum err_id)i));
	latency_histogram(out);
	front_end(out);
	buf_puts(out, "# HELP redpack_packets Packets in the database by status.\n"
		      "# TYPE redpack_packets gauge\n");
	store_status_counts(ctx->redpack->store, on_status_count, out);
	totals(ctx, out);
	uint64_t commits, units;
	store_commit_stats(ctx->redpack->store, &commits, &units);
	buf_printf(out,
		   "# HELP redpack_store_commits_total Transactions committed (group commit:"
		   " one per event-loop turn of requests).\n"
		   "# TYPE redpack_store_commits_total counter\nredpack_store_commits_total %llu\n"
		   "# HELP redpack_store_units_total Units of work committed (a send, a claim, a"
		   " sweep step...).\n"
		   "# TYPE redpack_store_units_total counter\nredpack_store_units_total %llu\n",
		   (unsigned long long)commits, (unsigned long long)units);
	uint64_t passes, drains;
	store_wal_stats(ctx->redpack->store, &passes, &drains, NULL);
	buf_printf(out,
		   "# HELP redpack_store_checkpoints_total WAL checkpoints run off the event loop"
		   " (a thread of their own).\n"
		   "# TYPE redpack_store_checkpoints_total counter\n"
		   "redpack_store_checkpoints_total %llu\n"
		   "# HELP redpack_store_checkpoint_waits_total Writes that waited for a checkpoint"
		   " to bound the WAL.\n"
		   "# TYPE redpack_store_checkpoint_waits_total counter\n"
		   "redpack_store_checkpoint_waits_total %llu\n",
		   (unsigned long long)passes, (unsigned long long)drains);
	buf_printf(out,
		   "# HELP redpack_clock_offset_seconds Business clock minus real time.\n"
		   "# TYPE redpack_clock_offset_seconds gauge\nredpack_clock_offset_seconds %lld\n",
		   (long long)clock_offset());
	admin_later_metrics(ctx, out);
	if (ctx->journal)
		buf_printf(out,
			   "# HELP redpack_journal_entries Requests the journal keeps.\n"
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
		json_array_append_new(list,
				      json_pack("{s:s,s:o,s:o,s:s,s:s,s:s}", "err_code", e->code,
						"endpoints", names, "err_code_des", texts, "level",
						errors_level_name(e->level), "order",
						errors_order_name(e->order), "retry", e->retry));
	}
	admin_reply_json(req, 200, json_pack("{s:o}", "errors", list));
}
