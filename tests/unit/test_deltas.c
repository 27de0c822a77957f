/* The counter deltas a group commit holds back: summed by key, found,
 * counted since a second, taken back to a mark (nested marks, keys made
 * after the mark dropped), long keys refused; and against a plain model,
 * a long random run of adds, marks and undos. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deltas.h"

static void sums_by_key(void)
{
	struct deltas *d = deltas_new();

	CHECK(deltas_add(d, DELTA_RATE, "10000100", NULL, 1000, 1, 0) == 0);
	CHECK(deltas_add(d, DELTA_RATE, "10000100", NULL, 1000, 1, 0) == 0);
	CHECK(deltas_add(d, DELTA_RATE, "10000100", NULL, 1001, 1, 0) == 0);
	CHECK(deltas_add(d, DELTA_RATE, "10000099", NULL, 1001, 1, 0) == 0);
	CHECK(deltas_add(d, DELTA_USER_DAY, "10000100", "oA", 20000, 1, 300) == 0);
	CHECK(deltas_add(d, DELTA_USER_DAY, "10000100", "oA", 20000, 0, 120) == 0);
	CHECK(deltas_add(d, DELTA_USER_DAY, "10000100", "oB", 20000, 1, 50) == 0);
	CHECK(deltas_add(d, DELTA_BALANCE, "10000100", NULL, 0, 0, -300) == 0);
	CHECK(deltas_count(d) == 6);

	const struct delta *x = deltas_find(d, DELTA_RATE, "10000100", "", 1000);
	CHECK(x && x->count == 2);
	x = deltas_find(d, DELTA_USER_DAY, "10000100", "oA", 20000);
	CHECK(x && x->count == 1 && x->amount == 420);
	CHECK(deltas_find(d, DELTA_USER_DAY, "10000100", "oA", 20001) == NULL);
	CHECK(deltas_find(d, DELTA_USER_DAY, "10000099", "oA", 20000) == NULL);
	CHECK(deltas_find(d, DELTA_MERCHANT_DAY, "10000100", NULL, 20000) == NULL);
	x = deltas_find(d, DELTA_BALANCE, "10000100", NULL, 0);
	CHECK(x && x->amount == -300);

	CHECK(deltas_count_since(d, DELTA_RATE, "10000100", 1000) == 3);
	CHECK(deltas_count_since(d, DELTA_RATE, "10000100", 1001) == 1);
	CHECK(deltas_count_since(d, DELTA_RATE, "10000100", 1002) == 0);
	CHECK(deltas_count_since(d, DELTA_RATE, "10000099", 0) == 1);

	deltas_clear(d);
	CHECK(deltas_count(d) == 0);
	CHECK(deltas_find(d, DELTA_RATE, "10000100", NULL, 1000) == NULL);
	deltas_free(d);
}

static void marks(void)
{
	struct deltas *d = deltas_new();

	deltas_add(d, DELTA_STATUS, "m", "SENT", 0, 1, 0);
	size_t outer = deltas_mark(d);
	deltas_add(d, DELTA_STATUS, "m", "SENT", 0, 1, 0);
	deltas_add(d, DELTA_STATUS, "m", "FAILED", 0, 1, 0);
	size_t inner = deltas_mark(d);
	deltas_add(d, DELTA_STATUS, "m", "FAILED", 0, 1, 0);
	deltas_add(d, DELTA_BALANCE, "m", NULL, 0, 0, 7);
	CHECK(deltas_count(d) == 3);

	deltas_undo(d, inner);
	CHECK(deltas_count(d) == 2); /* the balance key came after the mark */
	CHECK(deltas_find(d, DELTA_STATUS, "m", "FAILED", 0)->count == 1);
	CHECK(deltas_find(d, DELTA_BALANCE, "m", NULL, 0) == NULL);

	deltas_undo(d, outer);
	CHECK(deltas_count(d) == 1);
	CHECK(deltas_find(d, DELTA_STATUS, "m", "SENT", 0)->count == 1);
	CHECK(deltas_find(d, DELTA_STATUS, "m", "FAILED", 0) == NULL);

	/* Adds after an undo go on from there. */
	deltas_add(d, DELTA_STATUS, "m", "FAILED", 0, 1, 0);
	CHECK(deltas_count(d) == 2);
	deltas_undo(d, 0);
	CHECK(deltas_count(d) == 0);
	deltas_free(d);
}

static void long_keys(void)
{
	struct deltas *d = deltas_new();
	char key[DELTA_KEY_MAX + 1];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	CHECK(deltas_add(d, DELTA_USER_DAY, "m", key, 1, 1, 1) == -1);
	CHECK(deltas_add(d, DELTA_USER_DAY, key, "o", 1, 1, 1) == -1);
	key[DELTA_KEY_MAX - 1] = '\0'; /* the longest that fits */
	CHECK(deltas_add(d, DELTA_USER_DAY, "m", key, 1, 1, 1) == 0);
	CHECK(deltas_count(d) == 1);
	CHECK(deltas_find(d, DELTA_USER_DAY, "m", key, 1) != NULL);
	deltas_free(d);
}

/* The model: every add kept as it came; a key's delta is the sum over
 * the adds still kept. */
struct op {
	int kind, mch, text;
	int64_t k, count, amount;
};

static void against_model(void)
{
	static struct op ops[20000];
	static const char *const mchs[] = {"10000100", "10000099", "m"};
	static const char *const texts[] = {"", "oA", "oB", "SENT"};
	size_t n = 0, marks_at[16], mark_ops[16];
	int depth = 0, bad = 0;
	struct deltas *d = deltas_new();

	srand(7);
	for (int step = 0; step < 20000; step++) {
		int r = rand() % 10;
		if (r == 0 && depth < 16) {
			marks_at[depth] = deltas_mark(d);
			mark_ops[depth++] = n;
		} else if (r == 1 && depth > 0) {
			depth--;
			deltas_undo(d, marks_at[depth]);
			n = mark_ops[depth];
		} else if (r == 2 && depth > 0) {
			depth--; /* released: its adds stay */
		} else if (n < 20000) {
			struct op o = {rand() % 5, rand() % 3,	   rand() % 4,
				       rand() % 3, rand() % 3 - 1, rand() % 1000 - 500};
			ops[n++] = o;
			deltas_add(d, (enum delta_kind)o.kind, mchs[o.mch], texts[o.text], o.k,
				   o.count, o.amount);
		}
		if (step % 97)
			continue;
		for (int kind = 0; kind < 5; kind++)
			for (int m = 0; m < 3; m++)
				for (int t = 0; t < 4; t++)
					for (int64_t k = 0; k < 3; k++) {
						int64_t c = 0, a = 0;
						int seen = 0;
						for (size_t i = 0; i < n; i++)
							if (ops[i].kind == kind &&
							    ops[i].mch == m && ops[i].text == t &&
							    ops[i].k == k) {
								c += ops[i].count;
								a += ops[i].amount;
								seen = 1;
							}
						const struct delta *x = deltas_find(
							d, (enum delta_kind)kind, mchs[m], texts[t],
							k);
						if (seen != (x != NULL) ||
						    (x && (x->count != c || x->amount != a)))
							bad++;
					}
	}
	CHECK(bad == 0);
	deltas_free(d);
}

int main(void)
{
	sums_by_key();
	marks();
	long_keys();
	against_model();
	return check_done("test_deltas");
}
