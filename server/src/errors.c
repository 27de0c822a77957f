/*
 * errors.c - the catalogue table, derived from errors.def.
 */
#include "errors.h"

#include <string.h>

static const struct err_info catalogue[ERR__COUNT] = {
#define S EP_S
#define G EP_G
#define Q EP_Q
#define ERR(id, code, des, level, retry, order, endpoints, query_des)                              \
	[ERR_##id] = {code, des, LEVEL_##level, retry, ORDER_##order, endpoints, query_des},
#include "errors.def"
#undef ERR
#undef S
#undef G
#undef Q
};

const char *errors_des(enum err_id id, enum err_endpoint ep)
{
	const struct err_info *e = &catalogue[id];
	return ep == EP_Q && e->query_des ? e->query_des : e->des;
}

const char *errors_level_name(enum err_level level)
{
	static const char *const names[] = {
		[LEVEL_OK] = "ok", [LEVEL_RETURN] = "return_code", [LEVEL_RESULT] = "result_code"};
	return names[level];
}

const char *errors_order_name(enum err_order order)
{
	static const char *const names[] = {[ORDER_NONE] = "none",
					    [ORDER_HELD] = "held",
					    [ORDER_KEPT] = "kept",
					    [ORDER_ISSUED] = "issued"};
	return names[order];
}

const struct err_info *errors_info(enum err_id id)
{
	return &catalogue[id];
}

int errors_find(const char *code)
{
	for (int i = 0; i < ERR__COUNT; i++)
		if (strcmp(catalogue[i].code, code) == 0)
			return i;
	return -1;
}

const char *answer_des(const struct answer *a)
{
	return a->des ? a->des : catalogue[a->err].des;
}
