/*
 * api.h - the merchant API: the route table and the request pipeline
 * (parse -> identify -> sign -> validate -> handler -> respond). It takes
 * bytes and a certificate name, not a socket, so it runs the same under
 * the HTTP front end, in unit tests and in the fuzzers.
 */
#ifndef REDPACK_API_H
#define REDPACK_API_H

#include <stddef.h>
#include <stdint.h>

#include "endpoints.h"
#include "errors.h"
#include "redpack.h"
#include "faults.h"
#include "sign.h"
#include "util.h"
#include "validate.h"

struct journal;
struct faults;

struct api_ctx {
	struct redpack *redpack;
	int sign_received;	 /* --sign-fields received */
	struct journal *journal; /* NULL: no journal */
	struct faults *faults;	 /* NULL: no fault rules */
};

struct endpoint;

/* What the front end keeps of a handled request for its log line and
 * latency, once the answer is final (after the commit): copies, cut to
 * the fields' longest valid length. */
struct api_outcome {
	enum endpoint_id ep;
	enum err_id err;
	char mch_id[33];
	char mch_billno[33];
};

/* The endpoint served at path, or NULL (borrowed, static). */
const struct endpoint *api_route(const char *path);

/* One request as the front end hands it over (all borrowed). */
struct api_call {
	const char *body;
	size_t len;
	const char *cert_cn;	   /* CN of the verified client certificate */
	const char *negative_test; /* the Wechatpay-Negative-Test header, or NULL */
	const char *peer_ip;	   /* the caller's address, for IP allow-lists */
	/* Out, under group commit: when the request wrote to the store, the
	 * answer to give instead if the batch holding its rows fails to
	 * commit (SYSTEMERROR: nothing was kept, resend the same billno).
	 * Left empty when nothing was written. NULL: not wanted. */
	struct buf *fallback;
	/* Out: filled when not NULL (for api_answered). */
	struct api_outcome *outcome;
};

/* Handles one request for ep. The front end answers missing or bad
 * certificates itself, so cert_cn is never NULL. The XML answer is
 * appended to reply; the HTTP status is always 200. Returns what the
 * fault rules decided, for the front end to carry out its transport
 * fault (transport FAULT_NONE: none; a delay already drawn). */
struct fault_decision api_handle(struct api_ctx *ctx, const struct endpoint *ep,
				 const struct api_call *call, struct buf *reply);

/* A request's one log line ("api.request": endpoint, mch_id, mch_billno,
 * err_code, latency_ms, request_id, client, cert_cn, and fault when a
 * transport fault was carried out) and its latency in the metrics. The
 * front end calls it once the answer is final; the strings are borrowed
 * (NULL: left out). Never the key, the sign or the body. */
void api_answered(const struct api_outcome *o, uint64_t latency_us, const char *request_id,
		  const char *client, const char *cert_cn, const char *fault);

/* Lets ctx's journal explain its SIGN_ERROR entries when they are read
 * (call once the journal is set; without it they are explained at once). */
void api_journal_attach(struct api_ctx *ctx);

/* The fields ep signs (borrowed, static). */
const struct sign_fields *api_signed_fields(const struct endpoint *ep);

#endif
