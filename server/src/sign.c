/*
 * sign.c - the v2 MD5 signature.
 */
#include "sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

/* Run for every field of every request against a dozen names: the
 * first byte rules most of them out without a call. */
static int in_list(const char *name, const char *const *list)
{
	for (; list && *list; list++)
		if ((*list)[0] == name[0] && strcmp(*list, name) == 0)
			return 1;
	return 0;
}

static int selected(const char *name, const struct sign_fields *f)
{
	if (strcmp(name, "sign") == 0 || in_list(name, f->exclude))
		return 0;
	return !f->include || in_list(name, f->include);
}

/* Sorted by name, each inserted where it goes: parameters come nearly
 * always sorted already (SDKs sort them to sign), which makes this one
 * comparison each, where qsort made several and a call for each. */
static void sort_by_name(const struct kv **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const struct kv *x = v[i];
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1]->name, x->name) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

void sign_string(const struct kvlist *params, const struct sign_fields *fields, struct buf *out)
{
	const struct kv *stack[64], **picked = stack;
	size_t n = 0;

	if (params->count > sizeof(stack) / sizeof(stack[0]))
		picked = xcalloc(params->count, sizeof(*picked));
	for (size_t i = 0; i < params->count; i++) {
		const struct kv *p = &params->items[i];
		if ((p->value[0] == '\0' && !fields->keep_empty) || !selected(p->name, fields))
			continue;
		picked[n++] = p;
	}
	sort_by_name(picked, n);
	for (size_t i = 0; i < n; i++) {
		size_t name = strlen(picked[i]->name), value = strlen(picked[i]->value);
		buf_reserve(out, name + value + 2);
		char *w = out->data + out->len;
		if (i)
			*w++ = '&';
		memcpy(w, picked[i]->name, name), w += name;
		*w++ = '=';
		memcpy(w, picked[i]->value, value), w += value;
		*w = '\0';
		out->len = (size_t)(w - out->data);
	}
	if (picked != stack)
		free(picked);
}

void sign_compute(const struct kvlist *params, const struct sign_fields *fields, const char *key,
		  char hex[SIGN_HEX_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf s;

	buf_init(&s);
	buf_reserve(&s, 1024); /* a request's string, at once */
	sign_string(params, fields, &s);
	buf_puts(&s, s.len ? "&key=" : "key=");
	buf_puts(&s, key);
	EVP_Digest(s.data, s.len, md, &mdlen, digest_md5(), NULL);
	OPENSSL_cleanse(s.data, s.len);
	buf_release(&s);
	for (unsigned int i = 0; i < 16; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[SIGN_HEX_LEN] = '\0';
}

int sign_verify(const struct kvlist *params, const struct sign_fields *fields, const char *key)
{
	char hex[SIGN_HEX_LEN + 1];
	const char *got = kvlist_lookup(params, "sign");

	if (!got)
		return 0;
	sign_compute(params, fields, key, hex);
	return str_equal_ct(got, hex);
}

/* ---- diagnosis --------------------------------------------------------- */

static int same_as(const struct kvlist *params, const struct sign_fields *f, const char *key,
		   const char *got)
{
	char hex[SIGN_HEX_LEN + 1];
	sign_compute(params, f, key, hex);
	return strcmp(hex, got) == 0;
}

/* Names of the received non-empty parameters the endpoint does not sign
 * (extra) or the endpoint's parameters received empty (empty). */
static void names(const struct kvlist *params, const struct sign_fields *f, int empty,
		  struct buf *out)
{
	for (size_t i = 0; i < params->count; i++) {
		const struct kv *p = &params->items[i];
		int wanted = empty ? p->value[0] == '\0' && selected(p->name, f)
				   : p->value[0] != '\0' && !selected(p->name, f) &&
					     strcmp(p->name, "sign") != 0;
		if (wanted)
			buf_printf(out, "%s%s", out->len ? ", " : "", p->name);
	}
}

void sign_diagnose(const struct kvlist *params, const struct sign_fields *fields, const char *key,
		   struct buf *string_out, struct buf *cause_out)
{
	const char *got = kvlist_lookup(params, "sign");
	const struct sign_fields everything = {NULL, NULL, 0};
	const struct sign_fields with_empty = {fields->include, fields->exclude, 1};
	const struct sign_fields everything_empty = {NULL, NULL, 1};
	char hex[SIGN_HEX_LEN + 1], lower[SIGN_HEX_LEN + 1];
	struct buf list;

	buf_init(&list);
	sign_string(params, fields, string_out);
	buf_puts(string_out, string_out->len ? "&key=***" : "key=***");
	sign_compute(params, fields, key, hex);
	for (int i = 0; i <= SIGN_HEX_LEN; i++)
		lower[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);

	if (!got || !*got) {
		buf_puts(cause_out, "no sign element in the request");
	} else if (strcmp(got, hex) == 0) {
		buf_puts(cause_out,
			 "the sign is right: this SIGN_ERROR was asked for (a magic value "
			 "or a fault rule)");
	} else if (strlen(got) == 64) {
		buf_puts(cause_out,
			 "a 64-digit sign: HMAC-SHA256 is not accepted on the red packet "
			 "endpoints, sign with MD5");
	} else if (strcmp(got, lower) == 0) {
		buf_puts(cause_out, "lower-case hex: the MD5 must be written in upper case");
	} else if (same_as(params, &everything, key, got)) {
		names(params, fields, 0, &list);
		buf_printf(cause_out,
			   "the client signed fields this endpoint does not have: %s "
			   "(the server leaves them out)",
			   list.data);
	} else if (same_as(params, &with_empty, key, got) ||
		   same_as(params, &everything_empty, key, got)) {
		names(params, fields, 1, &list);
		buf_printf(cause_out,
			   "the client signed empty values (%s); empty values are left "
			   "out of the signature",
			   list.data ? list.data : "");
	} else {
		buf_puts(cause_out, "not reproducible with this merchant's API v2 key: a wrong key "
				    "(the API v3 key?), or values changed after signing (spaces, "
				    "encoding: sign the raw UTF-8 text, not URL-encoded)");
	}
	buf_release(&list);
}
