/*
 * errors.c - the catalogue table, derived from errors.def.
 */
#include "errors.h"

#include <string.h>

static const struct err_info catalogue[ERR__COUNT] = {
#define ERR(id, code, des, level, retry, order) \
	[ERR_##id] = {code, des, LEVEL_##level, retry, ORDER_##order},
#include "errors.def"
#undef ERR
};

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
