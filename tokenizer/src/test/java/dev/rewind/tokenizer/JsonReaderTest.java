package dev.rewind.tokenizer;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonReaderTest {

    private static Json parse(String text) {
        return JsonReader.parse(text, "f.json");
    }

    private static String error(String text) {
        return assertThrows(TokenizerException.class, () -> parse(text)).getMessage();
    }

    @Test
    void readsEveryKindOfValue() {
        Json v = parse("\uFEFF {\"a\": [1, -2.5e3, true, false, null], \"b\": \"x\\u00e9\\n\\\"\\ud83d\\ude42\", \"c\": {}}");
        Map<String, Json> fields = ((Json.JsonObject) v).fields();
        assertEquals(List.of("a", "b", "c"), List.copyOf(fields.keySet()));
        assertEquals(new Json.JsonArray(List.of(new Json.JsonNumber("1"), new Json.JsonNumber("-2.5e3"),
                new Json.JsonBoolean(true), new Json.JsonBoolean(false), new Json.JsonNull())), fields.get("a"));
        assertEquals(new Json.JsonString("xé\n\"🙂"), fields.get("b"));
        assertEquals(new Json.JsonObject(Map.of()), fields.get("c"));
    }

    @Test
    void errorsNameFileLineColumnAndPath() {
        String m = error("{\n  \"model\": {\"merges\": [\"a b\", 12 13]}\n}");
        assertEquals("f.json: not valid JSON at line 2, column 34 (in model.merges): expected ',' or ']'", m);
        assertTrue(error("{\"a\": [1, 2,]}").contains("(in a[2]): unexpected character ']'"), error("{\"a\": [1, 2,]}"));
    }

    @Test
    void rejectsWhatStrictJsonRejects() {
        assertTrue(error("").contains("unexpected end of the file"));
        assertTrue(error("{\"a\": 1} x").contains("unexpected text after the JSON value"));
        assertTrue(error("{'a': 1}").contains("expected a key in quotes"));
        assertTrue(error("[01]").contains("expected ',' or ']'"));
        assertTrue(error("[1.]").contains("digits after '.'"));
        assertTrue(error("[\"a\tb\"]").contains("control character"));
        assertTrue(error("[\"\\x\"]").contains("unknown escape"));
        assertTrue(error("[\"\\u12\"]").contains("four hexadecimal digits"));
        assertTrue(error("[\"abc").contains("not closed"));
        assertTrue(error("[tru]").contains("unexpected character 't'"));
        assertTrue(error("NaN").contains("unexpected character 'N'"));
    }

    @Test
    void aKeyGivenTwiceIsAnError() {
        assertTrue(error("{\"vocab\": {\"a\": 1, \"a\": 2}}").contains("(in vocab.a): the key \"a\" appears twice"));
    }

    @Test
    void deepNestingFailsWithAMessageNotAStackOverflow() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertTrue(error(deep).contains("nested deeper than " + JsonReader.MAX_DEPTH + " levels"));
        assertEquals(Json.JsonArray.class, parse("[".repeat(100) + "]".repeat(100)).getClass());
    }

    @Test
    void pathsQuoteKeysThatAreNotIdentifiers() {
        assertEquals("model.vocab[\"Ġthe\"][3]", JsonPath.of(List.of("model", "vocab", "Ġthe", 3)));
        assertEquals("a[\"x \\\"y\\\"\"]", JsonPath.of(List.of("a", "x \"y\"")));
        assertEquals("(the top level)", JsonPath.of(List.of()));
    }
}
