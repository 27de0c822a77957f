/*
 * journal.c - a ring of entries with a byte budget.
 */
#include "journal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct journal {
	struct journal_entry **ring; /* max_entries slots */
	size_t max_entries, max_bytes;
	size_t head;  /* the oldest entry */
	size_t count;
	size_t bytes;
	uint64_t next_seq;
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

static void drop_oldest(struct journal *j)
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
		drop_oldest(j);
	free(j->ring);
	free(j);
}

static char *copy(const char *s, size_t *bytes)
{
	if (!s)
		return NULL;
	*bytes += strlen(s) + 1;
	return xstrdup(s);
}

void journal_add(struct journal *j, const char *endpoint, const char *mch_id,
		 const char *mch_billno, const char *err_code, const char *request,
		 size_t request_len, const char *answer, const char *sign_string,
		 const char *sign_cause)
{
	struct journal_entry *e = xcalloc(1, sizeof(*e));
	size_t body = request_len < JOURNAL_MAX_BODY ? request_len : JOURNAL_MAX_BODY;

	e->seq = j->next_seq++;
	e->at = (int64_t)time(NULL);
	e->bytes = sizeof(*e);
	e->endpoint = copy(endpoint, &e->bytes);
	e->mch_id = copy(mch_id, &e->bytes);
	e->mch_billno = copy(mch_billno, &e->bytes);
	e->err_code = copy(err_code, &e->bytes);
	e->request = xstrndup(request ? request : "", body);
	e->bytes += body + 1;
	e->answer = copy(answer, &e->bytes);
	e->sign_string = copy(sign_string, &e->bytes);
	e->sign_cause = copy(sign_cause, &e->bytes);
	if (j->max_bytes && e->bytes > j->max_bytes) {
		entry_free(e); /* larger than the whole budget: not kept */
		return;
	}
	while (j->count && (j->count == j->max_entries || (j->max_bytes && j->bytes + e->bytes > j->max_bytes)))
		drop_oldest(j);
	j->ring[(j->head + j->count) % j->max_entries] = e;
	j->count++;
	j->bytes += e->bytes;
}

void journal_each(const struct journal *j, int (*fn)(void *arg, const struct journal_entry *e),
		  void *arg)
{
	for (size_t i = j->count; i > 0; i--)
		if (fn(arg, j->ring[(j->head + i - 1) % j->max_entries]))
			return;
}

size_t journal_count(const struct journal *j)
{
	return j->count;
}

size_t journal_bytes(const struct journal *j)
{
	return j->bytes;
}
