"""The control client: the control API over plain HTTP on 127.0.0.1 (merchants,
packets and claims, the clock, faults, the journal, the checker) and the
redpack-ctl command line pointed at a server.

One exchange underneath everything: request() returns the Response as it came;
admin() adds the JSON document and checks that an error answer is {"error": ...}.
A server's admin_token, when it has one, goes along unless token="" is given.
"""

import http.client
import json
import os
import re
import subprocess
import time
import urllib.parse

from .contract import (HOST, MCH_ID, beijing_iso, ctl_bin_path, default_fixtures_path, iso_epoch,
                       next_beijing_midnight)
from .wire import Response, raise_if_dead


def request(server, method, path, headers=None, body=None, timeout=30, token=None):
    """One plain-HTTP request to the control API on 127.0.0.1; returns Response.

    token None uses the server's admin_token attribute when it has one; pass
    token="" to send no Authorization header."""
    hdrs = dict(headers or {})
    if token is None:
        token = getattr(server, "admin_token", None)
    if token:
        hdrs.setdefault("Authorization", "Bearer " + token)
    conn = http.client.HTTPConnection(HOST, server.admin_port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.getheaders(), data)
    finally:
        conn.close()


def admin(srv, method, path, body=None, raw=None, timeout=30):
    """One request to the control API; returns (status, parsed JSON or None, raw bytes).

    body is JSON-encoded; raw is sent as is (bytes or str)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    if isinstance(data, str):
        data = data.encode("utf-8")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        resp = request(srv, method, path, headers, data, timeout)
    except (OSError, http.client.HTTPException) as e:
        raise_if_dead(srv, e)
        raise
    ctype = dict((k.lower(), v) for k, v in resp.headers).get("content-type", "")
    doc = None
    if resp.body:
        try:
            doc = json.loads(resp.body.decode("utf-8"))
        except ValueError:
            doc = None
    # Errors are {"error": "..."}; GET /admin/v1/check answers 409 with its violations.
    if resp.status >= 400 and ctype.startswith("application/json") and \
            not path.startswith("/admin/v1/check"):
        if not isinstance(doc, dict) or not isinstance(doc.get("error"), str):
            raise AssertionError("%s %s: error answer without {\"error\": ...}: %r"
                                 % (method, path, resp.body[:500]))
    return resp.status, doc, resp.body


def admin_ok(srv, method, path, body=None, want=200):
    """admin() that must answer HTTP want; returns the document."""
    st, doc, raw = admin(srv, method, path, body)
    if st != want:
        raise AssertionError("%s %s %r: HTTP %d %s (expected %d)"
                             % (method, path, body, st, raw[:600].decode("utf-8", "replace"), want))
    return doc


def check(server):
    """GET /admin/v1/check must answer 200 {"ok":true,...,"violations":[]}; returns the JSON."""
    resp = request(server, "GET", "/admin/v1/check")
    try:
        doc = json.loads(resp.body.decode("utf-8"))
    except ValueError:
        doc = None
    if resp.status != 200 or not isinstance(doc, dict) or doc.get("ok") is not True \
            or doc.get("violations") != []:
        raise AssertionError("GET /admin/v1/check: HTTP %d %s"
                             % (resp.status, resp.body.decode("utf-8", "replace")[:4000]))
    return doc


def catalogue(srv):
    """{err_code: entry} from GET /admin/v1/errors, in catalogue order."""
    doc = admin_ok(srv, "GET", "/admin/v1/errors")
    return {e["err_code"]: e for e in doc["errors"]}


# ---------------------------------------------------------------------------
# The clock
# ---------------------------------------------------------------------------

def clock(srv):
    st, doc, raw = admin(srv, "GET", "/admin/v1/clock")
    if st != 200:
        raise AssertionError("GET /admin/v1/clock: HTTP %d %r" % (st, raw))
    check_clock_doc(doc)
    return doc


def check_clock_doc(doc):
    if not isinstance(doc, dict) or set(doc) != {"now", "epoch", "offset_seconds"}:
        raise AssertionError("clock answer %r" % (doc,))
    if iso_epoch(doc["now"]) != doc["epoch"]:
        raise AssertionError("clock now %r != epoch %r" % (doc["now"], doc["epoch"]))
    skew = doc["epoch"] - doc["offset_seconds"] - time.time()
    if abs(skew) > 5:
        raise AssertionError("clock epoch - offset is %.0f s away from real time: %r" % (skew, doc))


def set_clock(srv, **body):
    """POST /admin/v1/clock; returns (status, doc)."""
    st, doc, _ = admin(srv, "POST", "/admin/v1/clock", body)
    if st == 200:
        check_clock_doc(doc)
    return st, doc


def advance(srv, seconds):
    st, doc = set_clock(srv, advance_seconds=seconds)
    if st != 200:
        raise AssertionError("advance %d s: HTTP %d %r" % (seconds, st, doc))
    return doc


def move_to(srv, epoch):
    st, doc = set_clock(srv, now=beijing_iso(epoch))
    if st != 200:
        raise AssertionError("clock to %s: HTTP %d %r" % (beijing_iso(epoch), st, doc))
    return doc


def to_noon(srv):
    """Moves the clock to the next Beijing noon, so that a test's daily counters cannot
    straddle a midnight by accident. Returns the clock document."""
    return move_to(srv, next_beijing_midnight(clock(srv)["epoch"]) + 12 * 3600)


# ---------------------------------------------------------------------------
# Packets and claims
# ---------------------------------------------------------------------------

def packet(srv, billno, mch_id=None):
    """GET /admin/v1/packets/{billno}; returns (status, doc)."""
    path = "/admin/v1/packets/" + urllib.parse.quote(billno, safe="")
    if mch_id is not None:
        path += "?mch_id=" + urllib.parse.quote(mch_id)
    st, doc, _ = admin(srv, "GET", path)
    return st, doc


def packet_ok(srv, billno, mch_id=MCH_ID):
    st, doc = packet(srv, billno, mch_id)
    if st != 200:
        raise AssertionError("GET packet %s: HTTP %d %r" % (billno, st, doc))
    return doc


def packet_doc(srv, billno, mch_id=MCH_ID):
    """The packet's document, or None when it is not 200."""
    st, doc = packet(srv, billno, mch_id)
    return doc if st == 200 else None


def packets(srv, **params):
    q = urllib.parse.urlencode(params)
    return admin(srv, "GET", "/admin/v1/packets" + ("?" + q if q else ""))[:2]


def claim(srv, billno, openid, mch_id=None, body=None, raw=None):
    """POST /admin/v1/packets/{billno}/claims; returns (status, doc)."""
    if body is None and raw is None:
        body = {"openid": openid}
        if mch_id is not None:
            body["mch_id"] = mch_id
    path = "/admin/v1/packets/%s/claims" % urllib.parse.quote(billno, safe="")
    st, doc, _ = admin(srv, "POST", path, body, raw=raw)
    return st, doc


# ---------------------------------------------------------------------------
# redpack-ctl
# ---------------------------------------------------------------------------

def _ctl_env():
    # redpack-ctl reads REDPACK_<NAME> variables as settings; ours are for the tests.
    return {k: v for k, v in os.environ.items() if not k.startswith("REDPACK_")}


def ctl(srv, *args, admin_url=True, timeout=60, input=None):
    """Runs redpack-ctl [--admin URL] ARGS; returns CompletedProcess (text)."""
    cmd = [ctl_bin_path()]
    if admin_url and srv is not None:
        cmd += ["--admin", "http://%s:%d" % (HOST, srv.admin_port)]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=_ctl_env(), input=input,
                          text=True, encoding="utf-8", errors="replace")


def ctl_check(server):
    """`redpack-ctl check --admin URL` must exit 0 with "ok: all N invariants hold"."""
    cmd = [ctl_bin_path(), "--admin", "http://%s:%d" % (HOST, server.admin_port)]
    token = getattr(server, "admin_token", None)
    if token:
        cmd += ["--admin-token", token]
    cmd.append("check")
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                       env=_ctl_env())
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0 or not re.search(r"ok: all \d+ invariants hold", out):
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, out,
                                                      p.stderr.decode("utf-8", "replace")))
    return out


def send_args(srv, endpoint=None):
    """The send flags that point redpack-ctl at this server."""
    out = ["send"]
    if endpoint:
        out.append(endpoint)
    return out + ["--api", "https://%s:%d" % (HOST, srv.api_port), "--certs", srv.certs,
                  "--fixtures", default_fixtures_path()]
