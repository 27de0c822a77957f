/*
 * http.h - the two listeners on one event loop: the merchant API
 * (HTTPS, h1.c over bufferevent_openssl) and the control API (plain
 * HTTP). Owns the nginx-style pages and the response headers.
 */
#ifndef REDPACK_HTTP_H
#define REDPACK_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "api.h"

struct http_config {
	const char *api_listen; /* "HOST:PORT", port 0 picks one */
	const char *admin_listen;
	const char *admin_token;   /* "" or NULL: none required */
	size_t max_body;	   /* bytes */
	size_t max_headers;	   /* bytes */
	int timeout;		   /* seconds of silence before a connection is closed */
	int request_timeout;	   /* seconds a connection has to deliver each whole request */
	int max_connections;	   /* concurrent API connections; beyond, refused in TLS */
	int admin_max_connections; /* concurrent control connections; beyond, closed at once */
};

struct http_server;

/* Descriptors lingering closes may hold at once (nginx's lingering close:
 * after an answer that ends a connection, what the client still sends is
 * read and dropped for a few seconds, so the close is not a reset). */
#define HTTP_LINGER_MAX 16

/* API connections over --max-connections held at once to be refused in
 * their TLS handshake (or cut at --request-timeout if they never start
 * one). Beyond, the API listener stops accepting until a connection
 * closes: new clients wait in the kernel's backlog. */
#define HTTP_REFUSE_MAX 16

struct handoff;

/* Binds both listeners on the front end's loop; the group commit and the
 * control API run on the store's side of handoff (handoff.h). Returns
 * NULL with a message in err. The server borrows handoff, ssl_ctx, api
 * and admin for its lifetime. */
struct http_server *http_start(struct handoff *handoff, SSL_CTX *ssl_ctx, struct api_ctx *api,
			       struct admin_ctx *admin, const struct http_config *cfg, char *err,
			       size_t errlen);

/* "https://HOST:PORT" and "http://HOST:PORT" of the bound listeners. */
const char *http_api_url(const struct http_server *s);
const char *http_admin_url(const struct http_server *s);

/* 1 when the host of "HOST:PORT" is a loopback address (127.0.0.0/8,
 * ::1, localhost), 0 otherwise, -1 when spec is malformed. */
int http_is_loopback(const char *spec);

/* Marks the store open and the world loaded: /healthz answers 200. */
void http_set_ready(struct http_server *s);

/* On the store's side: commits the open batch and hands its answers to
 * the front end (at the end of the store's thread: handoff_start). */
void http_flush(struct http_server *s);

/* Commits what is held and sends its answers, then closes everything.
 * With a store thread, call it once handoff_stop has joined it. */
void http_stop(struct http_server *s);

#endif
