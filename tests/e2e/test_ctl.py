#!/usr/bin/env python3
"""redpack-ctl end to end (docs/control-api.md "redpack-ctl", issue 5): every subcommand against a
real server, its output, and its exit status (0 success, 1 the answer says no,
2 usage or connection errors)."""

import json
import os
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import answers, contract, control, golden, probe, wire  # noqa: E402
from harness.cases import SharedServerCase  # noqa: E402
from harness.contract import MCH2_ID, MCH_ID, SEED_OPENID  # noqa: E402

COMMANDS = ("check", "health", "send", "packets", "packet", "claim", "settle", "clock", "merchant",
            "reset", "journal", "faults", "errors")


def free_port():
    """A loopback port with nothing listening (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CtlCase(SharedServerCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(contract.ctl_bin_path(), os.X_OK):
            raise unittest.SkipTest("redpack-ctl not found at %s (set REDPACK_CTL_BIN)" % contract.ctl_bin_path())
        super().setUpClass()

    def ctl(self, *args, rc=0, admin=True):
        p = control.ctl(self.srv, *args, admin_url=admin)
        if p.returncode != rc:
            self.fail("redpack-ctl %s: exit %d (expected %d)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                      % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
        return p

    def ctl_json(self, *args, rc=0):
        p = self.ctl("--json", *args, rc=rc)
        try:
            return json.loads(p.stdout)
        except ValueError:
            self.fail("redpack-ctl --json %s printed no JSON:\n%s" % (" ".join(args), p.stdout))

    def send(self, endpoint=None, *extra, rc=0):
        return self.ctl(*(control.send_args(self.srv, endpoint) + list(extra)), rc=rc)

    def send_answer(self, endpoint=None, *extra, rc=0):
        p = self.send(endpoint, *extra, rc=rc)
        self.assertTrue(p.stdout.endswith("</xml>\n"), p.stdout)
        return p.stdout[:-1], answers.answer_dict(p.stdout[:-1])


class Send(CtlCase):

    def test_group_default_is_the_golden_success(self):
        text, ans = self.send_answer()
        self.assertEqual(ans["err_code"], "SUCCESS")
        self.assertRegex(ans["mch_billno"], r"^10000098\d{18}$")
        self.assertEqual(ans["re_openid"], SEED_OPENID, "the fixtures' user of the merchant's app")
        row = probe.packet_rows(self.srv, ans["mch_billno"])[0]
        with open(golden.golden_path("sendgroupredpack", "SUCCESS"), encoding="utf-8") as f:
            want = golden.fill(f.read(), {"mch_billno": ans["mch_billno"], "re_openid": SEED_OPENID,
                                     "send_listid": row[7]})
        self.assertEqual(text, want)

    def test_each_endpoint(self):
        text, ans = self.send_answer("sendredpack", "--set", "total_amount=150",
                                     "--set", "re_openid=" + wire.new_openid())
        self.assertEqual((ans["err_code"], ans["total_amount"]), ("SUCCESS", "150"))
        self.assertNotIn("total_num", ans)
        billno = ans["mch_billno"]
        self.assertEqual(probe.packet_rows(self.srv, billno)[0][1], "SENT")
        text, q = self.send_answer("gethbinfo", "--set", "mch_billno=" + billno)
        self.assertEqual((q["err_code"], q["status"], q["hb_type"], q["total_amount"]),
                         ("SUCCESS", "SENT", "NORMAL", "150"))
        # A failure answer exits 1, and is still printed.
        text, q = self.send_answer("gethbinfo", "--set", "mch_billno=" + wire.new_billno(), rc=1)
        self.assertEqual(q["err_code"], "NOT_FOUND")
        text, ans = self.send_answer("sendgroupredpack", "--set", "re_openid=oMOCK_NOTENOUGH", rc=1)
        self.assertEqual(ans["err_code"], "NOTENOUGH")
        text, ans = self.send_answer("sendredpack", "--set", "re_openid=oMOCK_SENDNUM_LIMIT-1", rc=1)
        self.assertEqual(ans["err_code"], "SENDNUM_LIMIT")
        # Another merchant: its key, app and user come from the fixtures.
        text, ans = self.send_answer(None, "--mch-id", MCH2_ID)
        self.assertEqual((ans["err_code"], ans["mch_id"], ans["wxappid"], ans["re_openid"]),
                         ("SUCCESS", MCH2_ID, contract.MCH2_APPID, contract.MCH2_OPENID))

    def test_header(self):
        text, ans = self.send_answer(None, "--header", "Wechatpay-Negative-Test: SYSTEMERROR", rc=1)
        self.assertEqual(ans["err_code"], "SYSTEMERROR")
        self.assertEqual(probe.packet_rows(self.srv, ans["mch_billno"]), [])
        text, ans = self.send_answer("gethbinfo", "--header", "Wechatpay-Negative-Test: NO_AUTH",
                                     "--set", "mch_billno=X1", rc=1)
        self.assertEqual((ans["err_code"], ans["err_code_des"]), ("NO_AUTH", "没有权限"))

    def test_set_and_unset(self):
        text, ans = self.send_answer(None, "--unset", "wishing", rc=1)
        self.assertEqual((ans["err_code"], ans["err_code_des"]),
                         ("PARAM_ERROR", contract.DES["wishing"]))
        text, ans = self.send_answer(None, "--set", "total_num=21", rc=1)
        self.assertEqual(ans["err_code_des"], contract.DES["total_num"])
        # A new field is added and signed (scene_id), an override replaces (total_amount).
        text, ans = self.send_answer(None, "--set", "scene_id=PRODUCT_2", "--set", "total_amount=3",
                                     "--set", "re_openid=" + wire.new_openid())
        self.assertEqual((ans["err_code"], ans["total_amount"]), ("SUCCESS", "3"))
        self.assertEqual(control.packet_doc(self.srv, ans["mch_billno"])["scene_id"], "PRODUCT_2")
        # A --set sign is sent as given: a wrong one is SIGN_ERROR.
        text, ans = self.send_answer(None, "--set", "sign=" + "A" * 32, rc=1)
        self.assertEqual(ans["err_code"], "SIGN_ERROR")
        # A wrong --key too; the right one explicitly works.
        text, ans = self.send_answer(None, "--key", contract.MCH2_KEY, rc=1)
        self.assertEqual(ans["err_code"], "SIGN_ERROR")
        text, ans = self.send_answer(None, "--key", contract.MCH_KEY, "--set", "re_openid=" + wire.new_openid())
        self.assertEqual(ans["err_code"], "SUCCESS")

    def test_raw(self):
        req = wire.fresh_group_request()
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good.xml")
            with open(good, "wb") as f:
                f.write(wire.signed_body(self.srv, req))
            text, ans = self.send_answer(None, "--raw", good)
            self.assertEqual((ans["err_code"], ans["mch_billno"]), ("SUCCESS", req["mch_billno"]))
            # The same file again: the original answer, byte for byte.
            text2, _ = self.send_answer(None, "--raw", good)
            self.assertEqual(text2, text)
            bad = os.path.join(d, "bad.xml")
            with open(bad, "wb") as f:
                f.write(b"<xml><mch_id>10000098</mch_id>")
            text, ans = self.send_answer(None, "--raw", bad, rc=1)
            self.assertEqual(text.encode("utf-8"), answers.XML_ERROR_BODY)
            text, ans = self.send_answer(None, "--raw", good, "--header",
                                         "Wechatpay-Negative-Test: XML_ERROR", rc=1)
            self.assertEqual(ans["err_code"], "XML_ERROR")
            self.send(None, "--raw", os.path.join(d, "missing.xml"), rc=2)

    def test_json(self):
        p = self.ctl(*(["--json"] + control.send_args(self.srv, "sendgroupredpack")))
        doc = json.loads(p.stdout)
        self.assertEqual((doc["return_code"], doc["result_code"], doc["err_code"]),
                         ("SUCCESS", "SUCCESS", "SUCCESS"))
        self.assertEqual(doc["total_num"], "3")
        self.assertRegex(doc["send_listid"], contract.SEND_LISTID_RE)
        # --json after the command works too.
        p = self.ctl(*(control.send_args(self.srv, "gethbinfo") + ["--set", "mch_billno=" + doc["mch_billno"],
                                                             "--json"]))
        q = json.loads(p.stdout)
        self.assertEqual((q["err_code"], q["detail_id"]), ("SUCCESS", doc["send_listid"]))
        p = self.ctl(*(control.send_args(self.srv) + ["--set", "re_openid=oMOCK_FREQ_LIMIT", "--json"]), rc=1)
        self.assertEqual(json.loads(p.stdout)["err_code"], "FREQ_LIMIT")

    def test_connection_errors_exit_2(self):
        port = free_port()
        p = self.ctl("send", "--api", "https://127.0.0.1:%d" % port, "--certs", self.srv.certs,
                     "--fixtures", contract.default_fixtures_path(), rc=2)
        self.assertIn("127.0.0.1", p.stderr)
        for args in (["check"], ["health"], ["errors"], ["packets"], ["faults"], ["journal"],
                     ["clock"], ["merchant", MCH_ID]):
            with self.subTest(args=args):
                self.ctl("--admin", "http://127.0.0.1:%d" % port, *args, rc=2, admin=False)

    def test_http_error_page_exits_1(self):
        req = wire.fresh_group_request()
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "b.xml")
            with open(f, "wb") as fh:
                fh.write(wire.signed_body(self.srv, req))
            self.ctl("faults", "add", "--match", "mch_billno=" + req["mch_billno"], "--transport",
                     "http_503", "--times", "1")
            p = self.send(None, "--raw", f, rc=1)
            self.assertIn("503", p.stdout + p.stderr)
        self.ctl("faults", "delete", "all")


class Admin(CtlCase):

    def test_check_health_errors(self):
        p = self.ctl("check")
        self.assertRegex(p.stdout, r"^ok: all \d+ invariants hold\n$")
        doc = self.ctl_json("check")
        self.assertIs(doc["ok"], True)
        p = self.ctl("health")
        self.assertEqual(p.stdout.strip(), "ok")
        doc = self.ctl_json("errors")
        self.assertEqual(doc, control.admin_ok(self.srv, "GET", "/admin/v1/errors"))
        p = self.ctl("errors", "--json")
        self.assertEqual(json.loads(p.stdout), doc)
        p = self.ctl("errors")
        for e in doc["errors"]:
            self.assertIn(e["err_code"], p.stdout)
        p = self.ctl("errors", "--markdown")
        self.assertTrue(p.stdout.startswith("| err_code | endpoints |"), p.stdout[:200])
        self.assertEqual(len(p.stdout.strip().split("\n")), 2 + len(doc["errors"]))

    def test_packets_packet_claim(self):
        text, ans = self.send_answer(None, "--set", "re_openid=" + wire.new_openid(),
                                     "--set", "total_amount=600")
        billno, who = ans["mch_billno"], ans["re_openid"]
        doc = self.ctl_json("packets", "--mch-id", MCH_ID, "--status", "SENT", "--limit", "5")
        self.assertEqual(doc["packets"][0]["mch_billno"], billno)
        self.assertLessEqual(len(doc["packets"]), 5)
        self.assertTrue(all(p["status"] == "SENT" for p in doc["packets"]))
        p = self.ctl("packets", "--mch-id", MCH_ID)
        self.assertIn(billno, p.stdout)
        self.ctl("packets", "--status", "BOGUS", rc=1)
        doc = self.ctl_json("packet", billno)
        self.assertEqual((doc["mch_billno"], doc["total_amount"], len(doc["shares"])), (billno, 600, 3))
        p = self.ctl("packet", billno, "--mch-id", MCH_ID)
        self.assertIn("(unopened)", p.stdout)
        self.ctl("packet", wire.new_billno(), rc=1)
        p = self.ctl("claim", billno, who)
        self.assertIn("opened share #0", p.stdout)
        doc = self.ctl_json("claim", billno, wire.new_openid())
        self.assertEqual(doc["seq"], 1)
        self.ctl("claim", billno, who, rc=1)  # twice
        self.ctl("claim", wire.new_billno(), who, rc=1)
        shares = control.packet_doc(self.srv, billno)["shares"]
        self.assertEqual([s["openid"] is not None for s in shares], [True, True, False])

    def test_settle(self):
        for result, status in (("SENT", "SENT"), ("FAILED", "FAILED")):
            with self.subTest(result=result):
                text, ans = self.send_answer(None, "--set", "re_openid=oMOCK_PROCESSING", rc=1)
                self.assertEqual(ans["err_code"], "PROCESSING")
                billno = ans["mch_billno"]
                doc = self.ctl_json("settle", billno, result)
                self.assertEqual(doc["status"], status)
                self.ctl("settle", billno, "SENT", rc=1)
        self.ctl("settle", wire.new_billno(), "SENT", rc=1)
        self.ctl("settle", "X1", "MAYBE", rc=1)  # the server refuses the result (400)

    def test_clock(self):
        before = self.ctl_json("clock")
        p = self.ctl("clock")
        self.assertIn("offset", p.stdout)
        after = self.ctl_json("clock", "--advance", "120")
        self.assertGreaterEqual(after["offset_seconds"] - before["offset_seconds"], 120)
        self.assertEqual(control.admin_ok(self.srv, "GET", "/admin/v1/clock")["offset_seconds"],
                         after["offset_seconds"])
        self.ctl("clock", "--now", "2020-01-01T00:00:00+08:00", rc=1)  # backwards: 409

    def test_merchant(self):
        m0 = self.ctl_json("merchant", MCH2_ID)
        p = self.ctl("merchant", MCH2_ID)
        self.assertIn("华强北数码", p.stdout)
        m = self.ctl_json("merchant", MCH2_ID, "--topup", "100")
        self.assertEqual(m["balance"], m0["balance"] + 100)
        m = self.ctl_json("merchant", MCH2_ID, "--balance", "5000000")
        self.assertEqual(m["balance"], 5000000)
        m = self.ctl_json("merchant", MCH2_ID, "--limit", "sends_per_minute=0",
                          "--limit", "packets_per_user_per_day=3")
        self.assertEqual((m["limits"]["sends_per_minute"], m["limits"]["packets_per_user_per_day"]), (0, 3))
        m = self.ctl_json("merchant", MCH2_ID, "--api", "off")
        self.assertIs(m["api_enabled"], False)
        text, ans = self.send_answer(None, "--mch-id", MCH2_ID, rc=1)
        self.assertEqual(ans["err_code"], "API_METHOD_CLOSED")
        m = self.ctl_json("merchant", MCH2_ID, "--api", "on", "--ip-allowlist", "10.9.9.9,10.9.9.8")
        self.assertEqual((m["api_enabled"], m["ip_allowlist"]), (True, ["10.9.9.9", "10.9.9.8"]))
        text, ans = self.send_answer(None, "--mch-id", MCH2_ID, rc=1)
        self.assertEqual((ans["err_code"], ans["err_code_des"]), ("NO_AUTH", "IP地址非你在商户平台设置的可用IP地址"))
        m = self.ctl_json("merchant", MCH2_ID, "--ip-allowlist", "127.0.0.1")
        self.assertEqual(m["ip_allowlist"], ["127.0.0.1"])
        text, ans = self.send_answer(None, "--mch-id", MCH2_ID)
        m = self.ctl_json("merchant", MCH2_ID, "--ip-allowlist", "none")
        self.assertEqual(m["ip_allowlist"], [])
        self.assertEqual(probe.balance(self.srv, MCH2_ID),
                         probe.query(self.srv, "SELECT SUM(amount) FROM ledger WHERE mch_id = ?",
                                     (MCH2_ID,))[0][0])
        self.ctl("merchant", "99999999", rc=1)
        self.ctl("merchant", MCH2_ID, "--limit", "nope=1", rc=1)  # refused by the server (400)
        self.ctl("merchant", MCH2_ID, "--ip-allowlist", "bad-ip", rc=1)

    def test_reset(self):
        text, ans = self.send_answer(None, "--mch-id", MCH2_ID, "--set", "re_openid=" + wire.new_openid())
        self.ctl("merchant", MCH2_ID, "--topup", "1")
        p = self.ctl("reset", "--mch-id", MCH2_ID)
        self.assertIn(MCH2_ID, p.stdout)
        self.assertEqual(probe.packet_rows(self.srv, ans["mch_billno"], MCH2_ID), [])
        self.assertEqual(probe.balance(self.srv, MCH2_ID), 5000000)
        self.ctl("reset", "--mch-id", "99999999", rc=1)
        doc = self.ctl_json("reset", "--mch-id", MCH2_ID)
        self.assertEqual(doc["mch_id"], MCH2_ID)

    def test_reset_everything(self):
        # On a server of its own: the others share theirs.
        srv = self.start_server()
        p = control.ctl(srv, "send", "--api", "https://127.0.0.1:%d" % srv.api_port, "--certs", srv.certs,
                  "--fixtures", contract.default_fixtures_path())
        self.assertEqual(p.returncode, 0, p.stderr)
        p = control.ctl(srv, "reset")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("everything", p.stdout)
        self.assertEqual(probe.query(srv, "SELECT COUNT(*) FROM packets"), [(0,)])

    def test_journal(self):
        text, ans = self.send_answer(None, "--set", "sign=" + "B" * 32, rc=1)
        self.assertEqual(ans["err_code"], "SIGN_ERROR")
        p = self.ctl("journal", "--err-code", "SIGN_ERROR")
        self.assertIn(ans["mch_billno"], p.stdout)
        self.assertIn("signed: ", p.stdout)
        self.assertIn("&key=***", p.stdout)
        self.assertIn("cause: ", p.stdout)
        doc = self.ctl_json("journal", "--err-code", "SIGN_ERROR", "--limit", "1")
        self.assertEqual(len(doc["entries"]), 1)
        e = doc["entries"][0]
        self.assertEqual((e["mch_billno"], e["err_code"]), (ans["mch_billno"], "SIGN_ERROR"))
        self.assertTrue(e["sign_check"]["string_to_sign"].endswith("&key=***"))
        doc = self.ctl_json("journal", "--mch-billno", ans["mch_billno"])
        self.assertEqual([x["mch_billno"] for x in doc["entries"]], [ans["mch_billno"]])
        self.ctl("journal", "--limit", "0", rc=1)  # refused by the server (400)
        for key in contract.FIXTURE_KEYS:
            self.assertNotIn(key, p.stdout)

    def test_faults(self):
        who = wire.new_openid()
        rule = self.ctl_json("faults", "add", "--api", "sendgroupredpack", "--match", "re_openid=" + who,
                             "--err-code", "NOTENOUGH", "--times", "2")
        self.assertEqual((rule["err_code"], rule["match"], rule["times"], rule["api"]),
                         ("NOTENOUGH", {"re_openid": who}, 2, "sendgroupredpack"))
        p = self.ctl("faults", "add", "--transport", "delay", "--delay-ms", "10", "--delay-max-ms", "20",
                     "--probability", "0.5", "--match", "mch_billno=NEVER1")
        self.assertIn("delay", p.stdout)
        for i in range(3):
            self.send(None, "--set", "re_openid=" + who, rc=1 if i < 2 else 0)
        listed = self.ctl_json("faults", "list")["faults"]
        self.assertEqual([r["id"] for r in listed][0], rule["id"])
        self.assertEqual((listed[0]["hits"], listed[0]["times"]), (2, 0))
        self.assertEqual(listed[1]["probability"], 0.5)
        p = self.ctl("faults")
        self.assertIn("#%d" % rule["id"], p.stdout)
        self.assertIn("2 hit(s)", p.stdout)
        self.ctl("faults", "delete", str(rule["id"]))
        self.ctl("faults", "delete", str(rule["id"]), rc=1)
        self.ctl("faults", "add", "--transport", "teleport", rc=1)  # refused by the server (400)
        self.ctl("faults", "delete", "all")
        self.assertEqual(self.ctl_json("faults")["faults"], [])
        p = self.ctl("faults", "list")
        self.assertIn("no fault rules", p.stdout)


class Paging(CtlCase):
    """Listing commands page through the control API's lists (issue 9 part 7)."""

    def test_packets_pages(self):
        sent = [self.send_answer(None, "--set", "re_openid=" + wire.new_openid())[1]["mch_billno"]
                for _ in range(5)]
        newest = list(reversed(sent))
        doc = self.ctl_json("packets", "--mch-id", MCH_ID, "--limit", "2")
        self.assertEqual([p["mch_billno"] for p in doc["packets"]], newest[:2])
        self.assertIsInstance(doc["next"], str)
        p = self.ctl("packets", "--mch-id", MCH_ID, "--limit", "2")
        self.assertIn("more: add --cursor %s" % doc["next"], p.stdout)
        doc2 = self.ctl_json("packets", "--mch-id", MCH_ID, "--limit", "2", "--cursor", doc["next"])
        self.assertEqual([p["mch_billno"] for p in doc2["packets"]], newest[2:4])
        every = self.ctl_json("packets", "--mch-id", MCH_ID, "--limit", "2", "--all")
        self.assertEqual([p["mch_billno"] for p in every["packets"]][:5], newest)
        self.assertIsNone(every["next"])
        db = [r[0] for r in probe.query(self.srv, "SELECT mch_billno FROM packets WHERE mch_id = ? "
                                        "ORDER BY id DESC", (MCH_ID,))]
        self.assertEqual([p["mch_billno"] for p in every["packets"]], db)
        p = self.ctl("packets", "--mch-id", MCH_ID, "--limit", "2", "--all")
        for b in sent:
            self.assertIn(b, p.stdout)
        self.assertNotIn("more:", p.stdout)

    def test_faults_pages(self):
        ids = [self.ctl_json("faults", "add", "--match", "mch_billno=NEVER%d" % i, "--err-code",
                             "SYSTEMERROR")["id"] for i in range(105)]
        try:
            doc = self.ctl_json("faults")
            self.assertEqual([r["id"] for r in doc["faults"]], ids[:100], "the server's default page")
            p = self.ctl("faults", "list")
            self.assertIn("more: add --cursor %d" % ids[99], p.stdout)
            self.assertEqual([r["id"] for r in self.ctl_json("faults", "--all")["faults"]], ids)
            doc = self.ctl_json("faults", "list", "--limit", "3", "--cursor", str(ids[101]))
            self.assertEqual(([r["id"] for r in doc["faults"]], doc["next"]), (ids[102:], None))
            p = self.ctl("faults", "--all")
            self.assertEqual(p.stdout.count("\n"), 105)
        finally:
            self.ctl("faults", "delete", "all")

    def test_journal_pages(self):
        for _ in range(3):
            self.send_answer(None, "--set", "sign=" + "C" * 32, rc=1)
        doc = self.ctl_json("journal", "--err-code", "SIGN_ERROR", "--limit", "2")
        self.assertEqual(len(doc["entries"]), 2)
        rest = self.ctl_json("journal", "--err-code", "SIGN_ERROR", "--cursor", doc["next"])
        every = self.ctl_json("journal", "--err-code", "SIGN_ERROR", "--limit", "1", "--all")
        self.assertEqual([e["seq"] for e in every["entries"]],
                         [e["seq"] for e in doc["entries"] + rest["entries"]])
        self.assertGreaterEqual(len(every["entries"]), 3)
        self.assertIsNone(every["next"])
        self.assertIn("kept", every)


class Usage(CtlCase):

    def test_help_for_each_command(self):
        p = self.ctl("--help", admin=False)
        for c in COMMANDS:
            self.assertIn(c, p.stdout)
        for c in COMMANDS:
            with self.subTest(command=c):
                p = self.ctl(c, "--help", admin=False)
                self.assertTrue(p.stdout.startswith("usage: redpack-ctl %s" % c), p.stdout)
                p = self.ctl(c, "-h", admin=False)
                self.assertTrue(p.stdout.startswith("usage: redpack-ctl %s" % c), p.stdout)
        p = self.ctl("faults", "add", "--help", admin=False)
        self.assertIn("usage: redpack-ctl faults", p.stdout)

    def test_bad_usage_exits_2(self):
        bad = [
            [], ["frobnicate"], ["--bogus", "check"], ["--timeout", "0", "check"], ["--admin"],
            ["check", "extra"], ["health", "extra"], ["errors", "extra"], ["errors", "--markdown", "x"],
            ["packets", "positional"], ["packets", "--status"], ["packets", "--limit", "1;2"],
            ["packets", "--nope", "1"],
            ["packet"], ["packet", "a", "b"], ["packet", "bad/billno"],
            ["claim", "B1"], ["claim"], ["claim", "B1", "o1", "o2"],
            ["settle", "B1"], ["settle"],
            ["clock", "--advance", "abc"], ["clock", "--advance", "-5"], ["clock", "--advance", "1", "--now", "x"],
            ["clock", "--now", "yesterday evening"],
            ["merchant"], ["merchant", "a", "b"], ["merchant", MCH_ID, "--topup", "ten"],
            ["merchant", MCH_ID, "--api", "maybe"], ["merchant", MCH_ID, "--limit", "noequals"],
            ["merchant", MCH_ID, "--balance", "-1"],
            ["reset", "extra"], ["reset", "--mch-id", "a/b"],
            ["journal", "--err-code", "a b"], ["journal", "x"], ["journal", "--all", "x"],
            ["journal", "--all", "--cursor", "5"], ["packets", "--cursor", "a;b"],
            ["packets", "--all", "--all"], ["faults", "list", "extra"], ["faults", "--cursor"],
            ["faults", "frob"], ["faults", "delete"], ["faults", "delete", "x1"],
            ["faults", "add", "--match", "noequals"], ["faults", "add", "positional"],
            ["send", "--bogus", "x"], ["send", "notanendpoint"], ["send", "--set"],
            ["send", "--set", "novalue"], ["send", "sendredpack", "gethbinfo"],
        ]
        for args in bad:
            with self.subTest(args=args):
                self.ctl(*args, rc=2)
        # Nothing reached the server as a change.
        self.assertEqual(control.admin_ok(self.srv, "GET", "/admin/v1/faults")["faults"], [])

    def test_send_unknown_merchant_without_key(self):
        p = self.ctl(*(control.send_args(self.srv) + ["--mch-id", "12345678"]), rc=2)
        self.assertIn("12345678", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
