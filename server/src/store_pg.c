/*
 * store_pg.c - the store on PostgreSQL: store.c's statements written for
 * PostgreSQL and registered with pg.c (each prepared once per
 * connection), its transactions with the write lock, and what a lost
 * connection leaves. The contracts are store.h's (store_pg.h says what
 * differs); store.c is the reference behaviour.
 */
#include "store_pg.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deltas.h"
#include "log.h"
#include "status.h"
#include "util.h"

/* ---- statements -------------------------------------------------------- */

/* Every statement of the store, as pg.c's registry: pg_run(pg, ST_X, ...).
 * Parameters are text, typed by the casts ($1::bigint): without one,
 * PostgreSQL would take "$1 + 28800" for a 32-bit integer. */
enum st {
	ST_MERCHANT_COUNT,
	ST_SWEEP_TRY,
	ST_MERCHANT_INSERT,
	ST_MERCHANT_UPDATE,
	ST_APP_INSERT,
	ST_SCENE_INSERT,
	ST_USER_INSERT,
	ST_MERCHANT_LOOKUP,
	ST_APP_KIND,
	ST_USER_APPID,
	ST_SCENE_ENABLED,
	ST_PACKET_FIND,
	ST_PACKET_BY_ID,
	ST_PACKET_SETTLE_TO,
	ST_PACKET_SETTLE_AT,
	ST_PACKETS_BY_BILLNO,
	ST_PACKETS_LIST,
	ST_CLOCK_GET,
	ST_CLOCK_SET,
	ST_SHARES_LIST,
	ST_SHARE_OPEN,
	ST_PACKET_SET_STATUS,
	ST_PACKET_ISSUE,
	ST_PACKET_SET_REFUND,
	ST_DUE_IDS,				   /* + enum store_due */
	ST_DUE_PAGE = ST_DUE_IDS + DUE_SETTLE + 1, /* + enum store_due */
	ST_LEDGER_LIST = ST_DUE_PAGE + DUE_SETTLE + 1,
	ST_PACKETS_CREATED_SINCE,
	ST_USER_DAY,
	ST_MERCHANT_DAY,
	ST_PACKET_INSERT,
	ST_PACKET_NEXT_ID,
	ST_PACKET_SET_LISTID,
	ST_SHARE_INSERT,
	ST_SHARES_INSERT,
	ST_LEDGER_ADD,
	ST_STATUS_COUNTS,
	ST_TOTALS,
	ST_DURABILITY,
	ST_ADD_RATE,
	ST_RATE_PRUNE,
	ST_ADD_STATUS,
	ST_ADD_MERCHANT_DAY,
	ST_ADD_USER_DAY,
	ST_SEED_OF,
	ST_SEND_PREFETCH,
	ST__COUNT
};

#define PACKET_COLUMNS                                                                             \
	"SELECT id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,"                      \
	" total_amount, total_num, COALESCE(send_listid, ''), COALESCE(err_code, ''),"             \
	" created_at, COALESCE(send_time, 0), COALESCE(reason, ''), send_name, wishing,"           \
	" act_name, remark, COALESCE(scene_id, ''), COALESCE(refund_time, 0),"                     \
	" COALESCE(refund_amount, 0) FROM packets "

#define PACKETS_SEQUENCE "pg_get_serial_sequence('packets', 'id')"

/* clang-format off */
static const char *const statements[ST__COUNT] = {
	[ST_MERCHANT_COUNT] = "SELECT COUNT(*) FROM merchants",
	[ST_SWEEP_TRY] = "SELECT pg_try_advisory_lock($1)",
	[ST_MERCHANT_INSERT] =
	 "INSERT INTO merchants (mch_id, name, api_key, balance, sends_per_minute,"
	 " packets_per_user_per_day, amount_per_user_per_day, amount_per_day, api_enabled,"
	 " ip_allowlist) VALUES ($1, $2, $3, 0, $4::bigint, $5::bigint, $6::bigint, $7::bigint,"
	 " $8::bigint, $9)",
	[ST_MERCHANT_UPDATE] =
	 "UPDATE merchants SET sends_per_minute = $1::bigint, packets_per_user_per_day = $2::bigint,"
	 " amount_per_user_per_day = $3::bigint, amount_per_day = $4::bigint,"
	 " api_enabled = $5::bigint, ip_allowlist = $6 WHERE mch_id = $7",
	[ST_APP_INSERT] = "INSERT INTO apps (mch_id, appid, kind) VALUES ($1, $2, $3)",
	[ST_SCENE_INSERT] = "INSERT INTO scenes (mch_id, scene_id) VALUES ($1, $2)",
	[ST_USER_INSERT] = "INSERT INTO users (openid, appid) VALUES ($1, $2)",
	[ST_MERCHANT_LOOKUP] =
	 "SELECT mch_id, name, api_key, balance, sends_per_minute, packets_per_user_per_day,"
	 " amount_per_user_per_day, amount_per_day, api_enabled, ip_allowlist FROM merchants"
	 " WHERE mch_id = $1",
	[ST_APP_KIND] = "SELECT kind FROM apps WHERE mch_id = $1 AND appid = $2",
	[ST_USER_APPID] = "SELECT appid FROM users WHERE openid = $1",
	[ST_SCENE_ENABLED] = "SELECT 1 FROM scenes WHERE mch_id = $1 AND scene_id = $2",
	[ST_PACKET_FIND] = PACKET_COLUMNS "WHERE mch_id = $1 AND mch_billno = $2",
	[ST_PACKET_BY_ID] = PACKET_COLUMNS "WHERE id = $1::bigint",
	[ST_PACKET_SETTLE_TO] = "SELECT COALESCE(settle_to, 'SENT') FROM packets WHERE id = $1::bigint",
	[ST_PACKET_SETTLE_AT] = "SELECT COALESCE(settle_at, 0) FROM packets WHERE id = $1::bigint",
	/* By the (mch_id, mch_billno) key, once per merchant, as store.c;
	 * two rows tell it all. */
	[ST_PACKETS_BY_BILLNO] = PACKET_COLUMNS
	 "WHERE mch_id IN (SELECT mch_id FROM merchants) AND mch_billno = $1 ORDER BY id LIMIT 2",
	[ST_PACKETS_LIST] = PACKET_COLUMNS
	 "WHERE id < $4::bigint AND ($1::text IS NULL OR mch_id = $1::text)"
	 " AND ($2::text IS NULL OR status = $2::text) ORDER BY id DESC LIMIT $3::bigint",
	[ST_CLOCK_GET] = "SELECT value FROM meta WHERE key = 'clock_offset'",
	[ST_CLOCK_SET] =
	 "INSERT INTO meta (key, value) VALUES ('clock_offset', $1::bigint)"
	 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_SHARES_LIST] =
	 "SELECT seq, amount, COALESCE(openid, ''), COALESCE(rcv_time, 0) FROM shares"
	 " WHERE packet_id = $1::bigint ORDER BY seq",
	[ST_SHARE_OPEN] =
	 "UPDATE shares SET openid = $1, rcv_time = $2::bigint"
	 " WHERE packet_id = $3::bigint AND seq = $4::bigint AND openid IS NULL",
	[ST_PACKET_SET_STATUS] = "UPDATE packets SET status = $1 WHERE id = $2::bigint",
	[ST_PACKET_ISSUE] =
	 "UPDATE packets SET status = 'SENT', send_time = $1::bigint WHERE id = $2::bigint"
	 " AND status = 'SENDING' AND err_code IS NULL",
	[ST_PACKET_SET_REFUND] =
	 "UPDATE packets SET status = $1, refund_time = $2::bigint, refund_amount = $3::bigint"
	 " WHERE id = $4::bigint",
	/* Ties of the due key in id order (SQLite's index order). */
	[ST_DUE_IDS + DUE_EXPIRE] =
	 "SELECT id FROM packets WHERE status = 'SENT' AND send_time <= $1::bigint"
	 " ORDER BY send_time, id LIMIT $2::bigint",
	[ST_DUE_IDS + DUE_REFUND] =
	 "SELECT id FROM packets WHERE status = 'RFUND_ING' AND send_time <= $1::bigint"
	 " ORDER BY send_time, id LIMIT $2::bigint",
	[ST_DUE_IDS + DUE_FAIL] =
	 "SELECT id FROM packets WHERE status = 'SENDING' AND created_at <= $1::bigint"
	 " ORDER BY created_at, id LIMIT $2::bigint",
	[ST_DUE_IDS + DUE_SETTLE] =
	 "SELECT id FROM packets WHERE status = 'SENDING' AND settle_at <= $1::bigint"
	 " ORDER BY settle_at, id LIMIT $2::bigint",
	/* Each kind by its due key, then id, after the cursor ($2, $3). */
	[ST_DUE_PAGE + DUE_EXPIRE] =
	 "SELECT id, send_time FROM packets WHERE status = 'SENT' AND send_time <= $1::bigint"
	 " AND (send_time, id) > ($2::bigint, $3::bigint) ORDER BY send_time, id LIMIT $4::bigint",
	[ST_DUE_PAGE + DUE_REFUND] =
	 "SELECT id, send_time FROM packets WHERE status = 'RFUND_ING' AND send_time <= $1::bigint"
	 " AND (send_time, id) > ($2::bigint, $3::bigint) ORDER BY send_time, id LIMIT $4::bigint",
	[ST_DUE_PAGE + DUE_FAIL] =
	 "SELECT id, created_at FROM packets WHERE status = 'SENDING' AND created_at <= $1::bigint"
	 " AND (created_at, id) > ($2::bigint, $3::bigint) ORDER BY created_at, id"
	 " LIMIT $4::bigint",
	[ST_DUE_PAGE + DUE_SETTLE] =
	 "SELECT id, settle_at FROM packets WHERE status = 'SENDING' AND settle_at <= $1::bigint"
	 " AND (settle_at, id) > ($2::bigint, $3::bigint) ORDER BY settle_at, id LIMIT $4::bigint",
	[ST_LEDGER_LIST] =
	 "SELECT id, mch_id, amount, kind, COALESCE(packet_id, 0), at FROM ledger"
	 " WHERE packet_id = $1::bigint ORDER BY id",
	[ST_PACKETS_CREATED_SINCE] =
	 "SELECT COALESCE(SUM(count), 0) FROM rate_second WHERE mch_id = $1 AND second >= $2::bigint",
	[ST_USER_DAY] =
	 "SELECT count, amount FROM day_user WHERE mch_id = $1 AND openid = $2"
	 " AND day = ($3::bigint + 28800) / 86400",
	[ST_MERCHANT_DAY] =
	 "SELECT amount FROM day_merchant WHERE mch_id = $1 AND day = ($2::bigint + 28800) / 86400",
	/* The counters follow by trigger (schema_pg.sql): nothing to count
	 * here. No id: the sequence's next one. */
	[ST_PACKET_INSERT] =
	 "INSERT INTO packets (mch_id, mch_billno, hb_type, status, wxappid, re_openid, send_name,"
	 " wishing, act_name, remark, scene_id, client_ip, amt_type, total_amount, total_num,"
	 " err_code, reason, created_at, send_time, settle_at, settle_to, id, send_listid)"
	 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::bigint,"
	 " $15::bigint, $16, $17, $18::bigint, $19::bigint, $20::bigint, $21,"
	 " COALESCE($22::bigint, nextval(" PACKETS_SEQUENCE ")), $23) RETURNING id",
	[ST_PACKET_NEXT_ID] = "SELECT nextval(" PACKETS_SEQUENCE ")",
	[ST_PACKET_SET_LISTID] = "UPDATE packets SET send_listid = $1 WHERE id = $2::bigint",
	[ST_SHARE_INSERT] =
	 "INSERT INTO shares (packet_id, seq, amount) VALUES ($1::bigint, $2::bigint, $3::bigint)",
	/* A packet's shares from one array, amounts[seq]: one statement for
	 * any count. */
	[ST_SHARES_INSERT] =
	 "INSERT INTO shares (packet_id, seq, amount) SELECT $1::bigint, t.o - 1, t.a"
	 " FROM unnest($2::bigint[]) WITH ORDINALITY AS t(a, o) ORDER BY t.o",
	/* The ledger row and the balance change in one statement: both or
	 * neither, inside a transaction or not. */
	[ST_LEDGER_ADD] =
	 "WITH l AS (INSERT INTO ledger (mch_id, amount, kind, packet_id, at)"
	 " VALUES ($1, $2::bigint, $3, $4::bigint, $5::bigint) RETURNING mch_id, amount)"
	 " UPDATE merchants m SET balance = m.balance + l.amount FROM l WHERE m.mch_id = l.mch_id",
	[ST_STATUS_COUNTS] =
	 "SELECT status, SUM(n) FROM status_count GROUP BY status HAVING SUM(n) > 0 ORDER BY status",
	[ST_TOTALS] =
	 "SELECT (SELECT COALESCE(SUM(amount), 0) FROM day_merchant),"
	 " (SELECT COALESCE(SUM(refund_amount), 0) FROM packets WHERE status = 'REFUND'),"
	 " pg_database_size(current_database())",
	[ST_DURABILITY] = "SELECT current_setting('synchronous_commit')",
	/* The counter changes a batch held (deltas.h), one key each: what the
	 * INSERT triggers of schema_pg.sql do outside a batch. */
	[ST_ADD_RATE] =
	 "INSERT INTO rate_second AS r VALUES ($1, $2::bigint, $3::bigint)"
	 " ON CONFLICT (mch_id, second) DO UPDATE SET count = r.count + excluded.count",
	[ST_RATE_PRUNE] = "DELETE FROM rate_second WHERE mch_id = $1 AND second < $2::bigint - 120",
	[ST_ADD_STATUS] =
	 "INSERT INTO status_count AS c VALUES ($1, $2, $3::bigint)"
	 " ON CONFLICT (mch_id, status) DO UPDATE SET n = c.n + excluded.n",
	[ST_ADD_MERCHANT_DAY] =
	 "INSERT INTO day_merchant AS d VALUES ($1, $2::bigint, $3::bigint)"
	 " ON CONFLICT (mch_id, day) DO UPDATE SET amount = d.amount + excluded.amount",
	[ST_ADD_USER_DAY] =
	 "INSERT INTO day_user AS d VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint)"
	 " ON CONFLICT (mch_id, openid, day)"
	 " DO UPDATE SET count = d.count + excluded.count, amount = d.amount + excluded.amount",
	/* A send's reads in one (pgstore_send_prefetch): the rate since $3, the
	 * merchant's and the user's day that began at $4, the next packet id
	 * when $6 is 1, then the order with that billno (its columns as
	 * PACKET_COLUMNS's, NULL when there is none). */
	[ST_SEND_PREFETCH] =
	 "SELECT (SELECT COALESCE(SUM(count), 0) FROM rate_second"
	 "  WHERE mch_id = $1 AND second >= $3::bigint),"
	 " COALESCE((SELECT amount FROM day_merchant"
	 "  WHERE mch_id = $1 AND day = ($4::bigint + 28800) / 86400), 0),"
	 " COALESCE(u.count, 0), COALESCE(u.amount, 0),"
	 " CASE WHEN $6::int = 1 THEN nextval(" PACKETS_SEQUENCE ") ELSE 0 END, p.*"
	 " FROM (SELECT 1) AS one"
	 " LEFT JOIN day_user u ON u.mch_id = $1 AND u.openid = $5"
	 "  AND u.day = ($4::bigint + 28800) / 86400"
	 " LEFT JOIN LATERAL (" PACKET_COLUMNS "WHERE mch_id = $1 AND mch_billno = $2) AS p ON true",
	[ST_SEED_OF] =
	 "SELECT mch_id, re_openid, COALESCE(send_time, 0), status, hb_type FROM packets"
	 " WHERE id = $1::bigint",
};
/* clang-format on */

/* pg.c's one registry: this file's statements, then store_pg_admin.c's
 * (pgstore_run_admin), filled once. */
#define REGISTRY_COUNT (ST__COUNT + PGA__COUNT)
static const char *registry[REGISTRY_COUNT];
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_fill(void)
{
	for (int i = 0; i < ST__COUNT; i++)
		registry[i] = statements[i];
	for (int i = 0; i < PGA__COUNT; i++)
		registry[ST__COUNT + i] = pgstore_admin_sql[i];
}

/* ---- the store --------------------------------------------------------- */

/* Units nested at most this deep hold their counter changes (marks). */
#define HOLD_DEPTH 8

struct pgstore {
	struct pg *pg;
	char *url;   /* as opened, for a reader's connection */
	int tx;	     /* a transaction of ours is open on the server */
	int open;    /* the caller's transaction (outside a batch) not yet ended */
	int batch;   /* a group transaction is open (pgstore_batch_begin) */
	int units;   /* pgstore_begin units open inside it, as savepoints */
	int lost;    /* the connection was lost: connect again when possible */
	int sweeper; /* this session holds PGSTORE_LOCK_SWEEP (pgstore_sweep_turn) */
	uint64_t commits, units_done; /* COMMITs run; units of work kept */
	int64_t changes;	      /* rows written by the store's statements */
	int64_t next_id;	      /* taken by pgstore_packet_next_id, not yet inserted */
	int power_loss;		      /* pgstore_set_durability, again after a reconnect */
	int reader;		      /* a reader: on a thread of its own, nothing logged */
	PGcancel *cancel;	      /* a reader's, for pgstore_interrupt */
	atomic_int interrupted;	      /* pgstore_interrupt was called */
	char begin_sql[128];	      /* BEGIN and the write lock, in one round trip */
	char first_error[320];	      /* since pgstore_error_clear */
	/* In a batch (which holds the write lock: no other process writes)
	 * an app's kind, a user's appid and a scene change only through this
	 * store's inserts: a lookup answered in the same gen answers again
	 * from memory (memo_hit), a round trip fewer each. gen moves at each
	 * batch's begin, a rollback and those inserts. */
	uint64_t gen;
	struct pgmemo {
		uint64_t gen; /* 0: nothing */
		int rc;
		char k1[STORE_ID_MAX], k2[STORE_ID_MAX], value[STORE_ID_MAX];
	} memo_app, memo_user, memo_scene;
	/* The merchant too (looked up twice a send): its balance moves only
	 * by pgstore_ledger_add, which moves the remembered one with it. */
	struct {
		struct pgmemo key;
		struct merchant m;
	} memo_merchant;
	/* In a batch the store counts the send path's rows itself (the INSERT
	 * triggers do not fire: schema_pg.sql's migration 5), holding the
	 * changes by key until the COMMIT (pending_write); marks[i] is where
	 * unit i + 1 began, for its rollback. Units nested deeper than
	 * HOLD_DEPTH write theirs through. */
	struct deltas *pending;
	size_t marks[HOLD_DEPTH];
	/* A send's reads, made at once (pgstore_send_prefetch): answered
	 * while nothing was written since (changes) in the same unit. */
	struct {
		int valid;
		int64_t changes;
		char mch_id[STORE_ID_MAX], billno[STORE_ID_MAX], openid[STORE_ID_MAX];
		int64_t rate_since, day_start;
		int64_t rate, mch_day, user_count, user_amount;
		int found;
		struct packet_row order;
	} pre;
	/* The packet just inserted in the batch, for its seed share. */
	struct {
		int64_t id; /* 0: none */
		char mch_id[STORE_ID_MAX], openid[STORE_ID_MAX];
		int64_t day;
		int counted;
	} last;
};

/* ---- helpers ----------------------------------------------------------- */

/* Text parameters for one statement: strings borrowed, integers
 * formatted here. */
#define PARAMS_MAX 24

struct params {
	int n;
	const char *v[PARAMS_MAX];
	char num[PARAMS_MAX][24];
};

static void p_text(struct params *p, const char *v)
{
	p->v[p->n++] = v;
}

static void p_int(struct params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

/* 0 as NULL: "none" in the columns that are NULL until set. */
static void p_int_or_null(struct params *p, int64_t v)
{
	if (v)
		p_int(p, v);
	else
		p_text(p, NULL);
}

static int64_t col_int(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void copy_col(const PGresult *res, int row, int col, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", PQgetvalue(res, row, col));
}

/* Records text as the failure of what: the first since
 * pgstore_error_clear, and in the log (not a reader's: log.c is the
 * loop's, and the owner logs its first error). Returns -1. */
static int refuse(struct pgstore *s, const char *what, const char *text)
{
	if (!s->first_error[0])
		snprintf(s->first_error, sizeof(s->first_error), "%s", text);
	if (!s->reader)
		log_error("store: %s: %s", what, text);
	return -1;
}

/* Records pg's last failure. A lost connection takes the transaction
 * with it. A statement that failed inside a batch but outside any unit
 * aborted the batch's transaction, which no savepoint can save: it is
 * rolled back now, and the batch is lost (store_in_transaction says 0)
 * as SQLite's is when it rolls a transaction back itself. Returns -1. */
static int fail(struct pgstore *s, const char *what)
{
	const struct pg_error *e = pg_last_error(s->pg);
	char text[sizeof(e->message) + 48];

	if (e->fault == PG_FAULT_LOST) {
		snprintf(text, sizeof(text), "the database connection was lost: %s", e->message);
		s->lost = 1;
		s->tx = 0;
		return refuse(s, what, text);
	}
	snprintf(text, sizeof(text), "%s", e->message[0] ? e->message : "unknown error");
	refuse(s, what, text);
	if (s->tx && s->batch && s->units == 0 &&
	    PQtransactionStatus(pg_conn(s->pg)) == PQTRANS_INERROR) {
		if (pg_exec(s->pg, "ROLLBACK") != 0 && pg_last_error(s->pg)->fault == PG_FAULT_LOST)
			s->lost = 1;
		s->tx = 0;
	}
	return -1;
}

/* synchronous_commit: "local" for 0, "on" for 1 (pgstore_set_durability).
 * Never "off": a commit acknowledged before its WAL is written is lost
 * when the server crashes or restarts at once, which SQLite's NORMAL
 * would keep (a crash of the server is this store's crash of a process). */
static int apply_durability(struct pgstore *s)
{
	return pg_exec(s->pg, s->power_loss ? "SET synchronous_commit = on"
					    : "SET synchronous_commit = local");
}

/* Whether a statement may run now: inside our transaction, or outside
 * any, where a lost connection is made again first. A transaction the
 * caller has not ended but the server no longer has (lost with the
 * connection, or a batch rolled back) fails every call until it ends:
 * a reconnect there would write the rest of it without its start. */
static int ready(struct pgstore *s, const char *what)
{
	if (s->tx)
		return 0;
	if (s->open || s->batch)
		return refuse(s, what,
			      s->lost ? "the database connection was lost with the transaction"
				      : "the transaction was rolled back after a failed statement");
	if (!s->lost)
		return 0;
	if (pg_reconnect(s->pg) != 0 || apply_durability(s) != 0)
		return fail(s, what);
	s->lost = 0;
	s->sweeper = 0; /* a session lock goes with its session */
	/* An id taken in the lost session may not have reached the WAL
	 * before a crash of the server, and be given again: take a new one. */
	s->next_id = 0;
	return 0;
}

/* Registered statement id with n text parameters: its result (the
 * caller's to PQclear), or NULL when it failed (recorded). */
static PGresult *run_n(struct pgstore *s, int id, int n, const char *const *v, const char *what)
{
	PGresult *res;

	if (ready(s, what) != 0)
		return NULL;
	res = pg_run(s->pg, id, n, v);
	if (!res)
		fail(s, what);
	return res;
}

/* Statement id with the parameters p (NULL: none). */
static PGresult *run(struct pgstore *s, enum st id, const struct params *p, const char *what)
{
	return run_n(s, (int)id, p ? p->n : 0, p ? p->v : NULL, what);
}

/* A statement expected to return at most one row: 1 row (*out the
 * result, the caller's to PQclear), 0 none, -1 error. */
static int run_row(struct pgstore *s, enum st id, const struct params *p, const char *what,
		   PGresult **out)
{
	PGresult *res = run(s, id, p, what);

	*out = NULL;
	if (!res)
		return -1;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return 0;
	}
	*out = res;
	return 1;
}

/* BEGIN, READ COMMITTED whatever the database's default, and the write
 * lock: the counterpart of SQLite's BEGIN IMMEDIATE, across processes. */
static int tx_begin(struct pgstore *s, const char *what)
{
	if (pg_exec(s->pg, s->begin_sql) != 0) {
		fail(s, what);
		if (!s->lost && PQtransactionStatus(pg_conn(s->pg)) != PQTRANS_IDLE)
			pg_exec(s->pg, "ROLLBACK");
		return -1;
	}
	s->tx = 1;
	return 0;
}

/* COMMIT (a failed one rolled back). 0 or -1. */
static int tx_commit(struct pgstore *s, const char *what)
{
	int rc = 0;

	if (pg_exec(s->pg, "COMMIT") != 0) {
		rc = fail(s, what);
		if (!s->lost && PQtransactionStatus(pg_conn(s->pg)) != PQTRANS_IDLE)
			pg_exec(s->pg, "ROLLBACK");
	}
	s->tx = 0;
	return rc;
}

/* A write outside any transaction runs in one of its own, under the
 * write lock as every writing transaction (*own set); inside one, in it. */
static int own_begin(struct pgstore *s, int *own, const char *what)
{
	*own = 0;
	if (ready(s, what) != 0)
		return -1;
	if (s->tx)
		return 0;
	if (tx_begin(s, what) != 0)
		return -1;
	*own = 1;
	return 0;
}

static int own_end(struct pgstore *s, int own, int rc, const char *what)
{
	if (!own)
		return rc;
	if (rc != 0) {
		if (s->tx && pg_exec(s->pg, "ROLLBACK") != 0 &&
		    pg_last_error(s->pg)->fault == PG_FAULT_LOST)
			s->lost = 1;
		s->tx = 0;
		return -1;
	}
	return tx_commit(s, what);
}

/* One writing statement (own_begin): the rows it changed, or -1. */
static int64_t write1(struct pgstore *s, enum st id, const struct params *p, const char *what)
{
	PGresult *res;
	int64_t n = -1;
	int own;

	if (own_begin(s, &own, what) != 0)
		return -1;
	res = run(s, id, p, what);
	if (res) {
		n = strtoll(PQcmdTuples(res), NULL, 10);
		s->changes += n;
	}
	PQclear(res);
	return own_end(s, own, n < 0 ? -1 : 0, what) != 0 ? -1 : n;
}

static int write0(struct pgstore *s, enum st id, const struct params *p, const char *what)
{
	return write1(s, id, p, what) < 0 ? -1 : 0;
}

/* ---- the batch's counters ------------------------------------------------ */

/* The store counts what it inserts itself while a batch is open (the
 * batch's redpack.hold setting keeps the INSERT triggers from it), and
 * holds what it counts while the unit is not nested deeper than
 * HOLD_DEPTH. The reads of counters on the send path add what is held
 * (held_*); every other reader writes it first (pgstore_pending_flush). */
static int counting(const struct pgstore *s)
{
	return s->batch && s->tx && s->pending;
}

static int holding(const struct pgstore *s)
{
	return counting(s) && s->units <= HOLD_DEPTH;
}

static int64_t day_of(int64_t t)
{
	return (t + 28800) / 86400; /* a Beijing calendar day */
}

/* Writes one counter change, by its kind's statement. */
static int counter_write(struct pgstore *s, const struct delta *d)
{
	struct params p = {0};

	p_text(&p, d->mch_id);
	switch (d->kind) {
	case DELTA_RATE:
		p_int(&p, d->k);
		p_int(&p, d->count);
		if (write0(s, ST_ADD_RATE, &p, "count rate") != 0)
			return -1;
		p.n = 1; /* seconds over two minutes old go as new ones come */
		p_int(&p, d->k);
		return write0(s, ST_RATE_PRUNE, &p, "prune rate");
	case DELTA_STATUS:
		p_text(&p, d->text);
		p_int(&p, d->count);
		return write0(s, ST_ADD_STATUS, &p, "count status");
	case DELTA_MERCHANT_DAY:
		p_int(&p, d->k);
		p_int(&p, d->amount);
		return write0(s, ST_ADD_MERCHANT_DAY, &p, "count merchant's day");
	case DELTA_USER_DAY:
		p_text(&p, d->text);
		p_int(&p, d->k);
		p_int(&p, d->count);
		p_int(&p, d->amount);
		return write0(s, ST_ADD_USER_DAY, &p, "count user's day");
	case DELTA_BALANCE: /* the ledger's statement moves the balance */
		break;
	}
	return refuse(s, "count", "no such counter");
}

/* One counter change of a row inserted in a batch: held, or written. */
static int counter_add(struct pgstore *s, enum delta_kind kind, const char *mch_id,
		       const char *text, int64_t k, int64_t count, int64_t amount)
{
	if (holding(s) && deltas_add(s->pending, kind, mch_id, text, k, count, amount) == 0)
		return 0;
	struct delta d = {.kind = kind, .k = k, .count = count, .amount = amount};
	if (strlen(mch_id) >= sizeof(d.mch_id) || (text && strlen(text) >= sizeof(d.text)))
		return refuse(s, "count", "key too long");
	strcpy(d.mch_id, mch_id);
	strcpy(d.text, text ? text : "");
	return counter_write(s, &d);
}

/* Writes what is held, in the batch's transaction, and forgets it. */
static int pending_write(struct pgstore *s)
{
	size_t n = s->pending ? deltas_count(s->pending) : 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct delta *d = deltas_at(s->pending, i);
		if (d->count || d->amount)
			rc = counter_write(s, d);
	}
	if (s->pending)
		deltas_clear(s->pending);
	return rc;
}

int pgstore_pending_flush(struct pgstore *s)
{
	if (!s->pending || !deltas_count(s->pending))
		return 0;
	if (s->units > 0)
		return refuse(s, "counters",
			      "held counter changes cannot be written inside a unit");
	return pending_write(s);
}

/* What a new packet adds to the counters (count_created, count_issued,
 * count_status_insert of schema_pg.sql): its second for the rate, its
 * status, and when issued its merchant's day and its receiver's (a normal
 * packet's amount too; a group's seed share comes with its share row). */
static int count_packet(struct pgstore *s, const struct packet_new *p, int64_t id)
{
	int issued = p->send_time > 0 && status_issued(status_parse(p->status));

	s->last.id = 0;
	if (counter_add(s, DELTA_RATE, p->mch_id, NULL, p->created_at, 1, 0) != 0 ||
	    counter_add(s, DELTA_STATUS, p->mch_id, p->status, 0, 1, 0) != 0)
		return -1;
	if (issued &&
	    (counter_add(s, DELTA_MERCHANT_DAY, p->mch_id, NULL, day_of(p->send_time), 0,
			 p->total_amount) != 0 ||
	     counter_add(s, DELTA_USER_DAY, p->mch_id, p->re_openid, day_of(p->send_time), 1,
			 strcmp(p->hb_type, "NORMAL") == 0 ? p->total_amount : 0) != 0))
		return -1;
	if (strlen(p->mch_id) < sizeof(s->last.mch_id) &&
	    strlen(p->re_openid) < sizeof(s->last.openid)) {
		strcpy(s->last.mch_id, p->mch_id);
		strcpy(s->last.openid, p->re_openid);
		s->last.day = day_of(p->send_time);
		s->last.counted = issued && strcmp(p->hb_type, "GROUP") == 0;
		s->last.id = id;
	}
	return 0;
}

/* A group's first share is its seed user's (count_seed_share): from the
 * packet just inserted when it is that one, else as the row says. */
static int count_seed_share(struct pgstore *s, int64_t packet_id, int64_t amount)
{
	struct params p = {0};
	PGresult *res;
	int rc;

	if (packet_id == s->last.id)
		return s->last.counted ? counter_add(s, DELTA_USER_DAY, s->last.mch_id,
						     s->last.openid, s->last.day, 0, amount)
				       : 0;
	p_int(&p, packet_id);
	rc = run_row(s, ST_SEED_OF, &p, "seed share's packet", &res);
	if (rc == 1 && col_int(res, 0, 2) > 0 &&
	    status_issued(status_parse(PQgetvalue(res, 0, 3))) &&
	    strcmp(PQgetvalue(res, 0, 4), "GROUP") == 0)
		rc = counter_add(s, DELTA_USER_DAY, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
				 day_of(col_int(res, 0, 2)), 0, amount);
	else
		rc = rc < 0 ? -1 : 0;
	PQclear(res);
	return rc;
}

/* ---- open / close ------------------------------------------------------ */

int pgstore_schema_version(void)
{
	return pg_schema_target(pg_schema_sql);
}

struct pgstore *pgstore_open(const char *url, char *err, size_t errlen)
{
	struct pgstore *s = xcalloc(1, sizeof(*s));

	snprintf(s->begin_sql, sizeof(s->begin_sql),
		 "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(%" PRId64 ")",
		 PGSTORE_LOCK_WRITE);
	s->url = xstrdup(url);
	s->pending = deltas_new();
	pthread_once(&registry_once, registry_fill);
	for (int i = 0; i < REGISTRY_COUNT; i++)
		if (!registry[i]) { /* a hole in a table: a mistake of store_pg*.c */
			snprintf(err, errlen, "store_pg: no statement %d", i);
			goto error;
		}
	s->pg = pg_open(url, registry, REGISTRY_COUNT, err, errlen);
	if (!s->pg || pg_migrate(s->pg, pg_schema_sql, err, errlen) < 0)
		goto error;
	if (apply_durability(s) != 0) {
		snprintf(err, errlen, "%s", pg_last_error(s->pg)->message);
		goto error;
	}
	return s;
error:
	pgstore_close(s);
	return NULL;
}

void pgstore_close(struct pgstore *s)
{
	if (!s)
		return;
	if (s->cancel)
		PQfreeCancel(s->cancel);
	pg_close(s->pg);
	deltas_free(s->pending);
	free(s->url);
	free(s);
}

int pgstore_set_max_pages(struct pgstore *s, int64_t pages)
{
	if (pages == 0)
		return 0;
	return refuse(s, "max_page_count",
		      "a page cap (--db-max-pages) is SQLite's: not with PostgreSQL");
}

int pgstore_set_durability(struct pgstore *s, int power_loss)
{
	s->power_loss = power_loss;
	if (ready(s, "synchronous_commit") != 0)
		return -1;
	return apply_durability(s) == 0 ? 0 : fail(s, "synchronous_commit");
}

int pgstore_durability(struct pgstore *s)
{
	PGresult *res;
	int v = -1;

	if (run_row(s, ST_DURABILITY, NULL, "synchronous_commit", &res) == 1)
		v = strcmp(PQgetvalue(res, 0, 0), "off") == 0	  ? 0
		    : strcmp(PQgetvalue(res, 0, 0), "local") == 0 ? 1
								  : 2;
	PQclear(res);
	return v;
}

/* ---- transactions ------------------------------------------------------ */

/* Inside a batch every unit of work is a savepoint, so one failing unit
 * rolls back alone and the batch commits the others together. */
int pgstore_begin(struct pgstore *s)
{
	s->pre.valid = 0;
	if (!s->batch) {
		if (s->open || s->tx)
			return refuse(s, "begin",
				      "cannot start a transaction within a transaction");
		if (ready(s, "begin") != 0 || tx_begin(s, "begin") != 0)
			return -1;
		s->open = 1;
		return 0;
	}
	if (ready(s, "savepoint") != 0)
		return -1;
	/* In a healthy transaction, sent with the unit's first statement (or
	 * its end): should it fail there, the transaction is reported lost
	 * (pg_defer), never as that statement's failure. In an aborted one,
	 * now, so the unit is refused as before. */
	int healthy = PQtransactionStatus(pg_conn(s->pg)) == PQTRANS_INTRANS;
	if (healthy ? pg_defer(s->pg, "SAVEPOINT unit") != 0
		    : pg_exec(s->pg, "SAVEPOINT unit") != 0)
		return fail(s, "savepoint");
	if (s->units < HOLD_DEPTH)
		s->marks[s->units] = deltas_mark(s->pending);
	s->units++;
	return 0;
}

int pgstore_commit(struct pgstore *s)
{
	s->pre.valid = 0;
	if (s->batch) {
		if (s->units == 0)
			return 0;
		if (ready(s, "release") != 0) {
			s->units--;
			return -1;
		}
		/* Every statement of the unit answered without error (the
		 * transaction is not aborted): the RELEASE goes with the next
		 * unit's first statement or the COMMIT. Should it fail there
		 * (the connection, a cancel), the whole transaction is reported
		 * lost and the batch runs again: never charged to the next
		 * unit. After an error it runs now, and fails. */
		int healthy = PQtransactionStatus(pg_conn(s->pg)) == PQTRANS_INTRANS;
		if (healthy ? pg_defer(s->pg, "RELEASE unit") != 0
			    : pg_exec(s->pg, "RELEASE unit") != 0) {
			/* A statement of the unit had failed (its transaction
			 * aborted): the unit goes, the batch stays. */
			fail(s, "release");
			if (s->tx)
				pgstore_rollback(s);
			else
				s->units--;
			return -1;
		}
		s->units--;
		s->units_done++;
		return 0;
	}
	if (!s->open)
		return refuse(s, "commit", "cannot commit - no transaction is active");
	s->open = 0;
	if (!s->tx)
		return refuse(s, "commit", "the transaction was lost before its commit");
	if (tx_commit(s, "commit") != 0)
		return -1;
	s->commits++;
	s->units_done++;
	return 0;
}

void pgstore_commit_stats(const struct pgstore *s, uint64_t *commits, uint64_t *units)
{
	*commits = s->commits;
	*units = s->units_done;
}

void pgstore_rollback(struct pgstore *s)
{
	s->pre.valid = 0;
	s->gen++; /* memo_hit: what was looked up may have been undone */
	if (s->batch) {
		/* Never the batch itself: only the unit that failed. */
		if (s->units == 0)
			return;
		if (s->tx && pg_exec(s->pg, "ROLLBACK TO unit") != 0)
			fail(s, "rollback to savepoint");
		if (s->tx && pg_exec(s->pg, "RELEASE unit") != 0)
			fail(s, "release");
		if (s->units <= HOLD_DEPTH)
			deltas_undo(s->pending, s->marks[s->units - 1]);
		s->last.id = 0;
		s->units--;
		return;
	}
	s->open = 0;
	if (!s->tx)
		return;
	if (pg_exec(s->pg, "ROLLBACK") != 0)
		fail(s, "rollback");
	s->tx = 0;
}

int pgstore_batch_begin(struct pgstore *s)
{
	s->pre.valid = 0;
	if (s->batch)
		return 0;
	if (s->open || s->tx)
		return refuse(s, "begin batch", "cannot start a transaction within a transaction");
	if (ready(s, "begin batch") != 0 || tx_begin(s, "begin batch") != 0)
		return -1;
	/* The INSERT triggers leave the counting to the store (counting). */
	if (pg_defer(s->pg, "SELECT set_config('redpack.hold', 'on', true)") != 0) {
		fail(s, "begin batch");
		pg_exec(s->pg, "ROLLBACK");
		s->tx = 0;
		return -1;
	}
	deltas_clear(s->pending);
	s->last.id = 0;
	s->batch = 1;
	s->units = 0;
	s->gen++; /* memo_hit: other processes wrote before the lock */
	return 0;
}

int pgstore_batch_open(const struct pgstore *s)
{
	return s->batch;
}

int pgstore_batch_commit(struct pgstore *s)
{
	s->pre.valid = 0;
	if (!s->batch)
		return 0;
	s->units = 0;
	s->last.id = 0;
	if (!s->tx) {
		s->batch = 0;
		deltas_clear(s->pending);
		return refuse(s, "commit batch",
			      s->lost ? "the database connection was lost with the batch"
				      : "the batch was rolled back after a failed statement");
	}
	int held = pending_write(s); /* while the batch still counts */
	s->batch = 0;
	if (held != 0) {
		if (s->tx && pg_exec(s->pg, "ROLLBACK") != 0 &&
		    pg_last_error(s->pg)->fault == PG_FAULT_LOST)
			s->lost = 1;
		s->tx = 0;
		return -1;
	}
	if (tx_commit(s, "commit batch") != 0)
		return -1;
	s->commits++;
	return 0;
}

int64_t pgstore_changes(struct pgstore *s)
{
	return s->changes;
}

uint64_t pgstore_round_trips(const struct pgstore *s)
{
	return pg_round_trips(s->pg);
}

int pgstore_in_transaction(struct pgstore *s)
{
	PGTransactionStatusType st = PQtransactionStatus(pg_conn(s->pg));
	return s->tx && (st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE);
}

void pgstore_error_clear(struct pgstore *s)
{
	s->first_error[0] = '\0';
}

const char *pgstore_first_error(const struct pgstore *s)
{
	return s->first_error[0] ? s->first_error : "unknown error";
}

/* ---- fixtures ---------------------------------------------------------- */

int pgstore_is_empty(struct pgstore *s)
{
	PGresult *res;
	int rc = run_row(s, ST_MERCHANT_COUNT, NULL, "count merchants", &res);
	int empty = rc == 1 && col_int(res, 0, 0) == 0;

	PQclear(res);
	return rc < 0 ? -1 : empty;
}

int pgstore_merchant_insert(struct pgstore *s, const struct merchant *m)
{
	struct params p = {0};

	p_text(&p, m->mch_id);
	p_text(&p, m->name);
	p_text(&p, m->api_key);
	p_int(&p, m->sends_per_minute);
	p_int(&p, m->packets_per_user_per_day);
	p_int(&p, m->amount_per_user_per_day);
	p_int(&p, m->amount_per_day);
	p_int(&p, !m->api_closed);
	p_text(&p, m->ip_allowlist);
	s->gen++; /* memo_hit */
	return write0(s, ST_MERCHANT_INSERT, &p, "insert merchant");
}

int pgstore_merchant_update(struct pgstore *s, const struct merchant *m)
{
	struct params p = {0};

	p_int(&p, m->sends_per_minute);
	p_int(&p, m->packets_per_user_per_day);
	p_int(&p, m->amount_per_user_per_day);
	p_int(&p, m->amount_per_day);
	p_int(&p, !m->api_closed);
	p_text(&p, m->ip_allowlist);
	p_text(&p, m->mch_id);
	s->gen++; /* memo_hit */
	return write0(s, ST_MERCHANT_UPDATE, &p, "update merchant");
}

int pgstore_app_insert(struct pgstore *s, const char *mch_id, const char *appid, const char *kind)
{
	struct params p = {0};

	p_text(&p, mch_id);
	p_text(&p, appid);
	p_text(&p, kind);
	s->gen++; /* memo_hit */
	return write0(s, ST_APP_INSERT, &p, "insert app");
}

int pgstore_scene_insert(struct pgstore *s, const char *mch_id, const char *scene_id)
{
	struct params p = {0};

	p_text(&p, mch_id);
	p_text(&p, scene_id);
	s->gen++; /* memo_hit */
	return write0(s, ST_SCENE_INSERT, &p, "insert scene");
}

int pgstore_user_insert(struct pgstore *s, const char *openid, const char *appid)
{
	struct params p = {0};

	p_text(&p, openid);
	p_text(&p, appid);
	s->gen++; /* memo_hit */
	return write0(s, ST_USER_INSERT, &p, "insert user");
}

/* ---- lookups ----------------------------------------------------------- */

static int memo_hit(const struct pgstore *s, const struct pgmemo *m, const char *k1, const char *k2)
{
	return m->gen == s->gen && s->batch && s->tx && strcmp(m->k1, k1) == 0 &&
	       strcmp(m->k2, k2 ? k2 : "") == 0;
}

/* Keeps a lookup's answer (rc, and the value the caller put in m) for
 * the rest of the batch; outside one, or on an error, nothing. */
static void memo_keep(const struct pgstore *s, struct pgmemo *m, const char *k1, const char *k2,
		      int rc)
{
	m->gen = 0;
	if (rc < 0 || !s->batch || strlen(k1) >= sizeof(m->k1) ||
	    (k2 && strlen(k2) >= sizeof(m->k2)))
		return;
	strcpy(m->k1, k1);
	strcpy(m->k2, k2 ? k2 : "");
	m->rc = rc;
	m->gen = s->gen;
}

int pgstore_merchant_lookup(struct pgstore *s, const char *mch_id, struct merchant *out)
{
	struct params p = {0};
	PGresult *res;
	int rc;

	if (memo_hit(s, &s->memo_merchant.key, mch_id, NULL)) {
		if (s->memo_merchant.key.rc == 1)
			*out = s->memo_merchant.m;
		return s->memo_merchant.key.rc;
	}
	p_text(&p, mch_id);
	rc = run_row(s, ST_MERCHANT_LOOKUP, &p, "lookup merchant", &res);
	if (rc == 1) {
		copy_col(res, 0, 0, out->mch_id, sizeof(out->mch_id));
		copy_col(res, 0, 1, out->name, sizeof(out->name));
		copy_col(res, 0, 2, out->api_key, sizeof(out->api_key));
		out->balance = col_int(res, 0, 3);
		out->sends_per_minute = col_int(res, 0, 4);
		out->packets_per_user_per_day = col_int(res, 0, 5);
		out->amount_per_user_per_day = col_int(res, 0, 6);
		out->amount_per_day = col_int(res, 0, 7);
		out->api_closed = !col_int(res, 0, 8);
		copy_col(res, 0, 9, out->ip_allowlist, sizeof(out->ip_allowlist));
	}
	PQclear(res);
	if (rc == 1)
		s->memo_merchant.m = *out;
	memo_keep(s, &s->memo_merchant.key, mch_id, NULL, rc);
	return rc;
}

/* A one-text-column lookup by two keys (the second may be NULL: one key),
 * remembered in m (NULL: not) for the rest of the batch. */
static int lookup_text(struct pgstore *s, enum st id, struct pgmemo *m, const char *a,
		       const char *b, char *out, size_t outlen, const char *what)
{
	struct params p = {0};
	PGresult *res;
	int rc;

	if (m && memo_hit(s, m, a, b)) {
		if (m->rc == 1 && out)
			snprintf(out, outlen, "%s", m->value);
		return m->rc;
	}
	p_text(&p, a);
	if (b)
		p_text(&p, b);
	rc = run_row(s, id, &p, what, &res);
	if (rc == 1 && out)
		copy_col(res, 0, 0, out, outlen);
	if (m && rc == 1)
		copy_col(res, 0, 0, m->value, sizeof(m->value));
	PQclear(res);
	if (m)
		memo_keep(s, m, a, b, rc);
	return rc;
}

int pgstore_app_kind(struct pgstore *s, const char *mch_id, const char *appid, char kind[8])
{
	return lookup_text(s, ST_APP_KIND, &s->memo_app, mch_id, appid, kind, 8, "lookup app");
}

int pgstore_user_appid(struct pgstore *s, const char *openid, char appid[STORE_ID_MAX])
{
	return lookup_text(s, ST_USER_APPID, &s->memo_user, openid, NULL, appid, STORE_ID_MAX,
			   "lookup user");
}

int pgstore_scene_enabled(struct pgstore *s, const char *mch_id, const char *scene_id)
{
	return lookup_text(s, ST_SCENE_ENABLED, &s->memo_scene, mch_id, scene_id, NULL, 0,
			   "lookup scene");
}

/* PACKET_COLUMNS's columns from column c on. */
static void read_packet_at(const PGresult *res, int row, int c, struct packet_row *out)
{
	out->id = col_int(res, row, c + 0);
	copy_col(res, row, c + 1, out->mch_id, sizeof(out->mch_id));
	copy_col(res, row, c + 2, out->mch_billno, sizeof(out->mch_billno));
	copy_col(res, row, c + 3, out->hb_type, sizeof(out->hb_type));
	copy_col(res, row, c + 4, out->status, sizeof(out->status));
	copy_col(res, row, c + 5, out->wxappid, sizeof(out->wxappid));
	copy_col(res, row, c + 6, out->re_openid, sizeof(out->re_openid));
	out->total_amount = col_int(res, row, c + 7);
	out->total_num = col_int(res, row, c + 8);
	copy_col(res, row, c + 9, out->send_listid, sizeof(out->send_listid));
	copy_col(res, row, c + 10, out->err_code, sizeof(out->err_code));
	out->created_at = col_int(res, row, c + 11);
	out->send_time = col_int(res, row, c + 12);
	copy_col(res, row, c + 13, out->reason, sizeof(out->reason));
	copy_col(res, row, c + 14, out->send_name, sizeof(out->send_name));
	copy_col(res, row, c + 15, out->wishing, sizeof(out->wishing));
	copy_col(res, row, c + 16, out->act_name, sizeof(out->act_name));
	copy_col(res, row, c + 17, out->remark, sizeof(out->remark));
	copy_col(res, row, c + 18, out->scene_id, sizeof(out->scene_id));
	out->refund_time = col_int(res, row, c + 19);
	out->refund_amount = col_int(res, row, c + 20);
}

static void read_packet(const PGresult *res, int row, struct packet_row *out)
{
	read_packet_at(res, row, 0, out);
}

/* 1 when the prefetched answers hold for these keys (NULL: any). */
static int pre_hit(const struct pgstore *s, const char *mch_id, const char *billno,
		   const char *openid)
{
	return s->pre.valid && s->tx && s->pre.changes == s->changes &&
	       strcmp(s->pre.mch_id, mch_id) == 0 &&
	       (!billno || strcmp(s->pre.billno, billno) == 0) &&
	       (!openid || strcmp(s->pre.openid, openid) == 0);
}

void pgstore_send_prefetch(struct pgstore *s, const char *mch_id, const char *mch_billno,
			   const char *openid, int64_t rate_since, int64_t day_start)
{
	struct params p = {0};
	PGresult *res;
	int take_id = !s->next_id;

	s->pre.valid = 0;
	if (strlen(mch_id) >= sizeof(s->pre.mch_id) ||
	    strlen(mch_billno) >= sizeof(s->pre.billno) ||
	    strlen(openid) >= sizeof(s->pre.openid) || !s->tx)
		return; /* outside a transaction each read is its own snapshot */
	p_text(&p, mch_id);
	p_text(&p, mch_billno);
	p_int(&p, rate_since);
	p_int(&p, day_start);
	p_text(&p, openid);
	p_int(&p, take_id);
	if (run_row(s, ST_SEND_PREFETCH, &p, "read a send's rows", &res) != 1) {
		PQclear(res);
		return;
	}
	s->pre.rate = col_int(res, 0, 0);
	s->pre.mch_day = col_int(res, 0, 1);
	s->pre.user_count = col_int(res, 0, 2);
	s->pre.user_amount = col_int(res, 0, 3);
	if (take_id)
		s->next_id = col_int(res, 0, 4);
	s->pre.found = !PQgetisnull(res, 0, 5);
	if (s->pre.found)
		read_packet_at(res, 0, 5, &s->pre.order);
	PQclear(res);
	strcpy(s->pre.mch_id, mch_id);
	strcpy(s->pre.billno, mch_billno);
	strcpy(s->pre.openid, openid);
	s->pre.rate_since = rate_since;
	s->pre.day_start = day_start;
	s->pre.changes = s->changes;
	s->pre.valid = 1;
}

int pgstore_packet_find(struct pgstore *s, const char *mch_id, const char *mch_billno,
			struct packet_row *out)
{
	if (pre_hit(s, mch_id, mch_billno, NULL)) {
		if (s->pre.found)
			*out = s->pre.order;
		return s->pre.found;
	}
	struct params p = {0};
	PGresult *res;
	int rc;

	p_text(&p, mch_id);
	p_text(&p, mch_billno);
	rc = run_row(s, ST_PACKET_FIND, &p, "find packet", &res);
	if (rc == 1)
		read_packet(res, 0, out);
	PQclear(res);
	return rc;
}

int pgstore_packet_by_id(struct pgstore *s, int64_t id, struct packet_row *out)
{
	struct params p = {0};
	PGresult *res;
	int rc;

	p_int(&p, id);
	rc = run_row(s, ST_PACKET_BY_ID, &p, "packet by id", &res);
	if (rc == 1)
		read_packet(res, 0, out);
	PQclear(res);
	return rc;
}

/* ---- counters ---------------------------------------------------------- */

/* Integer columns of a one-row statement by key into out[0 .. n): 0 each
 * when there is no row. 0 or -1. */
static int read_ints(struct pgstore *s, enum st id, const struct params *p, int64_t *out, int n,
		     const char *what)
{
	PGresult *res;
	int rc = run_row(s, id, p, what, &res);

	for (int i = 0; i < n; i++)
		out[i] = rc == 1 ? col_int(res, 0, i) : 0;
	PQclear(res);
	return rc < 0 ? -1 : 0;
}

int pgstore_packets_created_since(struct pgstore *s, const char *mch_id, int64_t since,
				  int64_t *count)
{
	struct params p = {0};
	int64_t v;

	p_text(&p, mch_id);
	p_int(&p, since);
	if (pre_hit(s, mch_id, NULL, NULL) && s->pre.rate_since == since)
		v = s->pre.rate;
	else if (read_ints(s, ST_PACKETS_CREATED_SINCE, &p, &v, 1, "count recent packets") != 0)
		return -1;
	*count = v + (counting(s) ? deltas_count_since(s->pending, DELTA_RATE, mch_id, since) : 0);
	return 0;
}

int pgstore_merchant_sent_since(struct pgstore *s, const char *mch_id, int64_t day_start,
				int64_t *amount)
{
	struct params p = {0};

	p_text(&p, mch_id);
	p_int(&p, day_start);
	if (pre_hit(s, mch_id, NULL, NULL) && s->pre.day_start == day_start)
		*amount = s->pre.mch_day;
	else if (read_ints(s, ST_MERCHANT_DAY, &p, amount, 1, "merchant's day") != 0)
		return -1;
	const struct delta *d = counting(s) ? deltas_find(s->pending, DELTA_MERCHANT_DAY, mch_id,
							  NULL, day_of(day_start))
					    : NULL;
	if (d)
		*amount += d->amount;
	return 0;
}

int pgstore_user_receipts_since(struct pgstore *s, const char *mch_id, const char *openid,
				int64_t day_start, int64_t *count, int64_t *amount)
{
	struct params p = {0};
	int64_t v[2];
	int rc;

	p_text(&p, mch_id);
	p_text(&p, openid);
	p_int(&p, day_start);
	if (pre_hit(s, mch_id, NULL, openid) && s->pre.day_start == day_start) {
		v[0] = s->pre.user_count;
		v[1] = s->pre.user_amount;
		rc = 0;
	} else {
		rc = read_ints(s, ST_USER_DAY, &p, v, 2, "user's day");
	}
	const struct delta *d = rc == 0 && counting(s)
					? deltas_find(s->pending, DELTA_USER_DAY, mch_id, openid,
						      day_of(day_start))
					: NULL;
	*count = v[0] + (d ? d->count : 0);
	*amount = v[1] + (d ? d->amount : 0);
	return rc;
}

/* ---- writes ------------------------------------------------------------ */

/* The sequence cannot show its next value without taking it: the id is
 * taken here and kept for the next insert without one (redpack.c inserts
 * with it explicitly, having made the send_listid from it). Until then a
 * second call answers the same id, as SQLite's does. */
int pgstore_packet_next_id(struct pgstore *s, int64_t *id)
{
	PGresult *res;

	if (!s->next_id) {
		int rc = run_row(s, ST_PACKET_NEXT_ID, NULL, "next packet id", &res);
		if (rc == 1)
			s->next_id = col_int(res, 0, 0);
		PQclear(res);
		if (rc != 1) {
			*id = 0;
			return -1;
		}
	}
	*id = s->next_id;
	return 0;
}

int pgstore_packet_insert(struct pgstore *s, const struct packet_new *p, int64_t *id)
{
	struct params q = {0};
	int64_t want = p->id ? p->id : s->next_id;
	PGresult *res;
	int own, rc = -1;

	p_text(&q, p->mch_id);
	p_text(&q, p->mch_billno);
	p_text(&q, p->hb_type);
	p_text(&q, p->status);
	p_text(&q, p->wxappid);
	p_text(&q, p->re_openid);
	p_text(&q, p->send_name);
	p_text(&q, p->wishing);
	p_text(&q, p->act_name);
	p_text(&q, p->remark);
	p_text(&q, p->scene_id);
	p_text(&q, p->client_ip);
	p_text(&q, p->amt_type);
	p_int(&q, p->total_amount);
	p_int(&q, p->total_num);
	p_text(&q, p->err_code);
	p_text(&q, p->reason);
	p_int(&q, p->created_at);
	p_int_or_null(&q, p->send_time);
	p_int_or_null(&q, p->settle_at);
	p_text(&q, p->settle_at ? p->settle_to : NULL);
	p_int_or_null(&q, want);
	p_text(&q, p->send_listid);
	if (own_begin(s, &own, "insert packet") != 0)
		return -1;
	res = run(s, ST_PACKET_INSERT, &q, "insert packet");
	if (res && PQntuples(res) == 1) {
		*id = col_int(res, 0, 0);
		s->changes++;
		if (*id == s->next_id)
			s->next_id = 0;
		rc = counting(s) ? count_packet(s, p, *id) : 0;
	} else if (!res && want == s->next_id &&
		   strstr(pg_last_error(s->pg)->message, "packets_pkey")) {
		s->next_id = 0; /* the id itself taken after all: a new one next */
	}
	PQclear(res);
	return own_end(s, own, rc, "insert packet");
}

int pgstore_packet_set_listid(struct pgstore *s, int64_t id, const char *send_listid)
{
	struct params p = {0};

	p_text(&p, send_listid);
	p_int(&p, id);
	return write0(s, ST_PACKET_SET_LISTID, &p, "set send_listid");
}

/* The seed share's count follows by trigger (schema_pg.sql), or in a
 * batch from the store (count_seed_share). */
int pgstore_share_insert(struct pgstore *s, int64_t packet_id, int seq, int64_t amount)
{
	struct params p = {0};

	p_int(&p, packet_id);
	p_int(&p, seq);
	p_int(&p, amount);
	if (write0(s, ST_SHARE_INSERT, &p, "insert share") != 0)
		return -1;
	return seq == 0 && counting(s) ? count_seed_share(s, packet_id, amount) : 0;
}

int pgstore_shares_insert(struct pgstore *s, int64_t packet_id, const int64_t *amounts, int n)
{
	struct params p = {0};
	char array[2 + STORE_SHARES_MAX * 21];
	size_t len = 0;

	if (n < 1 || n > STORE_SHARES_MAX)
		return refuse(s, "insert shares", "a packet has 1 to 64 shares");
	array[len++] = '{';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(array + len, sizeof(array) - len, "%s%" PRId64,
					i ? "," : "", amounts[i]);
	snprintf(array + len, sizeof(array) - len, "}");
	p_int(&p, packet_id);
	p_text(&p, array);
	if (write0(s, ST_SHARES_INSERT, &p, "insert shares") != 0)
		return -1;
	return counting(s) ? count_seed_share(s, packet_id, amounts[0]) : 0;
}

int pgstore_ledger_add(struct pgstore *s, const char *mch_id, int64_t amount, const char *kind,
		       int64_t packet_id, int64_t at)
{
	struct params p = {0};
	int64_t n;

	p_text(&p, mch_id);
	p_int(&p, amount);
	p_text(&p, kind);
	p_int_or_null(&p, packet_id);
	p_int(&p, at);
	n = write1(s, ST_LEDGER_ADD, &p, "insert ledger");
	if (n > 0)
		s->changes += n; /* the ledger row beside the balance counted */
	if (n >= 0 && memo_hit(s, &s->memo_merchant.key, mch_id, NULL) &&
	    s->memo_merchant.key.rc == 1)
		s->memo_merchant.m.balance += amount; /* as the statement moved it */
	return n < 0 ? -1 : 0;
}

/* ---- lifecycle --------------------------------------------------------- */

int pgstore_clock_offset(struct pgstore *s, int64_t *offset)
{
	return read_ints(s, ST_CLOCK_GET, NULL, offset, 1, "read clock");
}

int pgstore_set_clock_offset(struct pgstore *s, int64_t offset)
{
	struct params p = {0};

	p_int(&p, offset);
	return write0(s, ST_CLOCK_SET, &p, "write clock");
}

int pgstore_shares_each(struct pgstore *s, int64_t packet_id,
			void (*row)(void *arg, const struct share_row *share), void *arg)
{
	struct params p = {0};
	struct share_row r;
	PGresult *res;

	p_int(&p, packet_id);
	res = run(s, ST_SHARES_LIST, &p, "list shares");
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		r.seq = (int)col_int(res, i, 0);
		r.amount = col_int(res, i, 1);
		copy_col(res, i, 2, r.openid, sizeof(r.openid));
		r.rcv_time = col_int(res, i, 3);
		row(arg, &r);
	}
	PQclear(res);
	return 0;
}

int pgstore_share_open(struct pgstore *s, int64_t packet_id, int seq, const char *openid,
		       int64_t at)
{
	struct params p = {0};

	p_text(&p, openid);
	p_int(&p, at);
	p_int(&p, packet_id);
	p_int(&p, seq);
	return write1(s, ST_SHARE_OPEN, &p, "open share") == 1 ? 0 : -1;
}

int pgstore_packet_set_status(struct pgstore *s, int64_t id, enum packet_status status)
{
	struct params p = {0};

	s->last.id = 0; /* count_seed_share reads it as inserted */
	p_text(&p, status_name(status));
	p_int(&p, id);
	return write0(s, ST_PACKET_SET_STATUS, &p, "set status");
}

int pgstore_packet_issue(struct pgstore *s, int64_t id, int64_t send_time)
{
	struct params p = {0};

	s->last.id = 0; /* count_seed_share reads it as inserted */
	p_int(&p, send_time);
	p_int(&p, id);
	return write1(s, ST_PACKET_ISSUE, &p, "issue packet") == 1 ? 0 : -1;
}

int pgstore_packet_set_refund(struct pgstore *s, int64_t id, enum packet_status status,
			      int64_t refund_time, int64_t refund_amount)
{
	struct params p = {0};

	p_text(&p, status_name(status));
	p_int(&p, refund_time);
	p_int(&p, refund_amount);
	p_int(&p, id);
	return write0(s, ST_PACKET_SET_REFUND, &p, "set refund");
}

int pgstore_packet_settle_to(struct pgstore *s, int64_t id, char out[8])
{
	char buf[24];
	int rc;

	snprintf(buf, sizeof(buf), "%" PRId64, id);
	/* lookup_text takes texts: the id as one. */
	rc = lookup_text(s, ST_PACKET_SETTLE_TO, NULL, buf, NULL, out, 8, "settle_to");
	return rc == 1 ? 0 : -1;
}

int pgstore_packet_settle_at(struct pgstore *s, int64_t id, int64_t *settle_at)
{
	struct params p = {0};

	p_int(&p, id);
	return read_ints(s, ST_PACKET_SETTLE_AT, &p, settle_at, 1, "settle_at");
}

int pgstore_due_ids(struct pgstore *s, enum store_due which, int64_t t, int64_t *ids, int limit)
{
	struct params p = {0};
	PGresult *res;
	int n = 0;

	p_int(&p, t);
	p_int(&p, limit);
	res = run(s, (enum st)(ST_DUE_IDS + (int)which), &p, "due packets");
	if (!res)
		return -1;
	for (; n < PQntuples(res) && n < limit; n++)
		ids[n] = col_int(res, n, 0);
	PQclear(res);
	return n;
}

int pgstore_due_page(struct pgstore *s, enum store_due which, int64_t t, int64_t *key, int64_t *id,
		     int64_t *ids, int limit)
{
	struct params p = {0};
	PGresult *res;
	int n = 0;

	p_int(&p, t);
	p_int(&p, *key);
	p_int(&p, *id);
	p_int(&p, limit);
	res = run(s, (enum st)(ST_DUE_PAGE + (int)which), &p, "due page");
	if (!res)
		return -1;
	for (; n < PQntuples(res) && n < limit; n++) {
		ids[n] = col_int(res, n, 0);
		*id = ids[n];
		*key = col_int(res, n, 1);
	}
	PQclear(res);
	return n;
}

int64_t pgstore_vm_steps(struct pgstore *s)
{
	(void)s;
	return 0;
}

/* ---- listings ---------------------------------------------------------- */

int pgstore_packets_each(struct pgstore *s, const char *mch_id, const char *status,
			 int64_t before_id, int limit,
			 void (*row)(void *arg, const struct packet_row *p), void *arg)
{
	struct params q = {0};
	struct packet_row *p;
	PGresult *res;

	p_text(&q, mch_id);
	p_text(&q, status);
	p_int(&q, limit);
	p_int(&q, before_id > 0 ? before_id : INT64_MAX);
	res = run(s, ST_PACKETS_LIST, &q, "list packets");
	if (!res)
		return -1;
	p = xmalloc(sizeof(*p));
	for (int i = 0; i < PQntuples(res); i++) {
		read_packet(res, i, p);
		row(arg, p);
	}
	free(p);
	PQclear(res);
	return 0;
}

enum store_resolved pgstore_packet_resolve(struct pgstore *s, const char *mch_id,
					   const char *mch_billno, struct packet_row *out)
{
	struct params p = {0};
	PGresult *res;
	int n;

	if (mch_id)
		return (enum store_resolved)pgstore_packet_find(s, mch_id, mch_billno, out);
	p_text(&p, mch_billno);
	res = run(s, ST_PACKETS_BY_BILLNO, &p, "packets by billno");
	if (!res)
		return STORE_RESOLVE_ERROR;
	n = PQntuples(res);
	if (n >= 1)
		read_packet(res, 0, out);
	PQclear(res);
	return n == 0	? STORE_RESOLVE_NOT_FOUND
	       : n == 1 ? STORE_RESOLVE_FOUND
			: STORE_RESOLVE_AMBIGUOUS;
}

int pgstore_ledger_each(struct pgstore *s, int64_t packet_id,
			void (*row)(void *arg, const struct ledger_row *l), void *arg)
{
	struct params p = {0};
	struct ledger_row r;
	PGresult *res;

	p_int(&p, packet_id);
	res = run(s, ST_LEDGER_LIST, &p, "list ledger");
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		r.id = col_int(res, i, 0);
		copy_col(res, i, 1, r.mch_id, sizeof(r.mch_id));
		r.amount = col_int(res, i, 2);
		copy_col(res, i, 3, r.kind, sizeof(r.kind));
		r.packet_id = col_int(res, i, 4);
		r.at = col_int(res, i, 5);
		row(arg, &r);
	}
	PQclear(res);
	return 0;
}

int pgstore_status_counts(struct pgstore *s, void (*row)(void *arg, const char *status, int64_t n),
			  void *arg)
{
	if (pgstore_pending_flush(s) != 0)
		return -1;
	PGresult *res = run(s, ST_STATUS_COUNTS, NULL, "status counts");

	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		row(arg, PQgetvalue(res, i, 0), col_int(res, i, 1));
	PQclear(res);
	return 0;
}

int pgstore_totals(struct pgstore *s, struct store_totals *out)
{
	int64_t v[3];

	if (pgstore_pending_flush(s) != 0 || read_ints(s, ST_TOTALS, NULL, v, 3, "totals") != 0)
		return -1;
	out->issued = v[0];
	out->refunded = v[1];
	out->bytes = v[2];
	return 0;
}

/* ---- reset ------------------------------------------------------------- */

int pgstore_can_replace(const struct pgstore *s)
{
	(void)s;
	return 0;
}

int pgstore_replace(struct pgstore *s, int (*fill)(void *arg, struct store *fresh), void *arg,
		    char *err, size_t errlen)
{
	(void)s, (void)fill, (void)arg;
	snprintf(err, errlen, "not with PostgreSQL: a reset goes through store_wipe");
	return -1;
}

/* ---- for store_pg_admin.c ---------------------------------------------- */

PGresult *pgstore_run_admin(struct pgstore *s, int id, int n, const char *const *params,
			    const char *what)
{
	PGresult *res = run_n(s, ST__COUNT + id, n, params, what);

	if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
		s->changes += strtoll(PQcmdTuples(res), NULL, 10);
	return res;
}

int pgstore_unit_begin(struct pgstore *s, int *own, const char *what)
{
	return own_begin(s, own, what);
}

int pgstore_unit_end(struct pgstore *s, int own, int rc, const char *what)
{
	return own_end(s, own, rc, what);
}

int pgstore_refuse(struct pgstore *s, const char *what, const char *text)
{
	return refuse(s, what, text);
}

int pgstore_interrupted(struct pgstore *s)
{
	return atomic_load(&s->interrupted);
}

/* ---- the sweeper's turn ------------------------------------------------ */

/* The session-level advisory lock PGSTORE_LOCK_SWEEP: taken once, held
 * until the connection ends (a process killed or cut off frees it, and
 * another takes the sweeps over at its next try). */
int pgstore_sweep_turn(struct pgstore *s)
{
	char key[24];
	struct params p = {0};
	PGresult *res;

	if (s->sweeper && !s->lost)
		return 1;
	if (s->tx || s->open || s->batch)
		return 0; /* tried again at the next tick */
	snprintf(key, sizeof(key), "%lld", (long long)PGSTORE_LOCK_SWEEP);
	p_text(&p, key);
	if (run_row(s, ST_SWEEP_TRY, &p, "sweeper lock", &res) != 1)
		return 0;
	s->sweeper = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return s->sweeper;
}

/* ---- a reader beside the loop ------------------------------------------ */

int pgstore_can_share(const struct pgstore *s)
{
	(void)s;
	return 1;
}

struct pgstore *pgstore_reader_open(struct pgstore *s, char *err, size_t errlen)
{
	struct pgstore *r = xcalloc(1, sizeof(*r));

	r->reader = 1;
	r->url = xstrdup(s->url);
	r->pg = pg_open(s->url, registry, REGISTRY_COUNT, err, errlen);
	if (!r->pg)
		goto error;
	/* The snapshot is taken by the first read, so here, on the loop: the
	 * reader sees what was committed when it was opened. */
	if (pg_exec(r->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
			   " SELECT COUNT(*) FROM merchants") != 0) {
		snprintf(err, errlen, "%s", pg_last_error(r->pg)->message);
		goto error;
	}
	r->cancel = PQgetCancel(pg_conn(r->pg));
	r->tx = 1;
	r->open = 1; /* never connects again: its snapshot would be gone */
	return r;
error:
	pgstore_close(r);
	return NULL;
}

void pgstore_reader_close(struct pgstore *s, struct pgstore *r)
{
	(void)s;
	if (!r)
		return;
	if (r->tx)
		pg_exec(r->pg, "ROLLBACK");
	pgstore_close(r); /* closing the connection would end it too */
}

void pgstore_interrupt(struct pgstore *r)
{
	char errbuf[256];

	atomic_store(&r->interrupted, 1);
	if (r->cancel)
		PQcancel(r->cancel, errbuf, sizeof(errbuf));
}
