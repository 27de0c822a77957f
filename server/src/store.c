/*
 * store.c - SQLite: migrations, one prepared statement per query.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "deltas.h"
#include "log.h"
#include "migrations.h"
#include "sqlite_mem.h"
#include "sqlite_wal_vfs.h"
#include "store_wal.h"
#include "util.h"

/* The PostgreSQL backend (issue 14, docs/postgresql.md): a store opened
 * from a postgresql:// URL holds a pgstore, and every public function
 * hands its call over to the pgstore_ function of the same name on its
 * first line; everything below that line is the SQLite backend. Built
 * when the build found libpq and has the backend (REDPACK_WITH_PG_STORE). */
#ifdef REDPACK_WITH_PG_STORE
#include "store_pg.h"
#define ON_PG(call)                                                                                \
	do {                                                                                       \
		if (s->pg)                                                                         \
			return call;                                                               \
	} while (0)
#define ON_PG_VOID(call)                                                                           \
	do {                                                                                       \
		if (s->pg) {                                                                       \
			call;                                                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)
#else
struct pgstore;
#define ON_PG(call) ((void)0)
#define ON_PG_VOID(call) ((void)0)
#endif

int store_is_postgresql(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

/* ---- schema ------------------------------------------------------------ */

/* schema.sql, embedded by the build (CMakeLists.txt writes schema.c). */
extern const char store_schema_sql[];

#define PACKET_COLUMNS                                                                             \
	"SELECT id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,"                      \
	" total_amount, total_num, IFNULL(send_listid, ''), IFNULL(err_code, ''),"                 \
	" created_at, IFNULL(send_time, 0), IFNULL(reason, ''), send_name, wishing, act_name,"     \
	" remark, IFNULL(scene_id, ''), IFNULL(refund_time, 0), IFNULL(refund_amount, 0)"          \
	" FROM packets "

int store_schema_version(void)
{
	return migration_count(store_schema_sql);
}

/* ---- statements -------------------------------------------------------- */

enum st {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_MERCHANT_COUNT,
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
	ST_PACKETS_BY_BILLNO,
	ST_PACKETS_LIST,
	ST_CLOCK_GET,
	ST_CLOCK_SET,
	ST_SHARES_LIST,
	ST_SHARE_OPEN,
	ST_PACKET_SET_STATUS,
	ST_PACKET_ISSUE,
	ST_PACKET_SET_REFUND,
	ST_DUE_EXPIRE,
	ST_DUE_REFUND,
	ST_DUE_FAIL,
	ST_DUE_SETTLE,
	ST_LEDGER_LIST,
	ST_PACKETS_CREATED_SINCE,
	ST_USER_DAY,
	ST_MERCHANT_DAY,
	ST_PACKET_INSERT,
	ST_PACKET_NEXT_ID,
	ST_PACKET_SET_LISTID,
	ST_SHARE_INSERT,
	ST_RATE_PRUNE,
	ST_SEED_OF,
	ST_LEDGER_INSERT,
	ST_BALANCE_ADD,
	ST_BALANCE_GET,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_UNIT_SAVEPOINT,
	ST_UNIT_RELEASE,
	ST_UNIT_ROLLBACK_TO,
	ST_UNDO_LEDGER,
	ST_UNDO_SHARES,
	ST_UNDO_PACKET,
	ST_ADD_RATE,
	ST_ADD_STATUS,
	ST_ADD_MERCHANT_DAY,
	ST_ADD_USER_DAY,
	ST__COUNT
};

static const char *const statements[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_MERCHANT_COUNT] = "SELECT COUNT(*) FROM merchants",
	[ST_MERCHANT_INSERT] =
		"INSERT INTO merchants (mch_id, name, api_key, balance,"
		" sends_per_minute, packets_per_user_per_day,"
		" amount_per_user_per_day, amount_per_day, api_enabled, ip_allowlist)"
		" VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
	[ST_MERCHANT_UPDATE] =
		"UPDATE merchants SET sends_per_minute = ?, packets_per_user_per_day = ?,"
		" amount_per_user_per_day = ?, amount_per_day = ?, api_enabled = ?,"
		" ip_allowlist = ? WHERE mch_id = ?",
	[ST_APP_INSERT] = "INSERT INTO apps (mch_id, appid, kind) VALUES (?, ?, ?)",
	[ST_SCENE_INSERT] = "INSERT INTO scenes (mch_id, scene_id) VALUES (?, ?)",
	[ST_USER_INSERT] = "INSERT INTO users (openid, appid) VALUES (?, ?)",
	[ST_MERCHANT_LOOKUP] = "SELECT mch_id, name, api_key, balance, sends_per_minute,"
			       " packets_per_user_per_day, amount_per_user_per_day, amount_per_day,"
			       " api_enabled, ip_allowlist FROM merchants WHERE mch_id = ?",
	[ST_APP_KIND] = "SELECT kind FROM apps WHERE mch_id = ? AND appid = ?",
	[ST_USER_APPID] = "SELECT appid FROM users WHERE openid = ?",
	[ST_SCENE_ENABLED] = "SELECT 1 FROM scenes WHERE mch_id = ? AND scene_id = ?",
	[ST_PACKET_FIND] = PACKET_COLUMNS "WHERE mch_id = ? AND mch_billno = ?",
	[ST_PACKET_SETTLE_TO] = "SELECT IFNULL(settle_to, 'SENT') FROM packets WHERE id = ?",
	[ST_PACKET_BY_ID] = PACKET_COLUMNS "WHERE id = ?",
	/* By the (mch_id, mch_billno) key, once per merchant: no index of
	 * its own to write on every send (schema.sql, migration 9). */
	[ST_PACKETS_BY_BILLNO] = PACKET_COLUMNS "WHERE mch_id IN (SELECT mch_id FROM merchants)"
						" AND mch_billno = ? ORDER BY id",
	[ST_PACKETS_LIST] = PACKET_COLUMNS
	"WHERE id < ?4 AND (?1 IS NULL OR mch_id = ?1)"
	" AND (?2 IS NULL OR status = ?2) ORDER BY id DESC LIMIT ?3",
	[ST_CLOCK_GET] = "SELECT value FROM meta WHERE key = 'clock_offset'",
	[ST_CLOCK_SET] = "INSERT INTO meta (key, value) VALUES ('clock_offset', ?)"
			 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_SHARES_LIST] = "SELECT seq, amount, IFNULL(openid, ''), IFNULL(rcv_time, 0) FROM shares"
			   " WHERE packet_id = ? ORDER BY seq",
	[ST_SHARE_OPEN] = "UPDATE shares SET openid = ?, rcv_time = ?"
			  " WHERE packet_id = ? AND seq = ? AND openid IS NULL",
	[ST_PACKET_SET_STATUS] = "UPDATE packets SET status = ? WHERE id = ?",
	[ST_PACKET_ISSUE] = "UPDATE packets SET status = 'SENT', send_time = ? WHERE id = ?"
			    " AND status = 'SENDING' AND err_code IS NULL",
	[ST_PACKET_SET_REFUND] = "UPDATE packets SET status = ?, refund_time = ?, refund_amount = ?"
				 " WHERE id = ?",
	[ST_DUE_EXPIRE] = "SELECT id FROM packets WHERE status = 'SENT' AND send_time <= ?"
			  " ORDER BY send_time LIMIT ?",
	[ST_DUE_REFUND] = "SELECT id FROM packets WHERE status = 'RFUND_ING' AND send_time <= ?"
			  " ORDER BY send_time LIMIT ?",
	[ST_DUE_SETTLE] = "SELECT id FROM packets WHERE status = 'SENDING' AND settle_at <= ?"
			  " ORDER BY settle_at LIMIT ?",
	[ST_DUE_FAIL] = "SELECT id FROM packets WHERE status = 'SENDING'"
			" AND created_at <= ? ORDER BY created_at LIMIT ?",
	[ST_LEDGER_LIST] = "SELECT id, mch_id, amount, kind, IFNULL(packet_id, 0), at FROM ledger"
			   " WHERE packet_id = ? ORDER BY id",
	[ST_PACKETS_CREATED_SINCE] = "SELECT IFNULL(SUM(count), 0) FROM rate_second"
				     " WHERE mch_id = ? AND second >= ?",
	[ST_USER_DAY] = "SELECT count, amount FROM day_user WHERE mch_id = ? AND openid = ?"
			" AND day = (? + 28800) / 86400",
	[ST_MERCHANT_DAY] = "SELECT amount FROM day_merchant WHERE mch_id = ?"
			    " AND day = (? + 28800) / 86400",
	[ST_PACKET_INSERT] =
		"INSERT INTO packets (mch_id, mch_billno, hb_type, status, wxappid,"
		" re_openid, send_name, wishing, act_name, remark, scene_id, client_ip,"
		" amt_type, total_amount, total_num, err_code, reason, created_at,"
		" send_time, settle_at, settle_to, id, send_listid)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
		" ?)",
	/* The ids go on above the floor of the deleted (schema.sql,
	 * migration 11): a send_listid is never given twice. */
	[ST_PACKET_NEXT_ID] = "SELECT MAX(IFNULL((SELECT MAX(id) FROM packets), 0), ?) + 1",
	[ST_PACKET_SET_LISTID] = "UPDATE packets SET send_listid = ? WHERE id = ?",
	[ST_SHARE_INSERT] = "INSERT INTO shares (packet_id, seq, amount) VALUES (?, ?, ?)",
	[ST_RATE_PRUNE] = "DELETE FROM rate_second WHERE mch_id = ?1 AND second < ?2 - 120",
	[ST_SEED_OF] = "SELECT mch_id, re_openid, IFNULL(send_time, 0), status FROM packets"
		       " WHERE id = ? AND hb_type = 'GROUP'",
	[ST_LEDGER_INSERT] = "INSERT INTO ledger (id, mch_id, amount, kind, packet_id, at)"
			     " VALUES (CASE WHEN ?7 > 0 THEN ?7"
			     " ELSE MAX(IFNULL((SELECT MAX(id) FROM ledger), 0), ?6) + 1 END,"
			     " ?1, ?2, ?3, ?4, ?5)",
	[ST_BALANCE_ADD] = "UPDATE merchants SET balance = balance + ? WHERE mch_id = ?",
	[ST_BALANCE_GET] = "SELECT balance FROM merchants WHERE mch_id = ?",
	[ST_SAVEPOINT] = "SAVEPOINT ledger_add",
	[ST_RELEASE] = "RELEASE ledger_add",
	[ST_ROLLBACK_TO] = "ROLLBACK TO ledger_add",
	[ST_UNIT_SAVEPOINT] = "SAVEPOINT unit",
	[ST_UNIT_RELEASE] = "RELEASE unit",
	[ST_UNIT_ROLLBACK_TO] = "ROLLBACK TO unit",
	[ST_UNDO_LEDGER] = "DELETE FROM ledger WHERE id = ?",
	[ST_UNDO_SHARES] = "DELETE FROM shares WHERE packet_id = ?",
	[ST_UNDO_PACKET] = "DELETE FROM packets WHERE id = ?",
	/* The running counters (schema.sql, migrations 5, 7 and 9), by key;
	 * a day is a Beijing calendar day, (t + 8 h) / 24 h, computed by
	 * day_of. One statement per key and batch (holding). */
	[ST_ADD_RATE] = "INSERT INTO rate_second VALUES (?1, ?2, ?3)"
			" ON CONFLICT DO UPDATE SET count = count + excluded.count",
	[ST_ADD_STATUS] = "INSERT INTO status_count VALUES (?1, ?2, ?3)"
			  " ON CONFLICT DO UPDATE SET n = n + excluded.n",
	[ST_ADD_MERCHANT_DAY] = "INSERT INTO day_merchant VALUES (?1, ?2, ?3)"
				" ON CONFLICT DO UPDATE SET amount = amount + excluded.amount",
	[ST_ADD_USER_DAY] = "INSERT INTO day_user VALUES (?1, ?2, ?3, ?4, ?5)"
			    " ON CONFLICT DO UPDATE SET count = count + excluded.count,"
			    " amount = amount + excluded.amount",
};

/* After the table's statements, one per share count for
 * store_shares_insert, prepared when first needed. */
#define ST_SHARES(n) (ST__COUNT + (n)-1)
#define ST_ALL ST_SHARES(STORE_SHARES_MAX + 1)

/* Rows of each kind a unit of inserts takes back without a savepoint. */
#define UNDO_MAX 4

/* A lookup's key and answer, good while gen is the store's config_gen. */
struct memo {
	uint64_t gen; /* 0: nothing */
	int rc;
	char k1[STORE_ID_MAX], k2[STORE_ID_MAX];
};

/* The next id of a table in a batch, good while gen is config_gen. */
struct next_id {
	uint64_t gen;
	int64_t next;
};

/* A day counter's row as read (without what the batch holds), good while
 * its memo holds and no write ran since (wgen: the store's write_gen). */
struct day_memo {
	struct memo key;
	int64_t day_start;
	uint64_t wgen;
	int64_t count, amount;
};

struct store {
	struct pgstore *pg; /* NULL: the SQLite backend, the rest of this */
	sqlite3 *db;
	sqlite3_stmt *st[ST_ALL];
	int batch;		      /* a group transaction is open (store_batch_begin) */
	int units;		      /* store_begin units open inside it, as savepoints */
	uint64_t commits, units_done; /* COMMITs run; units of work kept */
	char *path;		      /* as opened, for store_replace */
	int64_t max_pages;	      /* settings to apply again after a replace */
	int power_loss;
	char first_error[160]; /* since store_error_clear */
	int readers;	       /* store_reader_open connections open on this file */
	struct walckpt *ckpt;  /* WAL checkpoints off the loop (wal_room); NULL: SQLite's own */
	int ckpt_failed;       /* walckpt_start failed once: SQLite's own from then on */
	int wal_frames;	       /* frames in the WAL after the last commit (on_wal) */
	int wal_nudged;	       /* wal_frames when the checkpointer was last asked */
	uint64_t wal_passes;   /* checkpoint passes of checkpointers stopped */
	uint64_t wal_synced;   /* of which the database file synced after */
	uint64_t wal_drains;   /* times a write waited for one (wal_room) */
	int worker;	       /* a reader used on a thread of its own: nothing logged */
	/* The counter changes of the open batch, written at its commit
	 * (holding, pending_write); the mark of its open unit. */
	struct deltas *pending;
	size_t unit_mark;
	int batch_lost; /* an error ended the batch's transaction (SQLITE_FULL) */
	/* A unit of inserts open in the batch (store_begin_inserts): its
	 * savepoint not opened until a write it cannot take back itself
	 * (exec_done); the rows it inserted before, to delete on rollback. */
	struct {
		int open, saved;
		int packets, ledgers;
		int64_t packet[UNDO_MAX], ledger[UNDO_MAX];
	} undo;
	/* Lookups answered from memory within a batch (memo_hit); config_gen
	 * moves whenever such an answer may have changed. */
	uint64_t config_gen;
	struct {
		struct memo key;
		struct merchant m; /* all but the balance */
		int64_t written;   /* the balance as written (counter_write moves config_gen) */
	} memo_merchant;
	struct {
		struct memo key;
		char kind[8];
	} memo_app;
	struct {
		struct memo key;
		char appid[STORE_ID_MAX];
	} memo_user;
	struct memo memo_scene;
	/* The day counters a send's limits read (store_merchant_sent_since,
	 * store_user_receipts_since): their rows change in a batch only by a
	 * write through exec_done (a counter written, a trigger's UPDATE),
	 * each of which moves write_gen; what a send adds is held. */
	uint64_t write_gen;
	struct day_memo memo_merchant_day, memo_user_day;
	struct {
		int64_t changes; /* sqlite3_total_changes64 then; -1: none */
		char mch_id[STORE_ID_MAX], billno[STORE_ID_MAX];
	} absent; /* the last billno found absent (known_absent) */
	/* The id floors of packets and ledger (schema.sql, migration 11),
	 * as meta holds them, or higher: read at open and after each
	 * statement list that raises them (load_id_floors), bound to the
	 * statements that take a next id. */
	int64_t packets_floor, ledger_floor;
	/* In a batch, the next packet id as last read, moved past each
	 * packet inserted since (store_packet_next_id); good while gen is
	 * config_gen. */
	struct next_id next_packet;
	/* The same for ledger ids: set by an insert in a batch, moved past
	 * each one since, taken (?7 of ST_LEDGER_INSERT) in a batch. */
	struct next_id next_ledger;
	/* The packet store_packet_insert wrote last, for its seed share's
	 * count without reading it back (count_seed_share); id 0: none. */
	struct {
		int64_t id, send_time;
		int counted; /* a GROUP packet, issued */
		char mch_id[STORE_ID_MAX], openid[STORE_ID_MAX];
	} last;
};

static void wal_stop(struct store *s);
static int pending_write(struct store *s);
static void pending_drop(struct store *s);

/* ---- helpers ----------------------------------------------------------- */

static int fail(struct store *s, const char *what)
{
	if (!s->first_error[0]) /* store_first_error: the cause, not its echoes */
		snprintf(s->first_error, sizeof(s->first_error), "%s", sqlite3_errmsg(s->db));
	if (!s->worker) /* log.c is the event loop's: the owner logs first_error */
		log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

/* fail's message for a check of ours, as SQLite words its own. */
static int fail_text(struct store *s, const char *what, const char *text)
{
	if (!s->first_error[0])
		snprintf(s->first_error, sizeof(s->first_error), "%s", text);
	if (!s->worker)
		log_error("store: %s: %s", what, text);
	return -1;
}

/* The statement, reset and unbound, ready for new parameters. */
static sqlite3_stmt *stmt(struct store *s, enum st id)
{
	sqlite3_stmt *q = s->st[id];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

static void copy_col(sqlite3_stmt *q, int col, char *out, size_t outlen)
{
	const unsigned char *v = sqlite3_column_text(q, col);
	str_copy_cut(out, outlen, v ? (const char *)v : ""); /* not printf: every lookup */
}

/* A Beijing calendar day: (t + 8 h) / 24 h, as the SQL computes it. */
static int64_t day_of(int64_t t)
{
	return (t + 28800) / 86400;
}

static int64_t held_count_since(const struct store *s, const char *mch_id, int64_t since)
{
	return s->pending && deltas_count(s->pending)
		       ? deltas_count_since(s->pending, DELTA_RATE, mch_id, since)
		       : 0;
}

static const struct delta *held_find(const struct store *s, enum delta_kind kind,
				     const char *mch_id, const char *text, int64_t k)
{
	return s->pending && deltas_count(s->pending)
		       ? deltas_find(s->pending, kind, mch_id, text, k)
		       : NULL;
}

/* A send looks its billno up twice, once to catch up what is due for it
 * (lifecycle_catch_up_billno) and once to decide from it (redpack.c); a
 * new billno is not found either time. The second time is answered from
 * memory when nothing was written since the first (the connection's
 * change count) and the batch's transaction holds the write lock, so no
 * other connection or process can have written it either. */
static int known_absent(const struct store *s, const char *mch_id, const char *mch_billno)
{
	return s->absent.changes == sqlite3_total_changes64(s->db) && s->batch && !s->batch_lost &&
	       !sqlite3_get_autocommit(s->db) && strcmp(s->absent.billno, mch_billno) == 0 &&
	       strcmp(s->absent.mch_id, mch_id) == 0;
}

static void remember_absent(struct store *s, const char *mch_id, const char *mch_billno)
{
	s->absent.changes = -1;
	if (!s->batch || strlen(mch_id) >= sizeof(s->absent.mch_id) ||
	    strlen(mch_billno) >= sizeof(s->absent.billno))
		return;
	strcpy(s->absent.mch_id, mch_id);
	strcpy(s->absent.billno, mch_billno);
	s->absent.changes = sqlite3_total_changes64(s->db);
}

/* A statement prepared for one call, for those off the request path (a
 * packet caught up, a sweep slice, a check): the table above stays the
 * requests'. Finalized by the caller. NULL on an error (logged). */
static sqlite3_stmt *prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
		fail(s, "prepare");
		sqlite3_finalize(q);
		return NULL;
	}
	return q;
}

/* Runs a statement that returns no row. */
static int exec_raw(struct store *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : fail(s, what);
}

/* The savepoint of the open unit of inserts, before its first write that
 * its rollback could not take back by deleting rows (store_begin_inserts). */
static int undo_save(struct store *s)
{
	if (exec_raw(s, stmt(s, ST_UNIT_SAVEPOINT), "savepoint") != 0)
		return -1;
	s->undo.saved = 1;
	return 0;
}

static int exec_done(struct store *s, sqlite3_stmt *q, const char *what)
{
	s->write_gen++; /* day_hit: a counter may have moved */
	if (s->undo.open && !s->undo.saved && !sqlite3_stmt_readonly(q) && undo_save(s) != 0)
		return -1;
	return exec_raw(s, q, what);
}

/* Whether the open unit of inserts takes back a row it inserts now by
 * deleting it (no savepoint yet, and used of UNDO_MAX remembered). */
static int undoable(const struct store *s, int used)
{
	return s->undo.open && !s->undo.saved && used < UNDO_MAX;
}

/* An insert the unit's rollback deletes itself (undo) runs as it is; any
 * other as a write that may need the savepoint (exec_done). */
static int exec_insert(struct store *s, sqlite3_stmt *q, const char *what, int undo)
{
	return undo ? exec_raw(s, q, what) : exec_done(s, q, what);
}

/* Steps a statement expected to return at most one row: 1 row, 0 none. */
static int step_row(struct store *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(s, what);
}

/* status.def's tests as SQL functions, for the queries off the send path
 * (the checks, a reset's slices): packet_issued(status) and
 * packet_status_known(status), each 1 or 0. The triggers and CHECKs of
 * the schema spell theirs out, so the file stands alone. */
static void sql_issued(sqlite3_context *c, int argc, sqlite3_value **v)
{
	(void)argc;
	sqlite3_result_int(c, status_issued(status_parse((const char *)sqlite3_value_text(v[0]))));
}

static void sql_known(sqlite3_context *c, int argc, sqlite3_value **v)
{
	(void)argc;
	sqlite3_result_int(c, status_parse((const char *)sqlite3_value_text(v[0])) >= 0);
}

static int add_functions(sqlite3 *db)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

	if (sqlite3_create_function(db, "packet_issued", 1, flags, NULL, sql_issued, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_create_function(db, "packet_status_known", 1, flags, NULL, sql_known, NULL,
				    NULL) != SQLITE_OK)
		return -1;
	return 0;
}

/* Runs the migrations of schema.sql the database lacks, each in one
 * transaction with its user_version. */
static int migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int version = 0, target = store_schema_version();

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (migration_marks(store_schema_sql) != target) {
		snprintf(err, errlen,
			 "schema.sql: the migrations are not numbered 1 to %d in order",
			 migration_marks(store_schema_sql));
		return -1;
	}
	if (version < 0 || version > target) {
		snprintf(err, errlen, "database schema version %d is newer than this build (%d)",
			 version, target);
		return -1;
	}
	for (int v = version; v < target; v++) {
		const char *start;
		size_t len;
		char *sql, pragma[64];
		int ok;

		if (migration_text(store_schema_sql, v + 1, &start, &len) != 0) {
			snprintf(err, errlen, "schema.sql: no migration %d", v + 1);
			return -1;
		}
		sql = xstrndup(start, len);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", v + 1);
		ok = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_exec(s->db, pragma, NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
		free(sql);
		if (!ok) {
			snprintf(err, errlen, "migration %d: %s", v + 1, sqlite3_errmsg(s->db));
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/* Reads the id floors from meta (0 where there is none). */
static int load_id_floors(struct store *s)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(
		    s->db,
		    "SELECT IFNULL((SELECT value FROM meta WHERE key = 'packets_id_floor'),"
		    " 0), IFNULL((SELECT value FROM meta WHERE key = 'ledger_id_floor'), 0)",
		    -1, &q, NULL) != SQLITE_OK)
		return fail(s, "prepare id floors");
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		s->packets_floor = sqlite3_column_int64(q, 0);
		s->ledger_floor = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : fail(s, "read id floors");
}

/* Creates the file with mode 0600 before SQLite opens it, so the API
 * keys in it are never readable by others, even for an instant. */
static int create_private(const char *path, char *err, size_t errlen)
{
	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- open / close ------------------------------------------------------ */

/* Process-wide SQLite settings, once, before the first connection: no
 * memory statistics (a mutex around every allocation) and no per-call
 * mutex on a connection, which only ever one thread uses at a time. Too
 * late once SQLite is initialised (SQLITE_MISUSE): then the defaults stay,
 * which are only slower. */
static void configure_sqlite(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite_mem_install();	  /* the statement journals' chunks cached */
	sqlite_wal_vfs_install(); /* a commit's WAL frames in one write */
}

int store_shared(const struct store *s)
{
	return s->pg != NULL;
}

int store_sweep_turn(struct store *s)
{
	ON_PG(pgstore_sweep_turn(s->pg));
	return 1; /* a SQLite file has one process */
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->pending = deltas_new();
	s->absent.changes = -1;
	s->config_gen = 1;
	if (store_is_postgresql(path)) {
#ifdef REDPACK_WITH_PG_STORE
		s->pg = pgstore_open(path, err, errlen);
		if (s->pg)
			return s;
#else
		snprintf(err, errlen, "%s: this build has no PostgreSQL store", path);
#endif
		goto error;
	}
	/* 2 KiB pages for a new database (an existing one keeps its own):
	 * each send's savepoint copies every page it touches into its
	 * journal, and each commit writes and checksums them into the WAL;
	 * at 2 KiB a send cost 4% fewer instructions than at SQLite's 4 KiB
	 * (callgrind), while 1 KiB deepened the trees. */
	static const char pragmas[] = "PRAGMA page_size = 2048;"
				      "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = NORMAL;"
				      /* Savepoints keep their undo pages (statement
				       * journals) in memory: a file per transaction
				       * cost an open, an unlink and dozens of pwrites
				       * per request, for nothing a crash could use. */
				      "PRAGMA temp_store = MEMORY;";

	configure_sqlite();
	if (create_private(path, err, errlen) != 0)
		goto error;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto error;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
	    add_functions(s->db) != 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto error;
	}
	/* The declared foreign keys are not enforced on this connection
	 * (SQLite's default): every writer here inserts a child only under
	 * a parent it has just read or written, and deletes children first;
	 * the invariant checker holds every declared key (the no_orphan_*
	 * checks). Enforced, each insert looked its parents up and ran in a
	 * statement journal of its own: 9,000 instructions of a send's
	 * 197,000 (callgrind). PostgreSQL's store enforces them. */
	if (migrate(s, err, errlen) != 0)
		goto error;
	if (load_id_floors(s) != 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto error;
	}
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "prepare %d: %s", i, sqlite3_errmsg(s->db));
			goto error;
		}
	}
	return s;
error:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
#ifdef REDPACK_WITH_PG_STORE
	pgstore_close(s->pg);
#endif
	wal_stop(s);
	for (int i = 0; i < ST_ALL; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	deltas_free(s->pending);
	free(s->path);
	free(s);
}

int store_set_max_pages(struct store *s, int64_t pages)
{
	ON_PG(pgstore_set_max_pages(s->pg, pages));
	char sql[64];
	/* An integer formatted by us, not user text: PRAGMAs take no bound
	 * parameters. 1073741823 is SQLite's own maximum. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)(pages > 0 ? pages : 1073741823));
	s->max_pages = pages;
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
								       : fail(s, "max_page_count");
}

int store_set_durability(struct store *s, int power_loss)
{
	ON_PG(pgstore_set_durability(s->pg, power_loss));
	s->power_loss = power_loss;
	return sqlite3_exec(s->db,
			    power_loss ? "PRAGMA synchronous = FULL"
				       : "PRAGMA synchronous = NORMAL",
			    NULL, NULL, NULL) == SQLITE_OK
		       ? 0
		       : fail(s, "synchronous");
}

/* ---- transactions ------------------------------------------------------ */

/* Inside a batch every unit of work is a savepoint, so one failing unit
 * rolls back alone and the batch commits the others together. */
/* The frames written since the last ask that ask the checkpointer for a
 * pass (SQLite's own mark). The WAL's size at which the writer waits for
 * a pass before it begins is STORE_WAL_DRAIN_FRAMES (store.h). */
#define WAL_NUDGE_FRAMES 1000

static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	(void)db, (void)name;
	if (frames < s->wal_frames) /* the WAL started over */
		s->wal_nudged = 0;
	s->wal_frames = frames;
	if (frames - s->wal_nudged >= WAL_NUDGE_FRAMES) {
		s->wal_nudged = frames;
		walckpt_nudge(s->ckpt);
	}
	return SQLITE_OK;
}

/* Before a write transaction of a file database: the checkpointer
 * started on the first (its hook replaces SQLite's automatic
 * checkpoints), and drained when the WAL has grown past
 * STORE_WAL_DRAIN_FRAMES, so this transaction starts the WAL over. */
static void wal_room(struct store *s)
{
	if (!s->ckpt && !s->ckpt_failed && store_can_share(s)) {
		s->ckpt = walckpt_start(s->path, s->power_loss);
		s->ckpt_failed = !s->ckpt;
		if (s->ckpt)
			sqlite3_wal_hook(s->db, on_wal, s);
	}
	if (s->ckpt && s->wal_frames >= STORE_WAL_DRAIN_FRAMES) {
		walckpt_drain(s->ckpt);
		s->wal_frames = s->wal_nudged = 0;
		s->wal_drains++;
	}
}

void store_wal_stats(const struct store *s, uint64_t *passes, uint64_t *drains, uint64_t *synced)
{
	uint64_t k;

	*passes = s->wal_passes + walckpt_passes(s->ckpt, &k);
	*drains = s->wal_drains;
	if (synced)
		*synced = s->wal_synced + k;
}

/* Back to SQLite's own checkpoints, before the connection closes or is
 * swapped (store_replace). */
static void wal_stop(struct store *s)
{
	if (!s->ckpt)
		return;
	uint64_t k;
	s->wal_passes += walckpt_passes(s->ckpt, &k);
	s->wal_synced += k;
	walckpt_stop(s->ckpt);
	s->ckpt = NULL;
	sqlite3_wal_autocheckpoint(s->db, 1000);
}

int store_begin(struct store *s)
{
	ON_PG(pgstore_begin(s->pg));
	if (!s->batch) {
		wal_room(s);
		return exec_done(s, stmt(s, ST_BEGIN), "begin");
	}
	if (sqlite3_get_autocommit(s->db) && !s->batch_lost) {
		s->batch_lost = 1; /* this savepoint starts a transaction of its own */
		pending_drop(s);
	}
	/* Nested in a unit of inserts: that one's savepoint first. */
	if (s->undo.open && !s->undo.saved && undo_save(s) != 0)
		return -1;
	if (exec_done(s, stmt(s, ST_UNIT_SAVEPOINT), "savepoint") != 0)
		return -1;
	if (++s->units == 1)
		s->unit_mark = deltas_mark(s->pending);
	return 0;
}

int store_begin_inserts(struct store *s)
{
	ON_PG(pgstore_begin(s->pg));
	if (!s->batch || s->batch_lost || s->units > 0 || sqlite3_get_autocommit(s->db))
		return store_begin(s);
	memset(&s->undo, 0, sizeof(s->undo));
	s->undo.open = 1;
	s->units = 1;
	s->unit_mark = deltas_mark(s->pending);
	return 0;
}

int store_commit(struct store *s)
{
	ON_PG(pgstore_commit(s->pg));
	if (s->undo.open && s->units == 1) {
		s->undo.open = 0;
		s->units = 0;
		if (s->undo.saved && exec_raw(s, stmt(s, ST_UNIT_RELEASE), "release") != 0)
			return -1;
		s->units_done++;
		return 0;
	}
	if (s->batch) {
		if (s->units == 0)
			return 0;
		s->units--;
		if (exec_done(s, stmt(s, ST_UNIT_RELEASE), "release") != 0)
			return -1;
		s->units_done++;
		return 0;
	}
	if (exec_done(s, stmt(s, ST_COMMIT), "commit") != 0) {
		store_rollback(s);
		return -1;
	}
	s->commits++;
	s->units_done++;
	return 0;
}

void store_commit_stats(const struct store *s, uint64_t *commits, uint64_t *units)
{
	ON_PG_VOID(pgstore_commit_stats(s->pg, commits, units));
	*commits = s->commits;
	*units = s->units_done;
}

/* A unit of inserts rolled back: what it held goes, the savepoint if it
 * opened one, then the rows it inserted before. Should one of those
 * deletes fail, the batch cannot keep the unit's rows: the whole
 * transaction goes (as when SQLite ends it), and the batch's commit fails
 * so that none of its units is acknowledged. */
static void undo_rollback(struct store *s)
{
	int rc = 0;

	s->undo.open = 0;
	s->units = 0;
	s->last.id = 0;
	deltas_undo(s->pending, s->unit_mark);
	if (sqlite3_get_autocommit(s->db)) { /* SQLite ended it: the rows went too */
		s->batch_lost = 1;
		pending_drop(s);
		return;
	}
	if (s->undo.saved)
		rc = exec_raw(s, stmt(s, ST_UNIT_ROLLBACK_TO), "rollback to savepoint") |
		     exec_raw(s, stmt(s, ST_UNIT_RELEASE), "release");
	for (int i = 0; i < s->undo.ledgers && rc == 0; i++) {
		sqlite3_stmt *q = stmt(s, ST_UNDO_LEDGER);
		sqlite3_bind_int64(q, 1, s->undo.ledger[i]);
		rc = exec_raw(s, q, "undo ledger row");
	}
	for (int i = 0; i < s->undo.packets && rc == 0; i++) {
		sqlite3_stmt *q = stmt(s, ST_UNDO_SHARES);
		sqlite3_bind_int64(q, 1, s->undo.packet[i]);
		rc = exec_raw(s, q, "undo shares");
		q = stmt(s, ST_UNDO_PACKET);
		sqlite3_bind_int64(q, 1, s->undo.packet[i]);
		rc = rc ? rc : exec_raw(s, q, "undo packet");
	}
	if (rc != 0) {
		exec_raw(s, stmt(s, ST_ROLLBACK), "rollback batch");
		s->batch_lost = 1;
		pending_drop(s);
	}
}

void store_rollback(struct store *s)
{
	ON_PG_VOID(pgstore_rollback(s->pg));
	s->config_gen++; /* what was looked up may have been written and undone */
	if (s->undo.open && s->units == 1) {
		undo_rollback(s);
		return;
	}
	if (s->batch) {
		/* Never the batch itself: only the unit that failed. */
		if (s->units == 0)
			return;
		/* The unit's held counter changes go with its rows; a
		 * nested unit held none (holding). An error that ended the
		 * whole transaction (SQLITE_FULL) took every row of the
		 * batch: then everything held goes. */
		if (s->units-- == 1)
			deltas_undo(s->pending, s->unit_mark);
		if (sqlite3_get_autocommit(s->db)) {
			s->batch_lost = 1;
			pending_drop(s);
		}
		s->last.id = 0;
		exec_done(s, stmt(s, ST_UNIT_ROLLBACK_TO), "rollback to savepoint");
		exec_done(s, stmt(s, ST_UNIT_RELEASE), "release");
		return;
	}
	s->last.id = 0;
	if (!sqlite3_get_autocommit(s->db))
		exec_done(s, stmt(s, ST_ROLLBACK), "rollback");
}

int store_batch_begin(struct store *s)
{
	ON_PG(pgstore_batch_begin(s->pg));
	if (s->batch)
		return 0;
	wal_room(s);
	if (exec_done(s, stmt(s, ST_BEGIN), "begin batch") != 0)
		return -1;
	s->batch = 1;
	s->units = 0;
	s->batch_lost = 0;
	s->absent.changes = -1; /* another writer may have come between */
	s->config_gen++;
	pending_drop(s);
	return 0;
}

int store_batch_open(const struct store *s)
{
	ON_PG(pgstore_batch_open(s->pg));
	return s->batch;
}

int store_batch_commit(struct store *s)
{
	ON_PG(pgstore_batch_commit(s->pg));
	int rc = 0;

	if (!s->batch)
		return 0;
	s->batch = 0;
	s->units = 0;
	s->absent.changes = -1;
	s->config_gen++;
	if (pending_write(s) != 0 || exec_done(s, stmt(s, ST_COMMIT), "commit batch") != 0) {
		if (!sqlite3_get_autocommit(s->db))
			exec_done(s, stmt(s, ST_ROLLBACK), "rollback batch");
		s->last.id = 0;
		rc = -1;
	} else {
		s->commits++;
	}
	pending_drop(s);
	return rc;
}

int64_t store_changes(struct store *s)
{
	ON_PG(pgstore_changes(s->pg));
	return sqlite3_total_changes64(s->db);
}

/* ---- fixtures ---------------------------------------------------------- */

int store_is_empty(struct store *s)
{
	ON_PG(pgstore_is_empty(s->pg));
	sqlite3_stmt *q = stmt(s, ST_MERCHANT_COUNT);
	int rc = step_row(s, q, "count merchants");
	int empty = rc == 1 && sqlite3_column_int64(q, 0) == 0;
	sqlite3_reset(q);
	return rc < 0 ? -1 : empty;
}

int store_merchant_insert(struct store *s, const struct merchant *m)
{
	ON_PG(pgstore_merchant_insert(s->pg, m));
	s->config_gen++; /* memo_hit: a lookup may answer otherwise now */
	sqlite3_stmt *q = stmt(s, ST_MERCHANT_INSERT);
	bind_text(q, 1, m->mch_id);
	bind_text(q, 2, m->name);
	bind_text(q, 3, m->api_key);
	sqlite3_bind_int64(q, 4, m->sends_per_minute);
	sqlite3_bind_int64(q, 5, m->packets_per_user_per_day);
	sqlite3_bind_int64(q, 6, m->amount_per_user_per_day);
	sqlite3_bind_int64(q, 7, m->amount_per_day);
	sqlite3_bind_int(q, 8, !m->api_closed);
	bind_text(q, 9, m->ip_allowlist);
	return exec_done(s, q, "insert merchant");
}

int store_merchant_update(struct store *s, const struct merchant *m)
{
	ON_PG(pgstore_merchant_update(s->pg, m));
	s->config_gen++; /* memo_hit: a lookup may answer otherwise now */
	sqlite3_stmt *q = stmt(s, ST_MERCHANT_UPDATE);
	sqlite3_bind_int64(q, 1, m->sends_per_minute);
	sqlite3_bind_int64(q, 2, m->packets_per_user_per_day);
	sqlite3_bind_int64(q, 3, m->amount_per_user_per_day);
	sqlite3_bind_int64(q, 4, m->amount_per_day);
	sqlite3_bind_int(q, 5, !m->api_closed);
	bind_text(q, 6, m->ip_allowlist);
	bind_text(q, 7, m->mch_id);
	return exec_done(s, q, "update merchant");
}

int store_app_insert(struct store *s, const char *mch_id, const char *appid, const char *kind)
{
	ON_PG(pgstore_app_insert(s->pg, mch_id, appid, kind));
	s->config_gen++; /* memo_hit: a lookup may answer otherwise now */
	sqlite3_stmt *q = stmt(s, ST_APP_INSERT);
	bind_text(q, 1, mch_id);
	bind_text(q, 2, appid);
	bind_text(q, 3, kind);
	return exec_done(s, q, "insert app");
}

int store_scene_insert(struct store *s, const char *mch_id, const char *scene_id)
{
	ON_PG(pgstore_scene_insert(s->pg, mch_id, scene_id));
	s->config_gen++; /* memo_hit: a lookup may answer otherwise now */
	sqlite3_stmt *q = stmt(s, ST_SCENE_INSERT);
	bind_text(q, 1, mch_id);
	bind_text(q, 2, scene_id);
	return exec_done(s, q, "insert scene");
}

int store_user_insert(struct store *s, const char *openid, const char *appid)
{
	ON_PG(pgstore_user_insert(s->pg, openid, appid));
	s->config_gen++; /* memo_hit: a lookup may answer otherwise now */
	sqlite3_stmt *q = stmt(s, ST_USER_INSERT);
	bind_text(q, 1, openid);
	bind_text(q, 2, appid);
	return exec_done(s, q, "insert user");
}

/* ---- lookups ----------------------------------------------------------- */

/* A send looks its merchant up twice, its app, its user and its scene
 * once, the same ones as the send before it most of the time. In a group
 * batch (BEGIN IMMEDIATE: no other connection or process writes) these
 * rows change only through this store's functions that move config_gen,
 * so a lookup answered since, same key, answers again from memory. */
static int memo_hit(const struct store *s, const struct memo *m, const char *k1, const char *k2)
{
	return m->gen == s->config_gen && s->batch && !s->batch_lost && strcmp(m->k1, k1) == 0 &&
	       strcmp(m->k2, k2 ? k2 : "") == 0;
}

static void memo_keep(const struct store *s, struct memo *m, const char *k1, const char *k2, int rc)
{
	m->gen = 0;
	if (!s->batch || rc < 0 || strlen(k1) >= sizeof(m->k1) ||
	    (k2 && strlen(k2) >= sizeof(m->k2)))
		return;
	strcpy(m->k1, k1);
	strcpy(m->k2, k2 ? k2 : "");
	m->rc = rc;
	m->gen = s->config_gen;
}

/* The balance as written and what is held: a memoised merchant's, a
 * debit's check (balance_add). The balance as written comes from the
 * merchant's memo while it holds: in a batch the debits are held, and
 * writing one through moves config_gen (counter_write). */
static int balance_now(struct store *s, const char *mch_id, int64_t *balance)
{
	const struct delta *d = held_find(s, DELTA_BALANCE, mch_id, NULL, 0);
	int64_t held = d ? d->amount : 0;

	if (memo_hit(s, &s->memo_merchant.key, mch_id, NULL) && s->memo_merchant.key.rc == 1) {
		*balance = s->memo_merchant.written + held;
		return 1;
	}
	sqlite3_stmt *q = stmt(s, ST_BALANCE_GET);
	bind_text(q, 1, mch_id);
	int rc = step_row(s, q, "read balance");
	*balance = (rc == 1 ? sqlite3_column_int64(q, 0) : 0) + held;
	sqlite3_reset(q);
	return rc;
}

int store_merchant_lookup(struct store *s, const char *mch_id, struct merchant *out)
{
	ON_PG(pgstore_merchant_lookup(s->pg, mch_id, out));
	if (memo_hit(s, &s->memo_merchant.key, mch_id, NULL)) {
		if (s->memo_merchant.key.rc != 1)
			return s->memo_merchant.key.rc;
		*out = s->memo_merchant.m;
		return balance_now(s, mch_id, &out->balance);
	}
	sqlite3_stmt *q = stmt(s, ST_MERCHANT_LOOKUP);
	bind_text(q, 1, mch_id);
	int rc = step_row(s, q, "lookup merchant");
	if (rc == 1) {
		copy_col(q, 0, out->mch_id, sizeof(out->mch_id));
		copy_col(q, 1, out->name, sizeof(out->name));
		copy_col(q, 2, out->api_key, sizeof(out->api_key));
		const struct delta *d = held_find(s, DELTA_BALANCE, mch_id, NULL, 0);
		s->memo_merchant.written = sqlite3_column_int64(q, 3);
		out->balance = s->memo_merchant.written + (d ? d->amount : 0);
		out->sends_per_minute = sqlite3_column_int64(q, 4);
		out->packets_per_user_per_day = sqlite3_column_int64(q, 5);
		out->amount_per_user_per_day = sqlite3_column_int64(q, 6);
		out->amount_per_day = sqlite3_column_int64(q, 7);
		out->api_closed = !sqlite3_column_int(q, 8);
		copy_col(q, 9, out->ip_allowlist, sizeof(out->ip_allowlist));
	}
	sqlite3_reset(q);
	memo_keep(s, &s->memo_merchant.key, mch_id, NULL, rc);
	if (rc == 1)
		s->memo_merchant.m = *out;
	return rc;
}

int store_app_kind(struct store *s, const char *mch_id, const char *appid, char kind[8])
{
	ON_PG(pgstore_app_kind(s->pg, mch_id, appid, kind));
	if (memo_hit(s, &s->memo_app.key, mch_id, appid)) {
		if (s->memo_app.key.rc == 1)
			memcpy(kind, s->memo_app.kind, 8);
		return s->memo_app.key.rc;
	}
	sqlite3_stmt *q = stmt(s, ST_APP_KIND);
	bind_text(q, 1, mch_id);
	bind_text(q, 2, appid);
	int rc = step_row(s, q, "lookup app");
	if (rc == 1)
		copy_col(q, 0, kind, 8);
	sqlite3_reset(q);
	memo_keep(s, &s->memo_app.key, mch_id, appid, rc);
	if (rc == 1)
		memcpy(s->memo_app.kind, kind, 8);
	return rc;
}

int store_user_appid(struct store *s, const char *openid, char appid[STORE_ID_MAX])
{
	ON_PG(pgstore_user_appid(s->pg, openid, appid));
	if (memo_hit(s, &s->memo_user.key, openid, NULL)) {
		if (s->memo_user.key.rc == 1)
			memcpy(appid, s->memo_user.appid, STORE_ID_MAX);
		return s->memo_user.key.rc;
	}
	sqlite3_stmt *q = stmt(s, ST_USER_APPID);
	bind_text(q, 1, openid);
	int rc = step_row(s, q, "lookup user");
	if (rc == 1)
		copy_col(q, 0, appid, STORE_ID_MAX);
	sqlite3_reset(q);
	memo_keep(s, &s->memo_user.key, openid, NULL, rc);
	if (rc == 1)
		memcpy(s->memo_user.appid, appid, STORE_ID_MAX);
	return rc;
}

int store_scene_enabled(struct store *s, const char *mch_id, const char *scene_id)
{
	ON_PG(pgstore_scene_enabled(s->pg, mch_id, scene_id));
	if (memo_hit(s, &s->memo_scene, mch_id, scene_id))
		return s->memo_scene.rc;
	sqlite3_stmt *q = stmt(s, ST_SCENE_ENABLED);
	bind_text(q, 1, mch_id);
	bind_text(q, 2, scene_id);
	int rc = step_row(s, q, "lookup scene");
	sqlite3_reset(q);
	memo_keep(s, &s->memo_scene, mch_id, scene_id, rc);
	return rc;
}

static void read_packet(sqlite3_stmt *q, struct packet_row *out)
{
	out->id = sqlite3_column_int64(q, 0);
	copy_col(q, 1, out->mch_id, sizeof(out->mch_id));
	copy_col(q, 2, out->mch_billno, sizeof(out->mch_billno));
	copy_col(q, 3, out->hb_type, sizeof(out->hb_type));
	copy_col(q, 4, out->status, sizeof(out->status));
	copy_col(q, 5, out->wxappid, sizeof(out->wxappid));
	copy_col(q, 6, out->re_openid, sizeof(out->re_openid));
	out->total_amount = sqlite3_column_int64(q, 7);
	out->total_num = sqlite3_column_int64(q, 8);
	copy_col(q, 9, out->send_listid, sizeof(out->send_listid));
	copy_col(q, 10, out->err_code, sizeof(out->err_code));
	out->created_at = sqlite3_column_int64(q, 11);
	out->send_time = sqlite3_column_int64(q, 12);
	copy_col(q, 13, out->reason, sizeof(out->reason));
	copy_col(q, 14, out->send_name, sizeof(out->send_name));
	copy_col(q, 15, out->wishing, sizeof(out->wishing));
	copy_col(q, 16, out->act_name, sizeof(out->act_name));
	copy_col(q, 17, out->remark, sizeof(out->remark));
	copy_col(q, 18, out->scene_id, sizeof(out->scene_id));
	out->refund_time = sqlite3_column_int64(q, 19);
	out->refund_amount = sqlite3_column_int64(q, 20);
}

void store_send_prefetch(struct store *s, const char *mch_id, const char *mch_billno,
			 const char *openid, int64_t rate_since, int64_t day_start)
{
	ON_PG_VOID(pgstore_send_prefetch(s->pg, mch_id, mch_billno, openid, rate_since, day_start));
	(void)mch_id, (void)mch_billno, (void)openid, (void)rate_since, (void)day_start;
}

int store_packet_find(struct store *s, const char *mch_id, const char *mch_billno,
		      struct packet_row *out)
{
	ON_PG(pgstore_packet_find(s->pg, mch_id, mch_billno, out));
	if (known_absent(s, mch_id, mch_billno))
		return 0;
	sqlite3_stmt *q = stmt(s, ST_PACKET_FIND);
	bind_text(q, 1, mch_id);
	bind_text(q, 2, mch_billno);
	int rc = step_row(s, q, "find packet");
	if (rc == 1)
		read_packet(q, out);
	sqlite3_reset(q);
	if (rc == 0)
		remember_absent(s, mch_id, mch_billno);
	return rc;
}

int store_packet_by_id(struct store *s, int64_t id, struct packet_row *out)
{
	ON_PG(pgstore_packet_by_id(s->pg, id, out));
	sqlite3_stmt *q = stmt(s, ST_PACKET_BY_ID);
	sqlite3_bind_int64(q, 1, id);
	int rc = step_row(s, q, "packet by id");
	if (rc == 1)
		read_packet(q, out);
	sqlite3_reset(q);
	return rc;
}

/* ---- counters ---------------------------------------------------------- */

int store_packets_created_since(struct store *s, const char *mch_id, int64_t since, int64_t *count)
{
	ON_PG(pgstore_packets_created_since(s->pg, mch_id, since, count));
	sqlite3_stmt *q = stmt(s, ST_PACKETS_CREATED_SINCE);
	bind_text(q, 1, mch_id);
	sqlite3_bind_int64(q, 2, since);
	int rc = step_row(s, q, "count recent packets");
	if (rc == 1)
		*count = sqlite3_column_int64(q, 0) + held_count_since(s, mch_id, since);
	sqlite3_reset(q);
	return rc < 0 ? -1 : 0;
}

static int day_hit(const struct store *s, const struct day_memo *m, const char *k1, const char *k2,
		   int64_t day_start)
{
	return memo_hit(s, &m->key, k1, k2) && m->day_start == day_start && m->wgen == s->write_gen;
}

static void day_keep(const struct store *s, struct day_memo *m, const char *k1, const char *k2,
		     int64_t day_start, int rc, int64_t count, int64_t amount)
{
	memo_keep(s, &m->key, k1, k2, rc);
	m->day_start = day_start;
	m->wgen = s->write_gen;
	m->count = count;
	m->amount = amount;
}

int store_merchant_sent_since(struct store *s, const char *mch_id, int64_t day_start,
			      int64_t *amount)
{
	ON_PG(pgstore_merchant_sent_since(s->pg, mch_id, day_start, amount));
	struct day_memo *m = &s->memo_merchant_day;
	const struct delta *d = held_find(s, DELTA_MERCHANT_DAY, mch_id, NULL, day_of(day_start));
	if (day_hit(s, m, mch_id, NULL, day_start)) {
		*amount = m->amount + (d ? d->amount : 0);
		return 0;
	}
	sqlite3_stmt *q = stmt(s, ST_MERCHANT_DAY);
	bind_text(q, 1, mch_id);
	sqlite3_bind_int64(q, 2, day_start);
	int rc = step_row(s, q, "merchant's day");
	int64_t row = rc == 1 ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	day_keep(s, m, mch_id, NULL, day_start, rc, 0, row);
	*amount = row + (d ? d->amount : 0);
	return rc < 0 ? -1 : 0;
}

static int ledger_rows(struct store *s, const char *mch_id, int64_t amount, const char *kind,
		       int64_t packet_id, int64_t at);

/* ---- writes ------------------------------------------------------------ */

static int packet_row_insert(struct store *s, const struct packet_new *p, int64_t *id)
{
	sqlite3_stmt *q = stmt(s, ST_PACKET_INSERT);
	bind_text(q, 1, p->mch_id);
	bind_text(q, 2, p->mch_billno);
	bind_text(q, 3, p->hb_type);
	bind_text(q, 4, p->status);
	bind_text(q, 5, p->wxappid);
	bind_text(q, 6, p->re_openid);
	bind_text(q, 7, p->send_name);
	bind_text(q, 8, p->wishing);
	bind_text(q, 9, p->act_name);
	bind_text(q, 10, p->remark);
	bind_text(q, 11, p->scene_id);
	bind_text(q, 12, p->client_ip);
	bind_text(q, 13, p->amt_type);
	sqlite3_bind_int64(q, 14, p->total_amount);
	sqlite3_bind_int64(q, 15, p->total_num);
	bind_text(q, 16, p->err_code);
	bind_text(q, 17, p->reason);
	sqlite3_bind_int64(q, 18, p->created_at);
	if (p->send_time)
		sqlite3_bind_int64(q, 19, p->send_time);
	else
		sqlite3_bind_null(q, 19);
	if (p->settle_at)
		sqlite3_bind_int64(q, 20, p->settle_at);
	else
		sqlite3_bind_null(q, 20);
	bind_text(q, 21, p->settle_at ? p->settle_to : NULL);
	/* Without an id of the caller's, the next one above the floor
	 * (schema.sql, migration 11), not SQLite's highest plus one. */
	int64_t next = p->id;
	if (!next && store_packet_next_id(s, &next) != 0) {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		return -1;
	}
	sqlite3_bind_int64(q, 22, next);
	bind_text(q, 23, p->send_listid);
	int undo = undoable(s, s->undo.packets);
	if (exec_insert(s, q, "insert packet", undo) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	if (s->next_packet.gen == s->config_gen && *id >= s->next_packet.next)
		s->next_packet.next = *id + 1;
	if (undo)
		s->undo.packet[s->undo.packets++] = *id;
	return 0;
}

/* ---- counters ---------------------------------------------------------- */

/* Counter changes are held in memory (deltas.h) while a group batch is
 * open, outside a unit or in its one unit, and written once per key by
 * pending_write before the batch commits: each send otherwise ran an
 * upsert per counter, a few of SQLite's statements of 10,000 to 16,000
 * instructions each (callgrind). A nested unit writes its own through at
 * once, so rolling it back to its savepoint takes them along. The reads
 * of counters on the send path add what is held (held_count_since,
 * held_find); every other reader of the counter tables writes what is
 * held first (pending_write). */
static int holding(const struct store *s)
{
	return s->batch && s->units <= 1 && !s->batch_lost;
}

/* Writes one counter change through, by its kind's statement. */
static int counter_write(struct store *s, enum delta_kind kind, const char *mch_id,
			 const char *text, int64_t k, int64_t count, int64_t amount)
{
	static const enum st which[] = {
		[DELTA_RATE] = ST_ADD_RATE,
		[DELTA_STATUS] = ST_ADD_STATUS,
		[DELTA_MERCHANT_DAY] = ST_ADD_MERCHANT_DAY,
		[DELTA_USER_DAY] = ST_ADD_USER_DAY,
		[DELTA_BALANCE] = ST_BALANCE_ADD,
	};
	sqlite3_stmt *q = stmt(s, which[kind]);

	switch (kind) {
	case DELTA_BALANCE:
		s->config_gen++; /* memo_hit: the balance as written moves */
		sqlite3_bind_int64(q, 1, amount);
		bind_text(q, 2, mch_id);
		return exec_done(s, q, "update balance");
	case DELTA_STATUS:
		bind_text(q, 1, mch_id);
		bind_text(q, 2, text);
		sqlite3_bind_int64(q, 3, count);
		return exec_done(s, q, "count status");
	case DELTA_USER_DAY:
		bind_text(q, 1, mch_id);
		bind_text(q, 2, text);
		sqlite3_bind_int64(q, 3, k);
		sqlite3_bind_int64(q, 4, count);
		sqlite3_bind_int64(q, 5, amount);
		return exec_done(s, q, "count user's day");
	case DELTA_RATE:
		bind_text(q, 1, mch_id);
		sqlite3_bind_int64(q, 2, k);
		sqlite3_bind_int64(q, 3, count);
		if (exec_done(s, q, "count rate") != 0)
			return -1;
		/* Seconds over two minutes old go as new ones come (by key). */
		q = stmt(s, ST_RATE_PRUNE);
		bind_text(q, 1, mch_id);
		sqlite3_bind_int64(q, 2, k);
		return exec_done(s, q, "prune rate");
	case DELTA_MERCHANT_DAY:
		bind_text(q, 1, mch_id);
		sqlite3_bind_int64(q, 2, k);
		sqlite3_bind_int64(q, 3, amount);
		return exec_done(s, q, "count merchant's day");
	}
	return -1;
}

/* One counter change: held while holding, else written through. */
static int counter_add(struct store *s, enum delta_kind kind, const char *mch_id, const char *text,
		       int64_t k, int64_t count, int64_t amount)
{
	if (holding(s) && deltas_add(s->pending, kind, mch_id, text, k, count, amount) == 0)
		return 0;
	return counter_write(s, kind, mch_id, text, k, count, amount);
}

/* Writes what is held, in the open transaction; when SQLite has ended it
 * (an error rolled it back), what is held went with its rows. */
static int pending_write(struct store *s)
{
	size_t n = deltas_count(s->pending);
	int rc = 0;

	if (n && sqlite3_get_autocommit(s->db)) {
		pending_drop(s);
		return 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct delta *d = deltas_at(s->pending, i);
		if (d->count || d->amount)
			rc = counter_write(s, d->kind, d->mch_id, d->text, d->k, d->count,
					   d->amount);
	}
	if (rc == 0)
		deltas_clear(s->pending);
	return rc;
}

static void pending_drop(struct store *s)
{
	if (s->pending)
		deltas_clear(s->pending);
}

/* Before a reader of the counter tables that is not on the send path.
 * Inside a unit the held changes of the units before it would go into
 * its savepoint and be undone with it: refused there (no caller does
 * that today: the control API and the sweeps run between units). */
static int pending_flush(struct store *s)
{
	if (!s->pending || !deltas_count(s->pending))
		return 0;
	if (s->batch && s->units > 0)
		return fail_text(s, "counters",
				 "held counter changes cannot be written inside a unit");
	return pending_write(s);
}

/* The balance change. A debit held keeps the column's CHECK (balance >= 0)
 * for its own unit: the balance as written, what is held, and the debit
 * must not go below 0, or the unit fails as the UPDATE would have. */
static int balance_add(struct store *s, const char *mch_id, int64_t amount)
{
	if (holding(s) && amount < 0) {
		int64_t balance;
		int rc = balance_now(s, mch_id, &balance);
		if (rc < 0)
			return -1;
		if (rc == 1 && balance + amount < 0)
			return fail_text(s, "update balance",
					 "CHECK constraint failed: balance >= 0");
	}
	return counter_add(s, DELTA_BALANCE, mch_id, NULL, 0, 0, amount);
}

/* What a new packet adds to the counters: its second for the rate, its
 * status, and when it is issued its merchant's day and its receiver's
 * day (a normal packet's amount too; a group's seed share comes with its
 * share row). */
static int count_packet(struct store *s, const struct packet_new *p)
{
	if (counter_add(s, DELTA_RATE, p->mch_id, NULL, p->created_at, 1, 0) != 0 ||
	    counter_add(s, DELTA_STATUS, p->mch_id, p->status, 0, 1, 0) != 0)
		return -1;
	if (p->send_time <= 0 || !status_issued(status_parse(p->status)))
		return 0;
	int64_t day = day_of(p->send_time);
	if (counter_add(s, DELTA_MERCHANT_DAY, p->mch_id, NULL, day, 0, p->total_amount) != 0)
		return -1;
	return counter_add(s, DELTA_USER_DAY, p->mch_id, p->re_openid, day, 1,
			   strcmp(p->hb_type, "NORMAL") == 0 ? p->total_amount : 0);
}

/* Remembers the packet just written for its seed share (s->last). */
static void remember_packet(struct store *s, const struct packet_new *p, int64_t id)
{
	s->last.id = 0;
	if (strlen(p->mch_id) >= sizeof(s->last.mch_id) ||
	    strlen(p->re_openid) >= sizeof(s->last.openid))
		return;
	strcpy(s->last.mch_id, p->mch_id);
	strcpy(s->last.openid, p->re_openid);
	s->last.send_time = p->send_time;
	s->last.counted = strcmp(p->hb_type, "GROUP") == 0 && p->send_time > 0 &&
			  status_issued(status_parse(p->status));
	s->last.id = id;
}

/* A group's first share is its seed user's, counted on the day the
 * packet was issued: from s->last when it is that packet, as written
 * (nothing has changed it since: every packet update forgets it). */
static int count_seed_share(struct store *s, int64_t packet_id, int64_t amount)
{
	char mch_id[STORE_ID_MAX], openid[STORE_ID_MAX];
	int64_t send_time;
	int counted;

	if (packet_id == s->last.id) {
		return s->last.counted
			       ? counter_add(s, DELTA_USER_DAY, s->last.mch_id, s->last.openid,
					     day_of(s->last.send_time), 0, amount)
			       : 0;
	}
	sqlite3_stmt *q = stmt(s, ST_SEED_OF);
	sqlite3_bind_int64(q, 1, packet_id);
	int rc = step_row(s, q, "seed share's packet");
	if (rc != 1) {
		sqlite3_reset(q);
		return rc;
	}
	copy_col(q, 0, mch_id, sizeof(mch_id));
	copy_col(q, 1, openid, sizeof(openid));
	send_time = sqlite3_column_int64(q, 2);
	counted = send_time > 0 &&
		  status_issued(status_parse((const char *)sqlite3_column_text(q, 3)));
	sqlite3_reset(q);
	return counted ? counter_add(s, DELTA_USER_DAY, mch_id, openid, day_of(send_time), 0,
				     amount)
		       : 0;
}

/* Several statements as one: outside a transaction, under a savepoint of
 * their own; inside one, the caller rolls back on failure (every caller
 * does), so none: a savepoint copies every page its statements touch into
 * its journal, on each send. */
static int unit_open(struct store *s, int *own)
{
	*own = sqlite3_get_autocommit(s->db);
	return *own ? exec_done(s, stmt(s, ST_SAVEPOINT), "savepoint") : 0;
}

static int unit_close(struct store *s, int own, int rc)
{
	if (!own)
		return rc;
	if (rc != 0) {
		exec_done(s, stmt(s, ST_ROLLBACK_TO), "rollback to savepoint");
		exec_done(s, stmt(s, ST_RELEASE), "release savepoint");
		return -1;
	}
	return exec_done(s, stmt(s, ST_RELEASE), "release savepoint");
}

int store_packet_insert(struct store *s, const struct packet_new *p, int64_t *id)
{
	ON_PG(pgstore_packet_insert(s->pg, p, id));
	int own;
	if (unit_open(s, &own) != 0)
		return -1;
	int rc = packet_row_insert(s, p, id) != 0 || count_packet(s, p) != 0 ? -1 : 0;
	if (rc == 0)
		remember_packet(s, p, *id);
	return unit_close(s, own, rc);
}

int store_packet_next_id(struct store *s, int64_t *id)
{
	ON_PG(pgstore_packet_next_id(s->pg, id));
	/* In a batch no other connection inserts packets (BEGIN IMMEDIATE):
	 * the id after the highest one this store has seen or written. */
	if (s->batch && !s->batch_lost && s->next_packet.gen == s->config_gen) {
		*id = s->next_packet.next > s->packets_floor ? s->next_packet.next
							     : s->packets_floor + 1;
		return 0;
	}
	sqlite3_stmt *q = stmt(s, ST_PACKET_NEXT_ID);
	sqlite3_bind_int64(q, 1, s->packets_floor);
	int rc = step_row(s, q, "next packet id");
	*id = rc == 1 ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	if (rc == 1 && s->batch && !s->batch_lost) {
		s->next_packet.next = *id;
		s->next_packet.gen = s->config_gen;
	}
	return rc == 1 ? 0 : -1;
}

int store_packet_set_listid(struct store *s, int64_t id, const char *send_listid)
{
	ON_PG(pgstore_packet_set_listid(s->pg, id, send_listid));
	sqlite3_stmt *q = stmt(s, ST_PACKET_SET_LISTID);
	bind_text(q, 1, send_listid);
	sqlite3_bind_int64(q, 2, id);
	return exec_done(s, q, "set send_listid");
}

int store_share_insert(struct store *s, int64_t packet_id, int seq, int64_t amount)
{
	ON_PG(pgstore_share_insert(s->pg, packet_id, seq, amount));
	sqlite3_stmt *q = stmt(s, ST_SHARE_INSERT);
	sqlite3_bind_int64(q, 1, packet_id);
	sqlite3_bind_int(q, 2, seq);
	sqlite3_bind_int64(q, 3, amount);
	int own;
	if (unit_open(s, &own) != 0)
		return -1;
	int rc = exec_done(s, q, "insert share");
	if (rc == 0 && seq == 0)
		rc = count_seed_share(s, packet_id, amount);
	return unit_close(s, own, rc);
}

/* The statement that writes n shares, prepared on first use:
 * "... VALUES (?1, 0, ?2), (?1, 1, ?3), ...". */
static sqlite3_stmt *shares_stmt(struct store *s, int n)
{
	sqlite3_stmt **q = &s->st[ST_SHARES(n)];
	if (*q) {
		sqlite3_reset(*q);
		sqlite3_clear_bindings(*q);
		return *q;
	}
	char sql[64 + STORE_SHARES_MAX * 24];
	int len = snprintf(sql, sizeof(sql), "INSERT INTO shares (packet_id, seq, amount) VALUES");
	for (int i = 0; i < n; i++)
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, "%s(?1, %d, ?%d)",
				i ? ", " : " ", i, i + 2);
	if (sqlite3_prepare_v3(s->db, sql, len, SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK) {
		fail(s, "prepare shares");
		sqlite3_finalize(*q);
		*q = NULL;
	}
	return *q;
}

int store_shares_insert(struct store *s, int64_t packet_id, const int64_t *amounts, int n)
{
	ON_PG(pgstore_shares_insert(s->pg, packet_id, amounts, n));
	sqlite3_stmt *q = n >= 1 && n <= STORE_SHARES_MAX ? shares_stmt(s, n) : NULL;
	int own;

	if (!q || unit_open(s, &own) != 0)
		return -1;
	sqlite3_bind_int64(q, 1, packet_id);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 2, amounts[i]);
	/* A packet's shares go with it when the unit deletes it. */
	int undo = 0;
	for (int i = 0; i < s->undo.packets && undoable(s, 0); i++)
		undo |= s->undo.packet[i] == packet_id;
	int rc = exec_insert(s, q, "insert shares", undo);
	if (rc == 0)
		rc = count_seed_share(s, packet_id, amounts[0]);
	return unit_close(s, own, rc);
}

/* The ledger row and the balance change, all or nothing (unit_open). */
int store_ledger_add(struct store *s, const char *mch_id, int64_t amount, const char *kind,
		     int64_t packet_id, int64_t at)
{
	ON_PG(pgstore_ledger_add(s->pg, mch_id, amount, kind, packet_id, at));
	int own;
	if (unit_open(s, &own) != 0)
		return -1;
	return unit_close(s, own, ledger_rows(s, mch_id, amount, kind, packet_id, at));
}

static int ledger_rows(struct store *s, const char *mch_id, int64_t amount, const char *kind,
		       int64_t packet_id, int64_t at)
{
	sqlite3_stmt *q = stmt(s, ST_LEDGER_INSERT);
	bind_text(q, 1, mch_id);
	sqlite3_bind_int64(q, 2, amount);
	bind_text(q, 3, kind);
	if (packet_id)
		sqlite3_bind_int64(q, 4, packet_id);
	else
		sqlite3_bind_null(q, 4);
	sqlite3_bind_int64(q, 5, at);
	sqlite3_bind_int64(q, 6, s->ledger_floor);
	/* In a batch no other connection inserts (BEGIN IMMEDIATE): the id
	 * after the last this store wrote, not SQLite's highest read again. */
	int known = s->batch && !s->batch_lost && s->next_ledger.gen == s->config_gen;
	int64_t next = s->next_ledger.next > s->ledger_floor ? s->next_ledger.next
							     : s->ledger_floor + 1;
	sqlite3_bind_int64(q, 7, known ? next : 0);
	int undo = undoable(s, s->undo.ledgers);
	if (exec_insert(s, q, "insert ledger", undo) != 0)
		return -1;
	int64_t id = sqlite3_last_insert_rowid(s->db);
	if (s->batch && !s->batch_lost) {
		s->next_ledger.next = id + 1;
		s->next_ledger.gen = s->config_gen;
	} else if (s->next_ledger.gen == s->config_gen && id >= s->next_ledger.next) {
		s->next_ledger.next = id + 1;
	}
	if (undo)
		s->undo.ledger[s->undo.ledgers++] = id;
	return balance_add(s, mch_id, amount);
}

/* ---- lifecycle --------------------------------------------------------- */

int store_clock_offset(struct store *s, int64_t *offset)
{
	ON_PG(pgstore_clock_offset(s->pg, offset));
	sqlite3_stmt *q = stmt(s, ST_CLOCK_GET);
	int rc = step_row(s, q, "read clock");
	*offset = rc == 1 ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return rc < 0 ? -1 : 0;
}

int store_set_clock_offset(struct store *s, int64_t offset)
{
	ON_PG(pgstore_set_clock_offset(s->pg, offset));
	sqlite3_stmt *q = stmt(s, ST_CLOCK_SET);
	sqlite3_bind_int64(q, 1, offset);
	return exec_done(s, q, "write clock");
}

int store_shares_each(struct store *s, int64_t packet_id,
		      void (*row)(void *arg, const struct share_row *share), void *arg)
{
	ON_PG(pgstore_shares_each(s->pg, packet_id, row, arg));
	sqlite3_stmt *q = stmt(s, ST_SHARES_LIST);
	struct share_row r;
	int rc;

	sqlite3_bind_int64(q, 1, packet_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		r.seq = sqlite3_column_int(q, 0);
		r.amount = sqlite3_column_int64(q, 1);
		copy_col(q, 2, r.openid, sizeof(r.openid));
		r.rcv_time = sqlite3_column_int64(q, 3);
		row(arg, &r);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : fail(s, "list shares");
}

int store_share_open(struct store *s, int64_t packet_id, int seq, const char *openid, int64_t at)
{
	ON_PG(pgstore_share_open(s->pg, packet_id, seq, openid, at));
	sqlite3_stmt *q = stmt(s, ST_SHARE_OPEN);
	bind_text(q, 1, openid);
	sqlite3_bind_int64(q, 2, at);
	sqlite3_bind_int64(q, 3, packet_id);
	sqlite3_bind_int(q, 4, seq);
	if (exec_done(s, q, "open share") != 0)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 0 : -1;
}

int store_packet_set_status(struct store *s, int64_t id, enum packet_status status)
{
	ON_PG(pgstore_packet_set_status(s->pg, id, status));
	s->last.id = 0; /* count_seed_share reads it as written */
	sqlite3_stmt *q = stmt(s, ST_PACKET_SET_STATUS);
	bind_text(q, 1, status_name(status));
	sqlite3_bind_int64(q, 2, id);
	return exec_done(s, q, "set status");
}

int store_packet_issue(struct store *s, int64_t id, int64_t send_time)
{
	ON_PG(pgstore_packet_issue(s->pg, id, send_time));
	s->last.id = 0; /* count_seed_share reads it as written */
	sqlite3_stmt *q = stmt(s, ST_PACKET_ISSUE);
	sqlite3_bind_int64(q, 1, send_time);
	sqlite3_bind_int64(q, 2, id);
	if (exec_done(s, q, "issue packet") != 0)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 0 : -1;
}

int store_packet_set_refund(struct store *s, int64_t id, enum packet_status status,
			    int64_t refund_time, int64_t refund_amount)
{
	ON_PG(pgstore_packet_set_refund(s->pg, id, status, refund_time, refund_amount));
	s->last.id = 0; /* count_seed_share reads it as written */
	sqlite3_stmt *q = stmt(s, ST_PACKET_SET_REFUND);
	bind_text(q, 1, status_name(status));
	sqlite3_bind_int64(q, 2, refund_time);
	sqlite3_bind_int64(q, 3, refund_amount);
	sqlite3_bind_int64(q, 4, id);
	return exec_done(s, q, "set refund");
}

int store_due_ids(struct store *s, enum store_due which, int64_t t, int64_t *ids, int limit)
{
	ON_PG(pgstore_due_ids(s->pg, which, t, ids, limit));
	static const enum st by_due[] = {[DUE_EXPIRE] = ST_DUE_EXPIRE,
					 [DUE_REFUND] = ST_DUE_REFUND,
					 [DUE_FAIL] = ST_DUE_FAIL,
					 [DUE_SETTLE] = ST_DUE_SETTLE};
	sqlite3_stmt *q = stmt(s, by_due[which]);
	int n = 0, rc;

	sqlite3_bind_int64(q, 1, t);
	sqlite3_bind_int(q, 2, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < limit)
		ids[n++] = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : fail(s, "due packets");
}

int store_user_receipts_since(struct store *s, const char *mch_id, const char *openid,
			      int64_t day_start, int64_t *count, int64_t *amount)
{
	ON_PG(pgstore_user_receipts_since(s->pg, mch_id, openid, day_start, count, amount));
	struct day_memo *m = &s->memo_user_day;
	const struct delta *d = held_find(s, DELTA_USER_DAY, mch_id, openid, day_of(day_start));
	if (!day_hit(s, m, mch_id, openid, day_start)) {
		sqlite3_stmt *q = stmt(s, ST_USER_DAY);
		bind_text(q, 1, mch_id);
		bind_text(q, 2, openid);
		sqlite3_bind_int64(q, 3, day_start);
		int rc = step_row(s, q, "user's day");
		int64_t c = rc == 1 ? sqlite3_column_int64(q, 0) : 0;
		int64_t a = rc == 1 ? sqlite3_column_int64(q, 1) : 0;
		sqlite3_reset(q);
		if (rc < 0)
			return -1;
		day_keep(s, m, mch_id, openid, day_start, rc, c, a);
	}
	*count = m->count + (d ? d->count : 0);
	*amount = m->amount + (d ? d->amount : 0);
	return 0;
}

int64_t store_vm_steps(struct store *s)
{
	ON_PG(pgstore_vm_steps(s->pg));
	int64_t steps = 0;
	for (int i = 0; i < ST_ALL; i++)
		if (s->st[i])
			steps += sqlite3_stmt_status(s->st[i], SQLITE_STMTSTATUS_VM_STEP, 0);
	return steps;
}

int store_packets_each(struct store *s, const char *mch_id, const char *status, int64_t before_id,
		       int limit, void (*row)(void *arg, const struct packet_row *p), void *arg)
{
	ON_PG(pgstore_packets_each(s->pg, mch_id, status, before_id, limit, row, arg));
	sqlite3_stmt *q = stmt(s, ST_PACKETS_LIST);
	struct packet_row *p = xmalloc(sizeof(*p));
	int rc;

	bind_text(q, 1, mch_id);
	bind_text(q, 2, status);
	sqlite3_bind_int(q, 3, limit);
	sqlite3_bind_int64(q, 4, before_id > 0 ? before_id : INT64_MAX);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_packet(q, p);
		row(arg, p);
	}
	sqlite3_reset(q);
	free(p);
	return rc == SQLITE_DONE ? 0 : fail(s, "list packets");
}

enum store_resolved store_packet_resolve(struct store *s, const char *mch_id,
					 const char *mch_billno, struct packet_row *out)
{
	ON_PG(pgstore_packet_resolve(s->pg, mch_id, mch_billno, out));
	sqlite3_stmt *q;
	int n = 0, rc = SQLITE_DONE;

	if (mch_id)
		return (enum store_resolved)store_packet_find(s, mch_id, mch_billno, out);
	q = stmt(s, ST_PACKETS_BY_BILLNO);
	bind_text(q, 1, mch_billno);
	/* Two rows tell it all: the first is the packet, a second makes it
	 * ambiguous. */
	while (n < 2 && (rc = sqlite3_step(q)) == SQLITE_ROW)
		if (n++ == 0)
			read_packet(q, out);
	sqlite3_reset(q);
	if (n < 2 && rc != SQLITE_DONE)
		return (enum store_resolved)fail(s, "packets by billno");
	return n == 0	? STORE_RESOLVE_NOT_FOUND
	       : n == 1 ? STORE_RESOLVE_FOUND
			: STORE_RESOLVE_AMBIGUOUS;
}

int store_ledger_each(struct store *s, int64_t packet_id,
		      void (*row)(void *arg, const struct ledger_row *l), void *arg)
{
	ON_PG(pgstore_ledger_each(s->pg, packet_id, row, arg));
	sqlite3_stmt *q = stmt(s, ST_LEDGER_LIST);
	struct ledger_row r;
	int rc;

	sqlite3_bind_int64(q, 1, packet_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(q, 0);
		copy_col(q, 1, r.mch_id, sizeof(r.mch_id));
		r.amount = sqlite3_column_int64(q, 2);
		copy_col(q, 3, r.kind, sizeof(r.kind));
		r.packet_id = sqlite3_column_int64(q, 4);
		r.at = sqlite3_column_int64(q, 5);
		row(arg, &r);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : fail(s, "list ledger");
}

/* ---- reset ------------------------------------------------------------- */

/* Before packets or ledger rows are deleted: the floors of their ids are
 * raised to the highest id there is, so the next ids go on above every id
 * ever given (schema.sql, migration 11). */
#define ID_TOPS_SQL                                                                                \
	"SELECT k, m FROM (SELECT 'packets_id_floor' AS k, MAX(id) AS m FROM packets"              \
	" UNION ALL SELECT 'ledger_id_floor', MAX(id) FROM ledger) WHERE m IS NOT NULL"
#define RAISE_ID_FLOORS_TAIL " ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)"
#define RAISE_ID_FLOORS_SQL "INSERT INTO meta (key, value) " ID_TOPS_SQL RAISE_ID_FLOORS_TAIL

int store_wipe(struct store *s, const char *mch_id)
{
	ON_PG(pgstore_wipe(s->pg, mch_id));
	s->config_gen++;	   /* memo_hit: a lookup may answer otherwise now */
	if (pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	static const char *const all[] = {
		RAISE_ID_FLOORS_SQL,	    "DELETE FROM shares",    "DELETE FROM ledger",
		"DELETE FROM packets",	    "DELETE FROM apps",	     "DELETE FROM scenes",
		"DELETE FROM users",	    "DELETE FROM merchants", "DELETE FROM rate_second",
		"DELETE FROM day_merchant", "DELETE FROM day_user",  "DELETE FROM status_count",
	};
	static const char *const one[] = {
		RAISE_ID_FLOORS_SQL,
		"DELETE FROM shares WHERE packet_id IN (SELECT id FROM packets WHERE mch_id = ?1)",
		"DELETE FROM ledger WHERE packet_id IN (SELECT id FROM packets WHERE mch_id = ?1)"
		" OR (packet_id IS NULL AND mch_id = ?1)",
		"DELETE FROM packets WHERE mch_id = ?1",
		"DELETE FROM apps WHERE mch_id = ?1",
		"DELETE FROM scenes WHERE mch_id = ?1",
		"DELETE FROM merchants WHERE mch_id = ?1",
		"DELETE FROM rate_second WHERE mch_id = ?1",
		"DELETE FROM day_merchant WHERE mch_id = ?1",
		"DELETE FROM day_user WHERE mch_id = ?1",
		"DELETE FROM status_count WHERE mch_id = ?1",
	};
	const char *const *list = mch_id ? one : all;
	size_t n = mch_id ? sizeof(one) / sizeof(one[0]) : sizeof(all) / sizeof(all[0]);

	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db, list[i], -1, &q, NULL) != SQLITE_OK)
			return fail(s, "prepare wipe");
		if (mch_id)
			bind_text(q, 1, mch_id);
		int rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return fail(s, "wipe");
	}
	return load_id_floors(s);
}

int store_totals(struct store *s, struct store_totals *out)
{
	ON_PG(pgstore_totals(s->pg, out));
	if (pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	sqlite3_stmt *q = prepare(s, "SELECT (SELECT IFNULL(SUM(amount), 0) FROM day_merchant),"
				     " (SELECT IFNULL(SUM(refund_amount), 0) FROM packets"
				     " WHERE status = 'REFUND'), (SELECT page_count * page_size"
				     " FROM pragma_page_count(), pragma_page_size())");
	int rc;

	if (!q)
		return -1;
	rc = step_row(s, q, "totals");
	if (rc == 1) {
		out->issued = sqlite3_column_int64(q, 0);
		out->refunded = sqlite3_column_int64(q, 1);
		out->bytes = sqlite3_column_int64(q, 2);
	}
	sqlite3_finalize(q);
	return rc == 1 ? 0 : -1;
}

int store_durability(struct store *s)
{
	ON_PG(pgstore_durability(s->pg));
	sqlite3_stmt *q = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

int store_packet_settle_to(struct store *s, int64_t id, char out[8])
{
	ON_PG(pgstore_packet_settle_to(s->pg, id, out));
	sqlite3_stmt *q = stmt(s, ST_PACKET_SETTLE_TO);
	sqlite3_bind_int64(q, 1, id);
	int rc = step_row(s, q, "settle_to");
	if (rc == 1)
		copy_col(q, 0, out, 8);
	sqlite3_reset(q);
	return rc == 1 ? 0 : -1;
}

int store_status_counts(struct store *s, void (*row)(void *arg, const char *status, int64_t n),
			void *arg)
{
	ON_PG(pgstore_status_counts(s->pg, row, arg));
	if (pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT status, SUM(n) FROM status_count GROUP BY status"
			       " HAVING SUM(n) > 0",
			       -1, &q, NULL) != SQLITE_OK)
		return fail(s, "prepare status counts");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		row(arg, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1));
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : fail(s, "status counts");
}

/* ---- replacing the whole database -------------------------------------- */

/* Copies the rows of a two-column query on from into to, one by one. */
static int copy_rows(struct store *from, struct store *to, const char *select, const char *insert)
{
	sqlite3_stmt *r = NULL, *w = NULL;
	int rc = -1, step;

	if (sqlite3_prepare_v2(from->db, select, -1, &r, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(to->db, insert, -1, &w, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(r)) == SQLITE_ROW) {
		sqlite3_bind_value(w, 1, sqlite3_column_value(r, 0));
		sqlite3_bind_value(w, 2, sqlite3_column_value(r, 1));
		if (sqlite3_step(w) != SQLITE_DONE)
			goto out;
		sqlite3_reset(w);
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(r);
	sqlite3_finalize(w);
	return rc;
}

/* Moves fresh's connection into s (which keeps its address and its
 * counters) and frees the rest of fresh. */
static void adopt(struct store *s, struct store *fresh)
{
	wal_stop(s);
	for (int i = 0; i < ST_ALL; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	s->db = fresh->db;
	memcpy(s->st, fresh->st, sizeof(s->st));
	fresh->db = NULL;
	memset(fresh->st, 0, sizeof(fresh->st));
	store_close(fresh);
	store_set_max_pages(s, s->max_pages);
	store_set_durability(s, s->power_loss);
	load_id_floors(s); /* fresh read them before the old ones came in; logs a failure */
}

static void remove_db_files(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[4096];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
}

int store_can_replace(const struct store *s)
{
	ON_PG(pgstore_can_replace(s->pg));
	/* Not under an open reader: its connection would keep the old WAL
	 * file, which the renamed database would then take for its own. */
	return strncmp(s->path, "file:", 5) != 0 && s->readers == 0;
}

int store_replace(struct store *s, int (*fill)(void *arg, struct store *fresh), void *arg,
		  char *err, size_t errlen)
{
	ON_PG(pgstore_replace(s->pg, fill, arg, err, errlen));
	s->config_gen++;	     /* memo_hit: a lookup may answer otherwise now */
	if (pending_flush(s) != 0) { /* the counters held go with the rows */
		snprintf(err, errlen, "%s", s->first_error);
		return -1;
	}
	int memory = strcmp(s->path, ":memory:") == 0;
	char tmp[4096];
	struct store *fresh, *reopened;
	int renamed;

	if (s->batch || strncmp(s->path, "file:", 5) == 0) {
		snprintf(err, errlen, s->batch ? "a batch is open" : "not for a file: URI");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s", memory ? ":memory:" : s->path);
	if (!memory) {
		snprintf(tmp, sizeof(tmp), "%s.reset", s->path);
		remove_db_files(tmp); /* a leftover of a crash during a reset */
	}
	fresh = store_open(tmp, err, errlen);
	if (!fresh)
		return -1;
	if (fill(arg, fresh) != 0 || exec_done(fresh, stmt(fresh, ST_BEGIN), "begin") != 0 ||
	    copy_rows(s, fresh, "SELECT key, value FROM meta",
		      "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)") != 0 ||
	    /* Ids go on from where they were: send_listid never repeats. */
	    copy_rows(s, fresh, ID_TOPS_SQL,
		      "INSERT INTO meta (key, value) VALUES (?, ?)" RAISE_ID_FLOORS_TAIL) != 0 ||
	    exec_done(fresh, stmt(fresh, ST_COMMIT), "commit") != 0) {
		snprintf(err, errlen, "building the fresh database: %s", sqlite3_errmsg(fresh->db));
		store_close(fresh);
		if (!memory)
			remove_db_files(tmp);
		return -1;
	}
	if (memory) {
		adopt(s, fresh);
		return 0;
	}
	/* Closing both makes each file whole (the WAL checkpointed and
	 * removed); the rename then swaps them at once: a crash leaves one
	 * database or the other, never a mix. */
	store_close(fresh);
	wal_stop(s);
	for (int i = 0; i < ST_ALL; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = NULL;
	renamed = rename(tmp, s->path) == 0;
	if (!renamed) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		remove_db_files(tmp);
	}
	reopened = store_open(s->path, renamed ? err : tmp, renamed ? errlen : sizeof(tmp));
	if (!reopened)
		return -1; /* the store is unusable: the caller stops */
	adopt(s, reopened);
	return renamed ? 0 : -1;
}

/* ---- lifecycle catch-up and sliced sweeps ------------------------------ */

int store_packet_settle_at(struct store *s, int64_t id, int64_t *settle_at)
{
	ON_PG(pgstore_packet_settle_at(s->pg, id, settle_at));
	sqlite3_stmt *q = prepare(s, "SELECT IFNULL(settle_at, 0) FROM packets WHERE id = ?");
	int rc;

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	rc = step_row(s, q, "settle_at");
	*settle_at = rc == 1 ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return rc < 0 ? -1 : 0;
}

int store_due_page(struct store *s, enum store_due which, int64_t t, int64_t *key, int64_t *id,
		   int64_t *ids, int limit)
{
	ON_PG(pgstore_due_page(s->pg, which, t, key, id, ids, limit));
	/* Each kind by its due key, then id: the cursor (key, id) moves past
	 * a packet whatever became of it, so a failing one is passed over. */
	static const char *const sql[] = {
		[DUE_EXPIRE] = "SELECT id, send_time FROM packets WHERE status = 'SENT'"
			       " AND send_time <= ?1 AND (send_time, id) > (?2, ?3)"
			       " ORDER BY send_time, id LIMIT ?4",
		[DUE_REFUND] = "SELECT id, send_time FROM packets WHERE status = 'RFUND_ING'"
			       " AND send_time <= ?1 AND (send_time, id) > (?2, ?3)"
			       " ORDER BY send_time, id LIMIT ?4",
		[DUE_FAIL] = "SELECT id, created_at FROM packets WHERE status = 'SENDING'"
			     " AND created_at <= ?1 AND (created_at, id) > (?2, ?3)"
			     " ORDER BY created_at, id LIMIT ?4",
		[DUE_SETTLE] = "SELECT id, settle_at FROM packets WHERE status = 'SENDING'"
			       " AND settle_at <= ?1 AND (settle_at, id) > (?2, ?3)"
			       " ORDER BY settle_at, id LIMIT ?4",
	};
	sqlite3_stmt *q = prepare(s, sql[which]);
	int n = 0, rc = SQLITE_DONE;

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, t);
	sqlite3_bind_int64(q, 2, *key);
	sqlite3_bind_int64(q, 3, *id);
	sqlite3_bind_int(q, 4, limit);
	while (n < limit && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		ids[n++] = sqlite3_column_int64(q, 0);
		*id = ids[n - 1];
		*key = sqlite3_column_int64(q, 1);
	}
	if (n < limit && rc != SQLITE_DONE)
		n = fail(s, "due page");
	sqlite3_finalize(q);
	return n;
}

void store_error_clear(struct store *s)
{
	ON_PG_VOID(pgstore_error_clear(s->pg));
	s->first_error[0] = '\0';
}

const char *store_first_error(const struct store *s)
{
	ON_PG(pgstore_first_error(s->pg));
	return s->first_error[0] ? s->first_error : "unknown error";
}

int store_in_transaction(struct store *s)
{
	ON_PG(pgstore_in_transaction(s->pg));
	return !sqlite3_get_autocommit(s->db);
}

/* ---- a reader beside the loop, and a merchant's reset in slices -------- */

int store_can_share(const struct store *s)
{
	ON_PG(pgstore_can_share(s->pg));
	return s->path[0] && strcmp(s->path, ":memory:") != 0 && strncmp(s->path, "file:", 5) != 0;
}

struct store *store_reader_open(struct store *s, char *err, size_t errlen)
{
	struct store *r;
	sqlite3_stmt *q = NULL;
	int wal = 0;

#ifdef REDPACK_WITH_PG_STORE
	if (s->pg) {
		struct pgstore *pr = pgstore_reader_open(s->pg, err, errlen);
		if (!pr)
			return NULL;
		r = xcalloc(1, sizeof(*r));
		r->pg = pr;
		r->path = xstrdup(s->path);
		r->worker = 1;
		s->readers++;
		return r;
	}
#endif
	if (!store_can_share(s)) {
		snprintf(err, errlen, "no second connection can see %s", s->path);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->path = xstrdup(s->path);
	if (sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto error;
	sqlite3_busy_timeout(r->db, 100);
	if (add_functions(r->db) != 0)
		goto error;
	/* Only WAL lets the loop commit while this reads: under a rollback
	 * journal its shared lock would hold every commit back. */
	if (sqlite3_prepare_v2(r->db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		wal = sqlite3_strnicmp((const char *)sqlite3_column_text(q, 0), "wal", 3) == 0;
	sqlite3_finalize(q);
	if (!wal) {
		snprintf(err, errlen, "%s is not in WAL mode", s->path);
		store_close(r);
		return NULL;
	}
	/* The snapshot starts at the first read, so here, on the loop: the
	 * reader sees what was committed when it was opened, nothing later. */
	if (sqlite3_exec(r->db, "BEGIN; SELECT COUNT(*) FROM merchants;", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto error;
	s->readers++;
	r->worker = 1;
	return r;
error:
	snprintf(err, errlen, "%s: %s", s->path, r->db ? sqlite3_errmsg(r->db) : "cannot open");
	store_close(r);
	return NULL;
}

void store_reader_close(struct store *s, struct store *r)
{
	if (!r)
		return;
	if (!r->pg) /* a PostgreSQL reader's transaction ends with its connection */
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	store_close(r);
	s->readers--;
}

void store_interrupt(struct store *r)
{
#ifdef REDPACK_WITH_PG_STORE
	if (r->pg) {
		pgstore_interrupt(r->pg);
		return;
	}
#endif
	sqlite3_interrupt(r->db);
}

/* One slice of a merchant's reset, each statement with ?1 = mch_id. The
 * slice's packet ids go to a temporary table first; the counters lose
 * what those packets counted (the same expressions as DAY_*_SQL and
 * STATUS_COUNT_SQL, so the invariant checker agrees), balances what their ledger rows held, and
 * a counter row left at zero goes (the triggers never keep one). Every
 * join starts from the slice (CROSS JOIN keeps SQLite from scanning the
 * merchant's rows by another index instead): a slice costs the same
 * whatever the merchant holds. */
/* clang-format off */
static const char *const reset_slice_sql[] = {
	"CREATE TEMP TABLE IF NOT EXISTS reset_ids (id INTEGER PRIMARY KEY)",
	"DELETE FROM temp.reset_ids",
	"INSERT INTO temp.reset_ids SELECT id FROM packets WHERE mch_id = ?1 LIMIT ?2",
	RAISE_ID_FLOORS_SQL,
	"UPDATE status_count SET n = n - (SELECT COUNT(*) FROM temp.reset_ids r"
	" CROSS JOIN packets p ON p.id = r.id WHERE p.status = status_count.status) WHERE mch_id = ?1",
	"UPDATE rate_second SET count = count - (SELECT COUNT(*) FROM temp.reset_ids r"
	" CROSS JOIN packets p ON p.id = r.id WHERE p.created_at = rate_second.second) WHERE mch_id = ?1",
	"DELETE FROM rate_second WHERE mch_id = ?1 AND count = 0",
	"UPDATE day_merchant SET amount = amount - (SELECT SUM(p.total_amount) FROM temp.reset_ids r"
	" CROSS JOIN packets p ON p.id = r.id WHERE p.send_time > 0 AND packet_issued(p.status)"
	" AND (p.send_time + 28800) / 86400 = day_merchant.day) WHERE mch_id = ?1 AND day IN"
	" (SELECT (p.send_time + 28800) / 86400 FROM temp.reset_ids r CROSS JOIN packets p ON p.id = r.id"
	" WHERE p.send_time > 0 AND packet_issued(p.status))",
	"DELETE FROM day_merchant WHERE mch_id = ?1 AND amount = 0",
	"WITH gone(openid, day, c, a) AS (SELECT openid, day, SUM(c), SUM(a) FROM ("
	" SELECT p.re_openid AS openid, (p.send_time + 28800) / 86400 AS day, 1 AS c,"
	" CASE p.hb_type WHEN 'NORMAL' THEN p.total_amount ELSE IFNULL((SELECT s.amount FROM shares s"
	" WHERE s.packet_id = p.id AND s.seq = 0), 0) END AS a"
	" FROM temp.reset_ids r CROSS JOIN packets p ON p.id = r.id"
	" WHERE p.send_time > 0 AND packet_issued(p.status)"
	" UNION ALL SELECT s.openid, (s.rcv_time + 28800) / 86400, 1, s.amount"
	" FROM temp.reset_ids r CROSS JOIN packets p ON p.id = r.id CROSS JOIN shares s ON s.packet_id = p.id"
	" WHERE s.openid IS NOT NULL AND s.openid != p.re_openid) GROUP BY 1, 2)"
	" UPDATE day_user SET count = count - g.c, amount = amount - g.a FROM gone g"
	" WHERE day_user.mch_id = ?1 AND day_user.openid = g.openid AND day_user.day = g.day",
	"DELETE FROM day_user WHERE mch_id = ?1 AND count = 0 AND amount = 0",
	"UPDATE merchants SET balance = balance - (SELECT SUM(l.amount) FROM temp.reset_ids r"
	" CROSS JOIN ledger l ON l.packet_id = r.id WHERE l.mch_id = merchants.mch_id)"
	" WHERE mch_id IN (SELECT l.mch_id FROM ledger l WHERE l.packet_id IN temp.reset_ids)",
	"DELETE FROM ledger WHERE packet_id IN temp.reset_ids",
	"DELETE FROM shares WHERE packet_id IN temp.reset_ids",
	"DELETE FROM packets WHERE id IN temp.reset_ids",
};
/* clang-format on */

enum { RS_IDS = 2, RS_LEDGER = 12, RS_PACKETS = 14 };

int store_reset_slice(struct store *s, const char *mch_id, int limit, int64_t *rows)
{
	ON_PG(pgstore_reset_slice(s->pg, mch_id, limit, rows));
	s->config_gen++;	   /* memo_hit: a lookup may answer otherwise now */
	if (pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	int packets = 0;

	*rows = 0;
	for (size_t i = 0; i < sizeof(reset_slice_sql) / sizeof(reset_slice_sql[0]); i++) {
		sqlite3_stmt *q = prepare(s, reset_slice_sql[i]);
		int rc, params;

		if (!q)
			return -1;
		params = sqlite3_bind_parameter_count(q);
		if (params >= 1)
			bind_text(q, 1, mch_id);
		if (params >= 2)
			sqlite3_bind_int(q, 2, limit);
		rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return fail(s, "reset slice");
		if (i == RS_IDS && (packets = sqlite3_changes(s->db)) == 0)
			return 0;
		if (i >= RS_LEDGER && i <= RS_PACKETS)
			*rows += sqlite3_changes(s->db);
	}
	return load_id_floors(s) == 0 ? packets : -1;
}

/* ---- the invariant checks ---------------------------------------------- */

/* The running counters recomputed from the rows they summarise, as
 * (mch_id, day, amount), (mch_id, openid, day, count, amount) and
 * (mch_id, status, n): what the triggers of migrations 5 and 7 keep. */
#define DAY_MERCHANT_SQL                                                                           \
	"SELECT mch_id, (send_time + 28800) / 86400, SUM(total_amount) FROM packets"               \
	" WHERE send_time > 0 AND packet_issued(status) GROUP BY 1, 2"
#define DAY_USER_SQL                                                                               \
	"SELECT mch_id, openid, day, SUM(c), SUM(a) FROM ("                                        \
	"SELECT p.mch_id AS mch_id, p.re_openid AS openid,"                                        \
	" (p.send_time + 28800) / 86400 AS day, 1 AS c, CASE p.hb_type WHEN 'NORMAL'"              \
	" THEN p.total_amount ELSE IFNULL((SELECT s.amount FROM shares s"                          \
	" WHERE s.packet_id = p.id AND s.seq = 0), 0) END AS a FROM packets p"                     \
	" WHERE p.send_time > 0 AND packet_issued(p.status)"                                       \
	" UNION ALL SELECT p.mch_id, s.openid, (s.rcv_time + 28800) / 86400, 1, s.amount"          \
	" FROM shares s JOIN packets p ON p.id = s.packet_id"                                      \
	" WHERE s.openid IS NOT NULL AND s.openid != p.re_openid) GROUP BY 1, 2, 3"
#define STATUS_COUNT_SQL "SELECT mch_id, status, COUNT(*) FROM packets GROUP BY 1, 2"

/* The counters recomputed from the rows they summarise, for what wrote
 * packets or shares with SQL of its own (a bulk load): the sums the
 * invariant checks hold them to. The rate keeps, as the sends' pruning
 * does, the two minutes up to each merchant's newest order. */
int store_counters_rebuild(struct store *s)
{
	ON_PG(pgstore_counters_rebuild(s->pg));
	if (pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	static const char sql[] =
		"DELETE FROM rate_second; DELETE FROM day_merchant; DELETE FROM day_user;"
		" DELETE FROM status_count;"
		"WITH last(mch_id, t) AS (SELECT mch_id, MAX(created_at) FROM packets GROUP BY 1)"
		" INSERT INTO rate_second SELECT p.mch_id, p.created_at, COUNT(*) FROM packets p"
		" JOIN last l ON l.mch_id = p.mch_id WHERE p.created_at >= l.t - 120 GROUP BY 1, 2;"
		"INSERT INTO day_merchant " DAY_MERCHANT_SQL ";"
		"INSERT INTO day_user " DAY_USER_SQL ";"
		"INSERT INTO status_count " STATUS_COUNT_SQL ";";
	int own;
	if (unit_open(s, &own) != 0)
		return -1;
	s->write_gen++; /* day_hit: every counter written again */
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		rc = fail(s, "rebuild counters");
	return unit_close(s, own, rc);
}

/* Each returns one text row per violation, naming what is wrong. */
/* clang-format off */
static const char *const check_sql[STORE_CHECK__COUNT] = {
	[STORE_CHECK_SHARES_SUM_TO_TOTAL] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': shares sum to ' || x.s || ' in ' || x.n ||"
	 " ' shares, packet says ' || p.total_amount || ' in ' || p.total_num"
	 " FROM packets p JOIN (SELECT packet_id, SUM(amount) AS s, COUNT(*) AS n FROM shares"
	 " GROUP BY packet_id) x ON x.packet_id = p.id"
	 " WHERE x.s != p.total_amount OR x.n != p.total_num",
	[STORE_CHECK_SHARE_AT_LEAST_ONE_FEN] =
	 "SELECT 'packet ' || packet_id || ' share ' || seq || ' is ' || amount || ' fen'"
	 " FROM shares WHERE amount < 1",
	[STORE_CHECK_ISSUED_PACKET_HAS_SHARES] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' without shares' FROM packets p"
	 " WHERE packet_issued(status) AND NOT EXISTS (SELECT 1 FROM shares WHERE packet_id = p.id)",
	[STORE_CHECK_UNISSUED_PACKET_HAS_NO_SHARES] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' but has shares' FROM packets p"
	 " WHERE NOT packet_issued(status) AND EXISTS (SELECT 1 FROM shares WHERE packet_id = p.id)",
	[STORE_CHECK_STATUS_KNOWN] =
	 "SELECT mch_id || '/' || mch_billno || ': unknown status ' || status FROM packets"
	 " WHERE NOT packet_status_known(status)",
	[STORE_CHECK_ISSUED_PACKET_DEBITED_ONCE] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': ' || (SELECT COUNT(*) FROM ledger l"
	 " WHERE l.packet_id = p.id AND l.kind = 'send' AND l.amount = -p.total_amount) ||"
	 " ' send debits of -' || p.total_amount FROM packets p WHERE packet_issued(p.status)"
	 " AND (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'send'"
	 " AND l.amount = -p.total_amount) != 1",
	[STORE_CHECK_UNISSUED_PACKET_NOT_DEBITED] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': ' || p.status || ' but debited' FROM packets p"
	 " WHERE NOT packet_issued(p.status)"
	 " AND EXISTS (SELECT 1 FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'send')",
	[STORE_CHECK_SEND_ROWS_MATCH_PACKETS] =
	 "SELECT 'ledger ' || l.id || ': send of ' || l.amount || ' for packet ' ||"
	 " IFNULL(l.packet_id, 'NULL') FROM ledger l LEFT JOIN packets p ON p.id = l.packet_id"
	 " WHERE l.kind = 'send' AND (p.id IS NULL OR p.mch_id != l.mch_id OR l.amount >= 0)",
	[STORE_CHECK_BALANCE_EQUALS_LEDGER] =
	 "SELECT m.mch_id || ': balance ' || m.balance || ', ledger sums to ' || IFNULL(l.s, 0)"
	 " FROM merchants m LEFT JOIN (SELECT mch_id, SUM(amount) AS s FROM ledger GROUP BY mch_id)"
	 " l ON l.mch_id = m.mch_id WHERE m.balance != IFNULL(l.s, 0)",
	[STORE_CHECK_BALANCE_NOT_NEGATIVE] =
	 "SELECT mch_id || ': balance ' || balance FROM merchants WHERE balance < 0",
	[STORE_CHECK_SEND_LISTID_PRESENT] =
	 "SELECT mch_id || '/' || mch_billno || ': no send_listid' FROM packets"
	 " WHERE send_listid IS NULL OR length(send_listid) != 31",
	[STORE_CHECK_HELD_PACKET_HAS_REASON] =
	 "SELECT mch_id || '/' || mch_billno || ': SENDING with err_code but no reason' FROM packets"
	 " WHERE status = 'SENDING' AND err_code IS NOT NULL AND (reason IS NULL OR reason = '')",
	[STORE_CHECK_RECEIVED_IFF_ALL_OPENED] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' with ' ||"
	 " (SELECT COUNT(*) FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL) ||"
	 " ' unopened share(s)' FROM packets p WHERE (status = 'RECEIVED' AND EXISTS (SELECT 1 FROM"
	 " shares s WHERE s.packet_id = p.id AND s.openid IS NULL)) OR (status = 'SENT' AND NOT"
	 " EXISTS (SELECT 1 FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL))",
	[STORE_CHECK_OPENED_SHARE_COMPLETE] =
	 "SELECT 'packet ' || packet_id || ' share ' || seq || ': openid and rcv_time disagree'"
	 " FROM shares WHERE (openid IS NULL) != (rcv_time IS NULL)",
	[STORE_CHECK_SHARES_OPENED_IN_ORDER] =
	 "SELECT 'packet ' || a.packet_id || ': share ' || a.seq || ' opened before share ' || b.seq"
	 " FROM shares a JOIN shares b ON a.packet_id = b.packet_id AND b.seq < a.seq"
	 " WHERE a.openid IS NOT NULL AND b.openid IS NULL",
	[STORE_CHECK_SEED_USER_OPENS_FIRST] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': first share opened by ' || s.openid"
	 " FROM shares s JOIN packets p ON p.id = s.packet_id"
	 " WHERE s.seq = 0 AND s.openid IS NOT NULL AND s.openid != p.re_openid",
	[STORE_CHECK_ONE_SHARE_PER_OPENER] =
	 "SELECT 'packet ' || packet_id || ': ' || openid || ' opened ' || COUNT(*) || ' shares'"
	 " FROM shares WHERE openid IS NOT NULL GROUP BY packet_id, openid HAVING COUNT(*) > 1",
	[STORE_CHECK_REFUND_IS_UNOPENED_REST] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': refund_amount ' || IFNULL(p.refund_amount, 'NULL')"
	 " || ', unopened ' || (SELECT IFNULL(SUM(amount), 0) FROM shares s WHERE s.packet_id = p.id"
	 " AND s.openid IS NULL) FROM packets p WHERE p.status = 'REFUND' AND (p.refund_amount IS NULL"
	 " OR p.refund_time IS NULL OR p.refund_amount != (SELECT IFNULL(SUM(amount), 0) FROM shares s"
	 " WHERE s.packet_id = p.id AND s.openid IS NULL))",
	[STORE_CHECK_REFUND_CREDITED_ONCE] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': refund rows sum to ' ||"
	 " (SELECT IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund')"
	 " || ' in ' || (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund')"
	 " || ' rows, status ' || p.status || ' refund_amount ' || IFNULL(p.refund_amount, 'NULL')"
	 " FROM packets p WHERE (SELECT IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id"
	 " AND l.kind = 'refund') != (CASE WHEN p.status = 'REFUND' THEN p.refund_amount ELSE 0 END)"
	 " OR (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund') > 1",
	[STORE_CHECK_REFUND_FIELDS_ONLY_WHEN_REFUNDED] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' with refund fields' FROM packets"
	 " WHERE status != 'REFUND' AND (refund_time IS NOT NULL OR refund_amount IS NOT NULL)",
	[STORE_CHECK_NO_ORPHAN_SHARES] =
	 "SELECT 'share of missing packet ' || packet_id FROM shares"
	 " WHERE packet_id NOT IN (SELECT id FROM packets)",
	[STORE_CHECK_NO_ORPHAN_LEDGER] =
	 "SELECT 'ledger ' || id || ' of missing merchant ' || mch_id FROM ledger"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"
	 " UNION ALL SELECT 'ledger ' || id || ' of missing packet ' || packet_id FROM ledger"
	 " WHERE packet_id IS NOT NULL AND packet_id NOT IN (SELECT id FROM packets)",
	[STORE_CHECK_NO_ORPHAN_PACKETS] =
	 "SELECT mch_id || '/' || mch_billno || ': merchant missing' FROM packets"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)",
	[STORE_CHECK_NO_ORPHAN_APPS] =
	 "SELECT 'app ' || appid || ' of missing merchant ' || mch_id FROM apps"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"
	 " UNION ALL SELECT 'scene ' || scene_id || ' of missing merchant ' || mch_id FROM scenes"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)",
	/* The running counters the limits read equal the rows they summarise. */
	[STORE_CHECK_MERCHANT_DAY_COUNTER] =
	 "WITH r(mch_id, day, amount) AS (" DAY_MERCHANT_SQL ")"
	 " SELECT 'day_merchant ' || mch_id || ' day ' || day || ': counter ' || IFNULL(kept, 'none')"
	 " || ', rows ' || IFNULL(real, 'none') FROM (SELECT r.mch_id AS mch_id, r.day AS day,"
	 " r.amount AS real, d.amount AS kept FROM r LEFT JOIN day_merchant d USING (mch_id, day)"
	 " UNION SELECT d.mch_id, d.day, r.amount, d.amount FROM day_merchant d LEFT JOIN r"
	 " USING (mch_id, day)) WHERE real IS NOT kept",
	[STORE_CHECK_USER_DAY_COUNTER] =
	 "WITH r(mch_id, openid, day, count, amount) AS (" DAY_USER_SQL ")"
	 " SELECT 'day_user ' || mch_id || '/' || openid || ' day ' || day || ': counter ' ||"
	 " IFNULL(kc || '/' || ka, 'none') || ', rows ' || IFNULL(rc || '/' || ra, 'none') FROM"
	 " (SELECT r.mch_id AS mch_id, r.openid AS openid, r.day AS day, r.count AS rc,"
	 " r.amount AS ra, d.count AS kc, d.amount AS ka FROM r LEFT JOIN day_user d"
	 " USING (mch_id, openid, day) UNION SELECT d.mch_id, d.openid, d.day, r.count, r.amount,"
	 " d.count, d.amount FROM day_user d LEFT JOIN r USING (mch_id, openid, day))"
	 " WHERE rc IS NOT kc OR ra IS NOT ka",
	[STORE_CHECK_STATUS_COUNTER] =
	 "WITH r(mch_id, status, n) AS (" STATUS_COUNT_SQL ")"
	 " SELECT 'status_count ' || mch_id || ' ' || status || ': counter ' || IFNULL(kept, 'none')"
	 " || ', packets ' || IFNULL(real, 0) FROM (SELECT r.mch_id AS mch_id, r.status AS status,"
	 " r.n AS real, c.n AS kept FROM r LEFT JOIN status_count c USING (mch_id, status)"
	 " UNION SELECT c.mch_id, c.status, r.n, c.n FROM status_count c LEFT JOIN r"
	 " USING (mch_id, status)) WHERE IFNULL(real, 0) != IFNULL(kept, 0)",
	[STORE_CHECK_RATE_COUNTER] =
	 "SELECT 'rate_second ' || r.mch_id || ' at ' || r.second || ': counter ' || r.count ||"
	 " ', orders created ' || (SELECT COUNT(*) FROM packets p WHERE p.mch_id = r.mch_id"
	 " AND p.created_at = r.second) FROM rate_second r WHERE r.count != (SELECT COUNT(*)"
	 " FROM packets p WHERE p.mch_id = r.mch_id AND p.created_at = r.second)",
};
/* clang-format on */

int store_check(struct store *s, enum store_check which, void (*row)(void *arg, const char *text),
		void *arg)
{
	ON_PG(pgstore_check(s->pg, which, row, arg));
	if (pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	sqlite3_stmt *q = prepare(s, check_sql[which]);
	int n = 0, rc;

	if (!q)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q, 0);
		row(arg, t ? (const char *)t : "");
		n++;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? n : fail(s, "run check");
}
