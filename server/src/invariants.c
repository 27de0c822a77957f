/*
 * invariants.c - the invariants by name, each a check of the store
 * (store_check: the query lives in store.c, beside the schema it reads),
 * which reports one text per violation, naming what is wrong.
 */
#include "invariants.h"

#include <stddef.h>

#include "store.h"

struct invariant {
	const char *name;
	enum store_check check; /* its query, in store.c */
};

static const struct invariant invariants[] = {
	{"shares_sum_to_total", STORE_CHECK_SHARES_SUM_TO_TOTAL},
	{"share_at_least_one_fen", STORE_CHECK_SHARE_AT_LEAST_ONE_FEN},
	{"issued_packet_has_shares", STORE_CHECK_ISSUED_PACKET_HAS_SHARES},
	{"unissued_packet_has_no_shares", STORE_CHECK_UNISSUED_PACKET_HAS_NO_SHARES},
	{"status_known", STORE_CHECK_STATUS_KNOWN},
	{"issued_packet_debited_once", STORE_CHECK_ISSUED_PACKET_DEBITED_ONCE},
	{"unissued_packet_not_debited", STORE_CHECK_UNISSUED_PACKET_NOT_DEBITED},
	{"send_rows_match_packets", STORE_CHECK_SEND_ROWS_MATCH_PACKETS},
	{"balance_equals_ledger", STORE_CHECK_BALANCE_EQUALS_LEDGER},
	{"balance_not_negative", STORE_CHECK_BALANCE_NOT_NEGATIVE},
	{"send_listid_present", STORE_CHECK_SEND_LISTID_PRESENT},
	{"held_packet_has_reason", STORE_CHECK_HELD_PACKET_HAS_REASON},
	{"received_iff_all_opened", STORE_CHECK_RECEIVED_IFF_ALL_OPENED},
	{"opened_share_complete", STORE_CHECK_OPENED_SHARE_COMPLETE},
	{"shares_opened_in_order", STORE_CHECK_SHARES_OPENED_IN_ORDER},
	{"seed_user_opens_first", STORE_CHECK_SEED_USER_OPENS_FIRST},
	{"one_share_per_opener", STORE_CHECK_ONE_SHARE_PER_OPENER},
	{"refund_is_unopened_rest", STORE_CHECK_REFUND_IS_UNOPENED_REST},
	{"refund_credited_once", STORE_CHECK_REFUND_CREDITED_ONCE},
	{"refund_fields_only_when_refunded", STORE_CHECK_REFUND_FIELDS_ONLY_WHEN_REFUNDED},
	{"no_orphan_shares", STORE_CHECK_NO_ORPHAN_SHARES},
	{"no_orphan_ledger", STORE_CHECK_NO_ORPHAN_LEDGER},
	{"no_orphan_packets", STORE_CHECK_NO_ORPHAN_PACKETS},
	{"no_orphan_apps", STORE_CHECK_NO_ORPHAN_APPS},
	/* The running counters the limits read equal the rows they summarise. */
	{"merchant_day_counter", STORE_CHECK_MERCHANT_DAY_COUNTER},
	{"user_day_counter", STORE_CHECK_USER_DAY_COUNTER},
	{"status_counter", STORE_CHECK_STATUS_COUNTER},
	{"rate_counter", STORE_CHECK_RATE_COUNTER},
};

_Static_assert(sizeof(invariants) / sizeof(invariants[0]) == STORE_CHECK__COUNT,
	       "every store check is named here");

struct run {
	const char *name;
	invariants_violation_fn fn;
	void *arg;
};

static void on_row(void *arg, const char *text)
{
	struct run *r = arg;
	r->fn(r->arg, r->name, text);
}

/* Every query in order; the caller holds the read transaction. */
static int run_all(struct store *s, invariants_violation_fn on_violation, void *arg, int *checked)
{
	int total = 0;

	*checked = 0;
	for (size_t i = 0; i < sizeof(invariants) / sizeof(invariants[0]); i++) {
		struct run r = {invariants[i].name, on_violation, arg};
		int n = store_check(s, invariants[i].check, on_row, &r);
		if (n < 0)
			return -1;
		total += n;
		(*checked)++;
	}
	return total;
}

int invariants_run(struct store *s, invariants_violation_fn on_violation, void *arg, int *checked)
{
	int n;

	*checked = 0;
	if (store_begin(s) != 0)
		return -1;
	n = run_all(s, on_violation, arg, checked);
	store_rollback(s); /* read only */
	return n;
}

int invariants_run_reader(struct store *reader, invariants_violation_fn on_violation, void *arg,
			  int *checked)
{
	return run_all(reader, on_violation, arg, checked);
}
