#!/usr/bin/env python3
"""A packet's life after the send (CONTRACT.md "Lifecycle (issue 4)"): claims, expiry,
refunds, held orders failing, the business clock, restarts in the middle."""

import time
import unittest

from harness import answers, contract, control, probe, wire
from harness.cases import LifecycleCase
from harness.contract import DAY, DES, EXPIRY, MCH_ID, SEED_OPENID


INITIAL = contract.FIXTURE_BALANCES[MCH_ID]


def one_per_day_fixtures():
    return contract.fixtures_with(limits={"packets_per_user_per_day": 1})


# ---------------------------------------------------------------------------
# Status transitions
# ---------------------------------------------------------------------------


class Transitions(LifecycleCase):
    def test_held_sending_fails_after_24h(self):
        srv = self.start_server(fixtures=one_per_day_fixtures())
        control.to_noon(srv)
        self.group(srv)
        req = wire.group_request()
        resp = wire.send_group(srv, req)
        self.assertErr(resp, req, "SENDNUM_LIMIT", "sendnum")
        billno = req["mch_billno"]
        p, ans, hb = self.assertQuery(srv, billno, status="SENDING")
        self.assertEqual(ans["reason"], DES["sendnum"])
        self.assertEqual(p["send_time"], None)
        self.assertEqual(ans["send_time"], contract.beijing_text(p["created_at"]))
        self.assertEqual(hb, [])
        self.claim_refused(srv, billno, SEED_OPENID, status="SENDING")

        control.advance(srv, EXPIRY - 600)
        self.assertQuery(srv, billno, status="SENDING")
        control.advance(srv, 600)
        p2, ans, hb = self.assertQuery(srv, billno, status="FAILED")
        self.assertEqual(ans["reason"], DES["sendnum"])          # the reason is kept
        self.assertEqual(p2["created_at"], p["created_at"])
        self.assertEqual(ans["send_time"], contract.beijing_text(p["created_at"]))
        self.assertNotIn("refund_time", ans)
        self.claim_refused(srv, billno, SEED_OPENID, status="FAILED")
        # A resend of the failed billno, a day old: expired, nothing changes.
        bal = probe.balance(srv)
        resp = wire.send_group(srv, dict(req, nonce_str=wire.new_nonce()))
        self.assertErr(resp, req, "SEND_FAILED", "expired")
        self.assertEqual(probe.balance(srv), bal)
        self.assertEqual(probe.db_packet(srv, billno)["ledger"], [])

    def test_sent_to_received(self):
        srv = self.start_server()
        req = self.group(srv, total_amount=900, total_num=3)
        billno = req["mch_billno"]
        sl = probe.db_packet(srv, billno)["send_listid"]
        a = self.claim_ok(srv, billno, SEED_OPENID, status="SENT")
        self.assertEqual(a["seq"], 0)
        b = self.claim_ok(srv, billno, wire.new_openid(), status="SENT")
        self.assertEqual(b["seq"], 1)
        c = self.claim_ok(srv, billno, wire.new_openid(), status="RECEIVED")
        self.assertEqual(c["seq"], 2)
        self.assertEqual(a["amount"] + b["amount"] + c["amount"], 900)
        self.assertEqual([a["amount"], b["amount"], c["amount"]], probe.shares_of(srv, billno))
        self.assertQuery(srv, billno, status="RECEIVED")
        self.claim_refused(srv, billno, wire.new_openid(), status="RECEIVED")
        # Never refunded: two days later still RECEIVED, no refund row.
        control.advance(srv, 2 * DAY)
        p, ans, hb = self.assertQuery(srv, billno, status="RECEIVED")
        self.assertEqual(len(hb), 3)
        self.assertEqual([l["kind"] for l in p["ledger"]], ["send"])
        self.assertEqual(probe.balance(srv), INITIAL - 900)
        # A resend answers the original success.
        resp = wire.send_group(srv, dict(req, nonce_str=wire.new_nonce()))
        self.assertSendSuccess(resp, req, srv, replay_of=sl)

    def test_sent_rfund_ing_refund_with_delay(self):
        srv = self.start_server(args=["--refund-delay", "3600"])
        req = self.group(srv, total_amount=600, total_num=3)
        billno = req["mch_billno"]
        sl = self.claim_ok(srv, billno, SEED_OPENID)
        sent = probe.db_packet(srv, billno)
        self.assertEqual(sent["status"], "SENT")

        control.advance(srv, EXPIRY)
        p, ans, hb = self.assertQuery(srv, billno, status="RFUND_ING")
        self.assertNotIn("refund_time", ans)
        self.assertNotIn("refund_amount", ans)
        self.assertEqual(p["refund_time"], None)
        self.assertEqual(len(hb), 1)
        self.assertEqual(probe.balance(srv), INITIAL - 600)
        self.assertEqual([l["kind"] for l in p["ledger"]], ["send"])
        self.claim_refused(srv, billno, wire.new_openid(), status="RFUND_ING")
        # Resend of an RFUND_ING order: the original answer.
        listid = sent["send_listid"]
        resp = wire.send_group(srv, dict(req, nonce_str=wire.new_nonce()))
        self.assertSendSuccess(resp, req, srv, replay_of=listid)

        control.advance(srv, 1800)   # half the delay: still RFUND_ING
        self.assertQuery(srv, billno, status="RFUND_ING")
        control.advance(srv, 1800)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        unopened = 600 - sl["amount"]
        due = sent["send_time"] + EXPIRY + 3600
        self.assertEqual(p["refund_amount"], unopened)
        self.assertEqual(p["refund_time"], due)
        self.assertEqual(ans["refund_time"], contract.beijing_text(due))
        self.assertEqual(ans["refund_amount"], str(unopened))
        refunds = [l for l in p["ledger"] if l["kind"] == "refund"]
        self.assertEqual([(l["amount"], l["at"]) for l in refunds], [(unopened, due)])
        self.assertEqual(probe.balance(srv), INITIAL - 600 + unopened)
        self.claim_refused(srv, billno, wire.new_openid(), status="REFUND")
        resp = wire.send_group(srv, dict(req, nonce_str=wire.new_nonce()))
        self.assertSendSuccess(resp, req, srv, replay_of=listid)
        # Later sweeps change nothing.
        control.advance(srv, 3 * DAY)
        p2 = probe.db_packet(srv, billno)
        self.assertEqual((p2["status"], p2["refund_time"], p2["refund_amount"], p2["ledger"]),
                         ("REFUND", due, unopened, p["ledger"]))

    def test_refund_without_delay_is_the_same_sweep(self):
        srv = self.start_server()
        req = self.group(srv, total_amount=500, total_num=5)
        billno = req["mch_billno"]
        sent = probe.db_packet(srv, billno)
        control.advance(srv, EXPIRY - 300)
        self.assertQuery(srv, billno, status="SENT")
        control.advance(srv, 300)
        # The sweep right after the clock moved: REFUND already, RFUND_ING never seen.
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        self.assertEqual(hb, [])
        self.assertEqual(p["refund_amount"], 500)
        self.assertEqual(p["refund_time"], sent["send_time"] + EXPIRY)
        self.assertEqual(probe.balance(srv), INITIAL)

    def test_refund_after_partial_opening(self):
        srv = self.start_server()
        req = self.group(srv, total_amount=2000, total_num=5)
        billno = req["mch_billno"]
        opened = 0
        for who in (SEED_OPENID, wire.new_openid(), wire.new_openid()):
            opened += self.claim_ok(srv, billno, who, status="SENT")["amount"]
        shares = probe.shares_of(srv, billno)
        self.assertEqual(opened, sum(shares[:3]))
        unopened = sum(shares[3:])
        self.assertEqual(probe.balance(srv), INITIAL - 2000)
        control.advance(srv, EXPIRY + 60)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        self.assertEqual(p["refund_amount"], unopened)
        self.assertEqual(len(hb), 3)
        self.assertEqual(probe.balance(srv), INITIAL - 2000 + unopened)
        self.assertEqual([(l["kind"], l["amount"]) for l in p["ledger"]],
                         [("send", -2000), ("refund", unopened)])

    def test_periodic_sweep_refunds_without_a_request(self):
        # "Sweeps run ... every second": with --refund-delay 3 the REFUND lands while
        # nobody touches the clock.
        srv = self.start_server(args=["--refund-delay", "3"])
        req = self.group(srv)
        sent = probe.db_packet(srv, req["mch_billno"])
        control.advance(srv, EXPIRY)
        p = probe.db_packet(srv, req["mch_billno"])
        if control.clock(srv)["epoch"] < sent["send_time"] + EXPIRY + 2:
            self.assertEqual(p["status"], "RFUND_ING")
        deadline = time.monotonic() + 15
        while p["status"] != "REFUND" and time.monotonic() < deadline:
            time.sleep(0.2)
            p = probe.db_packet(srv, req["mch_billno"])
        self.assertEqual(p["status"], "REFUND")
        self.assertEqual((p["refund_time"], p["refund_amount"]),
                         (sent["send_time"] + EXPIRY + 3, 300))
        self.assertQuery(srv, req["mch_billno"], status="REFUND")

    def test_many_packets_expire_together(self):
        # Several packets of two merchants in one sweep, each refunded once.
        srv = self.start_server()
        billnos, first = [], None
        for i in range(6):
            req = self.group(srv, re_openid=wire.new_openid(), total_amount=300 + i, total_num=3)
            billnos.append((MCH_ID, req["mch_billno"]))
            first = first or req
        req = self.group(srv, mch_id=contract.MCH2_ID, wxappid=contract.MCH2_APPID,
                         re_openid=contract.MCH2_OPENID)
        billnos.append((contract.MCH2_ID, req["mch_billno"]))
        self.claim_ok(srv, first["mch_billno"], first["re_openid"])
        control.advance(srv, EXPIRY + 5)
        for mch, b in billnos:
            self.assertQuery(srv, b, mch_id=mch, status="REFUND")
        self.assertEqual(probe.balance(srv, contract.MCH2_ID), contract.FIXTURE_BALANCES[contract.MCH2_ID])


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


class Claims(LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_seed_user_first(self):
        billno = self.group(self.srv)["mch_billno"]
        other = wire.new_openid()
        self.claim_refused(self.srv, billno, other, status="SENT")
        self.assertEqual(probe.db_packet(self.srv, billno)["shares"][0]["openid"], None)
        first = self.claim_ok(self.srv, billno, SEED_OPENID, status="SENT")
        self.assertEqual((first["seq"], first["mch_id"]), (0, MCH_ID))
        self.assertEqual(first["amount"], probe.shares_of(self.srv, billno)[0])
        second = self.claim_ok(self.srv, billno, other, status="SENT")
        self.assertEqual(second["seq"], 1)
        self.assertQuery(self.srv, billno, status="SENT")

    def test_double_claim(self):
        billno = self.group(self.srv)["mch_billno"]
        self.claim_ok(self.srv, billno, SEED_OPENID)
        self.claim_refused(self.srv, billno, SEED_OPENID, status="SENT")
        u = wire.new_openid()
        self.claim_ok(self.srv, billno, u)
        self.claim_refused(self.srv, billno, u, status="SENT")
        p = probe.db_packet(self.srv, billno)
        self.assertEqual([s["openid"] for s in p["shares"]], [SEED_OPENID, u, None])

    def test_claim_after_expiry(self):
        billno = self.group(self.srv)["mch_billno"]
        self.claim_ok(self.srv, billno, SEED_OPENID)
        control.advance(self.srv, EXPIRY)
        doc = self.claim_refused(self.srv, billno, wire.new_openid())
        self.assertIn(doc["status"], ("RFUND_ING", "REFUND"))
        self.claim_refused(self.srv, billno, SEED_OPENID)
        p = probe.db_packet(self.srv, billno)
        self.assertEqual(sum(1 for s in p["shares"] if s["openid"]), 1)

    def test_claim_of_held_order(self):
        srv = self.start_server(fixtures=contract.fixtures_with(balance=100))
        control.to_noon(srv)
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "NOTENOUGH", "notenough")
        self.claim_refused(srv, req["mch_billno"], SEED_OPENID, status="SENDING")
        self.claim_refused(srv, req["mch_billno"], wire.new_openid(), status="SENDING")

    def test_claim_with_mch_id_and_ambiguous_billno(self):
        billno = wire.new_billno()
        self.group(self.srv, mch_billno=billno)
        self.group(self.srv, mch_billno=billno, mch_id=contract.MCH2_ID, wxappid=contract.MCH2_APPID,
                   re_openid=contract.MCH2_OPENID)
        self.claim_refused(self.srv, billno, SEED_OPENID)      # which merchant?
        self.claim_ok(self.srv, billno, SEED_OPENID, mch_id=MCH_ID)
        self.claim_ok(self.srv, billno, contract.MCH2_OPENID, mch_id=contract.MCH2_ID)
        self.claim_refused(self.srv, billno, wire.new_openid(), http_status=404,
                           mch_id="10000100")
        self.assertEqual(probe.db_packet(self.srv, billno, contract.MCH2_ID)["shares"][0]["openid"],
                         contract.MCH2_OPENID)

    def test_claims_count_against_daily_packet_limit(self):
        srv = self.start_server(fixtures=one_per_day_fixtures())
        control.to_noon(srv)
        u, v, w = wire.new_openid(), wire.new_openid(), wire.new_openid()
        g1 = self.group(srv)["mch_billno"]
        # The seed user was counted at send time: opening their own share is not refused.
        self.claim_ok(srv, g1, SEED_OPENID)
        self.claim_ok(srv, g1, u)                 # u: one share today
        g2 = self.group(srv, re_openid=v)["mch_billno"]
        self.claim_ok(srv, g2, v)
        self.claim_refused(srv, g2, u, status="SENT", err_code="SENDNUM_LIMIT")
        # v received g2 today (as re_openid): v cannot open a share of g1.
        self.claim_refused(srv, g1, v, status="SENT", err_code="SENDNUM_LIMIT")
        self.claim_ok(srv, g2, w)
        p = probe.db_packet(srv, g2)
        self.assertEqual([s["openid"] for s in p["shares"]], [v, w, None])
        # Sends count what the user received today, shares opened included
        # (contract step 10): u opened one, so a group for u is held.
        held = wire.group_request(re_openid=u)
        self.assertEqual(answers.answer_dict(wire.send_group(srv, held).body)["err_code"],
                         "SENDNUM_LIMIT")
        # The next Beijing day: u opens again.
        now = control.clock(srv)["epoch"]
        control.move_to(srv, contract.next_beijing_midnight(now) + 1)
        self.claim_ok(srv, g2, u, status="RECEIVED")

    def test_claims_count_against_daily_amount_limit(self):
        srv = self.start_server(fixtures=contract.fixtures_with(
            limits={"packets_per_user_per_day": 0, "amount_per_user_per_day": 1000}))
        control.to_noon(srv)
        u = wire.new_openid()
        g1 = self.group(srv, total_amount=900)["mch_billno"]
        self.claim_ok(srv, g1, SEED_OPENID)
        # u receives a normal packet of 1000 fen: the day's amount is used up.
        self.normal(srv, re_openid=u, total_amount="1000")
        self.claim_refused(srv, g1, u, status="SENT", err_code="RCVDAMOUNT_LIMIT")
        # Someone with room opens; the refused share is still there.
        v = wire.new_openid()
        self.claim_ok(srv, g1, v)
        # v opened that share; v's amount now counts: a share that would cross 1000 is refused.
        g2 = self.group(srv, re_openid=wire.new_openid(), total_amount=900)["mch_billno"]
        p2 = probe.db_packet(srv, g2)
        self.claim_ok(srv, g2, p2["re_openid"])
        got = probe.db_packet(srv, g1)["shares"][1]["amount"]
        nxt = p2["shares"][1]["amount"]
        if got + nxt > 1000:
            self.claim_refused(srv, g2, v, status="SENT", err_code="RCVDAMOUNT_LIMIT")
        else:
            self.claim_ok(srv, g2, v)


# ---------------------------------------------------------------------------
# The clock
# ---------------------------------------------------------------------------


class Clock(LifecycleCase):
    def test_get_clock_shape(self):
        srv = self.start_server()
        doc = control.clock(srv)
        self.assertEqual(doc["offset_seconds"], 0)
        doc = control.advance(srv, 3600)
        self.assertGreaterEqual(doc["offset_seconds"], 3600)
        self.assertLessEqual(doc["offset_seconds"], 3602)

    def test_midnight_resets_daily_send_counters(self):
        srv = self.start_server(fixtures=one_per_day_fixtures())
        control.to_noon(srv)
        self.group(srv)
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        midnight = contract.next_beijing_midnight(control.clock(srv)["epoch"])
        control.move_to(srv, midnight - 60)       # 23:59:00 the same day
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        doc = control.move_to(srv, midnight + 1)
        self.assertTrue(doc["now"].endswith("T00:00:01+08:00") or
                        doc["now"].endswith("T00:00:02+08:00"), doc)
        req = self.group(srv)
        p = probe.db_packet(srv, req["mch_billno"])
        self.assertEqual(contract.beijing_ymd(p["send_time"]), contract.beijing_ymd(midnight))
        self.assertEqual(p["send_listid"][10:18], contract.beijing_ymd(midnight))
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")

    def test_clock_never_goes_backwards(self):
        srv = self.start_server()
        control.advance(srv, 7200)
        before = control.clock(srv)
        st, doc = control.set_clock(srv, now=contract.beijing_iso(before["epoch"] - 3600))
        self.assertEqual(st, 409, doc)
        st, doc = control.set_clock(srv, now="2020-01-01T00:00:00+08:00")
        self.assertEqual(st, 409, doc)
        # A negative advance is backwards too (400 or 409, never applied).
        st, doc = control.set_clock(srv, advance_seconds=-60)
        self.assertIn(st, (400, 409), doc)
        self.assertEqual(control.clock(srv)["offset_seconds"], before["offset_seconds"])
        # advance 0 is allowed and changes nothing.
        doc = control.advance(srv, 0)
        self.assertEqual(doc["offset_seconds"], before["offset_seconds"])
        # Forward with "now" works, and then the old "now" is backwards.
        target = before["epoch"] + 86400
        doc = control.move_to(srv, target)
        self.assertTrue(target <= doc["epoch"] <= target + 2, doc)
        st, doc = control.set_clock(srv, now=contract.beijing_iso(target - 10))
        self.assertEqual(st, 409, doc)

    def test_bad_clock_bodies(self):
        srv = self.start_server()
        off = control.clock(srv)["offset_seconds"]
        for raw in ("", "{", "[]", "null", "{}", '{"advance_seconds": 10, "now": '
                    '"2030-01-01T00:00:00+08:00"}', '{"advance_seconds": 10, "extra": 1}',
                    '{"advance_seconds": "10"}', '{"advance_seconds": 1.5}',
                    '{"now": "yesterday"}', '{"now": 12}', '{"seconds": 10}'):
            with self.subTest(raw=raw):
                st, doc, body = control.admin(srv, "POST", "/admin/v1/clock", raw=raw)
                self.assertEqual(st, 400, body)
                self.assertIsInstance(doc.get("error"), str)
        self.assertEqual(control.clock(srv)["offset_seconds"], off)

    def test_clock_survives_restart(self):
        srv = self.start_lc_server()
        doc = control.advance(srv, 5 * DAY + 123)
        off = doc["offset_seconds"]
        self.restart(srv)
        self.assertEqual(control.clock(srv)["offset_seconds"], off)
        # Business time continues from there: a send is dated on it.
        req = self.group(srv)
        p = probe.db_packet(srv, req["mch_billno"])
        self.assertLessEqual(abs(p["send_time"] - control.clock(srv)["epoch"]), 5)
        self.restart(srv, kill=True)
        self.assertEqual(control.clock(srv)["offset_seconds"], off)
        st, _ = control.set_clock(srv, now=contract.beijing_iso(control.clock(srv)["epoch"] - 60))
        self.assertEqual(st, 409)


# ---------------------------------------------------------------------------
# Restarts in the middle of the lifecycle
# ---------------------------------------------------------------------------


class Restart(LifecycleCase):
    def refunds(self, srv, billno):
        return [(l["amount"], l["at"]) for l in probe.db_packet(srv, billno)["ledger"]
                if l["kind"] == "refund"]

    def test_kill9_between_rfund_ing_and_refund(self):
        srv = self.start_lc_server(args=["--refund-delay", "3600"])
        req = self.group(srv, total_amount=1200, total_num=4)
        billno = req["mch_billno"]
        got = self.claim_ok(srv, billno, SEED_OPENID)["amount"]
        got += self.claim_ok(srv, billno, wire.new_openid())["amount"]
        sent = probe.db_packet(srv, billno)
        control.advance(srv, EXPIRY)
        self.assertQuery(srv, billno, status="RFUND_ING")
        self.restart(srv, kill=True)
        self.assertQuery(srv, billno, status="RFUND_ING")
        self.assertEqual(self.refunds(srv, billno), [])
        control.advance(srv, 3600)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        due = sent["send_time"] + EXPIRY + 3600
        self.assertEqual(self.refunds(srv, billno), [(1200 - got, due)])
        self.assertEqual(p["refund_amount"], 1200 - got)
        self.assertEqual(probe.balance(srv), INITIAL - 1200 + (1200 - got))
        control.check(srv)
        self.restart(srv)
        self.assertEqual(self.refunds(srv, billno), [(1200 - got, due)])
        self.restart(srv, kill=True)
        control.advance(srv, 2 * DAY)
        self.assertEqual(self.refunds(srv, billno), [(1200 - got, due)])
        self.assertEqual(probe.balance(srv), INITIAL - got)

    def test_clock_moved_while_down_startup_sweep_refunds_once(self):
        srv = self.start_lc_server(args=["--refund-delay", "3600"])
        req = self.group(srv, total_amount=700, total_num=7)
        billno = req["mch_billno"]
        got = self.claim_ok(srv, billno, SEED_OPENID)["amount"]
        normal = self.normal(srv, re_openid=wire.new_openid(), total_amount="300")["mch_billno"]
        control.advance(srv, 60)      # the offset row exists from here on
        sent = probe.db_packet(srv, billno)
        sent_n = probe.db_packet(srv, normal)
        srv.stop()
        off = probe.read_db(srv.db_path, "SELECT value FROM meta WHERE key = 'clock_offset'")[0][0]
        new_off = off + 3 * DAY
        n = probe.write_db(srv.db_path, "UPDATE meta SET value = ? WHERE key = 'clock_offset'",
                        (new_off,))
        self.assertEqual(n, 1)
        srv.start()
        self.assertEqual(control.clock(srv)["offset_seconds"], new_off)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        due = sent["send_time"] + EXPIRY + 3600
        self.assertEqual(p["refund_time"], due)     # when it fell due, not the restart
        self.assertEqual(self.refunds(srv, billno), [(700 - got, due)])
        pn, _, _ = self.assertQuery(srv, normal, status="REFUND")
        self.assertEqual(self.refunds(srv, normal), [(300, sent_n["send_time"] + EXPIRY + 3600)])
        self.assertEqual(probe.balance(srv), INITIAL - got)
        control.check(srv)
        self.restart(srv)
        self.assertEqual(self.refunds(srv, billno), [(700 - got, due)])
        self.assertEqual(probe.balance(srv), INITIAL - got)
        self.restart(srv, kill=True)
        self.assertEqual(self.refunds(srv, billno), [(700 - got, due)])
        self.assertEqual(len(self.refunds(srv, normal)), 1)

    def test_held_order_fails_at_startup(self):
        srv = self.start_lc_server(fixtures=one_per_day_fixtures())
        control.to_noon(srv)
        self.group(srv)
        req = wire.group_request()
        self.assertErr(wire.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        control.advance(srv, 1)
        srv.stop()
        off = probe.read_db(srv.db_path, "SELECT value FROM meta WHERE key = 'clock_offset'")[0][0]
        self.assertEqual(probe.write_db(srv.db_path, "UPDATE meta SET value = ? WHERE key = "
                                     "'clock_offset'", (off + EXPIRY + 10,)), 1)
        srv.start()
        p, ans, _ = self.assertQuery(srv, req["mch_billno"], status="FAILED")
        self.assertEqual(ans["reason"], DES["sendnum"])


if __name__ == "__main__":
    unittest.main()
