"""The merchant API side: the v2 MD5 sign, request bodies, and a signed send over
mutual TLS, as merchant SDKs do it (standard library only)."""

import datetime
import hashlib
import http.client
import secrets
import ssl
import string
import xml.etree.ElementTree as ET

ENDPOINTS = ("sendgroupredpack", "sendredpack", "gethbinfo")
PATHS = {name: "/mmpaymkttransfers/" + name for name in ENDPOINTS}

_ALNUM = string.ascii_letters + string.digits
_BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def sign_string(fields, key):
    """The string the v2 sign is over: the non-empty fields but `sign`, sorted by
    name, as `k=v&...`, then `&key=KEY`."""
    pairs = sorted((k, str(v)) for k, v in fields.items()
                   if k != "sign" and v is not None and str(v) != "")
    return "&".join("%s=%s" % kv for kv in pairs) + "&key=" + key


def sign(fields, key):
    """The v2 MD5 sign of `fields` with the API key: upper-case hex."""
    return hashlib.md5(sign_string(fields, key).encode("utf-8")).hexdigest().upper()


def nonce():
    """A 32-character nonce_str."""
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def new_billno(mch_id):
    """A fresh mch_billno as the real service suggests: mch_id, the date, 10 digits."""
    day = datetime.datetime.now(_BEIJING).strftime("%Y%m%d")
    return (mch_id + day + "".join(secrets.choice(string.digits) for _ in range(10)))[:28]


def new_openid():
    """A 28-character openid listed nowhere (accepted for any app of a merchant)."""
    return "oTest" + "".join(secrets.choice(_ALNUM) for _ in range(23))


def default_fields(endpoint, merchant, **overrides):
    """A valid request of `endpoint` for a fixtures merchant (a dict with mch_id, name,
    apps), with `overrides` applied (a value of None removes the field). The sends go
    to a fresh openid unless re_openid is given; gethbinfo needs mch_billno."""
    mch_id = merchant["mch_id"]
    appid = (merchant.get("apps") or [""])[0]
    if endpoint in ("sendgroupredpack", "sendredpack"):
        group = endpoint == "sendgroupredpack"
        fields = {
            "mch_billno": new_billno(mch_id),
            "mch_id": mch_id,
            "wxappid": appid,
            "send_name": merchant.get("name", "redpack-sim")[:30],
            "re_openid": new_openid(),
            "total_amount": "300" if group else "100",
            "total_num": "3" if group else "1",
        }
        if group:
            fields["amt_type"] = "ALL_RAND"
        fields["wishing"] = "恭喜发财"
        if not group:
            fields["client_ip"] = "127.0.0.1"
        fields.update(act_name="测试红包", remark="redpack-sim test")
    elif endpoint == "gethbinfo":
        fields = {"mch_billno": None, "mch_id": mch_id, "appid": appid, "bill_type": "MCHT"}
    else:
        raise ValueError("unknown endpoint %r (one of %s)" % (endpoint, ", ".join(ENDPOINTS)))
    fields["nonce_str"] = nonce()
    for k, v in overrides.items():
        fields[k] = v
    out = {k: str(v) for k, v in fields.items() if v is not None}
    if endpoint == "gethbinfo" and "mch_billno" not in out:
        raise TypeError("gethbinfo needs mch_billno")
    return out


def _cdata(v):
    return "<![CDATA[%s]]>" % v.replace("]]>", "]]]]><![CDATA[>")


def build_xml(fields):
    """The request body as wechatpay-php writes it: `<xml>`, the fields in order,
    `sign` last, CDATA only where a value holds < > & or \"."""
    out = ["<xml>"]
    for k, v in sorted(fields.items(), key=lambda kv: kv[0] == "sign"):
        v = str(v)
        out.append("<%s>%s</%s>" % (k, _cdata(v) if any(c in v for c in '<>&"') else v, k))
    out.append("</xml>")
    return "".join(out).encode("utf-8")


def _element(el):
    if len(el) == 0:
        return el.text or ""
    if all(len(c) for c in el) and len({c.tag for c in el}) == 1 and len(el) >= 1 \
            and el.tag.endswith("list"):
        return [_element(c) for c in el]
    return {c.tag: _element(c) for c in el}


def parse_xml(body):
    """The answer's fields as a dict; a list element (gethbinfo's `hblist`) as a list
    of dicts. A body that is not XML parses to {}."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    return {c.tag: _element(c) for c in root}


class Answer(dict):
    """An answer's fields (a dict), with `status` (HTTP), `body` (bytes), `request`
    (the fields sent) and `endpoint`."""

    def __init__(self, fields, status, body, request, endpoint):
        super().__init__(fields)
        self.status = status
        self.body = body
        self.request = request
        self.endpoint = endpoint

    @property
    def ok(self):
        """True when return_code and result_code are both SUCCESS."""
        return self.get("return_code") == "SUCCESS" and self.get("result_code") == "SUCCESS"


def client_context(ca, cert=None, key=None):
    """An SSLContext trusting `ca` and presenting the merchant certificate."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def post(host, port, path, body, context, headers=None, timeout=10.0):
    """POSTs body over TLS; returns (status, body bytes)."""
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=timeout)
    try:
        hdrs = {"Content-Type": "text/xml; charset=utf-8",
                "Accept": "text/xml, text/plain, application/x-gzip",
                "User-Agent": "redpack-sim-pytest"}
        hdrs.update(headers or {})
        conn.request("POST", path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
