#!/usr/bin/env python3
"""redpack-bench against a real server: it sends what it says, counts what it gets.

Counts only, never timings (benchmarks are never tests; scripts/bench.sh is
the benchmark). REDPACK_BENCH_BIN names the binary (else next to the server).
"""

import json
import os
import subprocess
import tempfile
import unittest

from harness import contract, control, probe
from harness.cases import E2ETestCase
from harness.contract import HOST

LOAD_MCH = "10000100"


def bench_bin():
    return contract.env_path("REDPACK_BENCH_BIN",
                          os.path.join(os.path.dirname(contract.bin_path()), "redpack-bench"))


class BenchSmoke(E2ETestCase):
    def setUp(self):
        self.srv = self.start_server()

    def bench(self, *args):
        """Runs redpack-bench --json against self.srv; returns the parsed document."""
        cmd = [bench_bin(), "--api", "https://%s:%d" % (HOST, self.srv.api_port),
               "--certs", self.srv.certs, "--json", "--timeout", "30"] + list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, "%s\n%s%s" % (" ".join(cmd), out,
                                                        p.stderr.decode("utf-8", "replace")))
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        doc = json.loads(lines[0])
        self.assertEqual(doc["errors"], {"connect": 0, "tls": 0, "reset": 0, "timeout": 0,
                                         "framing": 0}, doc)
        return doc

    def packets(self, where="1 = 1"):
        return probe.query(self.srv, "SELECT COUNT(*), COUNT(DISTINCT mch_billno) FROM packets "
                           "WHERE mch_id = ? AND " + where, (LOAD_MCH,))[0]

    def test_200_signed_sends_make_200_packets(self):
        doc = self.bench("--requests", "200", "--connections", "4")
        self.assertEqual((doc["requests"], doc["responses"], doc["all_responses"]), (200, 200, 200))
        self.assertEqual(doc["answers"], {"SUCCESS": 200})
        self.assertEqual(doc["handshakes"], 4)
        self.assertEqual(self.packets(), (200, 200))
        self.assertEqual(sum(probe.query(self.srv, "SELECT COUNT(*) FROM shares s JOIN packets p"
                                         " ON p.id = s.packet_id WHERE p.mch_id = ?",
                                         (LOAD_MCH,))[0]), 600)
        control.check(self.srv)

    def test_two_threads_share_the_count(self):
        doc = self.bench("--requests", "101", "--connections", "3", "--threads", "2")
        self.assertEqual(doc["answers"], {"SUCCESS": 101})
        self.assertEqual(self.packets(), (101, 101))

    def test_bad_sign_share_one_answers_sign_error_and_writes_nothing(self):
        doc = self.bench("--requests", "50", "--bad-sign", "1")
        self.assertEqual(doc["answers"], {"SIGN_ERROR": 50})
        self.assertEqual(self.packets(), (0, 0))

    def test_mix_query_asks_for_billnos_it_sent(self):
        doc = self.bench("--requests", "120", "--connections", "2", "--mix-query", "0.5")
        self.assertEqual(doc["answers"], {"SUCCESS": 120})
        self.assertGreater(doc["queries"], 0)
        self.assertEqual(self.packets(), (120 - doc["queries"], 120 - doc["queries"]))

    def test_new_conn_with_resume(self):
        doc = self.bench("--requests", "20", "--connections", "2", "--new-conn", "--resume")
        self.assertEqual(doc["answers"], {"SUCCESS": 20})
        self.assertEqual(doc["handshakes"], 20)
        # Only each connection's first handshake has no session to resume.
        self.assertEqual(doc["resumed"], 18)

    def test_new_conn_full_handshakes(self):
        doc = self.bench("--requests", "10", "--connections", "2", "--new-conn")
        self.assertEqual((doc["handshakes"], doc["resumed"]), (10, 0))
        self.assertEqual(doc["answers"], {"SUCCESS": 10})

    def test_fixed_body_and_http_status_keys(self):
        with tempfile.NamedTemporaryFile("wb", suffix=".xml", delete=False) as f:
            f.write(b"<xml><nested><a>1</a></nested></xml>")
        self.addCleanup(os.unlink, f.name)
        doc = self.bench("--requests", "30", "--fixed-body", f.name)
        self.assertEqual(doc["answers"], {"XML_ERROR": 30})
        doc = self.bench("--requests", "7", "--path", "/no/such/path", "--fixed-body", f.name)
        self.assertEqual(doc["answers"], {"HTTP 404": 7})
        self.assertEqual(self.packets(), (0, 0))

    def test_transport_errors_are_counted_not_answers(self):
        import socket
        with socket.socket() as refused:
            refused.bind((HOST, 0))
            port = refused.getsockname()[1]  # bound, never listening: refused
            doc = self.raw_bench(port, "--requests", "2", "--connections", "1")
        self.assertEqual((doc["errors"]["connect"], doc["responses"], doc["answers"]), (2, 0, {}))
        with socket.socket() as silent:
            silent.bind((HOST, 0))
            silent.listen(8)  # accepts in the kernel, never speaks TLS
            doc = self.raw_bench(silent.getsockname()[1], "--requests", "2", "--connections", "1",
                                 "--timeout", "0.2")
        self.assertEqual((doc["errors"]["timeout"], doc["responses"], doc["answers"]), (2, 0, {}))

    def raw_bench(self, port, *args):
        """redpack-bench --json against HOST:port; no answer at all is exit status 1."""
        cmd = [bench_bin(), "--api", "https://%s:%d" % (HOST, port), "--certs", self.srv.certs,
               "--json"] + list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stderr)
        return json.loads(p.stdout)

    def test_help_lists_every_flag(self):
        p = subprocess.run([bench_bin(), "--help"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode()
        for flag in ("--api", "--certs", "--cert", "--key-file", "--ca", "--connections",
                     "--threads", "--duration", "--requests", "--warmup", "--timeout", "--new-conn",
                     "--resume", "--mix-query", "--bad-sign", "--fixed-body", "--mch-id", "--key",
                     "--appid", "--openid", "--json"):
            self.assertIn("  %s " % flag, text)
        p = subprocess.run([bench_bin(), "--no-such-flag"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
