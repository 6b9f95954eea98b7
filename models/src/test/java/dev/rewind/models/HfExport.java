package dev.rewind.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufMetadata;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.tensor.GgmlType;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-side tool: writes a GGUF model as the Hugging Face folder {@code transformers} would save for
 * the same weights, so that folders of families without fixture folders can be made here. Written
 * from the Hugging Face side of the conventions (transformers' modelling code and llama.cpp's
 * {@code convert_hf_to_gguf.py}, which documents what it changes going the other way), not from
 * Rewind's loader:
 * <ul>
 *   <li>names: {@code model.embed_tokens}, {@code model.layers.N.*}, {@code model.norm}, {@code lm_head};
 *       Gemma 2/3's four norms per layer ({@code input_layernorm}, {@code post_attention_layernorm},
 *       {@code pre_feedforward_layernorm}, {@code post_feedforward_layernorm}); Qwen 3/Gemma 3's
 *       {@code self_attn.q_norm}/{@code k_norm}; Mixtral's {@code block_sparse_moe.gate} and
 *       {@code block_sparse_moe.experts.E.w1/w2/w3} (w1 the gate, w3 the up, w2 the down projection),
 *       one 2-D tensor per expert where GGUF stacks them;</li>
 *   <li>llama-family Q/K (Llama, Mixtral): the converter's {@code permute} reshapes HF rows as
 *       (head, 2, head_dim/2) and swaps the last two axes, so GGUF row {@code h·hd + 2i + j} is HF row
 *       {@code h·hd + j·hd/2 + i}; this writes HF row by that rule;</li>
 *   <li>Gemma norms: HF stores {@code w} and computes {@code 1 + w}; the converter adds 1 to every
 *       {@code *norm.weight}, so this subtracts 1 (exact for the fixtures' norms of 1.0);</li>
 *   <li>Gemma 3 as the multimodal {@code Gemma3ForConditionalGeneration}: the text model's keys under
 *       {@code text_config}, its tensors under {@code language_model.}, plus vision tensors a text
 *       model ignores.</li>
 * </ul>
 * The tokenizer files are copied from a folder of the same vocabulary. Run as a program:
 * {@code HfExport MODEL.gguf DIR TOKENIZER_DIR [--multimodal]}.
 */
final class HfExport {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HfExport() {
    }

    /**
     * {@code MODEL.gguf DIR TOKENIZER_DIR [--multimodal]}: exports a GGUF file; or
     * {@code --synthetic VOCAB DIR TOKENIZER_DIR}: a tiny random llama model (64 wide, 1 layer, F16) of
     * {@code VOCAB} tokens with the tokenizer of {@code TOKENIZER_DIR}, to check a tokenizer's conversion.
     */
    public static void main(String[] args) throws IOException {
        if (args[0].equals("--synthetic")) {
            Path gguf = Files.createTempFile("synthetic", ".gguf");
            try (dev.rewind.engine.parallel.WorkerPool pool = new dev.rewind.engine.parallel.WorkerPool(2)) {
                SyntheticModel.write(gguf, new SyntheticModel.Shape("tok", 64, 1, 2, 1, 64, Integer.parseInt(args[1]), 128, 10000.0,
                        1e-5f, true), GgmlType.F16, 7, pool, b -> { });
                export(gguf, Path.of(args[2]), Path.of(args[3]), false);
            } finally {
                Files.deleteIfExists(gguf);
            }
            return;
        }
        export(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]), args.length > 3 && args[3].equals("--multimodal"));
    }

    /** One tensor to write: its HF name and HF shape, and how to produce its bytes. */
    private record Out(String name, GgmlType type, long[] shape, long bytes, Writer writer) {
    }

    private interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** Writes {@code gguf} as a Hugging Face folder {@code dir}, with the tokenizer files of {@code tokenizerDir}. */
    static void export(Path gguf, Path dir, Path tokenizerDir, boolean multimodal) throws IOException {
        Files.createDirectories(dir);
        try (GgufFile file = GgufFile.open(gguf)) {
            GgufMetadata m = file.metadata();
            String arch = m.string("general.architecture").orElseThrow();
            boolean mixtral = m.integer(arch + ".expert_count").orElse(0) > 0;
            String family = mixtral ? "mixtral" : arch;
            ObjectNode config = config(file, family);
            String prefix = "";
            if (multimodal) {
                if (!family.equals("gemma3")) {
                    throw new IllegalArgumentException("only Gemma 3 has a multimodal layout here");
                }
                ObjectNode outer = JSON.createObjectNode();
                outer.putArray("architectures").add("Gemma3ForConditionalGeneration");
                outer.put("model_type", "gemma3");
                config.remove("architectures");
                outer.set("text_config", config);
                ObjectNode vision = outer.putObject("vision_config");
                vision.put("model_type", "siglip_vision_model");
                vision.put("hidden_size", 8);
                outer.put("mm_tokens_per_image", 256);
                config = outer;
                prefix = "language_model.";
            }
            Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
            List<Out> tensors = tensors(file, family, prefix);
            if (multimodal) {
                tensors.add(zeros("vision_tower.vision_model.embeddings.patch_embedding.weight", new long[] {8, 3, 2, 2}));
                tensors.add(zeros("multi_modal_projector.mm_input_projection_weight", new long[] {8, (int) file.metadata()
                        .integer(arch + ".embedding_length").orElseThrow()}));
            }
            writeSafetensors(dir.resolve("model.safetensors"), tensors);
        }
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(tokenizerDir.resolve(f), dir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static ObjectNode config(GgufFile file, String family) {
        GgufMetadata m = file.metadata();
        String arch = m.string("general.architecture").orElseThrow();
        String p = arch + ".";
        ObjectNode c = JSON.createObjectNode();
        String cls = switch (family) {
            case "llama" -> "LlamaForCausalLM";
            case "mixtral" -> "MixtralForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "gemma2" -> "Gemma2ForCausalLM";
            case "gemma3" -> "Gemma3ForCausalLM";
            default -> throw new IllegalArgumentException("no Hugging Face class for " + family + " here");
        };
        c.putArray("architectures").add(cls);
        c.put("model_type", family.equals("gemma3") ? "gemma3_text" : family);
        int dim = (int) m.integer(p + "embedding_length").orElseThrow();
        int heads = (int) m.integer(p + "attention.head_count").orElseThrow();
        int headDim = (int) m.integer(p + "attention.key_length").orElse(dim / heads);
        c.put("vocab_size", file.tensor("token_embd.weight").orElseThrow().dim(1));
        c.put("hidden_size", dim);
        c.put("intermediate_size", m.integer(p + "feed_forward_length").orElseThrow());
        c.put("num_hidden_layers", m.integer(p + "block_count").orElseThrow());
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", m.integer(p + "attention.head_count_kv").orElse(heads));
        c.put("head_dim", headDim);
        c.put("rms_norm_eps", (double) (float) m.real(p + "attention.layer_norm_rms_epsilon").orElseThrow());
        c.put("rope_theta", m.real(p + "rope.freq_base").orElse(10000.0));
        c.put("max_position_embeddings", m.integer(p + "context_length").orElseThrow());
        c.put("bos_token_id", m.integer("tokenizer.ggml.bos_token_id").orElse(1));
        c.put("eos_token_id", m.integer("tokenizer.ggml.eos_token_id").orElse(2));
        c.put("tie_word_embeddings", file.tensor("output.weight").isEmpty());
        c.put("torch_dtype", "float32");
        c.put("attention_dropout", 0.0);
        switch (family) {
            case "llama", "mixtral", "qwen3" -> {
                c.put("hidden_act", "silu");
                c.put("attention_bias", false);
                if (family.equals("mixtral")) {
                    c.put("num_local_experts", m.integer(p + "expert_count").orElseThrow());
                    c.put("num_experts_per_tok", m.integer(p + "expert_used_count").orElseThrow());
                    c.putNull("sliding_window");
                    c.put("router_aux_loss_coef", 0.02);
                    c.put("output_router_logits", false);
                }
                if (family.equals("qwen3")) {
                    c.put("use_sliding_window", false);
                    c.put("sliding_window", 4096); // unused without use_sliding_window, as in the Qwen 3 releases
                    c.put("max_window_layers", 28);
                }
            }
            case "gemma2", "gemma3" -> {
                c.put("hidden_activation", "gelu_pytorch_tanh");
                c.put("hidden_act", "gelu_pytorch_tanh");
                // the fixtures' README: Hugging Face's query_pre_attn_scalar is the head size for these models
                c.put("query_pre_attn_scalar", headDim);
                c.put("sliding_window", m.integer(p + "attention.sliding_window").orElseThrow());
                if (family.equals("gemma2")) {
                    c.put("attn_logit_softcapping", m.real(p + "attn_logit_softcapping").orElseThrow());
                    c.put("final_logit_softcapping", m.real(p + "final_logit_softcapping").orElseThrow());
                } else {
                    c.putNull("attn_logit_softcapping");
                    c.putNull("final_logit_softcapping");
                    c.put("rope_local_base_freq", 10000.0);
                    c.put("sliding_window_pattern", 6);
                    ArrayNode types = c.putArray("layer_types");
                    for (int l = 0; l < m.integer(p + "block_count").orElseThrow(); l++) {
                        types.add((l + 1) % 6 == 0 ? "full_attention" : "sliding_attention");
                    }
                    if (m.string(p + "rope.scaling.type").orElse("none").equals("linear")) {
                        ObjectNode s = c.putObject("rope_scaling");
                        s.put("rope_type", "linear");
                        s.put("factor", m.real(p + "rope.scaling.factor").orElseThrow());
                    }
                }
            }
            default -> throw new IllegalArgumentException(family);
        }
        return c;
    }

    private static List<Out> tensors(GgufFile file, String family, String prefix) {
        GgufMetadata m = file.metadata();
        String arch = m.string("general.architecture").orElseThrow();
        int heads = (int) m.integer(arch + ".attention.head_count").orElseThrow();
        int kvHeads = (int) m.integer(arch + ".attention.head_count_kv").orElse(heads);
        boolean gemma = family.startsWith("gemma");
        boolean permuted = family.equals("llama") || family.equals("mixtral");
        List<Out> out = new ArrayList<>();
        for (GgufTensorInfo t : file.tensors()) {
            String g = t.name();
            if (g.equals("rope_freqs.weight")) {
                continue; // Hugging Face derives it from rope_scaling
            }
            MemorySegment data = file.tensorData(t);
            if (g.contains("_exps.weight")) {
                String layer = g.substring(0, g.indexOf('.', 4) + 1).replace("blk.", "model.layers.");
                String w = g.contains("ffn_gate_exps") ? "w1" : g.contains("ffn_down_exps") ? "w2" : "w3";
                long n = t.dim(2);
                long bytes = t.byteSize() / n;
                for (long e = 0; e < n; e++) {
                    MemorySegment slice = data.asSlice(e * bytes, bytes);
                    out.add(new Out(prefix + layer + "block_sparse_moe.experts." + e + "." + w + ".weight", t.type(),
                            new long[] {t.dim(1), t.dim(0)}, bytes, o -> copy(slice, o)));
                }
                continue;
            }
            String hf = prefix + hfName(g, family);
            long[] shape = t.dimensions() == 1 ? new long[] {t.dim(0)} : new long[] {t.dim(1), t.dim(0)};
            if (gemma && g.endsWith("norm.weight")) {
                if (t.type() != GgmlType.F32) {
                    throw new IllegalArgumentException(g + " is " + t.type());
                }
                int len = (int) t.dim(0);
                out.add(new Out(hf, GgmlType.F32, shape, 4L * len, o -> {
                    ByteBuffer b = ByteBuffer.allocate(4 * len).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < len; i++) {
                        b.putFloat(data.get(F32, 4L * i) - 1f);
                    }
                    o.write(b.array());
                }));
            } else if (permuted && (g.endsWith("attn_q.weight") || g.endsWith("attn_k.weight"))) {
                int n = g.endsWith("attn_q.weight") ? heads : kvHeads;
                int rows = (int) t.dim(1);
                long rowBytes = t.byteSize() / rows;
                int hd = rows / n;
                out.add(new Out(hf, t.type(), shape, t.byteSize(), o -> {
                    for (int r = 0; r < rows; r++) {
                        int h = r / hd;
                        int j = (r % hd) / (hd / 2);
                        int i = (r % hd) % (hd / 2);
                        copy(data.asSlice((long) (h * hd + 2 * i + j) * rowBytes, rowBytes), o);
                    }
                }));
            } else {
                out.add(new Out(hf, t.type(), shape, t.byteSize(), o -> copy(data, o)));
            }
        }
        return out;
    }

    private static String hfName(String g, String family) {
        switch (g) {
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
        String layer = g.substring(0, g.indexOf('.', 4) + 1).replace("blk.", "model.layers.");
        String rest = g.substring(g.indexOf('.', 4) + 1);
        boolean gemma2 = family.equals("gemma2") || family.equals("gemma3");
        String hf = switch (rest) {
            case "attn_norm.weight" -> "input_layernorm.weight";
            case "attn_q.weight" -> "self_attn.q_proj.weight";
            case "attn_k.weight" -> "self_attn.k_proj.weight";
            case "attn_v.weight" -> "self_attn.v_proj.weight";
            case "attn_output.weight" -> "self_attn.o_proj.weight";
            case "attn_q_norm.weight" -> "self_attn.q_norm.weight";
            case "attn_k_norm.weight" -> "self_attn.k_norm.weight";
            case "post_attention_norm.weight" -> "post_attention_layernorm.weight";
            case "ffn_norm.weight" -> gemma2 ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight";
            case "post_ffw_norm.weight" -> "post_feedforward_layernorm.weight";
            case "ffn_gate.weight" -> "mlp.gate_proj.weight";
            case "ffn_up.weight" -> "mlp.up_proj.weight";
            case "ffn_down.weight" -> "mlp.down_proj.weight";
            case "ffn_gate_inp.weight" -> "block_sparse_moe.gate.weight";
            default -> throw new IllegalArgumentException("no Hugging Face name for " + g);
        };
        return layer + hf;
    }

    private static Out zeros(String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        long bytes = 4 * n;
        return new Out(name, GgmlType.F32, shape, bytes, o -> o.write(new byte[(int) bytes]));
    }

    private static void copy(MemorySegment s, OutputStream o) throws IOException {
        byte[] chunk = new byte[1 << 20];
        for (long at = 0; at < s.byteSize(); at += chunk.length) {
            int n = (int) Math.min(chunk.length, s.byteSize() - at);
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at, chunk, 0, n);
            o.write(chunk, 0, n);
        }
    }

    /** safetensors: 8-byte little-endian header length, the JSON header padded with spaces to 8 bytes, the tensors back to back. */
    private static void writeSafetensors(Path path, List<Out> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (Out t : tensors) {
            String dtype = switch (t.type()) {
                case F32 -> "F32";
                case F16 -> "F16";
                case BF16 -> "BF16";
                default -> throw new IllegalArgumentException(t.name() + " is " + t.type() + "; safetensors holds float types here");
            };
            header.put(t.name(), Map.of("dtype", dtype, "shape", t.shape(), "data_offsets", new long[] {offset, offset + t.bytes()}));
            offset += t.bytes();
        }
        byte[] h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        try (OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(path), 1 << 20)) {
            o.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            o.write(h);
            o.write(" ".repeat(padded - h.length).getBytes(StandardCharsets.US_ASCII));
            for (Out t : tensors) {
                t.writer().write(o);
            }
        }
    }
}
