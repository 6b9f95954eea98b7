package dev.rewind.tools.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The BERT folder the safetensors target also mutates: a tiny random-weight BERT encoder (8 wide, 2 heads,
 * 2 layers, 32 positions, F32) saved as sentence-transformers saves one ({@code config.json},
 * {@code model.safetensors} with transformers' tensor names, {@code modules.json}, {@code 1_Pooling/config.json},
 * {@code sentence_bert_config.json}) with the bundled MiniLM's {@code tokenizer.json} (30,522 WordPiece tokens),
 * so no fixture is needed. Fixed seed: the same bytes every run.
 */
public final class BertSeed {

    /** What the safetensors target calls it. */
    public static final String NAME = "tiny-bert-F32";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VOCAB = 30522;
    private static final int HIDDEN = 8;
    private static final int LAYERS = 2;
    private static final int FFN = 16;
    private static final int POSITIONS = 32;

    private BertSeed() {
    }

    /** Writes the folder at {@code dir}. */
    public static Path write(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("1_Pooling"));
        try (InputStream in = BertSeed.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            if (in == null) {
                throw new IOException("the bundled MiniLM tokenizer.json is not on the class path");
            }
            Files.write(dir.resolve("tokenizer.json"), in.readAllBytes());
        }
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("BertModel");
        c.put("model_type", "bert").put("hidden_act", "gelu").put("position_embedding_type", "absolute");
        c.put("vocab_size", VOCAB).put("hidden_size", HIDDEN).put("num_hidden_layers", LAYERS).put("num_attention_heads", 2);
        c.put("intermediate_size", FFN).put("max_position_embeddings", POSITIONS).put("type_vocab_size", 2).put("layer_norm_eps", 1e-12);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(c));
        Files.writeString(dir.resolve("modules.json"), "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
                + "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
                + "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]");
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"word_embedding_dimension\":" + HIDDEN
                + ",\"pooling_mode_cls_token\":false,\"pooling_mode_mean_tokens\":true,\"pooling_mode_max_tokens\":false}");
        Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\":24,\"do_lower_case\":false}");
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("embeddings.word_embeddings.weight", new long[] {VOCAB, HIDDEN});
        shapes.put("embeddings.position_embeddings.weight", new long[] {POSITIONS, HIDDEN});
        shapes.put("embeddings.token_type_embeddings.weight", new long[] {2, HIDDEN});
        shapes.put("embeddings.LayerNorm.weight", new long[] {HIDDEN});
        shapes.put("embeddings.LayerNorm.bias", new long[] {HIDDEN});
        for (int l = 0; l < LAYERS; l++) {
            String p = "encoder.layer." + l + ".";
            for (String m : new String[] {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
                shapes.put(p + m + ".weight", new long[] {HIDDEN, HIDDEN});
                shapes.put(p + m + ".bias", new long[] {HIDDEN});
            }
            shapes.put(p + "attention.output.LayerNorm.weight", new long[] {HIDDEN});
            shapes.put(p + "attention.output.LayerNorm.bias", new long[] {HIDDEN});
            shapes.put(p + "intermediate.dense.weight", new long[] {FFN, HIDDEN});
            shapes.put(p + "intermediate.dense.bias", new long[] {FFN});
            shapes.put(p + "output.dense.weight", new long[] {HIDDEN, FFN});
            shapes.put(p + "output.dense.bias", new long[] {HIDDEN});
            shapes.put(p + "output.LayerNorm.weight", new long[] {HIDDEN});
            shapes.put(p + "output.LayerNorm.bias", new long[] {HIDDEN});
        }
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            ArrayNode shape = t.putArray("shape");
            long n = 1;
            for (long d : e.getValue()) {
                shape.add(d);
                n *= d;
            }
            t.putArray("data_offsets").add(offset).add(offset + 4 * n);
            offset += 4 * n;
        }
        byte[] head = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(Math.toIntExact(8 + head.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(head.length).put(head);
        SplittableRandom random = new SplittableRandom(13);
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            boolean norm = e.getKey().endsWith("LayerNorm.weight");
            long n = e.getValue().length == 1 ? e.getValue()[0] : e.getValue()[0] * e.getValue()[1];
            for (long i = 0; i < n; i++) {
                file.putFloat(norm ? 1f : (float) (random.nextDouble() - 0.5) * 0.2f);
            }
        }
        Files.write(dir.resolve("model.safetensors"), file.array());
        return dir;
    }
}
