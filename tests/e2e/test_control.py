#!/usr/bin/env python3
"""The control API's merchants, reset and request journal (docs/control-api.md,
"The request journal", issue 5)."""

import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import answers, contract, control, golden, probe, wire  # noqa: E402
from harness.cases import E2ETestCase  # noqa: E402
from harness.contract import LOAD_MCH_ID, MCH2_ID, MCH_ID  # noqa: E402

DEFAULT_LIMITS = {"sends_per_minute": 1800, "packets_per_user_per_day": 10,
                  "amount_per_user_per_day": 100000, "amount_per_day": 100000000}
IP_TEXT = "IP地址非你在商户平台设置的可用IP地址"


def merchant(srv, mch_id=MCH_ID):
    return control.admin_ok(srv, "GET", "/admin/v1/merchants/" + mch_id)


def put(srv, body, mch_id=MCH_ID, want=200):
    return control.admin_ok(srv, "PUT", "/admin/v1/merchants/" + mch_id, body, want=want)


def ledger_sum(srv, mch_id=MCH_ID):
    return probe.query(srv, "SELECT SUM(amount) FROM ledger WHERE mch_id = ?", (mch_id,))[0][0]


def is_asan(path):
    try:
        with open(path, "rb") as f:
            return b"AddressSanitizer" in f.read()
    except OSError:
        return False


class Merchants(E2ETestCase):

    def setUp(self):
        self.srv = self.start_server()

    def test_get(self):
        m = merchant(self.srv)
        self.assertEqual(m, {"mch_id": MCH_ID, "name": "天虹百货", "balance": 100000000,
                             "limits": DEFAULT_LIMITS, "api_enabled": True, "ip_allowlist": []})
        m = merchant(self.srv, LOAD_MCH_ID)
        self.assertEqual(m["limits"], {k: 0 for k in DEFAULT_LIMITS})
        self.assertNotIn("api_key", merchant(self.srv, MCH2_ID))
        for bad in ("99999999", "abc", "1000009800"):
            st, doc, raw = control.admin(self.srv, "GET", "/admin/v1/merchants/" + bad)
            self.assertEqual(st, 404, raw)
            st, doc, raw = control.admin(self.srv, "PUT", "/admin/v1/merchants/" + bad, {"topup": 1})
            self.assertEqual(st, 404, raw)
            self.assertIsInstance(doc.get("error"), str)

    def test_balance_set_and_topup_through_the_ledger(self):
        m = put(self.srv, {"balance": 12345})
        self.assertEqual(m["balance"], 12345)
        self.assertEqual(probe.balance(self.srv), 12345)
        self.assertEqual(ledger_sum(self.srv), 12345)
        rows = probe.query(self.srv, "SELECT amount, kind, packet_id FROM ledger WHERE mch_id = ? "
                           "ORDER BY id DESC LIMIT 1", (MCH_ID,))
        self.assertEqual(rows, [(12345 - 100000000, "set", None)])
        m = put(self.srv, {"topup": 655})
        self.assertEqual(m["balance"], 13000)
        rows = probe.query(self.srv, "SELECT amount, kind FROM ledger WHERE mch_id = ? "
                           "ORDER BY id DESC LIMIT 1", (MCH_ID,))
        self.assertEqual(rows, [(655, "topup")])
        self.assertEqual(ledger_sum(self.srv), 13000)
        # A balance set to what it already is writes no row; 0 is allowed.
        n = probe.query(self.srv, "SELECT COUNT(*) FROM ledger")[0][0]
        put(self.srv, {"balance": 13000})
        self.assertEqual(probe.query(self.srv, "SELECT COUNT(*) FROM ledger")[0][0], n)
        put(self.srv, {"balance": 0})
        req = wire.fresh_group_request()
        ans = answers.answer(wire.call(self.srv, "sendgroupredpack", req))
        self.assertEqual(ans["err_code"], "NOTENOUGH")
        put(self.srv, {"topup": 300})
        ans = answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request()))
        self.assertEqual(ans["err_code"], "SUCCESS")
        self.assertEqual(merchant(self.srv)["balance"], 0)
        self.assertEqual(ledger_sum(self.srv), 0)
        control.check(self.srv)

    def test_limits(self):
        m = put(self.srv, {"limits": {"packets_per_user_per_day": 1}})
        self.assertEqual(m["limits"], dict(DEFAULT_LIMITS, packets_per_user_per_day=1))
        who = wire.new_openid()
        self.assertEqual(answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request(re_openid=who)))
                         ["err_code"], "SUCCESS")
        req = wire.fresh_group_request(re_openid=who)
        resp = wire.call(self.srv, "sendgroupredpack", req)
        golden.assert_golden(self, resp, "sendgroupredpack", "SENDNUM_LIMIT",
                        {"mch_billno": req["mch_billno"], "re_openid": who})
        put(self.srv, {"limits": {"packets_per_user_per_day": 0, "sends_per_minute": 3}})
        self.assertEqual(merchant(self.srv)["limits"]["packets_per_user_per_day"], 0)
        codes = [answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request(re_openid=who)))["err_code"]
                 for _ in range(2)]
        self.assertEqual(codes, ["SUCCESS", "FREQ_LIMIT"], "3 orders in the last minute: the next is refused")
        put(self.srv, {"limits": {"sends_per_minute": 0, "amount_per_day": 1}})
        self.assertEqual(answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request()))["err_code"],
                         "SENDAMOUNT_LIMIT")
        put(self.srv, {"limits": DEFAULT_LIMITS})
        self.assertEqual(merchant(self.srv)["limits"], DEFAULT_LIMITS)
        self.assertEqual(answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request()))["err_code"],
                         "SUCCESS")

    def test_api_switch(self):
        m = put(self.srv, {"api_enabled": False})
        self.assertIs(m["api_enabled"], False)
        for ep in ("sendgroupredpack", "sendredpack"):
            req = wire.request_for(ep)
            resp = wire.call(self.srv, ep, req)
            golden.assert_golden(self, resp, ep, "API_METHOD_CLOSED",
                            {"mch_billno": req["mch_billno"], "re_openid": req["re_openid"]})
            self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [], "no order is created")
        # Other merchants are not affected; queries still work.
        ans = answers.answer(wire.call(self.srv, "sendgroupredpack",
                              wire.fresh_group_request(mch_id=MCH2_ID, wxappid=contract.MCH2_APPID)))
        self.assertEqual(ans["err_code"], "SUCCESS")
        q = answers.answer(wire.call(self.srv, "gethbinfo", wire.query_request(wire.new_billno())))
        self.assertEqual(q["err_code"], "NOT_FOUND")
        put(self.srv, {"api_enabled": True})
        self.assertEqual(answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request()))["err_code"],
                         "SUCCESS")

    def test_ip_allowlist(self):
        m = put(self.srv, {"ip_allowlist": ["10.9.9.9"]})
        self.assertEqual(m["ip_allowlist"], ["10.9.9.9"])
        for ep in ("sendgroupredpack", "sendredpack"):
            req = wire.request_for(ep)
            resp = wire.call(self.srv, ep, req)
            ans = answers.answer(resp)
            self.assertEqual((ans["err_code"], ans["err_code_des"], ans["return_msg"]),
                             ("NO_AUTH", IP_TEXT, IP_TEXT))
            # The whole answer: the NO_AUTH golden layout with the IP text (capture F6).
            with open(golden.golden_path(ep, "NO_AUTH"), encoding="utf-8") as f:
                want = golden.fill(f.read(), {"mch_billno": req["mch_billno"], "re_openid": req["re_openid"]})
            want = want.replace("发放失败，此请求可能存在风险，已被微信拦截", IP_TEXT)
            self.assertEqual(resp.body.decode("utf-8"), want)
            self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])
        m = put(self.srv, {"ip_allowlist": ["10.9.9.9", "127.0.0.1"]})
        self.assertEqual(m["ip_allowlist"], ["10.9.9.9", "127.0.0.1"])
        self.assertEqual(answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request()))["err_code"],
                         "SUCCESS")
        put(self.srv, {"ip_allowlist": ["127.0.0.1"]})
        self.assertEqual(answers.answer(wire.call(self.srv, "sendredpack", wire.fresh_normal_request()))["err_code"],
                         "SUCCESS")
        m = put(self.srv, {"ip_allowlist": []})
        self.assertEqual(m["ip_allowlist"], [])
        self.assertEqual(answers.answer(wire.call(self.srv, "sendgroupredpack", wire.fresh_group_request()))["err_code"],
                         "SUCCESS")

    def test_bad_bodies(self):
        before = merchant(self.srv)
        nledger = probe.query(self.srv, "SELECT COUNT(*) FROM ledger")[0][0]
        cases = [
            ({"balance": -1}, "balance"), ({"balance": "100"}, "balance"), ({"balance": 1.5}, "balance"),
            ({"topup": 0}, "topup"), ({"topup": -5}, "topup"), ({"topup": "5"}, "topup"),
            ({"balance": 1, "topup": 1}, "balance"),
            ({"limits": 5}, "limits"), ({"limits": {"per_hour": 1}}, "limits"),
            ({"limits": {"sends_per_minute": -1}}, "limits"),
            ({"limits": {"sends_per_minute": "1"}}, "limits"),
            ({"api_enabled": "false"}, "api_enabled"), ({"api_enabled": 0}, "api_enabled"),
            ({"ip_allowlist": "10.0.0.1"}, "ip_allowlist"), ({"ip_allowlist": ["not-an-ip"]}, "ip_allowlist"),
            ({"ip_allowlist": [10]}, "ip_allowlist"), ({"ip_allowlist": ["999.1.1.1"]}, "ip_allowlist"),
            ({"name": "x"}, "name"), ({"api_key": "x"}, "api_key"),
            # One bad part refuses the whole body: the top-up is not applied either.
            ({"topup": 100, "limits": {"nope": 1}}, "limits"),
        ]
        for body, word in cases:
            with self.subTest(body=body):
                st, doc, raw = control.admin(self.srv, "PUT", "/admin/v1/merchants/" + MCH_ID, body)
                self.assertEqual(st, 400, raw)
                self.assertIn(word, doc.get("error", ""))
        for raw_body in (b"", b"{", b"[1]", b'{"topup": 1, "topup": 2}'):
            with self.subTest(raw=raw_body):
                st, doc, raw = control.admin(self.srv, "PUT", "/admin/v1/merchants/" + MCH_ID, raw=raw_body)
                self.assertEqual(st, 400, raw)
        self.assertEqual(merchant(self.srv), before)
        self.assertEqual(probe.query(self.srv, "SELECT COUNT(*) FROM ledger")[0][0], nledger)


TABLES = {
    "merchants": "SELECT * FROM merchants ORDER BY mch_id",
    "apps": "SELECT * FROM apps ORDER BY mch_id, appid",
    "scenes": "SELECT * FROM scenes ORDER BY mch_id, scene_id",
    "users": "SELECT * FROM users ORDER BY openid",
    "ledger": "SELECT mch_id, amount, kind, packet_id FROM ledger ORDER BY mch_id, id",
    "packets": "SELECT COUNT(*) FROM packets",
    "shares": "SELECT COUNT(*) FROM shares",
}


def snapshot(srv, mch_id=None):
    out = {}
    for t, sql in TABLES.items():
        rows = probe.query(srv, sql)
        if mch_id is not None and t in ("merchants", "apps", "scenes", "ledger"):
            rows = [r for r in rows if r[0] == mch_id]
        out[t] = rows
    if mch_id is not None:
        out["packets"] = probe.query(srv, "SELECT * FROM packets WHERE mch_id = ? ORDER BY id", (mch_id,))
        out["shares"] = probe.query(srv, "SELECT s.* FROM shares s JOIN packets p ON p.id = s.packet_id "
                                    "WHERE p.mch_id = ? ORDER BY s.packet_id, s.seq", (mch_id,))
    return out


class Reset(E2ETestCase):

    def dirty(self, srv):
        """Sends, claims, held and pending orders, merchant edits, a clock move."""
        for mch, app in ((MCH_ID, contract.APPID), (MCH2_ID, contract.MCH2_APPID)):
            req = wire.fresh_group_request(mch_id=mch, wxappid=app)
            self.assertEqual(answers.answer(wire.call(srv, "sendgroupredpack", req))["err_code"], "SUCCESS")
            first = control.admin_ok(srv, "POST", "/admin/v1/packets/%s/claims" % req["mch_billno"],
                               {"openid": req["re_openid"]}, want=201)
            self.assertEqual(first["seq"], 0)
            control.admin_ok(srv, "POST", "/admin/v1/packets/%s/claims" % req["mch_billno"],
                       {"openid": wire.new_openid()}, want=201)
            wire.call(srv, "sendredpack", wire.fresh_normal_request(mch_id=mch, wxappid=app))
            wire.call(srv, "sendgroupredpack", wire.fresh_group_request(mch_id=mch, wxappid=app,
                                                            re_openid="oMOCK_NOTENOUGH"))
            wire.call(srv, "sendgroupredpack", wire.fresh_group_request(mch_id=mch, wxappid=app,
                                                            re_openid="oMOCK_PROCESSING"))
            put(srv, {"topup": 777, "limits": {"sends_per_minute": 5}, "api_enabled": False,
                      "ip_allowlist": ["10.1.2.3"]}, mch_id=mch)
        control.advance(srv, 3 * 86400 + 17)

    def test_reset_everything(self):
        fresh = self.start_server()
        clean = snapshot(fresh)
        self.assertEqual((clean["packets"], clean["shares"]), ([(0,)], [(0,)]))
        srv = self.start_server()
        self.dirty(srv)
        self.assertNotEqual(snapshot(srv), clean)
        offset = control.admin_ok(srv, "GET", "/admin/v1/clock")["offset_seconds"]
        self.assertGreaterEqual(offset, 3 * 86400)
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset")
        self.assertIs(doc["reset"], True)
        self.assertIsNone(doc["mch_id"])
        self.assertEqual(snapshot(srv), clean)
        clk = control.admin_ok(srv, "GET", "/admin/v1/clock")
        self.assertEqual(clk["offset_seconds"], offset, "reset keeps the business clock")
        self.assertEqual(merchant(srv)["ip_allowlist"], [])
        control.check(srv)
        probe.check_invariants(srv)
        # The world works again, and send_listids stay unique (the id sequence is kept).
        req = wire.fresh_group_request()
        ans = answers.answer(wire.call(srv, "sendgroupredpack", req))
        self.assertEqual(ans["err_code"], "SUCCESS")
        self.assertNotEqual(ans["send_listid"][-11:], "00000000001")

    def test_reset_one_merchant(self):
        fresh = self.start_server()
        clean2 = snapshot(fresh, MCH2_ID)
        srv = self.start_server()
        self.dirty(srv)
        kept = snapshot(srv, MCH_ID)
        kept_users = probe.query(srv, TABLES["users"])
        offset = control.admin_ok(srv, "GET", "/admin/v1/clock")["offset_seconds"]
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset?mch_id=" + MCH2_ID)
        self.assertEqual(doc["mch_id"], MCH2_ID)
        self.assertEqual(snapshot(srv, MCH2_ID), clean2)
        self.assertEqual(snapshot(srv, MCH_ID), kept, "reset of 10000099 touched 10000098")
        self.assertEqual(probe.query(srv, TABLES["users"]), kept_users)
        self.assertEqual(control.admin_ok(srv, "GET", "/admin/v1/clock")["offset_seconds"], offset)
        for bad in ("99999999", "10000101"):
            st, doc, raw = control.admin(srv, "POST", "/admin/v1/reset?mch_id=" + bad)
            self.assertEqual(st, 404, raw)
            self.assertIsInstance(doc.get("error"), str)
        self.assertEqual(snapshot(srv, MCH_ID), kept)
        control.check(srv)


class Journal(E2ETestCase):

    def journal(self, srv, query=""):
        return control.admin_ok(srv, "GET", "/admin/v1/journal" + query)

    def test_filters_and_order(self):
        srv = self.start_server()
        req = wire.fresh_group_request()
        r1 = wire.call(srv, "sendgroupredpack", req)
        r2 = wire.call(srv, "sendgroupredpack", dict(req, nonce_str=wire.new_nonce()))
        other = wire.fresh_group_request(re_openid="oMOCK_NOTENOUGH")
        r3 = wire.call(srv, "sendgroupredpack", other)
        q = wire.call(srv, "gethbinfo", wire.query_request(req["mch_billno"]))
        doc = self.journal(srv)
        self.assertEqual(doc["kept"], 4)
        self.assertGreater(doc["bytes"], 0)
        seqs = [e["seq"] for e in doc["entries"]]
        self.assertEqual(seqs, sorted(seqs, reverse=True), "newest first")
        newest = doc["entries"][0]
        self.assertEqual((newest["endpoint"], newest["mch_billno"], newest["err_code"], newest["mch_id"]),
                         ("gethbinfo", req["mch_billno"], "SUCCESS", MCH_ID))
        self.assertEqual(newest["answer"], q.body.decode("utf-8"))
        self.assertRegex(newest["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
        by_billno = self.journal(srv, "?mch_billno=" + req["mch_billno"])["entries"]
        self.assertEqual([e["endpoint"] for e in by_billno], ["gethbinfo", "sendgroupredpack", "sendgroupredpack"])
        self.assertEqual(by_billno[1]["answer"], r2.body.decode("utf-8"))
        self.assertEqual(by_billno[2]["answer"], r1.body.decode("utf-8"))
        self.assertIn("<mch_billno>%s</mch_billno>" % req["mch_billno"], by_billno[2]["request"])
        held = self.journal(srv, "?err_code=NOTENOUGH")["entries"]
        self.assertEqual([(e["mch_billno"], e["answer"]) for e in held],
                         [(other["mch_billno"], r3.body.decode("utf-8"))])
        both = self.journal(srv, "?err_code=SUCCESS&mch_billno=" + req["mch_billno"])["entries"]
        self.assertEqual(len(both), 3)
        one = self.journal(srv, "?limit=1")
        self.assertEqual([e["seq"] for e in one["entries"]], seqs[:1])
        self.assertEqual(one["kept"], 4)
        self.assertEqual(self.journal(srv, "?mch_billno=nope")["entries"], [])
        for bad in ("?limit=0", "?limit=1001", "?limit=x", "?limit=-1"):
            st, _, raw = control.admin(srv, "GET", "/admin/v1/journal" + bad)
            self.assertEqual(st, 400, (bad, raw))
        # Default limit: 50.
        with wire.Connection(srv) as conn:
            for _ in range(60):
                wire.call(srv, "gethbinfo", wire.query_request(wire.new_billno()), conn=conn)
        self.assertEqual(len(self.journal(srv)["entries"]), 50)
        self.assertEqual(len(self.journal(srv, "?limit=1000")["entries"]), 64)

    def test_sign_error_diagnosis(self):
        srv = self.start_server()
        cases = []

        def bad(name, fields, body, endpoint="sendgroupredpack", server_fields=None):
            resp = wire.post(srv, contract.PATHS[endpoint], body, cert=fields["mch_id"])
            self.assertEqual(answers.answer(resp)["err_code"], "SIGN_ERROR", name)
            cases.append((name, fields, server_fields))

        # wechatpy's send_group signs a client_ip the endpoint does not have.
        f = wire.fresh_group_request(client_ip="127.0.0.1")
        f["sign"] = wire.sign(f, contract.MCH_KEY)
        bad("client_ip", f, wire.build_xml(f, "wechatpy"),
            server_fields={k: v for k, v in f.items() if k != "client_ip"})
        # sign_type signed (the endpoint leaves it out).
        f = wire.fresh_group_request(sign_type="MD5")
        f["sign"] = wire.sign(f, contract.MCH_KEY)
        bad("sign_type", f, wire.build_xml(f), server_fields={k: v for k, v in f.items() if k != "sign_type"})
        # Lower-case hex.
        f = wire.fresh_group_request()
        f["sign"] = wire.sign(f, contract.MCH_KEY).lower()
        bad("lower", f, wire.build_xml(f))
        # HMAC-SHA256 (64 hex digits).
        f = wire.fresh_group_request()
        f["sign"] = wire.sign_hmac_sha256(f, contract.MCH_KEY)
        bad("hmac", f, wire.build_xml(f))
        # An empty value signed.
        f = wire.fresh_group_request(consume_mch_id="")
        f["sign"] = wire.sign(f, contract.MCH_KEY, keep_empty=True)
        bad("empty", f, wire.build_xml(f))
        # A wrong key (merchant 10000099's).
        f = wire.fresh_group_request()
        f["sign"] = wire.sign(f, contract.MCH2_KEY)
        bad("key", f, wire.build_xml(f))
        # gethbinfo too.
        f = wire.query_request(wire.new_billno())
        f["sign"] = wire.sign(f, contract.MCH_KEY).lower()
        bad("query-lower", f, wire.build_xml(f), endpoint="gethbinfo")
        # The other two merchants (their keys must not leak either).
        f = wire.fresh_normal_request(mch_id=MCH2_ID, wxappid=contract.MCH2_APPID)
        f["sign"] = wire.sign(f, contract.MCH2_KEY).lower()
        bad("mch2-lower", f, wire.build_xml(f), endpoint="sendredpack")
        f = wire.fresh_group_request(mch_id=LOAD_MCH_ID, wxappid=contract.LOAD_APPID)
        f["sign"] = wire.sign_hmac_sha256(f, contract.LOAD_MCH_KEY)
        bad("load-hmac", f, wire.build_xml(f))

        entries = {e["mch_billno"]: e for e in self.journal(srv, "?err_code=SIGN_ERROR")["entries"]}
        self.assertEqual(len(entries), len(cases))
        want_cause = {"client_ip": ["client_ip"], "sign_type": ["sign_type"], "lower": ["lower"],
                      "hmac": ["64", "HMAC"], "empty": ["empty", "consume_mch_id"], "key": ["key"],
                      "query-lower": ["lower"], "mch2-lower": ["lower"], "load-hmac": ["HMAC"]}
        for name, fields, server_fields in cases:
            with self.subTest(case=name):
                e = entries[fields["mch_billno"]]
                self.assertEqual(e["err_code"], "SIGN_ERROR")
                sc = e.get("sign_check")
                self.assertIsInstance(sc, dict, e)
                s = sc["string_to_sign"]
                self.assertTrue(s.endswith("&key=***"), s)
                expect = wire.sign_string({k: v for k, v in (server_fields or fields).items()
                                            if k != "sign"}, "***")
                self.assertEqual(s, expect, "the string the server signed (empty values and "
                                 "fields of no endpoint left out)")
                for word in want_cause[name]:
                    self.assertIn(word.lower(), sc["likely_cause"].lower(), sc)
        # Entries that are not SIGN_ERRORs carry no sign_check.
        wire.call(srv, "sendgroupredpack", wire.fresh_group_request())
        e = self.journal(srv, "?limit=1")["entries"][0]
        self.assertNotIn("sign_check", e)
        self.assertNoKeys(srv)

    def assertNoKeys(self, srv):
        j = control.admin(srv, "GET", "/admin/v1/journal?limit=1000")[2].decode("utf-8")
        for key in contract.FIXTURE_KEYS:
            self.assertNotIn(key, j, "an API key in the journal")
            self.assertNotIn(key.upper(), j)
            self.assertNotIn(key, srv.stderr_text(), "an API key in the server's stderr")

    def test_journal_off(self):
        srv = self.start_server(args=["--journal-size", "0"])
        wire.call(srv, "sendgroupredpack", wire.fresh_group_request())
        st, doc, raw = control.admin(srv, "GET", "/admin/v1/journal")
        self.assertEqual(st, 404, raw)
        self.assertIsInstance(doc.get("error"), str)

    def test_bounded_under_10000_requests(self):
        srv = self.start_server(args=["--journal-size", "100", "--journal-bytes", "65536"])
        asan = is_asan(contract.bin_path())
        threads, per_thread = 4, 2500
        errors = []
        expected = [0]
        lock = threading.Lock()

        def rss_kb():
            with open("/proc/%d/status" % srv.proc.pid) as f:
                m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
            return int(m.group(1))

        def worker(n, count):
            try:
                with wire.Connection(srv, cert=LOAD_MCH_ID) as conn:
                    for i in range(count):
                        req = wire.fresh_group_request(mch_id=LOAD_MCH_ID, wxappid=contract.LOAD_APPID,
                                              re_openid=contract.LOAD_OPENID if i % 7 else "oMOCK_SYSTEMERROR")
                        if i % 11 == 0:
                            req["sign"] = "0" * 32  # a SIGN_ERROR now and then (diagnosis entries)
                        resp = wire.call(srv, "sendgroupredpack", req, conn=conn)
                        if resp.status != 200:
                            raise AssertionError("HTTP %d" % resp.status)
                        if i % 7 and i % 11:
                            with lock:
                                expected[0] += 1
                    if not conn.same_socket():
                        raise AssertionError("the keep-alive connection was dropped")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        def run(count):
            ts = [threading.Thread(target=worker, args=(n, count)) for n in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(300)
            self.assertEqual(errors, [])

        t0 = time.monotonic()
        run(500)  # 2,000 requests
        rss_2000 = rss_kb()
        doc = self.journal(srv, "?limit=1")
        self.assertLessEqual(doc["kept"], 100)
        self.assertLessEqual(doc["bytes"], 65536)
        run(per_thread - 500)  # 8,000 more
        rss_10000 = rss_kb()
        elapsed = time.monotonic() - t0
        doc = self.journal(srv, "?limit=1000")
        self.assertLessEqual(doc["kept"], 100)
        self.assertLessEqual(doc["bytes"], 65536)
        self.assertGreater(doc["kept"], 10, "the journal still keeps the newest entries")
        self.assertEqual(len(doc["entries"]), doc["kept"])
        self.assertGreaterEqual(doc["entries"][0]["seq"], threads * per_thread)
        seqs = [e["seq"] for e in doc["entries"]]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] - len(seqs), -1)),
                         "the kept entries are the newest ones, consecutive")
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM packets")[0][0], expected[0])
        growth = (rss_10000 - rss_2000) / 1024.0
        sys.stderr.write("\n[journal] 10,000 requests in %.1f s; RSS %d kB at 2,000, %d kB at 10,000 "
                         "(%+.1f MB)%s\n" % (elapsed, rss_2000, rss_10000, growth,
                                             " (ASan build: RSS not judged)" if asan else ""))
        if not asan:
            self.assertLess(growth, 6.0, "server RSS grew by %.1f MB between request 2,000 and 10,000"
                            % growth)
        self.assertNoKeys(srv)
        control.check(srv)


if __name__ == "__main__":
    unittest.main(verbosity=2)
