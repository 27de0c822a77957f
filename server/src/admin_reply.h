/*
 * admin_reply.h - what every control handler shares, below them all:
 * the context and request types, the parameters of one call, the
 * replies, and the helpers that read a body or a query and answer 400
 * themselves when it is wrong (named ..._or_reply, like redis's
 * lookupKeyReadOrReply: NULL or -1 means "answered, stop").
 *
 * The route table (admin.c) names the handlers, the handlers
 * (admin_<resource>.c) call these; nothing here calls back up.
 */
#ifndef REDPACK_ADMIN_REPLY_H
#define REDPACK_ADMIN_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "journal.h"
#include "kv.h"
#include "redpack.h"
#include "util.h"

#define ADMIN_MAX_PARAMS 2

struct admin_request;
struct admin_work;

struct admin_ctx {
	struct redpack *redpack;
	int ready;		 /* store open, fixtures loaded */
	const char *fixtures;	 /* the fixtures file, for reset */
	struct journal *journal; /* NULL: none */
	struct faults *faults;
	/* --admin-token (borrowed; set by the transport): every route not
	 * flagged public needs "Authorization: Bearer TOKEN". NULL or "":
	 * none needed. */
	const char *token;
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
	const struct kvlist *query; /* kvlist_add_query's pieces; NULL: no query */
	const char *authorization;  /* the Authorization header, or NULL */
	const char *body;
	size_t body_len;
	void *transport; /* the transport's handle, for an answer given later */
	/* out */
	int later; /* 1: answered later through ctx->send_later (nothing else set) */
	int status;
	const char *content_type;
	struct buf reply; /* initialised by admin_handle; caller releases */
};

/* ---- the parameters of a call ------------------------------------------ */

/* The query parameters a route may take, one row each in admin_reply.c's
 * query_specs. A route names its own in the route table; the dispatcher
 * checks them (admin_query_or_reply) before the handler runs, so
 * handlers read p->q[] (and p->limit, p->cursor) and never re-check. */
enum admin_query_id {
	QP_MCH_ID,
	QP_STATUS,
	QP_MCH_BILLNO,
	QP_ERR_CODE,
	QP_LIMIT,
	QP_CURSOR,
	QP_ENDPOINT,
	QP_RE_OPENID,
	QP_SINCE,
	QP_UNTIL,
	QP_JOURNAL,
	QP_CLOCK,
	QP__COUNT
};

#define Q(id) (1u << (id))

/* Lists answer a page at a time: limit 1..ADMIN_PAGE_MAX, default per route. */
#define ADMIN_PAGE_MAX 1000

/* What the dispatcher found and checked; the handler borrows it. */
struct admin_params {
	const char *seg[ADMIN_MAX_PARAMS]; /* the path's "*" segments */
	size_t len[ADMIN_MAX_PARAMS];
	size_t count;
	char *q[QP__COUNT]; /* decoded query values, NULL when absent */
	int64_t limit;	    /* a list: the page size */
	int64_t cursor;	    /* a list: the "next" of the page before, 0 for the first */
	json_t *body;	    /* a route that takes a body: an object of allowed keys */
};

typedef void (*admin_fn)(struct admin_ctx *ctx, struct admin_request *req,
			 const struct admin_params *p);

/* Frees what p owns (query values, body); p is then empty. */
void admin_params_release(struct admin_params *p);

/* Path segment i of p as a string the caller frees. */
char *admin_segment(const struct admin_params *p, size_t i);

/* ---- replies ----------------------------------------------------------- */

/* The reason phrase of an HTTP status the control API uses. */
const char *admin_reason(int status);

/* Sets the reply to json (stolen, compact, keys in order, one newline). */
void admin_reply_json(struct admin_request *req, int status, json_t *json);

/* Sets the reply to {"error": message}. */
void admin_reply_error(struct admin_request *req, int status, const char *message);

/* ---- input ------------------------------------------------------------- */

/* The body as a JSON object with only the allowed keys (a NULL-ended
 * list); NULL after answering 400 with what is wrong. The caller
 * releases it. */
json_t *admin_body_or_reply(struct admin_request *req, const char *const *allowed);

/* Checks req->query against the query parameters a route takes
 * (accepted, Q(QP_...)) and fills p->q[], p->limit and p->cursor; a
 * list (page > 0: its default limit) also takes limit and cursor. Every
 * piece must be NAME=VALUE with a name the route takes, given once, and
 * a non-empty value its row allows. Returns 0, or -1 after answering
 * 400 naming the parameter. */
int admin_query_or_reply(struct admin_request *req, unsigned accepted, int page,
			 struct admin_params *p);

/* A business time given as ISO 8601 with its offset or as epoch seconds
 * (the since and until parameters): 0, or -1. */
int admin_parse_time(const char *v, int64_t *t);

/* ---- JSON of common things -------------------------------------------- */

/* A business time as ISO 8601 (Beijing time), or null for 0. */
json_t *admin_time_json(int64_t t);

/* One page of a list: up to limit items; more when another one exists
 * after them, and the cursor (key of the last item) that starts it. */
struct admin_page {
	json_t *list;
	int64_t limit;
	int64_t last;
	int more;
};

/* The "next" of a page: the cursor of the next one, or null at the end. */
json_t *admin_page_next(const struct admin_page *pg);

#endif
