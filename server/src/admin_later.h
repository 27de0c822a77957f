/*
 * admin_later.h - the control calls that would hold the event loop too
 * long, answered later: the invariant check on a thread of its own over
 * a second connection (not for ":memory:"), a merchant's reset in slices
 * of ADMIN_RESET_SLICE packets, one slice per turn. Below the handlers
 * (admin_status.c, admin_merchants.c), above admin_reply.
 */
#ifndef REDPACK_ADMIN_LATER_H
#define REDPACK_ADMIN_LATER_H

#include "admin_reply.h"

struct event_base;

#define ADMIN_RESET_SLICE 256

/* Makes the answers given later possible, once this has run (on the
 * loop, with ctx->send_later set). Returns 0, or -1 (logged; every call
 * then answers at once). */
int admin_background_start(struct admin_ctx *ctx, struct event_base *base);

/* Stops that work before the transport stops: a running check is
 * interrupted and its thread joined; the requests still waiting are
 * dropped, unanswered; a merchant's reset stops between two slices. */
void admin_background_stop(struct admin_ctx *ctx);

/* Runs the invariant check for req: on its thread when it can (req->later
 * is then set), else here; 200 with no violation, 409 with some, 500
 * when the store could not be read. */
void admin_later_check(struct admin_ctx *ctx, struct admin_request *req);

/* Resets everything (mch_id NULL) or one merchant to the fixtures
 * (ctx->fixtures set): in slices when it can (req->later is then set),
 * else here; 404 when the fixtures do not list mch_id. */
/* What a successful reset also clears (POST /admin/v1/reset?journal=true,
 * clock=true): the request journal, and the business clock back to real
 * time (a full reset only: every merchant's packets are gone with it). */
#define ADMIN_RESET_JOURNAL 1u
#define ADMIN_RESET_CLOCK 2u
void admin_later_reset(struct admin_ctx *ctx, struct admin_request *req, const char *mch_id,
		       unsigned also);

/* What the background work did, in Prometheus text, appended to out
 * (nothing when it never started). */
void admin_later_metrics(const struct admin_ctx *ctx, struct buf *out);

#endif
