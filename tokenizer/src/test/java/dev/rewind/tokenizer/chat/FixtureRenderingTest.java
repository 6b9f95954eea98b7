package dev.rewind.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every record of the shared chat fixtures, byte for byte: the real templates of Llama 3, Qwen 3,
 * Gemma 3 and DeepSeek V3 as {@code @huggingface/jinja} renders them, and llama.cpp's 30 template
 * test cases, both as plain Jinja and in the llama.cpp dialect.
 */
class FixtureRenderingTest {

    private static final List<String> MODELS = List.of("llama3", "qwen3", "gemma3", "deepseek_v3");

    /**
     * The one llama.cpp case whose expectation no Jinja semantics give: llama.cpp's minja drops the
     * space the template writes after each {@code <|role|>\n}; @huggingface/jinja and llama.cpp's own
     * legacy formatter keep it (see shared/hf/README.md).
     */
    private static final Set<String> MINJA_WHITESPACE_QUIRK = Set.of("ChatGLM3");

    @TestFactory
    List<DynamicTest> huggingFaceTemplatesRenderLikeHuggingFaceJinja() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String model : MODELS) {
            Path dir = Fixtures.shared("hf").resolve(model);
            ChatTemplate template = ChatTemplate.parse(Fixtures.readJson(dir.resolve("tokenizer_config.json")).get("chat_template").asText());
            List<JsonNode> records = Fixtures.readJsonLines(dir.resolve("chat.jsonl"));
            assertEquals(18, records.size(), model + "/chat.jsonl should hold 18 records");
            for (int i = 0; i < records.size(); i++) {
                JsonNode r = records.get(i);
                tests.add(DynamicTest.dynamicTest(model + " #" + (i + 1) + " add_generation_prompt=" + r.get("add_generation_prompt"), () -> {
                    List<Message> messages = Fixtures.messages(r.get("messages"));
                    boolean addGenerationPrompt = r.get("add_generation_prompt").asBoolean();
                    Map<String, Object> extra = Map.of("bos_token", r.get("bos_token").asText(), "eos_token", r.get("eos_token").asText());
                    if (r.has("text")) {
                        assertEquals(r.get("text").asText(), template.render(messages, addGenerationPrompt, extra));
                    } else {
                        TemplateException e = assertThrows(TemplateException.class, () -> template.render(messages, addGenerationPrompt, extra));
                        assertEquals(TemplateException.Kind.RAISED, e.kind(), e.getMessage());
                        assertEquals(r.get("error").asText(), e.reason());
                    }
                }));
            }
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> llamaCppCasesRenderLikeHuggingFaceJinja() {
        List<JsonNode> cases = llamaCppCases();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                ChatTemplate template = ChatTemplate.parse(c.get("template").asText());
                if (c.has("hf_jinja_text")) {
                    assertEquals(c.get("hf_jinja_text").asText(), render(template, c, RenderOptions.DEFAULT));
                    return;
                }
                TemplateException e = assertThrows(TemplateException.class, () -> render(template, c, RenderOptions.DEFAULT));
                String error = c.get("hf_jinja_error").asText();
                if (template.source().contains(error)) {
                    // The template's own raise_exception message.
                    assertEquals(TemplateException.Kind.RAISED, e.kind(), e.getMessage());
                    assertEquals(error, e.reason());
                } else {
                    // An error of @huggingface/jinja's own wording: ours fails at the same place and names it.
                    assertEquals(TemplateException.Kind.RENDER, e.kind(), e.getMessage());
                    assertTrue(e.getMessage().contains("additional_special_tokens"), e.getMessage());
                }
            }));
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> llamaCppDialectGivesLlamaCppsExpectation() {
        List<DynamicTest> tests = new ArrayList<>();
        RenderOptions llamaCpp = RenderOptions.DEFAULT.withDialect(RenderOptions.Dialect.LLAMA_CPP);
        int differing = 0;
        for (JsonNode c : llamaCppCases()) {
            if (!c.get("supported_with_jinja").asBoolean()) {
                continue;
            }
            String name = c.get("name").asText();
            if (!c.get("hf_jinja_equals_expected").asBoolean()) {
                differing++;
            }
            tests.add(DynamicTest.dynamicTest(name, () -> {
                ChatTemplate template = ChatTemplate.parse(c.get("template").asText());
                String expected = MINJA_WHITESPACE_QUIRK.contains(name) ? c.get("expected_legacy").asText() : c.get("expected").asText();
                assertEquals(expected, render(template, c, llamaCpp));
            }));
        }
        assertEquals(29, tests.size(), "llama.cpp cases supported with Jinja");
        assertEquals(7, differing, "cases where llama.cpp's expectation differs from plain Jinja");
        return tests;
    }

    private static List<JsonNode> llamaCppCases() {
        List<JsonNode> cases = Fixtures.readJsonLines(Fixtures.shared("chat-templates").resolve("llama-cpp-cases.jsonl"));
        assertEquals(30, cases.size(), "llama-cpp-cases.jsonl should hold llama.cpp's 30 cases");
        return cases;
    }

    private static String render(ChatTemplate template, JsonNode c, RenderOptions options) {
        return template.render(Fixtures.messages(c.get("messages")), c.get("add_generation_prompt").asBoolean(),
                Map.of("bos_token", c.get("bos").asText(), "eos_token", c.get("eos").asText()), options);
    }
}
