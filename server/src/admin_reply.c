/*
 * admin_reply.c - the control API's replies, and the body and query
 * readers that answer 400 themselves (admin_reply.h).
 */
#include "admin_reply.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "endpoints.h"
#include "errors.h"
#include "metrics.h"
#include "status.h"

/* ---- the parameters of a call ------------------------------------------ */

void admin_params_release(struct admin_params *p)
{
	for (int i = 0; i < QP__COUNT; i++) {
		free(p->q[i]);
		p->q[i] = NULL;
	}
	json_decref(p->body);
	p->body = NULL;
}

char *admin_segment(const struct admin_params *p, size_t i)
{
	return xstrndup(p->seg[i], p->len[i]);
}

/* ---- replies ----------------------------------------------------------- */

const char *admin_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

void admin_reply_json(struct admin_request *req, int status, json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	req->status = status;
	req->content_type = "application/json";
	buf_reset(&req->reply);
	buf_puts(&req->reply, text ? text : "{}");
	buf_puts(&req->reply, "\n");
	free(text);
	json_decref(json);
}

void admin_reply_error(struct admin_request *req, int status, const char *message)
{
	admin_reply_json(req, status, json_pack("{s:s}", "error", message));
}

/* ---- the body ---------------------------------------------------------- */

json_t *admin_body_or_reply(struct admin_request *req, const char *const *allowed)
{
	json_error_t jerr;
	json_t *j;
	const char *key;
	json_t *v;
	char msg[256];

	if (req->body_len == 0) {
		admin_reply_error(req, 400, "a JSON object body is required");
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		snprintf(msg, sizeof(msg), "the body is not a JSON object%s%s", j ? "" : ": ",
			 j ? "" : jerr.text);
		json_decref(j);
		admin_reply_error(req, 400, msg);
		return NULL;
	}
	json_object_foreach(j, key, v)
	{
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (!*a) {
			snprintf(msg, sizeof(msg), "unknown key \"%.64s\"", key);
			json_decref(j);
			admin_reply_error(req, 400, msg);
			return NULL;
		}
	}
	return j;
}

/* ---- query parameters -------------------------------------------------- */

static int valid_id(const char *v)
{
	size_t n = strlen(v);
	return n <= 32 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789_-") == n;
}

static int valid_status(const char *v)
{
	return status_parse(v) >= 0;
}

/* "must be one of SENDING SENT ...", from status.def. */
static const char status_rule[] = "must be one of"
#define STATUS(name, issued, meaning) " " #name
#include "status.def"
#undef STATUS
	;

static int valid_text(const char *v)
{
	return strlen(v) <= 64;
}

static int valid_err_code(const char *v)
{
	return errors_find(v) >= 0;
}

static int valid_limit(const char *v)
{
	int64_t n;
	return parse_digits(v, &n) == 0 && n >= 1 && n <= ADMIN_PAGE_MAX;
}

static int valid_cursor(const char *v)
{
	int64_t n;
	return parse_digits(v, &n) == 0 && n >= 1;
}

static int valid_endpoint(const char *v)
{
	for (int i = 0; i < ENDPOINT__COUNT; i++)
		if (strcmp(metrics_endpoint_name(i), v) == 0)
			return 1;
	return 0;
}

/* A business time: ISO 8601 with its offset, or epoch seconds. */
static int valid_time(const char *v)
{
	int64_t t;
	return admin_parse_time(v, &t) == 0;
}

int admin_parse_time(const char *v, int64_t *t)
{
	return parse_digits(v, t) == 0 || clock_parse_iso8601(v, t) == 0 ? 0 : -1;
}

static int valid_bool(const char *v)
{
	return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
}

static const struct query_spec {
	const char *name;
	int (*valid)(const char *v); /* the decoded value, non-empty UTF-8 */
	const char *rule;
} query_specs[QP__COUNT] = {
	[QP_MCH_ID] = {"mch_id", valid_id, "must be 1-32 letters, digits, '_' or '-'"},
	[QP_STATUS] = {"status", valid_status, status_rule},
	[QP_MCH_BILLNO] = {"mch_billno", valid_text, "must be at most 64 bytes"},
	[QP_ERR_CODE] = {"err_code", valid_err_code,
			 "must be an err_code of the catalogue (GET /admin/v1/errors)"},
	[QP_LIMIT] = {"limit", valid_limit, "must be an integer in 1..1000"},
	[QP_CURSOR] = {"cursor", valid_cursor,
		       "must be the \"next\" of the page before (a positive integer)"},
	[QP_ENDPOINT] = {"endpoint", valid_endpoint,
			 "must be sendredpack, sendgroupredpack or gethbinfo"},
	[QP_RE_OPENID] = {"re_openid", valid_text, "must be at most 64 bytes"},
	[QP_SINCE] = {"since", valid_time,
		      "must be a time like 2026-02-01T10:00:00+08:00, or epoch seconds"},
	[QP_UNTIL] = {"until", valid_time,
		      "must be a time like 2026-02-01T10:00:00+08:00, or epoch seconds"},
	[QP_JOURNAL] = {"journal", valid_bool, "must be true or false"},
	[QP_CLOCK] = {"clock", valid_bool, "must be true or false"},
};

static int hex_digit(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decodes a query name or value, s[0..n): "%XX" escapes, '+' for a space.
 * The raw text must be printable ASCII, the result UTF-8 without control
 * characters. Returns it (the caller frees), or NULL. */
static char *query_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	struct buf utf8;
	unsigned flags;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f)
			goto bad;
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			if (c < ' ' || c == 0x7f)
				goto bad;
		}
		out[k++] = (char)c;
	}
	out[k] = '\0';
	buf_init(&utf8);
	flags = journal_encode(&utf8, out, k, SIZE_MAX);
	buf_release(&utf8);
	if (flags == 0)
		return out;
bad:
	free(out);
	return NULL;
}

/* Answers 400 for one query parameter: "<lead> "<name>" <what>", the name
 * shown through the journal's encoding (it may be any bytes), and
 * "parameter" for programs. */
static void reply_param(struct admin_request *req, const char *lead, const char *name,
			const char *what)
{
	struct buf shown, msg;
	json_t *j;

	buf_init(&shown);
	buf_init(&msg);
	journal_encode(&shown, name, strlen(name), 64);
	buf_printf(&msg, "%s \"%s\" %s", lead, shown.data ? shown.data : "", what);
	j = json_pack("{s:s,s:s}", "error", msg.data, "parameter", shown.data ? shown.data : "");
	admin_reply_json(req, 400, j);
	buf_release(&shown);
	buf_release(&msg);
}

/* "this path takes a, b" for an unknown parameter's answer. */
static void takes(unsigned accepted, struct buf *out)
{
	buf_puts(out, accepted ? "(this path takes" : "(this path takes no query parameters)");
	for (int i = 0, first = 1; i < QP__COUNT; i++) {
		if (!(accepted & Q(i)))
			continue;
		buf_printf(out, "%s %s", first ? "" : ",", query_specs[i].name);
		first = 0;
	}
	if (accepted)
		buf_puts(out, ")");
}

/* One piece of the query: 0, or -1 after answering 400. */
static int query_piece(struct admin_request *req, unsigned accepted, const struct kv *kv,
		       struct admin_params *p)
{
	const char *name = kv->name;
	char *decoded;
	int id = QP__COUNT;
	int rc = -1;
	struct buf what;

	if (!name[0]) {
		admin_reply_error(req, 400,
				  kv->value ? "a query parameter has no name (\"=VALUE\")"
					    : "the query string has an empty parameter "
					      "(\"&&\", or '&' at an end)");
		return -1;
	}
	if ((decoded = query_decode(name, strlen(name))))
		for (id = 0; id < QP__COUNT && strcmp(query_specs[id].name, decoded) != 0; id++)
			;
	free(decoded);
	buf_init(&what);
	if (id == QP__COUNT || !(accepted & Q(id))) {
		takes(accepted, &what);
		reply_param(req, "unknown query parameter", name, what.data);
	} else if (!kv->value || !kv->value[0]) {
		reply_param(req, "query parameter", name,
			    kv->value ? "is empty" : "has no value (NAME=VALUE)");
	} else if (p->q[id]) {
		reply_param(req, "query parameter", name, "is given twice");
	} else if (!(p->q[id] = query_decode(kv->value, strlen(kv->value)))) {
		reply_param(req, "query parameter", name, "is not percent-encoded UTF-8 text");
	} else if (!query_specs[id].valid(p->q[id])) {
		reply_param(req, "query parameter", name, query_specs[id].rule);
	} else {
		rc = 0;
	}
	buf_release(&what);
	return rc;
}

int admin_query_or_reply(struct admin_request *req, unsigned accepted, int page,
			 struct admin_params *p)
{
	int64_t n;

	if (page)
		accepted |= Q(QP_LIMIT) | Q(QP_CURSOR);
	p->limit = page;
	p->cursor = 0;
	for (size_t i = 0; req->query && i < req->query->count; i++)
		if (query_piece(req, accepted, &req->query->items[i], p) != 0)
			return -1;
	if (p->q[QP_LIMIT] && parse_digits(p->q[QP_LIMIT], &n) == 0)
		p->limit = n;
	if (p->q[QP_CURSOR] && parse_digits(p->q[QP_CURSOR], &n) == 0)
		p->cursor = n;
	return 0;
}

/* ---- JSON of common things -------------------------------------------- */

json_t *admin_time_json(int64_t t)
{
	char iso[26];
	if (!t)
		return json_null();
	clock_format_iso8601(t, iso);
	return json_string(iso);
}

json_t *admin_page_next(const struct admin_page *pg)
{
	char text[24];
	if (!pg->more)
		return json_null();
	snprintf(text, sizeof(text), "%lld", (long long)pg->last);
	return json_string(text);
}
