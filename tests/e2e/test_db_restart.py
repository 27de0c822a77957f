#!/usr/bin/env python3
"""PostgreSQL restarted under load (issue 14 part 4): requests in flight get the
real service's SYSTEMERROR answer, never a half-written packet; the server
reconnects by itself and service resumes; a send answered SYSTEMERROR can be
sent again and makes one packet. And a database that keeps a send waiting
never holds up the front end (handoff.h): new TLS connections and the pages
the front end answers itself go on meanwhile.

PostgreSQL only (ctest's e2e_pg_db_restart); on a cluster of its own
(scripts/pg-throwaway.sh), so its restart disturbs no other test."""

import os
import subprocess
import tempfile
import threading
import time
import unittest

from harness import answers, pgdb, probe, wire
from harness.cases import E2ETestCase
from harness.process import Server

THROWAWAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                         "pg-throwaway.sh")
SENDERS = 8
OUTAGE_SECONDS = 2


@unittest.skipUnless(pgdb.enabled(), "a PostgreSQL restart needs the PostgreSQL store "
                     "(REDPACK_E2E_DB=postgresql: ctest's e2e_pg_db_restart)")
class PostgresRestart(E2ETestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="redpack-pgr-")
        self.cluster = os.path.join(self.dir, "pg")
        self.url = subprocess.run(["bash", THROWAWAY, "start", self.cluster], check=True,
                                  capture_output=True, text=True, timeout=120).stdout.strip()
        self.addCleanup(subprocess.run, ["bash", THROWAWAY, "stop", self.cluster],
                        capture_output=True, timeout=120)
        self.addCleanup(pgdb.close_sessions, self.url)

    def send_until_success(self, srv, req, deadline):
        while True:
            ans = answers.answer_dict(wire.send_group(srv, req).body)
            if ans.get("err_code") == "SUCCESS" or time.monotonic() > deadline:
                return ans
            time.sleep(0.1)

    def test_restart_under_load(self):
        srv = Server(args=["--db", self.url])
        srv.start()
        self.addCleanup(lambda: srv.stopped or srv.stop())
        srv.db_path = self.url  # the probes look at this cluster's database
        results = []  # (billno, err_code)
        lock = threading.Lock()
        stop = threading.Event()
        transport = []

        def sender():
            while not stop.is_set():
                req = wire.group_request(re_openid=wire.new_openid())
                try:
                    resp = wire.send_group(srv, req)
                except Exception as e:  # the server must keep answering
                    transport.append(repr(e))
                    return
                self.assertEqual(resp.status, 200, resp.body[:300])
                ans = answers.answer_dict(resp.body)
                with lock:
                    results.append((req, resp, ans.get("err_code")))

        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        subprocess.run(["bash", THROWAWAY, "restart", self.cluster, str(OUTAGE_SECONDS)],
                       check=True, capture_output=True, timeout=120)
        restarted = time.monotonic()
        # Service resumes by itself: a fresh send succeeds within 15 s.
        req = wire.group_request(re_openid=wire.new_openid())
        ans = self.send_until_success(srv, req, restarted + 15)
        self.assertEqual(ans.get("err_code"), "SUCCESS", ans)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(transport, [], "connections failed instead of answering")

        codes = {}
        for _, _, code in results:
            codes[code] = codes.get(code, 0) + 1
        print("answers around the restart: %s" % codes)
        self.assertEqual(set(codes) - {"SUCCESS", "SYSTEMERROR"}, set(), codes)
        self.assertIn("SYSTEMERROR", codes, "the outage was never seen")
        self.assertIn("SUCCESS", codes)
        for req, resp, code in results:
            rows = probe.packet_rows(srv, req["mch_billno"])
            if code == "SUCCESS":
                self.assertSuccess(resp, req)
                self.assertEqual(len(rows), 1, req["mch_billno"])
            else:
                self.assertErr(resp, req, "SYSTEMERROR", "请求已受理，请稍后使用原单号查询发放结果")
                self.assertLessEqual(len(rows), 1, req["mch_billno"])
        # A send answered SYSTEMERROR, sent again, is one packet.
        failed = [req for req, _, code in results if code == "SYSTEMERROR"][:5]
        for req in failed:
            self.assertEqual(answers.answer_dict(wire.send_group(srv, req).body)["err_code"],
                             "SUCCESS")
            self.assertEqual(len(probe.packet_rows(srv, req["mch_billno"])), 1)
        probe.check_invariants(srv)
        probe.conservation(srv)


# The advisory lock every writing transaction takes (store_pg.h).
PGSTORE_LOCK_WRITE = 0x7265647061636b00 + 1


@unittest.skipUnless(pgdb.enabled(), "the store's own thread serves the PostgreSQL store "
                     "(REDPACK_E2E_DB=postgresql: ctest's e2e_pg_db_restart)")
class WaitingDatabase(E2ETestCase):
    def test_front_end_serves_while_a_send_waits_on_the_database(self):
        # A request's deadline is for the client's bytes, not the store's
        # time: this send waits on the lock longer than it.
        srv = Server(args=["--request-timeout", "1"])
        srv.start()
        self.addCleanup(lambda: srv.stopped or srv.stop())
        self.assertTrue(pgdb.is_url(srv.db_path), srv.db_path)
        holder = pgdb.Session(srv.db_path)
        self.addCleanup(holder.close)
        # Another session holds the writers' lock: the send waits for it.
        holder.run("SELECT pg_advisory_lock(%d)" % PGSTORE_LOCK_WRITE)
        req = wire.group_request(re_openid=wire.new_openid())
        sent = {}

        def send():
            sent["resp"] = wire.send_group(srv, req)
            sent["at"] = time.monotonic()

        sender = threading.Thread(target=send)
        started = time.monotonic()
        sender.start()
        try:
            time.sleep(0.5)  # the send is on the store's side, waiting
            self.assertTrue(sender.is_alive(), "the send did not wait for the lock")
            # Meanwhile: fresh handshakes, and the front end's own pages.
            for _ in range(3):
                page = wire.post(srv, "/mmpaymkttransfers/nosuchpath", "<xml></xml>")
                self.assertEqual(page.status, 404, page.body[:200])
                page = wire.request(srv, "GET", "/mmpaymkttransfers/sendgroupredpack")
                self.assertEqual(page.status, 405, page.body[:200])
            self.assertTrue(sender.is_alive(),
                            "the front end answered only after the database let go")
            time.sleep(max(0.0, started + 2.0 - time.monotonic()))
            self.assertTrue(sender.is_alive(), "the send's connection ended while it waited")
        finally:
            holder.run("SELECT pg_advisory_unlock(%d)" % PGSTORE_LOCK_WRITE)
            sender.join(timeout=60)
        self.assertIn("resp", sent, "the send never came back")
        self.assertSuccess(sent["resp"], req)
        self.assertEqual(len(probe.packet_rows(srv, req["mch_billno"])), 1)


if __name__ == "__main__":
    unittest.main()
