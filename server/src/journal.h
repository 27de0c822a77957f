/*
 * journal.h - the last requests and their answers, in memory, bounded
 * by count and by bytes (the oldest go first), for GET /admin/v1/journal.
 * Nothing secret is ever added: request bodies carry no key, and the
 * string-to-sign of a SIGN_ERROR is stored with the key redacted.
 *
 * Every string an entry holds is valid UTF-8 without NUL, whatever bytes
 * the client sent, so that every entry can be shown as JSON: see
 * journal_encode for how other bytes are written.
 */
#ifndef REDPACK_JOURNAL_H
#define REDPACK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct journal;

struct journal_entry {
	uint64_t seq;
	int64_t at;	/* real time, epoch seconds */
	int64_t sim_at; /* the simulated business clock then (clock_now) */
	char *endpoint;
	char *mch_id;
	char *mch_billno;
	char *err_code;
	char *request;		/* the body, encoded, at most JOURNAL_MAX_BODY bytes */
	size_t request_bytes;	/* the body's size as received */
	unsigned request_flags; /* JOURNAL_ESCAPED, JOURNAL_CUT */
	char *answer;
	char *sign_string; /* SIGN_ERROR: what the server signed, "&key=***" */
	char *sign_cause;  /* SIGN_ERROR: the likely cause */
	int to_explain;	   /* sign_string and sign_cause wait for the explainer */
	size_t bytes;	   /* what the entry costs */
};

#define JOURNAL_MAX_BODY 8192

/* What journal_encode did to its input. */
#define JOURNAL_ESCAPED 1u /* a byte was written as \xNN */
#define JOURNAL_CUT 2u	   /* the end of the input was left out */

/* The journal's text encoding, also used by the control API for anything
 * it repeats from a client. Appends s[0..len) to out: each valid UTF-8
 * character (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) as it is, NUL and every byte that does not belong to such a
 * character as the four characters \xNN (lower-case hex). A backslash in
 * the input stays a backslash. At most max bytes are appended: the input
 * is cut before the first character or escape that would not fit, never
 * inside one. Returns the JOURNAL_* flags that apply. */
unsigned journal_encode(struct buf *out, const char *s, size_t len, size_t max);

/* A journal keeping at most max_entries entries and max_bytes bytes. */
struct journal *journal_new(size_t max_entries, size_t max_bytes);
void journal_free(struct journal *j);

/* Copies the strings (NULL allowed for the optional ones), each through
 * journal_encode; the request body (request_len bytes, NUL allowed) is
 * cut at JOURNAL_MAX_BODY bytes. An entry larger than the whole byte
 * budget is not kept. */
void journal_add(struct journal *j, const char *endpoint, const char *mch_id,
		 const char *mch_billno, const char *err_code, const char *request,
		 size_t request_len, const char *answer, const char *sign_string,
		 const char *sign_cause);

/* Works out what a SIGN_ERROR entry's client should have signed (the
 * string, key redacted) and the likely cause, from the entry's kept
 * request. Called at most once per entry, when it is first read. */
typedef void (*journal_explain_fn)(void *arg, const struct journal_entry *e,
				   struct buf *sign_string, struct buf *sign_cause);
void journal_set_explainer(struct journal *j, journal_explain_fn fn, void *arg);

/* journal_add for a SIGN_ERROR whose explanation is left to the
 * explainer, to be made only if someone reads the entry (most never are;
 * working it out costs several signatures). Returns -1, adding nothing,
 * when there is no explainer or the request cannot be kept whole (cut,
 * or bytes that are not UTF-8): then explain it now and use journal_add. */
int journal_add_to_explain(struct journal *j, const char *endpoint, const char *mch_id,
			   const char *mch_billno, const char *err_code, const char *request,
			   size_t request_len, const char *answer);

/* Calls fn for the entries newest first until it returns non-zero.
 * Entries are borrowed for the call. */
void journal_each(const struct journal *j, int (*fn)(void *arg, const struct journal_entry *e),
		  void *arg);
/* The same, starting at the newest entry whose seq is below before_seq
 * (a page after the one that ended with before_seq; 0: from the newest).
 * Finding the start costs O(log n). */
void journal_each_before(const struct journal *j, uint64_t before_seq,
			 int (*fn)(void *arg, const struct journal_entry *e), void *arg);

/* What the bounds dropped since the journal began or was last cleared:
 * how many entries, and the newest business time (sim_at) among them in
 * *newest_at (0 when none). A count over the journal is exact only for
 * a window that starts after that time. */
uint64_t journal_dropped(const struct journal *j, int64_t *newest_at);

/* Drops every entry, and forgets what was dropped before: a test's clean
 * start. Sequence numbers go on. */
void journal_clear(struct journal *j);

/* Current use, for the tests and metrics. */
size_t journal_count(const struct journal *j);
size_t journal_bytes(const struct journal *j);

#endif
