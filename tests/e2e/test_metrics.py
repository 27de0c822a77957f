#!/usr/bin/env python3
"""GET /metrics: Prometheus text with the answers by endpoint and err_code, the
latency histogram by endpoint, TLS refusals by reason, open connections, the
packets by status, money sent and refunded, the clock offset, the journal's and
the database's size (docs/control-api.md, metrics)."""

import re
import unittest
import urllib.request

from harness import answers, control, wire
from harness.cases import E2ETestCase
from harness.contract import GROUP_PATH


def metrics(srv):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % srv.admin_port, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def value(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    pattern = r"^%s%s ([\d.]+)$" % (re.escape(name), re.escape("{%s}" % want) if want else "")
    m = re.search(pattern, text, re.M)
    if not m:
        return 0
    return float(m.group(1)) if "." in m.group(1) else int(m.group(1))


LINE_RE = r'^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? \d+(\.\d+)?)$'
BOUNDS = ["0.0005", "0.001", "0.002", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
          "1", "+Inf"]


class Metrics(E2ETestCase):
    def test_counts_follow_the_traffic(self):
        srv = self.start_server()
        before = metrics(srv)
        self.assertEqual(value(before, "redpack_packets", status="SENT"), 0)
        for _ in range(3):
            req = wire.group_request(re_openid=wire.new_openid())
            self.assertSuccess(wire.send_group(srv, req), req)
        bad = wire.group_request(re_openid=wire.new_openid())
        resp = wire.send_group(srv, bad, key="0" * 32)
        self.assertEqual(answers.answer_dict(resp.body)["err_code"], "SIGN_ERROR")
        held = wire.group_request(re_openid="oMOCK_NOTENOUGH")
        wire.send_group(srv, held)
        text = metrics(srv)
        ep = "sendgroupredpack"
        self.assertEqual(value(text, "redpack_answers_total", endpoint=ep, err_code="SUCCESS"), 3)
        self.assertEqual(value(text, "redpack_answers_total", endpoint=ep, err_code="SIGN_ERROR"), 1)
        self.assertEqual(value(text, "redpack_answers_total", endpoint=ep, err_code="NOTENOUGH"), 1)
        self.assertEqual(value(text, "redpack_packets", status="SENT"), 3)
        self.assertEqual(value(text, "redpack_packets", status="SENDING"), 1)
        self.assertEqual(value(text, "redpack_journal_entries"), 5)
        self.assertEqual(value(text, "redpack_clock_offset_seconds"), 0)
        for line in text.splitlines():
            self.assertRegex(line, LINE_RE)
        # Every metric has its HELP and TYPE.
        names = set(re.findall(r"^(\w+?)(?:_bucket|_sum|_count)?(?:\{| )", text, re.M))
        for name in names:
            self.assertIn("# HELP %s " % name, text)
            self.assertIn("# TYPE %s " % name, text)
        control.check(srv)

    def test_latency_histogram(self):
        srv = self.start_server()
        h = "redpack_api_request_duration_seconds"
        self.assertIn("# TYPE %s histogram" % h, metrics(srv))
        for _ in range(4):
            req = wire.group_request(re_openid=wire.new_openid())
            self.assertSuccess(wire.send_group(srv, req), req)
        wire.gethbinfo(srv, req["mch_billno"])
        text = metrics(srv)
        for ep, n in (("sendgroupredpack", 4), ("gethbinfo", 1), ("sendredpack", 0)):
            counts = [value(text, h + "_bucket", endpoint=ep, le=le) for le in BOUNDS]
            self.assertEqual(counts, sorted(counts), "buckets are cumulative")
            self.assertEqual(counts[-1], n)
            self.assertEqual(value(text, h + "_count", endpoint=ep), n)
            if n:
                self.assertGreater(value(text, h + "_sum", endpoint=ep), 0)
                self.assertLess(value(text, h + "_sum", endpoint=ep), 60 * n)

    def test_front_end_and_store_gauges(self):
        srv = self.start_server()
        text = metrics(srv)
        for reason in ("no_certificate", "untrusted_certificate", "plain_http", "over_capacity",
                       "handshake_failed", "client_alert"):
            self.assertEqual(value(text, "redpack_tls_refused_total", reason=reason), 0)
        self.assertEqual(value(text, "redpack_open_connections", port="admin"), 1)
        self.assertEqual(value(text, "redpack_money_sent_fen"), 0)
        db0 = value(text, "redpack_db_bytes")
        self.assertGreater(db0, 0)
        self.assertEqual(wire.post(srv, GROUP_PATH, b"<xml></xml>", cert=None).status, 400)
        self.assertEqual(wire.post(srv, GROUP_PATH, b"<xml></xml>", cert="untrusted").status, 400)
        with wire.Connection(srv) as conn:
            for _ in range(3):
                req = wire.group_request(re_openid=wire.new_openid(), total_amount="500")
                self.assertSuccess(wire.send_group(srv, req, conn=conn), req)
            text = metrics(srv)
            self.assertEqual(value(text, "redpack_open_connections", port="api"), 1)
        self.assertEqual(value(text, "redpack_tls_refused_total", reason="no_certificate"), 1)
        self.assertEqual(value(text, "redpack_tls_refused_total", reason="untrusted_certificate"), 1)
        self.assertEqual(value(text, "redpack_money_sent_fen"), 1500)
        self.assertEqual(value(text, "redpack_money_refunded_fen"), 0)
        self.assertEqual(value(text, "redpack_packets", status="SENT"), 3)
        self.assertGreaterEqual(value(text, "redpack_db_bytes"), db0)
        self.assertEqual(value(text, "redpack_journal_entries"), 3)
        self.assertGreater(value(text, "redpack_journal_bytes"), 0)


if __name__ == "__main__":
    unittest.main()
