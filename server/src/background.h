/*
 * background.h - work that would hold the event loop too long, done
 * beside it: one function at a time on a thread of its own, its end
 * handed back to the loop; and a step repeated in later turns of the
 * loop, each outside a group-commit batch. The control API runs its
 * invariant check and a merchant's reset through it (admin.c).
 */
#ifndef REDPACK_BACKGROUND_H
#define REDPACK_BACKGROUND_H

struct event_base;
struct store;
struct background;

/* On base; store is the loop's (steps wait for its batch's commit).
 * NULL on failure (logged). background_free (NULL allowed) before the
 * base is freed. */
struct background *background_new(struct event_base *base, struct store *store);

/* Stops everything: a running thread is told to stop (its stop(arg)),
 * joined, and its done(arg) runs here, on the caller's thread; the step
 * is not called again. */
void background_free(struct background *bg);

/* Runs work(arg) on the worker thread, then done(arg) on the loop once
 * work has returned. stop(arg) (NULL: none) may be called from the loop
 * while work runs, to make it return soon. One at a time: -1 while one
 * runs, or when no thread can be started (nothing is called then). */
int background_thread(struct background *bg, void (*work)(void *arg), void (*done)(void *arg),
		      void (*stop)(void *arg), void *arg);

/* 1 while a thread's work or its done is pending. */
int background_busy(const struct background *bg);

/* Calls step(arg) in a later turn of the loop, never while a group-commit
 * batch is open (after its commit instead), and again while it returns
 * a delay >= 0 (milliseconds; 0: the next turn, after the I/O already
 * waiting); -1 ends it. One step at a time: a second call replaces the
 * first. background_kick brings a waiting step forward to the next turn. */
void background_steps(struct background *bg, int (*step)(void *arg), void *arg);
void background_kick(struct background *bg);

#endif
