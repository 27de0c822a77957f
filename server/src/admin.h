/*
 * admin.h - the control API (JSON over plain HTTP): a route table of
 * (method, path pattern, handler). Like api.h it takes a request
 * description, not a socket, so it is unit tested and fuzzed directly.
 */
#ifndef REDPACK_ADMIN_H
#define REDPACK_ADMIN_H

#include <stddef.h>

#include "redpack.h"
#include "journal.h"
#include "util.h"

#define ADMIN_MAX_PARAMS 2

struct admin_ctx {
	struct redpack *redpack;
	int ready; /* store open, fixtures loaded */
	const char *fixtures; /* the fixtures file, for reset */
	struct journal *journal; /* NULL: none */
	struct faults *faults;
};

struct admin_request {
	/* in (borrowed) */
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *path;
	const char *query;  /* without '?', or NULL */
	const char *body;
	size_t body_len;
	/* out */
	int status;
	const char *content_type;
	struct buf reply;   /* initialised by admin_handle; caller releases */
};

/* Routes and answers one control request: fills status, content_type
 * and reply. Every error is a 4xx/5xx with {"error": "..."}. */
void admin_handle(struct admin_ctx *ctx, struct admin_request *req);

/* The reason phrase of an HTTP status the control API uses. */
const char *admin_reason(int status);

#endif
