package dev.rewind.models;

import dev.rewind.engine.gguf.GgufMetadata;
import dev.rewind.tokenizer.TokenizerMetadata;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The metadata of a GGUF file as the tokenizer reads it: every look-up delegates to
 * {@link GgufMetadata}, which throws an {@link IllegalArgumentException} naming the key when a value
 * has the wrong type.
 *
 * @param metadata the file's metadata
 */
public record GgufTokenizerMetadata(GgufMetadata metadata) implements TokenizerMetadata {

    @Override
    public Optional<String> string(String key) {
        return metadata.string(key);
    }

    @Override
    public OptionalLong integer(String key) {
        return metadata.integer(key);
    }

    @Override
    public Optional<Boolean> bool(String key) {
        return metadata.bool(key);
    }

    @Override
    public Optional<List<String>> strings(String key) {
        return metadata.strings(key);
    }

    @Override
    public Optional<float[]> floats(String key) {
        return metadata.floats(key);
    }

    @Override
    public Optional<int[]> ints(String key) {
        return metadata.ints(key);
    }
}
