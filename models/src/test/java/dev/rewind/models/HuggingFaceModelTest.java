package dev.rewind.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face folders as models: the tokenizer's ids, bit-identical logits where the layout equals
 * the GGUF twin's, the hyper-parameters config.json gives, and the one-line refusals of folders
 * Rewind cannot run. (Parity with the references: {@link ReferenceParityTest}.)
 */
class HuggingFaceModelTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static WorkerPool pool;

    @TempDir
    Path dir;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    static Path folder(String name) {
        Path p = SharedData.root().resolve("hf-models").resolve(name);
        assertTrue(Files.isDirectory(p), "missing " + p);
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama-F32", "tiny-llama-F32-sharded", "tiny-llama-BF16", "tiny-llama-F16",
            "tiny-llama3rope-F32", "tiny-qwen2-F32", "tiny-gemma-F32", "tiny-phi3-F32"})
    void tokenizerGivesTheIdsOfRefTokenize(String name) throws IOException {
        JsonNode prompts = JSON.readTree(SharedData.models().resolve("ref/prompts.json").toFile());
        JsonNode expected = JSON.readTree(SharedData.models().resolve("ref/tokenize/tok512.json").toFile()).get("ids");
        Tokenizer tokenizer = ModelLoader.loadTokenizer(folder(name));
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); checked++) {
            Map.Entry<String, JsonNode> e = it.next();
            String text = prompts.isArray() ? promptById(prompts, e.getKey()) : prompts.get(e.getKey()).asText();
            int[] ids = new int[e.getValue().size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = e.getValue().get(i).asInt();
            }
            assertArrayEquals(ids, tokenizer.encode(text, true, true), name + " " + e.getKey());
        }
        assertEquals(4, checked);
    }

    private static String promptById(JsonNode prompts, String id) {
        for (JsonNode p : prompts) {
            if (p.get("id").asText().equals(id)) {
                return p.get("text").asText();
            }
        }
        throw new AssertionError("no prompt " + id);
    }

    /** Qwen2, Gemma and Phi-3 keep llama.cpp's layout (Gemma's 1 + w is exact here): the logits are the same bits. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-qwen2-F32", "tiny-gemma-F32", "tiny-phi3-F32"})
    void sameLayoutGivesTheGgufTwinsBits(String name) throws IOException {
        int[] prompt = {1, 403, 407, 261, 378, 300, 301};
        for (Precision precision : Precision.values()) {
            try (LoadedModel hf = ModelLoader.load(folder(name), pool, precision);
                 LoadedModel gguf = ModelLoader.load(SharedData.model(name + ".gguf"), pool, precision)) {
                assertEquals(gguf.model().config().toString().replace("HALVES", "X"),
                        hf.model().config().toString().replace("HALVES", "X"), "config");
                float[][] a = ReferenceParityTest.teacherForced(hf.model(), prompt, new int[] {5});
                float[][] b = ReferenceParityTest.teacherForced(gguf.model(), prompt, new int[] {5});
                for (int r = 0; r < a.length; r++) {
                    assertArrayEquals(b[r], a[r], name + " " + precision + " row " + r);
                }
            }
        }
    }

    /**
     * llama-quantize --pure made the Q8_0/Q4_0 files from the F32 ones; quantizing the F32 weights while
     * loading (a Hugging Face folder or the F32 GGUF) gives the same blocks, hence the same logits' bits.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"hf-models/tiny-qwen2-F32, tiny-qwen2-Q8_0", "hf-models/tiny-qwen2-F32, tiny-qwen2-Q4_0",
            "hf-models/tiny-phi3-F32, tiny-phi3-Q4_0", "models/tiny-llama-F32.gguf, tiny-llama-Q8_0"})
    void quantizingWhileLoadingGivesLlamaQuantizesModel(String source, String quantized) throws IOException {
        dev.rewind.engine.tensor.GgmlType type = dev.rewind.engine.tensor.GgmlType.valueOf(quantized.substring(quantized.lastIndexOf('-') + 1));
        int[] prompt = {1, 403, 407, 261, 378, 300, 301};
        for (Precision precision : Precision.values()) {
            long[] reported = {0};
            try (LoadedModel a = ModelLoader.load(SharedData.root().resolve(source), pool, precision, type, (name, bytes) -> reported[0] = bytes);
                 LoadedModel b = ModelLoader.load(SharedData.model(quantized + ".gguf"), pool, precision)) {
                assertTrue(reported[0] > 1_000_000, "progress: " + reported[0]);
                float[][] x = ReferenceParityTest.teacherForced(a.model(), prompt, new int[] {5});
                float[][] y = ReferenceParityTest.teacherForced(b.model(), prompt, new int[] {5});
                for (int r = 0; r < x.length; r++) {
                    assertArrayEquals(y[r], x[r], source + " → " + type + " " + precision + " row " + r);
                }
            }
        }
    }

    @Test
    void configGivesEveryHyperParameter() throws IOException {
        TransformerConfig gemma = HfConfig.read(folder("tiny-gemma-F32")).config();
        assertEquals(new TransformerConfig("gemma", 256, 2, 4, 1, 64, 512, 512, 512, 1e-6f, gemma.rope()), gemma);
        assertEquals(64, gemma.rope().dimensions());
        HfConfig llama = HfConfig.read(folder("tiny-llama-F32"));
        assertEquals("LlamaForCausalLM", llama.className());
        assertEquals(false, llama.tied());
        assertEquals(Rope.Style.HALVES, llama.config().rope().style(), "Hugging Face llama rotates halves");
        assertEquals(1e-5f, llama.config().rmsEps());
        HfConfig phi3 = HfConfig.read(folder("tiny-phi3-F32"));
        assertEquals(512, phi3.config().contextLength(), "min(max_position_embeddings, sliding_window)");
        assertEquals(1e6, HfConfig.read(folder("tiny-qwen2-F32")).config().rope().base());
    }

    /** config.json's rope_scaling gives the 16 factors of the GGUF twin's rope_freqs.weight, bit for bit. */
    @Test
    void llama3RopeScalingGivesTheGgufsRopeFreqs() throws IOException {
        HfConfig hf = HfConfig.read(folder("tiny-llama3rope-F32"));
        assertEquals("llama3", hf.ropeScaling());
        assertEquals(500000.0, hf.config().rope().base());
        float[] ours = hf.config().rope().freqFactors();
        try (GgufFile gguf = GgufFile.open(SharedData.model("tiny-llama3rope-F32.gguf"))) {
            float[] theirs = gguf.tensorData(gguf.tensor("rope_freqs.weight").orElseThrow())
                    .toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
            assertEquals(16, theirs.length);
            for (int i = 0; i < 16; i++) {
                assertEquals(Float.floatToRawIntBits(theirs[i]), Float.floatToRawIntBits(ours[i]), "factor " + i + ": " + theirs[i] + " vs " + ours[i]);
            }
        }
    }

    // ---- refusals ----

    /** A copy of tiny-llama-F32 whose config.json has {@code edit} applied to its text. */
    private Path llamaWithConfig(String from, String to) throws IOException {
        Path src = folder("tiny-llama-F32");
        Path d = Files.createDirectories(dir.resolve("m" + System.nanoTime()));
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.createSymbolicLink(d.resolve(f), src.resolve(f).toAbsolutePath());
        }
        String config = Files.readString(src.resolve("config.json"));
        assertTrue(config.contains(from), from);
        Files.writeString(d.resolve("config.json"), config.replace(from, to));
        return d;
    }

    private static String refused(Path folder) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(folder, pool, Precision.EXACT).close());
        assertTrue(!e.getMessage().contains("\n") && e.getMessage().startsWith(folder.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void unsupportedConfigsAreRefusedByKey() throws IOException {
        assertTrue(refused(llamaWithConfig("\"LlamaForCausalLM\"", "\"Qwen3MoeForCausalLM\"")).contains(
                "config.json: architectures[0]: 'Qwen3MoeForCausalLM' is not supported (supported: LlamaForCausalLM, MistralForCausalLM"));
        assertTrue(refused(llamaWithConfig("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}"))
                .contains("config.json: rope_scaling: rope type 'yarn' is not supported (supported: linear, llama3)"));
        assertTrue(refused(llamaWithConfig("\"attention_bias\": false", "\"attention_bias\": true"))
                .contains("config.json: attention_bias: is true"));
        assertTrue(refused(llamaWithConfig("\"hidden_act\": \"silu\"", "\"hidden_act\": \"relu\""))
                .contains("config.json: hidden_act: activation 'relu' is not supported for llama (supported: silu)"));
        assertTrue(refused(llamaWithConfig("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1"))
                .contains("tensor 'model.layers.1.input_layernorm.weight' is not part of a LlamaForCausalLM model with 1 layers"));
        assertTrue(refused(llamaWithConfig("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"))
                .contains("tensor 'model.layers.2.input_layernorm.weight' (blk.2.attn_norm.weight) is missing"));
        assertTrue(refused(llamaWithConfig("\"intermediate_size\": 512", "\"intermediate_size\": 500"))
                .contains("tensor 'model.layers.0.mlp.gate_proj.weight' (blk.0.ffn_gate.weight) has shape [256, 512]"));
        assertTrue(refused(llamaWithConfig("\"hidden_size\": 256,", "")).contains("config.json: hidden_size: missing"));
        assertTrue(refused(llamaWithConfig("{", "{,")).contains("config.json: not valid JSON at line 1"));
    }

    /** Found by the safetensors fuzz target: hyper-parameters the forward pass divides by or exponentiates were not checked. */
    @Test
    void epsilonAndRopeBaseMustBeFinitePositiveFloats() throws IOException {
        for (String eps : List.of("-1", "0", "1e-60", "1e300", "0.0")) {
            assertTrue(refused(llamaWithConfig("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": " + eps))
                    .contains("config.json: rms_norm_eps: must be a finite positive number (as a float32)"), eps);
        }
        for (String theta : List.of("-10000.0", "0", "1e39")) {
            assertTrue(refused(llamaWithConfig("\"rope_theta\": 10000.0", "\"rope_theta\": " + theta))
                    .contains("config.json: rope_theta: must be a finite positive number (as a float32)"), theta);
        }
    }

    /** Found by the safetensors fuzz target: a non-UTF-8 config.json was refused with only "Input length = 1". */
    @Test
    void aConfigThatIsNotUtf8IsRefusedNamingTheByteOffset() throws IOException {
        Path d = llamaWithConfig("\"llama\"", "\"llama\"");
        byte[] bytes = Files.readAllBytes(d.resolve("config.json"));
        int at = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("llama\"");
        bytes[at + 2] = (byte) 0xff;
        Files.write(d.resolve("config.json"), bytes);
        assertTrue(refused(d).contains("config.json: not valid UTF-8 (byte 0xff at byte offset " + (at + 2) + ")"), refused(d));
    }

    @Test
    void anOversizedConfigIsRefusedBeforeItIsRead() throws IOException {
        Path d = llamaWithConfig("\"llama\"", "\"llama\"");
        try (var ch = java.nio.channels.FileChannel.open(d.resolve("config.json"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[]{' '}), HfConfig.MAX_FILE_BYTES + 10); // sparse: no disk, no memory
        }
        assertTrue(refused(d).contains("config.json: " + (HfConfig.MAX_FILE_BYTES + 11) + " bytes, more than the"), refused(d));
    }

    /** A one-tensor safetensors file. */
    private static byte[] safetensors(String name, String dtype, long[] shape, int elementBytes) {
        long n = 1;
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            n *= d;
            dims.append(dims.isEmpty() ? "" : ",").append(d);
        }
        String header = "{\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + dims + "],\"data_offsets\":[0," + n * elementBytes + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(new byte[(int) (n * elementBytes)]);
        return out.toByteArray();
    }

    @Test
    void integerWeightsAreRefusedNamingTensorAndOffset() throws IOException {
        Path d = llamaWithConfig("\"vocab_size\": 512", "\"vocab_size\": 512");
        Files.delete(d.resolve("model.safetensors"));
        byte[] file = safetensors("model.embed_tokens.weight", "I32", new long[] {512, 256}, 4);
        Files.write(d.resolve("model.safetensors"), file);
        String m = refused(d);
        assertTrue(m.contains("model.safetensors: tensor 'model.embed_tokens.weight' has dtype I32 (at byte offset "
                + (file.length - 512 * 256 * 4) + "); Rewind computes with F32, F16 and BF16 weights only"), m);
    }

    @Test
    void aFolderWithoutWeightsSaysWhatIsMissing() throws IOException {
        Path d = llamaWithConfig("\"vocab_size\": 512", "\"vocab_size\": 512");
        Files.delete(d.resolve("model.safetensors"));
        IOException e = assertThrows(IOException.class, () -> ModelLoader.load(d, pool, Precision.EXACT).close());
        assertTrue(e.getMessage().contains("neither model.safetensors nor model.safetensors.index.json"), e.getMessage());
        Path noConfig = Files.createDirectories(dir.resolve("empty"));
        assertTrue(refused(noConfig).contains("is a directory without config.json"));
    }
}
