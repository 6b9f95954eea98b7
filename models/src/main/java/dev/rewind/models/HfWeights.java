package dev.rewind.models;

import dev.rewind.engine.safetensors.SafetensorsFolder;
import dev.rewind.engine.safetensors.SafetensorsTensor;
import dev.rewind.engine.tensor.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The safetensors weights of a Hugging Face folder under GGUF names, in Hugging Face layout: a
 * matrix {@code [out, in]} is ggml's {@code [in, out]} with the same bytes, so every tensor is a view
 * of its shard's mapping. Two layouts differ from llama.cpp's and are handled by the model, not by
 * copying: llama's Q/K rows rotate halves here ({@link HfConfig} gives every family the half-split
 * rope), and Gemma's norms are stored as {@code w} for {@code 1 + w} (those small vectors are the one
 * copy made). A tensor name the family does not have, or a dtype no kernel computes with, is refused.
 */
public final class HfWeights implements ModelWeights {

    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    /** The name of one expert's matrix: the 3-D GGUF tensor's name and the expert index. */
    private static final Pattern EXPERT_SLICE = Pattern.compile("(.+)\\[(\\d+)]");

    private static final Map<String, String> COMMON = Map.of(
            "input_layernorm.weight", "attn_norm.weight",
            "self_attn.q_proj.weight", "attn_q.weight",
            "self_attn.k_proj.weight", "attn_k.weight",
            "self_attn.v_proj.weight", "attn_v.weight",
            "self_attn.o_proj.weight", "attn_output.weight",
            "post_attention_layernorm.weight", "ffn_norm.weight",
            "mlp.gate_proj.weight", "ffn_gate.weight",
            "mlp.up_proj.weight", "ffn_up.weight",
            "mlp.down_proj.weight", "ffn_down.weight");

    private static final Map<String, String> QWEN2_BIASES = Map.of(
            "self_attn.q_proj.bias", "attn_q.bias",
            "self_attn.k_proj.bias", "attn_k.bias",
            "self_attn.v_proj.bias", "attn_v.bias");

    private static final Map<String, String> QK_NORMS = Map.of(
            "self_attn.q_norm.weight", "attn_q_norm.weight",
            "self_attn.k_norm.weight", "attn_k_norm.weight");

    /** Gemma 2 and 3 norm the input and output of both sub-blocks. */
    private static final Map<String, String> GEMMA2 = Map.of(
            "input_layernorm.weight", "attn_norm.weight",
            "post_attention_layernorm.weight", "post_attention_norm.weight",
            "pre_feedforward_layernorm.weight", "ffn_norm.weight",
            "post_feedforward_layernorm.weight", "post_ffw_norm.weight");

    /** Mixtral's router; its experts match {@link #EXPERT}. */
    private static final Map<String, String> MIXTRAL = Map.of("block_sparse_moe.gate.weight", "ffn_gate_inp.weight");

    /** One expert's matrix: w1 gates, w3 is the up projection, w2 the down projection (Hugging Face's MixtralBlockSparseTop2MLP). */
    private static final Pattern EXPERT = Pattern.compile("block_sparse_moe\\.experts\\.(\\d{1,6})\\.(w[123])\\.weight");
    private static final Map<String, String> EXPERT_KINDS = Map.of("w1", "ffn_gate_exps.weight", "w3", "ffn_up_exps.weight",
            "w2", "ffn_down_exps.weight");

    private static final Map<String, String> PHI3 = Map.of(
            "input_layernorm.weight", "attn_norm.weight",
            "self_attn.qkv_proj.weight", "attn_qkv.weight",
            "self_attn.o_proj.weight", "attn_output.weight",
            "post_attention_layernorm.weight", "ffn_norm.weight",
            "mlp.gate_up_proj.weight", "ffn_up.weight",
            "mlp.down_proj.weight", "ffn_down.weight");

    private final SafetensorsFolder folder;
    private final HfConfig config;
    private final Arena arena = Arena.ofShared();
    private final Map<String, WeightTensor> tensors = new LinkedHashMap<>();
    private final Map<String, String> hfNames = new HashMap<>();
    /** The experts of each 3-D GGUF tensor, which Hugging Face stores one matrix per expert. */
    private final Map<String, WeightTensor[]> experts = new LinkedHashMap<>();

    private HfWeights(SafetensorsFolder folder, HfConfig config) throws ModelFormatException {
        this.folder = folder;
        this.config = config;
        String arch = config.config().architecture();
        int layers = config.config().layers();
        for (SafetensorsTensor t : folder.tensors()) {
            String hf = t.name();
            Optional<String> gguf = ggufName(hf, arch, layers, config.tied());
            if (gguf.isEmpty()) {
                continue;
            }
            Path file = folder.tensorPath(t);
            GgmlType type = t.dtype().ggmlType().orElseThrow(() -> new ModelFormatException(file, "tensor '" + hf
                    + "' has dtype " + t.dtype() + " (at byte offset " + t.fileOffset()
                    + "); Rewind computes with F32, F16 and BF16 weights only"));
            long[] hfShape = t.shape();
            long[] shape = new long[hfShape.length];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = hfShape[shape.length - 1 - i];
            }
            MemorySegment data = folder.tensorData(t);
            if (arch.startsWith("gemma") && gguf.get().endsWith("norm.weight")) {
                data = onePlus(data, type, t.elementCount());
                type = GgmlType.F32;
            }
            String name = gguf.get();
            Matcher e = EXPERT_SLICE.matcher(name);
            if (e.matches()) {
                WeightTensor[] slots = experts.computeIfAbsent(e.group(1), k -> new WeightTensor[config.config().experts().count()]);
                int expert = Integer.parseInt(e.group(2));
                if (expert >= slots.length) {
                    throw new ModelFormatException(folder.dir(), "tensor '" + hf + "' is expert " + expert + " but config.json's "
                            + "num_local_experts is " + slots.length);
                }
                slots[expert] = new WeightTensor(name, type, shape, data, file, hf);
            }
            tensors.put(name, new WeightTensor(name, type, shape, data, file, hf));
            hfNames.put(name, hf);
        }
        for (Map.Entry<String, WeightTensor[]> e : experts.entrySet()) {
            for (int i = 0; i < e.getValue().length; i++) {
                if (e.getValue()[i] == null) {
                    throw new ModelFormatException(folder.dir(), "tensor " + describe(e.getKey() + "[" + i + "]") + " is missing");
                }
            }
        }
    }

    /**
     * Maps {@code dir}'s safetensors shards for the model {@code config} describes.
     *
     * @throws ModelFormatException naming the tensor when one is not part of the family or has an unusable dtype
     * @throws IOException          when a shard is malformed or unreadable
     */
    public static HfWeights open(Path dir, HfConfig config) throws IOException {
        SafetensorsFolder folder = SafetensorsFolder.open(dir);
        try {
            return new HfWeights(folder, config);
        } catch (IOException | RuntimeException e) {
            folder.close();
            throw e;
        }
    }

    /** The config these weights were read for. */
    public HfConfig config() {
        return config;
    }

    /** The GGUF name of Hugging Face tensor {@code hf}, empty for a tensor to ignore. */
    private Optional<String> ggufName(String original, String arch, int layers, boolean tied) throws ModelFormatException {
        String hf = original;
        if (config.className().equals("Gemma3ForConditionalGeneration")) {
            // the multimodal checkpoint: the text model under language_model (older transformers:
            // language_model.model.*, newer: model.language_model.*); its vision tower is not run
            if (hf.startsWith("vision_tower.") || hf.startsWith("multi_modal_projector.")
                    || hf.startsWith("model.vision_tower.") || hf.startsWith("model.multi_modal_projector.")) {
                return Optional.empty();
            }
            hf = hf.startsWith("language_model.") ? hf.substring("language_model.".length())
                    : hf.startsWith("model.language_model.") ? "model." + hf.substring("model.language_model.".length()) : hf;
        }
        switch (hf) {
            case "model.embed_tokens.weight" -> {
                return Optional.of("token_embd.weight");
            }
            case "model.norm.weight" -> {
                return Optional.of("output_norm.weight");
            }
            case "lm_head.weight" -> {
                // tied weights are one parameter in Hugging Face: a stored copy is not read
                return tied ? Optional.empty() : Optional.of("output.weight");
            }
            default -> {
            }
        }
        Matcher m = LAYER.matcher(hf);
        if (m.matches()) {
            String suffix = m.group(2);
            if (suffix.equals("self_attn.rotary_emb.inv_freq")) {
                return Optional.empty(); // old checkpoints store the rope frequencies; they follow from config.json
            }
            String mapped = mappedSuffix(suffix, arch);
            int layer;
            try {
                layer = Integer.parseInt(m.group(1));
            } catch (NumberFormatException e) {
                layer = Integer.MAX_VALUE;
            }
            if (mapped != null && layer < layers) {
                return Optional.of("blk." + layer + "." + mapped);
            }
        }
        throw new ModelFormatException(folder.dir(), "tensor '" + original + "' is not part of a " + config.className()
                + " model with " + layers + " layers as Rewind runs it");
    }

    /** The GGUF name (after {@code blk.N.}) of layer tensor {@code suffix}, null if the family has none such. */
    private String mappedSuffix(String suffix, String arch) {
        if (config.config().experts().present()) {
            Matcher e = EXPERT.matcher(suffix);
            if (e.matches()) {
                return EXPERT_KINDS.get(e.group(2)) + "[" + Integer.parseInt(e.group(1)) + "]";
            }
            return MIXTRAL.containsKey(suffix) ? MIXTRAL.get(suffix) : suffix.startsWith("mlp.") ? null : COMMON.get(suffix);
        }
        return switch (arch) {
            case "phi3" -> PHI3.get(suffix);
            case "qwen2" -> QWEN2_BIASES.getOrDefault(suffix, COMMON.get(suffix));
            case "qwen3" -> QK_NORMS.getOrDefault(suffix, COMMON.get(suffix));
            case "gemma2" -> GEMMA2.getOrDefault(suffix, suffix.contains("layernorm") ? null : COMMON.get(suffix));
            case "gemma3" -> GEMMA2.getOrDefault(suffix, QK_NORMS.getOrDefault(suffix, suffix.contains("layernorm") ? null : COMMON.get(suffix)));
            default -> COMMON.get(suffix);
        };
    }

    /** Gemma's {@code w} as the F32 multiplier {@code 1 + w} the forward pass uses (as llama.cpp's converter stores it). */
    private MemorySegment onePlus(MemorySegment src, GgmlType type, long n) {
        MemorySegment out = arena.allocate(4 * n, 4);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            float w = switch (type) {
                case F32 -> src.get(f32, 4 * i);
                case F16 -> Float.float16ToFloat(src.get(i16, 2 * i));
                case BF16 -> Float.intBitsToFloat(src.get(i16, 2 * i) << 16);
                default -> throw new IllegalStateException("unexpected norm type " + type);
            };
            out.set(f32, 4 * i, 1 + w);
        }
        return out;
    }

    @Override
    public Path path() {
        return folder.dir();
    }

    @Override
    public long fileSize() {
        return folder.fileSize();
    }

    @Override
    public List<WeightTensor> tensors() {
        return List.copyOf(tensors.values());
    }

    @Override
    public Optional<WeightTensor> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public List<WeightTensor> experts(String name) {
        WeightTensor[] e = experts.get(name);
        return e == null ? List.of() : List.of(e);
    }

    @Override
    public String describe(String name) {
        String hf = hfNames.get(name);
        return "'" + (hf != null ? hf : hfName(name)) + "' (" + name + ")";
    }

    /** The Hugging Face name a GGUF tensor name comes from, for messages about a missing tensor. */
    private String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight" -> {
                return "model.embed_tokens.weight";
            }
            case "output_norm.weight" -> {
                return "model.norm.weight";
            }
            case "output.weight" -> {
                return "lm_head.weight";
            }
            default -> {
            }
        }
        String prefix = config.className().equals("Gemma3ForConditionalGeneration") ? "language_model.model.layers." : "model.layers.";
        Matcher slice = Pattern.compile("blk\\.(\\d+)\\.(.+)\\[(\\d+)]").matcher(gguf);
        if (slice.matches()) {
            for (Map.Entry<String, String> e : EXPERT_KINDS.entrySet()) {
                if (e.getValue().equals(slice.group(2))) {
                    return prefix + slice.group(1) + ".block_sparse_moe.experts." + slice.group(3) + "." + e.getKey() + ".weight";
                }
            }
        }
        Matcher m = Pattern.compile("blk\\.(\\d+)\\.(.+)").matcher(gguf);
        if (m.matches()) {
            String arch = config.config().architecture();
            Map<String, String> table = arch.equals("phi3") ? PHI3 : arch.startsWith("gemma") && !arch.equals("gemma") ? GEMMA2 : Map.of();
            for (Map<String, String> t : List.of(table, COMMON, QWEN2_BIASES, QK_NORMS, MIXTRAL)) {
                for (Map.Entry<String, String> e : t.entrySet()) {
                    if (e.getValue().equals(m.group(2))) {
                        return prefix + m.group(1) + "." + e.getKey();
                    }
                }
            }
        }
        return gguf;
    }

    @Override
    public void close() {
        try {
            folder.close();
        } finally {
            arena.close();
        }
    }
}
