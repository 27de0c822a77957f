"""What a merchant's own test looks like: send through the red packet API with the
merchant certificate, then ask redpack-sim what was sent (docs/test-helpers.md)."""


def test_one_group_packet_of_ten_yuan(redpack_sim):
    # The merchant code under test would be configured with these:
    #   base URL redpack_sim.base_url, CA redpack_sim.ca,
    #   certificate redpack_sim.cert("10000098") and redpack_sim.key("10000098"),
    #   API v2 key redpack_sim.api_key("10000098").
    answer = redpack_sim.sendgroupredpack(mch_id="10000098", re_openid="oUser1",
                                          total_amount=1000, total_num=5)
    assert answer["result_code"] == "SUCCESS", answer

    # "My code sent exactly one group packet of 10 yuan to this openid."
    redpack_sim.control.verify(count=1, endpoint="sendgroupredpack", re_openid="oUser1",
                               err_code="SUCCESS")
    (sent,) = redpack_sim.control.requests(re_openid="oUser1")
    assert sent["fields"]["total_amount"] == "1000"

    # The packet's life: the receiver opens the first share, a day passes, the rest
    # is refunded.
    redpack_sim.control.claim(answer["mch_billno"], "oUser1")
    redpack_sim.control.clock.advance(86400)
    record = redpack_sim.gethbinfo(answer["mch_billno"])
    assert record["status"] == "REFUND"
