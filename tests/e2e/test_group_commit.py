"""Group commit (issue 10 part 2): requests ready in the same event-loop turn
share one transaction, each answered only after it commits.

To make "the same turn" deterministic, the server is stopped (SIGSTOP) while
16 clients write their requests, then continued: all 16 sockets are readable
in its first turn. Counts from /metrics, never timings.
"""
import os
import re
import signal
import unittest

from harness import answers, contract, control, probe, wire
from harness.cases import E2ETestCase

N = 16


def commit_stats(srv):
    st, _, raw = control.admin(srv, "GET", "/metrics")
    assert st == 200, raw
    text = raw.decode()
    commits = int(re.search(r"^redpack_store_commits_total (\d+)$", text, re.M).group(1))
    units = int(re.search(r"^redpack_store_units_total (\d+)$", text, re.M).group(1))
    return commits, units


class GroupCommit(E2ETestCase):

    def burst(self, srv, requests):
        """Sends each (fields) on its own connection while the server is stopped."""
        conns = [wire.Connection(srv) for _ in requests]
        try:
            for c in conns:
                c.conn.connect()  # the TLS handshake, before the stop
            os.kill(srv.proc.pid, signal.SIGSTOP)
            try:
                for c, req in zip(conns, requests):
                    f = dict(req, sign=wire.sign(req, srv.key(req["mch_id"])))
                    c.conn.request("POST", contract.GROUP_PATH, body=wire.build_xml(f),
                                   headers=contract.PHP_HEADERS)
            finally:
                os.kill(srv.proc.pid, signal.SIGCONT)
            return [c.conn.getresponse().read() for c in conns]
        finally:
            for c in conns:
                c.close()

    def test_one_commit_for_a_turn_of_sends(self):
        srv = self.start_server()
        reqs = [wire.group_request(re_openid=wire.new_openid()) for _ in range(N)]
        c0, u0 = commit_stats(srv)
        bodies = self.burst(srv, reqs)
        c1, u1 = commit_stats(srv)
        for req, body in zip(reqs, bodies):
            self.assertEqual(answers.answer_dict(body)["err_code"], "SUCCESS", body)
            self.assertEqual(len(probe.packet_rows(srv, req["mch_billno"])), 1)
        self.assertGreaterEqual(u1 - u0, N)
        # All N were readable in one turn; a sweep may add a commit of its own.
        self.assertLessEqual(c1 - c0, 3, "commits %d for %d units" % (c1 - c0, u1 - u0))

    def test_mixed_turn_keeps_every_rule(self):
        # Balance for four packets; seven billnos, one of them sent twice, all in
        # one turn: exactly four issued, the rest held, the twin one packet.
        srv = self.start_server(fixtures=contract.fixtures_with(balance=300 * 4))
        dup = wire.group_request(re_openid=wire.new_openid())
        reqs = ([wire.group_request(re_openid=wire.new_openid()) for _ in range(6)]
                + [dup, dict(dup, nonce_str=wire.new_nonce())])
        bodies = self.burst(srv, reqs)
        replies = [answers.answer_dict(b) for b in bodies]
        self.assertEqual(replies[-1]["err_code"] == "SUCCESS", replies[-2]["err_code"] == "SUCCESS")
        if replies[-1]["err_code"] == "SUCCESS":
            self.assertEqual(replies[-1]["send_listid"], replies[-2]["send_listid"])
        self.assertEqual(len(probe.packet_rows(srv, dup["mch_billno"])), 1)
        sent = probe.query(srv, "SELECT COUNT(*) FROM packets WHERE status = 'SENT'")[0][0]
        self.assertEqual(sent, 4)
        self.assertEqual(probe.balance(srv), 0)
        for a in replies:
            self.assertIn(a["err_code"], ("SUCCESS", "NOTENOUGH", "SEND_FAILED"), a)

if __name__ == "__main__":
    unittest.main(verbosity=2)
