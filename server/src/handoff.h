/*
 * handoff.h - the front end's loop and the store's loop. A store whose
 * calls wait on the network (PostgreSQL), and SQLite's with --store-thread
 * on, gets a thread of its own with an event loop of its own: the front
 * end (TLS, HTTP) hands it requests, it hands back answers, and the front
 * end's loop never waits on the database. Otherwise there is one loop,
 * and a handoff runs its work at once, on the caller's stack, so both
 * ways go through the same code.
 *
 * Each side's base is touched by its own thread only: work crosses in a
 * queue under a mutex, and an eventfd wakes the other loop. Work posted
 * to one side runs there in the order it was posted.
 */
#ifndef REDPACK_HANDOFF_H
#define REDPACK_HANDOFF_H

#include <stddef.h>

struct event_base;
struct handoff;

enum handoff_side { HANDOFF_FRONT, HANDOFF_STORE };

typedef void (*handoff_fn)(void *arg);

/* The front end's loop is front. threaded: the store gets a thread and
 * a loop of its own (started by handoff_start); else the store's side
 * is the front's. NULL on failure, with a message in err. */
struct handoff *handoff_new(struct event_base *front, int threaded, char *err, size_t errlen);

/* The loop of a side: timers and events of the store's side (the group
 * commit, the sweeper, the control API's slices) go on its base. */
struct event_base *handoff_base(const struct handoff *h, enum handoff_side side);

/* 1 when the store's side runs on a thread of its own. */
int handoff_threaded(const struct handoff *h);

/* Runs fn(arg) on side to: queued for its loop when the sides are two
 * threads, at once when they are one. */
void handoff_post(struct handoff *h, enum handoff_side to, handoff_fn fn, void *arg);

/* As handoff_post, but when the sides are two threads the work waits
 * until the end of the caller's turn of its loop, and goes over with the
 * rest posted so in that turn, in one wake: the requests read in one turn
 * of the front reach the store together, and make one group commit. Only
 * from the thread of the side that is not to; handoff_post's work may
 * overtake it, so one side posts one way only. */
void handoff_post_turn(struct handoff *h, enum handoff_side to, handoff_fn fn, void *arg);

/* Starts the store's thread (nothing when not threaded); thread_end(arg)
 * (NULL: none) runs on it as it ends, after the work posted to it, to
 * finish what it holds and free what is its own. Returns 0, or -1
 * (logged). */
int handoff_start(struct handoff *h, handoff_fn thread_end, void *arg);

/* Stops the store's thread once the work already posted to it has run,
 * and joins it: the caller's thread may then use the store's side
 * (handoff_drain runs what was left for the front). */
void handoff_stop(struct handoff *h);

/* Runs the work queued for side on the caller's thread, now, until none
 * is left (once the store's thread is stopped: one thread only). */
void handoff_drain(struct handoff *h, enum handoff_side side);

/* After handoff_stop and once the events on the store's base are freed
 * (NULL allowed). */
void handoff_free(struct handoff *h);

#endif
