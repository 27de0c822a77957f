#!/usr/bin/env python3
"""The business clock at its edges (issue 9 parts 2, 4 and 7): no clock past what the wire
can show, every timed step at its due time whatever the jump, and a clock move on a full
database that says what failed."""

import unittest

from harness import answers, contract, control, probe, process, wire
from harness.cases import E2ETestCase, LifecycleCase, sqlite_only
from harness.contract import SEED_OPENID


DAY = 86400
LATEST_TEXT = "9999-11-30T00:00:00+08:00"
LATEST = contract.iso_epoch(LATEST_TEXT)
FAULTS = "/admin/v1/faults"


def move(srv, **body):
    st, doc, raw = control.admin(srv, "POST", "/admin/v1/clock", body)
    return st, doc


class ClockRange(LifecycleCase):
    def assertRefused(self, srv, before, **body):
        st, doc = move(srv, **body)
        self.assertEqual(st, 400, doc)
        self.assertIn(LATEST_TEXT, doc["error"])
        self.assertIn(contract.beijing_iso(before)[:10], doc["error"], "the range starts at the clock")
        self.assertEqual(control.clock(srv)["offset_seconds"] >= 0, True)
        return doc

    def assertSendsDated(self, srv):
        """A send answers SUCCESS with a 31-digit send_listid of today's Beijing date."""
        req = self.group(srv)
        row = probe.packet_rows(srv, req["mch_billno"])[0]
        m = contract.SEND_LISTID_RE.fullmatch(row[7])
        self.assertIsNotNone(m, row[7])
        self.assertEqual(len(row[7]), 31)
        self.assertEqual(m.group(1), contract.beijing_ymd(control.clock(srv)["epoch"]))
        return req

    def test_past_latest_is_refused(self):
        srv = self.start_server()
        now = control.clock(srv)["epoch"]
        for text in ("9999-12-31T23:59:00+08:00", "9999-11-30T00:00:01+08:00",
                     "9999-11-29T23:00:00-08:00"):
            with self.subTest(now=text):
                self.assertRefused(srv, now, now=text)
                self.assertLess(control.clock(srv)["epoch"], now + 60, "a refused move moved")
        self.assertSendsDated(srv)
        # The latest second itself is allowed; the clock then answers and sends work.
        st, doc = move(srv, now=LATEST_TEXT)
        self.assertEqual(st, 200, doc)
        control.check_clock_doc(doc)
        self.assertGreaterEqual(doc["epoch"], LATEST)
        req = self.assertSendsDated(srv)
        self.assertTrue(probe.packet_rows(srv, req["mch_billno"])[0][7][10:18].startswith("9999"))
        self.assertRefused(srv, LATEST, advance_seconds=DAY)

    def test_repeated_advance_stops_at_the_bound(self):
        srv = self.start_server()
        step = 100 * 365 * DAY
        refused = None
        for i in range(100):
            st, doc = move(srv, advance_seconds=step)
            if st != 200:
                refused = (st, doc)
                break
            control.check_clock_doc(doc)
        self.assertIsNotNone(refused, "100 moves of 100 years were all accepted")
        self.assertEqual(refused[0], 400, refused)
        self.assertIn(LATEST_TEXT, refused[1]["error"])
        doc = control.clock(srv)
        self.assertLessEqual(doc["epoch"], LATEST)
        self.assertTrue(doc["now"].startswith("99"), doc)
        # Up to the bound by smaller steps, then nothing further.
        st, doc = move(srv, advance_seconds=LATEST - doc["epoch"] - 5)
        self.assertEqual(st, 200, doc)
        control.check_clock_doc(doc)
        st, doc = move(srv, advance_seconds=3600)
        self.assertEqual(st, 400, doc)
        self.assertSendsDated(srv)


class StoredOffset(E2ETestCase):
    @sqlite_only("the refusal must name the database file's path (on PostgreSQL it names the URL)")
    def test_start_refuses_an_offset_out_of_range(self):
        path = self.temp_db("redpack-clock-")
        srv = process.Server(db_file=path)
        srv.start()
        srv.stop()
        probe.write_db(path, "INSERT OR REPLACE INTO meta (key, value) VALUES ('clock_offset', ?)",
                    (LATEST * 2,))
        srv = process.Server(db_file=path)
        with self.assertRaises(process.ServerError) as cm:
            srv.start()
        srv._kill()
        text = str(cm.exception)
        self.assertIn(path, text)
        self.assertIn(LATEST_TEXT, text)
        self.assertIn("clock_offset", text)


class DueTimes(LifecycleCase):
    def pending(self, srv, delay_ms=60000):
        """A group order left PROCESSING by a rule that settles it delay_ms later."""
        req = wire.fresh_group_request()
        rule = control.admin_ok(srv, "POST", FAULTS, {"match": {"mch_billno": req["mch_billno"]},
                                                "err_code": "PROCESSING", "delay_ms": delay_ms},
                          want=201)
        self.assertEqual(answers.answer(wire.call(srv, "sendgroupredpack", req))["err_code"], "PROCESSING")
        control.admin_ok(srv, "DELETE", "%s/%d" % (FAULTS, rule["id"]))
        return req

    def test_one_jump_settles_expires_and_refunds_at_their_due_times(self):
        delay = 3600
        srv = self.start_server(args=["--refund-delay", str(delay)])
        control.to_noon(srv)
        req = self.pending(srv)
        billno = req["mch_billno"]
        created = probe.query(srv, "SELECT created_at, settle_at FROM packets WHERE mch_billno = ?",
                              (billno,))[0]
        self.assertEqual(created[1], created[0] + 60)
        control.advance(srv, 10 * DAY)
        p = probe.db_packet(srv, billno)
        self.assertEqual(p["status"], "REFUND", p)
        self.assertEqual(p["send_time"], created[1], "settled at settle_at, not at the jump")
        self.assertEqual(p["refund_time"], created[1] + DAY + delay)
        debits = probe.query(srv, "SELECT kind, amount, at FROM ledger WHERE packet_id = ?"
                             " ORDER BY id", (p["id"],))
        self.assertEqual([(k, a) for k, a, _ in debits], [("send", -300), ("refund", 300)])
        self.assertEqual([t for _, _, t in debits], [created[1], created[1] + DAY + delay])
        self.claim_refused(srv, billno, SEED_OPENID, status="REFUND")
        q = answers.answer(wire.call(srv, "gethbinfo", wire.query_request(billno)))
        self.assertEqual(q["status"], "REFUND")
        self.assertEqual(q["send_time"], contract.beijing_text(created[1]))
        again = answers.answer(wire.call(srv, "sendgroupredpack", dict(req, nonce_str=wire.new_nonce())))
        self.assertEqual(again["err_code"], "SUCCESS")


@sqlite_only("a full database is --db-max-pages, SQLite's page cap")
class FullDatabase(LifecycleCase):
    def test_clock_move_reports_a_failing_step_and_the_rest_goes_on(self):
        path = self.temp_db("redpack-full-")
        srv = process.Server(db_file=path)
        srv.start()
        pages = probe.query(srv, "PRAGMA page_count")[0][0]
        srv.stop()
        srv = process.Server(db_file=path, args=["--db-max-pages", str(pages + 24)])
        srv.start()
        self.addCleanup(lambda: srv.stopped or srv.stop())
        sent = []
        for _ in range(1000):
            req = wire.group_request(re_openid=wire.new_openid())
            ans = answers.answer_dict(wire.send_group(srv, req).body)
            if ans["err_code"] != "SUCCESS":
                self.assertEqual(ans["err_code"], "SYSTEMERROR", ans)
                break
            sent.append(req["mch_billno"])
        self.assertGreater(len(sent), 0)
        self.assertLess(len(sent), 1000, "the database never filled")
        print("full database: %d sends fit" % len(sent))
        before = control.clock(srv)["offset_seconds"]
        st, doc, raw = control.admin(srv, "POST", "/admin/v1/clock", {"advance_seconds": 3 * DAY})
        self.assertEqual(st, 500, raw)
        self.assertIn(doc["step"], ("expire", "refund"), doc)
        self.assertIn("full", doc["sqlite"])
        self.assertIs(doc["moved"], True)
        self.assertGreaterEqual(doc["failed"], 1)
        self.assertGreaterEqual(control.clock(srv)["offset_seconds"], before + 3 * DAY)
        # The steps that fit were kept though others failed.
        statuses = {r[0] for r in probe.query(srv, "SELECT status FROM packets WHERE mch_billno"
                                              " IN (%s)" % ",".join("?" * len(sent)), sent)}
        self.assertTrue(statuses & {"RFUND_ING", "REFUND"}, statuses)
        srv.stop()
        # With room again, the start-up sweep refunds them at their due time.
        srv = process.Server(db_file=path)
        srv.start()
        self.addCleanup(lambda: srv.stopped or srv.stop())
        rows = probe.query(srv, "SELECT status, refund_time - send_time FROM packets WHERE"
                           " mch_billno IN (%s)" % ",".join("?" * len(sent)), sent)
        self.assertEqual({r for r in rows}, {("REFUND", DAY)})
        srv.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
