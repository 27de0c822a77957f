/*
 * admin_openapi.c - GET /admin/v1/openapi.json: the control API's
 * OpenAPI description, server/src/openapi.json, embedded at build time
 * (CMakeLists.txt writes it to openapi.c as admin_openapi_json) and
 * answered byte for byte.
 */
#include "admin_handlers.h"

extern const char admin_openapi_json[];

void admin_openapi(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	(void)ctx, (void)p;
	req->status = 200;
	req->content_type = "application/json";
	buf_reset(&req->reply);
	buf_puts(&req->reply, admin_openapi_json);
}
