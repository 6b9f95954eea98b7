package dev.rewind.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

import static dev.rewind.tokenizer.MapMetadata.byteChar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BytePairTokenizerTest {

    private static final List<String> MERGES = List.of(
            "h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o", "1 2", "12 3", "4 5");
    private static final int HELLO = 259;
    private static final int SPACE_WO = 261;
    private static final int TWELVE = 262;
    private static final int FORTY_FIVE = 264;
    private static final int END_OF_TEXT = 265;
    private static final int IM_END = 266;

    private static MapMetadata metadata(String pre) {
        return MapMetadata.bytePair(pre, MERGES, List.of("<|endoftext|>", "<|im_end|>"));
    }

    private static Tokenizer tokenizer(String pre) {
        return Tokenizer.fromMetadata(metadata(pre));
    }

    private static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = byteChar(b[i]);
        }
        return ids;
    }

    private static int[] concat(int[]... parts) {
        List<Integer> all = new ArrayList<>();
        for (int[] p : parts) {
            for (int i : p) {
                all.add(i);
            }
        }
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void isBytePair() {
        assertInstanceOf(BytePairTokenizer.class, tokenizer("gpt-2"));
    }

    @Test
    void mergesByRankWithinPreTokenizedWords() {
        // Words "hello" and " world": hello merges fully; " world" only gets "Ġwo".
        assertArrayEquals(concat(new int[] {HELLO, SPACE_WO}, bytes("rld")),
                tokenizer("gpt-2").encode("hello world", false, false));
    }

    @Test
    void lowerRankMergesFirst() {
        Tokenizer abFirst = Tokenizer.fromMetadata(MapMetadata.bytePair("gpt-2", List.of("a b", "b c"), List.of()));
        Tokenizer bcFirst = Tokenizer.fromMetadata(MapMetadata.bytePair("gpt-2", List.of("b c", "a b"), List.of()));
        assertArrayEquals(new int[] {256, byteChar('c')}, abFirst.encode("abc", false, false));
        assertArrayEquals(new int[] {byteChar('a'), 256}, bcFirst.encode("abc", false, false));
    }

    @Test
    void preTokenizersCutNumbersDifferently() {
        // gpt-2 keeps "4512" one word (12 merges first, then 45); llama3 cuts "451" + "2"; qwen2 single digits.
        assertArrayEquals(new int[] {FORTY_FIVE, TWELVE}, tokenizer("gpt-2").encode("4512", false, false));
        assertArrayEquals(new int[] {FORTY_FIVE, byteChar('1'), byteChar('2')},
                Tokenizer.fromMetadata(metadata("llama-bpe").put("tokenizer.ggml.add_bos_token", false))
                        .encode("4512", false, false));
        assertArrayEquals(bytes("4512"), tokenizer("qwen2").encode("4512", false, false));
    }

    @Test
    void llama3TakesAWordThatIsAPieceWithoutMerging() {
        MapMetadata m = metadata("llama3");
        List<String> tokens = new ArrayList<>(m.strings("tokenizer.ggml.tokens").orElseThrow());
        tokens.add("Ġxyz"); // a piece no merge produces
        int[] types = new int[tokens.size()];
        Arrays.fill(types, 1);
        m.put("tokenizer.ggml.tokens", tokens).put("tokenizer.ggml.token_type", types)
                .put("tokenizer.ggml.bos_token_id", (long) END_OF_TEXT);
        assertArrayEquals(new int[] {tokens.size() - 1}, Tokenizer.fromMetadata(m).encode(" xyz", false, false));
        m.put("tokenizer.ggml.pre", "gpt-2");
        assertArrayEquals(bytes(" xyz"), Tokenizer.fromMetadata(m).encode(" xyz", false, false));
    }

    @Test
    void bosIsAddedOnlyWhereTheVocabularyAsks() {
        assertArrayEquals(new int[] {HELLO}, tokenizer("gpt-2").encode("hello", true, false));
        Tokenizer llama3 = Tokenizer.fromMetadata(metadata("llama-bpe").put("tokenizer.ggml.bos_token_id", (long) END_OF_TEXT));
        assertArrayEquals(new int[] {END_OF_TEXT, HELLO}, llama3.encode("hello", true, false));
        assertArrayEquals(new int[] {HELLO}, llama3.encode("hello", false, false));
        Tokenizer withEos = Tokenizer.fromMetadata(metadata("qwen2")
                .put("tokenizer.ggml.eos_token_id", (long) END_OF_TEXT).put("tokenizer.ggml.add_eos_token", true));
        assertArrayEquals(new int[] {HELLO, END_OF_TEXT}, withEos.encode("hello", true, false));
    }

    @Test
    void specialTokenTextIsParsedOnlyWhenAsked() {
        Tokenizer t = tokenizer("qwen2");
        assertArrayEquals(new int[] {HELLO, END_OF_TEXT, HELLO}, t.encode("hello<|endoftext|>hello", false, true));
        int[] plain = t.encode("hello<|endoftext|>hello", false, false);
        for (int id : plain) {
            assertTrue(id != END_OF_TEXT, "special text must stay text without parse_special");
        }
        assertEquals("hello<|endoftext|>hello", t.decode(plain));
        assertEquals("hello<|endoftext|>hello", t.decode(new int[] {HELLO, END_OF_TEXT, HELLO}));
    }

    @Test
    void decodeMapsByteCharactersBack() {
        Tokenizer t = tokenizer("qwen2");
        String text = "hello wörld 🙂\n\ttabs";
        assertEquals(text, t.decode(t.encode(text, false, false)));
        assertArrayEquals(new byte[] {' ', 'w', 'o'}, t.tokenBytes(SPACE_WO));
        assertEquals("Ġwo", t.piece(SPACE_WO));
    }

    @Test
    void gpt2DecodingCleansUpSpacesAsLlamaCpp() {
        Tokenizer gpt2 = tokenizer("gpt-2");
        Tokenizer qwen2 = tokenizer("qwen2");
        String text = "hello , world ! it 's ' quoted ' they 're";
        // Pass 1 drops " ," and " !"; pass 2 turns both " ' " into "'"; pass 3 drops the space of " 's" and " 're".
        assertEquals("hello, world! it's'quoted'they're", gpt2.decode(gpt2.encode(text, false, false)));
        assertEquals(text, qwen2.decode(qwen2.encode(text, false, false)), "qwen2 does not clean up");
        StreamDecoder raw = gpt2.newStreamDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : gpt2.encode(text, false, false)) {
            streamed.append(raw.accept(id));
        }
        assertEquals(text, streamed.append(raw.flush()).toString(), "streaming emits the raw pieces");
    }

    @Test
    void streamingHoldsBackMultiByteCharacters() {
        Tokenizer t = tokenizer("gpt-2");
        int[] ids = t.encode("é", false, false);
        assertArrayEquals(new int[] {0xC3, 0xA9}, ids);
        StreamDecoder d = t.newStreamDecoder();
        assertEquals("", d.accept(ids[0]));
        assertEquals("é", d.accept(ids[1]));
    }

    @Test
    void endOfTurnTokensAreFoundByText() {
        Tokenizer t = Tokenizer.fromMetadata(metadata("qwen2").put("tokenizer.ggml.eos_token_id", (long) END_OF_TEXT));
        assertEquals(IM_END, t.eot().orElseThrow());
        assertTrue(t.isEndOfGeneration(IM_END));
        assertTrue(t.isEndOfGeneration(END_OF_TEXT));
        assertFalse(t.isEndOfGeneration(HELLO));
    }

    @Test
    void unknownPreTokenizerIsAClearError() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> tokenizer("no-such-pre"));
        assertTrue(e.getMessage().contains("no-such-pre") && e.getMessage().contains("tokenizer.ggml.pre"),
                e.getMessage());
    }

    @Test
    void missingPreMeansDefault() {
        Tokenizer t = tokenizer(null);
        assertEquals("hello world", t.decode(t.encode("hello world", false, false)));
    }
}
