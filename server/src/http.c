/*
 * http.c - listeners, the route tables, nginx pages and headers.
 */
#include "http.h"
#include "http_head.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/rand.h>

#include "api.h"
#include "faults.h"
#include "h1.h"
#include "handoff.h"
#include "kv.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "tls.h"
#include "transport_faults.h"
#include "util.h"

struct http_server {
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	SSL_CTX *refuse_ctx; /* no certificate: every handshake on it fails */
	struct api_ctx *api;
	struct admin_ctx *admin;
	struct evhttp *admin_http;
	struct h1_limits api_limits;
	struct conn *api_conns; /* every open API connection */
	char api_url[128];
	char admin_url[128];
	char *admin_token;
	int ready;
	int stopping;
	int max_connections;
	int admin_max_connections;
	size_t max_body;
	size_t max_headers;
	struct timeval request_timeout;
	struct event *accept_pause; /* re-enables the listeners after EMFILE */
	int accept_paused;	    /* an episode of failing accepts is on */
	unsigned long accept_failures;
	struct evconnlistener *listeners[2];
	struct conn *admin_conns; /* every open control connection */
	int admin_open;		  /* of those, the ones under the cap */
	struct http_server *next; /* the registry the listeners' error callback searches */
	/* The store's side (handoff.h): on a thread of its own with
	 * PostgreSQL, the front end's own loop with SQLite. Group commit:
	 * answers held there until the batch holding their rows is
	 * committed, in the store loop's turn after the batch opened. */
	struct handoff *handoff;
	struct event *flush; /* on the store's base */
	struct held *held, **held_tail;
};

/* An API request on its way to the store's side and back, its answer
 * held there until its batch's commit. The front end copies what the
 * pipeline reads; the store's side never touches conn, which stays until
 * the answer (h1.c reads nothing more from it meanwhile). */
struct held {
	struct held *next;
	struct http_server *server;
	struct conn *conn;
	/* the request (copies) */
	const struct endpoint *ep;
	char *body;
	size_t len;
	char *negative_test; /* NULL: no such header */
	char peer[64];
	struct fault_decision fault; /* a transport fault: carried out after the commit */
	/* the answer */
	int use_fallback; /* its rows were not kept: the fallback goes */
	struct buf reply;
	struct buf fallback; /* the answer if the commit fails; empty: same */
	/* For the log line and the latency (api_answered). */
	struct api_outcome outcome;
	uint64_t start_us;
	char request_id[33];
	char client[64];
	char cn[STORE_ID_MAX];
};

/* The pages the front end writes itself, one row each (enum page_id:
 * http_head.h). nginx closes the connection after its 400 and 413 pages;
 * admin_error is what the control port (JSON) says instead of a page. */

struct page {
	int code;
	const char *reason; /* the status line's */
	const char *status; /* the h1 line */
	const char *detail; /* title and second line ("400 ..."), or NULL */
	int close;
	const char *admin_error;
};

/* clang-format off */
static const struct page pages[] = {
	[PAGE_BAD_REQUEST] = {400, "Bad Request", "400 Bad Request", NULL, 1,
			      "malformed request"},
	[PAGE_HEADER_TOO_LARGE] = {400, "Bad Request", "400 Bad Request",
				   "400 Request Header Or Cookie Too Large", 1,
				   "request header block over --max-headers"},
	[PAGE_TOO_LARGE] = {413, "Request Entity Too Large", "413 Request Entity Too Large", NULL, 1,
			    "request body over --max-body"},
	[PAGE_PLAIN_HTTP] = {400, "Bad Request", "400 Bad Request",
			     "400 The plain HTTP request was sent to HTTPS port", 1, NULL},
	[PAGE_NO_CERT] = {400, "Bad Request", "400 Bad Request",
			  "400 No required SSL certificate was sent", 1, NULL},
	[PAGE_CERT_ERROR] = {400, "Bad Request", "400 Bad Request", "400 The SSL certificate error", 1,
			     NULL},
	[PAGE_NOT_FOUND] = {404, "Not Found", "404 Not Found", NULL, 0, NULL},
	[PAGE_NOT_ALLOWED] = {405, "Not Allowed", "405 Not Allowed", NULL, 0, NULL},
	[PAGE_BUSY] = {503, "Service Temporarily Unavailable", "503 Service Temporarily Unavailable",
		       NULL, 0, NULL},
	[PAGE_BAD_GATEWAY] = {502, "Bad Gateway", "502 Bad Gateway", NULL, 0, NULL},
	[PAGE_NOT_IMPLEMENTED] = {501, "Not Implemented", "501 Not Implemented", NULL, 1,
				  "Transfer-Encoding other than chunked"},
};
/* clang-format on */

/* Per connection, on both ports: the deadline for its next whole request
 * (so a client trickling bytes cannot hold it open for ever); on the
 * control port, the check of each request head before evhttp parses it.
 * An API connection's hangs off its SSL object and is freed with it; a
 * control connection's is freed by the connection's close callback. */
struct conn {
	struct http_server *server;
	struct bufferevent *bev;
	struct h1conn *h1;	     /* API: its HTTP (NULL once it ends) */
	char client[64];	     /* API: "ip:port" */
	char peer[INET6_ADDRSTRLEN]; /* API: the ip */
	int head_method;	     /* API: the request in flight is a HEAD */
	struct event *deadline;
	struct event *attach;		 /* control port: finds the evhttp connection */
	struct evbuffer_cb_entry *watch; /* on the input buffer */
	struct transport_fault *pending; /* an answer held back by a fault */
	char fault_rid[33];		 /* its Request-Id, as logged */
	int handshake_done;		 /* API: the TLS handshake completed */
	/* API: the client certificate's verdict and CN, read from the SSL
	 * at the first request: neither can change on a connection (no
	 * renegotiation, no post-handshake authentication). */
	int peer_known;
	enum cert_state peer_state;
	char peer_cn[STORE_ID_MAX];
	struct conn *next, **prevp; /* s->admin_conns or s->api_conns */
	int admin;
	int counted;	      /* under the cap (counted in admin_open / open_connections) */
	int head_pending;     /* the next request head has not been checked yet */
	size_t scanned;	      /* bytes of that head known to hold no end */
	int editing;	      /* our own edits of the input are not inspected */
	int discarding;	      /* the client's further bytes are dropped */
	size_t keep;	      /* bytes of the stand-in request still at the input's front */
	enum page_id refusal; /* a refused head: the page its request gets */
	int close_after;      /* answer with Connection: close */
	int linger;	      /* after the close, read and drop what the client still sends */
};

static int conn_index = -1;

/* Open API connections (each with a struct conn). File scope, not in
 * struct http_server: libevent may free a connection's SSL after the
 * server struct is gone (deferred frees at shutdown). */
static int open_connections;

/* API connections over the cap, being refused (each with a struct conn,
 * counted 0). At max_connections + HTTP_REFUSE_MAX open in all, the API
 * listener is paused (api_full, file scope like the count) and enabled
 * again by the close that brings the total under. */
static int refused_connections;
static struct evconnlistener *api_full;
static int api_accept_limit;

/* Servers, for the listeners' error callback: libevent hands it the
 * evhttp's own argument, not ours. */
static struct http_server *servers;

/* What evhttp parses in place of a refused head: no body, so nothing
 * more of the client's is read. Its request is answered with the page. */
static const char stand_in[] = "GET / HTTP/1.1\r\n\r\n";

/* ---- nginx pages ------------------------------------------------------- */

/* nginx's built-in error page, CRLF line ends as nginx writes them. */
static void nginx_page(struct buf *out, const char *status, const char *detail)
{
	buf_printf(out,
		   "<html>\r\n<head><title>%s</title></head>\r\n<body bgcolor=\"white\">\r\n"
		   "<center><h1>%s</h1></center>\r\n",
		   detail ? detail : status, status);
	if (detail)
		buf_printf(out, "<center>%s</center>\r\n", detail + 4);
	buf_puts(out, "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
}

/* ---- replies ----------------------------------------------------------- */

static void http_date(char *out, size_t len)
{
	static __thread time_t cached_at = (time_t)-1; /* formatted once a second */
	static __thread char cached[40];
	time_t now = time(NULL);

	if (now != cached_at) {
		struct tm tm;
		gmtime_r(&now, &tm);
		if (strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
			cached[0] = '\0';
		cached_at = now;
	}
	str_copy_cut(out, len, cached);
}

/* 32 hex digits that look random and never repeat within a run: a
 * splitmix64 stream seeded once from the system's generator (asking
 * OpenSSL's DRBG for every answer cost a lock and a getpid each time).
 * Both loops draw from it: the step is atomic. */
static uint64_t request_id_state;

static void request_id_seed(void)
{
	static int seeded;
	if (seeded)
		return;
	if (RAND_bytes((unsigned char *)&request_id_state, sizeof(request_id_state)) != 1)
		request_id_state = (uint64_t)time(NULL);
	seeded = 1;
}

static uint64_t request_id_next(void)
{
	uint64_t z = __atomic_add_fetch(&request_id_state, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void request_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t half[2] = {request_id_next(), request_id_next()};
	for (int i = 0; i < 32; i++)
		out[i] = hex[(half[i / 16] >> (4 * (15 - i % 16))) & 15];
	out[32] = '\0';
}

struct header {
	const char *name;
	const char *value; /* a constant, or own */
	char own[48];
};

/* n in decimal into out[24]; returns out. */
static const char *decimal(char out[24], size_t n)
{
	char *p = out + 23;
	*p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	return p;
}

/* The front end's headers, in the order the real host wrote them
 * (spec 2.2), for a body of len bytes, with Request-Id rid (NULL: a new
 * one). Returns how many. */
static int front_headers(struct header h[7], const char *content_type, size_t len, int close,
			 const char *rid)
{
	int n = 0;

	/* Constants where they can be: this runs for every answer. */
	h[n].name = "Server";
	h[n++].value = "nginx";
	h[n].name = "Date";
	http_date(h[n].own, sizeof(h->own));
	h[n].value = h[n].own;
	n++;
	h[n].name = "Content-Type";
	h[n++].value = content_type;
	h[n].name = "Content-Length";
	h[n].value = decimal(h[n].own, len);
	n++;
	h[n].name = "Connection";
	h[n++].value = close ? "close" : "keep-alive";
	if (!close) {
		h[n].name = "Keep-Alive";
		h[n++].value = "timeout=8";
	}
	h[n].name = "Request-Id";
	if (rid)
		memcpy(h[n].own, rid, 33);
	else
		request_id(h[n].own);
	h[n].value = h[n].own;
	n++;
	return n;
}

static void add_headers_rid(struct evhttp_request *req, const char *content_type, size_t len,
			    int close, const char *rid)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct header h[7];
	int n = front_headers(h, content_type, len, close, rid);

	for (int i = 0; i < n; i++)
		evhttp_add_header(out, h[i].name, h[i].value);
}

static void conn_answered(struct conn *c, int close);

/* A control answer with the front end's headers, Request-Id rid (NULL:
 * a new one). close asks evhttp to drop the connection afterwards; so
 * does a head that asked for it (c). */
static void send_reply(struct conn *c, struct evhttp_request *req, int code, const char *reason,
		       const char *content_type, const struct buf *body, int close, const char *rid)
{
	if (c && c->close_after)
		close = 1;
	if (close) /* ours says so; evhttp would move the client's to the end */
		evhttp_remove_header(evhttp_request_get_input_headers(req), "Connection");
	add_headers_rid(req, content_type, body->len, close, rid);
	evbuffer_add(evhttp_request_get_output_buffer(req), body->data ? body->data : "",
		     body->len);
	if (c)
		conn_answered(c, close);
	evhttp_send_reply(req, code, reason, NULL);
}

static void buf_put2(struct buf *b, const char *s1, const char *s2)
{
	size_t n1 = strlen(s1), n2 = strlen(s2);
	buf_reserve(b, n1 + n2);
	memcpy(b->data + b->len, s1, n1);
	memcpy(b->data + b->len + n1, s2, n2);
	b->len += n1 + n2;
	b->data[b->len] = '\0';
}

/* An API answer's bytes: status line, the front end's headers (for a
 * body of length bytes) and body as one piece, one write (h1.c); a HEAD
 * request's without the body. c may be gone afterwards. */
static void api_write(struct conn *c, int code, const char *reason, const char *content_type,
		      size_t length, const struct buf *body, int close_header, int close,
		      const char *rid)
{
	struct header h[7];
	struct buf out;
	char num[24];
	int n = front_headers(h, content_type, length, close_header, rid);

	buf_init(&out);
	buf_reserve(&out, 320 + body->len);
	buf_put2(&out, "HTTP/1.1 ", decimal(num, (size_t)code));
	buf_put2(&out, " ", reason);
	for (int i = 0; i < n; i++) {
		buf_put2(&out, "\r\n", h[i].name);
		buf_put2(&out, ": ", h[i].value);
	}
	buf_puts(&out, "\r\n\r\n");
	if (!c->head_method)
		buf_append(&out, body->data ? body->data : "", body->len);
	h1_answer(c->h1, out.data, out.len, close);
	buf_release(&out);
}

/* An API answer, Request-Id rid (NULL: a new one). It closes the
 * connection when close says so or the request asked; else the deadline
 * for the next request starts. c may be gone afterwards. */
static void api_send(struct conn *c, int code, const char *reason, const char *content_type,
		     const struct buf *body, int close, const char *rid)
{
	if (!c->h1)
		return;
	close |= c->close_after;
	if (close)
		c->linger = 1; /* nginx's lingering close */
	else
		evtimer_add(c->deadline, &c->server->request_timeout);
	api_write(c, code, reason, content_type, body->len, body, close, close, rid);
}

static void send_page(struct conn *c, enum page_id id, const char *rid)
{
	const struct page *pg = &pages[id];
	struct buf page;
	buf_init(&page);
	nginx_page(&page, pg->status, pg->detail);
	api_send(c, pg->code, pg->reason, "text/html", &page, pg->close, rid);
	buf_release(&page);
}

/* ---- log fields ---------------------------------------------------------- */

/* Microseconds on the monotonic clock, for latencies. */
static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* "ip:port" ("[v6]:port") into out[64], without printf (once a request). */
static void format_client(char out[64], const char *ip, unsigned port)
{
	size_t n = ip ? strnlen(ip, 45) : 0, o = 0;
	char num[6], *p = num + sizeof(num);
	int v6 = n && memchr(ip, ':', n) != NULL;

	if (!n) {
		out[0] = '\0';
		return;
	}
	if (v6)
		out[o++] = '[';
	memcpy(out + o, ip, n);
	o += n;
	if (v6)
		out[o++] = ']';
	out[o++] = ':';
	do
		*--p = (char)('0' + port % 10);
	while (port /= 10);
	memcpy(out + o, p, (size_t)(num + sizeof(num) - p));
	o += (size_t)(num + sizeof(num) - p);
	out[o] = '\0';
}

static void request_client(struct evhttp_request *req, char out[64])
{
	char *peer = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);

	if (conn)
		evhttp_connection_get_peer(conn, &peer, &port);
	format_client(out, peer, port);
}

/* The client of a socket (for refusals before any request). */
static void socket_client(evutil_socket_t fd, char out[64])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	out[0] = '\0';
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	}
	format_client(out, ip, port);
}

/* A page the API port answered ("http.error"): status, its line, and
 * what is known of the request. The certificate pages count as refusals. */
static void log_page(const struct conn *c, enum page_id id, const char *rid, const char *path,
		     const char *cn, const char *why)
{
	const struct page *pg = &pages[id];
	struct log_event e;

	if (id == PAGE_NO_CERT)
		metrics_tls_refused(TLS_REFUSED_NO_CERTIFICATE);
	else if (id == PAGE_CERT_ERROR)
		metrics_tls_refused(TLS_REFUSED_UNTRUSTED);
	if (!log_enabled(LOG_INFO))
		return;
	log_begin(&e, LOG_INFO, "http.error");
	log_str(&e, "port", "api");
	log_int(&e, "status", pg->code);
	log_str(&e, "reason", pg->detail ? pg->detail + 4 : pg->status + 4);
	log_str(&e, "why", why);
	if (path)
		log_strn(&e, "path", path, 256);
	log_str(&e, "request_id", rid);
	log_str(&e, "client", c->client);
	log_str(&e, "cert_cn", cn);
	log_end(&e);
}

/* ---- request heads ------------------------------------------------------ */

/* Drops what the client sends after a refused head or before a close,
 * keeping the stand-in request at the front until evhttp has read it. */
static void discard_input(struct conn *c, struct evbuffer *in)
{
	char keep[sizeof(stand_in)];
	size_t len = evbuffer_get_length(in);

	if (len <= c->keep)
		return;
	c->editing = 1;
	evbuffer_remove(in, keep, c->keep);
	evbuffer_drain(in, len - c->keep);
	evbuffer_prepend(in, keep, c->keep);
	c->editing = 0;
}

/* The head is refused: evhttp gets a stand-in request instead, which the
 * request callback answers with the page (and then the connection ends). */
static void refuse_head(struct conn *c, struct evbuffer *in, enum page_id id)
{
	c->editing = 1;
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_prepend(in, stand_in, sizeof(stand_in) - 1);
	c->editing = 0;
	c->keep = sizeof(stand_in) - 1;
	c->discarding = 1;
	c->refusal = id;
	c->close_after = 1;
}

/* Control port: looks at the head at the front of the input; until it is
 * whole evhttp is kept from it (the read low-watermark). */
static void inspect_head(struct conn *c, struct evbuffer *in)
{
	struct http_server *s = c->server;
	struct head h;
	size_t len;

	c->editing = 1;
	if (h1_skip_blank_lines(in))
		c->scanned = 0;
	c->editing = 0;
	if ((len = evbuffer_get_length(in)) == 0)
		return;
	size_t n = len < s->max_headers + 1 ? len : s->max_headers + 1;
	char *p = (char *)evbuffer_pullup(in, (ev_ssize_t)n);
	http_head_check(p, n, len > n, c->scanned, s->max_headers, s->max_body, 0, &h);
	c->scanned = h.scanned;
	if (!h.complete)
		return;
	c->head_pending = 0;
	c->scanned = 0;
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	if (h.refusal != PAGE_NONE && h.refusal != PAGE_TOO_LARGE) {
		refuse_head(c, in, h.refusal);
		return;
	}
	c->refusal = h.refusal;
	if (h.refusal == PAGE_TOO_LARGE) {
		/* evhttp must not read the body: it sees the head without its
		 * length, so no body at all, and the rest is dropped. */
		refuse_head(c, in, PAGE_TOO_LARGE);
		return;
	}
	/* nginx answers HTTP/1.1 to HTTP/1.0 requests and closes unless
	 * asked to keep alive; evhttp, told 1.1, leaves that to us. */
	if (h.http10)
		p[h.version_at + 7] = '1';
	c->close_after = (h.http10 && !h.keep_alive) || h.close || (h.body && !h.body_method);
}

static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (c->editing)
		return;
	if (info->n_deleted) /* evhttp read (part of) the stand-in */
		c->keep -= info->n_deleted < c->keep ? info->n_deleted : c->keep;
	if (!info->n_added)
		return;
	if (c->discarding)
		discard_input(c, in);
	else if (c->head_pending)
		inspect_head(c, in);
}

/* After an answer that keeps the connection: the next request's head is
 * checked too. One already buffered and incomplete is left to evhttp
 * (it reads buffered bytes without waiting for the watermark). */
static void expect_head(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->head_pending = 1;
	c->scanned = 0;
	c->refusal = PAGE_NONE;
	c->close_after = 0;
	if (evbuffer_get_length(in) == 0) {
		bufferevent_setwatermark(c->bev, EV_READ, SIZE_MAX, 0);
		return;
	}
	inspect_head(c, in);
	if (c->head_pending) {
		c->head_pending = 0;
		bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	}
}

/* ---- lingering closes --------------------------------------------------- */

/* After an answer that ends the connection while the client may still be
 * sending (a refused head, a 413), the socket is kept a little and what
 * arrives is dropped, as nginx's lingering close: closing with unread
 * bytes would send a reset, and the client could lose the answer. The
 * same holds the plain-HTTP answer on the TLS port. */
struct drain {
	struct drain *next, **prevp;
	evutil_socket_t fd;
	struct event *ev;
	struct timeval until;
};

#define LINGER_IDLE_SECONDS 2
#define LINGER_TOTAL_SECONDS 5

static struct drain *lingers;
static int lingering;

static void drain_end(struct drain *l)
{
	*l->prevp = l->next;
	if (l->next)
		l->next->prevp = l->prevp;
	event_free(l->ev);
	evutil_closesocket(l->fd);
	free(l);
	lingering--;
}

static void on_linger(evutil_socket_t fd, short events, void *arg)
{
	struct drain *l = arg;
	char sink[16384];
	struct timeval now;
	ssize_t n;

	if (events & EV_TIMEOUT) {
		drain_end(l);
		return;
	}
	while ((n = recv(fd, sink, sizeof(sink), 0)) > 0)
		;
	event_base_gettimeofday_cached(event_get_base(l->ev), &now);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
	    evutil_timercmp(&now, &l->until, >))
		drain_end(l);
}

/* Keeps a second descriptor on fd's socket and drops what arrives until
 * the client closes, stays silent LINGER_IDLE_SECONDS, or
 * LINGER_TOTAL_SECONDS pass. Beyond HTTP_LINGER_MAX at once, no linger. */
static void linger_start(struct event_base *base, evutil_socket_t fd)
{
	static const struct timeval idle = {LINGER_IDLE_SECONDS, 0};
	static const struct timeval total = {LINGER_TOTAL_SECONDS, 0};
	struct drain *l;
	struct timeval now;
	int dupfd;

	if (fd < 0 || lingering >= HTTP_LINGER_MAX)
		return;
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
		return;
	l = xcalloc(1, sizeof(*l));
	l->fd = dupfd;
	l->ev = event_new(base, dupfd, EV_READ | EV_PERSIST, on_linger, l);
	event_base_gettimeofday_cached(base, &now);
	evutil_timeradd(&now, &total, &l->until);
	l->next = lingers;
	l->prevp = &lingers;
	if (lingers)
		lingers->prevp = &l->next;
	lingers = l;
	lingering++;
	event_add(l->ev, &idle);
}

/* Plain HTTP on the TLS port: OpenSSL refuses the "handshake" when it
 * starts like an HTTP request (GET, POST, HEAD, PUT, CONNECT) and writes
 * no alert. The answer goes straight onto the socket, before evhttp
 * shuts its write side; then the request is read and dropped. */
/* A handshake refused, by us or by the client ("tls.refused"), with
 * the reason: the alert, OpenSSL's error, the certificate's problem. */
static void log_tls_refused(const SSL *ssl, enum metrics_tls_reason why, const char *alert,
			    const char *detail)
{
	struct log_event e;
	char client[64], cn[STORE_ID_MAX];

	metrics_tls_refused(why);
	if (!log_enabled(LOG_INFO))
		return;
	socket_client(SSL_get_fd(ssl), client);
	tls_peer((SSL *)ssl, cn, sizeof(cn));
	log_begin(&e, LOG_INFO, "tls.refused");
	log_str(&e, "reason", metrics_tls_reason_name(why));
	log_str(&e, "alert", alert);
	log_str(&e, "detail", detail);
	log_str(&e, "client", client);
	log_str(&e, "cert_cn", cn);
	log_end(&e);
}

/* A fatal alert during the handshake: written by us (a refusal: why is
 * in OpenSSL's error queue and the verify result) or read from the
 * client (it gave up: our certificate, its protocol...). Once. */
static void on_handshake_alert(const SSL *ssl, int where, int ret)
{
	struct http_server *s = SSL_get_app_data(ssl);
	/* OpenSSL 3.0 has no text for TLS 1.3's certificate_required (116). */
	const char *alert = (ret & 0xff) == 116 ? "certificate required"
						: SSL_alert_desc_string_long(ret);
	enum metrics_tls_reason why;
	const char *detail = NULL;

	struct conn *c = conn_index >= 0 ? SSL_get_ex_data(ssl, conn_index) : NULL;

	if ((ret >> 8) != SSL3_AL_FATAL || !c || c->handshake_done)
		return;
	SSL_set_info_callback((SSL *)ssl, NULL);
	if (where & SSL_CB_READ) {
		why = TLS_REFUSED_CLIENT_ALERT;
	} else if (s && SSL_get_SSL_CTX(ssl) == s->refuse_ctx) {
		why = TLS_REFUSED_OVER_CAPACITY;
		detail = "over --max-connections";
	} else if ((detail = tls_verify_error(ssl)) != NULL) {
		why = TLS_REFUSED_UNTRUSTED;
	} else {
		enum tls_refusal kind;
		detail = tls_refusal_reason(&kind);
		if (kind == TLS_REFUSAL_EOF)
			return; /* the client just went away (a port probe...) */
		why = kind == TLS_REFUSAL_NO_CERT ? TLS_REFUSED_NO_CERTIFICATE
						  : TLS_REFUSED_HANDSHAKE;
	}
	log_tls_refused(ssl, why, alert, detail);
}

static void on_tls_info(const SSL *ssl, int where, int ret)
{
	struct http_server *s = SSL_get_app_data(ssl);
	evutil_socket_t fd = SSL_get_fd(ssl);
	struct buf out;
	struct header h[7];

	if (where & SSL_CB_HANDSHAKE_DONE) {
		struct conn *c = conn_index >= 0 ? SSL_get_ex_data(ssl, conn_index) : NULL;
		if (c)
			c->handshake_done = 1;
		/* A client that shuts its side without close_notify after its
		 * request is a plain EOF: OpenSSL 3 would otherwise send a
		 * fatal alert and write nothing more, and the answer in the
		 * making would be lost (h1.c reads on while a request is in
		 * flight). The handshake keeps OpenSSL's rule. */
		SSL_set_options((SSL *)ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
		return;
	}
	if (where & SSL_CB_ALERT) {
		on_handshake_alert(ssl, where, ret);
		return;
	}
	if (where != SSL_CB_ACCEPT_EXIT || ret > 0 || !s || fd < 0 || !tls_failed_on_plain_http())
		return;
	SSL_set_info_callback((SSL *)ssl, NULL); /* once */
	log_tls_refused(ssl, TLS_REFUSED_PLAIN_HTTP, NULL,
			"the plain HTTP request was sent to HTTPS port (400 page)");
	const struct page *pg = &pages[PAGE_PLAIN_HTTP];
	struct buf page;
	buf_init(&page);
	buf_init(&out);
	nginx_page(&page, pg->status, pg->detail);
	int n = front_headers(h, "text/html", page.len, 1, NULL);
	buf_printf(&out, "HTTP/1.1 %d %s\r\n", pg->code, pg->reason);
	for (int i = 0; i < n; i++)
		buf_printf(&out, "%s: %s\r\n", h[i].name, h[i].value);
	buf_puts(&out, "\r\n");
	buf_append(&out, page.data, page.len);
	if (send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)out.len &&
	    !s->stopping)
		linger_start(s->base, fd);
	buf_release(&out);
	buf_release(&page);
}

/* ---- connections ------------------------------------------------------- */

static void on_deadline(evutil_socket_t fd, short events, void *arg)
{
	struct conn *c = arg;
	(void)fd, (void)events;
	if (!c->admin) {
		if (c->h1)
			h1_drop(c->h1, 0);
		return;
	}
	/* evhttp owns the connection: end the socket and let it see EOF. */
	evutil_socket_t sock = bufferevent_getfd(c->bev);
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
}

static struct conn *conn_new(struct http_server *s, struct bufferevent *bev, int admin)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->server = s;
	c->bev = bev;
	c->admin = admin;
	c->deadline = evtimer_new(s->base, on_deadline, c);
	if (admin) {
		c->watch = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
		c->head_pending = 1;
		/* evhttp's read callback waits until inspect_head has the whole head. */
		bufferevent_setwatermark(bev, EV_READ, SIZE_MAX, 0);
	}
	return c;
}

/* Frees c; bev_alive says whether its bufferevent may still be touched. */
static void conn_free(struct conn *c, int bev_alive)
{
	if (bev_alive && c->watch)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	if (c->prevp) {
		*c->prevp = c->next;
		if (c->next)
			c->next->prevp = c->prevp;
	}
	if (c->admin && c->counted)
		c->server->admin_open--;
	else if (c->counted)
		open_connections--;
	else if (!c->admin)
		refused_connections--;
	/* An API connection's server may be gone (deferred frees at shutdown). */
	metrics_connections(open_connections,
			    c->admin ? c->server->admin_open : metrics_connections_open(1));
	if (!c->admin && api_full && open_connections + refused_connections < api_accept_limit) {
		if (!evtimer_pending(c->server->accept_pause, NULL)) /* else the retry does */
			evconnlistener_enable(api_full);
		log_info("API connections under the cap again (%d open): accepting",
			 open_connections);
		api_full = NULL;
	}
	event_free(c->deadline);
	if (c->attach)
		event_free(c->attach);
	free(c);
}

/* The SSL object of an API connection is being freed (its bufferevent,
 * being destroyed, is still there). */
static void on_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ptr)
		conn_free(ptr, 1);
}

static struct conn *admin_conn(struct http_server *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (struct conn *c = s->admin_conns; c && bev; c = c->next)
		if (c->bev == bev)
			return c;
	return NULL;
}

/* evhttp is freeing a control connection (the close callback): a
 * lingering close starts, and its struct is freed. The bufferevent is
 * still alive. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	(void)evcon;

	if (c->linger && !c->server->stopping)
		linger_start(c->server->base, bufferevent_getfd(c->bev));
	c->linger = 0;
	conn_free(c, 1);
}

/* h1.c ends an API connection, fd still open: a held-back answer goes,
 * a lingering close starts after an answer that closed it. c itself goes
 * with the SSL object (on_conn_free). */
static void on_api_closing(void *arg, evutil_socket_t fd, int answered_close)
{
	struct conn *c = arg;

	if (c->pending)
		transport_fault_closed(c->pending);
	if (answered_close && c->linger && !c->server->stopping)
		linger_start(c->server->base, fd);
	c->linger = 0;
	c->h1 = NULL;
	evtimer_del(c->deadline);
	if (c->prevp) {
		*c->prevp = c->next;
		if (c->next)
			c->next->prevp = c->prevp;
		c->prevp = NULL;
	}
}

/* Bookkeeping once a control answer is on its way: the deadline for the
 * next request, and its head check; or, when the connection ends after
 * this answer, nothing more is read from it. */
static void conn_answered(struct conn *c, int close)
{
	if (close) {
		c->head_pending = 0;
		c->discarding = 1;
		c->linger = 1;
		bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
		discard_input(c, bufferevent_get_input(c->bev));
	} else {
		expect_head(c);
	}
	evtimer_add(c->deadline, &c->server->request_timeout);
}

/* ---- transport faults ---------------------------------------------------- */

/* The front end's side of a held-back answer (transport_faults.h). */
static void on_fault_answer(void *conn, const struct buf *reply)
{
	struct conn *c = conn;
	api_send(c, 200, "OK", "text/plain", reply, 0, c->fault_rid);
}

static void on_fault_truncate(void *conn, const struct buf *reply)
{
	struct conn *c = conn;
	struct buf half = {reply->data, reply->len / 2, 0};

	if (!c->h1)
		return;
	c->linger = 0;
	api_write(c, 200, "OK", "text/plain", reply->len, &half, 0, 1, c->fault_rid);
}

static void on_fault_drop(void *conn, int reset)
{
	struct conn *c = conn;
	if (c->h1)
		h1_drop(c->h1, reset);
}

static void on_fault_released(void *conn)
{
	((struct conn *)conn)->pending = NULL;
}

static const struct transport_fault_front fault_front = {on_fault_answer, on_fault_truncate,
							 on_fault_drop, on_fault_released};

/* Carries out a fault rule's transport fault on this request: the pages
 * here, the rest held back on a timer (transport_faults.c). */
static void carry_out(struct http_server *s, struct conn *c, const struct fault_decision *fault,
		      const struct buf *reply, const struct held *h)
{
	char rid[33];

	/* Logged as decided (its delay not counted); the answer, if any,
	 * carries the same Request-Id. */
	request_id(rid);
	api_answered(&h->outcome, now_us() - h->start_us, rid, h->client, h->cn,
		     faults_transport_name(fault->transport));
	if (fault->transport == FAULT_HTTP503 || fault->transport == FAULT_HTML) {
		send_page(c, fault->transport == FAULT_HTTP503 ? PAGE_BUSY : PAGE_BAD_GATEWAY, rid);
		return;
	}
	memcpy(c->fault_rid, rid, sizeof(rid));
	evtimer_del(c->deadline); /* a hang must outlast the client's patience */
	c->pending = transport_fault_start(s->base, &fault_front, c, fault->transport,
					   fault->delay_ms, reply);
}

/* ---- accepting ----------------------------------------------------------- */

/* A connection was accepted: an episode of failing accepts is over. */
static void accepted(struct http_server *s)
{
	if (!s->accept_paused)
		return;
	log_info("accepting connections again (%lu accept attempts failed while descriptors "
		 "were short; %d API and %d control connections open)",
		 s->accept_failures, open_connections, s->admin_open);
	s->accept_paused = 0;
	s->accept_failures = 0;
}

static const struct h1_handler api_handler;

/* The client's address, as the log and the pipeline show it. */
static void conn_peer(struct conn *c, const struct sockaddr *sa)
{
	unsigned port = 0;

	c->peer[0] = '\0';
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, c->peer, sizeof(c->peer));
		port = ntohs(a->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, c->peer, sizeof(c->peer));
		port = ntohs(a->sin_port);
	}
	format_client(c->client, c->peer, port);
}

static void on_api_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
			  int socklen, void *arg)
{
	struct http_server *s = arg;
	int refuse = open_connections >= s->max_connections;
	SSL *ssl = SSL_new(refuse ? s->refuse_ctx : s->ssl_ctx);
	struct bufferevent *bev = NULL;
	struct conn *c;
	(void)lev, (void)socklen;

	accepted(s);
	if (ssl) {
		SSL_set_app_data(ssl, s);
		SSL_set_info_callback(ssl, on_tls_info);
		/* bufferevent_openssl frees ssl on failure */
		bev = bufferevent_openssl_socket_new(s->base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
						     BEV_OPT_CLOSE_ON_FREE);
	}
	if (!bev || bufferevent_setfd(bev, fd) != 0) {
		if (bev)
			bufferevent_free(bev);
		evutil_closesocket(fd);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	c = conn_new(s, bev, 0);
	conn_peer(c, sa);
	c->counted = !refuse;
	SSL_set_ex_data(ssl, conn_index, c);
	if (refuse)
		refused_connections++;
	else
		open_connections++;
	metrics_connections(open_connections, s->admin_open);
	c->next = s->api_conns;
	c->prevp = &s->api_conns;
	if (s->api_conns)
		s->api_conns->prevp = &c->next;
	s->api_conns = c;
	evtimer_add(c->deadline, &s->request_timeout);
	if (!api_full && s->listeners[0] &&
	    open_connections + refused_connections >= s->max_connections + HTTP_REFUSE_MAX) {
		api_full = s->listeners[0];
		api_accept_limit = s->max_connections + HTTP_REFUSE_MAX;
		evconnlistener_disable(api_full);
		log_warn("API connections at --max-connections %d, %d more being refused: not "
			 "accepting until one closes",
			 s->max_connections, refused_connections);
	}
	c->h1 = h1_new(bev, &s->api_limits, &api_handler, c);
}

/* Runs right after evhttp has made the connection for a control socket
 * (before any of its I/O): the close callback frees c from then on. */
static void on_attach(evutil_socket_t fd, short events, void *arg)
{
	struct conn *c = arg;
	void *evcon = NULL;
	(void)fd, (void)events;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	if (!evcon) { /* evhttp could not take it: nothing to watch */
		conn_free(c, 0);
		return;
	}
	evhttp_connection_set_closecb(evcon, on_conn_close, c);
	if (!c->counted) { /* over --admin-max-connections: closed at once */
		evutil_socket_t sock = bufferevent_getfd(c->bev);
		if (sock >= 0)
			shutdown(sock, SHUT_RDWR);
		return;
	}
	evtimer_add(c->deadline, &c->server->request_timeout);
}

static struct bufferevent *on_admin_connection(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct conn *c;

	accepted(s);
	if (!bev)
		return NULL;
	c = conn_new(s, bev, 1);
	c->counted = s->admin_open < s->admin_max_connections;
	if (c->counted)
		s->admin_open++;
	metrics_connections(open_connections, s->admin_open);
	c->next = s->admin_conns;
	c->prevp = &s->admin_conns;
	if (s->admin_conns)
		s->admin_conns->prevp = &c->next;
	s->admin_conns = c;
	/* Active now, so it runs in this turn, before the socket's first read. */
	c->attach = event_new(base, -1, 0, on_attach, c);
	event_active(c->attach, EV_TIMEOUT, 1);
	return bev;
}

/* accept() failed (EMFILE, ENFILE, ...): libevent hands over the
 * evhttp's argument, so the server is found by its listener. Both
 * listeners pause (a listening socket with a pending connection stays
 * readable: no spinning) and retry every 100 ms; the connections already
 * open are served meanwhile. Logged once per episode. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	static const struct timeval pause = {0, 100000};
	int err = EVUTIL_SOCKET_ERROR();
	struct http_server *s;
	(void)arg;

	for (s = servers; s; s = s->next)
		if (s->listeners[0] == lev || s->listeners[1] == lev)
			break;
	if (!s) {
		evconnlistener_disable(lev);
		return;
	}
	s->accept_failures++;
	if (!s->accept_paused)
		log_warn("accept: %s; not accepting until descriptors free up (%d API and %d "
			 "control connections open, retrying every 100 ms)",
			 evutil_socket_error_to_string(err), open_connections, s->admin_open);
	s->accept_paused = 1;
	for (int i = 0; i < 2; i++)
		if (s->listeners[i])
			evconnlistener_disable(s->listeners[i]);
	evtimer_add(s->accept_pause, &pause);
}

static void on_accept_resume(evutil_socket_t fd, short events, void *arg)
{
	struct http_server *s = arg;
	(void)fd, (void)events;
	for (int i = 0; i < 2; i++)
		if (s->listeners[i] && s->listeners[i] != api_full)
			evconnlistener_enable(s->listeners[i]);
}

/* ---- group commit ------------------------------------------------------ */

static struct store *api_store(struct http_server *s)
{
	return s->api->redpack->store;
}

static void held_free(struct held *h)
{
	buf_release(&h->reply);
	buf_release(&h->fallback);
	free(h->body);
	free(h->negative_test);
	free(h);
}

/* Front: sends a committed batch's answers, in their order; a fault
 * rule's transport fault is carried out now, after the commit. */
static void deliver_held(void *arg)
{
	struct held *h = arg, *next;

	for (; h; h = next) {
		next = h->next;
		const struct buf *body = h->use_fallback ? &h->fallback : &h->reply;
		if (h->fault.transport != FAULT_NONE)
			carry_out(h->server, h->conn, &h->fault, body, h);
		else
			api_send(h->conn, 200, "OK", "text/plain", body, 0, h->request_id);
		held_free(h);
	}
}

/* Store: commits the open batch, logs every held answer (its own when
 * the commit succeeded or it wrote nothing, else its fallback) and hands
 * them to the front end. Runs in the turn after the batch opened, once
 * the requests ready then are handled too (join_batch), and before
 * anything else that needs the store outside a batch (the control API). */
static void flush_batch(struct http_server *s)
{
	struct held *h;
	int failed;

	evtimer_del(s->flush); /* when called before its turn */
	if (!store_batch_open(api_store(s)) && !s->held)
		return;
	failed = store_batch_commit(api_store(s)) != 0;
	if (failed)
		log_error("group commit failed: answering SYSTEMERROR to the requests that wrote");
	/* The turn's lines first (one write), then the answers. */
	uint64_t now = s->held ? now_us() : 0;
	for (h = s->held; h; h = h->next) {
		h->use_fallback = failed && h->fallback.len;
		if (h->use_fallback)
			h->outcome.err = ERR_SYSTEMERROR;
		if (h->fault.transport != FAULT_NONE)
			continue; /* carry_out logs it, with its fault */
		request_id(h->request_id);
		api_answered(&h->outcome, now - h->start_us, h->request_id, h->client, h->cn, NULL);
	}
	log_flush();
	h = s->held;
	s->held = NULL;
	s->held_tail = &s->held;
	if (h)
		handoff_post(s->handoff, HANDOFF_FRONT, deliver_held, h);
}

static void on_flush(evutil_socket_t fd, short events, void *arg)
{
	(void)fd, (void)events;
	flush_batch(arg);
}

/* Store: opens the turn's batch on its first request and schedules its
 * commit for the next turn of the loop, after the requests that turn's
 * poll (which does not wait: a timer is due) finds ready: they join the
 * batch too. Under load that is the connections whose requests were on
 * their way as this turn began, and the batch grows by half (16
 * connections: 12.5 sends a commit, 8.2 when it committed in the turn it
 * opened); when nothing else is ready the commit comes one empty poll
 * later. */
static void join_batch(struct http_server *s)
{
	static const struct timeval next_turn = {0, 0};

	if (store_batch_open(api_store(s)))
		return;
	if (store_batch_begin(api_store(s)) != 0)
		return; /* each unit is then a transaction of its own */
	lifecycle_sync_clock(s->api->redpack);
	log_hold();
	evtimer_add(s->flush, &next_turn);
}

/* Store: the pipeline, in the turn's batch. */
static void handle_held(void *arg)
{
	struct held *h = arg;
	struct http_server *s = h->server;
	struct api_call call = {
		.body = h->body,
		.len = h->len,
		.cert_cn = h->cn,
		.negative_test = h->negative_test,
		.peer_ip = h->peer,
		.fallback = &h->fallback,
		.outcome = &h->outcome,
	};

	join_batch(s);
	h->fault = api_handle(s->api, h->ep, &call, &h->reply);
	free(h->body);
	h->body = NULL;
	*s->held_tail = h;
	s->held_tail = &h->next;
}

/* ---- the merchant API -------------------------------------------------- */

/* The front end's order (spec 14, and nginx's): a refused head, the
 * certificate, the body size, the path, the method, then the API
 * pipeline, which answers every XML case itself. */
static void on_api_request(void *arg, struct h1conn *hc, struct h1_request *r)
{
	struct conn *c = arg;
	struct http_server *s = c->server;
	SSL *ssl = bufferevent_openssl_get_ssl(h1_bufferevent(hc));
	const struct endpoint *ep;
	enum page_id page = PAGE_NONE;
	const char *cn = ""; /* the certificate's CN, once read */
	char *path = NULL;
	uint64_t start = now_us();
	const char *why = NULL;

	c->head_method = r->head;
	c->close_after = r->close;
	/* The whole request is in: its deadline no longer applies (the
	 * answer arms the next one), however long the store takes. */
	evtimer_del(c->deadline);
	if (r->refusal != PAGE_NONE && r->refusal != PAGE_TOO_LARGE) {
		page = r->refusal;
		goto respond;
	}
	if (!c->peer_known) {
		c->peer_state = tls_peer(ssl, c->peer_cn, sizeof(c->peer_cn));
		c->peer_known = 1;
	}
	cn = c->peer_cn;
	switch (c->peer_state) {
	case CERT_NONE:
		page = PAGE_NO_CERT;
		goto respond;
	case CERT_BAD:
		page = PAGE_CERT_ERROR;
		why = tls_verify_error(ssl);
		goto respond;
	case CERT_OK:
		break;
	}
	if (r->refusal == PAGE_TOO_LARGE) {
		page = PAGE_TOO_LARGE;
		goto respond;
	}
	path = xmalloc(strlen(r->target) + 2);
	if (http_normalize_path(r->target, path) != 0) {
		page = PAGE_BAD_REQUEST;
		goto respond;
	}
	ep = api_route(path);
	if (!ep) {
		page = PAGE_NOT_FOUND;
		goto respond;
	}
	if (!r->post) {
		page = PAGE_NOT_ALLOWED;
		goto respond;
	}
	struct held *h = xcalloc(1, sizeof(*h));
	h->server = s;
	h->conn = c;
	h->ep = ep;
	h->len = r->len;
	h->body = r->body; /* taken */
	r->body = NULL;
	h->negative_test = r->negative_test ? xstrdup(r->negative_test) : NULL;
	memcpy(h->peer, c->peer, sizeof(c->peer));
	h->start_us = start;
	memcpy(h->client, c->client, sizeof(h->client));
	memcpy(h->cn, cn, strlen(cn) + 1);
	buf_init(&h->reply);
	buf_init(&h->fallback);
	handoff_post_turn(s->handoff, HANDOFF_STORE, handle_held, h);
respond:
	if (page != PAGE_NONE) {
		char rid[33];
		request_id(rid);
		/* A refused request shows no path. */
		log_page(c, page, rid, r->refusal != PAGE_NONE ? NULL : r->target, cn, why);
		send_page(c, page, rid);
	}
	free(path);
}

static const struct h1_handler api_handler = {on_api_request, on_api_closing};

/* ---- the control API --------------------------------------------------- */

static const char *request_path(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	return path ? path : "";
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "OTHER";
	}
}

static const char *request_query(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	return uri ? evhttp_uri_get_query(uri) : NULL;
}

static void send_json_error(struct conn *c, struct evhttp_request *req, int code,
			    const char *reason, const char *text, int close, const char *rid)
{
	struct buf body;
	buf_init(&body);
	buf_printf(&body, "{\"error\":\"%s\"}\n", text);
	send_reply(c, req, code, reason, "application/json", &body, close, rid);
	buf_release(&body);
}

/* Bytes of answers written to control connections and not yet taken by
 * their clients. Each connection holds at most one answer (evhttp reads
 * the next request once the last answer is out) and is cut when it takes
 * nothing for --timeout seconds; this bounds what all of them hold. */
#define ADMIN_OUTPUT_BUDGET (16u << 20)

static size_t admin_queued(struct http_server *s)
{
	size_t n = 0;
	for (struct conn *c = s->admin_conns; c; c = c->next)
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

/* The log line of a control answer: a change ("admin.action", what was
 * asked: method, path and query, and the body once the route accepted
 * it, so never a key the route would refuse) or a refusal
 * ("http.error") at info; a read at debug ("admin.request"). Never the
 * Authorization header. */
static void log_admin(struct evhttp_request *req, int status, const char *rid)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int change = cmd != EVHTTP_REQ_GET;
	enum log_level level = change || status >= 400 ? LOG_INFO : LOG_DEBUG;
	struct log_event e;
	char client[64];

	if (!log_enabled(level))
		return;
	request_client(req, client);
	log_begin(&e, level,
		  change	  ? "admin.action"
		  : status >= 400 ? "http.error"
				  : "admin.request");
	log_str(&e, "port", "admin");
	log_str(&e, "method", method_name(cmd));
	log_strn(&e, "path", evhttp_request_get_uri(req), 256);
	log_int(&e, "status", status);
	if (change && status < 400) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		if (n)
			log_strn(&e, "asked", (const char *)evbuffer_pullup(in, -1),
				 n < 512 ? n : 512);
	}
	log_str(&e, "request_id", rid);
	log_str(&e, "client", client);
	log_end(&e);
}

/* Sends a control answer, within the budget of unread answers. */
static void answer_admin(struct http_server *s, struct conn *c, struct evhttp_request *req,
			 const struct admin_request *ar)
{
	char rid[33];

	request_id(rid);
	if (admin_queued(s) + ar->reply.len > ADMIN_OUTPUT_BUDGET) {
		/* Clients that do not read their answers hold them here. */
		log_admin(req, 503, rid);
		send_json_error(c, req, 503, "Service Unavailable",
				"answers not yet read by control clients are over 16 MiB; "
				"read them or close those connections",
				1, rid);
	} else {
		log_admin(req, ar->status, rid);
		send_reply(c, req, ar->status, admin_reason(ar->status), ar->content_type,
			   &ar->reply, 0, rid);
	}
}

/* A control request on its way to the store's side and back: what the
 * control API reads, copied; the answer, or later (admin.h). */
struct admin_job {
	struct http_server *server;
	struct evhttp_request *req;
	const char *method;
	char *path;
	struct kvlist query;
	char *authorization; /* NULL: no such header */
	char *body;
	size_t body_len;
	int ready;
	/* the answer */
	int later;
	int status;
	const char *content_type;
	struct buf reply;
};

static void admin_job_free(struct admin_job *j)
{
	free(j->path);
	kvlist_release(&j->query);
	free(j->authorization);
	free(j->body);
	buf_release(&j->reply);
	free(j);
}

/* Front: sends a control answer, or lets the request wait for one given
 * later. Its connection may have gone meanwhile (admin_conn: NULL). */
static void deliver_admin(void *arg)
{
	struct admin_job *j = arg;
	struct http_server *s = j->server;
	struct conn *c = admin_conn(s, j->req);

	if (j->later) {
		/* The whole request is in: its deadline no longer applies. */
		if (c)
			evtimer_del(c->deadline);
	} else {
		struct admin_request ar = {
			.status = j->status,
			.content_type = j->content_type,
			.reply = j->reply,
		};
		answer_admin(s, c, j->req, &ar);
	}
	admin_job_free(j);
}

/* Store: an answer given later (admin.h). evhttp keeps a request until
 * it is answered, even when its client has gone (then there is no
 * connection and no conn, and sending frees it). */
static void on_admin_later(void *arg, void *transport, const struct admin_request *ar)
{
	struct http_server *s = arg;
	struct admin_job *j = xcalloc(1, sizeof(*j));

	j->server = s;
	j->req = transport;
	kvlist_init(&j->query);
	j->status = ar->status;
	j->content_type = ar->content_type;
	buf_init(&j->reply);
	buf_append(&j->reply, ar->reply.data ? ar->reply.data : "", ar->reply.len);
	handoff_post(s->handoff, HANDOFF_FRONT, deliver_admin, j);
}

/* Front, at shutdown: one still on its connection goes with it
 * (evhttp_free); one whose client has gone is ours. */
static void drop_admin(void *arg)
{
	if (!evhttp_request_get_connection(arg))
		evhttp_request_free(arg);
}

static void on_admin_drop(void *arg, void *transport)
{
	struct http_server *s = arg;
	handoff_post(s->handoff, HANDOFF_FRONT, drop_admin, transport);
}

/* Store: the control API, outside any batch, on committed state. */
static void handle_admin(void *arg)
{
	struct admin_job *j = arg;
	struct http_server *s = j->server;
	struct admin_request ar = {
		.method = j->method,
		.path = j->path,
		.query = &j->query,
		.authorization = j->authorization,
		.body = j->body,
		.body_len = j->body_len,
		.transport = j->req,
	};

	flush_batch(s);
	s->admin->ready = j->ready;
	admin_handle(s->admin, &ar);
	j->later = ar.later;
	j->status = ar.status;
	j->content_type = ar.content_type;
	j->reply = ar.reply; /* the job's now */
	handoff_post(s->handoff, HANDOFF_FRONT, deliver_admin, j);
}

static void on_admin_request(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	struct conn *c = admin_conn(s, req);

	if (c && c->refusal != PAGE_NONE) {
		const struct page *pg = &pages[c->refusal];
		char rid[33], client[64];
		struct log_event e;
		request_id(rid);
		request_client(req, client);
		log_begin(&e, LOG_INFO, "http.error");
		log_str(&e, "port", "admin");
		log_int(&e, "status", pg->code);
		log_str(&e, "reason", pg->admin_error);
		log_str(&e, "request_id", rid);
		log_str(&e, "client", client);
		log_end(&e);
		send_json_error(c, req, pg->code, pg->reason, pg->admin_error, 1, rid);
		return;
	}

	/* The query in pieces and the Authorization header: admin checks
	 * them against the route's flags. A NUL inside a header never gets
	 * this far: the head check refuses it, since evhttp would keep only
	 * what precedes it. */
	struct admin_job *j = xcalloc(1, sizeof(*j));
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
					      "Authorization");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	j->server = s;
	j->req = req;
	j->method = method_name(evhttp_request_get_command(req));
	j->path = xstrdup(request_path(req));
	kvlist_init(&j->query);
	kvlist_add_query(&j->query, request_query(req));
	j->authorization = auth ? xstrdup(auth) : NULL;
	j->body_len = evbuffer_get_length(in);
	j->body = xmalloc(j->body_len + 1);
	evbuffer_copyout(in, j->body, j->body_len);
	j->body[j->body_len] = '\0';
	j->ready = s->ready;
	buf_init(&j->reply);
	if (c) /* as for an API request: the store's time is not the client's */
		evtimer_del(c->deadline);
	handoff_post_turn(s->handoff, HANDOFF_STORE, handle_admin, j);
}

/* ---- listeners --------------------------------------------------------- */

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port. */
static int split_hostport(const char *spec, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(spec, ':');
	int64_t p;

	if (!colon || parse_digits(colon + 1, &p) != 0 || p > 65535)
		return -1;
	size_t n = (size_t)(colon - spec);
	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	*port = (int)p;
	return 0;
}

/* The API port's listener (h1.c serves it), bound as evhttp binds: the
 * first address host resolves to, SO_REUSEADDR and SO_KEEPALIVE. */
static struct evconnlistener *api_listen(struct http_server *s, const char *host, int port)
{
	struct evutil_addrinfo hints, *ai = NULL;
	struct evconnlistener *lev = NULL;
	char portstr[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (evutil_getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai)
		return NULL;
	evutil_socket_t fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0 &&
	    evutil_make_listen_socket_reuseable(fd) == 0 &&
	    bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) == 0)
		lev = evconnlistener_new(s->base, on_api_accept, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (!lev && fd >= 0)
		evutil_closesocket(fd);
	evutil_freeaddrinfo(ai);
	return lev;
}

static int bind_listener(struct http_server *s, int which, struct evhttp *http, const char *spec,
			 const char *scheme, char *url, size_t urllen, char *err, size_t errlen)
{
	char host[64], shown[80];
	int port;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (split_hostport(spec, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "\"%s\": expected HOST:PORT", spec);
		return -1;
	}
	if (http) {
		struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(
			http, host, (ev_uint16_t)port);
		s->listeners[which] = sock ? evhttp_bound_socket_get_listener(sock) : NULL;
	} else {
		s->listeners[which] = api_listen(s, host, port);
	}
	if (!s->listeners[which]) {
		snprintf(err, errlen, "cannot listen on %s (address in use or not local?)", spec);
		return -1;
	}
	evutil_socket_t fd = evconnlistener_get_fd(s->listeners[which]);
	/* Accepted sockets inherit TCP_NODELAY from the listener on Linux:
	 * evhttp writes headers and body separately, and with Nagle the body
	 * would wait for the client's delayed ACK (about 40 ms an answer). */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	evconnlistener_set_error_cb(s->listeners[which], on_accept_error);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	if (strchr(host, ':'))
		snprintf(shown, sizeof(shown), "[%s]", host);
	else
		snprintf(shown, sizeof(shown), "%s", host);
	snprintf(url, urllen, "%s://%s:%d", scheme, shown, port);
	return 0;
}

int http_is_loopback(const char *spec)
{
	char host[64];
	int port;
	struct in_addr a4;
	struct in6_addr a6;

	if (split_hostport(spec, host, sizeof(host), &port) != 0)
		return -1;
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

struct http_server *http_start(struct handoff *handoff, SSL_CTX *ssl_ctx, struct api_ctx *api,
			       struct admin_ctx *admin, const struct http_config *cfg, char *err,
			       size_t errlen)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	struct event_base *base = handoff_base(handoff, HANDOFF_FRONT);

	request_id_seed();
	s->handoff = handoff;

	s->admin = admin;
	admin->send_later = on_admin_later;
	admin->drop_later = on_admin_drop;
	admin->later_arg = s;
	s->base = base;
	s->ssl_ctx = ssl_ctx;
	s->api = api;
	s->max_connections = cfg->max_connections;
	s->admin_max_connections = cfg->admin_max_connections;
	s->max_body = cfg->max_body;
	s->max_headers = cfg->max_headers;
	s->request_timeout.tv_sec = cfg->request_timeout;
	s->accept_pause = evtimer_new(base, on_accept_resume, s);
	s->flush = event_new(handoff_base(handoff, HANDOFF_STORE), -1, 0, on_flush, s);
	s->held_tail = &s->held;
	s->refuse_ctx = SSL_CTX_new(TLS_server_method());
	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_conn_free);
	if (!s->refuse_ctx || conn_index < 0 || !s->accept_pause || !s->flush) {
		snprintf(err, errlen, "cannot set up connection tracking");
		goto error;
	}
	if (cfg->admin_token && cfg->admin_token[0])
		s->admin_token = xstrdup(cfg->admin_token);
	admin->token = s->admin_token; /* admin checks it, route by route */
	s->api_limits.max_headers = cfg->max_headers;
	s->api_limits.max_body = cfg->max_body;
	s->api_limits.idle.tv_sec = cfg->timeout;
	s->api_limits.extra_header = FAULTS_HEADER;
	s->admin_http = evhttp_new(base);
	if (!s->admin_http) {
		snprintf(err, errlen, "evhttp_new failed");
		goto error;
	}
	evhttp_set_bevcb(s->admin_http, on_admin_connection, s);
	evhttp_set_gencb(s->admin_http, on_admin_request, s);
	evhttp_set_allowed_methods(s->admin_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
							  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	/* The head check enforces both limits first, with nginx's pages;
	 * evhttp's own stay as a backstop (chunked bodies, trailers). */
	evhttp_set_max_body_size(s->admin_http, (ev_ssize_t)cfg->max_body);
	evhttp_set_max_headers_size(s->admin_http, (ev_ssize_t)cfg->max_headers * 2);
	evhttp_set_timeout(s->admin_http, cfg->timeout);
	if (bind_listener(s, 0, NULL, cfg->api_listen, "https", s->api_url, sizeof(s->api_url), err,
			  errlen) != 0 ||
	    bind_listener(s, 1, s->admin_http, cfg->admin_listen, "http", s->admin_url,
			  sizeof(s->admin_url), err, errlen) != 0)
		goto error;
	s->next = servers;
	servers = s;
	return s;
error:
	http_stop(s);
	return NULL;
}

void http_flush(struct http_server *s)
{
	if (s && s->flush)
		flush_batch(s);
}

const char *http_api_url(const struct http_server *s)
{
	return s->api_url;
}

const char *http_admin_url(const struct http_server *s)
{
	return s->admin_url;
}

void http_set_ready(struct http_server *s)
{
	s->ready = 1;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	for (struct http_server **p = &servers; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	if (s->flush) {
		/* Answer what is held before evhttp frees it (the store's
		 * thread is stopped: handoff_stop). */
		flush_batch(s);
		handoff_drain(s->handoff, HANDOFF_FRONT);
	}
	s->stopping = 1;
	api_full = NULL;
	if (s->listeners[0])
		evconnlistener_free(s->listeners[0]);
	while (s->api_conns) /* on_api_closing takes each off the list */
		h1_drop(s->api_conns->h1, 0);
	if (s->admin_http)
		evhttp_free(s->admin_http);
	while (s->admin_conns) /* whose close callback never came */
		conn_free(s->admin_conns, 0);
	while (lingers)
		drain_end(lingers);
	if (s->accept_pause)
		event_free(s->accept_pause);
	if (s->flush)
		event_free(s->flush);
	SSL_CTX_free(s->refuse_ctx);
	free(s->admin_token);
	free(s);
}
