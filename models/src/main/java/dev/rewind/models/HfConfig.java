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
 */
public record HfConfig(String className, TransformerConfig config, boolean tied, String ropeScaling) {

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
        return java.util.Collections.unmodifiableMap(m);
    }

    private static final Map<String, String> MODEL_TYPES = Map.of(
            "llama", "LlamaForCausalLM", "mistral", "MistralForCausalLM", "qwen2", "Qwen2ForCausalLM",
            "gemma", "GemmaForCausalLM", "phi3", "Phi3ForCausalLM");

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

    static HfConfig parse(JsonCursor c) {
        String className = className(c);
        String arch = CLASSES.get(className);
        int dim = c.get("hidden_size").integer(1, 1 << 20);
        int layers = c.get("num_hidden_layers").integer(1, 1 << 16);
        int heads = c.get("num_attention_heads").integer(1, 1 << 16);
        int kvHeads = c.find("num_key_value_heads").map(v -> v.integer(1, heads)).orElse(heads);
        if (heads % kvHeads != 0) {
            throw c.get("num_key_value_heads").error("num_attention_heads (" + heads + ") is not a multiple of it (" + kvHeads + ")");
        }
        int headDim = c.find("head_dim").map(v -> v.integer(1, 1 << 16)).orElseGet(() -> {
            if (dim % heads != 0) {
                throw c.get("hidden_size").error("is not a multiple of num_attention_heads and head_dim is absent");
            }
            return dim / heads;
        });
        int ffn = c.get("intermediate_size").integer(1, 1 << 24);
        int vocab = c.get("vocab_size").integer(1, 1 << 24);
        int context = c.find("max_position_embeddings").map(v -> v.integer(1, 1 << 24)).orElse(4096);
        double eps = c.find("rms_norm_eps").map(HfConfig::positiveFloat).orElse(1e-6);
        double theta = c.find("rope_theta").map(HfConfig::positiveFloat).orElse(10000.0);
        boolean tied = c.find("tie_word_embeddings").map(JsonCursor::bool).orElse(arch.equals("gemma"));

        requireActivation(c, arch);
        switch (arch) {
            case "llama" -> {
                refuseTrue(c, "attention_bias", "biases on the attention projections");
                refuseTrue(c, "mlp_bias", "biases on the feed-forward projections");
            }
            case "qwen2" -> refuseTrue(c, "use_sliding_window", "sliding-window attention");
            default -> {
            }
        }
        // Full attention equals sliding-window attention on sequences no longer than the window, so the
        // default context is capped at the window rather than computing something else past it.
        Optional<JsonCursor> window = c.find("sliding_window");
        if (window.isPresent() && !arch.equals("qwen2")) {
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
        TransformerConfig config = new TransformerConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, context,
                (float) eps, rope);
        return new HfConfig(className, config, tied, scalingType);
    }

    private static String className(JsonCursor c) {
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
        boolean ok = arch.equals("gemma") ? a.equals("gelu_pytorch_tanh") || a.equals("gelu") : a.equals("silu");
        if (!ok) {
            throw act.get().error("activation '" + a + "' is not supported for " + arch + " (supported: "
                    + (arch.equals("gemma") ? "gelu_pytorch_tanh" : "silu") + ")");
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
