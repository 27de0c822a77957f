/*
 * unit_world.h - what the lifecycle and invariant unit tests share: a
 * store with the fixtures, a send with everyday fields, and removing a
 * test database with its WAL files.
 */
#ifndef REDPACK_UNIT_WORLD_H
#define REDPACK_UNIT_WORLD_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "redpack.h"
#include "store.h"

/* Opens a fresh store at path, loads the fixtures at business time at,
 * and points rp at it (seed, nothing else). Returns 0, or -1 after
 * printing why (rp->store is then NULL). */
static inline int world_store_open(const char *path, const char *fixtures, int64_t at,
				   uint64_t seed, struct redpack *rp)
{
	char err[512];

	memset(rp, 0, sizeof(*rp));
	rp->seed = seed;
	rp->store = store_open(path, err, sizeof(err));
	if (!rp->store) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	if (fixtures_load(rp->store, fixtures, at, 0, err, sizeof(err)) != 1) {
		fprintf(stderr, "fixtures_load: %s\n", err);
		store_close(rp->store);
		rp->store = NULL;
		return -1;
	}
	return 0;
}

/* A numbered world: path becomes DIR/world<N>.db (N from ++*count), opened
 * as world_store_open does. 0, or -1 after printing why. */
static inline int world_open_numbered(char *path, size_t pathlen, const char *dir, int *count,
				      const char *fixtures, int64_t at, uint64_t seed,
				      struct redpack *rp)
{
	snprintf(path, pathlen, "%s/world%d.db", dir, ++*count);
	return world_store_open(path, fixtures, at, seed, rp);
}

/* A merchant of the test's own with one official-account app, its limits
 * (0: none) and a balance topped up at business time at. 0, or -1. */
static inline int world_add_merchant(struct store *store, const char *mch_id, const char *appid,
				     int64_t balance, int64_t per_minute, int64_t per_user_num,
				     int64_t per_user_amount, int64_t per_day, int64_t at)
{
	struct merchant m;

	memset(&m, 0, sizeof(m));
	snprintf(m.mch_id, sizeof(m.mch_id), "%s", mch_id);
	snprintf(m.name, sizeof(m.name), "测试%s", mch_id);
	snprintf(m.api_key, sizeof(m.api_key), "k%s", mch_id);
	m.sends_per_minute = per_minute;
	m.packets_per_user_per_day = per_user_num;
	m.amount_per_user_per_day = per_user_amount;
	m.amount_per_day = per_day;
	if (store_begin(store) != 0 || store_merchant_insert(store, &m) != 0 ||
	    store_app_insert(store, mch_id, appid, "MP") != 0 ||
	    (balance && store_ledger_add(store, mch_id, balance, "topup", 0, at) != 0) ||
	    store_commit(store) != 0) {
		store_rollback(store);
		return -1;
	}
	return 0;
}

/* A send request with the fixture-like texts; client_ip for a normal
 * packet, amt_type for a group one. The caller may set more fields. */
static inline struct send_request world_request(enum hb_kind kind, const char *mch_id,
						const char *appid, const char *billno,
						const char *openid, int64_t amount, int64_t num)
{
	struct send_request r = {
		.kind = kind,
		.mch_id = mch_id,
		.mch_billno = billno,
		.wxappid = appid,
		.re_openid = openid,
		.send_name = "天虹百货",
		.wishing = "恭喜发财",
		.act_name = "新年红包",
		.remark = "备注",
		.client_ip = kind == HB_NORMAL ? "127.0.0.1" : NULL,
		.amt_type = kind == HB_GROUP ? "ALL_RAND" : NULL,
		.total_amount = amount,
		.total_num = num,
	};
	return r;
}

/* redpack_send of world_request's request at now. */
static inline struct send_result world_send(struct redpack *rp, enum hb_kind kind,
					    const char *mch_id, const char *appid,
					    const char *billno, const char *openid, int64_t amount,
					    int64_t num, int64_t now)
{
	struct send_request r = world_request(kind, mch_id, appid, billno, openid, amount, num);
	struct send_result out;
	redpack_send(rp, &r, now, &out);
	return out;
}

/* Closes *store (NULL allowed) and deletes its database at path: the end
 * of a world. */
static inline void world_remove_db(const char *path);
static inline void world_store_close(struct store **store, const char *path)
{
	if (*store)
		store_close(*store);
	*store = NULL;
	world_remove_db(path);
}

/* Deletes the database file at path and its -wal, -shm, -journal. */
static inline void world_remove_db(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[320];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
}

#endif
