/*
 * ctl_send.c - redpack-ctl send: one merchant API call, built from the
 * fixtures' defaults and --set overrides (or a raw file), signed with
 * the merchant's API v2 key, sent with the merchant certificate.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "endpoints.h"
#include "ctl.h"
#include "ctl_http.h"
#include "kv.h"
#include "sign.h"
#include "util.h"
#include "xmlcodec.h"

const char ctl_send_usage[] =
	"send [sendgroupredpack|sendredpack|gethbinfo] [--api URL] [--certs DIR] "
	"[--fixtures FILE] [--mch-id ID] [--key KEY] [--set NAME=VALUE]... [--unset NAME]... "
	"[--header 'Name: value'] [--raw FILE]";

struct send_opts {
	const char *endpoint, *api, *certs, *fixtures, *mch_id, *key, *header, *raw;
	const char *set[32];
	int nset;
	const char *unset[16];
	int nunset;
};

/* A merchant's key, name, first app and a user of that app, from the
 * fixtures (what the defaults are made of). */
struct world {
	char key[128], name[128], appid[64], openid[64];
};

/* Returns 0, 1 when the file lists no such merchant, -1 when the file
 * cannot be read or is not JSON (said on stderr). */
static int load_world(const char *path, const char *mch_id, struct world *w)
{
	json_error_t e;
	json_t *root, *m, *u;
	size_t i, k;
	int found = 0;
	FILE *f;

	memset(w, 0, sizeof(*w));
	if (!(f = fopen(path, "rb"))) {
		fprintf(stderr, "redpack-ctl: cannot open %s: %s (give --fixtures FILE)\n", path,
			strerror(errno));
		return -1;
	}
	root = json_loadf(f, 0, &e);
	fclose(f);
	if (!root) {
		fprintf(stderr, "redpack-ctl: %s:%d:%d: not the fixtures' JSON: %s\n", path, e.line,
			e.column, e.text);
		return -1;
	}
	json_array_foreach(json_object_get(root, "merchants"), i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "mch_id")) ?: "", mch_id) != 0)
			continue;
		found = 1;
		snprintf(w->key, sizeof(w->key), "%s",
			 json_string_value(json_object_get(m, "api_key")) ?: "");
		snprintf(w->name, sizeof(w->name), "%s",
			 json_string_value(json_object_get(m, "name")) ?: "");
		snprintf(w->appid, sizeof(w->appid), "%s",
			 json_string_value(json_array_get(json_object_get(m, "apps"), 0)) ?: "");
	}
	json_array_foreach(
		json_object_get(root, "users"), k,
		u) if (!w->openid[0] &&
		       strcmp(json_string_value(json_object_get(u, "appid")) ?: "", w->appid) == 0)
		snprintf(w->openid, sizeof(w->openid), "%s",
			 json_string_value(json_object_get(u, "openid")) ?: "");
	if (!w->openid[0])
		snprintf(w->openid, sizeof(w->openid), "oCtlUser%08u",
			 (unsigned)time(NULL) % 100000000);
	json_decref(root);
	return found ? 0 : 1;
}

static int can_open_quietly(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fclose(f);
	return 0;
}

/* 0 when path can be opened for reading; else says why (and what the
 * file is for) on stderr and returns -1. */
static int can_open(const char *path, const char *hint)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "redpack-ctl: cannot open %s: %s (%s)\n", path, strerror(errno),
			hint);
		return -1;
	}
	fclose(f);
	return 0;
}

static void random_digits(char *out, size_t n)
{
	unsigned char raw[32];
	RAND_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < n; i++)
		out[i] = (char)('0' + raw[i % sizeof(raw)] % 10);
	out[n] = '\0';
}

static void defaults(const char *endpoint, const char *mch_id, const struct world *w,
		     struct kvlist *f)
{
	char billno[64], nonce[33], ymd[16], digits[16];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ymd, sizeof(ymd), "%Y%m%d", &tm);
	random_digits(digits, 10);
	snprintf(billno, sizeof(billno), "%.10s%s%s", mch_id, ymd, digits);
	random_digits(nonce, 32);
	kvlist_add(f, "mch_billno", billno);
	kvlist_add(f, "mch_id", mch_id);
	if (strcmp(endpoint, "gethbinfo") == 0) {
		kvlist_add(f, "appid", w->appid);
		kvlist_add(f, "bill_type", "MCHT");
	} else {
		int group = strcmp(endpoint, "sendgroupredpack") == 0;
		kvlist_add(f, "wxappid", w->appid);
		kvlist_add(f, "send_name", w->name[0] ? w->name : "redpack-ctl");
		kvlist_add(f, "re_openid", w->openid);
		kvlist_add(f, "total_amount", group ? "300" : "100");
		kvlist_add(f, "total_num", group ? "3" : "1");
		if (group)
			kvlist_add(f, "amt_type", "ALL_RAND");
		else
			kvlist_add(f, "client_ip", "127.0.0.1");
		kvlist_add(f, "wishing", "恭喜发财");
		kvlist_add(f, "act_name", "新年红包");
		kvlist_add(f, "remark", "新年红包");
	}
	kvlist_add(f, "nonce_str", nonce);
}

/* Applies --set NAME=VALUE and --unset NAME to f. */
static int overrides(const struct send_opts *s, struct kvlist *f)
{
	for (int i = 0; i < s->nset; i++) {
		const char *eq = strchr(s->set[i], '=');
		if (!eq || eq == s->set[i]) {
			fprintf(stderr, "redpack-ctl: --set wants NAME=VALUE, not \"%s\"\n",
				s->set[i]);
			return -1;
		}
		char *name = xstrndup(s->set[i], (size_t)(eq - s->set[i]));
		size_t k;
		for (k = 0; k < f->count && strcmp(f->items[k].name, name) != 0; k++)
			;
		if (k < f->count) {
			kvlist_set(f, k, eq + 1);
		} else {
			kvlist_add(f, name, eq + 1);
		}
		free(name);
	}
	for (int i = 0; i < s->nunset; i++)
		for (size_t k = 0; k < f->count; k++)
			if (strcmp(f->items[k].name, s->unset[i]) == 0) {
				kvlist_remove(f, k);
				break;
			}
	return 0;
}

/* Parses send's arguments into s: "--name value" or "--name=value".
 * Returns 0, or -1 having said what is wrong (the unknown option by
 * name, a missing value, a second endpoint). */
static int parse(int argc, char **argv, struct send_opts *s)
{
	static const struct {
		const char *flag;
		size_t offset;
	} single[] = {
		{"--api", offsetof(struct send_opts, api)},
		{"--certs", offsetof(struct send_opts, certs)},
		{"--fixtures", offsetof(struct send_opts, fixtures)},
		{"--mch-id", offsetof(struct send_opts, mch_id)},
		{"--key", offsetof(struct send_opts, key)},
		{"--header", offsetof(struct send_opts, header)},
		{"--raw", offsetof(struct send_opts, raw)},
	};
	static const char see[] = " for send (see redpack-ctl send --help)";
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *value;
		size_t k, len;
		if (arg[0] != '-' || arg[1] == '\0') {
			if (s->endpoint) {
				fprintf(stderr, "redpack-ctl: unexpected argument '%s'%s\n", arg,
					see);
				return -1;
			}
			s->endpoint = arg;
			continue;
		}
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		int set = len == 5 && strncmp(arg, "--set", 5) == 0;
		int unset = len == 7 && strncmp(arg, "--unset", 7) == 0;
		for (k = 0; k < sizeof(single) / sizeof(single[0]); k++)
			if (strlen(single[k].flag) == len && strncmp(arg, single[k].flag, len) == 0)
				break;
		if (!set && !unset && k == sizeof(single) / sizeof(single[0])) {
			fprintf(stderr, "redpack-ctl: unknown option '%.*s'%s\n",
				(int)(len < 60 ? len : 60), arg, see);
			return -1;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 == argc) {
			fprintf(stderr, "redpack-ctl: option '%s' needs a value%s\n", arg, see);
			return -1;
		} else {
			value = argv[++i];
		}
		if (set || unset) {
			if ((set && s->nset == 32) || (unset && s->nunset == 16)) {
				fprintf(stderr, "redpack-ctl: option '%.*s' given too often%s\n",
					(int)len, arg, see);
				return -1;
			}
			if (set)
				s->set[s->nset++] = value;
			else
				s->unset[s->nunset++] = value;
			continue;
		}
		*(const char **)((char *)s + single[k].offset) = value;
	}
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

static void print_answer_json(const char *xml, size_t len)
{
	struct kvlist f;
	json_t *j = json_object();
	char *text;

	kvlist_init(&f);
	if (xmlcodec_parse(xml, len, &f) == 0)
		for (size_t i = 0; i < f.count; i++)
			json_object_set_new(j, f.items[i].name, json_string(f.items[i].value));
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(text ? text : "{}");
	free(text);
	json_decref(j);
	kvlist_release(&f);
}

int ctl_send(const struct options *o, int argc, char **argv)
{
	struct send_opts s = {0};
	struct world w;
	struct kvlist fields;
	struct buf body, path, cert, key, ca;
	struct ctl_response resp;
	char *raw = NULL;
	size_t raw_len = 0;
	int rc = EXIT_USAGE;

	kvlist_init(&fields);
	buf_init(&body);
	buf_init(&path);
	buf_init(&cert);
	buf_init(&key);
	buf_init(&ca);
	memset(&resp, 0, sizeof(resp));
	buf_init(&resp.body);
	if (parse(argc, argv, &s) != 0)
		goto out;
	s.endpoint = s.endpoint ? s.endpoint : "sendgroupredpack";
	s.api = s.api ? s.api : (getenv("REDPACK_API") ?: "https://127.0.0.1:8443");
	s.certs = s.certs ? s.certs : (getenv("REDPACK_CERTS") ?: "var/certs");
	int fixtures_given = s.fixtures != NULL || getenv("REDPACK_FIXTURES");
	s.fixtures = s.fixtures ? s.fixtures
				: (getenv("REDPACK_FIXTURES") ?: "fixtures/default.json");
	s.mch_id = s.mch_id ? s.mch_id : "10000098";
	buf_printf(&path, "/mmpaymkttransfers/%s", s.endpoint);
	if (endpoint_by_path(path.data) < 0) {
		fprintf(stderr,
			"redpack-ctl: unknown endpoint '%s' (sendgroupredpack, sendredpack or "
			"gethbinfo)\n",
			s.endpoint);
		goto out;
	}
	if (s.raw) {
		raw = read_file(s.raw, &raw_len);
		if (!raw) {
			fprintf(stderr, "redpack-ctl: cannot open %s: %s\n", s.raw,
				strerror(errno));
			goto out;
		}
	} else {
		char hex[SIGN_HEX_LEN + 1];
		int known = 1;
		/* With --key the fixtures are optional, unless named. */
		if (s.key && !fixtures_given && can_open_quietly(s.fixtures) != 0)
			memset(&w, 0, sizeof(w));
		else if ((known = load_world(s.fixtures, s.mch_id, &w)) < 0)
			goto out;
		if (s.key) {
			snprintf(w.key, sizeof(w.key), "%s", s.key);
		} else if (known == 1) {
			fprintf(stderr,
				"redpack-ctl: %s lists no merchant %s (give --key and --set)\n",
				s.fixtures, s.mch_id);
			goto out;
		}
		defaults(s.endpoint, s.mch_id, &w, &fields);
		if (overrides(&s, &fields) != 0)
			goto out;
		/* A --set sign=... is sent as given; otherwise sign it. */
		if (!kvlist_lookup(&fields, "sign")) {
			sign_compute(&fields, &endpoint_signed[endpoint_by_path(path.data)], w.key,
				     hex);
			kvlist_add(&fields, "sign", hex);
		}
		xmlcodec_begin(&body);
		for (size_t i = 0; i < fields.count; i++)
			xmlcodec_cdata(&body, fields.items[i].name, fields.items[i].value);
		xmlcodec_end(&body);
	}
	buf_printf(&ca, "%s/ca.pem", s.certs);
	buf_printf(&cert, "%s/%s/apiclient_cert.pem", s.certs, s.mch_id);
	buf_printf(&key, "%s/%s/apiclient_key.pem", s.certs, s.mch_id);
	if (can_open(ca.data, "give --certs DIR, made by scripts/gen-certs.sh") != 0 ||
	    can_open(cert.data, "no certificate of this merchant under --certs") != 0 ||
	    can_open(key.data, "no key of this merchant under --certs") != 0)
		goto out;
	struct ctl_tls tls = {ca.data, cert.data, key.data};
	if (ctl_https_post(s.api, path.data, raw ? raw : body.data, raw ? raw_len : body.len, &tls,
			   s.header, o->timeout, &resp) != 0) {
		fprintf(stderr, "redpack-ctl: %s: %s\n", s.api, resp.error);
		goto out;
	}
	if (o->json)
		print_answer_json(resp.body.data ? resp.body.data : "", resp.body.len);
	else
		printf("%s\n", resp.body.data ? resp.body.data : "");
	rc = resp.status == 200 && resp.body.data &&
			     strstr(resp.body.data,
				    "<result_code><![CDATA[SUCCESS]]></result_code>")
		     ? 0
		     : EXIT_NO;
	if (resp.status != 200)
		fprintf(stderr, "redpack-ctl: HTTP %d\n", resp.status);
out:
	free(raw);
	kvlist_release(&fields);
	buf_release(&body);
	buf_release(&path);
	buf_release(&cert);
	buf_release(&key);
	buf_release(&ca);
	buf_release(&resp.body);
	return rc;
}
