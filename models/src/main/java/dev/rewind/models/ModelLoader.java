package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufMetadata;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.tensor.WeightPacker;
import dev.rewind.engine.text.Escape;
import dev.rewind.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.BiConsumer;

/**
 * Opens a GGUF file and builds the model its {@code general.architecture} names, with the
 * tokenizer its metadata describes; or, given a folder, a Hugging Face model: {@code config.json},
 * safetensors weights ({@link HfWeights}) and {@code tokenizer.json}.
 */
public final class ModelLoader {

    /** The {@code general.architecture} values Rewind runs. */
    public static final java.util.List<String> SUPPORTED_ARCHITECTURES = java.util.List.of("llama", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3");

    /** The largest width, count or length a metadata key may give (so products of two stay far from overflow). */
    static final int MAX_WIDTH = 1 << 24;
    /** The most tokens a vocabulary may have. */
    static final int MAX_VOCABULARY = 1 << 24;

    private ModelLoader() {
    }

    /** {@link #load(Path, WorkerPool, Precision)} with the {@link Precision#FAST} path. */
    public static LoadedModel load(Path path, WorkerPool pool) throws IOException {
        return load(path, pool, Precision.FAST);
    }

    /**
     * Maps {@code path} and builds the model and tokenizer, computing at {@code precision} (for
     * {@link Precision#FAST}, the quantized matrices are packed now, over {@code pool}). The
     * returned {@link LoadedModel} owns the mapping and the packed weights; close it to free them.
     *
     * @throws ModelFormatException when the file is GGUF but not a model Rewind can run
     * @throws IOException          when it cannot be read or is not valid GGUF
     */
    public static LoadedModel load(Path path, WorkerPool pool, Precision precision) throws IOException {
        return load(path, pool, precision, (Quantization) null, null);
    }

    /**
     * {@link #load(Path, WorkerPool, Precision)}, turning F32/F16/BF16 weight matrices into
     * {@code quantize} (Q8_0 or Q4_0; null: keep them) while loading, into off-heap memory the
     * returned model owns; {@code progress} (may be null) is told each matrix quantized and the
     * source bytes done so far.
     */
    public static LoadedModel load(Path path, WorkerPool pool, Precision precision, GgmlType quantize,
                                   BiConsumer<String, Long> progress) throws IOException {
        return load(path, pool, precision, quantize == null ? null : Quantization.pure(quantize), progress);
    }

    /**
     * {@link #load(Path, WorkerPool, Precision, GgmlType, BiConsumer)} with a type or k-quant mixture
     * ({@link LoadTimeQuantizer#TYPES}); a matrix whose rows a k-quant cannot take is refused, naming it.
     */
    public static LoadedModel load(Path path, WorkerPool pool, Precision precision, Quantization quantize,
                                   BiConsumer<String, Long> progress) throws IOException {
        LoadTimeQuantizer quantizer = quantize == null ? null : new LoadTimeQuantizer(quantize, pool, progress);
        WeightPacker packer = precision == Precision.FAST ? new WeightPacker(pool) : null;
        ModelWeights weights = null;
        try {
            Tokenizer tokenizer;
            TransformerConfig config;
            if (Files.isDirectory(path)) {
                HfConfig hf = HfConfig.read(path);
                tokenizer = loadTokenizer(path);
                weights = HfWeights.open(path, hf);
                config = hf.config();
            } else {
                GgufFile file = GgufFile.open(path);
                weights = new GgufWeights(file);
                tokenizer = tokenizer(file);
                config = config(file);
                checkVocabulary(file, tokenizer, config);
            }
            if (quantizer != null) {
                quantizer.model(config, weights.tensor("output.weight").isEmpty());
            }
            LanguageModel model = build(path, config, new ModelTensors(weights, packer, quantizer), pool);
            return new LoadedModel(weights, model, tokenizer, precision, packer, quantizer);
        } catch (IOException | RuntimeException e) {
            if (packer != null) {
                packer.close();
            }
            if (quantizer != null) {
                quantizer.close();
            }
            if (weights != null) {
                weights.close();
            }
            throw e;
        }
    }

    private static LanguageModel build(Path path, TransformerConfig config, ModelTensors tensors, WorkerPool pool)
            throws ModelFormatException {
        return switch (config.architecture()) {
            case "llama" -> config.experts().present() ? Mixtral.load(tensors, config, pool) : Llama.load(tensors, config, pool);
            case "qwen2" -> Qwen2.load(tensors, config, pool);
            case "qwen3" -> Qwen3.load(tensors, config, pool);
            case "gemma" -> Gemma.load(tensors, config, pool);
            case "gemma2" -> Gemma2.load(tensors, config, pool);
            case "gemma3" -> Gemma3.load(tensors, config, pool);
            case "phi3" -> Phi3.load(tensors, config, pool);
            default -> throw new ModelFormatException(path, "architecture '" + config.architecture()
                    + "' is not supported (supported: " + String.join(", ", SUPPORTED_ARCHITECTURES) + ")");
        };
    }

    /**
     * Builds only the tokenizer: of a GGUF file (vocabulary-only files work), or of a Hugging Face
     * folder ({@code tokenizer.json} with {@code tokenizer_config.json}, whose chat template it keeps).
     */
    public static Tokenizer loadTokenizer(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (!Files.isRegularFile(path.resolve("tokenizer.json"))) {
                throw new ModelFormatException(path, "is a directory without tokenizer.json, so not a Hugging Face model folder"
                        + " (a model is a GGUF file or a folder of config.json, *.safetensors and tokenizer.json)");
            }
            try {
                return Tokenizer.fromHuggingFace(path);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(path, e.getMessage(), e);
            }
        }
        try (GgufFile file = GgufFile.open(path)) {
            return tokenizer(file);
        }
    }

    static Tokenizer tokenizer(GgufFile file) throws ModelFormatException {
        try {
            return Tokenizer.fromMetadata(new GgufTokenizerMetadata(file.metadata()));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file.path(), "bad tokenizer metadata: " + Escape.excerpt(String.valueOf(e.getMessage()), 400), e);
        }
    }

    /**
     * Every token id the tokenizer produces must have an embedding row, and every logit the output
     * matrix produces must be a token the tokenizer can print: the two counts must be equal (as in
     * llama.cpp, which sizes both matrices from the vocabulary).
     */
    static void checkVocabulary(GgufFile file, Tokenizer tokenizer, TransformerConfig config) throws ModelFormatException {
        if (tokenizer.vocabularySize() != config.vocabularySize()) {
            throw new ModelFormatException(file.path(), "the vocabulary has " + tokenizer.vocabularySize()
                    + " tokens (tokenizer.ggml.tokens) but tensor 'token_embd.weight' has " + config.vocabularySize()
                    + " rows; they must be equal");
        }
    }

    /** Reads the transformer hyper-parameters under the {@code <architecture>.} prefix, the family's own included ({@link FamilyParameters}), checking what the forward pass relies on. */
    static TransformerConfig config(GgufFile file) throws ModelFormatException {
        Path path = file.path();
        GgufMetadata m = file.metadata();
        try {
            String arch = m.string("general.architecture")
                    .orElseThrow(() -> new ModelFormatException(path, "metadata key 'general.architecture' is missing"));
            if (!SUPPORTED_ARCHITECTURES.contains(arch)) {
                throw new ModelFormatException(path, "architecture " + Escape.quote(arch) + " is not supported (supported: "
                        + String.join(", ", SUPPORTED_ARCHITECTURES) + ")");
            }
            String p = arch + ".";
            int dim = positive(path, m, p + "embedding_length");
            int layers = positive(path, m, p + "block_count");
            if (layers > file.tensors().size()) {
                throw new ModelFormatException(path, "metadata key '" + p + "block_count' = " + layers + " but the file has only "
                        + file.tensors().size() + " tensors");
            }
            int heads = positive(path, m, p + "attention.head_count");
            int kvHeads = optionalPositive(path, m, p + "attention.head_count_kv", heads);
            if (heads % kvHeads != 0) {
                throw new ModelFormatException(path, p + "attention.head_count (" + heads
                        + ") is not a multiple of attention.head_count_kv (" + kvHeads + ")");
            }
            if (!m.contains(p + "attention.key_length") && dim < heads) {
                throw new ModelFormatException(path, p + "embedding_length (" + dim + ") is smaller than " + p
                        + "attention.head_count (" + heads + "), so a head would have no dimensions");
            }
            int headDim = optionalPositive(path, m, p + "attention.key_length", dim / heads);
            if ((long) heads * headDim > MAX_WIDTH) {
                throw new ModelFormatException(path, p + "attention.head_count (" + heads + ") × head dimension (" + headDim
                        + ") is out of range (at most " + MAX_WIDTH + ")");
            }
            int ffnDim = positive(path, m, p + "feed_forward_length");
            int context = positive(path, m, p + "context_length");
            String epsKey = p + "attention.layer_norm_rms_epsilon";
            float eps = (float) m.real(epsKey)
                    .orElseThrow(() -> new ModelFormatException(path, "metadata key '" + epsKey + "' is missing"));
            if (!(eps > 0) || !Float.isFinite(eps)) {
                throw new ModelFormatException(path, "metadata key '" + epsKey + "' = " + eps + " must be a finite positive number");
            }
            long embeddingRows = file.tensor("token_embd.weight").map(t -> t.dim(1))
                    .orElseThrow(() -> new ModelFormatException(path, "tensor 'token_embd.weight' is missing"));
            if (embeddingRows > MAX_VOCABULARY) {
                throw new ModelFormatException(path, "tensor 'token_embd.weight' has " + embeddingRows + " rows, more than "
                        + MAX_VOCABULARY + " tokens");
            }
            int vocab = (int) embeddingRows;
            String ropeKey = p + "rope.dimension_count";
            int ropeDim = optionalPositive(path, m, ropeKey, headDim);
            if (ropeDim > headDim || ropeDim % 2 != 0) {
                throw new ModelFormatException(path, "metadata key '" + ropeKey + "' = " + ropeDim + " must be an even number of at most"
                        + " the head dimension " + headDim + " (the rotated pairs are dimensions of a head)");
            }
            String baseKey = p + "rope.freq_base";
            double base = m.real(baseKey).orElse(10000.0);
            if (!(base > 0) || !Double.isFinite(base)) {
                throw new ModelFormatException(path, "metadata key '" + baseKey + "' = " + base + " must be a finite positive number");
            }
            String scaling = m.string(p + "rope.scaling.type").orElse("none");
            double linearScale = switch (scaling) {
                case "none" -> 1.0;
                case "linear" -> {
                    String factorKey = p + "rope.scaling.factor";
                    double f = m.real(factorKey).orElse(0);
                    if (f < 0 || !Double.isFinite(f)) {
                        throw new ModelFormatException(path, "metadata key '" + factorKey + "' = " + f
                                + " must be a finite positive number (or 0 for none)");
                    }
                    yield f > 0 ? f : 1.0; // 0 means no scaling, as in llama.cpp
                }
                default -> throw new ModelFormatException(path, "rope scaling type " + Escape.quote(scaling)
                        + " (" + p + "rope.scaling.type) is not supported (supported: none, linear, and rope_freqs factors)");
            };
            float[] freqFactors = file.tensor("rope_freqs.weight").isPresent()
                    ? new ModelTensors(file).vector("rope_freqs.weight", ropeDim / 2) : null;
            if (freqFactors != null) {
                for (int i = 0; i < freqFactors.length; i++) {
                    if (!(freqFactors[i] > 0) || !Float.isFinite(freqFactors[i])) {
                        throw new ModelFormatException(path, "tensor 'rope_freqs.weight' holds " + freqFactors[i] + " at index " + i
                                + "; every frequency factor must be a finite positive number");
                    }
                }
            }
            Rope.Style style = switch (arch) {
                case "llama" -> Rope.Style.ADJACENT;
                default -> Rope.Style.HALVES;
            };
            Rope rope = new Rope(ropeDim, base, linearScale, freqFactors, style);
            return FamilyParameters.complete(file, new TransformerConfig(arch, dim, layers, heads, kvHeads, headDim, ffnDim, vocab, context, eps, rope));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(path, e.getMessage(), e);
        }
    }

    private static int positive(Path path, GgufMetadata m, String key) throws ModelFormatException {
        OptionalLong v = m.integer(key);
        if (v.isEmpty()) {
            throw new ModelFormatException(path, "metadata key '" + key + "' is missing");
        }
        return checkRange(path, key, v.getAsLong());
    }

    private static int optionalPositive(Path path, GgufMetadata m, String key, int fallback) throws ModelFormatException {
        OptionalLong v = m.integer(key);
        return v.isEmpty() ? fallback : checkRange(path, key, v.getAsLong());
    }

    private static int checkRange(Path path, String key, long v) throws ModelFormatException {
        if (v <= 0 || v > MAX_WIDTH) {
            throw new ModelFormatException(path, "metadata key '" + key + "' = " + (v < 0 ? Long.toUnsignedString(v) + " (or " + v + ")" : v)
                    + " is out of range (1 to " + MAX_WIDTH + ")");
        }
        return (int) v;
    }
}
