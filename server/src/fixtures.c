/*
 * fixtures.c - the fixtures file: strict parsing with jansson, loading
 * into the store through the ledger (every balance has its movement).
 */
#include "fixtures.h"

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include <jansson.h>

#include "redpack.h"
#include "util.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static const char *const merchant_keys[] = {"mch_id",	   "name",	   "api_key", "balance",
					    "apps",	   "mobile_apps",  "scenes",  "limits",
					    "api_enabled", "ip_allowlist", NULL};
static const char *const scene_ids[] = {"PRODUCT_1", "PRODUCT_2", "PRODUCT_3",
					"PRODUCT_4", "PRODUCT_5", "PRODUCT_6",
					"PRODUCT_7", "PRODUCT_8", NULL};

static int in_list(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(k, *list) == 0)
			return 1;
	return 0;
}

static int is_digits(const char *s, size_t max)
{
	int64_t n;
	return strlen(s) <= max && parse_digits(s, &n) == 0;
}

/* A string of 1..max bytes without control characters. */
static const char *short_string(json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > max)
		return NULL;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return NULL;
	return s;
}

/* The shape of a value the real service issued: length, a fixed prefix,
 * then characters from one set. What it could not have issued, a
 * fixtures file cannot have either. */
struct shape {
	size_t min, max; /* whole length, prefix included */
	const char *prefix;
	const char *chars;
	const char *rule; /* for the message */
};

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const struct shape shape_api_key = {32, 32, "", ALNUM,
					   "32 letters and digits (an API v2 key)"};
static const struct shape shape_appid = {18, 18, "wx", "0123456789abcdef",
					 "\"wx\" and 16 lower-case hex digits (an appid)"};
static const struct shape shape_openid = {1, 32, "", ALNUM "-_",
					  "1-32 letters, digits, '-' or '_' (an openid)"};

static int has_shape(const char *s, const struct shape *sh)
{
	size_t n = s ? strlen(s) : 0, plen = strlen(sh->prefix);
	return n >= sh->min && n <= sh->max && strncmp(s, sh->prefix, plen) == 0 &&
	       strspn(s + plen, sh->chars) == n - plen;
}

static int check_id_list(json_t *list, const char *where, int scenes, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list)) {
		ERR("%s must be an array of strings", where);
		return -1;
	}
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		if (scenes ? !s || !in_list(s, scene_ids) : !has_shape(s, &shape_appid)) {
			ERR("%s[%zu] must be %s", where, i,
			    scenes ? "one of PRODUCT_1..PRODUCT_8" : shape_appid.rule);
			return -1;
		}
	}
	return 0;
}

int fixtures_allowlist(json_t *list, char *out, size_t outlen)
{
	size_t i, used = 0;
	json_t *v;
	struct in_addr a;

	out[0] = '\0';
	if (!list)
		return 0;
	if (!json_is_array(list))
		return -1;
	json_array_foreach(list, i, v)
	{
		const char *ip = json_string_value(v);
		if (!ip || inet_pton(AF_INET, ip, &a) != 1 || used + strlen(ip) + 2 > outlen)
			return -1;
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? " " : "", ip);
	}
	return 0;
}

static int check_merchant(json_t *m, size_t idx, json_t *seen, struct merchant *out, char *err,
			  size_t errlen)
{
	const char *key;
	json_t *v;
	char where[64];

	snprintf(where, sizeof(where), "merchants[%zu]", idx);
	if (!json_is_object(m)) {
		ERR("%s must be an object", where);
		return -1;
	}
	json_object_foreach(m, key, v)
	{
		if (!in_list(key, merchant_keys)) {
			ERR("%s: unknown key \"%s\"", where, key);
			return -1;
		}
	}
	memset(out, 0, sizeof(*out));
	const char *mch_id = short_string(json_object_get(m, "mch_id"), 32);
	if (!mch_id || !is_digits(mch_id, 32)) {
		ERR("%s.mch_id must be a string of 1-32 digits", where);
		return -1;
	}
	if (json_object_get(seen, mch_id)) {
		ERR("%s.mch_id \"%s\" appears twice", where, mch_id);
		return -1;
	}
	json_object_set_new(seen, mch_id, json_true());
	const char *name = short_string(json_object_get(m, "name"), sizeof(out->name) - 1);
	if (!name) {
		ERR("%s.name must be a non-empty string", where);
		return -1;
	}
	const char *api_key = json_string_value(json_object_get(m, "api_key"));
	if (!has_shape(api_key, &shape_api_key)) {
		ERR("%s.api_key must be %s", where, shape_api_key.rule);
		return -1;
	}
	json_t *balance = json_object_get(m, "balance");
	if (!json_is_integer(balance) || json_integer_value(balance) < 0) {
		ERR("%s.balance must be an integer number of fen >= 0", where);
		return -1;
	}
	snprintf(out->mch_id, sizeof(out->mch_id), "%s", mch_id);
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->api_key, sizeof(out->api_key), "%s", api_key);
	out->balance = json_integer_value(balance);

	snprintf(where, sizeof(where), "merchants[%zu].apps", idx);
	if (check_id_list(json_object_get(m, "apps"), where, 0, err, errlen) != 0)
		return -1;
	if (json_object_get(m, "mobile_apps")) {
		snprintf(where, sizeof(where), "merchants[%zu].mobile_apps", idx);
		if (check_id_list(json_object_get(m, "mobile_apps"), where, 0, err, errlen) != 0)
			return -1;
	}
	if (json_object_get(m, "scenes")) {
		snprintf(where, sizeof(where), "merchants[%zu].scenes", idx);
		if (check_id_list(json_object_get(m, "scenes"), where, 1, err, errlen) != 0)
			return -1;
	}

	json_t *enabled = json_object_get(m, "api_enabled");
	if (enabled && !json_is_boolean(enabled)) {
		ERR("merchants[%zu].api_enabled must be true or false", idx);
		return -1;
	}
	out->api_closed = enabled && !json_is_true(enabled);
	if (fixtures_allowlist(json_object_get(m, "ip_allowlist"), out->ip_allowlist,
			       sizeof(out->ip_allowlist)) != 0) {
		ERR("merchants[%zu].ip_allowlist must be an array of IPv4 addresses", idx);
		return -1;
	}

	json_t *limits = json_object_get(m, "limits");
	if (limits && !json_is_object(limits)) {
		ERR("merchants[%zu].limits must be an object", idx);
		return -1;
	}
	for (size_t i = 0; i < REDPACK_LIMITS; i++)
		*redpack_limit_of(out, i) = redpack_limits[i].dflt;
	json_object_foreach(limits, key, v)
	{
		size_t i;
		for (i = 0; i < REDPACK_LIMITS; i++)
			if (strcmp(key, redpack_limits[i].name) == 0)
				break;
		if (i == REDPACK_LIMITS) {
			ERR("merchants[%zu].limits: unknown key \"%s\"", idx, key);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			ERR("merchants[%zu].limits.%s must be an integer >= 0 (0: unlimited)", idx,
			    key);
			return -1;
		}
		*redpack_limit_of(out, i) = json_integer_value(v);
	}
	return 0;
}

/* Whether appid is one of any merchant's apps or mobile_apps. */
static int owned_appid(json_t *merchants, const char *appid)
{
	static const char *const lists[] = {"apps", "mobile_apps"};
	size_t i, j;
	json_t *m, *v;

	json_array_foreach(merchants, i, m)
	{
		for (size_t l = 0; l < 2; l++)
			json_array_foreach(json_object_get(m, lists[l]), j,
					   v) if (strcmp(json_string_value(v), appid) ==
						  0) return 1;
	}
	return 0;
}

static int check_user(json_t *u, size_t idx, json_t *merchants, json_t *seen, char *err,
		      size_t errlen)
{
	const char *key, *openid, *appid;
	json_t *v;

	if (!json_is_object(u)) {
		ERR("users[%zu] must be an object", idx);
		return -1;
	}
	json_object_foreach(u, key, v)
	{
		if (strcmp(key, "openid") != 0 && strcmp(key, "appid") != 0) {
			ERR("users[%zu]: unknown key \"%s\"", idx, key);
			return -1;
		}
	}
	openid = json_string_value(json_object_get(u, "openid"));
	appid = json_string_value(json_object_get(u, "appid"));
	if (!has_shape(openid, &shape_openid)) {
		ERR("users[%zu].openid must be %s", idx, shape_openid.rule);
		return -1;
	}
	if (!has_shape(appid, &shape_appid)) {
		ERR("users[%zu].appid must be %s", idx, shape_appid.rule);
		return -1;
	}
	if (!owned_appid(merchants, appid)) {
		ERR("users[%zu].appid \"%s\" must be in some merchant's apps or mobile_apps "
		    "(an openid is issued under an appid a merchant holds)",
		    idx, appid);
		return -1;
	}
	if (json_object_get(seen, openid)) {
		ERR("users[%zu].openid \"%s\" appears twice (an openid belongs to one appid)", idx,
		    openid);
		return -1;
	}
	json_object_set_new(seen, openid, json_true());
	return 0;
}

/* Checks the whole document; merchants_out (may be NULL) receives one
 * struct merchant per merchant, in order (caller frees). */
static int check_document(json_t *root, struct merchant **merchants_out, char *err, size_t errlen)
{
	const char *key;
	json_t *v, *merchants, *users, *seen;
	struct merchant *parsed = NULL;
	size_t i;
	int rc = -1;

	if (!json_is_object(root)) {
		ERR("the top level must be an object");
		return -1;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "merchants") != 0 && strcmp(key, "users") != 0) {
			ERR("unknown top-level key \"%s\"", key);
			return -1;
		}
	}
	merchants = json_object_get(root, "merchants");
	users = json_object_get(root, "users");
	if (!json_is_array(merchants) || json_array_size(merchants) == 0) {
		ERR("\"merchants\" must be a non-empty array");
		return -1;
	}
	if (users && !json_is_array(users)) {
		ERR("\"users\" must be an array");
		return -1;
	}
	seen = json_object();
	parsed = xcalloc(json_array_size(merchants), sizeof(*parsed));
	json_array_foreach(merchants, i, v)
	{
		if (check_merchant(v, i, seen, &parsed[i], err, errlen) != 0)
			goto out;
	}
	json_object_clear(seen);
	json_array_foreach(users, i, v)
	{
		if (check_user(v, i, merchants, seen, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(seen);
	if (rc == 0 && merchants_out)
		*merchants_out = parsed;
	else
		free(parsed);
	return rc;
}

int fixtures_check_text(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!root) {
		ERR("line %d: %s", jerr.line, jerr.text);
		return -1;
	}
	rc = check_document(root, NULL, err, errlen);
	json_decref(root);
	return rc;
}

static int insert_ids(struct store *s, const char *mch_id, json_t *list, const char *kind)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		int rc = kind ? store_app_insert(s, mch_id, json_string_value(v), kind)
			      : store_scene_insert(s, mch_id, json_string_value(v));
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Writes the fixtures' world, or only merchant only (NULL: all, users too). */
static int write_world(struct store *s, json_t *root, const struct merchant *parsed, int64_t now,
		       const char *only)
{
	json_t *merchants = json_object_get(root, "merchants");
	json_t *users = json_object_get(root, "users");
	json_t *all_scenes = json_array();
	size_t i;
	json_t *v;
	int rc = -1;

	for (const char *const *sc = scene_ids; *sc; sc++)
		json_array_append_new(all_scenes, json_string(*sc));
	json_array_foreach(merchants, i, v)
	{
		const struct merchant *m = &parsed[i];
		json_t *scenes = json_object_get(v, "scenes");
		if (only && strcmp(only, m->mch_id) != 0)
			continue;
		if (store_merchant_insert(s, m) != 0 ||
		    insert_ids(s, m->mch_id, json_object_get(v, "apps"), "MP") != 0 ||
		    insert_ids(s, m->mch_id, json_object_get(v, "mobile_apps"), "APP") != 0 ||
		    insert_ids(s, m->mch_id, scenes ? scenes : all_scenes, NULL) != 0)
			goto out;
		if (m->balance &&
		    store_ledger_add(s, m->mch_id, m->balance, "fixture", 0, now) != 0)
			goto out;
	}
	json_array_foreach(only ? NULL : users, i, v)
	{
		if (store_user_insert(s, json_string_value(json_object_get(v, "openid")),
				      json_string_value(json_object_get(v, "appid"))) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(all_scenes);
	return rc;
}

/* The fixtures file parsed and checked: its root (the caller's to
 * json_decref) and *parsed (the caller's to free), or NULL with err set. */
static json_t *load_checked(const char *path, struct merchant **parsed, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char what[256];

	*parsed = NULL;
	if (!root) {
		if (jerr.line > 0)
			ERR("%s:%d: %s", path, jerr.line, jerr.text);
		else
			ERR("%s: %s", path, jerr.text);
		return NULL;
	}
	if (check_document(root, parsed, what, sizeof(what)) != 0) {
		ERR("%s: %s", path, what);
		free(*parsed);
		*parsed = NULL;
		json_decref(root);
		return NULL;
	}
	return root;
}

int fixtures_load(struct store *s, const char *path, int64_t now, int force, char *err,
		  size_t errlen)
{
	struct merchant *parsed;
	json_t *root = load_checked(path, &parsed, err, errlen);
	int rc = -1, empty;

	if (!root)
		return -1;
	/* Whether the world is there yet, decided inside the transaction that
	 * writes it: processes starting together on one PostgreSQL database
	 * load it once (their writes take turns, docs/postgresql.md). */
	if (store_begin(s) != 0 || (empty = store_is_empty(s)) < 0) {
		store_rollback(s);
		ERR("%s: cannot read the database", path);
		goto out;
	}
	if (!empty && !force) {
		store_rollback(s);
		rc = 0;
		goto out;
	}
	if (write_world(s, root, parsed, now, NULL) != 0 || store_commit(s) != 0) {
		store_rollback(s);
		ERR("%s: cannot write the fixtures into the database (see the log; an openid or "
		    "appid "
		    "listed twice?)",
		    path);
		goto out;
	}
	rc = 1;
out:
	free(parsed);
	json_decref(root);
	return rc;
}

struct world_fill {
	json_t *root;
	const struct merchant *parsed;
	int64_t now;
};

static int on_fill(void *arg, struct store *fresh)
{
	struct world_fill *w = arg;
	if (store_begin(fresh) != 0 || write_world(fresh, w->root, w->parsed, w->now, NULL) != 0 ||
	    store_commit(fresh) != 0) {
		store_rollback(fresh);
		return -1;
	}
	return 0;
}

int fixtures_lists(const char *path, const char *mch_id, char *err, size_t errlen)
{
	struct merchant *parsed;
	json_t *root = load_checked(path, &parsed, err, errlen);
	int rc = 0;
	size_t i;
	json_t *v;

	if (!root)
		return -1;
	json_array_foreach(json_object_get(root, "merchants"), i, v)
		rc |= strcmp(parsed[i].mch_id, mch_id) == 0;
	free(parsed);
	json_decref(root);
	return rc;
}

int fixtures_reset(struct store *s, const char *path, const char *mch_id, int64_t now, char *err,
		   size_t errlen)
{
	struct merchant *parsed;
	json_t *root = load_checked(path, &parsed, err, errlen);
	int rc = -1, listed = 0;
	size_t i;
	json_t *v;

	if (!root)
		return -1;
	json_array_foreach(json_object_get(root, "merchants"), i, v)
		listed |= mch_id && strcmp(parsed[i].mch_id, mch_id) == 0;
	if (mch_id && !listed) {
		rc = 1;
		goto out;
	}
	/* Everything: a fresh database swapped in, at the cost of the
	 * fixtures, whatever the old one held. */
	if (!mch_id && store_can_replace(s)) {
		struct world_fill w = {root, parsed, now};
		char why[256];
		if (store_replace(s, on_fill, &w, why, sizeof(why)) != 0) {
			ERR("%s: the database could not be reset: %s", path, why);
			goto out;
		}
		rc = 0;
		goto out;
	}
	/* store_wipe deletes children before parents, so no row is left
	 * dangling. */
	if (store_begin(s) != 0 || store_wipe(s, mch_id) != 0 ||
	    write_world(s, root, parsed, now, mch_id) != 0 || store_commit(s) != 0) {
		store_rollback(s);
		ERR("%s: the database could not be reset (see the log)", path);
		goto out;
	}
	rc = 0;
out:
	free(parsed);
	json_decref(root);
	return rc;
}
