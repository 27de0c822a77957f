"""The redpack_sim fixture and its control client, against a real server."""

import os
import ssl

import pytest

from redpack_sim import ControlError, sign, sign_string


def test_server_and_paths(redpack_sim):
    assert redpack_sim.base_url == redpack_sim.api_url + "/"
    assert redpack_sim.api_url.startswith("https://127.0.0.1:")
    assert redpack_sim.admin_url.startswith("http://127.0.0.1:")
    assert redpack_sim.merchants == ["10000098", "10000099", "10000100"]
    for path in (redpack_sim.ca, redpack_sim.cert("10000099"), redpack_sim.key("10000099"),
                 redpack_sim.p12("10000099")):
        assert os.path.isfile(path), path
    assert redpack_sim.cert() == redpack_sim.cert("10000098")
    assert redpack_sim.api_key("10000098") == "192006250b4c09247ec02edce69f6a2d"
    assert os.stat(redpack_sim.key()).st_mode & 0o077 == 0
    with pytest.raises(KeyError, match="no merchant 123"):
        redpack_sim.cert("123")


def test_sign_examples():
    # spec 8.4, example B and D of the protocol reference.
    key = "192006250b4c09247ec02edce69f6a2d"
    assert sign_string({"test2": "test2", "test1": "test1", "e": ""}, key) == \
        "test1=test1&test2=test2&key=" + key
    assert sign({"test1": "test1", "test2": "test2"}, key) == "1E3A8D73B5A4AEE787C0F68B5DAB8520"
    assert sign({"act_name": "新年红包", "amt_type": "ALL_RAND",
                 "mch_billno": "0010010404201411170000046545", "mch_id": "1000888888",
                 "nonce_str": "50780e0cca98c8c8e814883e5caa672e",
                 "re_openid": "onqOjjmM1tad-3ROpncN-yUfa6uI", "remark": "新年红包",
                 "send_name": "send_name", "total_amount": "600", "total_num": "3",
                 "wishing": "恭喜发财", "wxappid": "wxcbda96de0b165486"}, key) == \
        "3FCA8C6E228C5F6D0E6BD1142EA41FA2"


def test_signed_sends_succeed(redpack_sim):
    group = redpack_sim.sendgroupredpack()
    assert (group.status, group["return_code"], group["result_code"]) == (200, "SUCCESS", "SUCCESS")
    assert group.ok and group["mch_billno"] == group.request["mch_billno"]
    normal = redpack_sim.sendredpack(mch_id="10000099", total_amount=150)
    assert normal.ok, normal
    assert (normal["mch_id"], normal["total_amount"]) == ("10000099", "150")
    info = redpack_sim.gethbinfo(group["mch_billno"])
    assert info.ok and info["status"] == "SENT" and info["total_num"] == "3"
    bad = redpack_sim.sendgroupredpack(key="0" * 32)
    assert bad["err_code"] == "SIGN_ERROR"
    assert redpack_sim.sendgroupredpack(sign="0" * 32)["err_code"] == "SIGN_ERROR"
    assert redpack_sim.sendgroupredpack(signed=False).status == 200
    assert redpack_sim.control.count(err_code="SUCCESS") == 3
    assert redpack_sim.control.count(err_code="SIGN_ERROR") == 3


def test_merchant_certificate_works_with_plain_ssl(redpack_sim):
    ctx = redpack_sim.ssl_context("10000098")
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_verify_passes_and_fails_with_what_was_sent(redpack_sim):
    c = redpack_sim.control
    redpack_sim.sendgroupredpack(re_openid="oUser1", total_amount=1000, total_num=5)
    redpack_sim.sendgroupredpack(re_openid="oUser2")
    assert c.verify(count=1, endpoint="sendgroupredpack", re_openid="oUser1",
                    err_code="SUCCESS") == 1
    c.verify(count=0, re_openid="oNobody")
    c.verify(count=2, endpoint="sendgroupredpack")
    with pytest.raises(AssertionError) as e:
        c.verify(count=2, endpoint="sendgroupredpack", re_openid="oUser1")
    msg = str(e.value)
    assert "expected 2 requests matching endpoint=sendgroupredpack re_openid=oUser1, " \
           "but 1 matched" in msg
    assert "Requests sent (newest first; * matched):" in msg
    lines = msg.splitlines()[2:]
    assert len(lines) == 2
    assert lines[0].startswith("    #") and "re_openid=oUser2" in lines[0]
    assert lines[1].startswith("  * #") and "re_openid=oUser1 total_amount=1000" in lines[1]
    assert lines[1].endswith("-> SUCCESS")
    with pytest.raises(ControlError) as e:
        c.verify(count=1, re_opnid="x")
    assert e.value.status == 400


def test_requests_list_and_filters(redpack_sim):
    c = redpack_sim.control
    a = redpack_sim.sendgroupredpack(re_openid="oA")
    redpack_sim.sendredpack(re_openid="oA")
    redpack_sim.gethbinfo(a["mch_billno"])
    assert len(c.requests()) == 3
    assert [r["endpoint"] for r in c.requests(re_openid="oA")] == ["sendredpack", "sendgroupredpack"]
    assert c.count(mch_billno=a["mch_billno"]) == 2
    (r,) = c.requests(endpoint="gethbinfo")
    assert r["fields"]["mch_billno"] == a["mch_billno"] and "sign" in r["fields"]
    assert len(c.requests(limit=2)) == 2
    now = c.clock.get()["epoch"]
    assert c.count(since=now + 3600) == 0


def test_reset_isolates_tests_part_1(redpack_sim):
    c = redpack_sim.control
    redpack_sim.sendgroupredpack()
    c.merchant.update("10000098", balance=12345)
    c.faults.add("NOTENOUGH", re_openid="oIsolated")
    assert c.count() == 1 and len(c.packets()) == 1 and len(c.faults.list()) == 1


def test_reset_isolates_tests_part_2(redpack_sim):
    c = redpack_sim.control
    assert c.count() == 0
    assert c.packets() == []
    assert c.faults.list() == []
    assert c.merchant.get("10000098")["balance"] == 100000000


def test_claim_and_clock(redpack_sim):
    c = redpack_sim.control
    a = redpack_sim.sendgroupredpack(re_openid="oSeed")
    with pytest.raises(ControlError) as e:
        c.claim(a["mch_billno"], "oFriend")  # the seed user opens first
    assert e.value.status == 409
    share = c.claim(a["mch_billno"], "oSeed")
    assert share["openid"] == "oSeed"
    c.claim(a["mch_billno"], "oFriend")
    before = c.clock.get()
    after = c.clock.advance(86400)
    assert after["epoch"] - before["epoch"] >= 86400
    info = redpack_sim.gethbinfo(a["mch_billno"])
    assert info["status"] == "REFUND", info
    assert sorted(h["openid"] for h in info["hblist"]) == ["oFriend", "oSeed"], info
    later = c.clock.set("2099-01-01T10:00:00+08:00")
    assert later["now"] == "2099-01-01T10:00:00+08:00"
    with pytest.raises(ControlError) as e:
        c.clock.set("2030-01-01T10:00:00+08:00")  # backwards
    assert e.value.status == 409


def test_faults_settle_and_merchant(redpack_sim):
    c = redpack_sim.control
    rule = c.faults.add("NOTENOUGH", api="sendgroupredpack", re_openid="oPoor", times=1)
    assert rule["match"] == {"re_openid": "oPoor"} and rule["times"] == 1
    assert redpack_sim.sendgroupredpack(re_openid="oPoor")["err_code"] == "NOTENOUGH"
    assert redpack_sim.sendgroupredpack(re_openid="oPoor")["err_code"] == "SUCCESS"
    (listed,) = c.faults.list()
    assert listed["hits"] == 1
    c.faults.clear()
    assert c.faults.list() == []

    c.faults.add("PROCESSING", times=1)
    pending = redpack_sim.sendgroupredpack()
    assert pending["err_code"] == "PROCESSING"
    c.settle(pending.request["mch_billno"], "SENT")
    assert redpack_sim.gethbinfo(pending.request["mch_billno"])["status"] == "SENT"

    c.merchant.update("10000098", api_enabled=False)
    assert c.merchant.get("10000098")["api_enabled"] is False
    assert redpack_sim.sendgroupredpack()["err_code"] == "API_METHOD_CLOSED"
