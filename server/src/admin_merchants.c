/*
 * admin_merchants.c - merchants (balance, limits, switches, allow-list)
 * and the reset to the fixtures.
 */
#include "admin_handlers.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_later.h"
#include "clock.h"
#include "fixtures.h"
#include "store.h"

/* ---- merchants --------------------------------------------------------- */

static json_t *merchant_json(struct merchant *m)
{
	json_t *limits = json_object(), *ips = json_array();
	char list[sizeof(m->ip_allowlist)];

	for (size_t i = 0; i < REDPACK_LIMITS; i++)
		json_object_set_new(limits, redpack_limits[i].name,
				    json_integer(*redpack_limit_of(m, i)));
	snprintf(list, sizeof(list), "%s", m->ip_allowlist);
	for (char *save = NULL, *ip = strtok_r(list, " ", &save); ip;
	     ip = strtok_r(NULL, " ", &save))
		json_array_append_new(ips, json_string(ip));
	return json_pack("{s:s,s:s,s:I,s:o,s:b,s:o}", "mch_id", m->mch_id, "name", m->name,
			 "balance", (json_int_t)m->balance, "limits", limits, "api_enabled",
			 !m->api_closed, "ip_allowlist", ips);
}

static int load_merchant(struct admin_ctx *ctx, struct admin_request *req,
			 const struct admin_params *p, struct merchant *m)
{
	char *id = admin_segment(p, 0);
	int rc = store_merchant_lookup(ctx->redpack->store, id, m);
	free(id);
	if (rc < 0)
		admin_reply_error(req, 500, "the database could not be read");
	else if (rc == 0)
		admin_reply_error(req, 404, "no merchant with this mch_id");
	return rc == 1 ? 0 : -1;
}

void admin_merchant_get(struct admin_ctx *ctx, struct admin_request *req,
			const struct admin_params *p)
{
	struct merchant *m = xmalloc(sizeof(*m));
	if (load_merchant(ctx, req, p, m) == 0)
		admin_reply_json(req, 200, merchant_json(m));
	free(m);
}

/* Applies a PUT body to m: limits, switch, allow-list; the balance change
 * (new balance minus old) into *delta with its ledger kind. NULL, or what
 * is wrong. */
static const char *apply_merchant(json_t *body, struct merchant *m, int64_t *delta,
				  const char **kind)
{
	static char unknown_limit[200];
	json_t *v, *limits = json_object_get(body, "limits");
	const char *key;

	*delta = 0;
	*kind = NULL;
	if (json_object_get(body, "balance") && json_object_get(body, "topup"))
		return "give \"balance\" (set) or \"topup\" (add), not both";
	if ((v = json_object_get(body, "balance"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT64_MAX / 4)
			return "\"balance\" must be an integer number of fen >= 0";
		*delta = json_integer_value(v) - m->balance;
		*kind = "set";
	}
	if ((v = json_object_get(body, "topup"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > INT64_MAX / 4 - m->balance)
			return "\"topup\" must be an integer number of fen >= 1";
		*delta = json_integer_value(v);
		*kind = "topup";
	}
	if (limits && !json_is_object(limits))
		return "\"limits\" must be an object";
	json_object_foreach(limits, key, v)
	{
		size_t i;
		for (i = 0; i < REDPACK_LIMITS && strcmp(redpack_limits[i].name, key) != 0; i++)
			;
		if (i == REDPACK_LIMITS) {
			snprintf(unknown_limit, sizeof(unknown_limit),
				 "unknown key in \"limits\" (%s)", redpack_limit_names);
			return unknown_limit;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return "limits are integers >= 0 (0: unlimited)";
		*redpack_limit_of(m, i) = json_integer_value(v);
	}
	if ((v = json_object_get(body, "api_enabled"))) {
		if (!json_is_boolean(v))
			return "\"api_enabled\" must be true or false";
		m->api_closed = !json_is_true(v);
	}
	if (json_object_get(body, "ip_allowlist") &&
	    fixtures_allowlist(json_object_get(body, "ip_allowlist"), m->ip_allowlist,
			       sizeof(m->ip_allowlist)) != 0)
		return "\"ip_allowlist\" must be an array of IPv4 addresses ([] allows any)";
	return NULL;
}

void admin_merchant_put(struct admin_ctx *ctx, struct admin_request *req,
			const struct admin_params *p)
{
	struct merchant *m = xmalloc(sizeof(*m));
	const char *problem, *kind;
	int64_t delta;

	/* Read, changed and written in one loop turn: nothing writes between. */
	if (load_merchant(ctx, req, p, m) != 0)
		goto out;
	if ((problem = apply_merchant(p->body, m, &delta, &kind))) {
		admin_reply_error(req, 400, problem);
		goto out;
	}
	if (redpack_merchant_update(ctx->redpack, m, delta, kind, clock_now()) != 0) {
		admin_reply_error(req, 500, "the database could not be written");
		goto out;
	}
	admin_reply_json(req, 200, merchant_json(m));
out:
	free(m);
}

/* ---- reset ------------------------------------------------------------- */

/* Everything, or the one merchant ?mch_id= names: a query that names
 * nothing else is guaranteed by the route's flags, so a bad one never
 * widens the scope. A merchant's rows go in slices when they can
 * (admin_later.h). */
void admin_reset(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	unsigned also = 0;

	if (p->q[QP_JOURNAL] && strcmp(p->q[QP_JOURNAL], "true") == 0)
		also |= ADMIN_RESET_JOURNAL;
	if (p->q[QP_CLOCK] && strcmp(p->q[QP_CLOCK], "true") == 0)
		also |= ADMIN_RESET_CLOCK;
	if ((also & ADMIN_RESET_CLOCK) && p->q[QP_MCH_ID]) {
		/* Never a wider scope than asked: the clock is every merchant's. */
		admin_reply_json(
			req, 400,
			json_pack("{s:s,s:s}", "error",
				  "clock=true sets every merchant's business clock back: only"
				  " with a reset of everything (no mch_id)",
				  "parameter", "clock"));
		return;
	}
	if (!ctx->fixtures) {
		admin_reply_error(req, 500, "no fixtures file to reset to");
		return;
	}
	admin_later_reset(ctx, req, p->q[QP_MCH_ID], also);
}
