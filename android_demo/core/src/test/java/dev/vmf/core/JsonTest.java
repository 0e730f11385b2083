package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesNestedValuesOfEveryType() throws Exception {
        Map<String, Object> m = Golden.map(Json.parse(
                " {\"a\": [1, -2.5, 3e2, true, false, null], \"b\": {\"c\": \"x\\\"y\\\\z\\n\\u00e9\\ud83d\\ude00\"},"
                        + " \"big\": 12345678901234567890, \"e\": {}, \"l\": []}\n"));
        assertEquals(Arrays.asList(1L, -2.5, 300.0, true, false, null), m.get("a"));
        assertEquals("x\"y\\z\n\u00e9\ud83d\ude00", Golden.map(m.get("b")).get("c"));
        assertEquals(1.2345678901234567e19, (Double) m.get("big"), 1e4); // past long: a double
        assertTrue(Golden.map(m.get("e")).isEmpty());
        assertTrue(Golden.list(m.get("l")).isEmpty());
        assertEquals(Arrays.asList("a", "b", "big", "e", "l"), Arrays.asList(m.keySet().toArray()));
    }

    @Test
    void acceptsThePythonNonFiniteFloats() throws Exception {
        // json.dump({"max_abs": float("nan")}) writes NaN; parity dicts can hold one
        List<Object> l = Golden.list(Json.parse("[NaN, Infinity, -Infinity, -0]"));
        assertTrue(Double.isNaN((Double) l.get(0)));
        assertEquals(Double.POSITIVE_INFINITY, l.get(1));
        assertEquals(Double.NEGATIVE_INFINITY, l.get(2));
        assertEquals(0L, l.get(3));
    }

    @Test
    void rejectsMalformedInputNamingLineAndColumn() {
        String[] bad = {"{\"a\": 1,}", "[1 2]", "{\"a\" 1}", "\"open", "01", "1.", "-", "tru", "{} x",
            "{\"a\": \"tab\there\"}", "[\"\\q\"]", ""};
        for (String text : bad) {
            Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(text), text);
            assertTrue(e.getMessage().startsWith("invalid JSON at line 1, column "), e.getMessage());
        }
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse("{\n  \"a\": ]"));
        assertEquals("invalid JSON at line 2, column 8: unexpected character ']'", e.getMessage());
    }

    @Test
    void nullLiteralIsNull() throws Exception {
        assertNull(Json.parse("null"));
    }
}
