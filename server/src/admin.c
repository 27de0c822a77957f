/*
 * admin.c - the control API's route table, and the one place its flags
 * are enforced (admin_handle): method, bearer token, query parameters,
 * body keys. The handlers, one file per resource, never re-check them.
 */
#include "admin.h"

#include <string.h>

#include "admin_handlers.h"

/* A route's flags. */
#define ADMIN_PUBLIC 1u /* answered without the bearer token (--admin-token) */

/* The keys a route's JSON body may have; a route with a body needs one. */
#define BODY(...) ((const char *const[]){__VA_ARGS__, NULL})

struct admin_route {
	const char *method;
	const char *pattern; /* "*" matches one path segment */
	admin_fn handle;
	unsigned flags;		 /* ADMIN_PUBLIC */
	unsigned query;		 /* Q(QP_...): the query parameters it takes */
	int page;		 /* a list: its default limit (it also takes limit
				  * and cursor); 0: not a list */
	const char *const *body; /* BODY(keys): a JSON object of those keys;
				  * NULL: the body is ignored */
};

/* One row per (method, path); the first whose path matches decides.
 * scripts/readme-errors.sh reads these rows (one per line) to check
 * docs/control-api.md. */
/* clang-format off */
static const struct admin_route routes[] = {
	{"GET", "/healthz", admin_healthz, ADMIN_PUBLIC, 0, 0, NULL},
	{"GET", "/", admin_page, 0, 0, 0, NULL},
	{"GET", "/admin/v1/check", admin_check, 0, 0, 0, NULL},
	{"GET", "/admin/v1/errors", admin_errors, 0, 0, 0, NULL},
	{"GET", "/admin/v1/openapi.json", admin_openapi, 0, 0, 0, NULL},
	{"POST", "/admin/v1/reset", admin_reset, 0, Q(QP_MCH_ID) | Q(QP_JOURNAL) | Q(QP_CLOCK), 0, NULL},
	{"POST", "/admin/v1/faults", admin_faults_add, 0, 0, 0,
	 BODY("api", "match", "err_code", "transport", "delay_ms", "delay_max_ms", "times",
	      "probability", "settle_result")},
	{"GET", "/admin/v1/faults", admin_faults_list, 0, 0, 100, NULL},
	{"DELETE", "/admin/v1/faults", admin_faults_delete, 0, 0, 0, NULL},
	{"DELETE", "/admin/v1/faults/*", admin_faults_delete, 0, 0, 0, NULL},
	{"GET", "/admin/v1/journal", admin_journal, 0, Q(QP_MCH_BILLNO) | Q(QP_ERR_CODE), 50, NULL},
	{"DELETE", "/admin/v1/journal", admin_journal_clear, 0, 0, 0, NULL},
	{"GET", "/admin/v1/requests", admin_requests, 0, Q(QP_ENDPOINT) | Q(QP_MCH_ID) | Q(QP_MCH_BILLNO) | Q(QP_RE_OPENID) | Q(QP_ERR_CODE) | Q(QP_SINCE) | Q(QP_UNTIL), 100, NULL},
	{"GET", "/admin/v1/requests/count", admin_requests_count, 0, Q(QP_ENDPOINT) | Q(QP_MCH_ID) | Q(QP_MCH_BILLNO) | Q(QP_RE_OPENID) | Q(QP_ERR_CODE) | Q(QP_SINCE) | Q(QP_UNTIL), 0, NULL},
	{"DELETE", "/admin/v1/requests", admin_journal_clear, 0, 0, 0, NULL},
	{"GET", "/metrics", admin_metrics, 0, 0, 0, NULL},
	{"GET", "/admin/v1/merchants/*", admin_merchant_get, 0, 0, 0, NULL},
	{"PUT", "/admin/v1/merchants/*", admin_merchant_put, 0, 0, 0,
	 BODY("balance", "topup", "limits", "api_enabled", "ip_allowlist")},
	{"GET", "/admin/v1/clock", admin_clock_get, 0, 0, 0, NULL},
	{"POST", "/admin/v1/clock", admin_clock_set, 0, 0, 0, BODY("advance_seconds", "now")},
	{"GET", "/admin/v1/packets", admin_packets, 0, Q(QP_MCH_ID) | Q(QP_STATUS), 100, NULL},
	{"GET", "/admin/v1/packets/*", admin_packet, 0, Q(QP_MCH_ID), 0, NULL},
	{"POST", "/admin/v1/packets/*/claims", admin_claim, 0, 0, 0, BODY("openid", "mch_id")},
	{"POST", "/admin/v1/packets/*/settle", admin_settle, 0, 0, 0, BODY("result", "mch_id")},
};
/* clang-format on */

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static int match(const char *pattern, const char *path, struct admin_params *p)
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

/* "Authorization: Bearer TOKEN" with ctx's token, compared whole
 * (length included) in constant time; anything goes without one. */
static int authorized(const struct admin_ctx *ctx, const struct admin_request *req)
{
	const char *auth = req->authorization;

	if (!ctx->token || !ctx->token[0])
		return 1;
	if (!auth || strncmp(auth, "Bearer ", 7) != 0)
		return 0;
	return str_equal_ct(auth + 7, ctx->token);
}

/* Token, route, method, query, body, handler: the first that fails
 * answers. The token comes first, so a caller without it learns nothing
 * of the paths; a path with a public route needs none for any method. */
void admin_handle(struct admin_ctx *ctx, struct admin_request *req)
{
	const struct admin_route *route = NULL;
	int path_known = 0, public = 0;
	struct admin_params p;

	buf_init(&req->reply);
	req->status = 500;
	req->content_type = "application/json";
	memset(&p, 0, sizeof(p));
	for (size_t i = 0; i < N_ROUTES; i++) {
		struct admin_params scratch = {0};
		if (!match(routes[i].pattern, req->path, &scratch))
			continue;
		path_known = 1;
		public |= (routes[i].flags & ADMIN_PUBLIC) != 0;
		if (!route && strcmp(routes[i].method, req->method) == 0) {
			route = &routes[i];
			p = scratch;
		}
	}
	if (!public && !authorized(ctx, req))
		admin_reply_error(req, 401, "missing or wrong bearer token (--admin-token)");
	else if (!route)
		admin_reply_error(req, path_known ? 405 : 404,
				  path_known
					  ? "method not allowed on this path"
					  : "no such control endpoint (see README: control API)");
	else if (admin_query_or_reply(req, route->query, route->page, &p) == 0 &&
		 (!route->body || (p.body = admin_body_or_reply(req, route->body))))
		route->handle(ctx, req, &p);
	admin_params_release(&p);
}
