package dev.rewind.models.bert;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.models.GgufTokenizerMetadata;
import dev.rewind.tokenizer.WordPieceTokenizer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The GGUF {@code bert} vocabulary against llama.cpp's {@code ggml-vocab-bert-bge} suite (the ids
 * bge-small-en-v1.5's Hugging Face tokenizer gives, which llama.cpp's WPM tokenizer reproduces), carried in
 * {@code llama-cpp-vocab/}.
 */
class BertVocabSuiteTest {

    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    @TestFactory
    Stream<DynamicTest> bertBgeSuite() throws IOException {
        Path vocab = resource("/llama-cpp-vocab/ggml-vocab-bert-bge.gguf");
        WordPieceTokenizer tokenizer = tokenizer(vocab);
        List<String> inputs = new ArrayList<>(List.of(Files.readString(Path.of(vocab + ".inp")).split(SEPARATOR, -1)));
        if (inputs.getLast().isEmpty()) {
            inputs.removeLast();
        }
        String out = Files.readString(Path.of(vocab + ".out"), StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(List.of(out.split("\n", -1)));
        if (out.endsWith("\n")) {
            lines.removeLast();
        }
        assertEquals(inputs.size(), lines.size(), ".inp and .out disagree on the number of cases");
        assertEquals(46, inputs.size());
        List<DynamicTest> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String text = inputs.get(i);
            int[] want = lines.get(i).isBlank() ? new int[0]
                    : Arrays.stream(lines.get(i).strip().split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.add(DynamicTest.dynamicTest("#" + i, () -> assertArrayEquals(want,
                    tokenizer.encode(text, false, Integer.MAX_VALUE), () -> "case " + text)));
        }
        return cases.stream();
    }

    /**
     * The same strings through MiniLM's {@code tokenizer.json} (the Hugging Face style, a WordPiece model of
     * the same bert-base-uncased vocabulary): the ids agree with the suite too.
     */
    @TestFactory
    Stream<DynamicTest> bertBgeSuiteThroughMiniLmTokenizerJson() throws IOException {
        Path vocab = resource("/llama-cpp-vocab/ggml-vocab-bert-bge.gguf");
        WordPieceTokenizer gguf = tokenizer(vocab);
        WordPieceTokenizer json;
        try (BertEmbedder miniLm = BertEmbedder.miniLm(1)) {
            json = miniLm.tokenizer();
        }
        assertEquals(WordPieceTokenizer.Style.HUGGING_FACE, json.style());
        List<String> inputs = new ArrayList<>(List.of(Files.readString(Path.of(vocab + ".inp")).split(SEPARATOR, -1)));
        inputs.removeLast();
        List<DynamicTest> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String text = inputs.get(i);
            cases.add(DynamicTest.dynamicTest("#" + i, () -> assertArrayEquals(gguf.encode(text, false, Integer.MAX_VALUE),
                    json.encode(text, false, Integer.MAX_VALUE), () -> "case " + text)));
        }
        return cases.stream();
    }

    @Test
    void specialTokensComeFromTheMetadata() throws IOException {
        WordPieceTokenizer tokenizer = tokenizer(resource("/llama-cpp-vocab/ggml-vocab-bert-bge.gguf"));
        assertEquals(WordPieceTokenizer.Style.LLAMA_CPP, tokenizer.style());
        int[] ids = tokenizer.encode("Hello world");
        assertArrayEquals(new int[] {101, 7592, 2088, 102}, ids);
        assertEquals("[CLS]", tokenizer.piece(101));
        assertArrayEquals(new int[] {101, 7592, 102}, tokenizer.encode("Hello world", true, 3));
    }

    private static WordPieceTokenizer tokenizer(Path vocab) throws IOException {
        try (GgufFile file = GgufFile.open(vocab)) {
            return WordPieceTokenizer.fromMetadata(new GgufTokenizerMetadata(file.metadata()));
        }
    }

    private static Path resource(String name) {
        URL url = BertVocabSuiteTest.class.getResource(name);
        assertNotNull(url, "missing test resource " + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
