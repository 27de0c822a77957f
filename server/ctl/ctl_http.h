/*
 * ctl_http.h - redpack-ctl's blocking HTTP client for the control API
 * (libevent's evhttp client on a private event loop).
 */
#ifndef REDPACK_CTL_HTTP_H
#define REDPACK_CTL_HTTP_H

#include <stddef.h>

#include "util.h"

struct ctl_response {
	int status; /* HTTP status; 0 when no answer came */
	struct buf body;
	char error[256]; /* why there was no answer */
};

/* Sends method (GET/POST/PUT/DELETE) to base_url + path with an optional
 * JSON body and bearer token, waits at most timeout_s seconds. Returns 0
 * when an HTTP answer arrived (any status), -1 otherwise (error set).
 * The caller releases resp->body. */
int ctl_http_request(const char *base_url, const char *method, const char *path,
		     const char *json_body, const char *token, int timeout_s,
		     struct ctl_response *resp);

/* Mutual TLS for the merchant API. */
struct ctl_tls {
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
};

/* POSTs body to https base_url + path over mutual TLS, with an optional
 * extra header ("Name: value" or NULL). Same contract as
 * ctl_http_request. */
int ctl_https_post(const char *base_url, const char *path, const char *body, size_t len,
		   const struct ctl_tls *tls, const char *header, int timeout_s,
		   struct ctl_response *resp);

#endif
