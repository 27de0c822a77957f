"""The plugin as a user sees it: pytest runs on example test files (pytester, each
in a subprocess), with the certificates of this session so none are made again."""

import json
import os
from importlib import metadata

import pytest

import redpack_sim
from redpack_sim import Server, make_certs

# Where redpack_sim is imported from, for the pytest subprocesses (which run elsewhere).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(redpack_sim.__file__)))


def _plugin_args():
    try:
        eps = metadata.entry_points(group="pytest11")
    except TypeError:  # Python < 3.10
        eps = metadata.entry_points().get("pytest11", [])
    installed = any(ep.value == "redpack_sim.plugin" for ep in eps)
    return [] if installed else ["-p", "redpack_sim.plugin"]


@pytest.fixture(autouse=True)
def _pythonpath(monkeypatch):
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", PACKAGE_PARENT + (os.pathsep + path if path else ""))


@pytest.fixture
def run(pytester, redpack_sim_setup):
    """Runs pytest in a subprocess on the files made in pytester's directory."""
    def run_(*args):
        return pytester.runpytest_subprocess(
            *_plugin_args(), "-p", "no:cacheprovider", "--redpack-certs=" + redpack_sim_setup.certs,
            *args, timeout=60)
    return run_


FAILING = '''
def test_passes(redpack_sim):
    assert redpack_sim.sendgroupredpack(re_openid="oPass").ok

def test_verify_fails(redpack_sim):
    redpack_sim.sendgroupredpack(re_openid="oWanted", total_amount=1000, total_num=5)
    redpack_sim.sendredpack(re_openid="oOther")
    redpack_sim.control.verify(count=1, endpoint="sendgroupredpack", re_openid="oWanted",
                               total_amount_is_not_a_filter=None, err_code="NOTENOUGH")
'''


def test_failing_verify_shows_expected_sent_and_the_log(run, pytester):
    pytester.makepyfile(test_shop=FAILING)
    result = run("-rf")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*AssertionError: redpack-sim verify: expected 1 request matching "
        "endpoint=sendgroupredpack re_openid=oWanted err_code=NOTENOUGH, but 0 matched",
        "*Requests sent (newest first; * matched):",
        "*  #* * sendredpack mch_id=10000098 mch_billno=* re_openid=oOther total_amount=100 "
        "total_num=1 -> SUCCESS",
        "*  #* * sendgroupredpack mch_id=10000098 mch_billno=* re_openid=oWanted "
        "total_amount=1000 total_num=5 -> SUCCESS",
        "*- redpack-sim log (stderr, call) -*",
        "*api.request endpoint=sendgroupredpack mch_id=10000098 *err_code=SUCCESS*",
        "*api.request endpoint=sendredpack mch_id=10000098 *err_code=SUCCESS*",
    ])
    # Only the failing test gets the log, and it holds that test's requests only.
    assert out.count("redpack-sim log (stderr") == 1
    assert "oPass" not in out.split("redpack-sim log (stderr")[1]


LIFETIME = '''
import json, os

def record(redpack_sim, name):
    c = redpack_sim.control
    doc = {"url": redpack_sim.api_url, "requests": c.count(), "pid": redpack_sim.proc.pid,
           "tmp": redpack_sim.tmp,
           "offset": c.clock.get()["offset_seconds"], "packets": len(c.packets())}
    with open(os.path.join(os.path.dirname(__file__), name + ".json"), "w") as f:
        json.dump(doc, f)

def test_first(redpack_sim):
    record(redpack_sim, "first")
    redpack_sim.sendgroupredpack()
    redpack_sim.control.clock.advance(3600)
    redpack_sim.control.faults.add("NOTENOUGH")

def test_second(redpack_sim):
    record(redpack_sim, "second")
'''


@pytest.mark.parametrize("args,same_server,kept", [
    ((), True, False),                             # session scope, reset before each test
    (("--redpack-scope=function",), False, False),  # a server per test
    (("--redpack-reset=none",), True, True),        # state kept between tests
])
def test_scope_and_reset(run, pytester, args, same_server, kept):
    pytester.makepyfile(test_life=LIFETIME)
    run(*args).assert_outcomes(passed=2)
    first = json.loads((pytester.path / "first.json").read_text())
    second = json.loads((pytester.path / "second.json").read_text())
    assert (first["requests"], first["packets"], first["offset"]) == (0, 0, 0)
    assert (first["url"] == second["url"]) == same_server
    assert (second["requests"], second["packets"]) == ((1, 1) if kept else (0, 0))
    # The clock only goes forwards: a fresh clock needs a fresh server.
    assert (second["offset"] >= 3600) == same_server
    # Every server stopped at the end, its temporary directory (the database) gone.
    for doc in (first, second):
        with pytest.raises(ProcessLookupError):
            os.kill(doc["pid"], 0)
        assert not os.path.exists(doc["tmp"])


def test_ini_options_and_journal_bound(run, pytester):
    pytester.makeini("[pytest]\nredpack_scope = module\nredpack_args = --journal-size 2\n")
    pytester.makepyfile(test_bound='''
import pytest

def test_bound(redpack_sim):
    for _ in range(3):
        redpack_sim.sendgroupredpack(re_openid="oMany")
    with pytest.raises(AssertionError, match="dropped 1 request"):
        redpack_sim.control.verify(count=3, re_openid="oMany")
''')
    result = run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["redpack-sim: scope=module reset=test"])


def test_missing_binary_is_a_usage_error(pytester, redpack_sim_setup, monkeypatch):
    monkeypatch.setenv("REDPACK_SIM", str(pytester.path / "no-such-redpack-sim"))
    pytester.makepyfile(test_x="def test_x(redpack_sim):\n    pass\n")
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*redpack-sim binary not found or not executable: *no-such-redpack-sim*"])


def test_certificates_without_gen_certs(tmp_path, redpack_sim_setup):
    """No source tree: the certificates come from the openssl command directly."""
    fixtures = tmp_path / "fixtures.json"
    doc = json.load(open(redpack_sim_setup.fixtures, encoding="utf-8"))
    doc["merchants"] = doc["merchants"][:2]
    doc["users"] = doc["users"][:2]
    fixtures.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    certs = make_certs(str(tmp_path / "certs"), str(fixtures))
    assert os.path.isfile(os.path.join(certs, "10000099", "apiclient_cert.p12"))
    assert os.stat(os.path.join(certs, "10000099", "apiclient_key.pem")).st_mode & 0o077 == 0
    with Server(redpack_sim_setup.binary, str(fixtures), certs) as srv:
        assert srv.sendgroupredpack(mch_id="10000099").ok
        assert srv.sendredpack().ok
        srv.control.verify(count=2, err_code="SUCCESS")
