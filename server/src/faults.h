/*
 * faults.h - answers on demand. The magic values: a request header
 * "Wechatpay-Negative-Test: <ERR_CODE>" (as the old official sandbox had)
 * or, on the send endpoints, a re_openid "oMOCK_<ERR_CODE>" optionally
 * followed by "-" and anything (to keep openids apart), up to 32
 * characters. Either makes an otherwise valid request answer that code.
 */
#ifndef REDPACK_FAULTS_H
#define REDPACK_FAULTS_H

#include "errors.h"
#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define FAULTS_HEADER "Wechatpay-Negative-Test"
#define FAULTS_OPENID_PREFIX "oMOCK_"

/* ---- fault rules (POST /admin/v1/faults) ---- */

/* What a rule does to the connection instead of (or before) answering. */
enum fault_transport {
	FAULT_NONE,
	FAULT_DELAY,	/* answer after delay_ms (or a seeded random delay up to delay_max_ms) */
	FAULT_HANG,	/* never answer; the connection stays open until the client gives up */
	FAULT_RESET,	/* close with a TCP reset, no answer */
	FAULT_EMPTY,	/* close cleanly, no answer */
	FAULT_TRUNCATE, /* headers and half the body, then close */
	FAULT_HTTP503,	/* nginx's 503 page */
	FAULT_HTML,	/* nginx's 502 Bad Gateway page */
	FAULT__COUNT
};

struct fault_rule {
	int id;
	char api[32];					/* endpoint name, "" any */
	char mch_id[40], re_openid[40], mch_billno[40]; /* "" any */
	int err;					/* catalogue code to answer, or -1 */
	enum fault_transport transport;
	int delay_ms, delay_max_ms;
	int times;	    /* applications left; -1 until deleted */
	double probability; /* 0 < p <= 1, drawn from the seeded generator */
	char settle_to[8];  /* err PROCESSING + delay_ms: settles to this then */
	long hits;
};

struct faults;

/* An empty rule set whose probability draws come from seed. */
struct faults *faults_new(uint64_t seed);
void faults_free(struct faults *f);

/* Adds a copy of rule (its id is assigned); returns the id. */
int faults_add(struct faults *f, const struct fault_rule *rule);
/* 0 when removed, -1 when there is no such rule. id -1 removes all. */
int faults_remove(struct faults *f, int id);
/* The rules in the order they were added (borrowed). */
const struct fault_rule *faults_list(const struct faults *f, size_t *count);

/* The first rule that matches the request and wins its probability draw;
 * its hit is counted and its times spent. NULL when none applies. A copy
 * is returned in *out (rules may be removed while an answer waits). */
int faults_match(struct faults *f, const char *api, const struct kvlist *params,
		 struct fault_rule *out);

/* A delay for rule r in milliseconds (random in [delay_ms, delay_max_ms]
 * when delay_max_ms is larger), drawn from the seeded generator. */
int faults_delay(struct faults *f, const struct fault_rule *r);

/* Names of the transports, for the control API. */
const char *faults_transport_name(enum fault_transport t);
int faults_transport_find(const char *name);

/* The code the request asks for on endpoint ep, or -1 for none. The
 * header wins over the openid; a code the catalogue does not list for
 * ep is ignored (and *ignored set to it, for the log). */
int faults_magic(const char *header, const struct kvlist *params, enum err_endpoint ep,
		 const char **ignored);

/* ---- the decision for one request ---- */

/* What the magic values and the fault rules ask of one valid request. */
struct fault_decision {
	int rule;   /* the fault rule that applied, 0: none */
	int err;    /* the code asked for (a magic value, else the rule's), -1: none */
	int answer; /* 1: the pipeline answers err at once, the handler never runs;
		     * 0: the business rules answer it (HELD codes, PROCESSING) */
	enum fault_transport transport; /* for the front end to carry out */
	int delay_ms; /* FAULT_DELAY: already drawn; PROCESSING: the settle delay */
	char settle_to[8];
};

/* Decides for a request to endpoint api (its catalogue column ep): a
 * magic value (header, then re_openid) wins; without one, the first
 * matching rule (f may be NULL: no rules) is applied and spent, its
 * delay drawn. A rule's 503 or 502 page answers SYSTEMERROR (the front
 * end failed; nothing was processed). Logs what applies and what is
 * ignored. */
struct fault_decision faults_decide(struct faults *f, const char *header,
				    const struct kvlist *params, const char *api,
				    enum err_endpoint ep);

#endif
