#!/usr/bin/env python3
"""POST /mmpaymkttransfers/sendredpack (the normal packet) end to end
(CONTRACT.md "Lifecycle (issue 4)", protocol reference section 3)."""

import unittest

from harness import answers, contract, control, probe, wire
from harness.cases import LifecycleCase, SharedServerCase
from harness.contract import DES, EXPIRY, MCH_ID, MCH_KEY, NORMAL_PATH, SEED_OPENID


INITIAL = contract.FIXTURE_BALANCES[MCH_ID]

# Capture F3 of the protocol reference (section 3.4), published on one line.
F3 = ("<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[参数错误:total_num"
      "必须等于1]]></return_msg><result_code><![CDATA[FAIL]]></result_code><err_code><![CDATA["
      "PARAM_ERROR]]></err_code><err_code_des><![CDATA[参数错误:total_num必须等于1]]></err_code_des>"
      "<mch_billno><![CDATA[ZDWXRED201802012557757190]]></mch_billno><mch_id><![CDATA[1497578212]]>"
      "</mch_id><wxappid><![CDATA[wxb73f44efec494a9e]]></wxappid><re_openid><![CDATA["
      "orm730WGPNP44UCAJ1LuRKqDzwk8]]></re_openid><total_amount>100</total_amount><total_num>2"
      "</total_num></xml>")


class Success(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_success_exact_answer_and_rows(self):
        req = wire.normal_request()
        resp = wire.send_normal(self.srv, req)
        sl = self.assertSendSuccess(resp, req, self.srv, normal=True)
        self.assertNotIn(b"<total_num>", resp.body)
        # Element order of capture S1: no total_num, send_listid last.
        self.assertEqual([n for n, _, _ in answers.parse_answer(resp.body)],
                         ["return_code", "return_msg", "result_code", "err_code", "err_code_des",
                          "mch_billno", "mch_id", "wxappid", "re_openid", "total_amount",
                          "send_listid"])
        p = probe.db_packet(self.srv, req["mch_billno"])
        self.assertEqual((p["hb_type"], p["status"], p["total_num"], p["total_amount"],
                          p["send_listid"], p["reason"], p["re_openid"]),
                         ("NORMAL", "SENT", 1, 200, sl, None, SEED_OPENID))
        self.assertEqual([(s["seq"], s["amount"], s["openid"]) for s in p["shares"]],
                         [(0, 200, None)])
        self.assertEqual([(l["kind"], l["amount"]) for l in p["ledger"]], [("send", -200)])
        self.assertEqual(probe.balance(self.srv), INITIAL - 200)
        adm = control.packet_ok(self.srv, req["mch_billno"])
        self.assertEqual((adm["send_name"], adm["wishing"], adm["act_name"], adm["remark"],
                          adm["scene_id"], adm["wxappid"]),
                         (req["send_name"], req["wishing"], req["act_name"], req["remark"], None,
                          req["wxappid"]))

    def test_wechatpy_style_and_optional_fields(self):
        req = wire.normal_request(scene_id="PRODUCT_2", nick_name="天虹" * 8,
                                        min_value="200", max_value="200",
                                        risk_info="posttime%3d123123412%26clientversion%3d234134")
        resp = wire.send_normal(self.srv, req, style="wechatpy")
        self.assertSendSuccess(resp, req, self.srv, normal=True)
        self.assertEqual(control.packet_ok(self.srv, req["mch_billno"])["scene_id"], "PRODUCT_2")

    def test_client_ip_is_signed(self):
        req = wire.normal_request()
        unsigned = {k: v for k, v in req.items() if k != "client_ip"}
        body = dict(req, sign=wire.sign(unsigned, MCH_KEY))
        self.assertNormalErr(wire.send_normal(self.srv, body), req, "SIGN_ERROR", "sign")
        # sign_type and unknown elements are not signed.
        body = dict(req, sign=wire.sign(req, MCH_KEY), sign_type="MD5", foo="bar")
        self.assertSendSuccess(wire.send_normal(self.srv, body), req, self.srv, normal=True)

    def test_valid_client_ips(self):
        for ip in ("0.0.0.0", "255.255.255.255", "10.1.2.3", "192.168.100.200"):
            with self.subTest(ip=ip):
                self.normal(self.srv, client_ip=ip, re_openid=wire.new_openid())

    def test_amount_bounds(self):
        for amount in ("100", "20000"):
            with self.subTest(amount=amount):
                self.normal(self.srv, total_amount=amount, re_openid=wire.new_openid())
        for amount in ("99", "20001", "1"):
            with self.subTest(amount=amount):
                req = wire.normal_request(total_amount=amount)
                self.assertNormalErr(wire.send_normal(self.srv, req), req, "MONEY_LIMIT", "money_avg")
                self.assertIsNone(probe.db_packet(self.srv, req["mch_billno"]))

    def test_amount_bounds_with_scene(self):
        self.normal(self.srv, total_amount="1", scene_id="PRODUCT_1")
        srv = self.srv
        load = dict(mch_id=contract.LOAD_MCH_ID, wxappid=contract.LOAD_APPID, re_openid=contract.LOAD_OPENID,
                    scene_id="PRODUCT_3")
        self.normal(srv, total_amount="499900", **load)
        req = wire.normal_request(total_amount="499901", **load)
        self.assertNormalErr(wire.send_normal(srv, req), req, "MONEY_LIMIT", "money_scene")
        req = wire.normal_request(scene_id="PRODUCT_9")
        self.assertNormalErr(wire.send_normal(srv, req), req, "PARAM_ERROR", "scene")

    def test_identical_resend_original_answer(self):
        req = self.normal(self.srv)
        first = probe.db_packet(self.srv, req["mch_billno"])
        resp = wire.send_normal(self.srv, dict(req, nonce_str=wire.new_nonce(), wishing="再来"))
        self.assertSendSuccess(resp, req, self.srv, normal=True, replay_of=first["send_listid"])
        self.assertEqual(probe.balance(self.srv), INITIAL - 200)
        self.assertEqual(len(probe.db_packet(self.srv, req["mch_billno"])["ledger"]), 1)

    def test_bindings(self):
        req = wire.normal_request(wxappid=contract.MOBILE_APPID)
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "ILLEGAL_APPID", "illegal_appid")
        req = wire.normal_request(wxappid=contract.MCH2_APPID)
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "PARAM_ERROR", "appid_mismatch")
        req = wire.normal_request(re_openid=contract.MCH2_OPENID)
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "OPENID_ERROR", "openid")


class BillnoSpace(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_group_billno_resent_as_normal(self):
        g = self.group(self.srv)
        req = wire.normal_request(mch_billno=g["mch_billno"], total_amount="300")
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "FATAL_ERROR", "fatal_amount")
        req = wire.normal_request(mch_billno=g["mch_billno"], re_openid=wire.new_openid())
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "FATAL_ERROR", "fatal_openid")
        p = probe.db_packet(self.srv, g["mch_billno"])
        self.assertEqual((p["hb_type"], p["total_num"], len(p["ledger"])), ("GROUP", 3, 1))

    def test_normal_billno_resent_as_group(self):
        n = self.normal(self.srv, total_amount="300")
        req = wire.group_request(mch_billno=n["mch_billno"], total_amount="300")
        self.assertErr(wire.send_group(self.srv, req), req, "FATAL_ERROR", "fatal_amount")
        p = probe.db_packet(self.srv, n["mch_billno"])
        self.assertEqual((p["hb_type"], p["total_num"], len(p["ledger"])), ("NORMAL", 1, 1))
        self.assertEqual(probe.balance(self.srv), INITIAL - 300)

    def test_normal_fatal_errors(self):
        n = self.normal(self.srv)
        req = dict(n, total_amount="201", nonce_str=wire.new_nonce())
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "FATAL_ERROR", "fatal_amount")
        req = dict(n, re_openid=wire.new_openid(), total_amount="201")
        self.assertNormalErr(wire.send_normal(self.srv, req), req, "FATAL_ERROR", "fatal_openid")

    def test_held_normal_then_send_failed(self):
        srv = self.start_server(
            fixtures=contract.fixtures_with(limits={"packets_per_user_per_day": 1}))
        control.to_noon(srv)
        self.normal(srv)
        req = wire.normal_request()
        self.assertNormalErr(wire.send_normal(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        p, ans, hb = self.assertQuery(srv, req["mch_billno"], status="SENDING")
        self.assertEqual((ans["hb_type"], ans["total_num"], ans["reason"]),
                         ("NORMAL", "1", DES["sendnum"]))
        req2 = dict(req, nonce_str=wire.new_nonce())
        self.assertNormalErr(wire.send_normal(srv, req2), req2, "SEND_FAILED", "send_failed")
        control.advance(srv, EXPIRY + 1)
        self.assertQuery(srv, req["mch_billno"], status="FAILED")
        # More than a day after it was first used, the billno has expired (spec 3.2 row 21).
        self.assertNormalErr(wire.send_normal(srv, req2), req2, "SEND_FAILED", "expired")


class Lifecycle(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_only_the_receiver_opens_then_received(self):
        u = wire.new_openid()
        n = self.normal(self.srv, re_openid=u, total_amount="888")
        billno = n["mch_billno"]
        p, ans, hb = self.assertQuery(self.srv, billno, status="SENT")
        self.assertEqual((ans["hb_type"], ans["total_num"], ans["total_amount"]),
                         ("NORMAL", "1", "888"))
        self.assertEqual(hb, [])
        self.claim_refused(self.srv, billno, SEED_OPENID, status="SENT")
        self.claim_refused(self.srv, billno, wire.new_openid(), status="SENT")
        doc = self.claim_ok(self.srv, billno, u, status="RECEIVED")
        self.assertEqual((doc["seq"], doc["amount"]), (0, 888))
        p, ans, hb = self.assertQuery(self.srv, billno, status="RECEIVED")
        self.assertEqual([(o, a) for o, a, _ in hb], [(u, 888)])
        self.claim_refused(self.srv, billno, u, status="RECEIVED")
        self.claim_refused(self.srv, billno, wire.new_openid(), status="RECEIVED")
        control.advance(self.srv, 2 * EXPIRY)
        self.assertQuery(self.srv, billno, status="RECEIVED")
        self.assertEqual(probe.balance(self.srv), INITIAL - 888)
        resp = wire.send_normal(self.srv, dict(n, nonce_str=wire.new_nonce()))
        self.assertSendSuccess(resp, n, self.srv, normal=True, replay_of=p["send_listid"])

    def test_unopened_normal_is_refunded(self):
        n = self.normal(self.srv, total_amount="5000")
        sent = probe.db_packet(self.srv, n["mch_billno"])
        control.advance(self.srv, EXPIRY)
        p, ans, hb = self.assertQuery(self.srv, n["mch_billno"], status="REFUND")
        self.assertEqual((p["refund_amount"], p["refund_time"]), (5000, sent["send_time"] + EXPIRY))
        self.assertEqual(ans["refund_amount"], "5000")
        self.assertEqual(probe.balance(self.srv), INITIAL)
        self.claim_refused(self.srv, n["mch_billno"], n["re_openid"], status="REFUND")
        resp = wire.send_normal(self.srv, dict(n, nonce_str=wire.new_nonce()))
        self.assertSendSuccess(resp, n, self.srv, normal=True, replay_of=sent["send_listid"])


# ---------------------------------------------------------------------------
# Field rules (no order created; one server for all)
# ---------------------------------------------------------------------------


class Validation(LifecycleCase, SharedServerCase):
    def tearDown(self):
        rows = probe.query(self.srv, "SELECT mch_id, mch_billno, status FROM packets")
        self.assertEqual(rows, [], "a validation failure created an order")

    def check(self, overrides, err_code, des, **kw):
        req = wire.normal_request(**overrides)
        self.assertNormalErr(wire.send_normal(self.srv, req, **kw), req, err_code, des)
        return req

    def cases(self, cases, err_code="PARAM_ERROR"):
        for overrides, des in cases:
            with self.subTest(**{k: (v if v is None or len(str(v)) < 40 else "%d chars" % len(v))
                                 for k, v in overrides.items()}):
                self.check(overrides, err_code, des)

    def test_total_num_capture_f3_layout(self):
        req = self.check({"total_num": "2", "total_amount": "100"}, "PARAM_ERROR", "total_num1")
        resp = wire.send_normal(self.srv, req)
        names = [n for n, _, _ in answers.parse_answer(resp.body)]
        self.assertEqual(names[-2:], ["total_amount", "total_num"])
        # F3 itself, with our echoes and in the multi-line layout.
        want = F3
        for k, v in (("ZDWXRED201802012557757190", req["mch_billno"]), ("1497578212", MCH_ID),
                     ("wxb73f44efec494a9e", req["wxappid"]),
                     ("orm730WGPNP44UCAJ1LuRKqDzwk8", req["re_openid"])):
            want = want.replace(k, v)
        want = want.replace("<xml>", "<xml>\n")
        for n in names:
            want = want.replace("</%s>" % n, "</%s>\n" % n)
        self.assertEqual(resp.body.decode("utf-8"), want)
        self.assertIn(b"<total_amount>100</total_amount>\n<total_num>2</total_num>\n</xml>",
                      resp.body)

    def test_total_num(self):
        self.cases([({"total_num": "2"}, "total_num1"), ({"total_num": "3"}, "total_num1"),
                    ({"total_num": "0"}, "total_num1"), ({"total_num": "x"}, "total_num1"),
                    ({"total_num": None}, "total_num1"), ({"total_num": "-1"}, "total_num1")])
        # The echo: the request's integer; nothing when it was not sent as one
        # (a field that was not sent is not echoed with a value, issue 8.4).
        resp = wire.send_normal(self.srv, wire.normal_request(total_num="7"))
        self.assertIn(b"<total_num>7</total_num>", resp.body)
        for missing in (None, "", "x"):
            with self.subTest(total_num=missing):
                resp = wire.send_normal(self.srv, wire.normal_request(total_num=missing))
                self.assertIn("total_num必须等于1".encode(), resp.body)
                self.assertNotIn(b"<total_num>", resp.body)

    def test_client_ip(self):
        bad = [None, "", "256.1.1.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "::1", "1.2.3.4 ",
               "localhost", "1..2.3", "1.2.3.-4", "1234.1.1.1", "192.168.100.2001"]
        self.cases([({"client_ip": ip}, "client_ip") for ip in bad])

    def test_min_max_value(self):
        self.cases([({"min_value": "100"}, "min_max"), ({"max_value": "300"}, "min_max"),
                    ({"min_value": "200", "max_value": "201"}, "min_max"),
                    # checked after the field rules, before the amount
                    ({"min_value": "100", "total_amount": "99"}, "min_max")])
        self.check({"min_value": "100", "nonce_str": None}, "PARAM_ERROR", "nonce_str")

    def test_each_required_field(self):
        self.cases([({"mch_billno": None}, "mch_billno"), ({"mch_billno": "A" * 29}, "mch_billno"),
                    ({"mch_billno": "abc-123"}, "mch_billno"), ({"act_name": None}, "act_name"),
                    ({"act_name": "活" * 33}, "act_name"), ({"re_openid": None}, "re_openid"),
                    ({"re_openid": "o" * 33}, "re_openid"),
                    ({"re_openid": "o.bad"}, "re_openid_chars"),
                    ({"total_amount": None}, "total_amount"), ({"total_amount": "0"}, "total_amount"),
                    ({"total_amount": "1.5"}, "total_amount"), ({"wxappid": None}, "wxappid"),
                    ({"send_name": None}, "send_name"), ({"wishing": None}, "wishing"),
                    ({"wishing": "福" * 129}, "wishing"), ({"remark": None}, "remark"),
                    ({"nonce_str": None}, "nonce_str"), ({"nonce_str": "n" * 33}, "nonce_str")])

    def test_nick_name_optional_up_to_16(self):
        # (16 characters is accepted: see Success.test_wechatpy_style_and_optional_fields)
        req = wire.normal_request(nick_name="n" * 17)
        resp = wire.send_normal(self.srv, req)
        ans = answers.answer_dict(resp.body)
        self.assertEqual((ans["err_code"], ans["result_code"]), ("PARAM_ERROR", "FAIL"), ans)
        self.assertIn("nick_name", ans["err_code_des"])
        self.assertNormalErr(resp, req, "PARAM_ERROR", ans["err_code_des"])
        # after nonce_str
        self.check({"nick_name": "n" * 17, "nonce_str": None}, "PARAM_ERROR", "nonce_str")

    def test_field_order(self):
        # Each pair: the earlier rule answers (contract order: mch_billno, act_name, re_openid,
        # total_num, total_amount, wxappid, send_name, wishing, client_ip, remark, nonce_str).
        order = [("mch_billno", None), ("act_name", None), ("re_openid", None), ("total_num", "2"),
                 ("total_amount", None), ("wxappid", None), ("send_name", None), ("wishing", None),
                 ("client_ip", "x"), ("remark", None), ("nonce_str", None)]
        des = {"mch_billno": "mch_billno", "act_name": "act_name", "re_openid": "re_openid",
               "total_num": "total_num1", "total_amount": "total_amount", "wxappid": "wxappid",
               "send_name": "send_name", "wishing": "wishing", "client_ip": "client_ip",
               "remark": "remark", "nonce_str": "nonce_str"}
        for i in range(len(order) - 1):
            (a, va), (b, vb) = order[i], order[i + 1]
            with self.subTest(first=a, second=b):
                self.check({a: va, b: vb}, "PARAM_ERROR", des[a])
        # All the later ones at once: still the first.
        self.check({k: v for k, v in order}, "PARAM_ERROR", "mch_billno")

    def test_decision_order_before_fields(self):
        self.check({"mch_id": None}, "PARAM_ERROR", "mch_id_bad")
        self.check({"mch_id": "12345678"}, "PARAM_ERROR", "mch_id_unknown")
        self.check({"client_ip": None}, "CA_ERROR", "ca", cert=contract.MCH2_ID)
        self.check({"client_ip": None}, "SIGN_ERROR", "sign", key=contract.MCH2_KEY)
        # sign_type signed by the client: SIGN_ERROR.
        self.check({"sign_type": "MD5"}, "SIGN_ERROR", "sign")

    def test_xml_error(self):
        resp = wire.post(self.srv, NORMAL_PATH, b"<xml><mch_id>10000098</mch_id>")
        self.assertAnswer(resp, answers.XML_ERROR_BODY)


if __name__ == "__main__":
    unittest.main()
