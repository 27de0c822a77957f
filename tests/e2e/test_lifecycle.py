#!/usr/bin/env python3
"""A packet's life after the send (CONTRACT.md "Lifecycle (issue 4)"): claims, expiry,
refunds, held orders failing, the business clock, restarts in the middle."""

import time
import unittest

import rpsim
from rpsim import DES, MCH_ID, SEED_OPENID

import lifecycle_util as lu
from lifecycle_util import DAY, EXPIRY

INITIAL = lu.FIXTURE_BALANCES[MCH_ID]


def one_per_day_fixtures():
    return rpsim.fixtures_with(limits={"packets_per_user_per_day": 1})


# ---------------------------------------------------------------------------
# Status transitions
# ---------------------------------------------------------------------------


class Transitions(lu.LifecycleCase):
    def test_held_sending_fails_after_24h(self):
        srv = self.start_server(fixtures=one_per_day_fixtures())
        lu.to_noon(srv)
        self.group(srv)
        req = rpsim.default_group_request()
        resp = rpsim.send_group(srv, req)
        self.assertErr(resp, req, "SENDNUM_LIMIT", "sendnum")
        billno = req["mch_billno"]
        p, ans, hb = self.assertQuery(srv, billno, status="SENDING")
        self.assertEqual(ans["reason"], DES["sendnum"])
        self.assertEqual(p["send_time"], None)
        self.assertEqual(ans["send_time"], lu.beijing_text(p["created_at"]))
        self.assertEqual(hb, [])
        self.claim_refused(srv, billno, SEED_OPENID, status="SENDING")

        lu.advance(srv, EXPIRY - 600)
        self.assertQuery(srv, billno, status="SENDING")
        lu.advance(srv, 600)
        p2, ans, hb = self.assertQuery(srv, billno, status="FAILED")
        self.assertEqual(ans["reason"], DES["sendnum"])          # the reason is kept
        self.assertEqual(p2["created_at"], p["created_at"])
        self.assertEqual(ans["send_time"], lu.beijing_text(p["created_at"]))
        self.assertNotIn("refund_time", ans)
        self.claim_refused(srv, billno, SEED_OPENID, status="FAILED")
        # A resend of the failed billno, a day old: expired, nothing changes.
        bal = rpsim.balance(srv)
        resp = rpsim.send_group(srv, dict(req, nonce_str=rpsim.new_nonce()))
        self.assertErr(resp, req, "SEND_FAILED", "expired")
        self.assertEqual(rpsim.balance(srv), bal)
        self.assertEqual(lu.db_packet(srv, billno)["ledger"], [])

    def test_sent_to_received(self):
        srv = self.start_server()
        req = self.group(srv, total_amount=900, total_num=3)
        billno = req["mch_billno"]
        sl = lu.db_packet(srv, billno)["send_listid"]
        a = self.claim_ok(srv, billno, SEED_OPENID, status="SENT")
        self.assertEqual(a["seq"], 0)
        b = self.claim_ok(srv, billno, rpsim.new_openid(), status="SENT")
        self.assertEqual(b["seq"], 1)
        c = self.claim_ok(srv, billno, rpsim.new_openid(), status="RECEIVED")
        self.assertEqual(c["seq"], 2)
        self.assertEqual(a["amount"] + b["amount"] + c["amount"], 900)
        self.assertEqual([a["amount"], b["amount"], c["amount"]], rpsim.shares_of(srv, billno))
        self.assertQuery(srv, billno, status="RECEIVED")
        self.claim_refused(srv, billno, rpsim.new_openid(), status="RECEIVED")
        # Never refunded: two days later still RECEIVED, no refund row.
        lu.advance(srv, 2 * DAY)
        p, ans, hb = self.assertQuery(srv, billno, status="RECEIVED")
        self.assertEqual(len(hb), 3)
        self.assertEqual([l["kind"] for l in p["ledger"]], ["send"])
        self.assertEqual(rpsim.balance(srv), INITIAL - 900)
        # A resend answers the original success.
        resp = rpsim.send_group(srv, dict(req, nonce_str=rpsim.new_nonce()))
        self.assertSendSuccess(resp, req, srv, replay_of=sl)

    def test_sent_rfund_ing_refund_with_delay(self):
        srv = self.start_server(args=["--refund-delay", "3600"])
        req = self.group(srv, total_amount=600, total_num=3)
        billno = req["mch_billno"]
        sl = self.claim_ok(srv, billno, SEED_OPENID)
        sent = lu.db_packet(srv, billno)
        self.assertEqual(sent["status"], "SENT")

        lu.advance(srv, EXPIRY)
        p, ans, hb = self.assertQuery(srv, billno, status="RFUND_ING")
        self.assertNotIn("refund_time", ans)
        self.assertNotIn("refund_amount", ans)
        self.assertEqual(p["refund_time"], None)
        self.assertEqual(len(hb), 1)
        self.assertEqual(rpsim.balance(srv), INITIAL - 600)
        self.assertEqual([l["kind"] for l in p["ledger"]], ["send"])
        self.claim_refused(srv, billno, rpsim.new_openid(), status="RFUND_ING")
        # Resend of an RFUND_ING order: the original answer.
        listid = sent["send_listid"]
        resp = rpsim.send_group(srv, dict(req, nonce_str=rpsim.new_nonce()))
        self.assertSendSuccess(resp, req, srv, replay_of=listid)

        lu.advance(srv, 1800)   # half the delay: still RFUND_ING
        self.assertQuery(srv, billno, status="RFUND_ING")
        lu.advance(srv, 1800)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        unopened = 600 - sl["amount"]
        due = sent["send_time"] + EXPIRY + 3600
        self.assertEqual(p["refund_amount"], unopened)
        self.assertEqual(p["refund_time"], due)
        self.assertEqual(ans["refund_time"], lu.beijing_text(due))
        self.assertEqual(ans["refund_amount"], str(unopened))
        refunds = [l for l in p["ledger"] if l["kind"] == "refund"]
        self.assertEqual([(l["amount"], l["at"]) for l in refunds], [(unopened, due)])
        self.assertEqual(rpsim.balance(srv), INITIAL - 600 + unopened)
        self.claim_refused(srv, billno, rpsim.new_openid(), status="REFUND")
        resp = rpsim.send_group(srv, dict(req, nonce_str=rpsim.new_nonce()))
        self.assertSendSuccess(resp, req, srv, replay_of=listid)
        # Later sweeps change nothing.
        lu.advance(srv, 3 * DAY)
        p2 = lu.db_packet(srv, billno)
        self.assertEqual((p2["status"], p2["refund_time"], p2["refund_amount"], p2["ledger"]),
                         ("REFUND", due, unopened, p["ledger"]))

    def test_refund_without_delay_is_the_same_sweep(self):
        srv = self.start_server()
        req = self.group(srv, total_amount=500, total_num=5)
        billno = req["mch_billno"]
        sent = lu.db_packet(srv, billno)
        lu.advance(srv, EXPIRY - 300)
        self.assertQuery(srv, billno, status="SENT")
        lu.advance(srv, 300)
        # The sweep right after the clock moved: REFUND already, RFUND_ING never seen.
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        self.assertEqual(hb, [])
        self.assertEqual(p["refund_amount"], 500)
        self.assertEqual(p["refund_time"], sent["send_time"] + EXPIRY)
        self.assertEqual(rpsim.balance(srv), INITIAL)

    def test_refund_after_partial_opening(self):
        srv = self.start_server()
        req = self.group(srv, total_amount=2000, total_num=5)
        billno = req["mch_billno"]
        opened = 0
        for who in (SEED_OPENID, rpsim.new_openid(), rpsim.new_openid()):
            opened += self.claim_ok(srv, billno, who, status="SENT")["amount"]
        shares = rpsim.shares_of(srv, billno)
        self.assertEqual(opened, sum(shares[:3]))
        unopened = sum(shares[3:])
        self.assertEqual(rpsim.balance(srv), INITIAL - 2000)
        lu.advance(srv, EXPIRY + 60)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        self.assertEqual(p["refund_amount"], unopened)
        self.assertEqual(len(hb), 3)
        self.assertEqual(rpsim.balance(srv), INITIAL - 2000 + unopened)
        self.assertEqual([(l["kind"], l["amount"]) for l in p["ledger"]],
                         [("send", -2000), ("refund", unopened)])

    def test_periodic_sweep_refunds_without_a_request(self):
        # "Sweeps run ... every second": with --refund-delay 3 the REFUND lands while
        # nobody touches the clock.
        srv = self.start_server(args=["--refund-delay", "3"])
        req = self.group(srv)
        sent = lu.db_packet(srv, req["mch_billno"])
        lu.advance(srv, EXPIRY)
        p = lu.db_packet(srv, req["mch_billno"])
        if lu.clock(srv)["epoch"] < sent["send_time"] + EXPIRY + 2:
            self.assertEqual(p["status"], "RFUND_ING")
        deadline = time.monotonic() + 15
        while p["status"] != "REFUND" and time.monotonic() < deadline:
            time.sleep(0.2)
            p = lu.db_packet(srv, req["mch_billno"])
        self.assertEqual(p["status"], "REFUND")
        self.assertEqual((p["refund_time"], p["refund_amount"]),
                         (sent["send_time"] + EXPIRY + 3, 300))
        self.assertQuery(srv, req["mch_billno"], status="REFUND")

    def test_many_packets_expire_together(self):
        # Several packets of two merchants in one sweep, each refunded once.
        srv = self.start_server()
        billnos, first = [], None
        for i in range(6):
            req = self.group(srv, re_openid=rpsim.new_openid(), total_amount=300 + i, total_num=3)
            billnos.append((MCH_ID, req["mch_billno"]))
            first = first or req
        req = self.group(srv, mch_id=rpsim.MCH2_ID, wxappid=rpsim.MCH2_APPID,
                         re_openid=rpsim.MCH2_OPENID)
        billnos.append((rpsim.MCH2_ID, req["mch_billno"]))
        self.claim_ok(srv, first["mch_billno"], first["re_openid"])
        lu.advance(srv, EXPIRY + 5)
        for mch, b in billnos:
            self.assertQuery(srv, b, mch_id=mch, status="REFUND")
        self.assertEqual(rpsim.balance(srv, rpsim.MCH2_ID), lu.FIXTURE_BALANCES[rpsim.MCH2_ID])


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


class Claims(lu.LifecycleCase):
    def setUp(self):
        self.srv = self.start_server()

    def test_seed_user_first(self):
        billno = self.group(self.srv)["mch_billno"]
        other = rpsim.new_openid()
        self.claim_refused(self.srv, billno, other, status="SENT")
        self.assertEqual(lu.db_packet(self.srv, billno)["shares"][0]["openid"], None)
        first = self.claim_ok(self.srv, billno, SEED_OPENID, status="SENT")
        self.assertEqual((first["seq"], first["mch_id"]), (0, MCH_ID))
        self.assertEqual(first["amount"], rpsim.shares_of(self.srv, billno)[0])
        second = self.claim_ok(self.srv, billno, other, status="SENT")
        self.assertEqual(second["seq"], 1)
        self.assertQuery(self.srv, billno, status="SENT")

    def test_double_claim(self):
        billno = self.group(self.srv)["mch_billno"]
        self.claim_ok(self.srv, billno, SEED_OPENID)
        self.claim_refused(self.srv, billno, SEED_OPENID, status="SENT")
        u = rpsim.new_openid()
        self.claim_ok(self.srv, billno, u)
        self.claim_refused(self.srv, billno, u, status="SENT")
        p = lu.db_packet(self.srv, billno)
        self.assertEqual([s["openid"] for s in p["shares"]], [SEED_OPENID, u, None])

    def test_claim_after_expiry(self):
        billno = self.group(self.srv)["mch_billno"]
        self.claim_ok(self.srv, billno, SEED_OPENID)
        lu.advance(self.srv, EXPIRY)
        doc = self.claim_refused(self.srv, billno, rpsim.new_openid())
        self.assertIn(doc["status"], ("RFUND_ING", "REFUND"))
        self.claim_refused(self.srv, billno, SEED_OPENID)
        p = lu.db_packet(self.srv, billno)
        self.assertEqual(sum(1 for s in p["shares"] if s["openid"]), 1)

    def test_claim_of_held_order(self):
        srv = self.start_server(fixtures=rpsim.fixtures_with(balance=100))
        lu.to_noon(srv)
        req = rpsim.default_group_request()
        self.assertErr(rpsim.send_group(srv, req), req, "NOTENOUGH", "notenough")
        self.claim_refused(srv, req["mch_billno"], SEED_OPENID, status="SENDING")
        self.claim_refused(srv, req["mch_billno"], rpsim.new_openid(), status="SENDING")

    def test_claim_with_mch_id_and_ambiguous_billno(self):
        billno = rpsim.new_billno()
        self.group(self.srv, mch_billno=billno)
        self.group(self.srv, mch_billno=billno, mch_id=rpsim.MCH2_ID, wxappid=rpsim.MCH2_APPID,
                   re_openid=rpsim.MCH2_OPENID)
        self.claim_refused(self.srv, billno, SEED_OPENID)      # which merchant?
        self.claim_ok(self.srv, billno, SEED_OPENID, mch_id=MCH_ID)
        self.claim_ok(self.srv, billno, rpsim.MCH2_OPENID, mch_id=rpsim.MCH2_ID)
        self.claim_refused(self.srv, billno, rpsim.new_openid(), http_status=404,
                           mch_id="10000100")
        self.assertEqual(lu.db_packet(self.srv, billno, rpsim.MCH2_ID)["shares"][0]["openid"],
                         rpsim.MCH2_OPENID)

    def test_claims_count_against_daily_packet_limit(self):
        srv = self.start_server(fixtures=one_per_day_fixtures())
        lu.to_noon(srv)
        u, v, w = rpsim.new_openid(), rpsim.new_openid(), rpsim.new_openid()
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
        p = lu.db_packet(srv, g2)
        self.assertEqual([s["openid"] for s in p["shares"]], [v, w, None])
        # Sends count what the user received today, shares opened included
        # (contract step 10): u opened one, so a group for u is held.
        held = rpsim.default_group_request(re_openid=u)
        self.assertEqual(rpsim.answer_dict(rpsim.send_group(srv, held).body)["err_code"],
                         "SENDNUM_LIMIT")
        # The next Beijing day: u opens again.
        now = lu.clock(srv)["epoch"]
        lu.move_to(srv, lu.next_beijing_midnight(now) + 1)
        self.claim_ok(srv, g2, u, status="RECEIVED")

    def test_claims_count_against_daily_amount_limit(self):
        srv = self.start_server(fixtures=rpsim.fixtures_with(
            limits={"packets_per_user_per_day": 0, "amount_per_user_per_day": 1000}))
        lu.to_noon(srv)
        u = rpsim.new_openid()
        g1 = self.group(srv, total_amount=900)["mch_billno"]
        self.claim_ok(srv, g1, SEED_OPENID)
        # u receives a normal packet of 1000 fen: the day's amount is used up.
        self.normal(srv, re_openid=u, total_amount="1000")
        self.claim_refused(srv, g1, u, status="SENT", err_code="RCVDAMOUNT_LIMIT")
        # Someone with room opens; the refused share is still there.
        v = rpsim.new_openid()
        self.claim_ok(srv, g1, v)
        # v opened that share; v's amount now counts: a share that would cross 1000 is refused.
        g2 = self.group(srv, re_openid=rpsim.new_openid(), total_amount=900)["mch_billno"]
        p2 = lu.db_packet(srv, g2)
        self.claim_ok(srv, g2, p2["re_openid"])
        got = lu.db_packet(srv, g1)["shares"][1]["amount"]
        nxt = p2["shares"][1]["amount"]
        if got + nxt > 1000:
            self.claim_refused(srv, g2, v, status="SENT", err_code="RCVDAMOUNT_LIMIT")
        else:
            self.claim_ok(srv, g2, v)


# ---------------------------------------------------------------------------
# The clock
# ---------------------------------------------------------------------------


class Clock(lu.LifecycleCase):
    def test_get_clock_shape(self):
        srv = self.start_server()
        doc = lu.clock(srv)
        self.assertEqual(doc["offset_seconds"], 0)
        doc = lu.advance(srv, 3600)
        self.assertGreaterEqual(doc["offset_seconds"], 3600)
        self.assertLessEqual(doc["offset_seconds"], 3602)

    def test_midnight_resets_daily_send_counters(self):
        srv = self.start_server(fixtures=one_per_day_fixtures())
        lu.to_noon(srv)
        self.group(srv)
        req = rpsim.default_group_request()
        self.assertErr(rpsim.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        midnight = lu.next_beijing_midnight(lu.clock(srv)["epoch"])
        lu.move_to(srv, midnight - 60)       # 23:59:00 the same day
        req = rpsim.default_group_request()
        self.assertErr(rpsim.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        doc = lu.move_to(srv, midnight + 1)
        self.assertTrue(doc["now"].endswith("T00:00:01+08:00") or
                        doc["now"].endswith("T00:00:02+08:00"), doc)
        req = self.group(srv)
        p = lu.db_packet(srv, req["mch_billno"])
        self.assertEqual(lu.beijing_ymd(p["send_time"]), lu.beijing_ymd(midnight))
        self.assertEqual(p["send_listid"][10:18], lu.beijing_ymd(midnight))
        req = rpsim.default_group_request()
        self.assertErr(rpsim.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")

    def test_clock_never_goes_backwards(self):
        srv = self.start_server()
        lu.advance(srv, 7200)
        before = lu.clock(srv)
        st, doc = lu.set_clock(srv, now=lu.beijing_iso(before["epoch"] - 3600))
        self.assertEqual(st, 409, doc)
        st, doc = lu.set_clock(srv, now="2020-01-01T00:00:00+08:00")
        self.assertEqual(st, 409, doc)
        # A negative advance is backwards too (400 or 409, never applied).
        st, doc = lu.set_clock(srv, advance_seconds=-60)
        self.assertIn(st, (400, 409), doc)
        self.assertEqual(lu.clock(srv)["offset_seconds"], before["offset_seconds"])
        # advance 0 is allowed and changes nothing.
        doc = lu.advance(srv, 0)
        self.assertEqual(doc["offset_seconds"], before["offset_seconds"])
        # Forward with "now" works, and then the old "now" is backwards.
        target = before["epoch"] + 86400
        doc = lu.move_to(srv, target)
        self.assertTrue(target <= doc["epoch"] <= target + 2, doc)
        st, doc = lu.set_clock(srv, now=lu.beijing_iso(target - 10))
        self.assertEqual(st, 409, doc)

    def test_bad_clock_bodies(self):
        srv = self.start_server()
        off = lu.clock(srv)["offset_seconds"]
        for raw in ("", "{", "[]", "null", "{}", '{"advance_seconds": 10, "now": '
                    '"2030-01-01T00:00:00+08:00"}', '{"advance_seconds": 10, "extra": 1}',
                    '{"advance_seconds": "10"}', '{"advance_seconds": 1.5}',
                    '{"now": "yesterday"}', '{"now": 12}', '{"seconds": 10}'):
            with self.subTest(raw=raw):
                st, doc, body = lu.admin(srv, "POST", "/admin/v1/clock", raw=raw)
                self.assertEqual(st, 400, body)
                self.assertIsInstance(doc.get("error"), str)
        self.assertEqual(lu.clock(srv)["offset_seconds"], off)

    def test_clock_survives_restart(self):
        srv = self.start_lc_server()
        doc = lu.advance(srv, 5 * DAY + 123)
        off = doc["offset_seconds"]
        self.restart(srv)
        self.assertEqual(lu.clock(srv)["offset_seconds"], off)
        # Business time continues from there: a send is dated on it.
        req = self.group(srv)
        p = lu.db_packet(srv, req["mch_billno"])
        self.assertLessEqual(abs(p["send_time"] - lu.clock(srv)["epoch"]), 5)
        self.restart(srv, kill=True)
        self.assertEqual(lu.clock(srv)["offset_seconds"], off)
        st, _ = lu.set_clock(srv, now=lu.beijing_iso(lu.clock(srv)["epoch"] - 60))
        self.assertEqual(st, 409)


# ---------------------------------------------------------------------------
# Restarts in the middle of the lifecycle
# ---------------------------------------------------------------------------


class Restart(lu.LifecycleCase):
    def refunds(self, srv, billno):
        return [(l["amount"], l["at"]) for l in lu.db_packet(srv, billno)["ledger"]
                if l["kind"] == "refund"]

    def test_kill9_between_rfund_ing_and_refund(self):
        srv = self.start_lc_server(args=["--refund-delay", "3600"])
        req = self.group(srv, total_amount=1200, total_num=4)
        billno = req["mch_billno"]
        got = self.claim_ok(srv, billno, SEED_OPENID)["amount"]
        got += self.claim_ok(srv, billno, rpsim.new_openid())["amount"]
        sent = lu.db_packet(srv, billno)
        lu.advance(srv, EXPIRY)
        self.assertQuery(srv, billno, status="RFUND_ING")
        self.restart(srv, kill=True)
        self.assertQuery(srv, billno, status="RFUND_ING")
        self.assertEqual(self.refunds(srv, billno), [])
        lu.advance(srv, 3600)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        due = sent["send_time"] + EXPIRY + 3600
        self.assertEqual(self.refunds(srv, billno), [(1200 - got, due)])
        self.assertEqual(p["refund_amount"], 1200 - got)
        self.assertEqual(rpsim.balance(srv), INITIAL - 1200 + (1200 - got))
        lu.check_api(srv)
        self.restart(srv)
        self.assertEqual(self.refunds(srv, billno), [(1200 - got, due)])
        self.restart(srv, kill=True)
        lu.advance(srv, 2 * DAY)
        self.assertEqual(self.refunds(srv, billno), [(1200 - got, due)])
        self.assertEqual(rpsim.balance(srv), INITIAL - got)

    def test_clock_moved_while_down_startup_sweep_refunds_once(self):
        srv = self.start_lc_server(args=["--refund-delay", "3600"])
        req = self.group(srv, total_amount=700, total_num=7)
        billno = req["mch_billno"]
        got = self.claim_ok(srv, billno, SEED_OPENID)["amount"]
        normal = self.normal(srv, re_openid=rpsim.new_openid(), total_amount="300")["mch_billno"]
        lu.advance(srv, 60)      # the offset row exists from here on
        sent = lu.db_packet(srv, billno)
        sent_n = lu.db_packet(srv, normal)
        srv.stop()
        off = lu.read_db(srv.db_path, "SELECT value FROM meta WHERE key = 'clock_offset'")[0][0]
        new_off = off + 3 * DAY
        n = lu.write_db(srv.db_path, "UPDATE meta SET value = ? WHERE key = 'clock_offset'",
                        (new_off,))
        self.assertEqual(n, 1)
        srv.start()
        self.assertEqual(lu.clock(srv)["offset_seconds"], new_off)
        p, ans, hb = self.assertQuery(srv, billno, status="REFUND")
        due = sent["send_time"] + EXPIRY + 3600
        self.assertEqual(p["refund_time"], due)     # when it fell due, not the restart
        self.assertEqual(self.refunds(srv, billno), [(700 - got, due)])
        pn, _, _ = self.assertQuery(srv, normal, status="REFUND")
        self.assertEqual(self.refunds(srv, normal), [(300, sent_n["send_time"] + EXPIRY + 3600)])
        self.assertEqual(rpsim.balance(srv), INITIAL - got)
        lu.check_api(srv)
        self.restart(srv)
        self.assertEqual(self.refunds(srv, billno), [(700 - got, due)])
        self.assertEqual(rpsim.balance(srv), INITIAL - got)
        self.restart(srv, kill=True)
        self.assertEqual(self.refunds(srv, billno), [(700 - got, due)])
        self.assertEqual(len(self.refunds(srv, normal)), 1)

    def test_held_order_fails_at_startup(self):
        srv = self.start_lc_server(fixtures=one_per_day_fixtures())
        lu.to_noon(srv)
        self.group(srv)
        req = rpsim.default_group_request()
        self.assertErr(rpsim.send_group(srv, req), req, "SENDNUM_LIMIT", "sendnum")
        lu.advance(srv, 1)
        srv.stop()
        off = lu.read_db(srv.db_path, "SELECT value FROM meta WHERE key = 'clock_offset'")[0][0]
        self.assertEqual(lu.write_db(srv.db_path, "UPDATE meta SET value = ? WHERE key = "
                                     "'clock_offset'", (off + EXPIRY + 10,)), 1)
        srv.start()
        p, ans, _ = self.assertQuery(srv, req["mch_billno"], status="FAILED")
        self.assertEqual(ans["reason"], DES["sendnum"])


if __name__ == "__main__":
    unittest.main()
