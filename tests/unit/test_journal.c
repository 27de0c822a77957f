/* The request journal: bounded by count and by bytes, the oldest evicted
 * first, newest-first iteration, oversized entries dropped, bodies cut. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "journal.h"

struct seen {
	uint64_t seq[64];
	const char *billno[64];
	int n, stop_after;
};

static int collect(void *arg, const struct journal_entry *e)
{
	struct seen *s = arg;
	if (s->n < 64) {
		s->seq[s->n] = e->seq;
		s->billno[s->n] = e->mch_billno;
	}
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static struct seen walk(const struct journal *j, int stop_after)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	s.stop_after = stop_after;
	journal_each(j, collect, &s);
	return s;
}

/* One entry of a fixed shape: every string the same length for each i
 * below 10, so every entry costs the same. */
static void add(struct journal *j, int i)
{
	char billno[32], body[64];
	snprintf(billno, sizeof(billno), "BILL%d", i);
	snprintf(body, sizeof(body), "<xml><mch_billno>BILL%d</mch_billno></xml>", i);
	journal_add(j, "sendgroupredpack", "10000098", billno, "SUCCESS", body, strlen(body),
		    "<xml>\n</xml>", NULL, NULL);
}

static void by_count(void)
{
	struct journal *j = journal_new(3, 0);
	struct seen s;

	CHECK(journal_count(j) == 0 && journal_bytes(j) == 0);
	s = walk(j, 0);
	CHECK(s.n == 0);
	for (int i = 1; i <= 5; i++)
		add(j, i);
	CHECK(journal_count(j) == 3);
	s = walk(j, 0);
	CHECK(s.n == 3);
	/* Newest first; the two oldest went first. */
	CHECK(s.seq[0] == 5 && s.seq[1] == 4 && s.seq[2] == 3);
	CHECK_STR(s.billno[0], "BILL5");
	CHECK_STR(s.billno[2], "BILL3");
	/* The iteration stops when fn says so. */
	s = walk(j, 1);
	CHECK(s.n == 1 && s.seq[0] == 5);
	s = walk(j, 2);
	CHECK(s.n == 2 && s.seq[1] == 4);
	/* The ring wraps many times and stays right. */
	for (int i = 6; i <= 100; i++)
		add(j, i % 10);
	s = walk(j, 0);
	CHECK(s.n == 3 && s.seq[0] == 100 && s.seq[1] == 99 && s.seq[2] == 98);
	CHECK(journal_bytes(j) > 0);
	journal_free(j);

	/* A size of 0 keeps one. */
	j = journal_new(0, 0);
	add(j, 1);
	add(j, 2);
	s = walk(j, 0);
	CHECK(journal_count(j) == 1 && s.n == 1 && s.seq[0] == 2);
	journal_free(j);
}

static void by_bytes(void)
{
	struct journal *j = journal_new(1000, 0);
	size_t cost;
	struct seen s;

	add(j, 1);
	cost = journal_bytes(j);
	CHECK(cost > 0);
	add(j, 2);
	CHECK(journal_bytes(j) == 2 * cost); /* same shape, same cost */
	journal_free(j);

	/* A budget of three and a half entries keeps three. */
	j = journal_new(1000, cost * 3 + cost / 2);
	for (int i = 1; i <= 9; i++) {
		add(j, i);
		CHECK(journal_bytes(j) <= cost * 3 + cost / 2);
		CHECK(journal_count(j) == (size_t)(i < 3 ? i : 3));
		CHECK(journal_bytes(j) == journal_count(j) * cost);
	}
	s = walk(j, 0);
	CHECK(s.n == 3 && s.seq[0] == 9 && s.seq[1] == 8 && s.seq[2] == 7);
	journal_free(j);

	/* Exactly the budget: the entry fits. */
	j = journal_new(1000, cost * 2);
	add(j, 1);
	add(j, 2);
	CHECK(journal_count(j) == 2 && journal_bytes(j) == cost * 2);
	add(j, 3);
	s = walk(j, 0);
	CHECK(journal_count(j) == 2 && s.seq[0] == 3 && s.seq[1] == 2);
	journal_free(j);

	/* Both bounds: whichever comes first. */
	j = journal_new(2, cost * 10);
	for (int i = 1; i <= 5; i++)
		add(j, i);
	CHECK(journal_count(j) == 2 && journal_bytes(j) == 2 * cost);
	journal_free(j);
}

static void large_entries(void)
{
	struct journal *j;
	size_t cost;
	char *big = malloc(100000);
	struct seen s;

	memset(big, 'x', 99999);
	big[99999] = '\0';

	j = journal_new(100, 0);
	add(j, 1);
	cost = journal_bytes(j);
	journal_free(j);

	/* An entry larger than the whole budget is not kept, and evicts nothing. */
	j = journal_new(100, 8 * cost);
	add(j, 1);
	add(j, 2);
	journal_add(j, "sendgroupredpack", "10000098", "HUGE", "SUCCESS", "<xml/>", 6, big, NULL,
		    NULL);
	s = walk(j, 0);
	CHECK(journal_count(j) == 2 && s.n == 2);
	CHECK_STR(s.billno[0], "BILL2");
	CHECK(journal_bytes(j) == 2 * cost);
	/* A large one that fits pushes out as many old ones as it needs. */
	journal_add(j, "sendgroupredpack", "10000098", "BIGGISH", "SUCCESS", "<xml/>", 6,
		    big + 99999 - 5 * cost, NULL, NULL);
	s = walk(j, 0);
	CHECK_STR(s.billno[0], "BIGGISH");
	CHECK(journal_bytes(j) <= 8 * cost);
	CHECK(journal_count(j) >= 1);
	journal_free(j);
	free(big);
}

static int first_entry(void *arg, const struct journal_entry *e)
{
	*(const struct journal_entry **)arg = e;
	return 1;
}

static void bodies_and_copies(void)
{
	struct journal *j = journal_new(10, 0);
	const struct journal_entry *e = NULL;
	char *body = malloc(JOURNAL_MAX_BODY * 3);
	char billno[16] = "B-ORIGINAL";
	time_t before = time(NULL);

	memset(body, 'b', JOURNAL_MAX_BODY * 3 - 1);
	body[JOURNAL_MAX_BODY * 3 - 1] = '\0';
	/* Cut at JOURNAL_MAX_BODY bytes. */
	journal_add(j, "sendredpack", "10000098", billno, "SUCCESS", body, JOURNAL_MAX_BODY * 3 - 1,
		    "answer", NULL, NULL);
	journal_each(j, first_entry, &e);
	CHECK(e != NULL && strlen(e->request) == JOURNAL_MAX_BODY);
	CHECK(e->bytes > JOURNAL_MAX_BODY);
	CHECK(e->bytes < JOURNAL_MAX_BODY + 1024);
	/* request_len, not the string's length, says how much is the body
	 * (bodies need not end with a NUL). */
	journal_add(j, "sendredpack", "10000098", billno, "SUCCESS", "<xml>abcdef", 5, "answer", NULL,
		    NULL);
	journal_each(j, first_entry, &e);
	CHECK_STR(e->request, "<xml>");
	/* A body of exactly the limit is kept whole. */
	journal_add(j, "sendredpack", "10000098", billno, "SUCCESS", body, JOURNAL_MAX_BODY, "a",
		    NULL, NULL);
	journal_each(j, first_entry, &e);
	CHECK(strlen(e->request) == JOURNAL_MAX_BODY);
	/* NULL body: empty. */
	journal_add(j, "gethbinfo", "", "", "XML_ERROR", NULL, 0, "a", NULL, NULL);
	journal_each(j, first_entry, &e);
	CHECK_STR(e->request, "");
	CHECK(e->sign_string == NULL && e->sign_cause == NULL);

	/* The strings are copies. */
	journal_add(j, "sendgroupredpack", "10000098", billno, "SIGN_ERROR", "<xml/>", 6, "ans",
		    "a=1&key=***", "lower-case hex");
	snprintf(billno, sizeof(billno), "CHANGED");
	journal_each(j, first_entry, &e);
	CHECK_STR(e->mch_billno, "B-ORIGINAL");
	CHECK_STR(e->endpoint, "sendgroupredpack");
	CHECK_STR(e->mch_id, "10000098");
	CHECK_STR(e->err_code, "SIGN_ERROR");
	CHECK_STR(e->answer, "ans");
	CHECK_STR(e->sign_string, "a=1&key=***");
	CHECK_STR(e->sign_cause, "lower-case hex");
	CHECK(e->seq == 5);
	CHECK(e->at >= (int64_t)before && e->at <= (int64_t)time(NULL) + 1);
	journal_free(j);
	free(body);
	journal_free(NULL);
}

/* Many entries of varied sizes under both bounds: the bounds always hold
 * and the kept entries are the newest, consecutive. */
static void churn(void)
{
	struct journal *j = journal_new(100, 65536);
	char *body = malloc(20000);
	struct seen s;

	memset(body, 'z', 19999);
	body[19999] = '\0';
	for (int i = 0; i < 10000; i++) {
		size_t len = (size_t)((i * 7919) % 19000);
		journal_add(j, "sendgroupredpack", "10000100", "B", i % 3 ? "SUCCESS" : "SIGN_ERROR",
			    body, len, body + 19999 - (i % 500), i % 3 ? NULL : "x=1&key=***",
			    i % 3 ? NULL : "cause");
		if (journal_count(j) > 100 || journal_bytes(j) > 65536) {
			CHECK(journal_count(j) <= 100);
			CHECK(journal_bytes(j) <= 65536);
			break;
		}
	}
	CHECK(journal_count(j) <= 100 && journal_bytes(j) <= 65536);
	s = walk(j, 0);
	CHECK((size_t)s.n == journal_count(j));
	CHECK(s.n >= 1 && s.seq[0] == 10000);
	for (int i = 1; i < s.n && i < 64; i++)
		CHECK(s.seq[i] == s.seq[i - 1] - 1);
	journal_free(j);
	free(body);
}

int main(void)
{
	by_count();
	by_bytes();
	large_entries();
	bodies_and_copies();
	churn();
	return check_done("test_journal");
}
