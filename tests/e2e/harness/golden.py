"""Golden files: tests/golden/<endpoint>/<ERR_CODE>.xml hold an answer byte for
byte, with the values that change per request replaced by placeholders:
{mch_billno}, {re_openid}, {send_listid}, {detail_id}, {send_time}.
REDPACK_GOLDEN_UPDATE=1 makes assert_golden write the file from the answer
instead of comparing (then READ the files before committing them).
"""

import os
import re

from .answers import check_xml_headers, parse_answer
from .contract import REPO

GOLDEN_DIR = os.path.join(REPO, "tests", "golden")
PLACEHOLDERS = ("mch_billno", "re_openid", "send_listid", "detail_id", "send_time")

_PH_RE = re.compile(r"\{(%s)\}" % "|".join(PLACEHOLDERS))


def golden_path(endpoint, name):
    return os.path.join(GOLDEN_DIR, endpoint, name + ".xml")


def fill(template, values):
    """The template with every {placeholder} replaced; a missing value is an error."""
    def sub(m):
        if m.group(1) not in values:
            raise KeyError("golden placeholder {%s} has no value" % m.group(1))
        return values[m.group(1)]
    return _PH_RE.sub(sub, template)


def templatize(body, values):
    """The answer with each placeholder value put back as {name}, element by element
    (only a CDATA value equal to it is replaced, so nothing else can be hit)."""
    text = body.decode("utf-8")
    for name in PLACEHOLDERS:
        v = values.get(name)
        if v is None:
            continue
        elem = name
        text = text.replace("<%s><![CDATA[%s]]></%s>" % (elem, v, elem),
                            "<%s><![CDATA[{%s}]]></%s>" % (elem, name, elem))
    return text


def update_mode():
    return os.environ.get("REDPACK_GOLDEN_UPDATE") == "1"


def assert_golden(tc, resp, endpoint, name, values):
    """resp must be HTTP 200 with the XML headers and exactly the golden bytes (filled)."""
    tc.assertEqual(resp.status, 200, "HTTP status for %s/%s; body=%r" % (endpoint, name, resp.body[:300]))
    check_xml_headers(resp)
    parse_answer(resp.body)
    path = golden_path(endpoint, name)
    if update_mode():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = templatize(resp.body, values)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(text.encode("utf-8"))
        else:
            with open(path, "rb") as f:
                old = f.read().decode("utf-8")
            tc.assertEqual(old, text, "two answers for %s disagree while generating" % path)
        return
    tc.assertTrue(os.path.isfile(path), "golden file %s is missing" % path)
    with open(path, "rb") as f:
        template = f.read().decode("utf-8")
    want = fill(template, values).encode("utf-8")
    if resp.body != want:
        tc.fail("answer differs from %s\n--- expected ---\n%s\n--- got ---\n%s"
                % (os.path.relpath(path, REPO), want.decode("utf-8"),
                   resp.body.decode("utf-8", "replace")))
