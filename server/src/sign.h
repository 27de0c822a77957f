/*
 * sign.h - the API v2 request signature (MD5 over sorted name=value
 * pairs, "&key=" and the merchant key, 32 upper-case hex digits).
 */
#ifndef REDPACK_SIGN_H
#define REDPACK_SIGN_H

#include "kv.h"
#include "util.h"

#define SIGN_HEX_LEN 32

/* Which parameters are signed: those named in include (NULL: every
 * parameter) and not named in exclude (NULL: none); "sign" never is.
 * Both lists are NULL-terminated. */
struct sign_fields {
	const char *const *include;
	const char *const *exclude;
	int keep_empty; /* sign empty values too (only to diagnose clients) */
};

/* Appends the string-to-sign of params to out, without the "&key=..."
 * suffix: the selected non-empty parameters sorted by name in byte
 * order, joined "name=value" with "&", values raw. */
void sign_string(const struct kvlist *params, const struct sign_fields *fields, struct buf *out);

/* Computes the MD5 signature of params (as sign_string) with key into
 * hex (SIGN_HEX_LEN upper-case digits and a NUL). */
void sign_compute(const struct kvlist *params, const struct sign_fields *fields, const char *key,
		  char hex[SIGN_HEX_LEN + 1]);

/* 1 when the request's "sign" equals the signature computed over fields
 * with key, compared in constant time; 0 otherwise (missing sign too). */
int sign_verify(const struct kvlist *params, const struct sign_fields *fields, const char *key);

/* Why a request's sign is wrong, for the journal: the string the server
 * signed, with the key written as "***", into string_out, and the likely
 * cause (a sentence naming the culprit: an extra signed field such as
 * client_ip or sign_type, a signed empty value, lower case, a 64-digit
 * HMAC, or a wrong key) into cause_out. */
void sign_diagnose(const struct kvlist *params, const struct sign_fields *fields, const char *key,
		   struct buf *string_out, struct buf *cause_out);

#endif
