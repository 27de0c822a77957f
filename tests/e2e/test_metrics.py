#!/usr/bin/env python3
"""GET /metrics: Prometheus text with the answers by endpoint and err_code,
the packets by status, the clock offset and the journal's size."""

import re
import unittest
import urllib.request

from harness import answers, control, wire
from harness.cases import E2ETestCase


def metrics(srv):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % srv.admin_port, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def value(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    pattern = r"^%s%s (\d+)$" % (re.escape(name), re.escape("{%s}" % want) if want else "")
    m = re.search(pattern, text, re.M)
    return int(m.group(1)) if m else 0


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
            self.assertRegex(line, r"^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? \d+)$")
        control.check(srv)


if __name__ == "__main__":
    unittest.main()
