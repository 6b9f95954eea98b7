package dev.rewind.models.bert;

import dev.rewind.tokenizer.JsonCursor;
import dev.rewind.tokenizer.JsonReader;
import dev.rewind.tokenizer.TokenizerException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What sentence-transformers' files in a model folder say about making a sentence vector:
 * {@code modules.json} (the module chain: {@code Transformer}, then {@code Pooling} with its
 * {@code config.json}, then optionally {@code Normalize}) and {@code sentence_bert_config.json}'s
 * {@code max_seq_length}. A folder without {@code modules.json} gets mean pooling and L2 normalisation,
 * the vectors Rewind's other encoders give (sentence-transformers itself would not normalise them).
 *
 * @param pooling      the pooling and normalisation
 * @param maxSeqLength {@code max_seq_length} when the folder gives one
 */
record SentenceTransformersConfig(BertPooling pooling, OptionalInt maxSeqLength) {

    static final String MODULES = "modules.json";
    static final String SENTENCE_BERT = "sentence_bert_config.json";
    private static final long MAX_BYTES = 1 << 20;
    private static final String PACKAGE = "sentence_transformers.models.";

    /** The pooling keys of a Pooling module's {@code config.json}, with the modes Rewind computes. */
    private static final Map<String, BertPooling.Mode> SUPPORTED = Map.of(
            "pooling_mode_mean_tokens", BertPooling.Mode.MEAN, "pooling_mode_cls_token", BertPooling.Mode.CLS);
    private static final List<String> UNSUPPORTED = List.of("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken");

    /**
     * Reads {@code dir}'s sentence-transformers files.
     *
     * @param hidden the encoder's width, which a Pooling module's {@code word_embedding_dimension} must equal
     * @throws IOException naming the file and key when a module or pooling mode is not one Rewind computes
     */
    static SentenceTransformersConfig read(Path dir, int hidden) throws IOException {
        try {
            return new SentenceTransformersConfig(pooling(dir, hidden), maxSeqLength(dir));
        } catch (TokenizerException e) { // the JSON cursors' one-line errors, naming file and path
            throw new IOException(e.getMessage(), e);
        }
    }

    private static BertPooling pooling(Path dir, int hidden) throws IOException {
        Path modules = dir.resolve(MODULES);
        if (!Files.isRegularFile(modules)) {
            return BertPooling.MEAN_NORMALIZED;
        }
        BertPooling.Mode mode = null;
        boolean normalize = false;
        List<String> seen = new ArrayList<>();
        for (JsonCursor module : json(modules).elements()) {
            JsonCursor typeAt = module.get("type");
            String type = typeAt.string();
            String kind = type.startsWith(PACKAGE) ? type.substring(PACKAGE.length()) : type;
            switch (kind) {
                case "Transformer" -> {
                    if (!seen.isEmpty()) {
                        throw typeAt.error("the Transformer module must come first");
                    }
                }
                case "Pooling" -> {
                    if (!seen.equals(List.of("Transformer"))) {
                        throw typeAt.error("a Pooling module must follow the Transformer directly");
                    }
                    mode = mode(dir, module.get("path"), hidden);
                }
                case "Normalize" -> {
                    if (mode == null) {
                        throw typeAt.error("Normalize before any Pooling module");
                    }
                    normalize = true;
                }
                default -> throw typeAt.error("module '" + type + "' is not one Rewind runs (Transformer, Pooling, Normalize)");
            }
            if (seen.contains(kind)) {
                throw typeAt.error("a second " + kind + " module");
            }
            seen.add(kind);
        }
        if (mode == null) {
            throw new IOException(modules + ": no Pooling module (Rewind makes sentence vectors by pooling the token states)");
        }
        return new BertPooling(mode, normalize);
    }

    /** The mode of the Pooling module at {@code pathAt} (its folder's {@code config.json}). */
    private static BertPooling.Mode mode(Path dir, JsonCursor pathAt, int hidden) throws IOException {
        String sub = pathAt.string();
        if (sub.contains("..") || sub.startsWith("/") || sub.contains("\\")) {
            throw pathAt.error("'" + sub + "' is not a folder inside the model folder");
        }
        Path file = dir.resolve(sub).resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": missing (the Pooling module's config, which modules.json names)");
        }
        JsonCursor config = json(file);
        BertPooling.Mode mode = null;
        for (String key : UNSUPPORTED) {
            if (config.bool(key, false)) {
                throw config.get(key).error("this pooling is not one Rewind computes (pooling_mode_mean_tokens and"
                        + " pooling_mode_cls_token are)");
            }
        }
        for (Map.Entry<String, BertPooling.Mode> e : SUPPORTED.entrySet()) {
            if (config.bool(e.getKey(), false)) {
                if (mode != null) {
                    throw config.get(e.getKey()).error("a second pooling mode is on (Rewind pools one way, not a concatenation)");
                }
                mode = e.getValue();
            }
        }
        if (mode == null) {
            throw new IOException(file + ": no pooling_mode_* key is true");
        }
        var dimension = config.find("word_embedding_dimension");
        if (dimension.isPresent() && dimension.get().integer(1, Integer.MAX_VALUE) != hidden) {
            throw dimension.get().error("is not the encoder's width " + hidden);
        }
        return mode;
    }

    private static OptionalInt maxSeqLength(Path dir) throws IOException {
        Path file = dir.resolve(SENTENCE_BERT);
        if (!Files.isRegularFile(file)) {
            return OptionalInt.empty();
        }
        return json(file).find("max_seq_length").map(c -> OptionalInt.of(c.integer(3, 1 << 20))).orElse(OptionalInt.empty());
    }

    private static JsonCursor json(Path file) throws IOException {
        return JsonCursor.root(JsonReader.parse(JsonReader.readUtf8(file, file.toString(), MAX_BYTES), file.toString()), file.toString());
    }
}
