"""Client-side helpers for the redpack-sim end-to-end tests.

Written from tests/e2e/CONTRACT.md and the protocol reference only, never from
the server sources, so that a misunderstanding in the server cannot hide in a
shared helper. Python 3 standard library only.

Environment:
  REDPACK_SIM_BIN   the server binary (default: <repo>/build/redpack-sim)
  REDPACK_CERTS     directory made by scripts/gen-certs.sh (default: <repo>/build/test-certs)
  REDPACK_FIXTURES  fixtures JSON (default: <repo>/fixtures/default.json)

Every connection goes to 127.0.0.1 only.
"""

import atexit
import collections
import copy
import datetime
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import secrets
import shutil
import signal
import sqlite3
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

# ---------------------------------------------------------------------------
# Constants from the contract
# ---------------------------------------------------------------------------

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = "127.0.0.1"
GROUP_PATH = "/mmpaymkttransfers/sendgroupredpack"

MCH_ID = "10000098"
MCH_KEY = "192006250b4c09247ec02edce69f6a2d"
APPID = "wx8888888888888888"
MOBILE_APPID = "wx2421b1c4370ec43b"
SEED_OPENID = "oxTWIuGaIt6gTKsQRLau2M0yL16E"
MCH2_ID = "10000099"
MCH2_KEY = "8a4f0e6b2c9d41e7a35b7c0d9e1f2a3b"
MCH2_APPID = "wx9999999999999999"
MCH2_OPENID = "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY"
LOAD_MCH_ID = "10000100"
LOAD_MCH_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
LOAD_APPID = "wx1000000000000000"
LOAD_OPENID = "oLoadUser0000000000000000001"

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
SEND_LISTID_RE = re.compile(r"1000041701(\d{8})30\d{11}")

# Error texts, copied from CONTRACT.md.
SUCCESS_DES = "发放成功"
XML_ERROR_DES = "输入xml参数格式错误"
DES = {
    "expired": "该订单已经过期,请更换商户单号",
    "mch_id_bad": "参数错误:输入的商户号有误.",
    "mch_id_unknown": "参数错误:找不到对应的商户号.",
    "ca": "CA证书出错，请登录微信支付商户平台下载证书",
    "sign": "签名错误",
    "mch_billno": "参数错误:订单号字段必填,最长为28个字符.",
    "act_name": "参数错误:act_name字段必填,并且少于32个字符.",
    "re_openid": "参数错误:re_openid字段为必填并且少于32个字符.",
    "re_openid_chars": "参数错误:re_openid字段不正确,请检查是否合法",
    "total_num": "参数错误:total_num必须介于(包括)3到20之间",
    "total_amount": "参数错误:红包金额参数错误.",
    "amt_type": "参数错误:amt_type字段必填,并且只能为ALL_RAND.",
    "wxappid": "参数错误:appid字段必填,最长为32个字符.",
    "send_name": "参数错误:send_name字段为必填并且少于32字符.",
    "wishing": "参数错误:wishing字段为必填,并且少于128个字符.",
    "remark": "参数错误:remark字段为必填,并且少于256字符.",
    "nonce_str": "参数错误:nonce_str字段必填,并且少于32字符.",
    "scene": "参数错误:该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-使用场景 进行开通",
    "money_avg": "每个红包的平均金额必须在1.00元到200.00元之间.",
    "money_scene": "红包金额发放限制",
    "illegal_appid": "非法appid，请确认是否为公众号的appid，不能为APP的appid",
    "appid_mismatch": "参数错误:商户号和wxappid不匹配.",
    "openid": "openid和appid不匹配",
    "freq": "超过频率限制,请稍后再试",
    "fatal_openid": "openid和原始单参数不一致",
    "fatal_amount": "金额和原始单参数不一致",
    "send_failed": "红包发放失败,请更换单号再重试",
    "sendnum": "该用户今日操作次数超过限制，如有需要请登录微信支付商户平台更改API安全配置",
    "rcvdamount": "该用户今日领取金额超过限制，如有需要请登录微信支付商户平台更改API安全配置",
    "sendamount": "您的商户号今日发放金额超过限制，如有需要请登录微信支付商户平台更改API安全配置",
    "notenough": "帐号余额不足，请到商户平台充值后再重试",
}

# Header sets the two SDKs send (spec/clients.md).
PHP_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "Accept": "text/xml, text/plain, application/x-gzip",
    "User-Agent": "wechatpay-php/1.4.10 GuzzleHttp/7 curl/7.88.1 (Linux) PHP/8.2",
}
WECHATPY_HEADERS = {
    "Accept-Encoding": "gzip, deflate",
    "Accept": "*/*",
    "Connection": "keep-alive",
    "User-Agent": "python-requests/2.28.2",
}

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


def nginx_page(status_line, detail=None):
    """nginx's built-in error page (CRLF line ends), as the contract quotes it."""
    code, _, reason = status_line.partition(" ")
    h1 = status_line if detail is None else code + " Bad Request"
    title = status_line if detail is None else code + " " + detail
    parts = ["<html>", "<head><title>%s</title></head>" % title, '<body bgcolor="white">',
             "<center><h1>%s</h1></center>" % h1]
    if detail is not None:
        parts.append("<center>%s</center>" % detail)
    parts += ["<hr><center>nginx</center>", "</body>", "</html>", ""]
    return "\r\n".join(parts).encode("ascii")


PAGE_400_NO_CERT = nginx_page("400", "No required SSL certificate was sent")
PAGE_400_CERT_ERROR = nginx_page("400", "The SSL certificate error")
PAGE_404 = nginx_page("404 Not Found")
PAGE_405 = nginx_page("405 Not Allowed")


def env_path(name, default):
    value = os.environ.get(name)
    return value if value else default


def bin_path():
    return env_path("REDPACK_SIM_BIN", os.path.join(REPO, "build", "redpack-sim"))


def certs_dir():
    return env_path("REDPACK_CERTS", os.path.join(REPO, "build", "test-certs"))


def default_fixtures_path():
    return env_path("REDPACK_FIXTURES", os.path.join(REPO, "fixtures", "default.json"))


def load_default_fixtures():
    with open(default_fixtures_path(), encoding="utf-8") as f:
        return json.load(f)


def fixtures_with(mch_id=MCH_ID, limits=None, balance=None, **merchant_fields):
    """The default fixtures with one merchant changed (limits merged key by key)."""
    fx = copy.deepcopy(load_default_fixtures())
    for m in fx["merchants"]:
        if m["mch_id"] == mch_id:
            if limits:
                merged = dict(m.get("limits", {}))
                merged.update(limits)
                m["limits"] = merged
            if balance is not None:
                m["balance"] = balance
            m.update(merchant_fields)
            return fx
    raise KeyError(mch_id)


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


_KEY = "192006250b4c09247ec02edce69f6a2d"
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
            raise AssertionError("rpsim.sign: spec 8.4 example %s gives %s, expected %s"
                                 % (name, got, expected))
    if sign_hmac_sha256(_SIGN_EXAMPLES[0][1], _KEY) != SIGN_EXAMPLE_A_HMAC:
        raise AssertionError("rpsim.sign_hmac_sha256: spec 8.4 example A mismatch")


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


def _cdata(v):
    """A CDATA section; a "]]>" inside the value is split across two sections."""
    return "<![CDATA[%s]]>" % v.replace("]]>", "]]]]><![CDATA[>")


def _needs_cdata(v):
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
                out.append("<%s>%s</%s>\n" % (k, _cdata(v), k))
        sign_v = dict(items).get("sign")
        if sign_v is not None:
            out.append("<sign>%s</sign>\n" % _cdata(sign_v))
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
        if style == "cdata" or (v != "" and _needs_cdata(v)):
            out.append("<%s>%s</%s>" % (k, _cdata(v), k))
        else:
            out.append("<%s>%s</%s>" % (k, v, k))
    out.append("</xml>")
    return "".join(out).encode("utf-8")


def default_group_request(**overrides):
    """A valid sendgroupredpack field dict for merchant 10000098; an override of None removes the field."""
    fields = {
        "mch_billno": new_billno(),
        "mch_id": MCH_ID,
        "wxappid": APPID,
        "send_name": "天虹百货",
        "re_openid": SEED_OPENID,
        "total_amount": "300",
        "total_num": "3",
        "amt_type": "ALL_RAND",
        "wishing": "恭喜发财，大吉大利",
        "act_name": "新春裂变红包",
        "remark": "分享给好友一起抢红包",
        "nonce_str": new_nonce(),
    }
    for k, v in overrides.items():
        if v is None:
            fields.pop(k, None)
        else:
            fields[k] = str(v)
    return fields


# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------

# Servers still running, so that an interrupted test run (SIGTERM from ctest's
# timeout, Ctrl-C) does not leave processes or temp dirs behind.
_live_servers = set()


def _reap_live_servers():
    for srv in list(_live_servers):
        srv._kill()
        srv._cleanup()


atexit.register(_reap_live_servers)
if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _die_with_parent():
    """In the child before exec: get SIGKILL when the test process dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


_LISTEN_RE = re.compile(r"listening api=https://127\.0\.0\.1:(\d+) admin=http://127\.0\.0\.1:(\d+)")


class ServerError(AssertionError):
    """The server failed to start, died, or stopped uncleanly (a test failure)."""


class Server:
    """A redpack-sim process on 127.0.0.1 with its own temp dir and database.

    with Server() as srv: ...   (or srv.start() / srv.stop())
    fixtures: None (REDPACK_FIXTURES or fixtures/default.json), a path, or a dict.
    stop() sends SIGTERM and raises ServerError on a non-zero exit code or any
    sanitizer report on stderr.
    """

    START_TIMEOUT = 10.0
    STOP_TIMEOUT = 20.0

    def __init__(self, fixtures=None, seed=42, args=(), client_auth=None, sign_fields=None):
        self.fixtures_arg = fixtures
        self.seed = seed
        self.args = list(args)
        if client_auth:
            self.args += ["--client-auth", client_auth]
        if sign_fields:
            self.args += ["--sign-fields", sign_fields]
        self.certs = certs_dir()
        self.proc = None
        self.tmp = None
        self.api_port = None
        self.admin_port = None
        self._stderr = []
        self._stdout = []
        self._lock = threading.Lock()
        self._threads = []
        self._first_line = queue.Queue()
        self.stopped = False

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        exe = bin_path()
        if not os.path.isfile(exe) or not os.access(exe, os.X_OK):
            raise ServerError("server binary not found or not executable: %s "
                              "(set REDPACK_SIM_BIN)" % exe)
        for f in ("ca.pem", "server.pem", "server.key"):
            if not os.path.isfile(os.path.join(self.certs, f)):
                raise ServerError("certificate %s missing in %s (set REDPACK_CERTS; "
                                  "make them with scripts/gen-certs.sh)" % (f, self.certs))
        self.tmp = tempfile.mkdtemp(prefix="redpack-e2e-")
        try:
            self._spawn(exe)
        except BaseException:
            self._kill()
            self._cleanup()
            raise
        return self

    def _spawn(self, exe):
        if isinstance(self.fixtures_arg, dict):
            self.fixtures_path = os.path.join(self.tmp, "fixtures.json")
            with open(self.fixtures_path, "w", encoding="utf-8") as f:
                json.dump(self.fixtures_arg, f, ensure_ascii=False, indent=1)
        else:
            self.fixtures_path = self.fixtures_arg or default_fixtures_path()
        with open(self.fixtures_path, encoding="utf-8") as f:
            self.fixtures = json.load(f)
        self.db_path = os.path.join(self.tmp, "redpack.db")
        cmd = [exe, "--listen", HOST + ":0", "--admin-listen", HOST + ":0",
               "--db", self.db_path, "--fixtures", self.fixtures_path,
               "--tls-cert", os.path.join(self.certs, "server.pem"),
               "--tls-key", os.path.join(self.certs, "server.key"),
               "--client-ca", os.path.join(self.certs, "ca.pem")]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        cmd += self.args
        self.cmd = cmd
        # The server reads REDPACK_<NAME> variables as settings; ours are for the tests.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.tmp, env=env,
                                     preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        _live_servers.add(self)
        self._threads = [
            threading.Thread(target=self._drain_stdout, daemon=True),
            threading.Thread(target=self._drain_stderr, daemon=True),
        ]
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + self.START_TIMEOUT
        try:
            line = self._first_line.get(timeout=self.START_TIMEOUT)
        except queue.Empty:
            raise ServerError(self._describe("no 'listening' line on stdout within %.0f s"
                                             % self.START_TIMEOUT))
        if line is None:
            self.proc.wait(timeout=5)
            self._join_drains()
            raise ServerError(self._describe("server exited before printing 'listening'"))
        m = _LISTEN_RE.fullmatch(line.rstrip("\n"))
        if not m:
            raise ServerError(self._describe("unexpected first stdout line %r" % line))
        self.api_port, self.admin_port = int(m.group(1)), int(m.group(2))
        self._wait_healthy(deadline)

    def _wait_healthy(self, deadline):
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(self._describe("server exited while waiting for /healthz"))
            try:
                conn = http.client.HTTPConnection(HOST, self.admin_port, timeout=2)
                try:
                    conn.request("GET", "/healthz")
                    resp = conn.getresponse()
                    body = resp.read()
                finally:
                    conn.close()
                if resp.status == 200:
                    if body.strip() != b"ok":
                        raise ServerError(self._describe("/healthz answered 200 with %r" % body))
                    return
                last = "HTTP %d %r" % (resp.status, body[:200])
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        raise ServerError(self._describe("GET /healthz not 200 within %.0f s (last: %s)"
                                         % (self.START_TIMEOUT, last)))

    def _drain_stdout(self):
        first = True
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._stdout.append(line)
            if first:
                self._first_line.put(line)
                first = False
        if first:
            self._first_line.put(None)

    def _drain_stderr(self):
        fd = self.proc.stderr.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            with self._lock:
                self._stderr.append(chunk)

    def stderr_text(self):
        with self._lock:
            return b"".join(self._stderr).decode("utf-8", "replace")

    def _describe(self, what, tail=6000):
        rc = self.proc.poll() if self.proc else None
        err = self.stderr_text()
        if len(err) > tail:
            err = "...\n" + err[-tail:]
        return ("%s\n  command: %s\n  exit code: %s\n  --- server stderr ---\n%s"
                % (what, " ".join(getattr(self, "cmd", [])), rc, err))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            raise ServerError(self._describe("server is not running"))

    def stop(self):
        """SIGTERM, wait, check the exit; always removes the temp dir."""
        if self.stopped:
            return
        self.stopped = True
        problems = []
        try:
            if self.proc is not None:
                if self.proc.poll() is not None:
                    problems.append("server had already exited before SIGTERM")
                else:
                    self.proc.send_signal(signal.SIGTERM)
                    try:
                        self.proc.wait(timeout=self.STOP_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        problems.append("server did not exit within %.0f s of SIGTERM"
                                        % self.STOP_TIMEOUT)
                        self._kill()
                for t in self._threads:
                    t.join(timeout=5)
                rc = self.proc.returncode
                if rc != 0:
                    problems.append("exit code %s (expected 0)" % rc)
                err = self.stderr_text()
                for marker in SANITIZER_MARKERS:
                    if marker in err:
                        problems.append("stderr contains %r" % marker)
        finally:
            self._cleanup()
        if problems:
            raise ServerError(self._describe("; ".join(problems), tail=20000))

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def _join_drains(self, timeout=5):
        # The pipes reach end-of-file once the process is gone; read them to
        # the end before describing the exit or closing them under a reader.
        for t in self._threads:
            t.join(timeout)

    def _cleanup(self):
        _live_servers.discard(self)
        if self.proc is not None and self.proc.poll() is not None:
            self._join_drains()
        for stream in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            try:
                stream.close()
            except OSError:
                pass
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
            return False
        # The test already failed: keep its exception, but show the server's side.
        try:
            self.stop()
        except ServerError as e:
            sys.stderr.write("\n[rpsim] also: %s\n" % e)
        else:
            sys.stderr.write("\n[rpsim] server stderr (last 4000 chars):\n%s\n"
                             % self.stderr_text()[-4000:])
        return False

    # -- fixtures ----------------------------------------------------------

    def merchant(self, mch_id):
        for m in self.fixtures["merchants"]:
            if m["mch_id"] == mch_id:
                return m
        return None

    def key(self, mch_id):
        m = self.merchant(mch_id)
        return m["api_key"] if m else MCH_KEY

    def cert(self, name):
        """(certfile, keyfile) for a merchant id, 'untrusted' or 'expired'."""
        d = os.path.join(self.certs, name)
        return (os.path.join(d, "apiclient_cert.pem"), os.path.join(d, "apiclient_key.pem"))


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


def _raise_if_dead(server, exc):
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
            _raise_if_dead(server, e)
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
            _raise_if_dead(self.server, e)
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


def send_group(server, fields, key=None, cert=None, style="php", headers=None, conn=None,
               keep_order=False):
    """Signs fields (unless they carry a sign already) and POSTs sendgroupredpack.

    key defaults to the fixture key of fields['mch_id'] (10000098's for an unknown
    one); cert defaults to fields['mch_id'] when that merchant exists, else 10000098.
    """
    f = dict(fields)
    mch = f.get("mch_id")
    if "sign" not in f:
        f["sign"] = sign(f, key if key is not None else server.key(mch))
    if cert is None:
        cert = mch if server.merchant(mch) else MCH_ID
    if headers is None:
        headers = WECHATPY_HEADERS if style == "wechatpy" else PHP_HEADERS
    body = build_xml(f, style, keep_order=keep_order)
    if conn is not None:
        return conn.post(GROUP_PATH, body, headers)
    return post(server, GROUP_PATH, body, cert=cert, headers=headers)


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------

class AnswerLayoutError(AssertionError):
    pass


# A string is one CDATA section, or several when the value holds "]]>" (split as
# "]]]]><![CDATA[>"); an integer is bare digits.
_ANSWER_ELEM = re.compile(r"<([a-z_]+)>((?:<!\[CDATA\[.*?\]\]>)+|(-?[0-9]+))</\1>\n", re.S)
_CDATA_SECTION = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def parse_answer(body):
    """[(name, value, is_cdata)] of an answer in the exact layout "<xml>\\n<k>v</k>\\n...</xml>".

    Raises AnswerLayoutError for any deviation (declaration, indentation, CR,
    trailing newline, attributes, non-CDATA strings, ...), then cross-checks the
    result with xml.etree.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AnswerLayoutError("answer is not UTF-8: %s; body=%r" % (e, body[:300]))
    if not text.startswith("<xml>\n"):
        raise AnswerLayoutError("answer does not start with '<xml>\\n': %r" % text[:300])
    pos = len("<xml>\n")
    out = []
    while not text.startswith("</xml>", pos):
        m = _ANSWER_ELEM.match(text, pos)
        if not m:
            raise AnswerLayoutError("bad element line at offset %d: %r\nwhole answer: %r"
                                    % (pos, text[pos:pos + 120], text))
        is_cdata = m.group(3) is None
        value = "".join(_CDATA_SECTION.findall(m.group(2))) if is_cdata else m.group(3)
        out.append((m.group(1), value, is_cdata))
        pos = m.end()
    if text[pos:] != "</xml>":
        raise AnswerLayoutError("answer does not end with exactly '</xml>': %r" % text[pos:])
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise AnswerLayoutError("answer is not well-formed XML: %s; %r" % (e, text))
    et = [(c.tag, c.text or "") for c in root]
    if root.tag != "xml" or root.attrib or et != [(n, v) for n, v, _ in out]:
        raise AnswerLayoutError("xml.etree disagrees with the layout parse: %r vs %r" % (et, out))
    return out


def answer_dict(body):
    return {n: v for n, v, _ in parse_answer(body)}


def _echo_int(v):
    return v if v is not None and re.fullmatch(r"[0-9]+", str(v)) else "0"


def expected_answer(err_code, err_code_des, req, send_listid=None):
    """The exact answer body the contract prescribes for a sendgroupredpack request.

    err_code 'SUCCESS' gives the success answer (pass send_listid); the echo
    fields come from req (empty CDATA when missing; total_amount 0 when missing
    or not digits; total_num only when sent as digits).
    """
    ok = err_code == "SUCCESS"
    lines = [
        ("return_code", "SUCCESS", True),
        ("return_msg", err_code_des, True),
        ("result_code", "SUCCESS" if ok else "FAIL", True),
        ("err_code", err_code, True),
        ("err_code_des", err_code_des, True),
    ]
    for k in ("mch_billno", "mch_id", "wxappid", "re_openid"):
        v = req.get(k)
        lines.append((k, "" if v is None else str(v), True))
    lines.append(("total_amount", _echo_int(req.get("total_amount")), False))
    # A total_num that was not sent as a number is not echoed (issue 8.4).
    if re.fullmatch(r"[0-9]+", str(req.get("total_num", ""))):
        lines.append(("total_num", str(int(req["total_num"])), False))
    if ok:
        if send_listid is None:
            raise ValueError("success answer needs send_listid")
        lines.append(("send_listid", send_listid, True))
    return render_answer(lines)


def expected_success(req, send_listid):
    return expected_answer("SUCCESS", SUCCESS_DES, req, send_listid)


def render_answer(lines):
    out = ["<xml>\n"]
    for k, v, cdata in lines:
        out.append("<%s>%s</%s>\n" % (k, _cdata(v) if cdata else v, k))
    out.append("</xml>")
    return "".join(out).encode("utf-8")


XML_ERROR_BODY = render_answer([
    ("return_code", "FAIL", True),
    ("return_msg", XML_ERROR_DES, True),
    ("result_code", "FAIL", True),
    ("err_code", "XML_ERROR", True),
    ("err_code_des", XML_ERROR_DES, True),
    ("mch_id", "0", False),
    ("total_amount", "0", False),
])


XML_HEADER_NAMES = ["Server", "Date", "Content-Type", "Content-Length", "Connection",
                    "Keep-Alive", "Request-Id"]


def check_xml_headers(resp):
    """The headers of every XML answer, in the contract's order, and nothing else."""
    names = [n for n, _ in resp.headers]
    if names != XML_HEADER_NAMES:
        raise AssertionError("XML answer headers %r, expected exactly %r" % (resp.headers, XML_HEADER_NAMES))
    h = dict(resp.headers)
    want = {"Server": "nginx", "Content-Type": "text/plain", "Content-Length": str(len(resp.body)),
            "Connection": "keep-alive", "Keep-Alive": "timeout=8"}
    for k, v in want.items():
        if h[k] != v:
            raise AssertionError("header %s: %r, expected %r" % (k, h[k], v))
    if not re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                        r"|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", h["Date"]):
        raise AssertionError("Date header %r is not an IMF-fixdate" % h["Date"])
    date = email.utils.parsedate_to_datetime(h["Date"])
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - date).total_seconds())
    if skew > 120:
        raise AssertionError("Date header %r is %.0f s away from now" % (h["Date"], skew))
    if not re.fullmatch(r"\S+", h["Request-Id"]):
        raise AssertionError("Request-Id header %r" % h["Request-Id"])


def beijing_today():
    return datetime.datetime.now(BEIJING).strftime("%Y%m%d")


# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------

def db(server):
    """A read-only sqlite3 connection to the server's database (autocommit)."""
    uri = "file:%s?mode=ro" % server.db_path
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def query(server, sql, args=()):
    conn = db(server)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def packet_rows(server, mch_billno, mch_id=MCH_ID):
    return query(server, "SELECT id, status, reason, total_amount, total_num, re_openid, "
                 "wxappid, send_listid, hb_type FROM packets WHERE mch_id = ? AND mch_billno = ?",
                 (mch_id, mch_billno))


def shares_of(server, mch_billno, mch_id=MCH_ID):
    return [r[0] for r in query(
        server, "SELECT s.amount FROM shares s JOIN packets p ON p.id = s.packet_id "
        "WHERE p.mch_id = ? AND p.mch_billno = ? ORDER BY s.seq", (mch_id, mch_billno))]


def balance(server, mch_id=MCH_ID):
    rows = query(server, "SELECT balance FROM merchants WHERE mch_id = ?", (mch_id,))
    return rows[0][0] if rows else None


def send_debits(server, mch_billno, mch_id=MCH_ID):
    """Amounts of the 'send' ledger rows that point at this packet."""
    return [r[0] for r in query(
        server, "SELECT l.amount FROM ledger l JOIN packets p ON p.id = l.packet_id "
        "WHERE l.kind = 'send' AND p.mch_id = ? AND p.mch_billno = ? ORDER BY l.id",
        (mch_id, mch_billno))]


def check_invariants(server):
    """Raises AssertionError listing every broken invariant of the database.

    - merchants.balance == SUM(ledger.amount) per merchant;
    - every packet with shares: shares sum to total_amount, count == total_num, each >= 1;
    - SENT packets have shares; SENDING packets have none and no send debit;
    - per merchant, the send debits equal the total of the issued packets;
    - send_listid unique among packets and shaped 1000041701yyyymmdd30ddddddddddd.
    """
    conn = db(server)
    bad = []
    try:
        conn.execute("BEGIN")
        for mch, bal, led in conn.execute(
                "SELECT m.mch_id, m.balance, (SELECT SUM(l.amount) FROM ledger l "
                "WHERE l.mch_id = m.mch_id) FROM merchants m"):
            if led is None or bal != led:
                bad.append("merchant %s: balance %s != SUM(ledger.amount) %s" % (mch, bal, led))
        for (pid, mch, billno, status, total, num, cnt, ssum, smin) in conn.execute(
                "SELECT p.id, p.mch_id, p.mch_billno, p.status, p.total_amount, p.total_num, "
                "COUNT(s.packet_id), SUM(s.amount), MIN(s.amount) FROM packets p "
                "LEFT JOIN shares s ON s.packet_id = p.id GROUP BY p.id"):
            tag = "packet %s (%s/%s, %s)" % (pid, mch, billno, status)
            if cnt:
                if ssum != total:
                    bad.append("%s: shares sum %s != total_amount %s" % (tag, ssum, total))
                if cnt != num:
                    bad.append("%s: %s shares != total_num %s" % (tag, cnt, num))
                if smin < 1:
                    bad.append("%s: a share of %s fen (< 1)" % (tag, smin))
            if status == "SENDING" and cnt:
                bad.append("%s: SENDING packet has %d shares" % (tag, cnt))
            if status == "SENT" and not cnt:
                bad.append("%s: SENT packet has no shares" % tag)
        for (pid, n) in conn.execute(
                "SELECT p.id, COUNT(*) FROM ledger l JOIN packets p ON p.id = l.packet_id "
                "WHERE l.kind = 'send' AND p.status = 'SENDING' GROUP BY p.id"):
            bad.append("packet %s is SENDING but has %d send ledger rows" % (pid, n))
        for (lid, amount) in conn.execute(
                "SELECT id, amount FROM ledger WHERE kind = 'send' AND amount >= 0"):
            bad.append("ledger %s: send row with non-negative amount %s" % (lid, amount))
        for (mch, debits, issued) in conn.execute(
                "SELECT m.mch_id, "
                "(SELECT COALESCE(-SUM(l.amount), 0) FROM ledger l "
                " WHERE l.mch_id = m.mch_id AND l.kind = 'send'), "
                "(SELECT COALESCE(SUM(p.total_amount), 0) FROM packets p "
                " WHERE p.mch_id = m.mch_id AND p.status NOT IN ('SENDING', 'FAILED')) "
                "FROM merchants m"):
            if debits != issued:
                bad.append("merchant %s: send debits %s != total of issued packets %s"
                           % (mch, debits, issued))
        for (sl, n) in conn.execute(
                "SELECT send_listid, COUNT(*) FROM packets WHERE send_listid IS NOT NULL "
                "GROUP BY send_listid HAVING COUNT(*) > 1"):
            bad.append("send_listid %s used by %d packets" % (sl, n))
        for (pid, sl) in conn.execute(
                "SELECT id, send_listid FROM packets WHERE status = 'SENT'"):
            if sl is None or not SEND_LISTID_RE.fullmatch(str(sl)):
                bad.append("packet %s: SENT with send_listid %r" % (pid, sl))
        conn.execute("COMMIT")
    finally:
        conn.close()
    if bad:
        raise AssertionError("database invariants broken:\n  " + "\n  ".join(bad))


# ---------------------------------------------------------------------------
# unittest glue
# ---------------------------------------------------------------------------

class E2ETestCase(unittest.TestCase):
    """Base class: servers started here are stopped (and checked) after the test,
    and check_invariants() runs on them first."""

    maxDiff = None

    def start_server(self, invariants=True, **kwargs):
        srv = Server(**kwargs)
        srv.start()
        self.addCleanup(srv.stop)
        if invariants:
            self.addCleanup(check_invariants, srv)
        return srv

    def send(self, srv, style="php", key=None, cert=None, **overrides):
        """default_group_request(**overrides), signed and sent; returns (fields, response)."""
        req = default_group_request(**overrides)
        return req, send_group(srv, req, key=key, cert=cert, style=style)

    def assertAnswer(self, resp, expected):
        """HTTP 200, the XML answer headers, the exact layout, and exactly the expected bytes."""
        self.assertEqual(resp.status, 200, "HTTP status; body=%r" % (resp.body[:500],))
        check_xml_headers(resp)
        parse_answer(resp.body)
        if resp.body != expected:
            self.fail("answer differs\n--- expected ---\n%s\n--- got ---\n%s"
                      % (expected.decode("utf-8"), resp.body.decode("utf-8", "replace")))

    def assertErr(self, resp, req, err_code, des_key_or_text):
        """The exact failure answer for req with that err_code and text (a DES key or the text)."""
        des = DES.get(des_key_or_text, des_key_or_text)
        self.assertAnswer(resp, expected_answer(err_code, des, req))

    def assertSuccess(self, resp, req):
        """The exact success answer; returns its send_listid (checked against today's Beijing date)."""
        self.assertEqual(resp.status, 200, "HTTP status; body=%r" % (resp.body[:500],))
        ans = answer_dict(resp.body)
        sl = ans.get("send_listid")
        if ans.get("err_code") != "SUCCESS" or sl is None:
            self.fail("not a success answer:\n%s" % resp.body.decode("utf-8", "replace"))
        m = SEND_LISTID_RE.fullmatch(sl)
        self.assertIsNotNone(m, "send_listid %r does not match 1000041701yyyymmdd30ddddddddddd" % sl)
        now = datetime.datetime.now(BEIJING)
        today = {now.strftime("%Y%m%d"), (now - datetime.timedelta(seconds=30)).strftime("%Y%m%d")}
        self.assertIn(m.group(1), today, "send_listid date is not today's Beijing date")
        self.assertAnswer(resp, expected_success(req, sl))
        return sl


# ---------------------------------------------------------------------------
# Additions for the durability, load, hostile and security suites. Nothing
# above is changed: these only add helpers.
# ---------------------------------------------------------------------------

def ctl_bin_path():
    """The redpack-ctl binary (REDPACK_CTL_BIN, else next to the server binary)."""
    return env_path("REDPACK_CTL_BIN", os.path.join(os.path.dirname(bin_path()), "redpack-ctl"))


def admin_request(server, method, path, headers=None, body=None, timeout=30, token=None):
    """One plain-HTTP request to the control API on 127.0.0.1; returns Response.

    token None uses the server's admin_token attribute when it has one; pass
    token="" to send no Authorization header."""
    hdrs = dict(headers or {})
    if token is None:
        token = getattr(server, "admin_token", None)
    if token:
        hdrs.setdefault("Authorization", "Bearer " + token)
    conn = http.client.HTTPConnection(HOST, server.admin_port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.getheaders(), data)
    finally:
        conn.close()


def check_invariants_api(server):
    """GET /admin/v1/check must answer 200 {"ok":true,...,"violations":[]}; returns the JSON."""
    resp = admin_request(server, "GET", "/admin/v1/check")
    try:
        doc = json.loads(resp.body.decode("utf-8"))
    except ValueError:
        doc = None
    if resp.status != 200 or not isinstance(doc, dict) or doc.get("ok") is not True \
            or doc.get("violations") != []:
        raise AssertionError("GET /admin/v1/check: HTTP %d %s"
                             % (resp.status, resp.body.decode("utf-8", "replace")[:4000]))
    return doc


def check_invariants_ctl(server):
    """`redpack-ctl check --admin URL` must exit 0 with "ok: all N invariants hold"."""
    cmd = [ctl_bin_path(), "--admin", "http://%s:%d" % (HOST, server.admin_port)]
    token = getattr(server, "admin_token", None)
    if token:
        cmd += ["--admin-token", token]
    cmd.append("check")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=env)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0 or not re.search(r"ok: all \d+ invariants hold", out):
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, out,
                                                      p.stderr.decode("utf-8", "replace")))
    return out


class DbServer(Server):
    """A Server whose database file lives outside its temp dir, so that it can be
    restarted (or killed with SIGKILL and restarted) on the same file.

    db_path: the file; db_arg: what --db gets (default db_path, e.g. a
    "file:...?mode=ro" URI). The extra --db comes after the Server's own --db
    in the command line, and the last flag wins. admin_token is passed as
    --admin-token and used by admin_request/check_invariants_api."""

    def __init__(self, db_path, db_arg=None, admin_token=None, **kwargs):
        super().__init__(**kwargs)
        self.external_db = os.path.abspath(db_path)
        self.admin_token = admin_token
        self.args += ["--db", db_arg if db_arg is not None else self.external_db]
        if admin_token:
            self.args += ["--admin-token", admin_token]

    def _spawn(self, exe):
        try:
            super()._spawn(exe)
        finally:
            self.db_path = self.external_db

    def kill9(self):
        """SIGKILL (a crash), then reap; the database file stays. Raises ServerError
        if stderr holds a sanitizer report from before the kill."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self.proc is not None and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
            for t in self._threads:
                t.join(timeout=5)
            err = self.stderr_text()
        finally:
            self._cleanup()
        bad = [m for m in SANITIZER_MARKERS if m in err]
        if bad:
            raise ServerError(self._describe("stderr contains %r" % bad, tail=20000))


def raise_nofile_limit(want):
    """Raises this process's RLIMIT_NOFILE soft limit towards want (capped by the hard
    limit); returns the soft limit in force."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
