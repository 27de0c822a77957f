#!/usr/bin/env python3
"""Malformed and hostile request bodies: each is XML_ERROR, exactly, and the server
keeps serving (and never expands entities or reads files)."""

import unittest

from harness import answers, contract, probe, wire
from harness.cases import SharedServerCase
from harness.contract import GROUP_PATH, MCH_KEY


def valid_fields(**overrides):
    req = wire.group_request(re_openid=wire.new_openid(), **overrides)
    req["sign"] = wire.sign(req, MCH_KEY)
    return req


def elements(req):
    """The inner elements of a php-style body, as bytes."""
    body = wire.build_xml(req)
    return body[len(b"<xml>"):-len(b"</xml>")]


def cases():
    """(name, body bytes); every one must be answered with XML_ERROR."""
    inner = elements(valid_fields())
    laughs = [b'<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        laughs.append(b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10))))
    out = [
        ("empty body", b""),
        ("whitespace only", b" \n"),
        ("not xml", b"hello"),
        ("json", b'{"mch_id": "10000098"}'),
        ("xxe", b'<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<xml>" + inner.replace(b"<remark>", b"<remark>&x;", 1) + b"</xml>"),
        ("xxe parameter entity", b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
                                 b"<xml>" + inner + b"</xml>"),
        ("external dtd", b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml>' + inner + b"</xml>"),
        ("network dtd", b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml>' + inner + b"</xml>"),
        ("billion laughs", b"<?xml version=\"1.0\"?>\n<!DOCTYPE xml [" + b"".join(laughs) + b"]>"
                           b"<xml>" + inner.replace(b"<remark>", b"<remark>&lol9;", 1) + b"</xml>"),
        ("doctype without entities", b"<!DOCTYPE xml><xml>" + inner + b"</xml>"),
        ("undefined entity", b"<xml>" + inner.replace(b"<remark>", b"<remark>&x;", 1) + b"</xml>"),
        ("invalid utf-8", b"<xml>" + inner.replace(b"<remark>", b"<remark>\xff\xfe", 1) + b"</xml>"),
        ("overlong utf-8", b"<xml>" + inner.replace(b"<remark>", b"<remark>\xc0\xbc", 1) + b"</xml>"),
        ("utf-16 surrogate in utf-8", b"<xml>" + inner.replace(b"<remark>", b"<remark>\xed\xa0\x80", 1)
         + b"</xml>"),
        ("truncated utf-8", b"<xml>" + inner.replace(b"<remark>", b"<remark>\xe6\x81", 1) + b"</xml>"),
        ("nul byte in value", b"<xml>" + inner.replace(b"<remark>", b"<remark>a\x00b", 1) + b"</xml>"),
        ("nul byte after root", b"<xml>" + inner + b"</xml>\x00"),
        ("nested element", b"<xml>" + inner.replace(b"<remark>", b"<remark><b>x</b>", 1) + b"</xml>"),
        ("nested wrapper", b"<xml><data>" + inner + b"</data></xml>"),
        ("deep nesting", b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + inner + b"</xml>"),
        ("duplicate element", b"<xml>" + inner + b"<mch_id>10000098</mch_id></xml>"),
        ("duplicate element, other value", b"<xml>" + inner + b"<total_amount>1</total_amount></xml>"),
        ("root not xml", b"<root>" + inner + b"</root>"),
        ("root XML upper case", b"<XML>" + inner + b"</XML>"),
        ("two roots", b"<xml>" + inner + b"</xml><xml></xml>"),
        ("unclosed root", b"<xml>" + inner),
        ("unclosed element", b"<xml>" + inner.replace(b"</remark>", b"", 1) + b"</xml>"),
        ("mismatched tags", b"<xml>" + inner.replace(b"</remark>", b"</remarks>", 1) + b"</xml>"),
        ("unterminated cdata", b"<xml><remark><![CDATA[abc</remark>" + inner + b"</xml>"),
        ("text after root", b"<xml>" + inner + b"</xml>garbage"),
        ("control character", b"<xml>" + inner.replace(b"<remark>", b"<remark>a\x01b", 1) + b"</xml>"),
        ("character reference to NUL", b"<xml>" + inner.replace(b"<remark>", b"<remark>&#0;", 1)
         + b"</xml>"),
        ("character reference to U+0001", b"<xml>" + inner.replace(b"<remark>", b"<remark>&#x1;", 1)
         + b"</xml>"),
    ]
    return out


class Hostile(SharedServerCase):
    def tearDown(self):
        probe.check_invariants(self.srv)

    def still_serves(self):
        self.srv.check_alive()
        req = valid_fields()
        self.assertSuccess(wire.post(self.srv, GROUP_PATH, wire.build_xml(req)), req)

    def test_malformed_bodies_are_xml_error(self):
        for name, body in cases():
            with self.subTest(case=name):
                self.assertLessEqual(len(body), 65536, name)
                for headers in (contract.PHP_HEADERS, {}):
                    resp = wire.post(self.srv, GROUP_PATH, body, headers=headers)
                    self.assertAnswer(resp, answers.XML_ERROR_BODY)
                self.still_serves()
        rows = probe.query(self.srv, "SELECT COUNT(*) FROM packets WHERE status != 'SENT'")
        self.assertEqual(rows[0][0], 0)

    def test_other_endpoints_refuse_the_same_bodies(self):
        # sendredpack and gethbinfo share the codec: every hostile body is
        # XML_ERROR there too (the F9 shape), and the server keeps serving.
        for path in ("/mmpaymkttransfers/sendredpack", "/mmpaymkttransfers/gethbinfo"):
            for name, body in cases():
                with self.subTest(path=path, case=name):
                    self.assertAnswer(wire.post(self.srv, path, body), answers.XML_ERROR_BODY)
            self.still_serves()

    def test_xxe_does_not_leak(self):
        inner = elements(valid_fields())
        body = (b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml>'
                + inner.replace(b"<mch_billno>", b"<mch_billno>&x;", 1) + b"</xml>")
        resp = wire.post(self.srv, GROUP_PATH, body)
        self.assertNotIn(b"root:", resp.body)
        self.assertAnswer(resp, answers.XML_ERROR_BODY)

    def test_echo_of_hostile_values_stays_well_formed(self):
        # Values that fail validation are echoed; the answer must stay well-formed XML
        # with the exact values (CDATA split around "]]>").
        for billno in ("a]]>b", "]]>", "<x>&amp;</x>", "a\nb\n", "]]]]><![CDATA[", "引号\"'"):
            for style in ("cdata", "php"):
                with self.subTest(billno=billno, style=style):
                    req = wire.group_request(mch_billno=billno, re_openid=wire.new_openid())
                    resp = wire.send_group(self.srv, req, style=style)
                    self.assertErr(resp, req, "PARAM_ERROR", "mch_billno")
        self.still_serves()

    def test_bad_requests_on_one_connection(self):
        # A malformed body does not spoil the keep-alive connection.
        with wire.Connection(self.srv) as conn:
            for name, body in cases()[:8]:
                with self.subTest(case=name):
                    self.assertAnswer(conn.post(GROUP_PATH, body), answers.XML_ERROR_BODY)
            req = valid_fields()
            self.assertSuccess(conn.post(GROUP_PATH, wire.build_xml(req)), req)
            self.assertTrue(conn.same_socket())


if __name__ == "__main__":
    unittest.main()
