"""A redpack-sim process on 127.0.0.1 port 0 with its own temporary database and
certificates: finding the binary, the fixtures and scripts/gen-certs.sh, making
the certificates, starting, waiting for /healthz, stopping."""

import atexit
import http.client
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import wire
from .control import Control

HOST = "127.0.0.1"
_LISTEN_RE = re.compile(r"listening api=https://([^ ]+):(\d+) admin=http://([^ ]+):(\d+)\s*")
_IMAGE_HOME = "/opt/redpack-sim"  # the container image's layout (docker/Dockerfile)


class ServerError(Exception):
    """The server could not be found, started, or stopped cleanly."""


# -- finding things ----------------------------------------------------------------

def find_binary(path=None):
    """The server binary: `path`, else $REDPACK_SIM, else `redpack-sim` on PATH."""
    path = path or os.environ.get("REDPACK_SIM")
    if path:
        found = path if os.sep in path else shutil.which(path)
        if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
            raise ServerError("redpack-sim binary not found or not executable: %s" % path)
        return os.path.abspath(found)
    found = shutil.which("redpack-sim")
    if not found:
        raise ServerError("redpack-sim not found: set REDPACK_SIM to the binary, "
                          "put it on PATH, or pass --redpack-sim PATH")
    return os.path.abspath(found)


def find_source_tree(binary):
    """The redpack-sim source tree the binary was built from, or None: the
    CMAKE_HOME_DIRECTORY of a CMakeCache.txt beside it, else the first parent
    directory holding scripts/gen-certs.sh, else the container image's /opt/redpack-sim."""
    bindir = os.path.dirname(os.path.realpath(binary))
    cache = os.path.join(bindir, "CMakeCache.txt")
    candidates = []
    try:
        with open(cache, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    candidates.append(line.split("=", 1)[1].strip())
    except OSError:
        pass
    d = bindir
    for _ in range(4):
        candidates.append(d)
        d = os.path.dirname(d)
    candidates.append(_IMAGE_HOME)
    for c in candidates:
        if os.path.isfile(os.path.join(c, "scripts", "gen-certs.sh")):
            return c
    return None


def find_fixtures(path=None, source_tree=None):
    """The fixtures file: `path`, else $REDPACK_FIXTURES, else the server's default
    (fixtures/default.json of its source tree)."""
    path = path or os.environ.get("REDPACK_FIXTURES")
    if path:
        if not os.path.isfile(path):
            raise ServerError("fixtures file not found: %s" % path)
        return os.path.abspath(path)
    if source_tree:
        p = os.path.join(source_tree, "fixtures", "default.json")
        if os.path.isfile(p):
            return p
    raise ServerError("no fixtures file: set REDPACK_FIXTURES or pass --redpack-fixtures FILE "
                      "(the server's default, fixtures/default.json, is in its source tree)")


# -- certificates -------------------------------------------------------------------

def make_certs(dest, fixtures_path, gen_certs=None):
    """Makes the certificates in `dest` (created): with the project's
    scripts/gen-certs.sh when `gen_certs` is given, else with the openssl command
    directly. Either way: ca.pem, server.pem, server.key and, per merchant of the
    fixtures, <mch_id>/apiclient_cert.pem, apiclient_key.pem, apiclient_cert.p12
    (password: the mch_id). Returns dest."""
    os.makedirs(dest, exist_ok=True)
    if gen_certs:
        r = subprocess.run(["bash", gen_certs, dest, fixtures_path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise ServerError("%s failed (exit %d):\n%s" % (gen_certs, r.returncode,
                                                          r.stdout.decode("utf-8", "replace")))
        return dest
    with open(fixtures_path, encoding="utf-8") as f:
        merchants = json.load(f)["merchants"]
    _openssl_certs(dest, [(m["mch_id"], m.get("name", m["mch_id"])) for m in merchants])
    return dest


_OPENSSL_CNF = """\
[req]
distinguished_name = req_dn
string_mask = utf8only
prompt = no
[req_dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise ServerError("openssl %s failed:\n%s" % (" ".join(args),
                                                      r.stdout.decode("utf-8", "replace")))


def _serial():
    return "0x%X" % (secrets.randbits(156) | (1 << 155))


def _subject_value(s):
    return re.sub(r"([\\/+,=])", r"\\\1", s)


def _openssl_certs(dest, merchants):
    if not shutil.which("openssl"):
        raise ServerError("openssl not found on PATH (needed to make test certificates)")
    old = os.umask(0o077)
    try:
        work = tempfile.mkdtemp(prefix=".certs-", dir=dest)
        cnf = os.path.join(work, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(_OPENSSL_CNF)

        def key_and_csr(key, csr, subject):
            _openssl("req", "-new", "-config", cnf, "-utf8", "-newkey", "rsa:2048", "-nodes",
                     "-keyout", key, "-subj", subject, "-out", csr, cwd=work)

        def issue(csr, days, ext, out):
            _openssl("x509", "-req", "-in", csr, "-CA", os.path.join(dest, "ca.pem"),
                     "-CAkey", os.path.join(dest, "ca.key"), "-sha256", "-days", str(days),
                     "-set_serial", _serial(), "-extfile", cnf, "-extensions", ext,
                     "-out", out, cwd=work)

        _openssl("req", "-new", "-x509", "-config", cnf, "-utf8", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", os.path.join(dest, "ca.key"),
                 "-subj", "/C=CN/O=redpack-sim/OU=redpack-sim test CA/CN=redpack-sim Root CA",
                 "-sha256", "-days", "3650", "-set_serial", _serial(), "-extensions", "ca_ext",
                 "-out", os.path.join(dest, "ca.pem"), cwd=work)
        key_and_csr(os.path.join(dest, "server.key"), os.path.join(work, "server.csr"),
                    "/C=CN/O=redpack-sim/CN=localhost")
        issue(os.path.join(work, "server.csr"), 825, "server_ext", os.path.join(dest, "server.pem"))
        for mch_id, name in merchants:
            d = os.path.join(dest, mch_id)
            os.makedirs(d, exist_ok=True)
            subject = "/C=CN/L=ShenZhen/O=微信商户系统/OU=%s/CN=%s" % (_subject_value(name), mch_id)
            key_and_csr(os.path.join(d, "apiclient_key.pem"), os.path.join(work, "client.csr"),
                        subject)
            issue(os.path.join(work, "client.csr"), 1825, "client_ext",
                  os.path.join(d, "apiclient_cert.pem"))
            _openssl("pkcs12", "-export", "-name", "Tenpay Certificate",
                     "-in", os.path.join(d, "apiclient_cert.pem"),
                     "-inkey", os.path.join(d, "apiclient_key.pem"),
                     "-certfile", os.path.join(dest, "ca.pem"), "-passout", "pass:" + mch_id,
                     "-out", os.path.join(d, "apiclient_cert.p12"), cwd=work)
        shutil.rmtree(work, ignore_errors=True)
    finally:
        os.umask(old)


# -- the process --------------------------------------------------------------------

_live = set()


def _reap():
    for srv in list(_live):
        srv.stop(check=False)


atexit.register(_reap)


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Server:
    """One redpack-sim on 127.0.0.1, port 0, with a temporary database.

    srv = Server(binary, fixtures_path, certs_dir, args=[...]).start()
    srv.api_url, srv.base_url, srv.admin_url, srv.ca, srv.cert(mch_id), srv.key(mch_id),
    srv.p12(mch_id), srv.api_key(mch_id), srv.control, srv.send(...), srv.log(), srv.stop()
    """

    START_TIMEOUT = 15.0
    STOP_TIMEOUT = 15.0

    def __init__(self, binary, fixtures_path, certs_dir, args=()):
        self.binary = binary
        self.fixtures_path = fixtures_path
        self.certs_dir = certs_dir
        self.args = list(args)
        with open(fixtures_path, encoding="utf-8") as f:
            self.fixtures = json.load(f)
        self._merchants = {m["mch_id"]: m for m in self.fixtures["merchants"]}
        self.mch_id = self.fixtures["merchants"][0]["mch_id"]
        self.proc = None
        self.tmp = None
        self.control = None
        self.returncode = None
        self._log = []
        self._log_lock = threading.Lock()
        self._threads = []

    # -- paths and fixture data --

    @property
    def ca(self):
        """The CA that signed the server certificate (and the merchant certificates)."""
        return os.path.join(self.certs_dir, "ca.pem")

    def _merchant(self, mch_id):
        mch_id = str(mch_id or self.mch_id)
        if mch_id not in self._merchants:
            raise KeyError("no merchant %s in %s (merchants: %s)" % (
                mch_id, self.fixtures_path, ", ".join(self._merchants)))
        return self._merchants[mch_id]

    @property
    def merchants(self):
        """The mch_ids of the fixtures, in order; the first is the default."""
        return list(self._merchants)

    def cert(self, mch_id=None):
        """The merchant's apiclient_cert.pem (default: the first merchant)."""
        return os.path.join(self.certs_dir, self._merchant(mch_id)["mch_id"], "apiclient_cert.pem")

    def key(self, mch_id=None):
        """The merchant's apiclient_key.pem."""
        return os.path.join(self.certs_dir, self._merchant(mch_id)["mch_id"], "apiclient_key.pem")

    def p12(self, mch_id=None):
        """The merchant's apiclient_cert.p12 (password: the mch_id)."""
        return os.path.join(self.certs_dir, self._merchant(mch_id)["mch_id"], "apiclient_cert.p12")

    def api_key(self, mch_id=None):
        """The merchant's API v2 key, from the fixtures."""
        return self._merchant(mch_id)["api_key"]

    def merchant(self, mch_id=None):
        """The merchant's entry in the fixtures (mch_id, name, api_key, apps, ...)."""
        return dict(self._merchant(mch_id))

    # -- the merchant API --

    def ssl_context(self, mch_id=None):
        """An SSLContext trusting the CA and presenting the merchant's certificate."""
        return wire.client_context(self.ca, self.cert(mch_id), self.key(mch_id))

    def request_fields(self, endpoint, mch_id=None, **fields):
        """A valid, unsigned request of `endpoint` for the merchant, with `fields` over
        the defaults (None removes one)."""
        return wire.default_fields(endpoint, self._merchant(mch_id), **fields)

    def send(self, endpoint, mch_id=None, key=None, signed=True, headers=None, **fields):
        """Builds, signs (MD5 with the merchant's key, or `key`) and sends a request of
        `endpoint` with the merchant's certificate; returns the Answer (a dict of the
        answer's fields with .status, .body, .request). A `sign` field given is sent as
        is; signed=False sends none."""
        mch_id = str(mch_id or self.mch_id)
        req = self.request_fields(endpoint, mch_id, **fields)
        if signed and "sign" not in req:
            req["sign"] = wire.sign(req, key or self.api_key(mch_id))
        status, body = wire.post(HOST, self.api_port, wire.PATHS[endpoint], wire.build_xml(req),
                                 self.ssl_context(mch_id), headers)
        return wire.Answer(wire.parse_xml(body), status, body, req, endpoint)

    def sendgroupredpack(self, **fields):
        """A group packet (default 3.00 yuan in 3 shares to a fresh openid)."""
        return self.send("sendgroupredpack", **fields)

    def sendredpack(self, **fields):
        """A normal packet (default 1.00 yuan to a fresh openid)."""
        return self.send("sendredpack", **fields)

    def gethbinfo(self, mch_billno, **fields):
        """The packet's record."""
        return self.send("gethbinfo", mch_billno=mch_billno, **fields)

    # -- lifecycle --

    def start(self):
        """Starts the server and waits until /healthz answers."""
        for f in ("ca.pem", "server.pem", "server.key"):
            if not os.path.isfile(os.path.join(self.certs_dir, f)):
                raise ServerError("certificate %s missing in %s" % (f, self.certs_dir))
        self.tmp = tempfile.mkdtemp(prefix="redpack-sim-")
        self._log = []
        self.returncode = None
        cmd = [self.binary, "--listen", HOST + ":0", "--admin-listen", HOST + ":0",
               "--db", os.path.join(self.tmp, "redpack.db"), "--fixtures", self.fixtures_path,
               "--tls-cert", os.path.join(self.certs_dir, "server.pem"),
               "--tls-key", os.path.join(self.certs_dir, "server.key"),
               "--client-ca", self.ca] + self.args
        self.cmd = cmd
        # The server reads REDPACK_<NAME> as settings: only the flags above count.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.tmp, env=env,
                                     preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        _live.add(self)
        first = queue.Queue()
        self._threads = [threading.Thread(target=self._drain_stdout, args=(first,), daemon=True),
                         threading.Thread(target=self._drain_stderr, daemon=True)]
        for t in self._threads:
            t.start()
        try:
            self._await_start(first)
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def _await_start(self, first):
        deadline = time.monotonic() + self.START_TIMEOUT
        try:
            line = first.get(timeout=self.START_TIMEOUT)
        except queue.Empty:
            raise ServerError(self._describe("no 'listening' line within %.0f s" % self.START_TIMEOUT))
        if line is None:
            self._wait_exit(5)
            raise ServerError(self._describe("redpack-sim exited at start-up"))
        m = _LISTEN_RE.fullmatch(line)
        if not m:
            raise ServerError(self._describe("unexpected first line %r" % line))
        self.api_port, self.admin_port = int(m.group(2)), int(m.group(4))
        self.api_url = "https://%s:%d" % (HOST, self.api_port)
        self.base_url = self.api_url + "/"
        self.admin_url = "http://%s:%d" % (HOST, self.admin_port)
        self.control = Control(HOST, self.admin_port)
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._wait_exit(5)
                raise ServerError(self._describe("redpack-sim exited while starting"))
            try:
                conn = http.client.HTTPConnection(HOST, self.admin_port, timeout=2)
                try:
                    conn.request("GET", "/healthz")
                    resp = conn.getresponse()
                    resp.read()
                finally:
                    conn.close()
                if resp.status == 200:
                    return
                last = "HTTP %d" % resp.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.02)
        raise ServerError(self._describe("/healthz not 200 within %.0f s (last: %s)"
                                         % (self.START_TIMEOUT, last)))

    def _drain_stdout(self, first):
        sent = False
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            if not sent:
                first.put(line)
                sent = True
            else:
                with self._log_lock:
                    self._log.append(line)
        if not sent:
            first.put(None)

    def _drain_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            with self._log_lock:
                self._log.append(raw.decode("utf-8", "replace"))

    def _wait_exit(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        for t in self._threads:
            t.join(timeout=2)

    def _describe(self, what):
        return "%s\ncommand: %s\nlog:\n%s" % (what, " ".join(self.cmd), self.log() or "(empty)")

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_mark(self):
        """A position in the log, for log(since=...)."""
        with self._log_lock:
            return len(self._log)

    def settle_log(self, quiet=0.1, timeout=1.0):
        """Waits until the log has been quiet for `quiet` seconds (lines the server wrote
        just now are read by a thread), `timeout` at most."""
        deadline = time.monotonic() + timeout
        last = self.log_mark()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.log_mark()
            if now == last:
                return
            last = now

    def log(self, since=0):
        """What the server wrote to stderr (its log), from a log_mark() on."""
        with self._log_lock:
            return "".join(self._log[since:])

    def reset(self, mch_id=None):
        """Back to the fixtures, no fault rules, an empty journal (the clock is kept)."""
        return self.control.reset(mch_id)

    def stop(self, check=True):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT. With check, raises ServerError when
        the server had died before, or exits with a status other than 0."""
        if self.proc is None:
            return self.returncode
        died = self.proc.poll()
        if died is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._wait_exit(2)
        for s in (self.proc.stdout, self.proc.stderr):
            s.close()
        self.returncode = self.proc.returncode
        self.proc = None
        _live.discard(self)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if check and died is not None:
            raise ServerError(self._describe("redpack-sim had exited (status %s) before the end"
                                             % died))
        if check and self.returncode != 0:
            raise ServerError(self._describe("redpack-sim exited with status %s on SIGTERM"
                                             % self.returncode))
        return self.returncode

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)
