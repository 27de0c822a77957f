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

#endif
