/*
 * journal.h - the last requests and their answers, in memory, bounded
 * by count and by bytes (the oldest go first), for GET /admin/v1/journal.
 * Nothing secret is ever added: request bodies carry no key, and the
 * string-to-sign of a SIGN_ERROR is stored with the key redacted.
 */
#ifndef REDPACK_JOURNAL_H
#define REDPACK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct journal;

struct journal_entry {
	uint64_t seq;
	int64_t at;          /* real time, epoch seconds */
	char *endpoint;
	char *mch_id;
	char *mch_billno;
	char *err_code;
	char *request;       /* the body, cut at JOURNAL_MAX_BODY bytes */
	char *answer;
	char *sign_string;   /* SIGN_ERROR: what the server signed, "&key=***" */
	char *sign_cause;    /* SIGN_ERROR: the likely cause */
	size_t bytes;        /* what the entry costs */
};

#define JOURNAL_MAX_BODY 8192

/* A journal keeping at most max_entries entries and max_bytes bytes. */
struct journal *journal_new(size_t max_entries, size_t max_bytes);
void journal_free(struct journal *j);

/* Copies the strings (NULL allowed for the optional ones). */
void journal_add(struct journal *j, const char *endpoint, const char *mch_id,
		 const char *mch_billno, const char *err_code, const char *request,
		 size_t request_len, const char *answer, const char *sign_string,
		 const char *sign_cause);

/* Calls fn for the entries newest first until it returns non-zero.
 * Entries are borrowed for the call. */
void journal_each(const struct journal *j, int (*fn)(void *arg, const struct journal_entry *e),
		  void *arg);

/* Current use, for the tests and metrics. */
size_t journal_count(const struct journal *j);
size_t journal_bytes(const struct journal *j);

#endif
