/*
 * admin.h - the control API (JSON over plain HTTP): a route table of
 * (method, path pattern, handler, flags). Like api.h it takes a request
 * description (admin_reply.h), not a socket, so it is unit tested and
 * fuzzed directly.
 *
 * Layers, each including only those below it: admin.c (the table and
 * its checks) -> admin_<resource>.c (the handlers, admin_handlers.h) ->
 * admin_later.c (answers given later) -> admin_reply.c (types, replies,
 * body and query readers).
 */
#ifndef REDPACK_ADMIN_H
#define REDPACK_ADMIN_H

#include "admin_later.h"
#include "admin_reply.h"

/* Routes and answers one control request: fills status, content_type
 * and reply, or sets later. Every error is a 4xx/5xx with
 * {"error": "..."}; without ctx->token's bearer token every route but
 * the public ones (/healthz) answers 401. */
void admin_handle(struct admin_ctx *ctx, struct admin_request *req);

#endif
