"""The end-to-end test harness: the real redpack-sim binary on 127.0.0.1 port 0,
driven over mutual TLS, in Python 3's standard library only.

Written from tests/e2e/CONTRACT.md and the protocol reference, never from the
server sources, so that a misunderstanding in the server cannot hide in a
shared helper. The modules, each importing only those above it:

  contract  what CONTRACT.md fixes: paths, the fixture world, texts, time formats,
            where the binaries, certificates and fixtures are
  pgdb      the PostgreSQL run (REDPACK_E2E_DB=postgresql): a database per server,
            sqlite3-like connections through psql
  process   the server process: start on port 0, wait for /healthz, stop, kill -9
  wire      the wire client: signing, request bodies, signed sends over mTLS, raw TLS
  answers   answers parsed in their exact layout, and the exact bytes expected
  probe     the database probe: rows, balances, invariants, money conservation
  control   the control client: the control API and redpack-ctl
  golden    golden answer files under tests/golden/
  cases     unittest base classes: E2ETestCase (servers per test),
            SharedServerCase (one server per class), LifecycleCase
"""
