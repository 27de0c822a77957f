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

struct admin_request;
struct admin_work;

struct admin_ctx {
	struct redpack *redpack;
	int ready; /* store open, fixtures loaded */
	const char *fixtures; /* the fixtures file, for reset */
	struct journal *journal; /* NULL: none */
	struct faults *faults;
	/* Answers given later (set by the transport; NULL: every answer at
	 * once). send_later sends the answer of the request the transport
	 * handed in as req->transport; drop_later lets go of one that will
	 * never be answered (at shutdown). Each is called once per request
	 * answered later, on the loop thread. */
	void (*send_later)(void *arg, void *transport, const struct admin_request *answer);
	void (*drop_later)(void *arg, void *transport);
	void *later_arg;
	struct admin_work *work; /* admin_background_start; NULL: none */
};

struct admin_request {
	/* in (borrowed) */
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *path;
	const char *query;  /* without '?', or NULL */
	const char *body;
	size_t body_len;
	void *transport;    /* the transport's handle, for an answer given later */
	/* out */
	int later;          /* 1: answered later through ctx->send_later (nothing else set) */
	int status;
	const char *content_type;
	struct buf reply;   /* initialised by admin_handle; caller releases */
};

/* Routes and answers one control request: fills status, content_type
 * and reply. Every error is a 4xx/5xx with {"error": "..."}. */
void admin_handle(struct admin_ctx *ctx, struct admin_request *req);

/* The calls that would hold the event loop too long answer later, once
 * this has run (on the loop, with send_later set): the invariant check on
 * a thread of its own over a second connection (not for ":memory:"), a
 * merchant's reset in slices of ADMIN_RESET_SLICE packets, one slice per
 * turn. Returns 0, or -1 (logged; every call then answers at once). */
struct event_base;
#define ADMIN_RESET_SLICE 256
int admin_background_start(struct admin_ctx *ctx, struct event_base *base);

/* Stops that work before the transport stops: a running check is
 * interrupted and its thread joined; the requests still waiting are
 * dropped, unanswered; a merchant's reset stops between two slices. */
void admin_background_stop(struct admin_ctx *ctx);

/* The reason phrase of an HTTP status the control API uses. */
const char *admin_reason(int status);

#endif
