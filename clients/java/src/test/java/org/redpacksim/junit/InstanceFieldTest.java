package org.redpacksim.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** An instance field: a server of its own per test, stopped after it. */
class InstanceFieldTest {
    private static RedpackSimServer previous;

    @RegisterExtension
    RedpackSimExtension redpackSim = new RedpackSimExtension().withArgs("--journal-size=100");

    @Test
    void aServerPerTestA() {
        check();
    }

    @Test
    void aServerPerTestB() {
        check();
    }

    private void check() {
        if (previous != null) {
            assertFalse(previous.running(), "the previous test's server still runs");
            assertEquals(0, previous.returncode());
        }
        previous = redpackSim.server();
        assertTrue(previous.running());
        assertTrue(redpackSim.sendgroupredpack(Map.of()).ok());
        redpackSim.verifyRequests(1, Map.of());
    }
}
