#!/usr/bin/env python3
"""Every error code on demand (docs/errors.md, issue 5).

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

from harness import answers, contract, control, golden, probe, wire  # noqa: E402
from harness.cases import E2ETestCase, SharedServerCase  # noqa: E402
from harness.contract import BEIJING, MCH_ID  # noqa: E402

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


class SharedServer(SharedServerCase):
    """One server for the whole class, with the catalogue it serves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.catalogue = control.catalogue(cls.srv)

    def codes(self, endpoint):
        return [c for c, e in self.catalogue.items() if endpoint in e["endpoints"]]

    def unlisted(self, endpoint):
        return [c for c, e in self.catalogue.items() if endpoint not in e["endpoints"]]

    def des(self, code, endpoint):
        return self.catalogue[code]["err_code_des"][endpoint]

    def rows(self, billno, mch_id=MCH_ID):
        return probe.query(self.srv, "SELECT status, reason, err_code, send_listid FROM packets "
                           "WHERE mch_id = ? AND mch_billno = ?", (mch_id, billno))

    def issued_group(self):
        """A fresh SENT group packet: (request, packet JSON)."""
        req = wire.fresh_group_request()
        ans = answers.answer(wire.call(self.srv, "sendgroupredpack", req))
        self.assertEqual(ans["err_code"], "SUCCESS", ans)
        return req, control.packet_doc(self.srv, req["mch_billno"])

    def query_values(self, billno):
        p = control.packet_doc(self.srv, billno)
        return {"mch_billno": billno, "detail_id": p["send_listid"],
                "send_time": beijing_text(p["send_time"] or p["created_at"])}

    def send_values(self, req, resp):
        vals = {"mch_billno": req["mch_billno"], "re_openid": req["re_openid"]}
        ans = answers.answer_dict(resp.body) if resp.status == 200 else {}
        if "send_listid" in ans:
            # Which send_listid is right is checked against the database, not the answer.
            rows = self.rows(req["mch_billno"])
            self.assertEqual(len(rows), 1)
            vals["send_listid"] = rows[0][3]
        return vals

    def check_leaves(self, endpoint, code, req):
        """What the code left behind for req's billno (docs/errors.md: none/held/kept/issued)."""
        rows = self.rows(req["mch_billno"])
        if code == "SUCCESS":
            self.assertEqual([r[0] for r in rows], ["SENT"], "SUCCESS must issue the packet")
        elif code in contract.HELD:
            self.assertEqual(len(rows), 1, "%s must keep the order" % code)
            status, reason, err_code, listid = rows[0]
            self.assertEqual((status, err_code), ("SENDING", code))
            self.assertEqual(reason, self.des(code, endpoint))
            self.assertRegex(listid or "", contract.SEND_LISTID_RE)
            self.assertEqual(probe.shares_of(self.srv, req["mch_billno"]), [])
            self.assertEqual(probe.send_debits(self.srv, req["mch_billno"]), [])
        elif code == "PROCESSING":
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0][:3], ("SENDING", None, None))
        else:
            self.assertEqual(rows, [], "%s must not create an order" % code)


class EveryCode(SharedServer):

    def test_catalogue_and_golden_files(self):
        """Every (endpoint, code) of the catalogue has a golden file, and no golden file
        names a code the endpoint does not list."""
        listed = {ep: set(self.codes(ep)) for ep in contract.ENDPOINTS}
        for ep in contract.ENDPOINTS:
            self.assertIn("SUCCESS", listed[ep])
            self.assertIn("XML_ERROR", listed[ep])
        self.assertIn("NOT_FOUND", listed["gethbinfo"])
        self.assertNotIn("NOT_FOUND", listed["sendgroupredpack"])
        self.assertEqual(listed["sendgroupredpack"] & {"MSGAPPID_ERROR", "ACCEPTMODE_ERROR"}, set())
        for code in contract.HELD + ("PROCESSING",):
            self.assertIn(code, listed["sendredpack"])
        for code in contract.held_codes("sendgroupredpack") + ("PROCESSING",):
            self.assertIn(code, listed["sendgroupredpack"])
        self.assertNotIn("RCVDAMOUNT_LIMIT", listed["sendgroupredpack"])
        for code in contract.HELD:
            self.assertEqual(self.catalogue[code]["order"], "held", code)
        if golden.update_mode():
            return
        for ep in contract.ENDPOINTS:
            for code in listed[ep]:
                self.assertTrue(os.path.isfile(golden.golden_path(ep, code)),
                                "missing golden file %s" % golden.golden_path(ep, code))
            d = os.path.join(golden.GOLDEN_DIR, ep)
            # Besides one file per code, the variants of a code's text (SEND_FAILED_EXPIRED).
            variants = {"SEND_FAILED_EXPIRED"} if "SEND_FAILED" in listed[ep] else set()
            extra = {f[:-4] for f in os.listdir(d) if f.endswith(".xml")} - listed[ep] - variants
            self.assertEqual(extra, set(), "golden files for codes %s does not list" % ep)

    def test_send_codes_by_magic_openid(self):
        for ep in SEND_ENDPOINTS:
            for i, code in enumerate(self.codes(ep)):
                with self.subTest(endpoint=ep, code=code):
                    # Alternate the two openid forms: bare and with a "-tag" suffix.
                    req = wire.request_for(ep, re_openid=magic_openid(code, None if i % 2 else "t%d" % i))
                    resp = wire.call(self.srv, ep, req)
                    golden.assert_golden(self, resp, ep, code, self.send_values(req, resp))
                    self.check_leaves(ep, code, req)

    def test_send_codes_by_header(self):
        for ep in SEND_ENDPOINTS:
            for code in self.codes(ep):
                with self.subTest(endpoint=ep, code=code):
                    req = wire.request_for(ep)
                    resp = wire.call(self.srv, ep, req, headers={contract.NEGATIVE_HEADER: code})
                    golden.assert_golden(self, resp, ep, code, self.send_values(req, resp))
                    self.check_leaves(ep, code, req)

    def test_query_codes_by_header(self):
        req, p = self.issued_group()
        billno = req["mch_billno"]
        before = probe.query(self.srv, "SELECT COUNT(*), SUM(total_amount) FROM packets")
        for code in self.codes("gethbinfo"):
            with self.subTest(code=code):
                resp = wire.call(self.srv, "gethbinfo", wire.query_request(billno),
                              headers={contract.NEGATIVE_HEADER: code})
                golden.assert_golden(self, resp, "gethbinfo", code, self.query_values(billno))
        # Asking a query for an error never changes the store.
        self.assertEqual(probe.query(self.srv, "SELECT COUNT(*), SUM(total_amount) FROM packets"),
                         before)
        self.assertEqual(control.packet_doc(self.srv, billno)["status"], "SENT")

    def test_query_not_found_and_success_naturally(self):
        """The natural NOT_FOUND and SUCCESS answers equal the on-demand golden files."""
        missing = wire.new_billno()
        resp = wire.call(self.srv, "gethbinfo", wire.query_request(missing))
        golden.assert_golden(self, resp, "gethbinfo", "NOT_FOUND", {"mch_billno": missing})
        req, p = self.issued_group()
        resp = wire.call(self.srv, "gethbinfo", wire.query_request(req["mch_billno"]))
        golden.assert_golden(self, resp, "gethbinfo", "SUCCESS", self.query_values(req["mch_billno"]))

    def test_header_wins_over_openid(self):
        for ep in SEND_ENDPOINTS:
            with self.subTest(endpoint=ep):
                req = wire.request_for(ep, re_openid=magic_openid("SYSTEMERROR", "hw"))
                resp = wire.call(self.srv, ep, req, headers={contract.NEGATIVE_HEADER: "NOTENOUGH"})
                golden.assert_golden(self, resp, ep, "NOTENOUGH", self.send_values(req, resp))
                self.check_leaves(ep, "NOTENOUGH", req)

    def test_codes_not_of_the_endpoint_are_ignored(self):
        for ep in SEND_ENDPOINTS:
            for code in self.unlisted(ep) + ["NO_SUCH_CODE", "notenough", ""]:
                with self.subTest(endpoint=ep, code=code, via="header"):
                    req = wire.request_for(ep)
                    resp = wire.call(self.srv, ep, req, headers={contract.NEGATIVE_HEADER: code})
                    golden.assert_golden(self, resp, ep, "SUCCESS", self.send_values(req, resp))
                    self.check_leaves(ep, "SUCCESS", req)
                if not code or not all(c.isalnum() or c == "_" for c in code):
                    continue
                with self.subTest(endpoint=ep, code=code, via="openid"):
                    req = wire.request_for(ep, re_openid=magic_openid(code, "ig"))
                    resp = wire.call(self.srv, ep, req)
                    golden.assert_golden(self, resp, ep, "SUCCESS", self.send_values(req, resp))
                    self.check_leaves(ep, "SUCCESS", req)
        req, p = self.issued_group()
        for code in self.unlisted("gethbinfo") + ["NO_SUCH_CODE"]:
            with self.subTest(endpoint="gethbinfo", code=code):
                resp = wire.call(self.srv, "gethbinfo", wire.query_request(req["mch_billno"]),
                              headers={contract.NEGATIVE_HEADER: code})
                golden.assert_golden(self, resp, "gethbinfo", "SUCCESS",
                                self.query_values(req["mch_billno"]))
        self.assertIn("ignored", self.srv.stderr_text())

    def test_magic_comes_after_the_checks(self):
        """The request must be otherwise valid: signature, certificate and fields first;
        only the header's XML_ERROR answers at once."""
        req = wire.fresh_group_request(re_openid=magic_openid("NOTENOUGH"))
        resp = wire.call(self.srv, "sendgroupredpack", req, key="0" * 32)
        self.assertEqual(answers.answer(resp)["err_code"], "SIGN_ERROR")
        resp = wire.call(self.srv, "sendgroupredpack", req, cert=contract.MCH2_ID)
        self.assertEqual(answers.answer(resp)["err_code"], "CA_ERROR")
        req = wire.fresh_group_request(total_num=2)
        resp = wire.call(self.srv, "sendgroupredpack", req, headers={contract.NEGATIVE_HEADER: "NOTENOUGH"})
        self.assertEqual(answers.answer(resp)["err_code"], "PARAM_ERROR")
        self.assertEqual(self.rows(req["mch_billno"]), [])
        # XML_ERROR by header answers before the body is even read as XML.
        resp = wire.post(self.srv, contract.GROUP_PATH, b"not xml at all",
                          headers={contract.NEGATIVE_HEADER: "XML_ERROR"})
        golden.assert_golden(self, resp, "sendgroupredpack", "XML_ERROR", {})


class HeldAndProcessing(SharedServer):

    def test_held_codes_burn_the_billno(self):
        for ep in SEND_ENDPOINTS:
            for code in contract.held_codes(ep):
                for via in ("openid", "header"):
                    with self.subTest(endpoint=ep, code=code, via=via):
                        bal = probe.balance(self.srv)
                        if via == "openid":
                            req = wire.request_for(ep, re_openid=magic_openid(code, "h"))
                            resp = wire.call(self.srv, ep, req)
                        else:
                            req = wire.request_for(ep)
                            resp = wire.call(self.srv, ep, req, headers={contract.NEGATIVE_HEADER: code})
                        self.assertEqual(answers.answer(resp)["err_code"], code)
                        self.check_leaves(ep, code, req)
                        # A resend (even without the magic) gets SEND_FAILED, byte for byte.
                        again = dict(req, nonce_str=wire.new_nonce())
                        resp = wire.call(self.srv, ep, again)
                        golden.assert_golden(self, resp, ep, "SEND_FAILED", self.send_values(req, resp))
                        # gethbinfo shows the held order with its reason.
                        q = answers.answer(wire.call(self.srv, "gethbinfo", wire.query_request(req["mch_billno"])))
                        self.assertEqual((q["err_code"], q["status"], q.get("reason")),
                                         ("SUCCESS", "SENDING", self.des(code, ep)))
                        self.assertNotIn("hblist", q)
                        self.assertEqual(probe.balance(self.srv), bal, "a held order debits nothing")

    def _processing(self, ep, via):
        if via == "openid":
            req = wire.request_for(ep, re_openid=magic_openid("PROCESSING", "p"))
            resp = wire.call(self.srv, ep, req)
        else:
            req = wire.request_for(ep)
            resp = wire.call(self.srv, ep, req, headers={contract.NEGATIVE_HEADER: "PROCESSING"})
        golden.assert_golden(self, resp, ep, "PROCESSING", self.send_values(req, resp))
        self.check_leaves(ep, "PROCESSING", req)
        return req

    def _query(self, billno):
        return answers.answer(wire.call(self.srv, "gethbinfo", wire.query_request(billno)))

    def test_processing_then_settle_sent(self):
        for ep in SEND_ENDPOINTS:
            for via in ("openid", "header"):
                with self.subTest(endpoint=ep, via=via):
                    bal = probe.balance(self.srv)
                    req = self._processing(ep, via)
                    billno = req["mch_billno"]
                    # A resend (same openid and amount) answers PROCESSING again.
                    resp = wire.call(self.srv, ep, dict(req, nonce_str=wire.new_nonce()))
                    golden.assert_golden(self, resp, ep, "PROCESSING", self.send_values(req, resp))
                    q = self._query(billno)
                    self.assertEqual((q["status"], q.get("reason")), ("SENDING", None))
                    self.assertEqual(probe.balance(self.srv), bal)
                    # Settle it as sent.
                    doc = control.admin_ok(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                     {"result": "SENT"})
                    self.assertEqual(doc["status"], "SENT")
                    q = self._query(billno)
                    self.assertEqual(q["status"], "SENT")
                    resp = wire.call(self.srv, ep, dict(req, nonce_str=wire.new_nonce()))
                    vals = self.send_values(req, resp)
                    golden.assert_golden(self, resp, ep, "SUCCESS", vals)
                    self.assertEqual(answers.answer_dict(resp.body)["send_listid"], q["detail_id"])
                    self.assertEqual(doc["send_listid"], q["detail_id"])
                    # Exactly one debit, of the whole amount, and the shares drawn.
                    total = int(req["total_amount"])
                    self.assertEqual(probe.send_debits(self.srv, billno), [-total])
                    self.assertEqual(probe.balance(self.srv), bal - total)
                    shares = probe.shares_of(self.srv, billno)
                    self.assertEqual((len(shares), sum(shares)), (int(req["total_num"]), total))
                    # A third resend is the same success, still one debit.
                    resp2 = wire.call(self.srv, ep, dict(req, nonce_str=wire.new_nonce()))
                    self.assertEqual(resp2.body, resp.body)
                    self.assertEqual(probe.send_debits(self.srv, billno), [-total])
                    # A settled order settles no more.
                    st, err, raw = control.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                           {"result": "SENT"})
                    self.assertEqual(st, 409, raw)
                    self.assertIn("error", err)

    def test_processing_then_settle_failed(self):
        for ep in SEND_ENDPOINTS:
            with self.subTest(endpoint=ep):
                bal = probe.balance(self.srv)
                req = self._processing(ep, "header")
                billno = req["mch_billno"]
                doc = control.admin_ok(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                 {"result": "FAILED", "mch_id": MCH_ID})
                self.assertEqual(doc["status"], "FAILED")
                resp = wire.call(self.srv, ep, dict(req, nonce_str=wire.new_nonce()))
                golden.assert_golden(self, resp, ep, "SEND_FAILED", self.send_values(req, resp))
                self.assertEqual(self._query(billno)["status"], "FAILED")
                self.assertEqual(probe.balance(self.srv), bal)
                self.assertEqual(probe.send_debits(self.srv, billno), [])
                st, _, raw = control.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % billno,
                                     {"result": "SENT"})
                self.assertEqual(st, 409, raw)

    def test_settle_refusals(self):
        # An issued packet is not pending.
        req, p = self.issued_group()
        st, doc, raw = control.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % req["mch_billno"],
                               {"result": "SENT"})
        self.assertEqual(st, 409, raw)
        st, doc, raw = control.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % req["mch_billno"],
                               {"result": "FAILED"})
        self.assertEqual(st, 409, raw)
        self.assertEqual(control.packet_doc(self.srv, req["mch_billno"])["status"], "SENT")
        # An order held by a limit is not pending either.
        held = wire.fresh_group_request(re_openid=magic_openid("NOTENOUGH"))
        wire.call(self.srv, "sendgroupredpack", held)
        st, doc, raw = control.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % held["mch_billno"],
                               {"result": "SENT"})
        self.assertEqual(st, 409, raw)
        self.assertEqual(self.rows(held["mch_billno"])[0][0], "SENDING")
        # Unknown billno, bad bodies.
        st, doc, raw = control.admin(self.srv, "POST", "/admin/v1/packets/%s/settle" % wire.new_billno(),
                               {"result": "SENT"})
        self.assertEqual(st, 404, raw)
        pend = self._processing("sendgroupredpack", "openid")
        path = "/admin/v1/packets/%s/settle" % pend["mch_billno"]
        for bad in ({"result": "RECEIVED"}, {}, {"result": "SENT", "extra": 1},
                    {"result": "SENT", "mch_id": 10000098}):
            st, doc, raw = control.admin(self.srv, "POST", path, bad)
            self.assertEqual(st, 400, (bad, raw))
            self.assertIsInstance(doc.get("error"), str)
        st, doc, raw = control.admin(self.srv, "POST", path, raw=b"{not json")
        self.assertEqual(st, 400, raw)
        self.assertEqual(self.rows(pend["mch_billno"])[0][:2], ("SENDING", None))


class TwentyFourHours(E2ETestCase):
    """Moves the clock: its own server."""

    def test_unsettled_processing_and_held_orders_fail_after_a_day(self):
        srv = self.start_server()
        pend = {ep: wire.request_for(ep, re_openid=magic_openid("PROCESSING", ep[:4])) for ep in SEND_ENDPOINTS}
        held = {ep: wire.request_for(ep, re_openid=magic_openid("NOTENOUGH", ep[:4])) for ep in SEND_ENDPOINTS}
        for ep in SEND_ENDPOINTS:
            self.assertEqual(answers.answer(wire.call(srv, ep, pend[ep]))["err_code"], "PROCESSING")
            self.assertEqual(answers.answer(wire.call(srv, ep, held[ep]))["err_code"], "NOTENOUGH")
        control.advance(srv, DAY - 120)
        for ep in SEND_ENDPOINTS:
            self.assertEqual(control.packet_doc(srv, pend[ep]["mch_billno"])["status"], "SENDING")
            self.assertEqual(answers.answer(wire.call(srv, ep, dict(pend[ep], nonce_str=wire.new_nonce())))
                             ["err_code"], "PROCESSING")
        control.advance(srv, 121)
        for ep in SEND_ENDPOINTS:
            with self.subTest(endpoint=ep):
                p = control.packet_doc(srv, pend[ep]["mch_billno"])
                self.assertEqual((p["status"], p["reason"]), ("FAILED", None))
                # A day after it was first used, the billno has expired (spec 3.2 row 21).
                for req in (pend[ep], held[ep]):
                    resp = wire.call(srv, ep, dict(req, nonce_str=wire.new_nonce()))
                    golden.assert_golden(self, resp, ep, "SEND_FAILED_EXPIRED",
                                    {"mch_billno": req["mch_billno"], "re_openid": req["re_openid"]})
                q = answers.answer(wire.call(srv, "gethbinfo", wire.query_request(pend[ep]["mch_billno"])))
                self.assertEqual(q["status"], "FAILED")
                st, _, raw = control.admin(srv, "POST", "/admin/v1/packets/%s/settle" % pend[ep]["mch_billno"],
                                     {"result": "SENT"})
                self.assertEqual(st, 409, raw)
                h = control.packet_doc(srv, held[ep]["mch_billno"])
                self.assertEqual(h["status"], "FAILED")
                self.assertEqual(h["reason"], "帐号余额不足，请到商户平台充值后再重试")
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM ledger WHERE kind = 'send'"), [(0,)])
        control.check(srv)


if __name__ == "__main__":
    unittest.main(verbosity=2)
