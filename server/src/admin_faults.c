/*
 * admin_faults.c - the fault rules: add, list, delete.
 */
#include "admin_handlers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "faults.h"
#include "status.h"

static json_t *rule_json(const struct fault_rule *r)
{
	json_t *match = json_object();
	json_t *j;

	if (r->mch_id[0])
		json_object_set_new(match, "mch_id", json_string(r->mch_id));
	if (r->re_openid[0])
		json_object_set_new(match, "re_openid", json_string(r->re_openid));
	if (r->mch_billno[0])
		json_object_set_new(match, "mch_billno", json_string(r->mch_billno));
	j = json_pack("{s:i,s:o,s:o,s:o,s:s,s:i,s:i,s:o,s:f,s:I}", "id", r->id, "api",
		      r->api[0] ? json_string(r->api) : json_null(), "match", match, "err_code",
		      r->err >= 0 ? json_string(errors_info((enum err_id)r->err)->code)
				  : json_null(),
		      "transport", faults_transport_name(r->transport), "delay_ms", r->delay_ms,
		      "delay_max_ms", r->delay_max_ms, "times",
		      r->times < 0 ? json_null() : json_integer(r->times), "probability",
		      r->probability, "hits", (json_int_t)r->hits);
	if (r->err == ERR_PROCESSING)
		json_object_set_new(j, "settle_result", json_string(r->settle_to));
	return j;
}

static const char *copy_id(json_t *v, char *out, size_t outlen)
{
	const char *s = json_string_value(v);
	if (!v)
		return "";
	if (!s || !*s || strlen(s) >= outlen)
		return NULL;
	snprintf(out, outlen, "%s", s);
	return out;
}

/* A rule from the POST body; NULL, or what is wrong. */
static const char *parse_rule(json_t *body, struct fault_rule *r)
{
	static const char *const match_keys[] = {"mch_id", "re_openid", "mch_billno"};
	static const char *const apis[] = {"sendgroupredpack", "sendredpack", "gethbinfo"};
	static const enum err_endpoint api_bits[] = {EP_G, EP_S, EP_Q};
	json_t *match = json_object_get(body, "match"), *v;
	const char *key;
	unsigned bits = EP_S | EP_G | EP_Q;

	memset(r, 0, sizeof(*r));
	r->err = -1;
	r->times = -1;
	r->probability = 1.0;
	if ((v = json_object_get(body, "api"))) {
		size_t i;
		for (i = 0; i < 3 && (!json_is_string(v) || strcmp(apis[i], json_string_value(v)));
		     i++)
			;
		if (i == 3)
			return "\"api\" must be sendgroupredpack, sendredpack or gethbinfo";
		snprintf(r->api, sizeof(r->api), "%s", apis[i]);
		bits = api_bits[i];
	}
	if (match && !json_is_object(match))
		return "\"match\" must be an object";
	json_object_foreach(match, key, v)
	{
		size_t i;
		for (i = 0; i < 3 && strcmp(match_keys[i], key) != 0; i++)
			;
		char *slot = i == 0 ? r->mch_id : i == 1 ? r->re_openid : r->mch_billno;
		if (i == 3 || !copy_id(v, slot, sizeof(r->mch_id)))
			return "\"match\" takes mch_id, re_openid, mch_billno: strings of 1-32 "
			       "characters";
	}
	if ((v = json_object_get(body, "err_code"))) {
		int id = json_is_string(v) ? errors_find(json_string_value(v)) : -1;
		if (id < 0 || !(errors_info((enum err_id)id)->endpoints & bits))
			return "\"err_code\" must be a catalogue code of that endpoint (GET "
			       "/admin/v1/errors)";
		r->err = id;
	}
	if ((v = json_object_get(body, "transport"))) {
		int t = json_is_string(v) ? faults_transport_find(json_string_value(v)) : -1;
		if (t < 0)
			return "\"transport\" must be none, delay, hang, reset, empty, truncate, "
			       "http_503 or "
			       "html_502";
		r->transport = (enum fault_transport)t;
	}
	if (r->err < 0 && r->transport == FAULT_NONE)
		return "give \"err_code\", \"transport\" or both";
	if ((v = json_object_get(body, "delay_ms")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000))
		return "\"delay_ms\" must be 0..600000";
	r->delay_ms = (int)json_integer_value(v);
	if ((v = json_object_get(body, "delay_max_ms")) &&
	    (!json_is_integer(v) || json_integer_value(v) < r->delay_ms ||
	     json_integer_value(v) > 600000))
		return "\"delay_max_ms\" must be delay_ms..600000";
	r->delay_max_ms = v ? (int)json_integer_value(v) : r->delay_ms;
	if (r->transport == FAULT_DELAY && r->delay_max_ms == 0)
		return "a delay needs \"delay_ms\" (and optionally \"delay_max_ms\")";
	if ((v = json_object_get(body, "times")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 ||
	     json_integer_value(v) > 1000000000))
		return "\"times\" must be a positive integer (absent: until deleted)";
	if (v)
		r->times = (int)json_integer_value(v);
	if ((v = json_object_get(body, "probability")) &&
	    (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1))
		return "\"probability\" must be a number in (0, 1]";
	if (v)
		r->probability = json_number_value(v);
	snprintf(r->settle_to, sizeof(r->settle_to), "SENT");
	if ((v = json_object_get(body, "settle_result"))) {
		if (r->err != ERR_PROCESSING || !json_is_string(v) ||
		    (!status_is(json_string_value(v), STATUS_SENT) &&
		     !status_is(json_string_value(v), STATUS_FAILED)))
			return "\"settle_result\" (SENT or FAILED) goes with err_code PROCESSING";
		snprintf(r->settle_to, sizeof(r->settle_to), "%s", json_string_value(v));
	}
	return NULL;
}

void admin_faults_add(struct admin_ctx *ctx, struct admin_request *req,
		      const struct admin_params *p)
{
	struct fault_rule r;
	const char *problem;
	size_t n;

	if ((problem = parse_rule(p->body, &r))) {
		admin_reply_error(req, 400, problem);
	} else {
		int id = faults_add(ctx->faults, &r);
		const struct fault_rule *all = faults_list(ctx->faults, &n);
		for (size_t i = 0; i < n; i++)
			if (all[i].id == id)
				admin_reply_json(req, 201, rule_json(&all[i]));
	}
}

/* In the order they apply (the order they were added, ids ascending);
 * the cursor is the id of the last rule shown. */
void admin_faults_list(struct admin_ctx *ctx, struct admin_request *req,
		       const struct admin_params *p)
{
	size_t n, lo = 0, hi;
	const struct fault_rule *all = faults_list(ctx->faults, &n);
	struct admin_page pg = {json_array(), p->limit, 0, 0};

	/* The first rule after the cursor. */
	for (hi = n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (all[mid].id <= p->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n; i++) {
		if ((int64_t)json_array_size(pg.list) == pg.limit) {
			pg.more = 1;
			break;
		}
		json_array_append_new(pg.list, rule_json(&all[i]));
		pg.last = all[i].id;
	}
	admin_reply_json(req, 200,
			 json_pack("{s:o,s:o}", "faults", pg.list, "next", admin_page_next(&pg)));
}

void admin_faults_delete(struct admin_ctx *ctx, struct admin_request *req,
			 const struct admin_params *p)
{
	int64_t id = -1;
	char *text = p->count ? admin_segment(p, 0) : NULL;

	if (text && (parse_digits(text, &id) != 0 || id > INT32_MAX)) {
		admin_reply_error(req, 404, "no fault rule with this id");
	} else if (faults_remove(ctx->faults, (int)id) != 0) {
		admin_reply_error(req, 404, "no fault rule with this id");
	} else {
		json_t *j = json_pack("{s:b}", "deleted", 1);
		json_object_set_new(j, "id", text ? json_integer(id) : json_string("all"));
		admin_reply_json(req, 200, j);
	}
	free(text);
}
