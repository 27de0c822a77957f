/*
 * migrations.c - the ordered migrations of an embedded schema file.
 */
#include "migrations.h"

#include <stdlib.h>
#include <string.h>

#define MIGRATION_MARK "-- migration "

static const char *next_line(const char *p)
{
	const char *nl = strchr(p, '\n');
	return nl ? nl + 1 : p + strlen(p);
}

static int is_mark(const char *line)
{
	return strncmp(line, MIGRATION_MARK, strlen(MIGRATION_MARK)) == 0;
}

int migration_text(const char *schema, int n, const char **start, size_t *len)
{
	const char *line = schema, *begin = NULL;
	int seen = 0;

	for (; *line; line = next_line(line)) {
		if (!is_mark(line))
			continue;
		if (atoi(line + strlen(MIGRATION_MARK)) != ++seen)
			return -1;
		if (begin)
			break;
		if (seen == n)
			begin = next_line(line);
	}
	if (!begin)
		return -1;
	*start = begin;
	*len = (size_t)(line - begin);
	return 0;
}

int migration_count(const char *schema)
{
	const char *start;
	size_t len;
	int n = 0;

	while (migration_text(schema, n + 1, &start, &len) == 0)
		n++;
	return n;
}

int migration_marks(const char *schema)
{
	int n = 0;

	for (const char *line = schema; *line; line = next_line(line))
		n += is_mark(line);
	return n;
}
