/*
 * pg.h - one PostgreSQL connection for the store's PostgreSQL backend
 * (issue 14, docs/postgresql.md): opened from a postgresql:// URL with a
 * connect timeout; the migrations of schema_pg.sql applied once however
 * many processes start together; named statements prepared once per
 * connection; every failure sorted into what the caller does next.
 *
 * Every call blocks until the server answers: a connection belongs to one
 * thread at a time, and is never used on the event loop's (the plan:
 * docs/postgresql.md). Nothing here logs: errors go to the caller, as a
 * short text with the SQLSTATE (pg_last_error).
 */
#ifndef REDPACK_PG_H
#define REDPACK_PG_H

#include <stddef.h>
#include <stdint.h>

#include "pq_dl.h" /* libpq, loaded by pg_open */

struct pg;

/* schema_pg.sql, embedded by the build (CMakeLists.txt writes schema_pg.c). */
extern const char pg_schema_sql[];

/* Seconds a connection attempt may take, unless the URL sets connect_timeout. */
#define PG_CONNECT_TIMEOUT 10

/* The oldest server the schema runs on (EXECUTE FUNCTION: PostgreSQL 11). */
#define PG_SERVER_MIN 110000

/* The advisory lock (pg_advisory_xact_lock) that serialises migrations:
 * "redpack" and a 0, one key per purpose. */
#define PG_LOCK_MIGRATE INT64_C(0x7265647061636b00)

/* What a failure means for the caller. */
enum pg_fault {
	PG_FAULT_NONE = 0,
	/* The statement's own error (a constraint, bad input, bad SQL): an open
	 * transaction is aborted; roll it back. */
	PG_FAULT_ERROR,
	/* A serialization failure (40001) or a deadlock (40P01): the transaction
	 * is aborted; roll back and run the whole transaction again. */
	PG_FAULT_RETRY,
	/* The connection is gone, or the server is shutting down or became a
	 * standby: an open transaction is lost. pg_reconnect, then run it again
	 * (a COMMIT that was lost may or may not have been applied). */
	PG_FAULT_LOST,
};

struct pg_error {
	enum pg_fault fault;
	char sqlstate[6];  /* "" when libpq made the error itself */
	char message[256]; /* one line: the server's primary message and the SQLSTATE */
};

/* Connects to url (a postgresql:// URL or a "key=value ..." string) and
 * registers statements sql[0 .. count): statement i runs as pg_run(pg, i,
 * ...); the table is borrowed for the connection's life (a static one).
 * Nothing is prepared yet, nothing is migrated. Blocks for at most
 * PG_CONNECT_TIMEOUT seconds per host of the URL. Returns NULL with a
 * message in err. pg_close (NULL allowed) closes the connection. */
struct pg *pg_open(const char *url, const char *const *sql, int count, char *err, size_t errlen);
void pg_close(struct pg *pg);

/* The highest migration of schema (its "-- migration N" lines), or -1
 * when they are not numbered 1, 2, 3... in order. */
int pg_schema_target(const char *schema);

/* Brings the database to pg_schema_target(schema): every migration it
 * lacks runs in its own transaction, under the advisory lock
 * PG_LOCK_MIGRATE, and is recorded in schema_migrations (created here).
 * Several connections may call it at once: each migration runs once.
 * Outside a transaction only. Returns the number of migrations this call
 * ran (0: the database was up to date), or -1 with a message in err (a
 * database newer than schema, a failed migration: nothing of it kept). */
int pg_migrate(struct pg *pg, const char *schema, char *err, size_t errlen);

/* The last migration the database has (0: none), or -1 (pg_last_error). */
int pg_schema_version(struct pg *pg);

/* Runs registered statement id with n text parameters (NULL: SQL NULL),
 * preparing it on this connection first if it is not yet. Returns the
 * result, which the caller frees with PQclear, when the statement
 * succeeded; NULL when it failed (pg_last_error says how). */
PGresult *pg_run(struct pg *pg, int id, int n, const char *const *params);

/* Runs sql as it is (no parameters; several statements allowed): BEGIN,
 * COMMIT, ROLLBACK and what runs once. 0, or -1 (pg_last_error). A COMMIT
 * of a transaction that had failed answers ROLLBACK: that is -1 too. */
int pg_exec(struct pg *pg, const char *sql);

/* Holds back sql (a static text: one statement, no parameters, whose
 * answer nobody waits for: a SAVEPOINT, a RELEASE in a healthy
 * transaction) to send it ahead of the next pg_run or pg_exec, in the
 * same round trip (libpq's pipeline mode). Should it fail, that call
 * fails with PG_FAULT_LOST (the connection made again: nothing of the
 * transaction commits), never with an error of its own statement, which
 * did not run. A ROLLBACK drops what is held back; pg_reconnect too. 0,
 * or -1 (pg_last_error: more than a few held back were sent, and
 * failed). */
int pg_defer(struct pg *pg, const char *sql);

/* Round trips so far (a statement, with what pg_defer held back, is one;
 * its preparation another): for tests. */
uint64_t pg_round_trips(const struct pg *pg);

/* The last failure of pg_run, pg_exec, pg_schema_version or pg_reconnect
 * (fault PG_FAULT_NONE when the last call succeeded). Borrowed: valid
 * until the next call on pg. */
const struct pg_error *pg_last_error(const struct pg *pg);

/* Connects again with the settings of pg_open, after PG_FAULT_LOST (or
 * whenever): the registered statements are prepared again as they are
 * next run. 0, or -1 (pg_last_error; try again later). */
int pg_reconnect(struct pg *pg);

/* The libpq connection, borrowed: for what this module does not wrap (a
 * test's second look). Do not close it. */
PGconn *pg_conn(struct pg *pg);

#endif
