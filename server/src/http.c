/*
 * http.c - listeners, the route tables, nginx pages and headers.
 */
#include "http.h"

#include <arpa/inet.h>
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

#include "faults.h"
#include "log.h"
#include "tls.h"
#include "util.h"

struct http_server {
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	SSL_CTX *refuse_ctx; /* no certificate: every handshake on it fails */
	struct api_ctx *api;
	struct admin_ctx *admin;
	struct evhttp *api_http;
	struct evhttp *admin_http;
	char api_url[128];
	char admin_url[128];
	char *admin_token;
	int ready;
	int max_connections;
	struct timeval request_timeout;
	struct event *accept_pause; /* re-enables the listeners after EMFILE */
	struct evconnlistener *listeners[2];
	/* Group commit: answers held until the batch holding their rows is
	 * committed, at the end of the event loop's current turn. */
	struct event *flush;
	struct held *held, **held_tail;
};

/* An API answer waiting for its batch's commit. The request stays valid:
 * evhttp frees a request whose connection closed only once it is
 * answered. */
struct held {
	struct held *next;
	struct evhttp_request *req;
	struct buf reply;
	struct buf fallback; /* the answer if the commit fails; empty: same */
};

/* Per API connection: the deadline for its next whole request, so a
 * client trickling bytes (slowloris) cannot hold it open for ever. Hangs
 * off the SSL object and is freed with it. */
struct conn {
	struct bufferevent *bev;
	struct event *deadline;
};

static int conn_index = -1;

/* Open API connections (each with a struct conn). File scope, not in
 * struct http_server: libevent may free a connection's SSL after the
 * server struct is gone (deferred frees at shutdown). */
static int open_connections;

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
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void request_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}

/* The front end's headers, in the order the real host wrote them
 * (spec 2.2), for a body of len bytes. */
static void add_headers(struct evhttp_request *req, const char *content_type, size_t len,
			int close)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char date[64], length[32], id[33];

	http_date(date, sizeof(date));
	snprintf(length, sizeof(length), "%zu", len);
	request_id(id);
	evhttp_add_header(h, "Server", "nginx");
	evhttp_add_header(h, "Date", date);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Content-Length", length);
	evhttp_add_header(h, "Connection", close ? "close" : "keep-alive");
	if (!close)
		evhttp_add_header(h, "Keep-Alive", "timeout=8");
	evhttp_add_header(h, "Request-Id", id);
}

/* Sends one answer with the front end's headers. close asks evhttp to
 * drop the connection afterwards. */
static void send_reply(struct evhttp_request *req, int code, const char *reason,
		       const char *content_type, const struct buf *body, int close)
{
	add_headers(req, content_type, body->len, close);
	evbuffer_add(evhttp_request_get_output_buffer(req), body->data ? body->data : "", body->len);
	evhttp_send_reply(req, code, reason, NULL);
}

static void send_page(struct evhttp_request *req, int code, const char *reason,
		      const char *status, const char *detail, int close)
{
	struct buf page;
	buf_init(&page);
	nginx_page(&page, status, detail);
	send_reply(req, code, reason, "text/html", &page, close);
	buf_release(&page);
}

static SSL *request_ssl(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/* ---- connections ------------------------------------------------------- */

static void on_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	struct conn *c = ptr;
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!c)
		return;
	open_connections--;
	event_free(c->deadline);
	free(c);
}

static void on_deadline(evutil_socket_t fd, short events, void *arg)
{
	struct conn *c = arg;
	evutil_socket_t sock = bufferevent_getfd(c->bev);
	(void)fd, (void)events;
	/* evhttp owns the connection: end the socket and let it see EOF. */
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
}

/* The connection's next request must arrive whole within the timeout. */
static void arm_deadline(struct http_server *s, SSL *ssl)
{
	struct conn *c = ssl && conn_index >= 0 ? SSL_get_ex_data(ssl, conn_index) : NULL;
	if (c)
		evtimer_add(c->deadline, &s->request_timeout);
}

/* ---- transport faults ---------------------------------------------------- */

/* An answer held back by a fault: freed when it is sent, or when the
 * connection closes first (the close callback). */
struct pending {
	struct http_server *server;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct event *timer;
	enum fault_transport kind;
	struct buf reply;
};

static void pending_free(struct pending *p)
{
	evhttp_connection_set_closecb(p->conn, NULL, NULL);
	event_free(p->timer);
	buf_release(&p->reply);
	free(p);
}

static void on_pending_close(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	pending_free(arg);
}

/* Ends the connection without an answer; with linger 0 the kernel sends
 * a TCP reset instead of a FIN. */
static void drop_connection(struct pending *p, int reset)
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
	pending_free(p);
	evhttp_connection_free(conn);
}

static void on_truncated_written(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	drop_connection(arg, 0);
}

static void on_pending_timer(evutil_socket_t fd, short events, void *arg)
{
	struct pending *p = arg;
	(void)fd, (void)events;

	switch (p->kind) {
	case FAULT_DELAY:
		send_reply(p->req, 200, "OK", "text/plain", &p->reply, 0);
		arm_deadline(p->server, request_ssl(p->req));
		pending_free(p);
		break;
	case FAULT_RESET:
		drop_connection(p, 1);
		break;
	case FAULT_TRUNCATE: {
		/* Headers promise the whole body; half of it arrives. */
		add_headers(p->req, "text/plain", p->reply.len, 0);
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

/* Carries out a fault rule's transport fault on this request. Delays
 * and hangs are timers: nothing here blocks the event loop. */
static void carry_out(struct http_server *s, struct evhttp_request *req,
		      const struct fault_rule *fault, const struct buf *reply)
{
	static const struct timeval at_once = {0, 0};
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct conn *c = conn_index >= 0 ? SSL_get_ex_data(request_ssl(req), conn_index) : NULL;
	struct pending *p;
	struct timeval when = at_once;

	if (fault->transport == FAULT_HTTP503 || fault->transport == FAULT_HTML) {
		int busy = fault->transport == FAULT_HTTP503;
		send_page(req, busy ? 503 : 502, busy ? "Service Temporarily Unavailable" : "Bad Gateway",
			  busy ? "503 Service Temporarily Unavailable" : "502 Bad Gateway", NULL, 0);
		arm_deadline(s, request_ssl(req));
		return;
	}
	if (c)
		evtimer_del(c->deadline); /* a hang must outlast the client's patience */
	p = xcalloc(1, sizeof(*p));
	p->server = s;
	p->req = req;
	p->conn = conn;
	p->kind = fault->transport;
	buf_init(&p->reply);
	buf_append(&p->reply, reply->data ? reply->data : "", reply->len);
	p->timer = evtimer_new(s->base, on_pending_timer, p);
	if (fault->transport == FAULT_DELAY) {
		int ms = faults_delay(s->api->faults, fault);
		when.tv_sec = ms / 1000;
		when.tv_usec = (ms % 1000) * 1000;
	} else if (fault->transport == FAULT_HANG) {
		when.tv_sec = 600; /* then the connection is dropped */
	}
	evhttp_connection_set_closecb(conn, on_pending_close, p);
	event_base_update_cache_time(s->base); /* count the delay from now, not the loop's start */
	evtimer_add(p->timer, &when);
}

static struct bufferevent *on_api_connection(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	int refuse = open_connections >= s->max_connections;
	SSL *ssl = SSL_new(refuse ? s->refuse_ctx : s->ssl_ctx);
	struct bufferevent *bev;
	struct conn *c;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL; /* bufferevent_openssl frees ssl on failure */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	if (refuse)
		return bev;
	c = xcalloc(1, sizeof(*c));
	c->bev = bev;
	c->deadline = evtimer_new(base, on_deadline, c);
	SSL_set_ex_data(ssl, conn_index, c);
	open_connections++;
	arm_deadline(s, ssl);
	return bev;
}

/* accept() failed (EMFILE, ENFILE, ...): pause both listeners for 100 ms
 * instead of spinning on a socket that stays readable. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct http_server *s = arg;
	static const struct timeval pause = {0, 100000};
	(void)lev;
	log_warn("accept: %s; pausing the listeners for 100 ms",
		 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
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
		if (s->listeners[i])
			evconnlistener_enable(s->listeners[i]);
}

/* ---- group commit ------------------------------------------------------ */

static struct store *api_store(struct http_server *s)
{
	return s->api->redpack->store;
}

/* Commits the open batch, then sends every held answer: its own when the
 * commit succeeded (or it wrote nothing), else its fallback. Runs once
 * the requests ready in this turn are all handled, and before anything
 * else that needs the store outside a batch (the control API). */
static void flush_batch(struct http_server *s)
{
	struct held *h, *next;
	int failed;

	if (!store_batch_open(api_store(s)) && !s->held)
		return;
	failed = store_batch_commit(api_store(s)) != 0;
	if (failed)
		log_error("group commit failed: answering SYSTEMERROR to the requests that wrote");
	log_flush();
	for (h = s->held; h; h = next) {
		next = h->next;
		const struct buf *body = failed && h->fallback.len ? &h->fallback : &h->reply;
		struct evhttp_request *req = h->req;
		send_reply(req, 200, "OK", "text/plain", body, 0);
		buf_release(&h->reply);
		buf_release(&h->fallback);
		free(h);
	}
	s->held = NULL;
	s->held_tail = &s->held;
}

static void on_flush(evutil_socket_t fd, short events, void *arg)
{
	(void)fd, (void)events;
	flush_batch(arg);
}

/* Opens the turn's batch on its first request and schedules its commit
 * after the events already active in this turn. */
static void join_batch(struct http_server *s)
{
	if (store_batch_open(api_store(s)))
		return;
	if (store_batch_begin(api_store(s)) != 0)
		return; /* each unit is then a transaction of its own */
	log_hold();
	event_active(s->flush, EV_TIMEOUT, 0);
}

/* ---- the merchant API -------------------------------------------------- */


static const char *request_path(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	return path ? path : "";
}

/* The front end's order (spec 14): certificate, path, method, then the
 * API pipeline, which answers every XML case itself. */
static void on_api_request(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	const struct endpoint *ep;
	char cn[STORE_ID_MAX];
	struct buf reply;
	struct evbuffer *in;

	buf_init(&reply);
	switch (tls_peer(request_ssl(req), cn, sizeof(cn))) {
	case CERT_NONE:
		send_page(req, 400, "Bad Request", "400 Bad Request",
			  "400 No required SSL certificate was sent", 1);
		goto out;
	case CERT_BAD:
		send_page(req, 400, "Bad Request", "400 Bad Request",
			  "400 The SSL certificate error", 1);
		goto out;
	case CERT_OK:
		break;
	}
	ep = api_route(request_path(req));
	if (!ep) {
		send_page(req, 404, "Not Found", "404 Not Found", NULL, 0);
		goto out;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		send_page(req, 405, "Not Allowed", "405 Not Allowed", NULL, 0);
		goto out;
	}
	in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	char *peer = NULL;
	ev_uint16_t peer_port = 0;
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &peer_port);
	struct fault_rule fault = {.transport = FAULT_NONE};
	struct held *h = xcalloc(1, sizeof(*h));
	struct api_call call = {
		.body = body,
		.len = len,
		.cert_cn = cn,
		.negative_test =
			evhttp_find_header(evhttp_request_get_input_headers(req), FAULTS_HEADER),
		.peer_ip = peer,
		.transport = &fault,
		.fallback = &h->fallback,
	};
	buf_init(&h->reply);
	buf_init(&h->fallback);
	join_batch(s);
	api_handle(s->api, ep, &call, &h->reply);
	if (fault.transport != FAULT_NONE) {
		/* Fault answers leave on a timer, after this turn's commit. */
		carry_out(s, req, &fault, &h->reply);
		buf_release(&h->reply);
		buf_release(&h->fallback);
		free(h);
		buf_release(&reply);
		return; /* the fault decides when the deadline is armed again */
	}
	h->req = req;
	*s->held_tail = h;
	s->held_tail = &h->next;
	arm_deadline(s, request_ssl(req));
	buf_release(&reply);
	return;
out:
	arm_deadline(s, request_ssl(req));
	buf_release(&reply);
}

/* ---- the control API --------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return "OTHER";
	}
}

static const char *request_query(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	return uri ? evhttp_uri_get_query(uri) : NULL;
}

/* With --admin-token every control request but /healthz carries
 * "Authorization: Bearer TOKEN"; compared in constant time. */
static int admin_authorized(struct http_server *s, struct evhttp_request *req, const char *path)
{
	const char *auth;

	if (!s->admin_token || strcmp(path, "/healthz") == 0)
		return 1;
	auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!auth || strncmp(auth, "Bearer ", 7) != 0)
		return 0;
	return str_equal_ct(auth + 7, s->admin_token);
}

static void on_admin_request(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	const char *path = request_path(req);

	/* The control API works outside any batch, on committed state. */
	flush_batch(s);

	if (!admin_authorized(s, req, path)) {
		struct buf body;
		buf_init(&body);
		buf_puts(&body, "{\"error\":\"missing or wrong bearer token (--admin-token)\"}\n");
		send_reply(req, 401, "Unauthorized", "application/json", &body, 0);
		buf_release(&body);
		return;
	}

	struct admin_request ar = {
		.method = method_name(evhttp_request_get_command(req)),
		.path = path,
		.query = request_query(req),
	};
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	ar.body_len = evbuffer_get_length(in);
	ar.body = ar.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	s->admin->ready = s->ready;
	admin_handle(s->admin, &ar);
	send_reply(req, ar.status, admin_reason(ar.status), ar.content_type, &ar.reply, 0);
	buf_release(&ar.reply);
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

static int bind_listener(struct http_server *s, int which, struct evhttp *http, const char *spec,
			 const char *scheme, char *url, size_t urllen, char *err, size_t errlen)
{
	char host[64], shown[80];
	int port;
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (split_hostport(spec, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "\"%s\": expected HOST:PORT", spec);
		return -1;
	}
	sock = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
	if (!sock) {
		snprintf(err, errlen, "cannot listen on %s (address in use or not local?)", spec);
		return -1;
	}
	/* Accepted sockets inherit TCP_NODELAY from the listener on Linux:
	 * evhttp writes headers and body separately, and with Nagle the body
	 * would wait for the client's delayed ACK (about 40 ms an answer). */
	int one = 1;
	setsockopt(evhttp_bound_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->listeners[which] = evhttp_bound_socket_get_listener(sock);
	evconnlistener_set_error_cb(s->listeners[which], on_accept_error);
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sslen) == 0)
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

struct http_server *http_start(struct event_base *base, SSL_CTX *ssl_ctx, struct api_ctx *api,
			       struct admin_ctx *admin, const struct http_config *cfg, char *err,
			       size_t errlen)
{
	struct http_server *s = xcalloc(1, sizeof(*s));

	s->admin = admin;
	s->base = base;
	s->ssl_ctx = ssl_ctx;
	s->api = api;
	s->max_connections = cfg->max_connections;
	s->request_timeout.tv_sec = cfg->request_timeout;
	s->accept_pause = evtimer_new(base, on_accept_resume, s);
	s->flush = event_new(base, -1, 0, on_flush, s);
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
	s->api_http = evhttp_new(base);
	s->admin_http = evhttp_new(base);
	if (!s->api_http || !s->admin_http) {
		snprintf(err, errlen, "evhttp_new failed");
		goto error;
	}
	evhttp_set_bevcb(s->api_http, on_api_connection, s);
	evhttp_set_gencb(s->api_http, on_api_request, s);
	evhttp_set_gencb(s->admin_http, on_admin_request, s);
	evhttp_set_allowed_methods(s->api_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
							EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
							EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_allowed_methods(s->admin_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
							  EVHTTP_REQ_DELETE);
	for (int i = 0; i < 2; i++) {
		struct evhttp *h = i ? s->admin_http : s->api_http;
		evhttp_set_max_body_size(h, (ev_ssize_t)cfg->max_body);
		evhttp_set_max_headers_size(h, (ev_ssize_t)cfg->max_headers);
		evhttp_set_timeout(h, cfg->timeout);
	}
	if (bind_listener(s, 0, s->api_http, cfg->api_listen, "https", s->api_url,
			  sizeof(s->api_url), err, errlen) != 0 ||
	    bind_listener(s, 1, s->admin_http, cfg->admin_listen, "http", s->admin_url,
			  sizeof(s->admin_url), err, errlen) != 0)
		goto error;
	return s;
error:
	http_stop(s);
	return NULL;
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
	if (s->flush)
		flush_batch(s); /* answer what is held before evhttp frees it */
	if (s->api_http)
		evhttp_free(s->api_http);
	if (s->admin_http)
		evhttp_free(s->admin_http);
	if (s->accept_pause)
		event_free(s->accept_pause);
	if (s->flush)
		event_free(s->flush);
	SSL_CTX_free(s->refuse_ctx);
	free(s->admin_token);
	free(s);
}
