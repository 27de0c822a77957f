/*
 * admin_handlers.h - the control API's handlers, one file per resource,
 * named by the route table (admin.c). Each is called once the route's
 * flags hold (method, token, query parameters, body keys: see admin.c),
 * fills req's status, content type and reply (admin_reply.h), or sets
 * req->later (admin_later.h), and borrows p.
 */
#ifndef REDPACK_ADMIN_HANDLERS_H
#define REDPACK_ADMIN_HANDLERS_H

#include "admin_reply.h"

/* admin_status.c: readiness, the invariant check, metrics, the catalogue. */
void admin_healthz(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_check(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_metrics(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_errors(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
/* admin_openapi.c: this API's OpenAPI description (server/src/openapi.json). */
void admin_openapi(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);

/* admin_page.c: the status page, HTML for a browser (a bounded view of the resources below). */
void admin_page(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);

/* admin_packets.c: packets and what happens to them (claims, settling). */
void admin_packets(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_packet(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_claim(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_settle(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);

/* admin_merchants.c: merchants and the reset to the fixtures. */
void admin_merchant_get(struct admin_ctx *ctx, struct admin_request *req,
			const struct admin_params *p);
void admin_merchant_put(struct admin_ctx *ctx, struct admin_request *req,
			const struct admin_params *p);
void admin_reset(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);

/* admin_faults.c: the fault rules. */
void admin_faults_add(struct admin_ctx *ctx, struct admin_request *req,
		      const struct admin_params *p);
void admin_faults_list(struct admin_ctx *ctx, struct admin_request *req,
		       const struct admin_params *p);
void admin_faults_delete(struct admin_ctx *ctx, struct admin_request *req,
			 const struct admin_params *p);

/* admin_clock.c: the simulated clock. */
void admin_clock_get(struct admin_ctx *ctx, struct admin_request *req,
		     const struct admin_params *p);
void admin_clock_set(struct admin_ctx *ctx, struct admin_request *req,
		     const struct admin_params *p);

/* admin_journal.c: the requests merchant code sent. */
void admin_journal(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_journal_clear(struct admin_ctx *ctx, struct admin_request *req,
			 const struct admin_params *p);
/* The verification API: the requests matching the filters, and their count
 * (409 when the journal's bounds could make it wrong). */
void admin_requests(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p);
void admin_requests_count(struct admin_ctx *ctx, struct admin_request *req,
			  const struct admin_params *p);

#endif
