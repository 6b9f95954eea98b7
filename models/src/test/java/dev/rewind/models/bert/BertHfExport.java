package dev.rewind.models.bert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.tensor.WeightMatrix;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Test-side tool: writes the bundled all-MiniLM-L6-v2 (its ONNX weights, read by {@link BertOnnxLoader}) as
 * the Hugging Face sentence-transformers folder that {@code SentenceTransformer.save} writes. Written from
 * the Hugging Face side of the conventions (transformers' {@code modeling_bert.py} parameter names and
 * {@code BertConfig} keys, sentence-transformers' {@code modules.json}, {@code 1_Pooling/config.json} and
 * {@code sentence_bert_config.json} as the published all-MiniLM-L6-v2 folder has them), not from Rewind's
 * HF loader:
 * <ul>
 *   <li>{@code nn.Linear} weights are {@code [out_features, in_features]}, embeddings
 *       {@code [num_embeddings, dim]};</li>
 *   <li>{@code BertModel}'s parameters: {@code embeddings.{word,position,token_type}_embeddings.weight},
 *       {@code embeddings.LayerNorm}, {@code encoder.layer.N.attention.self.{query,key,value}},
 *       {@code encoder.layer.N.attention.output.{dense,LayerNorm}}, {@code encoder.layer.N.intermediate.dense},
 *       {@code encoder.layer.N.output.{dense,LayerNorm}}, and the {@code pooler.dense} that sentence
 *       embeddings do not use (written as zeros), plus the int64 {@code embeddings.position_ids} buffer older
 *       checkpoints carry; task models ({@code BertForMaskedLM}) put them under {@code bert.};</li>
 *   <li>TensorFlow-era checkpoints name LayerNorm parameters {@code gamma}/{@code beta};</li>
 *   <li>a sharded save lists each tensor's file in {@code model.safetensors.index.json}'s {@code weight_map}.</li>
 * </ul>
 * F16 and BF16 round each float to nearest-even, as {@code tensor.to(torch.float16 / torch.bfloat16)} does.
 */
public final class BertHfExport {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The element types written. */
    public enum Dtype { F32, F16, BF16 }

    /**
     * What to write.
     *
     * @param dtype        every float tensor's type
     * @param bertPrefix   names under {@code bert.} (as {@code BertForMaskedLM} saves them)
     * @param shards       files to spread the tensors over; 1 is a single {@code model.safetensors}
     * @param oldNormNames LayerNorms as {@code gamma}/{@code beta}
     * @param pooling      {@code modules.json}'s pooling key ({@code pooling_mode_mean_tokens}, ...), null: no
     *                     sentence-transformers files at all
     * @param normalize    a Normalize module after the pooling
     * @param config       {@code config.json} keys to set (a null value removes the key)
     * @param drop         tensors (HF names, prefix included) not to write
     * @param shortRow     a tensor (HF name) written with one row fewer than its shape, or null
     */
    public record Options(Dtype dtype, boolean bertPrefix, int shards, boolean oldNormNames, String pooling,
                          boolean normalize, Map<String, Object> config, Set<String> drop, String shortRow) {

        /** all-MiniLM-L6-v2 as published: F32, one file, mean pooling, Normalize. */
        public static Options miniLm() {
            return new Options(Dtype.F32, false, 1, false, "pooling_mode_mean_tokens", true, Map.of(), Set.of(), null);
        }

        public Options dtype(Dtype d) {
            return new Options(d, bertPrefix, shards, oldNormNames, pooling, normalize, config, drop, shortRow);
        }

        public Options withBertPrefix() {
            return new Options(dtype, true, shards, oldNormNames, pooling, normalize, config, drop, shortRow);
        }

        public Options shards(int n) {
            return new Options(dtype, bertPrefix, n, oldNormNames, pooling, normalize, config, drop, shortRow);
        }

        public Options withOldNormNames() {
            return new Options(dtype, bertPrefix, shards, true, pooling, normalize, config, drop, shortRow);
        }

        public Options pooling(String key, boolean norm) {
            return new Options(dtype, bertPrefix, shards, oldNormNames, key, norm, config, drop, shortRow);
        }

        public Options config(String key, Object value) {
            Map<String, Object> m = new LinkedHashMap<>(config);
            m.put(key, value);
            return new Options(dtype, bertPrefix, shards, oldNormNames, pooling, normalize, m, drop, shortRow);
        }

        public Options drop(String tensor) {
            return new Options(dtype, bertPrefix, shards, oldNormNames, pooling, normalize, config, Set.of(tensor), shortRow);
        }

        public Options shortRow(String tensor) {
            return new Options(dtype, bertPrefix, shards, oldNormNames, pooling, normalize, config, drop, tensor);
        }
    }

    private BertHfExport() {
    }

    /** One tensor: its HF name, type name, shape and little-endian bytes. */
    private record Tensor(String name, String dtype, long[] shape, byte[] data) {
    }

    /** Writes the bundled MiniLM into {@code dir} (created if needed) as {@code options} say. */
    public static void writeMiniLm(Path dir, Options options) throws IOException {
        Files.createDirectories(dir);
        byte[] onnx;
        byte[] tokenizer;
        try (InputStream a = BertHfExport.class.getResourceAsStream("/all-minilm-l6-v2.onnx");
             InputStream b = BertHfExport.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            onnx = a.readAllBytes();
            tokenizer = b.readAllBytes();
        }
        Files.write(dir.resolve("tokenizer.json"), tokenizer);
        try (Arena arena = Arena.ofConfined()) {
            BertWeights w = BertOnnxLoader.load(onnx, "minilm.onnx", arena);
            writeConfig(dir, w.config(), options);
            writeTensors(dir, tensors(w, options), options.shards());
            if (options.pooling() != null) {
                writeSentenceTransformers(dir, w.config().hidden(), options);
            }
        }
    }

    private static void writeConfig(Path dir, BertConfig c, Options o) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("_name_or_path", "nreimers/MiniLM-L6-H384-uncased");
        n.putArray("architectures").add(o.bertPrefix() ? "BertForMaskedLM" : "BertModel");
        n.put("attention_probs_dropout_prob", 0.1);
        n.put("gradient_checkpointing", false);
        n.put("hidden_act", "gelu");
        n.put("hidden_dropout_prob", 0.1);
        n.put("hidden_size", c.hidden());
        n.put("initializer_range", 0.02);
        n.put("intermediate_size", c.intermediate());
        n.put("layer_norm_eps", Double.parseDouble(Float.toString(c.layerNormEpsilon())));
        n.put("max_position_embeddings", c.maxPositions());
        n.put("model_type", "bert");
        n.put("num_attention_heads", c.heads());
        n.put("num_hidden_layers", c.layers());
        n.put("pad_token_id", 0);
        n.put("position_embedding_type", "absolute");
        n.put("torch_dtype", switch (o.dtype()) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
        });
        n.put("transformers_version", "4.8.2");
        n.put("type_vocab_size", c.tokenTypes());
        n.put("use_cache", true);
        n.put("vocab_size", c.vocabularySize());
        for (Map.Entry<String, Object> e : o.config().entrySet()) {
            switch (e.getValue()) {
                case null -> n.remove(e.getKey());
                case String s -> n.put(e.getKey(), s);
                case Integer i -> n.put(e.getKey(), i);
                case Boolean b -> n.put(e.getKey(), b);
                case Double d -> n.put(e.getKey(), d);
                default -> throw new IllegalArgumentException("config value " + e.getValue());
            }
        }
        Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    }

    private static void writeSentenceTransformers(Path dir, int hidden, Options o) throws IOException {
        ArrayNode modules = JSON.createArrayNode();
        String[][] chain = {{"", "Transformer"}, {"1_Pooling", "Pooling"}, {"2_Normalize", "Normalize"}};
        for (int i = 0; i < (o.normalize() ? 3 : 2); i++) {
            ObjectNode m = modules.addObject();
            m.put("idx", i);
            m.put("name", Integer.toString(i));
            m.put("path", chain[i][0]);
            m.put("type", "sentence_transformers.models." + chain[i][1]);
        }
        Files.writeString(dir.resolve("modules.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(modules));
        ObjectNode pooling = JSON.createObjectNode();
        pooling.put("word_embedding_dimension", hidden);
        for (String key : List.of("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")) {
            pooling.put(key, key.equals(o.pooling()));
        }
        pooling.put("include_prompt", true);
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(pooling));
        if (o.normalize()) {
            Files.createDirectories(dir.resolve("2_Normalize"));
        }
        Files.writeString(dir.resolve("sentence_bert_config.json"), "{\n  \"max_seq_length\": 256,\n  \"do_lower_case\": false\n}\n");
    }

    private static List<Tensor> tensors(BertWeights w, Options o) {
        BertConfig c = w.config();
        String p = o.bertPrefix() ? "bert." : "";
        List<Tensor> out = new ArrayList<>();
        out.add(matrix(p + "embeddings.word_embeddings.weight", w.words(), o));
        out.add(matrix(p + "embeddings.position_embeddings.weight", w.positions(), o));
        out.add(matrix(p + "embeddings.token_type_embeddings.weight", w.tokenTypes(), o));
        norm(out, p + "embeddings.LayerNorm", w.embeddingNorm(), o);
        long[] ids = new long[c.maxPositions()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        ByteBuffer idBytes = ByteBuffer.allocate(8 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        idBytes.asLongBuffer().put(ids);
        out.add(new Tensor(p + "embeddings.position_ids", "I64", new long[] {1, ids.length}, idBytes.array()));
        for (int l = 0; l < c.layers(); l++) {
            BertWeights.Layer layer = w.layers().get(l);
            String n = p + "encoder.layer." + l + ".";
            linear(out, n + "attention.self.query", layer.query(), o);
            linear(out, n + "attention.self.key", layer.key(), o);
            linear(out, n + "attention.self.value", layer.value(), o);
            linear(out, n + "attention.output.dense", layer.output(), o);
            norm(out, n + "attention.output.LayerNorm", layer.attentionNorm(), o);
            linear(out, n + "intermediate.dense", layer.up(), o);
            linear(out, n + "output.dense", layer.down(), o);
            norm(out, n + "output.LayerNorm", layer.outputNorm(), o);
        }
        out.add(floats(p + "pooler.dense.weight", new long[] {c.hidden(), c.hidden()}, new float[c.hidden() * c.hidden()], o));
        out.add(floats(p + "pooler.dense.bias", new long[] {c.hidden()}, new float[c.hidden()], o));
        return out.stream().filter(t -> !o.drop().contains(t.name())).toList();
    }

    private static void linear(List<Tensor> out, String name, BertWeights.Linear l, Options o) {
        out.add(matrix(name + ".weight", l.weight(), o));
        out.add(floats(name + ".bias", new long[] {l.bias().length}, l.bias(), o));
    }

    private static void norm(List<Tensor> out, String name, BertWeights.Norm n, Options o) {
        out.add(floats(name + (o.oldNormNames() ? ".gamma" : ".weight"), new long[] {n.weight().length}, n.weight(), o));
        out.add(floats(name + (o.oldNormNames() ? ".beta" : ".bias"), new long[] {n.bias().length}, n.bias(), o));
    }

    /** A matrix {@code [rows, cols]} (PyTorch's {@code [out, in]}), row by row. */
    private static Tensor matrix(String name, WeightMatrix m, Options o) {
        int rows = name.equals(o.shortRow()) ? m.rows() - 1 : m.rows();
        float[] all = new float[rows * m.cols()];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, all, r * m.cols());
        }
        return floats(name, new long[] {rows, m.cols()}, all, o);
    }

    private static Tensor floats(String name, long[] shape, float[] v, Options o) {
        if (name.equals(o.shortRow()) && shape.length == 1) {
            shape = new long[] {shape[0] - 1};
            v = java.util.Arrays.copyOf(v, v.length - 1);
        }
        ByteBuffer b = ByteBuffer.allocate(v.length * (o.dtype() == Dtype.F32 ? 4 : 2)).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            switch (o.dtype()) {
                case F32 -> b.putFloat(f);
                case F16 -> b.putShort(Float.floatToFloat16(f));
                case BF16 -> {
                    int bits = Float.floatToRawIntBits(f);
                    b.putShort((short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16));
                }
            }
        }
        return new Tensor(name, o.dtype().name(), shape, b.array());
    }

    /** {@code model.safetensors}, or {@code shards} files {@code model-0000i-of-0000n.safetensors} and their index. */
    private static void writeTensors(Path dir, List<Tensor> tensors, int shards) throws IOException {
        if (shards == 1) {
            writeSafetensors(dir.resolve("model.safetensors"), tensors);
            return;
        }
        ObjectNode index = JSON.createObjectNode();
        long total = tensors.stream().mapToLong(t -> t.data().length).sum();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        int per = (tensors.size() + shards - 1) / shards;
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            List<Tensor> part = tensors.subList(Math.min(s * per, tensors.size()), Math.min((s + 1) * per, tensors.size()));
            part.forEach(t -> map.put(t.name(), file));
            writeSafetensors(dir.resolve(file), part);
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }

    /** The safetensors layout: an 8-byte little-endian header length, the JSON header (space-padded to 8), the data. */
    private static void writeSafetensors(Path file, List<Tensor> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            e.putArray("data_offsets").add(offset).add(offset + t.data().length);
            offset += t.data().length;
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] head = new byte[padded];
        java.util.Arrays.fill(head, (byte) ' ');
        System.arraycopy(json, 0, head, 0, json.length);
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(head);
            for (Tensor t : tensors) {
                out.write(t.data());
            }
        }
    }
}
