/*
 * background.c - a worker thread whose end is signalled through a pipe
 * (the loop's libevent is built without locks: no other thread touches
 * it), and a stepper on a timer. libevent and pthreads stay in here.
 */
#define _GNU_SOURCE /* pipe2 */
#include "background.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "sqlite_mem.h"
#include "store.h"
#include "util.h"

struct background {
	struct store *store;
	/* the worker thread */
	int pipe[2];	     /* the thread writes one byte when work returned */
	struct event *ended; /* the read end, on the loop */
	pthread_t thread;
	int running; /* started, done not yet called */
	void (*work)(void *arg), (*done)(void *arg), (*stop)(void *arg);
	void *arg;
	/* the stepper */
	struct event *next;
	int (*step)(void *arg);
	void *step_arg;
};

/* ---- the worker thread ------------------------------------------------- */

static void *thread_main(void *arg)
{
	struct background *bg = arg;
	char one = 1;

	bg->work(bg->arg);
	sqlite_mem_thread_release();
	while (write(bg->pipe[1], &one, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Joins the thread and calls done (once). */
static void finish(struct background *bg)
{
	void (*done)(void *arg) = bg->done;

	pthread_join(bg->thread, NULL);
	bg->running = 0;
	done(bg->arg);
}

static void on_ended(evutil_socket_t fd, short events, void *arg)
{
	struct background *bg = arg;
	char byte;
	(void)events;

	while (read(fd, &byte, 1) < 0 && errno == EINTR)
		;
	if (bg->running)
		finish(bg);
}

int background_thread(struct background *bg, void (*work)(void *arg), void (*done)(void *arg),
		      void (*stop)(void *arg), void *arg)
{
	if (bg->running)
		return -1;
	bg->work = work;
	bg->done = done;
	bg->stop = stop;
	bg->arg = arg;
	if (pthread_create(&bg->thread, NULL, thread_main, bg) != 0) {
		log_error("background: cannot start a thread");
		return -1;
	}
	bg->running = 1;
	return 0;
}

int background_busy(const struct background *bg)
{
	return bg->running;
}

/* ---- the stepper ------------------------------------------------------- */

static void on_next(evutil_socket_t fd, short events, void *arg)
{
	struct background *bg = arg;
	int delay;
	(void)fd, (void)events;

	if (!bg->step)
		return;
	if (store_batch_open(bg->store)) {
		/* Active again now: this turn's commit is already queued, so
		 * the step comes right after it. */
		event_active(bg->next, EV_TIMEOUT, 0);
		return;
	}
	delay = bg->step(bg->step_arg);
	if (delay < 0) {
		bg->step = NULL;
		return;
	}
	/* A timer, even of 0: the loop polls its sockets before it fires. */
	struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
	evtimer_add(bg->next, &tv);
}

void background_steps(struct background *bg, int (*step)(void *arg), void *arg)
{
	bg->step = step;
	bg->step_arg = arg;
	background_kick(bg);
}

void background_kick(struct background *bg)
{
	static const struct timeval now = {0, 0};

	if (bg->step)
		evtimer_add(bg->next, &now);
}

/* ---- life -------------------------------------------------------------- */

struct background *background_new(struct event_base *base, struct store *store)
{
	struct background *bg = xcalloc(1, sizeof(*bg));

	bg->store = store;
	bg->pipe[0] = bg->pipe[1] = -1;
	if (pipe2(bg->pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    !(bg->ended = event_new(base, bg->pipe[0], EV_READ | EV_PERSIST, on_ended, bg)) ||
	    event_add(bg->ended, NULL) != 0 || !(bg->next = evtimer_new(base, on_next, bg))) {
		log_error("background: cannot set up (%s)", strerror(errno));
		background_free(bg);
		return NULL;
	}
	return bg;
}

void background_free(struct background *bg)
{
	if (!bg)
		return;
	if (bg->running) {
		if (bg->stop)
			bg->stop(bg->arg);
		finish(bg);
	}
	bg->step = NULL;
	if (bg->ended)
		event_free(bg->ended);
	if (bg->next)
		event_free(bg->next);
	for (int i = 0; i < 2; i++)
		if (bg->pipe[i] >= 0)
			close(bg->pipe[i]);
	free(bg);
}
