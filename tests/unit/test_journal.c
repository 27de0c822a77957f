/* The request journal: bounded by count and by bytes, the oldest evicted
 * first, newest-first iteration, oversized entries dropped, bodies cut on
 * a character, bytes that are not UTF-8 escaped, pages by seq. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
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

/* The business time of the i-th newest entry. */
static int64_t sim_at_of;
static int grab_at(void *arg, const struct journal_entry *e)
{
	int *left = arg;
	sim_at_of = e->sim_at;
	return (*left)-- == 0;
}

static int64_t at_of(const struct journal *j, int i)
{
	journal_each(j, grab_at, &i);
	return sim_at_of;
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
	journal_add(j, "sendredpack", "10000098", billno, "SUCCESS", "<xml>abcdef", 5, "answer",
		    NULL, NULL);
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
		journal_add(j, "sendgroupredpack", "10000100", "B",
			    i % 3 ? "SUCCESS" : "SIGN_ERROR", body, len, body + 19999 - (i % 500),
			    i % 3 ? NULL : "x=1&key=***", i % 3 ? NULL : "cause");
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

/* ---- the text encoding ------------------------------------------------ */

/* journal_encode of len bytes with max; the text into out, the flags back. */
static unsigned enc(const char *s, size_t len, size_t max, char *out, size_t outlen)
{
	struct buf b;
	unsigned flags;

	buf_init(&b);
	flags = journal_encode(&b, s, len, max);
	snprintf(out, outlen, "%s", b.data ? b.data : "");
	CHECK(b.len == strlen(out)); /* no NUL inside */
	buf_release(&b);
	return flags;
}

/* The string is what JSON can carry (jansson refuses invalid UTF-8). */
static int json_safe(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	int ok = j != NULL;
	json_decref(j);
	return ok;
}

static void encoding(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
		unsigned flags;
	} cases[] = {
		{"plain <xml>", 11, "plain <xml>", 0},
		{"\xe5\xa4\xa9\xe8\x99\xb9", 6, "\xe5\xa4\xa9\xe8\x99\xb9", 0}, /* 天虹 */
		{"\xf0\x9f\xa7\xa7", 4, "\xf0\x9f\xa7\xa7", 0}, /* U+1F9E7, 4 bytes */
		{"\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7, "\xef\xbf\xbf\xf4\x8f\xbf\xbf", 0},
		{"a\\x41", 5, "a\\x41", 0}, /* a backslash stays */
		{"a\0b", 3, "a\\x00b", JOURNAL_ESCAPED},
		{"\x80", 1, "\\x80", JOURNAL_ESCAPED}, /* stray continuation */
		{"\xcc\xec\xba\xe7", 4, "\\xcc\\xec\\xba\\xe7", JOURNAL_ESCAPED}, /* GBK 天虹 */
		{"\xc0\xaf", 2, "\\xc0\\xaf", JOURNAL_ESCAPED},			  /* overlong '/' */
		{"\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf", JOURNAL_ESCAPED}, /* overlong, 3 bytes */
		{"\xed\xa0\x80", 3, "\\xed\\xa0\\x80", JOURNAL_ESCAPED}, /* a surrogate */
		{"\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80", JOURNAL_ESCAPED}, /* > U+10FFFF */
		{"\xf5\xff\xfe", 3, "\\xf5\\xff\\xfe", JOURNAL_ESCAPED},
		{"ok\xe4\xb8", 4, "ok\\xe4\\xb8",
		 JOURNAL_ESCAPED}, /* the input ends mid-character */
		{"\xe4\xb8\xad\xe4\xb8x", 6, "\xe4\xb8\xad\\xe4\\xb8x", JOURNAL_ESCAPED},
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned flags = enc(cases[i].in, cases[i].len, SIZE_MAX, out, sizeof(out));
		CHECK_STR(out, cases[i].out);
		CHECK(flags == cases[i].flags);
		CHECK(json_safe(out));
	}
	/* The cut falls before a character that would not fit whole... */
	CHECK(enc("ab\xe4\xb8\xad", 5, 4, out, sizeof(out)) == JOURNAL_CUT);
	CHECK_STR(out, "ab");
	CHECK(enc("ab\xe4\xb8\xad", 5, 5, out, sizeof(out)) == 0);
	CHECK_STR(out, "ab\xe4\xb8\xad");
	/* ...or an escape. */
	CHECK(enc("ab\xff", 3, 5, out, sizeof(out)) == JOURNAL_CUT);
	CHECK_STR(out, "ab");
	CHECK(enc("ab\xff", 3, 6, out, sizeof(out)) == JOURNAL_ESCAPED);
	CHECK_STR(out, "ab\\xff");
	CHECK(enc("ab\xff"
		  "cd",
		  5, 7, out, sizeof(out)) == (JOURNAL_ESCAPED | JOURNAL_CUT));
	CHECK_STR(out, "ab\\xffc");
	CHECK(enc("", 0, 0, out, sizeof(out)) == 0);
	CHECK_STR(out, "");
	CHECK(enc("x", 1, 0, out, sizeof(out)) == JOURNAL_CUT);
}

/* Bodies of every kind are kept, shown safely, never dropped (issue 9
 * part 5: a body that is not UTF-8, or a long one cut inside a character,
 * made its entry vanish from the answer). */
static void bodies_never_dropped(void)
{
	struct journal *j = journal_new(10, 0);
	const struct journal_entry *e = NULL;
	size_t n = JOURNAL_MAX_BODY + 1000;
	char *body = malloc(n);
	struct seen s;

	/* A valid body whose byte JOURNAL_MAX_BODY falls inside a character:
	 * 'x' then three-byte characters, shifted 0, 1 and 2 bytes. */
	for (size_t shift = 0; shift < 3; shift++) {
		memset(body, 'x', shift);
		for (size_t i = shift; i + 3 <= n; i += 3)
			memcpy(body + i, "\xe4\xb8\xad", 3);
		journal_add(j, "sendgroupredpack", "10000098", "LONG", "SUCCESS", body,
			    n - (n - shift) % 3, "<xml>\n</xml>", NULL, NULL);
		journal_each(j, first_entry, &e);
		CHECK(e->seq == shift + 1);
		CHECK(e->request_bytes == n - (n - shift) % 3);
		CHECK(e->request_flags == JOURNAL_CUT);
		CHECK(strlen(e->request) <= JOURNAL_MAX_BODY);
		CHECK(strlen(e->request) > JOURNAL_MAX_BODY - 3);
		CHECK((strlen(e->request) - shift) % 3 == 0); /* whole characters only */
		CHECK(memcmp(e->request, body, strlen(e->request)) == 0);
		CHECK(json_safe(e->request));
	}
	/* A body that is not UTF-8 (GBK, as a merchant's PHP 5 sent it). */
	{
		static const char gbk[] = "<xml><send_name>\xcc\xec\xba\xe7</send_name></xml>";
		journal_add(j, "sendgroupredpack", "10000098", "", "XML_ERROR", gbk,
			    sizeof(gbk) - 1, "<xml/>", NULL, NULL);
	}
	journal_each(j, first_entry, &e);
	CHECK_STR(e->request, "<xml><send_name>\\xcc\\xec\\xba\\xe7</send_name></xml>");
	CHECK(e->request_bytes == 38 && e->request_flags == JOURNAL_ESCAPED);
	CHECK(json_safe(e->request));
	/* Invalid bytes all over, past the cap: escapes are cut whole too. */
	memset(body, 0xff, n);
	journal_add(j, "gethbinfo", "", "", "XML_ERROR", body, n, "<xml/>", NULL, NULL);
	journal_each(j, first_entry, &e);
	CHECK(strlen(e->request) == JOURNAL_MAX_BODY); /* 2048 escapes of 4 bytes */
	CHECK(strncmp(e->request, "\\xff\\xff", 8) == 0);
	CHECK(e->request_flags == (JOURNAL_ESCAPED | JOURNAL_CUT));
	CHECK(e->request_bytes == n);
	CHECK(e->bytes > JOURNAL_MAX_BODY && e->bytes < JOURNAL_MAX_BODY + 1024);
	/* NUL inside a body is kept (escaped), not an end. */
	journal_add(j, "gethbinfo", "", "", "XML_ERROR", "<xml>\0</xml>", 12, "<xml/>", NULL, NULL);
	journal_each(j, first_entry, &e);
	CHECK_STR(e->request, "<xml>\\x00</xml>");
	/* The other strings go through the same encoding. */
	journal_add(j, "sendgroupredpack", "100\xff", "B\xe4", "SIGN_ERROR", "", 0, "\xfe",
		    "a=\xc3&key=***", "cause\x80");
	journal_each(j, first_entry, &e);
	CHECK_STR(e->mch_id, "100\\xff");
	CHECK_STR(e->mch_billno, "B\\xe4");
	CHECK_STR(e->answer, "\\xfe");
	CHECK_STR(e->sign_string, "a=\\xc3&key=***");
	CHECK_STR(e->sign_cause, "cause\\x80");
	CHECK(e->request_bytes == 0 && e->request_flags == 0);
	/* Nothing was dropped. */
	s = walk(j, 0);
	CHECK(s.n == 7 && journal_count(j) == 7);
	journal_free(j);
	free(body);
}

/* ---- pages ------------------------------------------------------------- */

static void pages(void)
{
	struct journal *j = journal_new(5, 0);
	struct seen s;

	/* Before anything: nothing, whatever the cursor. */
	s = walk(j, 0);
	CHECK(s.n == 0);
	for (int i = 1; i <= 12; i++)
		add(j, i % 10);
	/* Kept: seq 8..12. */
	static const struct {
		uint64_t before;
		int n;
		uint64_t first;
	} cases[] = {
		{0, 5, 12}, {13, 5, 12}, {1000, 5, 12}, {12, 4, 11}, {10, 2, 9},
		{9, 1, 8},  {8, 0, 0},	 {3, 0, 0},	{1, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&s, 0, sizeof(s));
		journal_each_before(j, cases[i].before, collect, &s);
		CHECK(s.n == cases[i].n);
		if (s.n)
			CHECK(s.seq[0] == cases[i].first);
		for (int k = 1; k < s.n; k++)
			CHECK(s.seq[k] == s.seq[k - 1] - 1);
	}
	/* A stop inside a page. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	journal_each_before(j, 11, collect, &s);
	CHECK(s.n == 2 && s.seq[0] == 10 && s.seq[1] == 9);
	journal_free(j);

	/* Gaps in seq (an entry larger than the budget takes a seq, is not
	 * kept): the search still lands right. */
	j = journal_new(100, 4096);
	{
		char *big = malloc(8000);
		memset(big, 'q', 7999);
		big[7999] = '\0';
		for (int i = 1; i <= 9; i++) {
			if (i % 3 == 0)
				journal_add(j, "sendgroupredpack", "1", "B", "SUCCESS", "", 0, big,
					    NULL, NULL);
			else
				add(j, i);
		}
		free(big);
	}
	/* Kept: 1 2 4 5 7 8 */
	memset(&s, 0, sizeof(s));
	journal_each_before(j, 7, collect, &s);
	CHECK(s.n == 4 && s.seq[0] == 5 && s.seq[3] == 1);
	memset(&s, 0, sizeof(s));
	journal_each_before(j, 6, collect, &s);
	CHECK(s.n == 4 && s.seq[0] == 5);
	memset(&s, 0, sizeof(s));
	journal_each_before(j, 9, collect, &s);
	CHECK(s.n == 6 && s.seq[0] == 8);
	journal_free(j);
}

struct explainer {
	int calls;
	const char *reply; /* the sign string it gives; NULL: nothing */
};

static void explain_fn(void *arg, const struct journal_entry *e, struct buf *string,
		       struct buf *cause)
{
	struct explainer *x = arg;
	x->calls++;
	CHECK(e->request && strncmp(e->request, "<xml>", 5) == 0);
	if (x->reply) {
		buf_puts(string, x->reply);
		buf_puts(cause, "a cause");
	}
}

static int first_only(void *arg, const struct journal_entry *e)
{
	*(const struct journal_entry **)arg = e;
	return 1;
}

/* A SIGN_ERROR left to the explainer: explained once, when read, within
 * the bytes charged when it was added; requests not kept whole and
 * journals without an explainer are refused, so the caller explains now. */
static void explained_when_read(void)
{
	static const char body[] = "<xml><mch_billno>B1</mch_billno><sign>X</sign></xml>";
	struct explainer x = {0, "mch_billno=B1&key=***"};
	struct journal *j = journal_new(10, 0);
	const struct journal_entry *e = NULL;
	size_t before;
	char *cut;

	CHECK(journal_add_to_explain(j, "sendgroupredpack", "10000098", "B1", "SIGN_ERROR", body,
				     strlen(body), "<xml/>") == -1); /* no explainer yet */
	CHECK(journal_count(j) == 0);
	journal_set_explainer(j, explain_fn, &x);
	CHECK(journal_add_to_explain(j, "sendgroupredpack", "10000098", "B1", "SIGN_ERROR", body,
				     strlen(body), "<xml/>") == 0);
	CHECK(x.calls == 0);
	before = journal_bytes(j);
	journal_each(j, first_only, &e);
	CHECK(x.calls == 1);
	CHECK(e && e->sign_string && strcmp(e->sign_string, "mch_billno=B1&key=***") == 0);
	CHECK(e && e->sign_cause && strcmp(e->sign_cause, "a cause") == 0);
	CHECK(journal_bytes(j) <= before); /* never more than was charged */
	journal_each(j, first_only, &e);
	CHECK(x.calls == 1); /* once */

	/* An explainer that finds nothing leaves the entry without one; an
	 * explanation larger than its reserve is left out, never over budget. */
	x.reply = NULL;
	CHECK(journal_add_to_explain(j, "sendredpack", "10000098", "B2", "SIGN_ERROR", body,
				     strlen(body), "<xml/>") == 0);
	journal_each(j, first_only, &e);
	CHECK(x.calls == 2 && e->sign_string == NULL && e->sign_cause == NULL);
	char *large = malloc(4096);
	memset(large, 'k', 4095);
	large[4095] = '\0';
	x.reply = large;
	CHECK(journal_add_to_explain(j, "sendredpack", "10000098", "B4", "SIGN_ERROR", body,
				     strlen(body), "<xml/>") == 0);
	before = journal_bytes(j);
	journal_each(j, first_only, &e);
	CHECK(x.calls == 3 && e->sign_string == NULL && journal_bytes(j) < before);
	free(large);

	/* Bodies the journal cannot keep whole are explained by the caller. */
	cut = malloc(JOURNAL_MAX_BODY + 2);
	memset(cut, 'a', JOURNAL_MAX_BODY + 1);
	memcpy(cut, "<xml>", 5);
	cut[JOURNAL_MAX_BODY + 1] = '\0';
	CHECK(journal_add_to_explain(j, "sendredpack", "10000098", "B3", "SIGN_ERROR", cut,
				     JOURNAL_MAX_BODY + 1, "<xml/>") == -1);
	CHECK(journal_add_to_explain(j, "sendredpack", "10000098", "B3", "SIGN_ERROR",
				     "<xml>\xff</xml>", 12, "<xml/>") == -1);
	CHECK(journal_count(j) == 3);
	free(cut);
	journal_free(j);
}

/* What the bounds drop is counted, with the newest business time among
 * it, until the journal is cleared (the verification API's exactness). */
static void dropped_and_cleared(void)
{
	struct journal *j = journal_new(2, 0);
	int64_t newest = -1;
	struct seen s;

	clock_set_offset(0);
	CHECK(journal_dropped(j, &newest) == 0 && newest == 0);
	add(j, 1);
	add(j, 2);
	CHECK(journal_dropped(j, &newest) == 0);
	clock_set_offset(1000);
	add(j, 3); /* drops BILL1, recorded at offset 0 */
	CHECK(journal_dropped(j, &newest) == 1);
	CHECK(newest >= clock_now() - 1000 - 5 && newest <= clock_now() - 1000);
	add(j, 4); /* drops BILL2, also at offset 0 */
	CHECK(journal_dropped(j, NULL) == 2);
	add(j, 5); /* drops BILL3, at offset 1000: the newest dropped moves on */
	CHECK(journal_dropped(j, &newest) == 3 && newest >= clock_now() - 5);
	s = walk(j, 0);
	CHECK(s.n == 2 && s.seq[0] == 5);
	CHECK(at_of(j, 0) >= clock_now() - 5);
	journal_clear(j);
	CHECK(journal_count(j) == 0 && journal_bytes(j) == 0);
	CHECK(journal_dropped(j, &newest) == 0 && newest == 0);
	add(j, 6); /* sequence numbers go on */
	s = walk(j, 0);
	CHECK(s.n == 1 && s.seq[0] == 6);
	clock_set_offset(0);
	journal_free(j);
}

/* The same encoding a byte at a time, as the specification of
 * journal_encode: whole valid characters as they are, any other byte as
 * \xNN, nothing past max (a character or an escape whole, or the cut). */
static unsigned reference_encode(struct buf *out, const unsigned char *p, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	unsigned flags = 0;
	size_t used = 0;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_decode(p + i, len - i, &cp);
		size_t cost = n ? n : 4;
		if (cost > max - used) {
			flags |= JOURNAL_CUT;
			break;
		}
		if (n) {
			buf_append(out, p + i, n);
			i += n;
		} else {
			char esc[4] = {'\\', 'x', hex[p[i] >> 4], hex[p[i] & 15]};
			buf_append(out, esc, sizeof(esc));
			flags |= JOURNAL_ESCAPED;
			i++;
		}
		used += cost;
	}
	return flags;
}

/* journal_encode against the reference on random mixes of ASCII, NULs,
 * valid characters and stray bytes, at every alignment (it takes ASCII
 * eight bytes at a time). */
static void encoding_matches_reference(void)
{
	static const char *const pieces[] = {
		"a",	"<xml>", "0123456789", "\xe5\xa4\xa9", "\xf0\x9f\xa7\xa7",
		"\x80", "\xff",	 "\xc0\xaf",   "\xe4\xb8",     " ",
		"\x7f", "\x01"};
	unsigned seed = 12345;
	int mismatches = 0;

	for (int round = 0; round < 3000; round++) {
		unsigned char in[96];
		size_t len = 0;
		while (len + 10 <= sizeof(in)) { /* the longest piece fits */
			seed = seed * 1103515245u + 12345u;
			unsigned r = seed >> 16;
			if (r % 13 == 12) {
				in[len++] = '\0';
			} else {
				const char *piece = pieces[r % 12];
				size_t n = strlen(piece);
				memcpy(in + len, piece, n);
				len += n;
			}
			if ((r >> 5) % 9 == 0)
				break;
		}
		size_t start = (size_t)(round % 8) < len ? (size_t)(round % 8) : len;
		size_t max = round % 3 ? SIZE_MAX : (size_t)(round % 40);
		struct buf got, want;
		buf_init(&got);
		buf_init(&want);
		unsigned gf = journal_encode(&got, (const char *)in + start, len - start, max);
		unsigned wf = reference_encode(&want, in + start, len - start, max);
		if (gf != wf || got.len != want.len ||
		    (got.len && memcmp(got.data, want.data, got.len) != 0))
			mismatches++;
		buf_release(&got);
		buf_release(&want);
	}
	CHECK(mismatches == 0);
}

int main(void)
{
	explained_when_read();
	encoding();
	encoding_matches_reference();
	bodies_never_dropped();
	pages();
	by_count();
	by_bytes();
	large_entries();
	bodies_and_copies();
	churn();
	dropped_and_cleared();
	return check_done("test_journal");
}
