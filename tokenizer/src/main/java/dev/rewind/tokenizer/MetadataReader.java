package dev.rewind.tokenizer;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

/** Typed reads of tokenizer metadata that fail with a {@link TokenizerException} naming the key. */
final class MetadataReader {

    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS_ID = "tokenizer.ggml.bos_token_id";
    static final String EOS_ID = "tokenizer.ggml.eos_token_id";
    static final String EOT_ID = "tokenizer.ggml.eot_token_id";
    static final String EOM_ID = "tokenizer.ggml.eom_token_id";
    static final String UNKNOWN_ID = "tokenizer.ggml.unknown_token_id";
    static final String PADDING_ID = "tokenizer.ggml.padding_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";
    static final String GENERAL_NAME = "general.name";

    /** A token id of 2^32 − 1 (UINT32 −1) is how GGUF files say "no such token". */
    private static final long NO_TOKEN = 0xFFFF_FFFFL;

    private final TokenizerMetadata metadata;

    MetadataReader(TokenizerMetadata metadata) {
        this.metadata = metadata;
    }

    Optional<String> string(String key) {
        return read(key, metadata::string);
    }

    String requiredString(String key) {
        return string(key).orElseThrow(() -> missing(key));
    }

    Optional<Boolean> bool(String key) {
        return read(key, metadata::bool);
    }

    Optional<List<String>> strings(String key) {
        return read(key, metadata::strings);
    }

    List<String> requiredStrings(String key) {
        return strings(key).orElseThrow(() -> missing(key));
    }

    /** An array of at least {@code minLength} floats, if present. */
    Optional<float[]> floats(String key, int minLength) {
        Optional<float[]> values = read(key, metadata::floats);
        values.ifPresent(v -> checkLength(key, v.length, minLength));
        return values;
    }

    /**
     * Token scores: an array of at least {@code minLength} floats, or of integers (which llama.cpp also
     * accepts), if present.
     */
    Optional<float[]> scores(String key, int minLength) {
        Optional<float[]> scores = floatOrIntScores(key, minLength);
        scores.ifPresent(values -> {
            for (int i = 0; i < values.length; i++) {
                if (Float.isNaN(values[i])) { // merges are ordered by score: NaN has no order
                    throw new TokenizerException("metadata key '" + key + "' holds NaN at index " + i);
                }
            }
        });
        return scores;
    }

    private Optional<float[]> floatOrIntScores(String key, int minLength) {
        try {
            return floats(key, minLength);
        } catch (TokenizerException notFloats) {
            Optional<int[]> integers;
            try {
                integers = ints(key, minLength);
            } catch (TokenizerException notInts) {
                throw notFloats;
            }
            return integers.map(values -> {
                float[] out = new float[values.length];
                for (int i = 0; i < values.length; i++) {
                    out[i] = values[i];
                }
                return out;
            });
        }
    }

    /** An array of at least {@code minLength} ints, if present. */
    Optional<int[]> ints(String key, int minLength) {
        Optional<int[]> values = read(key, metadata::ints);
        values.ifPresent(v -> checkLength(key, v.length, minLength));
        return values;
    }

    /**
     * A token id: {@code fallback} if the key is absent or holds 2^32 − 1 (llama.cpp then keeps its
     * default), else the value, which must be a valid id.
     */
    int tokenId(String key, int fallback, int vocabularySize) {
        OptionalLong value = read(key, k -> Optional.of(metadata.integer(k))).orElse(OptionalLong.empty());
        if (value.isEmpty() || value.getAsLong() == NO_TOKEN || value.getAsLong() == -1) {
            return fallback;
        }
        long id = value.getAsLong();
        if (id < 0 || id >= vocabularySize) {
            throw new TokenizerException("metadata key '" + key + "' holds token id " + id
                    + ", outside the vocabulary of " + vocabularySize + " tokens");
        }
        return (int) id;
    }

    private static void checkLength(String key, int length, int minLength) {
        if (length < minLength) {
            throw new TokenizerException("metadata key '" + key + "' has " + length
                    + " entries but the vocabulary has " + minLength + " tokens");
        }
    }

    private static <T> Optional<T> read(String key, Function<String, Optional<T>> lookup) {
        try {
            return lookup.apply(key);
        } catch (TokenizerException e) {
            throw e;
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new TokenizerException("metadata key '" + key + "' is malformed: " + e.getMessage(), e);
        }
    }

    static TokenizerException missing(String key) {
        return new TokenizerException("metadata key '" + key + "' is missing");
    }
}
