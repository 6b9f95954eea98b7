package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The blocked matrix × matrix kernel against the scalar definition, on random data of every type. */
class MatMulTest {

    static WorkerPool pool;

    @BeforeAll
    static void start() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stop() {
        pool.close();
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void matchesTheScalarProductForEveryShape(GgmlType type) {
        Random random = new Random(type.ordinal());
        int[] colsChoices = type.blockSize() == 1 ? new int[]{1, 15, 16, 37, 96, 300} : new int[]{32, 64, 96, 320};
        try (Arena arena = Arena.ofShared()) {
            for (int cols : colsChoices) {
                for (int rows : new int[]{1, 3, 4, 5, 16, 17, 35}) {
                    WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, random);
                    for (int count : new int[]{1, 2, 3, 4, 5, 8, 9, 16, 17, 21}) {
                        float[] x = RandomWeights.randomVector(count * cols, random);
                        float[] expected = new float[count * rows];
                        MatMul.matmulScalar(w, x, count, expected);
                        float[] actual = new float[count * rows];
                        new MatMul().matmul(w, x, count, actual, pool);
                        for (int t = 0; t < count; t++) {
                            for (int r = 0; r < rows; r++) {
                                float bound = 1e-5f * magnitude(w, r, x, t * cols) + 1e-30f;
                                float d = Math.abs(expected[t * rows + r] - actual[t * rows + r]);
                                assertTrue(d <= bound, type + " rows=" + rows + " cols=" + cols + " count=" + count
                                        + " at (" + t + "," + r + "): " + expected[t * rows + r] + " vs " + actual[t * rows + r]);
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "Q4_0"})
    void theSameProductTwiceIsBitIdentical(GgmlType type) {
        Random random = new Random(7);
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = RandomWeights.matrix(arena, type, 37, 256, random);
            float[] x = RandomWeights.randomVector(20 * 256, random);
            float[] first = new float[20 * 37];
            MatMul m = new MatMul();
            m.matmul(w, x, 20, first, pool);
            for (int i = 0; i < 200; i++) {
                float[] again = new float[20 * 37];
                m.matmul(w, x, 20, again, pool);
                assertArrayEquals(first, again);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void aRowsResultDoesNotDependOnItsBatch(GgmlType type) {
        Random random = new Random(type.ordinal() + 40);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : type.blockSize() == 1 ? new int[]{15, 64, 172} : new int[]{64, 320}) {
                WeightMatrix w = RandomWeights.matrix(arena, type, 21, cols, random);
                float[] x = RandomWeights.randomVector(9 * cols, random);
                float[] alone = new float[9 * 21];
                for (int t = 0; t < 9; t++) {
                    float[] one = new float[21];
                    new MatMul().matmul(w, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, one, pool);
                    System.arraycopy(one, 0, alone, t * 21, 21);
                }
                for (int count = 2; count <= 9; count++) {
                    float[] batched = new float[count * 21];
                    new MatMul().matmul(w, x, count, batched, pool);
                    assertArrayEquals(java.util.Arrays.copyOf(alone, count * 21), batched, type + " cols " + cols + " count " + count);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "Q8_0", "Q4_0"})
    void productsOfOneInputTogetherGiveTheBitsOfEachAlone(GgmlType type) {
        Random random = new Random(type.ordinal() + 80);
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            int cols = 128;
            // Q, K and V shapes: rows not multiples of the packed group, and one matrix unpacked in the mix.
            WeightMatrix a = packer.pack(RandomWeights.matrix(arena, type, 37, cols, random));
            WeightMatrix b = packer.pack(RandomWeights.matrix(arena, type, 16, cols, random));
            WeightMatrix c = packer.pack(RandomWeights.matrix(arena, type, 5, cols, random));
            WeightMatrix unpacked = RandomWeights.matrix(arena, type, 9, cols, random);
            for (int count : new int[]{1, 2, 4, 7}) {
                float[] x = RandomWeights.randomVector(count * cols, random);
                for (WeightMatrix third : new WeightMatrix[]{c, unpacked, null}) {
                    float[] outA = new float[count * a.rows()], outB = new float[count * b.rows()];
                    float[] outC = third == null ? null : new float[count * third.rows()];
                    MatMul m = new MatMul();
                    m.matmul(a, outA, b, outB, third, outC, x, count, pool);
                    assertArrayEquals(alone(a, x, count), outA, type + " A, count " + count);
                    assertArrayEquals(alone(b, x, count), outB, type + " B, count " + count);
                    if (third != null) {
                        assertArrayEquals(alone(third, x, count), outC, type + " C, count " + count);
                    }
                }
            }
        }
    }

    private static float[] alone(WeightMatrix w, float[] x, int count) {
        float[] out = new float[count * w.rows()];
        new MatMul().matmul(w, x, count, out, pool);
        return out;
    }

    /** Σ |w_i x_i|: the scale the rounding error of a float dot product is relative to. */
    private static float magnitude(WeightMatrix w, int row, float[] x, int at) {
        float[] wr = new float[w.cols()];
        w.dequantizeRow(row, wr, 0);
        float s = 0;
        for (int i = 0; i < wr.length; i++) {
            s += Math.abs(wr[i] * x[at + i]);
        }
        return s;
    }
}
