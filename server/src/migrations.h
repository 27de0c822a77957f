/*
 * migrations.h - the ordered migrations of an embedded schema file
 * (schema.sql for SQLite, schema_pg.sql for PostgreSQL): each starts at a
 * "-- migration N" line and runs to the next one or the end.
 */
#ifndef REDPACK_MIGRATIONS_H
#define REDPACK_MIGRATIONS_H

#include <stddef.h>

/* Migration n (1-based) of schema: the text from the line after its
 * marker line to the next marker or the end, into *start and *len.
 * Returns 0, or -1 when there is no migration n or the markers before it
 * are not numbered 1, 2, 3... in order. */
int migration_text(const char *schema, int n, const char **start, size_t *len);

/* How many migrations schema has, numbered 1, 2, 3... from the start. */
int migration_count(const char *schema);

/* The marker lines of schema, numbered or not: more than migration_count
 * says means one is out of order. */
int migration_marks(const char *schema);

#endif
