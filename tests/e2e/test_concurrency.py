#!/usr/bin/env python3
"""Concurrent sends: one billno is one packet, limits and balance hold under races."""

import concurrent.futures
import threading
import unittest

import rpsim
from rpsim import GROUP_PATH, MCH_KEY

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


class Concurrency(rpsim.E2ETestCase):
    def test_identical_requests(self):
        srv = self.start_server()
        before = rpsim.balance(srv)
        req = rpsim.default_group_request()
        req["sign"] = rpsim.sign(req, MCH_KEY)
        body = rpsim.build_xml(req)
        results = run_parallel(N, lambda i: rpsim.post(srv, GROUP_PATH, body,
                                                       headers=rpsim.PHP_HEADERS, timeout=60))
        self.assertEqual({r.status for r in results}, {200})
        bodies = {r.body for r in results}
        self.assertEqual(len(bodies), 1, "answers differ:\n%s" % "\n".join(
            b.decode("utf-8", "replace") for b in bodies))
        self.assertSuccess(results[0], req)
        rows = rpsim.packet_rows(srv, req["mch_billno"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rpsim.send_debits(srv, req["mch_billno"]), [-300])
        self.assertEqual(rpsim.balance(srv), before - 300)
        self.assertEqual(rpsim.query(srv, "SELECT COUNT(*) FROM ledger WHERE kind = 'send'")[0][0], 1)

    def test_distinct_billnos(self):
        srv = self.start_server()
        before = rpsim.balance(srv)
        reqs = [rpsim.default_group_request(re_openid=rpsim.new_openid(),
                                            total_amount=300 + 7 * i) for i in range(N)]
        results = run_parallel(N, lambda i: rpsim.send_group(srv, reqs[i]))
        listids = set()
        for req, resp in zip(reqs, results):
            listids.add(self.assertSuccess(resp, req))
        self.assertEqual(len(listids), N)
        total = sum(int(r["total_amount"]) for r in reqs)
        self.assertEqual(rpsim.balance(srv), before - total)
        self.assertEqual(rpsim.query(srv, "SELECT COUNT(*) FROM packets WHERE status = 'SENT'")[0][0], N)

    def test_user_limit_under_race(self):
        # Default packets_per_user_per_day is 10: of 20 concurrent sends to one user,
        # exactly 10 are issued and 10 answer SENDNUM_LIMIT.
        srv = self.start_server()
        reqs = [rpsim.default_group_request() for _ in range(20)]
        results = run_parallel(20, lambda i: rpsim.send_group(srv, reqs[i]))
        codes = [rpsim.answer_dict(r.body)["err_code"] for r in results]
        self.assertEqual(sorted(set(codes)), ["SENDNUM_LIMIT", "SUCCESS"], codes)
        self.assertEqual(codes.count("SUCCESS"), 10, codes)
        for req, resp, code in zip(reqs, results, codes):
            if code == "SUCCESS":
                self.assertSuccess(resp, req)
            else:
                self.assertErr(resp, req, "SENDNUM_LIMIT", "sendnum")
        self.assertEqual(rpsim.balance(srv), 100000000 - 10 * 300)

    def test_balance_under_race(self):
        # Balance for exactly 10 packets of 300 fen; 20 race for it.
        srv = self.start_server(fixtures=rpsim.fixtures_with(balance=3000))
        reqs = [rpsim.default_group_request(re_openid=rpsim.new_openid()) for _ in range(20)]
        results = run_parallel(20, lambda i: rpsim.send_group(srv, reqs[i]))
        codes = [rpsim.answer_dict(r.body)["err_code"] for r in results]
        self.assertEqual(codes.count("SUCCESS"), 10, codes)
        self.assertEqual(codes.count("NOTENOUGH"), 10, codes)
        self.assertEqual(rpsim.balance(srv), 0)

    def test_identical_requests_on_keep_alive_connections(self):
        # Several clients, each resending the same billno on its own keep-alive connection.
        srv = self.start_server()
        req = rpsim.default_group_request()
        req["sign"] = rpsim.sign(req, MCH_KEY)
        body = rpsim.build_xml(req)

        def client(i):
            with rpsim.Connection(srv, timeout=60) as conn:
                out = [conn.post(GROUP_PATH, body, rpsim.PHP_HEADERS) for _ in range(5)]
                self.assertTrue(conn.same_socket())
                return out

        results = [r for rs in run_parallel(10, client) for r in rs]
        self.assertEqual(len({r.body for r in results}), 1)
        self.assertSuccess(results[0], req)
        self.assertEqual(len(rpsim.packet_rows(srv, req["mch_billno"])), 1)
        self.assertEqual(rpsim.send_debits(srv, req["mch_billno"]), [-300])


if __name__ == "__main__":
    unittest.main()
