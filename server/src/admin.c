/*
 * admin.c - control API handlers.
 */
#include "admin.h"

#include <string.h>

#include <jansson.h>

#include "invariants.h"

struct params {
	const char *seg[ADMIN_MAX_PARAMS];
	size_t len[ADMIN_MAX_PARAMS];
	size_t count;
};

typedef void (*admin_fn)(struct admin_ctx *ctx, struct admin_request *req,
			 const struct params *p);

struct admin_route {
	const char *method;
	const char *pattern; /* "*" matches one path segment */
	admin_fn handle;
};

static void admin_healthz(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p);
static void admin_check(struct admin_ctx *ctx, struct admin_request *req, const struct params *p);

static const struct admin_route routes[] = {
	{"GET", "/healthz", admin_healthz},
	{"GET", "/admin/v1/check", admin_check},
};

/* ---- replies ----------------------------------------------------------- */

const char *admin_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Sets the reply to json (stolen) with status. */
static void reply_json(struct admin_request *req, int status, json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	req->status = status;
	req->content_type = "application/json";
	buf_reset(&req->reply);
	buf_puts(&req->reply, text ? text : "{}");
	buf_puts(&req->reply, "\n");
	free(text);
	json_decref(json);
}

static void reply_error(struct admin_request *req, int status, const char *message)
{
	reply_json(req, status, json_pack("{s:s}", "error", message));
}

/* ---- handlers ---------------------------------------------------------- */

static void admin_healthz(struct admin_ctx *ctx, struct admin_request *req,
			  const struct params *p)
{
	(void)p;
	req->status = ctx->ready ? 200 : 503;
	req->content_type = "text/plain";
	buf_puts(&req->reply, ctx->ready ? "ok\n" : "starting\n");
}

static void on_violation(void *arg, const char *invariant, const char *detail)
{
	json_array_append_new(arg, json_pack("{s:s,s:s}", "invariant", invariant, "detail", detail));
}

static void admin_check(struct admin_ctx *ctx, struct admin_request *req, const struct params *p)
{
	json_t *violations = json_array();
	int checked = 0;
	int n = invariants_run(ctx->redpack->store, on_violation, violations, &checked);

	(void)p;
	if (n < 0) {
		json_decref(violations);
		reply_error(req, 500, "the database could not be read");
		return;
	}
	reply_json(req, n ? 409 : 200,
		   json_pack("{s:b,s:i,s:o}", "ok", n == 0, "checked", checked, "violations",
			     violations));
}

/* ---- routing ----------------------------------------------------------- */

static int match(const char *pattern, const char *path, struct params *p)
{
	p->count = 0;
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");
			if (n == 0 || p->count == ADMIN_MAX_PARAMS)
				return 0;
			p->seg[p->count] = path;
			p->len[p->count++] = n;
			pattern++;
			path += n;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

void admin_handle(struct admin_ctx *ctx, struct admin_request *req)
{
	int path_known = 0;
	struct params p;

	buf_init(&req->reply);
	req->status = 500;
	req->content_type = "application/json";
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, req->path, &p))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, req->method) == 0) {
			routes[i].handle(ctx, req, &p);
			return;
		}
	}
	if (path_known)
		reply_error(req, 405, "method not allowed on this path");
	else
		reply_error(req, 404, "no such control endpoint (see README: control API)");
}
