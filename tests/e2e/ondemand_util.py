"""Helpers for the on-demand, fault-rule, control-API and redpack-ctl suites (issue 5).

Everything protocol-level comes from rpsim (Server, signing, bodies, posting,
db(), check_invariants); this file only adds: request builders for
sendredpack and gethbinfo, a control-API client, the golden-file machinery,
raw TLS sockets for transport faults, and a redpack-ctl runner.

Golden files (tests/golden/<endpoint>/<ERR_CODE>.xml) hold an answer byte for
byte, with the values that change per request replaced by placeholders:
{mch_billno}, {re_openid}, {send_listid}, {detail_id}, {send_time}.
REDPACK_GOLDEN_UPDATE=1 makes assert_golden write the file from the answer
instead of comparing (then READ the files before committing them).

Python 3 standard library only; every connection goes to 127.0.0.1.
"""

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time

import rpsim
from rpsim import APPID, HOST, MCH_ID

GROUP_PATH = rpsim.GROUP_PATH
NORMAL_PATH = "/mmpaymkttransfers/sendredpack"
QUERY_PATH = "/mmpaymkttransfers/gethbinfo"
PATHS = {"sendgroupredpack": GROUP_PATH, "sendredpack": NORMAL_PATH, "gethbinfo": QUERY_PATH}
ENDPOINTS = ("sendgroupredpack", "sendredpack", "gethbinfo")

GOLDEN_DIR = os.path.join(rpsim.REPO, "tests", "golden")
PLACEHOLDERS = ("mch_billno", "re_openid", "send_listid", "detail_id", "send_time")

# The catalogue's codes that leave an order held (README "Every error code on demand").
HELD = ("NOTENOUGH", "SENDNUM_LIMIT", "RCVDAMOUNT_LIMIT", "SENDAMOUNT_LIMIT", "NO_AUTH")


def held_codes(endpoint):
    """The HELD codes an endpoint lists: the group table (spec 7.3) has no
    RCVDAMOUNT_LIMIT (a group's seed user receives one share, not the total)."""
    return tuple(c for c in HELD if not (endpoint == "sendgroupredpack" and c == "RCVDAMOUNT_LIMIT"))

NEGATIVE_HEADER = "Wechatpay-Negative-Test"
FIXTURE_KEYS = ("192006250b4c09247ec02edce69f6a2d", "8a4f0e6b2c9d41e7a35b7c0d9e1f2a3b",
                "0f1e2d3c4b5a69788796a5b4c3d2e1f0")


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------

def _apply(fields, overrides):
    for k, v in overrides.items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = str(v)
    return fields


def group_request(**overrides):
    """A valid sendgroupredpack dict for 10000098 to a fresh, unlisted openid."""
    return rpsim.default_group_request(**dict({"re_openid": rpsim.new_openid()}, **overrides))


def normal_request(**overrides):
    """A valid sendredpack dict for 10000098 (200 fen) to a fresh, unlisted openid."""
    return _apply({
        "mch_billno": rpsim.new_billno(),
        "mch_id": MCH_ID,
        "wxappid": APPID,
        "send_name": "天虹百货",
        "re_openid": rpsim.new_openid(),
        "total_amount": "200",
        "total_num": "1",
        "wishing": "恭喜发财",
        "client_ip": "127.0.0.1",
        "act_name": "新年红包",
        "remark": "新年红包",
        "nonce_str": rpsim.new_nonce(),
    }, overrides)


def query_request(billno, **overrides):
    return _apply({
        "mch_billno": billno,
        "mch_id": MCH_ID,
        "appid": APPID,
        "bill_type": "MCHT",
        "nonce_str": rpsim.new_nonce(),
    }, overrides)


def request_for(endpoint, **overrides):
    if endpoint == "sendgroupredpack":
        return group_request(**overrides)
    if endpoint == "sendredpack":
        return normal_request(**overrides)
    return query_request(overrides.pop("mch_billno"), **overrides)


def signed_body(srv, fields, key=None, style="php"):
    f = dict(fields)
    if "sign" not in f:
        f["sign"] = rpsim.sign(f, key if key is not None else srv.key(f.get("mch_id")))
    return rpsim.build_xml(f, style)


def call(srv, endpoint, fields, headers=None, key=None, cert=None, conn=None, timeout=30):
    """Signs fields and POSTs them to the endpoint; returns rpsim.Response."""
    hdrs = dict(rpsim.PHP_HEADERS)
    hdrs.update(headers or {})
    if cert is None:
        cert = fields.get("mch_id") if srv.merchant(fields.get("mch_id")) else MCH_ID
    body = signed_body(srv, fields, key)
    if conn is not None:
        return conn.post(PATHS[endpoint], body, hdrs)
    return rpsim.post(srv, PATHS[endpoint], body, cert=cert, headers=hdrs, timeout=timeout)


def answer(resp):
    """The answer as a dict (after checking its exact layout)."""
    if resp.status != 200:
        raise AssertionError("HTTP %d: %r" % (resp.status, resp.body[:400]))
    return rpsim.answer_dict(resp.body)


# ---------------------------------------------------------------------------
# Control API
# ---------------------------------------------------------------------------

def admin(srv, method, path, body=None, raw=None, timeout=30):
    """(status, parsed JSON or None, raw bytes). body is JSON-encoded, raw sent as is."""
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    if isinstance(data, str):
        data = data.encode("utf-8")
    conn = http.client.HTTPConnection(HOST, srv.admin_port, timeout=timeout)
    try:
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data is not None else {})
        resp = conn.getresponse()
        payload = resp.read()
    except (OSError, http.client.HTTPException) as e:
        rpsim._raise_if_dead(srv, e)
        raise
    finally:
        conn.close()
    try:
        doc = json.loads(payload.decode("utf-8")) if payload else None
    except ValueError:
        doc = None
    return resp.status, doc, payload


def admin_ok(srv, method, path, body=None, want=200):
    st, doc, raw = admin(srv, method, path, body)
    if st != want:
        raise AssertionError("%s %s %r: HTTP %d %s (expected %d)"
                             % (method, path, body, st, raw[:600].decode("utf-8", "replace"), want))
    return doc


def check_api(srv):
    return rpsim.check_invariants_api(srv)


def packet(srv, billno, mch_id=MCH_ID):
    st, doc, raw = admin(srv, "GET", "/admin/v1/packets/%s?mch_id=%s" % (billno, mch_id))
    return doc if st == 200 else None


def advance(srv, seconds):
    return admin_ok(srv, "POST", "/admin/v1/clock", {"advance_seconds": seconds})


def catalogue(srv):
    """{err_code: entry} from GET /admin/v1/errors, in catalogue order."""
    doc = admin_ok(srv, "GET", "/admin/v1/errors")
    return {e["err_code"]: e for e in doc["errors"]}


# ---------------------------------------------------------------------------
# Golden files
# ---------------------------------------------------------------------------

_PH_RE = re.compile(r"\{(%s)\}" % "|".join(PLACEHOLDERS))


def golden_path(endpoint, name):
    return os.path.join(GOLDEN_DIR, endpoint, name + ".xml")


def fill(template, values):
    """The template with every {placeholder} replaced; a missing value is an error."""
    def sub(m):
        if m.group(1) not in values:
            raise KeyError("golden placeholder {%s} has no value" % m.group(1))
        return values[m.group(1)]
    return _PH_RE.sub(sub, template)


def templatize(body, values):
    """The answer with each placeholder value put back as {name}, element by element
    (only a CDATA value equal to it is replaced, so nothing else can be hit)."""
    text = body.decode("utf-8")
    for name in PLACEHOLDERS:
        v = values.get(name)
        if v is None:
            continue
        elem = name
        text = text.replace("<%s><![CDATA[%s]]></%s>" % (elem, v, elem),
                            "<%s><![CDATA[{%s}]]></%s>" % (elem, name, elem))
    return text


def update_mode():
    return os.environ.get("REDPACK_GOLDEN_UPDATE") == "1"


def assert_golden(tc, resp, endpoint, name, values):
    """resp must be HTTP 200 with the XML headers and exactly the golden bytes (filled)."""
    tc.assertEqual(resp.status, 200, "HTTP status for %s/%s; body=%r" % (endpoint, name, resp.body[:300]))
    rpsim.check_xml_headers(resp)
    rpsim.parse_answer(resp.body)
    path = golden_path(endpoint, name)
    if update_mode():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = templatize(resp.body, values)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(text.encode("utf-8"))
        else:
            with open(path, "rb") as f:
                old = f.read().decode("utf-8")
            tc.assertEqual(old, text, "two answers for %s disagree while generating" % path)
        return
    tc.assertTrue(os.path.isfile(path), "golden file %s is missing" % path)
    with open(path, "rb") as f:
        template = f.read().decode("utf-8")
    want = fill(template, values).encode("utf-8")
    if resp.body != want:
        tc.fail("answer differs from %s\n--- expected ---\n%s\n--- got ---\n%s"
                % (os.path.relpath(path, rpsim.REPO), want.decode("utf-8"),
                   resp.body.decode("utf-8", "replace")))


# ---------------------------------------------------------------------------
# Raw TLS (transport faults are seen at the socket level)
# ---------------------------------------------------------------------------

def raw_request_bytes(path, body, headers=None):
    hdrs = [("Host", "127.0.0.1"), ("Content-Type", "text/xml; charset=utf-8"),
            ("Content-Length", str(len(body)))]
    for k, v in (headers or {}).items():
        hdrs.append((k, v))
    head = "POST %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
    return head.encode("ascii") + body


class BioTLS:
    """TLS over a plain TCP socket through memory BIOs, so that what happens to the
    TCP stream (a FIN, a reset, silence) is seen as such, not folded into
    ssl.SSLEOFError as an SSLSocket does."""

    def __init__(self, srv, cert=MCH_ID, timeout=30):
        self.sock = socket.create_connection((HOST, srv.api_port), timeout=timeout)
        self.tcp_eof = False  # the server's FIN arrived
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = rpsim.client_context(srv, cert).wrap_bio(self.inc, self.out,
                                                            server_hostname="127.0.0.1")
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("EOF during the TLS handshake")
                self.inc.write(data)
        self._flush()

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def send(self, data):
        self.tls.write(data)
        self._flush()

    def recv(self):
        """Application bytes; b"" at the end of the stream. A TCP reset raises
        ConnectionResetError, silence socket.timeout (from the TCP socket itself)."""
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    self.inc.write_eof()
                    self.tcp_eof = True
                else:
                    self.inc.write(data)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RawResult:
    """What a raw client saw: data (bytes), how the stream ended ("complete": a
    whole answer per Content-Length; "eof": the server closed; "reset": a TCP
    reset; "timeout": nothing more within the timeout), elapsed seconds."""

    def __init__(self, data, end, elapsed, exc=None):
        self.data, self.end, self.elapsed, self.exc = data, end, elapsed, exc

    def __repr__(self):
        return "RawResult(end=%s, %d bytes, %.3fs, exc=%r, data=%r)" % (
            self.end, len(self.data), self.elapsed, self.exc, self.data[:200])


def raw_exchange(srv, endpoint, fields, headers=None, timeout=30, read_until_close=False,
                 cert=MCH_ID):
    """One request over a fresh TLS connection (BioTLS); reads until the answer is
    complete (unless read_until_close), the server closes, resets, or the timeout."""
    body = signed_body(srv, fields)
    conn = BioTLS(srv, cert=cert, timeout=timeout)
    data = b""
    t0 = time.monotonic()
    end, exc = None, None
    try:
        conn.send(raw_request_bytes(PATHS[endpoint], body, headers))
        conn.settimeout(timeout)
        while True:
            if not read_until_close and _complete(data):
                end = "complete"
                break
            try:
                chunk = conn.recv()
            except ConnectionResetError as e:
                end, exc = "reset", e
                break
            except socket.timeout as e:
                end, exc = "timeout", e
                break
            if not chunk:
                end = "eof"
                break
            data += chunk
    finally:
        conn.close()
    return RawResult(data, end, time.monotonic() - t0, exc)


def _complete(data):
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return m is not None and len(rest) >= int(m.group(1))


def split_http(data):
    """(status, [(name, value)], body) of a raw HTTP/1.1 answer."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
    return status, headers, body


# ---------------------------------------------------------------------------
# redpack-ctl
# ---------------------------------------------------------------------------

def ctl_path():
    return rpsim.ctl_bin_path()


def ctl(srv, *args, admin_url=True, timeout=60, input=None):
    """Runs redpack-ctl [--admin URL] ARGS; returns CompletedProcess (text)."""
    cmd = [ctl_path()]
    if admin_url and srv is not None:
        cmd += ["--admin", "http://%s:%d" % (HOST, srv.admin_port)]
    cmd += list(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, input=input,
                          text=True, encoding="utf-8", errors="replace")


def send_args(srv, endpoint=None):
    """The send flags that point redpack-ctl at this server."""
    out = ["send"]
    if endpoint:
        out.append(endpoint)
    return out + ["--api", "https://%s:%d" % (HOST, srv.api_port), "--certs", srv.certs,
                  "--fixtures", rpsim.default_fixtures_path()]
