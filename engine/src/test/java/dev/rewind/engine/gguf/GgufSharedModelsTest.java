package dev.rewind.engine.gguf;

import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The real GGUF files in the shared models folder (see its README) read as documented. */
class GgufSharedModelsTest {

    @TempDir
    Path dir;

    @Test
    void stories260KHasTheMetadataTheReadmeDescribes() throws IOException {
        Path file = SharedModels.file("stories260K.gguf");
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufMetadata m = gguf.metadata();
            assertEquals(3, gguf.version());
            assertEquals(1185376, gguf.fileSize());
            assertEquals(32, gguf.alignment(), "no general.alignment key: the default");
            assertEquals("llama", m.string("general.architecture").orElseThrow());
            assertEquals("llama", m.string("tokenizer.ggml.model").orElseThrow());
            assertEquals(new GgufValue.Int(GgufValueType.UINT32, 128), m.get("llama.context_length").orElseThrow());
            assertEquals(new GgufValue.Int(GgufValueType.UINT32, 4294967295L), m.get("tokenizer.ggml.seperator_token_id").orElseThrow());
            assertEquals(new GgufValue.Int(GgufValueType.UINT32, 4294967295L), m.get("tokenizer.ggml.padding_token_id").orElseThrow());
            assertEquals(64, m.integer("llama.embedding_length").orElseThrow());
            assertEquals(5, m.integer("llama.block_count").orElseThrow());
            assertEquals(8, m.integer("llama.attention.head_count").orElseThrow());
            assertEquals(4, m.integer("llama.attention.head_count_kv").orElseThrow());
            assertEquals(8, m.integer("llama.rope.dimension_count").orElseThrow());
            assertEquals(172, m.integer("llama.feed_forward_length").orElseThrow());
            assertEquals(new GgufValue.Real(GgufValueType.FLOAT32, 1e-5f), m.get("llama.attention.layer_norm_rms_epsilon").orElseThrow());
            assertEquals(1, m.integer("tokenizer.ggml.bos_token_id").orElseThrow());
            assertEquals(2, m.integer("tokenizer.ggml.eos_token_id").orElseThrow());
            for (String absent : List.of("llama.rope.freq_base", "general.file_type", "llama.vocab_size", "tokenizer.ggml.add_bos_token")) {
                assertFalse(m.contains(absent), absent + " should be absent");
            }

            List<String> tokens = m.strings("tokenizer.ggml.tokens").orElseThrow();
            float[] scores = m.floats("tokenizer.ggml.scores").orElseThrow();
            int[] types = m.ints("tokenizer.ggml.token_type").orElseThrow();
            assertEquals(512, tokens.size());
            assertEquals(512, scores.length);
            assertEquals(512, types.length);
            assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
            assertEquals("<0xFF>", tokens.get(258));
            assertEquals(2, types[0], "UNKNOWN");
            assertEquals(3, types[1], "CONTROL");
            assertEquals(3, types[2], "CONTROL");
            for (int id = 3; id <= 258; id++) {
                assertEquals(String.format("<0x%02X>", id - 3), tokens.get(id));
                assertEquals(6, types[id], "BYTE token " + id);
            }
            for (int id = 0; id < 512; id++) {
                assertEquals(id < 259 ? 0f : -(id - 259), scores[id], 0f, "score of " + id); // id 259 holds -0.0
            }
        }
    }

    @Test
    void stories260KHasTheTensorsOfItsArchitecture() throws IOException {
        Map<String, long[]> expected = new LinkedHashMap<>();
        expected.put("token_embd.weight", new long[] {64, 512});
        expected.put("output_norm.weight", new long[] {64});
        expected.put("output.weight", new long[] {64, 512});
        for (int layer = 0; layer < 5; layer++) {
            String p = "blk." + layer + ".";
            expected.put(p + "attn_q.weight", new long[] {64, 64});
            expected.put(p + "attn_k.weight", new long[] {64, 32});
            expected.put(p + "attn_v.weight", new long[] {64, 32});
            expected.put(p + "attn_output.weight", new long[] {64, 64});
            expected.put(p + "attn_norm.weight", new long[] {64});
            expected.put(p + "ffn_gate.weight", new long[] {64, 172});
            expected.put(p + "ffn_down.weight", new long[] {172, 64});
            expected.put(p + "ffn_up.weight", new long[] {64, 172});
            expected.put(p + "ffn_norm.weight", new long[] {64});
        }
        try (GgufFile gguf = GgufFile.open(SharedModels.file("stories260K.gguf"))) {
            assertEquals(expected.keySet(), gguf.tensors().stream().map(GgufTensorInfo::name).collect(java.util.stream.Collectors.toSet()));
            assertEquals(48, gguf.tensors().size());
            for (GgufTensorInfo t : gguf.tensors()) {
                assertArrayEquals(expected.get(t.name()), t.shape(), t.name());
                assertEquals(GgmlType.F32, t.type(), t.name());
                assertEquals(t.elementCount() * 4, t.byteSize(), t.name());
            }
            // RMS-norm weights of a trained model: finite and not all zero.
            float[] norm = gguf.tensorData(gguf.tensor("output_norm.weight").orElseThrow()).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            assertTrue(Arrays.stream(toDoubles(norm)).allMatch(Double::isFinite) && Arrays.stream(toDoubles(norm)).anyMatch(x -> x != 0));
        }
    }

    static List<Path> ggufFiles() throws IOException {
        return SharedModels.ggufFiles();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ggufFiles")
    void everySharedFileOpensWithItsTensorsInsideTheFile(Path file) throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            assertAll(
                    () -> assertTrue(gguf.version() == 2 || gguf.version() == 3),
                    () -> assertTrue(gguf.metadata().contains("general.architecture"), "general.architecture"),
                    () -> assertTrue(gguf.metadata().strings("tokenizer.ggml.tokens").orElseThrow().size() > 0, "a vocabulary"),
                    () -> assertEquals(0, gguf.dataOffset() % gguf.alignment()));
            long previousEnd = gguf.dataOffset();
            for (GgufTensorInfo t : gguf.tensors()) {
                assertEquals(0, t.fileOffset() % gguf.alignment(), t.name());
                assertTrue(t.fileOffset() >= previousEnd, t.name() + " overlaps the tensor before it");
                assertTrue(t.fileOffset() + t.byteSize() <= gguf.fileSize(), t.name());
                assertEquals(t.byteSize(), gguf.tensorData(t).byteSize());
                previousEnd = t.fileOffset() + t.byteSize();
            }
        }
    }

    /**
     * Copying a file's metadata and tensors through {@link GgufWriter} gives back the same bytes, so
     * the writer lays files out as llama.cpp's tools do. (Some vocab-only files stop right after the
     * header; the writer always pads the header to the alignment, as ggml does.)
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ggufFiles")
    void rewritingASharedFileWithTheWriterGivesTheSameBytes(Path file) throws IOException {
        Path copy = dir.resolve("copy.gguf");
        long headerEnd;
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufWriter w = GgufWriter.create();
            gguf.metadata().asMap().forEach(w::metadata);
            for (GgufTensorInfo t : gguf.tensors()) {
                w.tensor(t.name(), t.type(), t.shape(), gguf.tensorData(t));
            }
            w.write(copy);
            headerEnd = GgufLayout.of(Files.readAllBytes(copy)).headerEnd();
        }
        byte[] original = Files.readAllBytes(file);
        byte[] rewritten = Files.readAllBytes(copy);
        if (original.length == headerEnd && rewritten.length > original.length) {
            assertEquals(GgufTestBytes.alignUp(headerEnd, 32), rewritten.length, "header padded to the alignment");
            assertTrue(Arrays.stream(toInts(Arrays.copyOfRange(rewritten, original.length, rewritten.length))).allMatch(b -> b == 0));
            rewritten = Arrays.copyOf(rewritten, original.length);
        }
        int mismatch = Arrays.mismatch(original, rewritten);
        if (mismatch >= 0) {
            fail(file.getFileName() + " and its rewrite differ first at byte " + mismatch + " (sizes " + original.length + " and " + rewritten.length + ")");
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static int[] toInts(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i];
        }
        return out;
    }

    @Test
    void theFolderListingCoversModelsAndTokenizers() throws IOException {
        List<String> names = new ArrayList<>();
        for (Path p : SharedModels.ggufFiles()) {
            names.add(SharedModels.dir().relativize(p).toString());
        }
        assertTrue(names.contains("stories260K.gguf"), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("tokenizers")), names.toString());
    }
}
