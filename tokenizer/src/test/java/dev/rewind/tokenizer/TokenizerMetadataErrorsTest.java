package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad or missing metadata fails with a {@link TokenizerException} that names the key. */
class TokenizerMetadataErrorsTest {

    private static MapMetadata good() {
        return MapMetadata.sentencePiece(List.of("▁", "a"), new float[2]);
    }

    private static void assertFailsNaming(String key, MapMetadata metadata) {
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromMetadata(metadata));
        assertTrue(e.getMessage().contains(key), () -> "message should name " + key + ": " + e.getMessage());
    }

    @Test
    void missingModel() {
        assertFailsNaming("tokenizer.ggml.model", good().remove("tokenizer.ggml.model"));
    }

    @Test
    void unsupportedModel() {
        assertFailsNaming("tokenizer.ggml.model", good().put("tokenizer.ggml.model", "bert"));
    }

    @Test
    void missingTokens() {
        assertFailsNaming("tokenizer.ggml.tokens", good().remove("tokenizer.ggml.tokens"));
    }

    @Test
    void tooFewScoresOrTypes() {
        assertFailsNaming("tokenizer.ggml.scores", good().put("tokenizer.ggml.scores", new float[3]));
        assertFailsNaming("tokenizer.ggml.token_type", good().put("tokenizer.ggml.token_type", new int[3]));
    }

    @Test
    void wrongValueType() {
        assertFailsNaming("tokenizer.ggml.scores", good().put("tokenizer.ggml.scores", "not floats"));
    }

    @Test
    void aNaNScoreIsRefusedNamingItsIndexSinceMergesAreOrderedByScore() {
        float[] scores = new float[261];
        scores[260] = Float.NaN;
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromMetadata(good().put("tokenizer.ggml.scores", scores)));
        assertEquals("metadata key 'tokenizer.ggml.scores' holds NaN at index 260", e.getMessage());
    }

    @Test
    void integerScoresAreAccepted() {
        int[] scores = new int[261];
        scores[260] = -1;
        Tokenizer t = Tokenizer.fromMetadata(good().put("tokenizer.ggml.scores", scores));
        assertEquals(-1f, t.vocabulary().score(260));
    }

    @Test
    void emptyPiecesAreNamedAsLlamaCpp() {
        MapMetadata m = good();
        List<String> tokens = new ArrayList<>(m.strings("tokenizer.ggml.tokens").orElseThrow());
        tokens.set(260, "");
        assertEquals("[EMPTY_260]", Tokenizer.fromMetadata(m.put("tokenizer.ggml.tokens", tokens)).piece(260));
    }

    @Test
    void tokenIdOutsideTheVocabulary() {
        assertFailsNaming("tokenizer.ggml.eos_token_id", good().put("tokenizer.ggml.eos_token_id", 100_000L));
    }

    @Test
    void addBosWithoutBos() {
        // A one-token SentencePiece vocabulary: the default BOS id 1 does not exist, yet BOS is added by default.
        MapMetadata m = new MapMetadata().put("tokenizer.ggml.model", "llama").put("tokenizer.ggml.tokens", List.of("a"));
        assertFailsNaming("tokenizer.ggml.add_bos_token", m);
    }

    @Test
    void bytePairBosDefaultsToElevenAsLlamaCpp() {
        MapMetadata m = MapMetadata.bytePair("gpt-2", List.of(), List.of()).put("tokenizer.ggml.add_bos_token", true);
        assertEquals(11, Tokenizer.fromMetadata(m).encode("", true, false)[0]);
    }

    @Test
    void bytePairNeedsMerges() {
        assertFailsNaming("tokenizer.ggml.merges",
                MapMetadata.bytePair("gpt-2", List.of(), List.of()).remove("tokenizer.ggml.merges"));
    }

    @Test
    void unknownPreTokenizer() {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Tokenizer.fromMetadata(MapMetadata.bytePair("whatever-9", List.of(), List.of())));
        assertTrue(e.getMessage().contains("'whatever-9'") && e.getMessage().contains("tokenizer.ggml.pre"), e.getMessage());
        assertTrue(e instanceof IllegalArgumentException);
    }

    @Test
    void absentOrNoneIdsKeepLlamaCppDefaults() {
        Tokenizer t = Tokenizer.fromMetadata(good().remove("tokenizer.ggml.bos_token_id")
                .put("tokenizer.ggml.eos_token_id", 4294967295L));
        assertEquals(1, t.bos().orElseThrow());
        assertEquals(2, t.eos().orElseThrow());
        assertTrue(t.eot().isEmpty());
    }
}
