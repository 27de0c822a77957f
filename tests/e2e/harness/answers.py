"""Answers: the exact layout parsed and checked, and the exact bytes the contract
prescribes for each endpoint (sendgroupredpack, sendredpack, gethbinfo).
"""

import datetime
import email.utils
import re
import xml.etree.ElementTree as ET

from .contract import SUCCESS_DES, XML_ERROR_DES, beijing_text
from .wire import cdata

class AnswerLayoutError(AssertionError):
    pass


# A string is one CDATA section, or several when the value holds "]]>" (split as
# "]]]]><![CDATA[>"); an integer is bare digits.
_ANSWER_ELEM = re.compile(r"<([a-z_]+)>((?:<!\[CDATA\[.*?\]\]>)+|(-?[0-9]+))</\1>\n", re.S)
_CDATA_SECTION = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def parse_answer(body):
    """[(name, value, is_cdata)] of an answer in the exact layout "<xml>\\n<k>v</k>\\n...</xml>".

    Raises AnswerLayoutError for any deviation (declaration, indentation, CR,
    trailing newline, attributes, non-CDATA strings, ...), then cross-checks the
    result with xml.etree.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AnswerLayoutError("answer is not UTF-8: %s; body=%r" % (e, body[:300]))
    if not text.startswith("<xml>\n"):
        raise AnswerLayoutError("answer does not start with '<xml>\\n': %r" % text[:300])
    pos = len("<xml>\n")
    out = []
    while not text.startswith("</xml>", pos):
        m = _ANSWER_ELEM.match(text, pos)
        if not m:
            raise AnswerLayoutError("bad element line at offset %d: %r\nwhole answer: %r"
                                    % (pos, text[pos:pos + 120], text))
        is_cdata = m.group(3) is None
        value = "".join(_CDATA_SECTION.findall(m.group(2))) if is_cdata else m.group(3)
        out.append((m.group(1), value, is_cdata))
        pos = m.end()
    if text[pos:] != "</xml>":
        raise AnswerLayoutError("answer does not end with exactly '</xml>': %r" % text[pos:])
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise AnswerLayoutError("answer is not well-formed XML: %s; %r" % (e, text))
    et = [(c.tag, c.text or "") for c in root]
    if root.tag != "xml" or root.attrib or et != [(n, v) for n, v, _ in out]:
        raise AnswerLayoutError("xml.etree disagrees with the layout parse: %r vs %r" % (et, out))
    return out


def answer_dict(body):
    return {n: v for n, v, _ in parse_answer(body)}


def _echo_int(v):
    return v if v is not None and re.fullmatch(r"[0-9]+", str(v)) else "0"


def _head(err_code, des):
    """The five lines every answer starts with."""
    return [
        ("return_code", "SUCCESS", True),
        ("return_msg", des, True),
        ("result_code", "SUCCESS" if err_code == "SUCCESS" else "FAIL", True),
        ("err_code", err_code, True),
        ("err_code_des", des, True),
    ]


def expected_answer(err_code, err_code_des, req, send_listid=None):
    """The exact answer body the contract prescribes for a sendgroupredpack request.

    err_code 'SUCCESS' gives the success answer (pass send_listid); the echo
    fields come from req (empty CDATA when missing; total_amount 0 when missing
    or not digits; total_num only when sent as digits).
    """
    ok = err_code == "SUCCESS"
    lines = _head(err_code, err_code_des)
    for k in ("mch_billno", "mch_id", "wxappid", "re_openid"):
        v = req.get(k)
        lines.append((k, "" if v is None else str(v), True))
    lines.append(("total_amount", _echo_int(req.get("total_amount")), False))
    # A total_num that was not sent as a number is not echoed (issue 8.4).
    if re.fullmatch(r"[0-9]+", str(req.get("total_num", ""))):
        lines.append(("total_num", str(int(req["total_num"])), False))
    if ok:
        if send_listid is None:
            raise ValueError("success answer needs send_listid")
        lines.append(("send_listid", send_listid, True))
    return render_answer(lines)


def expected_success(req, send_listid):
    return expected_answer("SUCCESS", SUCCESS_DES, req, send_listid)


def _element_lines(lines):
    return ["<%s>%s</%s>\n" % (k, cdata(v) if is_cdata else v, k) for k, v, is_cdata in lines]


def render_answer(lines):
    """The answer bytes of [(name, value, is_cdata)] in the exact layout."""
    return ("<xml>\n" + "".join(_element_lines(lines)) + "</xml>").encode("utf-8")


XML_ERROR_BODY = render_answer([
    ("return_code", "FAIL", True),
    ("return_msg", XML_ERROR_DES, True),
    ("result_code", "FAIL", True),
    ("err_code", "XML_ERROR", True),
    ("err_code_des", XML_ERROR_DES, True),
    ("mch_id", "0", False),
    ("total_amount", "0", False),
])


XML_HEADER_NAMES = ["Server", "Date", "Content-Type", "Content-Length", "Connection",
                    "Keep-Alive", "Request-Id"]


def check_xml_headers(resp):
    """The headers of every XML answer, in the contract's order, and nothing else."""
    names = [n for n, _ in resp.headers]
    if names != XML_HEADER_NAMES:
        raise AssertionError("XML answer headers %r, expected exactly %r" % (resp.headers, XML_HEADER_NAMES))
    h = dict(resp.headers)
    want = {"Server": "nginx", "Content-Type": "text/plain", "Content-Length": str(len(resp.body)),
            "Connection": "keep-alive", "Keep-Alive": "timeout=8"}
    for k, v in want.items():
        if h[k] != v:
            raise AssertionError("header %s: %r, expected %r" % (k, h[k], v))
    if not re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                        r"|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", h["Date"]):
        raise AssertionError("Date header %r is not an IMF-fixdate" % h["Date"])
    date = email.utils.parsedate_to_datetime(h["Date"])
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - date).total_seconds())
    if skew > 120:
        raise AssertionError("Date header %r is %.0f s away from now" % (h["Date"], skew))
    if not re.fullmatch(r"\S+", h["Request-Id"]):
        raise AssertionError("Request-Id header %r" % h["Request-Id"])


def expected_normal_answer(err_code, des, req, send_listid=None):
    """The sendredpack answer: the group layout without total_num, unless the request's
    total_num is not 1 (then it follows total_amount, as in capture F3)."""
    lines = [l for l in parse_answer(expected_answer(err_code, des, req, send_listid))]
    if str(req.get("total_num", "")).isascii() and str(req.get("total_num", "")).isdigit() \
            and int(req["total_num"]) == 1:
        lines = [l for l in lines if l[0] != "total_num"]
    return render_answer(lines)


def render_query(lines, hblist):
    """lines [(name, value, is_cdata)] then the hblist ([(openid, amount, rcv_time)])."""
    out = ["<xml>\n"] + _element_lines(lines)
    if hblist:
        out.append("<hblist>\n")
        for openid, amount, rcv in hblist:
            out.append("<hbinfo>\n<openid>%s</openid>\n<amount>%d</amount>\n<rcv_time>%s"
                       "</rcv_time>\n</hbinfo>\n" % (cdata(openid), amount, cdata(rcv)))
        out.append("</hblist>\n")
    out.append("</xml>")
    return "".join(out).encode("utf-8")


_HBINFO = re.compile(r"<hbinfo>\n<openid><!\[CDATA\[([^\]]*)\]\]></openid>\n<amount>(\d+)</amount>\n"
                     r"<rcv_time><!\[CDATA\[([^\]]*)\]\]></rcv_time>\n</hbinfo>\n")


def parse_query(body):
    """(lines, hblist) of a gethbinfo answer in the exact layout; raises AssertionError."""
    text = body.decode("utf-8")
    hb = []
    i = text.find("<hblist>\n")
    if i >= 0:
        j = text.find("</hblist>\n", i)
        if j < 0 or text[j:] != "</hblist>\n</xml>":
            raise AssertionError("hblist is not last before </xml>: %r" % text)
        inner = text[i + len("<hblist>\n"):j]
        pos = 0
        while pos < len(inner):
            m = _HBINFO.match(inner, pos)
            if not m:
                raise AssertionError("bad hbinfo at %r" % inner[pos:pos + 200])
            hb.append((m.group(1), int(m.group(2)), m.group(3)))
            pos = m.end()
        if not hb:
            raise AssertionError("empty hblist: %r" % text)
        flat = text[:i] + "</xml>"
    else:
        flat = text
    return parse_answer(flat.encode("utf-8")), hb


def expected_query_failure(err_code, des, req):
    lines = _head(err_code, des) + [
        ("mch_billno", req.get("mch_billno") or "", True),
        ("mch_id", req.get("mch_id") or "", True),
    ]
    return render_answer(lines)


def expected_query_success(p, req):
    """(lines, hblist) of the gethbinfo success answer for the database packet p."""
    lines = _head("SUCCESS", "OK") + [
        ("mch_billno", req["mch_billno"], True),
        ("mch_id", req["mch_id"], True),
        ("detail_id", p["send_listid"], True),
        ("status", p["status"], True),
        ("send_type", "API", True),
        ("hb_type", p["hb_type"], True),
        ("total_num", str(p["total_num"]), False),
        ("total_amount", str(p["total_amount"]), False),
    ]
    if p["reason"]:
        lines.append(("reason", p["reason"], True))
    lines.append(("send_time", beijing_text(p["send_time"] if p["send_time"] is not None
                                            else p["created_at"]), True))
    if p["status"] == "REFUND":
        lines.append(("refund_time", beijing_text(p["refund_time"]), True))
        lines.append(("refund_amount", str(p["refund_amount"]), False))
    opened = [s for s in p["shares"] if s["openid"] is not None]
    opened.sort(key=lambda s: (s["rcv_time"], s["seq"]), reverse=True)
    hb = [(s["openid"], s["amount"], beijing_text(s["rcv_time"])) for s in opened]
    return lines, hb


def answer(resp):
    """The answer as a dict (after checking HTTP 200 and its exact layout)."""
    if resp.status != 200:
        raise AssertionError("HTTP %d: %r" % (resp.status, resp.body[:400]))
    return answer_dict(resp.body)
