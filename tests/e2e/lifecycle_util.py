"""Helpers for the lifecycle suites (issue 4): sendredpack, gethbinfo, the control API
(clock, packets, claims, check) and a server that can be restarted on its database.

Written from tests/e2e/CONTRACT.md ("Lifecycle (issue 4)") and the protocol reference
(sections 3, 5, 12), not from the server sources. Everything else comes from rpsim.
Python 3 standard library only.
"""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import tempfile
import time
import urllib.parse

import rpsim
from rpsim import BEIJING, HOST, MCH_ID, SEED_OPENID, APPID

NORMAL_PATH = "/mmpaymkttransfers/sendredpack"
QUERY_PATH = "/mmpaymkttransfers/gethbinfo"

DAY = 86400
EXPIRY = 24 * 3600
QUERY_WINDOW = 30 * DAY

# Texts of the lifecycle section of CONTRACT.md.
NDES = {
    "total_num1": "参数错误:total_num必须等于1",
    "client_ip": "参数错误:client_ip必须是合法的IP字符串.",
    "min_max": "参数错误:发放金额、最小金额、最大金额必须相等.",
    "appid": "参数错误:appid字段必填,最长为32个字符.",
    "bill_type": "参数错误:bill_type字段必填,并且只能为MCHT.",
    "not_found": "指定单号数据不存在",
}

# Fixture balances of the default world (CONTRACT.md).
FIXTURE_BALANCES = {MCH_ID: 100000000, rpsim.MCH2_ID: 5000000, rpsim.LOAD_MCH_ID: 100000000000}

STATUSES = ("SENDING", "SENT", "FAILED", "RECEIVED", "RFUND_ING", "REFUND")


# ---------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------

def beijing_text(epoch):
    """epoch seconds as "yyyy-MM-dd HH:mm:ss" in Beijing time (the wire format)."""
    return datetime.datetime.fromtimestamp(epoch, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def beijing_iso(epoch):
    """epoch seconds as "yyyy-mm-ddThh:mm:ss+08:00" (the control API format)."""
    return datetime.datetime.fromtimestamp(epoch, BEIJING).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def iso_epoch(text):
    """Parses the control API's "...+08:00" times."""
    if text is None:
        return None
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", text):
        raise AssertionError("time %r is not yyyy-mm-ddThh:mm:ss+08:00" % (text,))
    return int(datetime.datetime.fromisoformat(text).timestamp())


def beijing_ymd(epoch):
    return datetime.datetime.fromtimestamp(epoch, BEIJING).strftime("%Y%m%d")


def next_beijing_midnight(epoch):
    d = datetime.datetime.fromtimestamp(epoch, BEIJING).date() + datetime.timedelta(days=1)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=BEIJING).timestamp())


# ---------------------------------------------------------------------------
# Control API
# ---------------------------------------------------------------------------

def admin(srv, method, path, body=None, raw=None, timeout=30):
    """One request to the control API; returns (status, parsed JSON or None, raw bytes).

    body is JSON-encoded; raw is sent as is (bytes or str)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    if isinstance(data, str):
        data = data.encode("utf-8")
    headers = {}
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, srv.admin_port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        ctype = resp.getheader("Content-Type", "")
    except (OSError, http.client.HTTPException) as e:
        rpsim._raise_if_dead(srv, e)
        raise
    finally:
        conn.close()
    doc = None
    if payload:
        try:
            doc = json.loads(payload.decode("utf-8"))
        except ValueError:
            doc = None
    # Errors are {"error": "..."}; GET /admin/v1/check answers 409 with its violations.
    if resp.status >= 400 and ctype.startswith("application/json") and \
            not path.startswith("/admin/v1/check"):
        if not isinstance(doc, dict) or not isinstance(doc.get("error"), str):
            raise AssertionError("%s %s: error answer without {\"error\": ...}: %r"
                                 % (method, path, payload[:500]))
    return resp.status, doc, payload


def clock(srv):
    st, doc, raw = admin(srv, "GET", "/admin/v1/clock")
    if st != 200:
        raise AssertionError("GET /admin/v1/clock: HTTP %d %r" % (st, raw))
    check_clock_doc(doc)
    return doc


def check_clock_doc(doc):
    if not isinstance(doc, dict) or set(doc) != {"now", "epoch", "offset_seconds"}:
        raise AssertionError("clock answer %r" % (doc,))
    if iso_epoch(doc["now"]) != doc["epoch"]:
        raise AssertionError("clock now %r != epoch %r" % (doc["now"], doc["epoch"]))
    skew = doc["epoch"] - doc["offset_seconds"] - time.time()
    if abs(skew) > 5:
        raise AssertionError("clock epoch - offset is %.0f s away from real time: %r" % (skew, doc))


def set_clock(srv, **body):
    """POST /admin/v1/clock; returns (status, doc)."""
    st, doc, _ = admin(srv, "POST", "/admin/v1/clock", body)
    if st == 200:
        check_clock_doc(doc)
    return st, doc


def advance(srv, seconds):
    st, doc = set_clock(srv, advance_seconds=seconds)
    if st != 200:
        raise AssertionError("advance %d s: HTTP %d %r" % (seconds, st, doc))
    return doc


def move_to(srv, epoch):
    st, doc = set_clock(srv, now=beijing_iso(epoch))
    if st != 200:
        raise AssertionError("clock to %s: HTTP %d %r" % (beijing_iso(epoch), st, doc))
    return doc


def to_noon(srv):
    """Moves the clock to the next Beijing noon, so that a test's daily counters cannot
    straddle a midnight by accident. Returns the clock document."""
    return move_to(srv, next_beijing_midnight(clock(srv)["epoch"]) + 12 * 3600)


def packet(srv, billno, mch_id=None):
    """GET /admin/v1/packets/{billno}; returns (status, doc)."""
    path = "/admin/v1/packets/" + urllib.parse.quote(billno, safe="")
    if mch_id is not None:
        path += "?mch_id=" + urllib.parse.quote(mch_id)
    st, doc, _ = admin(srv, "GET", path)
    return st, doc


def packet_ok(srv, billno, mch_id=MCH_ID):
    st, doc = packet(srv, billno, mch_id)
    if st != 200:
        raise AssertionError("GET packet %s: HTTP %d %r" % (billno, st, doc))
    return doc


def packets(srv, **params):
    q = urllib.parse.urlencode(params)
    return admin(srv, "GET", "/admin/v1/packets" + ("?" + q if q else ""))[:2]


def claim(srv, billno, openid, mch_id=None, body=None, raw=None):
    """POST /admin/v1/packets/{billno}/claims; returns (status, doc)."""
    if body is None and raw is None:
        body = {"openid": openid}
        if mch_id is not None:
            body["mch_id"] = mch_id
    path = "/admin/v1/packets/%s/claims" % urllib.parse.quote(billno, safe="")
    st, doc, _ = admin(srv, "POST", path, body, raw=raw)
    return st, doc


def check_api(srv):
    """GET /admin/v1/check must answer 200 with no violations."""
    st, doc, raw = admin(srv, "GET", "/admin/v1/check")
    if st != 200 or not isinstance(doc, dict) or doc.get("ok") is not True \
            or doc.get("violations") != []:
        raise AssertionError("GET /admin/v1/check: HTTP %d %s"
                             % (st, raw.decode("utf-8", "replace")[:4000]))
    return doc


def conservation(srv, fixture_balances=None):
    """Per merchant: balance == fixture balance - issued totals + refunded amounts, one
    refund ledger row per refunded packet with a non-zero refund_amount."""
    fb = {m["mch_id"]: m.get("balance", 0) for m in srv.fixtures["merchants"]}
    if fixture_balances:
        fb.update(fixture_balances)
    conn = rpsim.db(srv)
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


# ---------------------------------------------------------------------------
# A server that can be restarted (or killed) on the same database
# ---------------------------------------------------------------------------

class LcServer(rpsim.Server):
    """rpsim.Server whose database lives in a directory of its own (db_dir), so that it
    survives stop() and kill9() and the next start() opens it again."""

    def __init__(self, db_dir, **kwargs):
        super().__init__(**kwargs)
        self.db_file = os.path.join(db_dir, "redpack.db")
        self.base_args = list(self.args)

    def _spawn(self, exe):
        # The last --db wins; ours comes after the one the base class puts in.
        self.args = self.base_args + ["--db", self.db_file]
        try:
            super()._spawn(exe)
        finally:
            self.db_path = self.db_file

    def start(self):
        self.stopped = False
        self._stderr = []
        self._stdout = []
        self._first_line = rpsim.queue.Queue()
        return super().start()

    def kill9(self):
        """SIGKILL (a crash); the database stays. Raises if stderr held a sanitizer report."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self.proc is not None and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
            for t in self._threads:
                t.join(timeout=5)
            err = self.stderr_text()
        finally:
            self._cleanup()
        bad = [m for m in rpsim.SANITIZER_MARKERS if m in err]
        if bad:
            raise rpsim.ServerError(self._describe("stderr contains %r" % bad, tail=20000))


def read_db(path, sql, args=()):
    """Rows of one query on a stopped server's database (a writable handle: a WAL database
    without its -shm file cannot be opened read-only)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def write_db(path, sql, args=()):
    """Runs one statement on a stopped server's database; returns the row count changed."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        cur = conn.execute(sql, args)
        return cur.rowcount
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# sendredpack
# ---------------------------------------------------------------------------

def default_normal_request(**overrides):
    """A valid sendredpack field dict for merchant 10000098; an override of None removes."""
    fields = {
        "mch_billno": rpsim.new_billno(),
        "mch_id": MCH_ID,
        "wxappid": APPID,
        "send_name": "天虹百货",
        "re_openid": SEED_OPENID,
        "total_amount": "200",
        "total_num": "1",
        "wishing": "恭喜发财",
        "client_ip": "127.0.0.1",
        "act_name": "新年红包",
        "remark": "新年红包",
        "nonce_str": rpsim.new_nonce(),
    }
    for k, v in overrides.items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = v
    return fields


def post_signed(srv, path, fields, key=None, cert=None, style="php"):
    f = dict(fields)
    mch = f.get("mch_id")
    if "sign" not in f:
        f["sign"] = rpsim.sign(f, key if key is not None else srv.key(mch))
    if cert is None:
        cert = mch if srv.merchant(mch) else MCH_ID
    headers = rpsim.WECHATPY_HEADERS if style == "wechatpy" else rpsim.PHP_HEADERS
    return rpsim.post(srv, path, rpsim.build_xml(f, style), cert=cert, headers=headers)


def send_normal(srv, fields, **kw):
    return post_signed(srv, NORMAL_PATH, fields, **kw)


def expected_normal_answer(err_code, des, req, send_listid=None):
    """The sendredpack answer: the group layout without total_num, unless the request's
    total_num is not 1 (then it follows total_amount, as in capture F3)."""
    lines = [l for l in rpsim.parse_answer(rpsim.expected_answer(err_code, des, req, send_listid))]
    if str(req.get("total_num", "")).isascii() and str(req.get("total_num", "")).isdigit() \
            and int(req["total_num"]) == 1:
        lines = [l for l in lines if l[0] != "total_num"]
    return rpsim.render_answer(lines)


# ---------------------------------------------------------------------------
# gethbinfo
# ---------------------------------------------------------------------------

def default_query_request(billno, **overrides):
    fields = {
        "mch_billno": billno,
        "mch_id": MCH_ID,
        "appid": APPID,
        "bill_type": "MCHT",
        "nonce_str": rpsim.new_nonce(),
    }
    for k, v in overrides.items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = v
    return fields


def gethbinfo(srv, billno=None, fields=None, **kw):
    if fields is None:
        fields = default_query_request(billno)
    return post_signed(srv, QUERY_PATH, fields, **kw)


def render_query(lines, hblist):
    """lines [(name, value, is_cdata)] then the hblist ([(openid, amount, rcv_time)])."""
    out = ["<xml>\n"]
    for k, v, cdata in lines:
        out.append("<%s>%s</%s>\n" % (k, rpsim._cdata(v) if cdata else v, k))
    if hblist:
        out.append("<hblist>\n")
        for openid, amount, rcv in hblist:
            out.append("<hbinfo>\n<openid>%s</openid>\n<amount>%d</amount>\n<rcv_time>%s"
                       "</rcv_time>\n</hbinfo>\n" % (rpsim._cdata(openid), amount, rpsim._cdata(rcv)))
        out.append("</hblist>\n")
    out.append("</xml>")
    return "".join(out).encode("utf-8")


_HBINFO = re.compile(r"<hbinfo>\n<openid><!\[CDATA\[([^\]]*)\]\]></openid>\n<amount>(\d+)</amount>\n"
                     r"<rcv_time><!\[CDATA\[([^\]]*)\]\]></rcv_time>\n</hbinfo>\n")


def parse_query(body):
    """(lines, hblist) of a gethbinfo answer in the exact layout; raises AssertionError."""
    text = body.decode("utf-8")
    hb = []
    i = text.find("<hblist>\n")
    if i >= 0:
        j = text.find("</hblist>\n", i)
        if j < 0 or text[j:] != "</hblist>\n</xml>":
            raise AssertionError("hblist is not last before </xml>: %r" % text)
        inner = text[i + len("<hblist>\n"):j]
        pos = 0
        while pos < len(inner):
            m = _HBINFO.match(inner, pos)
            if not m:
                raise AssertionError("bad hbinfo at %r" % inner[pos:pos + 200])
            hb.append((m.group(1), int(m.group(2)), m.group(3)))
            pos = m.end()
        if not hb:
            raise AssertionError("empty hblist: %r" % text)
        flat = text[:i] + "</xml>"
    else:
        flat = text
    return rpsim.parse_answer(flat.encode("utf-8")), hb


def expected_query_failure(err_code, des, req):
    lines = [
        ("return_code", "SUCCESS", True),
        ("return_msg", des, True),
        ("result_code", "FAIL", True),
        ("err_code", err_code, True),
        ("err_code_des", des, True),
        ("mch_billno", req.get("mch_billno") or "", True),
        ("mch_id", req.get("mch_id") or "", True),
    ]
    return rpsim.render_answer(lines)


def db_packet(srv, billno, mch_id=MCH_ID):
    """The packet row and its shares straight from the database (epoch times)."""
    conn = rpsim.db(srv)
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


def expected_query_success(p, req):
    """(lines, hblist) of the gethbinfo success answer for the database packet p."""
    lines = [
        ("return_code", "SUCCESS", True),
        ("return_msg", "OK", True),
        ("result_code", "SUCCESS", True),
        ("err_code", "SUCCESS", True),
        ("err_code_des", "OK", True),
        ("mch_billno", req["mch_billno"], True),
        ("mch_id", req["mch_id"], True),
        ("detail_id", p["send_listid"], True),
        ("status", p["status"], True),
        ("send_type", "API", True),
        ("hb_type", p["hb_type"], True),
        ("total_num", str(p["total_num"]), False),
        ("total_amount", str(p["total_amount"]), False),
    ]
    if p["reason"]:
        lines.append(("reason", p["reason"], True))
    lines.append(("send_time", beijing_text(p["send_time"] if p["send_time"] is not None
                                            else p["created_at"]), True))
    if p["status"] == "REFUND":
        lines.append(("refund_time", beijing_text(p["refund_time"]), True))
        lines.append(("refund_amount", str(p["refund_amount"]), False))
    opened = [s for s in p["shares"] if s["openid"] is not None]
    opened.sort(key=lambda s: (s["rcv_time"], s["seq"]), reverse=True)
    hb = [(s["openid"], s["amount"], beijing_text(s["rcv_time"])) for s in opened]
    return lines, hb


class LifecycleCase(rpsim.E2ETestCase):
    """Servers started here get, before they stop: GET /admin/v1/check == 200, money
    conservation, and rpsim.check_invariants."""

    def start_server(self, invariants=True, fixture_balances=None, **kwargs):
        srv = super().start_server(invariants=invariants, **kwargs)
        if invariants:
            self.addCleanup(conservation, srv, fixture_balances)
            self.addCleanup(check_api, srv)
        return srv

    def start_lc_server(self, fixture_balances=None, **kwargs):
        """An LcServer in a temp dir of this test (restartable); checked like start_server."""
        d = tempfile.mkdtemp(prefix="redpack-lc-")
        self.addCleanup(shutil.rmtree, d, True)
        srv = LcServer(d, **kwargs)
        srv.start()
        self.addCleanup(lambda: srv.stopped or srv.stop())
        self.addCleanup(lambda: srv.stopped or rpsim.check_invariants(srv))
        self.addCleanup(lambda: srv.stopped or conservation(srv, fixture_balances))
        self.addCleanup(lambda: srv.stopped or check_api(srv))
        return srv

    def restart(self, srv, kill=False):
        if kill:
            srv.kill9()
        else:
            srv.stop()
        srv.start()
        return srv

    # -- sends -------------------------------------------------------------

    def assertSendSuccess(self, resp, req, srv, normal=False, replay_of=None):
        """The exact success answer; send_listid dated on the business (Beijing) day."""
        self.assertEqual(resp.status, 200, resp.body[:300])
        ans = rpsim.answer_dict(resp.body)
        sl = ans.get("send_listid")
        if ans.get("err_code") != "SUCCESS" or sl is None:
            self.fail("not a success answer:\n%s" % resp.body.decode("utf-8", "replace"))
        m = rpsim.SEND_LISTID_RE.fullmatch(sl)
        self.assertIsNotNone(m, sl)
        if replay_of is not None:
            self.assertEqual(sl, replay_of)
        else:
            now = clock(srv)["epoch"]
            self.assertIn(m.group(1), {beijing_ymd(now), beijing_ymd(now - 30)})
        exp = (expected_normal_answer("SUCCESS", rpsim.SUCCESS_DES, req, sl) if normal
               else rpsim.expected_success(req, sl))
        self.assertAnswer(resp, exp)
        return sl

    def group(self, srv, **overrides):
        req = rpsim.default_group_request(**overrides)
        resp = rpsim.send_group(srv, req)
        self.assertSendSuccess(resp, req, srv)
        return req

    def normal(self, srv, **overrides):
        req = default_normal_request(**overrides)
        resp = send_normal(srv, req)
        self.assertSendSuccess(resp, req, srv, normal=True)
        return req

    def assertNormalErr(self, resp, req, err_code, des):
        des = rpsim.DES.get(des, NDES.get(des, des))
        self.assertAnswer(resp, expected_normal_answer(err_code, des, req))

    # -- claims ------------------------------------------------------------

    def claim_ok(self, srv, billno, openid, status=None, mch_id=None):
        st, doc = claim(srv, billno, openid, mch_id)
        self.assertEqual(st, 201, doc)
        self.assertEqual(set(doc), {"mch_id", "mch_billno", "openid", "seq", "amount", "status",
                                    "rcv_time"}, doc)
        self.assertEqual((doc["mch_billno"], doc["openid"]), (billno, openid))
        if mch_id is not None:
            self.assertEqual(doc["mch_id"], mch_id)
        if status is not None:
            self.assertEqual(doc["status"], status, doc)
        now = clock(srv)["epoch"]
        self.assertLessEqual(abs(iso_epoch(doc["rcv_time"]) - now), 5, doc)
        return doc

    def claim_refused(self, srv, billno, openid, http_status=409, status=None, err_code=None,
                      mch_id=None):
        st, doc = claim(srv, billno, openid, mch_id)
        self.assertEqual(st, http_status, doc)
        self.assertIsInstance(doc, dict)
        self.assertIsInstance(doc.get("error"), str, doc)
        if status is not None:
            self.assertEqual(doc.get("status"), status, doc)
        if err_code is not None:
            self.assertEqual(doc.get("err_code"), err_code, doc)
        else:
            self.assertNotIn("err_code", doc)
        return doc

    # -- gethbinfo ---------------------------------------------------------

    def assertQuery(self, srv, billno, mch_id=MCH_ID, status=None, appid=APPID):
        """gethbinfo of billno, checked field by field against the database (and the admin
        JSON against the database), then as whole bytes. Returns (packet, lines, hblist)."""
        req = default_query_request(billno, mch_id=mch_id, appid=appid)
        resp = gethbinfo(srv, fields=req)
        p = db_packet(srv, billno, mch_id)
        self.assertIsNotNone(p)
        check_admin_matches_db(packet_ok(srv, billno, mch_id), p)
        if status is not None:
            self.assertEqual(p["status"], status)
        self.assertEqual(resp.status, 200, resp.body[:300])
        rpsim.check_xml_headers(resp)
        lines, hb = parse_query(resp.body)
        want_lines, want_hb = expected_query_success(p, req)
        self.assertEqual(lines, want_lines, resp.body.decode("utf-8", "replace"))
        self.assertEqual(hb, want_hb, resp.body.decode("utf-8", "replace"))
        want_bytes = render_query(want_lines, want_hb)
        if resp.body != want_bytes:
            self.fail("gethbinfo answer differs\n--- expected ---\n%s\n--- got ---\n%s"
                      % (want_bytes.decode(), resp.body.decode("utf-8", "replace")))
        return p, dict((k, v) for k, v, _ in lines), hb

    def assertQueryFails(self, srv, req, err_code, des, **kw):
        resp = gethbinfo(srv, fields=req, **kw)
        des = rpsim.DES.get(des, NDES.get(des, des))
        self.assertAnswer(resp, expected_query_failure(err_code, des, req))
