/*
 * handoff.c - two event loops, one per thread, and the queues between
 * them (handoff.h). libevent is used without its locks: each base has one
 * thread, and only the queues are shared.
 */
#include "handoff.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

struct work {
	struct work *next;
	handoff_fn fn;
	void *arg;
};

/* One side's inbox: what the other side posted, woken through fd. What
 * the other side posts with handoff_post_turn waits in staged (its own
 * thread's, no lock) until publish, on the poster's base, moves it in at
 * the end of the poster's turn. */
struct inbox {
	pthread_mutex_t lock;
	struct work *head, **tail;
	int fd;		    /* eventfd; -1 when the sides share a thread */
	struct event *wake; /* on the side's base */
	struct work *staged, **staged_tail;
	struct event *publish; /* on the other side's base */
};

struct handoff {
	struct event_base *base[2]; /* HANDOFF_FRONT, HANDOFF_STORE */
	struct inbox in[2];
	int threaded; /* 1 while the store's thread runs (or is to run) */
	int started;
	pthread_t thread;
	handoff_fn thread_end; /* on the store's thread, as it ends */
	void *thread_end_arg;
};

/* Runs what is queued now. What is posted meanwhile waits for the next
 * wake (the queue was left empty, so its poster writes the eventfd): the
 * events this work made active (a batch's commit) run first. */
static void inbox_run(struct inbox *in)
{
	pthread_mutex_lock(&in->lock);
	struct work *w = in->head;
	in->head = NULL;
	in->tail = &in->head;
	pthread_mutex_unlock(&in->lock);
	while (w) {
		struct work *next = w->next;
		w->fn(w->arg);
		free(w);
		w = next;
	}
}

static void on_wake(evutil_socket_t fd, short events, void *arg)
{
	uint64_t n;
	(void)events;
	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	inbox_run(arg);
}

/* Appends the list from first (its last link at last) to the inbox and
 * wakes the inbox's side when it was empty (else a wake is already on
 * its way). */
static void inbox_put(struct inbox *in, struct work *first, struct work **last)
{
	pthread_mutex_lock(&in->lock);
	int was_empty = in->head == NULL;
	*in->tail = first;
	in->tail = last;
	pthread_mutex_unlock(&in->lock);
	if (was_empty) {
		uint64_t one = 1;
		while (write(in->fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

static void inbox_publish(struct inbox *in)
{
	if (!in->staged)
		return;
	inbox_put(in, in->staged, in->staged_tail);
	in->staged = NULL;
	in->staged_tail = &in->staged;
}

static void on_publish(evutil_socket_t fd, short events, void *arg)
{
	(void)fd, (void)events;
	inbox_publish(arg);
}

static int inbox_init(struct inbox *in, struct event_base *base, struct event_base *poster,
		      int threaded)
{
	in->head = NULL;
	in->tail = &in->head;
	in->staged = NULL;
	in->staged_tail = &in->staged;
	if (!threaded)
		return 0;
	in->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (in->fd < 0)
		return -1;
	in->wake = event_new(base, in->fd, EV_READ | EV_PERSIST, on_wake, in);
	in->publish = event_new(poster, -1, 0, on_publish, in);
	return in->wake && in->publish && event_add(in->wake, NULL) == 0 ? 0 : -1;
}

static void inbox_release(struct inbox *in)
{
	if (in->publish)
		event_free(in->publish);
	if (in->wake)
		event_free(in->wake);
	if (in->fd >= 0)
		close(in->fd);
	pthread_mutex_destroy(&in->lock);
}

struct handoff *handoff_new(struct event_base *front, int threaded, char *err, size_t errlen)
{
	struct handoff *h = xcalloc(1, sizeof(*h));

	for (int i = 0; i < 2; i++) {
		pthread_mutex_init(&h->in[i].lock, NULL);
		h->in[i].fd = -1;
	}
	h->base[HANDOFF_FRONT] = front;
	h->base[HANDOFF_STORE] = threaded ? event_base_new() : front;
	h->threaded = threaded;
	if (!h->base[HANDOFF_STORE] ||
	    inbox_init(&h->in[HANDOFF_FRONT], front, h->base[HANDOFF_STORE], threaded) != 0 ||
	    inbox_init(&h->in[HANDOFF_STORE], h->base[HANDOFF_STORE], front, threaded) != 0) {
		snprintf(err, errlen, "cannot set up the store's loop: %s", strerror(errno));
		handoff_free(h);
		return NULL;
	}
	return h;
}

struct event_base *handoff_base(const struct handoff *h, enum handoff_side side)
{
	return h->base[side];
}

int handoff_threaded(const struct handoff *h)
{
	return h->threaded;
}

static struct work *work_new(handoff_fn fn, void *arg)
{
	struct work *w = xmalloc(sizeof(*w));
	w->next = NULL;
	w->fn = fn;
	w->arg = arg;
	return w;
}

void handoff_post(struct handoff *h, enum handoff_side to, handoff_fn fn, void *arg)
{
	if (!h->threaded) {
		fn(arg);
		return;
	}
	struct work *w = work_new(fn, arg);
	inbox_put(&h->in[to], w, &w->next);
}

void handoff_post_turn(struct handoff *h, enum handoff_side to, handoff_fn fn, void *arg)
{
	struct inbox *in = &h->in[to];

	if (!h->threaded) {
		fn(arg);
		return;
	}
	struct work *w = work_new(fn, arg);
	if (!in->staged)
		event_active(in->publish, EV_TIMEOUT, 0);
	*in->staged_tail = w;
	in->staged_tail = &w->next;
}

static void *store_main(void *arg)
{
	struct handoff *h = arg;
	event_base_dispatch(h->base[HANDOFF_STORE]);
	if (h->thread_end)
		h->thread_end(h->thread_end_arg);
	return NULL;
}

int handoff_start(struct handoff *h, handoff_fn thread_end, void *arg)
{
	int rc;

	if (!h->threaded)
		return 0;
	h->thread_end = thread_end;
	h->thread_end_arg = arg;
	rc = pthread_create(&h->thread, NULL, store_main, h);
	if (rc != 0) {
		log_error("cannot start the store's thread: %s", strerror(rc));
		return -1;
	}
	h->started = 1;
	return 0;
}

/* On the store's thread, after everything posted before it. */
static void on_stop(void *arg)
{
	struct handoff *h = arg;
	event_base_loopbreak(h->base[HANDOFF_STORE]);
}

void handoff_stop(struct handoff *h)
{
	if (!h || !h->threaded)
		return;
	inbox_publish(&h->in[HANDOFF_STORE]); /* the front's last turn */
	if (h->started) {
		handoff_post(h, HANDOFF_STORE, on_stop, h);
		pthread_join(h->thread, NULL); /* after its thread_end */
		h->started = 0;
	}
	/* One thread from here on: what is posted runs at once. */
	h->threaded = 0;
	handoff_drain(h, HANDOFF_STORE);
}

void handoff_drain(struct handoff *h, enum handoff_side side)
{
	while (h && h->in[side].head)
		inbox_run(&h->in[side]);
}

void handoff_free(struct handoff *h)
{
	if (!h)
		return;
	handoff_stop(h);
	handoff_drain(h, HANDOFF_FRONT);
	int two = h->base[HANDOFF_STORE] != h->base[HANDOFF_FRONT];
	inbox_release(&h->in[HANDOFF_FRONT]);
	inbox_release(&h->in[HANDOFF_STORE]);
	if (two && h->base[HANDOFF_STORE])
		event_base_free(h->base[HANDOFF_STORE]);
	free(h);
}
