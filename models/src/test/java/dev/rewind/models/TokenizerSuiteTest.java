package dev.rewind.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tokenizer against llama.cpp on real vocabularies: the suites of llama.cpp's {@code test-tokenizer-0}
 * (five in {@code ../shared/models/tokenizers}, six more carried in this module's test resources, see
 * {@code llama-cpp-vocab/README.md}), the ids {@code llama-tokenize} gives for the reference prompts, and
 * decode round trips. Needs {@code ../shared} (system property {@code rewind.shared}); fails if it is missing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerSuiteTest {

    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static final List<String> SUITES = List.of("llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2");

    /** Suites whose vocabulary files are small enough to live in the test resources (one pre-tokenizer each). */
    private static final List<String> BUNDLED_SUITES = List.of(
            "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "starcoder");

    private final Map<String, Tokenizer> tokenizers = new HashMap<>();

    @TestFactory
    Stream<DynamicNode> llamaCppTokenizerSuites() {
        return SUITES.stream().map(name -> suite(name, models().resolve("tokenizers/ggml-vocab-" + name + ".gguf")));
    }

    @TestFactory
    Stream<DynamicNode> bundledLlamaCppTokenizerSuites() {
        return BUNDLED_SUITES.stream().map(name -> suite(name, bundledVocab(name)));
    }

    private DynamicNode suite(String name, Path vocab) {
        List<String> inputs = suiteInputs(vocab);
        List<int[]> expected = suiteOutputs(vocab);
        assertEquals(inputs.size(), expected.size(), name + ": .inp and .out disagree on the number of cases");
        List<DynamicTest> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String text = inputs.get(i);
            int[] want = expected.get(i);
            String label = "#" + i + " " + shown(text);
            cases.add(DynamicTest.dynamicTest(label, () -> {
                int[] got = tokenizer(vocab).encode(text, false, false);
                assertArrayEquals(want, got, () -> name + " case " + label
                        + "\n  expected " + Arrays.toString(want) + "\n  actual   " + Arrays.toString(got));
            }));
        }
        return DynamicContainer.dynamicContainer(name, cases);
    }

    @TestFactory
    Stream<DynamicNode> referencePromptIds() throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode prompts = json.readTree(models().resolve("ref/prompts.json").toFile());
        List<String> refs = List.of("tok512", "llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2");
        return refs.stream().map(ref -> {
            JsonNode file = readJson(json, models().resolve("ref/tokenize/" + ref + ".json"));
            assertTrue(file.get("add_special").asBoolean() && file.get("parse_special").asBoolean(),
                    ref + ": the reference should use add_special and parse_special");
            Path vocab = models().resolve(file.get("vocab_file").asText());
            List<DynamicTest> cases = new ArrayList<>();
            file.get("ids").properties().forEach(entry -> {
                String text = prompts.get(entry.getKey()).asText();
                int[] want = toInts(entry.getValue());
                cases.add(DynamicTest.dynamicTest(entry.getKey() + " " + shown(text), () -> {
                    int[] got = tokenizer(vocab).encode(text, true, true);
                    assertArrayEquals(want, got, () -> ref + " " + entry.getKey() + " " + shown(text)
                            + "\n  expected " + Arrays.toString(want) + "\n  actual   " + Arrays.toString(got));
                }));
            });
            return DynamicContainer.dynamicContainer(ref, cases);
        });
    }

    /**
     * decode(encode(s)) against s, and streaming against whole decoding.
     *
     * <p>Why the round trip holds: SentencePiece encoding puts one space in front of the text
     * ({@code add_space_prefix}), and llama.cpp's detokenizer strips exactly one leading space from the
     * first piece, so the original text comes back (byte fallback makes the encoding lossless). Byte-level
     * BPE is lossless too, but llama.cpp's detokenizer "cleans up tokenization spaces" for gpt-2 and
     * llama-bpe vocabularies: it removes a space before {@code ? ! . ,}, around a lone {@code '} and before
     * {@code 's 'm 're 've}. For a text with such a pattern llama.cpp does not round trip; there we check
     * that decode only removed spaces, and that the raw pieces (the stream) still give the text.
     */
    @TestFactory
    Stream<DynamicNode> decodeRoundTrips() {
        Stream<DynamicNode> shared = SUITES.stream()
                .map(name -> roundTrips(name, models().resolve("tokenizers/ggml-vocab-" + name + ".gguf")));
        Stream<DynamicNode> bundled = BUNDLED_SUITES.stream().map(name -> roundTrips(name, bundledVocab(name)));
        return Stream.concat(shared, bundled);
    }

    private DynamicNode roundTrips(String name, Path vocab) {
        List<String> texts = new ArrayList<>(suiteInputs(vocab));
        texts.addAll(promptTexts());
        List<DynamicTest> cases = new ArrayList<>();
        for (String text : texts) {
            cases.add(DynamicTest.dynamicTest(shown(text), () -> checkRoundTrip(tokenizer(vocab), name, text)));
        }
        return DynamicContainer.dynamicContainer(name, cases);
    }

    /** A vocabulary file of the test resources. */
    private static Path bundledVocab(String name) {
        String resource = "/llama-cpp-vocab/ggml-vocab-" + name + ".gguf";
        URL url = TokenizerSuiteTest.class.getResource(resource);
        if (url == null) {
            fail("missing test resource " + resource);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @TestFactory
    Stream<DynamicTest> tok512RoundTrips() {
        Path vocab = models().resolve("stories260K.gguf");
        return promptTexts().stream().map(text ->
                DynamicTest.dynamicTest(shown(text), () -> checkRoundTrip(tokenizer(vocab), "tok512", text)));
    }

    private static void checkRoundTrip(Tokenizer tokenizer, String name, String text) {
        int[] ids = tokenizer.encode(text, false, false);
        String decoded = tokenizer.decode(ids);
        String streamed = stream(tokenizer, ids);
        boolean cleansSpaces = tokenizer.vocabulary().framing().cleanSpaces();
        if (!cleansSpaces || !hasCleanUpPattern(text)) {
            assertEquals(text, decoded, () -> name + ": decode(encode(s)) should give s back; ids " + Arrays.toString(ids));
            assertEquals(decoded, streamed, () -> name + ": streaming should equal whole decoding");
        } else {
            assertEquals(text, streamed, () -> name + ": the raw pieces should give s back");
            assertTrue(isWithSpacesRemoved(text, decoded),
                    () -> name + ": clean-up should only remove spaces, got " + shown(decoded));
        }
    }

    /** Decodes one token at a time, checking that no piece ends inside a character. */
    private static String stream(Tokenizer tokenizer, int[] ids) {
        StreamDecoder decoder = tokenizer.newStreamDecoder(true);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = decoder.accept(id);
            assertTrue(piece.isEmpty() || !Character.isHighSurrogate(piece.charAt(piece.length() - 1)),
                    "a piece ended inside a surrogate pair");
            out.append(piece);
        }
        out.append(decoder.flush());
        return out.toString();
    }

    private static boolean hasCleanUpPattern(String text) {
        return text.contains(" ?") || text.contains(" !") || text.contains(" .") || text.contains(" ,")
                || text.contains(" '");
    }

    /** Whether {@code shorter} is {@code text} with some spaces removed. */
    private static boolean isWithSpacesRemoved(String text, String shorter) {
        int j = 0;
        for (int i = 0; i < text.length(); i++) {
            if (j < shorter.length() && shorter.charAt(j) == text.charAt(i)) {
                j++;
            } else if (text.charAt(i) != ' ') {
                return false;
            }
        }
        return j == shorter.length();
    }

    private Tokenizer tokenizer(Path vocab) {
        return tokenizers.computeIfAbsent(vocab.toString(), key -> {
            if (!Files.isRegularFile(vocab)) {
                fail("missing vocabulary file " + vocab);
            }
            try (GgufFile file = GgufFile.open(vocab)) {
                return Tokenizer.fromMetadata(new GgufTokenizerMetadata(file.metadata()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static List<String> suiteInputs(Path vocab) {
        String all = read(Path.of(vocab + ".inp"));
        List<String> cases = new ArrayList<>(List.of(all.split(SEPARATOR, -1)));
        if (!cases.isEmpty() && cases.getLast().isEmpty()) {
            cases.removeLast(); // the text after the last separator is not a case
        }
        return cases;
    }

    private static List<int[]> suiteOutputs(Path vocab) {
        String all = read(Path.of(vocab + ".out"));
        List<int[]> out = new ArrayList<>();
        for (String line : all.split("\n", -1)) {
            out.add(line.isBlank() ? new int[0]
                    : Arrays.stream(line.strip().split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        if (all.endsWith("\n")) {
            out.removeLast(); // the empty text after the final newline is not a line
        }
        return out;
    }

    private static List<String> promptTexts() {
        JsonNode prompts = readJson(new ObjectMapper(), models().resolve("ref/prompts.json"));
        Map<String, String> byKey = new LinkedHashMap<>();
        prompts.properties().forEach(e -> byKey.put(e.getKey(), e.getValue().asText()));
        return List.copyOf(byKey.values());
    }

    private static int[] toInts(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    private static JsonNode readJson(ObjectMapper json, Path path) {
        try {
            return json.readTree(path.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path path) {
        try {
            return Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The shared models folder; fails (never skips) when it is missing. */
    private static Path models() {
        String property = System.getProperty("rewind.shared");
        Path root = property != null ? Path.of(property) : Path.of("..", "..", "shared");
        Path models = root.resolve("models");
        if (!Files.isDirectory(models)) {
            fail("the shared test data is missing: expected the folder " + models.toAbsolutePath().normalize()
                    + " (set -Drewind.shared=/path/to/shared)");
        }
        return models;
    }

    /** A test string made visible: quoted, with control characters escaped. */
    private static String shown(String text) {
        StringBuilder b = new StringBuilder("\"");
        text.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (cp < 0x20) {
                        b.append(String.format("\\x%02x", cp));
                    } else {
                        b.appendCodePoint(cp);
                    }
                }
            }
        });
        return b.append('"').toString();
    }
}
