#!/usr/bin/env python3
"""1,000 simultaneous connections: identical sends make one packet; distinct sends
racing for a balance of exactly 500 packets issue exactly 500.

Every connection is opened (TLS handshake done) before any request is sent, then
all requests go out together. Timing figures are printed for docs/reliability.md.
"""

import ssl
import sys
import threading
import time
import unittest

from harness import answers, contract, control, probe, process, wire
from harness.cases import E2ETestCase
from harness.contract import GROUP_PATH, LOAD_APPID, LOAD_MCH_ID

N = 1000
SERVER_ARGS = ["--max-connections", "2048", "--timeout", "120", "--request-timeout", "120"]


def report(msg):
    sys.stdout.write("[figure] %s\n" % msg)
    sys.stdout.flush()


def run_simultaneous(srv, bodies, cert=contract.MCH_ID, connect_within=120.0):
    """One thread and one TLS connection per body; every connection is established,
    then all requests are released together.

    Returns (responses, errors, connect_seconds, answer_seconds); responses[i] is
    None where errors[i] says what went wrong."""
    n = len(bodies)
    responses = [None] * n
    errors = [None] * n
    conns = [None] * n
    connected = threading.Barrier(n + 1)
    go = threading.Event()
    start = time.monotonic()
    deadline = start + connect_within

    def worker(i):
        try:
            last = None
            while time.monotonic() < deadline:
                try:
                    conns[i] = wire.Connection(srv, cert=cert, timeout=180)
                    break
                except OSError as e:  # ssl.SSLError included
                    last = e
                    time.sleep(0.05)
                except Exception as e:  # the server died (process.ServerError)
                    last = e
                    break
            if conns[i] is None:
                errors[i] = "connect: %r" % (last,)
        finally:
            try:
                connected.wait(timeout=connect_within + 60)
            except threading.BrokenBarrierError:
                pass
        if conns[i] is None:
            return
        go.wait(timeout=connect_within + 60)
        try:
            responses[i] = conns[i].post(GROUP_PATH, bodies[i], contract.PHP_HEADERS)
        except Exception as e:  # recorded, asserted by the caller
            errors[i] = "request: %r" % (e,)
        finally:
            conns[i].close()

    old_stack = threading.stack_size()
    threading.stack_size(512 * 1024)
    try:
        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
    finally:
        threading.stack_size(old_stack)
    try:
        connected.wait(timeout=connect_within + 60)
    except threading.BrokenBarrierError:
        pass
    t_connected = time.monotonic()
    go.set()
    for t in threads:
        t.join(timeout=300)
    t_done = time.monotonic()
    if any(t.is_alive() for t in threads):
        raise AssertionError("%d client threads still running after 300 s"
                             % sum(t.is_alive() for t in threads))
    return responses, errors, t_connected - start, t_done - t_connected


class Load(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.nofile = process.raise_nofile_limit(4 * N + 256)
        if cls.nofile < 2 * N + 64:
            raise unittest.SkipTest("RLIMIT_NOFILE %d is too low for %d connections" % (cls.nofile, N))

    def check_no_errors(self, responses, errors):
        bad = [(i, e) for i, e in enumerate(errors) if e is not None]
        self.assertEqual(bad[:10], [], "%d of %d clients failed" % (len(bad), len(errors)))
        self.assertTrue(all(r is not None for r in responses))

    def test_identical_sends(self):
        srv = self.start_server(args=SERVER_ARGS)
        before = probe.balance(srv)
        req = wire.group_request(re_openid=wire.new_openid())
        req["sign"] = wire.sign(req, contract.MCH_KEY)
        body = wire.build_xml(req)
        responses, errors, t_conn, t_ans = run_simultaneous(srv, [body] * N)
        self.check_no_errors(responses, errors)
        report("load: %d identical sends on %d simultaneous connections: connections open in "
               "%.2f s, all %d answered %.2f s after release (%.0f answers/s)"
               % (N, N, t_conn, N, t_ans, N / t_ans))
        self.assertEqual({r.status for r in responses}, {200})
        bodies = {r.body for r in responses}
        self.assertEqual(len(bodies), 1, "%d different answers, e.g.:\n%s" % (
            len(bodies), "\n".join(b.decode("utf-8", "replace") for b in list(bodies)[:3])))
        sl = self.assertSuccess(responses[0], req)
        rows = probe.packet_rows(srv, req["mch_billno"])
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][7], sl)
        self.assertEqual(probe.send_debits(srv, req["mch_billno"]), [-300])
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM ledger WHERE kind = 'send'")[0][0], 1)
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM packets")[0][0], 1)
        self.assertEqual(probe.balance(srv), before - 300)
        self.assertEqual(sum(probe.shares_of(srv, req["mch_billno"])), 300)
        probe.check_invariants(srv)
        control.check(srv)

    def test_balance_for_exactly_half(self):
        limits = {"sends_per_minute": 0, "packets_per_user_per_day": 0,
                  "amount_per_user_per_day": 0, "amount_per_day": 0}
        fixtures = contract.fixtures_with(LOAD_MCH_ID, limits=limits, balance=(N // 2) * 300)
        srv = self.start_server(fixtures=fixtures, args=SERVER_ARGS)
        self.assertEqual(probe.balance(srv, LOAD_MCH_ID), 150000)
        reqs = []
        for _ in range(N):
            req = wire.group_request(mch_id=LOAD_MCH_ID, wxappid=LOAD_APPID,
                                              send_name="压测商户", re_openid=wire.new_openid(),
                                              total_amount=300, total_num=3)
            req["sign"] = wire.sign(req, srv.key(LOAD_MCH_ID))
            reqs.append(req)
        bodies = [wire.build_xml(r) for r in reqs]
        responses, errors, t_conn, t_ans = run_simultaneous(srv, bodies, cert=LOAD_MCH_ID)
        self.check_no_errors(responses, errors)
        codes = [answers.answer_dict(r.body)["err_code"] for r in responses]
        report("load: %d distinct 300-fen sends racing for a 150000-fen balance: connections "
               "open in %.2f s, all answered %.2f s after release (%.0f answers/s); %d SUCCESS, "
               "%d NOTENOUGH" % (N, t_conn, t_ans, N / t_ans, codes.count("SUCCESS"),
                                 codes.count("NOTENOUGH")))
        self.assertEqual(codes.count("SUCCESS"), N // 2, sorted(set(codes)))
        self.assertEqual(codes.count("NOTENOUGH"), N // 2, sorted(set(codes)))
        listids = set()
        for req, resp, code in zip(reqs, responses, codes):
            if code == "SUCCESS":
                listids.add(self.assertSuccess(resp, req))
            else:
                self.assertErr(resp, req, "NOTENOUGH", "notenough")
        self.assertEqual(len(listids), N // 2)
        self.assertEqual(probe.balance(srv, LOAD_MCH_ID), 0)
        rows = probe.query(srv, "SELECT status, reason, COUNT(*) FROM packets WHERE mch_id = ? "
                                "GROUP BY status, reason ORDER BY status", (LOAD_MCH_ID,))
        self.assertEqual(rows, [("SENDING", contract.DES["notenough"], N // 2), ("SENT", None, N // 2)])
        self.assertEqual(probe.query(srv, "SELECT COUNT(*), SUM(amount) FROM ledger WHERE kind = 'send' "
                                          "AND mch_id = ?", (LOAD_MCH_ID,))[0], (N // 2, -150000))
        # The SENDING rows are the NOTENOUGH billnos, the SENT ones the successes.
        status = dict(probe.query(srv, "SELECT mch_billno, status FROM packets WHERE mch_id = ?",
                                  (LOAD_MCH_ID,)))
        for req, code in zip(reqs, codes):
            self.assertEqual(status[req["mch_billno"]], "SENT" if code == "SUCCESS" else "SENDING")
        probe.check_invariants(srv)
        control.check(srv)

    def test_connection_limit(self):
        # --max-connections 20: the 21st connection is refused in the handshake; once one
        # closes, a new one is accepted again.
        srv = self.start_server(args=["--max-connections", "20"])
        conns = [wire.Connection(srv) for _ in range(20)]
        try:
            with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
                wire.Connection(srv, timeout=10).close()
            req = wire.group_request(re_openid=wire.new_openid())
            self.assertSuccess(wire.send_group(srv, req, conn=conns[5]), req)
            conns.pop().close()
            t0 = time.monotonic()
            while True:
                try:
                    extra = wire.Connection(srv, timeout=10)
                    break
                except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                    self.assertLess(time.monotonic() - t0, 5.0, "no slot free 5 s after a close")
                    time.sleep(0.05)
            conns.append(extra)
            req = wire.group_request(re_openid=wire.new_openid())
            self.assertSuccess(wire.send_group(srv, req, conn=extra), req)
            report("load: --max-connections 20: the 21st handshake is refused; a slot is free "
                   "again %.3f s after a close" % (time.monotonic() - t0))
        finally:
            for c in conns:
                c.close()
        control.check(srv)

    def test_keep_alive_latency(self):
        # One client, one keep-alive connection, requests one after another. A server that
        # writes its answer in two TCP segments without TCP_NODELAY makes every answer
        # wait for the client's delayed ACK (about 40 ms on Linux), whatever the load.
        srv = self.start_server()
        times = []
        with wire.Connection(srv, cert=LOAD_MCH_ID) as conn:
            for _ in range(30):
                req = wire.group_request(mch_id=LOAD_MCH_ID, wxappid=LOAD_APPID,
                                                  send_name="压测商户", re_openid=wire.new_openid())
                req["sign"] = wire.sign(req, srv.key(LOAD_MCH_ID))
                body = wire.build_xml(req)
                t0 = time.monotonic()
                resp = conn.post(GROUP_PATH, body, contract.PHP_HEADERS)
                times.append(time.monotonic() - t0)
                self.assertSuccess(resp, req)
            self.assertTrue(conn.same_socket())
        times.sort()
        median = times[len(times) // 2]
        report("load: sequential sends on one keep-alive connection: median %.1f ms, min %.1f ms, "
               "max %.1f ms" % (median * 1000, times[0] * 1000, times[-1] * 1000))
        control.check(srv)
        self.assertLess(median, 0.030, "median answer time %.1f ms on an idle server: the answer "
                        "is held back (Nagle + delayed ACK: two TCP writes, no TCP_NODELAY?)"
                        % (median * 1000))


if __name__ == "__main__":
    unittest.main()
