package dev.rewind.models;

import dev.rewind.tokenizer.JsonCursor;
import dev.rewind.tokenizer.JsonReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face {@code config.json} read into Rewind's terms: the family (by {@code architectures[0]},
 * else {@code model_type}) and every hyper-parameter from its Hugging Face key. Keys Rewind cannot honour
 * (a rope scaling type it does not compute, biases or activations its forward pass lacks) are refused
 * by name rather than ignored.
 *
 * @param className     the Hugging Face class, e.g. {@code LlamaForCausalLM}
 * @param config        the hyper-parameters; {@code architecture} is the GGUF name of the family
 * @param tied          {@code tie_word_embeddings}: the output matrix is the embedding
 * @param ropeScaling   the {@code rope_scaling} type read ({@code none}, {@code linear}, {@code llama3})
 * @param slidingWindow {@code sliding_window} as given (0 when absent or null), whether or not the family computes one
 */
public record HfConfig(String className, TransformerConfig config, boolean tied, String ropeScaling, int slidingWindow) {

    /** The file read. */
    public static final String FILE = "config.json";

    /** Far more than any model's config.json (a few KB); a larger one is refused before it is read. */
    static final long MAX_FILE_BYTES = 16L << 20;

    /** Hugging Face classes Rewind runs, with the GGUF architecture each becomes. */
    public static final Map<String, String> CLASSES = classes();

    private static Map<String, String> classes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("LlamaForCausalLM", "llama");
        m.put("MistralForCausalLM", "llama");
        m.put("Qwen2ForCausalLM", "qwen2");
        m.put("GemmaForCausalLM", "gemma");
        m.put("Phi3ForCausalLM", "phi3");
        m.put("Qwen3ForCausalLM", "qwen3");
        m.put("Gemma2ForCausalLM", "gemma2");
        m.put("Gemma3ForCausalLM", "gemma3");
        m.put("Gemma3ForConditionalGeneration", "gemma3");
        m.put("MixtralForCausalLM", "llama");
        return java.util.Collections.unmodifiableMap(m);
    }

    private static final Map<String, String> MODEL_TYPES = Map.ofEntries(
            Map.entry("llama", "LlamaForCausalLM"), Map.entry("mistral", "MistralForCausalLM"),
            Map.entry("qwen2", "Qwen2ForCausalLM"), Map.entry("qwen3", "Qwen3ForCausalLM"),
            Map.entry("gemma", "GemmaForCausalLM"), Map.entry("gemma2", "Gemma2ForCausalLM"),
            Map.entry("gemma3_text", "Gemma3ForCausalLM"), Map.entry("gemma3", "Gemma3ForConditionalGeneration"),
            Map.entry("phi3", "Phi3ForCausalLM"), Map.entry("mixtral", "MixtralForCausalLM"));

    /**
     * Hugging Face's defaults for the keys a Gemma 3 {@code text_config} may leave out (its
     * {@code Gemma3TextConfig}): the released checkpoints omit several of them.
     */
    private static final Map<String, Double> GEMMA3_DEFAULTS = Map.ofEntries(
            Map.entry("num_attention_heads", 8.0), Map.entry("num_key_value_heads", 4.0), Map.entry("head_dim", 256.0),
            Map.entry("vocab_size", 262208.0), Map.entry("max_position_embeddings", 131072.0),
            Map.entry("query_pre_attn_scalar", 256.0), Map.entry("rope_theta", 1_000_000.0),
            Map.entry("rope_local_base_freq", 10000.0), Map.entry("sliding_window", 4096.0),
            Map.entry("sliding_window_pattern", 6.0));

    /** Reads {@code dir/config.json}. */
    public static HfConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(dir, "is a directory without " + FILE
                    + ", so not a Hugging Face model folder (a model is a GGUF file or a folder of config.json, *.safetensors and tokenizer.json)");
        }
        try {
            return parse(JsonCursor.root(JsonReader.parse(JsonReader.readUtf8(file, FILE, MAX_FILE_BYTES), FILE), FILE));
        } catch (IllegalArgumentException e) { // TokenizerException from the JSON, or the Rope check
            throw new ModelFormatException(dir, e.getMessage(), e);
        }
    }

    /** Hugging Face's {@code Gemma2Config} defaults, for the keys a config.json leaves out. */
    private static final Map<String, Double> GEMMA2_DEFAULTS = Map.ofEntries(
            Map.entry("head_dim", 256.0), Map.entry("query_pre_attn_scalar", 256.0), Map.entry("sliding_window", 4096.0),
            Map.entry("attn_logit_softcapping", 50.0), Map.entry("final_logit_softcapping", 30.0),
            Map.entry("max_position_embeddings", 8192.0));

    static HfConfig parse(JsonCursor root) {
        String className = className(root);
        String arch = CLASSES.get(className);
        // Gemma 3's multimodal checkpoints nest the language model's hyper-parameters under text_config
        JsonCursor c = className.equals("Gemma3ForConditionalGeneration") ? root.get("text_config") : root;
        Map<String, Double> defaults = switch (arch) {
            case "gemma2" -> GEMMA2_DEFAULTS;
            case "gemma3" -> GEMMA3_DEFAULTS;
            default -> Map.of();
        };
        int dim = integer(c, "hidden_size", 1 << 20, defaults);
        int layers = integer(c, "num_hidden_layers", 1 << 16, defaults);
        int heads = integer(c, "num_attention_heads", 1 << 16, defaults);
        int kvHeads = c.find("num_key_value_heads").map(v -> v.integer(1, heads))
                .orElse(defaults.containsKey("num_key_value_heads") ? defaults.get("num_key_value_heads").intValue() : heads);
        if (heads % kvHeads != 0) {
            throw c.get("num_key_value_heads").error("num_attention_heads (" + heads + ") is not a multiple of it (" + kvHeads + ")");
        }
        int headDim = c.find("head_dim").isPresent() || defaults.containsKey("head_dim")
                ? integer(c, "head_dim", 1 << 16, defaults) : defaultHeadDim(c, dim, heads);
        int ffn = integer(c, "intermediate_size", 1 << 24, defaults);
        int vocab = integer(c, "vocab_size", 1 << 24, defaults);
        int context = c.find("max_position_embeddings").map(v -> v.integer(1, 1 << 24))
                .orElse(defaults.getOrDefault("max_position_embeddings", 4096.0).intValue());
        double eps = c.find("rms_norm_eps").map(HfConfig::positiveFloat).orElse(1e-6);
        double theta = c.find("rope_theta").map(HfConfig::positiveFloat).orElse(defaults.getOrDefault("rope_theta", 10000.0));
        boolean gemmaFamily = arch.startsWith("gemma");
        boolean tied = c.find("tie_word_embeddings").or(() -> root.find("tie_word_embeddings")).map(JsonCursor::bool).orElse(gemmaFamily);

        requireActivation(c, arch);
        switch (arch) {
            case "llama" -> {
                refuseTrue(c, "attention_bias", "biases on the attention projections");
                refuseTrue(c, "mlp_bias", "biases on the feed-forward projections");
            }
            case "qwen2" -> refuseTrue(c, "use_sliding_window", "sliding-window attention");
            case "qwen3" -> {
                refuseTrue(c, "attention_bias", "biases on the attention projections");
                refuseTrue(c, "use_sliding_window", "sliding-window layers of Qwen 3");
            }
            default -> {
            }
        }
        // Full attention equals sliding-window attention on sequences no longer than the window, so the
        // default context of a family whose forward pass has no window is capped at the window rather
        // than computing something else past it. (Qwen's window is off unless use_sliding_window; Gemma 2
        // and 3 compute theirs.)
        Optional<JsonCursor> window = c.find("sliding_window");
        if (window.isPresent() && !arch.startsWith("qwen") && !arch.equals("gemma2") && !arch.equals("gemma3")) {
            context = Math.min(context, window.get().integer(1, Integer.MAX_VALUE));
        }
        int ropeDim = headDim;
        Optional<JsonCursor> partial = c.find("partial_rotary_factor");
        if (partial.isPresent()) {
            double f = partial.get().number();
            if (!(f > 0 && f <= 1) || Math.abs(f * headDim - Math.rint(f * headDim)) > 1e-9) {
                throw partial.get().error(f + " does not give a whole number of rotated dimensions of head_dim " + headDim);
            }
            ropeDim = (int) Math.rint(f * headDim);
        }
        String scalingType = "none";
        double linear = 1.0;
        float[] factors = null;
        Optional<JsonCursor> scaling = c.find("rope_scaling");
        if (scaling.isPresent()) {
            JsonCursor s = scaling.get();
            scalingType = s.optString("rope_type").or(() -> s.optString("type")).orElseThrow(() -> s.error("has no rope_type"));
            switch (scalingType) {
                case "default" -> scalingType = "none";
                case "linear" -> linear = positive(s.get("factor"));
                case "llama3" -> factors = llama3Factors(s, theta, ropeDim,
                        c.find("original_max_position_embeddings").map(JsonCursor::number));
                default -> throw s.error("rope type '" + scalingType + "' is not supported (supported: linear, llama3)");
            }
        }
        Rope.Style style = Rope.Style.HALVES; // Hugging Face rotates halves for every family, llama included
        Rope rope = new Rope(ropeDim, theta, linear, factors, style);
        TransformerConfig.Attention attention = TransformerConfig.Attention.standard(headDim);
        float logitSoftcap = 0f;
        if (arch.equals("gemma2") || arch.equals("gemma3")) {
            double scalar = number(c, "query_pre_attn_scalar", defaults);
            float scale = (float) (1.0 / Math.sqrt(scalar));
            float attnCap = softcap(c, "attn_logit_softcapping", defaults);
            logitSoftcap = softcap(c, "final_logit_softcapping", defaults);
            int slidingWindow = integer(c, "sliding_window", Integer.MAX_VALUE, defaults);
            int pattern = slidingPattern(c, arch, layers);
            if (pattern == 0) {
                slidingWindow = 0; // layer_types says every layer is global
            }
            Rope local = null;
            if (arch.equals("gemma3")) { // local layers: their own base, never scaled (Hugging Face's rotary_emb_local)
                double localBase = c.find("rope_local_base_freq").map(HfConfig::positiveFloat).orElse(defaults.get("rope_local_base_freq"));
                local = new Rope(ropeDim, localBase, 1.0, null, style);
            }
            attention = new TransformerConfig.Attention(scale, attnCap, slidingWindow, pattern, local);
        } else {
            for (String key : new String[] {"attn_logit_softcapping", "final_logit_softcapping"}) {
                if (c.find(key).isPresent()) {
                    throw c.get(key).error("soft-capping is supported only in Gemma 2 and Gemma 3 models");
                }
            }
        }
        TransformerConfig.Experts experts = TransformerConfig.Experts.NONE;
        if (className.equals("MixtralForCausalLM")) {
            int n = c.get("num_local_experts").integer(1, 1024);
            int used = c.get("num_experts_per_tok").integer(1, n);
            experts = new TransformerConfig.Experts(n, used);
        } else if (c.find("num_local_experts").isPresent()) {
            throw c.get("num_local_experts").error("experts are supported only in MixtralForCausalLM models");
        }
        TransformerConfig config = new TransformerConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, context,
                (float) eps, rope, attention, logitSoftcap, experts, null);
        return new HfConfig(className, config, tied, scalingType,
                window.map(v -> v.integer(1, Integer.MAX_VALUE)).orElse(0));
    }

    private static int defaultHeadDim(JsonCursor c, int dim, int heads) {
        if (dim % heads != 0) {
            throw c.get("hidden_size").error("is not a multiple of num_attention_heads and head_dim is absent");
        }
        return dim / heads;
    }

    /** The integer {@code key}, or the family's Hugging Face default when absent (else: refused as missing). */
    private static int integer(JsonCursor c, String key, int max, Map<String, Double> defaults) {
        Optional<JsonCursor> v = c.find(key);
        if (v.isEmpty() && defaults.containsKey(key)) {
            return defaults.get(key).intValue();
        }
        return c.get(key).integer(1, max);
    }

    private static double number(JsonCursor c, String key, Map<String, Double> defaults) {
        Optional<JsonCursor> v = c.find(key);
        if (v.isEmpty() && defaults.containsKey(key)) {
            return defaults.get(key);
        }
        return positiveFloat(c.get(key));
    }

    /** A soft-cap: null means none, absent means the family's default (Gemma 2: 50 and 30; Gemma 3: none). */
    private static float softcap(JsonCursor c, String key, Map<String, Double> defaults) {
        if (c.fields().containsKey(key)) {
            return c.find(key).map(v -> (float) positiveFloat(v)).orElse(0f);
        }
        return defaults.getOrDefault(key, 0.0).floatValue();
    }

    /**
     * Which layers slide, as Rewind's pattern p (layer l slides iff l % p < p - 1; 1: all; 0: none):
     * from {@code layer_types} when given (it must be such a pattern), else Gemma 2's alternation (even
     * layers slide) or Gemma 3's {@code sliding_window_pattern} (default 6: five local, one global).
     */
    private static int slidingPattern(JsonCursor c, String arch, int layers) {
        Optional<JsonCursor> types = c.find("layer_types");
        if (types.isPresent()) {
            List<JsonCursor> list = types.get().elements();
            if (list.size() != layers) {
                throw types.get().error("has " + list.size() + " entries for " + layers + " layers");
            }
            boolean[] sliding = new boolean[layers];
            boolean any = false;
            for (int l = 0; l < layers; l++) {
                String t = list.get(l).string();
                switch (t) {
                    case "sliding_attention" -> sliding[l] = any = true;
                    case "full_attention" -> sliding[l] = false;
                    default -> throw list.get(l).error("'" + t + "' is not a layer type (sliding_attention, full_attention)");
                }
            }
            if (!any) {
                return 0;
            }
            for (int p = 1; p <= layers + 1; p++) {
                boolean fits = true;
                for (int l = 0; l < layers && fits; l++) {
                    fits = sliding[l] == (p == 1 || l % p < p - 1);
                }
                if (fits) {
                    return p;
                }
            }
            throw types.get().error("is not a repeating pattern of sliding layers followed by one global layer, the only kind Rewind runs");
        }
        if (arch.equals("gemma2")) {
            return 2;
        }
        return c.find("sliding_window_pattern").map(v -> v.integer(1, 1 << 16)).orElse(GEMMA3_DEFAULTS.get("sliding_window_pattern").intValue());
    }

    private static String className(JsonCursor c) {
        if (c.optString("model_type").filter("bert"::equals).isPresent()) {
            throw c.get("model_type").error("'bert' is a sentence encoder, which Rewind runs for embeddings (bert.BertEmbedder),"
                    + " not for generation");
        }
        Optional<JsonCursor> list = c.find("architectures");
        if (list.isPresent()) {
            List<JsonCursor> names = list.get().elements();
            if (names.isEmpty()) {
                throw list.get().error("is empty");
            }
            String name = names.get(0).string();
            if (!CLASSES.containsKey(name)) {
                throw names.get(0).error("'" + name + "' is not supported (supported: " + String.join(", ", CLASSES.keySet()) + ")");
            }
            return name;
        }
        JsonCursor type = c.get("model_type");
        String name = MODEL_TYPES.get(type.string());
        if (name == null) {
            throw type.error("'" + type.string() + "' is not supported (supported: " + String.join(", ", MODEL_TYPES.keySet()) + ")");
        }
        return name;
    }

    private static void requireActivation(JsonCursor c, String arch) {
        Optional<JsonCursor> act = c.find("hidden_activation").or(() -> c.find("hidden_act"));
        if (act.isEmpty()) {
            return;
        }
        String a = act.get().string();
        // Hugging Face runs every Gemma 1 checkpoint with the tanh approximation whatever it names.
        boolean gelu = arch.startsWith("gemma");
        boolean ok = arch.equals("gemma") ? a.equals("gelu_pytorch_tanh") || a.equals("gelu")
                : gelu ? a.equals("gelu_pytorch_tanh") : a.equals("silu");
        if (!ok) {
            throw act.get().error("activation '" + a + "' is not supported for " + arch + " (supported: "
                    + (gelu ? "gelu_pytorch_tanh" : "silu") + ")");
        }
    }

    private static void refuseTrue(JsonCursor c, String key, String what) {
        if (c.bool(key, false)) {
            throw c.get(key).error("is true, but Rewind's " + what + " are not implemented");
        }
    }

    private static double positive(JsonCursor v) {
        double d = v.number();
        if (!(d > 0) || Double.isInfinite(d)) {
            throw v.error("must be a positive number, got " + d);
        }
        return d;
    }

    /** A number the forward pass uses as a float32: positive and finite once rounded to float (1e-50 and 1e50 are not). */
    private static double positiveFloat(JsonCursor v) {
        double d = v.number();
        float f = (float) d;
        if (!(f > 0) || !Float.isFinite(f)) {
            throw v.error("must be a finite positive number (as a float32), got " + d);
        }
        return d;
    }

    /**
     * Llama 3's per-pair divisors of the rope angle, computed in float32 as llama.cpp's converter
     * writes them into {@code rope_freqs.weight} (so a converted file holds the same bytes): pairs
     * whose wavelength is under {@code original / high_freq_factor} keep 1, those over
     * {@code original / low_freq_factor} get {@code factor}, and the band between is interpolated.
     */
    static float[] llama3Factors(JsonCursor s, double theta, int ropeDim, Optional<Double> topLevelOriginal) {
        double factor = s.find("factor").map(HfConfig::positive).orElse(8.0);
        double low = s.find("low_freq_factor").map(HfConfig::positive).orElse(1.0);
        double high = s.find("high_freq_factor").map(HfConfig::positive).orElse(4.0);
        double original = s.find("original_max_position_embeddings").map(HfConfig::positive)
                .or(() -> topLevelOriginal).orElse(8192.0);
        if (low == high) {
            throw s.error("low_freq_factor equals high_freq_factor");
        }
        // Python scalars meet float32 tensors: each scalar is rounded to float32 where it meets one.
        float lowWavelen = (float) (original / low);
        float highWavelen = (float) (original / high);
        float[] out = new float[ropeDim / 2];
        for (int i = 0; i < out.length; i++) {
            float exponent = (float) (2 * i) / ropeDim;
            float freq = 1.0f / (float) Math.pow((float) theta, exponent);
            float wavelen = (float) (2 * Math.PI) / freq;
            if (wavelen < highWavelen) {
                out[i] = 1;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) factor;
            } else {
                float smooth = ((float) original / wavelen - (float) low) / (float) (high - low);
                out[i] = 1 / ((1 - smooth) / (float) factor + smooth);
            }
        }
        return out;
    }
}
