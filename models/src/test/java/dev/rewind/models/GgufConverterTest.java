package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rewind convert}: the GGUF written from each Hugging Face folder holds the original GGUF's tensors, byte for byte. */
class GgufConverterTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"tiny-llama-F32, tiny-llama-F32", "tiny-llama-F32-sharded, tiny-llama-F32", "tiny-llama-BF16, tiny-llama-BF16",
            "tiny-llama-F16, tiny-llama-F16", "tiny-llama3rope-F32, tiny-llama3rope-F32", "tiny-qwen2-F32, tiny-qwen2-F32",
            "tiny-gemma-F32, tiny-gemma-F32", "tiny-phi3-F32, tiny-phi3-F32"})
    void convertedTensorsAreTheOriginalGgufsBytes(String folder, String gguf) throws IOException {
        Path out = dir.resolve(folder + ".gguf");
        long[] last = {0};
        GgufConverter.convert(HuggingFaceModelTest.folder(folder), out, null, (name, bytes) -> last[0] = bytes);
        assertTrue(last[0] > 0, "progress reported");
        try (GgufFile ours = GgufFile.open(out); GgufFile original = GgufFile.open(SharedData.model(gguf + ".gguf"))) {
            assertEquals(original.tensors().size(), ours.tensors().size(), "tensor count");
            for (GgufTensorInfo t : original.tensors()) {
                GgufTensorInfo u = ours.tensor(t.name()).orElseThrow(() -> new AssertionError("missing " + t.name()));
                assertEquals(t.type(), u.type(), t.name());
                assertArrayEquals(t.shape(), u.shape(), t.name());
                assertEquals(-1, original.tensorData(t).mismatch(ours.tensorData(u)), t.name() + " bytes");
            }
            for (String key : List.of(".context_length", ".embedding_length", ".block_count", ".feed_forward_length",
                    ".attention.head_count", ".attention.head_count_kv")) {
                String k = original.metadata().string("general.architecture").orElseThrow() + key;
                assertEquals(original.metadata().integer(k), ours.metadata().integer(k), k);
            }
        }
        // the converted file runs: same prompt ids and the same logits as the original on the exact path
        try (WorkerPool pool = new WorkerPool(2);
             LoadedModel a = ModelLoader.load(out, pool, Precision.EXACT);
             LoadedModel b = ModelLoader.load(SharedData.model(gguf + ".gguf"), pool, Precision.EXACT)) {
            for (String text : List.of("Once upon a time", "Hello, world! 123 + 456 = 579; let's count: one, two, three...",
                    "Café naïve 日本語 — emoji 🙂 and\ttabs\nnew line")) {
                assertArrayEquals(b.tokenizer().encode(text, true, true), a.tokenizer().encode(text, true, true), text);
            }
            int[] prompt = b.tokenizer().encode("Once upon a time", true, true);
            float[][] x = ReferenceParityTest.teacherForced(a.model(), prompt, new int[] {5, 6});
            float[][] y = ReferenceParityTest.teacherForced(b.model(), prompt, new int[] {5, 6});
            for (int r = 0; r < x.length; r++) {
                assertArrayEquals(y[r], x[r], "row " + r);
            }
            Tokenizer t = a.tokenizer();
            assertEquals("Once upon a time", t.decode(t.encode("Once upon a time", false, false)));
        }
    }

    /** llama-quantize --pure made tiny-llama-Q8_0/Q4_0 from the F32 file; converting with --type gives the same blocks. */
    @ParameterizedTest
    @CsvSource({"Q8_0", "Q4_0"})
    void typedConversionGivesLlamaQuantizesBlocks(String type) throws IOException {
        Path out = dir.resolve("q.gguf");
        GgufConverter.convert(HuggingFaceModelTest.folder("tiny-llama-F32"), out, GgmlType.valueOf(type), null);
        try (GgufFile ours = GgufFile.open(out); GgufFile original = GgufFile.open(SharedData.model("tiny-llama-" + type + ".gguf"))) {
            for (GgufTensorInfo t : original.tensors()) {
                GgufTensorInfo u = ours.tensor(t.name()).orElseThrow();
                assertEquals(t.type(), u.type(), t.name());
                assertEquals(-1, original.tensorData(t).mismatch(ours.tensorData(u)), t.name() + " bytes " + Arrays.toString(t.shape()));
            }
        }
    }

    @Test
    void unsupportedTargetTypeIsRefused() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> GgufConverter.convert(HuggingFaceModelTest.folder("tiny-llama-F32"), dir.resolve("x.gguf"), GgmlType.Q6_K, null));
        assertTrue(e.getMessage().contains("cannot convert to Q6_K (supported: F32, F16, BF16, Q8_0, Q4_0)"), e.getMessage());
    }

    @Test
    void rowPermutationIsLlamaCppsPermute() {
        // head of 8 rows: GGUF rows 0..7 hold HF rows 0,4,1,5,2,6,3,7 (pairs (i, i + 4) made adjacent)
        int[] expected = {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};
        for (int r = 0; r < expected.length; r++) {
            assertEquals(expected[r], GgufConverter.hfRow(r, 8), "row " + r);
        }
    }
}
