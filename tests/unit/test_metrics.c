/* The answer counters: one endpoint list, in /metrics order, and counts
 * kept apart by endpoint and err_code. */
#include "check.h"

#include "metrics.h"

static void names(void)
{
	CHECK(ENDPOINT__COUNT == 3);
	CHECK_STR(metrics_endpoint_name(ENDPOINT_sendredpack), "sendredpack");
	CHECK_STR(metrics_endpoint_name(ENDPOINT_sendgroupredpack), "sendgroupredpack");
	CHECK_STR(metrics_endpoint_name(ENDPOINT_gethbinfo), "gethbinfo");
	/* /metrics lists them in this order. */
	CHECK(ENDPOINT_sendredpack == 0 && ENDPOINT_sendgroupredpack == 1 &&
	      ENDPOINT_gethbinfo == 2);
	CHECK_STR(metrics_endpoint_name(-1), "");
	CHECK_STR(metrics_endpoint_name(ENDPOINT__COUNT), "");
}

static void counts(void)
{
	for (int e = 0; e < ENDPOINT__COUNT; e++)
		for (int i = 0; i < ERR__COUNT; i++)
			CHECK(metrics_answer_count(e, (enum err_id)i) == 0);
	metrics_answer(ENDPOINT_sendgroupredpack, ERR_SUCCESS);
	metrics_answer(ENDPOINT_sendgroupredpack, ERR_SUCCESS);
	metrics_answer(ENDPOINT_gethbinfo, ERR_NOT_FOUND);
	CHECK(metrics_answer_count(ENDPOINT_sendgroupredpack, ERR_SUCCESS) == 2);
	CHECK(metrics_answer_count(ENDPOINT_sendredpack, ERR_SUCCESS) == 0);
	CHECK(metrics_answer_count(ENDPOINT_gethbinfo, ERR_NOT_FOUND) == 1);
	CHECK(metrics_answer_count(ENDPOINT_gethbinfo, ERR_SUCCESS) == 0);
	CHECK(metrics_answer_count(-1, ERR_SUCCESS) == 0);
	CHECK(metrics_answer_count(ENDPOINT__COUNT, ERR_SUCCESS) == 0);
}

/* Latency buckets are cumulative on the way out; the last is +Inf. */
static void latency(void)
{
	CHECK(metrics_latency_bound(0) == 500 && metrics_latency_bound(10) == 1000000);
	CHECK(metrics_latency_count(ENDPOINT_sendgroupredpack, METRICS_LATENCY_BUCKETS) == 0);
	metrics_latency(ENDPOINT_sendgroupredpack, 400);     /* <= 0.5 ms */
	metrics_latency(ENDPOINT_sendgroupredpack, 500);     /* on the bound: same bucket */
	metrics_latency(ENDPOINT_sendgroupredpack, 3000);    /* <= 5 ms */
	metrics_latency(ENDPOINT_sendgroupredpack, 2000000); /* +Inf only */
	CHECK(metrics_latency_count(ENDPOINT_sendgroupredpack, 0) == 2);
	CHECK(metrics_latency_count(ENDPOINT_sendgroupredpack, 2) == 2);
	CHECK(metrics_latency_count(ENDPOINT_sendgroupredpack, 3) == 3);
	CHECK(metrics_latency_count(ENDPOINT_sendgroupredpack, METRICS_LATENCY_BUCKETS - 1) == 3);
	CHECK(metrics_latency_count(ENDPOINT_sendgroupredpack, METRICS_LATENCY_BUCKETS) == 4);
	CHECK(metrics_latency_sum_us(ENDPOINT_sendgroupredpack) == 2003900);
	CHECK(metrics_latency_count(ENDPOINT_gethbinfo, METRICS_LATENCY_BUCKETS) == 0);
	CHECK(metrics_latency_count(-1, 0) == 0 && metrics_latency_count(0, 99) == 0);
}

static void refusals(void)
{
	CHECK_STR(metrics_tls_reason_name(TLS_REFUSED_NO_CERTIFICATE), "no_certificate");
	CHECK_STR(metrics_tls_reason_name(TLS_REFUSED_CLIENT_ALERT), "client_alert");
	CHECK_STR(metrics_tls_reason_name(TLS_REFUSED__COUNT), "");
	metrics_tls_refused(TLS_REFUSED_PLAIN_HTTP);
	metrics_tls_refused(TLS_REFUSED_PLAIN_HTTP);
	CHECK(metrics_tls_refused_count(TLS_REFUSED_PLAIN_HTTP) == 2);
	CHECK(metrics_tls_refused_count(TLS_REFUSED_UNTRUSTED) == 0);
	metrics_connections(5, 2);
	CHECK(metrics_connections_open(0) == 5 && metrics_connections_open(1) == 2);
}

int main(void)
{
	names();
	counts();
	latency();
	refusals();
	return check_done("metrics");
}
