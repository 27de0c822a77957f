/*
 * errors.h - the error catalogue (rows in errors.def). Handlers return
 * an enum err_id; only the answer writer turns it into text.
 */
#ifndef REDPACK_ERRORS_H
#define REDPACK_ERRORS_H

enum err_id {
#define ERR(id, code, des, level, retry, order, endpoints, query_des) ERR_##id,
#include "errors.def"
#undef ERR
	ERR__COUNT
};

enum err_level { LEVEL_OK, LEVEL_RETURN, LEVEL_RESULT };
enum err_order { ORDER_NONE, ORDER_HELD, ORDER_KEPT, ORDER_ISSUED };

/* The endpoints of a catalogue row (bit mask). */
enum err_endpoint { EP_S = 1, EP_G = 2, EP_Q = 4 };

struct err_info {
	const char *code;
	const char *des; /* the send endpoints' text */
	enum err_level level;
	const char *retry;
	enum err_order order;
	unsigned endpoints;    /* EP_* bits */
	const char *query_des; /* gethbinfo's text, NULL: des */
};

/* The catalogue row of id (borrowed, static). */
const struct err_info *errors_info(enum err_id id);

/* The text of id on an endpoint (EP_S, EP_G or EP_Q). */
const char *errors_des(enum err_id id, enum err_endpoint ep);

/* Names of levels and orders as the catalogue prints them. */
const char *errors_level_name(enum err_level level);
const char *errors_order_name(enum err_order order);

/* The id of an err_code string, or -1 when the catalogue has none. */
int errors_find(const char *code);

/* The outcome of one check or request: a catalogue row and, where the
 * case has its own wording (PARAM_ERROR, FATAL_ERROR), that text. */
struct answer {
	enum err_id err;
	const char *des; /* static string, or NULL for the catalogue text */
};

/* The err_code_des of an answer. */
const char *answer_des(const struct answer *a);
#endif
