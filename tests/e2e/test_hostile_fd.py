#!/usr/bin/env python3
"""Hostile clients at the transport layer (issue 9 parts 1, 6, 7): descriptors
running out, the control port's connection cap, a bearer token with a NUL in it,
and every transport fault against clients that wait, close early, or keep the
connection. Run under ASan/LSan too (scripts/test.sh's sanitizer pass): a crash,
a use after free or a leak fails the server's exit check.
"""

import http.client
import json
import os
import resource
import socket
import ssl
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import contract, control, probe, process, wire  # noqa: E402
from harness.cases import E2ETestCase  # noqa: E402
from harness.contract import GROUP_PATH, MCH_KEY  # noqa: E402


def report(msg):
    sys.stdout.write("[figure] %s\n" % msg)
    sys.stdout.flush()


def signed_body():
    req = wire.group_request(re_openid=wire.new_openid())
    req["sign"] = wire.sign(req, MCH_KEY)
    return req, wire.build_xml(req)


def post_bytes(body):
    return (b"POST " + GROUP_PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: text/xml; charset=utf-8\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


class LimitedServer(process.Server):
    """A server started with RLIMIT_NOFILE (soft and hard) at `nofile`."""

    def __init__(self, nofile, **kwargs):
        super().__init__(**kwargs)
        self.nofile = nofile

    def _spawn(self, exe):
        original = process._die_with_parent
        nofile = self.nofile

        def preexec():
            original()
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        process._die_with_parent = preexec
        try:
            super()._spawn(exe)
        finally:
            process._die_with_parent = original


def idle_sockets(port, n):
    """n TCP connections that send nothing (some may be refused: that is fine)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((contract.HOST, port))
        socks.append(s)
    time.sleep(1.0)  # let the server accept, refuse, or fail to accept them
    return socks


def healthz_eventually(srv, within=20.0):
    """Seconds until a fresh connection gets /healthz 200, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        srv.check_alive()
        try:
            if control.request(srv, "GET", "/healthz", timeout=2).status == 200:
                return time.monotonic() - t0
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    return None


def send_eventually(test, srv, within=20.0):
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < within:
        srv.check_alive()
        req, body = signed_body()
        try:
            resp = wire.post(srv, GROUP_PATH, body, headers=contract.PHP_HEADERS, timeout=3)
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            last = e
            time.sleep(0.2)
            continue
        test.assertSuccess(resp, req)
        return time.monotonic() - t0
    test.fail("no send succeeded within %.0f s (last error %r)" % (within, last))


class Descriptors(E2ETestCase):
    """ulimit -n 64 and 100 idle connections (the use after free of issue 9 part 1)."""

    NOFILE = 64
    ARGS = ["--timeout", "60", "--request-timeout", "60"]

    def start(self):
        srv = LimitedServer(self.NOFILE, args=self.ARGS)
        srv.start()
        self.addCleanup(srv.stop)
        self.addCleanup(probe.check_invariants, srv)
        # The caps were fitted under the limit, and the log says so.
        self.assertRegex(srv.stderr_text(), r"RLIMIT_NOFILE is 64: --max-connections 1024 -> \d+")
        return srv

    def flood(self, srv, port):
        # Connections opened before the flood, kept alive through it.
        admin = http.client.HTTPConnection(contract.HOST, srv.admin_port, timeout=10)
        admin.request("GET", "/healthz")
        self.assertEqual(admin.getresponse().read(), b"ok\n")
        api = wire.Connection(srv)
        req, body = signed_body()
        self.assertSuccess(api.post(GROUP_PATH, body, contract.PHP_HEADERS), req)

        socks = idle_sockets(port, 100)
        try:
            srv.check_alive()
            # The connections it has are still served.
            admin.request("GET", "/healthz")
            self.assertEqual(admin.getresponse().read(), b"ok\n")
            req, body = signed_body()
            self.assertSuccess(api.post(GROUP_PATH, body, contract.PHP_HEADERS), req)
            self.assertTrue(api.same_socket())
        finally:
            for s in socks:
                s.close()
            admin.close()
            api.close()
        # And new ones again once the idle ones are gone.
        took = healthz_eventually(srv)
        self.assertIsNotNone(took, "no /healthz within 20 s of closing the idle connections")
        send_eventually(self, srv)
        err = srv.stderr_text()
        # Once per episode, not once per failed accept.
        self.assertLessEqual(err.count("not accepting until descriptors free up"), 3, err[-3000:])
        return took

    def test_idle_connections_to_the_control_port(self):
        srv = self.start()
        took = self.flood(srv, srv.admin_port)
        report("ulimit -n 64, 100 idle control connections: served throughout, "
                     "/healthz on a new connection %.2f s after they closed" % took)

    def test_idle_connections_to_the_api_port(self):
        srv = self.start()
        took = self.flood(srv, srv.api_port)
        report("ulimit -n 64, 100 idle API connections: served throughout, "
                     "/healthz on a new connection %.2f s after they closed" % took)


class ControlCap(E2ETestCase):
    def test_connection_cap_on_the_control_port(self):
        srv = self.start_server(args=["--admin-max-connections", "3", "--timeout", "30",
                                      "--request-timeout", "30"])
        conns = []
        for _ in range(3):
            c = http.client.HTTPConnection(contract.HOST, srv.admin_port, timeout=5)
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().read(), b"ok\n")
            conns.append(c)
        # The fourth is closed at once, without an answer.
        extra = socket.create_connection((contract.HOST, srv.admin_port), timeout=5)
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = extra.recv(65536)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"", "a connection over --admin-max-connections was served")
        finally:
            extra.close()
        # The three still work; once one goes, a new one is served.
        for c in conns:
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().read(), b"ok\n")
        conns.pop().close()
        self.assertIsNotNone(healthz_eventually(srv, within=10))
        for c in conns:
            c.close()
        # The API port is not affected by the control port's cap.
        send_eventually(self, srv, within=5)


class BearerToken(E2ETestCase):
    TOKEN = "s3cret-token"

    def raw(self, srv, auth):
        with socket.create_connection((contract.HOST, srv.admin_port), timeout=5) as s:
            s.sendall(b"GET /admin/v1/clock HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth
                      + b"\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data.split(b"\r\n", 1)[0]

    def test_the_whole_header_is_compared(self):
        srv = self.start_server(args=["--admin-token", self.TOKEN])
        tok = self.TOKEN.encode()
        self.assertEqual(self.raw(srv, b"Bearer " + tok), b"HTTP/1.1 200 OK")
        for auth in (b"Bearer " + tok + b"\x00junk", b"Bearer " + tok + b"\x00",
                     b"Bearer " + tok[:-1] + b"\x00" + tok[-1:]):
            with self.subTest(auth=auth):
                self.assertEqual(self.raw(srv, auth), b"HTTP/1.1 400 Bad Request")
        for auth in (b"Bearer " + tok + b"x", b"Bearer " + tok[:-1], b"bearer " + tok):
            with self.subTest(auth=auth):
                self.assertEqual(self.raw(srv, auth), b"HTTP/1.1 401 Unauthorized")


class FaultPaths(E2ETestCase):
    """Every transport fault against every client behaviour; nothing may leak (LSan
    checks at the server's exit) and the server keeps serving."""

    RULES = [{"transport": "delay", "delay_ms": 150}, {"transport": "hang"},
             {"transport": "reset"}, {"transport": "empty"}, {"transport": "truncate"},
             {"transport": "http_503"}, {"transport": "html_502"}]

    def client(self, srv, behaviour):
        req, body = signed_body()
        raw = socket.create_connection((contract.HOST, srv.api_port), timeout=5)
        s = wire.client_context(srv, contract.MCH_ID).wrap_socket(raw, server_hostname=contract.HOST)
        s.sendall(post_bytes(body))
        if behaviour == "closed early, reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            return
        if behaviour == "closed early":
            s.close()
            return
        if behaviour == "closed early, close_notify":
            try:
                s.unwrap()
            except (OSError, ssl.SSLError):
                pass
            raw.close()
            return
        s.settimeout(0.6)  # waits (a hang is given up on)
        again = behaviour == "keeps the connection"
        try:
            while s.recv(65536):
                if again:  # one more request on the same connection, then wait
                    s.sendall(post_bytes(signed_body()[1]))
                    again = False
        except (OSError, ssl.SSLError):
            pass
        s.close()

    def test_every_fault_every_client(self):
        srv = self.start_server(invariants=False)
        for rule in self.RULES:
            r = control.request(srv, "POST", "/admin/v1/faults", body=json.dumps(rule),
                                    headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 201, r.body)
            for behaviour in ("waits", "keeps the connection", "closed early",
                              "closed early, reset", "closed early, close_notify"):
                with self.subTest(rule=rule["transport"], client=behaviour):
                    for _ in range(3):
                        self.client(srv, behaviour)
                    srv.check_alive()
            self.assertEqual(control.request(srv, "DELETE", "/admin/v1/faults").status, 200)
            time.sleep(0.4)  # the delays fall due while the server still runs
        send_eventually(self, srv, within=5)
        control.check(srv)
        # stop() (the cleanup) fails on any sanitizer report, leaks included.


if __name__ == "__main__":
    unittest.main(verbosity=2)
