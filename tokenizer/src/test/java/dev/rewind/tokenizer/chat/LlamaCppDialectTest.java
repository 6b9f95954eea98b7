package dev.rewind.tokenizer.chat;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The llama.cpp dialect's two steps: folding system messages into user turns, and dropping BOS/EOS at the ends. */
class LlamaCppDialectTest {

    private static final RenderOptions LLAMA_CPP = RenderOptions.DEFAULT.withDialect(RenderOptions.Dialect.LLAMA_CPP);
    private static final String NO_SYSTEM = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}"
            + "[{{ m.role }}:{{ m.content }}]{% endfor %}";

    @Test
    void systemMessagesJoinTheNextUserMessage() {
        List<Message> merged = LlamaCppDialect.mergeSystemMessages(List.of(
                new Message("system", "a"), new Message("system", "b"), new Message("user", "u"), new Message("assistant", "x")));
        assertEquals(List.of(new Message("user", "a\nb\nu"), new Message("assistant", "x")), merged);
    }

    @Test
    void aSystemMessageBeforeAnotherRoleOrAtTheEndBecomesAUserMessage() {
        assertEquals(List.of(new Message("user", "s"), new Message("assistant", "x"), new Message("user", "u")),
                LlamaCppDialect.mergeSystemMessages(List.of(new Message("system", "s"), new Message("assistant", "x"), new Message("user", "u"))));
        assertEquals(List.of(new Message("user", "u"), new Message("user", "late")),
                LlamaCppDialect.mergeSystemMessages(List.of(new Message("user", "u"), new Message("system", "late"))));
        assertEquals(List.of(new Message("user", "s")),
                LlamaCppDialect.mergeSystemMessages(List.of(new Message("system", "s"), new Message("user", ""))));
    }

    @Test
    void aMessageWithoutContentPassesAndKeepsTheSystemTextWaiting() {
        Message toolCall = new Message("assistant", null, Map.of("tool_calls", List.of()));
        assertEquals(List.of(toolCall, new Message("user", "s\nu")),
                LlamaCppDialect.mergeSystemMessages(List.of(new Message("system", "s"), toolCall, new Message("user", "u"))));
    }

    @Test
    void theSystemRoleIsProbedByRendering() {
        Map<String, Object> extra = Map.of();
        assertFalse(LlamaCppDialect.supportsSystemRole(ChatTemplate.parse(NO_SYSTEM), extra, RenderOptions.DEFAULT));
        assertFalse(LlamaCppDialect.supportsSystemRole(ChatTemplate.parse(
                "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}"), extra, RenderOptions.DEFAULT));
        assertTrue(LlamaCppDialect.supportsSystemRole(ChatTemplate.parse(
                "{% for m in messages %}{{ m.content }}{% endfor %}"), extra, RenderOptions.DEFAULT));
    }

    @Test
    void aTemplateWithoutSystemRoleGetsTheSystemTextInTheUserTurn() {
        List<Message> chat = List.of(new Message("system", "be brief"), new Message("user", "hi"));
        ChatTemplate template = ChatTemplate.parse(NO_SYSTEM);
        assertEquals("[user:be brief\nhi]", template.render(chat, false, Map.of(), LLAMA_CPP));
        TemplateException plain = org.junit.jupiter.api.Assertions.assertThrows(TemplateException.class,
                () -> template.render(chat, false, Map.of()));
        assertEquals("no system", plain.reason());
    }

    @Test
    void bosAndEosAreDroppedOnlyAtTheEnds() {
        ChatTemplate template = ChatTemplate.parse("{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}");
        List<Message> chat = List.of(new Message("user", "a"), new Message("assistant", "b"));
        Map<String, Object> tokens = Map.of("bos_token", "<s>", "eos_token", "</s>");
        assertEquals("<s>a</s>b</s>", template.render(chat, false, tokens));
        assertEquals("a</s>b", template.render(chat, false, tokens, LLAMA_CPP));
        assertEquals("ab", template.render(chat, false, Map.of("bos_token", "", "eos_token", ""), LLAMA_CPP));
    }
}
