/*
 * sqlite_mem.c - SQLite's memory allocator (sqlite_mem.h).
 *
 * Each block carries its size in the 8 bytes before it, as SQLite's own
 * allocator (mem1.c) does. Requests of CHUNK_MIN to CHUNK bytes get a
 * block of CHUNK bytes, and a thread keeps up to CACHE_MAX freed ones for
 * its next requests. The chunks are memjrnl.c's: with temp_store = MEMORY
 * a savepoint's journal holds each page it saves in 1 KB chunks, and
 * frees them all at its RELEASE. A send saves about 15 pages: some 150
 * mallocs and frees through the general allocator, 20,000 instructions
 * of a send's 390,000 (callgrind).
 */
#include "sqlite_mem.h"

#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>

#define CHUNK 1024    /* memjrnl.c's fileChunkSize() of its default chunk */
#define CHUNK_MIN 513 /* smaller requests are the C library's */
#define CACHE_MAX 256 /* per thread: a unit's pages, with room */

struct cached {
	struct cached *next;
};

static __thread struct cached *cache;
static __thread int cache_count;

static int in_class(int n)
{
	return n >= CHUNK_MIN && n <= CHUNK;
}

static void *mem_malloc(int n)
{
	int64_t *p;

	if (in_class(n)) {
		if (cache) {
			struct cached *c = cache;
			cache = c->next;
			cache_count--;
			return c;
		}
		n = CHUNK;
	}
	p = malloc((size_t)n + sizeof(*p));
	if (!p)
		return NULL;
	p[0] = n;
	return p + 1;
}

static void mem_free(void *block)
{
	int64_t *p = (int64_t *)block - 1;

	if (p[0] == CHUNK && cache_count < CACHE_MAX) {
		struct cached *c = block;
		c->next = cache;
		cache = c;
		cache_count++;
		return;
	}
	free(p);
}

static void *mem_realloc(void *block, int n)
{
	int64_t *p = (int64_t *)block - 1;

	if (p[0] == CHUNK && in_class(n))
		return block;
	p = realloc(p, (size_t)n + sizeof(*p));
	if (!p)
		return NULL;
	p[0] = n;
	return p + 1;
}

static int mem_size(void *block)
{
	return block ? (int)((int64_t *)block)[-1] : 0;
}

static int mem_roundup(int n)
{
	return in_class(n) ? CHUNK : (n + 7) & ~7;
}

static int mem_init(void *app)
{
	(void)app;
	return SQLITE_OK;
}

static void mem_shutdown(void *app)
{
	(void)app;
}

int sqlite_mem_install(void)
{
	static const sqlite3_mem_methods methods = {
		mem_malloc,  mem_free, mem_realloc,  mem_size,
		mem_roundup, mem_init, mem_shutdown, NULL,
	};
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK ? 0 : -1;
}

void sqlite_mem_thread_release(void)
{
	while (cache) {
		struct cached *c = cache;
		cache = c->next;
		free((int64_t *)c - 1);
	}
	cache_count = 0;
}

int sqlite_mem_cached(void)
{
	return cache_count;
}
