package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufMetadata;

import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The hyper-parameters that only some families have, read from GGUF metadata on top of the common
 * ones ({@link ModelLoader#config}): the query scale, soft-caps and sliding window of Gemma 2 and 3,
 * Gemma 3's rope of the local layers, the experts of a Mixtral-style {@code llama} file, LongRoPE's
 * factors (Phi-3.5) and the rope attention factor. Whatever a file asks for that Rewind does not do
 * is refused here, naming the key (or tensor) and its value.
 */
final class FamilyParameters {

    /** The rope base of Gemma 3's local layers (llama.cpp's and Hugging Face's constant). */
    static final double GEMMA3_LOCAL_ROPE_BASE = 10000.0;
    /** Gemma 2's sliding window when the file does not give one (llama.cpp's default). */
    static final int GEMMA2_DEFAULT_WINDOW = 4096;

    private FamilyParameters() {
    }

    /** {@code base} (the common hyper-parameters) completed with the family's own. */
    static TransformerConfig complete(GgufFile file, TransformerConfig base) throws ModelFormatException {
        Path path = file.path();
        GgufMetadata m = file.metadata();
        String arch = base.architecture();
        String p = arch + ".";
        checkValueLength(path, m, p, base.headDim());
        checkAttention(path, m, p);

        Rope rope = withAttentionFactor(path, m, p, base.rope());
        TransformerConfig.LongRope longRope = null;
        boolean longFactors = file.tensor("rope_factors_long.weight").isPresent();
        boolean shortFactors = file.tensor("rope_factors_short.weight").isPresent();
        if (longFactors || shortFactors) {
            if (!arch.equals("phi3")) {
                throw new ModelFormatException(path, "tensor '" + (longFactors ? "rope_factors_long.weight" : "rope_factors_short.weight")
                        + "' (LongRoPE) is supported only in phi3 files, and this one is " + arch);
            }
            if (longFactors != shortFactors) {
                throw new ModelFormatException(path, "LongRoPE needs both rope_factors_long.weight and rope_factors_short.weight; only "
                        + (longFactors ? "rope_factors_long.weight" : "rope_factors_short.weight") + " is present");
            }
            if (rope.freqFactors() == null) { // rope_freqs, where present, wins (as in llama.cpp)
                ModelTensors t = new ModelTensors(file);
                int pairs = rope.dimensions() / 2;
                float[] shortF = positiveFactors(path, "rope_factors_short.weight", t.vector("rope_factors_short.weight", pairs));
                float[] longF = positiveFactors(path, "rope_factors_long.weight", t.vector("rope_factors_long.weight", pairs));
                int original = optionalPositive(path, m, p + "rope.scaling.original_context_length", base.contextLength());
                longRope = new TransformerConfig.LongRope(
                        new Rope(rope.dimensions(), rope.base(), rope.linearScale(), longF, rope.style(), rope.attentionFactor()), original);
                rope = new Rope(rope.dimensions(), rope.base(), rope.linearScale(), shortF, rope.style(), rope.attentionFactor());
            }
        }

        TransformerConfig.Experts experts = experts(path, m, p, arch);
        TransformerConfig.Attention attention = TransformerConfig.Attention.standard(base.headDim());
        float logitSoftcap = 0f;
        switch (arch) {
            case "gemma2", "gemma3" -> {
                // llama.cpp and Hugging Face: query_pre_attn_scalar is the head size, except for the 27B
                // models (46 layers of Gemma 2, 62 of Gemma 3), where it is dim / heads; GGUF has no key for it
                boolean large = base.layers() == (arch.equals("gemma2") ? 46 : 62);
                float scale = (float) (1.0 / Math.sqrt(large ? (double) base.dim() / base.heads() : base.headDim()));
                float attnCap = softcap(path, m, p + "attn_logit_softcapping");
                logitSoftcap = softcap(path, m, p + "final_logit_softcapping");
                int window = arch.equals("gemma2")
                        ? optionalPositive(path, m, p + "attention.sliding_window", GEMMA2_DEFAULT_WINDOW)
                        : requiredPositive(path, m, p + "attention.sliding_window");
                Rope local = null;
                int pattern = 2;
                if (arch.equals("gemma3")) {
                    pattern = 6;
                    double localBase = positiveReal(path, m, p + "rope.freq_base_swa", GEMMA3_LOCAL_ROPE_BASE);
                    local = new Rope(rope.dimensions(), localBase, 1.0, null, rope.style(), rope.attentionFactor());
                }
                attention = new TransformerConfig.Attention(scale, attnCap, window, pattern, local);
            }
            default -> {
                for (String key : new String[] {"attn_logit_softcapping", "final_logit_softcapping"}) {
                    if (m.contains(p + key)) {
                        throw new ModelFormatException(path, "metadata key '" + p + key + "' (soft-capping) is supported only in gemma2 "
                                + "and gemma3 files");
                    }
                }
            }
        }
        return new TransformerConfig(arch, base.dim(), base.layers(), base.heads(), base.kvHeads(), base.headDim(), base.ffnDim(),
                base.vocabularySize(), base.contextLength(), base.rmsEps(), rope, attention, logitSoftcap, experts, longRope);
    }

    /** Rewind's KV rows are heads × one head size: a value head of another size is refused. */
    private static void checkValueLength(Path path, GgufMetadata m, String p, int headDim) throws ModelFormatException {
        OptionalLong v = m.integer(p + "attention.value_length");
        if (v.isPresent() && v.getAsLong() != headDim) {
            throw new ModelFormatException(path, "metadata key '" + p + "attention.value_length' = " + v.getAsLong()
                    + " differs from the key head size " + headDim + " (" + p + "attention.key_length); Rewind needs them equal");
        }
    }

    /**
     * What a file may ask of attention that Rewind does not do: a GGUF that is not a model
     * ({@code general.type}, e.g. a LoRA adapter or a vision projector), attention that is not causal
     * ({@code attention.causal} = false: embedding models), and clamping of Q, K and V
     * ({@code attention.clamp_kqv}, as DBRX and OLMo ask).
     */
    private static void checkAttention(Path path, GgufMetadata m, String p) throws ModelFormatException {
        java.util.Optional<String> type = m.string("general.type");
        if (type.isPresent() && !type.get().equals("model")) {
            throw new ModelFormatException(path, "metadata key 'general.type' = " + dev.rewind.engine.text.Escape.quote(type.get())
                    + ": this file is not a model Rewind can run (supported: model)");
        }
        if (!m.bool(p + "attention.causal").orElse(true)) {
            throw new ModelFormatException(path, "metadata key '" + p + "attention.causal' = false is not supported: Rewind runs "
                    + "causal attention only");
        }
        if (m.contains(p + "attention.clamp_kqv")) {
            double clamp = m.real(p + "attention.clamp_kqv").orElse(Double.NaN);
            if (clamp != 0) {
                throw new ModelFormatException(path, "metadata key '" + p + "attention.clamp_kqv' = " + clamp
                        + " is not supported (clamping of Q, K and V)");
            }
        }
    }

    /** {@code rope.scaling.attn_factor} multiplies the rotated values (llama.cpp does so for every architecture). */
    private static Rope withAttentionFactor(Path path, GgufMetadata m, String p, Rope rope) throws ModelFormatException {
        double f = positiveReal(path, m, p + "rope.scaling.attn_factor", 1.0);
        return f == 1.0 ? rope : new Rope(rope.dimensions(), rope.base(), rope.linearScale(), rope.freqFactors(), rope.style(), f);
    }

    /**
     * {@code expert_count}/{@code expert_used_count}: Mixtral-style experts in {@code llama} files,
     * routed by the softmax of the router logits renormalised over the chosen experts. Other gating
     * functions, shared experts and weight scales are refused.
     */
    private static TransformerConfig.Experts experts(Path path, GgufMetadata m, String p, String arch) throws ModelFormatException {
        OptionalLong count = m.integer(p + "expert_count");
        if (count.isEmpty() || count.getAsLong() == 0) {
            if (m.integer(p + "expert_used_count").orElse(0) != 0) {
                throw new ModelFormatException(path, "metadata key '" + p + "expert_used_count' = " + m.integer(p + "expert_used_count").getAsLong()
                        + " but '" + p + "expert_count' is " + (count.isEmpty() ? "missing" : "0"));
            }
            return TransformerConfig.Experts.NONE;
        }
        if (!arch.equals("llama")) {
            throw new ModelFormatException(path, "metadata key '" + p + "expert_count' = " + count.getAsLong()
                    + ": mixtures of experts are supported only in llama files (Mixtral), not in " + arch);
        }
        int n = checkRange(path, p + "expert_count", count.getAsLong(), 1024);
        int used = requiredPositive(path, m, p + "expert_used_count");
        if (used > n) {
            throw new ModelFormatException(path, "metadata key '" + p + "expert_used_count' = " + used + " exceeds '" + p
                    + "expert_count' = " + n);
        }
        OptionalLong gating = m.integer(p + "expert_gating_func");
        if (gating.isPresent() && gating.getAsLong() != 1) { // llama.cpp: 1 softmax, 2 sigmoid, 3 softmax over the chosen
            throw new ModelFormatException(path, "metadata key '" + p + "expert_gating_func' = " + gating.getAsLong()
                    + " is not supported (supported: 1, softmax)");
        }
        OptionalLong shared = m.integer(p + "expert_shared_count");
        if (shared.isPresent() && shared.getAsLong() != 0) {
            throw new ModelFormatException(path, "metadata key '" + p + "expert_shared_count' = " + shared.getAsLong()
                    + ": shared experts are not supported");
        }
        double scale = m.real(p + "expert_weights_scale").orElse(1.0);
        if (scale != 1.0 && scale != 0.0) {
            throw new ModelFormatException(path, "metadata key '" + p + "expert_weights_scale' = " + scale + " is not supported (only 1)");
        }
        if (!m.bool(p + "expert_weights_norm").orElse(true)) {
            throw new ModelFormatException(path, "metadata key '" + p + "expert_weights_norm' = false is not supported: Rewind "
                    + "renormalises the chosen experts' weights, as Mixtral does");
        }
        return new TransformerConfig.Experts(n, used);
    }

    private static float softcap(Path path, GgufMetadata m, String key) throws ModelFormatException {
        double v = m.real(key).orElse(0.0);
        if (!(v >= 0) || !Double.isFinite(v)) {
            throw new ModelFormatException(path, "metadata key '" + key + "' = " + v + " must be 0 (none) or a finite positive number");
        }
        return (float) v;
    }

    private static float[] positiveFactors(Path path, String tensor, float[] f) throws ModelFormatException {
        for (int i = 0; i < f.length; i++) {
            if (!(f[i] > 0) || !Float.isFinite(f[i])) {
                throw new ModelFormatException(path, "tensor '" + tensor + "' holds " + f[i] + " at index " + i
                        + "; every rope factor must be a finite positive number");
            }
        }
        return f;
    }

    private static double positiveReal(Path path, GgufMetadata m, String key, double fallback) throws ModelFormatException {
        double v = m.real(key).orElse(fallback);
        if (!(v > 0) || !Double.isFinite(v)) {
            throw new ModelFormatException(path, "metadata key '" + key + "' = " + v + " must be a finite positive number");
        }
        return v;
    }

    private static int requiredPositive(Path path, GgufMetadata m, String key) throws ModelFormatException {
        OptionalLong v = m.integer(key);
        if (v.isEmpty()) {
            throw new ModelFormatException(path, "metadata key '" + key + "' is missing");
        }
        return checkRange(path, key, v.getAsLong(), 1 << 24);
    }

    private static int optionalPositive(Path path, GgufMetadata m, String key, int fallback) throws ModelFormatException {
        OptionalLong v = m.integer(key);
        return v.isEmpty() ? fallback : checkRange(path, key, v.getAsLong(), 1 << 24);
    }

    private static int checkRange(Path path, String key, long v, int max) throws ModelFormatException {
        if (v <= 0 || v > max) {
            throw new ModelFormatException(path, "metadata key '" + key + "' = " + v + " is out of range (1 to " + max + ")");
        }
        return (int) v;
    }
}
