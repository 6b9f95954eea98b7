package dev.rewind.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
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
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Hugging Face tokenizer folders against their references in {@code ../shared} (system property
 * {@code rewind.shared}; fails if it is missing):
 * <ul>
 *   <li>{@code hf/{llama3,qwen3,gemma3,deepseek_v3}/encode.jsonl}: every record's ids with and without special
 *       tokens, its decoding and its decoding without special tokens, as recorded with transformers.js;</li>
 *   <li>{@code hf/llama2-spm} and {@code hf/phi3-spm}: llama.cpp's suites for the same vocabularies in
 *       {@code models/tokenizers} (encoded without special tokens and without special parsing, as the suites
 *       are);</li>
 *   <li>the tiny model folders of {@code hf-models}: the prompt ids llama.cpp gives for their GGUF twin.</li>
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HuggingFaceFixturesTest {

    private static final List<String> ENCODE_FIXTURES = List.of("llama3", "qwen3", "gemma3", "deepseek_v3");
    private static final String SUITE_SEPARATOR = "\n__ggml_vocab_test__\n";

    private final Map<Path, HuggingFaceTokenizer> tokenizers = new HashMap<>();

    @TestFactory
    Stream<DynamicNode> encodeJsonlRecords() {
        return ENCODE_FIXTURES.stream().map(name -> {
            Path folder = shared().resolve("hf").resolve(name);
            List<DynamicTest> cases = new ArrayList<>();
            List<JsonCursor> records = jsonLines(folder.resolve("encode.jsonl"));
            for (JsonCursor r : records) {
                String text = r.get("text").string();
                boolean addSpecial = r.get("add_special_tokens").bool();
                int[] ids = ints(r.get("ids"));
                String decoded = r.get("decoded").string();
                String decodedSkip = r.get("decoded_skip_special").string();
                String label = (addSpecial ? "special " : "plain ") + shown(text);
                cases.add(DynamicTest.dynamicTest(label, () -> {
                    HuggingFaceTokenizer t = tokenizer(folder);
                    int[] got = t.encode(text, addSpecial, true);
                    assertArrayEquals(ids, got, () -> name + " " + label + "\n  expected " + Arrays.toString(ids)
                            + "\n  actual   " + Arrays.toString(got));
                    assertEquals(decoded, t.decode(ids), () -> name + " decode " + label);
                    assertEquals(decodedSkip, t.decode(ids, true), () -> name + " decode skipping specials " + label);
                    String streamed = stream(t, ids);
                    assertEquals(decoded, t.config().cleanUpTokenizationSpaces()
                            ? HuggingFaceTokenizer.cleanUpTokenizationSpaces(streamed) : streamed,
                            () -> name + " streaming " + label);
                }));
            }
            assertEquals(174, records.size(), name + ": the public fixture has 174 records");
            return DynamicContainer.dynamicContainer(name, cases);
        });
    }

    @TestFactory
    Stream<DynamicNode> sentencePieceFoldersPassLlamaCppSuites() {
        return Stream.of(List.of("llama2-spm", "llama-spm"), List.of("phi3-spm", "phi-3")).map(pair -> {
            Path folder = shared().resolve("hf").resolve(pair.get(0));
            Path suite = shared().resolve("models/tokenizers/ggml-vocab-" + pair.get(1) + ".gguf");
            List<String> inputs = suiteInputs(suite);
            List<int[]> outputs = suiteOutputs(suite);
            assertEquals(inputs.size(), outputs.size(), pair + ": .inp and .out disagree on the number of cases");
            List<DynamicTest> cases = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                String text = inputs.get(i);
                int[] want = outputs.get(i);
                cases.add(DynamicTest.dynamicTest("#" + i + " " + shown(text), () -> {
                    HuggingFaceTokenizer t = tokenizer(folder);
                    int[] got = t.encode(text, false, false);
                    assertArrayEquals(want, got, () -> pair.get(0) + " " + shown(text) + "\n  expected "
                            + Arrays.toString(want) + "\n  actual   " + Arrays.toString(got));
                    assertEquals(text, t.decode(got), "decode(encode(text))");
                    assertEquals(text, stream(t, got), "streamed");
                }));
            }
            return DynamicContainer.dynamicContainer(pair.get(0), cases);
        });
    }

    @TestFactory
    Stream<DynamicTest> tinyModelFoldersGiveLlamaCppPromptIds() throws IOException {
        JsonCursor prompts = read(shared().resolve("models/ref/prompts.json"));
        JsonCursor reference = read(shared().resolve("models/ref/tokenize/tok512.json"));
        List<Path> folders;
        try (Stream<Path> list = Files.list(shared().resolve("hf-models"))) {
            folders = list.filter(p -> Files.isRegularFile(p.resolve("tokenizer.json"))).sorted().toList();
        }
        assertEquals(8, folders.size(), "hf-models holds eight tiny model folders");
        List<DynamicTest> cases = new ArrayList<>();
        for (Path folder : folders) {
            for (JsonCursor expected : reference.get("ids").fieldValues()) {
                String text = prompts.get(expected.key()).string();
                int[] want = ints(expected);
                cases.add(DynamicTest.dynamicTest(folder.getFileName() + " " + expected.key(), () -> {
                    HuggingFaceTokenizer t = tokenizer(folder);
                    assertArrayEquals(want, t.encode(text, true, true), folder.getFileName() + " " + shown(text));
                    assertEquals(text, t.decode(t.encode(text, false, false)), "round trip");
                }));
            }
        }
        return cases.stream();
    }

    /** The text a stream decoder gives for {@code ids}, from the start of a text. */
    private static String stream(Tokenizer t, int[] ids) {
        StreamDecoder decoder = t.newStreamDecoder(true);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(decoder.accept(id));
        }
        return out.append(decoder.flush()).toString();
    }

    private HuggingFaceTokenizer tokenizer(Path folder) {
        return tokenizers.computeIfAbsent(folder, f -> {
            try {
                return Tokenizer.fromHuggingFace(f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static Path shared() {
        String property = System.getProperty("rewind.shared");
        Path root = property != null ? Path.of(property) : Path.of("..", "..", "shared");
        if (!Files.isDirectory(root.resolve("hf"))) {
            fail("the shared test data is missing: expected the folder " + root.resolve("hf").toAbsolutePath()
                    .normalize() + " (set -Drewind.shared=/path/to/shared)");
        }
        return root;
    }

    static JsonCursor read(Path file) {
        try {
            return HuggingFaceLoader.readJson(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonCursor> jsonLines(Path file) {
        List<JsonCursor> out = new ArrayList<>();
        for (String line : readString(file).split("\n")) {
            if (!line.isBlank()) {
                out.add(JsonCursor.root(JsonReader.parse(line, file.toString()), file.toString()));
            }
        }
        return out;
    }

    static int[] ints(JsonCursor array) {
        return array.elements().stream().mapToInt(e -> e.integer(0, Integer.MAX_VALUE)).toArray();
    }

    static List<String> suiteInputs(Path vocab) {
        List<String> cases = new ArrayList<>(List.of(readString(Path.of(vocab + ".inp")).split(SUITE_SEPARATOR, -1)));
        if (!cases.isEmpty() && cases.getLast().isEmpty()) {
            cases.removeLast(); // the text after the last separator is not a case
        }
        return cases;
    }

    static List<int[]> suiteOutputs(Path vocab) {
        String all = readString(Path.of(vocab + ".out"));
        List<int[]> out = new ArrayList<>();
        for (String line : all.split("\n", -1)) {
            out.add(line.isBlank() ? new int[0]
                    : Arrays.stream(line.strip().split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        if (all.endsWith("\n")) {
            out.removeLast();
        }
        return out;
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String shown(String text) {
        StringBuilder b = new StringBuilder("\"");
        text.codePoints().limit(60).forEach(cp -> {
            if (cp < 0x20 || cp == 0x7F) {
                b.append(String.format("\\x%02x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.append(text.codePointCount(0, text.length()) > 60 ? "…\"" : "\"").toString();
    }
}
