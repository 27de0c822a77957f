#!/usr/bin/env python3
"""The verification API (issue 13.1): GET /admin/v1/requests and /requests/count with
their filters, DELETE /admin/v1/requests, the journal's bounds never giving a wrong
count, and redpack-ctl requests / verify."""

import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import answers, contract, control, wire  # noqa: E402
from harness.cases import E2ETestCase, SharedServerCase  # noqa: E402
from harness.contract import MCH_ID  # noqa: E402

FILTERS = ("endpoint", "mch_id", "mch_billno", "re_openid", "err_code", "since", "until")


def query(**params):
    return ("?" + urllib.parse.urlencode(params)) if params else ""


class Verification(SharedServerCase):

    def setUp(self):
        control.admin_ok(self.srv, "DELETE", "/admin/v1/requests")

    def count(self, **params):
        doc = control.admin_ok(self.srv, "GET", "/admin/v1/requests/count" + query(**params))
        self.assertEqual(set(doc), {"count", "complete"})
        self.assertIs(doc["complete"], True)
        return doc["count"]

    def listed(self, **params):
        return control.admin_ok(self.srv, "GET", "/admin/v1/requests" + query(**params))

    def test_filters_count_what_was_sent(self):
        openid, other = wire.new_openid(), wire.new_openid()
        g1 = wire.group_request(re_openid=openid)
        g2 = wire.group_request(re_openid=other, total_amount="600", total_num="3")
        n1 = wire.normal_request(re_openid=openid)
        for req, send in ((g1, wire.send_group), (g2, wire.send_group), (n1, wire.send_normal)):
            self.assertEqual(answers.answer_dict(send(self.srv, req).body)["err_code"], "SUCCESS")
        bad = wire.group_request(re_openid=openid)
        wire.send_group(self.srv, bad, key="0" * 32)  # SIGN_ERROR
        q = wire.query_request(g1["mch_billno"])
        wire.post_signed(self.srv, contract.QUERY_PATH, q)

        self.assertEqual(self.count(), 5)
        self.assertEqual(self.count(endpoint="sendgroupredpack"), 3)
        self.assertEqual(self.count(endpoint="sendgroupredpack", re_openid=openid), 2)
        self.assertEqual(self.count(endpoint="sendgroupredpack", re_openid=openid,
                                    err_code="SUCCESS"), 1)
        self.assertEqual(self.count(re_openid=openid), 3)  # gethbinfo has no re_openid
        self.assertEqual(self.count(mch_billno=g1["mch_billno"]), 2)  # the send and the query
        self.assertEqual(self.count(endpoint="gethbinfo", mch_id=MCH_ID), 1)
        self.assertEqual(self.count(err_code="SIGN_ERROR"), 1)
        self.assertEqual(self.count(mch_id="10000099"), 0)

        doc = self.listed(endpoint="sendgroupredpack", re_openid=openid, err_code="SUCCESS")
        self.assertEqual((doc["count"], doc["complete"], doc["dropped"], doc["next"]),
                         (1, True, 0, None))
        (r,) = doc["requests"]
        self.assertEqual((r["endpoint"], r["mch_id"], r["mch_billno"], r["err_code"]),
                         ("sendgroupredpack", MCH_ID, g1["mch_billno"], "SUCCESS"))
        # The fields as the server parsed them, sign included; a key never is.
        self.assertEqual(r["fields"], g1 if "sign" in g1 else dict(g1, sign=r["fields"]["sign"]))
        self.assertRegex(r["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
        self.assertIs(r["request_cut"], False)

    def test_time_window_is_the_business_clock(self):
        before = control.clock(self.srv)["epoch"]
        req = wire.group_request()
        wire.send_group(self.srv, req)
        control.advance(self.srv, 3600)
        later = control.clock(self.srv)
        wire.send_group(self.srv, wire.group_request())
        self.assertEqual(self.count(since=str(before)), 2)
        self.assertEqual(self.count(since=later["now"]), 1)
        self.assertEqual(self.count(until=later["now"]), 1)
        self.assertEqual(self.count(since=str(before), until=str(before + 60)), 1)

    def test_pages_newest_first(self):
        sent = []
        for _ in range(3):
            req = wire.group_request()
            wire.send_group(self.srv, req)
            sent.append(req["mch_billno"])
        first = self.listed(limit="2")
        self.assertEqual([r["mch_billno"] for r in first["requests"]], sent[:0:-1])
        self.assertEqual(first["count"], 3)
        rest = self.listed(limit="2", cursor=first["next"])
        self.assertEqual([r["mch_billno"] for r in rest["requests"]], sent[:1])
        self.assertIsNone(rest["next"])

    def test_unknown_or_empty_filter_is_named(self):
        for path in ("/admin/v1/requests", "/admin/v1/requests/count"):
            for q, name in (("?re_opnid=x", "re_opnid"), ("?re_openid=", "re_openid"),
                            ("?endpoint=sendsomething", "endpoint"), ("?since=yesterday", "since"),
                            ("?err_code=NOPE", "err_code")):
                st, doc, _ = control.admin(self.srv, "GET", path + q)
                self.assertEqual(st, 400, path + q)
                self.assertEqual(doc["parameter"], name)
        # Today's journal no longer ignores a filter it does not take.
        st, doc, _ = control.admin(self.srv, "GET", "/admin/v1/journal?re_openid=x")
        self.assertEqual((st, doc["parameter"]), (400, "re_openid"))

    def test_delete_starts_clean(self):
        wire.send_group(self.srv, wire.group_request())
        self.assertEqual(self.count(), 1)
        doc = control.admin_ok(self.srv, "DELETE", "/admin/v1/requests")
        self.assertEqual(doc, {"cleared": 1})
        self.assertEqual(self.count(), 0)
        wire.send_group(self.srv, wire.group_request())
        self.assertEqual(control.admin_ok(self.srv, "DELETE", "/admin/v1/journal"), {"cleared": 1})

    def test_ctl_requests_and_verify(self):
        openid = wire.new_openid()
        req = wire.group_request(re_openid=openid, total_amount="1000", total_num="3")
        wire.send_group(self.srv, req)
        p = control.ctl(self.srv, "verify", "--count", "1", "--endpoint", "sendgroupredpack",
                        "--re-openid", openid)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok: 1 request(s) matching endpoint=sendgroupredpack re_openid=" + openid,
                      p.stdout)
        # A mismatch: exit 1, what was expected and what was sent.
        p = control.ctl(self.srv, "verify", "--count", "2", "--re-openid", openid)
        self.assertEqual(p.returncode, 1)
        self.assertIn("expected 2 request(s) matching re_openid=%s, found 1" % openid, p.stderr)
        self.assertIn(req["mch_billno"], p.stdout)
        self.assertIn("total_amount=1000 total_num=3", p.stdout)
        p = control.ctl(self.srv, "requests", "--re-openid", openid, "--since",
                        "2020-01-01T00:00:00+08:00")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(req["mch_billno"], p.stdout)
        self.assertIn("(1 matching)", p.stdout)
        p = control.ctl(self.srv, "verify", "--endpoint", "sendgroupredpack")
        self.assertEqual(p.returncode, 2)  # --count is required


class ResetOptions(E2ETestCase):
    """POST /admin/v1/reset?journal=true&clock=true: a test's clean start in one call."""

    def test_journal_and_clock(self):
        srv = self.start_server()
        wire.send_group(srv, wire.group_request())
        control.advance(srv, 5 * 86400)
        self.assertGreater(control.clock(srv)["offset_seconds"], 5 * 86400 - 10)
        # Without options both stay.
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset")
        self.assertNotIn("journal_cleared", doc)
        self.assertEqual(control.admin_ok(srv, "GET", "/admin/v1/requests/count")["count"], 1)
        self.assertGreater(control.clock(srv)["offset_seconds"], 5 * 86400 - 10)
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset?journal=true&clock=true")
        self.assertEqual((doc["mch_id"], doc["journal_cleared"], doc["clock_offset_seconds"]),
                         (None, 1, 0))
        self.assertEqual(control.admin_ok(srv, "GET", "/admin/v1/requests/count")["count"], 0)
        self.assertEqual(control.clock(srv)["offset_seconds"], 0)
        # The clock is every merchant's: never set back by a one-merchant reset.
        control.advance(srv, 60)
        st, doc, _ = control.admin(srv, "POST", "/admin/v1/reset?mch_id=10000099&clock=true")
        self.assertEqual((st, doc["parameter"]), (400, "clock"))
        self.assertEqual(control.clock(srv)["offset_seconds"], 60)
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset?mch_id=10000099&journal=true")
        self.assertEqual((doc["mch_id"], doc["journal_cleared"]), ("10000099", 0))
        st, doc, _ = control.admin(srv, "POST", "/admin/v1/reset?journal=yes")
        self.assertEqual((st, doc["parameter"]), (400, "journal"))
        # redpack-ctl says the same.
        control.advance(srv, 60)
        p = control.ctl(srv, "reset", "--journal", "--clock")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("journal emptied", p.stdout)
        self.assertIn("business clock back to real time", p.stdout)
        self.assertEqual(control.clock(srv)["offset_seconds"], 0)
        p = control.ctl(srv, "reset", "--mch-id", "10000099", "--clock")
        self.assertEqual(p.returncode, 1)
        self.assertIn("only with a reset of everything", p.stderr)
        # Asked again with the clock already real time: still 0.
        self.assertEqual(control.admin_ok(srv, "POST", "/admin/v1/reset?clock=true")
                         ["clock_offset_seconds"], 0)


class Bounds(E2ETestCase):
    """The journal keeps 3 requests: a count that could be wrong is never given."""

    def test_dropped_requests_make_the_count_refuse(self):
        srv = self.start_server(args=["--journal-size", "3"])
        openid = wire.new_openid()
        for _ in range(4):
            wire.send_group(srv, wire.group_request(re_openid=openid))
        st, doc, _ = control.admin(srv, "GET", "/admin/v1/requests/count" + query(re_openid=openid))
        self.assertEqual(st, 409)
        self.assertEqual((doc["count_at_least"], doc["dropped"]), (3, 1))
        self.assertIn("DELETE /admin/v1/requests", doc["error"])
        listed = control.admin_ok(srv, "GET", "/admin/v1/requests")
        self.assertEqual((listed["count"], listed["complete"], listed["dropped"]), (3, False, 1))
        p = control.ctl(srv, "verify", "--count", "4", "--re-openid", openid)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot verify", p.stderr)
        # A window after the dropped one is exact again; so is a fresh start.
        control.advance(srv, 10)
        since = control.clock(srv)["now"]
        wire.send_group(srv, wire.group_request(re_openid=openid))
        doc = control.admin_ok(srv, "GET", "/admin/v1/requests/count" + query(since=since))
        self.assertEqual(doc, {"count": 1, "complete": True})
        control.admin_ok(srv, "DELETE", "/admin/v1/requests")
        doc = control.admin_ok(srv, "GET", "/admin/v1/requests/count")
        self.assertEqual(doc, {"count": 0, "complete": True})

    def test_no_journal(self):
        srv = self.start_server(args=["--journal-size", "0"])
        st, doc, _ = control.admin(srv, "GET", "/admin/v1/requests/count")
        self.assertEqual(st, 404)
        self.assertIn("journal is off", doc["error"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
