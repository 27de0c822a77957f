"""The control calls that would hold the event loop run beside it (issue 10):
the invariant check on a thread of its own, a merchant's reset in slices.
Machine-independent facts only: counters in /metrics, answers, the database."""
import os, re, shutil, sqlite3, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import control, probe, process

MCH = "10000100"
N = 3000  # packets: more than ten slices of 256


def preload(path, n):
    """N issued group packets of 300 fen in 3 shares for MCH, and the running
    counters the server's inserts keep (as scripts/preload-db.sh)."""
    c = sqlite3.connect(path, isolation_level=None)
    try:
        c.executescript("""
BEGIN IMMEDIATE;
CREATE TEMP TABLE b AS SELECT IFNULL((SELECT MAX(id) FROM packets), 0) AS base,
  CAST(strftime('%%s', 'now') AS INTEGER) - 3600 AS t0, strftime('%%Y%%m%%d', 'now', '+8 hours') AS ymd;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d)
INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid, send_name, wishing,
  act_name, remark, amt_type, total_amount, total_num, send_listid, created_at, send_time)
  SELECT base + i, '%s', 'P' || (base + i), 'GROUP', 'SENT', 'wx1000000000000000',
  'oLoadUser0000000000000000001', 'p', 'p', 'p', 'p', 'ALL_RAND', 300, 3,
  printf('1000041701%%s30%%011d', ymd, base + i), t0 + i, t0 + i FROM k, b;
INSERT INTO shares (packet_id, seq, amount) SELECT p.id, s.seq, 100 FROM packets p,
  (SELECT 0 AS seq UNION ALL SELECT 1 UNION ALL SELECT 2) s, b WHERE p.id > base;
INSERT INTO ledger (mch_id, amount, kind, packet_id, at) SELECT mch_id, -total_amount, 'send', id,
  send_time FROM packets, b WHERE id > base;
UPDATE merchants SET balance = balance - 300 * %d WHERE mch_id = '%s';
INSERT INTO rate_second SELECT mch_id, created_at, COUNT(*) FROM packets, b
  WHERE id > base AND created_at >= (SELECT MAX(created_at) FROM packets) - 120 GROUP BY 1, 2
  ON CONFLICT DO UPDATE SET count = count + excluded.count;
INSERT INTO status_count SELECT mch_id, status, COUNT(*) FROM packets, b
  WHERE id > base GROUP BY 1, 2 ON CONFLICT DO UPDATE SET n = n + excluded.n;
INSERT INTO day_merchant SELECT mch_id, (send_time + 28800) / 86400, SUM(total_amount)
  FROM packets, b WHERE id > base GROUP BY 1, 2
  ON CONFLICT DO UPDATE SET amount = amount + excluded.amount;
INSERT INTO day_user SELECT mch_id, re_openid, (send_time + 28800) / 86400, COUNT(*), SUM(100)
  FROM packets, b WHERE id > base GROUP BY 1, 2, 3
  ON CONFLICT DO UPDATE SET count = count + excluded.count, amount = amount + excluded.amount;
COMMIT;""" % (n, MCH, n, MCH))
    finally:
        c.close()


def preload_pg(url, n):
    """The same N packets on PostgreSQL, through psql: ids from the packets' identity
    sequence (as the store takes them), the counters kept by schema_pg.sql's triggers."""
    import time
    from harness import contract, pgdb
    t0, ymd = int(time.time()) - 3600, contract.beijing_today()
    with pgdb.connect(url) as c:
        c.execute("BEGIN")
        c.execute(
            "INSERT INTO packets (id, mch_id, mch_billno, hb_type, status, wxappid, re_openid, "
            "send_name, wishing, act_name, remark, amt_type, total_amount, total_num, send_listid, "
            "created_at, send_time) SELECT k.id, ?, 'P' || k.id, 'GROUP', 'SENT', "
            "'wx1000000000000000', 'oLoadUser0000000000000000001', 'p', 'p', 'p', 'p', 'ALL_RAND', "
            "300, 3, '1000041701' || ? || '30' || lpad(k.id::text, 11, '0'), ? + k.i, ? + k.i "
            "FROM (SELECT nextval(pg_get_serial_sequence('packets', 'id')) AS id, i "
            "FROM generate_series(1, ?) AS i) k", (MCH, ymd, t0, t0, n))
        c.execute("INSERT INTO shares (packet_id, seq, amount) SELECT p.id, s.seq, 100 FROM "
                  "packets p, generate_series(0, 2) AS s(seq) WHERE p.mch_id = ? AND "
                  "p.mch_billno = 'P' || p.id", (MCH,))
        c.execute("INSERT INTO ledger (mch_id, amount, kind, packet_id, at) SELECT mch_id, "
                  "-total_amount, 'send', id, send_time FROM packets WHERE mch_id = ? AND "
                  "mch_billno = 'P' || id", (MCH,))
        c.execute("UPDATE merchants SET balance = balance - 300 * ? WHERE mch_id = ?", (n, MCH))
        c.execute("COMMIT")


def metric(srv, name):
    body = control.request(srv, "GET", "/metrics").body.decode()
    m = re.search(r"^%s (\d+)$" % name, body, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def main():
    d = tempfile.mkdtemp(prefix="redpack-bg-")
    srv = process.Server(db_file=os.path.join(d, "redpack.db"))
    try:
        srv.start()
        fresh = probe.balance(srv, MCH)
        srv.stop()
        if srv.db_url:
            preload_pg(srv.db_url, N)
        else:
            preload(srv.db_file, N)
        srv.start()
        doc = control.check(srv)
        assert metric(srv, "redpack_check_threads_total") == 1, "the check ran on the loop"
        assert metric(srv, "redpack_check_running") == 0
        r = control.request(srv, "POST", "/admin/v1/reset?mch_id=" + MCH)
        assert r.status == 200, r.body
        slices = metric(srv, "redpack_reset_slices_total")
        assert slices > 1, "one slice for %d packets" % N
        assert metric(srv, "redpack_reset_slice_packets_max") <= 256
        assert probe.query(srv, "SELECT COUNT(*) FROM packets WHERE mch_id = ?", (MCH,))[0][0] == 0
        assert probe.balance(srv, MCH) == fresh, "not back to the fixtures' balance"
        again = control.check(srv)
        assert again["checked"] == doc["checked"]
        assert metric(srv, "redpack_check_threads_total") == 2
        srv.stop()
        print("ok: check on its thread, reset of %d packets in %d slices" % (N, slices))
    finally:
        if not srv.stopped:
            srv._kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
