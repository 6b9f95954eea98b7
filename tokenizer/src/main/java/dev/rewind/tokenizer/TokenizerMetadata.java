package dev.rewind.tokenizer;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The GGUF-style key/value metadata a {@link Tokenizer} is built from ({@code tokenizer.ggml.*}
 * and {@code general.name}). The signatures match the typed look-ups of the engine's GGUF
 * metadata, so an adapter only delegates; this module does not depend on the GGUF reader.
 *
 * <p>Every method returns an empty result for an absent key. An implementation may throw an
 * {@link IllegalArgumentException} when the key holds a value of another type.
 */
public interface TokenizerMetadata {

    /** The string value of {@code key}. */
    Optional<String> string(String key);

    /** The integer value of {@code key}; a UINT64 beyond {@code Long.MAX_VALUE} comes back negative. */
    OptionalLong integer(String key);

    /** The boolean value of {@code key}. */
    Optional<Boolean> bool(String key);

    /** The array of strings under {@code key}. */
    Optional<List<String>> strings(String key);

    /** The array of floats under {@code key}. */
    Optional<float[]> floats(String key);

    /** The array of integers under {@code key}, narrowed to int. */
    Optional<int[]> ints(String key);
}
