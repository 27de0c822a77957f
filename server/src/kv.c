/*
 * kv.c - ordered string pairs.
 */
#include "kv.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void kvlist_init(struct kvlist *l)
{
	l->items = NULL;
	l->count = 0;
	l->cap = 0;
}

void kvlist_release(struct kvlist *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].name);
		free(l->items[i].value);
	}
	free(l->items);
	kvlist_init(l);
}

/* Takes name and value (value may be NULL). */
static void add_owned(struct kvlist *l, char *name, char *value)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->count].name = name;
	l->items[l->count].value = value;
	l->count++;
}

void kvlist_add(struct kvlist *l, const char *name, const char *value)
{
	add_owned(l, xstrdup(name), xstrdup(value));
}

void kvlist_add_query(struct kvlist *l, const char *query)
{
	const char *piece = query;

	if (!piece || !*piece)
		return;
	for (;;) {
		size_t len = strcspn(piece, "&");
		const char *eq = memchr(piece, '=', len);
		size_t name_len = eq ? (size_t)(eq - piece) : len;

		add_owned(l, xstrndup(piece, name_len),
			  eq ? xstrndup(eq + 1, len - name_len - 1) : NULL);
		if (!piece[len])
			return;
		piece += len + 1;
	}
}

const char *kvlist_lookup(const struct kvlist *l, const char *name)
{
	/* A request's dozen fields are looked up by name all along the
	 * pipeline: the first byte rules most of them out without a call. */
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].name[0] == name[0] && strcmp(l->items[i].name, name) == 0)
			return l->items[i].value;
	return NULL;
}

const char *kvlist_get(const struct kvlist *l, const char *name)
{
	const char *v = kvlist_lookup(l, name);
	return v ? v : "";
}
