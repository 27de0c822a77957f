/*
 * h1.h - HTTP/1.1 on the merchant API port, without evhttp: each request
 * read whole off a (TLS) bufferevent, its head judged by http_head_check,
 * its body by Content-Length or chunked, handed over, and its answer
 * written as one piece. One request at a time per connection, as evhttp
 * and nginx: reading stops until it is answered; a pipelined request
 * waits in the input.
 */
#ifndef REDPACK_H1_H
#define REDPACK_H1_H

#include <stddef.h>
#include <sys/time.h>

#include <event2/bufferevent.h>
#include <event2/util.h>

#include "http_head.h"

struct h1conn;

/* One request, valid during the request callback. */
struct h1_request {
	enum page_id refusal;	   /* PAGE_NONE, or the page its head or body gets */
	int post;		   /* method POST (any other gets a page) */
	int head;		   /* method HEAD: the answer has no body */
	int close;		   /* the answer closes the connection */
	const char *target;	   /* origin form (an absolute target cut to its path) */
	const char *negative_test; /* the header h1_limits.extra_header names, or NULL */
	char *body;		   /* NUL-terminated; the callback may take it (and set NULL) */
	size_t len;
};

struct h1_handler {
	/* A whole request, or a refused one; answer it (h1_answer, h1_drop)
	 * now or later. */
	void (*request)(void *arg, struct h1conn *c, struct h1_request *r);
	/* The connection ends: fd is still open. answered_close: after an
	 * answer that closed it (a lingering close is in order). */
	void (*closing)(void *arg, evutil_socket_t fd, int answered_close);
};

struct h1_limits {
	size_t max_headers;	  /* bytes of a head */
	size_t max_body;	  /* bytes of a body */
	struct timeval idle;	  /* silence (reading or writing) before the close */
	const char *extra_header; /* a header handed over with the request */
};

/* Serves bev (made with BEV_OPT_CLOSE_ON_FREE; freed with the
 * connection). limits and handler are borrowed. */
struct h1conn *h1_new(struct bufferevent *bev, const struct h1_limits *limits,
		      const struct h1_handler *handler, void *arg);

/* Writes the answer to the request in flight, len bytes of status line,
 * headers and body; then reads the next request, or (close) ends the
 * connection once the answer is out. c may be gone when this returns. */
void h1_answer(struct h1conn *c, const void *data, size_t len, int close);

/* Ends the connection without (more of) an answer: a FIN, or with reset
 * a TCP reset. c may be gone when this returns. */
void h1_drop(struct h1conn *c, int reset);

/* nginx skips empty lines before a request line (evhttp does not): drops
 * the CR and LF bytes at the front of in; returns how many. */
size_t h1_skip_blank_lines(struct evbuffer *in);

/* The connection's bufferevent. */
struct bufferevent *h1_bufferevent(const struct h1conn *c);

#endif
