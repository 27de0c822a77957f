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

struct store;

#define STORE_ID_MAX 132   /* 32 characters of UTF-8, with room to spare */

struct merchant {
	char mch_id[STORE_ID_MAX];
	char name[STORE_ID_MAX * 2];
	char api_key[STORE_ID_MAX];
	int64_t balance;
	int64_t sends_per_minute;      /* 0: unlimited */
	int64_t packets_per_user_per_day;
	int64_t amount_per_user_per_day;
	int64_t amount_per_day;
};

/* What a send records (strings borrowed for the call). */
struct packet_new {
	const char *mch_id, *mch_billno, *hb_type, *status;
	const char *wxappid, *re_openid, *send_name, *wishing, *act_name, *remark;
	const char *scene_id, *client_ip, *amt_type;
	int64_t total_amount, total_num;
	const char *err_code, *reason; /* NULL unless a limit held the order */
	int64_t created_at;
	int64_t send_time; /* 0: not issued */
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
	int64_t created_at, send_time;
};

/* Opens (creating mode 0600 if needed) and migrates the database at
 * path (":memory:" allowed). Returns NULL with a message in err. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/* Caps the database at pages pages (0: SQLite's default, no cap). Past
 * the cap every write fails as on a full disk. Returns 0 or -1. */
int store_set_max_pages(struct store *s, int64_t pages);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback is safe to call when no
 * transaction is open. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* 1 when no merchant exists yet (fixtures not loaded), 0, or -1. */
int store_is_empty(struct store *s);

/* Fixture loading. kind is "MP" (official account) or "APP". */
int store_merchant_insert(struct store *s, const struct merchant *m);
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

/* Counters for the rate and daily limits. */
int store_packets_created_since(struct store *s, const char *mch_id, int64_t since,
				int64_t *count);
int store_user_received_since(struct store *s, const char *mch_id, const char *openid,
			      int64_t since, int64_t *count, int64_t *amount);
int store_merchant_sent_since(struct store *s, const char *mch_id, int64_t since, int64_t *amount);

/* Writes. */
int store_packet_insert(struct store *s, const struct packet_new *p, int64_t *id);
int store_packet_set_listid(struct store *s, int64_t id, const char *send_listid);
int store_share_insert(struct store *s, int64_t packet_id, int seq, int64_t amount);
/* A ledger row and the matching change of merchants.balance (amount is
 * signed: negative for a debit). packet_id 0 means none. */
int store_ledger_add(struct store *s, const char *mch_id, int64_t amount, const char *kind,
		     int64_t packet_id, int64_t at);

#endif

/* Runs a constant, parameterless query (the invariant checks) and calls
 * row(arg, text) with the first column of every row. Returns the number
 * of rows, or -1. */
int store_each_text(struct store *s, const char *sql, void (*row)(void *arg, const char *text),
		    void *arg);
