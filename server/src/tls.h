/*
 * tls.h - all of OpenSSL's server side: the SSL_CTX (server certificate,
 * client CA, verification policy) and what a peer certificate says.
 */
#ifndef REDPACK_TLS_H
#define REDPACK_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

enum client_auth {
	/* Like the real nginx front end: ask for a certificate, finish the
	 * handshake whatever comes, answer a missing or bad one with a 400
	 * page at the HTTP layer. */
	CLIENT_AUTH_HTTP,
	/* Refuse a missing or untrusted certificate in the handshake. */
	CLIENT_AUTH_HANDSHAKE,
};

enum cert_state { CERT_NONE, CERT_BAD, CERT_OK };

/* A server context for TLS 1.2 and 1.3 with session resumption. Returns
 * NULL with a message in err. Free with SSL_CTX_free(). */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
			    enum client_auth mode, char *err, size_t errlen);

/* The state of ssl's peer certificate after the handshake, and its
 * subject CN (UTF-8) into cn ("" when none). Only a CERT_OK's CN is to
 * be trusted; a CERT_BAD's is for the logs. The certificate is borrowed,
 * never freed. */
enum cert_state tls_peer(SSL *ssl, char *cn, size_t cnlen);

/* Why ssl's peer certificate failed verification (OpenSSL's text, static:
 * "unable to get local issuer certificate"...), or NULL when it did not. */
const char *tls_verify_error(const SSL *ssl);

/* 1 when the handshake that just failed on this thread was plain HTTP
 * (OpenSSL saw "GET ", "POST ", "HEAD ", "PUT " or "CONNE" where a TLS
 * record should start, and sent no alert); 0 otherwise. Call from an
 * SSL info callback at SSL_CB_ACCEPT_EXIT, before the error queue is
 * emptied. */
int tls_failed_on_plain_http(void);

/* Why this thread's handshake is failing, from OpenSSL's error queue
 * (static text, "peer did not return a certificate"...), or NULL; kind
 * tells the cases apart. Call from an SSL info callback as the alert is
 * written. */
enum tls_refusal {
	TLS_REFUSAL_OTHER,
	TLS_REFUSAL_NO_CERT, /* the client sent no certificate */
	TLS_REFUSAL_EOF,     /* the client closed the connection */
};
const char *tls_refusal_reason(enum tls_refusal *kind);

/* Writes data[len] to ssl as one SSL_write, when the handshake is done:
 * 1 when all of it was written; 0 when none was (the socket is full, or
 * an error: the caller's own path retries or reports it, with the same
 * bytes and length, as OpenSSL requires; this thread's error queue is
 * left empty). Without SSL_MODE_ENABLE_PARTIAL_WRITE there is no third
 * case. */
int tls_write_whole(SSL *ssl, const void *data, size_t len);

#endif
