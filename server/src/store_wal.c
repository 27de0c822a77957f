/*
 * store_wal.c - WAL checkpoints on a thread of their own (store_wal.h).
 */
#define _GNU_SOURCE /* pthread_setname_np, gettid */
#include "store_wal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite_mem.h"
#include "util.h"

struct walckpt {
	sqlite3 *db;	/* the thread's own connection */
	int sync_flags; /* SQLITE_SYNC_NORMAL or _FULL, as its synchronous */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu: asks so far, and the count of asks the last pass began
	 * after (a pass answers every ask made before it began). */
	uint64_t asked, done;
	uint64_t passes; /* run, under mu */
	uint64_t synced; /* passes whose copied pages were synced, under mu */
	int stop;
};

/* Syncs the database file after a pass. SQLite syncs it only after a
 * pass that copied the whole WAL, which under a stream of commits is the
 * writer's drain alone: every page the passes before it copied (tens of
 * MiB) was still the kernel's to write, and the drain's sync waited for
 * all of them, 40 to 80 ms with the sends in flight held behind it. Synced
 * pass by pass, here, off the loop, the drain's sync finds little left:
 * the longest wait 7 to 10 ms instead. */
static int sync_db(struct walckpt *w)
{
	sqlite3_file *f = NULL;

	return sqlite3_file_control(w->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK &&
	       f && f->pMethods && f->pMethods->xSync(f, w->sync_flags) == SQLITE_OK;
}

/* The thread's name (top -H, /proc/PID/task/TID/comm) and priority:
 * its work can wait, the loop's and its clients' cannot. At nice 0 a
 * pass (about 1.7 ms for 1,000 pages) shared a core with whatever woke
 * there: on 2 cores with the load generator on the second one, a client
 * woken behind a pass waited up to a millisecond for it while the loop's
 * core sat idle, and every request in flight waited with it. At nice 19
 * (Linux: a thread's own nice) a woken task preempts the pass at once,
 * and the pass still runs whenever a core is free: p99 at 64
 * connections went from 4.1-4.6 ms to 3.1-3.8 (docs/benchmarks.md). A
 * thread starved for long only lets the WAL grow to the writer's drain
 * mark, where the writer waits for a pass and frees its own core. */
static void lower_priority(void)
{
	pthread_setname_np(pthread_self(), WALCKPT_THREAD_NAME);
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), WALCKPT_NICE);
}

static void *run(void *arg)
{
	struct walckpt *w = arg;

	lower_priority();
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->done == w->asked)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		uint64_t pass = w->asked;
		pthread_mutex_unlock(&w->mu);
		int frames = 0, copied = 0;
		/* PASSIVE: copies what no reader still needs, never waits for
		 * the writer; SQLITE_BUSY only means another checkpoint runs. */
		sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
		int synced = copied > 0 && sync_db(w);
		pthread_mutex_lock(&w->mu);
		w->done = pass;
		w->passes++;
		w->synced += synced;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	sqlite_mem_thread_release();
	return NULL;
}

struct walckpt *walckpt_start(const char *path, int power_loss)
{
	struct walckpt *w = xcalloc(1, sizeof(*w));

	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(w->db,
			 power_loss ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
			 NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(w->db);
		free(w);
		return NULL;
	}
	w->sync_flags = power_loss ? SQLITE_SYNC_FULL : SQLITE_SYNC_NORMAL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		sqlite3_close(w->db);
		free(w);
		return NULL;
	}
	return w;
}

void walckpt_nudge(struct walckpt *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->asked++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void walckpt_drain(struct walckpt *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	/* A pass that begins after this ask: one running now may have begun
	 * before the last commit. */
	uint64_t ask = ++w->asked;
	pthread_cond_signal(&w->cv);
	while (w->done < ask && !w->stop)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

uint64_t walckpt_passes(struct walckpt *w, uint64_t *synced)
{
	uint64_t n = 0, k = 0;

	if (w) {
		pthread_mutex_lock(&w->mu);
		n = w->passes;
		k = w->synced;
		pthread_mutex_unlock(&w->mu);
	}
	if (synced)
		*synced = k;
	return n;
}

void walckpt_stop(struct walckpt *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	sqlite3_close(w->db);
	free(w);
}
