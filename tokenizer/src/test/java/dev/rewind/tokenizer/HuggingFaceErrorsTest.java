package dev.rewind.tokenizer;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken tokenizer folders fail with one line that names the file and the JSON path. */
class HuggingFaceErrorsTest {

    private static final List<String> MERGES = List.of("h e", "l l");
    private static final String NO_ADDED = "[]";

    @TempDir
    Path dir;

    private String failure(String tokenizerJson) {
        return failure(tokenizerJson, null);
    }

    private String failure(String tokenizerJson, String configJson) {
        Path folder = HfFiles.folder(dir.resolve("m" + System.nanoTime()), tokenizerJson, configJson);
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(folder));
        assertFalse(e.getMessage().contains("\n"), () -> "one line: " + e.getMessage());
        return e.getMessage().substring(folder.toString().length() + 1); // without the folder
    }

    private static String good(String extra) {
        return HfFiles.byteLevel(MERGES, NO_ADDED, extra);
    }

    /** good() with {@code from} replaced by {@code to}. */
    private static String with(String from, String to) {
        String json = good("");
        assertTrue(json.contains(from), from);
        return json.replace(from, to);
    }

    @Test
    void aGoodFolderLoads() throws IOException {
        Path folder = HfFiles.folder(dir.resolve("ok"), good(""), null);
        assertEquals(258, Tokenizer.fromHuggingFace(folder).vocabularySize()); // 256 bytes and 2 merges
    }

    @Test
    void notJson() {
        assertEquals("tokenizer.json: not valid JSON at line 1, column 11 (in model): expected a key in quotes",
                failure("{\"model\":{x}"));
        assertEquals("tokenizer.json: (the top level): expected an object, found an array", failure("[]"));
    }

    /** Found by the fuzz suite: a merge quoted in the message brought its newline and escape sequence along. */
    @Test
    void textQuotedFromTheFileIsOneVisibleLine() {
        assertEquals("tokenizer.json: model.merges[1]: expected two tokens separated by one space, found 'x\\nFAKE\\e[2J'",
                failure(with("\"l l\"]", "\"x\\nFAKE\\u001b[2J\"]")));
        assertEquals("tokenizer.json: model.merges[1]: expected two tokens separated by one space, found '\\u{D800}'",
                failure(with("\"l l\"]", "\"\\ud800\"]")));
    }

    @Test
    void missingAndMistypedFields() {
        assertEquals("tokenizer.json: model: missing", failure("{\"version\": \"1.0\"}"));
        assertEquals("tokenizer.json: model.vocab: missing", failure("{\"model\": {\"type\": \"BPE\", \"merges\": []}}"));
        assertEquals("tokenizer.json: model.merges[1]: expected \"left right\" or [\"left\", \"right\"], found a number",
                failure(with("\"l l\"]", "12]")));
        assertEquals("tokenizer.json: model.vocab[\"!\"]: expected an integer, found a string",
                failure(with("\"!\": 33", "\"!\": \"33\"")));
        assertEquals("tokenizer.json: added_tokens[0].id: expected an integer, found a string",
                failure(HfFiles.byteLevel(MERGES, "[{\"id\": \"x\", \"content\": \"<s>\"}]", "")));
        assertEquals("tokenizer.json: version: unknown tokenizer.json version '2.0' (known: 1.0)",
                failure(with("\"version\": \"1.0\"", "\"version\": \"2.0\"")));
    }

    @Test
    void unsupportedModelTypesAreRefusedByName() {
        assertEquals("tokenizer.json: model.type: unsupported tokenizer model 'WordPiece' (supported: BPE; WordPiece "
                + "comes with the embeddings work)", failure(with("\"type\": \"BPE\"", "\"type\": \"WordPiece\"")));
        assertEquals("tokenizer.json: model.type: unsupported tokenizer model 'Unigram' (supported: BPE)",
                failure(with("\"type\": \"BPE\"", "\"type\": \"Unigram\"")));
    }

    @Test
    void mergesMustReferToTokensOfTheVocabulary() {
        assertEquals("tokenizer.json: model.merges[1]: refers to \"zz\", which is not in model.vocab",
                failure(with("\"l l\"]", "\"z z\"]")));
        assertEquals("tokenizer.json: model.merges[0]: expected two tokens separated by one space, found 'h e x'",
                failure(with("\"h e\"", "\"h e x\"")));
    }

    @Test
    void idsAreCheckedBeforeAnythingIsSizedByThem() {
        assertEquals("tokenizer.json: model.vocab[\"!\"]: 2000000000 is outside [0, 16777215]",
                failure(with("\"!\": 33", "\"!\": 2000000000")));
        assertEquals("tokenizer.json: model: token id 1000000 leaves more than 65536 ids unused among 259 tokens",
                failure(HfFiles.byteLevel(MERGES, "[" + HfFiles.added(1_000_000, "<s>", true, "") + "]", "")));
        assertEquals("tokenizer.json: model.vocab.ll: id 256 is also the id of \"he\"",
                failure(with("\"ll\": 257", "\"ll\": 256")));
    }

    @Test
    void unsupportedPartsAreRefusedByName() {
        assertTrue(failure(good("\"normalizer\": {\"type\": \"Precompiled\"}"))
                .startsWith("tokenizer.json: normalizer.type: unsupported normalizer 'Precompiled' (supported: NFC,"));
        assertTrue(failure(good("\"post_processor\": {\"type\": \"Magic\"}"))
                .startsWith("tokenizer.json: post_processor.type: unsupported post-processor 'Magic'"));
        assertTrue(failure(with("\"decoder\": {\"type\": \"ByteLevel\"}", "\"decoder\": {\"type\": \"CTC\"}"))
                .startsWith("tokenizer.json: decoder.type: unsupported decoder 'CTC'"));
        assertEquals("tokenizer.json: model.end_of_word_suffix: '</w>' is not supported (only BPE models without one)",
                failure(with("\"type\": \"BPE\"", "\"type\": \"BPE\", \"end_of_word_suffix\": \"</w>\"")));
    }

    @Test
    void badRegexesAndTemplates() {
        String split = "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(ab\"}, "
                + "\"behavior\": \"Isolated\", \"invert\": false}";
        String m = failure(with("\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                + "\"use_regex\": true}", split));
        assertTrue(m.startsWith("tokenizer.json: pre_tokenizer.pattern.Regex: a regex Rewind cannot read (Unclosed group"), m);
        String template = "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
                + "{\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\": [], "
                + "\"special_tokens\": {}}";
        assertEquals("tokenizer.json: post_processor.single[0].SpecialToken.id: '<s>' is not in "
                + "post_processor.special_tokens", failure(good(template)));
        String behavior = split.replace("(ab", "a").replace("Isolated", "Sideways");
        assertTrue(failure(with("\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                + "\"use_regex\": true}", behavior)).startsWith("tokenizer.json: pre_tokenizer.behavior: unknown split "
                + "behavior 'Sideways'"));
    }

    @Test
    void configErrorsNameTheConfigFile() {
        assertEquals("tokenizer_config.json: bos_token: '<s>' is not a token of tokenizer.json",
                failure(good(""), "{\"bos_token\": \"<s>\"}"));
        assertEquals("tokenizer_config.json: add_bos_token: expected true or false, found a string",
                failure(good(""), "{\"add_bos_token\": \"yes\"}"));
        assertTrue(failure(good(""), "{\"chat_template\": 3}")
                .startsWith("tokenizer_config.json: chat_template: expected an array, found a number"));
        assertTrue(failure(good(""), "{oops}").startsWith("tokenizer_config.json: not valid JSON at line 1, column 2"));
    }

    @Test
    void missingFolderOrFile() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(empty));
        assertTrue(e.getMessage().startsWith(empty + ": no tokenizer.json"), e.getMessage());
        Path none = dir.resolve("none");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(none));
        assertTrue(e.getMessage().startsWith(none + ": not a folder"), e.getMessage());
    }

    @Test
    void aHugeFileIsRefusedBeforeItIsRead() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("huge"));
        try (RandomAccessFile f = new RandomAccessFile(folder.resolve("tokenizer.json").toFile(), "rw")) {
            f.setLength(HuggingFaceLoader.MAX_FILE_BYTES + 1); // sparse: takes no disk space
        }
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(folder));
        assertTrue(e.getMessage().endsWith("tokenizer.json: 1073741825 bytes, more than the 1073741824 a tokenizer "
                + "file may have"), e.getMessage());
    }

    @Test
    void notUtf8() throws IOException {
        Path folder = HfFiles.folder(dir.resolve("latin1"), good(""), null);
        Files.write(folder.resolve("tokenizer.json"), new byte[] {'{', '"', (byte) 0xE9, '"', ':', '1', '}'});
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromHuggingFace(folder));
        assertTrue(e.getMessage().endsWith("tokenizer.json: not valid JSON: the file is not UTF-8"), e.getMessage());
    }
}
