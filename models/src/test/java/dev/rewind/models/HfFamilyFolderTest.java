package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Qwen 3, Gemma 2, Gemma 3 (also as the multimodal Gemma3ForConditionalGeneration) and Mixtral as
 * Hugging Face folders: no fixture folders exist, so {@link HfExport} writes them from the GGUF
 * fixtures following Hugging Face's conventions; each folder must give the GGUF's references, and
 * {@code rewind convert} of it the GGUF's tensors byte for byte.
 */
class HfFamilyFolderTest {

    /** Folder name, source GGUF, multimodal layout. */
    record Family(String folder, String gguf, boolean multimodal) {
    }

    static final List<Family> FAMILIES = List.of(
            new Family("tiny-qwen3-F32", "tiny-qwen3-F32", false),
            new Family("tiny-gemma2-F32", "tiny-gemma2-F32", false),
            new Family("tiny-gemma3-F32", "tiny-gemma3-F32", false),
            new Family("tiny-gemma3mm-F32", "tiny-gemma3-F32", true),
            new Family("tiny-mixtral-F32", "tiny-mixtral-F32", false));

    @TempDir
    static Path folders;
    @TempDir
    Path dir;
    static WorkerPool pool;

    @BeforeAll
    static void export() throws IOException {
        pool = new WorkerPool(2);
        for (Family f : FAMILIES) {
            HfExport.export(SharedData.model(f.gguf() + ".gguf"), folders.resolve(f.folder()), tokenizerFolder(), f.multimodal());
        }
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    /** tok512's Hugging Face files: the new-family GGUFs carry stories260K's tokenizer unchanged, as tiny-llama does. */
    static Path tokenizerFolder() {
        return HuggingFaceModelTest.folder("tiny-llama-F32");
    }

    static Path folder(String name) {
        return folders.resolve(name);
    }

    /** Every folder and prompt on both paths against the GGUF's own references (float64, llama.cpp's logits, greedy runs). */
    @TestFactory
    Stream<DynamicTest> everyFolderGivesTheGgufsReferences() {
        Path ref = SharedData.models().resolve("ref");
        List<DynamicTest> tests = new ArrayList<>();
        for (Family f : FAMILIES) {
            NewFamilyParityTest.Case c = NewFamilyParityTest.CASES.stream().filter(k -> k.model().equals(f.gguf())).findFirst().orElseThrow();
            for (String run : List.of("p1", "p2", "p3", "p4")) {
                Path greedy = ref.resolve("greedy").resolve(f.gguf() + "__" + run + ".json");
                for (Precision precision : Precision.values()) {
                    tests.add(DynamicTest.dynamicTest(f.folder() + " (HF) " + run + " " + precision,
                            () -> NewFamilyParityTest.check(c, ref, greedy, precision, folder(f.folder()), pool)));
                }
            }
        }
        return tests.stream();
    }

    /** config.json gives every hyper-parameter the GGUF's metadata gives (rope style aside: Hugging Face rotates halves). */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-qwen3-F32", "tiny-gemma2-F32", "tiny-gemma3-F32", "tiny-gemma3mm-F32", "tiny-mixtral-F32"})
    void configEqualsTheGgufsConfig(String name) throws IOException {
        Family f = FAMILIES.stream().filter(k -> k.folder().equals(name)).findFirst().orElseThrow();
        try (LoadedModel hf = ModelLoader.load(folder(name), pool, Precision.EXACT);
             LoadedModel gguf = ModelLoader.load(SharedData.model(f.gguf() + ".gguf"), pool, Precision.EXACT)) {
            assertEquals(gguf.model().config().toString().replaceAll("HALVES|ADJACENT", "X"),
                    hf.model().config().toString().replaceAll("HALVES|ADJACENT", "X"));
        }
    }

    /** Same layout as llama.cpp's (all but Mixtral, whose Q/K rows are permuted): the logits are the GGUF's bits. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-qwen3-F32", "tiny-gemma2-F32", "tiny-gemma3-F32", "tiny-gemma3mm-F32"})
    void sameLayoutGivesTheGgufsBits(String name) throws IOException {
        Family f = FAMILIES.stream().filter(k -> k.folder().equals(name)).findFirst().orElseThrow();
        int[] prompt = {1, 403, 407, 261, 378, 300, 301, 302, 303, 304, 305, 306};
        for (Precision precision : Precision.values()) {
            try (LoadedModel hf = ModelLoader.load(folder(name), pool, precision);
                 LoadedModel gguf = ModelLoader.load(SharedData.model(f.gguf() + ".gguf"), pool, precision)) {
                float[][] a = ReferenceParityTest.teacherForced(hf.model(), prompt, new int[] {5, 6});
                float[][] b = ReferenceParityTest.teacherForced(gguf.model(), prompt, new int[] {5, 6});
                for (int r = 0; r < a.length; r++) {
                    assertArrayEquals(b[r], a[r], name + " " + precision + " row " + r);
                }
            }
        }
    }

    /** rewind convert of each folder: the GGUF's tensors byte for byte (experts stacked again, Q/K permuted back, Gemma's 1 + w), and the same config read back. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-qwen3-F32", "tiny-gemma2-F32", "tiny-gemma3-F32", "tiny-gemma3mm-F32", "tiny-mixtral-F32"})
    void convertGivesTheGgufsTensorsBack(String name) throws IOException {
        Family f = FAMILIES.stream().filter(k -> k.folder().equals(name)).findFirst().orElseThrow();
        Path out = dir.resolve(name + ".gguf");
        GgufConverter.convert(folder(name), out, (GgmlType) null, null);
        Path original = SharedData.model(f.gguf() + ".gguf");
        assertSameTensors(original, out);
        try (GgufFile a = GgufFile.open(out); GgufFile b = GgufFile.open(original)) {
            assertEquals(ModelLoader.config(b).toString(), ModelLoader.config(a).toString(), "config read back");
        }
    }

    static void assertSameTensors(Path expected, Path actual) throws IOException {
        try (GgufFile ours = GgufFile.open(actual); GgufFile original = GgufFile.open(expected)) {
            assertEquals(original.tensors().size(), ours.tensors().size(), "tensor count");
            for (GgufTensorInfo t : original.tensors()) {
                GgufTensorInfo u = ours.tensor(t.name()).orElseThrow(() -> new AssertionError("missing " + t.name()));
                assertEquals(t.type(), u.type(), t.name());
                assertArrayEquals(t.shape(), u.shape(), t.name());
                assertEquals(-1, original.tensorData(t).mismatch(ours.tensorData(u)), t.name() + " bytes " + Arrays.toString(t.shape()));
            }
        }
    }

    /**
     * llama-quantize made these files from the F32 GGUFs (README: -Q4_K, -Q5_K, -Q6_K with --pure; -Q4_K_M its
     * default mixture); converting the folders with --type gives the same types and blocks.
     */
    @ParameterizedTest
    @CsvSource({"hf-models/tiny-llama-F32, tiny-llama-Q4_K, Q4_K", "hf-models/tiny-llama-F32, tiny-llama-Q5_K, Q5_K",
            "hf-models/tiny-llama-F32, tiny-llama-Q6_K, Q6_K", "hf-models/tiny-qwen2-F32, tiny-qwen2-Q6_K, Q6_K",
            "hf-models/tiny-llama-F32, tiny-llama-Q4_K_M, Q4_K_M", "hf-models/tiny-qwen2-F32, tiny-qwen2-Q4_K_M, Q4_K_M",
            "hf-models/tiny-gemma-F32, tiny-gemma-Q4_K_M, Q4_K_M", "hf-models/tiny-phi3-F32, tiny-phi3-Q4_K_M, Q4_K_M",
            "exported/tiny-mixtral-F32, tiny-mixtral-Q4_K_M, Q4_K_M", "exported/tiny-mixtral-F32, tiny-mixtral-Q8_0, Q8_0"})
    void kQuantConversionGivesLlamaQuantizesFile(String source, String quantized, String type) throws IOException {
        Path src = source.startsWith("exported/") ? folder(source.substring("exported/".length())) : SharedData.root().resolve(source);
        Path out = dir.resolve(quantized + ".gguf");
        GgufConverter.convert(src, out, Quantization.parse(type, Quantization.CONVERT).orElseThrow(), null);
        assertSameTensors(SharedData.model(quantized + ".gguf"), out);
    }

    /** Quantizing a folder to a mixture while loading gives the mixture file's logits, bit for bit, on both paths. */
    @ParameterizedTest
    @CsvSource({"hf-models/tiny-llama-F32, tiny-llama-Q4_K_M, Q4_K_M", "hf-models/tiny-gemma-F32, tiny-gemma-Q6_K, Q6_K",
            "exported/tiny-mixtral-F32, tiny-mixtral-Q4_K_M, Q4_K_M"})
    void kQuantizingWhileLoadingGivesTheQuantizedFilesLogits(String source, String quantized, String type) throws IOException {
        Path src = source.startsWith("exported/") ? folder(source.substring("exported/".length())) : SharedData.root().resolve(source);
        Quantization q = Quantization.parse(type, Quantization.LOAD_TIME).orElseThrow();
        int[] prompt = {1, 403, 407, 261, 378, 300, 301};
        for (Precision precision : Precision.values()) {
            try (LoadedModel a = ModelLoader.load(src, pool, precision, q, null);
                 LoadedModel b = ModelLoader.load(SharedData.model(quantized + ".gguf"), pool, precision)) {
                float[][] x = ReferenceParityTest.teacherForced(a.model(), prompt, new int[] {5});
                float[][] y = ReferenceParityTest.teacherForced(b.model(), prompt, new int[] {5});
                for (int r = 0; r < x.length; r++) {
                    // the GGUF's llama rope pairs are adjacent rows, the folder's halves: same values, other summation order
                    if (source.contains("gemma")) {
                        assertArrayEquals(y[r], x[r], source + " → " + type + " " + precision + " row " + r);
                    } else {
                        for (int i = 0; i < y[r].length; i++) {
                            assertEquals(y[r][i], x[r][i], 2e-4, source + " → " + type + " " + precision + " row " + r + " logit " + i);
                        }
                    }
                }
            }
        }
    }

    /** stories260K's rows are 64 values: no k-quant block fits, and the tensor and row length are named. */
    @Test
    void kQuantsRefuseRowsThatAreNotBlocksOf256() throws IOException {
        Path stories = dir.resolve("stories");
        HfExport.export(SharedData.model("stories260K.gguf"), stories, HuggingFaceModelTest.folder("tiny-llama-F32"), false);
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> GgufConverter.convert(stories, dir.resolve("s.gguf"), Quantization.Q4_K_M, null));
        assertTrue(e.getMessage().contains("tensor 'model.embed_tokens.weight' (token_embd.weight) has rows of 64 values, not a multiple "
                + "of 256, so it cannot be converted to Q4_K"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("s.gguf")), "nothing written");
        ModelFormatException l = assertThrows(ModelFormatException.class,
                () -> ModelLoader.load(stories, pool, Precision.FAST, Quantization.pure(GgmlType.Q6_K), null).close());
        assertTrue(l.getMessage().contains("has rows of 64 values, not a multiple of 256, so it cannot be quantized to Q6_K"), l.getMessage());
    }

    /** config.json keys Rewind cannot honour in these families are refused by name. */
    @Test
    void familyKeysAreCheckedByName() throws IOException {
        Path gemma3 = copyWithConfig("tiny-gemma3-F32", "[ \"sliding_attention\"", "[ \"full_attention\"");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(gemma3, pool, Precision.EXACT).close());
        assertTrue(e.getMessage().contains("config.json: layer_types: is not a repeating pattern"), e.getMessage());
        Path qwen3 = copyWithConfig("tiny-qwen3-F32", "\"use_sliding_window\" : false", "\"use_sliding_window\" : true");
        e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(qwen3, pool, Precision.EXACT).close());
        assertTrue(e.getMessage().contains("config.json: use_sliding_window: is true"), e.getMessage());
        Path gemma2 = copyWithConfig("tiny-gemma2-F32", "\"query_pre_attn_scalar\" : 64", "\"query_pre_attn_scalar\" : 256");
        e = assertThrows(ModelFormatException.class, () -> GgufConverter.convert(gemma2, dir.resolve("g.gguf"), (GgmlType) null, null));
        assertTrue(e.getMessage().contains("query_pre_attn_scalar gives the query scale 0.0625, but a GGUF file cannot say so"), e.getMessage());
        Path mixtral = copyWithConfig("tiny-mixtral-F32", "\"num_local_experts\" : 4", "\"num_local_experts\" : 3");
        e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(mixtral, pool, Precision.EXACT).close());
        assertTrue(e.getMessage().contains("tensor 'model.layers.0.block_sparse_moe.experts.3.w1.weight' is expert 3 but config.json's "
                + "num_local_experts is 3"), e.getMessage());
    }

    private Path copyWithConfig(String name, String from, String to) throws IOException {
        Path src = folder(name);
        Path d = Files.createDirectories(dir.resolve(name + System.nanoTime()));
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.createSymbolicLink(d.resolve(f), src.resolve(f).toAbsolutePath());
        }
        String config = Files.readString(src.resolve("config.json"));
        assertTrue(config.contains(from), from + " in " + config);
        Files.writeString(d.resolve("config.json"), config.replace(from, to));
        return d;
    }
}
