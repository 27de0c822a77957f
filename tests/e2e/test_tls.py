#!/usr/bin/env python3
"""HTTP and TLS layer of redpack-sim (CONTRACT.md "HTTP / TLS layer")."""

import email.utils
import http.client
import socket
import ssl
import time
import unittest

from harness import answers, contract, probe, process, wire
from harness.cases import E2ETestCase, SharedServerCase
from harness.contract import GROUP_PATH

# What a client sees when the server refuses it during (or right after) the handshake.
HANDSHAKE_FAILURES = (ssl.SSLError, ConnectionError, http.client.BadStatusLine)


class TlsDefaultMode(SharedServerCase):
    """One server in the default (nginx-like) client-auth mode for all tests."""

    def tearDown(self):
        probe.check_invariants(self.srv)

    def good_body(self, **overrides):
        req = wire.group_request(re_openid=wire.new_openid(), **overrides)
        req["sign"] = wire.sign(req, contract.MCH_KEY)
        return req, wire.build_xml(req)

    def assertPage(self, resp, status, page):
        self.assertEqual(resp.status, status, resp.body)
        self.assertEqual(resp.body, page)
        self.assertEqual(dict(resp.headers).get("Content-Type"), "text/html")

    def test_good_certificate(self):
        req, body = self.good_body()
        resp = wire.post(self.srv, GROUP_PATH, body, cert=contract.MCH_ID, headers=contract.PHP_HEADERS)
        self.assertSuccess(resp, req)

    def test_no_certificate(self):
        _, body = self.good_body()
        resp = wire.post(self.srv, GROUP_PATH, body, cert=None, headers=contract.PHP_HEADERS)
        self.assertPage(resp, 400, contract.PAGE_400_NO_CERT)

    def test_no_certificate_comes_before_xml_parsing(self):
        resp = wire.post(self.srv, GROUP_PATH, b"not xml at all", cert=None)
        self.assertPage(resp, 400, contract.PAGE_400_NO_CERT)

    def test_untrusted_certificate(self):
        _, body = self.good_body()
        resp = wire.post(self.srv, GROUP_PATH, body, cert="untrusted", headers=contract.PHP_HEADERS)
        self.assertPage(resp, 400, contract.PAGE_400_CERT_ERROR)

    def test_expired_certificate(self):
        _, body = self.good_body()
        resp = wire.post(self.srv, GROUP_PATH, body, cert="expired", headers=contract.PHP_HEADERS)
        self.assertPage(resp, 400, contract.PAGE_400_CERT_ERROR)

    def test_other_merchants_certificate(self):
        req, body = self.good_body()
        resp = wire.post(self.srv, GROUP_PATH, body, cert=contract.MCH2_ID, headers=contract.PHP_HEADERS)
        self.assertErr(resp, req, "CA_ERROR", "ca")
        self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])

    def test_unknown_path(self):
        _, body = self.good_body()
        for path in ("/mmpaymkttransfers/nosuchapi", "/", "/sendgroupredpack"):
            with self.subTest(path=path):
                resp = wire.post(self.srv, path, body)
                self.assertPage(resp, 404, contract.PAGE_404)

    def test_get_on_api_path(self):
        resp = wire.request(self.srv, "GET", GROUP_PATH)
        self.assertPage(resp, 405, contract.PAGE_405)

    def test_put_on_api_path(self):
        _, body = self.good_body()
        resp = wire.request(self.srv, "PUT", GROUP_PATH, body)
        self.assertPage(resp, 405, contract.PAGE_405)

    def test_xml_answer_headers(self):
        for name, (req, body) in (("success", self.good_body()),
                                  ("failure", self.good_body(total_num="2"))):
            with self.subTest(answer=name):
                resp = wire.post(self.srv, GROUP_PATH, body, headers=contract.PHP_HEADERS)
                self.assertEqual(resp.status, 200)
                names = [n for n, _ in resp.headers]
                self.assertEqual(names, ["Server", "Date", "Content-Type", "Content-Length",
                                         "Connection", "Keep-Alive", "Request-Id"])
                h = dict(resp.headers)
                self.assertEqual(h["Server"], "nginx")
                self.assertIsNotNone(email.utils.parsedate_to_datetime(h["Date"]))
                self.assertRegex(h["Date"], r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} "
                                            r"\d{2}:\d{2}:\d{2} GMT$")
                self.assertEqual(h["Content-Type"], "text/plain")
                self.assertEqual(h["Content-Length"], str(len(resp.body)))
                self.assertEqual(h["Connection"], "keep-alive")
                self.assertEqual(h["Keep-Alive"], "timeout=8")
                self.assertRegex(h["Request-Id"], r"^\S+$")

    def test_request_ids_differ(self):
        ids = set()
        for _ in range(3):
            _, body = self.good_body(total_num="2")
            ids.add(dict(wire.post(self.srv, GROUP_PATH, body).headers).get("Request-Id"))
        self.assertEqual(len(ids), 3)

    def test_keep_alive(self):
        with wire.Connection(self.srv, cert=contract.MCH_ID) as conn:
            port = conn.local_port()
            reqs = [wire.group_request(re_openid=wire.new_openid()) for _ in range(3)]
            reqs[1]["total_num"] = "21"  # an error answer keeps the connection too
            for i, req in enumerate(reqs):
                resp = wire.send_group(self.srv, req, conn=conn)
                if i == 1:
                    self.assertErr(resp, req, "PARAM_ERROR", "total_num")
                else:
                    self.assertSuccess(resp, req)
                self.assertTrue(conn.same_socket(), "request %d went over a new connection" % i)
                self.assertEqual(conn.local_port(), port)
            self.assertEqual(conn.requests, 3)

    def test_wechatpy_style_keep_alive(self):
        with wire.Connection(self.srv, cert=contract.MCH_ID) as conn:
            for _ in range(3):
                req = wire.group_request(re_openid=wire.new_openid())
                self.assertSuccess(wire.send_group(self.srv, req, conn=conn, style="wechatpy"), req)
            self.assertTrue(conn.same_socket())

    def test_tls_versions(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version.name):
                with wire.Connection(self.srv, cert=contract.MCH_ID, tls_version=version) as conn:
                    self.assertEqual(conn.tls_version(), version.name.replace("v1_", "v1."))
                    req = wire.group_request(re_openid=wire.new_openid())
                    self.assertSuccess(wire.send_group(self.srv, req, conn=conn), req)

    def test_session_resumption(self):
        # A second connection resumes the first one's session (TLS 1.2 session
        # id, TLS 1.3 ticket), keeps the client certificate's identity, and is
        # answered as the merchant.
        import http.client
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version.name):
                ctx = wire.client_context(self.srv, cert=contract.MCH_ID, tls_version=version)
                session = None
                for attempt in range(2):
                    raw = socket.create_connection(("127.0.0.1", self.srv.api_port), timeout=10)
                    tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
                    conn = http.client.HTTPSConnection("127.0.0.1", self.srv.api_port, context=ctx)
                    conn.sock = tls
                    req, body = self.good_body()
                    conn.request("POST", GROUP_PATH, body, contract.PHP_HEADERS)
                    resp = conn.getresponse()
                    answer = resp.read()
                    self.assertEqual(answers.answer_dict(answer)["err_code"], "SUCCESS", answer)
                    if attempt == 1:
                        self.assertTrue(tls.session_reused, "the session was not resumed")
                    session = tls.session
                    conn.close()

    def test_no_certificate_tls12(self):
        _, body = self.good_body()
        resp = wire.post(self.srv, GROUP_PATH, body, cert=None, tls_version=ssl.TLSVersion.TLSv1_2)
        self.assertPage(resp, 400, contract.PAGE_400_NO_CERT)

    def test_body_over_max_body(self):
        # Default --max-body: nginx's client_max_body_size, 1 MiB.
        req, body = self.good_body()
        big = body.replace(b"</xml>", b" " * (1048577 - len(body)) + b"</xml>")
        self.assertEqual(len(big), 1048577)
        resp = wire.post(self.srv, GROUP_PATH, big)
        self.assertEqual(resp.status, 413)
        self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])
        # Much larger body, still refused.
        resp = wire.post(self.srv, GROUP_PATH, b"<xml>" + b"a" * (4 << 20) + b"</xml>")
        self.assertEqual(resp.status, 413)
        # And the server still serves.
        req2, body2 = self.good_body()
        self.assertSuccess(wire.post(self.srv, GROUP_PATH, body2), req2)

    def test_body_of_exactly_64k_is_read(self):
        # "over 64 KiB" is refused; 65536 bytes is not over (whitespace padding between elements).
        req, body = self.good_body()
        exact = body.replace(b"</xml>", b"\n" * (65536 - len(body)) + b"</xml>")
        self.assertEqual(len(exact), 65536)
        resp = wire.post(self.srv, GROUP_PATH, exact)
        self.assertNotEqual(resp.status, 413)
        self.assertSuccess(resp, req)


class TlsHandshakeMode(SharedServerCase):
    """--client-auth handshake: bad clients fail in TLS, never see HTTP."""

    @classmethod
    def server_kwargs(cls):
        return {"client_auth": "handshake"}

    def tearDown(self):
        probe.check_invariants(self.srv)

    def assertRefused(self, cert, tls_version=None):
        req = wire.group_request(re_openid=wire.new_openid())
        req["sign"] = wire.sign(req, contract.MCH_KEY)
        try:
            resp = wire.post(self.srv, GROUP_PATH, wire.build_xml(req), cert=cert,
                              tls_version=tls_version)
        except HANDSHAKE_FAILURES:
            pass
        else:
            self.fail("expected a TLS failure, got HTTP %d %r" % (resp.status, resp.body[:200]))
        self.srv.check_alive()
        self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])

    def test_good_certificate_works(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version.name):
                req = wire.group_request(re_openid=wire.new_openid())
                with wire.Connection(self.srv, tls_version=version) as conn:
                    self.assertSuccess(wire.send_group(self.srv, req, conn=conn), req)

    def test_refused_clients(self):
        for cert in (None, "untrusted", "expired"):
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(cert=cert, version=version.name):
                    self.assertRefused(cert, version)

    def test_other_merchants_certificate_is_ca_error(self):
        req = wire.group_request(re_openid=wire.new_openid())
        resp = wire.send_group(self.srv, req, cert=contract.MCH2_ID)
        self.assertErr(resp, req, "CA_ERROR", "ca")


class Shutdown(E2ETestCase):
    """SIGTERM stops the server cleanly (exit 0, no sanitizer report) whatever its
    connections are doing."""

    def test_sigterm_with_open_keep_alive_connections(self):
        srv = process.Server()
        srv.start()
        clients = []
        try:
            try:
                for cert in (contract.MCH_ID, None):
                    conn = wire.Connection(srv, cert=cert)
                    clients.append(conn)
                    req = wire.group_request(re_openid=wire.new_openid())
                    req["sign"] = wire.sign(req, contract.MCH_KEY)
                    conn.post(GROUP_PATH, wire.build_xml(req))
                clients.append(socket.create_connection((contract.HOST, srv.api_port)))  # no TLS yet
                half = wire.Connection(srv)  # TLS done, request half sent
                clients.append(half)
                half.sock.sendall(b"POST " + GROUP_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: 100\r\n\r\n<xml>")
                time.sleep(0.2)
                probe.check_invariants(srv)
            finally:
                srv.stop()  # raises on a non-zero exit or a sanitizer report
        finally:
            for c in clients:
                c.close()


class Harness(unittest.TestCase):
    """The test harness itself: a server that cannot start is a clear failure."""

    def test_startup_failure_is_reported_with_stderr(self):
        srv = process.Server(args=["--no-such-option", "1"])
        with self.assertRaises(process.ServerError) as ctx:
            srv.start()
        msg = str(ctx.exception)
        self.assertIn("server stderr", msg)
        self.assertIn("--no-such-option", msg)
        self.assertIsNone(srv.tmp)
        self.assertFalse(srv.alive())


if __name__ == "__main__":
    unittest.main()
