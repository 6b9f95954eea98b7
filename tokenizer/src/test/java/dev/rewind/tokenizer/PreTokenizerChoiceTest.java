package dev.rewind.tokenizer;

import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The names of {@code tokenizer.ggml.pre} and what llama.cpp attaches to each. */
class PreTokenizerChoiceTest {

    private static Tokenizer withPre(String pre) {
        return Tokenizer.fromMetadata(MapMetadata.bytePair(pre, List.of(), List.of("<|endoftext|>", "<mask>")));
    }

    @Test
    void everyNameLlamaCppKnowsLoads() {
        for (String name : PreTokenizerChoice.NAMES) {
            Tokenizer t = withPre(name);
            String text = "Hello, World! 123 \u65E5\u672C \u00E9t\u00E9\n";
            assertEquals(text, new String(bytesOf(t, t.encode(text, false, false)), java.nio.charset.StandardCharsets.UTF_8),
                    name);
        }
    }

    @Test
    void namesMapToLlamaCppsTypes() {
        assertEquals(PreTokenizer.STARCODER, PreTokenizerChoice.forName("command-r").splitter());
        assertEquals(PreTokenizer.STARCODER, PreTokenizerChoice.forName("minerva-7b").splitter());
        assertEquals(PreTokenizer.BLOOM, PreTokenizerChoice.forName("poro-chat").splitter());
        assertEquals(PreTokenizer.BLOOM, PreTokenizerChoice.forName("gpt3-finnish").splitter());
        assertEquals(PreTokenizer.GPT2, PreTokenizerChoice.forName("jais").splitter());
        assertEquals(PreTokenizer.LLAMA3, PreTokenizerChoice.forName("chatglm-bpe").splitter());
        assertEquals(PreTokenizer.QWEN2, PreTokenizerChoice.forName("deepseek-r1-qwen").splitter());
        assertEquals(PreTokenizer.DEEPSEEK3_LLM, PreTokenizerChoice.forName("deepseek-v3").splitter());
        assertEquals(PreTokenizer.GPT4O, PreTokenizerChoice.forName("gpt-4o").splitter());
    }

    @Test
    void unknownNamesAreRefusedWithKeyAndValue() {
        // llama.cpp's names are "poro-chat" and "minerva-7b"; the short forms are not among them.
        for (String name : List.of("poro", "minerva", "superbpe", "bert-bge")) {
            TokenizerException e = assertThrows(TokenizerException.class, () -> withPre(name));
            assertTrue(e.getMessage().contains("'" + name + "'") && e.getMessage().contains("tokenizer.ggml.pre"),
                    e.getMessage());
        }
    }

    @Test
    void bosDefaultsFollowLlamaCpp() {
        // The BPE default BOS id is 11; tekken and chameleon add it, chatglm-bpe has none.
        assertArrayEquals(new int[] {11}, withPre("tekken").encode("", true, false));
        assertArrayEquals(new int[] {11}, withPre("chameleon").encode("", true, false));
        assertArrayEquals(new int[0], withPre("falcon").encode("", true, false));
        assertTrue(withPre("chatglm-bpe").bos().isEmpty());
        assertEquals(11, withPre("viking").bos().orElseThrow());
    }

    @Test
    void cleanUpOfSpacesFollowsLlamaCpp() {
        for (String name : List.of("deepseek-llm", "deepseek-coder", "deepseek-v3", "command-r", "qwen2", "poro-chat",
                "viking", "tekken", "smollm", "chameleon", "gpt-4o")) {
            assertFalse(withPre(name).vocabulary().framing().cleanSpaces(), name);
        }
        for (String name : List.of("default", "falcon", "starcoder", "refact", "bloom", "jais", "megrez", "exaone")) {
            assertTrue(withPre(name).vocabulary().framing().cleanSpaces(), name);
        }
    }

    @Test
    void jinaV2StripsSpaceBeforeMask() {
        int mask = withPre("jina-v2-code").vocabulary().id("<mask>").orElseThrow();
        assertTrue(TokenAttributes.has(withPre("jina-v2-code").vocabulary().attributes(mask), TokenAttributes.LSTRIP));
        assertFalse(TokenAttributes.has(withPre("gpt-2").vocabulary().attributes(mask), TokenAttributes.LSTRIP));
    }

    @Test
    void fillInTheMiddleTokensFoundByTextBecomeControlAsInLlamaCpp() {
        String pad = "<|fim_pad|>";
        String begin = "<\uFF5Cfim\u2581begin\uFF5C>";
        MapMetadata m = MapMetadata.bytePair("deepseek-coder", List.of(), List.of(pad, begin));
        int[] types = m.ints("tokenizer.ggml.token_type").orElseThrow().clone();
        types[256] = TokenType.USER_DEFINED.code();
        types[257] = TokenType.USER_DEFINED.code();
        Tokenizer t = Tokenizer.fromMetadata(m.put("tokenizer.ggml.token_type", types));
        // USER_DEFINED text is always split out; llama.cpp makes these CONTROL, which only special parsing splits.
        assertArrayEquals(new int[] {257}, t.encode(begin, false, true));
        assertEquals(begin.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, t.encode(begin, false, false).length);
        assertTrue(t.isEndOfGeneration(256), "fim_pad ends generation");
        assertFalse(t.isEndOfGeneration(257), "fim_pre does not");
    }

    private static byte[] bytesOf(Tokenizer t, int[] ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(t.tokenBytes(id));
        }
        return out.toByteArray();
    }
}
