package dev.rewind.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Builds weight matrices with random contents in native memory, for tests. */
final class RandomWeights {

    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomWeights() {
    }

    /**
     * A {@code rows × cols} matrix of {@code type} with random finite weights: F32 and BF16 uniform
     * in (-2, 2) with random exponent spread; F16 any finite half (subnormals included); the block
     * types random bytes (every bit pattern of quants and packed sub-block scales) with random finite
     * half scales (and mins) of both signs at the places {@link #halfOffsets} names.
     */
    static WeightMatrix matrix(Arena arena, GgmlType type, int rows, int cols, Random random) {
        long bytes = type.byteSize((long) rows * cols);
        // Deliberately misaligned by 3 bytes: nothing may assume aligned weights.
        MemorySegment data = arena.allocate(bytes + 3, 64).asSlice(3, bytes);
        switch (type) {
            case F32 -> {
                for (long i = 0; i < (long) rows * cols; i++) {
                    data.set(F32_LE, 4 * i, randomFloat(random));
                }
            }
            case F16 -> {
                for (long i = 0; i < (long) rows * cols; i++) {
                    data.set(I16_LE, 2 * i, randomFiniteHalf(random));
                }
            }
            case BF16 -> {
                for (long i = 0; i < (long) rows * cols; i++) {
                    data.set(I16_LE, 2 * i, (short) (Float.floatToRawIntBits(randomFloat(random)) >>> 16));
                }
            }
            default -> {
                int[] halves = halfOffsets(type);
                for (long b = 0; b < bytes / type.blockBytes(); b++) {
                    long at = b * type.blockBytes();
                    for (int j = 0; j < type.blockBytes(); j++) {
                        data.set(ValueLayout.JAVA_BYTE, at + j, (byte) random.nextInt(256));
                    }
                    for (int h : halves) {
                        data.set(I16_LE, at + h, randomScale(random));
                    }
                }
            }
        }
        return WeightMatrix.of("test." + type, type, data, rows, cols);
    }

    /**
     * Where a block of {@code type} keeps its half-precision scales (and mins), in bytes from the
     * block's start; every other byte is quants or packed sub-block scales, any pattern of which is valid.
     */
    static int[] halfOffsets(GgmlType type) {
        return switch (type) {
            case Q8_0, Q4_0, Q5_0, IQ4_NL, IQ4_XS -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** A float in (-2, 2) whose magnitude varies over ~6 orders of magnitude. */
    static float randomFloat(Random random) {
        float mantissa = random.nextFloat() * 2 - 1;
        return mantissa * (float) Math.pow(2, -random.nextInt(20) + 1);
    }

    /** Any finite half (including zeros and subnormals), as its bits. */
    static short randomFiniteHalf(Random random) {
        while (true) {
            short h = (short) random.nextInt(1 << 16);
            if ((h & 0x7c00) != 0x7c00) {
                return h;
            }
        }
    }

    /** A half scale of either sign, from tiny (subnormal) to large (up to 2^8). */
    static short randomScale(Random random) {
        while (true) {
            short h = randomFiniteHalf(random);
            if (((h >> 10) & 0x1f) <= 15 + 8) {
                return h;
            }
        }
    }

    /** Uniform in (-1, 1): inputs of comparable magnitude, so that every product matters. */
    static float[] uniformVector(int n, Random random) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextFloat() * 2 - 1;
        }
        return x;
    }

    /** Values of {@link #randomFloat}: magnitudes spread over ~6 orders. */
    static float[] randomVector(int n, Random random) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = randomFloat(random);
        }
        return x;
    }
}
