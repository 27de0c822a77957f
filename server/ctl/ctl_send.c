/*
 * ctl_send.c - redpack-ctl send: one merchant API call, built from the
 * fixtures' defaults and --set overrides (or a raw file), signed with
 * the merchant's API v2 key, sent with the merchant certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "api.h"
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

static int load_world(const char *path, const char *mch_id, struct world *w)
{
	json_error_t e;
	json_t *root = json_load_file(path, 0, &e), *m, *u;
	size_t i, k;
	int found = 0;

	memset(w, 0, sizeof(*w));
	if (!root) {
		fprintf(stderr, "redpack-ctl: %s: %s\n", path, e.text);
		return -1;
	}
	json_array_foreach(json_object_get(root, "merchants"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "mch_id")) ?: "", mch_id) != 0)
			continue;
		found = 1;
		snprintf(w->key, sizeof(w->key), "%s", json_string_value(json_object_get(m, "api_key")) ?: "");
		snprintf(w->name, sizeof(w->name), "%s", json_string_value(json_object_get(m, "name")) ?: "");
		snprintf(w->appid, sizeof(w->appid), "%s",
			 json_string_value(json_array_get(json_object_get(m, "apps"), 0)) ?: "");
	}
	json_array_foreach(json_object_get(root, "users"), k, u)
		if (!w->openid[0] && strcmp(json_string_value(json_object_get(u, "appid")) ?: "", w->appid) == 0)
			snprintf(w->openid, sizeof(w->openid), "%s",
				 json_string_value(json_object_get(u, "openid")) ?: "");
	if (!w->openid[0])
		snprintf(w->openid, sizeof(w->openid), "oCtlUser%08u", (unsigned)time(NULL) % 100000000);
	json_decref(root);
	return found ? 0 : -1;
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
			fprintf(stderr, "redpack-ctl: --set wants NAME=VALUE, not \"%s\"\n", s->set[i]);
			return -1;
		}
		char *name = xstrndup(s->set[i], (size_t)(eq - s->set[i]));
		size_t k;
		for (k = 0; k < f->count && strcmp(f->items[k].name, name) != 0; k++)
			;
		if (k < f->count) {
			free(f->items[k].value);
			f->items[k].value = xstrdup(eq + 1);
		} else {
			kvlist_add(f, name, eq + 1);
		}
		free(name);
	}
	for (int i = 0; i < s->nunset; i++)
		for (size_t k = 0; k < f->count; k++)
			if (strcmp(f->items[k].name, s->unset[i]) == 0) {
				free(f->items[k].value);
				free(f->items[k].name);
				f->items[k] = f->items[--f->count];
				break;
			}
	return 0;
}

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
	for (int i = 1; i < argc; i++) {
		size_t k;
		if (argv[i][0] != '-') {
			if (s->endpoint)
				return -1;
			s->endpoint = argv[i];
			continue;
		}
		if (i + 1 == argc)
			return -1;
		if (strcmp(argv[i], "--set") == 0 && s->nset < 32) {
			s->set[s->nset++] = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--unset") == 0 && s->nunset < 16) {
			s->unset[s->nunset++] = argv[++i];
			continue;
		}
		for (k = 0; k < sizeof(single) / sizeof(single[0]); k++)
			if (strcmp(argv[i], single[k].flag) == 0)
				break;
		if (k == sizeof(single) / sizeof(single[0]))
			return -1;
		*(const char **)((char *)s + single[k].offset) = argv[++i];
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
	if (parse(argc, argv, &s) != 0) {
		fprintf(stderr, "usage: redpack-ctl %s\n", ctl_send_usage);
		goto out;
	}
	s.endpoint = s.endpoint ? s.endpoint : "sendgroupredpack";
	s.api = s.api ? s.api : (getenv("REDPACK_API") ?: "https://127.0.0.1:8443");
	s.certs = s.certs ? s.certs : "var/certs";
	s.fixtures = s.fixtures ? s.fixtures : "fixtures/default.json";
	s.mch_id = s.mch_id ? s.mch_id : "10000098";
	buf_printf(&path, "/mmpaymkttransfers/%s", s.endpoint);
	if (!api_route(path.data)) {
		fprintf(stderr, "redpack-ctl: unknown endpoint %s\n", s.endpoint);
		goto out;
	}
	if (s.raw) {
		raw = read_file(s.raw, &raw_len);
		if (!raw) {
			fprintf(stderr, "redpack-ctl: cannot read %s\n", s.raw);
			goto out;
		}
	} else {
		char hex[SIGN_HEX_LEN + 1];
		int known = load_world(s.fixtures, s.mch_id, &w) == 0;
		if (s.key) {
			snprintf(w.key, sizeof(w.key), "%s", s.key);
		} else if (!known) {
			fprintf(stderr, "redpack-ctl: %s lists no merchant %s (give --key and --set)\n",
				s.fixtures, s.mch_id);
			goto out;
		}
		defaults(s.endpoint, s.mch_id, &w, &fields);
		if (overrides(&s, &fields) != 0)
			goto out;
		/* A --set sign=... is sent as given; otherwise sign it. */
		if (!kvlist_lookup(&fields, "sign")) {
			sign_compute(&fields, api_signed_fields(api_route(path.data)), w.key, hex);
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
			     strstr(resp.body.data, "<result_code><![CDATA[SUCCESS]]></result_code>")
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
