/*
 * fields.h - which fields redpack-bench signs, taken from the server's
 * own route table so the two can never disagree. A separate file
 * because api.h's error names clash with OpenSSL's err.h.
 */
#ifndef REDPACK_BENCH_FIELDS_H
#define REDPACK_BENCH_FIELDS_H

#include "sign.h"

/* The signed fields of the endpoint at path (borrowed, static), or NULL
 * when path is no merchant API endpoint. */
const struct sign_fields *bench_signed_fields(const char *path);

#endif
