#!/usr/bin/env python3
"""Edges of the control API (issue 9 parts 3, 5 and 7): query strings every route
checks against its own list of parameters (a destructive call never falls back to a
wider scope), list endpoints that page with limit and cursor, and a journal that
keeps every request whatever bytes its body holds."""

import http.client
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import answers, contract, control, probe, wire  # noqa: E402
from harness.cases import E2ETestCase  # noqa: E402
from harness.contract import HOST, MCH2_ID, MCH_ID  # noqa: E402

# Every control route, with a body that would succeed, and the query parameters
# it takes (docs/control-api.md).
ROUTES = [
    ("GET", "/healthz", None, ()),
    ("GET", "/admin/v1/check", None, ()),
    ("GET", "/admin/v1/errors", None, ()),
    ("GET", "/metrics", None, ()),
    ("GET", "/admin/v1/clock", None, ()),
    ("POST", "/admin/v1/clock", {"advance_seconds": 0}, ()),
    ("GET", "/admin/v1/packets", None, ("mch_id", "status", "limit", "cursor")),
    ("GET", "/admin/v1/packets/{billno}", None, ("mch_id",)),
    ("POST", "/admin/v1/packets/{billno}/claims", {"openid": "oSomeoneElse"}, ()),
    ("POST", "/admin/v1/packets/{billno}/settle", {"result": "SENT"}, ()),
    ("GET", "/admin/v1/merchants/" + MCH_ID, None, ()),
    ("PUT", "/admin/v1/merchants/" + MCH_ID, {"topup": 1}, ()),
    ("GET", "/admin/v1/faults", None, ("limit", "cursor")),
    ("POST", "/admin/v1/faults", {"transport": "http_503", "match": {"mch_billno": "NEVER"}}, ()),
    ("DELETE", "/admin/v1/faults", None, ()),
    ("DELETE", "/admin/v1/faults/{rule}", None, ()),
    ("GET", "/admin/v1/journal", None, ("mch_billno", "err_code", "limit", "cursor")),
    ("POST", "/admin/v1/reset", None, ("mch_id",)),
]


def raw_admin(srv, request_line, body=b""):
    """Sends one request with request_line (bytes) as is; (status, body bytes)."""
    with socket.create_connection((HOST, srv.admin_port), timeout=30) as s:
        s.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


def packets_of(srv, mch_id):
    return probe.query(srv, "SELECT mch_billno, status FROM packets WHERE mch_id = ? ORDER BY id",
                       (mch_id,))


def send_ok(tc, srv, **overrides):
    req = wire.fresh_group_request(**overrides)
    tc.assertEqual(answers.answer(wire.call(srv, "sendgroupredpack", req))["err_code"], "SUCCESS")
    return req


class QueryStrings(E2ETestCase):

    def assert400(self, srv, method, path, naming=None, body=None):
        st, doc, raw = control.admin(srv, method, path, body)
        self.assertEqual(st, 400, (method, path, raw))
        self.assertIsInstance(doc, dict, raw)
        self.assertIsInstance(doc.get("error"), str, raw)
        if naming is not None:
            self.assertIn('"%s"' % naming, doc["error"], (path, doc))
            self.assertEqual(doc.get("parameter"), naming, (path, doc))
        return doc

    def test_reset_never_widens_its_scope(self):
        srv = self.start_server()
        for mch, app in ((MCH_ID, contract.APPID), (MCH2_ID, contract.MCH2_APPID)):
            send_ok(self, srv, mch_id=mch, wxappid=app)
            send_ok(self, srv, mch_id=mch, wxappid=app)
        mine, theirs = packets_of(srv, MCH_ID), packets_of(srv, MCH2_ID)
        self.assertEqual((len(mine), len(theirs)), (2, 2))
        cases = [
            ("mch_id=10000099&dryrun", "dryrun"),    # a parameter without '='
            ("mch_id", "mch_id"),                     # no value at all
            ("mch_id=", "mch_id"),                    # an empty value
            ("dryrun=1&mch_id=10000099", "dryrun"),   # unknown, before a good one
            ("mch_id=10000099&mch_id=10000098", "mch_id"),  # repeated
            ("mch_id=10000099&mch_id=10000099", "mch_id"),  # repeated, even when equal
            ("MCH_ID=10000099", "MCH_ID"),            # names are case-sensitive
            ("mchid=10000099", "mchid"),
            ("mch_id=10000099&", None),               # an empty parameter
            ("&mch_id=10000099", None),
            ("mch_id=10000099&&x=1", None),
            ("=10000099", None),                      # no name
            ("mch_id=%zz", "mch_id"),                 # bad percent-encoding
            ("mch_id=10000099%", "mch_id"),
            ("mch_id=10000099%00", "mch_id"),         # a NUL
            ("mch_id=%E4", "mch_id"),                 # not UTF-8
            ("mch_id=100000%2099", "mch_id"),         # not an id
            ("mch_id=" + "9" * 65, "mch_id"),
        ]
        for query, naming in cases:
            with self.subTest(query=query):
                self.assert400(srv, "POST", "/admin/v1/reset?" + query, naming)
                self.assertEqual(packets_of(srv, MCH_ID), mine, "a refused reset touched 10000098")
                self.assertEqual(packets_of(srv, MCH2_ID), theirs, "a refused reset touched 10000099")
        # Percent-encoding is decoded ("%31" is "1") before the value is checked.
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset?mch_id=1000009%39")
        self.assertEqual(doc["mch_id"], MCH2_ID)
        self.assertEqual(packets_of(srv, MCH2_ID), [])
        self.assertEqual(packets_of(srv, MCH_ID), mine, "the other merchant's packets survive")
        # An empty query string is no parameter at all: the whole world goes back.
        doc = control.admin_ok(srv, "POST", "/admin/v1/reset?")
        self.assertIsNone(doc["mch_id"])
        self.assertEqual(packets_of(srv, MCH_ID), [])

    def test_raw_bytes_in_the_query(self):
        srv = self.start_server()
        send_ok(self, srv, mch_id=MCH2_ID, wxappid=contract.MCH2_APPID)
        theirs = packets_of(srv, MCH2_ID)
        for line in (b"POST /admin/v1/reset?mch_id=\xe4\xb8\xad HTTP/1.1",
                     b"POST /admin/v1/reset?mch_id=10000099\xff HTTP/1.1",
                     b"POST /admin/v1/reset?\xff=1 HTTP/1.1",
                     b"POST /admin/v1/reset?mch_id=10000099&\x01 HTTP/1.1",
                     b"GET /admin/v1/packets?mch_id=1000\x7f HTTP/1.1"):
            with self.subTest(line=line):
                st, body = raw_admin(srv, line)
                self.assertEqual(st, 400, body)
                self.assertEqual(packets_of(srv, MCH2_ID), theirs)
        self.assertEqual(control.admin_ok(srv, "GET", "/admin/v1/clock")["offset_seconds"], 0)

    def test_every_route_checks_its_parameters(self):
        srv = self.start_server()
        req = wire.fresh_group_request(re_openid="oMOCK_PROCESSING")
        self.assertEqual(answers.answer(wire.call(srv, "sendgroupredpack", req))["err_code"], "PROCESSING")
        rule = control.admin_ok(srv, "POST", "/admin/v1/faults",
                          {"transport": "http_503", "match": {"mch_billno": "NEVER"}}, want=201)
        balance = probe.balance(srv)
        for method, path, body, takes in ROUTES:
            path = path.format(billno=req["mch_billno"], rule=rule["id"])
            with self.subTest(route=(method, path)):
                doc = self.assert400(srv, method, path + "?bogus=1", "bogus", body)
                for name in takes:
                    self.assertIn(name, doc["error"], "the error lists what the path takes")
                if not takes:
                    self.assertIn("no query parameters", doc["error"])
                self.assert400(srv, method, path + "?bogus", "bogus", body)
                sep = "?" if not takes else "?%s=%s&" % (takes[0], "1")
                if takes:
                    self.assert400(srv, method, path + sep + "other=2", "other", body)
        # Nothing was done by any refused call.
        self.assertEqual(probe.balance(srv), balance)
        self.assertEqual(control.admin_ok(srv, "GET", "/admin/v1/clock")["offset_seconds"], 0)
        self.assertEqual([r["id"] for r in control.admin_ok(srv, "GET", "/admin/v1/faults")["faults"]],
                         [rule["id"]], "DELETE /admin/v1/faults?x must not delete every rule")
        self.assertEqual(control.packet_doc(srv, req["mch_billno"])["status"], "SENDING")
        self.assertEqual(control.packet_doc(srv, req["mch_billno"])["shares"], [])
        # Unknown paths and methods keep their 404 and 405 whatever the query.
        self.assertEqual(control.admin(srv, "GET", "/admin/v1/nope?bogus=1")[0], 404)
        self.assertEqual(control.admin(srv, "PUT", "/admin/v1/reset?bogus=1")[0], 405)
        # The good spellings still work.
        control.admin_ok(srv, "GET", "/healthz?")
        control.admin_ok(srv, "GET", "/admin/v1/packets/%s?mch_id=%s" % (req["mch_billno"], MCH_ID))

    def test_values_are_checked_once_for_every_route(self):
        srv = self.start_server()
        bad = [
            ("/admin/v1/packets?limit=0", "limit"), ("/admin/v1/packets?limit=1001", "limit"),
            ("/admin/v1/packets?limit=x", "limit"), ("/admin/v1/packets?limit=-1", "limit"),
            ("/admin/v1/packets?limit=01", None), ("/admin/v1/packets?status=BOGUS", "status"),
            ("/admin/v1/packets?status=sent", "status"), ("/admin/v1/packets?cursor=x", "cursor"),
            ("/admin/v1/packets?cursor=0", "cursor"), ("/admin/v1/packets?cursor=-5", "cursor"),
            ("/admin/v1/packets?mch_id=a%2Fb", "mch_id"),
            ("/admin/v1/faults?limit=1001", "limit"), ("/admin/v1/faults?cursor=1.5", "cursor"),
            ("/admin/v1/journal?limit=0", "limit"), ("/admin/v1/journal?err_code=NOPE", "err_code"),
            ("/admin/v1/journal?cursor=99999999999999999999", "cursor"),
            ("/admin/v1/journal?mch_billno=" + "B" * 65, "mch_billno"),
        ]
        for path, naming in bad:
            with self.subTest(path=path):
                if naming is None:
                    st, _, raw = control.admin(srv, "GET", path)
                    self.assertIn(st, (200, 400), raw)  # leading zeros: either, but never 5xx
                else:
                    self.assert400(srv, "GET", path, naming)
        for path in ("/admin/v1/packets?status=SENT&limit=1000&mch_id=" + MCH_ID,
                     "/admin/v1/journal?err_code=SUCCESS&limit=1",
                     "/admin/v1/faults?limit=1&cursor=7"):
            control.admin_ok(srv, "GET", path)


class Pagination(E2ETestCase):

    def walk(self, srv, path, key, limit=None):
        """Follows "next" from the first page; returns (every item, pages)."""
        items, pages, cursor = [], 0, None
        sep = "&" if "?" in path else "?"
        while True:
            q = []
            if limit is not None:
                q.append("limit=%d" % limit)
            if cursor is not None:
                q.append("cursor=" + cursor)
            doc = control.admin_ok(srv, "GET", path + (sep + "&".join(q) if q else ""))
            self.assertIn("next", doc)
            pages += 1
            if limit is not None:
                self.assertLessEqual(len(doc[key]), limit)
            items += doc[key]
            if doc["next"] is None:
                return items, pages
            self.assertIsInstance(doc["next"], str)
            self.assertEqual(len(doc[key]), limit if limit is not None else len(doc[key]))
            cursor = doc["next"]
            self.assertLess(pages, 1000)

    def test_fault_rules(self):
        srv = self.start_server()
        n = 1050
        conn = http.client.HTTPConnection(HOST, srv.admin_port, timeout=30)
        ids = []
        for i in range(n):
            conn.request("POST", "/admin/v1/faults",
                         body=json.dumps({"err_code": "SYSTEMERROR",
                                          "match": {"mch_billno": "NEVER%05d" % i}}))
            resp = conn.getresponse()
            self.assertEqual(resp.status, 201)
            ids.append(json.loads(resp.read())["id"])
        conn.close()
        st, doc, raw = control.admin(srv, "GET", "/admin/v1/faults")
        self.assertEqual(st, 200)
        self.assertEqual([r["id"] for r in doc["faults"]], ids[:100], "default page: 100, in order")
        self.assertEqual(doc["next"], str(ids[99]))
        self.assertLess(len(raw), 40000, "the default answer stays small")
        doc = control.admin_ok(srv, "GET", "/admin/v1/faults?limit=1000")
        self.assertEqual(len(doc["faults"]), 1000)
        items, pages = self.walk(srv, "/admin/v1/faults", "faults", limit=1000)
        self.assertEqual(([r["id"] for r in items], pages), (ids, 2))
        items, pages = self.walk(srv, "/admin/v1/faults", "faults", limit=350)
        self.assertEqual(([r["id"] for r in items], pages), (ids, 3))
        # A page that ends exactly at the last rule says so.
        doc = control.admin_ok(srv, "GET", "/admin/v1/faults?limit=50&cursor=%d" % ids[-51])
        self.assertEqual(([r["id"] for r in doc["faults"]], doc["next"]), (ids[-50:], None))
        # Rules deleted between pages: the walk neither repeats nor skips the others.
        first = control.admin_ok(srv, "GET", "/admin/v1/faults?limit=10")
        control.admin_ok(srv, "DELETE", "/admin/v1/faults/%d" % ids[10])   # on the next page
        control.admin_ok(srv, "DELETE", "/admin/v1/faults/%d" % ids[9])    # the cursor itself
        doc = control.admin_ok(srv, "GET", "/admin/v1/faults?limit=10&cursor=" + first["next"])
        self.assertEqual([r["id"] for r in doc["faults"]], ids[11:21])
        # A cursor past the end: an empty last page.
        doc = control.admin_ok(srv, "GET", "/admin/v1/faults?cursor=%d" % (ids[-1] + 5))
        self.assertEqual((doc["faults"], doc["next"]), ([], None))
        control.admin_ok(srv, "DELETE", "/admin/v1/faults")
        self.assertEqual(control.admin_ok(srv, "GET", "/admin/v1/faults"), {"faults": [], "next": None})

    def test_packets(self):
        srv = self.start_server()
        for i in range(23):
            if i % 3 == 2:
                send_ok(self, srv, mch_id=MCH2_ID, wxappid=contract.MCH2_APPID)
            else:
                send_ok(self, srv)
        wire.call(srv, "sendgroupredpack", wire.fresh_group_request(re_openid="oMOCK_NOTENOUGH"))
        every = [r[0] for r in probe.query(srv, "SELECT mch_billno FROM packets ORDER BY id DESC")]
        mine = [r[0] for r in probe.query(
            srv, "SELECT mch_billno FROM packets WHERE mch_id = ? AND status = 'SENT' ORDER BY id DESC",
            (MCH_ID,))]
        items, pages = self.walk(srv, "/admin/v1/packets", "packets", limit=5)
        self.assertEqual(([p["mch_billno"] for p in items], pages), (every, 5))
        items, pages = self.walk(srv, "/admin/v1/packets?mch_id=%s&status=SENT" % MCH_ID, "packets",
                                 limit=4)
        self.assertEqual([p["mch_billno"] for p in items], mine)
        self.assertEqual(len(mine), 16)
        self.assertEqual(pages, 4, "the page that holds the last one says there is no more")
        doc = control.admin_ok(srv, "GET", "/admin/v1/packets")
        self.assertEqual(([p["mch_billno"] for p in doc["packets"]], doc["next"]), (every, None))
        doc = control.admin_ok(srv, "GET", "/admin/v1/packets?limit=%d" % len(every))
        self.assertIsNone(doc["next"], "a page that holds the rest says there is no more")

    def test_journal(self):
        srv = self.start_server()
        sent = [send_ok(self, srv) for _ in range(9)]
        for _ in range(4):
            wire.call(srv, "gethbinfo", wire.query_request(wire.new_billno()))
        doc = control.admin_ok(srv, "GET", "/admin/v1/journal")
        self.assertEqual((doc["kept"], len(doc["entries"]), doc["next"]), (13, 13, None))
        seqs = [e["seq"] for e in doc["entries"]]
        items, pages = self.walk(srv, "/admin/v1/journal", "entries", limit=4)
        self.assertEqual(([e["seq"] for e in items], pages), (seqs, 4))
        items, pages = self.walk(srv, "/admin/v1/journal?err_code=SUCCESS", "entries", limit=3)
        self.assertEqual([e["mch_billno"] for e in items if e["endpoint"] == "sendgroupredpack"],
                         [r["mch_billno"] for r in reversed(sent)])
        self.assertEqual(pages, 3)
        items, _ = self.walk(srv, "/admin/v1/journal?err_code=NOT_FOUND", "entries", limit=1)
        self.assertEqual(len(items), 4)
        one = control.admin_ok(srv, "GET", "/admin/v1/journal?mch_billno=" + sent[3]["mch_billno"])
        self.assertEqual((len(one["entries"]), one["next"]), (1, None))


class JournalBodies(E2ETestCase):

    def entries(self, srv, query):
        return control.admin_ok(srv, "GET", "/admin/v1/journal?" + query)["entries"]

    def test_invalid_utf8_is_escaped_not_dropped(self):
        srv = self.start_server()
        gbk = "<xml><mch_id>10000098</mch_id><send_name>天虹百货</send_name></xml>".encode("gbk")
        resp = wire.post(srv, contract.PATHS["sendgroupredpack"], gbk)
        self.assertEqual(answers.answer(resp)["err_code"], "XML_ERROR")
        stray = b"<xml>\x00\x80\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80ok\\x41</xml>"
        resp = wire.post(srv, contract.PATHS["gethbinfo"], stray)
        self.assertEqual(answers.answer(resp)["err_code"], "XML_ERROR")
        got = self.entries(srv, "err_code=XML_ERROR")
        self.assertEqual(len(got), 2, "both bodies are in the journal")
        # Python's own decoder, with each byte it refuses written as \xNN, agrees
        # (GBK's \xd9\xbb happens to be a valid UTF-8 character, U+067B).
        self.assertEqual(got[1]["request"], gbk.decode("utf-8", "backslashreplace"))
        self.assertIn("\\xcc\\xec\\xba\\xe7\\xb0", got[1]["request"])
        self.assertEqual(got[1]["request_bytes"], len(gbk))
        self.assertIs(got[1]["request_escaped"], True)
        self.assertIs(got[1]["request_cut"], False)
        # NUL, a stray continuation byte, an overlong '/', a surrogate, a code point past
        # U+10FFFF: each byte escaped; a literal backslash stays as it is.
        self.assertEqual(got[0]["request"], "<xml>\\x00\\x80\\xc0\\xaf\\xed\\xa0\\x80"
                         "\\xf4\\x90\\x80\\x80ok\\x41</xml>")
        self.assertEqual(got[0]["endpoint"], "gethbinfo")
        self.assertEqual(len(self.entries(srv, "limit=1000")), 2)

    def test_long_body_cut_on_a_character(self):
        srv = self.start_server()
        for shift in range(3):
            req = wire.fresh_group_request()
            req["sign"] = wire.sign(req, contract.MCH_KEY)
            # An element the endpoint does not know (not signed, ignored) carries
            # Chinese text so that byte 8192 falls inside a character for shifts 1 and 2.
            head = len(wire.build_xml(dict(req, pad="")).split(b"<pad>")[0]) + len(b"<pad>")
            pad = "x" * ((8192 - head - shift) % 3) + "中" * 3000
            body = wire.build_xml(dict(req, pad=pad))
            self.assertGreater(len(body), 8192 + 100)
            resp = wire.post(srv, contract.PATHS["sendgroupredpack"], body)
            self.assertEqual(answers.answer(resp)["err_code"], "SUCCESS")
            got = self.entries(srv, "mch_billno=" + req["mch_billno"])
            self.assertEqual(len(got), 1, "a 9 KB SUCCESS send is in the journal")
            e = got[0]
            self.assertEqual((e["err_code"], e["request_bytes"], e["request_cut"], e["request_escaped"]),
                             ("SUCCESS", len(body), True, False))
            kept = e["request"].encode("utf-8")
            self.assertTrue(body.startswith(kept))
            self.assertLessEqual(len(kept), 8192)
            self.assertGreater(len(kept), 8192 - 3, "cut at the last whole character")
            self.assertTrue(e["request"].endswith("中") or e["request"].endswith("x"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
