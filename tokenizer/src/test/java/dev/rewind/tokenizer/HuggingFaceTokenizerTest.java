package dev.rewind.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parts of a Hugging Face tokenizer on small files written here. */
class HuggingFaceTokenizerTest {

    private static final List<String> MERGES = List.of("h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o");
    private static final int HELLO = 259;
    private static final int SPACE_WO = 261;

    @TempDir
    Path dir;

    private HuggingFaceTokenizer load(String tokenizerJson, String configJson) throws IOException {
        return Tokenizer.fromHuggingFace(HfFiles.folder(dir.resolve("m" + System.nanoTime()), tokenizerJson, configJson));
    }

    private HuggingFaceTokenizer byteLevel(String addedTokens, String extra) throws IOException {
        return load(HfFiles.byteLevel(MERGES, addedTokens, extra), null);
    }

    /** The GPT-2 byte-character ids of a text's UTF-8 bytes (ids 0–255 of {@link HfFiles#byteLevel}). */
    private static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return IntStream.range(0, b.length).map(i -> b[i] & 0xFF).toArray();
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }

    @Test
    void byteLevelMergesByRankAndDecodesBack() throws IOException {
        HuggingFaceTokenizer t = byteLevel("[]", "");
        int[] ids = t.encode("hello world", true, true);
        assertArrayEquals(concat(new int[] {HELLO, SPACE_WO}, bytes("rld")), ids);
        assertEquals("hello world", t.decode(ids));
        assertArrayEquals(" wo".getBytes(StandardCharsets.UTF_8), t.tokenBytes(SPACE_WO));
        assertEquals("é", t.decode(t.encode("é", false, false)));
        // one byte of a two-byte character is that byte alone, for streaming
        assertArrayEquals(new byte[] {(byte) 0xC3}, t.tokenBytes(0xC3));
    }

    @Test
    void specialAddedTokensFollowParseSpecialOthersAreAlwaysFound() throws IOException {
        HuggingFaceTokenizer t = byteLevel("[" + HfFiles.added(262, "<|s|>", true, "") + ", "
                + HfFiles.added(263, "[user]", false, "") + "]", "");
        assertArrayEquals(concat(bytes("a"), new int[] {262}, bytes("b"), new int[] {263}),
                t.encode("a<|s|>b[user]", false, true));
        assertArrayEquals(concat(bytes("a<|s|>b"), new int[] {263}), t.encode("a<|s|>b[user]", false, false));
        assertEquals(TokenType.CONTROL, t.tokenType(262));
        assertEquals(TokenType.USER_DEFINED, t.tokenType(263));
        assertEquals("a<|s|>b[user]", t.decode(new int[] {'a' - 0, 262, 'b', 263}));
        assertEquals("ab[user]", t.decode(new int[] {'a', 262, 'b', 263}, true));
    }

    @Test
    void stripFlagsTakeTheWhitespaceNextToTheToken() throws IOException {
        HuggingFaceTokenizer t = byteLevel("[" + HfFiles.added(262, "<L>", true, "\"lstrip\": true") + ", "
                + HfFiles.added(263, "<R>", true, "\"rstrip\": true") + "]", "");
        assertArrayEquals(concat(bytes("a"), new int[] {262}, bytes("  b")), t.encode("a  <L>  b", false, true));
        assertArrayEquals(concat(bytes("a  "), new int[] {263}, bytes("b")), t.encode("a  <R>  b", false, true));
    }

    @Test
    void singleWordTokensOnlyMatchWholeWords() throws IOException {
        HuggingFaceTokenizer t = byteLevel("[" + HfFiles.added(262, "hi", false, "\"single_word\": true") + "]", "");
        assertArrayEquals(concat(new int[] {262}, bytes(" t"), new int[] {256}, bytes("re")), t.encode("hi there", false, true));
        assertArrayEquals(bytes("this"), t.encode("this", false, true));
    }

    @Test
    void normalizedTokensAreFoundInTheNormalizedText() throws IOException {
        HuggingFaceTokenizer t = byteLevel("[" + HfFiles.added(262, "ok", false, "\"normalized\": true") + ", "
                + HfFiles.added(263, "<B>", true, "\"normalized\": false") + "]", "\"normalizer\": {\"type\": \"Lowercase\"}");
        assertArrayEquals(concat(new int[] {262}, bytes("!"), new int[] {263}, bytes("x")), t.encode("OK!<B>X", false, true));
        assertArrayEquals(bytes("<b>"), t.encode("<b>", false, true));
    }

    @Test
    void templateProcessingAddsItsSpecialTokens() throws IOException {
        String added = "[" + HfFiles.added(262, "<s>", true, "") + ", " + HfFiles.added(263, "</s>", true, "") + "]";
        String template = "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
                + "{\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": "
                + "{\"id\": \"</s>\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", "
                + "\"ids\": [262], \"tokens\": [\"<s>\"]}, \"</s>\": {\"id\": \"</s>\", \"ids\": [263], \"tokens\": [\"</s>\"]}}}";
        HuggingFaceTokenizer t = load(HfFiles.byteLevel(MERGES, added, template),
                "{\"bos_token\": \"<s>\", \"eos_token\": {\"__type\": \"AddedToken\", \"content\": \"</s>\"}}");
        assertArrayEquals(new int[] {262, HELLO, 263}, t.encode("hello", true, true));
        assertArrayEquals(new int[] {HELLO}, t.encode("hello", false, true));
        assertEquals(262, t.bos().orElseThrow());
        assertEquals(263, t.eos().orElseThrow());
        assertTrue(t.vocabulary().framing().addBos() && t.vocabulary().framing().addEos());
        assertTrue(t.isEndOfGeneration(263));
    }

    @Test
    void ignoreMergesTakesAWordThatIsAToken() throws IOException {
        String json = HfFiles.byteLevel(MERGES, "[]", "").replace("\"merges\":", "\"ignore_merges\": true, \"merges\":")
                .replace("\"Ġwo\": 261", "\"Ġwo\": 261, \"Ġworld\": 262");
        HuggingFaceTokenizer t = load(json, null);
        assertArrayEquals(new int[] {HELLO, 262}, t.encode("hello world", false, true));
        HuggingFaceTokenizer merging = load(json.replace("\"ignore_merges\": true", "\"ignore_merges\": false"), null);
        assertArrayEquals(concat(new int[] {HELLO, SPACE_WO}, bytes("rld")), merging.encode("hello world", false, true));
    }

    /** A SentencePiece-style BPE: ▁ for spaces, byte fallback, unknown token, Llama 2's decoder. */
    private HuggingFaceTokenizer sentencePiece(boolean fuseUnknown) throws IOException {
        String json = """
                {"added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false}],
                 "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                     {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
                 "pre_tokenizer": null,
                 "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                     {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
                 "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": FUSE,
                     "vocab": {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "▁a": 4, "<0xC3>": 5, "<0xA9>": 6},
                     "merges": [["▁", "a"]]}}
                """.replace("FUSE", String.valueOf(fuseUnknown));
        return load(json, "{\"clean_up_tokenization_spaces\": false}");
    }

    @Test
    void byteFallbackThenUnknownTokens() throws IOException {
        HuggingFaceTokenizer t = sentencePiece(true);
        assertArrayEquals(new int[] {4, 1, 5, 6}, t.encode("a é", false, false));
        assertEquals("a é", t.decode(new int[] {4, 1, 5, 6}));
        assertEquals(TokenType.BYTE, t.tokenType(5));
        // ü is C3 BC and <0xBC> is missing: the unknown token; two of them in a row fuse into one
        assertArrayEquals(new int[] {4, 1, 0}, t.encode("a ü", false, false));
        assertArrayEquals(new int[] {1, 0, 3}, t.encode("üüb", false, false));
        assertArrayEquals(new int[] {1, 0, 0, 3}, sentencePiece(false).encode("üüb", false, false));
    }

    @Test
    void streamingEqualsDecodingAndKeepsCharactersWhole() throws IOException {
        HuggingFaceTokenizer t = sentencePiece(true);
        int[] ids = {4, 1, 5, 6, 1, 2};
        StreamDecoder stream = t.newStreamDecoder(true);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = stream.accept(id);
            assertFalse(piece.contains("\uFFFD"), "no character is split");
            out.append(piece);
        }
        assertEquals(t.decode(ids), out.append(stream.flush()).toString());
        assertEquals("a é a", t.decode(ids));
        assertTrue(t.vocabulary().framing().addSpacePrefix());
    }

    @Test
    void splitBehaviorsAsTheLibraryDocumentsThem() {
        Map<HfPreTokenizer.Behavior, List<String>> expected = Map.of(
                HfPreTokenizer.Behavior.REMOVED, List.of("the", "final", "countdown"),
                HfPreTokenizer.Behavior.ISOLATED, List.of("the", "-", "final", "-", "-", "countdown"),
                HfPreTokenizer.Behavior.MERGED_WITH_PREVIOUS, List.of("the-", "final-", "-", "countdown"),
                HfPreTokenizer.Behavior.MERGED_WITH_NEXT, List.of("the", "-final", "-", "-countdown"),
                HfPreTokenizer.Behavior.CONTIGUOUS, List.of("the", "-", "final", "--", "countdown"));
        HfPattern dash = new HfPattern(Pattern.compile("-"), "-", true);
        expected.forEach((behavior, words) ->
                assertEquals(words, texts(new HfPreTokenizer.Split(dash, behavior, false), "the-final--countdown"), behavior.name()));
        HfPattern word = new HfPattern(Pattern.compile(HfRegex.translate("\\w+")), "\\w+", false);
        assertEquals(List.of("Hello", "world"),
                texts(new HfPreTokenizer.Split(word, HfPreTokenizer.Behavior.REMOVED, true), "Hello, world!"));
    }

    @Test
    void otherPreTokenizers() {
        assertEquals(List.of("a", "1", "2", "\u0663", "b"), texts(new HfPreTokenizer.Digits(true), "a12\u0663b"));
        assertEquals(List.of("a", "12\u0663", "b"), texts(new HfPreTokenizer.Digits(false), "a12\u0663b"));
        assertEquals(List.of("Hey", ",", " you", "!", "$"),
                texts(new HfPreTokenizer.Punctuation(HfPreTokenizer.Behavior.ISOLATED), "Hey, you!$"));
        assertEquals(List.of("Hey", "man", "!!", "é"), texts(new HfPreTokenizer.Whitespace(), "Hey man!! é"));
        assertEquals(List.of("a", "b", "c"), texts(new HfPreTokenizer.WhitespaceSplit(), "a  b\tc\u3000"));
        assertEquals(List.of("▁Hey", "▁friend"), texts(new HfPreTokenizer.Metaspace("▁",
                HfPreTokenizer.Metaspace.PrependScheme.ALWAYS, true), "Hey friend"));
        assertEquals(List.of("Ġhello", "Ġ", "Ġw"),
                texts(new HfPreTokenizer.ByteLevel(true, true), "hello  w"));
    }

    @Test
    void metaspacePrependsOnlyAtTheStartOfTheInputWithFirst() {
        HfPreTokenizer first = new HfPreTokenizer.Metaspace("▁", HfPreTokenizer.Metaspace.PrependScheme.FIRST, false);
        assertEquals(List.of("▁hi▁you"), texts(first, "hi you"));
        List<HfPreTokenizer.Piece> afterToken = first.split(List.of(new HfPreTokenizer.Piece("hi", false)));
        assertEquals("hi", afterToken.getFirst().text());
        HfPreTokenizer never = new HfPreTokenizer.Metaspace("▁", HfPreTokenizer.Metaspace.PrependScheme.NEVER, false);
        assertEquals(List.of("hi▁you"), texts(never, "hi you"));
    }

    @Test
    void regexesReadAsJavaScriptReadsThem() {
        Pattern s = Pattern.compile(HfRegex.translate("\\s+"));
        assertTrue(s.matcher("\uFEFF\u00A0\u3000 ").matches(), "JavaScript's \\s has U+FEFF");
        assertFalse(s.matcher("\u0085").matches(), "and not U+0085");
        assertTrue(Pattern.compile(HfRegex.translate("[^\\s\\p{L}]+")).matcher("12!").matches());
        assertFalse(Pattern.compile(HfRegex.translate("a$")).matcher("a\n").find(), "$ is the end of the text");
        assertFalse(Pattern.compile(HfRegex.translate("a.")).matcher("a\u2028").matches());
        assertTrue(Pattern.compile(HfRegex.translate("[^(\\s|[.,!?])]+")).matcher("ab").matches(), "nested class");
        assertFalse(Pattern.compile(HfRegex.translate("[^(\\s|[.,!?])]+")).matcher("a,").matches());
        assertTrue(Pattern.compile(HfRegex.translate("[a&&b]+")).matcher("a&b").matches(), "&& is literal");
        assertTrue(Pattern.compile(HfRegex.translate("\\p{Han}+")).matcher("日本").matches());
        assertTrue(Pattern.compile(HfRegex.translate("(?i:'s|'t)")).matcher("'S").matches());
    }

    @Test
    void configTemplatesAndTokens(@TempDir Path folder) throws IOException {
        String added = "[" + HfFiles.added(262, "<s>", true, "") + ", " + HfFiles.added(263, "<extra>", false, "") + "]";
        HfFiles.folder(folder, HfFiles.byteLevel(MERGES, added, ""), """
                {"bos_token": {"content": "<s>", "lstrip": false}, "add_bos_token": false,
                 "additional_special_tokens": ["<extra>"], "tokenizer_class": "PreTrainedTokenizerFast",
                 "chat_template": [{"name": "default", "template": "{{ a }}"}, {"name": "tool_use", "template": "{{ b }}"}]}
                """);
        HuggingFaceTokenizer t = Tokenizer.fromHuggingFace(folder);
        HuggingFaceConfig config = t.config();
        assertEquals(List.of("default", "tool_use"), List.copyOf(config.chatTemplates().keySet()));
        assertEquals("{{ a }}", config.chatTemplate().orElseThrow());
        assertEquals("<s>", config.bosToken().orElseThrow());
        assertEquals(false, config.addBosToken().orElseThrow());
        assertTrue(config.cleanUpTokenizationSpaces(), "true when absent, as in transformers.js");
        assertEquals("hello", t.decode(new int[] {262, HELLO, 263}, true), "additional special tokens are skipped");
        Files.writeString(folder.resolve("chat_template.jinja"), "{{ jinja }}");
        assertEquals("{{ jinja }}", Tokenizer.fromHuggingFace(folder).config().chatTemplate().orElseThrow());
        Files.writeString(folder.resolve("generation_config.json"), "{\"eos_token_id\": [262, 5]}");
        HuggingFaceTokenizer withGeneration = Tokenizer.fromHuggingFace(folder);
        assertTrue(withGeneration.isEndOfGeneration(5) && withGeneration.isEndOfGeneration(262));
        assertFalse(t.isEndOfGeneration(5));
    }

    @Test
    void cleanUpOfTokenizationSpacesAsTheLibraries() {
        assertEquals("Hi, you! Is it? Yes. don't I'm he's we've you're 'x' a'b",
                HuggingFaceTokenizer.cleanUpTokenizationSpaces(
                        "Hi , you ! Is it ? Yes . do n't I 'm he 's we 've you 're 'x' a ' b"));
    }

    @Test
    void transformersRuleRebuildsTheTemplateForLlamaTokenizers() throws IOException {
        Path deepseek = HuggingFaceFixturesTest.shared().resolve("hf/deepseek_v3");
        int[] fileRule = Tokenizer.fromHuggingFace(deepseek).encode("x", true, true);
        int[] pythonRule = HuggingFaceTokenizer.load(deepseek, HuggingFaceTokenizer.SpecialTokenRule.TRANSFORMERS)
                .encode("x", true, true);
        assertArrayEquals(new int[] {90}, fileRule, "the ByteLevel post-processor adds nothing (the fixture)");
        assertArrayEquals(new int[] {0, 90}, pythonRule, "LlamaTokenizerFast with add_bos_token true adds BOS 0");
        Path qwen = HuggingFaceFixturesTest.shared().resolve("hf/qwen3");
        assertArrayEquals(Tokenizer.fromHuggingFace(qwen).encode("x", true, true),
                HuggingFaceTokenizer.load(qwen, HuggingFaceTokenizer.SpecialTokenRule.TRANSFORMERS).encode("x", true, true),
                "Qwen2TokenizerFast keeps its post-processor");
    }

    private static List<String> texts(HfPreTokenizer p, String text) {
        return p.split(List.of(new HfPreTokenizer.Piece(text, true))).stream().map(HfPreTokenizer.Piece::text).toList();
    }
}
