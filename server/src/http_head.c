/*
 * http_head.c - a request head judged as nginx would (http_head.h).
 */
#define _GNU_SOURCE /* memmem */
#include "http_head.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "util.h"

/* A target that is its own normalized path, and that evhttp parses: a
 * '/', then letters, digits, '_', '-' and single slashes (what SDKs
 * send: every merchant request's target is one). Nothing to decode,
 * merge or resolve. */
static int plain_byte(unsigned c)
{
	return (c | 0x20u) - 'a' < 26u || c - '0' < 10u || c == '_' || c == '-';
}

static int plain_path(const char *t)
{
	if (*t != '/')
		return 0;
	for (t++; *t; t++)
		if (!plain_byte((unsigned char)*t) && !(*t == '/' && t[-1] != '/'))
			return 0;
	return 1;
}

/* nginx's merge_slashes, %XX decoding and ./.. resolution of a request
 * target, into out (strlen(target) + 2 bytes). A query is dropped.
 * Returns -1 where nginx answers 400: a decoded NUL, a bad escape, a
 * path that climbs above the root, a target that is not a path. */
int http_normalize_path(const char *target, char *out)
{
	const char *p = target, *q;
	char *dec, *d;
	size_t o = 0;
	int slash_end = 0, rc = -1;

	if (plain_path(target)) {
		strcpy(out, target);
		return 0;
	}
	if (*p != '/') { /* absolute form: scheme://host[:port]/path */
		q = strstr(p, "://");
		if (!q || q == p)
			return -1;
		p = q + 3 + strcspn(q + 3, "/?");
		if (*p != '/')
			p = "/";
	}
	dec = d = xmalloc(strlen(p) + 1);
	for (; *p && *p != '?'; p++) {
		if (*p != '%') {
			*d++ = *p;
			continue;
		}
		int hi = hex_digit_value(p[1]), lo = hi < 0 ? -1 : hex_digit_value(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			goto out;
		*d++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*d = '\0';
	out[o++] = '/';
	for (const char *seg = dec + 1; seg <= d;) {
		size_t n = strcspn(seg, "/");
		slash_end = 1;
		if (n == 0 || (n == 1 && seg[0] == '.')) {
			/* merged slash or "." */
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o == 1)
				goto out; /* above the root */
			o--;
			while (out[o - 1] != '/')
				o--;
		} else {
			memcpy(out + o, seg, n);
			o += n;
			out[o++] = '/';
			slash_end = seg[n] == '/';
		}
		seg += n + 1;
	}
	if (!slash_end && o > 1)
		o--;
	out[o] = '\0';
	rc = 0;
out:
	free(dec);
	return rc;
}

static int header_is(const char *line, size_t n, const char *name)
{
	size_t len = strlen(name);
	return n == len && strncasecmp(line, name, len) == 0;
}

/* Checks the request line: METHOD SP TARGET SP HTTP/1.0|HTTP/1.1, a
 * target evhttp can parse, and on the API port a path nginx accepts. */
static enum page_id check_request_line(const char *p, size_t n, int api, struct head *h)
{
	const char *sp1 = memchr(p, ' ', n), *sp2;
	char *target, *path;
	struct evhttp_uri *uri;
	enum page_id id = PAGE_BAD_REQUEST;

	if (!sp1 || sp1 == p)
		return PAGE_BAD_REQUEST;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (!sp2 || sp2 == sp1 + 1 || (size_t)(p + n - (sp2 + 1)) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return PAGE_BAD_REQUEST;
	h->version_at = (size_t)(sp2 + 1 - p);
	h->line_len = n;
	h->target_at = (size_t)(sp1 + 1 - p);
	if (sp1[1] != '/') { /* absolute form: the path starts after scheme://host */
		const char *sep = memmem(sp1 + 1, (size_t)(sp2 - sp1 - 1), "://", 3);
		const char *at = sep ? sep + 3 : sp2;
		while (at < sp2 && *at != '/' && *at != '?')
			at++;
		h->path_at = (size_t)(at - p);
	}
	h->http10 = sp2[8] == '0';
	h->body_method = (sp1 - p == 4 && memcmp(p, "POST", 4) == 0) ||
			 (sp1 - p == 3 && memcmp(p, "PUT", 3) == 0) ||
			 (sp1 - p == 5 && memcmp(p, "PATCH", 5) == 0);
	target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (plain_path(target)) { /* parsed and normalized as it is */
		free(target);
		return PAGE_NONE;
	}
	path = xmalloc(strlen(target) + 2);
	uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	if (uri && (!api || http_normalize_path(target, path) == 0))
		id = PAGE_NONE;
	if (uri) /* libevent 2.1's evhttp_uri_free does not take NULL */
		evhttp_uri_free(uri);
	free(path);
	free(target);
	return id;
}

/* Checks one header line (no line end); records what the answer needs. */
static enum page_id check_header(const char *p, size_t n, size_t max_body, struct head *h,
				 int *seen_length)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n;
	int64_t length;

	if (p[0] == ' ' || p[0] == '\t')
		return PAGE_NONE; /* a continuation line */
	if (!colon || colon == p)
		return PAGE_BAD_REQUEST;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t name = (size_t)(colon - p), vlen = (size_t)(end - v);
	if (header_is(p, name, "Content-Length")) {
		char digits[24];
		if (*seen_length || vlen == 0 || vlen >= sizeof(digits))
			return PAGE_BAD_REQUEST;
		memcpy(digits, v, vlen);
		digits[vlen] = '\0';
		if (parse_digits(digits, &length) != 0)
			return PAGE_BAD_REQUEST;
		*seen_length = 1;
		h->length = length;
		h->body |= length > 0;
		if ((uint64_t)length > max_body)
			h->refusal = PAGE_TOO_LARGE; /* after the certificate, as nginx */
	} else if (header_is(p, name, "Transfer-Encoding")) {
		h->body = 1;
		h->transfer_encoding = 1;
		h->chunked = vlen == 7 && strncasecmp(v, "chunked", 7) == 0;
	} else if (header_is(p, name, "Expect")) {
		h->expect_continue = vlen == 12 && strncasecmp(v, "100-continue", 12) == 0;
	} else if (header_is(p, name, "Connection")) {
		h->keep_alive = vlen >= 10 && strncasecmp(v, "keep-alive", 10) == 0;
		h->close = vlen == 5 && strncasecmp(v, "close", 5) == 0;
	}
	return PAGE_NONE;
}

const char *http_head_value(const char *p, size_t end, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *line = memchr(p, '\n', end), *stop = p + end;

	/* Past the request line; each header line up to the empty one. */
	while (line && ++line < stop) {
		const char *nl = memchr(line, '\n', (size_t)(stop - line));
		const char *v = line + nlen + 1, *e = nl ? nl : stop;
		if (!nl)
			break;
		if ((size_t)(nl - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*len = (size_t)(e - v);
			return v;
		}
		line = nl;
	}
	return NULL;
}

/* Reads the head at the front of p[0..n) (more: bytes beyond n exist),
 * searching for its end from `from`. A NUL anywhere in it is refused (as
 * nginx does) before the end is even seen. */
void http_head_check(const char *p, size_t n, int more, size_t from, size_t max_headers,
		     size_t max_body, int api, struct head *h)
{
	size_t end = 0, i, line;
	int seen_length = 0;

	memset(h, 0, sizeof(*h));
	h->length = -1;
	/* The end is looked for line by line (memchr), before the first NUL
	 * (after the end, a NUL is the body's). */
	const char *nul = from < n ? memchr(p + from, '\0', n - from) : NULL;
	size_t lim = nul ? (size_t)(nul - p) : n;
	for (i = from; i < lim; i++) {
		const char *nl = memchr(p + i, '\n', lim - i);
		if (!nl) {
			i = lim;
			break;
		}
		i = (size_t)(nl - p);
		if (i > 0 &&
		    (p[i - 1] == '\n' || (p[i - 1] == '\r' && i > 1 && p[i - 2] == '\n'))) {
			end = i + 1;
			break;
		}
	}
	if (!end && nul) {
		h->complete = 1;
		h->refusal = PAGE_BAD_REQUEST;
		return;
	}
	h->scanned = i > 2 ? i - 2 : 0;
	if (!end || end > max_headers) {
		if (end || n > max_headers || (more && n >= max_headers)) {
			h->complete = 1;
			h->refusal = PAGE_HEADER_TOO_LARGE;
		}
		return;
	}
	h->complete = 1;
	h->end = end;
	for (i = 0, line = 0; i < end; line++) {
		const char *nl = memchr(p + i, '\n', end - i);
		size_t len = (size_t)(nl - (p + i));
		if (len && p[i + len - 1] == '\r')
			len--;
		if (len == 0)
			break; /* the empty line */
		enum page_id id = line == 0 ? check_request_line(p + i, len, api, h)
					    : check_header(p + i, len, max_body, h, &seen_length);
		if (id != PAGE_NONE) {
			h->refusal = id;
			return;
		}
		i = (size_t)(nl - p) + 1;
	}
	/* As nginx: a coding other than chunked alone is not implemented,
	 * and a length beside chunked is a request smuggling attempt. */
	if (h->transfer_encoding && !h->chunked)
		h->refusal = PAGE_NOT_IMPLEMENTED;
	else if (h->chunked && seen_length)
		h->refusal = PAGE_BAD_REQUEST;
}
