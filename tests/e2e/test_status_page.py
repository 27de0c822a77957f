#!/usr/bin/env python3
"""The status page at / on the control listener (issue 12, part 7): a world with a
packet and its opened shares, fault rules (one hit), a SIGN_ERROR and a client
string with <script> in it; the page's HTML as served, then as a person sees it
in headless Chromium (Debian's chromium, installed by scripts/setup.sh), with a
screenshot kept as an artifact (REDPACK_ARTIFACTS, else beside the test
certificates in the build directory)."""

import html
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import answers, contract, control, wire  # noqa: E402
from harness.cases import E2ETestCase, SharedServerCase  # noqa: E402
from harness.contract import MCH_ID  # noqa: E402

SCRIPT = "<script>alert(1)</script>"
CHROMIUM_TIMEOUT = 120


def yuan(fen):
    """fen as the page writes it: 100000000 -> 1,000,000.00"""
    return "%s%s.%02d" % ("-" if fen < 0 else "", format(abs(fen) // 100, ","), abs(fen) % 100)


def chromium():
    """The browser, or a failure that says how to get it (never a skip)."""
    exe = os.environ.get("REDPACK_CHROMIUM") or shutil.which("chromium")
    if not exe:
        raise AssertionError("chromium is not installed: scripts/setup.sh installs it "
                             "(Debian package chromium; or set REDPACK_CHROMIUM)")
    return exe


def artifacts_dir():
    """Where the screenshot goes: REDPACK_ARTIFACTS, else <build dir>/artifacts (the build
    directory holds test-certs), else a temp dir that is kept."""
    d = os.environ.get("REDPACK_ARTIFACTS")
    if not d and os.environ.get("REDPACK_CERTS"):
        d = os.path.join(os.path.dirname(os.path.abspath(os.environ["REDPACK_CERTS"])), "artifacts")
    if not d:
        d = tempfile.mkdtemp(prefix="redpack-artifacts-")
    os.makedirs(d, exist_ok=True)
    return d


def run_chromium(test, *args):
    """chromium --headless ... ARGS with a profile of its own; returns stdout (text)."""
    profile = tempfile.mkdtemp(prefix="redpack-chromium-")
    test.addCleanup(shutil.rmtree, profile, True)
    cmd = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
           "--disable-dev-shm-usage", "--user-data-dir=" + profile] + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=CHROMIUM_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode,
                                                  p.stderr.decode("utf-8", "replace")[-3000:]))
    return p.stdout.decode("utf-8", "replace")


class Text(html.parser.HTMLParser):
    """The text of a document as a reader gets it (style content left out), and its
    elements' names."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.tags, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._skip += tag == "style"

    def handle_endtag(self, tag):
        self._skip -= tag == "style" and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    @classmethod
    def of(cls, doc):
        t = cls()
        t.feed(doc)
        t.close()
        return "".join(t.parts), t.tags


def element(doc, element_id):
    """The text inside the element with this id (a table row: one level, no nesting of
    the same tag inside it)."""
    m = re.search(r'<(\w+)[^>]* id="%s"[^>]*>(.*?)</\1>' % re.escape(element_id), doc, re.S)
    return Text.of(m.group(2))[0] if m else None


def cells(doc, row_id):
    """The texts of the cells of the table row with this id, or None."""
    m = re.search(r'<tr[^>]* id="%s"[^>]*>(.*?)</tr>' % re.escape(row_id), doc, re.S)
    return [Text.of(c)[0] for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1), re.S)] \
        if m else None


class StatusPage(SharedServerCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.srv
        control.admin_ok(srv, "DELETE", "/admin/v1/requests")
        control.advance(srv, 7200)
        # A group packet: its seed user and a friend open two of its three shares.
        cls.sent = wire.fresh_group_request()
        resp = wire.send_group(srv, cls.sent)
        if answers.answer_dict(resp.body)["err_code"] != "SUCCESS":
            raise AssertionError("send: %r" % resp.body)
        cls.friend = wire.new_openid()
        for openid in (cls.sent["re_openid"], cls.friend):
            st, doc = control.claim(srv, cls.sent["mch_billno"], openid)
            if st != 201:
                raise AssertionError("claim %s: HTTP %d %r" % (openid, st, doc))
        # Fault rules: one hit once, one whose match is a client string with <script>.
        cls.victim = wire.new_openid()
        cls.rule = control.admin_ok(srv, "POST", "/admin/v1/faults", {
            "api": "sendgroupredpack", "match": {"re_openid": cls.victim},
            "err_code": "NOTENOUGH", "times": 2}, want=201)
        cls.script_rule = control.admin_ok(srv, "POST", "/admin/v1/faults", {
            "match": {"mch_billno": SCRIPT}, "transport": "delay", "delay_ms": 5}, want=201)
        held = wire.send_group(srv, wire.fresh_group_request(re_openid=cls.victim))
        if answers.answer_dict(held.body)["err_code"] != "NOTENOUGH":
            raise AssertionError("the rule did not answer: %r" % held.body)
        # A SIGN_ERROR whose signed string carries <script> too.
        cls.bad = wire.fresh_group_request(wishing=SCRIPT)
        wire.send_group(srv, cls.bad, key="0" * 32)
        doc = control.admin_ok(srv, "GET", "/admin/v1/journal?err_code=SIGN_ERROR&limit=1")
        cls.sign_check = doc["entries"][0]["sign_check"]
        cls.merchant = control.admin_ok(srv, "GET", "/admin/v1/merchants/" + MCH_ID)
        cls.packet = control.packet_ok(srv, cls.sent["mch_billno"])
        cls.clock = control.clock(srv)
        cls.url = "http://%s:%d/" % (contract.HOST, srv.admin_port)

    def fetch(self):
        resp = control.request(self.srv, "GET", "/")
        self.assertEqual(resp.status, 200, resp.body[:500])
        ctype = dict((k.lower(), v) for k, v in resp.headers).get("content-type")
        self.assertEqual(ctype, "text/html; charset=utf-8")
        return resp.body.decode("utf-8")

    def check_shows_the_world(self, doc, what):
        """What a person must find on the page, in doc (HTML as served or as rendered)."""
        text, tags = Text.of(doc)
        with self.subTest(what=what, check="no script ran or was injected"):
            self.assertNotIn("script", tags)
            self.assertNotIn("<script", doc.lower())
            self.assertIn(SCRIPT, text)  # shown as text, escaped in the HTML
        with self.subTest(what=what, check="merchant and balance"):
            m = element(doc, "merchants") or text
            self.assertIn(MCH_ID, m)
            self.assertIn(self.merchant["name"], m)
            self.assertIn(yuan(self.merchant["balance"]), m)
        with self.subTest(what=what, check="packet, its shares and openers"):
            self.assertIn(self.sent["mch_billno"], text)
            opened = [s for s in self.packet["shares"] if s["openid"]]
            self.assertEqual([s["openid"] for s in opened], [self.sent["re_openid"], self.friend])
            for s in self.packet["shares"]:
                self.assertIn("#%d %s" % (s["seq"], yuan(s["amount"])), text)
            self.assertIn(self.friend, text)
        with self.subTest(what=what, check="fault rules and hits"):
            row = cells(doc, "rule-%d" % self.rule["id"])
            self.assertIsNotNone(row, "no row for fault rule %d" % self.rule["id"])
            # id, api, match, err_code, transport, times left, probability, hits
            self.assertEqual([c.strip() for c in row],
                             [str(self.rule["id"]), "sendgroupredpack", "re_openid=" + self.victim,
                              "NOTENOUGH", "none", "1", "1", "1"])
            row = cells(doc, "rule-%d" % self.script_rule["id"])
            self.assertEqual([c.strip() for c in row][2:5],
                             ["mch_billno=" + SCRIPT, "\u2014", "delay 5\u20135 ms"])
        with self.subTest(what=what, check="SIGN_ERROR diagnosis"):
            self.assertIn("SIGN_ERROR", text)
            self.assertIn("Likely cause: " + self.sign_check["likely_cause"], text)
            self.assertIn(self.sign_check["string_to_sign"], text)
            self.assertIn("key=***", text)
            self.assertNotIn(contract.MCH_KEY, doc)
        with self.subTest(what=what, check="the simulated clock"):
            m = re.search(r"Simulated clock: (\S+) \(offset (-?\d+) s", text)
            self.assertIsNotNone(m, text[:500])
            self.assertEqual(int(m.group(2)), self.clock["offset_seconds"])
            self.assertGreaterEqual(self.clock["offset_seconds"], 7200)
            self.assertLess(abs(contract.iso_epoch(m.group(1)) - self.clock["epoch"]), 120)
        with self.subTest(what=what, check="the chart"):
            self.assertIn("svg", tags)
            self.assertGreaterEqual(tags.count("rect"), len(self.packet["shares"]))

    def test_html_as_served(self):
        doc = self.fetch()
        self.assertTrue(doc.startswith("<!DOCTYPE html>"))
        self.assertLess(len(doc), 1 << 20, "the page is bounded")
        self.assertIn(html.escape(SCRIPT), doc)
        self.check_shows_the_world(doc, "served")

    def test_rendered_in_chromium_with_screenshot(self):
        dom = run_chromium(self, "--dump-dom", self.url)
        self.assertIn("redpack-sim status", dom)
        self.check_shows_the_world(dom, "rendered")
        shot = os.path.join(artifacts_dir(), "status_page.png")
        if os.path.exists(shot):
            os.remove(shot)
        run_chromium(self, "--hide-scrollbars", "--window-size=1280,2000",
                     "--screenshot=" + shot, self.url)
        with open(shot, "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG: %s" % shot)
        self.assertGreater(len(png), 10000, "a blank screenshot? %s" % shot)
        print("status page screenshot: %s" % shot, flush=True)


class OtherServers(E2ETestCase):

    def test_bounded_lists(self):
        """At most 20 packets and 20 journal entries, however many there are."""
        srv = self.start_server()
        for _ in range(22):
            wire.send_normal(srv, wire.fresh_normal_request())
        resp = control.request(srv, "GET", "/")
        self.assertEqual(resp.status, 200)
        doc = resp.body.decode("utf-8")
        packets = re.search(r'<section id="packets">(.*?)</section>', doc, re.S).group(1)
        self.assertEqual(packets.count("<tr>") - 1, 20, "20 rows and the header row")
        self.assertEqual(len(re.findall(r'<tr id="entry-', doc)), 20)

    def test_page_needs_the_token(self):
        srv = self.start_server(admin_token="page-token")
        self.assertEqual(control.request(srv, "GET", "/", token="").status, 401)
        self.assertEqual(control.request(srv, "GET", "/", token="wrong").status, 401)
        resp = control.request(srv, "GET", "/")
        self.assertEqual(resp.status, 200)
        self.assertEqual(control.request(srv, "GET", "/?x=1").status, 400)
        self.assertEqual(control.request(srv, "POST", "/").status, 405)


if __name__ == "__main__":
    unittest.main(verbosity=2)
