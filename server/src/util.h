/*
 * util.h - allocation wrappers and a growable byte buffer.
 *
 * The x* allocators abort on out-of-memory: a simulator that cannot
 * allocate a few kilobytes has nothing sensible left to answer.
 */
#ifndef REDPACK_UTIL_H
#define REDPACK_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* At most size - 1 bytes of src into dst, NUL-terminated (size > 0). */
void str_copy_cut(char *dst, size_t size, const char *src);

/* A NUL-terminated growable buffer. buf_init() then buf_* appends;
 * buf_release() frees the storage (safe on a zeroed or released buf). */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Room for extra more bytes (and the NUL) without another allocation. */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the storage to the caller (free() it); the buf is left empty. */
char *buf_detach(struct buf *b);

/* The length of the valid UTF-8 character at s (n bytes available), its
 * code point in *cp, or 0 when the byte at s is NUL or starts no valid
 * character (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF). */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Number of Unicode code points in a valid UTF-8 string. */
size_t utf8_length(const char *s);

/* Parses a non-empty string of decimal digits (no sign, no spaces) that
 * fits in int64_t. Returns 0 and fills *out, or -1. */
int parse_digits(const char *s, int64_t *out);

/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit_value(char c);

/* Constant-time equality of two strings; the time depends only on the
 * length of b (the secret-derived side). */
int str_equal_ct(const char *a, const char *b);

/* A database name fit for a log or a listing: a URL's password
 * (scheme://user:PASSWORD@host) and a connection string's password=...
 * shown as ***; anything else as it is. Into out (outlen bytes). */
void redact_password(const char *in, char *out, size_t outlen);

#endif
