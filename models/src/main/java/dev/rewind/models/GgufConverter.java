package dev.rewind.models;

import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Quantizer;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.tokenizer.HuggingFaceTokenizer;
import dev.rewind.tokenizer.JsonCursor;
import dev.rewind.tokenizer.JsonReader;
import dev.rewind.tokenizer.Vocabulary;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Writes the GGUF twin of a Hugging Face folder, as llama.cpp's converter lays it out: llama's Q/K rows
 * permuted to adjacent rope pairs, Gemma's norms as {@code 1 + w}, Llama 3's rope factors as
 * {@code rope_freqs.weight}, 1-D tensors in F32, 2-D tensors in their own type or the one asked for
 * (F32, F16, BF16, Q8_0, Q4_0); the hyper-parameters under llama.cpp's keys; and the tokenizer
 * (SentencePiece-style {@code tokenizer.json} with byte fallback, scores from the merge ranks) with its chat
 * template. Tensor data is streamed one tensor at a time.
 */
public final class GgufConverter {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private GgufConverter() {
    }

    /**
     * The types {@code --type} may name: those whose quantizer takes any row length the folders
     * hold (multiples of 32); the K-quants need rows in multiples of 256 and are not offered yet.
     */
    private static final java.util.Set<GgmlType> TARGET_TYPES =
            java.util.EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0);

    /**
     * Converts {@code dir} into {@code out}.
     *
     * @param type     the type of the 2-D weights, or null to keep each one's own type
     * @param progress told (tensor name, bytes written so far) after each tensor
     * @throws ModelFormatException when the folder cannot be converted (the message says why)
     */
    public static void convert(Path dir, Path out, GgmlType type, BiConsumer<String, Long> progress) throws IOException {
        if (type != null && !TARGET_TYPES.contains(type)) {
            throw new ModelFormatException(dir, "cannot convert to " + type + " (supported: F32, F16, BF16, Q8_0, Q4_0)");
        }
        HfConfig hf = HfConfig.read(dir);
        HuggingFaceTokenizer tokenizer = (HuggingFaceTokenizer) ModelLoader.loadTokenizer(dir);
        try (HfWeights weights = HfWeights.open(dir, hf)) {
            TransformerConfig c = hf.config();
            GgufWriter w = GgufWriter.create();
            String a = c.architecture() + ".";
            w.metadata("general.architecture", new GgufValue.Str(c.architecture()));
            w.metadata("general.name", new GgufValue.Str(dir.toAbsolutePath().normalize().getFileName().toString()));
            w.metadata("general.file_type", u32(SyntheticModel.fileType(type != null ? type : dominantType(weights))));
            w.metadata(a + "context_length", u32(c.contextLength()));
            w.metadata(a + "embedding_length", u32(c.dim()));
            w.metadata(a + "block_count", u32(c.layers()));
            w.metadata(a + "feed_forward_length", u32(c.ffnDim()));
            w.metadata(a + "attention.head_count", u32(c.heads()));
            w.metadata(a + "attention.head_count_kv", u32(c.kvHeads()));
            w.metadata(a + "attention.layer_norm_rms_epsilon", new GgufValue.Real(GgufValueType.FLOAT32, c.rmsEps()));
            w.metadata(a + "rope.freq_base", new GgufValue.Real(GgufValueType.FLOAT32, c.rope().base()));
            w.metadata(a + "rope.dimension_count", u32(c.rope().dimensions()));
            if (c.headDim() != c.dim() / c.heads()) {
                w.metadata(a + "attention.key_length", u32(c.headDim()));
                w.metadata(a + "attention.value_length", u32(c.headDim()));
            }
            if (c.rope().linearScale() != 1.0) {
                w.metadata(a + "rope.scaling.type", new GgufValue.Str("linear"));
                w.metadata(a + "rope.scaling.factor", new GgufValue.Real(GgufValueType.FLOAT32, c.rope().linearScale()));
            }
            w.metadata(a + "vocab_size", u32(c.vocabularySize()));
            tokenizerMetadata(w, dir, tokenizer);

            long[] written = {0};
            for (WeightTensor t : weights.tensors()) {
                addTensor(w, t, c, type, written, progress);
            }
            float[] factors = c.rope().freqFactors();
            if (factors != null) {
                MemorySegment f = MemorySegment.ofArray(new byte[4 * factors.length]);
                for (int i = 0; i < factors.length; i++) {
                    f.set(F32, 4L * i, factors[i]);
                }
                w.tensor("rope_freqs.weight", GgmlType.F32, new long[] {factors.length}, f);
            }
            w.write(out);
        }
    }

    private static GgmlType dominantType(HfWeights weights) {
        return weights.tensors().stream().filter(t -> t.shape().length == 2).map(WeightTensor::type).findFirst().orElse(GgmlType.F32);
    }

    private static void addTensor(GgufWriter w, WeightTensor t, TransformerConfig c, GgmlType type, long[] written,
                                  BiConsumer<String, Long> progress) {
        long[] shape = t.shape();
        if (shape.length != 2) {
            long n = t.elementCount();
            w.tensor(t.name(), GgmlType.F32, shape, target -> {
                float[] row = toFloats(t, 0, (int) n);
                MemorySegment.copy(row, 0, target, F32, 0, row.length);
                done(t, target.byteSize(), written, progress);
            });
            return;
        }
        int cols = (int) shape[0];
        int rows = (int) shape[1];
        int permuteHeads = !c.architecture().equals("llama") ? 0
                : t.name().endsWith("attn_q.weight") ? c.heads() : t.name().endsWith("attn_k.weight") ? c.kvHeads() : 0;
        GgmlType to = type == null || cols % type.blockSize() != 0 ? t.type() : type;
        WeightMatrix source = WeightMatrix.of(t.name(), t.type(), t.data(), rows, cols);
        long rowBytes = to.byteSize(cols);
        w.tensor(t.name(), to, shape, target -> {
            float[] buffer = new float[cols];
            long sourceRowBytes = t.type().byteSize(cols);
            for (int r = 0; r < rows; r++) {
                int from = permuteHeads == 0 ? r : hfRow(r, rows / permuteHeads);
                if (to == t.type()) {
                    MemorySegment.copy(t.data(), from * sourceRowBytes, target, r * rowBytes, rowBytes);
                } else {
                    source.dequantizeRow(from, buffer, 0);
                    Quantizer.quantize(to, buffer, 0, cols, target, r * rowBytes);
                }
            }
            done(t, target.byteSize(), written, progress);
        });
    }

    /**
     * The Hugging Face row of GGUF row {@code r} of a llama Q or K matrix with heads of {@code headDim}
     * rows: GGUF keeps each rotated pair (i, i + headDim/2) of a head in adjacent rows 2i, 2i + 1.
     */
    static int hfRow(int r, int headDim) {
        int half = headDim / 2;
        int head = r / headDim;
        int within = r % headDim;
        return head * headDim + (within % 2) * half + within / 2;
    }

    private static void done(WeightTensor t, long bytes, long[] written, BiConsumer<String, Long> progress) {
        written[0] += bytes;
        if (progress != null) {
            progress.accept(t.name(), written[0]);
        }
    }

    private static float[] toFloats(WeightTensor t, int from, int n) {
        float[] out = new float[n];
        MemorySegment d = t.data();
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            long e = from + (long) i;
            out[i] = switch (t.type()) {
                case F32 -> d.get(F32, 4 * e);
                case F16 -> Float.float16ToFloat(d.get(i16, 2 * e));
                case BF16 -> Float.intBitsToFloat(d.get(i16, 2 * e) << 16);
                default -> throw new IllegalArgumentException("tensor '" + t.origin() + "' is " + t.type() + ", expected F32, F16 or BF16");
            };
        }
        return out;
    }

    /**
     * The tokenizer as llama.cpp's SentencePiece ("llama") vocabulary: pieces and types as the Hugging
     * Face tokenizer reads them, and as scores the negated rank of the first merge that makes each piece
     * (so that llama.cpp's best-score-first merging picks what the merge ranks pick); pieces no merge
     * makes get 0 when they are single characters or bytes, else a score below every merge.
     */
    private static void tokenizerMetadata(GgufWriter w, Path dir, HuggingFaceTokenizer tokenizer) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        JsonCursor root = JsonCursor.root(JsonReader.parse(Files.readString(file, StandardCharsets.UTF_8), "tokenizer.json"), "tokenizer.json");
        JsonCursor model = root.get("model");
        if (!model.optString("type").orElse("BPE").equals("BPE") || !model.bool("byte_fallback", false)) {
            throw new ModelFormatException(dir, "tokenizer.json: model: converting this tokenizer (not a SentencePiece-style BPE "
                    + "with byte_fallback) to GGUF metadata is not implemented");
        }
        Vocabulary v = tokenizer.vocabulary();
        int n = v.size();
        double[] scores = new double[n];
        boolean[] made = new boolean[n];
        List<JsonCursor> merges = model.find("merges").map(JsonCursor::elements).orElse(List.of());
        for (int rank = 0; rank < merges.size(); rank++) {
            JsonCursor m = merges.get(rank);
            String left;
            String right;
            if (m.isString()) {
                String[] parts = m.string().split(" ", 2);
                if (parts.length != 2) {
                    throw m.error("a merge must be two pieces separated by a space");
                }
                left = parts[0];
                right = parts[1];
            } else {
                left = m.elements().get(0).string();
                right = m.elements().get(1).string();
            }
            var id = v.id(left + right);
            if (id.isPresent() && !made[id.getAsInt()]) {
                made[id.getAsInt()] = true;
                scores[id.getAsInt()] = -rank;
            }
        }
        List<String> tokens = new ArrayList<>(n);
        long[] types = new long[n];
        for (int i = 0; i < n; i++) {
            String piece = v.piece(i);
            tokens.add(piece);
            types[i] = v.type(i).code();
            if (!made[i] && piece.codePointCount(0, piece.length()) > 1 && v.type(i).code() == 1) {
                scores[i] = -merges.size() - 1.0 - i;
            }
        }
        w.metadata("tokenizer.ggml.model", new GgufValue.Str("llama"));
        w.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(tokens));
        w.metadata("tokenizer.ggml.scores", new GgufValue.RealArray(GgufValueType.FLOAT32, scores));
        w.metadata("tokenizer.ggml.token_type", new GgufValue.IntArray(GgufValueType.INT32, types));
        var specials = v.specials();
        specials.bosToken().ifPresent(id -> w.metadata("tokenizer.ggml.bos_token_id", u32(id)));
        specials.eosToken().ifPresent(id -> w.metadata("tokenizer.ggml.eos_token_id", u32(id)));
        if (specials.unknown() >= 0) {
            w.metadata("tokenizer.ggml.unknown_token_id", u32(specials.unknown()));
        }
        tokenizer.config().addBosToken().ifPresent(b -> w.metadata("tokenizer.ggml.add_bos_token", new GgufValue.Bool(b)));
        tokenizer.config().addEosToken().ifPresent(b -> w.metadata("tokenizer.ggml.add_eos_token", new GgufValue.Bool(b)));
        tokenizer.config().chatTemplate().ifPresent(t -> w.metadata("tokenizer.chat_template", new GgufValue.Str(t)));
    }

    private static GgufValue u32(long v) {
        return new GgufValue.Int(GgufValueType.UINT32, v);
    }
}
