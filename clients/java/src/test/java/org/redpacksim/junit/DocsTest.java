package org.redpacksim.junit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/** docs/test-helpers.md shows the example that runs (examples/GroupPacketExampleTest.java) as it is. */
class DocsTest {
    @Test
    void theDocsShowTheExampleThatRuns() throws Exception {
        String root = System.getProperty("redpacksim.source");
        assumeTrue(root != null, "not run from the redpack-sim source tree");
        Path doc = Paths.get(root, "docs/test-helpers.md");
        Path example = Paths.get(root, "clients/java/examples/GroupPacketExampleTest.java");
        assumeTrue(Files.isRegularFile(doc) && Files.isRegularFile(example), "not in the redpack-sim source tree");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        String code = Files.readString(example, StandardCharsets.UTF_8);
        assertTrue(text.contains("```java\n" + code + "```"),
            "docs/test-helpers.md: the Java example differs from clients/java/examples/GroupPacketExampleTest.java");
    }
}
