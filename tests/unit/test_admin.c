/*
 * test_admin.c - the control API's route table and its one dispatcher
 * (admin_handle), driven directly: unknown routes, methods, the bearer
 * token and the public /healthz, query parameters and body keys, each
 * answered before any handler runs. Against an in-memory store with the
 * fixtures given as the argument.
 *   test_admin FIXTURES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "check.h"
#include "clock.h"
#include "faults.h"
#include "kv.h"
#include "unit_world.h"

static struct admin_ctx ctx;

/* The last answer. */
static int status;
static char content_type[64];
static char reply[4096];

/* One control call: query without '?' (NULL: none), auth the
 * Authorization header (NULL: none), body (NULL: none). Returns the
 * status; the reply is in reply. */
static int call(const char *method, const char *path, const char *query, const char *auth,
		const char *body)
{
	struct kvlist pieces;
	struct admin_request req = {0};

	kvlist_init(&pieces);
	kvlist_add_query(&pieces, query);
	req.method = method;
	req.path = path;
	req.query = &pieces;
	req.authorization = auth;
	req.body = body ? body : "";
	req.body_len = body ? strlen(body) : 0;
	admin_handle(&ctx, &req);
	status = req.status;
	snprintf(content_type, sizeof(content_type), "%s", req.content_type);
	snprintf(reply, sizeof(reply), "%.*s", (int)req.reply.len,
		 req.reply.data ? req.reply.data : "");
	buf_release(&req.reply);
	kvlist_release(&pieces);
	return status;
}

static void test_query_pieces(void)
{
	struct kvlist l;

	kvlist_init(&l);
	kvlist_add_query(&l, "a=1&b&=c&&d=");
	CHECK(l.count == 5);
	CHECK_STR(l.items[0].name, "a");
	CHECK_STR(l.items[0].value, "1");
	CHECK_STR(l.items[1].name, "b");
	CHECK(l.items[1].value == NULL);
	CHECK_STR(l.items[2].name, "");
	CHECK_STR(l.items[2].value, "c");
	CHECK_STR(l.items[3].name, "");
	CHECK(l.items[3].value == NULL);
	CHECK_STR(l.items[4].name, "d");
	CHECK_STR(l.items[4].value, "");
	/* A value replaced, a pair removed (the last takes its place). */
	kvlist_set(&l, 1, "two");
	kvlist_set(&l, 0, "a much longer value than before");
	CHECK_STR(l.items[1].name, "b");
	CHECK_STR(l.items[1].value, "two");
	CHECK_STR(l.items[0].value, "a much longer value than before");
	kvlist_remove(&l, 0);
	CHECK(l.count == 4);
	CHECK_STR(l.items[0].name, "d");
	CHECK_STR(kvlist_get(&l, "b"), "two");
	kvlist_release(&l);
	kvlist_add_query(&l, "");
	kvlist_add_query(&l, NULL);
	CHECK(l.count == 0);
	kvlist_add_query(&l, "x=1&");
	CHECK(l.count == 2 && l.items[1].name[0] == '\0' && l.items[1].value == NULL);
	kvlist_release(&l);
}

static void test_routes(void)
{
	CHECK(call("GET", "/admin/v1/nothing", NULL, NULL, NULL) == 404);
	CHECK_STR(reply, "{\"error\":\"no such control endpoint (see README: control API)\"}\n");
	CHECK_STR(content_type, "application/json");
	CHECK(call("GET", "/admin/v1/packets/a/b", NULL, NULL, NULL) == 404);
	CHECK(call("GET", "/admin/v1/merchants/", NULL, NULL, NULL) == 404);

	CHECK(call("POST", "/admin/v1/errors", NULL, NULL, NULL) == 405);
	CHECK_STR(reply, "{\"error\":\"method not allowed on this path\"}\n");
	CHECK(call("PUT", "/admin/v1/packets/b1/claims", NULL, NULL, "{}") == 405);
	CHECK(call("PATCH", "/admin/v1/clock", NULL, NULL, NULL) == 405);

	CHECK(call("GET", "/admin/v1/clock", NULL, NULL, NULL) == 200);
	CHECK(strstr(reply, "\"now\":") != NULL);
	CHECK(call("GET", "/admin/v1/merchants/10000098", NULL, NULL, NULL) == 200);
	CHECK(strstr(reply, "\"mch_id\":\"10000098\"") != NULL);
	CHECK(call("GET", "/admin/v1/merchants/nobody", NULL, NULL, NULL) == 404);
	CHECK_STR(reply, "{\"error\":\"no merchant with this mch_id\"}\n");
	/* A route that takes no body ignores one. */
	CHECK(call("GET", "/admin/v1/errors", NULL, NULL, "not json") == 200);
	CHECK(strncmp(reply, "{\"errors\":[", 11) == 0);
}

static void test_healthz(void)
{
	CHECK(call("GET", "/healthz", NULL, NULL, NULL) == 200);
	CHECK_STR(reply, "ok\n");
	CHECK_STR(content_type, "text/plain");
	ctx.ready = 0;
	CHECK(call("GET", "/healthz", NULL, NULL, NULL) == 503);
	CHECK_STR(reply, "starting\n");
	ctx.ready = 1;
	CHECK(call("POST", "/healthz", NULL, NULL, NULL) == 405);
}

static void test_token(void)
{
	static const char *const unauthorized =
		"{\"error\":\"missing or wrong bearer token (--admin-token)\"}\n";

	ctx.token = "s3cret";
	CHECK(call("GET", "/admin/v1/errors", NULL, NULL, NULL) == 401);
	CHECK_STR(reply, unauthorized);
	CHECK(call("GET", "/admin/v1/errors", NULL, "Bearer wrong", NULL) == 401);
	CHECK(call("GET", "/admin/v1/errors", NULL, "Bearer s3cret2", NULL) == 401);
	CHECK(call("GET", "/admin/v1/errors", NULL, "Bearer s3cre", NULL) == 401);
	CHECK(call("GET", "/admin/v1/errors", NULL, "s3cret", NULL) == 401);
	CHECK(call("GET", "/admin/v1/errors", NULL, "Bearer s3cret", NULL) == 200);
	/* The token before the route: nothing learned about paths. */
	CHECK(call("GET", "/admin/v1/nothing", NULL, NULL, NULL) == 401);
	CHECK(call("DELETE", "/admin/v1/clock", NULL, NULL, NULL) == 401);
	CHECK(call("GET", "/admin/v1/packets", "bogus=1", NULL, NULL) == 401);
	CHECK(call("GET", "/admin/v1/nothing", NULL, "Bearer s3cret", NULL) == 404);
	/* /healthz is public, whatever the method. */
	CHECK(call("GET", "/healthz", NULL, NULL, NULL) == 200);
	CHECK_STR(reply, "ok\n");
	CHECK(call("POST", "/healthz", NULL, NULL, NULL) == 405);
	ctx.token = "";
	CHECK(call("GET", "/admin/v1/errors", NULL, NULL, NULL) == 200);
	ctx.token = NULL;
}

static void test_query(void)
{
	CHECK(call("GET", "/admin/v1/packets", "foo=1", NULL, NULL) == 400);
	CHECK_STR(reply, "{\"error\":\"unknown query parameter \\\"foo\\\" (this path takes mch_id,"
			 " status, limit, cursor)\",\"parameter\":\"foo\"}\n");
	CHECK(call("GET", "/admin/v1/errors", "mch_id=1", NULL, NULL) == 400);
	CHECK_STR(reply, "{\"error\":\"unknown query parameter \\\"mch_id\\\" (this path takes no "
			 "query parameters)\",\"parameter\":\"mch_id\"}\n");
	CHECK(call("GET", "/admin/v1/packets", "mch_id=", NULL, NULL) == 400);
	CHECK_STR(reply, "{\"error\":\"query parameter \\\"mch_id\\\" is empty\",\"parameter\":"
			 "\"mch_id\"}\n");
	CHECK(call("GET", "/admin/v1/packets", "mch_id", NULL, NULL) == 400);
	CHECK(strstr(reply, "has no value (NAME=VALUE)") != NULL);
	CHECK(call("GET", "/admin/v1/packets", "mch_id=1&mch_id=2", NULL, NULL) == 400);
	CHECK(strstr(reply, "is given twice") != NULL);
	CHECK(call("GET", "/admin/v1/packets", "mch_id=10000098&", NULL, NULL) == 400);
	CHECK_STR(reply, "{\"error\":\"the query string has an empty parameter (\\\"&&\\\", or '&' "
			 "at an end)\"}\n");
	CHECK(call("GET", "/admin/v1/packets", "=x", NULL, NULL) == 400);
	CHECK_STR(reply, "{\"error\":\"a query parameter has no name (\\\"=VALUE\\\")\"}\n");
	CHECK(call("GET", "/admin/v1/packets", "status=LOST", NULL, NULL) == 400);
	CHECK(strstr(reply, "must be one of SENDING") != NULL);
	CHECK(call("GET", "/admin/v1/packets", "limit=0", NULL, NULL) == 400);
	/* The first bad piece answers: an unknown one before a trailing '&'. */
	CHECK(call("GET", "/admin/v1/packets", "x=1&", NULL, NULL) == 400);
	CHECK(strstr(reply, "unknown query parameter \\\"x\\\"") != NULL);
	/* Names and values are percent-decoded. */
	CHECK(call("GET", "/admin/v1/packets", "mch%5Fid=10000098&limit=2", NULL, NULL) == 200);
	CHECK(strncmp(reply, "{\"packets\":[]", 13) == 0);
	CHECK(call("GET", "/admin/v1/packets", "mch_id=%zz", NULL, NULL) == 400);
	CHECK(strstr(reply, "is not percent-encoded UTF-8 text") != NULL);
}

static void test_body(void)
{
	CHECK(call("POST", "/admin/v1/clock", NULL, NULL, NULL) == 400);
	CHECK_STR(reply, "{\"error\":\"a JSON object body is required\"}\n");
	CHECK(call("POST", "/admin/v1/clock", NULL, NULL, "[1]") == 400);
	CHECK_STR(reply, "{\"error\":\"the body is not a JSON object\"}\n");
	CHECK(call("POST", "/admin/v1/clock", NULL, NULL, "{\"later\": 1}") == 400);
	CHECK_STR(reply, "{\"error\":\"unknown key \\\"later\\\"\"}\n");
	CHECK(call("PUT", "/admin/v1/merchants/10000098", NULL, NULL, "{\"name\": \"x\"}") == 400);
	CHECK_STR(reply, "{\"error\":\"unknown key \\\"name\\\"\"}\n");
	/* The body before the handler: a bad body for an unknown merchant. */
	CHECK(call("PUT", "/admin/v1/merchants/nobody", NULL, NULL, "{\"name\": \"x\"}") == 400);
	/* The query before the body. */
	CHECK(call("POST", "/admin/v1/clock", "x=1", NULL, "{\"later\": 1}") == 400);
	CHECK(strstr(reply, "unknown query parameter") != NULL);
	/* Allowed keys reach the handler, which judges their values. */
	CHECK(call("POST", "/admin/v1/clock", NULL, NULL, "{\"now\": 1}") == 400);
	CHECK(strstr(reply, "\\\"now\\\" must look like") != NULL);
	CHECK(call("PUT", "/admin/v1/merchants/10000098", NULL, NULL, "{\"topup\": 5}") == 200);
	CHECK(strstr(reply, "\"balance\":") != NULL);
	CHECK(call("POST", "/admin/v1/faults", NULL, NULL, "{\"err_code\": \"SYSTEMERROR\"}") ==
	      201);
	CHECK(call("GET", "/admin/v1/faults", "limit=1", NULL, NULL) == 200);
	CHECK(strstr(reply, "\"err_code\":\"SYSTEMERROR\"") != NULL);
	CHECK(call("DELETE", "/admin/v1/faults", NULL, NULL, NULL) == 200);
}

int main(int argc, char **argv)
{
	struct redpack rp;

	if (argc != 2) {
		fprintf(stderr, "usage: test_admin FIXTURES\n");
		return 2;
	}
	if (world_store_open(":memory:", argv[1], clock_now(), 42, &rp) != 0)
		return 1;
	ctx.redpack = &rp;
	ctx.ready = 1;
	ctx.fixtures = argv[1];
	ctx.faults = faults_new(42);

	test_query_pieces();
	test_routes();
	test_healthz();
	test_token();
	test_query();
	test_body();

	faults_free(ctx.faults);
	store_close(rp.store);
	return check_done("test_admin");
}
