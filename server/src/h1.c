/*
 * h1.c - HTTP/1.1 on the merchant API port, without evhttp (h1.h).
 *
 * evhttp cost about a third of a SIGN_ERROR answer's instructions
 * (callgrind): a printf per header written, a malloc per header read, a
 * copy of the body, a request object per request. Here a request is one
 * pass of the head check over the buffered bytes, one copy of the body,
 * and its answer one write.
 */
#include "h1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>

#include "tls.h"
#include "util.h"

enum h1_state {
	H1_HEAD,
	H1_BODY,
	H1_CHUNK_SIZE,
	H1_CHUNK_DATA,
	H1_CHUNK_END,
	H1_TRAILER,
	H1_WAIT,    /* a request in flight: what comes waits in the input */
	H1_CLOSING, /* a closing answer is being written */
};

/* Answers queued beyond this (a client pipelining without reading): the
 * next request waits until they are out. */
#define H1_OUTPUT_MAX (256 * 1024)

/* Answers written straight to the socket at most this long: what does
 * not go at once is left to libevent, which offers OpenSSL at most
 * 15,000 bytes again, and OpenSSL wants the same length retried. */
#define H1_DIRECT_MAX 15000

/* A body's room taken at once from its Content-Length at most this big:
 * the rest as it arrives, not for a length only declared. */
#define H1_BODY_ROOM (64 * 1024)

/* Input held while a request is in flight (pipelined requests) beyond
 * which reading stops until the answer. */
#define H1_WAIT_INPUT_MAX (64 * 1024)

/* A chunk-size line (hex digits and extensions) longer than this is a 400. */
#define H1_CHUNK_LINE_MAX 256

struct h1conn {
	struct bufferevent *bev;
	const struct h1_limits *limits;
	const struct h1_handler *handler;
	void *arg;
	enum h1_state state;
	size_t scanned; /* bytes of the head being read known to hold no end */
	size_t want;	/* body (or chunk) bytes still to come */
	size_t trailer; /* bytes of a chunked body's trailer */
	struct buf body;
	char *target;
	char *extra; /* limits->extra_header's value */
	struct h1_request req;
	int busy;	    /* inside a callback of ours: the free waits for its end */
	int dead;	    /* to be freed at that end */
	int discarding;	    /* the client's further bytes are dropped */
	int paused;	    /* reading stopped until queued answers are out */
	int held;	    /* reading stopped until the request in flight is answered */
	int eof;	    /* the client shut its side with a request in flight */
	int broken;	    /* the connection failed while its request was in flight */
	int reset;	    /* end with a TCP reset */
	int answered_close; /* ends after an answer that said close */
};

struct bufferevent *h1_bufferevent(const struct h1conn *c)
{
	return c->bev;
}

/* ---- ending ------------------------------------------------------------- */

static void request_clear(struct h1conn *c)
{
	free(c->target);
	free(c->extra);
	free(c->req.body);
	c->target = c->extra = NULL;
	memset(&c->req, 0, sizeof(c->req));
}

/* A FIN (after the answer, as evhttp and nginx) or a reset, then the
 * socket and the TLS state go with the bufferevent. */
static void finish(struct h1conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	c->handler->closing(c->arg, fd, c->answered_close);
	if (fd >= 0 && c->reset) {
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else if (fd >= 0) {
		shutdown(fd, SHUT_WR);
	}
	bufferevent_free(c->bev);
	request_clear(c);
	buf_release(&c->body);
	free(c);
}

static void end_soon(struct h1conn *c)
{
	if (c->busy)
		c->dead = 1;
	else
		finish(c);
}

static void leave(struct h1conn *c)
{
	if (--c->busy == 0 && c->dead)
		finish(c);
}

/* ---- reading ------------------------------------------------------------ */

size_t h1_skip_blank_lines(struct evbuffer *in)
{
	size_t n = 0;
	const char *first;

	while (evbuffer_get_length(in) > 0 && (first = (const char *)evbuffer_pullup(in, 1)) &&
	       (*first == '\r' || *first == '\n')) {
		evbuffer_drain(in, 1);
		n++;
	}
	return n;
}

/* The request is whole (or refused): no other is read until its answer.
 * Reading stays enabled (what comes waits in the input): a disable and
 * an enable in one turn of the loop still cost libevent an epoll_ctl. */
static void deliver(struct h1conn *c)
{
	c->state = H1_WAIT;
	c->req.target = c->target ? c->target : "";
	c->req.negative_test = c->extra;
	c->req.len = c->body.len;
	c->req.body = buf_detach(&c->body);
	c->handler->request(c->arg, c, &c->req);
	request_clear(c);
}

static void drop_input(struct h1conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The head or body gets page id, and the connection ends after it. */
static int refuse(struct h1conn *c, enum page_id id)
{
	c->discarding = 1;
	drop_input(c);
	buf_reset(&c->body);
	c->req.refusal = id;
	c->req.close = 1;
	deliver(c);
	return 1;
}

/* The request target in origin form: an absolute one (scheme://host/...)
 * cut to its path, as nginx serves it. */
static char *origin_target(const char *p, const struct head *h)
{
	size_t end = h->version_at - 1;
	size_t at = h->path_at ? h->path_at : h->target_at;
	int slash = h->path_at && (at == end || p[at] != '/');
	char *t = xmalloc(end - at + 2);

	t[0] = '/';
	memcpy(t + slash, p + at, end - at);
	t[slash + end - at] = '\0';
	return t;
}

static int read_head(struct h1conn *c, struct evbuffer *in)
{
	const struct h1_limits *l = c->limits;
	struct head h;
	size_t len;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > H1_OUTPUT_MAX) {
		c->paused = 1;
		bufferevent_disable(c->bev, EV_READ);
		return 0;
	}
	if (h1_skip_blank_lines(in))
		c->scanned = 0;
	if ((len = evbuffer_get_length(in)) == 0)
		return 0;
	size_t n = len < l->max_headers + 1 ? len : l->max_headers + 1;
	const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	http_head_check(p, n, len > n, c->scanned, l->max_headers, l->max_body, 1, &h);
	c->scanned = h.scanned;
	if (!h.complete)
		return 0;
	c->scanned = 0;
	if (h.refusal != PAGE_NONE)
		return refuse(c, h.refusal);

	size_t mlen = h.target_at - 1, vlen;
	c->req.post = mlen == 4 && memcmp(p, "POST", 4) == 0;
	c->req.head = mlen == 4 && memcmp(p, "HEAD", 4) == 0;
	/* nginx closes after an HTTP/1.0 answer unless asked to keep alive,
	 * and after a body it did not read. */
	c->req.close = (h.http10 && !h.keep_alive) || h.close || (h.body && !h.body_method);
	c->target = origin_target(p, &h);
	const char *v = l->extra_header ? http_head_value(p, h.end, l->extra_header, &vlen) : NULL;
	if (v)
		c->extra = xstrndup(v, vlen);
	evbuffer_drain(in, h.end);
	buf_reset(&c->body);
	if (!h.body_method || !(h.chunked || h.length > 0)) {
		if (h.body) { /* not read: dropped, and the answer closes */
			c->discarding = 1;
			c->req.close = 1;
		}
		deliver(c);
		return 1;
	}
	if (h.chunked) {
		c->state = H1_CHUNK_SIZE;
	} else {
		c->state = H1_BODY;
		c->want = (size_t)h.length;
		buf_reserve(&c->body, c->want < H1_BODY_ROOM ? c->want : H1_BODY_ROOM);
	}
	/* curl asks before a body over 1 KiB (HTTP/1.1 only). */
	if (h.expect_continue && !h.http10 &&
	    evbuffer_get_length(in) < (h.chunked ? 1 : (size_t)h.length)) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		bufferevent_write(c->bev, cont, sizeof(cont) - 1);
	}
	return 1;
}

/* Moves up to c->want bytes of the input into the body; 1 when all came. */
static int take_body(struct h1conn *c, struct evbuffer *in)
{
	size_t have = evbuffer_get_length(in);
	size_t take = have < c->want ? have : c->want;

	if (take) {
		buf_reserve(&c->body, take);
		evbuffer_remove(in, c->body.data + c->body.len, take);
		c->body.len += take;
		c->body.data[c->body.len] = '\0';
		c->want -= take;
	}
	return c->want == 0;
}

static int read_body(struct h1conn *c, struct evbuffer *in)
{
	if (!take_body(c, in))
		return 0;
	deliver(c);
	return 1;
}

/* A chunk-size line: hex digits, then extensions (ignored). -1: malformed. */
static long long chunk_size(const char *line, size_t n)
{
	long long size = 0;
	size_t i = 0;

	for (; i < n; i++) {
		int d = hex_digit_value(line[i]);
		if (d < 0)
			break;
		if (size > (INT64_MAX >> 4))
			return -1;
		size = size * 16 + d;
	}
	if (i == 0 || (i < n && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
		return -1;
	return size;
}

/* One line of the chunked framing into line (NUL-terminated, without its
 * end); 0: not all here yet, -1: longer than max. */
static int chunk_line(struct evbuffer *in, char *line, size_t max, size_t *len)
{
	size_t eol;
	struct evbuffer_ptr e = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);

	if (e.pos < 0)
		return evbuffer_get_length(in) > max ? -1 : 0;
	if ((size_t)e.pos > max)
		return -1;
	evbuffer_remove(in, line, (size_t)e.pos);
	line[e.pos] = '\0';
	evbuffer_drain(in, eol);
	*len = (size_t)e.pos;
	return 1;
}

static int read_chunks(struct h1conn *c, struct evbuffer *in)
{
	char line[H1_CHUNK_LINE_MAX + 1];
	size_t n;
	int got;

	for (;;) {
		switch (c->state) {
		case H1_CHUNK_SIZE: {
			if ((got = chunk_line(in, line, H1_CHUNK_LINE_MAX, &n)) <= 0)
				return got < 0 ? refuse(c, PAGE_BAD_REQUEST) : 0;
			long long size = chunk_size(line, n);
			if (size < 0)
				return refuse(c, PAGE_BAD_REQUEST);
			if ((unsigned long long)size > c->limits->max_body - c->body.len)
				return refuse(c, PAGE_TOO_LARGE);
			c->want = (size_t)size;
			c->trailer = 0;
			c->state = size ? H1_CHUNK_DATA : H1_TRAILER;
			break;
		}
		case H1_CHUNK_DATA:
			if (!take_body(c, in))
				return 0;
			c->state = H1_CHUNK_END;
			break;
		case H1_CHUNK_END:
			/* The data's line end ("\r" alone may be half of it). */
			if ((got = chunk_line(in, line, 1, &n)) <= 0)
				return got < 0 ? refuse(c, PAGE_BAD_REQUEST) : 0;
			if (n != 0)
				return refuse(c, PAGE_BAD_REQUEST);
			c->state = H1_CHUNK_SIZE;
			break;
		case H1_TRAILER: {
			size_t room = c->limits->max_headers - c->trailer;
			if ((got = chunk_line(in, line,
					      room < H1_CHUNK_LINE_MAX ? room : H1_CHUNK_LINE_MAX,
					      &n)) <= 0)
				return got < 0 ? refuse(c, PAGE_BAD_REQUEST) : 0;
			c->trailer += n + 2;
			if (n == 0) {
				deliver(c);
				return 1;
			}
			if (c->trailer > c->limits->max_headers)
				return refuse(c, PAGE_BAD_REQUEST);
			break;
		}
		default:
			return 0;
		}
	}
}

static void advance(struct h1conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	for (;;) {
		int more = 0;
		if (c->discarding) {
			drop_input(c);
			return;
		}
		switch (c->state) {
		case H1_HEAD:
			more = read_head(c, in);
			break;
		case H1_BODY:
			more = read_body(c, in);
			break;
		case H1_CHUNK_SIZE:
		case H1_CHUNK_DATA:
		case H1_CHUNK_END:
		case H1_TRAILER:
			more = read_chunks(c, in);
			break;
		case H1_WAIT:
			if (evbuffer_get_length(in) > H1_WAIT_INPUT_MAX) {
				c->held = 1;
				bufferevent_disable(c->bev, EV_READ);
			}
			return;
		case H1_CLOSING:
			return;
		}
		if (c->dead)
			return;
		if (!more) {
			/* Waiting for bytes that will not come: the end, once
			 * the answers are out. */
			if (c->eof && c->state != H1_WAIT) {
				c->state = H1_CLOSING;
				c->discarding = 1;
				if (!evbuffer_get_length(bufferevent_get_output(c->bev)))
					c->dead = 1;
				else /* stopped with the EOF; its timeout is the backstop */
					bufferevent_enable(c->bev, EV_WRITE);
			}
			return;
		}
	}
}

/* ---- bufferevent callbacks ---------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
	struct h1conn *c = arg;
	(void)bev;
	c->busy++;
	advance(c);
	leave(c);
}

/* The output is all written. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct h1conn *c = arg;

	c->busy++;
	if (c->state == H1_CLOSING) {
		c->dead = 1;
	} else if (c->paused) {
		c->paused = 0;
		if (c->state != H1_WAIT) {
			bufferevent_enable(bev, EV_READ);
			advance(c);
		}
	}
	leave(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct h1conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) /* the TLS handshake */
		return;
	/* An answer being made: silence is not the client's fault (libevent
	 * stopped reading at the timeout: again). */
	if (c->state == H1_WAIT && (what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING)) {
		bufferevent_enable(bev, EV_READ);
		return;
	}
	/* The client shut its side (a failed write comes as EOF too, with
	 * WRITING: that is a broken connection). libevent stopped reading
	 * and writing; what the client asked is answered first. */
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
		bufferevent_disable(bev, EV_READ);
		c->eof = 1;
		if (c->state == H1_WAIT)
			return;
		if (c->state != H1_CLOSING) {
			/* Bytes read with the EOF reach the read callback after
			 * this one: advance ends the connection once they are
			 * handled (and their answers out). */
			bufferevent_trigger(bev, EV_READ,
					    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(bev))) {
			bufferevent_enable(bev, EV_WRITE); /* its timeout is the backstop */
			return;
		}
	} else if (c->state == H1_WAIT) {
		/* Broken: its answer ends the connection instead. */
		c->broken = 1;
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		return;
	}
	end_soon(c);
}

/* ---- the interface ------------------------------------------------------ */

struct h1conn *h1_new(struct bufferevent *bev, const struct h1_limits *limits,
		      const struct h1_handler *handler, void *arg)
{
	struct h1conn *c = xcalloc(1, sizeof(*c));

	c->bev = bev;
	c->limits = limits;
	c->handler = handler;
	c->arg = arg;
	buf_init(&c->body);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(bev, &limits->idle, &limits->idle);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return c;
}

void h1_answer(struct h1conn *c, const void *data, size_t len, int close)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	c->busy++;
	if (c->broken) {
		c->answered_close = 0;
		c->dead = 1;
		leave(c);
		return;
	}
	/* Straight to the socket when nothing is queued before it: the
	 * bufferevent would first wait for the socket to be reported
	 * writable (an epoll_ctl each way and a turn of the loop). */
	if (evbuffer_get_length(out) || !ssl || len > H1_DIRECT_MAX ||
	    !tls_write_whole(ssl, data, len))
		bufferevent_write(c->bev, data, len);
	if (c->eof && evbuffer_get_length(out)) /* libevent stopped writing at the EOF */
		bufferevent_enable(c->bev, EV_WRITE);
	if (close) {
		c->state = H1_CLOSING;
		c->answered_close = 1;
		c->discarding = 1;
		drop_input(c);
		if (!c->eof) /* to drop what comes, and see the EOF */
			bufferevent_enable(c->bev, EV_READ);
		if (evbuffer_get_length(out) == 0)
			c->dead = 1;
	} else {
		c->state = H1_HEAD;
		if (c->held && !c->paused && !c->eof)
			bufferevent_enable(c->bev, EV_READ);
		c->held = 0;
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) || c->eof)
			bufferevent_trigger(c->bev, EV_READ,
					    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
	leave(c);
}

void h1_drop(struct h1conn *c, int reset)
{
	c->reset = reset;
	c->answered_close = 0;
	end_soon(c);
}
