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
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].name); /* the value is in the same block */
	free(l->items);
	kvlist_init(l);
}

/* A pair as one block: the name, its NUL, the value (absent: NULL) and
 * its NUL. A request's dozen fields cost a dozen allocations, not two
 * dozen. */
static void add_pair(struct kvlist *l, const char *name, size_t name_len, const char *value,
		     size_t value_len)
{
	char *block = xmalloc(name_len + 1 + (value ? value_len + 1 : 0));

	memcpy(block, name, name_len);
	block[name_len] = '\0';
	if (value) {
		memcpy(block + name_len + 1, value, value_len);
		block[name_len + 1 + value_len] = '\0';
	}
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->count].name = block;
	l->items[l->count].value = value ? block + name_len + 1 : NULL;
	l->count++;
}

void kvlist_add(struct kvlist *l, const char *name, const char *value)
{
	add_pair(l, name, strlen(name), value, strlen(value));
}

void kvlist_set(struct kvlist *l, size_t i, const char *value)
{
	char *old = l->items[i].name;
	size_t count = l->count;

	/* A new block at the end, moved into the pair's place. */
	add_pair(l, old, strlen(old), value, strlen(value));
	l->items[i] = l->items[count];
	l->count = count;
	free(old);
}

void kvlist_remove(struct kvlist *l, size_t i)
{
	free(l->items[i].name); /* the value with it */
	l->items[i] = l->items[--l->count];
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

		add_pair(l, piece, name_len, eq ? eq + 1 : NULL, eq ? len - name_len - 1 : 0);
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
