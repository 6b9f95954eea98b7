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
        GgufConverter.convert(HuggingFaceModelTest.folder(folder), out, (GgmlType) null, (name, bytes) -> last[0] = bytes);
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
                () -> GgufConverter.convert(HuggingFaceModelTest.folder("tiny-llama-F32"), dir.resolve("x.gguf"), GgmlType.Q2_K, null));
        assertTrue(e.getMessage().contains("cannot convert to Q2_K (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M, Q5_K_M)"),
                e.getMessage());
    }

    /**
     * Byte-level BPE tokenizers (Llama 3, Qwen 3, DeepSeek V3) become llama.cpp's gpt2 metadata: a tiny
     * random model of each vocabulary's size, exported with that tokenizer.json, converts to a GGUF whose
     * tokenizer gives the folder's ids for every record of encode.jsonl (with and without special
     * tokens) and the recorded ids.
     */
    @ParameterizedTest
    @CsvSource({"llama3, 128256, llama-bpe", "qwen3, 151936, qwen2", "deepseek_v3, 129280, deepseek-v3"})
    void byteLevelTokenizersConvertToGpt2Metadata(String name, int vocab, String pre) throws IOException {
        Path hf = SharedData.root().resolve("hf").resolve(name);
        Path gguf = dir.resolve("synth.gguf");
        try (WorkerPool pool = new WorkerPool(2)) {
            SyntheticModel.write(gguf, new SyntheticModel.Shape("tok", 64, 1, 2, 1, 64, vocab, 128, 10000.0, 1e-5f, true),
                    GgmlType.F16, 7, pool, b -> { });
        }
        Path folder = dir.resolve(name);
        HfExport.export(gguf, folder, hf, false);
        Path out = dir.resolve(name + ".gguf");
        GgufConverter.convert(folder, out, (GgmlType) null, null);
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals("gpt2", f.metadata().string("tokenizer.ggml.model").orElseThrow());
            assertEquals(pre, f.metadata().string("tokenizer.ggml.pre").orElseThrow());
            assertEquals(vocab, f.metadata().strings("tokenizer.ggml.tokens").orElseThrow().size());
            assertTrue(f.metadata().strings("tokenizer.ggml.merges").orElseThrow().size() > 100_000);
        }
        Tokenizer ours = ModelLoader.loadTokenizer(out);
        Tokenizer theirs = ModelLoader.loadTokenizer(folder);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        int checked = 0;
        int nfcOnly = 0;
        for (String line : java.nio.file.Files.readAllLines(hf.resolve("encode.jsonl"))) {
            var r = json.readTree(line);
            String text = r.get("text").asText();
            boolean special = r.get("add_special_tokens").asBoolean();
            int[] expected = new int[r.get("ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = r.get("ids").get(i).asInt();
            }
            // GGUF has no normalizer: Qwen's NFC is dropped, as llama.cpp's converter drops it, so the
            // file's ids are those of the NFC form (what llama.cpp computes too); other texts are unchanged
            String nfc = java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC);
            String given = name.equals("qwen3") ? nfc : text;
            if (!given.equals(text)) {
                nfcOnly++;
            }
            int[] folderIds = theirs.encode(text, special, true);
            assertArrayEquals(folderIds, ours.encode(given, special, true), name + " " + special + " " + text);
            assertArrayEquals(expected, ours.encode(given, special, true), name + " recorded " + special + " " + text);
            checked++;
        }
        assertEquals(174, checked);
        assertTrue(nfcOnly < 10, nfcOnly + " texts needed NFC first");
        try (WorkerPool pool = new WorkerPool(2); LoadedModel m = ModelLoader.load(out, pool, Precision.EXACT)) {
            assertEquals(vocab, m.model().config().vocabularySize());
            assertEquals(theirs.vocabularySize() <= vocab, true);
        }
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
