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
	memset(l->slots, 0, sizeof(l->slots));
}

static unsigned slot_of(uint64_t head, size_t len)
{
	return (unsigned)(((head ^ len) * UINT64_C(0x9E3779B97F4A7C15)) >> 58) % KV_SLOTS;
}

/* Files item i (a later one of the same name probes past an earlier
 * one, so the first added is found first, as by a walk). */
static void index_item(struct kvlist *l, size_t i)
{
	if (i >= KV_INDEXED)
		return;
	unsigned s = slot_of(l->items[i].name_head, l->items[i].name_len);
	while (l->slots[s])
		s = (s + 1) % KV_SLOTS;
	l->slots[s] = (unsigned char)(i + 1);
}

static void reindex(struct kvlist *l)
{
	memset(l->slots, 0, sizeof(l->slots));
	for (size_t i = 0; i < l->count; i++)
		index_item(l, i);
}

void kvlist_release(struct kvlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].name); /* the value is in the same block */
	free(l->items);
	kvlist_init(l);
}

static uint64_t name_head(const char *name, size_t len)
{
	uint64_t head = 0;
	memcpy(&head, name, len < sizeof(head) ? len : sizeof(head));
	return head;
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
	l->items[l->count].name_len = name_len;
	l->items[l->count].name_head = name_head(block, name_len);
	index_item(l, l->count);
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
	reindex(l); /* the slot add_pair filed for the end is no item now */
}

void kvlist_remove(struct kvlist *l, size_t i)
{
	free(l->items[i].name); /* the value with it */
	l->items[i] = l->items[--l->count];
	reindex(l);
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

static int same_name(const struct kv *p, const char *name, size_t len, uint64_t head)
{
	return p->name_head == head && p->name_len == len &&
	       (len <= sizeof(head) ||
		memcmp(p->name + sizeof(head), name + sizeof(head), len - sizeof(head)) == 0);
}

const char *kvlist_lookup(const struct kvlist *l, const char *name)
{
	/* A request's dozen fields are looked up by name all along the
	 * pipeline, some sixty times a send: one slot, and the length and
	 * the first 8 bytes rule out any other name without a call. */
	size_t len = strlen(name);
	uint64_t head = name_head(name, len);
	unsigned s = slot_of(head, len);

	for (; l->slots[s]; s = (s + 1) % KV_SLOTS)
		if (same_name(&l->items[l->slots[s] - 1], name, len, head))
			return l->items[l->slots[s] - 1].value;
	for (size_t i = KV_INDEXED; i < l->count; i++)
		if (same_name(&l->items[i], name, len, head))
			return l->items[i].value;
	return NULL;
}

const char *kvlist_get(const struct kvlist *l, const char *name)
{
	const char *v = kvlist_lookup(l, name);
	return v ? v : "";
}
