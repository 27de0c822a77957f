package example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redpacksim.junit.Answer;
import org.redpacksim.junit.RedpackSimExtension;

/**
 * What a merchant's own test looks like: send through the red packet API with the
 * merchant certificate, then ask redpack-sim what was sent (docs/test-helpers.md).
 */
class GroupPacketExampleTest {
    @RegisterExtension
    static RedpackSimExtension redpackSim = new RedpackSimExtension();

    /**
     * The merchant code under test would be configured with these; for WxJava:
     * <pre>
     * WxPayConfig config = new WxPayConfig();
     * config.setPayBaseUrl(redpackSim.baseUrl().replaceAll("/$", ""));  // https://127.0.0.1:PORT
     * config.setMchId("10000098");
     * config.setMchKey(redpackSim.apiKey("10000098"));                   // the API v2 key
     * config.setKeyPath(redpackSim.p12("10000098").toString());          // password: the mch_id
     * // and trust redpackSim.ca(): -Djavax.net.ssl.trustStore=... (see docs/clients.md)
     * </pre>
     */
    @Test
    void oneGroupPacketOfTenYuan() {
        // Here the helper's own sender stands in for the merchant code: a signed
        // sendgroupredpack with the merchant certificate (apiclient_cert.p12).
        Answer answer = redpackSim.sendgroupredpack(
            Map.of("mch_id", "10000098", "re_openid", "oUser1", "total_amount", "1000", "total_num", "5"));
        assertTrue(answer.ok(), answer.toString());

        // "My code sent exactly one group packet of 10 yuan to this openid."
        redpackSim.verifyRequests(1,
            Map.of("endpoint", "sendgroupredpack", "re_openid", "oUser1", "err_code", "SUCCESS"));
        List<Map<String, Object>> sent = redpackSim.requests(Map.of("re_openid", "oUser1"));
        assertEquals("1000", ((Map<?, ?>) sent.get(0).get("fields")).get("total_amount"));

        // The packet's life: the receiver opens the first share, a day passes, the
        // rest is refunded.
        redpackSim.control().claim(answer.get("mch_billno"), "oUser1");
        redpackSim.control().clock().advance(86400);
        Answer record = redpackSim.gethbinfo(answer.get("mch_billno"));
        assertEquals("REFUND", record.get("status"));
    }
}
