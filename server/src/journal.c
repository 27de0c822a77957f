/*
 * journal.c - a ring of entries with a byte budget.
 */
#include "journal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "util.h"

struct journal {
	struct journal_entry **ring; /* max_entries slots */
	size_t max_entries, max_bytes;
	size_t head; /* the oldest entry */
	size_t count;
	size_t bytes;
	uint64_t next_seq;
	uint64_t dropped;   /* entries the bounds dropped since the last clear */
	int64_t dropped_at; /* the newest sim_at among them */
	journal_explain_fn explain;
	void *explain_arg;
};

struct journal *journal_new(size_t max_entries, size_t max_bytes)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	j->max_entries = max_entries ? max_entries : 1;
	j->max_bytes = max_bytes;
	j->ring = xcalloc(j->max_entries, sizeof(*j->ring));
	j->next_seq = 1;
	return j;
}

static void entry_free(struct journal_entry *e)
{
	if (!e)
		return;
	free(e->endpoint);
	free(e->mch_id);
	free(e->mch_billno);
	free(e->err_code);
	free(e->request);
	free(e->answer);
	free(e->sign_string);
	free(e->sign_cause);
	free(e);
}

static void count_dropped(struct journal *j, const struct journal_entry *e)
{
	j->dropped++;
	if (e->sim_at > j->dropped_at)
		j->dropped_at = e->sim_at;
}

static void remove_oldest(struct journal *j)
{
	struct journal_entry *e = j->ring[j->head];
	j->ring[j->head] = NULL;
	j->head = (j->head + 1) % j->max_entries;
	j->count--;
	j->bytes -= e->bytes;
	entry_free(e);
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	while (j->count)
		remove_oldest(j);
	free(j->ring);
	free(j);
}

/* ---- the text encoding ------------------------------------------------ */

/* The length of the valid UTF-8 character at s, or 0 (utf8_decode). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	return utf8_decode(s, n, &cp);
}

/* How many bytes from s are whole valid characters, at most room of them
 * (n available): what can be copied as it is. ASCII, most of what clients
 * send, is taken eight bytes at a time, then a byte at a time, without
 * decoding. */
static size_t valid_run(const unsigned char *s, size_t n, size_t room)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t k = 0, lim = n < room ? n : room, c;
	uint64_t w;

	while (k < lim) {
		if (lim - k >= 8) {
			memcpy(&w, s + k, 8);
			if (!(((w - ones) | w) & highs)) { /* no 0x00, none over 0x7F */
				k += 8;
				continue;
			}
		}
		if (s[k] - 1u < 0x7Fu) { /* 0x01..0x7F */
			k++;
			continue;
		}
		c = utf8_char(s + k, n - k);
		if (!c || c > lim - k)
			break;
		k += c;
	}
	return k;
}

unsigned journal_encode(struct buf *out, const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	unsigned flags = 0;
	size_t used = 0;

	for (size_t i = 0; i < len;) {
		size_t run = valid_run(p + i, len - i, max - used);

		if (run) {
			buf_append(out, p + i, run);
			i += run;
			used += run;
			continue;
		}
		/* A byte that starts no valid character, or a character that
		 * does not fit: escaped, or the cut. */
		size_t n = utf8_char(p + i, len - i);
		if ((n ? n : 4) > max - used) {
			flags |= JOURNAL_CUT;
			break;
		}
		char esc[4] = {'\\', 'x', hex[p[i] >> 4], hex[p[i] & 15]};
		buf_append(out, esc, sizeof(esc));
		flags |= JOURNAL_ESCAPED;
		i++;
		used += 4;
	}
	return flags;
}

/* ---- entries ----------------------------------------------------------- */

/* An encoded copy of s[0..len) (at most max bytes), its cost added to
 * *bytes; NULL stays NULL. */
static char *encoded(const char *s, size_t len, size_t max, unsigned *flags, size_t *bytes)
{
	struct buf b;
	unsigned f;
	size_t n;

	if (!s)
		return NULL;
	/* Most text is valid and fits: one allocation, one copy (every
	 * request's fields, its body and its answer come here). */
	if (len <= max && valid_run((const unsigned char *)s, len, len) == len) {
		char *out = xmalloc(len + 1);
		memcpy(out, s, len);
		out[len] = '\0';
		if (flags)
			*flags = 0;
		*bytes += len + 1;
		return out;
	}
	buf_init(&b);
	f = journal_encode(&b, s, len, max);
	if (flags)
		*flags = f;
	n = b.len;
	*bytes += n + 1;
	return xrealloc(buf_detach(&b), n + 1); /* what it costs is what it holds */
}

static char *copy(const char *s, size_t *bytes)
{
	return encoded(s, s ? strlen(s) : 0, SIZE_MAX, NULL, bytes);
}

static struct journal_entry *entry_new(const char *endpoint, const char *mch_id,
				       const char *mch_billno, const char *err_code,
				       const char *request, size_t request_len, const char *answer)
{
	struct journal_entry *e = xcalloc(1, sizeof(*e));

	e->bytes = sizeof(*e);
	e->endpoint = copy(endpoint, &e->bytes);
	e->mch_id = copy(mch_id, &e->bytes);
	e->mch_billno = copy(mch_billno, &e->bytes);
	e->err_code = copy(err_code, &e->bytes);
	e->request_bytes = request ? request_len : 0;
	e->request = encoded(request ? request : "", e->request_bytes, JOURNAL_MAX_BODY,
			     &e->request_flags, &e->bytes);
	e->answer = copy(answer, &e->bytes);
	return e;
}

static void keep(struct journal *j, struct journal_entry *e)
{
	e->seq = j->next_seq++;
	e->at = (int64_t)time(NULL);
	e->sim_at = clock_now();
	if (j->max_bytes && e->bytes > j->max_bytes) {
		count_dropped(j, e); /* larger than the whole budget: not kept */
		entry_free(e);
		return;
	}
	while (j->count && (j->count == j->max_entries ||
			    (j->max_bytes && j->bytes + e->bytes > j->max_bytes))) {
		count_dropped(j, j->ring[j->head]);
		remove_oldest(j);
	}
	j->ring[(j->head + j->count) % j->max_entries] = e;
	j->count++;
	j->bytes += e->bytes;
}

void journal_add(struct journal *j, const char *endpoint, const char *mch_id,
		 const char *mch_billno, const char *err_code, const char *request,
		 size_t request_len, const char *answer, const char *sign_string,
		 const char *sign_cause)
{
	struct journal_entry *e = entry_new(endpoint, mch_id, mch_billno, err_code, request,
					    request_len, answer);
	e->sign_string = copy(sign_string, &e->bytes);
	e->sign_cause = copy(sign_cause, &e->bytes);
	keep(j, e);
}

void journal_set_explainer(struct journal *j, journal_explain_fn fn, void *arg)
{
	j->explain = fn;
	j->explain_arg = arg;
}

static size_t explain_reserve(const struct journal_entry *e)
{
	return 2 * e->request_bytes + 512;
}

int journal_add_to_explain(struct journal *j, const char *endpoint, const char *mch_id,
			   const char *mch_billno, const char *err_code, const char *request,
			   size_t request_len, const char *answer)
{
	struct journal_entry *e;

	if (!j->explain || !request || request_len > JOURNAL_MAX_BODY)
		return -1;
	e = entry_new(endpoint, mch_id, mch_billno, err_code, request, request_len, answer);
	if (e->request_flags) { /* not the bytes received: nothing to explain from */
		entry_free(e);
		return -1;
	}
	/* Charged now for what the explanation will cost at most: the string
	 * signed is the request's values with their names, shorter than the
	 * request; the cause is a sentence with at most those names. */
	e->to_explain = 1;
	e->bytes += explain_reserve(e);
	keep(j, e);
	return 0;
}

/* The explanation is a cache of what the entry already determines, so a
 * reader of a const journal may fill it in, within what was reserved for
 * it (an explanation that would not fit is left out). */
static void explain(const struct journal *jc, const struct journal_entry *ec)
{
	struct journal *j = (struct journal *)jc;
	struct journal_entry *e = (struct journal_entry *)ec;
	struct buf string, cause;
	size_t reserved, used = 0;

	if (!e->to_explain)
		return;
	e->to_explain = 0;
	reserved = explain_reserve(e);
	e->bytes -= reserved;
	j->bytes -= reserved;
	if (!j->explain)
		return;
	buf_init(&string);
	buf_init(&cause);
	j->explain(j->explain_arg, e, &string, &cause);
	if ((string.len || cause.len) && string.len + cause.len + 2 <= reserved) {
		e->sign_string = encoded(string.data ? string.data : "", string.len, SIZE_MAX, NULL,
					 &used);
		e->sign_cause = encoded(cause.data ? cause.data : "", cause.len, SIZE_MAX, NULL,
					&used);
	}
	e->bytes += used;
	j->bytes += used;
	buf_release(&string);
	buf_release(&cause);
}

/* The i-th entry from the oldest. */
static const struct journal_entry *at(const struct journal *j, size_t i)
{
	return j->ring[(j->head + i) % j->max_entries];
}

void journal_each_before(const struct journal *j, uint64_t before_seq,
			 int (*fn)(void *arg, const struct journal_entry *e), void *arg)
{
	size_t lo = 0, hi = j->count;

	/* seq grows from the oldest to the newest: the entries below
	 * before_seq are the first lo. */
	if (before_seq) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (at(j, mid)->seq < before_seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = lo;
	}
	for (size_t i = hi; i > 0; i--) {
		explain(j, at(j, i - 1));
		if (fn(arg, at(j, i - 1)))
			return;
	}
}

void journal_each(const struct journal *j, int (*fn)(void *arg, const struct journal_entry *e),
		  void *arg)
{
	journal_each_before(j, 0, fn, arg);
}

uint64_t journal_dropped(const struct journal *j, int64_t *newest_at)
{
	if (newest_at)
		*newest_at = j->dropped ? j->dropped_at : 0;
	return j->dropped;
}

void journal_clear(struct journal *j)
{
	while (j->count)
		remove_oldest(j);
	j->dropped = 0;
	j->dropped_at = 0;
}

size_t journal_count(const struct journal *j)
{
	return j->count;
}

size_t journal_bytes(const struct journal *j)
{
	return j->bytes;
}
