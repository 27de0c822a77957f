/*
 * kv.h - an ordered list of (name, value) string pairs: the parsed
 * request parameters, or the pieces of a query string. The list owns
 * its strings.
 */
#ifndef REDPACK_KV_H
#define REDPACK_KV_H

#include <stddef.h>
#include <stdint.h>

struct kv {
	char *name;
	char *value;
	/* The name's length and first 8 bytes (zero-padded): a lookup
	 * compares these before any byte of the rest. */
	size_t name_len;
	uint64_t name_head;
};

/* Up to KV_INDEXED pairs are found through slots, an open-addressing
 * table of item index + 1 (0: empty) by the name's length and first
 * bytes; past that, by a walk of the list. */
#define KV_SLOTS 64
#define KV_INDEXED 48

struct kvlist {
	struct kv *items;
	size_t count;
	size_t cap;
	unsigned char slots[KV_SLOTS];
};

void kvlist_init(struct kvlist *l);
void kvlist_release(struct kvlist *l);
/* Copies name and value. */
void kvlist_add(struct kvlist *l, const char *name, const char *value);
/* Replaces the value of the i-th pair with a copy of value. */
void kvlist_set(struct kvlist *l, size_t i, const char *value);
/* Removes the i-th pair; the last one takes its place. */
void kvlist_remove(struct kvlist *l, size_t i);
/* Borrowed pointer to the value of name, or NULL when absent. */
const char *kvlist_lookup(const struct kvlist *l, const char *name);
/* The value, or "" when absent: for echoes and checks that treat a
 * missing field like an empty one. */
const char *kvlist_get(const struct kvlist *l, const char *name);
/* Splits a query string (the text after '?'; NULL or "" has none) at
 * every '&' and adds each piece, in order and as written (not decoded):
 * the name is what precedes the piece's first '=', the value what
 * follows it. A piece without '=' has a NULL value (so "&&" adds an
 * empty name with a NULL value); the caller judges what is allowed. */
void kvlist_add_query(struct kvlist *l, const char *query);

#endif
