#!/usr/bin/env python3
"""Logs with fields (docs/logs.md) and the server's command line.

--log-format json: one object per line with time, level, event and the event's
fields (a SUCCESS send, a SIGN_ERROR, a missing certificate's 400, a 404, a control
action, a refused handshake); the Request-Id header is the logged request_id. The
text format carries the same fields as key=value. --log-level warn drops info lines.
redpack-sim --version, an unknown flag named with exit status 2, --print-config.
"""

import json
import os
import re
import subprocess
import tempfile
import time
import unittest

from harness import answers, contract, control, wire
from harness.cases import E2ETestCase
from harness.contract import GROUP_PATH, MCH_ID

TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def json_lines(srv):
    """Every stderr line parsed as JSON (each one must parse)."""
    out = []
    for line in srv.stderr_text().splitlines():
        doc = json.loads(line)
        assert isinstance(doc, dict), line
        out.append(doc)
    return out


def header(resp, name):
    for k, v in resp.headers:
        if k.lower() == name.lower():
            return v
    return None


def wait_for(srv, pred, timeout=5.0):
    """The first JSON log line pred accepts, waiting a little for it to be written."""
    deadline = time.monotonic() + timeout
    while True:
        for doc in json_lines(srv):
            if pred(doc):
                return doc
        if time.monotonic() > deadline:
            raise AssertionError("no such log line in:\n" + srv.stderr_text()[-4000:])
        time.sleep(0.05)


class JsonLog(E2ETestCase):
    def setUp(self):
        self.srv = self.start_server(args=["--log-format", "json"])

    def by_request_id(self, resp):
        rid = header(resp, "Request-Id")
        self.assertRegex(rid or "", r"^[0-9a-f]{32}$")
        return wait_for(self.srv, lambda d: d.get("request_id") == rid)

    def assertCommon(self, doc, level, event):
        self.assertRegex(doc["time"], TIME_RE)
        self.assertEqual(doc["level"], level)
        self.assertEqual(doc["event"], event)
        self.assertRegex(doc.get("client", ""), r"^127\.0\.0\.1:\d+$")

    def test_success_send(self):
        req = wire.group_request(re_openid=wire.new_openid())
        resp = wire.send_group(self.srv, req)
        self.assertSuccess(resp, req)
        doc = self.by_request_id(resp)
        self.assertCommon(doc, "info", "api.request")
        self.assertEqual(doc["endpoint"], "sendgroupredpack")
        self.assertEqual(doc["mch_id"], MCH_ID)
        self.assertEqual(doc["mch_billno"], req["mch_billno"])
        self.assertEqual(doc["err_code"], "SUCCESS")
        self.assertEqual(doc["cert_cn"], MCH_ID)
        self.assertIsInstance(doc["latency_ms"], float)
        self.assertGreaterEqual(doc["latency_ms"], 0.0)
        self.assertLess(doc["latency_ms"], 30000.0)
        for secret in ("sign", "api_key", "key", "body"):
            self.assertNotIn(secret, doc)

    def test_sign_error(self):
        req = wire.group_request(re_openid=wire.new_openid())
        resp = wire.send_group(self.srv, req, key="0" * 32)
        self.assertEqual(answers.answer_dict(resp.body)["err_code"], "SIGN_ERROR")
        doc = self.by_request_id(resp)
        self.assertCommon(doc, "info", "api.request")
        self.assertEqual(doc["err_code"], "SIGN_ERROR")
        self.assertEqual(doc["mch_billno"], req["mch_billno"])
        self.assertNotIn(req["sign"] if "sign" in req else wire.sign(req, "0" * 32),
                         self.srv.stderr_text())

    def test_missing_certificate(self):
        resp = wire.post(self.srv, GROUP_PATH, b"<xml></xml>", cert=None)
        self.assertEqual(resp.status, 400)
        doc = self.by_request_id(resp)
        self.assertCommon(doc, "info", "http.error")
        self.assertEqual(doc["status"], 400)
        self.assertEqual(doc["reason"], "No required SSL certificate was sent")
        self.assertEqual(doc["path"], GROUP_PATH)
        self.assertNotIn("cert_cn", doc)

    def test_untrusted_certificate(self):
        resp = wire.post(self.srv, GROUP_PATH, b"<xml></xml>", cert="untrusted")
        self.assertEqual(resp.status, 400)
        doc = self.by_request_id(resp)
        self.assertCommon(doc, "info", "http.error")
        self.assertEqual(doc["reason"], "The SSL certificate error")
        self.assertTrue(doc.get("why"), doc)  # OpenSSL's verification error

    def test_not_found_and_not_allowed(self):
        resp = wire.post(self.srv, "/mmpaymkttransfers/nosuch", b"<xml></xml>")
        self.assertEqual(resp.status, 404)
        doc = self.by_request_id(resp)
        self.assertCommon(doc, "info", "http.error")
        self.assertEqual((doc["status"], doc["path"]), (404, "/mmpaymkttransfers/nosuch"))
        self.assertEqual(doc["cert_cn"], MCH_ID)
        resp = wire.request(self.srv, "GET", GROUP_PATH)
        self.assertEqual(resp.status, 405)
        self.assertEqual(self.by_request_id(resp)["status"], 405)

    def test_control_action(self):
        resp = control.request(self.srv, "POST", "/admin/v1/clock",
                               {"Content-Type": "application/json"},
                               json.dumps({"advance_seconds": 60}).encode())
        self.assertEqual(resp.status, 200)
        doc = self.by_request_id(resp)
        self.assertCommon(doc, "info", "admin.action")
        self.assertEqual((doc["method"], doc["path"], doc["status"]),
                         ("POST", "/admin/v1/clock", 200))
        self.assertEqual(json.loads(doc["asked"]), {"advance_seconds": 60})
        # A refused change is logged, without the body it sent.
        resp = control.request(self.srv, "PUT", "/admin/v1/merchants/" + MCH_ID,
                               {"Content-Type": "application/json"},
                               json.dumps({"api_key": contract.MCH_KEY}).encode())
        self.assertEqual(resp.status, 400)
        doc = self.by_request_id(resp)
        self.assertEqual((doc["event"], doc["status"]), ("admin.action", 400))
        self.assertNotIn("asked", doc)
        self.assertNotIn(contract.MCH_KEY, self.srv.stderr_text())
        # Reads are debug lines, not written at the default level.
        resp = control.request(self.srv, "GET", "/admin/v1/clock")
        time.sleep(0.2)
        rid = header(resp, "Request-Id")
        self.assertFalse([d for d in json_lines(self.srv) if d.get("request_id") == rid])

    def test_every_line_is_an_event(self):
        wire.send_group(self.srv, wire.group_request(re_openid=wire.new_openid()))
        control.request(self.srv, "GET", "/nosuch")
        wait_for(self.srv, lambda d: d.get("path") == "/nosuch")
        events = [d["event"] for d in json_lines(self.srv)]
        for want in ("server.start", "api.request", "http.error"):
            self.assertIn(want, events)
        for d in json_lines(self.srv):
            self.assertEqual(list(d)[:3], ["time", "level", "event"], d)
            self.assertIn(d["level"], ("debug", "info", "warn", "error"))
            self.assertRegex(d["event"], r"^[a-z0-9_.-]+$")

    def test_stop_is_logged(self):
        srv = self.start_server(invariants=False, args=["--log-format", "json"])
        srv.stop()
        self.assertEqual(json_lines(srv)[-1]["event"], "server.stop")


class HandshakeRefusals(E2ETestCase):
    def test_refusals_name_their_reason(self):
        srv = self.start_server(args=["--log-format", "json"], client_auth="handshake")
        for cert in (None, "untrusted"):
            with self.assertRaises(OSError):
                wire.post(srv, GROUP_PATH, b"<xml></xml>", cert=cert)
        no_cert = wait_for(srv, lambda d: d.get("reason") == "no_certificate")
        self.assertEqual(no_cert["event"], "tls.refused")
        self.assertRegex(no_cert["client"], r"^127\.0\.0\.1:\d+$")
        bad = wait_for(srv, lambda d: d.get("reason") == "untrusted_certificate")
        self.assertEqual(bad["event"], "tls.refused")
        self.assertTrue(bad.get("detail"))


class TextLogAndLevels(E2ETestCase):
    def test_text_has_the_same_fields(self):
        srv = self.start_server()
        req = wire.group_request(re_openid=wire.new_openid())
        resp = wire.send_group(srv, req)
        rid = header(resp, "Request-Id")
        deadline = time.monotonic() + 5
        while rid not in srv.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = [ln for ln in srv.stderr_text().splitlines() if rid in ln][0]
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z info api\.request ")
        fields = dict(re.findall(r' ([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)', line))
        self.assertEqual(fields["endpoint"], "sendgroupredpack")
        self.assertEqual(fields["mch_billno"], req["mch_billno"])
        self.assertEqual(fields["err_code"], "SUCCESS")
        self.assertEqual(fields["request_id"], rid)
        self.assertRegex(fields["latency_ms"], r"^\d+\.\d{3}$")

    def test_warn_drops_info_lines(self):
        srv = self.start_server(args=["--log-level", "warn", "--log-format", "json"])
        resp = wire.send_group(srv, wire.group_request(re_openid=wire.new_openid()))
        self.assertEqual(resp.status, 200)
        wire.post(srv, "/nosuch", b"<xml></xml>")
        time.sleep(0.3)
        levels = [d["level"] for d in json_lines(srv)]
        self.assertFalse([lv for lv in levels if lv in ("debug", "info")], srv.stderr_text())

    def test_debug_adds_control_reads(self):
        srv = self.start_server(args=["--log-level", "debug", "--log-format", "json"])
        resp = control.request(srv, "GET", "/admin/v1/clock")
        doc = wait_for(srv, lambda d: d.get("request_id") == header(resp, "Request-Id"))
        self.assertEqual((doc["level"], doc["event"], doc["status"]), ("debug", "admin.request", 200))


def run_sim(*args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
    e.update(env or {})
    return subprocess.run([contract.bin_path()] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20, env=e)


class CommandLine(unittest.TestCase):
    def test_version(self):
        p = run_sim("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^redpack-sim \d+\.\d+\.\d+\n$")

    def test_unknown_flag_is_named(self):
        for argv, named in ((["--foo"], "'--foo'"), (["--foo=1"], "'--foo'"),
                            (["--listen", "127.0.0.1:0", "--mchid", "1"], "'--mchid'"),
                            (["-x"], "'-x'")):
            p = run_sim(*argv)
            self.assertEqual(p.returncode, 2, (argv, p.stderr))
            self.assertIn("unknown option " + named, p.stderr)
            self.assertIn("--help", p.stderr)
            self.assertEqual(p.stdout, "")

    def test_print_config_names_each_source(self):
        with tempfile.TemporaryDirectory() as d:
            conf = os.path.join(d, "redpack.conf")
            with open(conf, "w") as f:
                f.write("# a comment\njournal-size = 7\nadmin-token = s3cret\n")
            p = run_sim("--config", conf, "--seed", "5", "--print-config",
                        env={"REDPACK_LOG_LEVEL": "warn"})
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {}
        for line in p.stdout.splitlines():
            if line.startswith("#"):
                continue
            name, value, source = line.split(None, 2)
            rows[name] = (value, source)
        self.assertEqual(rows["seed"], ("5", "flag --seed"))
        self.assertEqual(rows["log-level"], ("warn", "environment REDPACK_LOG_LEVEL"))
        self.assertEqual(rows["journal-size"], ("7", "file %s:2" % conf))
        self.assertEqual(rows["listen"], ("127.0.0.1:8443", "default"))
        self.assertEqual(rows["log-format"], ("text", "default"))
        self.assertNotIn("s3cret", p.stdout)
        self.assertTrue(rows["admin-token"][1].startswith("file "))
        self.assertIn("log-level", run_sim("--help").stdout)


if __name__ == "__main__":
    unittest.main()
