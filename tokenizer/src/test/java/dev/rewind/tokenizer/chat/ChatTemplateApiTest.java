package dev.rewind.tokenizer.chat;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The public API: messages and extra variables in, text out; bad values refused with their place named. */
class ChatTemplateApiTest {

    private static String render(String template, Map<String, ?> variables) {
        return ChatTemplate.parse(template).renderVariables(variables, RenderOptions.DEFAULT);
    }

    @Test
    void messagesAreDictsWithRoleContentAndTheirOtherFields() {
        Message call = new Message("assistant", null, Map.of("tool_calls", List.of(Map.of("name", "f"))));
        String text = ChatTemplate.parse("{% for m in messages %}{{ m | tojson }} {{ m.content is none }};{% endfor %}{{ add_generation_prompt }}")
                .render(List.of(new Message("user", "hi"), call), true, Map.of());
        assertEquals("{\"role\": \"user\", \"content\": \"hi\"} false;"
                + "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"name\": \"f\"}]} true;true", text);
    }

    @Test
    void contentMayBeAListOfParts() {
        Message m = new Message("user", List.of(Map.of("type", "text", "text", "look"), Map.of("type", "image")), Map.of());
        assertEquals("look<image>", ChatTemplate.parse("{% for p in messages[0].content %}{{ p.text if p.type == 'text' else '<image>' }}{% endfor %}")
                .render(List.of(m), false, Map.of()));
    }

    @Test
    void badMessagesAreRefused() {
        assertThrows(NullPointerException.class, () -> new Message(null, "x"));
        assertThrows(IllegalArgumentException.class, () -> new Message("user", 5, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new Message("user", "x", Map.of("role", "system")));
    }

    @Test
    void extraVariablesCannotReplaceTheConversation() {
        ChatTemplate t = ChatTemplate.parse("x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(List.of(), false, Map.of("messages", List.of())));
        assertTrue(e.getMessage().contains("'messages'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.render(List.of(), false, Map.of("add_generation_prompt", true)));
    }

    @Test
    void extraVariablesMayShadowBuiltIns() {
        assertEquals("mine", render("{{ range }}", Map.of("range", "mine")));
    }

    @Test
    void javaValuesBecomeTemplateValuesAsJavaScriptWouldSeeThemAfterJsonParse() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("b", 1);
        d.put("10", 2);
        d.put("a", 3);
        d.put("2", 4);
        d.put("01", 5);
        assertEquals("{\"2\": 4, \"10\": 2, \"b\": 1, \"a\": 3, \"01\": 5}", render("{{ d }}", Map.of("d", d)));
        assertEquals("1|1.5|2|true|1.2345678901234568e+22|", render("{{ a }}|{{ b }}|{{ c }}|{{ t }}|{{ big }}|{{ n }}",
                mapOf("a", 1.0, "b", 1.5, "c", (short) 2, "t", true, "big", new BigInteger("12345678901234567890123"), "n", null)));
    }

    @Test
    void unsupportedJavaValuesAreRefusedWithTheirPath() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> render("x", Map.of("tools", List.of(Map.of("when", new Object())))));
        assertTrue(e.getMessage().startsWith("tools[0].when: a value of type Object cannot be given to a template"), e.getMessage());
        Map<String, Object> loop = new HashMap<>();
        loop.put("self", loop);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> render("x", Map.of("loop", loop)))
                .getMessage().contains("contain itself"));
        Map<Object, Object> numberKeys = Map.of(1, "x");
        assertThrows(IllegalArgumentException.class, () -> render("x", Map.of("m", numberKeys)));
    }

    @Test
    void templatesDoNotChangeTheCallersValues() {
        List<Object> list = new ArrayList<>(List.of(1));
        render("{% set _ = l.append(2) %}{{ l }}", Map.of("l", list));
        assertEquals(List.of(1), list);
    }

    @Test
    void oneTemplateRendersFromManyThreadsAlike() throws Exception {
        ChatTemplate t = ChatTemplate.parse("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content | length %}"
                + "{{ m.role }}{% endfor %}={{ ns.n }}");
        List<Message> chat = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            chat.add(new Message(i % 2 == 0 ? "u" : "a", "x".repeat(i)));
        }
        String expected = t.render(chat, false, Map.of());
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                results.add(pool.submit(() -> t.render(chat, false, Map.of())));
            }
            for (Future<String> r : results) {
                assertEquals(expected, r.get());
            }
        }
        assertTrue(expected.endsWith("=" + (199 * 200 / 2)), expected);
    }

    @Test
    void theSourceIsKept() {
        assertEquals("{{ x }}\n", ChatTemplate.parse("{{ x }}\n").source());
    }

    private static Map<String, Object> mapOf(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
