/*
 * faults.c - magic values.
 */
#include "faults.h"

#include <string.h>

/* The code named by text[0..len), if the catalogue lists it for ep. */
static int lookup(const char *text, size_t len, enum err_endpoint ep)
{
	for (int i = 0; i < ERR__COUNT; i++) {
		const struct err_info *e = errors_info((enum err_id)i);
		if (strlen(e->code) == len && strncmp(e->code, text, len) == 0)
			return (e->endpoints & ep) ? i : -1;
	}
	return -1;
}

int faults_magic(const char *header, const struct kvlist *params, enum err_endpoint ep,
		 const char **ignored)
{
	const char *openid = kvlist_get(params, "re_openid");
	int id;

	*ignored = NULL;
	if (header && *header) {
		id = lookup(header, strlen(header), ep);
		if (id < 0)
			*ignored = header;
		return id;
	}
	if (ep != EP_Q && strncmp(openid, FAULTS_OPENID_PREFIX, strlen(FAULTS_OPENID_PREFIX)) == 0) {
		const char *code = openid + strlen(FAULTS_OPENID_PREFIX);
		id = lookup(code, strcspn(code, "-"), ep);
		if (id < 0)
			*ignored = openid;
		return id;
	}
	return -1;
}
