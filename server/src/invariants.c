/*
 * invariants.c - invariants as a table of queries; each query returns one
 * text row per violation, naming what is wrong.
 */
#include "invariants.h"

#include <stddef.h>

#include "store.h"

struct invariant {
	const char *name;
	const char *sql;
};

/* clang-format off */
static const struct invariant invariants[] = {
	{"shares_sum_to_total",
	 "SELECT p.mch_id || '/' || p.mch_billno || ': shares sum to ' || x.s || ' in ' || x.n ||"
	 " ' shares, packet says ' || p.total_amount || ' in ' || p.total_num"
	 " FROM packets p JOIN (SELECT packet_id, SUM(amount) AS s, COUNT(*) AS n FROM shares"
	 " GROUP BY packet_id) x ON x.packet_id = p.id"
	 " WHERE x.s != p.total_amount OR x.n != p.total_num"},
	{"share_at_least_one_fen",
	 "SELECT 'packet ' || packet_id || ' share ' || seq || ' is ' || amount || ' fen'"
	 " FROM shares WHERE amount < 1"},
	{"issued_packet_has_shares",
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' without shares' FROM packets p"
	 " WHERE packet_issued(status) AND NOT EXISTS (SELECT 1 FROM shares WHERE packet_id = p.id)"},
	{"unissued_packet_has_no_shares",
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' but has shares' FROM packets p"
	 " WHERE NOT packet_issued(status) AND EXISTS (SELECT 1 FROM shares WHERE packet_id = p.id)"},
	{"status_known",
	 "SELECT mch_id || '/' || mch_billno || ': unknown status ' || status FROM packets"
	 " WHERE NOT packet_status_known(status)"},
	{"issued_packet_debited_once",
	 "SELECT p.mch_id || '/' || p.mch_billno || ': ' || (SELECT COUNT(*) FROM ledger l"
	 " WHERE l.packet_id = p.id AND l.kind = 'send' AND l.amount = -p.total_amount) ||"
	 " ' send debits of -' || p.total_amount FROM packets p WHERE packet_issued(p.status)"
	 " AND (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'send'"
	 " AND l.amount = -p.total_amount) != 1"},
	{"unissued_packet_not_debited",
	 "SELECT p.mch_id || '/' || p.mch_billno || ': ' || p.status || ' but debited' FROM packets p"
	 " WHERE NOT packet_issued(p.status)"
	 " AND EXISTS (SELECT 1 FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'send')"},
	{"send_rows_match_packets",
	 "SELECT 'ledger ' || l.id || ': send of ' || l.amount || ' for packet ' ||"
	 " IFNULL(l.packet_id, 'NULL') FROM ledger l LEFT JOIN packets p ON p.id = l.packet_id"
	 " WHERE l.kind = 'send' AND (p.id IS NULL OR p.mch_id != l.mch_id OR l.amount >= 0)"},
	{"balance_equals_ledger",
	 "SELECT m.mch_id || ': balance ' || m.balance || ', ledger sums to ' || IFNULL(l.s, 0)"
	 " FROM merchants m LEFT JOIN (SELECT mch_id, SUM(amount) AS s FROM ledger GROUP BY mch_id)"
	 " l ON l.mch_id = m.mch_id WHERE m.balance != IFNULL(l.s, 0)"},
	{"balance_not_negative",
	 "SELECT mch_id || ': balance ' || balance FROM merchants WHERE balance < 0"},
	{"send_listid_present",
	 "SELECT mch_id || '/' || mch_billno || ': no send_listid' FROM packets"
	 " WHERE send_listid IS NULL OR length(send_listid) != 31"},
	{"held_packet_has_reason",
	 "SELECT mch_id || '/' || mch_billno || ': SENDING with err_code but no reason' FROM packets"
	 " WHERE status = 'SENDING' AND err_code IS NOT NULL AND (reason IS NULL OR reason = '')"},
	{"received_iff_all_opened",
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' with ' ||"
	 " (SELECT COUNT(*) FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL) ||"
	 " ' unopened share(s)' FROM packets p WHERE (status = 'RECEIVED' AND EXISTS (SELECT 1 FROM"
	 " shares s WHERE s.packet_id = p.id AND s.openid IS NULL)) OR (status = 'SENT' AND NOT"
	 " EXISTS (SELECT 1 FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL))"},
	{"opened_share_complete",
	 "SELECT 'packet ' || packet_id || ' share ' || seq || ': openid and rcv_time disagree'"
	 " FROM shares WHERE (openid IS NULL) != (rcv_time IS NULL)"},
	{"shares_opened_in_order",
	 "SELECT 'packet ' || a.packet_id || ': share ' || a.seq || ' opened before share ' || b.seq"
	 " FROM shares a JOIN shares b ON a.packet_id = b.packet_id AND b.seq < a.seq"
	 " WHERE a.openid IS NOT NULL AND b.openid IS NULL"},
	{"seed_user_opens_first",
	 "SELECT p.mch_id || '/' || p.mch_billno || ': first share opened by ' || s.openid"
	 " FROM shares s JOIN packets p ON p.id = s.packet_id"
	 " WHERE s.seq = 0 AND s.openid IS NOT NULL AND s.openid != p.re_openid"},
	{"one_share_per_opener",
	 "SELECT 'packet ' || packet_id || ': ' || openid || ' opened ' || COUNT(*) || ' shares'"
	 " FROM shares WHERE openid IS NOT NULL GROUP BY packet_id, openid HAVING COUNT(*) > 1"},
	{"refund_is_unopened_rest",
	 "SELECT p.mch_id || '/' || p.mch_billno || ': refund_amount ' || IFNULL(p.refund_amount, 'NULL')"
	 " || ', unopened ' || (SELECT IFNULL(SUM(amount), 0) FROM shares s WHERE s.packet_id = p.id"
	 " AND s.openid IS NULL) FROM packets p WHERE p.status = 'REFUND' AND (p.refund_amount IS NULL"
	 " OR p.refund_time IS NULL OR p.refund_amount != (SELECT IFNULL(SUM(amount), 0) FROM shares s"
	 " WHERE s.packet_id = p.id AND s.openid IS NULL))"},
	{"refund_credited_once",
	 "SELECT p.mch_id || '/' || p.mch_billno || ': refund rows sum to ' ||"
	 " (SELECT IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund')"
	 " || ' in ' || (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund')"
	 " || ' rows, status ' || p.status || ' refund_amount ' || IFNULL(p.refund_amount, 'NULL')"
	 " FROM packets p WHERE (SELECT IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id"
	 " AND l.kind = 'refund') != (CASE WHEN p.status = 'REFUND' THEN p.refund_amount ELSE 0 END)"
	 " OR (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund') > 1"},
	{"refund_fields_only_when_refunded",
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' with refund fields' FROM packets"
	 " WHERE status != 'REFUND' AND (refund_time IS NOT NULL OR refund_amount IS NOT NULL)"},
	{"no_orphan_shares",
	 "SELECT 'share of missing packet ' || packet_id FROM shares"
	 " WHERE packet_id NOT IN (SELECT id FROM packets)"},
	{"no_orphan_ledger",
	 "SELECT 'ledger ' || id || ' of missing merchant ' || mch_id FROM ledger"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"},
	{"no_orphan_packets",
	 "SELECT mch_id || '/' || mch_billno || ': merchant missing' FROM packets"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"},
	{"no_orphan_apps",
	 "SELECT 'app ' || appid || ' of missing merchant ' || mch_id FROM apps"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"},
	/* The running counters the limits read equal the rows they summarise. */
	{"merchant_day_counter",
	 "WITH r(mch_id, day, amount) AS (" STORE_DAY_MERCHANT_SQL ")"
	 " SELECT 'day_merchant ' || mch_id || ' day ' || day || ': counter ' || IFNULL(kept, 'none')"
	 " || ', rows ' || IFNULL(real, 'none') FROM (SELECT r.mch_id AS mch_id, r.day AS day,"
	 " r.amount AS real, d.amount AS kept FROM r LEFT JOIN day_merchant d USING (mch_id, day)"
	 " UNION SELECT d.mch_id, d.day, r.amount, d.amount FROM day_merchant d LEFT JOIN r"
	 " USING (mch_id, day)) WHERE real IS NOT kept"},
	{"user_day_counter",
	 "WITH r(mch_id, openid, day, count, amount) AS (" STORE_DAY_USER_SQL ")"
	 " SELECT 'day_user ' || mch_id || '/' || openid || ' day ' || day || ': counter ' ||"
	 " IFNULL(kc || '/' || ka, 'none') || ', rows ' || IFNULL(rc || '/' || ra, 'none') FROM"
	 " (SELECT r.mch_id AS mch_id, r.openid AS openid, r.day AS day, r.count AS rc,"
	 " r.amount AS ra, d.count AS kc, d.amount AS ka FROM r LEFT JOIN day_user d"
	 " USING (mch_id, openid, day) UNION SELECT d.mch_id, d.openid, d.day, r.count, r.amount,"
	 " d.count, d.amount FROM day_user d LEFT JOIN r USING (mch_id, openid, day))"
	 " WHERE rc IS NOT kc OR ra IS NOT ka"},
	{"status_counter",
	 "WITH r(mch_id, status, n) AS (" STORE_STATUS_COUNT_SQL ")"
	 " SELECT 'status_count ' || mch_id || ' ' || status || ': counter ' || IFNULL(kept, 'none')"
	 " || ', packets ' || IFNULL(real, 0) FROM (SELECT r.mch_id AS mch_id, r.status AS status,"
	 " r.n AS real, c.n AS kept FROM r LEFT JOIN status_count c USING (mch_id, status)"
	 " UNION SELECT c.mch_id, c.status, r.n, c.n FROM status_count c LEFT JOIN r"
	 " USING (mch_id, status)) WHERE IFNULL(real, 0) != IFNULL(kept, 0)"},
	{"rate_counter",
	 "SELECT 'rate_second ' || r.mch_id || ' at ' || r.second || ': counter ' || r.count ||"
	 " ', orders created ' || (SELECT COUNT(*) FROM packets p WHERE p.mch_id = r.mch_id"
	 " AND p.created_at = r.second) FROM rate_second r WHERE r.count != (SELECT COUNT(*)"
	 " FROM packets p WHERE p.mch_id = r.mch_id AND p.created_at = r.second)"},
};
/* clang-format on */

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
		int n = store_each_text(s, invariants[i].sql, on_row, &r);
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
