/*
 * admin_clock.c - the simulated clock that drives expiry and refunds.
 */
#include "admin_handlers.h"

#include "clock.h"
#include "lifecycle.h"

static json_t *clock_json(void)
{
	char iso[26];
	int64_t now = clock_now();
	clock_format_iso8601(now, iso);
	return json_pack("{s:s,s:I,s:I}", "now", iso, "epoch", (json_int_t)now, "offset_seconds",
			 (json_int_t)clock_offset());
}

void admin_clock_get(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	(void)p;
	lifecycle_sync_clock(ctx->redpack); /* another process may have moved it */
	admin_reply_json(req, 200, clock_json());
}

/* The answer to each outcome of a clock move. */
static const int clock_status[] = {
	[CLOCK_MOVED] = 200,	 [CLOCK_BACKWARDS] = 409,    [CLOCK_OUT_OF_RANGE] = 400,
	[CLOCK_NOT_SAVED] = 500, [CLOCK_STEPS_FAILED] = 500,
};

static json_t *clock_move_json(const struct clock_move *m)
{
	json_t *j;

	if (m->result == CLOCK_BACKWARDS || m->result == CLOCK_OUT_OF_RANGE)
		return json_pack("{s:s,s:s}", "error", m->error, "latest", CLOCK_LATEST_TEXT);
	if (m->result == CLOCK_NOT_SAVED)
		return json_pack("{s:s,s:s,s:s,s:b}", "error", "the clock could not be saved",
				 "step", m->failed_step, "sqlite", m->error, "moved", 0);
	j = clock_json();
	if (m->result == CLOCK_STEPS_FAILED) {
		json_object_set_new(j, "error",
				    json_string("the clock moved, but some packets failed a"
						" lifecycle step; they are retried each second"));
		json_object_set_new(j, "step", json_string(m->failed_step));
		json_object_set_new(j, "sqlite", json_string(m->error));
		json_object_set_new(j, "failed", json_integer((json_int_t)m->failed));
		json_object_set_new(j, "moved", json_true());
	}
	return j;
}

void admin_clock_set(struct admin_ctx *ctx, struct admin_request *req, const struct admin_params *p)
{
	json_t *adv, *now;
	int64_t target;
	struct clock_move move;

	adv = json_object_get(p->body, "advance_seconds");
	now = json_object_get(p->body, "now");
	if ((adv != NULL) == (now != NULL)) {
		admin_reply_error(req, 400, "give exactly one of \"advance_seconds\" or \"now\"");
	} else if (adv && (!json_is_integer(adv) || json_integer_value(adv) < 0 ||
			   json_integer_value(adv) > 100LL * 365 * 86400)) {
		admin_reply_error(req, 400,
				  "\"advance_seconds\" must be an integer from 0 to 100 years");
	} else if (now && (!json_is_string(now) ||
			   clock_parse_iso8601(json_string_value(now), &target) != 0)) {
		admin_reply_error(req, 400, "\"now\" must look like 2026-02-01T10:00:00+08:00");
	} else {
		/* From the clock as the database has it, on a shared one. */
		lifecycle_sync_clock(ctx->redpack);
		if (adv)
			target = clock_now() + json_integer_value(adv);
		lifecycle_set_clock(ctx->redpack, target, &move);
		admin_reply_json(req, clock_status[move.result], clock_move_json(&move));
	}
}
