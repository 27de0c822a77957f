"""The control API client: claims, the clock, fault rules, settling, merchants,
reset and the verification API (what merchant code sent)."""

import datetime
import http.client
import json
import urllib.parse

FILTERS = ("endpoint", "mch_id", "mch_billno", "re_openid", "err_code", "since", "until")

# Shown for each request in a failed verify, after endpoint and mch_id.
_SHOWN_FIELDS = ("mch_billno", "re_openid", "total_amount", "total_num", "scene_id")


class ControlError(Exception):
    """A control call answered 4xx/5xx: `status`, `doc` (the JSON answer), `method`, `path`."""

    def __init__(self, method, path, status, doc):
        self.method, self.path, self.status, self.doc = method, path, status, doc
        what = doc.get("error") if isinstance(doc, dict) and "error" in doc else doc
        super().__init__("%s %s answered %d: %s" % (method, path, status, what))


def _filter_value(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            raise ValueError("since/until: a datetime needs a time zone")
        return str(int(v.timestamp()))
    return str(v)


def _query(params):
    params = {k: _filter_value(v) for k, v in params.items() if v is not None}
    return ("?" + urllib.parse.urlencode(params)) if params else ""


def _describe_filters(filters):
    given = ["%s=%s" % (k, v) for k, v in filters.items() if v is not None]
    return " ".join(given) if given else "(no filter)"


def format_request(r, extra=()):
    """One line for a journal request: seq, time, endpoint, key fields, answer."""
    fields = r.get("fields") or {}
    parts = ["#%s" % r.get("seq"), str(r.get("at")), str(r.get("endpoint")),
             "mch_id=%s" % r.get("mch_id")]
    for name in tuple(_SHOWN_FIELDS) + tuple(n for n in extra if n not in _SHOWN_FIELDS):
        if name in ("endpoint", "mch_id", "err_code", "since", "until"):
            continue
        value = fields.get(name, r.get(name))
        if value is not None:
            parts.append("%s=%s" % (name, value))
    parts.append("-> %s" % r.get("err_code"))
    if r.get("request_cut"):
        parts.append("(body cut)")
    return " ".join(parts)


class _Clock:
    def __init__(self, control):
        self._c = control

    def get(self):
        """{"now": "...+08:00", "epoch": N, "offset_seconds": N}"""
        return self._c.call("GET", "/admin/v1/clock")

    def advance(self, seconds):
        """Moves the business clock forwards; due expiries and refunds run first."""
        return self._c.call("POST", "/admin/v1/clock", {"advance_seconds": int(seconds)})

    def set(self, now):
        """Sets the business clock to `now` (ISO 8601 with offset, or an aware
        datetime); backwards is a ControlError 409."""
        if isinstance(now, datetime.datetime):
            if now.tzinfo is None:
                raise ValueError("clock.set: a datetime needs a time zone")
            now = now.isoformat(timespec="seconds")
        return self._c.call("POST", "/admin/v1/clock", {"now": now})

    def __call__(self):
        return self.get()


class _Faults:
    def __init__(self, control):
        self._c = control

    def add(self, err_code=None, *, api=None, match=None, transport=None, times=None,
            probability=None, **options):
        """Adds a fault rule (docs/control-api.md, Fault rules). `match` is a dict of
        mch_id / re_openid / mch_billno; those three may also be given as keywords.
        Other keywords (delay_ms, delay_max_ms, settle_result) go as they are."""
        match = dict(match or {})
        for name in ("mch_id", "re_openid", "mch_billno"):
            if name in options:
                match[name] = options.pop(name)
        rule = dict(options)
        for k, v in (("err_code", err_code), ("api", api), ("transport", transport),
                     ("times", times), ("probability", probability)):
            if v is not None:
                rule[k] = v
        if match:
            rule["match"] = match
        return self._c.call("POST", "/admin/v1/faults", rule)

    def list(self):
        """Every fault rule with its hit count."""
        out, cursor = [], None
        while True:
            doc = self._c.call("GET", "/admin/v1/faults" + _query({"limit": 1000, "cursor": cursor}))
            out += doc["faults"]
            cursor = doc.get("next")
            if cursor is None:
                return out

    def delete(self, rule_id):
        return self._c.call("DELETE", "/admin/v1/faults/%s" % rule_id)

    def clear(self):
        return self._c.call("DELETE", "/admin/v1/faults")

    def __call__(self):
        return self.list()


class _Merchant:
    def __init__(self, control):
        self._c = control

    def get(self, mch_id):
        """Balance, limits, api_enabled, ip_allowlist."""
        return self._c.call("GET", "/admin/v1/merchants/%s" % urllib.parse.quote(str(mch_id)))

    def update(self, mch_id, **changes):
        """Any of balance=N, topup=N, limits={...}, api_enabled=bool, ip_allowlist=[...]."""
        return self._c.call("PUT", "/admin/v1/merchants/%s" % urllib.parse.quote(str(mch_id)),
                            changes)

    def __call__(self, mch_id):
        return self.get(mch_id)


class Control:
    """The control API of one server (plain HTTP, JSON).

    control.claim(billno, openid)          control.clock.get() / .advance(s) / .set(now)
    control.faults.add(...) / .list() / .clear()        control.settle(billno, "SENT")
    control.merchant.get(id) / .update(id, ...)         control.reset()
    control.requests(**filters)   control.count(**filters)   control.verify(count=N, **filters)
    Every 4xx/5xx raises ControlError.
    """

    def __init__(self, host, port, token=None, timeout=30.0):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self.url = "http://%s:%d" % (host, port)
        self.clock = _Clock(self)
        self.faults = _Faults(self)
        self.merchant = _Merchant(self)

    # -- plumbing -------------------------------------------------------------

    def raw(self, method, path, body=None):
        """(status, parsed JSON or text) of one call, never raising on a status."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode("utf-8")
                headers["Content-Type"] = "application/json"
            if self.token:
                headers["Authorization"] = "Bearer " + self.token
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            doc = json.loads(raw.decode("utf-8"))
        except ValueError:
            doc = raw.decode("utf-8", "replace")
        return resp.status, doc

    def call(self, method, path, body=None):
        """The JSON answer of one call; ControlError on a 4xx/5xx."""
        status, doc = self.raw(method, path, body)
        if status >= 400:
            raise ControlError(method, path, status, doc)
        return doc

    # -- state ------------------------------------------------------------------

    def claim(self, mch_billno, openid, mch_id=None):
        """That user opens the packet's next share: the share, or ControlError 404/409."""
        body = {"openid": openid}
        if mch_id is not None:
            body["mch_id"] = mch_id
        return self.call("POST", "/admin/v1/packets/%s/claims" % urllib.parse.quote(mch_billno), body)

    def settle(self, mch_billno, result="SENT", mch_id=None):
        """Settles an order answered PROCESSING: result SENT or FAILED."""
        body = {"result": result}
        if mch_id is not None:
            body["mch_id"] = mch_id
        return self.call("POST", "/admin/v1/packets/%s/settle" % urllib.parse.quote(mch_billno), body)

    def packet(self, mch_billno, mch_id=None):
        """One packet with its shares and ledger rows."""
        return self.call("GET", "/admin/v1/packets/%s%s" % (urllib.parse.quote(mch_billno),
                                                            _query({"mch_id": mch_id})))

    def packets(self, mch_id=None, status=None):
        """Every packet (newest first), optionally of one merchant and status."""
        out, cursor = [], None
        while True:
            doc = self.call("GET", "/admin/v1/packets" + _query(
                {"mch_id": mch_id, "status": status, "limit": 1000, "cursor": cursor}))
            out += doc["packets"]
            cursor = doc.get("next")
            if cursor is None:
                return out

    def check(self):
        """Every invariant of the database; ControlError 409 with the violations."""
        return self.call("GET", "/admin/v1/check")

    def reset(self, mch_id=None, journal=True, faults=True):
        """Back to the fixtures (one merchant or all); then, by default, every fault rule
        and the request journal are cleared too. The business clock is kept (it only
        goes forwards): a test that needs a fresh clock needs its own server."""
        doc = self.call("POST", "/admin/v1/reset" + _query({"mch_id": mch_id}))
        if faults:
            self.faults.clear()
        if journal:
            self.clear_requests()
        return doc

    # -- verification -----------------------------------------------------------

    def requests(self, limit=None, **filters):
        """The requests merchant code sent that match every filter (endpoint, mch_id,
        mch_billno, re_openid, err_code, since, until), newest first: dicts with seq,
        at, endpoint, mch_id, mch_billno, err_code, fields, request_cut."""
        out, cursor = [], None
        while limit is None or len(out) < limit:
            page = 1000 if limit is None else min(1000, limit - len(out))
            doc = self.call("GET", "/admin/v1/requests" + _query(
                dict(filters, limit=page, cursor=cursor)))
            out += doc["requests"]
            cursor = doc.get("next")
            if cursor is None:
                break
        return out

    def count(self, **filters):
        """How many requests match; ControlError 409 when the journal's bounds dropped
        requests and the count could be wrong."""
        return self.call("GET", "/admin/v1/requests/count" + _query(filters))["count"]

    def clear_requests(self):
        """Empties the journal (a test's clean start)."""
        return self.call("DELETE", "/admin/v1/requests")

    def verify(self, count=1, **filters):
        """Asserts that exactly `count` requests match the filters. On a mismatch raises
        AssertionError showing what was expected and every request sent (newest first,
        those that matched marked with *)."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        status, doc = self.raw("GET", "/admin/v1/requests/count" + _query(filters))
        if status == 409:
            raise AssertionError(
                "redpack-sim verify: cannot count requests matching %s: the journal's bounds "
                "dropped %s request(s) (at least %s match); raise --journal-size "
                "(--redpack-arg=--journal-size=N) or clear the journal at the test's start"
                % (_describe_filters(filters), doc.get("dropped"), doc.get("count_at_least")))
        if status >= 400:
            raise ControlError("GET", "/admin/v1/requests/count", status, doc)
        got = doc["count"]
        if got == count:
            return got
        matching = {r["seq"] for r in self.requests(limit=1000, **filters)}
        sent = self.requests(limit=50)
        total = self.call("GET", "/admin/v1/requests/count")["count"] \
            if len(sent) == 50 else len(sent)
        lines = ["redpack-sim verify: expected %d request%s matching %s, but %d matched"
                 % (count, "" if count == 1 else "s", _describe_filters(filters), got)]
        if not sent:
            lines.append("Requests sent: none")
        else:
            lines.append("Requests sent (newest first%s; * matched):" %
                         ("" if total == len(sent) else ", %d of %d" % (len(sent), total)))
            for r in sent:
                lines.append("  %s %s" % ("*" if r["seq"] in matching else " ",
                                          format_request(r, tuple(filters))))
        raise AssertionError("\n".join(lines))
