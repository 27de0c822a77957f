#!/usr/bin/env python3
"""Unit tests of the test client itself (the harness package): signature examples of spec 8.4,
request body shapes of the two SDKs, and the strict answer parser. No server."""

import unittest

from harness import answers, contract, probe, wire


class SignTests(unittest.TestCase):
    def test_spec_8_4_examples(self):
        for name, fields, key, expected in wire.sign_examples():
            with self.subTest(example=name):
                self.assertEqual(wire.sign(fields, key), expected)

    def test_example_c_string(self):
        _, fields, key, _ = wire.sign_examples()[2]
        s = wire.sign_string(fields, key)
        self.assertEqual(len(s.encode("utf-8").split(b"&key=")[0]), 404)
        self.assertTrue(s.startswith("act_name=新年红包&client_ip=127.0.0.1&mch_billno="))
        self.assertNotIn("consume_mch_id", s)

    def test_example_a_hmac(self):
        _, fields, key, _ = wire.sign_examples()[0]
        self.assertEqual(wire.sign_hmac_sha256(fields, key), wire.SIGN_EXAMPLE_A_HMAC)

    def test_empty_values_and_sign_are_dropped(self):
        f = {"b": "2", "a": "1", "c": "", "sign": "X"}
        self.assertEqual(wire.sign_string(f, "K"), "a=1&b=2&key=K")
        self.assertEqual(wire.sign_string(f, "K", keep_empty=True), "a=1&b=2&c=&key=K")


class BodyTests(unittest.TestCase):
    def setUp(self):
        self.req = wire.group_request(wishing='a<b>&"c"', risk_info="")
        self.req["sign"] = wire.sign(self.req, contract.MCH_KEY)

    def test_default_request(self):
        r = wire.group_request()
        self.assertEqual(len(r["mch_billno"]), 28)
        self.assertTrue(r["mch_billno"].isalnum() and r["mch_billno"].isascii())
        self.assertEqual(len(r["nonce_str"]), 32)
        self.assertNotEqual(r["mch_billno"], wire.group_request()["mch_billno"])
        self.assertNotIn("remark", wire.group_request(remark=None))

    def test_php_style(self):
        body = wire.build_xml(self.req, "php").decode("utf-8")
        self.assertTrue(body.startswith("<xml><mch_billno>"))
        self.assertNotIn("\n", body)
        self.assertIn("<wishing><![CDATA[a<b>&\"c\"]]></wishing>", body)
        self.assertIn("<risk_info></risk_info>", body)
        self.assertIn("<total_amount>300</total_amount>", body)
        self.assertTrue(body.endswith("<nonce_str>%s</nonce_str><sign>%s</sign></xml>"
                                      % (self.req["nonce_str"], self.req["sign"])))

    def test_wechatpy_style(self):
        body = wire.build_xml(self.req, "wechatpy").decode("utf-8")
        lines = body.split("\n")
        self.assertEqual(lines[0], "<xml>")
        self.assertEqual(lines[1], "<act_name><![CDATA[新春裂变红包]]></act_name>")
        self.assertIn("<total_num>3</total_num>", lines)
        self.assertIn("<mch_id>10000098</mch_id>", lines)
        self.assertNotIn("risk_info", body)
        self.assertEqual(lines[-2], "<sign><![CDATA[%s]]></sign>" % self.req["sign"])
        self.assertEqual(lines[-1], "</xml>")

    def test_bodies_parse_back(self):
        import xml.etree.ElementTree as ET
        for style in ("php", "wechatpy", "cdata"):
            with self.subTest(style=style):
                root = ET.fromstring(wire.build_xml(self.req, style))
                got = {c.tag: c.text or "" for c in root}
                want = {k: v for k, v in self.req.items()
                        if not (style == "wechatpy" and v == "")}
                self.assertEqual(got, want)


class AnswerParserTests(unittest.TestCase):
    GOOD = ("<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n"
            "<mch_billno><![CDATA[]]></mch_billno>\n<total_amount>300</total_amount>\n</xml>")

    def test_good(self):
        self.assertEqual(answers.parse_answer(self.GOOD.encode()),
                         [("return_code", "SUCCESS", True), ("mch_billno", "", True),
                          ("total_amount", "300", False)])

    def test_split_cdata(self):
        body = "<xml>\n<mch_billno><![CDATA[a]]]]><![CDATA[>b]]></mch_billno>\n</xml>"
        self.assertEqual(answers.parse_answer(body.encode()), [("mch_billno", "a]]>b", True)])
        self.assertEqual(answers.render_answer([("mch_billno", "a]]>b", True)]), body.encode())

    def test_spec_s1_sample(self):
        s1 = ("<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n"
              "<return_msg><![CDATA[发放成功]]></return_msg>\n"
              "<result_code><![CDATA[SUCCESS]]></result_code>\n"
              "<err_code><![CDATA[SUCCESS]]></err_code>\n"
              "<err_code_des><![CDATA[发放成功]]></err_code_des>\n"
              "<mch_billno><![CDATA[16610964586166018]]></mch_billno>\n"
              "<mch_id><![CDATA[1617446954]]></mch_id>\n"
              "<wxappid><![CDATA[wx9f4ab53be3e5e226]]></wxappid>\n"
              "<re_openid><![CDATA[odgJP5w-s6pRav3pIcIeB1urmqX8]]></re_openid>\n"
              "<total_amount>200</total_amount>\n"
              "<send_listid><![CDATA[1000041701202208213033416589419]]></send_listid>\n</xml>")
        d = answers.answer_dict(s1.encode())
        self.assertTrue(contract.SEND_LISTID_RE.fullmatch(d["send_listid"]))

    def test_layout_errors_are_caught(self):
        bad = [
            self.GOOD + "\n",
            '<?xml version="1.0"?>' + self.GOOD,
            self.GOOD.replace("\n", "\r\n"),
            self.GOOD.replace("\n<mch", "\n  <mch"),
            self.GOOD.replace("<![CDATA[SUCCESS]]>", "SUCCESS"),
            "<xml>\n<a>1</b>\n</xml>",
            self.GOOD.replace("<total_amount>300", "<total_amount> 300"),
            self.GOOD.replace("</xml>", "</xml2>"),
            self.GOOD.replace("\n</xml>", "</xml>"),
            self.GOOD.replace("<return_code>", "<return_code a=\"1\">"),
            "<xml></xml>\n",
            "",
        ]
        for b in bad:
            with self.subTest(body=b):
                with self.assertRaises(answers.AnswerLayoutError):
                    answers.parse_answer(b.encode())

    def test_expected_bodies(self):
        req = wire.group_request(mch_billno="", total_num="abc")
        body = answers.expected_answer("PARAM_ERROR", contract.DES["mch_billno"], req).decode()
        self.assertIn("<mch_billno><![CDATA[]]></mch_billno>\n", body)
        # A total_num that was not sent as a number is not echoed (issue 8.4).
        self.assertNotIn("<total_num>", body)
        self.assertIn("<mch_id><![CDATA[10000098]]></mch_id>\n", body)
        self.assertTrue(body.endswith("<total_amount>300</total_amount>\n</xml>"))
        req = wire.group_request(total_num="07")
        body = answers.expected_answer("PARAM_ERROR", contract.DES["mch_billno"], req).decode()
        self.assertTrue(body.endswith("<total_amount>300</total_amount>\n<total_num>7</total_num>\n</xml>"))
        answers.parse_answer(answers.XML_ERROR_BODY)


class InvariantCheckTests(unittest.TestCase):
    """check_invariants() against a hand-made database in the contract's schema."""

    SCHEMA = """
    CREATE TABLE merchants(mch_id TEXT PRIMARY KEY, name TEXT, api_key TEXT, balance INTEGER);
    CREATE TABLE packets(id INTEGER PRIMARY KEY, mch_id TEXT, mch_billno TEXT, hb_type TEXT,
        status TEXT, re_openid TEXT, wxappid TEXT, total_amount INTEGER, total_num INTEGER,
        send_listid TEXT, reason TEXT, UNIQUE(mch_id, mch_billno));
    CREATE TABLE shares(packet_id INTEGER, seq INTEGER, amount INTEGER, openid TEXT, rcv_time TEXT);
    CREATE TABLE ledger(id INTEGER PRIMARY KEY, mch_id TEXT, amount INTEGER, kind TEXT,
        packet_id INTEGER);
    INSERT INTO merchants VALUES ('1', 'm', 'k', 700);
    INSERT INTO ledger VALUES (1, '1', 1000, 'fixture', NULL), (2, '1', -300, 'send', 1);
    INSERT INTO packets VALUES
        (1, '1', 'A', 'GROUP', 'SENT', 'o', 'wx', 300, 3, '1000041701202401013000000000001', NULL),
        (2, '1', 'B', 'GROUP', 'SENDING', 'o', 'wx', 300, 3, NULL, 'x');
    INSERT INTO shares VALUES (1, 0, 200, NULL, NULL), (1, 1, 99, NULL, NULL), (1, 2, 1, NULL, NULL);
    """

    def setUp(self):
        import os
        import sqlite3
        import tempfile
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.path = os.path.join(self.dir.name, "t.db")
        conn = sqlite3.connect(self.path)
        conn.executescript(self.SCHEMA)
        conn.commit()
        conn.close()

        class Fake:
            db_path = self.path
        self.fake = Fake()

    def broken(self, sql, expected_words):
        import sqlite3
        conn = sqlite3.connect(self.path)
        conn.executescript(sql)
        conn.commit()
        conn.close()
        with self.assertRaises(AssertionError) as ctx:
            probe.check_invariants(self.fake)
        self.assertIn(expected_words, str(ctx.exception))

    def test_good_database(self):
        probe.check_invariants(self.fake)

    def test_balance_mismatch(self):
        self.broken("UPDATE merchants SET balance = 701", "SUM(ledger.amount)")

    def test_shares_sum(self):
        self.broken("UPDATE shares SET amount = 98 WHERE seq = 1", "shares sum")

    def test_share_below_one(self):
        self.broken("UPDATE shares SET amount = 0 WHERE seq = 2; "
                    "UPDATE shares SET amount = 201 WHERE seq = 0", "< 1")

    def test_share_count(self):
        self.broken("UPDATE packets SET total_num = 4 WHERE id = 1", "total_num")

    def test_sending_with_shares(self):
        self.broken("INSERT INTO shares VALUES (2, 0, 300, NULL, NULL)", "SENDING packet has")

    def test_sending_with_debit(self):
        self.broken("INSERT INTO ledger VALUES (3, '1', -300, 'send', 2); "
                    "UPDATE merchants SET balance = 400", "SENDING but has")

    def test_sent_without_shares(self):
        self.broken("DELETE FROM shares", "no shares")

    def test_debits_vs_issued(self):
        self.broken("UPDATE ledger SET amount = -200 WHERE id = 2; "
                    "UPDATE merchants SET balance = 800", "send debits")

    def test_send_listid(self):
        self.broken("UPDATE packets SET send_listid = '123' WHERE id = 1", "send_listid")


if __name__ == "__main__":
    unittest.main()
