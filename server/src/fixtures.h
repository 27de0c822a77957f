/*
 * fixtures.h - the world the server starts with (DESIGN.md, "Fixtures"):
 * merchants, their apps and limits, users bound to apps.
 */
#ifndef REDPACK_FIXTURES_H
#define REDPACK_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* Absent limits take the real service's defaults: redpack_limits
 * (redpack.h). */

/* Reads and checks the JSON fixtures at path, then, when the store is
 * still empty (or always, if force), writes them in one transaction at
 * business time now. Returns 1 when loaded, 0 when the store already
 * held a world, -1 with "path: what is wrong" in err. */
int fixtures_load(struct store *s, const char *path, int64_t now, int force, char *err,
		  size_t errlen);

/* An "ip_allowlist" JSON array (NULL: none) as the store keeps it, a
 * space-separated string, into out. Returns 0, or -1 when it is not an
 * array of IPv4 addresses or does not fit. */
int fixtures_allowlist(json_t *list, char *out, size_t outlen);

/* Back to the fixtures at path, in one transaction: everything, or only
 * merchant mch_id (which the fixtures must list). Returns 0, 1 when the
 * fixtures do not list mch_id, or -1 with "path: what is wrong". */
int fixtures_reset(struct store *s, const char *path, const char *mch_id, int64_t now, char *err,
		   size_t errlen);

/* Whether the fixtures at path list merchant mch_id: 1, 0, or -1 with
 * "path: what is wrong". */
int fixtures_lists(const char *path, const char *mch_id, char *err, size_t errlen);

/* Checks the JSON text (for fuzzing and tests): 0 valid, -1 with err. */
int fixtures_check_text(const char *text, size_t len, char *err, size_t errlen);

#endif
