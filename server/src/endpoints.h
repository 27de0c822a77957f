/*
 * endpoints.h - the merchant API's endpoints as an enum, from
 * endpoints.def (the one list of them).
 */
#ifndef REDPACK_ENDPOINTS_H
#define REDPACK_ENDPOINTS_H

enum endpoint_id {
#define ENDPOINT(name, bit, kind, handler) ENDPOINT_##name,
#include "endpoints.def"
#undef ENDPOINT
	ENDPOINT__COUNT
};

#include "sign.h"

/* The parameters endpoint id signs (protocol reference 8.3). */
extern const struct sign_fields endpoint_signed[ENDPOINT__COUNT];

/* "/mmpaymkttransfers/<name>": a static string. */
const char *endpoint_path(enum endpoint_id id);

/* The endpoint served at path, or -1 (NULL allowed). */
int endpoint_by_path(const char *path);

#endif
