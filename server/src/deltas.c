/*
 * deltas.c - counter changes held back until the group commit (deltas.h).
 *
 * A batch touches few keys (one merchant, its second, its day, a few
 * users), so the deltas are an array searched from the newest end. Each
 * deltas_add also appends to an undo log, which is what a mark points
 * into.
 */
#include "deltas.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct undo {
	size_t at;   /* index into held */
	int created; /* this add made the key: it is held[at] == the last */
	int64_t count, amount;
};

struct deltas {
	struct delta *held;
	size_t n, cap;
	struct undo *log;
	size_t log_n, log_cap;
};

struct deltas *deltas_new(void)
{
	return xcalloc(1, sizeof(struct deltas));
}

void deltas_free(struct deltas *d)
{
	if (!d)
		return;
	free(d->held);
	free(d->log);
	free(d);
}

static int same_key(const struct delta *x, enum delta_kind kind, const char *mch_id,
		    const char *text, int64_t k)
{
	return x->kind == kind && x->k == k && x->mch_id[0] == mch_id[0] &&
	       strcmp(x->mch_id, mch_id) == 0 && strcmp(x->text, text) == 0;
}

static long find(const struct deltas *d, enum delta_kind kind, const char *mch_id, const char *text,
		 int64_t k)
{
	for (size_t i = d->n; i-- > 0;)
		if (same_key(&d->held[i], kind, mch_id, text, k))
			return (long)i;
	return -1;
}

int deltas_add(struct deltas *d, enum delta_kind kind, const char *mch_id, const char *text,
	       int64_t k, int64_t count, int64_t amount)
{
	if (!text)
		text = "";
	if (strlen(mch_id) >= DELTA_KEY_MAX || strlen(text) >= DELTA_KEY_MAX)
		return -1;
	long i = find(d, kind, mch_id, text, k);
	int created = i < 0;
	if (created) {
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 16;
			d->held = xrealloc(d->held, d->cap * sizeof(*d->held));
		}
		struct delta *x = &d->held[d->n];
		x->kind = kind;
		strcpy(x->mch_id, mch_id);
		strcpy(x->text, text);
		x->k = k;
		x->count = x->amount = 0;
		i = (long)d->n++;
	}
	if (d->log_n == d->log_cap) {
		d->log_cap = d->log_cap ? d->log_cap * 2 : 64;
		d->log = xrealloc(d->log, d->log_cap * sizeof(*d->log));
	}
	d->log[d->log_n++] = (struct undo){
		.at = (size_t)i, .created = created, .count = count, .amount = amount};
	d->held[i].count += count;
	d->held[i].amount += amount;
	return 0;
}

const struct delta *deltas_find(const struct deltas *d, enum delta_kind kind, const char *mch_id,
				const char *text, int64_t k)
{
	long i = find(d, kind, mch_id, text ? text : "", k);
	return i < 0 ? NULL : &d->held[i];
}

int64_t deltas_count_since(const struct deltas *d, enum delta_kind kind, const char *mch_id,
			   int64_t since)
{
	int64_t sum = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct delta *x = &d->held[i];
		if (x->kind == kind && x->k >= since && strcmp(x->mch_id, mch_id) == 0)
			sum += x->count;
	}
	return sum;
}

size_t deltas_mark(const struct deltas *d)
{
	return d->log_n;
}

void deltas_undo(struct deltas *d, size_t mark)
{
	while (d->log_n > mark) {
		const struct undo *u = &d->log[--d->log_n];
		d->held[u->at].count -= u->count;
		d->held[u->at].amount -= u->amount;
		if (u->created) /* keys are made in log order: the last one */
			d->n--;
	}
}

size_t deltas_count(const struct deltas *d)
{
	return d->n;
}

const struct delta *deltas_at(const struct deltas *d, size_t i)
{
	return i < d->n ? &d->held[i] : NULL;
}

void deltas_clear(struct deltas *d)
{
	d->n = 0;
	d->log_n = 0;
}
