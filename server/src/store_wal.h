/*
 * store_wal.h - WAL checkpoints on a thread of their own, for the SQLite
 * store (store.c).
 *
 * A checkpoint copies the WAL's pages into the database file and, under
 * synchronous NORMAL or FULL, syncs the WAL before and the database file
 * after (SQLite: only when it copied the whole WAL; the thread here after
 * every pass, so no sync is left to the drain): 5 to 12 ms for SQLite's
 * automatic one every 1,000 pages, run inside the COMMIT that crossed the
 * mark, on the event loop, stalling every request of that turn. Here a
 * thread with a connection of its own checkpoints instead (PASSIVE: it
 * never blocks the writer) whenever the writer says pages are waiting.
 *
 * SQLite starts the WAL over only when a write transaction begins with
 * every page already copied back. Under a steady stream of commits the
 * thread is always one commit behind, so the writer drains it now and then
 * (walckpt_drain: one short pass, the last turn's pages) before it begins:
 * the WAL then starts over at a bounded size.
 */
#ifndef REDPACK_STORE_WAL_H
#define REDPACK_STORE_WAL_H

#include <stdint.h>

struct walckpt;

/* The checkpointer thread's name and nice value (store_wal.c says why). */
#define WALCKPT_THREAD_NAME "redpack-ckpt"
#define WALCKPT_NICE 19

/* A checkpointer for the database file at path, with the synchronous
 * setting power_loss ? FULL : NORMAL for its syncs. NULL when its
 * connection or thread cannot be made (the caller keeps SQLite's own
 * checkpoints then). */
struct walckpt *walckpt_start(const char *path, int power_loss);

/* Asks for a pass and returns at once (asks made while a pass runs are
 * answered by one pass after it). NULL allowed. */
void walckpt_nudge(struct walckpt *w);

/* Asks for a pass and waits until it has run. NULL allowed. */
void walckpt_drain(struct walckpt *w);

/* Passes run so far, and in *synced (when not NULL) those that copied
 * pages and synced the database file after. NULL: 0. */
uint64_t walckpt_passes(struct walckpt *w, uint64_t *synced);

/* Stops the thread (after its pass in progress) and closes its
 * connection. NULL allowed. */
void walckpt_stop(struct walckpt *w);

#endif
