#!/usr/bin/env python3
"""Every acknowledged packet survives a crash.

Client threads stream distinct sends (and a few replays of acknowledged ones) at a
server on a database file; the server is killed with SIGKILL at a random moment
(seeded: REDPACK_TEST_SEED, default below) and restarted on the same file with the
same --seed, several times. Afterwards:
  - every request answered SUCCESS, resent identically, gets the byte-identical
    original answer (same send_listid), is exactly one packet with one send debit;
  - every request that got no answer exists at most once and whole (shares sum to
    the total, a debit iff issued), and resending it now succeeds;
  - the database holds no packet nobody asked for, and every invariant holds.
The figures are printed for docs/reliability.md.
"""

import collections
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import unittest

from harness import answers, contract, control, probe, process, wire
from harness.cases import E2ETestCase
from harness.contract import GROUP_PATH, LOAD_APPID, LOAD_MCH_ID

SEED = int(os.environ.get("REDPACK_TEST_SEED", "20240605"))
CYCLES = 6          # SIGKILLs; the server is started CYCLES + 1 times
THREADS = 8
MIN_ANSWERS = 20    # answered requests in a cycle before the kill may come
KILL_AFTER = (0.2, 1.2)  # then the kill comes this many seconds later (seeded)


def report(msg):
    sys.stdout.write("[figure] %s\n" % msg)
    sys.stdout.flush()


Record = collections.namedtuple("Record", "req body")


class Stream:
    """Shared state of the client threads of one cycle."""

    def __init__(self, srv, cycle, acked):
        self.srv = srv
        self.cycle = cycle
        self.acked = acked            # list of (Record, answer) from earlier cycles (read-only)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered = []            # (Record, answer bytes) of new requests
        self.unanswered = []          # Record of new requests without an answer
        self.replays = 0
        self.inflight = 0             # unanswered new requests that were written to a connection
        self.replay_mismatch = []
        self.errors = []


def new_record(srv, rng):
    n = rng.randint(3, 10)
    req = wire.group_request(mch_id=LOAD_MCH_ID, wxappid=LOAD_APPID, send_name="压测商户",
                                      re_openid=wire.new_openid(), total_num=n,
                                      total_amount=n * rng.randint(100, 2000))
    req["sign"] = wire.sign(req, srv.key(LOAD_MCH_ID))
    return Record(req, wire.build_xml(req))


def client(stream, tid):
    rng = random.Random(SEED * 1000 + stream.cycle * 10 + tid)
    srv = stream.srv
    conn = None
    try:
        while not stream.stop.is_set():
            replay = stream.acked and rng.random() < 0.1
            if replay:
                rec, original = stream.acked[rng.randrange(len(stream.acked))]
            else:
                rec, original = new_record(srv, rng), None
            stage = "connect"
            try:
                if conn is None:
                    conn = wire.Connection(srv, cert=LOAD_MCH_ID, timeout=10)
                stage = "request"
                resp = conn.post(GROUP_PATH, rec.body, contract.PHP_HEADERS)
            except Exception:  # the server was killed under this request (or before it)
                if conn is not None:
                    conn.close()
                    conn = None
                if not replay:
                    with stream.lock:
                        stream.unanswered.append(rec)
                        if stage == "request":
                            stream.inflight += 1
                if not srv.alive():
                    return
                time.sleep(0.01)
                continue
            with stream.lock:
                if replay:
                    stream.replays += 1
                    if resp.body != original:
                        stream.replay_mismatch.append((rec.req["mch_billno"], original, resp.body))
                else:
                    stream.answered.append((rec, resp.body))
            if rng.random() < 0.15:  # a mix of fresh handshakes and keep-alive
                conn.close()
                conn = None
    except BaseException as e:  # a bug in the test itself
        with stream.lock:
            stream.errors.append(repr(e))
    finally:
        if conn is not None:
            conn.close()


class Durability(E2ETestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="redpack-e2e-crash-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db_path = os.path.join(self.dir, "redpack.db")

    def server(self):
        srv = process.Server(db_file=self.db_path, seed=42)
        srv.start()
        return srv

    def load_state(self, srv):
        """{billno: (status, total, num, send_listid, shares count, shares sum, [debits])}."""
        conn = probe.db(srv)
        try:
            conn.execute("BEGIN")
            out = {}
            for billno, status, total, num, sl, cnt, ssum in conn.execute(
                    "SELECT p.mch_billno, p.status, p.total_amount, p.total_num, p.send_listid, "
                    "(SELECT COUNT(*) FROM shares s WHERE s.packet_id = p.id), "
                    "(SELECT COALESCE(SUM(s.amount), 0) FROM shares s WHERE s.packet_id = p.id) "
                    "FROM packets p WHERE p.mch_id = ?", (LOAD_MCH_ID,)):
                out[billno] = [status, total, num, sl, cnt, ssum, []]
            for billno, amount in conn.execute(
                    "SELECT p.mch_billno, l.amount FROM ledger l JOIN packets p ON p.id = l.packet_id "
                    "WHERE l.kind = 'send' AND p.mch_id = ? ORDER BY l.id", (LOAD_MCH_ID,)):
                out[billno][6].append(amount)
            conn.execute("COMMIT")
            return out
        finally:
            conn.close()

    def assertWhole(self, billno, row, total, num):
        status, t, n, sl, cnt, ssum, debits = row
        self.assertEqual((t, n), (total, num), billno)
        if status == "SENT":
            self.assertEqual((cnt, ssum), (num, total), "%s: shares of a SENT packet" % billno)
            self.assertEqual(debits, [-total], "%s: debits of a SENT packet" % billno)
            self.assertRegex(sl, contract.SEND_LISTID_RE)
        else:
            self.assertEqual(status, "SENDING", billno)
            self.assertEqual((cnt, debits), (0, []), "%s: a SENDING packet with shares or debits"
                             % billno)

    def test_acknowledged_packets_survive_sigkill(self):
        master = random.Random(SEED)
        acked = []          # (Record, answer) with SUCCESS
        unanswered = []     # Record
        answered_total = replays_total = inflight_total = 0
        per_cycle = []
        for cycle in range(CYCLES):
            srv = self.server()
            stream, threads = None, []
            try:
                if acked:  # what was acknowledged before the last crash is there
                    state = self.load_state(srv)
                    missing = [r.req["mch_billno"] for r, _ in acked if r.req["mch_billno"] not in state]
                    self.assertEqual(missing, [], "cycle %d: acknowledged packets lost in the crash"
                                     % cycle)
                stream = Stream(srv, cycle, list(acked))
                threads = [threading.Thread(target=client, args=(stream, i), daemon=True)
                           for i in range(THREADS)]
                for t in threads:
                    t.start()
                t0 = time.monotonic()
                while time.monotonic() - t0 < 60:
                    with stream.lock:
                        if len(stream.answered) >= MIN_ANSWERS or stream.errors:
                            break
                    srv.check_alive()
                    time.sleep(0.01)
                delay = master.uniform(*KILL_AFTER)
                time.sleep(delay)
                srv.check_alive()
            finally:
                srv.kill9()
                if stream is not None:
                    stream.stop.set()
                for t in threads:
                    t.join(timeout=60)
            self.assertEqual(stream.errors, [])
            self.assertFalse(any(t.is_alive() for t in threads), "client threads hang")
            self.assertEqual(stream.replay_mismatch[:3], [],
                             "a replay of an acknowledged billno answered differently")
            codes = collections.Counter(answers.answer_dict(a)["err_code"] for _, a in stream.answered)
            self.assertEqual(set(codes), {"SUCCESS"}, "cycle %d answers: %s" % (cycle, codes))
            acked.extend(stream.answered)
            unanswered.extend(stream.unanswered)
            answered_total += len(stream.answered)
            replays_total += stream.replays
            inflight_total += stream.inflight
            per_cycle.append("%d+%d/%d" % (len(stream.answered), stream.replays, len(stream.unanswered)))

        # The last restart: check everything.
        srv = self.server()
        try:
            state = self.load_state(srv)
            acked_billnos = {r.req["mch_billno"] for r, _ in acked}
            unanswered_billnos = {r.req["mch_billno"] for r in unanswered}
            self.assertEqual(len(acked_billnos), len(acked))
            self.assertFalse(acked_billnos & unanswered_billnos)
            stray = set(state) - acked_billnos - unanswered_billnos
            self.assertEqual(stray, set(), "packets nobody asked for")
            for rec, answer in acked:
                billno = rec.req["mch_billno"]
                self.assertIn(billno, state, "acknowledged %s is lost" % billno)
                row = state[billno]
                self.assertEqual(row[0], "SENT", billno)
                self.assertEqual(row[3], answers.answer_dict(answer)["send_listid"], billno)
                self.assertWhole(billno, row, int(rec.req["total_amount"]), int(rec.req["total_num"]))
            existed = 0
            for rec in unanswered:
                billno = rec.req["mch_billno"]
                if billno in state:
                    existed += 1
                    self.assertWhole(billno, state[billno], int(rec.req["total_amount"]),
                                     int(rec.req["total_num"]))

            # Resend everything, identically, on a few keep-alive connections.
            jobs = [(rec, answer) for rec, answer in acked] + [(rec, None) for rec in unanswered]
            results = [None] * len(jobs)

            def resend(k):
                with wire.Connection(srv, cert=LOAD_MCH_ID, timeout=60) as conn:
                    for j in range(k, len(jobs), THREADS * 2):
                        results[j] = conn.post(GROUP_PATH, jobs[j][0].body, contract.PHP_HEADERS)

            threads = [threading.Thread(target=resend, args=(k,)) for k in range(THREADS * 2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
            self.assertTrue(all(r is not None for r in results), "resends did not all complete")
            for (rec, answer), resp in zip(jobs, results):
                if answer is not None:
                    if resp.body != answer:
                        self.fail("resent %s: answer differs from the acknowledged one\n--- then "
                                  "---\n%s\n--- now ---\n%s" % (rec.req["mch_billno"],
                                                             answer.decode(), resp.body.decode()))
                    self.assertEqual(resp.status, 200)
                else:
                    sl = self.assertSuccess(resp, rec.req)
                    row = state.get(rec.req["mch_billno"])
                    if row is not None:
                        self.assertEqual(sl, row[3], "an unanswered request that was issued "
                                         "answers with another send_listid")
            # gethbinfo tells the same story: every acknowledged packet SENT,
            # its detail_id the send_listid the merchant was given.
            with wire.Connection(srv, cert=LOAD_MCH_ID, timeout=60) as conn:
                for rec, answer in acked:
                    billno = rec.req["mch_billno"]
                    q = wire.query_request(billno, mch_id=LOAD_MCH_ID, appid=LOAD_APPID)
                    info = answers.answer_dict(wire.call(srv, "gethbinfo", q, conn=conn).body)
                    self.assertEqual(info["err_code"], "SUCCESS", billno)
                    self.assertEqual(info["status"], "SENT", billno)
                    self.assertEqual(info["detail_id"], answers.answer_dict(answer)["send_listid"])
            after = self.load_state(srv)
            for rec, _ in jobs:
                billno = rec.req["mch_billno"]
                self.assertEqual(after[billno][0], "SENT")
                self.assertWhole(billno, after[billno], int(rec.req["total_amount"]),
                                 int(rec.req["total_num"]))
            self.assertEqual(len(after), len(jobs))
            n_debits = probe.query(srv, "SELECT COUNT(*) FROM ledger WHERE kind = 'send' AND mch_id = ?",
                                   (LOAD_MCH_ID,))[0][0]
            self.assertEqual(n_debits, len(jobs))
            total = sum(int(rec.req["total_amount"]) for rec, _ in jobs)
            self.assertEqual(probe.balance(srv, LOAD_MCH_ID),
                             srv.merchant(LOAD_MCH_ID)["balance"] - total)
            probe.check_invariants(srv)
            control.check(srv)
            control.ctl_check(srv)
        finally:
            srv.stop()
        report("durability (seed %d): %d SIGKILL cycles, %d server starts; %d requests sent, "
               "%d answered (%d new, all SUCCESS, + %d replays), %d without an answer "
               "(%d cut in flight, the rest refused at connect; %d of them had been issued, "
               "the rest never written); per cycle new+replays/"
               "unanswered: %s; after the last restart all %d acknowledged packets replay "
               "byte-identically"
               % (SEED, CYCLES, CYCLES + 1, answered_total + replays_total + len(unanswered),
                  answered_total + replays_total, answered_total, replays_total, len(unanswered),
                  inflight_total, existed, " ".join(per_cycle), len(acked)))
        self.assertGreaterEqual(len(acked), CYCLES * MIN_ANSWERS)


if __name__ == "__main__":
    unittest.main()
