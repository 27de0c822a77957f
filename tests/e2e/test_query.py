#!/usr/bin/env python3
"""POST /mmpaymkttransfers/gethbinfo and the control API's packet views, end to end
(CONTRACT.md "Lifecycle (issue 4)", protocol reference section 5)."""

import unittest

from harness import answers, contract, control, probe, wire
from harness.cases import LifecycleCase, SharedServerCase
from harness.contract import APPID, DAY, DES, EXPIRY, MCH2_ID, MCH_ID, MCH_KEY, QUERY_PATH, SEED_OPENID


PACKET_KEYS = {"mch_id", "mch_billno", "hb_type", "status", "send_listid", "wxappid", "re_openid",
               "total_amount", "total_num", "send_name", "wishing", "act_name", "remark",
               "scene_id", "err_code", "reason", "created_at", "send_time", "refund_time",
               "refund_amount"}


# ---------------------------------------------------------------------------
# Snapshots of one packet through its life
# ---------------------------------------------------------------------------


class Snapshots(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_group_after_0_1_all_claims(self):
        req = self.group(self.srv, total_amount=1000, total_num=4)
        billno = req["mch_billno"]
        p, ans, hb = self.assertQuery(self.srv, billno, status="SENT")
        self.assertEqual(hb, [])
        self.assertNotIn("reason", ans)
        self.assertEqual((ans["hb_type"], ans["total_num"], ans["total_amount"], ans["send_type"]),
                         ("GROUP", "4", "1000", "API"))
        self.assertEqual(ans["detail_id"], p["send_listid"])
        self.assertEqual(ans["send_time"], contract.beijing_text(p["send_time"]))

        openers = [SEED_OPENID, wire.new_openid(), wire.new_openid(), wire.new_openid()]
        self.claim_ok(self.srv, billno, openers[0])
        p, ans, hb = self.assertQuery(self.srv, billno, status="SENT")
        self.assertEqual([o for o, _, _ in hb], [SEED_OPENID])
        # Distinct rcv_times (the clock moves between claims): newest first, seed last.
        for who in openers[1:]:
            control.advance(self.srv, 61)
            self.claim_ok(self.srv, billno, who)
        p, ans, hb = self.assertQuery(self.srv, billno, status="RECEIVED")
        self.assertEqual([o for o, _, _ in hb], list(reversed(openers)))
        self.assertEqual([a for _, a, _ in hb], list(reversed(probe.shares_of(self.srv, billno))))
        times = [t for _, _, t in hb]
        self.assertEqual(times, sorted(times, reverse=True))
        self.assertEqual(len(set(times)), 4)
        # Expiry changes nothing for a received packet.
        control.advance(self.srv, EXPIRY)
        p2, ans2, hb2 = self.assertQuery(self.srv, billno, status="RECEIVED")
        self.assertEqual(hb2, hb)

    def test_same_second_claims_higher_seq_first(self):
        req = self.group(self.srv, total_amount=2000, total_num=10)
        billno = req["mch_billno"]
        self.claim_ok(self.srv, billno, SEED_OPENID)
        for _ in range(6):
            self.claim_ok(self.srv, billno, wire.new_openid())
        p, ans, hb = self.assertQuery(self.srv, billno, status="SENT")
        self.assertEqual(len(hb), 7)
        # The expected order is (rcv_time, seq) descending; seven quick claims share seconds.
        self.assertLess(len({t for _, _, t in hb}), 7)

    def test_after_expiry_partial(self):
        req = self.group(self.srv, total_amount=3000, total_num=6)
        billno = req["mch_billno"]
        got = self.claim_ok(self.srv, billno, SEED_OPENID)["amount"]
        control.advance(self.srv, 3600)
        got += self.claim_ok(self.srv, billno, wire.new_openid())["amount"]
        sent = probe.db_packet(self.srv, billno)
        control.advance(self.srv, EXPIRY)
        p, ans, hb = self.assertQuery(self.srv, billno, status="REFUND")
        self.assertEqual(ans["refund_amount"], str(3000 - got))
        self.assertEqual(ans["refund_time"], contract.beijing_text(sent["send_time"] + EXPIRY))
        names = [n for n, _, _ in answers.parse_query(wire.gethbinfo(self.srv, billno).body)[0]]
        self.assertEqual(names, ["return_code", "return_msg", "result_code", "err_code",
                                 "err_code_des", "mch_billno", "mch_id", "detail_id", "status",
                                 "send_type", "hb_type", "total_num", "total_amount", "send_time",
                                 "refund_time", "refund_amount"])
        self.assertEqual(len(hb), 2)

    def test_after_expiry_unopened(self):
        req = self.group(self.srv)
        control.advance(self.srv, EXPIRY + 1)
        resp = wire.gethbinfo(self.srv, req["mch_billno"])
        self.assertNotIn(b"<hblist>", resp.body)
        p, ans, hb = self.assertQuery(self.srv, req["mch_billno"], status="REFUND")
        self.assertEqual(ans["refund_amount"], "300")

    def test_held_order(self):
        srv = self.start_server(fixtures=contract.fixtures_with(limits={"amount_per_day": 1000}))
        control.to_noon(srv)
        self.group(srv, total_amount=900)
        req = wire.group_request(total_amount=300)
        self.assertErr(wire.send_group(srv, req), req, "SENDAMOUNT_LIMIT", "sendamount")
        p, ans, hb = self.assertQuery(srv, req["mch_billno"], status="SENDING")
        self.assertEqual(ans["reason"], DES["sendamount"])
        names = [n for n, _, _ in answers.parse_query(wire.gethbinfo(srv, req["mch_billno"]).body)[0]]
        self.assertEqual(names[11:], ["total_num", "total_amount", "reason", "send_time"])

    def test_scene_and_wishing_not_shown(self):
        req = self.group(self.srv, scene_id="PRODUCT_1", total_amount=3)
        resp = wire.gethbinfo(self.srv, req["mch_billno"])
        for name in (b"wishing", b"remark", b"act_name", b"scene_id", b"appid", b"send_name"):
            self.assertNotIn(b"<" + name + b">", resp.body)
        self.assertQuery(self.srv, req["mch_billno"], status="SENT")


# ---------------------------------------------------------------------------
# Lookup rules
# ---------------------------------------------------------------------------


class Lookup(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_unknown_billno(self):
        req = wire.query_request(wire.new_billno())
        self.assertQueryFails(self.srv, req, "NOT_FOUND", "not_found")

    def test_lookup_by_merchant_and_billno_only(self):
        g = self.group(self.srv)
        # appid is not compared.
        self.assertQuery(self.srv, g["mch_billno"], appid=contract.MCH2_APPID)
        self.assertQuery(self.srv, g["mch_billno"], appid="wxNotAnAppAtAll")
        # Another merchant does not see it.
        req = wire.query_request(g["mch_billno"], mch_id=MCH2_ID, appid=contract.MCH2_APPID)
        self.assertQueryFails(self.srv, req, "NOT_FOUND", "not_found")
        # ... until it uses the billno itself.
        self.group(self.srv, mch_billno=g["mch_billno"], mch_id=MCH2_ID, wxappid=contract.MCH2_APPID,
                   re_openid=contract.MCH2_OPENID)
        p, ans, _ = self.assertQuery(self.srv, g["mch_billno"], mch_id=MCH2_ID)
        self.assertEqual(ans["mch_id"], MCH2_ID)

    def test_30_day_window(self):
        g = self.group(self.srv)
        n = self.normal(self.srv, re_openid=wire.new_openid())
        control.advance(self.srv, 29 * DAY)
        self.assertQuery(self.srv, g["mch_billno"], status="REFUND")
        self.assertQuery(self.srv, n["mch_billno"], status="REFUND")
        control.advance(self.srv, 2 * DAY)     # 31 days after
        for billno in (g["mch_billno"], n["mch_billno"]):
            req = wire.query_request(billno)
            self.assertQueryFails(self.srv, req, "NOT_FOUND", "not_found")
            # The packet is still there for the control API.
            self.assertEqual(control.packet(self.srv, billno)[0], 200)
        # A new order is visible.
        g2 = self.group(self.srv)
        self.assertQuery(self.srv, g2["mch_billno"], status="SENT")

    def test_held_order_outside_window(self):
        srv = self.start_server(fixtures=contract.fixtures_with(balance=100))
        control.to_noon(srv)
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "NOTENOUGH", "notenough")
        self.assertQuery(srv, req["mch_billno"], status="SENDING")
        control.advance(srv, 31 * DAY)
        self.assertQueryFails(srv, wire.query_request(req["mch_billno"]), "NOT_FOUND",
                              "not_found")


class Validation(LifecycleCase, SharedServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        req = wire.group_request()
        resp = wire.send_group(cls.srv, req)
        assert b"SUCCESS" in resp.body
        cls.billno = req["mch_billno"]

    def q(self, **overrides):
        return wire.query_request(self.billno, **overrides)

    def cases(self, cases):
        for overrides, des in cases:
            with self.subTest(**{k: (v if v is None or len(str(v)) < 40 else "%d chars" % len(v))
                                 for k, v in overrides.items()}):
                self.assertQueryFails(self.srv, self.q(**overrides), "PARAM_ERROR", des)

    def test_valid(self):
        self.assertQuery(self.srv, self.billno, status="SENT")
        req = self.q(appid="w" * 32, nonce_str="n" * 32)
        resp = wire.gethbinfo(self.srv, fields=req)
        self.assertEqual(answers.answer_dict(resp.body)["err_code"], "SUCCESS")
        # The wechatpy body style.
        resp = wire.gethbinfo(self.srv, fields=self.q(), style="wechatpy")
        self.assertEqual(answers.answer_dict(resp.body)["err_code"], "SUCCESS")

    def test_field_rules(self):
        self.cases([
            ({"mch_billno": None}, "mch_billno"), ({"mch_billno": "A" * 29}, "mch_billno"),
            ({"mch_billno": "bad-billno"}, "mch_billno"),
            ({"appid": None}, "appid"), ({"appid": ""}, "appid"), ({"appid": "w" * 33}, "appid"),
            ({"bill_type": None}, "bill_type"), ({"bill_type": "MCH"}, "bill_type"),
            ({"bill_type": "mcht"}, "bill_type"), ({"bill_type": "MCHT "}, "bill_type"),
            ({"nonce_str": None}, "nonce_str"), ({"nonce_str": "n" * 33}, "nonce_str"),
            # order: mch_billno, appid, bill_type, nonce_str
            ({"mch_billno": None, "appid": None}, "mch_billno"),
            ({"appid": None, "bill_type": "X"}, "appid"),
            ({"bill_type": "X", "nonce_str": None}, "bill_type"),
        ])

    def test_mch_id(self):
        self.assertQueryFails(self.srv, self.q(mch_id=None), "PARAM_ERROR", "mch_id_bad")
        self.assertQueryFails(self.srv, self.q(mch_id="abc"), "PARAM_ERROR", "mch_id_bad")
        self.assertQueryFails(self.srv, self.q(mch_id="12345678"), "PARAM_ERROR",
                              "mch_id_unknown")

    def test_ca_error(self):
        self.assertQueryFails(self.srv, self.q(), "CA_ERROR", "ca", cert=MCH2_ID)
        # CA before the fields.
        self.assertQueryFails(self.srv, self.q(bill_type=None), "CA_ERROR", "ca", cert=MCH2_ID)

    def test_sign_errors(self):
        # sign_type signed by the client: the server ignores it, so the sign is wrong.
        req = self.q(sign_type="MD5")
        self.assertQueryFails(self.srv, req, "SIGN_ERROR", "sign")
        # sign_type sent but not signed: fine.
        req = self.q()
        body = dict(req, sign=wire.sign(req, MCH_KEY), sign_type="MD5")
        self.assertEqual(answers.answer_dict(wire.gethbinfo(self.srv, fields=body).body)["err_code"],
                         "SUCCESS")
        self.assertQueryFails(self.srv, self.q(), "SIGN_ERROR", "sign", key=contract.MCH2_KEY)
        req = self.q()
        body = dict(req, sign=wire.sign(req, MCH_KEY).lower())
        self.assertQueryFails(self.srv, body, "SIGN_ERROR", "sign")
        body = dict(req, sign=wire.sign_hmac_sha256(req, MCH_KEY))
        self.assertQueryFails(self.srv, body, "SIGN_ERROR", "sign")
        # An unsigned extra field (e.g. wxappid) signed by the client.
        req = self.q(wxappid=APPID)
        self.assertQueryFails(self.srv, req, "SIGN_ERROR", "sign")
        # Sign before the fields.
        self.assertQueryFails(self.srv, self.q(bill_type="X"), "SIGN_ERROR", "sign",
                              key=contract.MCH2_KEY)

    def test_xml_error(self):
        for body in (b"", b"<xml><mch_id>10000098</mch_id>", b"not xml", b"<root></root>"):
            with self.subTest(body=body):
                self.assertAnswer(wire.post(self.srv, QUERY_PATH, body), answers.XML_ERROR_BODY)

    def test_no_certificate_and_get(self):
        resp = wire.post(self.srv, QUERY_PATH, wire.build_xml(self.q()), cert=None)
        self.assertEqual((resp.status, resp.body), (400, contract.PAGE_400_NO_CERT))
        resp = wire.request(self.srv, "GET", QUERY_PATH)
        self.assertEqual((resp.status, resp.body), (405, contract.PAGE_405))


# ---------------------------------------------------------------------------
# Control API: packets, detail, claims
# ---------------------------------------------------------------------------


class Admin(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def check_packet_json(self, doc, detail=False):
        keys = PACKET_KEYS | ({"shares", "ledger"} if detail else set())
        self.assertEqual(set(doc), keys, doc)
        p = probe.db_packet(self.srv, doc["mch_billno"], doc["mch_id"])
        if detail:
            probe.check_admin_matches_db(doc, p)
        else:
            probe.check_admin_matches_db(dict(doc, shares=[{"seq": s["seq"], "amount": s["amount"],
                                                         "openid": s["openid"],
                                                         "rcv_time": None if s["rcv_time"] is None
                                                         else contract.beijing_iso(s["rcv_time"])}
                                                        for s in p["shares"]],
                                           ledger=[{"id": l["id"], "mch_id": l["mch_id"],
                                                    "amount": l["amount"], "kind": l["kind"],
                                                    "at": contract.beijing_iso(l["at"])}
                                                   for l in p["ledger"]]), p)

    def world(self):
        """Packets of every kind, in this order of creation."""
        made = []
        g1 = self.group(self.srv)
        made.append((MCH_ID, g1["mch_billno"]))
        n1 = self.normal(self.srv, re_openid=wire.new_openid())
        made.append((MCH_ID, n1["mch_billno"]))
        self.claim_ok(self.srv, n1["mch_billno"], n1["re_openid"], status="RECEIVED")
        g2 = self.group(self.srv, mch_id=MCH2_ID, wxappid=contract.MCH2_APPID,
                        re_openid=contract.MCH2_OPENID)
        made.append((MCH2_ID, g2["mch_billno"]))
        g3 = self.group(self.srv, re_openid=wire.new_openid(), total_amount=600)
        made.append((MCH_ID, g3["mch_billno"]))
        self.claim_ok(self.srv, g3["mch_billno"], g3["re_openid"])
        return made

    def billnos(self, doc):
        return [(p["mch_id"], p["mch_billno"]) for p in doc["packets"]]

    def test_listing_and_filters(self):
        made = self.world()
        st, doc = control.packets(self.srv)
        self.assertEqual(st, 200, doc)
        self.assertEqual(set(doc), {"packets", "next"})
        self.assertIsNone(doc["next"])  # one page holds them all
        self.assertEqual(self.billnos(doc), list(reversed(made)))
        for p in doc["packets"]:
            self.check_packet_json(p)
        st, doc = control.packets(self.srv, mch_id=MCH2_ID)
        self.assertEqual(self.billnos(doc), [made[2]])
        st, doc = control.packets(self.srv, mch_id=MCH_ID)
        self.assertEqual(self.billnos(doc), [made[3], made[1], made[0]])
        st, doc = control.packets(self.srv, status="RECEIVED")
        self.assertEqual(self.billnos(doc), [made[1]])
        st, doc = control.packets(self.srv, status="SENT", mch_id=MCH_ID)
        self.assertEqual(self.billnos(doc), [made[3], made[0]])
        st, doc = control.packets(self.srv, status="REFUND")
        self.assertEqual((st, doc), (200, {"packets": [], "next": None}))
        st, doc = control.packets(self.srv, mch_id="99999999")
        self.assertEqual((st, doc), (200, {"packets": [], "next": None}))
        st, doc = control.packets(self.srv, limit=2)
        self.assertEqual(self.billnos(doc), [made[3], made[2]])
        st, doc = control.packets(self.srv, limit=1, mch_id=MCH_ID, status="SENT")
        self.assertEqual(self.billnos(doc), [made[3]])
        st, doc = control.packets(self.srv, limit=1000)
        self.assertEqual(len(doc["packets"]), 4)
        # After expiry the statuses move and the filter follows.
        control.advance(self.srv, EXPIRY)
        st, doc = control.packets(self.srv, status="REFUND")
        self.assertEqual(self.billnos(doc), [made[3], made[2], made[0]])
        for p in doc["packets"]:
            self.check_packet_json(p)
            self.assertIsNotNone(p["refund_time"])

    def test_listing_default_limit_100(self):
        made = []
        with wire.Connection(self.srv, cert=contract.LOAD_MCH_ID) as conn:
            for _ in range(101):
                req = wire.group_request(mch_id=contract.LOAD_MCH_ID, wxappid=contract.LOAD_APPID,
                                                  re_openid=contract.LOAD_OPENID)
                resp = wire.send_group(self.srv, req, conn=conn)
                self.assertIn(b"<send_listid>", resp.body)
                made.append((contract.LOAD_MCH_ID, req["mch_billno"]))
        st, doc = control.packets(self.srv)
        self.assertEqual(self.billnos(doc), list(reversed(made))[:100])
        st, doc = control.packets(self.srv, limit=101, mch_id=contract.LOAD_MCH_ID)
        self.assertEqual(self.billnos(doc), list(reversed(made)))

    def test_check_reports_corruption(self):
        # GET /admin/v1/check answers 409 with the violations, then 200 once repaired.
        g = self.group(self.srv)
        self.claim_ok(self.srv, g["mch_billno"], SEED_OPENID)
        control.advance(self.srv, EXPIRY)
        p = probe.db_packet(self.srv, g["mch_billno"])
        self.assertEqual(p["status"], "REFUND")
        probe.write_db(self.srv.db_path, "UPDATE packets SET refund_amount = refund_amount + 1 "
                    "WHERE id = ?", (p["id"],))
        st, doc, raw = control.admin(self.srv, "GET", "/admin/v1/check")
        self.assertEqual(st, 409, raw)
        self.assertIs(doc["ok"], False)
        self.assertGreaterEqual(len(doc["violations"]), 1)
        self.assertTrue(any(g["mch_billno"] in v.get("detail", "") for v in doc["violations"]),
                        doc)
        probe.write_db(self.srv.db_path, "UPDATE packets SET refund_amount = refund_amount - 1 "
                    "WHERE id = ?", (p["id"],))
        probe.write_db(self.srv.db_path, "UPDATE shares SET openid = 'oIntruder' WHERE packet_id = ? "
                    "AND seq = 0", (p["id"],))
        st, doc, raw = control.admin(self.srv, "GET", "/admin/v1/check")
        self.assertEqual(st, 409, raw)
        probe.write_db(self.srv.db_path, "UPDATE shares SET openid = ? WHERE packet_id = ? "
                    "AND seq = 0", (SEED_OPENID, p["id"]))
        control.check(self.srv)

    def test_listing_bad_parameters(self):
        for params in ({"status": "BOGUS"}, {"status": "sent"}, {"status": ""},
                       {"status": "REFUND_ING"}, {"limit": "0"}, {"limit": "1001"},
                       {"limit": "abc"}, {"limit": "-1"}, {"limit": "1.5"}):
            with self.subTest(**params):
                st, doc = control.packets(self.srv, **params)
                self.assertEqual(st, 400, doc)
                self.assertIsInstance(doc.get("error"), str)
        for status in contract.STATUSES:
            self.assertEqual(control.packets(self.srv, status=status)[0], 200)

    def test_held_and_failed_in_listing(self):
        srv = self.start_server(
            fixtures=contract.fixtures_with(limits={"packets_per_user_per_day": 1}))
        control.to_noon(srv)
        self.srv = srv
        self.group(srv)
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        st, doc = control.packets(srv, status="SENDING")
        self.assertEqual([p["mch_billno"] for p in doc["packets"]], [req["mch_billno"]])
        p = doc["packets"][0]
        self.check_packet_json(p)
        self.assertEqual((p["err_code"], p["reason"], p["send_time"]),
                         ("SENDNUM_LIMIT", DES["sendnum"], None))
        control.advance(srv, EXPIRY)
        st, doc = control.packets(srv, status="FAILED")
        self.assertEqual([p["mch_billno"] for p in doc["packets"]], [req["mch_billno"]])
        self.assertEqual(control.packets(srv, status="SENDING")[1], {"packets": [], "next": None})

    def test_detail(self):
        g = self.group(self.srv, total_amount=900, scene_id="PRODUCT_1")
        billno = g["mch_billno"]
        st, doc = control.packet(self.srv, billno)
        self.assertEqual(st, 200, doc)
        self.check_packet_json(doc, detail=True)
        self.assertEqual((doc["hb_type"], doc["status"], doc["scene_id"], doc["send_name"],
                          doc["wishing"], doc["act_name"], doc["remark"], doc["err_code"],
                          doc["reason"], doc["refund_time"], doc["refund_amount"]),
                         ("GROUP", "SENT", "PRODUCT_1", g["send_name"], g["wishing"],
                          g["act_name"], g["remark"], None, None, None, None))
        self.assertEqual(doc["created_at"], doc["send_time"])
        self.assertEqual([s["seq"] for s in doc["shares"]], [0, 1, 2])
        self.assertEqual(sum(s["amount"] for s in doc["shares"]), 900)
        self.assertTrue(all(s["openid"] is None and s["rcv_time"] is None for s in doc["shares"]))
        self.assertEqual([(l["kind"], l["amount"], l["mch_id"]) for l in doc["ledger"]],
                         [("send", -900, MCH_ID)])
        self.assertEqual(doc["ledger"][0]["at"], doc["send_time"])
        c = self.claim_ok(self.srv, billno, SEED_OPENID)
        st, doc = control.packet(self.srv, billno, MCH_ID)
        self.check_packet_json(doc, detail=True)
        self.assertEqual((doc["shares"][0]["openid"], doc["shares"][0]["rcv_time"]),
                         (SEED_OPENID, c["rcv_time"]))
        control.advance(self.srv, EXPIRY)
        st, doc = control.packet(self.srv, billno)
        self.check_packet_json(doc, detail=True)
        self.assertEqual(doc["status"], "REFUND")
        self.assertEqual([(l["kind"], l["amount"]) for l in doc["ledger"]],
                         [("send", -900), ("refund", 900 - c["amount"])])
        self.assertEqual(doc["ledger"][1]["at"], doc["refund_time"])
        self.assertEqual(doc["refund_amount"], 900 - c["amount"])

    def test_detail_not_found_and_ambiguous(self):
        st, doc = control.packet(self.srv, wire.new_billno())
        self.assertEqual(st, 404, doc)
        billno = self.group(self.srv)["mch_billno"]
        self.assertEqual(control.packet(self.srv, billno, MCH2_ID)[0], 404)
        self.group(self.srv, mch_billno=billno, mch_id=MCH2_ID, wxappid=contract.MCH2_APPID,
                   re_openid=contract.MCH2_OPENID)
        st, doc = control.packet(self.srv, billno)
        self.assertEqual(st, 409, doc)
        for mch in (MCH_ID, MCH2_ID):
            st, doc = control.packet(self.srv, billno, mch)
            self.assertEqual((st, doc["mch_id"]), (200, mch))
            self.check_packet_json(doc, detail=True)

    def test_claim_bad_bodies(self):
        billno = self.group(self.srv)["mch_billno"]
        for raw in ("", "{", "[]", '"x"', "null", "{}", '{"openid": 5}', '{"openid": ""}',
                    '{"openid": null}', '{"openid": "%s"}' % ("o" * 33),
                    '{"openid": "%s", "foo": 1}' % SEED_OPENID,
                    '{"openid": "%s", "mch_id": 10000098}' % SEED_OPENID,
                    '{"mch_id": "10000098"}'):
            with self.subTest(raw=raw):
                st, doc = control.claim(self.srv, billno, None, raw=raw)
                self.assertEqual(st, 400, doc)
                self.assertIsInstance(doc.get("error"), str)
        p = probe.db_packet(self.srv, billno)
        self.assertTrue(all(s["openid"] is None for s in p["shares"]))
        # 32 characters is fine.
        self.claim_ok(self.srv, billno, SEED_OPENID)
        self.claim_ok(self.srv, billno, "o" * 32)

    def test_claim_unknown_billno(self):
        self.claim_refused(self.srv, wire.new_billno(), SEED_OPENID, http_status=404)
        billno = self.group(self.srv)["mch_billno"]
        self.claim_refused(self.srv, billno, SEED_OPENID, http_status=404, mch_id=MCH2_ID)

    def test_unknown_control_paths(self):
        for method, path in (("GET", "/admin/v1/nothing"), ("DELETE", "/admin/v1/clock"),
                             ("GET", "/admin/v1/packets/X/claims")):
            with self.subTest(method=method, path=path):
                st, doc, _ = control.admin(self.srv, method, path)
                self.assertIn(st, (404, 405), doc)


if __name__ == "__main__":
    unittest.main()
