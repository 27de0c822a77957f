/*
 * metrics.h - running counters of the merchant API's answers, by
 * endpoint and err_code, since start-up; /metrics reads them.
 */
#ifndef REDPACK_METRICS_H
#define REDPACK_METRICS_H

#include "endpoints.h"
#include "errors.h"

/* Counts one answer err given on ep (the pipeline, once per request). */
void metrics_answer(enum endpoint_id ep, enum err_id err);

/* Answers err given on endpoint ep (0 <= ep < ENDPOINT__COUNT, in
 * endpoints.def order); 0 for an ep out of range. */
unsigned long metrics_answer_count(int ep, enum err_id err);

/* The name of endpoint ep ("sendredpack"...; static), or "" out of range. */
const char *metrics_endpoint_name(int ep);

#endif
