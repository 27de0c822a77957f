"""unittest glue: the base classes every e2e test class derives from.

E2ETestCase starts servers per test (stopped and checked after it);
SharedServerCase starts one server per class; LifecycleCase adds the lifecycle
checks (the control API's checker, money conservation) and restarts.
sqlite_only skips what is about SQLite itself on the PostgreSQL run.
"""

import datetime
import os
import shutil
import tempfile
import unittest

from . import control, pgdb, probe
from .answers import (answer_dict, check_xml_headers, expected_answer, expected_normal_answer,
                      expected_query_failure, expected_query_success, expected_success,
                      parse_answer, parse_query, render_query)
from .contract import (APPID, BEIJING, DES, MCH_ID, NDES, SEND_LISTID_RE, SUCCESS_DES, beijing_ymd,
                       iso_epoch)
from .process import Server
from .wire import gethbinfo, group_request, normal_request, query_request, send_group, send_normal


def sqlite_only(reason):
    """Decorator of a test or class about SQLite itself (its file, WAL, page cap...):
    skipped with reason when the run is on PostgreSQL (REDPACK_E2E_DB=postgresql).
    Inside a test, `with self.subTest(...): skip_unless_sqlite(self, reason)` skips
    one SQLite-only check and lets the rest of the test run."""
    return unittest.skipIf(pgdb.enabled(), "SQLite only: " + reason)


def skip_unless_sqlite(case, reason):
    if pgdb.enabled():
        case.skipTest("SQLite only: " + reason)


class E2ETestCase(unittest.TestCase):
    """Base class: servers started here are stopped (and checked) after the test,
    and the database invariants are checked on them first."""

    maxDiff = None

    def temp_db(self, prefix="redpack-db-"):
        """A database file path in a temp dir that goes away after the test."""
        d = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, d, True)
        return os.path.join(d, "redpack.db")

    def start_server(self, invariants=True, **kwargs):
        srv = Server(**kwargs)
        srv.start()
        self.addCleanup(srv.stop)
        if invariants:
            self.addCleanup(probe.check_invariants, srv)
        return srv

    def send(self, srv, style="php", key=None, cert=None, **overrides):
        """group_request(**overrides), signed and sent; returns (fields, response)."""
        req = group_request(**overrides)
        return req, send_group(srv, req, key=key, cert=cert, style=style)

    def assertAnswer(self, resp, expected):
        """HTTP 200, the XML answer headers, the exact layout, and exactly the expected bytes."""
        self.assertEqual(resp.status, 200, "HTTP status; body=%r" % (resp.body[:500],))
        check_xml_headers(resp)
        parse_answer(resp.body)
        if resp.body != expected:
            self.fail("answer differs\n--- expected ---\n%s\n--- got ---\n%s"
                      % (expected.decode("utf-8"), resp.body.decode("utf-8", "replace")))

    def assertErr(self, resp, req, err_code, des_key_or_text):
        """The exact failure answer for req with that err_code and text (a DES key or the text)."""
        des = DES.get(des_key_or_text, des_key_or_text)
        self.assertAnswer(resp, expected_answer(err_code, des, req))

    def _success_listid(self, resp):
        """The send_listid of a success answer (HTTP 200, err_code SUCCESS) and its match."""
        self.assertEqual(resp.status, 200, "HTTP status; body=%r" % (resp.body[:500],))
        ans = answer_dict(resp.body)
        sl = ans.get("send_listid")
        if ans.get("err_code") != "SUCCESS" or sl is None:
            self.fail("not a success answer:\n%s" % resp.body.decode("utf-8", "replace"))
        m = SEND_LISTID_RE.fullmatch(sl)
        self.assertIsNotNone(m, "send_listid %r does not match 1000041701yyyymmdd30ddddddddddd" % sl)
        return sl, m

    def assertSuccess(self, resp, req):
        """The exact success answer; returns its send_listid (checked against today's Beijing date)."""
        sl, m = self._success_listid(resp)
        now = datetime.datetime.now(BEIJING)
        today = {now.strftime("%Y%m%d"), (now - datetime.timedelta(seconds=30)).strftime("%Y%m%d")}
        self.assertIn(m.group(1), today, "send_listid date is not today's Beijing date")
        self.assertAnswer(resp, expected_success(req, sl))
        return sl

    def assertSendSuccess(self, resp, req, srv, normal=False, replay_of=None):
        """The exact success answer; send_listid dated on srv's simulated (Beijing) day,
        which assertSuccess's wall-clock day is not once the clock has moved."""
        sl, m = self._success_listid(resp)
        if replay_of is not None:
            self.assertEqual(sl, replay_of)
        else:
            now = control.clock(srv)["epoch"]
            self.assertIn(m.group(1), {beijing_ymd(now), beijing_ymd(now - 30)})
        exp = (expected_normal_answer("SUCCESS", SUCCESS_DES, req, sl) if normal
               else expected_success(req, sl))
        self.assertAnswer(resp, exp)
        return sl


class SharedServerCase(E2ETestCase):
    """One server for the whole class, started in setUpClass (each test uses fresh
    billnos and openids). When the class ends: the database invariants, GET
    /admin/v1/check, then stop() with its exit checks; each runs even when one
    before it fails. A subclass that needs more set-up calls
    super().setUpClass() first; a failure there still stops the server."""

    srv = None

    @classmethod
    def server_kwargs(cls):
        """What Server() gets for this class (override: client_auth, args, ...)."""
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = Server(**cls.server_kwargs())
        cls.srv.start()
        cls.addClassCleanup(cls.srv.stop)
        cls.addClassCleanup(control.check, cls.srv)
        cls.addClassCleanup(probe.check_invariants, cls.srv)


class LifecycleCase(E2ETestCase):
    """Servers started here get, before they stop: GET /admin/v1/check == 200, money
    conservation, and the database invariants."""

    def start_server(self, invariants=True, fixture_balances=None, **kwargs):
        srv = super().start_server(invariants=invariants, **kwargs)
        if invariants:
            self.addCleanup(probe.conservation, srv, fixture_balances)
            self.addCleanup(control.check, srv)
        return srv

    def start_lc_server(self, fixture_balances=None, **kwargs):
        """A server on a database file in a temp dir of this test (restartable, with
        kill9); checked like start_server while it runs."""
        srv = Server(db_file=self.temp_db("redpack-lc-"), **kwargs)
        srv.start()
        self.addCleanup(lambda: srv.stopped or srv.stop())
        self.addCleanup(lambda: srv.stopped or probe.check_invariants(srv))
        self.addCleanup(lambda: srv.stopped or probe.conservation(srv, fixture_balances))
        self.addCleanup(lambda: srv.stopped or control.check(srv))
        return srv

    def restart(self, srv, kill=False):
        if kill:
            srv.kill9()
        else:
            srv.stop()
        srv.start()
        return srv

    # -- sends -------------------------------------------------------------

    def group(self, srv, **overrides):
        req = group_request(**overrides)
        resp = send_group(srv, req)
        self.assertSendSuccess(resp, req, srv)
        return req

    def normal(self, srv, **overrides):
        req = normal_request(**overrides)
        resp = send_normal(srv, req)
        self.assertSendSuccess(resp, req, srv, normal=True)
        return req

    def assertNormalErr(self, resp, req, err_code, des):
        des = DES.get(des, NDES.get(des, des))
        self.assertAnswer(resp, expected_normal_answer(err_code, des, req))

    # -- claims ------------------------------------------------------------

    def claim_ok(self, srv, billno, openid, status=None, mch_id=None):
        st, doc = control.claim(srv, billno, openid, mch_id)
        self.assertEqual(st, 201, doc)
        self.assertEqual(set(doc), {"mch_id", "mch_billno", "openid", "seq", "amount", "status",
                                    "rcv_time"}, doc)
        self.assertEqual((doc["mch_billno"], doc["openid"]), (billno, openid))
        if mch_id is not None:
            self.assertEqual(doc["mch_id"], mch_id)
        if status is not None:
            self.assertEqual(doc["status"], status, doc)
        now = control.clock(srv)["epoch"]
        self.assertLessEqual(abs(iso_epoch(doc["rcv_time"]) - now), 5, doc)
        return doc

    def claim_refused(self, srv, billno, openid, http_status=409, status=None, err_code=None,
                      mch_id=None):
        st, doc = control.claim(srv, billno, openid, mch_id)
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
        req = query_request(billno, mch_id=mch_id, appid=appid)
        resp = gethbinfo(srv, fields=req)
        p = probe.db_packet(srv, billno, mch_id)
        self.assertIsNotNone(p)
        probe.check_admin_matches_db(control.packet_ok(srv, billno, mch_id), p)
        if status is not None:
            self.assertEqual(p["status"], status)
        self.assertEqual(resp.status, 200, resp.body[:300])
        check_xml_headers(resp)
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
        des = DES.get(des, NDES.get(des, des))
        self.assertAnswer(resp, expected_query_failure(err_code, des, req))
