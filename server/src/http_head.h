/*
 * http_head.h - a request head judged as nginx would, from the raw bytes:
 * which of the front end's pages a request gets, and what reading it and
 * answering it need (h1.c on the API port; on the control port, before
 * evhttp parses it: libevent 2.1 writes its own pages for what it
 * refuses, and keeps only the part of a header value before a NUL).
 */
#ifndef REDPACK_HTTP_HEAD_H
#define REDPACK_HTTP_HEAD_H

#include <stddef.h>

/* The pages the front end writes itself (http.c has their texts). */
enum page_id {
	PAGE_NONE,
	PAGE_BAD_REQUEST,
	PAGE_HEADER_TOO_LARGE,
	PAGE_TOO_LARGE,
	PAGE_PLAIN_HTTP,
	PAGE_NO_CERT,
	PAGE_CERT_ERROR,
	PAGE_NOT_FOUND,
	PAGE_NOT_ALLOWED,
	PAGE_BUSY,
	PAGE_BAD_GATEWAY,
	PAGE_NOT_IMPLEMENTED,
};

/* What one request head says. */
struct head {
	int complete;
	size_t scanned;	      /* how far the search for the end got */
	enum page_id refusal; /* PAGE_NONE: it may be served */
	size_t version_at;    /* offset of "HTTP/1.x" in the request line */
	size_t line_len;      /* of the request line, without its line end */
	size_t target_at;     /* offset of the target */
	size_t path_at;	      /* of its path, when the target is absolute (0: it is not) */
	int http10;
	int keep_alive;	       /* Connection: keep-alive */
	int close;	       /* Connection: close */
	int body;	       /* declares a body (Content-Length > 0, chunked) */
	int body_method;       /* a body is read for it (POST, PUT, PATCH) */
	size_t end;	       /* the head's length, its empty line included */
	long long length;      /* Content-Length, -1 when absent */
	int chunked;	       /* Transfer-Encoding: chunked */
	int transfer_encoding; /* a Transfer-Encoding header, whatever it says */
	int expect_continue;   /* Expect: 100-continue */
};

/* nginx's merge_slashes, %XX decoding and ./.. resolution of a request
 * target, into out (strlen(target) + 2 bytes). A query is dropped.
 * Returns -1 where nginx answers 400: a decoded NUL, a bad escape, a
 * path that climbs above the root, a target that is not a path. */
int http_normalize_path(const char *target, char *out);

/* The value of the first header called name (any case) in the complete
 * head p[0..end), trimmed, its length in *len; NULL when there is none. */
const char *http_head_value(const char *p, size_t end, const char *name, size_t *len);

/* Reads the head at the front of p[0..n) (more: bytes beyond n exist),
 * searching for its end from `from`, into *h: complete once its end is
 * seen or it is refused; refusal the page it gets (PAGE_NONE: it may be
 * served). A NUL anywhere in it is refused before the end is even seen;
 * a head over max_headers is PAGE_HEADER_TOO_LARGE, a Content-Length over
 * max_body PAGE_TOO_LARGE; api: the API port (its paths as nginx's). */
void http_head_check(const char *p, size_t n, int more, size_t from, size_t max_headers,
		     size_t max_body, int api, struct head *h);

#endif
