package dev.rewind.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.tokenizer.HuggingFaceTokenizer;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ChatFormat} on the real tokenizers and templates of {@code hf/}: the BOS/EOS texts it takes
 * from the vocabulary are the ones Hugging Face rendered the fixtures with, it renders every
 * fixture record, and its ids carry exactly one BOS where the template writes one (none added in
 * Hugging Face's dialect; in llama.cpp's, the BOS text is removed and the tokenizer adds what it adds).
 */
class ChatFormatTest {

    private static final List<String> MODELS = List.of("llama3", "qwen3", "gemma3", "deepseek_v3");

    @Test
    void everyFixtureRecordThroughTheVocabularysOwnBosAndEos() throws IOException {
        int checked = 0;
        for (String name : MODELS) {
            Path folder = Fixtures.shared("hf").resolve(name);
            HuggingFaceTokenizer tokenizer = Tokenizer.fromHuggingFace(folder);
            ChatTemplate template = ChatTemplate.parse(tokenizer.config().chatTemplate().orElseThrow());
            ChatFormat hf = ChatFormat.of(template, tokenizer, RenderOptions.DEFAULT);
            ChatFormat llamaCpp = ChatFormat.of(template, tokenizer, RenderOptions.DEFAULT.withDialect(RenderOptions.Dialect.LLAMA_CPP));
            OptionalInt bos = tokenizer.bos();
            for (JsonNode r : Fixtures.readJsonLines(folder.resolve("chat.jsonl"))) {
                assertEquals(r.get("bos_token").asText(), hf.bosToken(), name + " bos_token");
                assertEquals(r.get("eos_token").asText(), hf.eosToken(), name + " eos_token");
                if (!r.has("text")) {
                    continue;
                }
                List<Message> messages = Fixtures.messages(r.get("messages"));
                boolean prompt = r.get("add_generation_prompt").asBoolean();
                String text = r.get("text").asText();
                assertEquals(text, hf.render(messages, prompt), name + ": " + r);
                int[] ids = hf.encode(messages, prompt);
                assertArrayEquals(tokenizer.encode(text, false, true), ids, name + ": special text parsed, nothing added");
                boolean writesBos = !hf.bosToken().isEmpty() && text.startsWith(hf.bosToken());
                assertEquals(writesBos ? 1 : 0, leadingBos(ids, bos), name + ": BOS only where the template writes it");
                if (writesBos) {
                    // The BOS text is removed and the tokenizer adds what it adds to any text (this fixture's
                    // Llama 3 tokenizer.json, an early one, adds nothing; a llama-bpe GGUF adds BOS).
                    int added = leadingBos(tokenizer.encode("a", true, false), bos);
                    assertEquals(added, leadingBos(llamaCpp.encode(messages, prompt), bos), name + ": llama.cpp's dialect, never two");
                    String stripped = text.substring(hf.bosToken().length());
                    if (!hf.eosToken().isEmpty() && stripped.endsWith(hf.eosToken())) {
                        stripped = stripped.substring(0, stripped.length() - hf.eosToken().length()); // llama.cpp adds EOS itself too
                    }
                    assertEquals(stripped, llamaCpp.render(messages, prompt), name);
                }
                checked++;
            }
        }
        assertEquals(66, checked, "records with a text");
    }

    @Test
    void theTemplatesEndOfTurnTextIsOneTokenThatEndsGeneration() throws IOException {
        for (String name : MODELS) {
            HuggingFaceTokenizer tokenizer = Tokenizer.fromHuggingFace(Fixtures.shared("hf").resolve(name));
            ChatFormat format = ChatFormat.of(ChatTemplate.parse(tokenizer.config().chatTemplate().orElseThrow()), tokenizer,
                    RenderOptions.DEFAULT);
            List<Message> turn = List.of(new Message("user", "Hi"), new Message("assistant", "Hello."));
            int[] ids = format.encode(turn, false);
            // The reply's closing token: the last special token after "Hello." (some templates add a newline after it).
            int end = ids.length - 1;
            while (end > 0 && !tokenizer.isEndOfGeneration(ids[end])) {
                end--;
            }
            assertTrue(end > 0, name + ": the rendered reply is closed by an end-of-generation token: " + tokenizer.decode(ids));
            assertTrue(tokenizer.decode(java.util.Arrays.copyOf(ids, end)).endsWith("Hello."), name);
        }
    }

    @Test
    void reservedVariablesAreRefused() throws IOException {
        HuggingFaceTokenizer tokenizer = Tokenizer.fromHuggingFace(Fixtures.shared("hf").resolve("qwen3"));
        ChatTemplate template = ChatTemplate.parse("{{ x }}");
        for (String reserved : List.of("messages", "add_generation_prompt", "bos_token", "eos_token", "tools")) {
            assertThrows(IllegalArgumentException.class,
                    () -> new ChatFormat(template, tokenizer, "", "", null, Map.of(reserved, 1), RenderOptions.DEFAULT), reserved);
        }
        ChatFormat withTools = new ChatFormat(ChatTemplate.parse("{{ tools | length }}{{ tools is defined }}|{{ flag }}"), tokenizer, "", "",
                List.of(Map.of("name", "f")), Map.of("flag", false), RenderOptions.DEFAULT);
        assertEquals("1true|false", withTools.render(List.of(), false));
        ChatFormat noTools = new ChatFormat(ChatTemplate.parse("{{ tools is defined }}"), tokenizer, "", "", null, Map.of(), RenderOptions.DEFAULT);
        assertEquals("false", noTools.render(List.of(), false));
        assertNotEquals(noTools, withTools);
    }

    private static int leadingBos(int[] ids, OptionalInt bos) {
        int n = 0;
        while (bos.isPresent() && n < ids.length && ids[n] == bos.getAsInt()) {
            n++;
        }
        return n;
    }
}
