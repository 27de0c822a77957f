#!/usr/bin/env python3
"""nginx's HTTP edges on the API port (issue 8 part 5): the real host was nginx, so a
client that sends HTTP/1.0, TRACE, an odd path, a body or header block over the
limits, plain HTTP to the TLS port, or a version other than 1.0/1.1 sees nginx's
answer, page bytes and headers (Server: nginx, Content-Type: text/html, Connection).
Also: versions and NUL bytes on the control port.
"""

import os
import re
import socket
import struct
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import answers, contract, control, probe, wire  # noqa: E402
from harness.cases import SharedServerCase  # noqa: E402
from harness.contract import GROUP_PATH, MCH_KEY  # noqa: E402

PAGE_400 = contract.nginx_page("400 Bad Request")
PAGE_413 = contract.nginx_page("413 Request Entity Too Large")
PAGE_400_HEADER = contract.nginx_page("400", "Request Header Or Cookie Too Large")
PAGE_400_PLAIN = contract.nginx_page("400", "The plain HTTP request was sent to HTTPS port")


def signed_body():
    req = wire.group_request(re_openid=wire.new_openid())
    req["sign"] = wire.sign(req, MCH_KEY)
    return req, wire.build_xml(req)


def post_head(path, length, version=b"HTTP/1.1", extra=b""):
    return (b"POST " + path.encode() + b" " + version + b"\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: text/xml; charset=utf-8\r\n" + extra
            + b"Content-Length: " + str(length).encode() + b"\r\n\r\n")


class Answer:
    """One HTTP answer read off a socket: the raw status line, headers in order, body."""

    def __init__(self, status_line, headers, body):
        self.status_line, self.headers, self.body = status_line, headers, body
        self.status = int(status_line.split(b" ")[1]) if status_line.count(b" ") >= 1 else 0

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "Answer(%r, %r, %r)" % (self.status_line, self.headers, self.body[:300])


class Wire:
    """A raw socket (TLS with a merchant certificate, or plain TCP) with a read buffer."""

    def __init__(self, srv, tls=True, port=None, cert=contract.MCH_ID, timeout=10):
        raw = socket.create_connection((contract.HOST, port or srv.api_port), timeout=timeout)
        if tls:
            raw = wire.client_context(srv, cert).wrap_socket(raw, server_hostname=contract.HOST)
        self.sock, self.buf = raw, b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("closed with %r unread" % self.buf[:200])
        self.buf += chunk

    def answer(self, to_head=False):
        """The next answer; to a HEAD request (to_head) its headers alone, as nginx sends."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        headers = [(k.decode(), v.decode()) for k, _, v in
                   (line.partition(b": ") for line in lines[1:])]
        n = 0 if to_head else int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return Answer(lines[0], headers, body)

    def closed(self, within=5.0):
        """True when the server closes cleanly (EOF, not a reset) within `within` s."""
        self.sock.settimeout(within)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class EdgeCase(SharedServerCase):
    ARGS = ()

    @classmethod
    def server_kwargs(cls):
        return {"args": list(cls.ARGS)}

    def assertPage(self, ans, status_line, page, close):
        """nginx's page: exact status line, headers in order, body bytes."""
        self.assertEqual(ans.status_line, status_line, ans)
        names = ["Server", "Date", "Content-Type", "Content-Length", "Connection"]
        names += [] if close else ["Keep-Alive"]
        self.assertEqual([k for k, _ in ans.headers], names + ["Request-Id"], ans)
        self.assertEqual(ans.header("Server"), "nginx")
        self.assertEqual(ans.header("Content-Type"), "text/html")
        self.assertEqual(ans.header("Connection"), "close" if close else "keep-alive")
        self.assertEqual(int(ans.header("Content-Length")), len(ans.body))
        self.assertEqual(ans.body, page)

    def assertServes(self):
        req, body = signed_body()
        self.assertSuccess(wire.post(self.srv, GROUP_PATH, body, headers=contract.PHP_HEADERS), req)


class Versions(EdgeCase):
    def test_http10_without_connection_is_answered_and_closed(self):
        # nginx: HTTP/1.1 status line, Connection: close, no Keep-Alive, then the close.
        req, body = signed_body()
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, len(body), b"HTTP/1.0") + body)
            ans = w.answer()
            self.assertEqual(ans.status_line, b"HTTP/1.1 200 OK")
            self.assertEqual([k for k, _ in ans.headers],
                             ["Server", "Date", "Content-Type", "Content-Length", "Connection",
                              "Request-Id"])
            self.assertEqual(ans.header("Connection"), "close")
            self.assertEqual(answers.answer_dict(ans.body)["err_code"], "SUCCESS")
            self.assertTrue(w.closed(), "HTTP/1.0 without keep-alive: the server must close")
        # A page too.
        with Wire(self.srv) as w:
            w.send(b"GET " + GROUP_PATH.encode() + b" HTTP/1.0\r\n\r\n")
            self.assertPage(w.answer(), b"HTTP/1.1 405 Not Allowed", contract.PAGE_405, close=True)
            self.assertTrue(w.closed())

    def test_http10_keep_alive_stays_open(self):
        with Wire(self.srv) as w:
            for _ in range(2):
                req, body = signed_body()
                w.send(post_head(GROUP_PATH, len(body), b"HTTP/1.0",
                                 b"Connection: keep-alive\r\n") + body)
                ans = w.answer()
                self.assertEqual(ans.status_line, b"HTTP/1.1 200 OK")
                # One Connection header, ours, in its place.
                self.assertEqual([k for k, _ in ans.headers], answers.XML_HEADER_NAMES, ans)
                self.assertEqual(ans.header("Connection"), "keep-alive")
                self.assertEqual(answers.answer_dict(ans.body)["err_code"], "SUCCESS")

    def test_connection_close_on_http11(self):
        req, body = signed_body()
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, len(body), extra=b"Connection: close\r\n") + body)
            ans = w.answer()
            self.assertEqual([k for k, _ in ans.headers],
                             ["Server", "Date", "Content-Type", "Content-Length", "Connection",
                              "Request-Id"])
            self.assertEqual(ans.header("Connection"), "close")
            self.assertTrue(w.closed())

    def test_other_versions_get_a_plain_400(self):
        for line in (b"GET / HTTP/0.9", b"POST " + GROUP_PATH.encode() + b" HTTP/0.9",
                     b"GET / HTTP/1.2", b"GET / HTTP/2.0", b"GET / HTTP/1.10", b"GET /",
                     b"GET / http/1.1", b"GET  / HTTP/1.1"):
            with self.subTest(line=line), Wire(self.srv) as w:
                w.send(line + b"\r\nHost: 127.0.0.1\r\n\r\n")
                self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400, close=True)
                self.assertTrue(w.closed())
        self.assertServes()

    def test_control_port_versions_and_nul(self):
        for data in (b"GET /healthz HTTP/0.9\r\n\r\n", b"GET /healthz HTTP/2.0\r\n\r\n",
                     b"GET /healthz\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
                     b"GET http://h:1x/healthz HTTP/1.1\r\n\r\n"):
            with self.subTest(data=data), Wire(self.srv, tls=False, port=self.srv.admin_port) as w:
                w.send(data)
                ans = w.answer()
                self.assertEqual(ans.status_line, b"HTTP/1.1 400 Bad Request")
                self.assertEqual(ans.header("Connection"), "close")
                self.assertEqual(ans.header("Content-Type"), "application/json")
                self.assertTrue(w.closed())
        with Wire(self.srv, tls=False, port=self.srv.admin_port) as w:
            w.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            ans = w.answer()
            self.assertEqual((ans.status_line, ans.body), (b"HTTP/1.1 200 OK", b"ok\n"))
            self.assertEqual(ans.header("Connection"), "close")
            self.assertTrue(w.closed())


class Methods(EdgeCase):
    def test_any_method_but_post_gets_405(self):
        # TRACE got libevent's 501; a method libevent does not know gets the same 405.
        with Wire(self.srv) as w:
            for method in (b"TRACE", b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"PATCH",
                           b"PROPFIND", b"FOO"):
                with self.subTest(method=method):
                    w.send(method + b" " + GROUP_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                    ans = w.answer(to_head=method == b"HEAD")
                    if method == b"HEAD":
                        # The page's headers (its length too), no body: libevent
                        # sent the body as well, nginx does not.
                        self.assertEqual(ans.status_line, b"HTTP/1.1 405 Not Allowed")
                        self.assertEqual(ans.header("Content-Length"),
                                         str(len(contract.PAGE_405)))
                        self.assertEqual(ans.header("Connection"), "keep-alive")
                        continue
                    self.assertPage(ans, b"HTTP/1.1 405 Not Allowed", contract.PAGE_405, close=False)
            # The connection is still good for a real request.
            req, body = signed_body()
            w.send(post_head(GROUP_PATH, len(body)) + body)
            ans = w.answer()
            self.assertEqual(answers.answer_dict(ans.body)["err_code"], "SUCCESS", ans)

    def test_unknown_path_is_404_whatever_the_method(self):
        with Wire(self.srv) as w:
            for method in (b"TRACE", b"POST", b"FOO"):
                w.send(method + b" /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                self.assertPage(w.answer(), b"HTTP/1.1 404 Not Found", contract.PAGE_404, close=False)

    def test_body_on_a_method_without_one_closes(self):
        # evhttp reads no body for GET: the connection cannot go on after it.
        with Wire(self.srv) as w:
            w.send(b"GET " + GROUP_PATH.encode() + b" HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            self.assertPage(w.answer(), b"HTTP/1.1 405 Not Allowed", contract.PAGE_405, close=True)
            self.assertTrue(w.closed())


class Paths(EdgeCase):
    def test_merged_slashes_and_escapes_reach_the_endpoint(self):
        for path in ("//mmpaymkttransfers/sendgroupredpack",
                     "/mmpaymkttransfers//sendgroupredpack",
                     "/mmpaymkttransfers/sendgroupredpac%6B",
                     "/%6dmpaymkttransfers%2Fsendgroupredpack",
                     "/mmpaymkttransfers/./sendgroupredpack",
                     "/x/../mmpaymkttransfers/sendgroupredpack",
                     "/mmpaymkttransfers/sendgroupredpack?x=1",
                     "https://api.mch.weixin.qq.com/mmpaymkttransfers/sendgroupredpack",
                     "http://api.mch.weixin.qq.com:443//mmpaymkttransfers/sendgroupredpack?a"):
            with self.subTest(path=path):
                req, body = signed_body()
                with wire.Connection(self.srv) as conn:
                    resp = conn.post(path, body, contract.PHP_HEADERS)
                self.assertSuccess(resp, req)

    def test_other_paths_stay_404(self):
        for path in ("/mmpaymkttransfers/sendgroupredpack/", "/mmpaymkttransfers/sendgroupredpack%20",
                     "/mmpaymkttransfers/SENDGROUPREDPACK", "/mmpaymkttransfers"):
            with self.subTest(path=path), Wire(self.srv) as w:
                w.send(post_head(path, 0))
                self.assertPage(w.answer(), b"HTTP/1.1 404 Not Found", contract.PAGE_404, close=False)

    def test_nul_bad_escapes_and_climbing_above_the_root_are_400(self):
        for path in (b"/%00", b"/mmpaymkttransfers/sendgroupredpack%00", b"/%zz",
                     b"/mmpaymkttransfers/sendgroupredpack%4", b"/../mmpaymkttransfers/sendgroupredpack",
                     b"/mmpaymkttransfers/../../sendgroupredpack", b"/%2e%2e/x", b"*",
                     # An absolute target whose port is no number once
                     # killed the server on either port.
                     b"http://h:1x/mmpaymkttransfers/sendgroupredpack"):
            with self.subTest(path=path), Wire(self.srv) as w:
                w.send(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400, close=True)
                self.assertTrue(w.closed())
        self.assertServes()


class BodyLimit(EdgeCase):
    def test_default_limit_is_nginx_1mib_announced(self):
        # Decided from Content-Length, before the body is read.
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, 1048577))
            self.assertPage(w.answer(), b"HTTP/1.1 413 Request Entity Too Large", PAGE_413,
                            close=True)
            self.assertTrue(w.closed())
        self.assertServes()

    def test_body_sent_in_full(self):
        # The client writes on while the answer is out: the close lingers, so the
        # 413 is read, not lost to a reset. Any path (nginx checks the size first).
        for path in (GROUP_PATH, "/nowhere"):
            with self.subTest(path=path):
                resp = wire.post(self.srv, path, b"<xml>" + b" " * 1048566 + b"</xml>",
                                  headers=contract.PHP_HEADERS, timeout=30)
                self.assertEqual(resp.status, 413)
                self.assertEqual(resp.body, PAGE_413)
                self.assertEqual(dict(resp.headers)["Connection"], "close")
        # At the limit: read and handled (an XML answer: it is not a valid request).
        resp = wire.post(self.srv, GROUP_PATH, b"<xml>" + b" " * 1048565 + b"</xml>")
        self.assertEqual(resp.status, 200)
        self.assertNotEqual(answers.answer_dict(resp.body)["err_code"], "SUCCESS")
        self.assertServes()

    def test_certificate_comes_first(self):
        with Wire(self.srv, cert=None) as w:
            w.send(post_head(GROUP_PATH, 1048577))
            self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", contract.PAGE_400_NO_CERT,
                            close=True)


class SmallLimits(EdgeCase):
    ARGS = ("--max-body", "1000", "--max-headers", "1024")

    def test_max_body_flag(self):
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, 1001) + b"x" * 1001)
            self.assertPage(w.answer(), b"HTTP/1.1 413 Request Entity Too Large", PAGE_413,
                            close=True)
            self.assertTrue(w.closed())
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, 1000) + b"x" * 1000)
            ans = w.answer()
            self.assertEqual(ans.status, 200)
            self.assertEqual(answers.answer_dict(ans.body)["err_code"], "XML_ERROR")

    def test_chunked_body_over_max_body(self):
        with Wire(self.srv) as w:
            w.send(chunked_head() + b"3e8\r\n" + b"x" * 1000 + b"\r\n1\r\nx\r\n0\r\n\r\n")
            self.assertPage(w.answer(), b"HTTP/1.1 413 Request Entity Too Large", PAGE_413,
                            close=True)
            self.assertTrue(w.closed())
        with Wire(self.srv) as w:  # at the limit: read, and answered
            w.send(chunked_head() + b"3e8\r\n" + b"x" * 1000 + b"\r\n0\r\n\r\n")
            ans = w.answer()
            self.assertEqual(answers.answer_dict(ans.body)["err_code"], "XML_ERROR")

    def test_header_block_over_max_headers(self):
        def head(total):
            base = b"GET " + GROUP_PATH.encode() + b" HTTP/1.1\r\nX-Pad: \r\n\r\n"
            return base.replace(b"X-Pad: ", b"X-Pad: " + b"a" * (total - len(base)))
        self.assertEqual(len(head(1024)), 1024)
        with Wire(self.srv) as w:  # at the limit: served
            w.send(head(1024))
            self.assertPage(w.answer(), b"HTTP/1.1 405 Not Allowed", contract.PAGE_405, close=False)
        for total in (1025, 5000):
            with self.subTest(total=total), Wire(self.srv) as w:
                w.send(head(total))
                self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400_HEADER,
                                close=True)
                self.assertTrue(w.closed())
        # A head that never ends, trickled past the limit.
        with Wire(self.srv) as w:
            w.send(b"POST " + GROUP_PATH.encode() + b" HTTP/1.1\r\n")
            for _ in range(12):
                w.send(b"X-Long: " + b"b" * 100 + b"\r\n")
            self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400_HEADER, close=True)

    def test_nul_in_a_header(self):
        with Wire(self.srv) as w:
            w.send(b"GET " + GROUP_PATH.encode() + b" HTTP/1.1\r\nX-A: a\x00b\r\n\r\n")
            self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400, close=True)


def chunked(body, sizes):
    """body in chunks of those sizes (the rest in one more), with an extension on the first."""
    out, at = b"", 0
    for i, n in enumerate(list(sizes) + [len(body)]):
        part = body[at:at + n]
        at += len(part)
        if part:
            out += b"%x%s\r\n" % (len(part), b";ext=1" if i == 0 else b"") + part + b"\r\n"
    return out + b"0\r\n\r\n"


def chunked_head(path=GROUP_PATH, extra=b""):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: text/xml; charset=utf-8\r\nTransfer-Encoding: chunked\r\n" + extra
            + b"\r\n")


class Bodies(EdgeCase):
    """How a body arrives: Expect: 100-continue (curl, over 1 KiB), chunked, pipelined."""

    def test_expect_100_continue(self):
        req, body = signed_body()
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, len(body), extra=b"Expect: 100-continue\r\n"))
            w.sock.settimeout(5)
            while b"\r\n\r\n" not in w.buf:
                w._fill()
            interim, _, w.buf = w.buf.partition(b"\r\n\r\n")
            self.assertEqual(interim, b"HTTP/1.1 100 Continue")
            w.send(body)
            self.assertSuccess(resp_of(w.answer()), req)
        # Body sent with the head at once: no interim answer, just the answer.
        req, body = signed_body()
        with Wire(self.srv) as w:
            w.send(post_head(GROUP_PATH, len(body), extra=b"Expect: 100-continue\r\n") + body)
            ans = w.answer()
            self.assertEqual(ans.status_line, b"HTTP/1.1 200 OK")
            self.assertSuccess(resp_of(ans), req)

    def test_chunked_body(self):
        req, body = signed_body()
        with Wire(self.srv) as w:
            w.send(chunked_head() + chunked(body, (1, 100)))
            self.assertSuccess(resp_of(w.answer()), req)
            # The connection goes on; trailers are read and dropped.
            req, body = signed_body()
            w.send(chunked_head() + chunked(body, (7,))[:-2] + b"X-Trailer: 1\r\n\r\n")
            self.assertSuccess(resp_of(w.answer()), req)

    def test_malformed_chunks_are_400(self):
        req, body = signed_body()
        for framing in (b"zz\r\n" + body + b"\r\n0\r\n\r\n",          # not hex
                        b"%x\r\n" % len(body) + body + b"XY0\r\n\r\n",   # no line end after data
                        b"f" * 300 + b"\r\n"):                           # an endless size line
            with self.subTest(framing=framing[:12]), Wire(self.srv) as w:
                w.send(chunked_head() + framing)
                self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400, close=True)
                self.assertTrue(w.closed())
        self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])

    def test_pipelined_requests_answered_in_order(self):
        sent = [signed_body() for _ in range(3)]
        data = b"".join(post_head(GROUP_PATH, len(b)) + b for _, b in sent)
        with Wire(self.srv) as w:
            w.send(data + b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            for req, _ in sent:
                self.assertSuccess(resp_of(w.answer()), req)
            self.assertPage(w.answer(), b"HTTP/1.1 404 Not Found", contract.PAGE_404, close=False)

    def test_half_closed_client_still_gets_its_answers(self):
        # A client that shuts its sending side after its requests (no TLS
        # close_notify) reads every answer, then the server's close.
        for n in (1, 2):
            with self.subTest(requests=n), Wire(self.srv) as w:
                sent = [signed_body() for _ in range(n)]
                w.send(b"".join(post_head(GROUP_PATH, len(b)) + b for _, b in sent))
                socket.socket.shutdown(w.sock, socket.SHUT_WR)
                for req, _ in sent:
                    self.assertSuccess(resp_of(w.answer()), req)
                self.assertTrue(w.closed())


def resp_of(ans):
    """An Answer as the harness's response object (status, headers, body)."""
    return wire.Response(ans.status, ans.headers, ans.body)


class ConnectionEnds(EdgeCase):
    """Clients that go away, or half away, while their answer is being made."""

    def open_api_connections(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.srv.admin_port,
                                    timeout=10) as r:
            m = re.search(r'^redpack_open_connections\{port="api"\} (\d+)$', r.read().decode(),
                          re.M)
        return int(m.group(1)) if m else 0

    def test_reset_while_a_closing_answer_is_held(self):
        # The answer is held by a delay fault; the client resets first. The
        # answer's write fails and the connection must end with it (it once
        # stayed open for good: libevent had stopped writing at the EOF).
        openid = wire.new_openid()
        control.admin_ok(self.srv, "POST", "/admin/v1/faults",
                         {"transport": "delay", "delay_ms": 500, "match": {"re_openid": openid}},
                         want=201)
        try:
            req = wire.group_request(re_openid=openid)
            req["sign"] = wire.sign(req, MCH_KEY)
            body = wire.build_xml(req)
            w = Wire(self.srv)
            w.send(post_head(GROUP_PATH, len(body), extra=b"Connection: close\r\n") + body)
            time.sleep(0.1)
            w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.close()
            deadline = time.monotonic() + 5
            while self.open_api_connections() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.open_api_connections(), 0)
        finally:
            control.admin_ok(self.srv, "DELETE", "/admin/v1/faults")
        self.assertServes()

    def test_half_close_right_after_a_head_sent_in_pieces(self):
        # The last bytes and the EOF can arrive in one read: the request is
        # still answered.
        for attempt in range(8):
            req, body = signed_body()
            data = post_head(GROUP_PATH, len(body), extra=b"X-Pad: " + b"p" * 5000 + b"\r\n") + body
            with self.subTest(attempt=attempt), Wire(self.srv) as w:
                w.send(data[:5000])
                time.sleep(0.05)
                w.send(data[5000:])
                socket.socket.shutdown(w.sock, socket.SHUT_WR)
                self.assertSuccess(resp_of(w.answer()), req)
                self.assertTrue(w.closed())

    def test_transfer_codings_nginx_refuses(self):
        req, body = signed_body()
        page_501 = contract.nginx_page("501 Not Implemented")
        for extra, status, page in (
                (b"Transfer-Encoding: gzip, chunked\r\n", b"HTTP/1.1 501 Not Implemented", page_501),
                (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                 b"HTTP/1.1 400 Bad Request", PAGE_400)):
            with self.subTest(extra=extra), Wire(self.srv) as w:
                w.send(chunked_head(extra=extra) + chunked(body, ()))
                self.assertPage(w.answer(), status, page, close=True)
                self.assertTrue(w.closed())
        self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])


class PlainHttp(EdgeCase):
    def test_plain_http_on_the_tls_port(self):
        req, body = signed_body()
        for data in (post_head(GROUP_PATH, len(body)) + body,
                     b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                     b"HEAD / HTTP/1.0\r\n\r\n"):
            with self.subTest(data=data[:20]), Wire(self.srv, tls=False) as w:
                w.send(data)
                self.assertPage(w.answer(), b"HTTP/1.1 400 Bad Request", PAGE_400_PLAIN,
                                close=True)
                self.assertTrue(w.closed(), "the server must close after the page (a FIN)")
        self.assertEqual(probe.packet_rows(self.srv, req["mch_billno"]), [])
        self.assertServes()


if __name__ == "__main__":
    unittest.main(verbosity=2)
