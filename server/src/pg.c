/*
 * pg.c - one PostgreSQL connection: open, migrations, the statement
 * registry, and failures sorted by what the caller does next.
 */
#include "pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrations.h"
#include "util.h"

/* Commands pg_defer holds back, at most. */
#define PG_AHEAD_MAX 4

struct pg {
	PGconn *conn;
	const char *const *sql;	 /* the registry, borrowed (pg_open) */
	int count;		 /* its statements */
	unsigned char *prepared; /* [count]: 1 once prepared on this connection */
	struct pg_error error;	 /* the last call's (pg_last_error) */
	/* pg_defer's commands (static texts), sent ahead of the next
	 * statement in the same round trip. */
	const char *ahead[PG_AHEAD_MAX];
	int nahead;
	uint64_t trips; /* waits for the server's answer (pg_round_trips) */
	int lost;	/* lose() recorded the failure: fail() keeps it */
};

/* ---- errors ------------------------------------------------------------ */

/* SQLSTATEs, or a whole class (two characters), that ask the caller for
 * more than a rollback; anything else is the statement's own error. */
static const struct {
	const char *sqlstate;
	enum pg_fault fault;
} fault_table[] = {
	{"40001", PG_FAULT_RETRY}, /* serialization_failure */
	{"40P01", PG_FAULT_RETRY}, /* deadlock_detected */
	{"08", PG_FAULT_LOST},	   /* connection_exception */
	{"57P01", PG_FAULT_LOST},  /* admin_shutdown: pg_terminate_backend, a fast shutdown */
	{"57P02", PG_FAULT_LOST},  /* crash_shutdown: another backend crashed */
	{"57P03", PG_FAULT_LOST},  /* cannot_connect_now: starting up or shutting down */
	/* read_only_sql_transaction: the server became a standby (a failover);
	 * a new connection finds the primary when the URL lists the hosts
	 * with target_session_attrs=read-write. */
	{"25006", PG_FAULT_LOST},
};

static enum pg_fault classify(PGconn *conn, const char *sqlstate)
{
	if (PQstatus(conn) != CONNECTION_OK)
		return PG_FAULT_LOST;
	for (size_t i = 0; sqlstate[0] && i < sizeof(fault_table) / sizeof(fault_table[0]); i++) {
		const char *prefix = fault_table[i].sqlstate;
		if (strncmp(sqlstate, prefix, strlen(prefix)) == 0)
			return fault_table[i].fault;
	}
	return PG_FAULT_ERROR;
}

/* The first line of text, without libpq's severity prefix, into out. */
static void first_line(const char *text, char *out, size_t outlen)
{
	static const char *const severities[] = {"ERROR:  ", "FATAL:  ", "PANIC:  "};
	size_t n;

	for (size_t i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		if (strncmp(text, severities[i], strlen(severities[i])) == 0)
			text += strlen(severities[i]);
	n = strcspn(text, "\n");
	snprintf(out, outlen, "%.*s", (int)n, text);
}

static void clear_error(struct pg *pg)
{
	memset(&pg->error, 0, sizeof(pg->error));
	pg->lost = 0;
}

/* Records the failure of res (NULL: libpq had none to give, the
 * connection's message says why). Returns -1. */
static int fail(struct pg *pg, const PGresult *res)
{
	if (pg->lost) { /* lose() said it already */
		pg->lost = 0;
		return -1;
	}
	struct pg_error *e = &pg->error;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *text = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char line[200];

	if (!text || !*text)
		text = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
							 : PQerrorMessage(pg->conn);
	if (!*text)
		text = "unknown error";
	first_line(text, line, sizeof(line));
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", state ? state : "");
	e->fault = classify(pg->conn, e->sqlstate);
	if (e->sqlstate[0])
		snprintf(e->message, sizeof(e->message), "%s (SQLSTATE %s)", line, e->sqlstate);
	else
		snprintf(e->message, sizeof(e->message), "%s", line);
	return -1;
}

static int result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY);
}

const struct pg_error *pg_last_error(const struct pg *pg)
{
	return &pg->error;
}

/* ---- open / close ------------------------------------------------------ */

/* The server's notices (NOTICE: relation already exists, skipping) are
 * not failures: nothing to show. */
static void on_notice(void *arg, const char *message)
{
	(void)arg, (void)message;
}

struct pg *pg_open(const char *url, const char *const *sql, int count, char *err, size_t errlen)
{
	char timeout[16];
	/* Ours, then the URL's, which override them, then what must hold
	 * whatever the URL says (libpq: later keywords win; the first dbname
	 * is expanded as a connection string). */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname",
				    "client_encoding", NULL};
	const char *const values[] = {timeout, "redpack-sim", url, "UTF8", NULL};
	struct pg *pg;
	char line[200];

	if (pq_load(err, errlen) != 0)
		return NULL;
	pg = xcalloc(1, sizeof(*pg));
	snprintf(timeout, sizeof(timeout), "%d", PG_CONNECT_TIMEOUT);
	pg->conn = PQconnectdbParams(keys, values, 1);
	if (!pg->conn) {
		snprintf(err, errlen, "libpq: out of memory");
		goto error;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		first_line(PQerrorMessage(pg->conn), line, sizeof(line));
		snprintf(err, errlen, "%s", line);
		goto error;
	}
	if (PQserverVersion(pg->conn) < PG_SERVER_MIN) {
		snprintf(err, errlen, "PostgreSQL %d.%d is too old: %d or newer is needed",
			 PQserverVersion(pg->conn) / 10000, PQserverVersion(pg->conn) % 10000 / 100,
			 PG_SERVER_MIN / 10000);
		goto error;
	}
	PQsetNoticeProcessor(pg->conn, on_notice, NULL);
	pg->sql = sql;
	pg->count = count > 0 ? count : 0;
	pg->prepared = xcalloc((size_t)pg->count + 1, 1);
	return pg;
error:
	pg_close(pg);
	return NULL;
}

void pg_close(struct pg *pg)
{
	if (!pg)
		return;
	PQfinish(pg->conn);
	free(pg->prepared);
	free(pg);
}

int pg_reconnect(struct pg *pg)
{
	clear_error(pg);
	pg->nahead = 0;
	pg->lost = 0;
	PQreset(pg->conn);
	memset(pg->prepared, 0, (size_t)pg->count);
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return fail(pg, NULL);
	return 0;
}

PGconn *pg_conn(struct pg *pg)
{
	return pg->conn;
}

/* ---- statements -------------------------------------------------------- */

/* Records res's failure (NULL: the connection's) as the loss of the
 * transaction and makes the connection again, so nothing of it can
 * commit: a pipeline that went wrong on a good connection, or a command
 * held back that failed, whose statement after it never ran (the
 * caller's rollback to a savepoint would reach one it did not make).
 * The caller then fails with that, and a store reconnects and runs its
 * batch again. */
static void lose(struct pg *pg, const PGresult *res)
{
	fail(pg, res);
	pg->error.fault = PG_FAULT_LOST;
	pg->lost = 1;
	PQreset(pg->conn);
	memset(pg->prepared, 0, (size_t)pg->count);
}

/* The results of a pipeline of pg->nahead commands and then one
 * statement, up to its sync point: the statement's result (its error, if
 * it failed, the caller's to record). When a command held back failed
 * (the statement then did not run): NULL, the transaction lost (lose). */
static PGresult *pipeline_results(struct pg *pg, int nahead)
{
	PGresult *res = NULL, *bad = NULL, *r;
	int q = 0, nulls = 0;

	/* Each command's result is followed by a NULL; the sync point ends. */
	while (nulls < 2) {
		r = PQgetResult(pg->conn);
		if (!r) {
			nulls++;
			q++;
			if (PQstatus(pg->conn) != CONNECTION_OK)
				break;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (q < nahead && !result_ok(r) && !bad)
			bad = r;
		else if (q == nahead && !res)
			res = r;
		else
			PQclear(r);
	}
	if (bad || (!PQexitPipelineMode(pg->conn) && PQstatus(pg->conn) == CONNECTION_OK)) {
		lose(pg, bad);
		PQclear(res);
		PQclear(bad);
		return NULL;
	}
	return res;
}

/* One round trip: the commands pg_defer held back, then statement name
 * (prepared, n params) or sql (no params). Without commands held back,
 * libpq's plain calls (sql may then hold several statements). */
static PGresult *exchange(struct pg *pg, const char *name, const char *sql, int n,
			  const char *const *params)
{
	int nahead = pg->nahead, sent;

	pg->trips++;
	if (!nahead)
		return name ? PQexecPrepared(pg->conn, name, n, params, NULL, NULL, 0)
			    : PQexec(pg->conn, sql);
	pg->nahead = 0;
	sent = PQenterPipelineMode(pg->conn);
	for (int i = 0; sent && i < nahead; i++)
		sent = PQsendQueryParams(pg->conn, pg->ahead[i], 0, NULL, NULL, NULL, NULL, 0);
	if (sent)
		sent = name ? PQsendQueryPrepared(pg->conn, name, n, params, NULL, NULL, 0)
			    : PQsendQueryParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (sent)
		sent = PQpipelineSync(pg->conn);
	if (!sent) {
		if (PQstatus(pg->conn) == CONNECTION_OK)
			lose(pg, NULL); /* nothing half-sent kept */
		return NULL;
	}
	return pipeline_results(pg, nahead);
}

/* Sends the commands held back now, on their own. 0 or -1. */
static int send_ahead(struct pg *pg)
{
	PGresult *res;
	int rc = 0;

	if (!pg->nahead)
		return 0;
	res = exchange(pg, NULL, "SELECT 1", 0, NULL);
	if (!result_ok(res))
		rc = fail(pg, res);
	PQclear(res);
	return rc;
}

int pg_defer(struct pg *pg, const char *sql)
{
	clear_error(pg);
	if (pg->nahead == PG_AHEAD_MAX && send_ahead(pg) != 0)
		return -1;
	pg->ahead[pg->nahead++] = sql;
	return 0;
}

uint64_t pg_round_trips(const struct pg *pg)
{
	return pg->trips;
}

int pg_exec(struct pg *pg, const char *sql)
{
	PGresult *res;
	int rc = 0;

	clear_error(pg);
	if (strcmp(sql, "ROLLBACK") == 0)
		pg->nahead = 0; /* what they would have done is undone */
	else if (strchr(sql, ';') && send_ahead(pg) != 0)
		return -1; /* several statements: not in a pipeline */
	res = exchange(pg, NULL, sql, 0, NULL);
	if (!result_ok(res))
		rc = fail(pg, res);
	else if (strncasecmp(sql, "COMMIT", 6) == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		/* What a COMMIT of a failed transaction answers, without an error. */
		snprintf(pg->error.sqlstate, sizeof(pg->error.sqlstate), "25P02");
		snprintf(pg->error.message, sizeof(pg->error.message),
			 "COMMIT of a failed transaction: rolled back (SQLSTATE 25P02)");
		pg->error.fault = PG_FAULT_ERROR;
		rc = -1;
	}
	PQclear(res);
	return rc;
}

PGresult *pg_run(struct pg *pg, int id, int n, const char *const *params)
{
	char name[16];
	PGresult *res;

	clear_error(pg);
	if (id < 0 || id >= pg->count) {
		pg->error.fault = PG_FAULT_ERROR;
		snprintf(pg->error.message, sizeof(pg->error.message), "no statement %d", id);
		return NULL;
	}
	snprintf(name, sizeof(name), "s%d", id);
	if (!pg->prepared[id]) {
		if (send_ahead(pg) != 0)
			return NULL;
		pg->trips++;
		res = PQprepare(pg->conn, name, pg->sql[id], 0, NULL);
		if (!result_ok(res)) {
			fail(pg, res);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		pg->prepared[id] = 1;
	}
	res = exchange(pg, name, NULL, n, params);
	if (result_ok(res))
		return res;
	fail(pg, res);
	/* invalid_sql_statement_name: the server forgot it (a DISCARD ALL of a
	 * pooler); prepared again next time. */
	if (strcmp(pg->error.sqlstate, "26000") == 0)
		pg->prepared[id] = 0;
	PQclear(res);
	return NULL;
}

/* The first column of the first row of sql, as an integer, into *out.
 * 0, or -1 (pg->error). */
static int query_int(struct pg *pg, const char *sql, int64_t *out)
{
	PGresult *res;

	clear_error(pg);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1) {
		fail(pg, res);
		PQclear(res);
		return -1;
	}
	*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* ---- migrations (their text: migrations.c) ------------------------------ */

/* One row per migration applied: the counterpart of SQLite's PRAGMA
 * user_version (their maximum). Made by the first migration run, under
 * the lock. */
#define VERSIONS_TABLE                                                                             \
	"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"               \
	" applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"

int pg_schema_target(const char *schema)
{
	int n = migration_count(schema);
	return migration_marks(schema) == n ? n : -1;
}

int pg_schema_version(struct pg *pg)
{
	int64_t exists = 0, version = 0;

	if (query_int(pg, "SELECT (to_regclass('schema_migrations') IS NOT NULL)::int", &exists) !=
		    0 ||
	    (exists && query_int(pg, "SELECT COALESCE(max(version), 0) FROM schema_migrations",
				 &version) != 0))
		return -1;
	return (int)version;
}

/* Ends a failed migration: the message into err, the transaction rolled
 * back. Returns -1. */
static int migrate_failed(struct pg *pg, int n, char *err, size_t errlen)
{
	if (n > 0)
		snprintf(err, errlen, "migration %d: %s", n, pg->error.message);
	else
		snprintf(err, errlen, "migrations: %s", pg->error.message);
	pg_exec(pg, "ROLLBACK");
	return -1;
}

int pg_migrate(struct pg *pg, const char *schema, char *err, size_t errlen)
{
	int target = pg_schema_target(schema), applied = 0;
	char lock[80], record[96];

	if (target < 0) {
		snprintf(err, errlen,
			 "schema: the migrations are not numbered 1, 2, 3... in order");
		return -1;
	}
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%" PRId64 ")", PG_LOCK_MIGRATE);
	for (;;) {
		const char *start;
		size_t len;
		char *sql;
		int version, rc;

		/* READ COMMITTED whatever the database's default: once the lock
		 * is ours, the next statements see what its last holder
		 * committed. */
		if (pg_exec(pg, "BEGIN ISOLATION LEVEL READ COMMITTED") != 0 ||
		    pg_exec(pg, lock) != 0 || pg_exec(pg, VERSIONS_TABLE) != 0 ||
		    (version = pg_schema_version(pg)) < 0)
			return migrate_failed(pg, 0, err, errlen);
		if (version > target) {
			pg_exec(pg, "ROLLBACK");
			snprintf(err, errlen,
				 "database schema version %d is newer than this build (%d)",
				 version, target);
			return -1;
		}
		if (version == target)
			return pg_exec(pg, "COMMIT") == 0 ? applied
							  : migrate_failed(pg, 0, err, errlen);
		if (migration_text(schema, version + 1, &start, &len) != 0) {
			pg_exec(pg, "ROLLBACK");
			snprintf(err, errlen, "schema: no migration %d", version + 1);
			return -1;
		}
		sql = xstrndup(start, len);
		rc = pg_exec(pg, sql);
		free(sql);
		snprintf(record, sizeof(record),
			 "INSERT INTO schema_migrations (version) VALUES (%d)", version + 1);
		if (rc != 0 || pg_exec(pg, record) != 0 || pg_exec(pg, "COMMIT") != 0)
			return migrate_failed(pg, version + 1, err, errlen);
		applied++;
	}
}
