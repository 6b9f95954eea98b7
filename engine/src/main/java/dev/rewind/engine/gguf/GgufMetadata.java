package dev.rewind.engine.gguf;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The key/value metadata of a GGUF file, in file order, with typed look-ups. A look-up of a
 * key that holds a value of another type throws {@link IllegalArgumentException} naming the key
 * and both types; an absent key is an empty result.
 */
public final class GgufMetadata {

    private final Map<String, GgufValue> values;

    GgufMetadata(Map<String, GgufValue> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /** All entries in file order. */
    public Map<String, GgufValue> asMap() {
        return values;
    }

    public Optional<GgufValue> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    public Optional<String> string(String key) {
        return switch (values.get(key)) {
            case null -> Optional.empty();
            case GgufValue.Str s -> Optional.of(s.value());
            case GgufValue v -> throw wrongType(key, "a string", v);
        };
    }

    /** Any integer type; a UINT64 beyond {@code Long.MAX_VALUE} comes back negative (its bit pattern). */
    public OptionalLong integer(String key) {
        return switch (values.get(key)) {
            case null -> OptionalLong.empty();
            case GgufValue.Int i -> OptionalLong.of(i.value());
            case GgufValue v -> throw wrongType(key, "an integer", v);
        };
    }

    /** A float, or an integer widened to double. */
    public OptionalDouble real(String key) {
        return switch (values.get(key)) {
            case null -> OptionalDouble.empty();
            case GgufValue.Real r -> OptionalDouble.of(r.value());
            case GgufValue.Int i -> OptionalDouble.of(i.value());
            case GgufValue v -> throw wrongType(key, "a number", v);
        };
    }

    public Optional<Boolean> bool(String key) {
        return switch (values.get(key)) {
            case null -> Optional.empty();
            case GgufValue.Bool b -> Optional.of(b.value());
            case GgufValue v -> throw wrongType(key, "a bool", v);
        };
    }

    public Optional<List<String>> strings(String key) {
        return switch (values.get(key)) {
            case null -> Optional.empty();
            case GgufValue.StrArray a -> Optional.of(a.values());
            case GgufValue v -> throw wrongType(key, "an array of strings", v);
        };
    }

    /** An array of floats (FLOAT32 or FLOAT64), narrowed to float. */
    public Optional<float[]> floats(String key) {
        return switch (values.get(key)) {
            case null -> Optional.empty();
            case GgufValue.RealArray a -> {
                float[] out = new float[a.values().length];
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) a.values()[i];
                }
                yield Optional.of(out);
            }
            case GgufValue v -> throw wrongType(key, "an array of floats", v);
        };
    }

    /** An array of integers narrowed to int; throws {@link IllegalArgumentException} naming the key and index if a value does not fit. */
    public Optional<int[]> ints(String key) {
        return switch (values.get(key)) {
            case null -> Optional.empty();
            case GgufValue.IntArray a -> {
                int[] out = new int[a.values().length];
                for (int i = 0; i < out.length; i++) {
                    long v = a.values()[i];
                    if (v != (int) v) {
                        throw new IllegalArgumentException("metadata key " + GgufFile.q(key) + " holds "
                                + (a.elementType() == GgufValueType.UINT64 ? Long.toUnsignedString(v) : Long.toString(v))
                                + " at index " + i + ", which does not fit a 32-bit integer");
                    }
                    out[i] = (int) v;
                }
                yield Optional.of(out);
            }
            case GgufValue v -> throw wrongType(key, "an array of integers", v);
        };
    }

    private static IllegalArgumentException wrongType(String key, String expected, GgufValue actual) {
        return new IllegalArgumentException("metadata key " + GgufFile.q(key) + " should be " + expected
                + " but holds " + actual.getClass().getSimpleName());
    }
}
