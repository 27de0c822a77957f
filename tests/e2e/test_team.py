#!/usr/bin/env python3
"""Several redpack-sim processes on one PostgreSQL database answer as one service
(issue 14): one billno is one packet and one debit whichever processes the
requests reach, a claim or a clock move through one process is what the others
see, and kill -9 of one loses no acknowledged packet while the others serve.

PostgreSQL only (REDPACK_E2E_DB=postgresql, ctest's e2e_pg_team): on SQLite the
database is one process's, and the module skips."""

import concurrent.futures
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import answers, contract, control, pgdb, probe, wire
from harness.cases import E2ETestCase
from harness.contract import GROUP_PATH, MCH_ID, MCH_KEY
from harness.process import Server

PROCESSES = 3
IDENTICAL = 1000


def run_spread(servers, n, fn, workers=48):
    """fn(server, i) for i in range(n), request i on servers[i % len(servers)], from
    `workers` threads released together; returns the results in order."""
    barrier = threading.Barrier(workers)
    lock = threading.Lock()
    next_i = [0]
    results = [None] * n

    def worker():
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= n:
                return
            results[i] = fn(servers[i % len(servers)], i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(worker) for _ in range(workers)]:
            f.result()
    return results


HAPROXY_CFG = os.path.join(contract.REPO, "docker", "haproxy", "haproxy.cfg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_cfg_here(servers, api, admin):
    """docker/haproxy/haproxy.cfg with its binds and servers on this machine's
    loopback ports instead of the compose network's names: the rest (modes,
    checks, balancing, retries) as shipped."""
    with open(HAPROXY_CFG, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"bind :8443\b", "bind 127.0.0.1:%d" % api, text)
    text = re.sub(r"bind :8444\b", "bind 127.0.0.1:%d" % admin, text)
    for i, srv in enumerate(servers, 1):
        text = re.sub(r"redpack-sim-%d:8443 check port 8444\b" % i,
                      "127.0.0.1:%d check port %d" % (srv.api_port, srv.admin_port), text)
        text = re.sub(r"redpack-sim-%d:8444\b" % i, "127.0.0.1:%d" % srv.admin_port, text)
    if re.search(r"redpack-sim-\d", text):
        raise AssertionError("haproxy.cfg names a process the test did not place")
    return text


class Front:
    """A server as a client sees it through HAProxy: its certificates and
    fixtures, HAProxy's ports."""

    def __init__(self, srv, api, admin):
        self._srv = srv
        self.api_port, self.admin_port = api, admin

    def __getattr__(self, name):
        return getattr(self._srv, name)

    def alive(self):
        return True


@unittest.skipUnless(pgdb.enabled(), "several processes share one database only on PostgreSQL "
                     "(REDPACK_E2E_DB=postgresql: ctest's e2e_pg_team)")
class Team(E2ETestCase):
    def start_team(self, n=PROCESSES):
        """n servers started together on one new database; the first is checked
        (invariants, conservation) when the test ends."""
        path = self.temp_db("redpack-team-")
        servers = [Server(db_file=path) for _ in range(n)]
        errors = []

        def start(srv):
            try:
                srv.start()
            except Exception as e:  # reported below, with every server stopped
                errors.append(e)

        threads = [threading.Thread(target=start, args=(s,)) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for srv in servers:
            self.addCleanup(lambda s=srv: s.stopped or s.stop())
        if errors:
            raise errors[0]
        # The last one lives to the end (the kill -9 test kills the first).
        self.addCleanup(probe.check_invariants, servers[-1])
        self.addCleanup(control.check, servers[-1])
        return servers

    def test_started_together_the_world_is_loaded_once(self):
        servers = self.start_team()
        merchants = [m["mch_id"] for m in servers[0].fixtures["merchants"]]
        rows = probe.query(servers[0], "SELECT mch_id, COUNT(*) FROM ledger WHERE kind = 'fixture' "
                           "GROUP BY mch_id ORDER BY mch_id")
        self.assertEqual([r[0] for r in rows], sorted(merchants))
        self.assertEqual({r[1] for r in rows}, {1}, rows)
        for srv in servers:
            self.assertEqual(control.clock(srv)["offset_seconds"], 0)

    def test_identical_requests_over_processes_make_one_packet(self):
        servers = self.start_team()
        before = probe.balance(servers[0])
        req = wire.group_request()
        req["sign"] = wire.sign(req, MCH_KEY)
        body = wire.build_xml(req)
        results = run_spread(servers, IDENTICAL, lambda srv, i: wire.post(
            srv, GROUP_PATH, body, headers=contract.PHP_HEADERS, timeout=120))
        self.assertEqual({r.status for r in results}, {200})
        codes = {}
        for r in results:
            code = answers.answer_dict(r.body).get("result_code")
            codes[code] = codes.get(code, 0) + 1
        self.assertEqual(codes, {"SUCCESS": IDENTICAL}, codes)
        bodies = {r.body for r in results}
        self.assertEqual(len(bodies), 1, "answers differ:\n%s" % "\n".join(
            b.decode("utf-8", "replace") for b in bodies))
        self.assertSuccess(results[0], req)
        self.assertEqual(len(probe.packet_rows(servers[0], req["mch_billno"])), 1)
        self.assertEqual(probe.send_debits(servers[0], req["mch_billno"]), [-300])
        self.assertEqual(probe.balance(servers[0]), before - 300)
        # Every process tells the same story about it.
        docs = [control.packet_ok(srv, req["mch_billno"]) for srv in servers]
        self.assertEqual(len({repr(sorted(d.items())) for d in docs}), 1)

    def test_a_claim_and_a_clock_move_are_seen_by_every_process(self):
        servers = self.start_team()
        req, resp = self.send(servers[0])
        self.assertSuccess(resp, req)
        billno = req["mch_billno"]
        # The seed user opens the first share through one process, a friend
        # the next through another; every process shows both.
        st, doc = control.claim(servers[1], billno, req["re_openid"])
        self.assertEqual(st, 201, doc)
        st, doc = control.claim(servers[2], billno, "oTeamFriend000000000000001")
        self.assertEqual(st, 201, doc)
        for srv in servers:
            shares = control.packet_ok(srv, billno)["shares"]
            openers = [s.get("openid") for s in shares if s.get("openid")]
            self.assertEqual(openers, [req["re_openid"], "oTeamFriend000000000000001"],
                             (srv.api_port, shares))
        moved = control.advance(servers[2], 3600)
        for srv in servers:
            # A process takes the shared offset at its next batch of requests.
            req2, resp2 = self.send(srv)
            # Dated on the moved clock's day, which is tomorrow within an
            # hour of Beijing midnight.
            self.assertSendSuccess(resp2, req2, srv)
            self.assertEqual(control.clock(srv)["offset_seconds"], moved["offset_seconds"],
                             srv.api_port)
        # Not backwards through another process either.
        st, doc = control.set_clock(servers[0], advance_seconds=-10)
        self.assertNotEqual(st, 200, doc)

    def test_expiry_refunds_once_whichever_process_sweeps(self):
        servers = self.start_team()
        before = probe.balance(servers[0])
        sent = []
        for i in range(6):
            req, resp = self.send(servers[i % len(servers)], re_openid=wire.new_openid())
            self.assertSuccess(resp, req)
            sent.append(req)
        # A day and an hour later, through one process: every packet refunded
        # once (the sweep by whichever process holds the sweeper lock, or the
        # catch-up of a read), the money back exactly once.
        control.advance(servers[1], 25 * 3600)
        for i, req in enumerate(sent):
            doc = control.packet_ok(servers[(i + 2) % len(servers)], req["mch_billno"])
            self.assertEqual(doc["status"], "REFUND", doc)
        refunds = probe.query(servers[0], "SELECT packet_id, COUNT(*) FROM ledger "
                              "WHERE kind = 'refund' GROUP BY packet_id")
        self.assertEqual(len(refunds), len(sent), refunds)
        self.assertEqual({r[1] for r in refunds}, {1}, refunds)
        self.assertEqual(probe.balance(servers[0]), before)
        # Another day on another process's clock: nothing moves twice.
        control.advance(servers[2], 24 * 3600)
        time.sleep(1.5)  # a sweeper tick on every process
        self.assertEqual(probe.query(servers[0], "SELECT COUNT(*) FROM ledger "
                                     "WHERE kind = 'refund'")[0][0], len(sent))
        self.assertEqual(probe.balance(servers[0]), before)

    def test_kill9_of_one_process_loses_nothing_and_the_others_serve(self):
        servers = self.start_team()
        victim, survivors = servers[0], servers[1:]
        acked = []
        stop = threading.Event()

        def sender():
            while not stop.is_set():
                req = wire.group_request(re_openid=wire.new_openid())
                try:
                    resp = wire.send_group(victim, req)
                except Exception:
                    return  # the victim is gone
                if resp.status == 200 and answers.answer_dict(resp.body).get(
                        "result_code") == "SUCCESS":
                    acked.append(req["mch_billno"])

        t = threading.Thread(target=sender)
        t.start()
        while len(acked) < 30:
            if not t.is_alive():
                break
            threading.Event().wait(0.02)
        victim.kill9()
        stop.set()
        t.join(timeout=30)
        self.assertGreaterEqual(len(acked), 30)
        for billno in acked:
            self.assertEqual(len(probe.packet_rows(survivors[0], billno)), 1, billno)
            st, doc = control.packet(survivors[1], billno, MCH_ID)
            self.assertEqual(st, 200, doc)
            self.assertEqual(doc["status"], "SENT", doc)
        for srv in survivors:
            req, resp = self.send(srv)
            self.assertSuccess(resp, req)
        probe.check_invariants(survivors[0])

    def test_the_compose_haproxy_config_spreads_and_outlives_a_kill9(self):
        """docker/haproxy/haproxy.cfg, as compose.team.yaml runs it (here on
        loopback ports): sends through it reach both processes, the control API
        answers through it, and after kill -9 of one process every send that
        follows is still answered (a refused connect goes to the other)."""
        haproxy = shutil.which("haproxy")
        if not haproxy:
            self.skipTest("haproxy is not installed (scripts/setup.sh installs it)")
        servers = self.start_team(2)
        api, admin = free_port(), free_port()
        d = tempfile.mkdtemp(prefix="redpack-haproxy-")
        self.addCleanup(shutil.rmtree, d, True)
        cfg = os.path.join(d, "haproxy.cfg")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(haproxy_cfg_here(servers, api, admin))
        check = subprocess.run([haproxy, "-c", "-f", cfg], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        proc = subprocess.Popen([haproxy, "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.kill(), proc.wait()))
        front = Front(servers[-1], api, admin)

        def sends_succeed(n):
            for _ in range(n):  # to new users: a user's daily limit is 10
                req, resp = self.send(front, re_openid=wire.new_openid())
                self.assertSuccess(resp, req)

        deadline = time.monotonic() + 20
        while True:  # HAProxy up, and both processes passed a health check
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % admin,
                                            timeout=5) as r:
                    ok = r.status == 200
                sends_succeed(1)
                break
            except (OSError, AssertionError):
                ok = False
            if time.monotonic() > deadline:
                self.fail("nothing answered through HAProxy in 20 s")
            time.sleep(0.2)
        self.assertTrue(ok)
        # Each send on a connection of its own: least connections spreads them.
        sends_succeed(20)
        for srv in servers:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % srv.admin_port,
                                        timeout=10) as r:
                text = r.read().decode()
            got = sum(float(m.group(1)) for m in re.finditer(
                r'^redpack_answers_total\{[^}]*err_code="SUCCESS"[^}]*\} (\S+)', text, re.M))
            self.assertGreater(got, 0, "process on %d answered nothing" % srv.api_port)
        servers[0].kill9()
        # At once, before a health check can have seen it: HAProxy's connects
        # to the dead process are refused and redispatched.
        sends_succeed(20)


if __name__ == "__main__":
    unittest.main()
