#!/usr/bin/env python3
"""Concurrent sends: one billno is one packet, limits and balance hold under races."""

import concurrent.futures
import threading
import unittest

from harness import answers, contract, probe, wire
from harness.cases import E2ETestCase
from harness.contract import GROUP_PATH, MCH_KEY

N = 50


def run_parallel(n, fn):
    """fn(i) in n threads released together; returns the results in order (re-raises)."""
    barrier = threading.Barrier(n)

    def task(i):
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        return fn(i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(task, range(n)))


class Concurrency(E2ETestCase):
    def test_identical_requests(self):
        srv = self.start_server()
        before = probe.balance(srv)
        req = wire.group_request()
        req["sign"] = wire.sign(req, MCH_KEY)
        body = wire.build_xml(req)
        results = run_parallel(N, lambda i: wire.post(srv, GROUP_PATH, body,
                                                       headers=contract.PHP_HEADERS, timeout=60))
        self.assertEqual({r.status for r in results}, {200})
        bodies = {r.body for r in results}
        self.assertEqual(len(bodies), 1, "answers differ:\n%s" % "\n".join(
            b.decode("utf-8", "replace") for b in bodies))
        self.assertSuccess(results[0], req)
        rows = probe.packet_rows(srv, req["mch_billno"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(probe.send_debits(srv, req["mch_billno"]), [-300])
        self.assertEqual(probe.balance(srv), before - 300)
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM ledger WHERE kind = 'send'")[0][0], 1)

    def test_distinct_billnos(self):
        srv = self.start_server()
        before = probe.balance(srv)
        reqs = [wire.group_request(re_openid=wire.new_openid(),
                                            total_amount=300 + 7 * i) for i in range(N)]
        results = run_parallel(N, lambda i: wire.send_group(srv, reqs[i]))
        listids = set()
        for req, resp in zip(reqs, results):
            listids.add(self.assertSuccess(resp, req))
        self.assertEqual(len(listids), N)
        total = sum(int(r["total_amount"]) for r in reqs)
        self.assertEqual(probe.balance(srv), before - total)
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM packets WHERE status = 'SENT'")[0][0], N)

    def test_user_limit_under_race(self):
        # Default packets_per_user_per_day is 10: of 20 concurrent sends to one user,
        # exactly 10 are issued and 10 answer SENDNUM_LIMIT.
        srv = self.start_server()
        reqs = [wire.group_request() for _ in range(20)]
        results = run_parallel(20, lambda i: wire.send_group(srv, reqs[i]))
        codes = [answers.answer_dict(r.body)["err_code"] for r in results]
        self.assertEqual(sorted(set(codes)), ["SENDNUM_LIMIT", "SUCCESS"], codes)
        self.assertEqual(codes.count("SUCCESS"), 10, codes)
        for req, resp, code in zip(reqs, results, codes):
            if code == "SUCCESS":
                self.assertSuccess(resp, req)
            else:
                self.assertErr(resp, req, "SENDNUM_LIMIT", "sendnum")
        self.assertEqual(probe.balance(srv), 100000000 - 10 * 300)

    def test_balance_under_race(self):
        # Balance for exactly 10 packets of 300 fen; 20 race for it.
        srv = self.start_server(fixtures=contract.fixtures_with(balance=3000))
        reqs = [wire.group_request(re_openid=wire.new_openid()) for _ in range(20)]
        results = run_parallel(20, lambda i: wire.send_group(srv, reqs[i]))
        codes = [answers.answer_dict(r.body)["err_code"] for r in results]
        self.assertEqual(codes.count("SUCCESS"), 10, codes)
        self.assertEqual(codes.count("NOTENOUGH"), 10, codes)
        self.assertEqual(probe.balance(srv), 0)

    def test_identical_requests_on_keep_alive_connections(self):
        # Several clients, each resending the same billno on its own keep-alive connection.
        srv = self.start_server()
        req = wire.group_request()
        req["sign"] = wire.sign(req, MCH_KEY)
        body = wire.build_xml(req)

        def client(i):
            with wire.Connection(srv, timeout=60) as conn:
                out = [conn.post(GROUP_PATH, body, contract.PHP_HEADERS) for _ in range(5)]
                self.assertTrue(conn.same_socket())
                return out

        results = [r for rs in run_parallel(10, client) for r in rs]
        self.assertEqual(len({r.body for r in results}), 1)
        self.assertSuccess(results[0], req)
        self.assertEqual(len(probe.packet_rows(srv, req["mch_billno"])), 1)
        self.assertEqual(probe.send_debits(srv, req["mch_billno"]), [-300])


if __name__ == "__main__":
    unittest.main()
