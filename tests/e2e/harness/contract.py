"""What CONTRACT.md fixes: paths, the fixture world, error texts, header sets,
nginx's pages, time formats, and where the binaries, certificates and fixtures
are (from the environment, as ctest sets it).

Environment:
  REDPACK_SIM_BIN   the server binary (default: <repo>/build/redpack-sim)
  REDPACK_CTL_BIN   redpack-ctl (default: next to the server binary)
  REDPACK_CERTS     directory made by scripts/gen-certs.sh (default: <repo>/build/test-certs)
  REDPACK_FIXTURES  fixtures JSON (default: <repo>/fixtures/default.json)
"""

import copy
import datetime
import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HOST = "127.0.0.1"
GROUP_PATH = "/mmpaymkttransfers/sendgroupredpack"
NORMAL_PATH = "/mmpaymkttransfers/sendredpack"
QUERY_PATH = "/mmpaymkttransfers/gethbinfo"
PATHS = {"sendgroupredpack": GROUP_PATH, "sendredpack": NORMAL_PATH, "gethbinfo": QUERY_PATH}
ENDPOINTS = ("sendgroupredpack", "sendredpack", "gethbinfo")

MCH_ID = "10000098"
MCH_KEY = "192006250b4c09247ec02edce69f6a2d"
APPID = "wx8888888888888888"
MOBILE_APPID = "wx2421b1c4370ec43b"
SEED_OPENID = "oxTWIuGaIt6gTKsQRLau2M0yL16E"
MCH2_ID = "10000099"
MCH2_KEY = "8a4f0e6b2c9d41e7a35b7c0d9e1f2a3b"
MCH2_APPID = "wx9999999999999999"
MCH2_OPENID = "oHw9Ft3UeVPvqkMnZs2ZLd7gAqXY"
LOAD_MCH_ID = "10000100"
LOAD_MCH_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
LOAD_APPID = "wx1000000000000000"
LOAD_OPENID = "oLoadUser0000000000000000001"

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
SEND_LISTID_RE = re.compile(r"1000041701(\d{8})30\d{11}")

# Error texts, copied from CONTRACT.md.
SUCCESS_DES = "发放成功"
XML_ERROR_DES = "输入xml参数格式错误"
DES = {
    "expired": "该订单已经过期,请更换商户单号",
    "mch_id_bad": "参数错误:输入的商户号有误.",
    "mch_id_unknown": "参数错误:找不到对应的商户号.",
    "ca": "CA证书出错，请登录微信支付商户平台下载证书",
    "sign": "签名错误",
    "mch_billno": "参数错误:订单号字段必填,最长为28个字符.",
    "act_name": "参数错误:act_name字段必填,并且少于32个字符.",
    "re_openid": "参数错误:re_openid字段为必填并且少于32个字符.",
    "re_openid_chars": "参数错误:re_openid字段不正确,请检查是否合法",
    "total_num": "参数错误:total_num必须介于(包括)3到20之间",
    "total_amount": "参数错误:红包金额参数错误.",
    "amt_type": "参数错误:amt_type字段必填,并且只能为ALL_RAND.",
    "wxappid": "参数错误:appid字段必填,最长为32个字符.",
    "send_name": "参数错误:send_name字段为必填并且少于32字符.",
    "wishing": "参数错误:wishing字段为必填,并且少于128个字符.",
    "remark": "参数错误:remark字段为必填,并且少于256字符.",
    "nonce_str": "参数错误:nonce_str字段必填,并且少于32字符.",
    "scene": "参数错误:该场景未开通,请登陆商户平台:产品中心-现金红包-产品设置-使用场景 进行开通",
    "money_avg": "每个红包的平均金额必须在1.00元到200.00元之间.",
    "money_scene": "红包金额发放限制",
    "illegal_appid": "非法appid，请确认是否为公众号的appid，不能为APP的appid",
    "appid_mismatch": "参数错误:商户号和wxappid不匹配.",
    "openid": "openid和appid不匹配",
    "freq": "超过频率限制,请稍后再试",
    "fatal_openid": "openid和原始单参数不一致",
    "fatal_amount": "金额和原始单参数不一致",
    "send_failed": "红包发放失败,请更换单号再重试",
    "sendnum": "该用户今日操作次数超过限制，如有需要请登录微信支付商户平台更改API安全配置",
    "rcvdamount": "该用户今日领取金额超过限制，如有需要请登录微信支付商户平台更改API安全配置",
    "sendamount": "您的商户号今日发放金额超过限制，如有需要请登录微信支付商户平台更改API安全配置",
    "notenough": "帐号余额不足，请到商户平台充值后再重试",
}

# Header sets the two SDKs send (spec/clients.md).
PHP_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "Accept": "text/xml, text/plain, application/x-gzip",
    "User-Agent": "wechatpay-php/1.4.10 GuzzleHttp/7 curl/7.88.1 (Linux) PHP/8.2",
}
WECHATPY_HEADERS = {
    "Accept-Encoding": "gzip, deflate",
    "Accept": "*/*",
    "Connection": "keep-alive",
    "User-Agent": "python-requests/2.28.2",
}

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


def nginx_page(status_line, detail=None):
    """nginx's built-in error page (CRLF line ends), as the contract quotes it."""
    code, _, reason = status_line.partition(" ")
    h1 = status_line if detail is None else code + " Bad Request"
    title = status_line if detail is None else code + " " + detail
    parts = ["<html>", "<head><title>%s</title></head>" % title, '<body bgcolor="white">',
             "<center><h1>%s</h1></center>" % h1]
    if detail is not None:
        parts.append("<center>%s</center>" % detail)
    parts += ["<hr><center>nginx</center>", "</body>", "</html>", ""]
    return "\r\n".join(parts).encode("ascii")


PAGE_400_NO_CERT = nginx_page("400", "No required SSL certificate was sent")
PAGE_400_CERT_ERROR = nginx_page("400", "The SSL certificate error")
PAGE_404 = nginx_page("404 Not Found")
PAGE_405 = nginx_page("405 Not Allowed")


def env_path(name, default):
    value = os.environ.get(name)
    return value if value else default


def bin_path():
    return env_path("REDPACK_SIM_BIN", os.path.join(REPO, "build", "redpack-sim"))


def certs_dir():
    return env_path("REDPACK_CERTS", os.path.join(REPO, "build", "test-certs"))


def ctl_bin_path():
    """The redpack-ctl binary (REDPACK_CTL_BIN, else next to the server binary)."""
    return env_path("REDPACK_CTL_BIN", os.path.join(os.path.dirname(bin_path()), "redpack-ctl"))


def default_fixtures_path():
    return env_path("REDPACK_FIXTURES", os.path.join(REPO, "fixtures", "default.json"))


def load_default_fixtures():
    with open(default_fixtures_path(), encoding="utf-8") as f:
        return json.load(f)


def fixtures_with(mch_id=MCH_ID, limits=None, balance=None, **merchant_fields):
    """The default fixtures with one merchant changed (limits merged key by key)."""
    fx = copy.deepcopy(load_default_fixtures())
    for m in fx["merchants"]:
        if m["mch_id"] == mch_id:
            if limits:
                merged = dict(m.get("limits", {}))
                merged.update(limits)
                m["limits"] = merged
            if balance is not None:
                m["balance"] = balance
            m.update(merchant_fields)
            return fx
    raise KeyError(mch_id)




# ---------------------------------------------------------------------------
# The lifecycle and the catalogue (CONTRACT.md "Lifecycle (issue 4)", issue 5)
# ---------------------------------------------------------------------------

DAY = 86400
EXPIRY = 24 * 3600
QUERY_WINDOW = 30 * DAY

# Texts of the lifecycle section of CONTRACT.md.
NDES = {
    "total_num1": "参数错误:total_num必须等于1",
    "client_ip": "参数错误:client_ip必须是合法的IP字符串.",
    "min_max": "参数错误:发放金额、最小金额、最大金额必须相等.",
    "appid": "参数错误:appid字段必填,最长为32个字符.",
    "bill_type": "参数错误:bill_type字段必填,并且只能为MCHT.",
    "not_found": "指定单号数据不存在",
}

# Fixture balances of the default world (CONTRACT.md).
FIXTURE_BALANCES = {MCH_ID: 100000000, MCH2_ID: 5000000, LOAD_MCH_ID: 100000000000}
FIXTURE_KEYS = (MCH_KEY, MCH2_KEY, LOAD_MCH_KEY)

STATUSES = ("SENDING", "SENT", "FAILED", "RECEIVED", "RFUND_ING", "REFUND")

# The catalogue's codes that leave an order held (docs/errors.md).
HELD = ("NOTENOUGH", "SENDNUM_LIMIT", "RCVDAMOUNT_LIMIT", "SENDAMOUNT_LIMIT", "NO_AUTH")
NEGATIVE_HEADER = "Wechatpay-Negative-Test"


def held_codes(endpoint):
    """The HELD codes an endpoint lists: the group table (spec 7.3) has no
    RCVDAMOUNT_LIMIT (a group's seed user receives one share, not the total)."""
    return tuple(c for c in HELD if not (endpoint == "sendgroupredpack" and c == "RCVDAMOUNT_LIMIT"))


# ---------------------------------------------------------------------------
# Time: the wire's and the control API's formats, in Beijing time
# ---------------------------------------------------------------------------

def beijing_today():
    return datetime.datetime.now(BEIJING).strftime("%Y%m%d")


def beijing_text(epoch):
    """epoch seconds as "yyyy-MM-dd HH:mm:ss" in Beijing time (the wire format)."""
    return datetime.datetime.fromtimestamp(epoch, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def beijing_iso(epoch):
    """epoch seconds as "yyyy-mm-ddThh:mm:ss+08:00" (the control API format)."""
    return datetime.datetime.fromtimestamp(epoch, BEIJING).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def iso_epoch(text):
    """Parses the control API's "...+08:00" times."""
    if text is None:
        return None
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", text):
        raise AssertionError("time %r is not yyyy-mm-ddThh:mm:ss+08:00" % (text,))
    return int(datetime.datetime.fromisoformat(text).timestamp())


def beijing_ymd(epoch):
    return datetime.datetime.fromtimestamp(epoch, BEIJING).strftime("%Y%m%d")


def next_beijing_midnight(epoch):
    d = datetime.datetime.fromtimestamp(epoch, BEIJING).date() + datetime.timedelta(days=1)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=BEIJING).timestamp())
