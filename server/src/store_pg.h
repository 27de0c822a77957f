/*
 * store_pg.h - the store on PostgreSQL (issue 14, docs/postgresql.md):
 * one pgstore_X for every store_X of store.h, with the same parameters
 * (the first a struct pgstore *), the same return values, the same rows
 * in the same order and the same error conventions (-1, and the first
 * failure's text in pgstore_first_error). store.c dispatches to these
 * when its store was opened from a postgresql:// URL; the contracts are
 * store.h's, and only what differs is said here.
 *
 * Built when the build has libpq (REDPACK_WITH_PG). Every call blocks
 * until the server answers; one connection, for one thread at a time.
 *
 * Concurrency: every transaction the store opens (pgstore_begin,
 * pgstore_batch_begin, and a write called outside any transaction, which
 * runs in one of its own) is READ COMMITTED and takes the advisory lock
 * PGSTORE_LOCK_WRITE right after BEGIN. Writers are so serialised across
 * processes as SQLite's BEGIN IMMEDIATE serialises them across
 * connections: "find the billno, then insert" cannot race, and there are
 * no serialization failures or deadlocks to retry. Each statement after
 * the lock sees what the lock's last holder committed.
 *
 * Where PostgreSQL differs, as the callers see it:
 * - A statement that fails inside a transaction aborts the transaction
 *   (SQLite rolls back that statement alone). Inside a unit of work the
 *   caller rolls the unit back, as every caller does; a statement that
 *   fails inside a batch but outside any unit loses the whole batch: it
 *   is rolled back at once, store_in_transaction then says 0, and until
 *   store_batch_commit (which returns -1) every call fails.
 * - A lost connection (the server restarted, the backend terminated):
 *   the call fails, its first error says the connection was lost, and an
 *   open transaction or batch is gone (pgstore_in_transaction says 0);
 *   every call fails until the caller ends it (rollback, or a commit that
 *   returns -1). The next call outside a transaction connects again.
 * - Packet ids come from a sequence (pgstore_packet_next_id), which never
 *   gives an id back: ids and send_listids may have gaps.
 * - SQLite-only settings: no page cap, no store_replace (a reset goes
 *   through pgstore_wipe), foreign keys always on, no VM steps.
 */
#ifndef REDPACK_STORE_PG_H
#define REDPACK_STORE_PG_H

#include <stddef.h>
#include <stdint.h>

#include "pg.h"
#include "store.h"

struct pgstore;

/* The advisory lock every writing transaction takes (pg_advisory_xact_lock),
 * PG_LOCK_MIGRATE's neighbour: "redpack" and a 1. */
#define PGSTORE_LOCK_WRITE (PG_LOCK_MIGRATE + 1)
/* The advisory lock the process that sweeps holds for its session
 * (pg_try_advisory_lock, pgstore_sweep_turn): one process sweeps at a time. */
#define PGSTORE_LOCK_SWEEP (PG_LOCK_MIGRATE + 2)

/* Connects to url (postgresql://... or "key=value ..."), migrates the
 * database to schema_pg.sql (pg_migrate: several processes starting at
 * once migrate once) and sets durability 0. NULL with a message in err.
 * pgstore_close (NULL allowed) closes it. */
struct pgstore *pgstore_open(const char *url, char *err, size_t errlen);
void pgstore_close(struct pgstore *s);

/* The last migration of schema_pg.sql (what pgstore_open migrates to). */
int pgstore_schema_version(void);

/* Accepts 0 (no cap) only: a page cap is SQLite's. -1 with an error text
 * for any other. */
int pgstore_set_max_pages(struct pgstore *s, int64_t pages);
/* synchronous_commit for this connection: 0 local (a commit waits for
 * its WAL on the server's disk, so it survives a crash of this process and
 * of the server, not waiting for standbys), 1 on (it waits for the
 * synchronous standbys too, as the server is configured: it survives the
 * loss of the server's machine). Never off, which would lose acknowledged
 * commits when the server crashes. Kept across a reconnect. */
int pgstore_set_durability(struct pgstore *s, int power_loss);
/* As SQLite's PRAGMA synchronous: 1 while synchronous_commit is local, 2
 * when on (or remote_*), 0 when off (a URL's options), -1. */
int pgstore_durability(struct pgstore *s);

int pgstore_begin(struct pgstore *s);
int pgstore_commit(struct pgstore *s);
void pgstore_rollback(struct pgstore *s);
int pgstore_batch_begin(struct pgstore *s);
int pgstore_batch_commit(struct pgstore *s);
int pgstore_batch_open(const struct pgstore *s);
/* Rows the store's statements inserted, updated or deleted since open
 * (the counters' rows that triggers write are not counted). */
int64_t pgstore_changes(struct pgstore *s);
/* Round trips to the server so far (pg_round_trips): for tests. */
uint64_t pgstore_round_trips(const struct pgstore *s);
void pgstore_commit_stats(const struct pgstore *s, uint64_t *commits, uint64_t *units);

int pgstore_is_empty(struct pgstore *s);
/* DELETEs (not TRUNCATE, which would wait for and block every reader of
 * the tables, other processes' too); the sequences go on. */
int pgstore_wipe(struct pgstore *s, const char *mch_id);
/* The triggers keep the counters for any SQL, so this is only needed
 * after a repair; the same sums as store.c's. */
int pgstore_counters_rebuild(struct pgstore *s);
/* -1 with err: not with PostgreSQL. */
int pgstore_replace(struct pgstore *s, int (*fill)(void *arg, struct store *fresh), void *arg,
		    char *err, size_t errlen);
/* 0: a reset goes through pgstore_wipe. */
int pgstore_can_replace(const struct pgstore *s);

int pgstore_merchant_insert(struct pgstore *s, const struct merchant *m);
int pgstore_merchant_update(struct pgstore *s, const struct merchant *m);
int pgstore_app_insert(struct pgstore *s, const char *mch_id, const char *appid, const char *kind);
int pgstore_scene_insert(struct pgstore *s, const char *mch_id, const char *scene_id);
int pgstore_user_insert(struct pgstore *s, const char *openid, const char *appid);

int pgstore_merchant_lookup(struct pgstore *s, const char *mch_id, struct merchant *out);
int pgstore_app_kind(struct pgstore *s, const char *mch_id, const char *appid, char kind[8]);
int pgstore_user_appid(struct pgstore *s, const char *openid, char appid[STORE_ID_MAX]);
int pgstore_scene_enabled(struct pgstore *s, const char *mch_id, const char *scene_id);
void pgstore_send_prefetch(struct pgstore *s, const char *mch_id, const char *mch_billno,
			   const char *openid, int64_t rate_since, int64_t day_start);
int pgstore_packet_find(struct pgstore *s, const char *mch_id, const char *mch_billno,
			struct packet_row *out);

int pgstore_packets_created_since(struct pgstore *s, const char *mch_id, int64_t since,
				  int64_t *count);
int pgstore_merchant_sent_since(struct pgstore *s, const char *mch_id, int64_t day_start,
				int64_t *amount);

/* The id the next packet inserted without one gets: taken from the
 * sequence now (nextval; a sequence cannot show its next value without
 * taking it) and remembered, so the next insert without an id uses it
 * and a second call before that insert answers the same id. An id taken
 * and never inserted is a gap. */
int pgstore_packet_next_id(struct pgstore *s, int64_t *id);
int pgstore_packet_insert(struct pgstore *s, const struct packet_new *p, int64_t *id);
int pgstore_packet_set_listid(struct pgstore *s, int64_t id, const char *send_listid);
int pgstore_share_insert(struct pgstore *s, int64_t packet_id, int seq, int64_t amount);
int pgstore_shares_insert(struct pgstore *s, int64_t packet_id, const int64_t *amounts, int n);
int pgstore_ledger_add(struct pgstore *s, const char *mch_id, int64_t amount, const char *kind,
		       int64_t packet_id, int64_t at);

int pgstore_clock_offset(struct pgstore *s, int64_t *offset);
int pgstore_set_clock_offset(struct pgstore *s, int64_t offset);
int pgstore_shares_each(struct pgstore *s, int64_t packet_id,
			void (*row)(void *arg, const struct share_row *share), void *arg);
int pgstore_share_open(struct pgstore *s, int64_t packet_id, int seq, const char *openid,
		       int64_t at);
int pgstore_packet_issue(struct pgstore *s, int64_t id, int64_t send_time);
int pgstore_packet_set_status(struct pgstore *s, int64_t id, enum packet_status status);
int pgstore_packet_set_refund(struct pgstore *s, int64_t id, enum packet_status status,
			      int64_t refund_time, int64_t refund_amount);
int pgstore_packet_settle_to(struct pgstore *s, int64_t id, char out[8]);
/* Ties of the due key in id order. */
int pgstore_due_ids(struct pgstore *s, enum store_due which, int64_t t, int64_t *ids, int limit);
int pgstore_packet_by_id(struct pgstore *s, int64_t id, struct packet_row *out);
int pgstore_user_receipts_since(struct pgstore *s, const char *mch_id, const char *openid,
				int64_t day_start, int64_t *count, int64_t *amount);
/* 0: PostgreSQL has no such count. */
int64_t pgstore_vm_steps(struct pgstore *s);

int pgstore_packets_each(struct pgstore *s, const char *mch_id, const char *status,
			 int64_t before_id, int limit,
			 void (*row)(void *arg, const struct packet_row *p), void *arg);
enum store_resolved pgstore_packet_resolve(struct pgstore *s, const char *mch_id,
					   const char *mch_billno, struct packet_row *out);
int pgstore_ledger_each(struct pgstore *s, int64_t packet_id,
			void (*row)(void *arg, const struct ledger_row *l), void *arg);
/* In status order (bytes). */
int pgstore_status_counts(struct pgstore *s, void (*row)(void *arg, const char *status, int64_t n),
			  void *arg);
/* bytes: pg_database_size of the whole database. */
int pgstore_totals(struct pgstore *s, struct store_totals *out);

/* store.h's queries, written for PostgreSQL (packet_issued and
 * packet_status_known are SQL functions of schema_pg.sql's migration 2). */
int pgstore_check(struct pgstore *s, enum store_check which,
		  void (*row)(void *arg, const char *text), void *arg);

int pgstore_packet_settle_at(struct pgstore *s, int64_t id, int64_t *settle_at);
int pgstore_due_page(struct pgstore *s, enum store_due which, int64_t t, int64_t *key, int64_t *id,
		     int64_t *ids, int limit);

void pgstore_error_clear(struct pgstore *s);
const char *pgstore_first_error(const struct pgstore *s);
int pgstore_in_transaction(struct pgstore *s);

/* 1 when this process sweeps (it holds PGSTORE_LOCK_SWEEP, taking it now
 * if no other process's session has it), 0 when another does, or when a
 * transaction is open or the database cannot be asked. */
int pgstore_sweep_turn(struct pgstore *s);

/* 1: any connection to the database sees it. */
int pgstore_can_share(const struct pgstore *s);
/* A second connection, inside a REPEATABLE READ READ ONLY transaction
 * begun here (its snapshot taken here, by a first read): it sees what was
 * committed when it was opened, whatever is committed afterwards, by
 * this process or another. Used as store.h says (one other thread, only
 * pgstore_check and pgstore_first_error; nothing logged). It never
 * connects again: a lost connection fails its checks. NULL with err. */
struct pgstore *pgstore_reader_open(struct pgstore *s, char *err, size_t errlen);
void pgstore_reader_close(struct pgstore *s, struct pgstore *reader);
/* Cancels the reader's running query (PQcancel) and makes every later
 * pgstore_check on it fail at once; safe from another thread while the
 * reader is open. */
void pgstore_interrupt(struct pgstore *reader);

/* The slice's packets are the first limit of mch_id's in billno order
 * (its key: a slice costs the same whatever the merchant holds). */
int pgstore_reset_slice(struct pgstore *s, const char *mch_id, int limit, int64_t *rows);

/* ---- between store_pg.c and store_pg_admin.c ---------------------------- */

/* Nothing else uses these. store_pg_admin.c holds the statements and the
 * functions off the request path (wipes, the counters rebuilt, a reset's
 * slices, the invariant checks); pg.c's registry is one table, so
 * store_pg.c registers these after its own. */
enum pgstore_admin_st {
	PGA_WIPE_ALL = 0,		  /* 11 statements */
	PGA_WIPE_ONE = PGA_WIPE_ALL + 11, /* 10 */
	PGA_REBUILD = PGA_WIPE_ONE + 10,  /* 8 */
	PGA_RESET = PGA_REBUILD + 8,	  /* 12 */
	PGA_CHECK = PGA_RESET + 12,	  /* + enum store_check */
	PGA__COUNT = PGA_CHECK + STORE_CHECK__COUNT
};
extern const char *const pgstore_admin_sql[PGA__COUNT];

/* Runs pgstore_admin_sql[id] with n text parameters (NULL: SQL NULL) as
 * every statement of the store runs: inside its transaction, or outside
 * any after connecting again if the connection was lost. The result (the
 * caller's to PQclear; the rows a write changed count in
 * pgstore_changes), or NULL with the failure recorded. */
PGresult *pgstore_run_admin(struct pgstore *s, int id, int n, const char *const *params,
			    const char *what);
/* Writes the counter changes a batch holds (store_pg.c), before a
 * statement that reads or rewrites the counter tables other than the send
 * path's reads; refused inside a unit. 0 or -1. */
int pgstore_pending_flush(struct pgstore *s);
/* Writes outside any transaction go in one of their own, under the write
 * lock (*own set): begin, then end with the writes' rc (0 commits). */
int pgstore_unit_begin(struct pgstore *s, int *own, const char *what);
int pgstore_unit_end(struct pgstore *s, int own, int rc, const char *what);
/* Records text as the failure of what (first error, log). Returns -1. */
int pgstore_refuse(struct pgstore *s, const char *what, const char *text);
/* 1 once pgstore_interrupt was called on this reader. */
int pgstore_interrupted(struct pgstore *s);

#endif
