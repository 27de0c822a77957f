#!/usr/bin/env python3
"""Every error code on demand (README "Every error code on demand", issue 5).

Each catalogue code of each endpoint (GET /admin/v1/errors) is asked for by
the magic openid oMOCK_<CODE> (send endpoints) and by the header
Wechatpay-Negative-Test: <CODE> (all three), and the answer must equal the
golden file tests/golden/<endpoint>/<CODE>.xml byte for byte (placeholders
filled in). Then what each code leaves behind: HELD codes, PROCESSING and
its settlement, the 24-hour failure, ignored codes.

REDPACK_GOLDEN_UPDATE=1 writes missing golden files from the server's answers
(both ways of asking must agree); read them against the protocol reference
before committing.
"""

import datetime
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rpsim  # noqa: E402
import ondemand_util as u  # noqa: E402
from rpsim import BEIJING, MCH_ID  # noqa: E402

SEND_ENDPOINTS = ("sendgroupredpack", "sendredpack")
DAY = 86400


def magic_openid(code, tag=None):
    """oMOCK_<CODE>, or oMOCK_<CODE>-<tag> when that still fits in 32 characters."""
    base = "oMOCK_" + code
    if tag is None:
        return base
    s = base + "-" + tag
    return s if len(s) <= 32 else base


def beijing_text(iso):
    """The control API's "...+08:00" time as the wire's "yyyy-MM-dd HH:mm:ss"."""
    return datetime.datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


class SharedServer(rpsim.E2ETestCase):
    """One server for the whole class (each test uses fresh billnos and openids)."""

    srv = None

    @classmethod
    def setUpClass(cls):
        cls.srv = rpsim.Server()
        cls.srv.start()
        try:
            cls.catalogue = u.catalogue(cls.srv)
        except BaseException:
            cls.srv.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        srv, cls.srv = cls.srv, None
        try:
            rpsim.check_invariants(srv)
            u.check_api(srv)
        finally:
            srv.stop()

    def codes(self, endpoint):
        return [c for c, e in self.catalogue.items() if endpoint in e["endpoints"]]

    def unlisted(self, endpoint):
        return [c for c, e in self.catalogue.items() if endpoint not in e["endpoints"]]

    def des(self, code, endpoint):
        return self.catalogue[code]["err_code_des"][endpoint]

    def rows(self, billno, mch_id=MCH_ID):
        return rpsim.query(self.srv, "SELECT status, reason, err_code, send_listid FROM packets "
                           "WHERE mch_id = ? AND mch_billno = ?", (mch_id, billno))

    def issued_group(self):
        """A fresh SENT group packet: (request, packet JSON)."""
        req = u.group_request()
        ans = u.answer(u.call(self.srv, "sendgroupredpack", req))
        self.assertEqual(ans["err_code"], "SUCCESS", ans)
        return req, u.packet(self.srv, req["mch_billno"])

    def query_values(self, billno):
        p = u.packet(self.srv, billno)
        return {"mch_billno": billno, "detail_id": p["send_listid"],
                "send_time": beijing_text(p["send_time"] or p["created_at"])}

    def send_values(self, req, resp):
        vals = {"mch_billno": req["mch_billno"], "re_openid": req["re_openid"]}
        ans = rpsim.answer_dict(resp.body) if resp.status == 200 else {}
        if "send_listid" in ans:
            # Which send_listid is right is checked against the database, not the answer.
            rows = self.rows(req["mch_billno"])
            self.assertEqual(len(rows), 1)
            vals["send_listid"] = rows[0][3]
        return vals

    def check_leaves(self, endpoint, code, req):
        """What the code left behind for req's billno (README: none/held/kept/issued)."""
        rows = self.rows(req["mch_billno"])
        if code == "SUCCESS":
            self.assertEqual([r[0] for r in rows], ["SENT"], "SUCCESS must issue the packet")
        elif code in u.HELD:
            self.assertEqual(len(rows), 1, "%s must keep the order" % code)
            status, reason, err_code, listid = rows[0]
            self.assertEqual((status, err_code), ("SENDING", code))
            self.assertEqual(reason, self.des(code, endpoint))
            self.assertRegex(listid or "", rpsim.SEND_LISTID_RE)
            self.assertEqual(rpsim.shares_of(self.srv, req["mch_billno"]), [])
            self.assertEqual(rpsim.send_debits(self.srv, req["mch_billno"]), [])
        elif code == "PROCESSING":
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0][:3], ("SENDING", None, None))
        else:
            self.assertEqual(rows, [], "%s must not create an order" % code)


class EveryCode(SharedServer):

    def test_catalogue_and_golden_files(self):
        """Every (endpoint, code) of the catalogue has a golden file, and no golden file
        names a code the endpoint does not list."""
        listed = {ep: set(self.codes(ep)) for ep in u.ENDPOINTS}
        for ep in u.ENDPOINTS:
            self.assertIn("SUCCESS", listed[ep])
            self.assertIn("XML_ERROR", listed[ep])
        self.assertIn("NOT_FOUND", listed["gethbinfo"])
        self.assertNotIn("NOT_FOUND", listed["sendgroupredpack"])
        self.assertEqual(listed["sendgroupredpack"] & {"MSGAPPID_ERROR", "ACCEPTMODE_ERROR"}, set())
        for code in u.HELD + ("PROCESSING",):
            self.assertIn(code, listed["sendredpack"])
        for code in u.held_codes("sendgroupredpack") + ("PROCESSING",):
            self.assertIn(code, listed["sendgroupredpack"])
        self.assertNotIn("RCVDAMOUNT_LIMIT", listed["sendgroupredpack"])
        for code in u.HELD:
            self.assertEqual(self.catalogue[code]["order"], "held", code)
        if u.update_mode():
            return
        for ep in u.ENDPOINTS:
            for code in listed[ep]:
                self.assertTrue(os.path.isfile(u.golden_path(ep, code)),
                                "missing golden file %s" % u.golden_path(ep, code))
            d = os.path.join(u.GOLDEN_DIR, ep)
            # Besides one file per code, the variants of a code's text (SEND_FAILED_EXPIRED).
            variants = {"SEND_FAILED_EXPIRED"} if "SEND_FAILED" in listed[ep] else set()
            extra = {f[:-4] for f in os.listdir(d) if f.endswith(".xml")} - listed[ep] - variants
            self.assertEqual(extra, set(), "golden files for codes %s does not list" % ep)

    def test_send_codes_by_magic_openid(self):
        for ep in SEND_ENDPOINTS:
            for i, code in enumerate(self.codes(ep)):
                with self.subTest(endpoint=ep, code=code):
                    # Alternate the two openid forms: bare and with a "-tag" suffix.
                    req = u.request_for(ep, re_openid=magic_openid(code, None if i % 2 else "t%d" % i))
                    resp = u.call(self.srv, ep, req)
                    u.assert_golden(self, resp, ep, code, self.send_values(req, resp))
                    self.check_leaves(ep, code, req)

    def test_send_codes_by_header(self):
        for ep in SEND_ENDPOINTS:
            for code in self.codes(ep):
                with self.subTest(endpoint=ep, code=code):
                    req = u.request_for(ep)
                    resp = u.call(self.srv, ep, req, headers={u.NEGATIVE_HEADER: code})
                    u.assert_golden(self, resp, ep, code, self.send_values(req, resp))
                    self.check_leaves(ep, code, req)

    def test_query_codes_by_header(self):
        req, p = self.issued_group()
        billno = req["mch_billno"]
        before = rpsim.query(self.srv, "SELECT COUNT(*), SUM(total_amount) FROM packets")
        for code in self.codes("gethbinfo"):
            with self.subTest(code=code):
                resp = u.call(self.srv, "gethbinfo", u.query_request(billno),
                              headers={u.NEGATIVE_HEADER: code})
                u.assert_golden(self, resp, "gethbinfo", code, self.query_values(billno))
        # Asking a query for an error never changes the store.
        self.assertEqual(rpsim.query(self.srv, "SELECT COUNT(*), SUM(total_amount) FROM packets"),
                         before)
        self.assertEqual(u.packet(self.srv, billno)["status"], "SENT")

    def test_query_not_found_and_success_naturally(self):
        """The natural NOT_FOUND and SUCCESS answers equal the on-demand golden files."""
        missing = rpsim.new_billno()
        resp = u.call(self.srv, "gethbinfo", u.query_request(missing))
        u.assert_golden(self, resp, "gethbinfo", "NOT_FOUND", {"mch_billno": missing})
        req, p = self.issued_group()
        resp = u.call(self.srv, "gethbinfo", u.query_request(req["mch_billno"]))
        u.assert_golden(self, resp, "gethbinfo", "SUCCESS", self.query_values(req["mch_billno"]))

    def test_header_wins_over_openid(self):
        for ep in SEND_ENDPOINTS:
            with self.subTest(endpoint=ep):
                req = u.request_for(ep, re_openid=magic_openid("SYSTEMERROR", "hw"))
                resp = u.call(self.srv, ep, req, headers={u.NEGATIVE_HEADER: "NOTENOUGH"})
                u.assert_golden(self, resp, ep, "NOTENOUGH", self.send_values(req, resp))
                self.check_leaves(ep, "NOTENOUGH", req)

    def test_codes_not_of_the_endpoint_are_ignored(self):
        for ep in SEND_ENDPOINTS:
            for code in self.unlisted(ep) + ["NO_SUCH_CODE", "notenough", ""]:
                with self.subTest(endpoint=ep, code=code, via="header"):
                    req = u.request_for(ep)
                    resp = u.call(self.srv, ep, req, headers={u.NEGATIVE_HEADER: code})
                    u.assert_golden(self, resp, ep, "SUCCESS", self.send_values(req, resp))
                    self.check_leaves(ep, "SUCCESS", req)
                if not code or not all(c.isalnum() or c == "_" for c in code):
                    continue
                with self.subTest(endpoint=ep, code=code, via="openid"):
                    req = u.request_for(ep, re_openid=magic_openid(code, "ig"))
                    resp = u.call(self.srv, ep, req)
                    u.assert_golden(self, resp, ep, "SUCCESS", self.send_values(req, resp))
                    self.check_leaves(ep, "SUCCESS", req)
        req, p = self.issued_group()
        for code in self.unlisted("gethbinfo") + ["NO_SUCH_CODE"]:
            with self.subTest(endpoint="gethbinfo", code=code):
                resp = u.call(self.srv, "gethbinfo", u.query_request(req["mch_billno"]),
                              headers={u.NEGATIVE_HEADER: code})
                u.assert_golden(self, resp, "gethbinfo", "SUCCESS",
                                self.query_values(req["mch_billno"]))
        self.assertIn("ignored", self.srv.stderr_text())

    def test_magic_comes_after_the_checks(self):
        """The request must be otherwise valid: signature, certificate and fields first;
        only the header's XML_ERROR answers at once."""
        req = u.group_request(re_openid=magic_openid("NOTENOUGH"))
        resp = u.call(self.srv, "sendgroupredpack", req, key="0" * 32)
        self.assertEqual(u.answer(resp)["err_code"], "SIGN_ERROR")
        resp = u.call(self.srv, "sendgroupredpack", req, cert=rpsim.MCH2_ID)
        self.assertEqual(u.answer(resp)["err_code"], "CA_ERROR")
        req = u.group_request(total_num=2)
        resp = u.call(self.srv, "sendgroupredpack", req, headers={u.NEGATIVE_HEADER: "NOTENOUGH"})
        self.assertEqual(u.answer(resp)["err_code"], "PARAM_ERROR")
        self.assertEqual(self.rows(req["mch_billno"]), [])
        # XML_ERROR by header answers before the body is even read as XML.
        resp = rpsim.post(self.srv, u.GROUP_PATH, b"not xml at all",
                          headers={u.NEGATIVE_HEADER: "XML_ERROR"})
        u.assert_golden(self, resp, "sendgroupredpack", "XML_ERROR", {})


class HeldAndProcessing(SharedServer):

    def test_held_codes_burn_the_billno(self):
        for ep in SEND_ENDPOINTS:
            for code in u.held_codes(ep):
                for via in ("openid", "header"):
                    with self.subTest(endpoint=ep, code=code, via=via):
                        bal = rpsim.balance(self.srv)
                        if via == "openid":
                            req = u.request_for(ep, re_openid=magic_openid(code, "h"))
                            resp = u.call(self.srv, ep, req)
                        else:
                            req = u.request_for(ep)
                            resp = u.call(self.srv, ep, req, headers={u.NEGATIVE_HEADER: code})
                        self.assertEqual(u.answer(resp)["err_code"], code)
                        self.check_leaves(ep, code, req)
                        # A resend (even without the magic) gets SEND_FAILED, byte for byte.
                        again = dict(req, nonce_str=rpsim.new_nonce())
                        resp = u.call(self.srv, ep, again)
                        u.assert_golden(self, resp, ep, "SEND_FAILED", self.send_values(req, resp))
                        # gethbinfo shows the held order with its reason.
                        q = u.answer(u.call(self.srv, "gethbinfo", u.query_request(req["mch_billno"])))
                        self.assertEqual((q["err_code"], q["status"], q.get("reason")),
                                         ("SUCCESS", "SENDING", self.des(code, ep)))
                        self.assertNotIn("hblist", q)
                        self.assertEqual(rpsim.balance(self.srv), bal, "a held order debits nothing")

    def _processing(self, ep, via):
        if via == "openid":
            req = u.request_for(ep, re_openid=magic_openid("PROCESSING", "p"))
            resp = u.call(self.srv, ep, req)
        else:
            req = u.request_for(ep)
            resp = u.call(self.srv, ep, req, headers={u.NEGATIVE_HEADER: "PROCESSING"})
        u.assert_golden(self, resp, ep, "PROCESSING", self.send_values(req, resp))
        self.check_leaves(ep, "PROCESSING", req)
        return req

    def _query(self, billno):
        return u.answer(u.call(self.srv, "gethbinfo", u.query_request(billno)))

    def test_processing_then_settle_sent(self):
        for ep in SEND_ENDPOINTS:
            for via in ("openid", "header"):
                with self.subTest(endpoint=ep, via=via):
                    bal = rpsim.balance(self.srv)
                    req = self._processing(ep, via)
                    billno = req["mch_billno"]
                    # A resend (same openid and amount) answers PROCESSING again.
                    resp = u.call(self.srv, ep, dict(req, nonce_str=rpsim.new_nonce()))
                    u.assert_golden(self, resp, ep, "PROCESSING", self.send_values(req, resp))
                    q = self._query(billno)
                    self.assertEqual((q["status"], q.get("reason")), ("SENDING", None))
                    self.assertEqual(rpsim.balance(self.srv), bal)
                    # Settle it as sent.
                    doc = u.admin_ok(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                     {"result": "SENT"})
                    self.assertEqual(doc["status"], "SENT")
                    q = self._query(billno)
                    self.assertEqual(q["status"], "SENT")
                    resp = u.call(self.srv, ep, dict(req, nonce_str=rpsim.new_nonce()))
                    vals = self.send_values(req, resp)
                    u.assert_golden(self, resp, ep, "SUCCESS", vals)
                    self.assertEqual(rpsim.answer_dict(resp.body)["send_listid"], q["detail_id"])
                    self.assertEqual(doc["send_listid"], q["detail_id"])
                    # Exactly one debit, of the whole amount, and the shares drawn.
                    total = int(req["total_amount"])
                    self.assertEqual(rpsim.send_debits(self.srv, billno), [-total])
                    self.assertEqual(rpsim.balance(self.srv), bal - total)
                    shares = rpsim.shares_of(self.srv, billno)
                    self.assertEqual((len(shares), sum(shares)), (int(req["total_num"]), total))
                    # A third resend is the same success, still one debit.
                    resp2 = u.call(self.srv, ep, dict(req, nonce_str=rpsim.new_nonce()))
                    self.assertEqual(resp2.body, resp.body)
                    self.assertEqual(rpsim.send_debits(self.srv, billno), [-total])
                    # A settled order settles no more.
                    st, err, raw = u.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                           {"result": "SENT"})
                    self.assertEqual(st, 409, raw)
                    self.assertIn("error", err)

    def test_processing_then_settle_failed(self):
        for ep in SEND_ENDPOINTS:
            with self.subTest(endpoint=ep):
                bal = rpsim.balance(self.srv)
                req = self._processing(ep, "header")
                billno = req["mch_billno"]
                doc = u.admin_ok(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                 {"result": "FAILED", "mch_id": MCH_ID})
                self.assertEqual(doc["status"], "FAILED")
                resp = u.call(self.srv, ep, dict(req, nonce_str=rpsim.new_nonce()))
                u.assert_golden(self, resp, ep, "SEND_FAILED", self.send_values(req, resp))
                self.assertEqual(self._query(billno)["status"], "FAILED")
                self.assertEqual(rpsim.balance(self.srv), bal)
                self.assertEqual(rpsim.send_debits(self.srv, billno), [])
                st, _, raw = u.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                     {"result": "SENT"})
                self.assertEqual(st, 409, raw)

    def test_settle_refusals(self):
        # An issued packet is not pending.
        req, p = self.issued_group()
        st, doc, raw = u.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % req["mch_billno"],
                               {"result": "SENT"})
        self.assertEqual(st, 409, raw)
        st, doc, raw = u.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % req["mch_billno"],
                               {"result": "FAILED"})
        self.assertEqual(st, 409, raw)
        self.assertEqual(u.packet(self.srv, req["mch_billno"])["status"], "SENT")
        # An order held by a limit is not pending either.
        held = u.group_request(re_openid=magic_openid("NOTENOUGH"))
        u.call(self.srv, "sendgroupredpack", held)
        st, doc, raw = u.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % held["mch_billno"],
                               {"result": "SENT"})
        self.assertEqual(st, 409, raw)
        self.assertEqual(self.rows(held["mch_billno"])[0][0], "SENDING")
        # Unknown billno, bad bodies.
        st, doc, raw = u.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % rpsim.new_billno(),
                               {"result": "SENT"})
        self.assertEqual(st, 404, raw)
        pend = self._processing("sendgroupredpack", "openid")
        path = "/admin/v1/packets/%s/settle" % pend["mch_billno"]
        for bad in ({"result": "RECEIVED"}, {}, {"result": "SENT", "extra": 1},
                    {"result": "SENT", "mch_id": 10000098}):
            st, doc, raw = u.admin(self.srv, "POST", path, bad)
            self.assertEqual(st, 400, (bad, raw))
            self.assertIsInstance(doc.get("error"), str)
        st, doc, raw = u.admin(self.srv, "POST", path, raw=b"{not json")
        self.assertEqual(st, 400, raw)
        self.assertEqual(self.rows(pend["mch_billno"])[0][:2], ("SENDING", None))


class TwentyFourHours(rpsim.E2ETestCase):
    """Moves the clock: its own server."""

    def test_unsettled_processing_and_held_orders_fail_after_a_day(self):
        srv = self.start_server()
        pend = {ep: u.request_for(ep, re_openid=magic_openid("PROCESSING", ep[:4])) for ep in SEND_ENDPOINTS}
        held = {ep: u.request_for(ep, re_openid=magic_openid("NOTENOUGH", ep[:4])) for ep in SEND_ENDPOINTS}
        for ep in SEND_ENDPOINTS:
            self.assertEqual(u.answer(u.call(srv, ep, pend[ep]))["err_code"], "PROCESSING")
            self.assertEqual(u.answer(u.call(srv, ep, held[ep]))["err_code"], "NOTENOUGH")
        u.advance(srv, DAY - 120)
        for ep in SEND_ENDPOINTS:
            self.assertEqual(u.packet(srv, pend[ep]["mch_billno"])["status"], "SENDING")
            self.assertEqual(u.answer(u.call(srv, ep, dict(pend[ep], nonce_str=rpsim.new_nonce())))
                             ["err_code"], "PROCESSING")
        u.advance(srv, 121)
        for ep in SEND_ENDPOINTS:
            with self.subTest(endpoint=ep):
                p = u.packet(srv, pend[ep]["mch_billno"])
                self.assertEqual((p["status"], p["reason"]), ("FAILED", None))
                # A day after it was first used, the billno has expired (spec 3.2 row 21).
                for req in (pend[ep], held[ep]):
                    resp = u.call(srv, ep, dict(req, nonce_str=rpsim.new_nonce()))
                    u.assert_golden(self, resp, ep, "SEND_FAILED_EXPIRED",
                                    {"mch_billno": req["mch_billno"], "re_openid": req["re_openid"]})
                q = u.answer(u.call(srv, "gethbinfo", u.query_request(pend[ep]["mch_billno"])))
                self.assertEqual(q["status"], "FAILED")
                st, _, raw = u.admin(srv, "POST", "/admin/v1/packets/%s/settle" % pend[ep]["mch_billno"],
                                     {"result": "SENT"})
                self.assertEqual(st, 409, raw)
                h = u.packet(srv, held[ep]["mch_billno"])
                self.assertEqual(h["status"], "FAILED")
                self.assertEqual(h["reason"], "帐号余额不足，请到商户平台充值后再重试")
        self.assertEqual(rpsim.query(srv, "SELECT COUNT(*) FROM ledger WHERE kind = 'send'"), [(0,)])
        u.check_api(srv)


if __name__ == "__main__":
    unittest.main(verbosity=2)
