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
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
     * Converts {@code dir} into {@code out}.
     *
     * @param type     the type of the 2-D weights, or null to keep each one's own type
     * @param progress told (tensor name, bytes written so far) after each tensor
     * @throws ModelFormatException when the folder cannot be converted (the message says why)
     */
    public static void convert(Path dir, Path out, GgmlType type, BiConsumer<String, Long> progress) throws IOException {
        if (type != null && Quantization.parse(type.name(), Quantization.CONVERT).isEmpty()) {
            throw new ModelFormatException(dir, "cannot convert to " + type + " (supported: " + Quantization.names(Quantization.CONVERT) + ")");
        }
        convert(dir, out, type == null ? null : Quantization.pure(type), progress);
    }

    /**
     * Converts {@code dir} into {@code out}, its weight matrices in {@code target}'s types (one of
     * {@link Quantization#CONVERT}; null: each keeps its own type). A matrix whose rows a k-quant
     * cannot take (not a multiple of 256 values) is refused, naming it, before anything is written.
     */
    public static void convert(Path dir, Path out, Quantization target, BiConsumer<String, Long> progress) throws IOException {
        if (target != null && !Quantization.CONVERT.contains(target)) {
            throw new ModelFormatException(dir, "cannot convert to " + target + " (supported: " + Quantization.names(Quantization.CONVERT) + ")");
        }
        HfConfig hf = HfConfig.read(dir);
        HuggingFaceTokenizer tokenizer = (HuggingFaceTokenizer) ModelLoader.loadTokenizer(dir);
        try (HfWeights weights = HfWeights.open(dir, hf)) {
            TransformerConfig c = hf.config();
            GgufWriter w = GgufWriter.create();
            String a = c.architecture() + ".";
            w.metadata("general.architecture", new GgufValue.Str(c.architecture()));
            w.metadata("general.name", new GgufValue.Str(dir.toAbsolutePath().normalize().getFileName().toString()));
            w.metadata("general.file_type", u32(target != null ? target.fileType() : SyntheticModel.fileType(dominantType(weights))));
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
            familyMetadata(w, dir, hf);
            w.metadata(a + "vocab_size", u32(c.vocabularySize()));
            tokenizerMetadata(w, dir, tokenizer);

            boolean tied = weights.tensor("output.weight").isEmpty();
            long[] written = {0};
            for (WeightTensor t : weights.tensors()) {
                Matcher slice = EXPERT_SLICE.matcher(t.name());
                if (slice.matches()) {
                    if (slice.group(2).equals("0")) {
                        addExperts(w, dir, weights, slice.group(1), c, target, tied, written, progress);
                    }
                    continue;
                }
                addTensor(w, dir, weights, t, c, target, tied, written, progress);
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

    private static final Pattern EXPERT_SLICE = Pattern.compile("(.+)\\[(\\d+)]");

    /**
     * The keys of Gemma 2 and 3 and of Mixtral. What llama.cpp cannot be told in GGUF (it derives Gemma's
     * query scale from the layer count and fixes the layer pattern) is refused rather than written wrong.
     */
    private static void familyMetadata(GgufWriter w, Path dir, HfConfig hf) throws ModelFormatException {
        TransformerConfig c = hf.config();
        String a = c.architecture() + ".";
        TransformerConfig.Attention at = c.attention();
        switch (c.architecture()) {
            // llama.cpp's phi3 needs the window (its converter writes sliding_window); Rewind caps the context at it
            case "phi3" -> {
                if (hf.slidingWindow() > 0) {
                    w.metadata(a + "attention.sliding_window", u32(hf.slidingWindow()));
                }
            }
            case "gemma2", "gemma3" -> {
                boolean gemma2 = c.architecture().equals("gemma2");
                boolean large = c.layers() == (gemma2 ? 46 : 62);
                float derived = (float) (1.0 / Math.sqrt(large ? (double) c.dim() / c.heads() : c.headDim()));
                if (derived != at.scale()) {
                    throw new ModelFormatException(dir, "config.json: query_pre_attn_scalar gives the query scale " + at.scale()
                            + ", but a GGUF file cannot say so: llama.cpp derives " + derived + " for " + c.layers() + " layers");
                }
                int pattern = gemma2 ? 2 : 6;
                if (at.slidingWindow() == 0 || at.slidingPattern() != pattern) {
                    throw new ModelFormatException(dir, "config.json: the sliding layers (" + (at.slidingWindow() == 0 ? "none"
                            : "pattern " + at.slidingPattern()) + ") differ from the " + c.architecture() + " pattern a GGUF file implies"
                            + " (every " + (gemma2 ? "other" : "sixth") + " layer global)");
                }
                w.metadata(a + "attention.sliding_window", u32(at.slidingWindow()));
                if (gemma2) {
                    w.metadata(a + "attn_logit_softcapping", new GgufValue.Real(GgufValueType.FLOAT32, at.softcap()));
                    w.metadata(a + "final_logit_softcapping", new GgufValue.Real(GgufValueType.FLOAT32, c.logitSoftcap()));
                } else if (at.softcap() != 0 || c.logitSoftcap() != 0) {
                    throw new ModelFormatException(dir, "config.json: soft-capping in a Gemma 3 model cannot be written to GGUF");
                } else if (at.slidingRope() != null && at.slidingRope().base() != FamilyParameters.GEMMA3_LOCAL_ROPE_BASE) {
                    w.metadata(a + "rope.freq_base_swa", new GgufValue.Real(GgufValueType.FLOAT32, at.slidingRope().base()));
                }
            }
            default -> {
            }
        }
        if (c.experts().present()) {
            w.metadata(a + "expert_count", u32(c.experts().count()));
            w.metadata(a + "expert_used_count", u32(c.experts().used()));
        }
    }

    private static GgmlType dominantType(HfWeights weights) {
        return weights.tensors().stream().filter(t -> t.shape().length == 2).map(WeightTensor::type).findFirst().orElse(GgmlType.F32);
    }

    /** The type {@code t} is written in: {@code target}'s choice for a float matrix, else its own. */
    private static GgmlType targetType(Path dir, ModelWeights weights, WeightTensor t, String name, TransformerConfig c,
                                       Quantization target, boolean tied) throws ModelFormatException {
        GgmlType own = t.type();
        if (target == null) {
            return own;
        }
        GgmlType to = target.typeOf(name, c.layers(), c.experts().count(), tied).orElse(own);
        int cols = (int) t.shape()[0];
        if (cols % to.blockSize() != 0) {
            if (Quantization.isKQuant(to)) {
                throw new ModelFormatException(dir, "tensor " + weights.describe(t.name()) + " has rows of " + cols
                        + " values, not a multiple of " + to.blockSize() + ", so it cannot be converted to " + to
                        + " (Q8_0 and Q4_0 take rows of multiples of 32)");
            }
            return own;
        }
        return to;
    }

    private static void addTensor(GgufWriter w, Path dir, ModelWeights weights, WeightTensor t, TransformerConfig c,
                                  Quantization target, boolean tied, long[] written, BiConsumer<String, Long> progress)
            throws ModelFormatException {
        long[] shape = t.shape();
        if (shape.length != 2) {
            long n = t.elementCount();
            w.tensor(t.name(), GgmlType.F32, shape, dst -> {
                float[] row = toFloats(t, 0, (int) n);
                MemorySegment.copy(row, 0, dst, F32, 0, row.length);
                done(t, dst.byteSize(), written, progress);
            });
            return;
        }
        int cols = (int) shape[0];
        int rows = (int) shape[1];
        int permuteHeads = !c.architecture().equals("llama") ? 0
                : t.name().endsWith("attn_q.weight") ? c.heads() : t.name().endsWith("attn_k.weight") ? c.kvHeads() : 0;
        GgmlType to = targetType(dir, weights, t, t.name(), c, target, tied);
        w.tensor(t.name(), to, shape, dst -> {
            writeRows(t, rows, cols, permuteHeads, to, dst, 0);
            done(t, dst.byteSize(), written, progress);
        });
    }

    /** The experts Hugging Face stores one matrix each, stacked into GGUF's 3-D tensor {@code name} (ggml shape [cols, rows, experts]). */
    private static void addExperts(GgufWriter w, Path dir, ModelWeights weights, String name, TransformerConfig c,
                                   Quantization target, boolean tied, long[] written, BiConsumer<String, Long> progress)
            throws ModelFormatException {
        List<WeightTensor> experts = weights.experts(name);
        WeightTensor first = experts.get(0);
        long[] shape2 = first.shape();
        for (WeightTensor e : experts) {
            if (!java.util.Arrays.equals(e.shape(), shape2) || e.type() != first.type()) {
                throw new ModelFormatException(dir, "tensor " + weights.describe(e.name()) + " differs in shape or dtype from "
                        + weights.describe(first.name()) + "; the experts of one layer must agree");
            }
        }
        int cols = (int) shape2[0];
        int rows = (int) shape2[1];
        GgmlType to = targetType(dir, weights, first, name, c, target, tied);
        long expertBytes = to.byteSize((long) rows * cols);
        w.tensor(name, to, new long[] {cols, rows, experts.size()}, dst -> {
            for (int e = 0; e < experts.size(); e++) {
                writeRows(experts.get(e), rows, cols, 0, to, dst, e * expertBytes);
            }
            done(first, dst.byteSize(), written, progress);
        });
    }

    /** The rows of matrix {@code t} in type {@code to} at {@code dst + offset}, GGUF row r from Hugging Face row {@link #hfRow} when permuted. */
    private static void writeRows(WeightTensor t, int rows, int cols, int permuteHeads, GgmlType to, MemorySegment dst, long offset) {
        WeightMatrix source = WeightMatrix.of(t.name(), t.type(), t.data(), rows, cols);
        long rowBytes = to.byteSize(cols);
        long sourceRowBytes = t.type().byteSize(cols);
        float[] buffer = new float[cols];
        for (int r = 0; r < rows; r++) {
            int from = permuteHeads == 0 ? r : hfRow(r, rows / permuteHeads);
            if (to == t.type()) {
                MemorySegment.copy(t.data(), from * sourceRowBytes, dst, offset + r * rowBytes, rowBytes);
            } else {
                source.dequantizeRow(from, buffer, 0);
                Quantizer.quantize(to, buffer, 0, cols, dst, offset + r * rowBytes);
            }
        }
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
        boolean bpe = model.optString("type").orElse("BPE").equals("BPE");
        if (bpe && !model.bool("byte_fallback", false) && byteLevel(root)) {
            byteLevelMetadata(w, dir, root, model, tokenizer);
            return;
        }
        if (!bpe || !model.bool("byte_fallback", false)) {
            throw new ModelFormatException(dir, "tokenizer.json: model: converting this tokenizer (neither a byte-level BPE nor a "
                    + "SentencePiece-style BPE with byte_fallback) to GGUF metadata is not implemented");
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

    /** The pre-tokenizer regexes (Split patterns, in order) of llama.cpp's pre-tokenizer types, as their tokenizer.json files give them. */
    private static final Map<List<String>, String> PRE_TOKENIZERS = Map.of(
            List.of("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"), "llama-bpe",
            List.of("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"), "qwen2",
            List.of("\\p{N}{1,3}", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+", "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"), "deepseek-v3");

    /** True when the pre-tokenizer maps bytes to GPT-2's printable characters (ByteLevel, alone or last in a Sequence). */
    private static boolean byteLevel(JsonCursor root) {
        return root.find("pre_tokenizer").map(p -> preTokenizers(p).stream().anyMatch(t -> t.optString("type").orElse("").equals("ByteLevel")))
                .orElse(false);
    }

    private static List<JsonCursor> preTokenizers(JsonCursor p) {
        return p.optString("type").orElse("").equals("Sequence") ? p.get("pretokenizers").elements() : List.of(p);
    }

    /**
     * The llama.cpp {@code tokenizer.ggml.pre} name of a byte-level pre-tokenizer: its Split regexes
     * must be those of a type llama.cpp knows (Llama 3, Qwen 2/3, DeepSeek V3), or none with
     * ByteLevel's own regex (GPT-2). Anything else is refused rather than guessed.
     */
    static String preTokenizerName(Path dir, JsonCursor root) throws ModelFormatException {
        JsonCursor pre = root.get("pre_tokenizer");
        List<String> regexes = new ArrayList<>();
        boolean byteLevelRegex = false;
        for (JsonCursor t : preTokenizers(pre)) {
            switch (t.optString("type").orElse("")) {
                case "Split" -> regexes.add(t.get("pattern").find("Regex").map(JsonCursor::string)
                        .orElseThrow(() -> t.get("pattern").error("a Split by a fixed string has no llama.cpp pre-tokenizer type")));
                case "ByteLevel" -> byteLevelRegex = t.bool("use_regex", true);
                default -> throw t.error("pre-tokenizer '" + t.optString("type").orElse("") + "' has no llama.cpp pre-tokenizer type");
            }
        }
        if (regexes.isEmpty() && byteLevelRegex) {
            return "gpt-2";
        }
        String name = byteLevelRegex ? null : PRE_TOKENIZERS.get(regexes);
        if (name == null) {
            throw new ModelFormatException(dir, "tokenizer.json: pre_tokenizer: its splitting is not one of llama.cpp's pre-tokenizer "
                    + "types Rewind can name (gpt-2, llama-bpe, qwen2, deepseek-v3), so a GGUF file could not say how to split text");
        }
        return name;
    }

    /**
     * A byte-level BPE ({@code tokenizer.ggml.model} gpt2) as llama.cpp's converter writes it: every id's
     * piece as tokenizer.json spells it (GPT-2's byte characters), ids no token has, and ids up to the
     * model's vocabulary size, as {@code [PADn]} of type unused; added tokens control (special) or
     * user-defined; the merges as "left right"; the special ids, and whether BOS/EOS are added as the
     * folder's tokenizer does.
     */
    private static void byteLevelMetadata(GgufWriter w, Path dir, JsonCursor root, JsonCursor model, HuggingFaceTokenizer tokenizer)
            throws IOException {
        String pre = preTokenizerName(dir, root);
        // GGUF has no normalizer: NFC (Qwen) is dropped as llama.cpp's converter drops it (text already in
        // NFC, nearly all text, tokenizes the same); any other normalizer would change the ids, so it is refused
        var normalizer = root.find("normalizer");
        if (normalizer.isPresent()) {
            JsonCursor nz = normalizer.get();
            List<JsonCursor> steps = nz.optString("type").orElse("").equals("Sequence") ? nz.get("normalizers").elements() : List.of(nz);
            for (JsonCursor step : steps) {
                if (!step.optString("type").orElse("").equals("NFC")) {
                    throw new ModelFormatException(dir, "tokenizer.json: normalizer: '" + step.optString("type").orElse("?")
                            + "' has no equivalent in GGUF metadata, so the converted file would tokenize differently");
                }
            }
        }
        Map<Integer, String> pieces = new java.util.TreeMap<>();
        Map<Integer, Integer> types = new java.util.HashMap<>();
        for (JsonCursor e : model.get("vocab").fieldValues()) {
            pieces.put(e.integer(0, ModelLoader.MAX_VOCABULARY - 1), e.key());
        }
        for (JsonCursor a : root.find("added_tokens").map(JsonCursor::elements).orElse(List.of())) {
            int id = a.get("id").integer(0, ModelLoader.MAX_VOCABULARY - 1);
            pieces.put(id, a.get("content").string());
            types.put(id, a.bool("special", false) ? 3 : 4); // control, user-defined
        }
        int n = Math.max(pieces.isEmpty() ? 0 : ((java.util.TreeMap<Integer, String>) pieces).lastKey() + 1,
                HfConfig.read(dir).config().vocabularySize());
        List<String> tokens = new ArrayList<>(n);
        long[] tokenTypes = new long[n];
        for (int i = 0; i < n; i++) {
            String piece = pieces.get(i);
            tokens.add(piece != null ? piece : "[PAD" + i + "]");
            tokenTypes[i] = piece == null ? 5 : types.getOrDefault(i, 1); // 5: unused
        }
        List<String> merges = new ArrayList<>();
        for (JsonCursor m : model.find("merges").map(JsonCursor::elements).orElse(List.of())) {
            if (m.isString()) {
                merges.add(m.string());
            } else {
                List<JsonCursor> pair = m.elements();
                if (pair.size() != 2) {
                    throw m.error("a merge must be two pieces");
                }
                merges.add(pair.get(0).string() + " " + pair.get(1).string());
            }
        }
        w.metadata("tokenizer.ggml.model", new GgufValue.Str("gpt2"));
        w.metadata("tokenizer.ggml.pre", new GgufValue.Str(pre));
        w.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(tokens));
        w.metadata("tokenizer.ggml.token_type", new GgufValue.IntArray(GgufValueType.INT32, tokenTypes));
        w.metadata("tokenizer.ggml.merges", new GgufValue.StrArray(merges));
        var specials = tokenizer.vocabulary().specials();
        specials.bosToken().ifPresent(id -> w.metadata("tokenizer.ggml.bos_token_id", u32(id)));
        specials.eosToken().ifPresent(id -> w.metadata("tokenizer.ggml.eos_token_id", u32(id)));
        tokenizer.config().paddingToken().flatMap(t -> java.util.Optional.ofNullable(indexOf(tokens, t)))
                .ifPresent(id -> w.metadata("tokenizer.ggml.padding_token_id", u32(id)));
        // what the folder's tokenizer does, said explicitly: llama.cpp's defaults differ by pre-tokenizer type
        int[] probe = tokenizer.encode("a", true, false);
        int[] plain = tokenizer.encode("a", false, false);
        boolean addsBos = specials.bosToken().isPresent() && probe.length > plain.length && probe[0] == specials.bosToken().getAsInt();
        boolean addsEos = specials.eosToken().isPresent() && probe.length > plain.length
                && probe[probe.length - 1] == specials.eosToken().getAsInt();
        w.metadata("tokenizer.ggml.add_bos_token", new GgufValue.Bool(addsBos));
        w.metadata("tokenizer.ggml.add_eos_token", new GgufValue.Bool(addsEos));
        tokenizer.config().chatTemplate().ifPresent(t -> w.metadata("tokenizer.chat_template", new GgufValue.Str(t)));
    }

    private static Integer indexOf(List<String> tokens, String piece) {
        int i = tokens.indexOf(piece);
        return i < 0 ? null : i;
    }

    private static GgufValue u32(long v) {
        return new GgufValue.Int(GgufValueType.UINT32, v);
    }
}
