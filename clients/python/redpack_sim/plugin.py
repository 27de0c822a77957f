"""The pytest plugin: the `redpack_sim` fixture (a started server, reset before
each test), its options, and the server's log attached to a failing test's report."""

import os
import tempfile

import pytest

from .server import Server, ServerError, find_binary, find_fixtures, find_source_tree, make_certs

SCOPES = ("session", "package", "module", "class", "function")
RESETS = ("test", "none")
LOG_SECTION = "redpack-sim log"
LOG_MAX_LINES = 200

_server_key = pytest.StashKey()
_mark_key = pytest.StashKey()

# (option, ini name, environment variable, help)
_SETTINGS = (
    ("--redpack-sim", "redpack_sim", "REDPACK_SIM",
     "the redpack-sim binary (default: $REDPACK_SIM, else redpack-sim on PATH)"),
    ("--redpack-fixtures", "redpack_fixtures", "REDPACK_FIXTURES",
     "fixtures file (default: $REDPACK_FIXTURES, else the server's fixtures/default.json)"),
    ("--redpack-certs", "redpack_certs", "REDPACK_CERTS",
     "use the certificates already in this directory (layout of scripts/gen-certs.sh) "
     "instead of making them"),
)


def pytest_addoption(parser):
    group = parser.getgroup("redpack-sim", "redpack-sim (WeChat Pay red packet mock server)")
    group.addoption("--redpack-scope", choices=SCOPES, default=None,
                    help="how long one server lives: session (default), package, module, "
                         "class or function (a server per test, fresh clock included)")
    parser.addini("redpack_scope", "how long one redpack-sim server lives", default="session")
    group.addoption("--redpack-reset", choices=RESETS, default=None,
                    help="test (default): back to the fixtures, no fault rules and an empty "
                         "journal before each test; none: keep state between tests")
    parser.addini("redpack_reset", "test or none: reset redpack-sim before each test",
                  default="test")
    for opt, ini, env, help_ in _SETTINGS:
        group.addoption(opt, default=None, help=help_)
        parser.addini(ini, help_, default="")
    group.addoption("--redpack-arg", action="append", default=[], metavar="ARG",
                    help="an extra redpack-sim argument, e.g. --redpack-arg=--sign-fields=received "
                         "(repeatable)")
    parser.addini("redpack_args", "extra redpack-sim arguments", type="args", default=[])


def _setting(config, opt, ini, env):
    """Command line, then the environment, then the ini file."""
    value = config.getoption(opt.lstrip("-").replace("-", "_"))
    if value:
        return value
    if env and os.environ.get(env):
        return os.environ[env]
    return config.getini(ini) or None


def _scope(config):
    scope = config.getoption("redpack_scope") or config.getini("redpack_scope") or "session"
    if scope not in SCOPES:
        raise pytest.UsageError("redpack_scope must be one of %s, not %r" % (", ".join(SCOPES), scope))
    return scope


def _reset_mode(config):
    mode = config.getoption("redpack_reset") or config.getini("redpack_reset") or "test"
    if mode not in RESETS:
        raise pytest.UsageError("redpack_reset must be test or none, not %r" % mode)
    return mode


def _server_scope(fixture_name, config):
    return _scope(config)


def pytest_report_header(config):
    return "redpack-sim: scope=%s reset=%s" % (_scope(config), _reset_mode(config))


class _Setup:
    """What every server of the session shares: binary, fixtures, certificates."""

    def __init__(self, config, tmp_path_factory):
        get = lambda i: _setting(config, *_SETTINGS[i][:3])  # noqa: E731
        try:
            self.binary = find_binary(get(0))
            self.source_tree = find_source_tree(self.binary)
            self.fixtures = find_fixtures(get(1), self.source_tree)
        except ServerError as e:
            pytest.fail(str(e), pytrace=False)
        self.certs = get(2)
        if not self.certs:
            gen = os.path.join(self.source_tree, "scripts", "gen-certs.sh") if self.source_tree else None
            self.certs = make_certs(str(tmp_path_factory.mktemp("redpack-certs")), self.fixtures, gen)
        self.args = list(config.getini("redpack_args")) + list(config.getoption("redpack_arg"))


@pytest.fixture(scope="session")
def redpack_sim_setup(pytestconfig, tmp_path_factory):
    """The binary, fixtures file and certificates every redpack-sim server of the
    session uses (certificates made once)."""
    return _Setup(pytestconfig, tmp_path_factory)


@pytest.fixture(scope=_server_scope)
def redpack_sim_server(redpack_sim_setup):
    """A started redpack-sim, shared for --redpack-scope; no reset (use redpack_sim)."""
    s = redpack_sim_setup
    srv = Server(s.binary, s.fixtures, s.certs, s.args)
    try:
        srv.start()
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)
    srv._fresh = True
    yield srv
    srv.stop()


@pytest.fixture
def redpack_sim(request, redpack_sim_server):
    """The test's redpack-sim: reset before the test (unless --redpack-reset=none or the
    server is new), its log attached to the report when the test fails."""
    srv = redpack_sim_server
    if not srv.running:
        raise ServerError(srv._describe("redpack-sim is no longer running"))
    mark = srv.log_mark()
    request.node.stash[_server_key] = srv
    request.node.stash[_mark_key] = mark
    if not getattr(srv, "_fresh", False) and _reset_mode(request.config) == "test":
        srv.reset()
    srv._fresh = False
    return srv


@pytest.fixture
def redpack_control(redpack_sim):
    """The control client of the test's redpack-sim (redpack_sim.control)."""
    return redpack_sim.control


def _log_section(srv, mark):
    if srv.proc is not None:
        srv.settle_log()
    lines = srv.log(since=mark).splitlines()
    head = []
    if len(lines) > LOG_MAX_LINES:
        head = ["(%d earlier lines left out)" % (len(lines) - LOG_MAX_LINES)]
        lines = lines[-LOG_MAX_LINES:]
    if srv.proc is not None and srv.proc.poll() is not None:
        lines.append("(redpack-sim exited with status %s)" % srv.proc.returncode)
    return "\n".join(head + lines) or "(nothing logged during the test)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    srv = item.stash.get(_server_key, None)
    if srv is None:
        return
    rep.sections.append((LOG_SECTION + " (stderr, %s)" % rep.when,
                         _log_section(srv, item.stash.get(_mark_key, 0))))
