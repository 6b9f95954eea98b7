package dev.rewind.models;

import dev.rewind.engine.tensor.GgmlType;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What {@code --quantize} and {@code rewind convert --type} turn weight matrices into: one type for
 * every matrix (as {@code llama-quantize --pure} writes), or one of llama-quantize's k-quant mixtures
 * Q4_K_M and Q5_K_M, which give some matrices more bits as llama.cpp's {@code llama_tensor_get_type}
 * chooses them: Q6_K for the output matrix (the token embedding when it is tied); Q6_K for
 * {@code attn_v} and {@code ffn_down} in the layers {@link #moreBits} picks; Q5_K (Q4_K_M) or Q6_K
 * (Q5_K_M) for Phi-3's fused {@code attn_qkv}; and, in models of 8 experts, Q8_0 for {@code attn_v}
 * and {@code attn_k} and Q5_K (Q4_K_M) for {@code attn_output}. In every case the router
 * ({@code ffn_gate_inp}) and 1-D tensors keep their type, as llama-quantize leaves them.
 *
 * @param name    as the user writes it, e.g. {@code Q4_K_M}
 * @param base    the type of most matrices
 * @param mixture true for Q4_K_M and Q5_K_M
 */
public record Quantization(String name, GgmlType base, boolean mixture) {

    /** The k-quant mixtures. */
    public static final Quantization Q4_K_M = new Quantization("Q4_K_M", GgmlType.Q4_K, true);
    public static final Quantization Q5_K_M = new Quantization("Q5_K_M", GgmlType.Q5_K, true);

    /** What {@code --quantize} offers: the types a loaded model computes with fastest, and the mixtures. */
    public static final List<Quantization> LOAD_TIME = List.of(pure(GgmlType.Q8_0), pure(GgmlType.Q4_0), pure(GgmlType.Q4_K),
            pure(GgmlType.Q5_K), pure(GgmlType.Q6_K), Q4_K_M, Q5_K_M);

    /** What {@code rewind convert --type} offers: the float types and {@link #LOAD_TIME}. */
    public static final List<Quantization> CONVERT = java.util.stream.Stream.concat(
            java.util.stream.Stream.of(pure(GgmlType.F32), pure(GgmlType.F16), pure(GgmlType.BF16)), LOAD_TIME.stream()).toList();

    /** Every matrix in {@code type}. */
    public static Quantization pure(GgmlType type) {
        return new Quantization(type.name(), type, false);
    }

    /** The entry of {@code choices} named {@code text} (any case). */
    public static Optional<Quantization> parse(String text, List<Quantization> choices) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        return choices.stream().filter(q -> q.name().equals(t)).findFirst();
    }

    /** The names of {@code choices}, comma-separated, for messages. */
    public static String names(List<Quantization> choices) {
        return choices.stream().map(Quantization::name).collect(Collectors.joining(", "));
    }

    /** True for the types whose blocks are 256 values (Q4_K, Q5_K, Q6_K): rows must be multiples of 256. */
    public static boolean isKQuant(GgmlType t) {
        return t == GgmlType.Q4_K || t == GgmlType.Q5_K || t == GgmlType.Q6_K || t == GgmlType.Q3_K || t == GgmlType.Q2_K;
    }

    /** {@code general.file_type} of a file quantized this way (llama.cpp's LLAMA_FTYPE_MOSTLY_*). */
    public int fileType() {
        return switch (name) {
            case "Q4_K_M" -> 15;
            case "Q5_K_M" -> 17;
            default -> SyntheticModel.fileType(base);
        };
    }

    /**
     * The type matrix {@code tensor} (a GGUF name such as {@code blk.3.attn_v.weight}) gets in a model of
     * {@code layers} layers and {@code experts} experts (0 for a dense one) whose output matrix is the
     * embedding when {@code tied}; empty when it keeps its own type (the router).
     */
    public Optional<GgmlType> typeOf(String tensor, int layers, int experts, boolean tied) {
        if (tensor.endsWith("ffn_gate_inp.weight")) {
            return Optional.empty(); // llama-quantize never quantizes the router
        }
        if (!mixture) {
            return Optional.of(base);
        }
        if (tensor.equals("output.weight") || (tied && tensor.equals("token_embd.weight"))) {
            return Optional.of(GgmlType.Q6_K);
        }
        int layer = layerOf(tensor);
        GgmlType t = base;
        if (tensor.endsWith(".attn_v.weight")) {
            if (moreBits(layer, layers)) {
                t = GgmlType.Q6_K;
            }
            if (experts == 8) {
                t = GgmlType.Q8_0;
            }
        } else if (tensor.endsWith(".attn_k.weight")) {
            if (experts == 8) {
                t = GgmlType.Q8_0;
            }
        } else if (tensor.endsWith(".attn_output.weight")) {
            if (experts == 8 && this.equals(Q4_K_M)) {
                t = GgmlType.Q5_K;
            }
        } else if (tensor.endsWith(".attn_qkv.weight")) {
            t = this.equals(Q4_K_M) ? GgmlType.Q5_K : GgmlType.Q6_K;
        } else if (tensor.contains(".ffn_down")) {
            if (moreBits(layer, layers)) {
                t = GgmlType.Q6_K;
            }
        }
        return Optional.of(t);
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third layer between. */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    private static int layerOf(String tensor) {
        if (!tensor.startsWith("blk.")) {
            return -1;
        }
        int dot = tensor.indexOf('.', 4);
        try {
            return Integer.parseInt(tensor.substring(4, dot));
        } catch (RuntimeException e) {
            return -1;
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
