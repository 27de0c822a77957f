"""The database probe: read-only looks into a running server's SQLite file (rows,
balances, the invariants, money conservation) and one-statement access to a
stopped server's file.

On PostgreSQL (a server's db_path is then its database's URL) the same calls go
through psql (pgdb): the same SQL with `?` parameters, IFNULL read as COALESCE,
BEGIN as a REPEATABLE READ snapshot.
"""

import sqlite3

from . import pgdb
from .contract import MCH_ID, SEND_LISTID_RE, beijing_iso

def db(server):
    """A read-only sqlite3 connection to the server's database (autocommit)."""
    if pgdb.is_url(server.db_path):
        return pgdb.connect(server.db_path, read_only=True)
    uri = "file:%s?mode=ro" % server.db_path
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def query(server, sql, args=()):
    conn = db(server)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def packet_rows(server, mch_billno, mch_id=MCH_ID):
    return query(server, "SELECT id, status, reason, total_amount, total_num, re_openid, "
                 "wxappid, send_listid, hb_type FROM packets WHERE mch_id = ? AND mch_billno = ?",
                 (mch_id, mch_billno))


def shares_of(server, mch_billno, mch_id=MCH_ID):
    return [r[0] for r in query(
        server, "SELECT s.amount FROM shares s JOIN packets p ON p.id = s.packet_id "
        "WHERE p.mch_id = ? AND p.mch_billno = ? ORDER BY s.seq", (mch_id, mch_billno))]


def balance(server, mch_id=MCH_ID):
    rows = query(server, "SELECT balance FROM merchants WHERE mch_id = ?", (mch_id,))
    return rows[0][0] if rows else None


def send_debits(server, mch_billno, mch_id=MCH_ID):
    """Amounts of the 'send' ledger rows that point at this packet."""
    return [r[0] for r in query(
        server, "SELECT l.amount FROM ledger l JOIN packets p ON p.id = l.packet_id "
        "WHERE l.kind = 'send' AND p.mch_id = ? AND p.mch_billno = ? ORDER BY l.id",
        (mch_id, mch_billno))]


def check_invariants(server):
    """Raises AssertionError listing every broken invariant of the database.

    - merchants.balance == SUM(ledger.amount) per merchant;
    - every packet with shares: shares sum to total_amount, count == total_num, each >= 1;
    - SENT packets have shares; SENDING packets have none and no send debit;
    - per merchant, the send debits equal the total of the issued packets;
    - send_listid unique among packets and shaped 1000041701yyyymmdd30ddddddddddd.
    """
    conn = db(server)
    bad = []
    try:
        conn.execute("BEGIN")
        for mch, bal, led in conn.execute(
                "SELECT m.mch_id, m.balance, (SELECT SUM(l.amount) FROM ledger l "
                "WHERE l.mch_id = m.mch_id) FROM merchants m"):
            if led is None or bal != led:
                bad.append("merchant %s: balance %s != SUM(ledger.amount) %s" % (mch, bal, led))
        for (pid, mch, billno, status, total, num, cnt, ssum, smin) in conn.execute(
                "SELECT p.id, p.mch_id, p.mch_billno, p.status, p.total_amount, p.total_num, "
                "COUNT(s.packet_id), SUM(s.amount), MIN(s.amount) FROM packets p "
                "LEFT JOIN shares s ON s.packet_id = p.id GROUP BY p.id"):
            tag = "packet %s (%s/%s, %s)" % (pid, mch, billno, status)
            if cnt:
                if ssum != total:
                    bad.append("%s: shares sum %s != total_amount %s" % (tag, ssum, total))
                if cnt != num:
                    bad.append("%s: %s shares != total_num %s" % (tag, cnt, num))
                if smin < 1:
                    bad.append("%s: a share of %s fen (< 1)" % (tag, smin))
            if status == "SENDING" and cnt:
                bad.append("%s: SENDING packet has %d shares" % (tag, cnt))
            if status == "SENT" and not cnt:
                bad.append("%s: SENT packet has no shares" % tag)
        for (pid, n) in conn.execute(
                "SELECT p.id, COUNT(*) FROM ledger l JOIN packets p ON p.id = l.packet_id "
                "WHERE l.kind = 'send' AND p.status = 'SENDING' GROUP BY p.id"):
            bad.append("packet %s is SENDING but has %d send ledger rows" % (pid, n))
        for (lid, amount) in conn.execute(
                "SELECT id, amount FROM ledger WHERE kind = 'send' AND amount >= 0"):
            bad.append("ledger %s: send row with non-negative amount %s" % (lid, amount))
        for (mch, debits, issued) in conn.execute(
                "SELECT m.mch_id, "
                "(SELECT COALESCE(-SUM(l.amount), 0) FROM ledger l "
                " WHERE l.mch_id = m.mch_id AND l.kind = 'send'), "
                "(SELECT COALESCE(SUM(p.total_amount), 0) FROM packets p "
                " WHERE p.mch_id = m.mch_id AND p.status NOT IN ('SENDING', 'FAILED')) "
                "FROM merchants m"):
            if debits != issued:
                bad.append("merchant %s: send debits %s != total of issued packets %s"
                           % (mch, debits, issued))
        for (sl, n) in conn.execute(
                "SELECT send_listid, COUNT(*) FROM packets WHERE send_listid IS NOT NULL "
                "GROUP BY send_listid HAVING COUNT(*) > 1"):
            bad.append("send_listid %s used by %d packets" % (sl, n))
        for (pid, sl) in conn.execute(
                "SELECT id, send_listid FROM packets WHERE status = 'SENT'"):
            if sl is None or not SEND_LISTID_RE.fullmatch(str(sl)):
                bad.append("packet %s: SENT with send_listid %r" % (pid, sl))
        conn.execute("COMMIT")
    finally:
        conn.close()
    if bad:
        raise AssertionError("database invariants broken:\n  " + "\n  ".join(bad))


def conservation(srv, fixture_balances=None):
    """Per merchant: balance == fixture balance - issued totals + refunded amounts, one
    refund ledger row per refunded packet with a non-zero refund_amount."""
    fb = {m["mch_id"]: m.get("balance", 0) for m in srv.fixtures["merchants"]}
    if fixture_balances:
        fb.update(fixture_balances)
    conn = db(srv)
    bad = []
    try:
        conn.execute("BEGIN")
        for mch, bal in conn.execute("SELECT mch_id, balance FROM merchants"):
            issued = conn.execute(
                "SELECT IFNULL(SUM(total_amount), 0) FROM packets WHERE mch_id = ? AND status IN "
                "('SENT', 'RECEIVED', 'RFUND_ING', 'REFUND')", (mch,)).fetchone()[0]
            refunded = conn.execute(
                "SELECT IFNULL(SUM(refund_amount), 0) FROM packets WHERE mch_id = ? AND "
                "status = 'REFUND'", (mch,)).fetchone()[0]
            topups = conn.execute(
                "SELECT IFNULL(SUM(amount), 0) FROM ledger WHERE mch_id = ? AND kind IN "
                "('topup', 'set')", (mch,)).fetchone()[0]
            want = fb.get(mch, 0) + topups - issued + refunded
            if bal != want:
                bad.append("merchant %s: balance %s, expected %s (fixture %s - issued %s + "
                           "refunded %s)" % (mch, bal, want, fb.get(mch), issued, refunded))
        for pid, billno, status, ramount, nrows, rsum in conn.execute(
                "SELECT p.id, p.mch_billno, p.status, p.refund_amount, "
                "(SELECT COUNT(*) FROM ledger l WHERE l.packet_id = p.id AND l.kind = 'refund'), "
                "(SELECT IFNULL(SUM(amount), 0) FROM ledger l WHERE l.packet_id = p.id AND "
                "l.kind = 'refund') FROM packets p"):
            want_rows = 1 if status == "REFUND" and ramount else 0
            if nrows != want_rows or rsum != (ramount if want_rows else 0):
                bad.append("packet %s (%s, %s, refund_amount %s): %d refund rows summing to %s"
                           % (pid, billno, status, ramount, nrows, rsum))
        conn.execute("COMMIT")
    finally:
        conn.close()
    if bad:
        raise AssertionError("money conservation broken:\n  " + "\n  ".join(bad))


def read_db(path, sql, args=()):
    """Rows of one query on a stopped server's database (a writable handle: a WAL database
    without its -shm file cannot be opened read-only)."""
    url = pgdb.resolve(path)
    if url:
        with pgdb.connect(url) as conn:
            return conn.execute(sql, args).fetchall()
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def write_db(path, sql, args=()):
    """Runs one statement on a stopped server's database; returns the row count changed."""
    url = pgdb.resolve(path)
    if url:
        with pgdb.connect(url) as conn:
            return conn.execute(sql, args).rowcount
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        cur = conn.execute(sql, args)
        return cur.rowcount
    finally:
        conn.close()


def db_packet(srv, billno, mch_id=MCH_ID):
    """The packet row and its shares straight from the database (epoch times)."""
    conn = db(srv)
    try:
        conn.execute("BEGIN")
        cols = ("id", "mch_id", "mch_billno", "hb_type", "status", "send_listid", "re_openid",
                "total_amount", "total_num", "reason", "created_at", "send_time", "refund_time",
                "refund_amount", "err_code")
        row = conn.execute("SELECT %s FROM packets WHERE mch_id = ? AND mch_billno = ?"
                           % ", ".join(cols), (mch_id, billno)).fetchone()
        if row is None:
            conn.execute("COMMIT")
            return None
        p = dict(zip(cols, row))
        p["shares"] = [dict(zip(("seq", "amount", "openid", "rcv_time"), r)) for r in conn.execute(
            "SELECT seq, amount, openid, rcv_time FROM shares WHERE packet_id = ? ORDER BY seq",
            (p["id"],))]
        p["ledger"] = [dict(zip(("id", "mch_id", "amount", "kind", "at"), r)) for r in conn.execute(
            "SELECT id, mch_id, amount, kind, at FROM ledger WHERE packet_id = ? ORDER BY id",
            (p["id"],))]
        conn.execute("COMMIT")
        return p
    finally:
        conn.close()


def check_admin_matches_db(adm, p):
    """The admin JSON of a packet says what the database says."""
    want = {
        "mch_id": p["mch_id"], "mch_billno": p["mch_billno"], "hb_type": p["hb_type"],
        "status": p["status"], "send_listid": p["send_listid"], "re_openid": p["re_openid"],
        "total_amount": p["total_amount"], "total_num": p["total_num"], "reason": p["reason"],
        "err_code": p["err_code"],
        "created_at": beijing_iso(p["created_at"]),
        "send_time": None if p["send_time"] is None else beijing_iso(p["send_time"]),
        "refund_time": None if p["refund_time"] is None else beijing_iso(p["refund_time"]),
        "refund_amount": p["refund_amount"],
    }
    got = {k: adm.get(k, "<missing>") for k in want}
    if got != want:
        raise AssertionError("admin packet JSON disagrees with the database:\n got  %r\n want %r"
                             % (got, want))
    shares = [{"seq": s["seq"], "amount": s["amount"], "openid": s["openid"],
               "rcv_time": None if s["rcv_time"] is None else beijing_iso(s["rcv_time"])}
              for s in p["shares"]]
    if adm.get("shares") != shares:
        raise AssertionError("admin shares %r, database %r" % (adm.get("shares"), shares))
    ledger = [{"id": l["id"], "mch_id": l["mch_id"], "amount": l["amount"], "kind": l["kind"],
               "at": beijing_iso(l["at"])} for l in p["ledger"]]
    if adm.get("ledger") != ledger:
        raise AssertionError("admin ledger %r, database %r" % (adm.get("ledger"), ledger))
