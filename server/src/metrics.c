/*
 * metrics.c - the merchant API's answer counters.
 */
#include "metrics.h"

static unsigned long answers[ENDPOINT__COUNT][ERR__COUNT];

static const char *const names[ENDPOINT__COUNT] = {
#define ENDPOINT(name, bit, kind, handler) [ENDPOINT_##name] = #name,
#include "endpoints.def"
#undef ENDPOINT
};

void metrics_answer(enum endpoint_id ep, enum err_id err)
{
	answers[ep][err]++;
}

unsigned long metrics_answer_count(int ep, enum err_id err)
{
	return ep >= 0 && ep < ENDPOINT__COUNT ? answers[ep][err] : 0;
}

const char *metrics_endpoint_name(int ep)
{
	return ep >= 0 && ep < ENDPOINT__COUNT ? names[ep] : "";
}
