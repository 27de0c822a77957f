/*
 * fuzz_world.h - the world the fuzz targets run against: an in-memory
 * store with the default fixtures and two packets (a group and a normal
 * one), so queries, claims and settles find something.
 */
#ifndef REDPACK_FUZZ_WORLD_H
#define REDPACK_FUZZ_WORLD_H

#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "fixtures.h"
#include "redpack.h"
#include "store.h"
#include "xmlcodec.h"

/* Opens the store into rp (seed 42) or aborts: a target without its
 * world would fuzz nothing. */
static inline void fuzz_world_open(struct redpack *rp)
{
	char err[512];
	struct send_request req = {
		.kind = HB_GROUP,
		.mch_id = "10000098",
		.mch_billno = "10000098202611270000000001",
		.wxappid = "wx8888888888888888",
		.re_openid = "oxTWIuGaIt6gTKsQRLau2M0yL16E",
		.send_name = "s",
		.wishing = "w",
		.act_name = "a",
		.remark = "r",
		.total_amount = 300,
		.total_num = 3,
	};
	struct send_result out;

	xmlcodec_global_init();
	rp->store = store_open(":memory:", err, sizeof(err));
	if (!rp->store ||
	    fixtures_load(rp->store, FIXTURES_PATH, 1795000000, 0, err, sizeof(err)) != 1) {
		fprintf(stderr, "fuzz set-up: %s\n", err);
		abort();
	}
	rp->seed = 42;
	redpack_send(rp, &req, clock_now(), &out);
	req.kind = HB_NORMAL;
	req.mch_billno = "10000098202611270000000002";
	req.total_amount = 100;
	req.total_num = 1;
	redpack_send(rp, &req, clock_now(), &out);
}

#endif
