package dev.rewind.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The WordPiece rules on a small vocabulary (MiniLM's real tokenizer.json is checked in the models module). */
class WordPieceTokenizerTest {

    private static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world",
            "un", "##aff", "##able", "cafe", ",", "!", "中", "文", "$", "x", "##x", "a", "##b", "naive", "'");

    private static String json(String normalizer, String extra) {
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < VOCAB.size(); i++) {
            vocab.append(i > 0 ? "," : "").append('"').append(VOCAB.get(i)).append("\":").append(i);
        }
        return """
                {"added_tokens": [{"id": 2, "content": "[CLS]", "special": true, "normalized": false},
                                  {"id": 3, "content": "[SEP]", "special": true, "normalized": false},
                                  {"id": 4, "content": "[MASK]", "special": true, "normalized": false}],
                 "normalizer": %s,
                 "pre_tokenizer": {"type": "BertPreTokenizer"},
                 "post_processor": {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                              {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                   "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2]}, "[SEP]": {"id": "[SEP]", "ids": [3]}}},
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "max_input_chars_per_word": 10, "vocab": {%s}}%s}
                """.formatted(normalizer, vocab, extra);
    }

    private static final String BERT_NORMALIZER = """
            {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}""";

    private final WordPieceTokenizer t = WordPieceTokenizer.fromTokenizerJson(json(BERT_NORMALIZER, ""), "test.json");

    @Test
    void greedyLongestMatchWithContinuationPrefix() {
        assertArrayEquals(new int[] {2, 7, 8, 9, 3}, t.encode("unaffable"));
        assertArrayEquals(new int[] {7, 8, 9}, t.encode("unaffable", false, 100));
        assertArrayEquals(new int[] {18, 19, 19}, t.encode("abb", false, 100));
    }

    @Test
    void aWordWithAnUnmatchedRestIsOneUnknownToken() {
        assertArrayEquals(new int[] {5, 1, 6}, t.encode("hello unaffablez world", false, 100));
    }

    @Test
    void wordsLongerThanTheLimitAreUnknown() {
        assertArrayEquals(new int[] {16, 17, 17, 17, 17, 17, 17, 17, 17, 17}, t.encode("x".repeat(10), false, 100));
        assertArrayEquals(new int[] {1}, t.encode("x".repeat(11), false, 100));
    }

    @Test
    void normalizerLowercasesStripsAccentsAndCleans() {
        assertArrayEquals(new int[] {5, 11, 6, 12}, t.encode("HeLLo,\tWORLD!", false, 100));
        assertArrayEquals(new int[] {10, 20}, t.encode("Café NAÏVE", false, 100));
        assertArrayEquals(new int[] {5, 6}, t.encode("hel\u00adlo\u0000 wor\u200bld", false, 100));
    }

    @Test
    void cjkIdeographsAndPunctuationAreWordsOfTheirOwn() {
        assertArrayEquals(new int[] {5, 13, 14, 6}, t.encode("hello中文world", false, 100));
        assertArrayEquals(new int[] {15, 16, 21, 18}, t.encode("$x'a", false, 100));
    }

    @Test
    void addedTokensInTheTextAreFound() {
        assertArrayEquals(new int[] {2, 2, 5, 4, 3}, t.encode("[CLS]hello [MASK]"));
    }

    @Test
    void truncationKeepsTheSpecialTokens() {
        assertArrayEquals(new int[] {2, 5, 3}, t.encode("hello world hello", true, 3));
        assertThrows(IllegalArgumentException.class, () -> t.encode("hello", true, 2));
    }

    @Test
    void accentsStayWithoutLowercaseUnlessAsked() {
        WordPieceTokenizer cased = WordPieceTokenizer.fromTokenizerJson(json("""
                {"type": "BertNormalizer", "lowercase": false, "strip_accents": true}""", ""), "cased.json");
        assertArrayEquals(new int[] {10}, cased.encode("café", false, 100));
        assertArrayEquals(new int[] {1}, cased.encode("Cafe", false, 100));
        WordPieceTokenizer keep = WordPieceTokenizer.fromTokenizerJson(json("""
                {"type": "BertNormalizer", "lowercase": true, "strip_accents": false}""", ""), "keep.json");
        assertArrayEquals(new int[] {1}, keep.encode("café", false, 100));
    }

    @Test
    void aBpeFileOrAnotherNormalizerIsRefusedNamingThePath() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.fromTokenizerJson(
                json("{\"type\": \"Lowercase\"}", ""), "x.json"));
        assertTrue(e.getMessage().contains("x.json") && e.getMessage().contains("normalizer"), e.getMessage());
        String bpe = json(BERT_NORMALIZER, "").replace("\"WordPiece\"", "\"BPE\"");
        e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.fromTokenizerJson(bpe, "b.json"));
        assertTrue(e.getMessage().contains("model.type") && e.getMessage().contains("WordPiece"), e.getMessage());
        String noUnk = json(BERT_NORMALIZER, "").replace("\"unk_token\": \"[UNK]\"", "\"unk_token\": \"<unk>\"");
        e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.fromTokenizerJson(noUnk, "u.json"));
        assertTrue(e.getMessage().contains("<unk>"), e.getMessage());
    }

    @Test
    void ggufBertVocabularyFollowsLlamaCpp() {
        MapMetadata keys = new MapMetadata().put("tokenizer.ggml.model", "bert")
                .put("tokenizer.ggml.tokens", List.of("[PAD]", "\u2581hello", "\u2581cafe", "s", "\u2581,", "[UNK]", "[CLS]", "[SEP]"))
                .put("tokenizer.ggml.unknown_token_id", 5L).put("tokenizer.ggml.cls_token_id", 6L)
                .put("tokenizer.ggml.seperator_token_id", 7L);
        WordPieceTokenizer g = WordPieceTokenizer.fromMetadata(keys);
        assertArrayEquals(new int[] {6, 1, 2, 3, 4, 5, 7}, g.encode("Hello CAFÉs, zz"));
        TokenizerException e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.fromMetadata(
                new MapMetadata().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.tokens", List.of("a"))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }
}
