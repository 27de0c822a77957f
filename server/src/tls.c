/*
 * tls.c - the server SSL_CTX and peer certificate inspection.
 */
#include "tls.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

static const unsigned char session_context[] = "redpack-sim";

/* In CLIENT_AUTH_HTTP mode every certificate passes the handshake; the
 * verification result is kept on the session and read per request. */
static int on_verify_accept(int preverify_ok, X509_STORE_CTX *store)
{
	(void)preverify_ok;
	(void)store;
	return 1;
}

static void ssl_error(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "";
	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	snprintf(err, errlen, "%s%s%s: %s", file ? file : "", file ? ": " : "", what,
		 detail[0] ? detail : "failed");
	ERR_clear_error();
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
			    enum client_auth mode, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509_NAME) *names = NULL;

	if (!ctx) {
		ssl_error(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, session_context, sizeof(session_context) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/* One TLS 1.3 session ticket per handshake, not OpenSSL's two: each
	 * ticket serialises the session with its client certificate and reads
	 * it back (d2i_SSL_SESSION, through OpenSSL 3's key decoders), 8% of a
	 * full handshake's instructions apiece; one is all a client resumes
	 * with. */
	SSL_CTX_set_num_tickets(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ssl_error(err, errlen, "cannot load the server certificate", cert_file);
		goto error;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "cannot load the server key (or it does not match)",
			  key_file);
		goto error;
	}
	if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
		ssl_error(err, errlen, "cannot load the client CA", client_ca);
		goto error;
	}
	names = SSL_load_client_CA_file(client_ca);
	if (!names) {
		ssl_error(err, errlen, "no CA certificate found", client_ca);
		goto error;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (mode == CLIENT_AUTH_HANDSHAKE)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify_accept);
	return ctx;
error:
	SSL_CTX_free(ctx);
	return NULL;
}

enum cert_state tls_peer(SSL *ssl, char *cn, size_t cnlen)
{
	X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	X509_NAME *subject;
	int idx;
	unsigned char *utf8 = NULL;
	int n;

	if (cnlen)
		cn[0] = '\0';
	if (!peer)
		return CERT_NONE;
	subject = X509_get_subject_name(peer);
	idx = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
	if (idx >= 0) {
		n = ASN1_STRING_to_UTF8(
			&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
		if (n > 0 && (size_t)n < cnlen && !memchr(utf8, '\0', (size_t)n)) {
			memcpy(cn, utf8, (size_t)n);
			cn[n] = '\0';
		}
		OPENSSL_free(utf8);
	}
	return SSL_get_verify_result(ssl) == X509_V_OK ? CERT_OK : CERT_BAD;
}

const char *tls_verify_error(const SSL *ssl)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}

int tls_failed_on_plain_http(void)
{
	unsigned long e = ERR_peek_last_error();
	return ERR_GET_LIB(e) == ERR_LIB_SSL && (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST ||
						 ERR_GET_REASON(e) == SSL_R_HTTPS_PROXY_REQUEST);
}

const char *tls_refusal_reason(enum tls_refusal *kind)
{
	unsigned long e = ERR_peek_last_error();
	int ssl_lib = ERR_GET_LIB(e) == ERR_LIB_SSL;

	*kind = TLS_REFUSAL_OTHER;
	if (ssl_lib && ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		*kind = TLS_REFUSAL_NO_CERT;
	else if (ssl_lib && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		*kind = TLS_REFUSAL_EOF;
	return e ? ERR_reason_error_string(e) : NULL;
}

int tls_write_whole(SSL *ssl, const void *data, size_t len)
{
	if (len == 0 || len > INT_MAX || !SSL_is_init_finished(ssl) ||
	    (SSL_get_mode(ssl) & SSL_MODE_ENABLE_PARTIAL_WRITE))
		return 0;
	if (SSL_write(ssl, data, (int)len) == (int)len)
		return 1;
	ERR_clear_error();
	return 0;
}
