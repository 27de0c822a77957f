/*
 * fuzz_api.c - the whole request pipeline of one merchant API endpoint
 * (FUZZ_ENDPOINT, one binary per endpoint) fed raw bytes: parse, identify,
 * sign, validate, business rules, answer, against an in-memory store
 * with the default fixtures. No sockets.
 *
 * Each input runs twice: as sent (exercising XML_ERROR, PARAM_ERROR,
 * SIGN_ERROR) and, when it parses, re-signed with the merchant's key so
 * that validation and the business rules are reached too. Every 512
 * inputs the invariant checker must find nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz_world.h"
#include "clock.h"
#include "fixtures.h"
#include "redpack.h"
#include "invariants.h"
#include "kv.h"
#include "sign.h"
#include "store.h"
#include "xmlcodec.h"

#ifndef FUZZ_ENDPOINT
#error "build with -DFUZZ_ENDPOINT=\"/mmpaymkttransfers/...\""
#endif

static struct store *store;
static struct redpack rp;
static struct api_ctx ctx;
static const struct endpoint *ep;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_world_open(&rp);
	store = rp.store;
	ctx.redpack = &rp;
	ep = api_route(FUZZ_ENDPOINT);
	if (!ep)
		abort();
	return 0;
}

static void on_violation(void *arg, const char *invariant, const char *detail)
{
	(void)arg;
	fprintf(stderr, "invariant %s broken: %s\n", invariant, detail);
	abort();
}

static int has_cr(const struct kvlist *params)
{
	for (size_t i = 0; i < params->count; i++)
		if (strchr(params->items[i].value, '\r'))
			return 1;
	return 0;
}

/* Inputs starting with "!CODE\n" also send that Wechatpay-Negative-Test
 * header (the rest is still the body; the header text is static). */
static const char *magic_header(const uint8_t *data, size_t size)
{
	static char code[40];
	const char *nl = size > 1 && data[0] == '!' ? memchr(data, '\n', size < 40 ? size : 40)
						    : NULL;
	if (!nl)
		return NULL;
	memcpy(code, data + 1, (size_t)(nl - (const char *)data) - 1);
	code[nl - (const char *)data - 1] = '\0';
	return code;
}

/* The parsed request with a correct sign, as a new body. */
static int resign(const struct kvlist *params, struct buf *body, const char **cn)
{
	struct merchant m;
	char hex[SIGN_HEX_LEN + 1];
	const char *mch_id = kvlist_lookup(params, "mch_id");

	if (!mch_id || store_merchant_lookup(store, mch_id, &m) != 1)
		return -1;
	sign_compute(params, api_signed_fields(ep), m.api_key, hex);
	xmlcodec_begin(body);
	for (size_t i = 0; i < params->count; i++)
		if (strcmp(params->items[i].name, "sign") != 0)
			xmlcodec_cdata(body, params->items[i].name, params->items[i].value);
	xmlcodec_cdata(body, "sign", hex);
	xmlcodec_end(body);
	*cn = mch_id;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	struct buf reply, body;
	struct kvlist params;
	const char *cn = "10000098";
	int checked;

	buf_init(&reply);
	buf_init(&body);
	kvlist_init(&params);
	api_handle(&ctx, ep,
		   &(struct api_call){.body = (const char *)data,
				      .len = size,
				      .cert_cn = cn,
				      .negative_test = magic_header(data, size),
				      .peer_ip = "127.0.0.1"},
		   &reply);
	if (reply.len == 0 || strncmp(reply.data, "<xml>\n", 6) != 0)
		abort();
	if (xmlcodec_parse((const char *)data, size, &params) == 0 &&
	    resign(&params, &body, &cn) == 0) {
		buf_reset(&reply);
		api_handle(&ctx, ep,
			   &(struct api_call){.body = body.data,
					      .len = body.len,
					      .cert_cn = cn,
					      .peer_ip = "10.1.2.3"},
			   &reply);
		/* The re-signed body must pass the signature, unless a value
		 * holds a CR (from &#13;), which XML parsing turns into LF. */
		if (strstr(reply.data, "<err_code><![CDATA[SIGN_ERROR]]>") && !has_cr(&params))
			abort();
	}
	if (++runs % 512 == 0 && invariants_run(store, on_violation, NULL, &checked) != 0)
		abort();
	kvlist_release(&params);
	buf_release(&body);
	buf_release(&reply);
	return 0;
}
