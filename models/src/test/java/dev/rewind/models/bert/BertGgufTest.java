package dev.rewind.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.engine.tensor.F32Matrix;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.models.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GGUF file of llama.cpp's {@code bert} architecture, written here from MiniLM's ONNX weights with
 * llama.cpp's tensor names, keys and vocabulary conversion ({@code ##x} → {@code x}, a word-initial
 * {@code x} → {@code ▁x}, {@code [..]} tokens unchanged): it embeds as the ONNX original does.
 */
class BertGgufTest {

    @Test
    void aGgufBertFileEmbedsAsTheOnnxOriginal(@TempDir Path dir) throws IOException {
        Path gguf = dir.resolve("minilm.gguf");
        try (Arena arena = Arena.ofConfined()) {
            write(onnxWeights(arena), gguf);
        }
        JsonNode reference;
        try (InputStream in = getClass().getResourceAsStream("minilm-reference.json")) {
            reference = new ObjectMapper().readTree(in);
        }
        List<String> texts = new ArrayList<>();
        reference.get("sentences").forEach(s -> texts.add(s.get("text").asText()));
        try (BertEmbedder fromGguf = BertEmbedder.open(gguf, 2); BertEmbedder fromOnnx = BertEmbedder.miniLm(2)) {
            assertEquals(512, fromGguf.maxTokens());
            Embedder.Embeddings a = fromGguf.embed(texts);
            Embedder.Embeddings b = fromOnnx.embed(texts);
            int same = 0;
            for (int i = 0; i < texts.size(); i++) {
                if (java.util.Arrays.equals(fromGguf.tokenize(texts.get(i)), fromOnnx.tokenize(texts.get(i)))) {
                    assertArrayEquals(b.vectors()[i], a.vectors()[i], texts.get(i));
                    same++;
                }
            }
            assertEquals(texts.size(), same, "both tokenizers agree on every reference sentence");
        }
    }

    /** The metadata of a 1-layer, 4-wide BERT with a 110-token WordPiece vocabulary, and no tensors. */
    private static GgufWriter tinyBert() {
        GgufWriter w = GgufWriter.create();
        w.metadata("general.architecture", new GgufValue.Str("bert"));
        w.metadata("bert.embedding_length", new GgufValue.Int(GgufValueType.UINT32, 4));
        w.metadata("bert.block_count", new GgufValue.Int(GgufValueType.UINT32, 1));
        w.metadata("bert.attention.head_count", new GgufValue.Int(GgufValueType.UINT32, 2));
        w.metadata("bert.feed_forward_length", new GgufValue.Int(GgufValueType.UINT32, 8));
        w.metadata("tokenizer.ggml.model", new GgufValue.Str("bert"));
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 110; i++) {
            tokens.add("t" + i);
        }
        w.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(tokens));
        return w;
    }

    @Test
    void aMissingTensorIsNamed(@TempDir Path dir) throws IOException {
        Path gguf = dir.resolve("broken.gguf");
        GgufWriter w = tinyBert();
        w.tensor("token_embd.weight", GgmlType.F32, new long[] {4, 110}, new byte[4 * 110 * 4]);
        w.write(gguf);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> BertEmbedder.open(gguf, 1));
        assertTrue(e.getMessage().endsWith("tensor position_embd.weight is missing"), e.getMessage());
        assertTrue(e.getMessage().startsWith(gguf.toString()), e.getMessage());
    }

    /** Found by the fuzz suite's BERT target (seed 2672394424603940363): the vocabulary's refusal did not name the file. */
    @Test
    void aVocabularyThatIsNotWordPieceIsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        Path gguf = dir.resolve("not-wordpiece.gguf");
        GgufWriter w = GgufWriter.create();
        w.metadata("general.architecture", new GgufValue.Str("bert"));
        w.metadata("tokenizer.ggml.model", new GgufValue.Str("gpt2"));
        w.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(List.of("a", "b")));
        w.write(gguf);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> BertEmbedder.open(gguf, 1));
        assertTrue(e.getMessage().startsWith(gguf.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }

    /** Found by the fuzz suite's BERT target (seed 15075519708510430640): a metadata value of the wrong type, not naming the file. */
    @Test
    void aMetadataValueOfTheWrongTypeIsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        Path gguf = dir.resolve("bad-pooling.gguf");
        GgufWriter w = tinyBert();
        w.metadata("bert.pooling_type", new GgufValue.Str("mean"));
        w.write(gguf);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> BertEmbedder.open(gguf, 1));
        assertTrue(e.getMessage().startsWith(gguf.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("bert.pooling_type"), e.getMessage());
    }

    private static BertWeights onnxWeights(Arena arena) throws IOException {
        try (InputStream in = BertEmbedder.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            return BertOnnxLoader.load(in.readAllBytes(), "minilm", arena);
        }
    }

    private static void write(BertWeights w, Path path) throws IOException {
        BertConfig c = w.config();
        GgufWriter out = GgufWriter.create();
        out.metadata("general.architecture", new GgufValue.Str("bert"));
        out.metadata("general.name", new GgufValue.Str("all-MiniLM-L6-v2 (test conversion)"));
        out.metadata("bert.embedding_length", new GgufValue.Int(GgufValueType.UINT32, c.hidden()));
        out.metadata("bert.block_count", new GgufValue.Int(GgufValueType.UINT32, c.layers()));
        out.metadata("bert.attention.head_count", new GgufValue.Int(GgufValueType.UINT32, c.heads()));
        out.metadata("bert.feed_forward_length", new GgufValue.Int(GgufValueType.UINT32, c.intermediate()));
        out.metadata("bert.context_length", new GgufValue.Int(GgufValueType.UINT32, c.maxPositions()));
        out.metadata("bert.attention.layer_norm_epsilon", new GgufValue.Real(GgufValueType.FLOAT32, c.layerNormEpsilon()));
        out.metadata("bert.pooling_type", new GgufValue.Int(GgufValueType.UINT32, 1));
        out.metadata("tokenizer.ggml.model", new GgufValue.Str("bert"));
        out.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(llamaCppTokens()));
        out.metadata("tokenizer.ggml.unknown_token_id", new GgufValue.Int(GgufValueType.UINT32, 100));
        out.metadata("tokenizer.ggml.cls_token_id", new GgufValue.Int(GgufValueType.UINT32, 101));
        out.metadata("tokenizer.ggml.seperator_token_id", new GgufValue.Int(GgufValueType.UINT32, 102));
        matrix(out, "token_embd.weight", w.words());
        matrix(out, "position_embd.weight", w.positions());
        matrix(out, "token_types.weight", w.tokenTypes());
        norm(out, "token_embd_norm", w.embeddingNorm());
        for (int l = 0; l < w.layers().size(); l++) {
            BertWeights.Layer layer = w.layers().get(l);
            String p = "blk." + l + ".";
            linear(out, p + "attn_q", layer.query());
            linear(out, p + "attn_k", layer.key());
            linear(out, p + "attn_v", layer.value());
            linear(out, p + "attn_output", layer.output());
            norm(out, p + "attn_output_norm", layer.attentionNorm());
            linear(out, p + "ffn_up", layer.up());
            linear(out, p + "ffn_down", layer.down());
            norm(out, p + "layer_output_norm", layer.outputNorm());
        }
        out.write(path);
    }

    /** MiniLM's vocabulary as llama.cpp's converter stores a WordPiece vocabulary. */
    private static List<String> llamaCppTokens() throws IOException {
        JsonNode vocab;
        try (InputStream in = BertEmbedder.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            vocab = new ObjectMapper().readTree(in).get("model").get("vocab");
        }
        String[] tokens = new String[vocab.size()];
        vocab.properties().forEach(e -> tokens[e.getValue().asInt()] = e.getKey());
        List<String> out = new ArrayList<>();
        for (String t : tokens) {
            out.add(t.startsWith("[") && t.endsWith("]") ? t : t.startsWith("##") ? t.substring(2) : "\u2581" + t);
        }
        return out;
    }

    private static void matrix(GgufWriter out, String name, WeightMatrix m) {
        out.tensor(name, GgmlType.F32, new long[] {m.cols(), m.rows()}, ((F32Matrix) m).data());
    }

    private static void linear(GgufWriter out, String name, BertWeights.Linear l) {
        matrix(out, name + ".weight", l.weight());
        vector(out, name + ".bias", l.bias());
    }

    private static void norm(GgufWriter out, String name, BertWeights.Norm n) {
        vector(out, name + ".weight", n.weight());
        vector(out, name + ".bias", n.bias());
    }

    private static void vector(GgufWriter out, String name, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        out.tensor(name, GgmlType.F32, new long[] {v.length}, b.array());
    }
}
