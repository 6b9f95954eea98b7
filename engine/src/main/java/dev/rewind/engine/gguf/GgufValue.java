package dev.rewind.engine.gguf;

import java.util.Arrays;
import java.util.List;

/**
 * One GGUF metadata value. Arrays of numbers are kept as primitive arrays, so a 150k-entry
 * vocabulary's scores cost one {@code double[]}, not 150k objects.
 */
public sealed interface GgufValue {

    /** Any integer type; a UINT64 above {@link Long#MAX_VALUE} is kept as its bit pattern. */
    record Int(GgufValueType type, long value) implements GgufValue {
        @Override
        public String toString() {
            return type == GgufValueType.UINT64 ? Long.toUnsignedString(value) : Long.toString(value);
        }
    }

    /** FLOAT32 or FLOAT64. */
    record Real(GgufValueType type, double value) implements GgufValue {
        @Override
        public String toString() {
            return type == GgufValueType.FLOAT32 ? Float.toString((float) value) : Double.toString(value);
        }
    }

    record Bool(boolean value) implements GgufValue {
        @Override
        public String toString() {
            return Boolean.toString(value);
        }
    }

    record Str(String value) implements GgufValue {
        @Override
        public String toString() {
            return value;
        }
    }

    /** An array of one of the integer types. */
    record IntArray(GgufValueType elementType, long[] values) implements GgufValue {
        @Override
        public String toString() {
            return summary(elementType, values.length, Arrays.toString(Arrays.copyOf(values, Math.min(values.length, 8))));
        }
    }

    /** An array of FLOAT32 or FLOAT64. */
    record RealArray(GgufValueType elementType, double[] values) implements GgufValue {
        @Override
        public String toString() {
            return summary(elementType, values.length, Arrays.toString(Arrays.copyOf(values, Math.min(values.length, 8))));
        }
    }

    record BoolArray(boolean[] values) implements GgufValue {
        @Override
        public String toString() {
            return summary(GgufValueType.BOOL, values.length, Arrays.toString(Arrays.copyOf(values, Math.min(values.length, 8))));
        }
    }

    record StrArray(List<String> values) implements GgufValue {
        @Override
        public String toString() {
            return summary(GgufValueType.STRING, values.size(), values.subList(0, Math.min(values.size(), 8)).toString());
        }
    }

    /** An array whose elements are themselves arrays. */
    record NestedArray(List<GgufValue> values) implements GgufValue {
        @Override
        public String toString() {
            return summary(GgufValueType.ARRAY, values.size(), "");
        }
    }

    private static String summary(GgufValueType type, int length, String head) {
        return "[" + type.name().toLowerCase() + " × " + length + "] " + (length > 8 ? head.replaceFirst("]$", ", …]") : head);
    }
}
