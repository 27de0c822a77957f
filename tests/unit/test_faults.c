/* Answers on demand: the magic values (header and oMOCK_ openids) and the
 * fault rules (matching, times, seeded probability, removal, delays). */
#include "check.h"

#include <stdlib.h>

#include "errors.h"
#include "faults.h"
#include "kv.h"

/* ---- magic values ------------------------------------------------------ */

/* The parameters of the last magic() call: *ignored may point into them,
 * so they live until the next call (or magic_done). */
static struct kvlist last_params;
static int have_params;

static void magic_done(void)
{
	if (have_params)
		kvlist_release(&last_params);
	have_params = 0;
}

static int magic(const char *header, const char *openid, enum err_endpoint ep, const char **ignored)
{
	magic_done();
	kvlist_init(&last_params);
	have_params = 1;
	kvlist_add(&last_params, "mch_id", "10000098");
	if (openid)
		kvlist_add(&last_params, "re_openid", openid);
	return faults_magic(header, &last_params, ep, ignored);
}

static void magic_openid(void)
{
	const char *ign = "unset";

	CHECK(magic(NULL, "oMOCK_NOTENOUGH", EP_G, &ign) == ERR_NOTENOUGH);
	CHECK(ign == NULL);
	CHECK(magic(NULL, "oMOCK_NOTENOUGH", EP_S, &ign) == ERR_NOTENOUGH);
	/* "-" and anything after it keeps openids apart. */
	CHECK(magic(NULL, "oMOCK_SYSTEMERROR-42", EP_G, &ign) == ERR_SYSTEMERROR);
	CHECK(magic(NULL, "oMOCK_SYSTEMERROR-a-b_c", EP_S, &ign) == ERR_SYSTEMERROR);
	CHECK(magic(NULL, "oMOCK_PAYER_ACCOUNT_ABNORMAL-x", EP_S, &ign) ==
	      ERR_PAYER_ACCOUNT_ABNORMAL);
	CHECK(magic(NULL, "oMOCK_PROCESSING", EP_G, &ign) == ERR_PROCESSING);
	CHECK(magic(NULL, "oMOCK_SUCCESS", EP_G, &ign) == ERR_SUCCESS);
	CHECK(ign == NULL);

	/* An ordinary openid asks for nothing. */
	CHECK(magic(NULL, "oxTWIuGaIt6gTKsQRLau2M0yL16E", EP_G, &ign) == -1);
	CHECK(ign == NULL);
	CHECK(magic(NULL, NULL, EP_G, &ign) == -1);
	CHECK(ign == NULL);
	/* The prefix is case-sensitive: not magic at all. */
	CHECK(magic(NULL, "omock_NOTENOUGH", EP_G, &ign) == -1);
	CHECK(ign == NULL);
	CHECK(magic(NULL, "OMOCK_NOTENOUGH", EP_G, &ign) == -1);
	CHECK(ign == NULL);

	/* Magic, but no code of the catalogue: ignored (and named for the log). */
	CHECK(magic(NULL, "oMOCK_NO_SUCH_CODE", EP_G, &ign) == -1);
	CHECK_STR(ign, "oMOCK_NO_SUCH_CODE");
	CHECK(magic(NULL, "oMOCK_notenough", EP_G, &ign) == -1);
	CHECK_STR(ign, "oMOCK_notenough");
	CHECK(magic(NULL, "oMOCK_NOTENOUGHX", EP_G, &ign) == -1);
	CHECK_STR(ign, "oMOCK_NOTENOUGHX");
	CHECK(magic(NULL, "oMOCK_", EP_G, &ign) == -1);
	CHECK_STR(ign, "oMOCK_");
	CHECK(magic(NULL, "oMOCK_-NOTENOUGH", EP_G, &ign) == -1);

	/* A code the endpoint does not list: ignored. */
	CHECK(magic(NULL, "oMOCK_NOT_FOUND", EP_G, &ign) == -1);
	CHECK_STR(ign, "oMOCK_NOT_FOUND");
	CHECK(magic(NULL, "oMOCK_MSGAPPID_ERROR", EP_G, &ign) == -1);
	CHECK(ign != NULL);
	CHECK(magic(NULL, "oMOCK_MSGAPPID_ERROR", EP_S, &ign) == ERR_MSGAPPID_ERROR);
	CHECK(magic(NULL, "oMOCK_SECOND_OVER_LIMITED", EP_G, &ign) == ERR_SECOND_OVER_LIMITED);
	CHECK(magic(NULL, "oMOCK_SECOND_OVER_LIMITED", EP_S, &ign) == -1);
	CHECK(ign != NULL);

	/* gethbinfo has no re_openid: an oMOCK_ value there means nothing. */
	CHECK(magic(NULL, "oMOCK_SYSTEMERROR", EP_Q, &ign) == -1);
	CHECK(ign == NULL);
}

static void magic_header(void)
{
	const char *ign = "unset";

	CHECK(magic("NOTENOUGH", NULL, EP_G, &ign) == ERR_NOTENOUGH);
	CHECK(ign == NULL);
	CHECK(magic("NOT_FOUND", NULL, EP_Q, &ign) == ERR_NOT_FOUND);
	CHECK(magic("NO_AUTH", NULL, EP_Q, &ign) == ERR_NO_AUTH);
	CHECK(magic("XML_ERROR", NULL, EP_S, &ign) == ERR_XML_ERROR);

	/* The header wins over the openid. */
	CHECK(magic("NOTENOUGH", "oMOCK_SYSTEMERROR", EP_G, &ign) == ERR_NOTENOUGH);
	CHECK(ign == NULL);
	CHECK(magic("PROCESSING", "oMOCK_NOTENOUGH-7", EP_S, &ign) == ERR_PROCESSING);
	/* An empty header is no header. */
	CHECK(magic("", "oMOCK_SYSTEMERROR", EP_G, &ign) == ERR_SYSTEMERROR);
	CHECK(ign == NULL);

	/* Unknown or not of the endpoint: ignored, named. */
	CHECK(magic("NO_SUCH_CODE", NULL, EP_G, &ign) == -1);
	CHECK_STR(ign, "NO_SUCH_CODE");
	CHECK(magic("notenough", NULL, EP_G, &ign) == -1);
	CHECK_STR(ign, "notenough");
	CHECK(magic("NOT_FOUND", NULL, EP_G, &ign) == -1);
	CHECK_STR(ign, "NOT_FOUND");
	CHECK(magic("NOTENOUGH", NULL, EP_Q, &ign) == -1);
	CHECK_STR(ign, "NOTENOUGH");
	CHECK(magic("NOTENOUGH-1", NULL, EP_G, &ign) == -1); /* no suffix on the header */
	CHECK(ign != NULL);
}

/* Every catalogue code, each endpoint: named by the header exactly when
 * the catalogue lists the code for the endpoint; by the openid likewise
 * on the send endpoints. */
static void magic_whole_catalogue(void)
{
	static const enum err_endpoint eps[] = {EP_S, EP_G, EP_Q};
	char openid[64];

	for (int i = 0; i < ERR__COUNT; i++) {
		const struct err_info *e = errors_info((enum err_id)i);
		for (size_t k = 0; k < 3; k++) {
			const char *ign = "unset";
			int listed = (e->endpoints & eps[k]) != 0;
			int id = magic(e->code, NULL, eps[k], &ign);
			CHECK(id == (listed ? i : -1));
			CHECK(listed ? ign == NULL : ign != NULL);
			snprintf(openid, sizeof(openid), "oMOCK_%s", e->code);
			id = magic(NULL, openid, eps[k], &ign);
			CHECK(id == (eps[k] != EP_Q && listed ? i : -1));
		}
	}
}

/* ---- fault rules ------------------------------------------------------- */

static struct fault_rule rule(const char *api, const char *mch_id, const char *openid,
			      const char *billno, int err)
{
	struct fault_rule r;
	memset(&r, 0, sizeof(r));
	snprintf(r.api, sizeof(r.api), "%s", api ? api : "");
	snprintf(r.mch_id, sizeof(r.mch_id), "%s", mch_id ? mch_id : "");
	snprintf(r.re_openid, sizeof(r.re_openid), "%s", openid ? openid : "");
	snprintf(r.mch_billno, sizeof(r.mch_billno), "%s", billno ? billno : "");
	r.err = err;
	r.transport = FAULT_NONE;
	r.times = -1;
	r.probability = 1.0;
	return r;
}

/* faults_match on a request of these fields; returns the rule id or 0. */
static int match(struct faults *f, const char *api, const char *mch_id, const char *openid,
		 const char *billno, struct fault_rule *out)
{
	struct kvlist p;
	struct fault_rule tmp;
	int hit;

	kvlist_init(&p);
	kvlist_add(&p, "mch_id", mch_id);
	kvlist_add(&p, "mch_billno", billno);
	if (openid)
		kvlist_add(&p, "re_openid", openid);
	hit = faults_match(f, api, &p, out ? out : &tmp);
	kvlist_release(&p);
	return hit ? (out ? out : &tmp)->id : 0;
}

static const struct fault_rule *find(struct faults *f, int id)
{
	size_t n;
	const struct fault_rule *all = faults_list(f, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i].id == id)
			return &all[i];
	return NULL;
}

static void rules_matching(void)
{
	struct faults *f = faults_new(42);
	struct fault_rule out, r;
	size_t n;
	int a, b, c, d;

	CHECK(match(f, "sendgroupredpack", "10000098", "oA", "B1", NULL) == 0);

	r = rule(NULL, NULL, "oA", NULL, ERR_NOTENOUGH);
	a = faults_add(f, &r);
	r = rule("sendredpack", NULL, NULL, NULL, ERR_SYSTEMERROR);
	b = faults_add(f, &r);
	r = rule(NULL, "10000099", NULL, NULL, ERR_FREQ_LIMIT);
	c = faults_add(f, &r);
	r = rule(NULL, NULL, NULL, "BILL9", ERR_PROCESSING);
	r.transport = FAULT_DELAY;
	r.delay_ms = 5;
	r.delay_max_ms = 5;
	d = faults_add(f, &r);
	CHECK(a == 1 && b == 2 && c == 3 && d == 4);
	faults_list(f, &n);
	CHECK(n == 4);

	/* re_openid */
	CHECK(match(f, "sendgroupredpack", "10000098", "oA", "B1", &out) == a);
	CHECK(out.err == ERR_NOTENOUGH && out.hits == 1);
	CHECK(match(f, "sendgroupredpack", "10000098", "oB", "B1", NULL) == 0);
	CHECK(match(f, "sendgroupredpack", "10000098", "oAA", "B1", NULL) ==
	      0); /* exact, not prefix */
	CHECK(match(f, "sendgroupredpack", "10000098", NULL, "B1", NULL) == 0);
	/* api */
	CHECK(match(f, "sendredpack", "10000098", "oB", "B1", &out) == b);
	CHECK(out.err == ERR_SYSTEMERROR);
	CHECK(match(f, "gethbinfo", "10000098", NULL, "B1", NULL) == 0);
	/* mch_id */
	CHECK(match(f, "gethbinfo", "10000099", NULL, "B1", &out) == c);
	CHECK(match(f, "sendgroupredpack", "10000099", "oB", "B1", NULL) == c);
	/* mch_billno, with its transport copied out */
	CHECK(match(f, "sendgroupredpack", "10000098", "oB", "BILL9", &out) == d);
	CHECK(out.transport == FAULT_DELAY && out.delay_ms == 5 && out.err == ERR_PROCESSING);
	CHECK(match(f, "sendgroupredpack", "10000098", "oB", "BILL", NULL) == 0);
	/* The first rule that matches applies: oA on sendredpack is rule a, not b. */
	CHECK(match(f, "sendredpack", "10000098", "oA", "B1", NULL) == a);
	CHECK(find(f, a)->hits == 2);
	CHECK(find(f, b)->hits == 1);
	CHECK(find(f, c)->hits == 2);
	CHECK(find(f, d)->hits == 1);
	/* Until deleted: times stays -1. */
	CHECK(find(f, a)->times == -1);

	/* The copy stays valid after the rule is removed. */
	CHECK(match(f, "sendgroupredpack", "10000098", "oB", "BILL9", &out) == d);
	CHECK(faults_remove(f, d) == 0);
	CHECK(out.id == d && out.delay_ms == 5);
	CHECK(find(f, d) == NULL);
	CHECK(match(f, "sendgroupredpack", "10000098", "oB", "BILL9", NULL) == 0);
	faults_free(f);
}

static void rules_times_and_removal(void)
{
	struct faults *f = faults_new(1);
	struct fault_rule r = rule(NULL, NULL, "oT", NULL, ERR_NOTENOUGH), out;
	const struct fault_rule *all;
	size_t n;
	int a, b, c;

	r.times = 2;
	a = faults_add(f, &r);
	r = rule(NULL, NULL, "oT", NULL, ERR_SYSTEMERROR);
	b = faults_add(f, &r);
	CHECK(match(f, "sendgroupredpack", "1", "oT", "B", &out) == a);
	CHECK(out.times == 1);
	CHECK(match(f, "sendgroupredpack", "1", "oT", "B", &out) == a);
	CHECK(out.times == 0 && out.hits == 2);
	/* Spent: the next rule applies from now on; the spent one stays listed. */
	CHECK(match(f, "sendgroupredpack", "1", "oT", "B", &out) == b);
	CHECK(match(f, "sendgroupredpack", "1", "oT", "B", &out) == b);
	CHECK(find(f, a)->hits == 2 && find(f, a)->times == 0);
	CHECK(find(f, b)->hits == 2);

	/* Removal: unknown ids, twice, and ids never reused. */
	CHECK(faults_remove(f, 999) == -1);
	CHECK(faults_remove(f, 0) == -1);
	CHECK(faults_remove(f, a) == 0);
	CHECK(faults_remove(f, a) == -1);
	all = faults_list(f, &n);
	CHECK(n == 1 && all[0].id == b);
	c = faults_add(f, &r);
	CHECK(c == b + 1);
	r.hits = 77; /* the caller's hits are not taken over */
	c = faults_add(f, &r);
	CHECK(find(f, c)->hits == 0);
	all = faults_list(f, &n);
	CHECK(n == 3 && all[0].id == b && all[1].id == b + 1 && all[2].id == c);
	/* -1 removes all. */
	CHECK(faults_remove(f, -1) == 0);
	faults_list(f, &n);
	CHECK(n == 0);
	CHECK(match(f, "sendgroupredpack", "1", "oT", "B", NULL) == 0);
	/* Many rules (the table grows). */
	for (int i = 0; i < 100; i++) {
		char id[16];
		snprintf(id, sizeof(id), "o%d", i);
		r = rule(NULL, NULL, id, NULL, ERR_SYSTEMERROR);
		faults_add(f, &r);
	}
	faults_list(f, &n);
	CHECK(n == 100);
	CHECK(match(f, "sendgroupredpack", "1", "o57", "B", &out) == c + 58);
	faults_free(f);
}

/* The probability draw: the same seed gives the same pattern, about p of
 * the matches win, another seed another pattern. */
static void draws(uint64_t seed, double p, char *pattern, int n)
{
	struct faults *f = faults_new(seed);
	struct fault_rule r = rule(NULL, NULL, NULL, NULL, ERR_SYSTEMERROR);
	r.probability = p;
	faults_add(f, &r);
	for (int i = 0; i < n; i++)
		pattern[i] = match(f, "gethbinfo", "10000098", NULL, "B", NULL) ? '1' : '0';
	pattern[n] = '\0';
	long ones = 0;
	for (int i = 0; i < n; i++)
		ones += pattern[i] == '1';
	CHECK(find(f, 1)->hits == ones); /* only the won draws are hits */
	faults_free(f);
}

static void rules_probability(void)
{
	enum { N = 2000 };
	static char a[N + 1], b[N + 1], c[N + 1];
	int ones = 0;

	draws(42, 0.5, a, N);
	draws(42, 0.5, b, N);
	draws(43, 0.5, c, N);
	CHECK(strcmp(a, b) == 0);
	CHECK(strcmp(a, c) != 0);
	for (int i = 0; i < N; i++)
		ones += a[i] == '1';
	CHECK(ones > N * 0.45 && ones < N * 0.55);
	draws(42, 1.0, a, 100);
	CHECK(strspn(a, "1") == 100);
	draws(7, 0.1, a, N);
	ones = 0;
	for (int i = 0; i < N; i++)
		ones += a[i] == '1';
	CHECK(ones > N * 0.06 && ones < N * 0.14);

	/* A lost draw does not spend a time. */
	{
		struct faults *f = faults_new(5);
		struct fault_rule r = rule(NULL, NULL, NULL, NULL, ERR_SYSTEMERROR);
		int wins = 0;
		r.probability = 0.5;
		r.times = 3;
		faults_add(f, &r);
		for (int i = 0; i < 200; i++)
			wins += match(f, "gethbinfo", "1", NULL, "B", NULL) != 0;
		CHECK(wins == 3);
		CHECK(find(f, 1)->times == 0 && find(f, 1)->hits == 3);
		faults_free(f);
	}
}

static void rules_delay(void)
{
	struct faults *f = faults_new(9), *g = faults_new(9);
	struct fault_rule r = rule(NULL, NULL, NULL, NULL, -1);
	int lo = 1 << 30, hi = -1, same = 1;

	r.transport = FAULT_DELAY;
	r.delay_ms = 250;
	r.delay_max_ms = 250;
	CHECK(faults_delay(f, &r) == 250);
	r.delay_max_ms = 0; /* no range: the fixed delay */
	CHECK(faults_delay(f, &r) == 250);
	r.delay_ms = 100;
	r.delay_max_ms = 200;
	for (int i = 0; i < 2000; i++) {
		int d = faults_delay(f, &r), e = faults_delay(g, &r);
		same &= d == e;
		CHECK(d >= 100 && d <= 200);
		if (d < lo)
			lo = d;
		if (d > hi)
			hi = d;
	}
	CHECK(same); /* seeded: two generators of one seed agree */
	CHECK(lo <= 105 && hi >= 195);
	CHECK(lo == 100 && hi == 200); /* both ends are reachable (2000 draws over 101 values) */
	faults_free(f);
	faults_free(g);
}

static void transport_names(void)
{
	static const char *const names[] = {"none",  "delay",	 "hang",     "reset",
					    "empty", "truncate", "http_503", "html_502"};
	CHECK(FAULT__COUNT == 8);
	for (int i = 0; i < FAULT__COUNT; i++) {
		CHECK_STR(faults_transport_name((enum fault_transport)i), names[i]);
		CHECK(faults_transport_find(names[i]) == i);
	}
	CHECK(faults_transport_find("teleport") == -1);
	CHECK(faults_transport_find("") == -1);
	CHECK(faults_transport_find("DELAY") == -1);
	CHECK(faults_transport_find("http_502") == -1);
}

/* The one decision: magic values before rules, which codes the pipeline
 * answers at once, a 503/502 page as SYSTEMERROR, the delay drawn. */
static void decisions(void)
{
	struct faults *f = faults_new(7);
	struct kvlist p;
	struct fault_decision d;
	struct fault_rule r;

	kvlist_init(&p);
	kvlist_add(&p, "mch_id", "10000098");
	kvlist_add(&p, "re_openid", "oA");
	d = faults_decide(NULL, NULL, &p, "sendgroupredpack", EP_G);
	CHECK(d.rule == 0 && d.err == -1 && !d.answer && d.transport == FAULT_NONE);
	/* HELD codes and PROCESSING are the business rules' to answer. */
	d = faults_decide(f, "NOTENOUGH", &p, "sendgroupredpack", EP_G);
	CHECK(d.err == ERR_NOTENOUGH && !d.answer && d.rule == 0);
	d = faults_decide(f, "PROCESSING", &p, "sendgroupredpack", EP_G);
	CHECK(d.err == ERR_PROCESSING && !d.answer);
	d = faults_decide(f, "SYSTEMERROR", &p, "sendgroupredpack", EP_G);
	CHECK(d.err == ERR_SYSTEMERROR && d.answer);
	d = faults_decide(f, "SUCCESS", &p, "sendgroupredpack", EP_G);
	CHECK(d.err == ERR_SUCCESS && !d.answer);
	/* On gethbinfo every code but SUCCESS is answered at once. */
	d = faults_decide(f, "NO_AUTH", &p, "gethbinfo", EP_Q);
	CHECK(d.err == ERR_NO_AUTH && d.answer);

	r = rule("sendgroupredpack", NULL, NULL, NULL, -1);
	r.transport = FAULT_DELAY;
	r.delay_ms = 100;
	r.delay_max_ms = 200;
	r.times = 1;
	int a = faults_add(f, &r);
	/* A magic value wins: the rule is not spent. */
	d = faults_decide(f, "SYSTEMERROR", &p, "sendgroupredpack", EP_G);
	CHECK(d.rule == 0 && d.transport == FAULT_NONE);
	d = faults_decide(f, NULL, &p, "sendgroupredpack", EP_G);
	CHECK(d.rule == a && d.err == -1 && !d.answer && d.transport == FAULT_DELAY);
	CHECK(d.delay_ms >= 100 && d.delay_ms <= 200);
	r = rule(NULL, NULL, "oA", NULL, -1);
	r.transport = FAULT_HTTP503;
	r.times = 1;
	int b = faults_add(f, &r);
	d = faults_decide(f, NULL, &p, "sendredpack", EP_S);
	CHECK(d.rule == b && d.err == ERR_SYSTEMERROR && d.answer && d.transport == FAULT_HTTP503);
	r = rule(NULL, NULL, "oA", NULL, ERR_PROCESSING);
	r.delay_ms = 1500;
	snprintf(r.settle_to, sizeof(r.settle_to), "FAILED");
	int c = faults_add(f, &r);
	d = faults_decide(f, NULL, &p, "sendredpack", EP_S);
	CHECK(d.rule == c && d.err == ERR_PROCESSING && !d.answer && d.delay_ms == 1500);
	CHECK_STR(d.settle_to, "FAILED");
	/* A code the endpoint does not list is ignored; the rule still applied. */
	d = faults_decide(f, NULL, &p, "gethbinfo", EP_Q);
	CHECK(d.rule == c && d.err == -1 && !d.answer);
	kvlist_release(&p);
	faults_free(f);
}

int main(void)
{
	magic_openid();
	magic_header();
	magic_whole_catalogue();
	rules_matching();
	rules_times_and_removal();
	rules_probability();
	rules_delay();
	transport_names();
	decisions();
	magic_done();
	faults_free(NULL);
	return check_done("test_faults");
}
