#!/usr/bin/env python3
"""Security properties: the control API's exposure rules and bearer token, no TLS
access to the control port, no secrets in the logs, private file modes.

Every connection goes to 127.0.0.1; the refused non-loopback start binds nothing.
"""

import glob
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from harness import answers, contract, control, probe, process, wire
from harness.cases import E2ETestCase, sqlite_only
from harness.contract import GROUP_PATH, LOAD_MCH_ID, MCH2_ID, MCH_ID

TOKEN = "s3cret"


def report(msg):
    sys.stdout.write("[figure] %s\n" % msg)
    sys.stdout.flush()


def base_cmd(tmp, db_name="x.db"):
    certs = contract.certs_dir()
    return [contract.bin_path(), "--listen", "127.0.0.1:0",
            "--db", os.path.join(tmp, db_name), "--fixtures", contract.default_fixtures_path(),
            "--tls-cert", os.path.join(certs, "server.pem"),
            "--tls-key", os.path.join(certs, "server.key"),
            "--client-ca", os.path.join(certs, "ca.pem"), "--seed", "42"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
    env.update(extra)
    return env


def run_expect_exit(cmd, env, timeout=20):
    """Runs a server that must refuse to start; returns (rc, stdout, stderr). A server
    that starts anyway is stopped at once (SIGTERM, then SIGKILL) and reported."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=os.path.dirname(cmd[cmd.index("--db") + 1]))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise AssertionError("server started (still running after %d s) instead of refusing:\n"
                             "stdout: %s\nstderr: %s" % (timeout, out.decode("utf-8", "replace"),
                                                         err.decode("utf-8", "replace")))
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def pem_body_lines(path):
    with open(path, encoding="ascii") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("-----")]


def private_key_files():
    out = []
    for root, _, files in os.walk(contract.certs_dir()):
        for name in files:
            if name.endswith(".key") or name == "apiclient_key.pem":
                out.append(os.path.join(root, name))
    return sorted(out)


class AdminExposure(E2ETestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="redpack-e2e-sec-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_non_loopback_admin_without_token_is_refused(self):
        variants = [
            ("--admin-listen 0.0.0.0:0", ["--admin-listen", "0.0.0.0:0"], {}),
            ("--admin-listen 0.0.0.0:0 --admin-token ''", ["--admin-listen", "0.0.0.0:0",
                                                            "--admin-token", ""], {}),
            ("REDPACK_ADMIN_LISTEN=0.0.0.0:0", [], {"REDPACK_ADMIN_LISTEN": "0.0.0.0:0"}),
        ]
        for i, (name, args, env) in enumerate(variants):
            with self.subTest(variant=name):
                cmd = base_cmd(self.tmp, "refused%d.db" % i) + args
                rc, out, err = run_expect_exit(cmd, clean_env(**env))
                self.assertEqual(rc, 2, "exit code; stderr: %s" % err)
                self.assertIn("--admin-token", err)
                self.assertNotIn("listening", out)
                self.assertFalse(os.path.exists(os.path.join(self.tmp, "refused%d.db" % i)),
                                 "the refused server created its database")
                report("security: %s refused, exit 2: %s" % (name, err.strip().splitlines()[-1]))

    def test_admin_token(self):
        srv = self.start_server(invariants=False, args=["--admin-token", TOKEN])
        srv.admin_token = TOKEN
        cases = [
            ("no Authorization", {}, 401),
            ("wrong token", {"Authorization": "Bearer wrong"}, 401),
            ("token prefix", {"Authorization": "Bearer s3cre"}, 401),
            ("token with a suffix", {"Authorization": "Bearer s3cretX"}, 401),
            ("empty bearer", {"Authorization": "Bearer "}, 401),
            ("Basic scheme", {"Authorization": "Basic czNjcmV0"}, 401),
            ("token without scheme", {"Authorization": TOKEN}, 401),
            ("right token", {"Authorization": "Bearer " + TOKEN}, 200),
        ]
        for name, headers, want in cases:
            with self.subTest(case=name):
                resp = control.request(srv, "GET", "/admin/v1/check", headers=headers, token="")
                self.assertEqual(resp.status, want, "%s: %r" % (name, resp))
                doc = json.loads(resp.body.decode("utf-8"))
                if want == 401:
                    self.assertIn("error", doc)
                    self.assertNotIn(TOKEN, resp.body.decode("utf-8"))
                else:
                    self.assertIs(doc["ok"], True)
        # Every control path but /healthz needs it, known or not.
        for path in ("/admin/v1/nothing-here", "/admin/v1/check?x=1", "/"):
            resp = control.request(srv, "GET", path, token="")
            self.assertEqual(resp.status, 401, "%s without a token: %r" % (path, resp))
        resp = control.request(srv, "GET", "/healthz", token="")
        self.assertEqual((resp.status, resp.body.strip()), (200, b"ok"))
        # redpack-ctl: with the token it passes, without it does not.
        control.ctl_check(srv)
        p = subprocess.run([contract.ctl_bin_path(), "--admin", "http://127.0.0.1:%d" % srv.admin_port,
                            "check"], capture_output=True, timeout=60, env=clean_env())
        self.assertNotEqual(p.returncode, 0, p.stdout)
        report("security: redpack-ctl check without the token exits %d: %s"
               % (p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace").strip()[:200]))
        probe.check_invariants(srv)
        control.check(srv)
        srv.stop()
        self.assertNotIn(TOKEN, srv.stderr_text(), "the admin token appears in the log")

    def test_merchant_certificate_on_admin_port(self):
        srv = self.start_server()
        # A full TLS client with the merchant certificate.
        ctx = wire.client_context(srv, MCH_ID)
        ctx.check_hostname = False
        outcome = None
        raw = socket.create_connection((contract.HOST, srv.admin_port), timeout=10)
        try:
            try:
                tls = ctx.wrap_socket(raw, server_hostname=contract.HOST)
            except (ssl.SSLError, ConnectionResetError, OSError) as e:
                outcome = "TLS handshake failed (%s)" % type(e).__name__
            else:
                try:
                    tls.sendall(b"GET /admin/v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    data = tls.recv(65536)
                    self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:200])
                    outcome = "TLS established, answer %r" % data[:40]
                finally:
                    tls.close()
        finally:
            raw.close()
        # The raw ClientHello bytes: whatever comes back is not a 200.
        bio_in, bio_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(bio_in, bio_out, server_hostname=contract.HOST)
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = bio_out.read()
        self.assertTrue(hello.startswith(b"\x16\x03"))
        with socket.create_connection((contract.HOST, srv.admin_port), timeout=10) as sock:
            sock.sendall(hello)
            data = b""
            sock.settimeout(10)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 10:
                try:
                    chunk = sock.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not chunk:
                    break
                data += chunk
        self.assertNotIn(b" 200 ", data.split(b"\r\n", 1)[0])
        self.assertNotIn(b'"ok"', data)
        report("security: merchant certificate on the admin port: %s; raw ClientHello answered %r"
               % (outcome, data.split(b"\r\n", 1)[0][:60]))
        srv.check_alive()
        control.check(srv)


class SecretsAndModes(E2ETestCase):
    def traffic(self, srv):
        """Successes for each merchant, SIGN_ERRORs, CA_ERRORs, XML_ERRORs, certificate errors."""
        codes = []
        for mch in (MCH_ID, MCH2_ID, LOAD_MCH_ID):
            m = srv.merchant(mch)
            req = wire.group_request(mch_id=mch, wxappid=m["apps"][0],
                                              re_openid=wire.new_openid())
            codes.append(answers.answer_dict(wire.send_group(srv, req).body)["err_code"])
            # SIGN_ERROR: another merchant's key, a lower-case sign, an HMAC.
            bad = dict(req)
            bad["sign"] = wire.sign(req, contract.MCH2_KEY if mch != MCH2_ID else contract.MCH_KEY)
            codes.append(answers.answer_dict(wire.send_group(srv, bad).body)["err_code"])
            low = dict(req, mch_billno=wire.new_billno())
            low["sign"] = wire.sign(low, m["api_key"]).lower()
            codes.append(answers.answer_dict(wire.send_group(srv, low).body)["err_code"])
            h = dict(req, mch_billno=wire.new_billno(), sign_type="HMAC-SHA256")
            h["sign"] = wire.sign_hmac_sha256(h, m["api_key"])
            codes.append(answers.answer_dict(wire.send_group(srv, h).body)["err_code"])
            # CA_ERROR: the other merchant's certificate.
            other = MCH2_ID if mch != MCH2_ID else MCH_ID
            ca = wire.group_request(mch_id=mch, wxappid=m["apps"][0])
            codes.append(answers.answer_dict(wire.send_group(srv, ca, cert=other).body)["err_code"])
        for body in (b"", b"<xml><a>", b"<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                                       b"<xml><mch_id>&x;</mch_id></xml>", b"\xff\xfe"):
            codes.append(answers.answer_dict(wire.post(srv, GROUP_PATH, body).body)["err_code"])
        for cert in ("untrusted", "expired", None):
            codes.append("HTTP %d" % wire.post(srv, GROUP_PATH, b"<xml></xml>", cert=cert).status)
        control.request(srv, "GET", "/admin/v1/check",
                            headers={"Authorization": "Bearer " + contract.MCH_KEY})
        return codes

    def test_no_secrets_in_the_log(self):
        keys = [m["api_key"] for m in contract.load_default_fixtures()["merchants"]]
        self.assertEqual(len(keys), 3)
        key_files = private_key_files()
        pem_lines = {path: pem_body_lines(path) for path in key_files}
        self.assertTrue(any(p.endswith("apiclient_key.pem") for p in key_files))
        for log_format in ("text", "json"):
            with self.subTest(log_format=log_format):
                srv = self.start_server(invariants=False, args=["--log-format", log_format])
                codes = self.traffic(srv)
                for want in ("SUCCESS", "SIGN_ERROR", "CA_ERROR", "XML_ERROR", "HTTP 400"):
                    self.assertIn(want, codes)
                # The request journal of the control API (SIGN_ERROR diagnoses) keeps no key either.
                journal = control.request(srv, "GET", "/admin/v1/journal")
                if journal.status == 200:
                    text = journal.body.decode("utf-8", "replace")
                    self.assertIn("SIGN_ERROR", text)
                    for k in keys:
                        self.assertNotIn(k, text, "an api_key is in /admin/v1/journal")
                        self.assertNotIn(k.upper(), text, "an api_key is in /admin/v1/journal")
                    self.assertNotIn("BEGIN", text)
                probe.check_invariants(srv)
                control.check(srv)
                srv.stop()
                err = srv.stderr_text()
                self.assertGreater(len(err.splitlines()), len(codes) - 4,
                                   "expected one log line per API request")
                for k in keys:
                    self.assertNotIn(k, err, "an api_key is in the log")
                    self.assertNotIn(k.upper(), err, "an api_key (upper case) is in the log")
                self.assertNotIn("BEGIN", err)
                self.assertNotIn("PRIVATE KEY", err)
                self.assertNotIn(contract.MCH_KEY, err)
                # The fields (docs/logs.md): none names a key or a sign; no value is one.
                for ln in err.splitlines():
                    if log_format == "json":
                        doc = json.loads(ln)
                        names = set(doc)
                        values = [str(v) for v in doc.values()]
                    else:
                        names = set(re.findall(r" ([a-z_]+)=", ln))
                        values = [ln]
                    self.assertFalse(names & {"sign", "api_key", "key", "token", "authorization",
                                              "private_key", "body"}, ln)
                    for v in values:
                        for k in keys:
                            self.assertNotIn(k, v)
                checked = 0
                for path, lines in pem_lines.items():
                    for ln in lines:
                        self.assertNotIn(ln, err, "a line of %s is in the log" % path)
                        if len(ln) >= 24:
                            self.assertNotIn(ln[:24], err, "part of %s is in the log" % path)
                        checked += 1
                report("security: %s log of %d lines holds none of %d api_keys and none of %d "
                       "base64 lines of %d private keys; /admin/v1/journal HTTP %d%s"
                       % (log_format, len(err.splitlines()), len(keys), checked, len(pem_lines),
                          journal.status, ", no key in it" if journal.status == 200 else ""))

    @sqlite_only("the mode of the database file and its -wal and -shm files")
    def test_database_file_mode(self):
        old = os.umask(0)  # even a permissive umask must not widen the database's mode
        try:
            srv = process.Server()
            srv.start()
        finally:
            os.umask(old)
        try:
            req = wire.group_request(re_openid=wire.new_openid())
            self.assertEqual(answers.answer_dict(wire.send_group(srv, req).body)["err_code"], "SUCCESS")
            modes = {}
            for path in [srv.db_path] + glob.glob(srv.db_path + "-*"):
                modes[os.path.basename(path)] = stat.S_IMODE(os.stat(path).st_mode)
            control.check(srv)
        finally:
            srv.stop()
        report("security: database file modes under umask 000: %s"
               % ", ".join("%s %o" % kv for kv in sorted(modes.items())))
        for name, mode in modes.items():
            self.assertEqual(mode, 0o600, "%s has mode %o" % (name, mode))

    def test_private_key_file_modes(self):
        files = private_key_files()
        self.assertGreaterEqual(len(files), 6, files)
        p12 = glob.glob(os.path.join(contract.certs_dir(), "*", "*.p12"))
        bad = ["%s %o" % (f, stat.S_IMODE(os.stat(f).st_mode)) for f in files + p12
               if stat.S_IMODE(os.stat(f).st_mode) != 0o600]
        self.assertEqual(bad, [], "private key files not mode 0600")
        report("security: %d private key files and %d .p12 bundles, all mode 600"
               % (len(files), len(p12)))


if __name__ == "__main__":
    unittest.main()
