package org.redpacksim.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesWhatTheControlApiAnswers() {
        Object doc = Json.parse(" {\"count\": 2, \"complete\": true, \"next\": null, \"r\": [1.5, -3, \"a\\\"\\u4e2d\\n\"], \"o\": {}} ");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", 2L);
        m.put("complete", true);
        m.put("next", null);
        m.put("r", Arrays.asList(1.5, -3L, "a\"中\n"));
        m.put("o", Map.of());
        assertEquals(m, doc);
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": 1,}"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("ok"));
    }

    @Test
    void writesBodies() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("openid", "o\"1");
        m.put("n", 3);
        m.put("l", List.of(true, "x"));
        assertEquals("{\"openid\":\"o\\\"1\",\"n\":3,\"l\":[true,\"x\"]}", Json.write(m));
        assertEquals(m.toString(), Json.parse(Json.write(m)).toString().replace("3", "3"));
    }
}
