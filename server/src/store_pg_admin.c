/*
 * store_pg_admin.c - the PostgreSQL store off the request path: wipes,
 * the counters rebuilt, a merchant's reset in slices and the invariant
 * checks, with their statements (registered by store_pg.c after its own).
 * The contracts are store.h's; store.c's SQL is the reference.
 */
#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The running counters recomputed from the rows they summarise, as in
 * store.c (DAY_MERCHANT_SQL, DAY_USER_SQL, STATUS_COUNT_SQL). */
#define DAY_MERCHANT_SQL                                                                           \
	"SELECT mch_id, (send_time + 28800) / 86400, SUM(total_amount) FROM packets"               \
	" WHERE send_time > 0 AND packet_issued(status) GROUP BY 1, 2"
#define DAY_USER_SQL                                                                               \
	"SELECT mch_id, openid, day, SUM(c), SUM(a) FROM ("                                        \
	"SELECT p.mch_id AS mch_id, p.re_openid AS openid,"                                        \
	" (p.send_time + 28800) / 86400 AS day, 1 AS c, CASE p.hb_type WHEN 'NORMAL'"              \
	" THEN p.total_amount ELSE COALESCE((SELECT s.amount FROM shares s"                        \
	" WHERE s.packet_id = p.id AND s.seq = 0), 0) END AS a FROM packets p"                     \
	" WHERE p.send_time > 0 AND packet_issued(p.status)"                                       \
	" UNION ALL SELECT p.mch_id, s.openid, (s.rcv_time + 28800) / 86400, 1, s.amount"          \
	" FROM shares s JOIN packets p ON p.id = s.packet_id"                                      \
	" WHERE s.openid IS NOT NULL AND s.openid <> p.re_openid) x GROUP BY 1, 2, 3"
#define STATUS_COUNT_SQL "SELECT mch_id, status, COUNT(*) FROM packets GROUP BY 1, 2"

/* clang-format off */
const char *const pgstore_admin_sql[PGA__COUNT] = {
	/* store_wipe: children before parents. */
	[PGA_WIPE_ALL + 0] = "DELETE FROM shares",
	[PGA_WIPE_ALL + 1] = "DELETE FROM ledger",
	[PGA_WIPE_ALL + 2] = "DELETE FROM packets",
	[PGA_WIPE_ALL + 3] = "DELETE FROM apps",
	[PGA_WIPE_ALL + 4] = "DELETE FROM scenes",
	[PGA_WIPE_ALL + 5] = "DELETE FROM users",
	[PGA_WIPE_ALL + 6] = "DELETE FROM merchants",
	[PGA_WIPE_ALL + 7] = "DELETE FROM rate_second",
	[PGA_WIPE_ALL + 8] = "DELETE FROM day_merchant",
	[PGA_WIPE_ALL + 9] = "DELETE FROM day_user",
	[PGA_WIPE_ALL + 10] = "DELETE FROM status_count",
	[PGA_WIPE_ONE + 0] =
	 "DELETE FROM shares WHERE packet_id IN (SELECT id FROM packets WHERE mch_id = $1)",
	[PGA_WIPE_ONE + 1] = "DELETE FROM ledger WHERE packet_id IN"
			     " (SELECT id FROM packets WHERE mch_id = $1)"
			     " OR (packet_id IS NULL AND mch_id = $1)",
	[PGA_WIPE_ONE + 2] = "DELETE FROM packets WHERE mch_id = $1",
	[PGA_WIPE_ONE + 3] = "DELETE FROM apps WHERE mch_id = $1",
	[PGA_WIPE_ONE + 4] = "DELETE FROM scenes WHERE mch_id = $1",
	[PGA_WIPE_ONE + 5] = "DELETE FROM merchants WHERE mch_id = $1",
	[PGA_WIPE_ONE + 6] = "DELETE FROM rate_second WHERE mch_id = $1",
	[PGA_WIPE_ONE + 7] = "DELETE FROM day_merchant WHERE mch_id = $1",
	[PGA_WIPE_ONE + 8] = "DELETE FROM day_user WHERE mch_id = $1",
	[PGA_WIPE_ONE + 9] = "DELETE FROM status_count WHERE mch_id = $1",
	/* store_counters_rebuild: the rate keeps, as the sends' pruning does,
	 * the two minutes up to each merchant's newest order. */
	[PGA_REBUILD + 0] = "DELETE FROM rate_second",
	[PGA_REBUILD + 1] = "DELETE FROM day_merchant",
	[PGA_REBUILD + 2] = "DELETE FROM day_user",
	[PGA_REBUILD + 3] = "DELETE FROM status_count",
	[PGA_REBUILD + 4] =
	 "WITH last(mch_id, t) AS (SELECT mch_id, MAX(created_at) FROM packets GROUP BY 1)"
	 " INSERT INTO rate_second SELECT p.mch_id, p.created_at, COUNT(*) FROM packets p"
	 " JOIN last l ON l.mch_id = p.mch_id WHERE p.created_at >= l.t - 120 GROUP BY 1, 2",
	[PGA_REBUILD + 5] = "INSERT INTO day_merchant " DAY_MERCHANT_SQL,
	[PGA_REBUILD + 6] = "INSERT INTO day_user " DAY_USER_SQL,
	[PGA_REBUILD + 7] = "INSERT INTO status_count " STATUS_COUNT_SQL,
	/* One slice of a merchant's reset (reset_slice below says which
	 * parameters each takes). */
	[PGA_RESET + 0] = "SELECT id FROM packets WHERE mch_id = $1 ORDER BY mch_billno LIMIT $2::bigint",
	[PGA_RESET + 1] =
	 "UPDATE status_count c SET n = c.n - g.k FROM (SELECT status, COUNT(*) AS k FROM packets"
	 " WHERE id = ANY ($2::bigint[]) GROUP BY status) g WHERE c.mch_id = $1 AND c.status = g.status",
	[PGA_RESET + 2] =
	 "UPDATE rate_second r SET count = r.count - g.k FROM (SELECT created_at, COUNT(*) AS k"
	 " FROM packets WHERE id = ANY ($2::bigint[]) GROUP BY created_at) g"
	 " WHERE r.mch_id = $1 AND r.second = g.created_at",
	[PGA_RESET + 3] = "DELETE FROM rate_second WHERE mch_id = $1 AND count = 0",
	[PGA_RESET + 4] =
	 "UPDATE day_merchant d SET amount = d.amount - g.a FROM (SELECT (send_time + 28800) / 86400"
	 " AS day, SUM(total_amount) AS a FROM packets WHERE id = ANY ($2::bigint[])"
	 " AND send_time > 0 AND packet_issued(status) GROUP BY 1) g"
	 " WHERE d.mch_id = $1 AND d.day = g.day",
	[PGA_RESET + 5] = "DELETE FROM day_merchant WHERE mch_id = $1 AND amount = 0",
	[PGA_RESET + 6] =
	 "WITH gone(openid, day, c, a) AS (SELECT openid, day, SUM(c), SUM(a) FROM ("
	 " SELECT p.re_openid AS openid, (p.send_time + 28800) / 86400 AS day, 1 AS c,"
	 " CASE p.hb_type WHEN 'NORMAL' THEN p.total_amount ELSE COALESCE((SELECT s.amount"
	 " FROM shares s WHERE s.packet_id = p.id AND s.seq = 0), 0) END AS a"
	 " FROM packets p WHERE p.id = ANY ($2::bigint[]) AND p.send_time > 0"
	 " AND packet_issued(p.status)"
	 " UNION ALL SELECT s.openid, (s.rcv_time + 28800) / 86400, 1, s.amount"
	 " FROM packets p JOIN shares s ON s.packet_id = p.id WHERE p.id = ANY ($2::bigint[])"
	 " AND s.openid IS NOT NULL AND s.openid <> p.re_openid) x GROUP BY 1, 2)"
	 " UPDATE day_user SET count = day_user.count - g.c, amount = day_user.amount - g.a"
	 " FROM gone g WHERE day_user.mch_id = $1 AND day_user.openid = g.openid"
	 " AND day_user.day = g.day",
	[PGA_RESET + 7] = "DELETE FROM day_user WHERE mch_id = $1 AND count = 0 AND amount = 0",
	[PGA_RESET + 8] =
	 "UPDATE merchants m SET balance = m.balance - g.a FROM (SELECT mch_id, SUM(amount) AS a"
	 " FROM ledger WHERE packet_id = ANY ($1::bigint[]) GROUP BY mch_id) g"
	 " WHERE m.mch_id = g.mch_id",
	[PGA_RESET + 9] = "DELETE FROM ledger WHERE packet_id = ANY ($1::bigint[])",
	[PGA_RESET + 10] = "DELETE FROM shares WHERE packet_id = ANY ($1::bigint[])",
	[PGA_RESET + 11] = "DELETE FROM packets WHERE id = ANY ($1::bigint[])",
	/* The invariant checks: store.c's queries with PostgreSQL's
	 * spellings (COALESCE, IS DISTINCT FROM, a name for every subquery,
	 * a number cast to text before COALESCE gives a text instead). */
	[PGA_CHECK + STORE_CHECK_SHARES_SUM_TO_TOTAL] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': shares sum to ' || x.s || ' in ' || x.n ||"
	 " ' shares, packet says ' || p.total_amount || ' in ' || p.total_num"
	 " FROM packets p JOIN (SELECT packet_id, SUM(amount) AS s, COUNT(*) AS n FROM shares"
	 " GROUP BY packet_id) x ON x.packet_id = p.id"
	 " WHERE x.s <> p.total_amount OR x.n <> p.total_num",
	[PGA_CHECK + STORE_CHECK_SHARE_AT_LEAST_ONE_FEN] =
	 "SELECT 'packet ' || packet_id || ' share ' || seq || ' is ' || amount || ' fen'"
	 " FROM shares WHERE amount < 1",
	[PGA_CHECK + STORE_CHECK_ISSUED_PACKET_HAS_SHARES] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' without shares' FROM packets p"
	 " WHERE packet_issued(status) AND NOT EXISTS (SELECT 1 FROM shares WHERE packet_id = p.id)",
	[PGA_CHECK + STORE_CHECK_UNISSUED_PACKET_HAS_NO_SHARES] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' but has shares' FROM packets p"
	 " WHERE NOT packet_issued(status) AND EXISTS (SELECT 1 FROM shares WHERE packet_id = p.id)",
	[PGA_CHECK + STORE_CHECK_STATUS_KNOWN] =
	 "SELECT mch_id || '/' || mch_billno || ': unknown status ' || status FROM packets"
	 " WHERE NOT packet_status_known(status)",
	[PGA_CHECK + STORE_CHECK_ISSUED_PACKET_DEBITED_ONCE] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': ' || (SELECT COUNT(*) FROM ledger l"
	 " WHERE l.packet_id = p.id AND l.kind = 'send' AND l.amount = -p.total_amount) ||"
	 " ' send debits of -' || p.total_amount FROM packets p WHERE packet_issued(p.status)"
	 " AND (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'send'"
	 " AND l.amount = -p.total_amount) <> 1",
	[PGA_CHECK + STORE_CHECK_UNISSUED_PACKET_NOT_DEBITED] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': ' || p.status || ' but debited' FROM packets p"
	 " WHERE NOT packet_issued(p.status)"
	 " AND EXISTS (SELECT 1 FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'send')",
	[PGA_CHECK + STORE_CHECK_SEND_ROWS_MATCH_PACKETS] =
	 "SELECT 'ledger ' || l.id || ': send of ' || l.amount || ' for packet ' ||"
	 " COALESCE(l.packet_id::text, 'NULL') FROM ledger l LEFT JOIN packets p ON p.id = l.packet_id"
	 " WHERE l.kind = 'send' AND (p.id IS NULL OR p.mch_id <> l.mch_id OR l.amount >= 0)",
	[PGA_CHECK + STORE_CHECK_BALANCE_EQUALS_LEDGER] =
	 "SELECT m.mch_id || ': balance ' || m.balance || ', ledger sums to ' || COALESCE(l.s, 0)"
	 " FROM merchants m LEFT JOIN (SELECT mch_id, SUM(amount) AS s FROM ledger GROUP BY mch_id)"
	 " l ON l.mch_id = m.mch_id WHERE m.balance <> COALESCE(l.s, 0)",
	[PGA_CHECK + STORE_CHECK_BALANCE_NOT_NEGATIVE] =
	 "SELECT mch_id || ': balance ' || balance FROM merchants WHERE balance < 0",
	[PGA_CHECK + STORE_CHECK_SEND_LISTID_PRESENT] =
	 "SELECT mch_id || '/' || mch_billno || ': no send_listid' FROM packets"
	 " WHERE send_listid IS NULL OR length(send_listid) <> 31",
	[PGA_CHECK + STORE_CHECK_HELD_PACKET_HAS_REASON] =
	 "SELECT mch_id || '/' || mch_billno || ': SENDING with err_code but no reason' FROM packets"
	 " WHERE status = 'SENDING' AND err_code IS NOT NULL AND (reason IS NULL OR reason = '')",
	[PGA_CHECK + STORE_CHECK_RECEIVED_IFF_ALL_OPENED] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' with ' ||"
	 " (SELECT COUNT(*) FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL) ||"
	 " ' unopened share(s)' FROM packets p WHERE (status = 'RECEIVED' AND EXISTS (SELECT 1 FROM"
	 " shares s WHERE s.packet_id = p.id AND s.openid IS NULL)) OR (status = 'SENT' AND NOT"
	 " EXISTS (SELECT 1 FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL))",
	[PGA_CHECK + STORE_CHECK_OPENED_SHARE_COMPLETE] =
	 "SELECT 'packet ' || packet_id || ' share ' || seq || ': openid and rcv_time disagree'"
	 " FROM shares WHERE (openid IS NULL) <> (rcv_time IS NULL)",
	[PGA_CHECK + STORE_CHECK_SHARES_OPENED_IN_ORDER] =
	 "SELECT 'packet ' || a.packet_id || ': share ' || a.seq || ' opened before share ' || b.seq"
	 " FROM shares a JOIN shares b ON a.packet_id = b.packet_id AND b.seq < a.seq"
	 " WHERE a.openid IS NOT NULL AND b.openid IS NULL",
	[PGA_CHECK + STORE_CHECK_SEED_USER_OPENS_FIRST] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': first share opened by ' || s.openid"
	 " FROM shares s JOIN packets p ON p.id = s.packet_id"
	 " WHERE s.seq = 0 AND s.openid IS NOT NULL AND s.openid <> p.re_openid",
	[PGA_CHECK + STORE_CHECK_ONE_SHARE_PER_OPENER] =
	 "SELECT 'packet ' || packet_id || ': ' || openid || ' opened ' || COUNT(*) || ' shares'"
	 " FROM shares WHERE openid IS NOT NULL GROUP BY packet_id, openid HAVING COUNT(*) > 1",
	[PGA_CHECK + STORE_CHECK_REFUND_IS_UNOPENED_REST] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': refund_amount ' ||"
	 " COALESCE(p.refund_amount::text, 'NULL') || ', unopened ' || (SELECT COALESCE(SUM(amount), 0)"
	 " FROM shares s WHERE s.packet_id = p.id AND s.openid IS NULL) FROM packets p"
	 " WHERE p.status = 'REFUND' AND (p.refund_amount IS NULL OR p.refund_time IS NULL"
	 " OR p.refund_amount <> (SELECT COALESCE(SUM(amount), 0) FROM shares s"
	 " WHERE s.packet_id = p.id AND s.openid IS NULL))",
	[PGA_CHECK + STORE_CHECK_REFUND_CREDITED_ONCE] =
	 "SELECT p.mch_id || '/' || p.mch_billno || ': refund rows sum to ' ||"
	 " (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id"
	 " AND l.kind = 'refund') || ' in ' || (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id"
	 " AND l.kind = 'refund') || ' rows, status ' || p.status || ' refund_amount ' ||"
	 " COALESCE(p.refund_amount::text, 'NULL') FROM packets p"
	 " WHERE (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id"
	 " AND l.kind = 'refund') <> (CASE WHEN p.status = 'REFUND' THEN p.refund_amount ELSE 0 END)"
	 " OR (SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund') > 1",
	[PGA_CHECK + STORE_CHECK_REFUND_FIELDS_ONLY_WHEN_REFUNDED] =
	 "SELECT mch_id || '/' || mch_billno || ': ' || status || ' with refund fields' FROM packets"
	 " WHERE status <> 'REFUND' AND (refund_time IS NOT NULL OR refund_amount IS NOT NULL)",
	[PGA_CHECK + STORE_CHECK_NO_ORPHAN_SHARES] =
	 /* NOT EXISTS, not NOT IN: past work_mem PostgreSQL runs a NOT IN's
	  * subquery once per row (3 million shares times 1 million packets). */
	 "SELECT 'share of missing packet ' || s.packet_id FROM shares s"
	 " WHERE NOT EXISTS (SELECT 1 FROM packets p WHERE p.id = s.packet_id)",
	[PGA_CHECK + STORE_CHECK_NO_ORPHAN_LEDGER] =
	 "SELECT 'ledger ' || id || ' of missing merchant ' || mch_id FROM ledger"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"
	 " UNION ALL SELECT 'ledger ' || l.id || ' of missing packet ' || l.packet_id FROM ledger l"
	 " WHERE l.packet_id IS NOT NULL"
	 " AND NOT EXISTS (SELECT 1 FROM packets p WHERE p.id = l.packet_id)",
	[PGA_CHECK + STORE_CHECK_NO_ORPHAN_PACKETS] =
	 "SELECT mch_id || '/' || mch_billno || ': merchant missing' FROM packets"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)",
	[PGA_CHECK + STORE_CHECK_NO_ORPHAN_APPS] =
	 "SELECT 'app ' || appid || ' of missing merchant ' || mch_id FROM apps"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)"
	 " UNION ALL SELECT 'scene ' || scene_id || ' of missing merchant ' || mch_id FROM scenes"
	 " WHERE mch_id NOT IN (SELECT mch_id FROM merchants)",
	/* The running counters the limits read equal the rows they summarise. */
	[PGA_CHECK + STORE_CHECK_MERCHANT_DAY_COUNTER] =
	 "WITH r(mch_id, day, amount) AS (" DAY_MERCHANT_SQL ")"
	 " SELECT 'day_merchant ' || mch_id || ' day ' || day || ': counter ' ||"
	 " COALESCE(kept::text, 'none') || ', rows ' || COALESCE(actual::text, 'none') FROM"
	 " (SELECT r.mch_id AS mch_id, r.day AS day, r.amount AS actual, d.amount AS kept FROM r"
	 " LEFT JOIN day_merchant d USING (mch_id, day) UNION SELECT d.mch_id, d.day, r.amount,"
	 " d.amount FROM day_merchant d LEFT JOIN r USING (mch_id, day)) x"
	 " WHERE actual IS DISTINCT FROM kept",
	[PGA_CHECK + STORE_CHECK_USER_DAY_COUNTER] =
	 "WITH r(mch_id, openid, day, count, amount) AS (" DAY_USER_SQL ")"
	 " SELECT 'day_user ' || mch_id || '/' || openid || ' day ' || day || ': counter ' ||"
	 " COALESCE(kc || '/' || ka, 'none') || ', rows ' || COALESCE(rc || '/' || ra, 'none') FROM"
	 " (SELECT r.mch_id AS mch_id, r.openid AS openid, r.day AS day, r.count AS rc,"
	 " r.amount AS ra, d.count AS kc, d.amount AS ka FROM r LEFT JOIN day_user d"
	 " USING (mch_id, openid, day) UNION SELECT d.mch_id, d.openid, d.day, r.count, r.amount,"
	 " d.count, d.amount FROM day_user d LEFT JOIN r USING (mch_id, openid, day)) x"
	 " WHERE rc IS DISTINCT FROM kc OR ra IS DISTINCT FROM ka",
	[PGA_CHECK + STORE_CHECK_STATUS_COUNTER] =
	 "WITH r(mch_id, status, n) AS (" STATUS_COUNT_SQL ")"
	 " SELECT 'status_count ' || mch_id || ' ' || status || ': counter ' ||"
	 " COALESCE(kept::text, 'none') || ', packets ' || COALESCE(actual, 0) FROM"
	 " (SELECT r.mch_id AS mch_id, r.status AS status, r.n AS actual, c.n AS kept FROM r"
	 " LEFT JOIN status_count c USING (mch_id, status) UNION SELECT c.mch_id, c.status, r.n,"
	 " c.n FROM status_count c LEFT JOIN r USING (mch_id, status)) x"
	 " WHERE COALESCE(actual, 0) <> COALESCE(kept, 0)",
	[PGA_CHECK + STORE_CHECK_RATE_COUNTER] =
	 "SELECT 'rate_second ' || r.mch_id || ' at ' || r.second || ': counter ' || r.count ||"
	 " ', orders created ' || (SELECT COUNT(*) FROM packets p WHERE p.mch_id = r.mch_id"
	 " AND p.created_at = r.second) FROM rate_second r WHERE r.count <> (SELECT COUNT(*)"
	 " FROM packets p WHERE p.mch_id = r.mch_id AND p.created_at = r.second)",
};
/* clang-format on */

/* ---- wipes and the counters -------------------------------------------- */

/* Statements first .. first + n - 1 in order, each with mch_id as $1
 * (NULL: no parameter), in one transaction (pgstore_unit_begin). 0 or -1. */
static int run_list(struct pgstore *s, int first, int n, const char *mch_id, const char *what)
{
	const char *params[1] = {mch_id};
	int own, rc = 0;

	if (pgstore_unit_begin(s, &own, what) != 0)
		return -1;
	for (int i = 0; i < n && rc == 0; i++) {
		PGresult *res = pgstore_run_admin(s, first + i, mch_id ? 1 : 0, params, what);
		rc = res ? 0 : -1;
		PQclear(res);
	}
	return pgstore_unit_end(s, own, rc, what);
}

int pgstore_wipe(struct pgstore *s, const char *mch_id)
{
	if (pgstore_pending_flush(s) != 0) /* they read or rewrite the counters */
		return -1;
	return mch_id ? run_list(s, PGA_WIPE_ONE, PGA_REBUILD - PGA_WIPE_ONE, mch_id, "wipe")
		      : run_list(s, PGA_WIPE_ALL, PGA_WIPE_ONE - PGA_WIPE_ALL, NULL, "wipe");
}

int pgstore_counters_rebuild(struct pgstore *s)
{
	if (pgstore_pending_flush(s) != 0)
		return -1;
	return run_list(s, PGA_REBUILD, PGA_RESET - PGA_REBUILD, NULL, "rebuild counters");
}

/* ---- a merchant's reset in slices --------------------------------------- */

/* One slice of a merchant's reset: the slice's packet ids first (in an
 * array passed to each statement), then store.c's steps: the counters
 * lose what those packets counted (a counter row left at zero goes),
 * balances what their ledger rows held, then the rows go. Each statement
 * reaches the rows by key from the slice's ids. The parameters of
 * PGA_RESET + 1 .. + 11: */
enum reset_args { RA_MCH_IDS, RA_MCH, RA_IDS };
static const enum reset_args reset_args[] = {
	RA_MCH_IDS, RA_MCH_IDS, RA_MCH, RA_MCH_IDS, RA_MCH, RA_MCH_IDS,
	RA_MCH,	    RA_IDS,	RA_IDS, RA_IDS,	    RA_IDS,
};
enum { RS_FIRST = 1, RS_LEDGER = 9, RS_PACKETS = 11 };

int pgstore_reset_slice(struct pgstore *s, const char *mch_id, int limit, int64_t *rows)
{
	char limit_text[24];
	const char *params[2] = {mch_id, limit_text};
	struct buf ids;
	PGresult *res;
	int packets, rc = 0;

	*rows = 0;
	if (pgstore_pending_flush(s) != 0) /* they rewrite the counters */
		return -1;
	snprintf(limit_text, sizeof(limit_text), "%d", limit);
	res = pgstore_run_admin(s, PGA_RESET, 2, params, "reset slice");
	if (!res)
		return -1;
	packets = PQntuples(res);
	buf_init(&ids);
	buf_puts(&ids, "{");
	for (int i = 0; i < packets; i++)
		buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
	buf_puts(&ids, "}");
	PQclear(res);
	for (int i = RS_FIRST; packets > 0 && rc == 0 && i <= RS_PACKETS; i++) {
		enum reset_args a = reset_args[i - RS_FIRST];
		const char *q[2];
		int n = 0;

		if (a != RA_IDS)
			q[n++] = mch_id;
		if (a != RA_MCH)
			q[n++] = ids.data;
		res = pgstore_run_admin(s, PGA_RESET + i, n, q, "reset slice");
		if (!res)
			rc = -1;
		else if (i >= RS_LEDGER)
			*rows += strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	buf_release(&ids);
	return rc < 0 ? -1 : packets;
}

/* ---- the invariant checks ---------------------------------------------- */

int pgstore_check(struct pgstore *s, enum store_check which,
		  void (*row)(void *arg, const char *text), void *arg)
{
	PGresult *res;
	int n;

	if (pgstore_interrupted(s))
		return pgstore_refuse(s, "run check", "interrupted");
	if (pgstore_pending_flush(s) != 0)
		return -1;
	res = pgstore_run_admin(s, PGA_CHECK + (int)which, 0, NULL, "run check");
	if (!res)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		row(arg, PQgetvalue(res, i, 0)); /* "" for NULL, as store.c */
	PQclear(res);
	return n;
}
