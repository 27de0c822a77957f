/*
 * transport_faults.c - held-back answers and broken connections.
 */
#include "transport_faults.h"

#include <stdlib.h>

/* An answer held back by a fault: freed when it is carried out, or when
 * the connection closes first. */
struct transport_fault {
	const struct transport_fault_front *front;
	void *conn;
	struct event *timer;
	enum fault_transport kind;
	struct buf reply;
};

static void fault_free(struct transport_fault *p)
{
	p->front->released(p->conn);
	event_free(p->timer);
	buf_release(&p->reply);
	free(p);
}

void transport_fault_closed(struct transport_fault *p)
{
	fault_free(p);
}

static void on_fault_timer(evutil_socket_t fd, short events, void *arg)
{
	struct transport_fault *p = arg;
	const struct transport_fault_front *front = p->front;
	void *conn = p->conn;
	enum fault_transport kind = p->kind;
	struct buf reply = p->reply;
	(void)fd, (void)events;

	/* The front end may end the connection, which must find nothing held. */
	buf_init(&p->reply);
	fault_free(p);
	switch (kind) {
	case FAULT_DELAY:
		front->answer(conn, &reply);
		break;
	case FAULT_TRUNCATE:
		front->truncate(conn, &reply);
		break;
	case FAULT_RESET:
		front->drop(conn, 1);
		break;
	default: /* FAULT_EMPTY, FAULT_HANG (at its cap) */
		front->drop(conn, 0);
		break;
	}
	buf_release(&reply);
}

struct transport_fault *transport_fault_start(struct event_base *base,
					      const struct transport_fault_front *front, void *conn,
					      enum fault_transport kind, int delay_ms,
					      const struct buf *reply)
{
	struct transport_fault *p = xcalloc(1, sizeof(*p));
	struct timeval when = {0, 0};

	p->front = front;
	p->conn = conn;
	p->kind = kind;
	buf_init(&p->reply);
	buf_append(&p->reply, reply->data ? reply->data : "", reply->len);
	p->timer = evtimer_new(base, on_fault_timer, p);
	if (kind == FAULT_DELAY) {
		when.tv_sec = delay_ms / 1000;
		when.tv_usec = (delay_ms % 1000) * 1000;
	} else if (kind == FAULT_HANG) {
		when.tv_sec = 600; /* then the connection is dropped */
	}
	event_base_update_cache_time(base); /* count the delay from now, not the loop's start */
	evtimer_add(p->timer, &when);
	return p;
}
