/*
 * metrics.c - the merchant API's counters: plain arrays, one increment
 * (or a short bucket search) each.
 */
#include "metrics.h"

static unsigned long answers[ENDPOINT__COUNT][ERR__COUNT];

static const char *const names[ENDPOINT__COUNT] = {
#define ENDPOINT(name, bit, kind, handler) [ENDPOINT_##name] = #name,
#include "endpoints.def"
#undef ENDPOINT
};

static const uint64_t bounds[METRICS_LATENCY_BUCKETS] = {METRICS_LATENCY_BOUNDS};

/* Per bucket, not cumulative; the last is +Inf. */
static uint64_t latency[ENDPOINT__COUNT][METRICS_LATENCY_BUCKETS + 1];
static uint64_t latency_sum[ENDPOINT__COUNT];

static unsigned long tls_refused[TLS_REFUSED__COUNT];
static const char *const tls_names[TLS_REFUSED__COUNT] = {
#define X(id, label) [TLS_REFUSED_##id] = label,
	METRICS_TLS_REASONS(X)
#undef X
};

static int open_conns[2];

/* The front end's loop and the store's (handoff.h) both count; /metrics
 * reads on the store's. Relaxed atomics: each counter on its own. */
#define ADD(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define GET(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)
#define SET(var, v) __atomic_store_n(&(var), (v), __ATOMIC_RELAXED)

void metrics_answer(enum endpoint_id ep, enum err_id err)
{
	ADD(answers[ep][err], 1);
}

unsigned long metrics_answer_count(int ep, enum err_id err)
{
	return ep >= 0 && ep < ENDPOINT__COUNT ? GET(answers[ep][err]) : 0;
}

const char *metrics_endpoint_name(int ep)
{
	return ep >= 0 && ep < ENDPOINT__COUNT ? names[ep] : "";
}

void metrics_latency(enum endpoint_id ep, uint64_t us)
{
	int b = 0;

	while (b < METRICS_LATENCY_BUCKETS && us > bounds[b])
		b++;
	ADD(latency[ep][b], 1);
	ADD(latency_sum[ep], us);
}

uint64_t metrics_latency_bound(int b)
{
	return b >= 0 && b < METRICS_LATENCY_BUCKETS ? bounds[b] : 0;
}

uint64_t metrics_latency_count(int ep, int b)
{
	uint64_t n = 0;

	if (ep < 0 || ep >= ENDPOINT__COUNT || b < 0 || b > METRICS_LATENCY_BUCKETS)
		return 0;
	for (int i = 0; i <= b; i++)
		n += GET(latency[ep][i]);
	return n;
}

uint64_t metrics_latency_sum_us(int ep)
{
	return ep >= 0 && ep < ENDPOINT__COUNT ? GET(latency_sum[ep]) : 0;
}

void metrics_tls_refused(enum metrics_tls_reason why)
{
	ADD(tls_refused[why], 1);
}

unsigned long metrics_tls_refused_count(int why)
{
	return why >= 0 && why < TLS_REFUSED__COUNT ? GET(tls_refused[why]) : 0;
}

const char *metrics_tls_reason_name(int why)
{
	return why >= 0 && why < TLS_REFUSED__COUNT ? tls_names[why] : "";
}

void metrics_connections(int api_open, int admin_open)
{
	SET(open_conns[0], api_open);
	SET(open_conns[1], admin_open);
}

int metrics_connections_open(int admin)
{
	return GET(open_conns[admin != 0]);
}
