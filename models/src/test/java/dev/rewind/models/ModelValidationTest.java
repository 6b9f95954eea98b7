package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.text.Escape;
import dev.rewind.engine.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the forward pass relies on is checked when a model is loaded: each reproducer of issue 9 that
 * used to load and then fail inside generation (or compute garbage) is refused with one line naming the
 * file and the key or tensor.
 */
class ModelValidationTest {

    @TempDir
    Path dir;

    private static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(1);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    /** Loading {@code file} fails with a one-line, visible message holding the file name and every fragment. */
    private static ModelFormatException refused(Path file, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file, pool, Precision.EXACT).close());
        String message = e.getMessage();
        assertTrue(Escape.isVisible(message), "one visible line: " + message);
        assertTrue(message.contains(file.getFileName().toString()), message);
        for (String f : fragments) {
            assertTrue(message.contains(f), "'" + f + "' in: " + message);
        }
        return e;
    }

    private static List<String> tokens(Path model) throws IOException {
        try (GgufFile f = GgufFile.open(model)) {
            return f.metadata().strings("tokenizer.ggml.tokens").orElseThrow();
        }
    }

    @Test
    void d1AVocabularyShorterThanTheEmbeddingIsRefused() throws IOException {
        // the reproducer: tokenizer.ggml.tokens of stories260K cut to 270 entries, the rest left as it is
        Path model = SharedData.model("stories260K.gguf");
        List<String> cut = tokens(model).subList(0, 270);
        Path file = GgufCopy.with(model, dir.resolve("cut-vocab.gguf"), "tokenizer.ggml.tokens", new GgufValue.StrArray(cut));
        refused(file, "270 tokens", "tokenizer.ggml.tokens", "token_embd.weight", "512 rows");
    }

    @Test
    void d1AVocabularyLongerThanTheEmbeddingIsRefused() throws IOException {
        Path model = SharedData.model("stories260K.gguf");
        Path file = GgufCopy.withMetadata(model, dir.resolve("long-vocab.gguf"), m -> {
            List<String> tokens = new java.util.ArrayList<>(((GgufValue.StrArray) m.get("tokenizer.ggml.tokens")).values());
            double[] scores = ((GgufValue.RealArray) m.get("tokenizer.ggml.scores")).values();
            long[] types = ((GgufValue.IntArray) m.get("tokenizer.ggml.token_type")).values();
            for (int i = 0; i < 88; i++) {
                tokens.add("extra" + i);
            }
            m.put("tokenizer.ggml.tokens", new GgufValue.StrArray(tokens));
            m.put("tokenizer.ggml.scores", new GgufValue.RealArray(GgufValueType.FLOAT32, Arrays.copyOf(scores, 600)));
            long[] moreTypes = Arrays.copyOf(types, 600);
            Arrays.fill(moreTypes, types.length, 600, 1);
            m.put("tokenizer.ggml.token_type", new GgufValue.IntArray(GgufValueType.INT32, moreTypes));
            return m;
        });
        refused(file, "600 tokens", "512 rows");
    }

    @Test
    void d2ARopeDimensionCountLargerThanTheHeadIsRefused() throws IOException {
        Path model = SharedData.model("tiny-llama-Q8_0.gguf");
        Path file = GgufCopy.with(model, dir.resolve("rope.gguf"), "llama.rope.dimension_count",
                new GgufValue.Int(GgufValueType.UINT32, 100000));
        refused(file, "llama.rope.dimension_count", "100000", "head dimension 32");
        Path odd = GgufCopy.with(model, dir.resolve("odd-rope.gguf"), "llama.rope.dimension_count", new GgufValue.Int(GgufValueType.UINT32, 7));
        refused(odd, "llama.rope.dimension_count", "= 7", "even");
    }

    @ParameterizedTest
    @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -1e-5, 0, 1e-60, 1e60})
    void anRmsEpsilonThatIsNotAFinitePositiveFloatIsRefused(double eps) throws IOException {
        Path model = SharedData.model("stories260K.gguf");
        Path file = GgufCopy.with(model, dir.resolve("eps.gguf"), "llama.attention.layer_norm_rms_epsilon",
                new GgufValue.Real(GgufValueType.FLOAT64, eps));
        refused(file, "llama.attention.layer_norm_rms_epsilon", "finite positive");
    }

    @ParameterizedTest
    @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, -10000, 0})
    void aRopeBaseThatIsNotAFinitePositiveNumberIsRefused(double base) throws IOException {
        Path model = SharedData.model("stories260K.gguf");
        Path file = GgufCopy.with(model, dir.resolve("base.gguf"), "llama.rope.freq_base", new GgufValue.Real(GgufValueType.FLOAT32, base));
        refused(file, "llama.rope.freq_base", "finite positive");
    }

    @Test
    void aBadLinearScalingFactorIsRefusedAndZeroMeansNone() throws IOException {
        Path model = SharedData.model("stories260K.gguf");
        Path bad = GgufCopy.withMetadata(model, dir.resolve("factor.gguf"), m -> {
            m.put("llama.rope.scaling.type", new GgufValue.Str("linear"));
            m.put("llama.rope.scaling.factor", new GgufValue.Real(GgufValueType.FLOAT32, Double.NaN));
            return m;
        });
        refused(bad, "llama.rope.scaling.factor");
        Path none = GgufCopy.withMetadata(model, dir.resolve("factor0.gguf"), m -> {
            m.put("llama.rope.scaling.type", new GgufValue.Str("linear"));
            m.put("llama.rope.scaling.factor", new GgufValue.Real(GgufValueType.FLOAT32, 0));
            return m;
        });
        try (LoadedModel loaded = ModelLoader.load(none, pool, Precision.EXACT)) {
            assertEquals(1.0, loaded.model().config().rope().linearScale());
        }
    }

    @Test
    void aBlockCountBeyondTheTensorsIsRefusedBeforeAnythingIsSizedFromIt() throws IOException {
        Path model = SharedData.model("stories260K.gguf");
        Path file = GgufCopy.with(model, dir.resolve("layers.gguf"), "llama.block_count", new GgufValue.Int(GgufValueType.UINT32, 1 << 24));
        refused(file, "llama.block_count", "16777216", "tensors");
    }

    @Test
    void moreHeadsThanDimensionsIsRefused() throws IOException {
        Path model = SharedData.model("stories260K.gguf");
        Path file = GgufCopy.with(model, dir.resolve("heads.gguf"), "llama.attention.head_count", new GgufValue.Int(GgufValueType.UINT32, 128));
        refused(file, "llama.attention.head_count");
    }

    @Test
    void anUnsupportedArchitectureWithControlCharactersIsOneVisibleLine() throws IOException {
        // D3/D4's reproducer: general.architecture = "xx\0yy"
        Path model = SharedData.model("stories260K.gguf");
        Path file = GgufCopy.with(model, dir.resolve("arch.gguf"), "general.architecture", new GgufValue.Str("xx\0yy\n\u001b[2J"));
        refused(file, "architecture 'xx\\0yy\\n\\e[2J' is not supported");
    }

    @Test
    void aDirectoryNamesItsPath() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("a-directory.gguf"));
        IOException e = assertThrows(IOException.class, () -> ModelLoader.load(sub, pool));
        assertTrue(e.getMessage().contains(sub.toString()) && e.getMessage().contains("directory"), e.getMessage());
        IOException t = assertThrows(IOException.class, () -> ModelLoader.loadTokenizer(sub));
        assertTrue(t.getMessage().contains(sub.toString()), t.getMessage());
    }

    @Test
    void theSharedModelsStillLoad() throws IOException {
        for (String name : List.of("stories260K.gguf", "tiny-llama-Q8_0.gguf", "tiny-llama3rope-F32.gguf", "tiny-qwen2-Q4_0.gguf",
                "tiny-gemma-F16.gguf", "tiny-phi3-Q8_0.gguf")) {
            try (LoadedModel loaded = ModelLoader.load(SharedData.model(name), pool, Precision.EXACT)) {
                assertEquals(loaded.tokenizer().vocabularySize(), loaded.model().config().vocabularySize(), name);
            }
        }
    }
}
