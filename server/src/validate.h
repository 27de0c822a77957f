/*
 * validate.h - declarative field rules, one table per endpoint, checked
 * in table order by one walker; the first failing rule answers.
 */
#ifndef REDPACK_VALIDATE_H
#define REDPACK_VALIDATE_H

#include <stdint.h>

#include "errors.h"
#include "kv.h"

enum field_kind {
	FIELD_TEXT,    /* any UTF-8 text */
	FIELD_ALNUM,   /* 0-9 a-z A-Z */
	FIELD_OPENID,  /* 0-9 a-z A-Z - _ ; other characters: bad_format */
	FIELD_DIGITS,  /* a decimal integer in [min, max] */
	FIELD_NUMERIC, /* decimal digits only, any length up to max_chars (ids) */
	FIELD_ENUM,    /* one of allowed */
	FIELD_IPV4,    /* dotted decimal */
	FIELD_SAME_AS, /* cross-field: the value of the field named allowed[0] */
};

struct field_rule {
	const char *name;
	int required;	    /* must be present and non-empty */
	unsigned max_chars; /* 0: no limit; counted in Unicode characters */
	enum field_kind kind;
	int64_t min, max; /* FIELD_DIGITS */
	const char *const
		*allowed;	/* FIELD_ENUM, NULL-terminated; FIELD_SAME_AS: the other field */
	const char *des;	/* PARAM_ERROR text for a missing or bad value */
	const char *bad_format; /* text for a format error, NULL: des */
};

/* The rule tables; each ends with a row whose name is NULL. */
extern const struct field_rule validate_mch_id[];
extern const struct field_rule validate_sendgroupredpack[];
extern const struct field_rule validate_sendredpack[];
extern const struct field_rule validate_gethbinfo[];

/* Walks rules over params. Returns 0 when all hold; otherwise -1 with
 * *failure set to the first failing rule's answer. */
int validate_fields(const struct field_rule *rules, const struct kvlist *params,
		    struct answer *failure);

#endif
