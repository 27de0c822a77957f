/* The PostgreSQL backend's start (pg.c, schema_pg.sql), against the
 * throwaway PostgreSQL whose URL is in the file named by argv[1] (the
 * ctest fixture pg): migrations run once, also from connections racing;
 * the schema has the SQLite schema's shape and refuses the same writes;
 * the counter triggers keep what the SQLite store keeps for the same
 * writes; prepared statements; failures sorted (a syntax error, a
 * serialization failure, a deadlock, a terminated backend) and a
 * reconnect. Each test works in a database of its own. */
#include "check.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pg.h"
#include "status.h"
#include "store.h"
#include "util.h"

static char base_url[512];

/* ---- helpers ----------------------------------------------------------- */

/* base_url with its database replaced by db. */
/* The URL of database db, written to out[outlen]; returns out. */
static const char *url_into(char *out, size_t outlen, const char *db)
{
	const char *slash = strrchr(base_url, '/');
	snprintf(out, outlen, "%.*s/%s", (int)(slash - base_url), base_url, db);
	return out;
}

/* The same in a static buffer: main thread only. */
static const char *url_for(const char *db)
{
	static char out[600];
	return url_into(out, sizeof(out), db);
}

/* A connection to database db, with statements sql[0 .. count). */
static struct pg *open_db(const char *db, const char *const *sql, int count)
{
	char err[256] = "";
	struct pg *pg = pg_open(url_for(db), sql, count, err, sizeof(err));
	if (!pg)
		fprintf(stderr, "pg_open(%s): %s\n", db, err);
	return pg;
}

/* A new, empty database db (dropped first when a run before left it). */
static void fresh_db(const char *db)
{
	char sql[128];
	struct pg *admin = open_db("redpack", NULL, 0);

	CHECK(admin != NULL);
	if (!admin)
		exit(1);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	CHECK(pg_exec(admin, sql) == 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	CHECK(pg_exec(admin, sql) == 0);
	pg_close(admin);
}

/* The first column of the first row of sql on pg: -1 for NULL, -999999
 * when there is no row or the query fails. */
static int64_t pg_int(struct pg *pg, const char *sql)
{
	PGresult *res = PQexec(pg_conn(pg), sql);
	int64_t v = -999999;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = PQgetisnull(res, 0, 0) ? -1 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "pg_int(%s): %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return v;
}

/* The same as text ("(failed)" when the query fails), in a static
 * buffer the next call overwrites. */
static const char *pg_text(struct pg *pg, const char *sql)
{
	static char out[128];
	PGresult *res = PQexec(pg_conn(pg), sql);

	snprintf(out, sizeof(out), "%s",
		 PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0
			 ? PQgetvalue(res, 0, 0)
			 : "(failed)");
	PQclear(res);
	return out;
}

/* The value of a registered statement's one-row result ("(failed)" when
 * it failed), in a static buffer the next call overwrites. */
static const char *run_text(struct pg *pg, int id, int n, const char *const *params)
{
	static char out[128];
	PGresult *res = pg_run(pg, id, n, params);

	snprintf(out, sizeof(out), "%s",
		 !res		  ? "(failed)"
		 : PQntuples(res) ? PQgetvalue(res, 0, 0)
				  : "(no row)");
	PQclear(res);
	return out;
}

/* ---- migrations -------------------------------------------------------- */

static void schema_targets(void)
{
	CHECK(pg_schema_target(pg_schema_sql) >= 1);
	CHECK(pg_schema_target("") == 0);
	CHECK(pg_schema_target("-- migration 1\nA;\n-- migration 2\nB;\n") == 2);
	CHECK(pg_schema_target("-- migration 1\nA;\n-- migration 3\nB;\n") == -1);
	CHECK(pg_schema_target("-- migration 2\nA;\n") == -1);
}

static void migrations_once(void)
{
	int target = pg_schema_target(pg_schema_sql);
	char err[256] = "";
	struct pg *a, *b;

	fresh_db("t_once");
	a = open_db("t_once", NULL, 0);
	b = open_db("t_once", NULL, 0);
	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK(pg_schema_version(a) == 0);
	CHECK(pg_migrate(a, pg_schema_sql, err, sizeof(err)) == target);
	if (err[0])
		fprintf(stderr, "pg_migrate: %s\n", err);
	CHECK(pg_schema_version(a) == target);
	CHECK(pg_int(a, "SELECT count(*) FROM schema_migrations") == target);
	CHECK(pg_int(a, "SELECT count(*) FROM packets") == 0);
	/* Once: again on the same connection, then on another. */
	CHECK(pg_migrate(a, pg_schema_sql, err, sizeof(err)) == 0);
	CHECK(pg_migrate(b, pg_schema_sql, err, sizeof(err)) == 0);
	CHECK(pg_schema_version(b) == target);
	CHECK(pg_int(b, "SELECT count(*) FROM schema_migrations") == target);
	/* The connection is left outside any transaction. */
	CHECK(PQtransactionStatus(pg_conn(a)) == PQTRANS_IDLE);
out:
	pg_close(a);
	pg_close(b);
}

/* A migration that fails keeps nothing of itself, keeps the ones before,
 * and the next run goes on from there; a database newer than the schema
 * and a schema numbered out of order are refused. */
static void migrations_failing(void)
{
	static const char broken[] = "-- migration 1\nCREATE TABLE one (x int);\n"
				     "-- migration 2\nCREATE TABLE two (x int);\n"
				     "SELECT no_such_function();\n";
	static const char fixed[] = "-- migration 1\nCREATE TABLE one (x int);\n"
				    "-- migration 2\nCREATE TABLE two (x int);\n";
	static const char older[] = "-- migration 1\nCREATE TABLE one (x int);\n";
	char err[256] = "";
	struct pg *a;

	fresh_db("t_fail");
	a = open_db("t_fail", NULL, 0);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK(pg_migrate(a, broken, err, sizeof(err)) == -1);
	CHECK(strstr(err, "migration 2: ") != NULL);
	CHECK(strstr(err, "42883") != NULL); /* undefined_function */
	CHECK(pg_schema_version(a) == 1);
	CHECK(pg_int(a, "SELECT (to_regclass('one') IS NOT NULL)::int") == 1);
	CHECK(pg_int(a, "SELECT (to_regclass('two') IS NOT NULL)::int") == 0);
	CHECK(pg_migrate(a, fixed, err, sizeof(err)) == 1);
	CHECK(pg_schema_version(a) == 2);
	CHECK(pg_int(a, "SELECT (to_regclass('two') IS NOT NULL)::int") == 1);
	err[0] = '\0';
	CHECK(pg_migrate(a, older, err, sizeof(err)) == -1);
	CHECK_STR(err, "database schema version 2 is newer than this build (1)");
	CHECK(pg_migrate(a, "-- migration 2\nSELECT 1;\n", err, sizeof(err)) == -1);
	CHECK(pg_schema_version(a) == 2);
	pg_close(a);
}

/* Several connections migrating the same new database at the same time:
 * each migration runs once, every connection succeeds. */
#define RACERS 4

struct racer {
	const char *db, *schema;
	char url[600]; /* each thread its own: url_for's buffer is shared */
	pthread_barrier_t *start;
	int applied;
	char err[256];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct pg *pg = pg_open(url_into(r->url, sizeof(r->url), r->db), NULL, 0, r->err,
				sizeof(r->err));

	pthread_barrier_wait(r->start);
	r->applied = pg ? pg_migrate(pg, r->schema, r->err, sizeof(r->err)) : -1;
	pg_close(pg);
	return NULL;
}

static void race_one(const char *db, const char *schema)
{
	int target = pg_schema_target(schema), total = 0;
	pthread_t threads[RACERS];
	struct racer racers[RACERS];
	pthread_barrier_t start;
	struct pg *pg;

	fresh_db(db);
	pthread_barrier_init(&start, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){.db = db, .schema = schema, .start = &start};
		CHECK(pthread_create(&threads[i], NULL, race, &racers[i]) == 0);
	}
	for (int i = 0; i < RACERS; i++) {
		pthread_join(threads[i], NULL);
		CHECK(racers[i].applied >= 0);
		if (racers[i].applied < 0)
			fprintf(stderr, "racer %d: %s\n", i, racers[i].err);
		else
			total += racers[i].applied;
	}
	pthread_barrier_destroy(&start);
	CHECK(total == target);
	pg = open_db(db, NULL, 0);
	CHECK(pg && pg_schema_version(pg) == target);
	CHECK(pg && pg_int(pg, "SELECT count(*) FROM schema_migrations") == target);
	pg_close(pg);
}

static void migrations_racing(void)
{
	/* Slow migrations, so the racers wait on the lock mid-way. */
	static const char slow[] = "-- migration 1\nCREATE TABLE a (x int); SELECT pg_sleep(0.1);\n"
				   "-- migration 2\nCREATE TABLE b (x int); SELECT pg_sleep(0.1);\n"
				   "-- migration 3\nCREATE TABLE c (x int);\n";

	race_one("t_race", pg_schema_sql);
	race_one("t_race_slow", slow);
}

/* ---- the shape ---------------------------------------------------------- */

/* A new SQLite store file in a directory of its own (dir: a
 * "/tmp/test_pg.XXXXXX" to fill), migrated by store.c; closed again. 0
 * or -1. */
static int sqlite_fresh(char *dir, char *path, size_t pathlen)
{
	char err[256] = "";
	struct store *s;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, pathlen, "%s/sqlite.db", dir);
	s = store_open(path, err, sizeof(err));
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	store_close(s);
	return s ? 0 : -1;
}

static void sqlite_remove(const char *dir, const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char file[80];
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
	rmdir(dir);
}

/* The rows of sql (first column) on either database, one line each. */
static void lines_pg(struct pg *pg, const char *sql, struct buf *out)
{
	PGresult *res = PQexec(pg_conn(pg), sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		buf_printf(out, "(failed: %s)\n", PQresultErrorMessage(res));
	for (int r = 0; PQresultStatus(res) == PGRES_TUPLES_OK && r < PQntuples(res); r++)
		buf_printf(out, "%s\n", PQgetvalue(res, r, 0));
	PQclear(res);
}

static void lines_sqlite(sqlite3 *db, const char *sql, struct buf *out)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		buf_printf(out, "(failed: %s)\n", sqlite3_errmsg(db));
	while (q && sqlite3_step(q) == SQLITE_ROW)
		buf_printf(out, "%s\n", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

/* What the schema is made of, the same text from either database (the
 * version table of pg.c aside): each table's columns in order, "!" after
 * a NOT NULL one outside the primary key (SQLite lets a text key be NULL,
 * PostgreSQL does not); primary and unique keys; foreign keys; the named
 * indexes. Types differ on purpose (schema_pg.sql). */
/* clang-format off */
static const struct {
	const char *what, *sqlite, *pg;
} shape_queries[] = {
	{"columns",
	 "SELECT m.name || ': ' || (SELECT group_concat(name, ',') FROM (SELECT name ||"
	 " CASE WHEN \"notnull\" AND pk = 0 THEN '!' ELSE '' END AS name"
	 " FROM pragma_table_info(m.name) ORDER BY cid))"
	 " FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1",
	 "SELECT t FROM (SELECT c.relname || ': ' || string_agg(a.attname ||"
	 " CASE WHEN a.attnotnull AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE"
	 " k.conrelid = c.oid AND k.contype = 'p' AND a.attnum = ANY (k.conkey)) THEN '!'"
	 " ELSE '' END, ',' ORDER BY a.attnum) AS t"
	 " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	 " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	 " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
	 " AND c.relname <> 'schema_migrations' GROUP BY c.oid, c.relname) s"
	 " ORDER BY t COLLATE \"C\""},
	{"keys",
	 "SELECT m.name || ' pk(' || (SELECT group_concat(name, ',') FROM (SELECT name"
	 " FROM pragma_table_info(m.name) WHERE pk > 0 ORDER BY pk)) || ')'"
	 " FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
	 " UNION ALL SELECT m.name || ' u(' || (SELECT group_concat(name, ',') FROM (SELECT name"
	 " FROM pragma_index_info(l.name) ORDER BY seqno)) || ')'"
	 " FROM sqlite_master m, pragma_index_list(m.name) l"
	 " WHERE m.type = 'table' AND l.origin = 'u' ORDER BY 1",
	 "SELECT t FROM (SELECT c.relname || CASE k.contype WHEN 'p' THEN ' pk(' ELSE ' u(' END"
	 " || (SELECT string_agg(a.attname, ',' ORDER BY o.i) FROM unnest(k.conkey)"
	 " WITH ORDINALITY AS o(attnum, i) JOIN pg_attribute a ON a.attrelid = c.oid"
	 " AND a.attnum = o.attnum) || ')' AS t"
	 " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
	 " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
	 " AND k.contype IN ('p', 'u') AND c.relname <> 'schema_migrations') s"
	 " ORDER BY t COLLATE \"C\""},
	{"foreign keys",
	 "SELECT m.name || '(' || f.\"from\" || ') -> ' || f.\"table\" || '(' || f.\"to\" || ')'"
	 " FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
	 " ORDER BY 1",
	 "SELECT t FROM (SELECT c.relname || '(' || a.attname || ') -> ' || r.relname || '('"
	 " || b.attname || ')' AS t FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
	 " JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
	 " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]"
	 " JOIN pg_attribute b ON b.attrelid = r.oid AND b.attnum = k.confkey[1]"
	 " WHERE n.nspname = current_schema() AND k.contype = 'f') s ORDER BY t COLLATE \"C\""},
	{"indexes",
	 "SELECT m.name || ' on ' || m.tbl_name || '(' || (SELECT group_concat(name, ',') FROM"
	 " (SELECT name FROM pragma_index_info(m.name) ORDER BY seqno)) || ')'"
	 " FROM sqlite_master m WHERE m.type = 'index' AND m.sql IS NOT NULL ORDER BY 1",
	 "SELECT t FROM (SELECT i.relname || ' on ' || c.relname || '('"
	 " || string_agg(a.attname, ',' ORDER BY o.i) || ')' AS t FROM pg_index x"
	 " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid"
	 " JOIN pg_namespace n ON n.oid = c.relnamespace"
	 " CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS o(attnum, i)"
	 " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = o.attnum"
	 " WHERE n.nspname = current_schema()"
	 " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"
	 " GROUP BY i.relname, c.relname) s ORDER BY t COLLATE \"C\""},
};

/* Writes each schema must refuse (a CHECK, a NOT NULL, a key, a foreign
 * key) or accept, after the first two rows; the same SQL on both. */
static const struct {
	const char *sql;
	int accepted;
} shape_writes[] = {
	{"INSERT INTO merchants (mch_id, name, api_key, sends_per_minute,"
	 " packets_per_user_per_day, amount_per_user_per_day, amount_per_day)"
	 " VALUES ('m', 'n', 'k', 0, 0, 0, 0)", 1},
	{"INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,"
	 " send_name, wishing, act_name, remark, total_amount, total_num, created_at)"
	 " VALUES (1, 'm', 'b', 'GROUP', 'SENT', 'w', 'o', 's', 'w', 'a', 'r', 3, 1, 0)", 1},
	{"INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid,"
	 " send_name, wishing, act_name, remark, total_amount, total_num, created_at)"
	 " VALUES (2, 'm', 'b', 'GROUP', 'SENT', 'w', 'o', 's', 'w', 'a', 'r', 3, 1, 0)", 0},
	{"INSERT INTO merchants (mch_id, name) VALUES ('m2', 'n')", 0},
	{"UPDATE merchants SET balance = -1", 0},
	{"UPDATE merchants SET balance = 0, api_enabled = 0, ip_allowlist = '127.0.0.1'", 1},
	{"INSERT INTO apps VALUES ('m', 'wx1', 'WEB')", 0},
	{"INSERT INTO apps VALUES ('nobody', 'wx1', 'MP')", 0},
	{"INSERT INTO apps VALUES ('m', 'wx1', 'APP')", 1},
	{"INSERT INTO scenes VALUES ('m', 'PRODUCT_1')", 1},
	{"INSERT INTO users VALUES ('o', 'wx1')", 1},
	{"UPDATE packets SET hb_type = 'LUCKY'", 0},
	{"UPDATE packets SET total_amount = 0", 0},
	{"UPDATE packets SET total_num = 0", 0},
	{"UPDATE packets SET settle_to = 'LATER'", 0},
	{"UPDATE packets SET settle_to = 'FAILED', settle_at = 5", 1},
	{"UPDATE packets SET send_listid = 'L1'", 1},
	{"INSERT INTO shares (packet_id, seq, amount) VALUES (1, 0, 0)", 0},
	{"INSERT INTO shares (packet_id, seq, amount) VALUES (2, 0, 1)", 0},
	{"INSERT INTO shares (packet_id, seq, amount) VALUES (1, 0, 3)", 1},
	{"INSERT INTO shares (packet_id, seq, amount) VALUES (1, 0, 3)", 0},
	{"INSERT INTO ledger (mch_id, amount, kind, at) VALUES ('m', 1, 'gift', 0)", 0},
	{"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES ('m', 1, 'send', 2, 0)", 0},
	{"INSERT INTO ledger (mch_id, amount, kind, packet_id, at) VALUES ('m', 1, 'send', 1, 0)", 1},
	{"INSERT INTO meta (key, value) VALUES ('clock_offset', NULL)", 0},
	{"INSERT INTO meta (key, value) VALUES ('clock_offset', 60)", 1},
	{"INSERT INTO meta (key, value) VALUES ('clock_offset', 60)", 0},
};
/* clang-format on */

static void shape(void)
{
	char dir[] = "/tmp/test_pg.XXXXXX", path[64], err[256] = "";
	sqlite3 *db = NULL;
	struct pg *pg;
	struct buf want, got;

	fresh_db("t_shape");
	pg = open_db("t_shape", NULL, 0);
	CHECK(pg != NULL);
	CHECK(sqlite_fresh(dir, path, sizeof(path)) == 0);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	if (!pg || pg_migrate(pg, pg_schema_sql, err, sizeof(err)) < 0) {
		fprintf(stderr, "shape: %s\n", err);
		CHECK(0);
		goto out;
	}
	buf_init(&want);
	buf_init(&got);
	for (size_t i = 0; i < sizeof(shape_queries) / sizeof(shape_queries[0]); i++) {
		buf_reset(&want);
		buf_reset(&got);
		lines_sqlite(db, shape_queries[i].sqlite, &want);
		lines_pg(pg, shape_queries[i].pg, &got);
		CHECK(want.len > 20);
		CHECK_STR(got.data, want.data);
		if (strcmp(got.data, want.data) != 0)
			fprintf(stderr, "  (%s)\n", shape_queries[i].what);
	}
	/* Every trigger SQLite still has is here too (and more: schema_pg.sql). */
	buf_reset(&want);
	buf_reset(&got);
	buf_puts(&got, "\n");
	lines_sqlite(db, "SELECT name FROM sqlite_master WHERE type = 'trigger'", &want);
	lines_pg(pg, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal", &got);
	CHECK(want.len > 0);
	for (const char *line = want.len ? want.data : "", *nl; (nl = strchr(line, '\n'));
	     line = nl + 1) {
		char name[80];
		snprintf(name, sizeof(name), "\n%.*s\n", (int)(nl - line), line);
		CHECK(strstr(got.data, name) != NULL);
		if (!strstr(got.data, name))
			fprintf(stderr, "  trigger %.*s: not in schema_pg.sql\n", (int)(nl - line),
				line);
	}
	buf_release(&want);
	buf_release(&got);

	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(shape_writes) / sizeof(shape_writes[0]); i++) {
		int lite = sqlite3_exec(db, shape_writes[i].sql, NULL, NULL, NULL) == SQLITE_OK;
		int post = pg_exec(pg, shape_writes[i].sql) == 0;
		CHECK(lite == shape_writes[i].accepted);
		CHECK(post == shape_writes[i].accepted);
		if (lite != shape_writes[i].accepted || post != shape_writes[i].accepted)
			fprintf(stderr, "  %s: sqlite %d, postgresql %d (%s)\n",
				shape_writes[i].sql, lite, post, pg_last_error(pg)->message);
	}
out:
	sqlite3_close(db);
	pg_close(pg);
	sqlite_remove(dir, path);
}

/* ---- the counters ------------------------------------------------------ */

/* One write of the scenario, done on both stores: the SQLite store's
 * public functions on one side, the same rows written with the SQL the
 * store runs on the other. */
enum op_kind {
	OP_MERCHANT,
	OP_PACKET,
	OP_SHARE,
	OP_OPEN,
	OP_ISSUE,
	OP_STATUS,
	OP_REFUND,
	OP_CHECK
};

struct op {
	enum op_kind kind;
	const char *mch_id, *billno;
	const char *hb_type, *status, *openid; /* packet: receiver; open: opener */
	int64_t amount, num, created, sent;    /* share: amount; open/issue/refund: time in sent */
	int seq;
	int fails; /* the write is refused (both stores) */
};

#define DAY0 INT64_C(1709222400) /* 2024-03-01 00:00 Beijing */

/* clang-format off */
#define NORMAL(b, st, who, amt, t) {OP_PACKET, "20000001", b, "NORMAL", st, who, amt, 1, t, t, 0, 0}
static const struct op scenario[] = {
	{OP_MERCHANT, "20000001", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	{OP_MERCHANT, "20000002", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	/* The day before, then one per status of status.def 150 s later (the
	 * first second is pruned from the rate), the issued ones counted. */
	NORMAL("N9", "SENT", "oV", 7000000, DAY0 - 50),
	NORMAL("N0", "SENDING", "oU", 1, DAY0 + 100),
	NORMAL("N1", "SENT", "oU", 10, DAY0 + 101),
	NORMAL("N2", "FAILED", "oU", 100, DAY0 + 102),
	NORMAL("N3", "RECEIVED", "oU", 1000, DAY0 + 103),
	NORMAL("N4", "RFUND_ING", "oU", 10000, DAY0 + 104),
	NORMAL("N5", "REFUND", "oU", 100000, DAY0 + 105),
	NORMAL("N6", "REFUND", "oU", 100000, DAY0 + 105), /* same second */
	{OP_PACKET, "20000002", "B1", "NORMAL", "SENT", "oU", 300, 1, DAY0 + 101, DAY0 + 101, 0, 0},
	/* Issued status without a send_time: not issued. */
	{OP_PACKET, "20000001", "N7", "NORMAL", "SENT", "oU", 200, 1, DAY0 + 106, 0, 0, 0},
	/* The same billno again: refused, nothing counted. */
	{OP_PACKET, "20000001", "N1", "NORMAL", "SENT", "oU", 10, 1, DAY0 + 107, DAY0 + 107, 0, 1},
	/* A group: its seed user gets its first share, not the total. */
	{OP_PACKET, "20000001", "G1", "GROUP", "SENT", "oG", 21, 3, DAY0 + 200, DAY0 + 200, 0, 0},
	{OP_SHARE, "20000001", "G1", 0, 0, 0, 5, 0, 0, 0, 0, 0},
	{OP_SHARE, "20000001", "G1", 0, 0, 0, 7, 0, 0, 0, 1, 0},
	{OP_SHARE, "20000001", "G1", 0, 0, 0, 9, 0, 0, 0, 2, 0},
	{OP_SHARE, "20000001", "G1", 0, 0, 0, 0, 0, 0, 0, 3, 1}, /* amount 0: refused */
	/* A group held (SENDING, no send_time): its shares count nothing. */
	{OP_PACKET, "20000001", "G2", "GROUP", "SENDING", "oK", 30, 2, DAY0 + 250, 0, 0, 0},
	{OP_SHARE, "20000001", "G2", 0, 0, 0, 10, 0, 0, 0, 0, 0},
	{OP_SHARE, "20000001", "G2", 0, 0, 0, 20, 0, 0, 0, 1, 0},
	{OP_CHECK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	/* Openings: the seed's own adds nothing, another's is theirs (on the
	 * day it opened), an opened share cannot be opened again. */
	{OP_OPEN, "20000001", "G1", 0, 0, "oG", 0, 0, 0, DAY0 + 201, 0, 0},
	{OP_OPEN, "20000001", "G1", 0, 0, "oH", 0, 0, 0, DAY0 + 86400 + 3, 1, 0},
	{OP_OPEN, "20000001", "G1", 0, 0, "oX", 0, 0, 0, DAY0 + 203, 1, 1},
	{OP_OPEN, "20000001", "G1", 0, 0, "oG", 0, 0, 0, DAY0 + 204, 2, 0},
	{OP_CHECK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	/* Issued later (a settle), on the day it is issued; not twice. */
	{OP_PACKET, "20000001", "N8", "NORMAL", "SENDING", "oW", 500, 1, DAY0 + 300, 0, 0, 0},
	{OP_ISSUE, "20000001", "N8", 0, 0, 0, 0, 0, 0, DAY0 + 86400 + 5, 0, 0},
	{OP_ISSUE, "20000001", "N8", 0, 0, 0, 0, 0, 0, DAY0 + 86400 + 6, 0, 1},
	{OP_ISSUE, "20000001", "G2", 0, 0, 0, 0, 0, 0, DAY0 + 86400 + 7, 0, 0},
	/* Status changes: counted out of the old status, into the new; the
	 * same status again changes nothing. */
	{OP_STATUS, "20000001", "N1", 0, "RECEIVED", 0, 0, 0, 0, 0, 0, 0},
	{OP_STATUS, "20000001", "N1", 0, "RECEIVED", 0, 0, 0, 0, 0, 0, 0},
	{OP_STATUS, "20000001", "G1", 0, "RFUND_ING", 0, 0, 0, 0, 0, 0, 0},
	{OP_REFUND, "20000001", "G1", 0, "REFUND", 0, 9, 0, 0, DAY0 + 90000, 0, 0},
	{OP_STATUS, "20000001", "N0", 0, "FAILED", 0, 0, 0, 0, 0, 0, 0},
	/* Much later: the rate keeps two minutes. */
	NORMAL("N10", "SENT", "oU", 1, DAY0 + 400),
	{OP_CHECK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};
/* clang-format on */

/* The PostgreSQL side: the store's statements (store.c), in SQL that
 * schema_pg.sql runs. */
enum { P_MERCHANT, P_PACKET, P_ID, P_SHARE, P_OPEN, P_ISSUE, P_STATUS, P_REFUND, P__COUNT };
static const char *const pg_writes[P__COUNT] = {
	[P_MERCHANT] = "INSERT INTO merchants (mch_id, name, api_key, balance, sends_per_minute,"
		       " packets_per_user_per_day, amount_per_user_per_day, amount_per_day)"
		       " VALUES ($1, $1, 'key', 0, 1800, 10, 100000, 100000000)",
	[P_PACKET] = "INSERT INTO packets (mch_id, mch_billno, hb_type, status, wxappid, re_openid,"
		     " send_name, wishing, act_name, remark, amt_type, total_amount, total_num,"
		     " created_at, send_time) VALUES ($1, $2, $3, $4, 'wx8888888888888888', $5,"
		     " 'send', 'wish', 'act', 'remark', 'ALL_RAND', $6, $7, $8, $9)",
	[P_ID] = "SELECT id FROM packets WHERE mch_id = $1 AND mch_billno = $2",
	[P_SHARE] = "INSERT INTO shares (packet_id, seq, amount) VALUES ($1, $2, $3)",
	[P_OPEN] = "UPDATE shares SET openid = $1, rcv_time = $2"
		   " WHERE packet_id = $3 AND seq = $4 AND openid IS NULL",
	[P_ISSUE] = "UPDATE packets SET status = 'SENT', send_time = $1 WHERE id = $2"
		    " AND status = 'SENDING' AND err_code IS NULL",
	[P_STATUS] = "UPDATE packets SET status = $1 WHERE id = $2",
	[P_REFUND] = "UPDATE packets SET status = $1, refund_time = $2, refund_amount = $3"
		     " WHERE id = $4",
};

/* Runs a registered write; 0, or -1 when it was refused. */
static int pg_write(struct pg *pg, int id, int n, const char *const *params)
{
	PGresult *res = pg_run(pg, id, n, params);
	PQclear(res);
	return res ? 0 : -1;
}

/* The same for a write of one row, as the store's claims and issues are:
 * -1 unless exactly one row changed. */
static int pg_write_one(struct pg *pg, int id, int n, const char *const *params)
{
	PGresult *res = pg_run(pg, id, n, params);
	int rc = res && strcmp(PQcmdTuples(res), "1") == 0 ? 0 : -1;
	PQclear(res);
	return rc;
}

static int64_t pg_packet_id(struct pg *pg, const struct op *o)
{
	const char *params[] = {o->mch_id, o->billno};
	return strtoll(run_text(pg, P_ID, 2, params), NULL, 10);
}

/* One op on PostgreSQL: 0 done, -1 refused. */
static int pg_apply(struct pg *pg, const struct op *o)
{
	char a[24], b[24], c[24], d[24], e[24], id[24];

	if (o->kind == OP_MERCHANT) {
		const char *params[] = {o->mch_id};
		return pg_write(pg, P_MERCHANT, 1, params);
	}
	if (o->kind == OP_PACKET) {
		snprintf(a, sizeof(a), "%" PRId64, o->amount);
		snprintf(b, sizeof(b), "%" PRId64, o->num);
		snprintf(c, sizeof(c), "%" PRId64, o->created);
		snprintf(d, sizeof(d), "%" PRId64, o->sent);
		const char *params[] = {o->mch_id, o->billno, o->hb_type,
					o->status, o->openid, a,
					b,	   c,	      o->sent ? d : NULL};
		return pg_write(pg, P_PACKET, 9, params);
	}
	snprintf(id, sizeof(id), "%" PRId64, pg_packet_id(pg, o));
	snprintf(a, sizeof(a), "%d", o->seq);
	snprintf(b, sizeof(b), "%" PRId64, o->amount);
	snprintf(c, sizeof(c), "%" PRId64, o->sent);
	switch (o->kind) {
	case OP_SHARE: {
		const char *params[] = {id, a, b};
		return pg_write(pg, P_SHARE, 3, params);
	}
	case OP_OPEN: {
		const char *params[] = {o->openid, c, id, a};
		return pg_write_one(pg, P_OPEN, 4, params);
	}
	case OP_ISSUE: {
		const char *params[] = {c, id};
		return pg_write_one(pg, P_ISSUE, 2, params);
	}
	case OP_STATUS: {
		const char *params[] = {o->status, id};
		return pg_write(pg, P_STATUS, 2, params);
	}
	case OP_REFUND: {
		snprintf(e, sizeof(e), "%" PRId64, o->amount);
		const char *params[] = {o->status, c, e, id};
		return pg_write(pg, P_REFUND, 4, params);
	}
	default:
		return 0;
	}
}

/* One op on the SQLite store: 0 done, -1 refused. */
static int sqlite_apply(struct store *s, const struct op *o)
{
	struct packet_row *row = xmalloc(sizeof(*row));
	int rc = -1;

	if (o->kind == OP_MERCHANT) {
		struct merchant m;
		memset(&m, 0, sizeof(m));
		snprintf(m.mch_id, sizeof(m.mch_id), "%s", o->mch_id);
		snprintf(m.name, sizeof(m.name), "%s", o->mch_id);
		snprintf(m.api_key, sizeof(m.api_key), "key");
		m.sends_per_minute = 1800;
		m.packets_per_user_per_day = 10;
		m.amount_per_user_per_day = 100000;
		m.amount_per_day = 100000000;
		rc = store_merchant_insert(s, &m);
	} else if (o->kind == OP_PACKET) {
		struct packet_new p = {
			.mch_id = o->mch_id,
			.mch_billno = o->billno,
			.hb_type = o->hb_type,
			.status = o->status,
			.wxappid = "wx8888888888888888",
			.re_openid = o->openid,
			.send_name = "send",
			.wishing = "wish",
			.act_name = "act",
			.remark = "remark",
			.amt_type = "ALL_RAND",
			.total_amount = o->amount,
			.total_num = o->num,
			.created_at = o->created,
			.send_time = o->sent,
		};
		int64_t id;
		rc = store_packet_insert(s, &p, &id);
	} else if (store_packet_find(s, o->mch_id, o->billno, row) == 1) {
		switch (o->kind) {
		case OP_SHARE:
			rc = store_share_insert(s, row->id, o->seq, o->amount);
			break;
		case OP_OPEN:
			rc = store_share_open(s, row->id, o->seq, o->openid, o->sent);
			break;
		case OP_ISSUE:
			rc = store_packet_issue(s, row->id, o->sent);
			break;
		case OP_STATUS:
			rc = store_packet_set_status(s, row->id, status_parse(o->status));
			break;
		case OP_REFUND:
			rc = store_packet_set_refund(s, row->id, status_parse(o->status), o->sent,
						     o->amount);
			break;
		default:
			break;
		}
	}
	free(row);
	return rc;
}

/* Every counter row, one line each, in key order: the same text from
 * either database. */
static const char *const counter_dumps[] = {
	"SELECT 'rate ' || mch_id || ' ' || second || ' ' || count FROM rate_second"
	" ORDER BY mch_id, second",
	"SELECT 'day ' || mch_id || ' ' || day || ' ' || amount FROM day_merchant"
	" ORDER BY mch_id, day",
	"SELECT 'user ' || mch_id || ' ' || openid || ' ' || day || ' ' || count || ' ' || amount"
	" FROM day_user ORDER BY mch_id, openid, day",
	"SELECT 'status ' || mch_id || ' ' || status || ' ' || n FROM status_count"
	" ORDER BY mch_id, status",
};

static void dump_pg(struct pg *pg, struct buf *out)
{
	for (size_t i = 0; i < sizeof(counter_dumps) / sizeof(counter_dumps[0]); i++) {
		PGresult *res = PQexec(pg_conn(pg), counter_dumps[i]);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			buf_printf(out, "(failed: %s)\n", PQresultErrorMessage(res));
		for (int r = 0; PQresultStatus(res) == PGRES_TUPLES_OK && r < PQntuples(res); r++)
			buf_printf(out, "%s\n", PQgetvalue(res, r, 0));
		PQclear(res);
	}
}

static void dump_sqlite(const char *path, struct buf *out)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		buf_printf(out, "(cannot open %s)\n", path);
	for (size_t i = 0; db && i < sizeof(counter_dumps) / sizeof(counter_dumps[0]); i++) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(db, counter_dumps[i], -1, &q, NULL) != SQLITE_OK)
			buf_printf(out, "(failed: %s)\n", sqlite3_errmsg(db));
		while (q && sqlite3_step(q) == SQLITE_ROW)
			buf_printf(out, "%s\n", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
}

static void counters(void)
{
	char dir[] = "/tmp/test_pg.XXXXXX", path[64], err[256] = "";
	struct store *s = NULL;
	struct pg *pg = NULL;
	int checkpoint = 0;

	CHECK(sqlite_fresh(dir, path, sizeof(path)) == 0);
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	fresh_db("t_counters");
	pg = open_db("t_counters", pg_writes, P__COUNT);
	CHECK(pg != NULL);
	if (!s || !pg || pg_migrate(pg, pg_schema_sql, err, sizeof(err)) < 0) {
		fprintf(stderr, "counters: %s\n", err);
		CHECK(0);
		goto out;
	}
	for (size_t i = 0; i < sizeof(scenario) / sizeof(scenario[0]); i++) {
		const struct op *o = &scenario[i];
		if (o->kind != OP_CHECK) {
			int want = o->fails ? -1 : 0, lite = sqlite_apply(s, o),
			    post = pg_apply(pg, o);
			CHECK(lite == want);
			CHECK(post == want);
			if (lite != want || post != want)
				fprintf(stderr, "op %zu: sqlite %d, postgresql %d (%s)\n", i, lite,
					post, pg_last_error(pg)->message);
			continue;
		}
		struct buf want, got;
		buf_init(&want);
		buf_init(&got);
		dump_sqlite(path, &want);
		dump_pg(pg, &got);
		CHECK(want.len > 100);
		CHECK_STR(got.data, want.data);
		buf_release(&want);
		buf_release(&got);
		checkpoint++;
	}
	CHECK(checkpoint == 3);

	/* And what the SQLite store's tests assert, independently of it. */
	CHECK(pg_int(pg, "SELECT count FROM day_user WHERE mch_id = '20000001' AND openid = 'oU'"
			 " AND day = (1709222400 + 28800) / 86400") == 6); /* N1 N3 N4 N5 N6 N10 */
	CHECK(pg_int(pg, "SELECT amount FROM day_user WHERE mch_id = '20000001' AND openid = 'oU'"
			 " AND day = (1709222400 + 28800) / 86400") == 211011);
	CHECK(pg_int(pg, "SELECT amount FROM day_user WHERE mch_id = '20000001' AND openid = 'oG'"
			 " AND day = (1709222400 + 28800) / 86400") == 5);
	CHECK(pg_int(pg, "SELECT count FROM day_user WHERE mch_id = '20000001' AND openid = 'oH'"
			 " AND day = (1709222400 + 86400 + 28800) / 86400") == 1);
	/* A group issued by a settle: its seed share, written before, is
	 * not counted then (the settle writes the shares after). */
	CHECK(pg_int(pg, "SELECT amount FROM day_user WHERE mch_id = '20000001' AND openid = 'oK'"
			 " AND day = (1709222400 + 86400 + 28800) / 86400") == 0);
	CHECK(pg_int(pg, "SELECT amount FROM day_merchant WHERE mch_id = '20000001'"
			 " AND day = (1709222400 + 86400 + 28800) / 86400") == 530);
	CHECK(pg_int(pg, "SELECT sum(count) FROM rate_second WHERE mch_id = '20000001'") == 2);
	CHECK(pg_int(pg, "SELECT n FROM status_count WHERE mch_id = '20000001'"
			 " AND status = 'RECEIVED'") == 2);
	CHECK(pg_int(pg, "SELECT n FROM status_count WHERE mch_id = '20000001'"
			 " AND status = 'SENDING'") == 0);
	/* Ids from the sequence: one per packet written (the refused insert
	 * took one too: a sequence gives none back). */
	CHECK(pg_int(pg, "SELECT id FROM packets WHERE mch_billno = 'N10'") == 15);
out:
	store_close(s);
	pg_close(pg);
	sqlite_remove(dir, path);
}

/* ---- statements and failures ------------------------------------------- */

enum { R_ADD, R_PREPARED, R_PID, R_BAD, R_IS_NULL, R_META_GET, R_META_ADD, R_META_PUT, R__COUNT };
static const char *const registry[R__COUNT] = {
	[R_ADD] = "SELECT $1::bigint + 1",
	[R_PREPARED] = "SELECT count(*) FROM pg_prepared_statements",
	[R_PID] = "SELECT pg_backend_pid()",
	[R_BAD] = "SELEC 1",
	[R_IS_NULL] = "SELECT ($1::text IS NULL)::int",
	[R_META_GET] = "SELECT value FROM meta WHERE key = $1",
	[R_META_ADD] = "UPDATE meta SET value = value + 1 WHERE key = $1 RETURNING value",
	[R_META_PUT] = "INSERT INTO meta (key, value) VALUES ($1, $2)"
		       " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

static void statements(void)
{
	const char *p41[] = {"41"}, *p1[] = {"1"}, *pnull[] = {NULL};
	struct pg *pg = open_db("t_once", registry, R__COUNT);

	CHECK(pg != NULL);
	if (!pg)
		return;
	/* Prepared once, run twice. */
	CHECK_STR(run_text(pg, R_ADD, 1, p41), "42");
	CHECK_STR(run_text(pg, R_ADD, 1, p1), "2");
	CHECK_STR(run_text(pg, R_PREPARED, 0, NULL), "2");
	CHECK(pg_last_error(pg)->fault == PG_FAULT_NONE);
	CHECK_STR(run_text(pg, R_IS_NULL, 1, pnull), "1");
	/* A statement that does not prepare: its own error, every time, and
	 * the others still run. */
	for (int i = 0; i < 2; i++) {
		CHECK(pg_run(pg, R_BAD, 0, NULL) == NULL);
		CHECK(pg_last_error(pg)->fault == PG_FAULT_ERROR);
		CHECK_STR(pg_last_error(pg)->sqlstate, "42601");
		CHECK_STR(pg_last_error(pg)->message,
			  "syntax error at or near \"SELEC\" (SQLSTATE 42601)");
	}
	CHECK_STR(run_text(pg, R_PREPARED, 0, NULL), "3");
	CHECK(pg_run(pg, R__COUNT, 0, NULL) == NULL);
	CHECK(pg_last_error(pg)->fault == PG_FAULT_ERROR);
	/* A transaction that failed does not commit. */
	CHECK(pg_exec(pg, "BEGIN") == 0);
	CHECK(pg_run(pg, R_BAD, 0, NULL) == NULL);
	CHECK(pg_exec(pg, "COMMIT") == -1);
	CHECK_STR(pg_last_error(pg)->sqlstate, "25P02");
	CHECK(pg_exec(pg, "COMMIT") == 0); /* no transaction: a warning only */
	pg_close(pg);
}

static void settings(void)
{
	char err[256] = "", url[700];
	struct pg *pg = open_db("t_once", NULL, 0);
	time_t t0;

	CHECK(pg != NULL);
	if (pg) {
		CHECK_STR(PQparameterStatus(pg_conn(pg), "application_name"), "redpack-sim");
		CHECK_STR(PQparameterStatus(pg_conn(pg), "client_encoding"), "UTF8");
		PQconninfoOption *o = PQconninfo(pg_conn(pg));
		for (PQconninfoOption *i = o; i && i->keyword; i++)
			if (strcmp(i->keyword, "connect_timeout") == 0)
				CHECK_STR(i->val, "10");
		PQconninfoFree(o);
	}
	pg_close(pg);
	/* The URL's own settings win over the defaults. */
	snprintf(url, sizeof(url), "%s?connect_timeout=3&application_name=mine", url_for("t_once"));
	pg = pg_open(url, NULL, 0, err, sizeof(err));
	CHECK(pg && strcmp(PQparameterStatus(pg_conn(pg), "application_name"), "mine") == 0);
	pg_close(pg);
	/* Nobody there: a message, at once. */
	t0 = time(NULL);
	CHECK(pg_open("postgresql://redpack@127.0.0.1:1/redpack", NULL, 0, err, sizeof(err)) ==
	      NULL);
	CHECK(strstr(err, "127.0.0.1") != NULL);
	CHECK(time(NULL) - t0 < 5);
	CHECK(pg_open("postgresql://redpack@[nonsense", NULL, 0, err, sizeof(err)) == NULL);
	CHECK(err[0] != '\0');
}

/* Two transactions that cannot both be serialised: the loser is told to
 * run again, and does. */
static void serialization(void)
{
	const char *put[] = {"ser", "0"}, *key[] = {"ser"};
	struct pg *a = open_db("t_once", registry, R__COUNT);
	struct pg *b = open_db("t_once", registry, R__COUNT);

	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK(pg_write(a, R_META_PUT, 2, put) == 0);
	CHECK(pg_exec(a, "BEGIN ISOLATION LEVEL REPEATABLE READ") == 0);
	CHECK_STR(run_text(a, R_META_GET, 1, key), "0");
	CHECK_STR(run_text(b, R_META_ADD, 1, key), "1");
	CHECK(pg_run(a, R_META_ADD, 1, key) == NULL);
	CHECK(pg_last_error(a)->fault == PG_FAULT_RETRY);
	CHECK_STR(pg_last_error(a)->sqlstate, "40001");
	CHECK(pg_exec(a, "ROLLBACK") == 0);
	CHECK(pg_exec(a, "BEGIN ISOLATION LEVEL REPEATABLE READ") == 0);
	CHECK_STR(run_text(a, R_META_ADD, 1, key), "2");
	CHECK(pg_exec(a, "COMMIT") == 0);
out:
	pg_close(a);
	pg_close(b);
}

/* Two transactions waiting on each other: one is chosen, told to run
 * again; the other goes on. */
struct waiter {
	struct pg *pg;
	const char *key;
	int ok;
	struct pg_error error;
};

static void *wait_for_row(void *arg)
{
	struct waiter *w = arg;
	const char *key[] = {w->key};
	PGresult *res = pg_run(w->pg, R_META_ADD, 1, key);

	w->ok = res != NULL;
	w->error = *pg_last_error(w->pg);
	PQclear(res);
	return NULL;
}

static void deadlock(void)
{
	const char *p1[] = {"d1", "0"}, *p2[] = {"d2", "0"}, *k1[] = {"d1"}, *k2[] = {"d2"};
	struct pg *a = open_db("t_once", registry, R__COUNT);
	struct pg *b = open_db("t_once", registry, R__COUNT);
	struct waiter wa = {a, "d2", 0, {0}}, wb = {b, "d1", 0, {0}};
	pthread_t thread;

	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK(pg_write(a, R_META_PUT, 2, p1) == 0 && pg_write(a, R_META_PUT, 2, p2) == 0);
	CHECK(pg_exec(a, "SET deadlock_timeout = '100ms'") == 0);
	CHECK(pg_exec(b, "SET deadlock_timeout = '100ms'") == 0);
	CHECK(pg_exec(a, "BEGIN") == 0 && pg_exec(b, "BEGIN") == 0);
	CHECK(pg_write(a, R_META_ADD, 1, k1) == 0);
	CHECK(pg_write(b, R_META_ADD, 1, k2) == 0);
	CHECK(pthread_create(&thread, NULL, wait_for_row, &wa) == 0);
	usleep(50 * 1000);
	wait_for_row(&wb);
	pthread_join(thread, NULL);
	CHECK(wa.ok + wb.ok == 1);
	const struct pg_error *lost = wa.ok ? &wb.error : &wa.error;
	CHECK(lost->fault == PG_FAULT_RETRY);
	CHECK_STR(lost->sqlstate, "40P01");
	CHECK(pg_exec(a, "ROLLBACK") == 0 && pg_exec(b, "ROLLBACK") == 0);
out:
	pg_close(a);
	pg_close(b);
}

/* A backend terminated under a connection (a restart, an administrator):
 * the next call says the connection is lost, inside a transaction or
 * not; a reconnect gets a new backend, where the statements are prepared
 * again. */
static void lost(void)
{
	const char *p1[] = {"1"};
	struct pg *a = open_db("t_once", registry, R__COUNT);
	struct pg *admin = open_db("t_once", NULL, 0);
	char sql[96];

	CHECK(a && admin);
	if (!a || !admin)
		goto out;
	for (int in_transaction = 0; in_transaction < 2; in_transaction++) {
		int64_t pid = strtoll(run_text(a, R_PID, 0, NULL), NULL, 10);
		CHECK_STR(run_text(a, R_ADD, 1, p1), "2");
		if (in_transaction)
			CHECK(pg_exec(a, "BEGIN") == 0);
		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%" PRId64 ", 5000)", pid);
		CHECK_STR(pg_text(admin, sql), "t");
		CHECK(pg_run(a, R_ADD, 1, p1) == NULL);
		CHECK(pg_last_error(a)->fault == PG_FAULT_LOST);
		CHECK(pg_last_error(a)->message[0] != '\0');
		CHECK(pg_exec(a, "SELECT 1") == -1);
		CHECK(pg_last_error(a)->fault == PG_FAULT_LOST);
		CHECK(pg_reconnect(a) == 0);
		CHECK(pg_last_error(a)->fault == PG_FAULT_NONE);
		CHECK_STR(run_text(a, R_ADD, 1, p1), "2");
		CHECK(strtoll(run_text(a, R_PID, 0, NULL), NULL, 10) != pid);
		CHECK_STR(run_text(a, R_PREPARED, 0, NULL), "3");
	}
out:
	pg_close(a);
	pg_close(admin);
}

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;

	if (!f || !fgets(base_url, sizeof(base_url), f) || !strrchr(base_url, '/')) {
		fprintf(stderr,
			"usage: test_pg URL_FILE (scripts/pg-throwaway.sh start writes it)\n");
		return 2;
	}
	fclose(f);
	base_url[strcspn(base_url, "\n")] = '\0';

	/* libpq is loaded by the first pg_open, not at start (pq_dl.h). */
	CHECK(!check_mapped(PQ_DL_SONAME));
	schema_targets();
	migrations_once();
	migrations_failing();
	migrations_racing();
	shape();
	counters();
	statements();
	settings();
	serialization();
	deadlock();
	lost();
	CHECK(check_mapped(PQ_DL_SONAME));
	return check_done("test_pg");
}
