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
	CHECK(ENDPOINT_sendredpack == 0 && ENDPOINT_sendgroupredpack == 1 && ENDPOINT_gethbinfo == 2);
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

int main(void)
{
	names();
	counts();
	return check_done("metrics");
}
