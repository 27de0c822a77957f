/*
 * transport_faults.c - held-back answers and broken connections.
 */
#include "transport_faults.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

/* An answer held back by a fault: freed when it is sent, or when the
 * connection closes first (the close callback). */
struct transport_fault {
	const struct transport_fault_front *front;
	void *conn_state;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct event *timer;
	enum fault_transport kind;
	struct buf reply;
};

static void fault_free(struct transport_fault *p)
{
	p->front->released(p->conn_state);
	event_free(p->timer);
	buf_release(&p->reply);
	free(p);
}

/* The connection went first. A request evhttp has let go of (the client
 * closed while a started answer, as the truncated one, was being
 * written) is ours to free; one still on the connection is evhttp's. */
void transport_fault_closed(struct transport_fault *p)
{
	if (evhttp_request_get_connection(p->req) == NULL)
		evhttp_request_free(p->req);
	fault_free(p);
}

/* Ends the connection without an answer; with linger 0 the kernel sends
 * a TCP reset instead of a FIN. */
static void drop_connection(struct transport_fault *p, int reset)
{
	struct evhttp_connection *conn = p->conn;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (reset && fd >= 0) {
		/* evhttp shuts the write side (a FIN) before it closes, and a FIN
		 * first would read as a clean close. So the socket is closed
		 * here, with linger 0 (a reset), by putting /dev/null over its
		 * descriptor: evhttp's shutdown and close then touch that. */
		struct linger lg = {1, 0};
		int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (null_fd >= 0) {
			dup2(null_fd, fd);
			close(null_fd);
		}
	}
	fault_free(p);
	evhttp_connection_free(conn);
}

static void on_truncated_written(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	drop_connection(arg, 0);
}

static void on_fault_timer(evutil_socket_t fd, short events, void *arg)
{
	struct transport_fault *p = arg;
	(void)fd, (void)events;

	switch (p->kind) {
	case FAULT_DELAY:
		p->front->answer(p->conn_state, p->req, &p->reply);
		fault_free(p);
		break;
	case FAULT_RESET:
		drop_connection(p, 1);
		break;
	case FAULT_TRUNCATE: {
		/* Headers promise the whole body; half of it arrives. */
		p->front->headers(p->req, "text/plain", p->reply.len, 0);
		evhttp_send_reply_start(p->req, 200, "OK");
		struct evbuffer *half = evbuffer_new();
		evbuffer_add(half, p->reply.data, p->reply.len / 2);
		evhttp_send_reply_chunk_with_cb(p->req, half, on_truncated_written, p);
		evbuffer_free(half);
		break;
	}
	default: /* FAULT_EMPTY, FAULT_HANG (at its cap) */
		drop_connection(p, 0);
		break;
	}
}

struct transport_fault *transport_fault_start(struct event_base *base,
					      const struct transport_fault_front *front, void *conn,
					      struct evhttp_request *req, enum fault_transport kind,
					      int delay_ms, const struct buf *reply)
{
	struct transport_fault *p = xcalloc(1, sizeof(*p));
	struct timeval when = {0, 0};

	p->front = front;
	p->conn_state = conn;
	p->req = req;
	p->conn = evhttp_request_get_connection(req);
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
