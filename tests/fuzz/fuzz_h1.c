/*
 * fuzz_h1.c - the API port's HTTP/1.1 (h1.c) fed hostile bytes over a
 * bufferevent pair. The first byte of an input sets the size of the
 * pieces the rest arrives in, the second how requests are answered (at
 * once, or on the next turn of the loop as after a group commit) and
 * whether the client shuts its side at the end. Every request handed
 * over must be whole (its body NUL-terminated at its length, within the
 * limit unless refused); the connection must end or wait, never crash,
 * leak or answer twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct h1_limits limits = {
	.max_headers = 1024,
	.max_body = 4096,
	.idle = {3600, 0}, /* never within a run */
	.extra_header = "Wechatpay-Negative-Test",
};

struct run {
	struct event_base *base;
	struct h1conn *conn;
	int later;	/* answer on the next turn */
	int in_flight;	/* a request handed over, not answered yet */
	int close_next; /* that answer closes */
	int ended;
};

static void answer(struct run *run)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	run->in_flight = 0;
	h1_answer(run->conn, ok, sizeof(ok) - 1, run->close_next);
}

static void on_later(evutil_socket_t fd, short events, void *arg)
{
	(void)fd, (void)events;
	answer(arg);
}

static void on_request(void *arg, struct h1conn *c, struct h1_request *r)
{
	struct run *run = arg;
	static const struct timeval now = {0, 0};

	if (run->in_flight || c != run->conn || !r->body || r->body[r->len] != '\0' || !r->target ||
	    (r->refusal == PAGE_NONE && r->len > limits.max_body))
		abort();
	run->in_flight = 1;
	run->close_next = r->close || r->refusal != PAGE_NONE;
	if (run->later && r->refusal == PAGE_NONE)
		event_base_once(run->base, -1, EV_TIMEOUT, on_later, run, &now);
	else
		answer(run);
}

static void on_closing(void *arg, evutil_socket_t fd, int answered_close)
{
	struct run *run = arg;
	(void)fd, (void)answered_close;
	if (run->ended)
		abort();
	run->ended = 1;
}

static const struct h1_handler handler = {on_request, on_closing};

static void turn(struct run *run, struct bufferevent *client)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(run->base, EVLOOP_NONBLOCK);
	/* The answers are read and dropped, as a client would. */
	struct evbuffer *in = bufferevent_get_input(client);
	evbuffer_drain(in, evbuffer_get_length(in));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run = {0};
	struct bufferevent *pair[2];

	if (size < 2)
		return 0;
	size_t piece = data[0] ? data[0] : 1;
	run.later = data[1] & 1;
	int half_close = data[1] & 2;
	data += 2;
	size -= 2;

	run.base = event_base_new();
	if (!run.base || bufferevent_pair_new(run.base, BEV_OPT_DEFER_CALLBACKS, pair) != 0)
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	run.conn = h1_new(pair[0], &limits, &handler, &run);
	for (size_t at = 0; at < size && !run.ended; at += piece) {
		size_t n = size - at < piece ? size - at : piece;
		bufferevent_write(pair[1], data + at, n);
		turn(&run, pair[1]);
	}
	if (half_close && !run.ended) {
		bufferevent_flush(pair[1], EV_WRITE, BEV_FINISHED);
		turn(&run, pair[1]);
	}
	turn(&run, pair[1]);
	if (run.in_flight) /* answered on the turn after it came: never left */
		abort();
	if (!run.ended)
		h1_drop(run.conn, 0);
	bufferevent_free(pair[1]);
	event_base_free(run.base);
	return 0;
}
