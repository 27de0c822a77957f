package org.redpacksim.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.opentest4j.AssertionFailedError;

/** One server for the class (a static field), reset before each test. */
class RedpackSimExtensionTest {
    @RegisterExtension
    static RedpackSimExtension redpackSim = new RedpackSimExtension();

    @Test
    void startsAServerAndASignedSendSucceeds() {
        assertTrue(redpackSim.baseUrl().matches("https://127\\.0\\.0\\.1:\\d+/"), redpackSim.baseUrl());
        assertTrue(redpackSim.adminUrl().matches("http://127\\.0\\.0\\.1:\\d+"), redpackSim.adminUrl());
        assertTrue(Files.isRegularFile(redpackSim.ca()));
        assertTrue(Files.isRegularFile(redpackSim.p12("10000098")));
        assertEquals("192006250b4c09247ec02edce69f6a2d", redpackSim.apiKey("10000098"));

        Answer a = redpackSim.sendgroupredpack(Map.of("re_openid", "oUser1", "total_amount", "1000", "total_num", "5"));
        assertEquals(200, a.status());
        assertTrue(a.ok(), a.toString());
        assertEquals(a.request().get("mch_billno"), a.get("mch_billno"));

        Answer other = redpackSim.send("sendredpack", "10000099", Map.of());
        assertTrue(other.ok(), other.toString());
        assertEquals("10000099", other.get("mch_id"));
    }

    @Test
    void theSignIsMd5OverTheSortedNonEmptyFields() {
        Map<String, String> f = new java.util.LinkedHashMap<>();
        f.put("b", "2");
        f.put("a", "1");
        f.put("empty", "");
        f.put("sign", "X");
        assertEquals("a=1&b=2&key=K", Wire.signString(f, "K"));
        assertEquals("0A3BBAD5A02A8A53DFBA0A0D2C1AE47F".length(), Wire.sign(f, "K").length());
        assertTrue(Wire.sign(f, "K").matches("[0-9A-F]{32}"));

        Answer bad = redpackSim.server().send("sendgroupredpack", null, Map.of("re_openid", "oUser1"), "wrongkey", Map.of());
        assertEquals("SIGN_ERROR", bad.get("err_code"), bad.toString());
        redpackSim.verifyRequests(1, Map.of("err_code", "SIGN_ERROR", "re_openid", "oUser1"));
    }

    @Test
    void verifyPassesAndAMismatchFailsWithWhatWasExpectedAndWhatWasSent() {
        Answer a = redpackSim.sendgroupredpack(Map.of("re_openid", "oUser1"));
        redpackSim.sendredpack(Map.of("re_openid", "oSomeoneElse"));
        redpackSim.verifyRequests(1, Map.of("endpoint", "sendgroupredpack", "re_openid", "oUser1", "err_code", "SUCCESS"));
        assertEquals(2, redpackSim.control().count(Map.of()));

        AssertionFailedError e = assertThrows(AssertionFailedError.class,
            () -> redpackSim.verifyRequests(2, Map.of("re_openid", "oUser1", "endpoint", "sendgroupredpack")));
        String m = e.getMessage();
        assertTrue(m.startsWith("redpack-sim verify: expected 2 requests matching endpoint=sendgroupredpack re_openid=oUser1,"
            + " but 1 matched\nRequests sent (newest first; * matched):\n"), m);
        assertTrue(m.contains("\n  * #"), m);
        assertTrue(m.contains(" sendgroupredpack mch_id=10000098 mch_billno=" + a.get("mch_billno") + " re_openid=oUser1"), m);
        assertTrue(m.contains("\n    #") && m.contains("re_openid=oSomeoneElse"), m);
        assertEquals(2, e.getExpected().getValue());
        assertEquals(1, e.getActual().getValue());

        AssertionFailedError none = assertThrows(AssertionFailedError.class,
            () -> redpackSim.verifyRequests(1, Map.of("re_openid", "oNobody")));
        assertTrue(none.getMessage().contains("but 0 matched"), none.getMessage());
    }

    @Test
    void anUnknownFilterIsAControlError() {
        ControlException e = assertThrows(ControlException.class,
            () -> redpackSim.control().count(Map.of("openid", "oUser1")));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("openid"), e.getMessage());
    }

    // Whichever of these two runs second sees the state the other left reset.
    @Test
    void resetIsolatesTestsA() {
        assertIsolatedThenDirty();
    }

    @Test
    void resetIsolatesTestsB() {
        assertIsolatedThenDirty();
    }

    private static void assertIsolatedThenDirty() {
        Control c = redpackSim.control();
        assertEquals(0, c.count(Map.of()));
        assertEquals(List.of(), c.faults().list());
        assertEquals(List.of(), c.requests(Map.of()));
        assertEquals(Boolean.TRUE, c.merchant().get("10000099").get("api_enabled"));
        c.faults().add(Map.of("err_code", "NOTENOUGH", "match", Map.of("re_openid", "oUser1")));
        assertEquals("NOTENOUGH", redpackSim.sendgroupredpack(Map.of("re_openid", "oUser1")).get("err_code"));
        c.merchant().update("10000099", Map.of("api_enabled", false));
    }

    @Test
    void claimAndClock(Control control) {
        Answer a = redpackSim.sendgroupredpack(Map.of("re_openid", "oUser1", "total_amount", "1000", "total_num", "5"));
        assertTrue(a.ok(), a.toString());
        String billno = a.get("mch_billno");
        Map<String, Object> share = control.claim(billno, "oUser1");
        assertEquals("oUser1", share.get("openid"), share.toString());
        ControlException twice = assertThrows(ControlException.class, () -> control.claim(billno, "oUser1"));
        assertEquals(409, twice.status());

        long before = ((Number) control.clock().get().get("epoch")).longValue();
        control.clock().advance(86400);
        long after = ((Number) control.clock().get().get("epoch")).longValue();
        assertTrue(after - before >= 86400, before + " -> " + after);
        Answer info = redpackSim.gethbinfo(billno);
        assertEquals("REFUND", info.get("status"), info.toString());

        // A reset with clock=true sets the business clock back to real time.
        control.reset(null, true, true, true);
        assertEquals(0L, ((Number) control.clock().get().get("offset_seconds")).longValue());
    }

    @Test
    void faultsAndSettle(RedpackSimServer server) {
        Control c = server.control();
        c.faults().add(Map.of("api", "sendgroupredpack", "err_code", "PROCESSING", "times", 1));
        Answer a = server.sendgroupredpack(Map.of());
        assertEquals("PROCESSING", a.get("err_code"), a.toString());
        assertEquals(1, c.faults().list().size());
        Map<String, Object> settled = c.settle(a.get("mch_billno"), "SENT");
        assertTrue(settled.toString().contains("SENT"), settled.toString());
        assertEquals("SENT", c.packet(a.get("mch_billno")).get("status"));
    }
}
