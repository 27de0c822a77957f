"""The server process: a redpack-sim on 127.0.0.1 port 0 with its own temp dir,
started, waited for (/healthz), stopped with SIGTERM or killed with SIGKILL,
and checked on the way out (exit code 0, no sanitizer report on stderr).
"""

import atexit
import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import pgdb
from .contract import HOST, MCH_KEY, SANITIZER_MARKERS, bin_path, certs_dir, default_fixtures_path

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


_spawner_lock = threading.Lock()
_spawner_queue = None


def _spawner():
    while True:
        args, kwargs, box, done = _spawner_queue.get()
        try:
            box.append((True, subprocess.Popen(*args, **kwargs)))
        except BaseException as e:
            box.append((False, e))
        done.set()


def _popen_from_spawner(*args, **kwargs):
    """subprocess.Popen run on one thread that lives as long as this process.
    PR_SET_PDEATHSIG fires when the thread that forked the child ends, not the
    process: a server started from a short-lived thread (several started
    together) would get SIGKILL as soon as that thread returned."""
    global _spawner_queue
    with _spawner_lock:
        if _spawner_queue is None:
            _spawner_queue = queue.Queue()
            threading.Thread(target=_spawner, name="harness-spawner", daemon=True).start()
    box, done = [], threading.Event()
    _spawner_queue.put((args, kwargs, box, done))
    done.wait()
    ok, value = box[0]
    if not ok:
        raise value
    return value


_LISTEN_RE = re.compile(r"listening api=https://127\.0\.0\.1:(\d+) admin=http://127\.0\.0\.1:(\d+)")


class ServerError(AssertionError):
    """The server failed to start, died, or stopped uncleanly (a test failure)."""


class Server:
    """A redpack-sim process on 127.0.0.1 with its own temp dir and database.

    with Server() as srv: ...   (or srv.start() / srv.stop())
    fixtures: None (REDPACK_FIXTURES or fixtures/default.json), a path, or a dict.
    stop() sends SIGTERM and raises ServerError on a non-zero exit code or any
    sanitizer report on stderr.

    Under REDPACK_E2E_DB=postgresql (pgdb) each start() gets a new database on the
    run's cluster, dropped with the temp dir; with db_file, the file is a marker
    naming the database, which survives stop(), kill9() and new Server objects on
    the same path. db_path is then the database's URL, db_url too (None on SQLite).
    """

    START_TIMEOUT = 10.0
    STOP_TIMEOUT = 20.0

    def __init__(self, fixtures=None, seed=42, args=(), client_auth=None, sign_fields=None,
                 db_file=None, db_arg=None, admin_token=None):
        self.fixtures_arg = fixtures
        self.seed = seed
        self.args = list(args)
        if client_auth:
            self.args += ["--client-auth", client_auth]
        if sign_fields:
            self.args += ["--sign-fields", sign_fields]
        # A database outside the temp dir survives stop() and kill9(); the extra
        # --db comes after the one _spawn puts in, and the last flag wins.
        self.db_file = os.path.abspath(db_file) if db_file else None
        self.pg = pgdb.enabled()
        self.db_url = None
        self._pg_temp_db = None
        if self.pg:
            if db_arg is not None:
                self.args += ["--db", db_arg]
        elif self.db_file:
            self.args += ["--db", db_arg if db_arg is not None else self.db_file]
        self.admin_token = admin_token
        if admin_token:
            self.args += ["--admin-token", admin_token]
        self.certs = certs_dir()
        self.proc = None
        self.tmp = None
        self.api_port = None
        self.admin_port = None
        self._lock = threading.Lock()
        self._threads = []
        self._stderr = []
        self._stdout = []
        self._first_line = queue.Queue()
        self.stopped = False

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        """Starts (or, after stop() or kill9(), starts again) and waits for /healthz."""
        exe = bin_path()
        self.stopped = False
        self._stderr = []
        self._stdout = []
        self._first_line = queue.Queue()
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
        self.db_path = self.db_file or os.path.join(self.tmp, "redpack.db")
        db_arg = os.path.join(self.tmp, "redpack.db")
        if self.pg:
            if self.db_file:
                _, self.db_url = pgdb.file_database(self.db_file)
            else:
                self._pg_temp_db, self.db_url = pgdb.fresh_database()
            self.db_path = db_arg = self.db_url
        cmd = [exe, "--listen", HOST + ":0", "--admin-listen", HOST + ":0",
               "--db", db_arg, "--fixtures", self.fixtures_path,
               "--tls-cert", os.path.join(self.certs, "server.pem"),
               "--tls-key", os.path.join(self.certs, "server.key"),
               "--client-ca", os.path.join(self.certs, "ca.pem")]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        # e2e_st_*: the same tests with SQLite's store on a thread of its own.
        if os.environ.get("REDPACK_E2E_STORE_THREAD"):
            cmd += ["--store-thread", os.environ["REDPACK_E2E_STORE_THREAD"]]
        cmd += self.args
        self.cmd = cmd
        # The server reads REDPACK_<NAME> variables as settings; ours are for the tests.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}
        popen = (subprocess.Popen if threading.current_thread() is threading.main_thread()
                 else _popen_from_spawner)
        self.proc = popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
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

    def kill9(self):
        """SIGKILL (a crash), then reap; a db_file stays. Raises ServerError if
        stderr holds a sanitizer report from before the kill."""
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
        if self._pg_temp_db:
            name, self._pg_temp_db = self._pg_temp_db, None
            try:
                pgdb.drop_database(name)
            except pgdb.PsqlError as e:  # a leftover database harms no other test
                sys.stderr.write("[harness] could not drop database %s: %s\n" % (name, e))

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
            sys.stderr.write("\n[harness] also: %s\n" % e)
        else:
            sys.stderr.write("\n[harness] server stderr (last 4000 chars):\n%s\n"
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
