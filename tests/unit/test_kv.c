/*
 * test_kv.c - the ordered pairs and their lookup: through the slots up to
 * KV_INDEXED pairs, by a walk past them; the first of a repeated name
 * wins; names alike in their first 8 bytes or their length are told
 * apart; a set or a removal keeps every other name found. Checked
 * against a plain walk of the list (the model) on every name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kv.h"

/* The model: the first pair of that name, by a walk. */
static const char *walk(const struct kvlist *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].name, name) == 0)
			return l->items[i].value;
	return NULL;
}

static int agrees(const struct kvlist *l, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kvlist_lookup(l, names[i]) != walk(l, names[i]))
			return 0;
	return 1;
}

static void request_fields(void)
{
	static const char *const names[] = {
		"total_amount", "total_num",  "total_amt", "total_", "total_amountx",
		"re_openid",	"mch_billno", "mch_id",	   "mch",    "",
		"sign",		"sign_type",  "wxappid",   "absent", "total_amoun",
	};
	struct kvlist l;

	kvlist_init(&l);
	kvlist_add(&l, "total_amount", "300");
	kvlist_add(&l, "total_num", "3");
	kvlist_add(&l, "total_", "x");
	kvlist_add(&l, "re_openid", "o1");
	kvlist_add(&l, "mch_billno", "B1");
	kvlist_add(&l, "mch_id", "10000100");
	kvlist_add(&l, "", "empty name");
	kvlist_add(&l, "sign", "ABC");
	kvlist_add(&l, "total_amount", "second"); /* the first wins */
	CHECK_STR(kvlist_lookup(&l, "total_amount"), "300");
	CHECK_STR(kvlist_lookup(&l, "total_"), "x");
	CHECK_STR(kvlist_lookup(&l, ""), "empty name");
	CHECK(kvlist_lookup(&l, "total_amoun") == NULL);
	CHECK(kvlist_lookup(&l, "total_amountx") == NULL);
	CHECK(kvlist_lookup(&l, "mch") == NULL);
	CHECK_STR(kvlist_get(&l, "absent"), "");
	CHECK(agrees(&l, names, sizeof(names) / sizeof(names[0])));

	kvlist_set(&l, 0, "400");
	CHECK_STR(kvlist_lookup(&l, "total_amount"), "400");
	CHECK(agrees(&l, names, sizeof(names) / sizeof(names[0])));
	kvlist_remove(&l, 0); /* the last pair takes its place: "second" is first now */
	CHECK_STR(kvlist_lookup(&l, "total_amount"), "second");
	CHECK(agrees(&l, names, sizeof(names) / sizeof(names[0])));
	kvlist_remove(&l, 1);
	CHECK(kvlist_lookup(&l, "total_num") == NULL);
	CHECK(agrees(&l, names, sizeof(names) / sizeof(names[0])));
	kvlist_release(&l);
	CHECK(l.count == 0 && kvlist_lookup(&l, "sign") == NULL);
}

/* Past the slots: 200 names, some repeated, looked up after each add,
 * set and removal. */
static void many(void)
{
	enum { N = 200 };
	char names[N][24];
	const char *p[N];
	struct kvlist l;
	int bad = 0;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), i % 3 ? "field_%d" : "f%d", i % 150);
		p[i] = names[i];
	}
	kvlist_init(&l);
	for (int i = 0; i < N; i++) {
		char value[16];
		snprintf(value, sizeof(value), "%d", i);
		kvlist_add(&l, names[i], value);
		bad += !agrees(&l, p, N);
	}
	for (int i = 0; i < 20; i++) {
		kvlist_set(&l, (size_t)(i * 7), "changed");
		bad += !agrees(&l, p, N);
		kvlist_remove(&l, (size_t)(i * 5));
		bad += !agrees(&l, p, N);
	}
	CHECK(bad == 0);
	kvlist_release(&l);
}

static void query(void)
{
	static const char *const names[] = {"a", "b", "", "limit", "c"};
	struct kvlist l;

	kvlist_init(&l);
	kvlist_add_query(&l, "a=1&b&&limit=5&a=2");
	CHECK(l.count == 5);
	CHECK_STR(kvlist_lookup(&l, "a"), "1");
	CHECK(kvlist_lookup(&l, "b") == NULL && kvlist_lookup(&l, "") == NULL);
	CHECK_STR(kvlist_lookup(&l, "limit"), "5");
	CHECK(agrees(&l, names, sizeof(names) / sizeof(names[0])));
	kvlist_release(&l);
}

int main(void)
{
	request_fields();
	many();
	query();
	return check_done("test_kv");
}
