/*
 * metrics.h - running counters of the merchant API since start-up:
 * answers by endpoint and err_code, latency histograms by endpoint,
 * TLS and certificate refusals by reason, open connections. /metrics
 * (admin_status.c) reads them. Safe from both loops' threads (handoff.h).
 */
#ifndef REDPACK_METRICS_H
#define REDPACK_METRICS_H

#include <stdint.h>

#include "endpoints.h"
#include "errors.h"

/* Counts one answer err given on ep (the pipeline, once per request). */
void metrics_answer(enum endpoint_id ep, enum err_id err);

/* Answers err given on endpoint ep (0 <= ep < ENDPOINT__COUNT, in
 * endpoints.def order); 0 for an ep out of range. */
unsigned long metrics_answer_count(int ep, enum err_id err);

/* The name of endpoint ep ("sendredpack"...; static), or "" out of range. */
const char *metrics_endpoint_name(int ep);

/* ---- latency ------------------------------------------------------------- */

/* The histogram's upper bounds in microseconds (0.5 ms ... 1 s), then
 * +Inf, which has no bound here. */
#define METRICS_LATENCY_BOUNDS                                                                     \
	500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000
#define METRICS_LATENCY_BUCKETS 11

/* Counts one answer on ep that took us microseconds (from the request's
 * arrival to its answer leaving, commit included). */
void metrics_latency(enum endpoint_id ep, uint64_t us);

/* Bucket b's upper bound in microseconds (0 <= b < METRICS_LATENCY_BUCKETS). */
uint64_t metrics_latency_bound(int b);
/* Answers on ep at or below bucket b's bound (cumulative, as Prometheus
 * wants; b == METRICS_LATENCY_BUCKETS: all of them, +Inf); the sum of
 * their latencies in microseconds. 0 out of range. */
uint64_t metrics_latency_count(int ep, int b);
uint64_t metrics_latency_sum_us(int ep);

/* ---- TLS and certificate refusals ---------------------------------------- */

/* One row per reason: its enum name and its label on /metrics. */
#define METRICS_TLS_REASONS(X)                                                                     \
	X(NO_CERTIFICATE, "no_certificate")   /* none sent (400 page, or handshake mode) */        \
	X(UNTRUSTED, "untrusted_certificate") /* failed verification (400 page / alert) */         \
	X(PLAIN_HTTP, "plain_http")	      /* plain HTTP on the TLS port */                     \
	X(OVER_CAPACITY, "over_capacity")     /* refused over --max-connections */                 \
	X(HANDSHAKE, "handshake_failed")      /* any other alert the server sent */                \
	X(CLIENT_ALERT, "client_alert")	      /* the client gave up the handshake */

enum metrics_tls_reason {
#define X(id, label) TLS_REFUSED_##id,
	METRICS_TLS_REASONS(X)
#undef X
		TLS_REFUSED__COUNT
};

void metrics_tls_refused(enum metrics_tls_reason why);
unsigned long metrics_tls_refused_count(int why);
/* The reason's label ("no_certificate"...), or "" out of range. */
const char *metrics_tls_reason_name(int why);

/* ---- connections --------------------------------------------------------- */

/* The open connections (under the caps) of each port, set by the front
 * end whenever they change. */
void metrics_connections(int api_open, int admin_open);
int metrics_connections_open(int admin);

#endif
