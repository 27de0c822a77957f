package org.redpacksim.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** The annotation, with server settings, and parameters. */
@RedpackSim(args = {"--journal-size=3"})
class AnnotationTest {
    @Test
    void aCountTheJournalCannotGiveFailsSayingSo(RedpackSimServer server, Control control) {
        for (int k = 0; k < 4; k++) {
            assertTrue(server.sendgroupredpack(Map.of("re_openid", "oUser1")).ok());
        }
        assertEquals(3, control.requests(Map.of()).size());
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
            () -> control.verify(4, Map.of("re_openid", "oUser1")));
        assertTrue(e.getMessage().contains("the journal's bounds dropped 1 request(s)"), e.getMessage());
    }

    @Test
    void resetEmptiesTheJournal(Control control) {
        assertEquals(0, control.count(Map.of()));
    }
}
