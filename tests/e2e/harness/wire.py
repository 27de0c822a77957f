"""The wire client: signed sends over mutual TLS, as the merchant SDKs send them.

Signing (spec 8), request bodies in the SDKs' layouts, one connection or many
(keep-alive), and a raw TLS client that sees the TCP stream as it is (for the
transport faults). Written from tests/e2e/CONTRACT.md and the protocol
reference, never from the server sources. Every connection goes to 127.0.0.1.
"""

import collections
import hashlib
import hmac
import http.client
import os
import re
import secrets
import socket
import ssl
import string
import threading
import time

from .contract import (APPID, GROUP_PATH, HOST, MCH_ID, MCH_KEY, NORMAL_PATH, PATHS, PHP_HEADERS,
                       QUERY_PATH, SEED_OPENID, WECHATPY_HEADERS)
from .process import ServerError

# ---------------------------------------------------------------------------
# Signature (spec 8)
# ---------------------------------------------------------------------------

def sign_string(fields, key, keep_empty=False):
    """"k=v&...&key=KEY" over every field but sign; empty values dropped unless keep_empty."""
    pairs = []
    for k, v in fields.items():
        if k == "sign" or v is None:
            continue
        v = str(v)
        if v == "" and not keep_empty:
            continue
        pairs.append((k, v))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs) + "&key=" + key


def sign(fields, key, keep_empty=False):
    """The v2 MD5 sign (upper-case hex) over all given fields except sign and empty ones."""
    return hashlib.md5(sign_string(fields, key, keep_empty).encode("utf-8")).hexdigest().upper()


def sign_hmac_sha256(fields, key):
    s = sign_string(fields, key).encode("utf-8")
    return hmac.new(key.encode("utf-8"), s, hashlib.sha256).hexdigest().upper()


_KEY = MCH_KEY
_SIGN_EXAMPLES = [  # spec 8.4
    ("A", {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
           "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA"}, "9A0A8659F005D6984697E2CA0A9CF3B7"),
    ("B", {"test1": "test1", "test2": "test2"}, "1E3A8D73B5A4AEE787C0F68B5DAB8520"),
    ("C", {"act_name": "新年红包", "client_ip": "127.0.0.1",
           "mch_billno": "0010010404201411170000046545", "mch_id": "888",
           "nonce_str": "50780e0cca98c8c8e814883e5caa672e",
           "re_openid": "onqOjjmM1tad-3ROpncN-yUfa6uI", "remark": "新年红包",
           "risk_info": "posttime%3d123123412%26clientversion%3d234134%26mobile%3d122344545%26deviceid%3dIOS",
           "scene_id": "PRODUCT_2", "send_name": "send_name", "total_amount": "200",
           "total_num": "1", "wishing": "恭喜发财", "wxappid": "wxcbda96de0b165486",
           "consume_mch_id": ""}, "1F2FE4FBE6A352347E886F336E519BAE"),
    ("D", {"act_name": "新年红包", "amt_type": "ALL_RAND",
           "mch_billno": "0010010404201411170000046545", "mch_id": "1000888888",
           "nonce_str": "50780e0cca98c8c8e814883e5caa672e",
           "re_openid": "onqOjjmM1tad-3ROpncN-yUfa6uI", "remark": "新年红包",
           "send_name": "send_name", "total_amount": "600", "total_num": "3",
           "wishing": "恭喜发财", "wxappid": "wxcbda96de0b165486"},
     "3FCA8C6E228C5F6D0E6BD1142EA41FA2"),
    ("E", {"appid": "wxe062425f740c30d8", "bill_type": "MCHT",
           "mch_billno": "0010010404201411170000046545", "mch_id": "10000097",
           "nonce_str": "50780e0cca98c8c8e814883e5caa672e"}, "12733425FC5D9ECF9CB5BBF7FE3BD89B"),
]
SIGN_EXAMPLE_C_WITH_SIGN_TYPE = "9842CE5CF432634FFD92287AC2190FA8"
SIGN_EXAMPLE_A_HMAC = "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"


def sign_examples():
    """[(name, fields, key, expected_sign)] from spec 8.4."""
    out = [(n, f, _KEY, s) for n, f, s in _SIGN_EXAMPLES]
    c = dict(_SIGN_EXAMPLES[2][1], sign_type="MD5")
    out.append(("C+sign_type", c, _KEY, SIGN_EXAMPLE_C_WITH_SIGN_TYPE))
    return out


def _self_check():
    for name, fields, key, expected in sign_examples():
        got = sign(fields, key)
        if got != expected:
            raise AssertionError("wire.sign: spec 8.4 example %s gives %s, expected %s"
                                 % (name, got, expected))
    if sign_hmac_sha256(_SIGN_EXAMPLES[0][1], _KEY) != SIGN_EXAMPLE_A_HMAC:
        raise AssertionError("wire.sign_hmac_sha256: spec 8.4 example A mismatch")


_self_check()

# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits


def random_alnum(n):
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def new_nonce():
    return random_alnum(32)


_billno_lock = threading.Lock()
_billno_counter = [0]


def new_billno():
    """A unique 28-character alphanumeric mch_billno."""
    with _billno_lock:
        _billno_counter[0] += 1
        n = _billno_counter[0]
    return ("E2E%06d" % (n % 1000000)) + random_alnum(19)


def new_openid():
    """A 28-character openid listed nowhere (accepted for any app of a merchant)."""
    return "oE2E" + random_alnum(24)


def cdata(v):
    """A CDATA section; a "]]>" inside the value is split across two sections."""
    return "<![CDATA[%s]]>" % v.replace("]]>", "]]]]><![CDATA[>")


def _needscdata(v):
    return any(c in v for c in '<>&"')


def build_xml(fields, style="php", keep_order=False):
    """A request body (bytes, UTF-8).

    php:      as wechatpay-php: no declaration, no whitespace, fields in the given
              order then nonce_str then sign, plain text (CDATA only for < > & "),
              empty values written as <k></k>.
    wechatpy: as wechatpy: one element per line, keys sorted, sign last, digits
              bare and everything else CDATA, empty values dropped.
    cdata:    every value in CDATA, no whitespace, given order, sign last.
    keep_order=True keeps the dict order exactly (sign included) for php/cdata.
    Values of None are left out.
    """
    items = [(k, str(v)) for k, v in fields.items() if v is not None]
    if style == "wechatpy":
        body = [(k, v) for k, v in sorted(items) if k != "sign" and v != ""]
        out = ["<xml>\n"]
        for k, v in body:
            if v.isascii() and v.isdigit():
                out.append("<%s>%s</%s>\n" % (k, v, k))
            else:
                out.append("<%s>%s</%s>\n" % (k, cdata(v), k))
        sign_v = dict(items).get("sign")
        if sign_v is not None:
            out.append("<sign>%s</sign>\n" % cdata(sign_v))
        out.append("</xml>")
        return "".join(out).encode("utf-8")
    if style not in ("php", "cdata"):
        raise ValueError("unknown style %r" % style)
    if not keep_order:
        last = [kv for name in (("nonce_str", "sign") if style == "php" else ("sign",))
                for kv in items if kv[0] == name]
        items = [kv for kv in items if kv not in last] + last
    out = ["<xml>"]
    for k, v in items:
        if style == "cdata" or (v != "" and _needscdata(v)):
            out.append("<%s>%s</%s>" % (k, cdata(v), k))
        else:
            out.append("<%s>%s</%s>" % (k, v, k))
    out.append("</xml>")
    return "".join(out).encode("utf-8")


def _apply(fields, overrides, text):
    """fields with the overrides applied: None removes a field; text=True turns values into str."""
    for k, v in overrides.items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = str(v) if text else v
    return fields


def _send_fields(amount, num, wishing, act_name, remark, before_wishing=(), after_wishing=()):
    """The fields both sends carry, in the SDKs' order, with an endpoint's own around wishing."""
    return dict([("mch_billno", new_billno()), ("mch_id", MCH_ID), ("wxappid", APPID),
                 ("send_name", "天虹百货"), ("re_openid", SEED_OPENID), ("total_amount", amount),
                 ("total_num", num), *before_wishing, ("wishing", wishing), *after_wishing,
                 ("act_name", act_name), ("remark", remark), ("nonce_str", new_nonce())])


def group_request(**overrides):
    """A valid sendgroupredpack field dict for merchant 10000098; an override of None removes the field."""
    return _apply(_send_fields("300", "3", "恭喜发财，大吉大利", "新春裂变红包", "分享给好友一起抢红包",
                               before_wishing=[("amt_type", "ALL_RAND")]),
                  overrides, text=True)


def normal_request(**overrides):
    """A valid sendredpack field dict for merchant 10000098 (200 fen); an override of None removes."""
    return _apply(_send_fields("200", "1", "恭喜发财", "新年红包", "新年红包",
                               after_wishing=[("client_ip", "127.0.0.1")]),
                  overrides, text=False)


def query_request(billno, **overrides):
    """A valid gethbinfo field dict for billno of merchant 10000098."""
    return _apply({
        "mch_billno": billno,
        "mch_id": MCH_ID,
        "appid": APPID,
        "bill_type": "MCHT",
        "nonce_str": new_nonce(),
    }, overrides, text=False)


def fresh_group_request(**overrides):
    """group_request to a fresh, unlisted openid."""
    return group_request(**dict({"re_openid": new_openid()}, **overrides))


def fresh_normal_request(**overrides):
    """normal_request to a fresh, unlisted openid (override values as str)."""
    return normal_request(**dict({"re_openid": new_openid()},
                                 **{k: (v if v is None else str(v)) for k, v in overrides.items()}))


def request_for(endpoint, **overrides):
    """A valid request for an endpoint, sends to a fresh openid; gethbinfo needs mch_billno."""
    if endpoint == "sendgroupredpack":
        return fresh_group_request(**overrides)
    if endpoint == "sendredpack":
        return fresh_normal_request(**overrides)
    return query_request(overrides.pop("mch_billno"),
                         **{k: (v if v is None else str(v)) for k, v in overrides.items()})


# ---------------------------------------------------------------------------
# HTTPS
# ---------------------------------------------------------------------------

Response = collections.namedtuple("Response", "status headers body")


def client_context(server, cert=None, tls_version=None):
    """TLS client context trusting CERTS/ca.pem; cert is None, (certfile, keyfile), or a name."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=os.path.join(server.certs, "ca.pem"))
    ctx.check_hostname = True
    ctx.set_alpn_protocols(["http/1.1"])
    if tls_version is not None:
        ctx.minimum_version = tls_version
        ctx.maximum_version = tls_version
    if cert is not None:
        if isinstance(cert, str):
            cert = server.cert(cert)
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def raise_if_dead(server, exc):
    if server is not None and not server.alive():
        raise ServerError(server._describe("server died during a request (%r)" % exc)) from exc


class Connection:
    """One TLS connection for several requests (keep-alive)."""

    def __init__(self, server, cert=MCH_ID, tls_version=None, timeout=30):
        self.server = server
        self.conn = http.client.HTTPSConnection(
            HOST, server.api_port, timeout=timeout,
            context=client_context(server, cert, tls_version))
        try:
            self.conn.connect()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            raise_if_dead(server, e)
            raise
        self.sock = self.conn.sock
        self.requests = 0

    def same_socket(self):
        """True while every request so far went over the first socket."""
        return self.conn.sock is self.sock

    def tls_version(self):
        return self.sock.version()

    def local_port(self):
        return self.sock.getsockname()[1]

    def request(self, method, path, body=None, headers=None):
        try:
            try:
                self.conn.request(method, path, body=body, headers=dict(headers or {}))
            except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError) as send_error:
                # The server may answer (413) and close before reading the whole body;
                # read its answer like curl does.
                try:
                    resp = self.conn.getresponse()
                except (OSError, http.client.HTTPException):
                    raise send_error
            else:
                resp = self.conn.getresponse()
            data = resp.read()
            self.requests += 1
            return Response(resp.status, resp.getheaders(), data)
        except (OSError, http.client.HTTPException) as e:
            raise_if_dead(self.server, e)
            raise

    def post(self, path, body, headers=None):
        return self.request("POST", path, body, headers)

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def request(server, method, path, body=None, cert=MCH_ID, headers=None, tls_version=None,
            timeout=30):
    """One request on a fresh connection; returns Response(status, [(name, value)], body)."""
    conn = Connection(server, cert, tls_version, timeout)
    try:
        return conn.request(method, path, body, headers)
    finally:
        conn.close()


def post(server, path, body, cert=MCH_ID, headers=None, tls_version=None, timeout=30):
    return request(server, "POST", path, body, cert, headers, tls_version, timeout)


def signed(srv, fields, key=None):
    """A copy of fields with a sign (unless they carry one): key defaults to the fixture
    key of fields['mch_id'] (10000098's for an unknown one)."""
    f = dict(fields)
    if "sign" not in f:
        f["sign"] = sign(f, key if key is not None else srv.key(f.get("mch_id")))
    return f


def cert_for(srv, fields):
    """The client certificate for fields: its mch_id when that merchant exists, else 10000098."""
    mch = fields.get("mch_id")
    return mch if srv.merchant(mch) else MCH_ID


def signed_body(srv, fields, key=None, style="php"):
    return build_xml(signed(srv, fields, key), style)


def send_group(server, fields, key=None, cert=None, style="php", headers=None, conn=None,
               keep_order=False):
    """Signs fields (unless they carry a sign already) and POSTs sendgroupredpack.

    key defaults to the fixture key of fields['mch_id'] (10000098's for an unknown
    one); cert defaults to fields['mch_id'] when that merchant exists, else 10000098.
    """
    if cert is None:
        cert = cert_for(server, fields)
    if headers is None:
        headers = WECHATPY_HEADERS if style == "wechatpy" else PHP_HEADERS
    body = build_xml(signed(server, fields, key), style, keep_order=keep_order)
    if conn is not None:
        return conn.post(GROUP_PATH, body, headers)
    return post(server, GROUP_PATH, body, cert=cert, headers=headers)


def post_signed(srv, path, fields, key=None, cert=None, style="php"):
    """Signs fields and POSTs them to path with the SDK's headers of that style."""
    headers = WECHATPY_HEADERS if style == "wechatpy" else PHP_HEADERS
    return post(srv, path, signed_body(srv, fields, key, style),
                cert=cert_for(srv, fields) if cert is None else cert, headers=headers)


def send_normal(srv, fields, **kw):
    return post_signed(srv, NORMAL_PATH, fields, **kw)


def gethbinfo(srv, billno=None, fields=None, **kw):
    if fields is None:
        fields = query_request(billno)
    return post_signed(srv, QUERY_PATH, fields, **kw)


def call(srv, endpoint, fields, headers=None, key=None, cert=None, conn=None, timeout=30):
    """Signs fields and POSTs them to the endpoint with wechatpay-php's headers plus
    headers; returns Response."""
    hdrs = dict(PHP_HEADERS)
    hdrs.update(headers or {})
    body = signed_body(srv, fields, key)
    if conn is not None:
        return conn.post(PATHS[endpoint], body, hdrs)
    return post(srv, PATHS[endpoint], body, cert=cert_for(srv, fields) if cert is None else cert,
                headers=hdrs, timeout=timeout)


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
        self.tls = client_context(srv, cert).wrap_bio(self.inc, self.out,
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


