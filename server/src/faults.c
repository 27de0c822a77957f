/*
 * faults.c - magic values.
 */
#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* The code named by text[0..len), if the catalogue lists it for ep. */
static int lookup(const char *text, size_t len, enum err_endpoint ep)
{
	for (int i = 0; i < ERR__COUNT; i++) {
		const struct err_info *e = errors_info((enum err_id)i);
		if (strlen(e->code) == len && strncmp(e->code, text, len) == 0)
			return (e->endpoints & ep) ? i : -1;
	}
	return -1;
}

int faults_magic(const char *header, const struct kvlist *params, enum err_endpoint ep,
		 const char **ignored)
{
	const char *openid = kvlist_get(params, "re_openid");
	int id;

	*ignored = NULL;
	if (header && *header) {
		id = lookup(header, strlen(header), ep);
		if (id < 0)
			*ignored = header;
		return id;
	}
	if (ep != EP_Q &&
	    strncmp(openid, FAULTS_OPENID_PREFIX, strlen(FAULTS_OPENID_PREFIX)) == 0) {
		const char *code = openid + strlen(FAULTS_OPENID_PREFIX);
		id = lookup(code, strcspn(code, "-"), ep);
		if (id < 0)
			*ignored = openid;
		return id;
	}
	return -1;
}

/* ---- fault rules ------------------------------------------------------- */

struct faults {
	struct fault_rule *rules;
	size_t count, cap;
	int next_id;
	uint64_t state; /* splitmix64: seeded, so runs repeat */
};

static const char *const transport_names[FAULT__COUNT] = {
	[FAULT_NONE] = "none",	      [FAULT_DELAY] = "delay",	 [FAULT_HANG] = "hang",
	[FAULT_RESET] = "reset",      [FAULT_EMPTY] = "empty",	 [FAULT_TRUNCATE] = "truncate",
	[FAULT_HTTP503] = "http_503", [FAULT_HTML] = "html_502",
};

const char *faults_transport_name(enum fault_transport t)
{
	return transport_names[t];
}

int faults_transport_find(const char *name)
{
	for (int i = 0; i < FAULT__COUNT; i++)
		if (strcmp(transport_names[i], name) == 0)
			return i;
	return -1;
}

static uint64_t next(struct faults *f)
{
	uint64_t z = (f->state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

struct faults *faults_new(uint64_t seed)
{
	struct faults *f = xcalloc(1, sizeof(*f));
	f->state = seed ^ 0x6661756c74730000ULL; /* apart from the split's stream */
	f->next_id = 1;
	return f;
}

void faults_free(struct faults *f)
{
	if (!f)
		return;
	free(f->rules);
	free(f);
}

int faults_add(struct faults *f, const struct fault_rule *rule)
{
	if (f->count == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->rules = xrealloc(f->rules, f->cap * sizeof(*f->rules));
	}
	f->rules[f->count] = *rule;
	f->rules[f->count].id = f->next_id++;
	f->rules[f->count].hits = 0;
	return f->rules[f->count++].id;
}

int faults_remove(struct faults *f, int id)
{
	if (id == -1) {
		f->count = 0;
		return 0;
	}
	for (size_t i = 0; i < f->count; i++) {
		if (f->rules[i].id != id)
			continue;
		memmove(&f->rules[i], &f->rules[i + 1], (f->count - i - 1) * sizeof(*f->rules));
		f->count--;
		return 0;
	}
	return -1;
}

const struct fault_rule *faults_list(const struct faults *f, size_t *count)
{
	*count = f->count;
	return f->rules;
}

static int field_matches(const char *want, const struct kvlist *params, const char *name)
{
	return !want[0] || strcmp(want, kvlist_get(params, name)) == 0;
}

int faults_match(struct faults *f, const char *api, const struct kvlist *params,
		 struct fault_rule *out)
{
	for (size_t i = 0; i < f->count; i++) {
		struct fault_rule *r = &f->rules[i];
		if (r->times == 0 || (r->api[0] && strcmp(r->api, api) != 0) ||
		    !field_matches(r->mch_id, params, "mch_id") ||
		    !field_matches(r->re_openid, params, "re_openid") ||
		    !field_matches(r->mch_billno, params, "mch_billno"))
			continue;
		if (r->probability < 1.0 &&
		    (double)(next(f) >> 11) / 9007199254740992.0 >= r->probability)
			continue;
		r->hits++;
		if (r->times > 0)
			r->times--;
		*out = *r;
		return 1;
	}
	return 0;
}

int faults_delay(struct faults *f, const struct fault_rule *r)
{
	if (r->delay_max_ms <= r->delay_ms)
		return r->delay_ms;
	return r->delay_ms + (int)(next(f) % (uint64_t)(r->delay_max_ms - r->delay_ms + 1));
}

/* ---- the decision ------------------------------------------------------ */

/* A code the pipeline answers by itself; the business rules answer the
 * ones that leave an order (HELD codes and PROCESSING) on the send
 * endpoints. SUCCESS asks for nothing. */
static int answered_at_once(int err, enum err_endpoint ep)
{
	const struct err_info *e = errors_info((enum err_id)err);
	if (ep == EP_Q || err == ERR_SUCCESS)
		return err != ERR_SUCCESS;
	return !(e->order == ORDER_HELD || err == ERR_PROCESSING);
}

struct fault_decision faults_decide(struct faults *f, const char *header,
				    const struct kvlist *params, const char *api,
				    enum err_endpoint ep)
{
	struct fault_decision d = {0, -1, 0, FAULT_NONE, 0, ""};
	struct fault_rule rule;
	const char *ignored = NULL;

	d.err = faults_magic(header, params, ep, &ignored);
	if (ignored)
		log_warn("magic value \"%.40s\" names no err_code of %s; ignored", ignored, api);
	if (d.err < 0 && f && faults_match(f, api, params, &rule)) {
		log_info("fault rule %d applies (%s%s%s)", rule.id,
			 rule.err >= 0 ? errors_info((enum err_id)rule.err)->code : "",
			 rule.err >= 0 && rule.transport != FAULT_NONE ? ", " : "",
			 rule.transport != FAULT_NONE ? faults_transport_name(rule.transport) : "");
		/* Like a magic value, a code the endpoint does not list is ignored. */
		if (rule.err >= 0 && !(errors_info((enum err_id)rule.err)->endpoints & ep)) {
			log_warn("fault rule %d: %s is not a code of %s; ignored", rule.id,
				 errors_info((enum err_id)rule.err)->code, api);
			rule.err = -1;
		}
		d.rule = rule.id;
		d.err = rule.err;
		d.transport = rule.transport;
		d.delay_ms = rule.transport == FAULT_DELAY ? faults_delay(f, &rule) : rule.delay_ms;
		snprintf(d.settle_to, sizeof(d.settle_to), "%s", rule.settle_to);
		if (rule.transport == FAULT_HTTP503 || rule.transport == FAULT_HTML) {
			/* The front end failed: the backend never saw the request. */
			d.err = ERR_SYSTEMERROR;
			d.answer = 1;
			return d;
		}
	}
	d.answer = d.err >= 0 && answered_at_once(d.err, ep);
	return d;
}
