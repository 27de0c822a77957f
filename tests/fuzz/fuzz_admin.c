/*
 * fuzz_admin.c - the control API fed raw bytes: the first line is
 * "METHOD PATH[?QUERY]", the rest is the body. Against an in-memory
 * store with the default fixtures; every answer must be a known status
 * and, for JSON, parse as JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "fuzz_world.h"
#include "clock.h"
#include "faults.h"
#include "fixtures.h"
#include "kv.h"
#include "redpack.h"
#include "store.h"
#include "util.h"
#include "xmlcodec.h"

static struct redpack rp;
static struct admin_ctx ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_world_open(&rp);
	ctx.redpack = &rp;
	ctx.ready = 1;
	ctx.fixtures = FIXTURES_PATH;
	ctx.faults = faults_new(42);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t head = nl ? (size_t)(nl - (const char *)data) : size;
	char *line = xstrndup((const char *)data, head);
	char *sp = strchr(line, ' ');
	char *query;
	struct kvlist pieces;
	struct admin_request req = {0};

	if (!sp || memchr(data, '\0', head)) {
		free(line);
		return 0;
	}
	*sp = '\0';
	query = strchr(sp + 1, '?');
	if (query)
		*query++ = '\0';
	req.method = line;
	req.path = sp + 1;
	kvlist_init(&pieces);
	kvlist_add_query(&pieces, query);
	req.query = &pieces;
	req.body = nl ? nl + 1 : "";
	req.body_len = nl ? size - head - 1 : 0;
	admin_handle(&ctx, &req);
	if (req.status < 200 || req.status > 599)
		abort();
	if (strcmp(req.content_type, "application/json") == 0) {
		json_error_t e;
		json_t *j = json_loadb(req.reply.data, req.reply.len, 0, &e);
		if (!j)
			abort();
		json_decref(j);
	}
	buf_release(&req.reply);
	kvlist_release(&pieces);
	free(line);
	return 0;
}
