/*
 * fields.c - see fields.h.
 */
#include "api.h"
#include "fields.h"

const struct sign_fields *bench_signed_fields(const char *path)
{
	const struct endpoint *ep = api_route(path);
	return ep ? api_signed_fields(ep) : NULL;
}
