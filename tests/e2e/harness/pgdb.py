"""The PostgreSQL side of the harness, used when REDPACK_E2E_DB=postgresql
(ctest's e2e_pg_* tests): a database of its own on the run's throwaway cluster
for each server, and sqlite3-like connections through the psql client
(the standard library has no PostgreSQL driver).

Environment:
  REDPACK_E2E_DB           postgresql selects this; anything else (or unset): SQLite
  REDPACK_E2E_PG_URL_FILE  a file holding the cluster's URL (scripts/pg-throwaway.sh
                           writes DIR/url); or REDPACK_E2E_PG_URL, the URL itself

A connection is a psql process reading statements from a pipe (one per
connection, kept in a pool per database: starting psql and its SCRAM login
costs about 60 ms, a statement on an open one under 1 ms). Each statement
follows the sqlite3 module's interface: `?` parameters, replaced by SQL
literals (integers bare, text single-quoted with quotes doubled, under
standard_conforming_strings, which the session sets; NUL refused); IFNULL(
read as COALESCE(, BEGIN as BEGIN ISOLATION LEVEL REPEATABLE READ (the
snapshot a SQLite read transaction gives), INSERT OR REPLACE as an upsert on
the primary key. A SELECT is wrapped as `SELECT
row_to_json(q) FROM (...) q`, so each row comes back as one line of JSON:
text, numbers and NULL keep their types, and no separator or NULL marker
has to be chosen that the data could contain (JSON escapes control
characters, so a row is always one line). After each statement psql echoes
a marker line with a random token, its ERROR flag and ROW_COUNT.
"""

import atexit
import json
import os
import re
import secrets
import subprocess
import threading
import urllib.parse

URL_PREFIXES = ("postgresql://", "postgres://")


class PsqlError(Exception):
    """A statement failed in PostgreSQL, or psql could not connect or died."""


def enabled():
    """True when the e2e run is on PostgreSQL (REDPACK_E2E_DB=postgresql)."""
    return os.environ.get("REDPACK_E2E_DB", "").lower() in ("postgresql", "postgres", "pg")


def is_url(path):
    return isinstance(path, str) and path.startswith(URL_PREFIXES)


def admin_url():
    """The cluster's URL (its maintenance database), from the environment."""
    url = os.environ.get("REDPACK_E2E_PG_URL")
    if url:
        return url.strip()
    path = os.environ.get("REDPACK_E2E_PG_URL_FILE")
    if not path:
        raise PsqlError("REDPACK_E2E_DB=postgresql needs REDPACK_E2E_PG_URL_FILE (a file with the "
                        "cluster's URL, as scripts/pg-throwaway.sh start DIR writes DIR/url) "
                        "or REDPACK_E2E_PG_URL")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as e:
        raise PsqlError("cannot read the PostgreSQL URL from %s: %s (is the ctest fixture pg "
                        "running? scripts/pg-throwaway.sh start DIR)" % (path, e))


def url_for(dbname):
    """The cluster's URL with another database."""
    parts = urllib.parse.urlsplit(admin_url())
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def database_of(url):
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))


def redact(url):
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


# ---------------------------------------------------------------------------
# Statements: the sqlite3 dialect the tests write, as PostgreSQL reads it
# ---------------------------------------------------------------------------

def literal(value):
    """A Python value as a PostgreSQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("no SQL literal for %r" % value)
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "'\\x%s'::bytea" % bytes(value).hex()
    if isinstance(value, str):
        if "\0" in value:
            raise ValueError("a NUL character cannot be passed to PostgreSQL")
        return "'%s'" % value.replace("'", "''")
    raise TypeError("no SQL literal for %s" % type(value).__name__)


_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")


def translate(sql, args=()):
    """sql with each `?` outside quotes and comments replaced by the next argument's
    literal, IFNULL( read as COALESCE(, and INSERT OR REPLACE INTO t (cols) VALUES
    as an upsert on t's primary key."""
    args = list(args)
    out = []
    i, n, used = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c in "'\"":  # a quoted literal or identifier: copied as it is
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1])
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(sql[i:j])
            i = j
        elif c == "?":
            if used >= len(args):
                raise ValueError("more ? than the %d arguments in %r" % (len(args), sql))
            out.append(literal(args[used]))
            used += 1
            i += 1
        elif c.isalpha() or c == "_":
            m = _WORD.match(sql, i)
            word = m.group(0)
            out.append("COALESCE" if word.upper() == "IFNULL" else word)
            i = m.end()
        else:
            out.append(c)
            i += 1
    if used != len(args):
        raise ValueError("%d arguments for %d ? in %r" % (len(args), used, sql))
    text = "".join(out).strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if text.upper() in ("BEGIN", "BEGIN TRANSACTION", "BEGIN DEFERRED"):
        text = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    m = _INSERT_OR_REPLACE.match(text)
    if m:  # an upsert on the table's primary key
        table, cols = m.group(1), [c.strip() for c in m.group(2).split(",")]
        text = "INSERT INTO %s%s ON CONFLICT ON CONSTRAINT %s_pkey DO UPDATE SET %s" % (
            table, text[m.end(1):], table, ", ".join("%s = excluded.%s" % (c, c) for c in cols))
    return text


_INSERT_OR_REPLACE = re.compile(r"INSERT\s+OR\s+REPLACE\s+INTO\s+([A-Za-z_][A-Za-z_0-9]*)\s*"
                                r"\(([^)]*)\)", re.I)


def returns_rows(text):
    first = re.match(r"\s*\(*\s*([A-Za-z]+)", text)
    return bool(first) and first.group(1).upper() in ("SELECT", "WITH", "VALUES", "TABLE")


# ---------------------------------------------------------------------------
# A psql session, and sqlite3-like connections over a pool of them
# ---------------------------------------------------------------------------

class Session:
    """One psql process connected to url, reading statements from a pipe."""

    TIMEOUT = "120s"  # statement_timeout: a stuck lock fails the test instead of hanging it

    def __init__(self, url, read_only=False):
        self.url = url
        self.token = "@@redpack-e2e-%s" % secrets.token_hex(8)
        env = dict(os.environ, PGCONNECT_TIMEOUT="10", PGAPPNAME="redpack-e2e", PGTZ="UTC")
        for k in ("PGOPTIONS", "PGDATABASE", "PGSERVICE", "PGHOST", "PGPORT", "PGUSER"):
            env.pop(k, None)
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-P", "pager=off",
             "-d", url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.lock = threading.Lock()
        self.read_only = read_only
        self._setup()

    def _setup(self):
        setup = ["SET standard_conforming_strings = on", "SET client_min_messages = error",
                 "SET statement_timeout = '%s'" % self.TIMEOUT, "SET TIME ZONE 'UTC'"]
        if self.read_only:
            setup.append("SET default_transaction_read_only = on")
        for stmt in setup:
            self.run(stmt)

    def connect_to(self, url):
        """Moves this psql to another database of its cluster (\\connect keeps the host,
        port, user and password): a new connection without a new psql (40-60 ms saved).
        False when that failed; the session is then closed."""
        name = database_of(url)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name) or cluster_of(url) != cluster_of(self.url):
            return False
        try:
            with self.lock:
                self.proc.stdin.write(("\\connect %s\n" % name).encode())
                self.proc.stdin.flush()
            self.url = url
            rows, _ = self.run("SELECT current_database()")
            if rows != [name]:
                raise PsqlError("connected to %r, not %s" % (rows, name))
            self._setup()
            return True
        except (OSError, PsqlError):
            self.close()
            return False

    def alive(self):
        return self.proc.poll() is None

    def run(self, text):
        """Runs one statement; returns (its output lines, psql's ROW_COUNT)."""
        if "\0" in text:
            raise ValueError("NUL in a statement")
        with self.lock:
            if not self.alive():
                raise PsqlError("psql for %s has exited (%s)" % (redact(self.url),
                                                                self.proc.returncode))
            try:
                self.proc.stdin.write(("%s;\n\\echo %s :ERROR :ROW_COUNT\n"
                                       % (text, self.token)).encode("utf-8"))
                self.proc.stdin.flush()
            except OSError as e:
                raise PsqlError("psql for %s: %s" % (redact(self.url), e))
            lines = []
            while True:
                raw = self.proc.stdout.readline()
                if not raw:
                    self.proc.wait()
                    raise PsqlError("psql for %s exited (%s): %s" % (
                        redact(self.url), self.proc.returncode,
                        b"".join(lines).decode("utf-8", "replace").strip()))
                if raw.startswith(self.token.encode()):
                    flags = raw.decode().split()
                    break
                lines.append(raw)
        error = len(flags) < 2 or flags[1] != "false"
        if error:
            raise PsqlError("%s\n  statement: %s" % (
                b"".join(lines).decode("utf-8", "replace").strip(), text))
        count = int(flags[2]) if len(flags) > 2 and flags[2].isdigit() else -1
        return [ln.decode("utf-8").rstrip("\n") for ln in lines], count

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def cluster_of(url):
    """The URL without its database: which cluster, as whom."""
    return urllib.parse.urlsplit(url)._replace(path="", query="", fragment="")


_pool_lock = threading.Lock()
_pool = {}  # (cluster_of(url), read_only) -> [idle Session], each on some database of it
POOL_IDLE_MAX = 4


def _take(url, read_only):
    """An idle session on url's database, else one on another database of the cluster
    moved there, else a new psql."""
    with _pool_lock:
        idle = _pool.get((cluster_of(url), read_only), [])
        idle[:] = [s for s in idle if s.alive()]
        mine = [s for s in idle if s.url == url]
        s = (mine or idle or [None])[-1]
        if s is not None:
            idle.remove(s)
    if s is not None and (s.url == url or s.connect_to(url)):
        return s
    return Session(url, read_only)


def _give_back(session, read_only):
    try:
        session.run("ROLLBACK")  # whatever a caller left open (a warning when nothing is)
    except PsqlError:
        session.close()
        return
    with _pool_lock:
        idle = _pool.setdefault((cluster_of(session.url), read_only), [])
        if len(idle) < POOL_IDLE_MAX:
            idle.append(session)
            return
    session.close()


def close_sessions(url=None):
    """Closes the idle sessions on url's database (on every database when None)."""
    with _pool_lock:
        sessions = []
        for idle in _pool.values():
            sessions += [s for s in idle if url is None or s.url == url]
            idle[:] = [s for s in idle if not (url is None or s.url == url)]
    for s in sessions:
        s.close()


def _leave_database(url):
    """The idle sessions on url's database move to the cluster's maintenance database
    (or close), so that dropping it ends none of them."""
    with _pool_lock:
        leaving = []
        for idle in _pool.values():
            leaving += [s for s in idle if s.url == url]
            idle[:] = [s for s in idle if s.url != url]
    home = admin_url()
    for s in leaving:
        if s.connect_to(home):
            _give_back(s, s.read_only)


class Cursor:
    def __init__(self, rows, rowcount):
        self._rows = rows
        self.rowcount = rowcount

    def fetchall(self):
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    def __iter__(self):
        while self._rows:
            yield self._rows.pop(0)


class Connection:
    """What the probe uses of a sqlite3 connection: execute(sql, args) -> cursor
    (fetchall, fetchone, iteration, rowcount), close()."""

    def __init__(self, url, read_only=False):
        self.url = url
        self.read_only = read_only
        self.session = _take(url, read_only)

    def execute(self, sql, args=()):
        if self.session is None:
            raise PsqlError("connection closed")
        text = translate(sql, args)
        if returns_rows(text):
            lines, _ = self.session.run("SELECT row_to_json(q) FROM (%s) q" % text)
            rows = [tuple(v for _, v in json.loads(ln, object_pairs_hook=list)) for ln in lines]
            return Cursor(rows, -1)
        lines, count = self.session.run(text)
        return Cursor([], count)

    def close(self):
        if self.session is not None:
            s, self.session = self.session, None
            _give_back(s, self.read_only)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def connect(url, read_only=False):
    return Connection(url, read_only)


# ---------------------------------------------------------------------------
# A database per server
# ---------------------------------------------------------------------------

_admin_lock = threading.Lock()
_admin = None
_seq = 0
_file_dbs = set()  # databases named by db_file markers: dropped when this process exits
_NAME_RE = re.compile(r"e2e_\d+_f?\d+")
MARKER_HEAD = "redpack-e2e postgresql database "


def _admin_run(text):
    global _admin
    with _admin_lock:
        if _admin is None or not _admin.alive():
            _admin = Session(admin_url())
        return _admin.run(text)


def _new_name(kind=""):
    global _seq
    with _admin_lock:
        _seq += 1
        return "e2e_%d_%s%d" % (os.getpid(), kind, _seq)


def create_database(name):
    """CREATE DATABASE name (after dropping a leftover of that name: the names hold
    this process's id, so a leftover is a dead process's)."""
    _admin_run('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    for attempt in range(20):
        try:
            _admin_run('CREATE DATABASE "%s"' % name)
            return url_for(name)
        except PsqlError as e:
            # Two CREATE DATABASEs copying template1 at once may refuse each other.
            if "being accessed by other users" not in str(e) or attempt == 19:
                raise
            import time
            time.sleep(0.1 * (attempt + 1))


def drop_database(name):
    _leave_database(url_for(name))
    _admin_run('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


class _Spare(threading.Thread):
    """An empty database made ahead, on a session of its own, while the test runs:
    a CREATE DATABASE takes 0.1 s on an idle cluster, 0.2-0.3 s while the suite runs."""

    def __init__(self):
        super().__init__(name="harness-spare-database", daemon=True)
        self.name_ = _new_name()
        self.url = None
        self.start()

    session = None  # one psql for every spare, beside the foreground's

    def run(self):
        cls = type(self)
        try:
            if cls.session is None or not cls.session.alive():
                cls.session = Session(admin_url())
            cls.session.run('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name_)
            cls.session.run('CREATE DATABASE "%s"' % self.name_)
            self.url = url_for(self.name_)
        except Exception:
            self.url = None  # the caller makes its own


_spare_lock = threading.Lock()
_spare = None


def fresh_database():
    """A new, empty database; returns (name, url). The next one is made ahead."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    result = None
    if spare is not None:
        spare.join()
        if spare.url:
            result = (spare.name_, spare.url)
    if result is None:
        name = _new_name()
        result = (name, create_database(name))
    with _spare_lock:
        if _spare is None:
            _spare = _Spare()
    return result


def file_database(path):
    """The database that stands for the SQLite file path: a marker file at path names
    it. Without the marker a new database is made and the marker written, so the same
    path means the same database across stops, kills and new Server objects, and a new
    path (a new temp dir) a fresh one. Returns (name, url). Servers started together
    on one path (threads) find one database: the first makes it under the lock."""
    with _file_lock:
        return _file_database(path)


_file_lock = threading.Lock()


def _file_database(path):
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except FileNotFoundError:
        head = None
    if head is not None:
        text = head.decode("utf-8", "replace").strip()
        name = text[len(MARKER_HEAD):] if text.startswith(MARKER_HEAD) else ""
        if not _NAME_RE.fullmatch(name):
            raise PsqlError("%s is not a PostgreSQL database marker of the harness (a SQLite "
                            "file made by the test? such a test is SQLite-only)" % path)
        rows, _ = _admin_run("SELECT 1 FROM pg_database WHERE datname = '%s'" % name)
        if rows:
            _file_dbs.add(name)
            return name, url_for(name)
    else:
        name = _new_name("f")
    url = create_database(name)
    _file_dbs.add(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(MARKER_HEAD + name + "\n")
    return name, url


def resolve(path):
    """The URL a probe's path means: a URL itself, or, on a PostgreSQL run, a server's
    db_file marker; None for a SQLite file."""
    if is_url(path):
        return path
    if not enabled():
        return None
    try:
        with open(path, "rb") as f:
            text = f.read(200).decode("utf-8", "replace").strip()
    except OSError:
        return None
    name = text[len(MARKER_HEAD):] if text.startswith(MARKER_HEAD) else ""
    return url_for(name) if _NAME_RE.fullmatch(name) else None


def _at_exit():
    global _admin, _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        spare.join(timeout=30)
        if spare.url:
            _file_dbs.add(spare.name_)  # dropped below with the others
    if _Spare.session is not None:
        _Spare.session.close()
        _Spare.session = None
    close_sessions()
    try:
        for name in sorted(_file_dbs):
            drop_database(name)
    except Exception:
        pass
    _file_dbs.clear()
    if _admin is not None:
        _admin.close()
        _admin = None


atexit.register(_at_exit)
