/*
 * sign.c - the v2 MD5 signature.
 */
#include "sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static int in_list(const char *name, const char *const *list)
{
	for (; list && *list; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

static int selected(const char *name, const struct sign_fields *f)
{
	if (strcmp(name, "sign") == 0 || in_list(name, f->exclude))
		return 0;
	return !f->include || in_list(name, f->include);
}

static int by_name(const void *a, const void *b)
{
	const struct kv *x = *(const struct kv *const *)a;
	const struct kv *y = *(const struct kv *const *)b;
	return strcmp(x->name, y->name);
}

void sign_string(const struct kvlist *params, const struct sign_fields *fields, struct buf *out)
{
	const struct kv **picked = xcalloc(params->count, sizeof(*picked));
	size_t n = 0;

	for (size_t i = 0; i < params->count; i++) {
		const struct kv *p = &params->items[i];
		if (p->value[0] == '\0' || !selected(p->name, fields))
			continue;
		picked[n++] = p;
	}
	qsort(picked, n, sizeof(*picked), by_name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(out, "&");
		buf_printf(out, "%s=%s", picked[i]->name, picked[i]->value);
	}
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
	sign_string(params, fields, &s);
	buf_printf(&s, "%skey=%s", s.len ? "&" : "", key);
	EVP_Digest(s.data, s.len, md, &mdlen, EVP_md5(), NULL);
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
