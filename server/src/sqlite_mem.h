/*
 * sqlite_mem.h - SQLite's memory allocator: the C library's, with a small
 * cache per thread of the 1 KB chunks of SQLite's in-memory statement
 * journals, which a unit of work's savepoint takes and gives back by the
 * dozen on every request (store.c).
 */
#ifndef REDPACK_SQLITE_MEM_H
#define REDPACK_SQLITE_MEM_H

/* Installs it; before SQLite is first used (else the defaults stay, and
 * nothing differs but the speed). Returns 0, or -1 if too late. */
int sqlite_mem_install(void);

/* Frees the calling thread's cache: a thread that ran SQLite statements
 * calls it before it ends. */
void sqlite_mem_thread_release(void);

/* Chunks the calling thread holds in its cache (for tests). */
int sqlite_mem_cached(void);

#endif
