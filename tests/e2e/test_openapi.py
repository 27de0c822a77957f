#!/usr/bin/env python3
"""The control API's OpenAPI description (issue 13.2), server/src/openapi.json:

- every route of the server's route table (server/src/admin.c, read as
  scripts/readme-errors.sh reads it) is in it, with the query parameters,
  path parameters, body keys and security the table gives, and every
  path and method in it is a route of the table;
- every $ref resolves, every component is used, every schema is a valid
  JSON Schema 2020-12 (OpenAPI 3.1's dialect);
- GET /admin/v1/openapi.json serves the file's bytes;
- real answers of every route, at least one success and one error each
  (and 401 of every route but /healthz, 404 with the journal off, 405, an
  unknown path), validate against the schema the description gives for
  their status and content type (python3-jsonschema,
  Draft202012Validator)."""

import datetime
import json
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jsonschema  # noqa: E402  (Debian: python3-jsonschema)

from harness import answers, control, wire  # noqa: E402
from harness.cases import E2ETestCase, SharedServerCase  # noqa: E402
from harness.contract import MCH2_APPID, MCH2_ID, MCH_ID  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_PATH = os.path.join(ROOT, "server", "src", "openapi.json")
ADMIN_C = os.path.join(ROOT, "server", "src", "admin.c")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


SPEC_BYTES = read_bytes(SPEC_PATH)
SPEC = json.loads(SPEC_BYTES.decode("utf-8"))


def route_table():
    """{(METHOD, pattern): {"query", "public", "body"}} from admin.c's rows: one per line,
    {"METHOD", "/path", handler, FLAGS, QUERY, PAGE, BODY} with BODY(...) perhaps going on
    over the next lines (as scripts/readme-errors.sh reads them)."""
    text = read_bytes(ADMIN_C).decode("utf-8")
    table = text[text.index("routes[] = {"):]
    table = table[:table.index("\n};")]
    row_re = re.compile(r'^\s*\{"(GET|POST|PUT|DELETE)", "(/[^"]*)", \w+, ([^,]+), ([^,]+), (\d+),'
                        r'\s*(NULL|BODY\(([^)]*)\))\}', re.M | re.S)
    routes = {}
    for m in row_re.finditer(table):
        query = {q.lower() for q in re.findall(r"QP_(\w+)", m.group(4))}
        if int(m.group(5)) > 0:
            query |= {"limit", "cursor"}
        body = None if m.group(6) == "NULL" else set(re.findall(r'"([^"]+)"', m.group(7)))
        routes[(m.group(1), m.group(2))] = {"query": query, "public": "ADMIN_PUBLIC" in m.group(3),
                                            "body": body, "page": int(m.group(5))}
    # Every row of the table parsed: as many as the lines that open one.
    opened = len(re.findall(r'^\s*\{"(?:GET|POST|PUT|DELETE)", ', table, re.M))
    if opened != len(routes) or len(routes) < 10:
        raise AssertionError("admin.c: parsed %d of %d route rows" % (len(routes), opened))
    return routes


def pattern_of(template):
    """/admin/v1/packets/{mch_billno}/claims -> /admin/v1/packets/*/claims"""
    return re.sub(r"\{[^/{}]+\}", "*", template)


def pointer(doc, ref):
    """The value a local $ref ("#/a/b") names; KeyError when it names nothing."""
    if not ref.startswith("#/"):
        raise KeyError("not a local reference: %s" % ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(ref)
    return node


def deref(obj):
    """obj, or what its $ref names (an OpenAPI parameter, response or body)."""
    while isinstance(obj, dict) and "$ref" in obj:
        obj = pointer(SPEC, obj["$ref"])
    return obj


def refs(node, where="#"):
    """Every ($ref, where) in node."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v, where
            else:
                yield from refs(v, where + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, "%s/%d" % (where, i))


def operations():
    """(METHOD, template, operation) of the description."""
    for template, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), template, op


def validator(schema):
    """A 2020-12 validator of schema whose "#/components/..." references resolve in the
    description (the components ride along at the root, where JSON Schema ignores them)."""
    root = dict(schema)
    root["components"] = SPEC["components"]
    return jsonschema.Draft202012Validator(root)


class Description(unittest.TestCase):
    """The file against the route table and itself; no server."""

    maxDiff = None

    def setUp(self):
        self.routes = route_table()

    def test_openapi_3_1(self):
        self.assertRegex(SPEC["openapi"], r"^3\.1\.\d+$")
        for key in ("title", "version", "description"):
            self.assertIsInstance(SPEC["info"].get(key), str, key)

    def test_every_route_is_described_and_nothing_else(self):
        described = {(m, pattern_of(t)) for m, t, _ in operations()}
        self.assertEqual(sorted(set(self.routes) - described), [],
                         "routes of server/src/admin.c missing from server/src/openapi.json")
        self.assertEqual(sorted(described - set(self.routes)), [],
                         "operations of server/src/openapi.json that are no route of admin.c")
        # One template per pattern (no two spellings of the same path).
        patterns = [pattern_of(t) for t in SPEC["paths"]]
        self.assertEqual(len(patterns), len(set(patterns)), patterns)

    def test_parameters_bodies_security_match_the_table(self):
        ids = set()
        for method, template, op in operations():
            route = self.routes[(method, pattern_of(template))]
            with self.subTest(route="%s %s" % (method, template)):
                self.assertNotIn(op.get("operationId"), ids)
                ids.add(op.get("operationId"))
                params = [deref(p) for p in op.get("parameters", [])]
                query = [p["name"] for p in params if p["in"] == "query"]
                self.assertEqual(len(query), len(set(query)), query)
                self.assertEqual(set(query), route["query"], "query parameters")
                for p in params:
                    if p["name"] == "limit":
                        self.assertEqual(p["schema"].get("default"), route["page"],
                                         "limit's default is the route's page size")
                path = [p["name"] for p in params if p["in"] == "path"]
                self.assertEqual(path, re.findall(r"\{([^/{}]+)\}", template), "path parameters")
                self.assertTrue(all(p.get("required") is True for p in params if p["in"] == "path"))
                self.assertEqual([p for p in params if p["in"] not in ("query", "path")], [])
                # The body: exactly the keys the table allows, nothing else.
                if route["body"] is None:
                    self.assertNotIn("requestBody", op)
                else:
                    rb = deref(op["requestBody"])
                    self.assertIs(rb.get("required"), True)
                    self.assertEqual(list(rb["content"]), ["application/json"])
                    schema = deref(rb["content"]["application/json"]["schema"])
                    self.assertEqual(schema.get("type"), "object")
                    self.assertIs(schema.get("additionalProperties"), False)
                    self.assertEqual(set(schema["properties"]), route["body"], "body keys")
                # Public routes need no token; the others take the document's security.
                if route["public"]:
                    self.assertEqual(op.get("security"), [])
                else:
                    self.assertNotIn("security", op)
                    self.assertIn("401", op["responses"])
                statuses = set(op["responses"])
                self.assertTrue({s for s in statuses if s.startswith("2")}, "a success answer")
                self.assertIn("400", statuses, "every route answers 400 to a wrong query")
        self.assertIn({"adminToken": []}, SPEC["security"])
        self.assertEqual(SPEC["components"]["securitySchemes"]["adminToken"]["scheme"], "bearer")

    def test_every_ref_resolves_and_every_component_is_used(self):
        used = set()
        for ref, where in refs(SPEC):
            with self.subTest(ref=ref, at=where):
                try:
                    pointer(SPEC, ref)
                except (KeyError, IndexError, ValueError):
                    self.fail("%s at %s resolves to nothing" % (ref, where))
            used.add(ref)
        # The answers of any path (405, 404) are named by the description's text, not by a
        # route; LiveAnswers validates real ones against them.
        anywhere = {"MethodNotAllowed", "NoSuchEndpoint"}
        for kind, items in SPEC["components"].items():
            if kind == "securitySchemes":
                continue
            for name in items:
                if kind == "responses" and name in anywhere:
                    continue
                self.assertIn("#/components/%s/%s" % (kind, name), used,
                              "component %s/%s is never used" % (kind, name))

    def test_schemas_are_json_schema_2020_12(self):
        for name, schema in SPEC["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)
        for method, template, op in operations():
            for status, resp in op["responses"].items():
                for ctype, media in deref(resp).get("content", {}).items():
                    with self.subTest(op="%s %s" % (method, template), status=status, ctype=ctype):
                        jsonschema.Draft202012Validator.check_schema(media["schema"])


class Answers:
    """Sends control calls, validates each answer against the description, and keeps
    which statuses of which operation were seen."""

    def __init__(self, test):
        self.test = test
        self.seen = {}  # (METHOD, template) -> {status}
        self.templates = [(t, re.compile("^" + re.sub(r"\\\{[^/{}]+\\\}", "[^/]+", re.escape(t))
                                         + "$")) for t in SPEC["paths"]]

    def template(self, path):
        path = path.split("?", 1)[0]
        found = [t for t, rx in self.templates if rx.match(path)]
        # A literal segment beats a parameter (no such overlap today, but be exact).
        found.sort(key=lambda t: t.count("{"))
        return found[0] if found else None

    def call(self, srv, method, path, body=None, want=None, raw=None, token=None, response=None):
        """One call; checks its status (want) and validates the answer against the operation's
        response for that status (or against components/responses/<response>). Returns the
        parsed JSON (or the text of a text answer)."""
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if isinstance(data, str):
            data = data.encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        resp = control.request(srv, method, path, headers, data, token=token)
        label = "%s %s -> HTTP %d %s" % (method, path, resp.status,
                                         resp.body[:400].decode("utf-8", "replace"))
        if want is not None:
            self.test.assertEqual(resp.status, want, label)
        if response is not None:
            described = SPEC["components"]["responses"][response]
        else:
            template = self.template(path)
            self.test.assertIsNotNone(template, "%s: no path of the description" % label)
            op = SPEC["paths"][template].get(method.lower())
            self.test.assertIsNotNone(op, "%s: no such operation in the description" % label)
            described = op["responses"].get(str(resp.status))
            self.test.assertIsNotNone(described, "%s: status not in the description" % label)
            self.seen.setdefault((method, template), set()).add(resp.status)
        described = deref(described)
        ctype = dict((k.lower(), v) for k, v in resp.headers).get("content-type", "")
        content = described.get("content", {})
        media = content.get(ctype) or content.get(ctype.split(";")[0].strip())
        self.test.assertIsNotNone(media, "%s: content type %r, described: %s"
                                  % (label, ctype, sorted(content)))
        text = resp.body.decode("utf-8")
        doc = json.loads(text) if ctype.startswith("application/json") else text
        errors = sorted(validator(media["schema"]).iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            self.test.fail("%s\ndoes not validate against its schema:\n%s" % (
                label, "\n".join("  at %s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                                 for e in errors[:10])))
        return doc

    def assert_covered(self):
        """Every operation answered at least one success and one error."""
        missing = []
        for method, template, _ in operations():
            got = self.seen.get((method, template), set())
            if not any(s < 400 for s in got) or not any(s >= 400 for s in got):
                missing.append("%s %s (seen %s)" % (method, template, sorted(got)))
        self.test.assertEqual(missing, [], "operations without a success and an error answer")


def q(path, **params):
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


class LiveAnswers(SharedServerCase):
    """Real answers of every route, success and error, against their schemas."""

    def test_served_document_is_the_file(self):
        resp = control.request(self.srv, "GET", "/admin/v1/openapi.json")
        self.assertEqual(resp.status, 200)
        ctype = dict((k.lower(), v) for k, v in resp.headers).get("content-type", "")
        self.assertTrue(ctype.startswith("application/json"), ctype)
        self.assertEqual(resp.body, SPEC_BYTES, "the served document differs from the file")

    def test_every_route_answers_as_described(self):
        a = Answers(self)
        srv = self.srv
        ok = 200

        # -- status
        self.assertEqual(a.call(srv, "GET", "/healthz", want=ok), "ok\n")
        a.call(srv, "GET", "/healthz?verbose=1", want=400)
        self.assertTrue(a.call(srv, "GET", "/", want=ok).startswith("<!DOCTYPE html>"))
        a.call(srv, "GET", "/?refresh=5", want=400)
        a.call(srv, "GET", "/admin/v1/check", want=ok)
        a.call(srv, "GET", "/admin/v1/check?x=", want=400)
        cat = a.call(srv, "GET", "/admin/v1/errors", want=ok)
        self.assertGreater(len(cat["errors"]), 10)
        a.call(srv, "GET", "/admin/v1/errors?limit=5", want=400)
        a.call(srv, "GET", "/admin/v1/openapi.json", want=ok)
        a.call(srv, "GET", "/admin/v1/openapi.json?version=3", want=400)
        text = a.call(srv, "GET", "/metrics", want=ok)
        self.assertIn("redpack_answers_total", text)
        a.call(srv, "GET", "/metrics?format=json", want=400)

        # -- the journal and verification, from a clean start
        a.call(srv, "DELETE", "/admin/v1/requests", want=ok)
        a.call(srv, "DELETE", "/admin/v1/requests?endpoint=gethbinfo", want=400)
        a.call(srv, "DELETE", "/admin/v1/journal", want=ok)
        a.call(srv, "DELETE", "/admin/v1/journal?mch_billno=x", want=400)

        # -- packets: one sent, one left pending by a PROCESSING rule, one billno of two merchants
        sent = wire.fresh_group_request()
        self.assertEqual(answers.answer_dict(wire.send_group(srv, sent).body)["err_code"], "SUCCESS")
        wire.send_group(srv, wire.fresh_group_request(), key="0" * 32)  # SIGN_ERROR: sign_check
        pending_openid = wire.new_openid()
        rule = a.call(srv, "POST", "/admin/v1/faults", want=201,
                      body={"api": "sendgroupredpack", "match": {"re_openid": pending_openid},
                            "err_code": "PROCESSING", "times": 1, "settle_result": "FAILED"})
        a.call(srv, "POST", "/admin/v1/faults", want=201,
               body={"transport": "delay", "delay_ms": 1, "delay_max_ms": 2, "probability": 0.5,
                     "match": {"mch_id": "nobody", "mch_billno": "none"}})
        a.call(srv, "POST", "/admin/v1/faults", body={"err_code": "NOTENOUGH", "when": "now"},
               want=400)
        a.call(srv, "POST", "/admin/v1/faults", body={"api": "gethbinfo"}, want=400)
        a.call(srv, "POST", "/admin/v1/faults", raw="[1]", want=400)
        pending = wire.fresh_group_request(re_openid=pending_openid)
        self.assertEqual(answers.answer_dict(wire.send_group(srv, pending).body)["err_code"],
                         "PROCESSING")
        shared = wire.fresh_group_request()
        wire.send_group(srv, shared)
        other = wire.fresh_group_request(mch_id=MCH2_ID, wxappid=MCH2_APPID,
                                         mch_billno=shared["mch_billno"])
        self.assertEqual(answers.answer_dict(wire.send_group(srv, other).body)["err_code"],
                         "SUCCESS")
        wire.gethbinfo(srv, fields=wire.query_request(sent["mch_billno"]))

        faults = a.call(srv, "GET", "/admin/v1/faults?limit=1", want=ok)
        self.assertIsNotNone(faults["next"])
        a.call(srv, "GET", q("/admin/v1/faults", cursor=faults["next"]), want=ok)
        a.call(srv, "GET", "/admin/v1/faults?limit=0", want=400)
        a.call(srv, "DELETE", "/admin/v1/faults/%d" % rule["id"], want=ok)
        a.call(srv, "DELETE", "/admin/v1/faults/%d" % rule["id"], want=404)
        a.call(srv, "DELETE", "/admin/v1/faults/one", want=404)
        a.call(srv, "DELETE", "/admin/v1/faults?id=1", want=400)
        a.call(srv, "DELETE", "/admin/v1/faults", want=ok)

        billno = sent["mch_billno"]
        a.call(srv, "GET", q("/admin/v1/packets", mch_id=MCH_ID, limit=2), want=ok)
        a.call(srv, "GET", q("/admin/v1/packets", status="SENDING"), want=ok)
        a.call(srv, "GET", q("/admin/v1/packets", status="LOST"), want=400)
        a.call(srv, "GET", "/admin/v1/packets/" + billno, want=ok)
        a.call(srv, "GET", q("/admin/v1/packets/" + shared["mch_billno"], mch_id=MCH2_ID), want=ok)
        a.call(srv, "GET", "/admin/v1/packets/" + shared["mch_billno"], want=409)
        a.call(srv, "GET", "/admin/v1/packets/NOSUCHBILLNO0000", want=404)
        a.call(srv, "GET", q("/admin/v1/packets/" + billno, mch_id="no such"), want=400)

        claims = "/admin/v1/packets/%s/claims"
        a.call(srv, "POST", claims % billno, {"openid": sent["re_openid"]}, want=201)
        a.call(srv, "POST", claims % billno, {"openid": wire.new_openid(), "mch_id": MCH_ID},
               want=201)
        a.call(srv, "POST", claims % billno, {"openid": sent["re_openid"]}, want=409)
        a.call(srv, "POST", claims % pending["mch_billno"], {"openid": pending_openid}, want=409)
        a.call(srv, "POST", claims % "NOSUCHBILLNO0000", {"openid": "oX"}, want=404)
        a.call(srv, "POST", claims % billno, {"openid": ""}, want=400)
        a.call(srv, "POST", claims % billno, {"openid": "oX", "seq": 1}, want=400)
        a.call(srv, "POST", claims % billno, want=400)
        a.call(srv, "GET", "/admin/v1/packets/" + billno, want=ok)  # with opened shares

        settle = "/admin/v1/packets/%s/settle"
        a.call(srv, "POST", settle % pending["mch_billno"], {"result": "MAYBE"}, want=400)
        a.call(srv, "POST", settle % pending["mch_billno"], {"result": "SENT", "mch_id": MCH_ID},
               want=ok)
        a.call(srv, "POST", settle % pending["mch_billno"], {"result": "FAILED"}, want=409)
        a.call(srv, "POST", settle % "NOSUCHBILLNO0000", {"result": "SENT"}, want=404)

        # -- the journal and verification, with what was sent
        a.call(srv, "GET", "/admin/v1/journal", want=ok)
        page = a.call(srv, "GET", "/admin/v1/journal?limit=1&err_code=SIGN_ERROR", want=ok)
        self.assertIn("sign_check", page["entries"][0])
        a.call(srv, "GET", q("/admin/v1/journal", mch_billno=billno, limit=1), want=ok)
        a.call(srv, "GET", "/admin/v1/journal?err_code=NOT_A_CODE", want=400)
        reqs = a.call(srv, "GET", q("/admin/v1/requests", endpoint="sendgroupredpack",
                                    mch_id=MCH_ID, limit=1), want=ok)
        self.assertIsNotNone(reqs["next"])
        a.call(srv, "GET", q("/admin/v1/requests", re_openid=sent["re_openid"],
                             err_code="SUCCESS", since="0", until="2999-01-01T00:00:00+08:00"),
               want=ok)
        a.call(srv, "GET", q("/admin/v1/requests", endpoint="sendmoney"), want=400)
        a.call(srv, "GET", q("/admin/v1/requests", status="SENT"), want=400)
        count = a.call(srv, "GET", q("/admin/v1/requests/count", mch_billno=billno), want=ok)
        self.assertEqual(count["count"], 2)  # the send and the query
        a.call(srv, "GET", q("/admin/v1/requests/count", since="yesterday"), want=400)
        a.call(srv, "GET", "/admin/v1/requests/count?limit=1", want=400)

        # -- merchants
        a.call(srv, "GET", "/admin/v1/merchants/" + MCH_ID, want=ok)
        a.call(srv, "GET", "/admin/v1/merchants/19999999", want=404)
        a.call(srv, "GET", "/admin/v1/merchants/%s?mch_id=%s" % (MCH_ID, MCH_ID), want=400)
        a.call(srv, "PUT", "/admin/v1/merchants/" + MCH2_ID, want=ok,
               body={"topup": 100, "limits": {"sends_per_minute": 0}, "api_enabled": True,
                     "ip_allowlist": []})
        a.call(srv, "PUT", "/admin/v1/merchants/" + MCH2_ID, {"balance": 1, "topup": 1}, want=400)
        a.call(srv, "PUT", "/admin/v1/merchants/" + MCH2_ID, {"credit": 1}, want=400)
        a.call(srv, "PUT", "/admin/v1/merchants/19999999", {"topup": 1}, want=404)

        # -- the clock
        a.call(srv, "GET", "/admin/v1/clock", want=ok)
        a.call(srv, "GET", "/admin/v1/clock?tz=utc", want=400)
        now = a.call(srv, "POST", "/admin/v1/clock", {"advance_seconds": 0}, want=ok)
        # An absolute time, a minute ahead: the clock's own "now" would be
        # refused as backwards once the second it was read in is over.
        ahead = datetime.datetime.fromisoformat(now["now"]) + datetime.timedelta(seconds=60)
        a.call(srv, "POST", "/admin/v1/clock", {"now": ahead.isoformat()}, want=ok)
        a.call(srv, "POST", "/admin/v1/clock", {"now": "2001-01-01T00:00:00+08:00"}, want=409)
        a.call(srv, "POST", "/admin/v1/clock", {"advance_seconds": -1}, want=400)
        a.call(srv, "POST", "/admin/v1/clock", {"now": "9999-12-31T00:00:00+08:00"}, want=400)
        a.call(srv, "POST", "/admin/v1/clock", {}, want=400)

        # -- resets: one merchant, a merchant the fixtures lack, then everything
        a.call(srv, "POST", q("/admin/v1/reset", mch_id=MCH2_ID), want=ok)
        a.call(srv, "POST", q("/admin/v1/reset", mch_id="19999999"), want=404)
        a.call(srv, "POST", q("/admin/v1/reset", mch_id="bad id"), want=400)
        a.call(srv, "POST", "/admin/v1/reset?everything=1", want=400)
        a.call(srv, "POST", "/admin/v1/reset", want=ok)

        # -- any path: a method it does not take, a path that does not exist
        a.call(srv, "PUT", "/admin/v1/clock", {"now": "x"}, want=405, response="MethodNotAllowed")
        a.call(srv, "POST", "/healthz", want=405, response="MethodNotAllowed")
        a.call(srv, "GET", "/admin/v1/nothing", want=404, response="NoSuchEndpoint")

        a.assert_covered()

    def test_count_that_could_be_wrong_is_409(self):
        """A count by re_openid over a body the journal kept cut (over 8 KiB); the journal's
        bounds: OtherServers."""
        a = Answers(self)
        control.admin_ok(self.srv, "DELETE", "/admin/v1/requests")
        big = wire.fresh_group_request(remark="x" * 9000)
        wire.send_group(self.srv, big)
        doc = a.call(self.srv, "GET", q("/admin/v1/requests/count", re_openid=big["re_openid"]),
                     want=409)
        self.assertGreaterEqual(doc["unreadable"], 1)
        page = a.call(self.srv, "GET", q("/admin/v1/requests", re_openid=big["re_openid"]),
                      want=200)
        self.assertIs(page["complete"], False)


class OtherServers(E2ETestCase):
    """401 from every route but /healthz (token), 404 of the journal's routes (journal off),
    409 of a count the journal's bounds could make wrong."""

    def fill(self, template):
        return re.sub(r"\{[^/{}]+\}", "1", template)

    def test_token_and_journal_off(self):
        srv = self.start_server(args=["--journal-size", "0"], admin_token="openapi-token")
        a = Answers(self)
        for method, template, op in operations():
            path = self.fill(template)
            body = {} if "requestBody" in op else None
            with self.subTest(op="%s %s" % (method, template)):
                if op.get("security") == []:
                    a.call(srv, method, path, body, want=200, token="")
                else:
                    a.call(srv, method, path, body, want=401, token="")
                    a.call(srv, method, path, body, token="wrong", want=401)
        # A token opens every path; the journal's routes answer 404 while it is off.
        for method, path in (("GET", "/admin/v1/journal"), ("DELETE", "/admin/v1/journal"),
                             ("GET", "/admin/v1/requests"), ("DELETE", "/admin/v1/requests"),
                             ("GET", "/admin/v1/requests/count")):
            with self.subTest(path=path):
                a.call(srv, method, path, want=404)
        self.assertEqual(a.call(srv, "GET", "/admin/v1/openapi.json", want=200), SPEC)

    def test_count_beyond_the_journals_bounds(self):
        srv = self.start_server(args=["--journal-size", "2"])
        a = Answers(self)
        for _ in range(3):
            wire.send_group(srv, wire.fresh_group_request())
        doc = a.call(srv, "GET", "/admin/v1/requests/count", want=409)
        self.assertEqual((doc["count_at_least"], doc["dropped"]), (2, 1))
        page = a.call(srv, "GET", "/admin/v1/requests", want=200)
        self.assertEqual((page["complete"], page["dropped"]), (False, 1))
        self.assertEqual(a.call(srv, "GET", "/admin/v1/journal", want=200)["kept"], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
