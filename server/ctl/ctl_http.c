/*
 * ctl_http.c - one request, one private event loop.
 */
#include "ctl_http.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static void on_response(struct evhttp_request *req, void *arg)
{
	struct ctl_response *resp = arg;

	if (!req) {
		snprintf(resp->error, sizeof(resp->error),
			 "no answer (connection refused or closed)");
		return;
	}
	resp->status = evhttp_request_get_response_code(req);
	if (resp->status == 0) {
		snprintf(resp->error, sizeof(resp->error),
			 "no answer (connection refused or timed out)");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len)
		buf_append(&resp->body, evbuffer_pullup(in, -1), len);
}

static int method_cmd(const char *method, enum evhttp_cmd_type *cmd)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type cmd;
	} methods[] = {{"GET", EVHTTP_REQ_GET},
		       {"POST", EVHTTP_REQ_POST},
		       {"PUT", EVHTTP_REQ_PUT},
		       {"DELETE", EVHTTP_REQ_DELETE}};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, method) == 0) {
			*cmd = methods[i].cmd;
			return 0;
		}
	return -1;
}

/* Sends one request on conn and runs base until the answer (or the
 * timeout). headers: NULL-terminated name, value pairs. Returns 0 when
 * an HTTP answer arrived, -1 with resp->error set. */
static int exchange(struct event_base *base, struct evhttp_connection *conn,
		    enum evhttp_cmd_type cmd, const char *host, int port, const char *path,
		    const char *const *headers, const char *body, size_t len, int timeout_s,
		    const char *base_url, struct ctl_response *resp)
{
	struct evhttp_request *req = evhttp_request_new(on_response, resp);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char hostport[300];

	evhttp_connection_set_timeout(conn, timeout_s);
	snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
	evhttp_add_header(h, "Host", hostport);
	evhttp_add_header(h, "Connection", "close");
	for (; headers && headers[0]; headers += 2)
		evhttp_add_header(h, headers[0], headers[1]);
	if (body)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	if (evhttp_make_request(conn, req, cmd, path) != 0) {
		snprintf(resp->error, sizeof(resp->error), "cannot send the request");
		return -1;
	}
	event_base_dispatch(base);
	if (resp->status)
		return 0;
	if (!resp->error[0])
		snprintf(resp->error, sizeof(resp->error), "no answer from %s", base_url);
	return -1;
}

int ctl_http_request(const char *base_url, const char *method, const char *path,
		     const char *json_body, const char *token, int timeout_s,
		     struct ctl_response *resp)
{
	struct evhttp_uri *uri = evhttp_uri_parse(base_url);
	struct event_base *base = NULL;
	struct evhttp_connection *conn = NULL;
	enum evhttp_cmd_type cmd;
	char auth[512];
	const char *host, *headers[5] = {NULL};
	int port, rc = -1, n = 0;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body);
	if (!uri || !evhttp_uri_get_host(uri) || !evhttp_uri_get_scheme(uri) ||
	    strcmp(evhttp_uri_get_scheme(uri), "http") != 0) {
		snprintf(resp->error, sizeof(resp->error),
			 "\"%s\": expected http://HOST:PORT (the control API is plain HTTP)",
			 base_url);
		goto out;
	}
	if (method_cmd(method, &cmd) != 0) {
		snprintf(resp->error, sizeof(resp->error), "unknown method %s", method);
		goto out;
	}
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	base = event_base_new();
	conn = base ? evhttp_connection_base_new(base, NULL, host, (unsigned short)port) : NULL;
	if (!conn) {
		snprintf(resp->error, sizeof(resp->error), "cannot create a connection");
		goto out;
	}
	if (token && *token) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		headers[n++] = "Authorization";
		headers[n++] = auth;
	}
	if (json_body) {
		headers[n++] = "Content-Type";
		headers[n++] = "application/json";
	}
	rc = exchange(base, conn, cmd, host, port, path, headers, json_body,
		      json_body ? strlen(json_body) : 0, timeout_s, base_url, resp);
out:
	if (conn)
		evhttp_connection_free(conn);
	if (base)
		event_base_free(base);
	if (uri)
		evhttp_uri_free(uri);
	return rc;
}

/* ---- HTTPS with a client certificate ---------------------------------- */

static SSL_CTX *client_ctx(const struct ctl_tls *tls, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1) {
		snprintf(err, errlen, "%s: cannot load the CA", tls->ca_file);
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1) {
		snprintf(err, errlen, "%s: cannot load the merchant certificate", tls->cert_file);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "%s: cannot load the merchant key", tls->key_file);
		goto out;
	}
	return ctx;
fail:
	snprintf(err, errlen, "SSL_CTX_new failed");
out:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

int ctl_https_post(const char *base_url, const char *path, const char *body, size_t len,
		   const struct ctl_tls *tls, const char *header, int timeout_s,
		   struct ctl_response *resp)
{
	struct evhttp_uri *uri = evhttp_uri_parse(base_url);
	struct event_base *base = NULL;
	struct evhttp_connection *conn = NULL;
	struct bufferevent *bev;
	SSL_CTX *ctx = NULL;
	SSL *ssl;
	char name[128];
	const char *host, *headers[5] = {"Content-Type", "text/xml; charset=utf-8", NULL};
	int port, rc = -1;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body);
	if (!uri || !evhttp_uri_get_host(uri) || !evhttp_uri_get_scheme(uri) ||
	    strcmp(evhttp_uri_get_scheme(uri), "https") != 0) {
		snprintf(resp->error, sizeof(resp->error), "\"%s\": expected https://HOST:PORT",
			 base_url);
		goto out;
	}
	ctx = client_ctx(tls, resp->error, sizeof(resp->error));
	if (!ctx)
		goto out;
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 443;
	base = event_base_new();
	ssl = SSL_new(ctx);
	if (!base || !ssl) {
		SSL_free(ssl);
		snprintf(resp->error, sizeof(resp->error), "cannot set up TLS");
		goto out;
	}
	/* Check the server certificate's name or address, like any client. */
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
		X509_VERIFY_PARAM_set1_host(param, host, 0);
		SSL_set_tlsext_host_name(ssl, host);
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		snprintf(resp->error, sizeof(resp->error), "cannot set up TLS");
		goto out;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	conn = evhttp_connection_base_bufferevent_new(base, NULL, bev, host, (unsigned short)port);
	if (!conn) {
		snprintf(resp->error, sizeof(resp->error), "cannot create a connection");
		goto out;
	}
	if (header && strchr(header, ':')) {
		const char *colon = strchr(header, ':');
		snprintf(name, sizeof(name), "%.*s", (int)(colon - header), header);
		headers[2] = name;
		headers[3] = colon + 1 + strspn(colon + 1, " ");
	}
	rc = exchange(base, conn, EVHTTP_REQ_POST, host, port, path, headers, body, len, timeout_s,
		      base_url, resp);
	if (rc != 0 && strncmp(resp->error, "no answer", 9) == 0)
		snprintf(resp->error, sizeof(resp->error),
			 "no answer from %s (TLS handshake refused, or timed out)", base_url);
out:
	if (conn)
		evhttp_connection_free(conn);
	if (base)
		event_base_free(base);
	SSL_CTX_free(ctx);
	if (uri)
		evhttp_uri_free(uri);
	return rc;
}
