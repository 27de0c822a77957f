/*
 * xmlcodec.h - the wire format: a flat <xml> request in, the real
 * service's answer layout out.
 *
 * Parsing is strict and inert: no DTD (a DOCTYPE aborts the parse), no
 * entity expansion beyond the five predefined ones, no network, no
 * nesting, no duplicate element, a bounded number of elements.
 */
#ifndef REDPACK_XMLCODEC_H
#define REDPACK_XMLCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "util.h"

#define XMLCODEC_MAX_FIELDS 128

/* Called once before the first parse (libxml2 set-up, error output off). */
void xmlcodec_global_init(void);
void xmlcodec_global_release(void);
/* Frees the calling thread's parser (xmlcodec_global_release frees the
 * main thread's); a thread that parsed calls it before it ends. */
void xmlcodec_thread_release(void);

/* Parses body[0..len) into out (appended, in document order, CDATA
 * unwrapped, entities decoded). Returns 0, or -1 for anything that is
 * not a flat <xml> document (the caller answers XML_ERROR). */
int xmlcodec_parse(const char *body, size_t len, struct kvlist *out);

/* Its two paths, for the differential fuzz (tests/fuzz/fuzz_xml.c):
 * the plain one answers 0 only for a body of the plain part of XML that
 * merchant SDKs send (-1 means "not sure", and out is emptied); libxml2
 * judges any body (out must be empty; no NUL in body, len > 0). */
int xmlcodec_parse_plain(const char *body, size_t len, struct kvlist *out);
int xmlcodec_parse_libxml2(const char *body, size_t len, struct kvlist *out);

/* Answer writer: "<xml>\n", one element per line, "</xml>" with no final
 * line feed, as the real service wrote it. */
void xmlcodec_begin(struct buf *out);
void xmlcodec_cdata(struct buf *out, const char *name, const char *value);
void xmlcodec_bare(struct buf *out, const char *name, int64_t value);
void xmlcodec_open(struct buf *out, const char *name);
void xmlcodec_close(struct buf *out, const char *name);
void xmlcodec_end(struct buf *out);

#endif
