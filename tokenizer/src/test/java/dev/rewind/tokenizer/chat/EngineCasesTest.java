package dev.rewind.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine, one language feature per case, from {@code engine-cases.json}: expressions, statements,
 * filters, tests, methods, whitespace handling and failures. The expectations are those of
 * {@code @huggingface/jinja} 0.5.11 except in the cases marked {@code departs}, which say why Rewind
 * does otherwise.
 */
class EngineCasesTest {

    static final RenderOptions OPTIONS = RenderOptions.DEFAULT
            .withClock(Clock.fixed(Instant.parse("2025-07-10T12:34:56Z"), ZoneOffset.UTC));

    @TestFactory
    List<DynamicTest> everyCase() throws IOException {
        JsonNode file;
        try (InputStream in = EngineCasesTest.class.getResourceAsStream("engine-cases.json")) {
            assertNotNull(in, "engine-cases.json is missing from the test resources");
            file = new ObjectMapper().readTree(in);
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : file.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> check(c)));
        }
        assertTrue(tests.size() >= 120, "engine-cases.json lost cases: " + tests.size());
        return tests;
    }

    @SuppressWarnings("unchecked")
    private static void check(JsonNode c) {
        Map<String, Object> context = c.has("context") ? (Map<String, Object>) Fixtures.toJava(c.get("context")) : Map.of();
        if (c.has("expected")) {
            ChatTemplate template = ChatTemplate.parse(c.get("template").asText());
            assertEquals(c.get("expected").asText(), template.renderVariables(context, OPTIONS));
            return;
        }
        TemplateException e = assertThrows(TemplateException.class,
                () -> ChatTemplate.parse(c.get("template").asText()).renderVariables(context, OPTIONS));
        assertEquals(TemplateException.Kind.valueOf(c.get("error_kind").asText()), e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(c.get("error_contains").asText()), e.getMessage());
        assertTrue(e.getMessage().matches("chat template [a-z ]+ at line \\d+, column \\d+: .+"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
