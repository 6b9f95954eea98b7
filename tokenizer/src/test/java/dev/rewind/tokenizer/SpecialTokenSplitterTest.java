package dev.rewind.tokenizer;

import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class SpecialTokenSplitterTest {

    /** SPM vocabulary with two overlapping control tokens: ids 259 ▁, 260 x, 261 <|a|>, 262 <|a|>b. */
    private static MapMetadata metadata() {
        MapMetadata m = MapMetadata.sentencePiece(List.of("▁", "x", "<|a|>", "<|a|>b"), new float[4]);
        int[] types = m.ints("tokenizer.ggml.token_type").orElseThrow().clone();
        types[261] = 3;
        types[262] = 3;
        return m.put("tokenizer.ggml.token_type", types);
    }

    @Test
    void theLongestSpecialTextWins() {
        Tokenizer t = Tokenizer.fromMetadata(metadata());
        assertArrayEquals(new int[] {262, 261}, t.encode("<|a|>b<|a|>", false, true));
    }

    @Test
    void phi3VocabulariesStripSpacesAfterSpecialTokens() {
        // llama.cpp recognises Phi-3 by general.name and strips whitespace to the right of its special
        // tokens (but not after <s>); "x" after a special token then gets the usual space prefix.
        Tokenizer plain = Tokenizer.fromMetadata(metadata());
        Tokenizer phi3 = Tokenizer.fromMetadata(metadata().put("general.name", "Phi3"));
        assertArrayEquals(new int[] {261, 259, 259, 260}, plain.encode("<|a|> x", false, true));
        assertArrayEquals(new int[] {261, 259, 260}, phi3.encode("<|a|> x", false, true));
        assertArrayEquals(new int[] {1, 259, 259, 260}, phi3.encode("<s> x", false, true));
    }
}
