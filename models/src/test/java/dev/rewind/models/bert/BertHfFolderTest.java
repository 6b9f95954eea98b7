package dev.rewind.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face folders of a BERT encoder: the bundled MiniLM written as sentence-transformers saves it (by the
 * test-side {@link BertHfExport}) embeds as the ONNX-loaded original, in every variant of the layout; its
 * pooling modules change the vector as they say; and what Rewind does not run is refused at load in one line
 * naming the file and the key or tensor.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BertHfFolderTest {

    /** How close an F16 / BF16 folder's vectors are to the F32 original: per dimension, and as a cosine. */
    static final double F16_MAX_DIFF = 5e-4;
    static final double F16_MIN_COSINE = 0.99999;
    static final double BF16_MAX_DIFF = 5e-3;
    static final double BF16_MIN_COSINE = 0.9999;

    private Path tmp;

    private Path f32;
    private BertEmbedder onnx;
    private List<String> texts;

    @BeforeAll
    void setUp(@TempDir Path dir) throws IOException {
        tmp = dir;
        f32 = tmp.resolve("all-MiniLM-L6-v2");
        BertHfExport.writeMiniLm(f32, BertHfExport.Options.miniLm());
        onnx = BertEmbedder.miniLm(2);
        JsonNode reference;
        try (InputStream in = getClass().getResourceAsStream("minilm-reference.json")) {
            reference = new ObjectMapper().readTree(in);
        }
        texts = new ArrayList<>();
        reference.get("sentences").forEach(s -> texts.add(s.get("text").asText()));
    }

    @AfterAll
    void tearDown() {
        if (onnx != null) {
            onnx.close();
        }
    }

    @Test
    void anF32FolderEmbedsBitForBitAsTheOnnxOriginal() throws IOException {
        try (BertEmbedder hf = BertEmbedder.open(f32, 2)) {
            assertEquals(onnx.config(), hf.config());
            assertEquals(256, hf.maxTokens(), "sentence_bert_config.json's max_seq_length");
            assertEquals(BertPooling.MEAN_NORMALIZED, hf.pooling());
            assertEquals("all-MiniLM-L6-v2", hf.name());
            assertSameVectors(onnx.embed(texts), hf.embed(texts));
        }
    }

    @Test
    void theBertPrefixShardsAndGammaBetaNamesLoadTheSame() throws IOException {
        Embedder.Embeddings want = onnx.embed(texts);
        for (BertHfExport.Options o : List.of(BertHfExport.Options.miniLm().withBertPrefix(),
                BertHfExport.Options.miniLm().shards(3), BertHfExport.Options.miniLm().withBertPrefix().shards(2).withOldNormNames())) {
            Path dir = Files.createTempDirectory(tmp, "variant");
            BertHfExport.writeMiniLm(dir, o);
            try (BertEmbedder hf = BertEmbedder.open(dir, 2)) {
                assertSameVectors(want, hf.embed(texts));
            }
        }
    }

    @Test
    void f16AndBf16FoldersAreWithinTheirTolerance() throws IOException {
        Embedder.Embeddings want = onnx.embed(texts);
        for (BertHfExport.Dtype type : List.of(BertHfExport.Dtype.F16, BertHfExport.Dtype.BF16)) {
            Path dir = tmp.resolve(type.name());
            BertHfExport.writeMiniLm(dir, BertHfExport.Options.miniLm().dtype(type));
            double worstDiff = 0;
            double worstCosine = 1;
            boolean anyDiffers = false;
            try (BertEmbedder hf = BertEmbedder.open(dir, 2)) {
                float[][] got = hf.embed(texts).vectors();
                for (int i = 0; i < texts.size(); i++) {
                    float[] a = want.vectors()[i];
                    float[] b = got[i];
                    for (int d = 0; d < a.length; d++) {
                        worstDiff = Math.max(worstDiff, Math.abs(a[d] - b[d]));
                    }
                    worstCosine = Math.min(worstCosine, dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b)));
                    anyDiffers |= !java.util.Arrays.equals(a, b);
                }
            }
            System.out.printf("MiniLM %s folder vs F32 over %d sentences: max |Δ| %.3g, min cosine %.7f%n", type,
                    texts.size(), worstDiff, worstCosine);
            boolean f16 = type == BertHfExport.Dtype.F16;
            assertTrue(anyDiffers, type + " weights are rounded, so the vectors move");
            assertTrue(worstDiff <= (f16 ? F16_MAX_DIFF : BF16_MAX_DIFF), type + ": max |Δ| " + worstDiff);
            assertTrue(worstCosine >= (f16 ? F16_MIN_COSINE : BF16_MIN_COSINE), type + ": min cosine " + worstCosine);
        }
    }

    @Test
    void clsPoolingIsTheFirstTokensStateScaledToUnitLength() throws IOException {
        Path dir = tmp.resolve("cls");
        BertHfExport.writeMiniLm(dir, BertHfExport.Options.miniLm().pooling("pooling_mode_cls_token", true));
        try (BertEmbedder hf = BertEmbedder.open(dir, 2)) {
            assertEquals(new BertPooling(BertPooling.Mode.CLS, true), hf.pooling());
            float[][] got = hf.embed(texts).vectors();
            float[][] mean = onnx.embed(texts).vectors();
            for (int i = 0; i < texts.size(); i++) {
                float[] first = hf.tokenStates(texts.get(i))[0];
                double norm = Math.sqrt(dotDouble(first, first));
                for (int d = 0; d < first.length; d++) {
                    assertEquals(first[d] / norm, got[i][d], 1e-7, texts.get(i) + " dimension " + d);
                }
                assertEquals(1.0, dot(got[i], got[i]), 1e-5);
                assertTrue(dot(got[i], mean[i]) < 0.999, "the [CLS] state is not the mean: " + dot(got[i], mean[i]));
            }
        }
    }

    @Test
    void withoutNormalizeTheVectorIsTheRawMeanOfTheTokenStates() throws IOException {
        Path dir = tmp.resolve("raw");
        BertHfExport.writeMiniLm(dir, BertHfExport.Options.miniLm().pooling("pooling_mode_mean_tokens", false));
        try (BertEmbedder hf = BertEmbedder.open(dir, 2)) {
            assertEquals(new BertPooling(BertPooling.Mode.MEAN, false), hf.pooling());
            float[][] got = hf.embed(texts).vectors();
            float[][] unit = onnx.embed(texts).vectors();
            for (int i = 0; i < texts.size(); i++) {
                float[][] states = hf.tokenStates(texts.get(i));
                assertEquals(onnx.tokenize(texts.get(i)).length, states.length);
                double[] mean = new double[states[0].length];
                for (float[] row : states) {
                    for (int d = 0; d < row.length; d++) {
                        mean[d] += row[d];
                    }
                }
                double norm = 0;
                for (int d = 0; d < mean.length; d++) {
                    mean[d] /= states.length;
                    norm += mean[d] * mean[d];
                    assertEquals(mean[d], got[i][d], 1e-6, texts.get(i) + " dimension " + d);
                }
                norm = Math.sqrt(norm);
                assertTrue(Math.abs(norm - 1) > 0.01, "a raw mean is not of unit length: " + norm);
                for (int d = 0; d < mean.length; d++) {
                    assertEquals(unit[i][d], got[i][d] / norm, 1e-6, "normalised, it is the published vector");
                }
            }
        }
    }

    @Test
    void anOnnxExportsFolderHonoursItsSentenceTransformersFilesAlike() throws IOException {
        Path hf = tmp.resolve("cls-raw");
        BertHfExport.writeMiniLm(hf, BertHfExport.Options.miniLm().pooling("pooling_mode_cls_token", false));
        Path onnxFolder = tmp.resolve("onnx-export");
        Files.createDirectories(onnxFolder.resolve("onnx"));
        Files.createDirectories(onnxFolder.resolve("1_Pooling"));
        for (String f : List.of("tokenizer.json", "modules.json", "1_Pooling/config.json")) {
            Files.copy(hf.resolve(f), onnxFolder.resolve(f));
        }
        Files.writeString(onnxFolder.resolve("sentence_bert_config.json"), "{\"max_seq_length\": 128}");
        try (InputStream in = BertEmbedder.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            Files.write(onnxFolder.resolve("onnx/model.onnx"), in.readAllBytes());
        }
        try (BertEmbedder fromHf = BertEmbedder.open(hf, 2); BertEmbedder fromOnnx = BertEmbedder.open(onnxFolder, 2)) {
            assertEquals(new BertPooling(BertPooling.Mode.CLS, false), fromOnnx.pooling());
            assertEquals(128, fromOnnx.maxTokens());
            assertSameVectors(fromHf.embed(texts), fromOnnx.embed(texts));
        }
    }

    @Test
    void aFolderWithoutSentenceTransformersFilesIsMeanPooledAndNormalised() throws IOException {
        Path dir = tmp.resolve("plain");
        BertHfExport.writeMiniLm(dir, BertHfExport.Options.miniLm().pooling(null, false));
        assertFalse(Files.exists(dir.resolve("modules.json")));
        try (BertEmbedder hf = BertEmbedder.open(dir, 2)) {
            assertEquals(BertPooling.MEAN_NORMALIZED, hf.pooling());
            assertEquals(512, hf.maxTokens(), "no max_seq_length: the position table");
            assertSameVectors(onnx.embed(texts), hf.embed(texts));
        }
    }

    @Test
    void theDecoderLoaderSendsABertFolderToTheEmbedder() throws IOException {
        try (dev.rewind.engine.parallel.WorkerPool pool = new dev.rewind.engine.parallel.WorkerPool(1)) {
            IOException e = assertThrows(IOException.class,
                    () -> dev.rewind.models.ModelLoader.load(f32, pool, dev.rewind.engine.tensor.Precision.FAST).close());
            assertTrue(e.getMessage().contains("config.json: model_type: 'bert' is a sentence encoder, which Rewind runs for embeddings"),
                    e.getMessage());
        }
    }

    @Test
    void configKeysRewindDoesNotRunAreRefusedByFileAndKey() throws IOException {
        refusedConfig("model_type", "roberta", "config.json: model_type: 'roberta' is not bert");
        refusedConfig("position_embedding_type", "relative_key", "config.json: position_embedding_type: 'relative_key' is not absolute");
        refusedConfig("hidden_act", "relu", "config.json: hidden_act: 'relu' is not gelu");
        refusedConfig("num_attention_heads", 7, "config.json: num_attention_heads: 7 does not divide hidden_size 384");
        refusedConfig("hidden_size", null, "config.json: hidden_size: missing");
        refusedConfig("max_position_embeddings", 500, "model.safetensors: tensor embeddings.position_embeddings.weight has shape"
                + " [512, 384], expected [500, 384] (from config.json)");
        refusedConfig("num_hidden_layers", 5, "model.safetensors: tensor encoder.layer.5.attention.self.query.weight is beyond the 5 layers");
    }

    @Test
    void aMissingOrMisshapenTensorIsNamedWithItsFile() throws IOException {
        Path missing = tmp.resolve("missing");
        BertHfExport.writeMiniLm(missing, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.F16).shards(2)
                .drop("encoder.layer.2.output.dense.bias"));
        refused(missing, missing.resolve("model.safetensors.index.json") + ": tensor encoder.layer.2.output.dense.bias is missing");
        Path shape = tmp.resolve("shape");
        BertHfExport.writeMiniLm(shape, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.F16)
                .shortRow("encoder.layer.0.intermediate.dense.weight"));
        refused(shape, shape.resolve("model.safetensors") + ": tensor encoder.layer.0.intermediate.dense.weight has shape"
                + " [1535, 384], expected [1536, 384]");
        Path norm = tmp.resolve("norm");
        BertHfExport.writeMiniLm(norm, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.F16)
                .shortRow("embeddings.LayerNorm.bias"));
        refused(norm, "tensor embeddings.LayerNorm.bias has shape [383], expected [384]");
    }

    @Test
    void aTokenizerThatIsNotWordPieceIsRefusedByFileAndKey() throws IOException {
        Path dir = linkedCopy("bpe");
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "normalizer": null, "pre_tokenizer": {"type": "ByteLevel"},
                 "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}
                """);
        refused(dir, dir.resolve("tokenizer.json") + ": model.type: expected a WordPiece model, found 'BPE'");
        Files.delete(dir.resolve("tokenizer.json"));
        refused(dir, dir.resolve("tokenizer.json") + ": missing");
    }

    @Test
    void poolingsAndModulesRewindDoesNotComputeAreRefusedByFileAndKey() throws IOException {
        Path max = linkedCopy("max");
        Files.writeString(max.resolve("1_Pooling/config.json"), """
                {"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false,
                 "pooling_mode_max_tokens": true}
                """);
        refused(max, max.resolve("1_Pooling/config.json") + ": pooling_mode_max_tokens: this pooling is not one Rewind computes");
        Path both = linkedCopy("both");
        Files.writeString(both.resolve("1_Pooling/config.json"), """
                {"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}
                """);
        refused(both, both.resolve("1_Pooling/config.json") + ": pooling_mode_");
        Path width = linkedCopy("width");
        Files.writeString(width.resolve("1_Pooling/config.json"), """
                {"word_embedding_dimension": 768, "pooling_mode_mean_tokens": true}
                """);
        refused(width, "word_embedding_dimension: is not the encoder's width 384");
        Path dense = linkedCopy("dense");
        Files.writeString(dense.resolve("modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
                """);
        refused(dense, dense.resolve("modules.json") + ": [2].type: module 'sentence_transformers.models.Dense' is not one Rewind runs");
    }

    /** A copy of the F32 folder whose safetensors is a link to the original's, so only its JSON files differ. */
    private Path linkedCopy(String name) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir.resolve("1_Pooling"));
        for (String f : List.of("config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json")) {
            Files.copy(f32.resolve(f), dir.resolve(f));
        }
        Files.createSymbolicLink(dir.resolve("model.safetensors"), f32.resolve("model.safetensors").toAbsolutePath());
        return dir;
    }

    private void refusedConfig(String key, Object value, String fragment) throws IOException {
        Path dir = linkedCopy("config-" + key);
        ObjectMapper json = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode config = (com.fasterxml.jackson.databind.node.ObjectNode)
                json.readTree(dir.resolve("config.json").toFile());
        switch (value) {
            case null -> config.remove(key);
            case String s -> config.put(key, s);
            case Integer i -> config.put(key, i);
            default -> throw new IllegalArgumentException(String.valueOf(value));
        }
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config));
        refused(dir, dir + "/" + fragment);
    }

    /** Opening {@code dir} fails with one line holding {@code fragment}. */
    private static void refused(Path dir, String fragment) {
        Exception e = assertThrows(Exception.class, () -> BertEmbedder.open(dir, 1).close());
        assertTrue(e instanceof IOException || e instanceof IllegalArgumentException, e.toString());
        String message = e.getMessage();
        assertTrue(message.contains(fragment), () -> "'" + message + "' lacks '" + fragment + "'");
        assertFalse(message.contains("\n"), message);
    }

    private static void assertSameVectors(Embedder.Embeddings want, Embedder.Embeddings got) {
        assertArrayEquals(want.tokens(), got.tokens());
        for (int i = 0; i < want.vectors().length; i++) {
            assertArrayEquals(want.vectors()[i], got.vectors()[i], "sentence " + i);
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static double dotDouble(float[] a, float[] b) {
        return dot(a, b);
    }
}
