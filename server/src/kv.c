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

void kvlist_add(struct kvlist *l, const char *name, const char *value)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->count].name = xstrdup(name);
	l->items[l->count].value = xstrdup(value);
	l->count++;
}

const char *kvlist_lookup(const struct kvlist *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].name, name) == 0)
			return l->items[i].value;
	return NULL;
}

const char *kvlist_get(const struct kvlist *l, const char *name)
{
	const char *v = kvlist_lookup(l, name);
	return v ? v : "";
}
