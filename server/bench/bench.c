/*
 * bench.c - redpack-bench, the load generator: N connections over mutual
 * TLS, one request in flight on each, every request a freshly signed
 * sendgroupredpack (or a gethbinfo, a badly signed one, or a fixed body
 * for a reference server), for a duration or a count after a warm-up.
 * It reports throughput, a latency histogram, the answers by err_code,
 * transport errors and its own CPU, as text or one line of JSON.
 *
 * It speaks only the wire protocol (HTTP/1.1 with Content-Length, the
 * XML body, the API v2 signature from sign.c), so it loads any server,
 * this one or nginx, the same way. One event loop per thread; threads
 * share nothing but the TLS context and the read-only options.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fields.h"
#include "hist.h"
#include "kv.h"
#include "sign.h"
#include "util.h"
#include "xmlcodec.h"

#define SEND_PATH "/mmpaymkttransfers/sendgroupredpack"
#define QUERY_PATH "/mmpaymkttransfers/gethbinfo"
#define MAX_ANSWER_KINDS 64
#define MAX_HEAD 16384
#define SENT_RING 4096 /* billnos remembered per thread for --mix-query */

/* ---- options: one table, parsed and documented from it ----------------- */

struct options {
	const char *api, *path, *certs, *cert, *key_file, *ca, *fixed_body;
	const char *mch_id, *key, *appid, *openid, *amount, *num;
	double duration, warmup, mix_query, bad_sign, timeout;
	long requests, connections, threads;
	int new_conn, resume, json, help;
};

enum opt_kind { OPT_STR, OPT_NUM, OPT_INT, OPT_FLAG };

static const struct {
	const char *flag;
	enum opt_kind kind;
	size_t offset;
	const char *arg, *help;
} option_table[] = {
#define O(f, k, m, a, h)                                                                           \
	{                                                                                          \
		f, k, offsetof(struct options, m), a, h                                            \
	}
	O("--api", OPT_STR, api, "URL",
	  "server to load, https://HOST:PORT [https://127.0.0.1:8443]"),
	O("--path", OPT_STR, path, "PATH",
	  "path of the sends (and of --fixed-body) [" SEND_PATH "]"),
	O("--certs", OPT_STR, certs, "DIR",
	  "gen-certs.sh layout: DIR/ca.pem, DIR/<mch_id>/apiclient_cert.pem and _key.pem "
	  "[var/certs]"),
	O("--cert", OPT_STR, cert, "FILE", "client certificate (PEM) [from --certs and --mch-id]"),
	O("--key-file", OPT_STR, key_file, "FILE",
	  "client private key (PEM) [from --certs and --mch-id]"),
	O("--ca", OPT_STR, ca, "FILE", "CA that signed the server certificate [DIR/ca.pem]"),
	O("--connections", OPT_INT, connections, "N",
	  "concurrent connections, one request in flight on each [16]"),
	O("--threads", OPT_INT, threads, "N", "event loops (threads) sharing the connections [1]"),
	O("--duration", OPT_NUM, duration, "S", "seconds to measure, after the warm-up [8]"),
	O("--requests", OPT_INT, requests, "N", "measure exactly N requests instead of a duration"),
	O("--warmup", OPT_NUM, warmup, "S", "seconds of load before measuring starts [0]"),
	O("--timeout", OPT_NUM, timeout, "S",
	  "seconds a connection may wait for connect or an answer [10]"),
	O("--new-conn", OPT_FLAG, new_conn, NULL,
	  "a new TLS connection (full handshake) per request"),
	O("--resume", OPT_FLAG, resume, NULL, "with --new-conn: resume the previous TLS session"),
	O("--mix-query", OPT_NUM, mix_query, "P",
	  "share (0..1) of gethbinfo for billnos already sent [0]"),
	O("--bad-sign", OPT_NUM, bad_sign, "P",
	  "share (0..1) of sends with a wrong sign (SIGN_ERROR) [0]"),
	O("--fixed-body", OPT_STR, fixed_body, "FILE",
	  "POST this file's bytes as every request (reference servers)"),
	O("--mch-id", OPT_STR, mch_id, "ID", "merchant [10000100]"),
	O("--key", OPT_STR, key, "KEY", "merchant API v2 key [0f1e2d3c4b5a69788796a5b4c3d2e1f0]"),
	O("--appid", OPT_STR, appid, "APPID", "wxappid of the sends [wx1000000000000000]"),
	O("--openid", OPT_STR, openid, "OPENID",
	  "re_openid of the sends [oLoadUser0000000000000000001]"),
	O("--amount", OPT_STR, amount, "FEN", "total_amount of each group packet [300]"),
	O("--num", OPT_STR, num, "N", "total_num of each group packet [3]"),
	O("--json", OPT_FLAG, json, NULL, "print one line of JSON instead of the text report"),
	O("--help", OPT_FLAG, help, NULL, "print this and exit"),
#undef O
};
#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: redpack-bench [--FLAG VALUE]...\n\n"
		"Loads a redpack-sim (or any server answering POST) over mutual TLS and reports\n"
		"req/s, latency percentiles, answers by err_code, transport errors and its own "
		"CPU.\n\n");
	for (size_t i = 0; i < OPTION_COUNT; i++)
		fprintf(out, "  %-14s %-7s %s\n", option_table[i].flag,
			option_table[i].arg ? option_table[i].arg : "", option_table[i].help);
}

/* Returns 0, or -1 with a message on stderr. */
static int parse_options(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		size_t k;
		char *end;
		for (k = 0; k < OPTION_COUNT && strcmp(argv[i], option_table[k].flag) != 0; k++)
			;
		if (k == OPTION_COUNT) {
			fprintf(stderr, "redpack-bench: unknown option %s (see --help)\n", argv[i]);
			return -1;
		}
		void *field = (char *)o + option_table[k].offset;
		if (option_table[k].kind == OPT_FLAG) {
			*(int *)field = 1;
			continue;
		}
		if (i + 1 == argc) {
			fprintf(stderr, "redpack-bench: %s wants a value\n", argv[i]);
			return -1;
		}
		const char *v = argv[++i];
		errno = 0;
		switch (option_table[k].kind) {
		case OPT_STR:
			*(const char **)field = v;
			break;
		case OPT_NUM:
			*(double *)field = strtod(v, &end);
			if (errno || end == v || *end || *(double *)field < 0) {
				fprintf(stderr, "redpack-bench: %s wants a number >= 0, not %s\n",
					argv[i - 1], v);
				return -1;
			}
			break;
		case OPT_INT:
			*(long *)field = strtol(v, &end, 10);
			if (errno || end == v || *end || *(long *)field < 0) {
				fprintf(stderr, "redpack-bench: %s wants an integer >= 0, not %s\n",
					argv[i - 1], v);
				return -1;
			}
			break;
		case OPT_FLAG:
			break;
		}
	}
	return 0;
}

/* ---- shared run state --------------------------------------------------- */

/* The transport errors, counted separately from the answers. */
enum terr { TE_CONNECT, TE_TLS, TE_RESET, TE_TIMEOUT, TE_FRAMING, TE_COUNT };
static const char *const terr_names[TE_COUNT] = {"connect", "tls", "reset", "timeout", "framing"};

struct answer_kind {
	char name[48];
	uint64_t count;
};

struct run {
	struct options o;
	SSL_CTX *ssl_ctx;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char host[256], host_header[300];
	int host_is_ip;
	char *fixed_body; /* --fixed-body's bytes, owned */
	size_t fixed_len;
	const struct sign_fields *send_fields, *query_fields;
	char run_tag[9];     /* makes this run's billnos unique */
	uint64_t t_start;    /* monotonic us */
	uint64_t t_measure;  /* t_start + warm-up */
	uint64_t t_deadline; /* t_measure + duration (UINT64_MAX with --requests) */
};

struct worker;

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	int connected, busy, measured, is_send;
	long body_len; /* -1: still reading the head */
	int status, close_after;
	uint64_t t_sent;
	char billno[32];
	struct event *retry;
};

struct worker {
	struct run *run;
	int index;
	struct event_base *base;
	struct event *stop_timer, *measure_timer;
	struct conn *conns;
	long nconns, open_conns;
	long quota;   /* --requests: measured requests this worker may still start */
	uint64_t seq; /* billno counter */
	uint64_t rng;
	SSL_SESSION *session; /* --resume: the last session, owned */
	char sent[SENT_RING][32];
	unsigned nsent;
	struct buf req, body;
	/* results */
	struct hist hist;
	struct answer_kind answers[MAX_ANSWER_KINDS];
	int nanswers;
	uint64_t errors[TE_COUNT];
	uint64_t requests, responses, queries; /* measured (queries: gethbinfo) */
	uint64_t all_responses, handshakes, resumed;
	uint64_t t_last;	  /* last measured completion */
	struct rusage ru_measure; /* worker 0: at the start of measuring */
	int have_ru_measure;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t next_random(struct worker *w)
{
	/* xorshift64*: cheap and good enough to pick a request kind. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * UINT64_C(2685821657736338717);
}

static int chance(struct worker *w, double p)
{
	return p > 0 && (double)(next_random(w) >> 11) / 9007199254740992.0 < p;
}

static void count_answer(struct worker *w, const char *name)
{
	int i;
	for (i = 0; i < w->nanswers && strcmp(w->answers[i].name, name) != 0; i++)
		;
	if (i == w->nanswers) {
		if (w->nanswers == MAX_ANSWER_KINDS)
			i = MAX_ANSWER_KINDS - 1, name = "(other)";
		else
			w->nanswers++;
		snprintf(w->answers[i].name, sizeof(w->answers[i].name), "%s", name);
	}
	w->answers[i].count++;
}

/* ---- requests ----------------------------------------------------------- */

static void random_nonce(struct worker *w, char out[33])
{
	static const char digits[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	for (int i = 0; i < 32; i++)
		out[i] = digits[next_random(w) % 62];
	out[32] = '\0';
}

/* Builds the next body into w->body: a send (unique billno, signed, or
 * badly signed with --bad-sign), a gethbinfo for a billno this thread
 * has seen succeed, or the fixed body. Sets c->is_send and c->billno. */
static void build_body(struct conn *c)
{
	struct worker *w = c->w;
	const struct options *o = &w->run->o;
	struct kvlist f;
	char nonce[33], hex[SIGN_HEX_LEN + 1];
	int query = w->nsent > 0 && chance(w, o->mix_query);

	buf_reset(&w->body);
	c->is_send = 0;
	c->billno[0] = '\0';
	if (w->run->fixed_body) {
		buf_append(&w->body, w->run->fixed_body, w->run->fixed_len);
		return;
	}
	kvlist_init(&f);
	random_nonce(w, nonce);
	if (query) {
		snprintf(c->billno, sizeof(c->billno), "%s",
			 w->sent[next_random(w) % (w->nsent < SENT_RING ? w->nsent : SENT_RING)]);
		kvlist_add(&f, "nonce_str", nonce);
		kvlist_add(&f, "mch_billno", c->billno);
		kvlist_add(&f, "mch_id", o->mch_id);
		kvlist_add(&f, "appid", o->appid);
		kvlist_add(&f, "bill_type", "MCHT");
		sign_compute(&f, w->run->query_fields, o->key, hex);
	} else {
		/* B + run tag (8) + thread (2 hex) + counter: <= 28 alphanumerics. */
		snprintf(c->billno, sizeof(c->billno), "B%s%02x%" PRIu64, w->run->run_tag,
			 (unsigned)w->index & 0xff, ++w->seq);
		c->is_send = 1;
		kvlist_add(&f, "nonce_str", nonce);
		kvlist_add(&f, "mch_billno", c->billno);
		kvlist_add(&f, "mch_id", o->mch_id);
		kvlist_add(&f, "wxappid", o->appid);
		kvlist_add(&f, "send_name", "redpack-bench");
		kvlist_add(&f, "re_openid", o->openid);
		kvlist_add(&f, "total_amount", o->amount);
		kvlist_add(&f, "total_num", o->num);
		kvlist_add(&f, "amt_type", "ALL_RAND");
		kvlist_add(&f, "wishing", "恭喜发财");
		kvlist_add(&f, "act_name", "压测活动");
		kvlist_add(&f, "remark", "redpack-bench");
		sign_compute(&f, w->run->send_fields, o->key, hex);
		if (chance(w, o->bad_sign))
			hex[0] = hex[0] == '0' ? '1' : '0'; /* one digit off: SIGN_ERROR */
	}
	kvlist_add(&f, "sign", hex);
	xmlcodec_begin(&w->body);
	for (size_t i = 0; i < f.count; i++)
		xmlcodec_cdata(&w->body, f.items[i].name, f.items[i].value);
	xmlcodec_end(&w->body);
	kvlist_release(&f);
}

/* ---- connections -------------------------------------------------------- */

/* How long a connection waits before trying again after set-up failed. */
static const struct timeval retry_later = {0, 100000};

static void conn_open(struct conn *c);
static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void conn_close(struct conn *c)
{
	if (c->bev) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		/* A close_notify, as a polite client sends; without it OpenSSL
		 * also marks the session as not resumable when it is freed. */
		if (ssl && c->connected)
			SSL_shutdown(ssl);
		if (c->w->run->o.resume && ssl && c->connected) {
			SSL_SESSION *s = SSL_get1_session(ssl);
			if (s) {
				SSL_SESSION_free(c->w->session);
				c->w->session = s;
			}
		}
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->connected = c->busy = 0;
}

/* The connection is done for good: the last one out ends the loop. */
static void conn_retire(struct conn *c)
{
	conn_close(c);
	if (--c->w->open_conns == 0)
		event_base_loopexit(c->w->base, NULL);
}

/* Whether c may start another request now; claims a --requests slot. */
static int may_start(struct worker *w, uint64_t t)
{
	if (t >= w->run->t_deadline)
		return 0;
	if (w->run->o.requests && t >= w->run->t_measure) {
		if (w->quota == 0)
			return 0;
		w->quota--;
	}
	return 1;
}

static void issue(struct conn *c)
{
	struct worker *w = c->w;
	const struct run *r = w->run;
	uint64_t t = now_us();

	if (!may_start(w, t)) {
		conn_retire(c);
		return;
	}
	if (!c->bev) {
		conn_open(c);
		if (!c->bev)
			return;
	}
	build_body(c);
	buf_reset(&w->req);
	buf_printf(&w->req,
		   "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: redpack-bench\r\n"
		   "Content-Type: text/xml\r\nContent-Length: %zu\r\n\r\n",
		   c->is_send || r->fixed_body ? r->o.path : QUERY_PATH, r->host_header,
		   w->body.len);
	buf_append(&w->req, w->body.data, w->body.len);
	c->busy = 1;
	c->body_len = -1;
	c->status = 0;
	c->close_after = r->o.new_conn;
	c->t_sent = t;
	c->measured = t >= r->t_measure;
	if (c->measured)
		w->requests++;
	bufferevent_write(c->bev, w->req.data, w->req.len);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	issue(arg);
}

/* A transport error: counted, the connection dropped, a new one tried
 * (a little later when connecting itself failed, not to spin). */
static void conn_fail(struct conn *c, enum terr e)
{
	struct timeval delay = {0, 10000};

	c->w->errors[e]++;
	conn_close(c);
	if (e == TE_CONNECT || e == TE_TLS)
		evtimer_add(c->retry, &delay);
	else
		issue(c);
}

static void conn_open(struct conn *c)
{
	struct worker *w = c->w;
	const struct run *r = w->run;
	struct timeval tv = {(time_t)r->o.timeout,
			     (suseconds_t)((r->o.timeout - floor(r->o.timeout)) * 1e6)};
	SSL *ssl = SSL_new(r->ssl_ctx);
	evutil_socket_t fd = socket(r->addr.ss_family, SOCK_STREAM, 0);
	int one = 1;

	if (!ssl || fd < 0) {
		SSL_free(ssl);
		if (fd >= 0)
			close(fd);
		w->errors[TE_CONNECT]++;
		evtimer_add(c->retry, &retry_later);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r->host_is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), r->host);
	} else {
		SSL_set_tlsext_host_name(ssl, r->host);
		SSL_set1_host(ssl, r->host);
	}
	if (r->o.resume && w->session)
		SSL_set_session(ssl, w->session);
	c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		SSL_free(ssl);
		close(fd);
		w->errors[TE_CONNECT]++;
		evtimer_add(c->retry, &retry_later);
		return;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->connected = 0;
	if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&r->addr,
				       (int)r->addr_len) != 0) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		w->errors[TE_CONNECT]++;
		evtimer_add(c->retry, &retry_later);
	}
}

/* Whether the TCP connection under bev got established (an error before
 * the TLS handshake finished is then a TLS error, else a connect error). */
static int tcp_established(struct bufferevent *bev)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	evutil_socket_t fd = bufferevent_getfd(bev);

	return fd >= 0 && getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;

	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		c->connected = 1;
		w->handshakes++;
		if (ssl && SSL_session_reused(ssl))
			w->resumed++;
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		conn_fail(c, TE_TIMEOUT);
	else if (!c->connected)
		conn_fail(c, tcp_established(bev) ? TE_TLS : TE_CONNECT);
	else
		conn_fail(c, bufferevent_get_openssl_error(bev) ? TE_TLS : TE_RESET);
	while (ERR_get_error())
		; /* the error queue is per thread: leave it clean */
}

/* Parses the status line and headers (head_len bytes, ending in the
 * blank line). Returns 0, or -1 for what this client cannot frame. */
static int parse_head(struct conn *c, const char *head, size_t head_len)
{
	const char *p = head, *end = head + head_len;

	if (head_len < 12 || strncmp(head, "HTTP/1.", 7) != 0)
		return -1;
	c->status = atoi(head + 9);
	c->body_len = -1;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL && ++p < end) {
		size_t n = (size_t)(end - p);
		if (n > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
			c->body_len = strtol(p + 15, NULL, 10);
		else if (n > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0)
			return -1; /* chunked answers are not this protocol */
		else if (n > 11 && strncasecmp(p, "Connection:", 11) == 0) {
			const char *eol = memchr(p, '\n', n);
			for (const char *q = p + 11; eol && q + 5 <= eol; q++)
				if (strncasecmp(q, "close", 5) == 0)
					c->close_after = 1;
		}
	}
	return c->body_len < 0 || c->body_len > 16 * 1024 * 1024 ? -1 : 0;
}

/* The err_code of an XML answer, CDATA or bare, into out ("(none)"). */
static void err_code_of(const char *body, size_t len, char *out, size_t size)
{
	static const char open[] = "<err_code>", cdata[] = "<![CDATA[";
	const char *p = memmem(body, len, open, sizeof(open) - 1), *e;

	snprintf(out, size, "(none)");
	if (!p)
		return;
	p += sizeof(open) - 1;
	if ((size_t)(body + len - p) >= sizeof(cdata) - 1 &&
	    memcmp(p, cdata, sizeof(cdata) - 1) == 0) {
		p += sizeof(cdata) - 1;
		e = memmem(p, (size_t)(body + len - p), "]]>", 3);
	} else {
		e = memchr(p, '<', (size_t)(body + len - p));
	}
	if (e)
		snprintf(out, size, "%.*s", (int)(e - p), p);
}

static void complete(struct conn *c, const char *body, size_t len)
{
	struct worker *w = c->w;
	uint64_t t = now_us();
	char name[48];

	w->all_responses++;
	if (c->status == 200)
		err_code_of(body, len, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "HTTP %d", c->status);
	if (c->is_send && strcmp(name, "SUCCESS") == 0) {
		memcpy(w->sent[w->nsent % SENT_RING], c->billno, sizeof(c->billno));
		w->nsent++;
	}
	if (c->measured) {
		w->responses++;
		hist_record(&w->hist, t - c->t_sent);
		count_answer(w, name);
		w->queries += !c->is_send && !w->run->fixed_body;
		w->t_last = t;
	}
	c->busy = 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		if (!c->busy) {
			/* Nothing asked: bytes the server should not have sent. */
			conn_fail(c, TE_FRAMING);
			return;
		}
		if (c->body_len < 0) {
			struct evbuffer_ptr at = evbuffer_search(in, "\r\n\r\n", 4, NULL);
			if (at.pos < 0) {
				if (evbuffer_get_length(in) > MAX_HEAD)
					conn_fail(c, TE_FRAMING);
				return;
			}
			size_t head_len = (size_t)at.pos + 4;
			if (parse_head(c, (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len),
				       head_len) != 0) {
				conn_fail(c, TE_FRAMING);
				return;
			}
			evbuffer_drain(in, head_len);
		}
		if (evbuffer_get_length(in) < (size_t)c->body_len)
			return;
		complete(c, (const char *)evbuffer_pullup(in, c->body_len), (size_t)c->body_len);
		evbuffer_drain(in, (size_t)c->body_len);
		if (c->close_after) {
			conn_close(c);
			issue(c);
			return;
		}
		issue(c);
		if (!c->bev || evbuffer_get_length(in) == 0)
			return;
	}
}

/* ---- workers ------------------------------------------------------------ */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	event_base_loopbreak(w->base); /* answers still missing stay missing */
}

static void on_measure(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	getrusage(RUSAGE_SELF, &w->ru_measure);
	w->have_ru_measure = 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct run *r = w->run;
	uint64_t t = now_us();

	if (w->index == 0) {
		uint64_t wait = r->t_measure > t ? r->t_measure - t : 0;
		struct timeval tv = {(time_t)(wait / 1000000u), (suseconds_t)(wait % 1000000u)};
		evtimer_add(w->measure_timer, &tv);
	}
	if (r->t_deadline != UINT64_MAX) {
		uint64_t wait = r->t_deadline - t + (uint64_t)(r->o.timeout * 1e6) + 1000000u;
		struct timeval tv = {(time_t)(wait / 1000000u), (suseconds_t)(wait % 1000000u)};
		evtimer_add(w->stop_timer, &tv);
	}
	w->open_conns = w->nconns;
	for (long i = 0; i < w->nconns; i++)
		issue(&w->conns[i]);
	if (w->open_conns > 0)
		event_base_dispatch(w->base);
	for (long i = 0; i < w->nconns; i++)
		conn_close(&w->conns[i]);
	return NULL;
}

/* ---- set-up ------------------------------------------------------------- */

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

static int resolve(struct run *r)
{
	const char *api = r->o.api, *hp, *colon, *slash;
	char port[16];
	struct addrinfo hints = {0}, *ai = NULL;
	unsigned char scratch[sizeof(struct in6_addr)];
	int rc;

	if (strncmp(api, "https://", 8) != 0) {
		fprintf(stderr, "redpack-bench: --api wants https://HOST:PORT, not %s\n", api);
		return -1;
	}
	hp = api + 8;
	slash = strchr(hp, '/');
	if (!slash)
		slash = hp + strlen(hp);
	if (*hp == '[') {
		const char *close = memchr(hp, ']', (size_t)(slash - hp));
		if (!close) {
			fprintf(stderr, "redpack-bench: bad --api %s\n", api);
			return -1;
		}
		snprintf(r->host, sizeof(r->host), "%.*s", (int)(close - hp - 1), hp + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(slash - hp));
		snprintf(r->host, sizeof(r->host), "%.*s", (int)((colon ? colon : slash) - hp), hp);
	}
	snprintf(port, sizeof(port), "%.*s", colon ? (int)(slash - colon - 1) : 3,
		 colon ? colon + 1 : "443");
	snprintf(r->host_header, sizeof(r->host_header), "%.*s", (int)(slash - hp), hp);
	r->host_is_ip = inet_pton(AF_INET, r->host, scratch) == 1 ||
			inet_pton(AF_INET6, r->host, scratch) == 1;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(r->host, port, &hints, &ai);
	if (rc != 0 || !ai) {
		fprintf(stderr, "redpack-bench: %s: %s\n", api, gai_strerror(rc));
		return -1;
	}
	memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
	r->addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int tls_setup(struct run *r)
{
	struct buf cert, key, ca;
	int rc = -1;

	buf_init(&cert);
	buf_init(&key);
	buf_init(&ca);
	if (r->o.cert)
		buf_puts(&cert, r->o.cert);
	else
		buf_printf(&cert, "%s/%s/apiclient_cert.pem", r->o.certs, r->o.mch_id);
	if (r->o.key_file)
		buf_puts(&key, r->o.key_file);
	else
		buf_printf(&key, "%s/%s/apiclient_key.pem", r->o.certs, r->o.mch_id);
	if (r->o.ca)
		buf_puts(&ca, r->o.ca);
	else
		buf_printf(&ca, "%s/ca.pem", r->o.certs);
	r->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!r->ssl_ctx)
		goto out;
	SSL_CTX_set_verify(r->ssl_ctx, SSL_VERIFY_PEER, NULL);
	/* Sessions are kept by hand per thread (--resume); no internal cache. */
	SSL_CTX_set_session_cache_mode(r->ssl_ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	if (SSL_CTX_load_verify_locations(r->ssl_ctx, ca.data, NULL) != 1) {
		fprintf(stderr, "redpack-bench: cannot load CA %s\n", ca.data);
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(r->ssl_ctx, cert.data) != 1 ||
	    SSL_CTX_use_PrivateKey_file(r->ssl_ctx, key.data, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(r->ssl_ctx) != 1) {
		fprintf(stderr, "redpack-bench: cannot load client certificate %s / key %s\n",
			cert.data, key.data);
		goto out;
	}
	rc = 0;
out:
	buf_release(&cert);
	buf_release(&key);
	buf_release(&ca);
	return rc;
}

static void set_defaults(struct options *o)
{
	o->api = "https://127.0.0.1:8443";
	o->path = SEND_PATH;
	o->certs = "var/certs";
	o->mch_id = "10000100";
	o->key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
	o->appid = "wx1000000000000000";
	o->openid = "oLoadUser0000000000000000001";
	o->amount = "300";
	o->num = "3";
	o->duration = 8;
	o->timeout = 10;
	o->connections = 16;
	o->threads = 1;
}

/* ---- the report --------------------------------------------------------- */

struct totals {
	struct hist hist;
	struct answer_kind answers[MAX_ANSWER_KINDS];
	int nanswers;
	uint64_t errors[TE_COUNT];
	uint64_t requests, responses, queries, all_responses, handshakes, resumed, t_last;
	double elapsed, rps, cpu, cpu_measured, cpu_per_response_us, core_share;
	int client_bound;
};

static double seconds_of(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static void add_answer(struct totals *t, const struct answer_kind *a)
{
	int i;
	for (i = 0; i < t->nanswers && strcmp(t->answers[i].name, a->name) != 0; i++)
		;
	if (i == t->nanswers) {
		if (t->nanswers == MAX_ANSWER_KINDS)
			return;
		t->answers[t->nanswers++] = *a;
		return;
	}
	t->answers[i].count += a->count;
}

static void sum_up(const struct run *r, struct worker *ws, long n, const struct rusage *ru_end,
		   struct totals *t)
{
	struct rusage ru_measure = ws[0].have_ru_measure ? ws[0].ru_measure : *ru_end;

	memset(t, 0, sizeof(*t));
	for (long i = 0; i < n; i++) {
		struct worker *w = &ws[i];
		hist_merge(&t->hist, &w->hist);
		for (int k = 0; k < w->nanswers; k++)
			add_answer(t, &w->answers[k]);
		for (int e = 0; e < TE_COUNT; e++)
			t->errors[e] += w->errors[e];
		t->requests += w->requests;
		t->responses += w->responses;
		t->queries += w->queries;
		t->all_responses += w->all_responses;
		t->handshakes += w->handshakes;
		t->resumed += w->resumed;
		if (w->t_last > t->t_last)
			t->t_last = w->t_last;
	}
	t->elapsed = t->t_last > r->t_measure ? (double)(t->t_last - r->t_measure) / 1e6 : 0;
	t->rps = t->elapsed > 0 ? (double)t->responses / t->elapsed : 0;
	t->cpu = seconds_of(ru_end);
	t->cpu_measured = t->cpu - seconds_of(&ru_measure);
	t->cpu_per_response_us = t->responses ? t->cpu_measured * 1e6 / (double)t->responses : 0;
	/* Busy share of the cores it had: near 1 means the client, not the
	 * server, set the pace. */
	t->core_share = t->elapsed > 0 ? t->cpu_measured / (t->elapsed * (double)r->o.threads) : 0;
	t->client_bound = t->core_share > 0.85;
}

static const char *mode_of(const struct options *o)
{
	return !o->new_conn ? "keep-alive" : o->resume ? "new-conn+resume" : "new-conn";
}

static void print_json(const struct run *r, const struct totals *t)
{
	json_t *j = json_object(), *lat = json_object(), *ans = json_object(), *err = json_object();
	char *text;

	json_object_set_new(j, "api", json_string(r->o.api));
	json_object_set_new(j, "mode", json_string(mode_of(&r->o)));
	json_object_set_new(j, "connections", json_integer(r->o.connections));
	json_object_set_new(j, "threads", json_integer(r->o.threads));
	json_object_set_new(j, "elapsed_s", json_real(t->elapsed));
	json_object_set_new(j, "requests", json_integer((json_int_t)t->requests));
	json_object_set_new(j, "responses", json_integer((json_int_t)t->responses));
	json_object_set_new(j, "queries", json_integer((json_int_t)t->queries));
	json_object_set_new(j, "rps", json_real(t->rps));
	json_object_set_new(lat, "p50", json_integer((json_int_t)hist_percentile(&t->hist, 50)));
	json_object_set_new(lat, "p90", json_integer((json_int_t)hist_percentile(&t->hist, 90)));
	json_object_set_new(lat, "p99", json_integer((json_int_t)hist_percentile(&t->hist, 99)));
	json_object_set_new(lat, "p99.9",
			    json_integer((json_int_t)hist_percentile(&t->hist, 99.9)));
	json_object_set_new(lat, "max", json_integer((json_int_t)t->hist.max));
	json_object_set_new(lat, "mean",
			    json_real(t->hist.total ? t->hist.sum / (double)t->hist.total : 0));
	json_object_set_new(j, "latency_us", lat);
	for (int i = 0; i < t->nanswers; i++)
		json_object_set_new(ans, t->answers[i].name,
				    json_integer((json_int_t)t->answers[i].count));
	json_object_set_new(j, "answers", ans);
	for (int e = 0; e < TE_COUNT; e++)
		json_object_set_new(err, terr_names[e], json_integer((json_int_t)t->errors[e]));
	json_object_set_new(j, "errors", err);
	json_object_set_new(j, "all_responses", json_integer((json_int_t)t->all_responses));
	json_object_set_new(j, "handshakes", json_integer((json_int_t)t->handshakes));
	json_object_set_new(j, "resumed", json_integer((json_int_t)t->resumed));
	json_object_set_new(j, "client_cpu_s", json_real(t->cpu));
	json_object_set_new(j, "client_cpu_us_per_response", json_real(t->cpu_per_response_us));
	json_object_set_new(j, "client_core_share", json_real(t->core_share));
	json_object_set_new(j, "client_bound", json_boolean(t->client_bound));
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	puts(text ? text : "{}");
	free(text);
	json_decref(j);
}

static void print_text(const struct run *r, const struct totals *t)
{
	printf("redpack-bench: %s %s, %ld connections, %ld thread%s\n", r->o.api, mode_of(&r->o),
	       r->o.connections, r->o.threads, r->o.threads == 1 ? "" : "s");
	printf("  %" PRIu64 " responses to %" PRIu64 " requests in %.2f s: %.1f req/s\n",
	       t->responses, t->requests, t->elapsed, t->rps);
	printf("  latency us: p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64 "  p99.9 %" PRIu64
	       "  max %" PRIu64 "\n",
	       hist_percentile(&t->hist, 50), hist_percentile(&t->hist, 90),
	       hist_percentile(&t->hist, 99), hist_percentile(&t->hist, 99.9), t->hist.max);
	printf("  answers (%" PRIu64 " of them to gethbinfo):", t->queries);
	for (int i = 0; i < t->nanswers; i++)
		printf(" %s=%" PRIu64, t->answers[i].name, t->answers[i].count);
	printf("%s\n  transport errors:", t->nanswers ? "" : " none");
	for (int e = 0; e < TE_COUNT; e++)
		printf(" %s=%" PRIu64, terr_names[e], t->errors[e]);
	printf("\n  TLS handshakes %" PRIu64 " (%" PRIu64 " resumed), %" PRIu64
	       " responses in all\n",
	       t->handshakes, t->resumed, t->all_responses);
	printf("  client CPU %.2f s (%.1f us per response, %.0f%% of its %ld core%s while "
	       "measuring)\n",
	       t->cpu, t->cpu_per_response_us, t->core_share * 100, r->o.threads,
	       r->o.threads == 1 ? "" : "s");
	if (t->client_bound)
		printf("  warning: redpack-bench itself was busy %.0f%% of the time: it, not the "
		       "server, may set "
		       "the pace (try --threads %ld)\n",
		       t->core_share * 100, r->o.threads + 1);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct run r;
	struct worker *ws = NULL;
	pthread_t *tids = NULL;
	struct rusage ru_end;
	struct totals t;
	unsigned char raw[8];
	int rc = 2;

	memset(&r, 0, sizeof(r));
	set_defaults(&r.o);
	if (parse_options(argc, argv, &r.o) != 0)
		return 2;
	if (r.o.help) {
		usage(stdout);
		return 0;
	}
	if (r.o.connections < 1 || r.o.threads < 1 || r.o.threads > r.o.connections ||
	    r.o.mix_query > 1 || r.o.bad_sign > 1 || r.o.timeout <= 0 ||
	    (r.o.resume && !r.o.new_conn)) {
		fprintf(stderr, "redpack-bench: need connections >= threads >= 1, shares in 0..1, "
				"a timeout, "
				"and --resume only with --new-conn\n");
		return 2;
	}
	if (r.o.fixed_body && !(r.fixed_body = read_whole(r.o.fixed_body, &r.fixed_len))) {
		fprintf(stderr, "redpack-bench: cannot read %s\n", r.o.fixed_body);
		return 2;
	}
	r.send_fields = bench_signed_fields(SEND_PATH);
	r.query_fields = bench_signed_fields(QUERY_PATH);
	RAND_bytes(raw, sizeof(raw));
	for (int i = 0; i < 8; i++)
		r.run_tag[i] =
			"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[raw[i] %
											 62];
	if (resolve(&r) != 0 || tls_setup(&r) != 0)
		goto out;

	ws = xcalloc((size_t)r.o.threads, sizeof(*ws));
	tids = xcalloc((size_t)r.o.threads, sizeof(*tids));
	for (long i = 0; i < r.o.threads; i++) {
		struct worker *w = &ws[i];
		w->run = &r;
		w->index = (int)i;
		w->base = event_base_new();
		w->nconns = r.o.connections / r.o.threads + (i < r.o.connections % r.o.threads);
		w->quota = r.o.requests / r.o.threads + (i < r.o.requests % r.o.threads);
		w->conns = xcalloc((size_t)w->nconns, sizeof(*w->conns));
		w->stop_timer = evtimer_new(w->base, on_stop, w);
		w->measure_timer = evtimer_new(w->base, on_measure, w);
		RAND_bytes((unsigned char *)&w->rng, sizeof(w->rng));
		w->rng |= 1;
		buf_init(&w->req);
		buf_init(&w->body);
		for (long k = 0; k < w->nconns; k++) {
			w->conns[k].w = w;
			w->conns[k].retry = evtimer_new(w->base, on_retry, &w->conns[k]);
		}
	}
	r.t_start = now_us();
	r.t_measure = r.t_start + (uint64_t)(r.o.warmup * 1e6);
	r.t_deadline = r.o.requests ? UINT64_MAX : r.t_measure + (uint64_t)(r.o.duration * 1e6);
	for (long i = 0; i < r.o.threads; i++)
		pthread_create(&tids[i], NULL, worker_main, &ws[i]);
	for (long i = 0; i < r.o.threads; i++)
		pthread_join(tids[i], NULL);
	getrusage(RUSAGE_SELF, &ru_end);

	sum_up(&r, ws, r.o.threads, &ru_end, &t);
	if (r.o.json)
		print_json(&r, &t);
	else
		print_text(&r, &t);
	rc = t.responses > 0 ? 0 : 1;
out:
	for (long i = 0; ws && i < r.o.threads; i++) {
		for (long k = 0; k < ws[i].nconns; k++)
			if (ws[i].conns[k].retry)
				event_free(ws[i].conns[k].retry);
		if (ws[i].stop_timer)
			event_free(ws[i].stop_timer);
		if (ws[i].measure_timer)
			event_free(ws[i].measure_timer);
		if (ws[i].base)
			event_base_free(ws[i].base);
		SSL_SESSION_free(ws[i].session);
		free(ws[i].conns);
		buf_release(&ws[i].req);
		buf_release(&ws[i].body);
	}
	free(ws);
	free(tids);
	SSL_CTX_free(r.ssl_ctx);
	free(r.fixed_body);
	return rc;
}
