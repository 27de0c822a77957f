/*
 * store.h - the SQLite store: schema and migrations, prepared
 * statements, transactions. Every function runs on the event loop
 * thread; each returns -1 on an SQLite error (logged by the store).
 *
 * Amounts are integer fen; times are epoch seconds (business clock).
 */
#ifndef REDPACK_STORE_H
#define REDPACK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct store;

#define STORE_ID_MAX 132    /* 32 characters of UTF-8, with room to spare */
#define STORE_TEXT_MAX 1040 /* 256 characters of UTF-8 */

struct merchant {
	char mch_id[STORE_ID_MAX];
	char name[STORE_ID_MAX * 2];
	char api_key[STORE_ID_MAX];
	int64_t balance;
	int64_t sends_per_minute; /* 0: unlimited */
	int64_t packets_per_user_per_day;
	int64_t amount_per_user_per_day;
	int64_t amount_per_day;
	int api_closed;		 /* API sending switched off: API_METHOD_CLOSED */
	char ip_allowlist[1024]; /* space-separated addresses; "": any */
};

/* What a send records (strings borrowed for the call). */
struct packet_new {
	const char *mch_id, *mch_billno, *hb_type, *status;
	const char *wxappid, *re_openid, *send_name, *wishing, *act_name, *remark;
	const char *scene_id, *client_ip, *amt_type;
	int64_t total_amount, total_num;
	const char *err_code, *reason; /* NULL unless a limit held the order */
	int64_t created_at;
	int64_t send_time;	 /* 0: not issued */
	int64_t settle_at;	 /* pending order: settles by itself then (0: never) */
	const char *settle_to;	 /* "SENT" or "FAILED" */
	int64_t id;		 /* 0: the next one (store_packet_next_id) */
	const char *send_listid; /* NULL: none yet (store_packet_set_listid) */
};

/* What the send path reads back of an existing order. */
struct packet_row {
	int64_t id;
	char mch_id[STORE_ID_MAX];
	char mch_billno[STORE_ID_MAX];
	char hb_type[16];
	char status[16];
	char wxappid[STORE_ID_MAX];
	char re_openid[STORE_ID_MAX];
	int64_t total_amount, total_num;
	char send_listid[48];
	char err_code[32];
	int64_t created_at, send_time; /* send_time 0: not issued */
	char reason[STORE_TEXT_MAX];
	char send_name[STORE_ID_MAX];
	char wishing[STORE_TEXT_MAX];
	char act_name[STORE_ID_MAX];
	char remark[STORE_TEXT_MAX];
	char scene_id[STORE_ID_MAX];
	int64_t refund_time, refund_amount; /* 0 until refunded */
};

/* One share of a packet. */
struct share_row {
	int seq;
	int64_t amount;
	char openid[STORE_ID_MAX]; /* "" while unopened */
	int64_t rcv_time;	   /* 0 while unopened */
};

/* One ledger movement. */
struct ledger_row {
	int64_t id;
	char mch_id[STORE_ID_MAX];
	int64_t amount;
	char kind[16];
	int64_t packet_id; /* 0: none */
	int64_t at;
};

/* 1 when path is a postgresql:// (or postgres://) URL: store_open then
 * opens the PostgreSQL backend (docs/postgresql.md), not a file. */
int store_is_postgresql(const char *path);

/* Opens (creating mode 0600 if needed) and migrates the database at
 * path (":memory:" allowed), or the PostgreSQL database a URL names.
 * Returns NULL with a message in err. */
struct store *store_open(const char *path, char *err, size_t errlen);
/* 1 when other processes may write the same database (PostgreSQL): what
 * a process keeps in memory of the shared state (the clock's offset) is
 * then read again at the start of each batch. */
int store_shared(const struct store *s);
/* 1 when this process runs the lifecycle sweeps: always on SQLite; on a
 * shared database the one process holding its sweeper lock (taken by the
 * first to ask, freed when its connection ends). */
int store_sweep_turn(struct store *s);
void store_close(struct store *s);

/* The schema version this build migrates to (PRAGMA user_version). */
int store_schema_version(void);

/* Caps the database at pages pages (0: SQLite's default, no cap). Past
 * the cap every write fails as on a full disk. Returns 0 or -1. */
int store_set_max_pages(struct store *s, int64_t pages);

/* What a committed transaction survives: 0 a crash of the process (WAL
 * with synchronous=NORMAL, the default), 1 a power loss too
 * (synchronous=FULL: every commit waits for the disk). Returns 0 or -1. */
int store_set_durability(struct store *s, int power_loss);

/* One unit of work: BEGIN IMMEDIATE / COMMIT / ROLLBACK, or, while a
 * batch is open, a savepoint released or rolled back alone. rollback is
 * safe to call when no unit is open (and never touches the batch). */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* A unit whose writes are inserts of new packets, their shares and
 * ledger rows (a send), committed and rolled back as any unit. In a
 * batch it opens no savepoint: its rollback deletes the rows it inserted;
 * its first other write through the store's statements, or a unit begun
 * inside it, opens the savepoint first. Elsewhere as store_begin. */
int store_begin_inserts(struct store *s);

/* Group commit: the units of work begun while a batch is open share its
 * transaction, which store_batch_commit makes durable in one commit.
 * begin is a no-op when a batch is open; commit returns -1 when the
 * commit failed and the whole batch was rolled back (the caller then
 * must not acknowledge any of its units). */
int store_batch_begin(struct store *s);
int store_batch_commit(struct store *s);
int store_batch_open(const struct store *s);

/* Rows changed since the store was opened (to tell whether a unit
 * wrote anything). */
int64_t store_changes(struct store *s);

/* COMMITs run and units of work committed since the store was opened:
 * under load, group commit keeps the first well below the second. */
void store_commit_stats(const struct store *s, uint64_t *commits, uint64_t *units);
/* WAL checkpoints run off the event loop by a file store's checkpointer
 * thread (store_wal.h), and the times a write waited for one to bound the
 * WAL; in *synced (when not NULL) the passes after which the database
 * file was synced. All 0 for other stores. */
void store_wal_stats(const struct store *s, uint64_t *passes, uint64_t *drains, uint64_t *synced);

/* The WAL's size, in frames, past which the next write transaction waits
 * for one checkpoint pass, so that the WAL starts over (a file of at most
 * about 64 MiB with 2 KiB pages). Each wait stalls the writer for a pass
 * (its fsyncs included: 5 to 10 ms under load on the 2-core machine, the
 * passes before it having synced what they copied);
 * under a steady 25,000 sends a second it comes once a second or so, and
 * holds up the sends in flight then, a few in a thousand. */
#define STORE_WAL_DRAIN_FRAMES 32768

/* 1 when no merchant exists yet (fixtures not loaded), 0, or -1. */
int store_is_empty(struct store *s);

/* Deletes every row of the world (all merchants, or one merchant's
 * packets, shares, ledger, apps, scenes and the merchant itself), inside
 * the caller's transaction, before the fixtures are written again. The
 * business clock and the id sequences are kept. */
int store_wipe(struct store *s, const char *mch_id);
/* Recomputes the running counters (rate, days, statuses) from the
 * packets and shares, for a bulk load that wrote those rows with SQL of
 * its own: the store's insert functions keep them otherwise. 0 or -1. */
int store_counters_rebuild(struct store *s);

/* Replaces the whole database, at once, with a fresh one that fill(arg,
 * fresh) writes (an empty, migrated store beside the old file): the old
 * one's meta rows (the business clock) and id sequences are carried over,
 * the rename swaps the files, and the store keeps its address, settings
 * and counters. Costs what the fixtures cost, not what the database
 * holds. Returns 0, or -1 with err (the old database is kept, except
 * when the swapped one cannot be reopened: then the store is unusable). */
int store_replace(struct store *s, int (*fill)(void *arg, struct store *fresh), void *arg,
		  char *err, size_t errlen);
/* Whether store_replace can work here (not for a "file:" URI). */
int store_can_replace(const struct store *s);

/* Fixture loading. kind is "MP" (official account) or "APP". */
int store_merchant_insert(struct store *s, const struct merchant *m);
/* Writes limits, the API switch and ip_allowlist of m (not the balance:
 * that moves through store_ledger_add only). */
int store_merchant_update(struct store *s, const struct merchant *m);
int store_app_insert(struct store *s, const char *mch_id, const char *appid, const char *kind);
int store_scene_insert(struct store *s, const char *mch_id, const char *scene_id);
int store_user_insert(struct store *s, const char *openid, const char *appid);

/* Lookups: 1 found (out filled), 0 not found, -1 error. */
int store_merchant_lookup(struct store *s, const char *mch_id, struct merchant *out);
/* The kind of appid for the merchant into kind[8] ("MP"/"APP"). */
int store_app_kind(struct store *s, const char *mch_id, const char *appid, char kind[8]);
int store_user_appid(struct store *s, const char *openid, char appid[STORE_ID_MAX]);
int store_scene_enabled(struct store *s, const char *mch_id, const char *scene_id);
int store_packet_find(struct store *s, const char *mch_id, const char *mch_billno,
		      struct packet_row *out);

/* A send's reads, announced (redpack_send, before its checks): a store
 * whose every statement is a round trip (PostgreSQL) reads at once, in
 * one, what the calls that follow with exactly these arguments ask:
 * store_packets_created_since(mch_id, rate_since),
 * store_packet_find(mch_id, mch_billno), store_user_receipts_since(mch_id,
 * openid, day_start), store_merchant_sent_since(mch_id, day_start) and
 * store_packet_next_id, and answers them from it until its next write or
 * the unit's end. Anything else asks as before. A failed read here is
 * the unit's failure as any other (the reads after it fail too, and the
 * send answers SYSTEMERROR). SQLite: nothing to do. */
void store_send_prefetch(struct store *s, const char *mch_id, const char *mch_billno,
			 const char *openid, int64_t rate_since, int64_t day_start);

/* Counters for the rate and the daily limits: running totals kept by
 * triggers in the same transaction as the rows they count, each read by
 * key, so a send costs the same whatever the database holds. */

/* Orders the merchant created at or after since (within the last two
 * minutes: older seconds are pruned). */
int store_packets_created_since(struct store *s, const char *mch_id, int64_t since, int64_t *count);
/* The merchant's amount issued on the Beijing day that began at
 * day_start (clock_beijing_day_start). */
int store_merchant_sent_since(struct store *s, const char *mch_id, int64_t day_start,
			      int64_t *amount);

/* Writes. */
/* The id the next packet inserted without one gets (AUTOINCREMENT: one
 * past the largest ever used), so a send can make its send_listid before
 * the insert and write the row once. In the caller's transaction. */
int store_packet_next_id(struct store *s, int64_t *id);
int store_packet_insert(struct store *s, const struct packet_new *p, int64_t *id);
int store_packet_set_listid(struct store *s, int64_t id, const char *send_listid);
int store_share_insert(struct store *s, int64_t packet_id, int seq, int64_t amount);
/* A packet's shares 0..n-1 (amounts[seq]), in one statement: each
 * statement that writes costs SQLite thousands of instructions however
 * small its row. 1 <= n <= STORE_SHARES_MAX. */
#define STORE_SHARES_MAX 64
int store_shares_insert(struct store *s, int64_t packet_id, const int64_t *amounts, int n);
/* A ledger row and the matching change of merchants.balance (amount is
 * signed: negative for a debit). packet_id 0 means none. Both or neither
 * outside a transaction; inside one, a failure (-1) may leave the row
 * without the balance change: the caller rolls back, as for any failed
 * write in its transaction. */
int store_ledger_add(struct store *s, const char *mch_id, int64_t amount, const char *kind,
		     int64_t packet_id, int64_t at);

/* ---- lifecycle (claims, clock, expiry, refund) ---- */

/* The business clock's offset from real time, kept across restarts. */
int store_clock_offset(struct store *s, int64_t *offset);
int store_set_clock_offset(struct store *s, int64_t offset);

/* The shares of a packet in seq order, each passed to row(arg, share). */
int store_shares_each(struct store *s, int64_t packet_id,
		      void (*row)(void *arg, const struct share_row *share), void *arg);
/* Opens share seq for openid at time at. */
int store_share_open(struct store *s, int64_t packet_id, int seq, const char *openid, int64_t at);

/* A pending order (SENDING, no err_code) issued at send_time. */
int store_packet_issue(struct store *s, int64_t id, int64_t send_time);

/* Status changes; refund_time/refund_amount only when refunding. */
int store_packet_set_status(struct store *s, int64_t id, enum packet_status status);
int store_packet_set_refund(struct store *s, int64_t id, enum packet_status status,
			    int64_t refund_time, int64_t refund_amount);

/* Ids of the packets due for a lifecycle step (at most limit each call):
 * SENT issued at or before t; RFUND_ING issued at or before t; orders
 * still SENDING (held by a limit, or pending after PROCESSING) created at
 * or before t. */
enum store_due { DUE_EXPIRE, DUE_REFUND, DUE_FAIL, DUE_SETTLE };

/* Where a pending order with a settle_at goes ("SENT"/"FAILED"). */
int store_packet_settle_to(struct store *s, int64_t id, char out[8]);
int store_due_ids(struct store *s, enum store_due which, int64_t t, int64_t *ids, int limit);
/* The packet with this row id. 1 found, 0 not, -1 error. */
int store_packet_by_id(struct store *s, int64_t id, struct packet_row *out);

/* What openid received from the merchant on the Beijing day that began
 * at day_start, for the daily limits: the issued normal packets sent to
 * it, the first share of the issued groups it seeds, the shares it
 * opened of others' groups (count and amount). */
int store_user_receipts_since(struct store *s, const char *mch_id, const char *openid,
			      int64_t day_start, int64_t *count, int64_t *amount);

/* SQLite VM steps run by this store's statements so far (triggers
 * included): what a request costs, independent of the machine. */
int64_t store_vm_steps(struct store *s);

/* Listing for the control API: newest first; mch_id / status may be
 * NULL (no filter); only ids below before_id (a page after the one that
 * ended there; 0: from the newest), at most limit rows. Each row is
 * passed to row(arg, packet). */
int store_packets_each(struct store *s, const char *mch_id, const char *status, int64_t before_id,
		       int limit, void (*row)(void *arg, const struct packet_row *p), void *arg);
/* The packet a billno names: mch_id's (store_packet_find), or, with
 * mch_id NULL (a control API path that names only the billno), the one
 * merchant's that uses it. FOUND fills out. */
enum store_resolved {
	STORE_RESOLVE_ERROR = -1,
	STORE_RESOLVE_NOT_FOUND = 0,
	STORE_RESOLVE_FOUND = 1,
	STORE_RESOLVE_AMBIGUOUS = 2, /* several merchants use it: name one */
};
enum store_resolved store_packet_resolve(struct store *s, const char *mch_id,
					 const char *mch_billno, struct packet_row *out);
int store_ledger_each(struct store *s, int64_t packet_id,
		      void (*row)(void *arg, const struct ledger_row *l), void *arg);

/* Packets per status, each passed to row(arg, status, count): read from
 * a counter kept by triggers (status_count), not by counting packets. */
int store_status_counts(struct store *s, void (*row)(void *arg, const char *status, int64_t n),
			void *arg);

/* Money and size for /metrics, from counters and pragmas (no scan of the
 * ledger): the amount issued (the per-day running totals), the amount
 * refunded (through the status index), the database's bytes. */
struct store_totals {
	int64_t issued, refunded, bytes;
};
int store_totals(struct store *s, struct store_totals *out);

/* The synchronous setting the connection runs with (PRAGMA synchronous:
 * 1 NORMAL, 2 FULL; store_set_durability), or -1. */
int store_durability(struct store *s);

/* ---- the invariant checks ---- */

/* The rules the whole database must obey (invariants.c names them), one
 * query each in store.c that returns a text per row that breaks it. */
enum store_check {
	STORE_CHECK_SHARES_SUM_TO_TOTAL,
	STORE_CHECK_SHARE_AT_LEAST_ONE_FEN,
	STORE_CHECK_ISSUED_PACKET_HAS_SHARES,
	STORE_CHECK_UNISSUED_PACKET_HAS_NO_SHARES,
	STORE_CHECK_STATUS_KNOWN,
	STORE_CHECK_ISSUED_PACKET_DEBITED_ONCE,
	STORE_CHECK_UNISSUED_PACKET_NOT_DEBITED,
	STORE_CHECK_SEND_ROWS_MATCH_PACKETS,
	STORE_CHECK_BALANCE_EQUALS_LEDGER,
	STORE_CHECK_BALANCE_NOT_NEGATIVE,
	STORE_CHECK_SEND_LISTID_PRESENT,
	STORE_CHECK_HELD_PACKET_HAS_REASON,
	STORE_CHECK_RECEIVED_IFF_ALL_OPENED,
	STORE_CHECK_OPENED_SHARE_COMPLETE,
	STORE_CHECK_SHARES_OPENED_IN_ORDER,
	STORE_CHECK_SEED_USER_OPENS_FIRST,
	STORE_CHECK_ONE_SHARE_PER_OPENER,
	STORE_CHECK_REFUND_IS_UNOPENED_REST,
	STORE_CHECK_REFUND_CREDITED_ONCE,
	STORE_CHECK_REFUND_FIELDS_ONLY_WHEN_REFUNDED,
	STORE_CHECK_NO_ORPHAN_SHARES,
	STORE_CHECK_NO_ORPHAN_LEDGER,
	STORE_CHECK_NO_ORPHAN_PACKETS,
	STORE_CHECK_NO_ORPHAN_APPS,
	STORE_CHECK_MERCHANT_DAY_COUNTER,
	STORE_CHECK_USER_DAY_COUNTER,
	STORE_CHECK_STATUS_COUNTER,
	STORE_CHECK_RATE_COUNTER,
	STORE_CHECK__COUNT
};

/* Runs check which on s or on a reader (store_reader_open), inside the
 * caller's transaction, calling row(arg, text) for every violation found.
 * Returns their number, or -1. */
int store_check(struct store *s, enum store_check which, void (*row)(void *arg, const char *text),
		void *arg);

/* ---- lifecycle catch-up and sliced sweeps ---- */

/* The settle_at of a pending order (0: none) into *settle_at. 0 or -1. */
int store_packet_settle_at(struct store *s, int64_t id, int64_t *settle_at);

/* One page of the packets due for a step at t (as store_due_ids), in the
 * order of their due key (send_time, created_at or settle_at) then id,
 * starting after the cursor (*key, *id) and moving it to the last one
 * returned; a cursor of (INT64_MIN, 0) starts at the beginning. Returns
 * the number of ids (at most limit), or -1. */
int store_due_page(struct store *s, enum store_due which, int64_t t, int64_t *key, int64_t *id,
		   int64_t *ids, int limit);

/* SQLite's message for the first call that failed since
 * store_error_clear (a failure's later echoes, such as a savepoint gone
 * with a transaction SQLite rolled back, do not replace it): to name the
 * cause of a failure in an answer. */
void store_error_clear(struct store *s);
const char *store_first_error(const struct store *s);

/* 1 while a transaction is open. SQLite rolls a whole transaction back
 * on some errors (a full database among them): a batch that is open
 * but no longer in a transaction lost its units. */
int store_in_transaction(struct store *s);

/* ---- a reader beside the loop, and a merchant's reset in slices ---- */

/* 1 when a second connection can see this database (a file; not
 * ":memory:" nor a "file:" URI), in WAL mode. */
int store_can_share(const struct store *s);

/* A second, read-only connection to s's file, inside a read transaction
 * begun here: it sees what was committed when it was opened, whatever the
 * loop commits afterwards (WAL). Opened and closed on the loop thread;
 * between the two it may be used by one other thread (the invariant
 * checker), and only store_check and store_first_error work on it;
 * its errors are not logged (the owner logs store_first_error). While one
 * is open, store_can_replace says 0. NULL with err when s cannot be shared
 * (store_can_share) or the file cannot be opened. */
struct store *store_reader_open(struct store *s, char *err, size_t errlen);
void store_reader_close(struct store *s, struct store *reader);
/* Makes the reader's running query fail soon (SQLITE_INTERRUPT); safe
 * from another thread while the reader is open. */
void store_interrupt(struct store *reader);

/* One slice of a merchant's reset: deletes at most limit of mch_id's
 * packets with their shares and ledger rows, inside the caller's unit of
 * work, keeping every invariant (balances move by the deleted ledger
 * rows, the running counters lose what the deleted rows counted). Returns
 * the packets deleted (0: none left), or -1; *rows gets the rows deleted
 * (packets, shares and ledger). The rest of the merchant (its own ledger
 * rows, apps, scenes) stays for store_wipe. */
int store_reset_slice(struct store *s, const char *mch_id, int limit, int64_t *rows);

#endif
