package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SIMD {@link WeightMatrix#dot} against the scalar reference {@link WeightMatrix#dotScalar} on
 * random weights. Both compute the same sum of exactly dequantized products, only in a different
 * order, so they may differ by float rounding of the summation. The tolerance is relative to
 * Σ|w·x| (which bounds every partial sum): {@value #RELATIVE_TOLERANCE}, about 80 float epsilons.
 * Both results are also checked against a double-precision sum of the dequantized row. The
 * tolerance is tight enough that swapping two weights of one block, or reading the two nibble
 * planes of Q4_0 in the wrong order, is detected ({@link #toleranceDetectsSwappedNibblePlanes}).
 */
class DotKernelTest {

    static final double RELATIVE_TOLERANCE = 1e-5;

    static Stream<Arguments> shapes() {
        int[] floatCols = {1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 1000, 4096};
        int[] blockCols = {32, 64, 96, 160, 1024, 4096};
        int[] superBlockCols = {256, 512, 768, 1024, 4096};
        Stream<Arguments> plain = Stream.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16)
                .flatMap(t -> IntStream.of(floatCols).mapToObj(c -> Arguments.of(t, c)));
        Stream<Arguments> blocks = Stream.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL)
                .flatMap(t -> IntStream.of(blockCols).mapToObj(c -> Arguments.of(t, c)));
        Stream<Arguments> superBlocks = Stream.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_XS)
                .flatMap(t -> IntStream.of(superBlockCols).mapToObj(c -> Arguments.of(t, c)));
        return Stream.of(plain, blocks, superBlocks).flatMap(s -> s);
    }

    @ParameterizedTest(name = "{0}, {1} cols")
    @MethodSource("shapes")
    void dotMatchesScalarReferenceAndExactSum(GgmlType type, int cols) {
        Random random = new Random(31L * cols + type.ordinal());
        int rows = 9;
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, random);
            // Input surrounded by other data, so that a wrong offset shows.
            int xOffset = 1 + random.nextInt(5);
            float[] x = RandomWeights.uniformVector(xOffset + cols + 3, random);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, row, 0);
                float simd = w.dot(r, x, xOffset);
                float scalar = w.dotScalar(r, x, xOffset);
                assertClose(row, x, xOffset, scalar, type + " dotScalar row " + r);
                assertClose(row, x, xOffset, simd, type + " dot row " + r);
                double tolerance = tolerance(row, x, xOffset);
                assertTrue(Math.abs(simd - scalar) <= tolerance,
                        type + " row " + r + ": dot " + simd + " vs dotScalar " + scalar + ", tolerance " + tolerance);
            }
        }
    }

    @Test
    void toleranceDetectsSwappedNibblePlanes() {
        Random random = new Random(5);
        int cols = 4096;
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = RandomWeights.matrix(arena, GgmlType.Q4_0, 4, cols, random);
            float[] x = RandomWeights.uniformVector(cols, random);
            float[] row = new float[cols];
            for (int r = 0; r < 4; r++) {
                w.dequantizeRow(r, row, 0);
                float[] swapped = row.clone();
                for (int b = 0; b < cols; b += 32) {
                    for (int j = 0; j < 16; j++) {
                        swapped[b + j] = row[b + j + 16];
                        swapped[b + j + 16] = row[b + j];
                    }
                }
                assertFalse(isClose(swapped, x, 0, w.dot(r, x, 0)), "a nibble-order bug would go unnoticed");
                assertTrue(isClose(row, x, 0, w.dot(r, x, 0)));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blockTypes")
    void extremeQuantsAndScales(GgmlType type) {
        // Every block holds the largest and smallest quants; scales span the half range, both signs.
        int cols = 256;
        short[] scales = {0x7bff, (short) 0xfbff, 0x0001, (short) 0x8001, 0x0400, 0x3c00, (short) 0xbc00, 0x0000};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(type.byteSize(cols), 1);
            for (int b = 0; b < cols / 32; b++) {
                long at = (long) b * type.blockBytes();
                data.set(RandomWeights.I16_LE, at, scales[b]);
                for (int j = 2; j < type.blockBytes(); j++) {
                    // Q8_0: 127 and -128; Q4_0: nibbles 15 and 0, i.e. weights 7d and -8d.
                    int q = type == GgmlType.Q4_0 ? (j % 2 == 0 ? 0x0f : 0xf0) : (j % 2 == 0 ? 0x7f : 0x80);
                    data.set(ValueLayout.JAVA_BYTE, at + j, (byte) q);
                }
            }
            WeightMatrix w = WeightMatrix.of("extreme", type, data, 1, cols);
            float[] x = RandomWeights.uniformVector(cols, new Random(11));
            float[] row = new float[cols];
            w.dequantizeRow(0, row, 0);
            assertClose(row, x, 0, w.dot(0, x, 0), type + " dot");
            assertClose(row, x, 0, w.dotScalar(0, x, 0), type + " dotScalar");
        }
    }

    static Stream<GgmlType> blockTypes() {
        return Stream.of(GgmlType.Q8_0, GgmlType.Q4_0);
    }

    static double tolerance(float[] row, float[] x, int xOffset) {
        double absSum = 0;
        for (int j = 0; j < row.length; j++) {
            absSum += Math.abs((double) row[j] * x[xOffset + j]);
        }
        return RELATIVE_TOLERANCE * absSum + Float.MIN_NORMAL;
    }

    static boolean isClose(float[] row, float[] x, int xOffset, float actual) {
        double exact = 0;
        for (int j = 0; j < row.length; j++) {
            exact += (double) row[j] * x[xOffset + j];
        }
        return Math.abs(actual - exact) <= tolerance(row, x, xOffset);
    }

    static void assertClose(float[] row, float[] x, int xOffset, float actual, String what) {
        double exact = 0;
        for (int j = 0; j < row.length; j++) {
            exact += (double) row[j] * x[xOffset + j];
        }
        double tolerance = tolerance(row, x, xOffset);
        assertTrue(Math.abs(actual - exact) <= tolerance,
                what + ": " + actual + " vs exact " + exact + ", tolerance " + tolerance);
    }
}
