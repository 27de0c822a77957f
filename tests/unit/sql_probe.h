/*
 * sql_probe.h - the unit tests' second look at a database file: one
 * value read through its own read-only SQLite connection, so a test sees
 * exactly what was committed.
 */
#ifndef REDPACK_SQL_PROBE_H
#define REDPACK_SQL_PROBE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

/* The first column of the first row of the formatted query on path:
 * -1 for NULL, -999999 when there is no row or the query fails. */
static inline int64_t sql_probe_int(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int64_t sql_probe_int(const char *path, const char *fmt, ...)
{
	char sql[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int64_t v = -999999;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_type(q, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 0);
	else
		fprintf(stderr, "sql_probe_int(%s): %s\n", sql, db ? sqlite3_errmsg(db) : "open");
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* The same as text ("(null)" for NULL, "(no row)" without a row), in a
 * static buffer that the next call overwrites. */
static inline const char *sql_probe_text(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline const char *sql_probe_text(const char *path, const char *fmt, ...)
{
	static char out[512];
	char sql[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "(no row)");
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		snprintf(out, sizeof(out), "%s",
			 sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0)
						   : "(null)");
	sqlite3_finalize(q);
	sqlite3_close(db);
	return out;
}

#endif
