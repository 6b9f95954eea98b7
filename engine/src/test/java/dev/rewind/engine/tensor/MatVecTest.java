package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MatVec#matvec}: every output is that row's {@code dot} (bit for bit, whatever the number
 * of threads) and within the dot tolerance of {@code dotScalar}; nothing outside the output range
 * is written.
 */
class MatVecTest {

    private static WorkerPool pool1;
    private static WorkerPool pool2;
    private static WorkerPool pool3;

    @BeforeAll
    static void startPools() {
        pool1 = new WorkerPool(1);
        pool2 = new WorkerPool(2);
        pool3 = new WorkerPool(3);
    }

    @AfterAll
    static void stopPools() {
        pool1.close();
        pool2.close();
        pool3.close();
    }

    static Stream<Arguments> cases() {
        return WeightMatrix.SUPPORTED_TYPES.stream()
                .flatMap(t -> IntStream.of(1, 7, 8, 9, 17, 100, 1000).mapToObj(rows -> Arguments.of(t, rows)));
    }

    @ParameterizedTest(name = "{0}, {1} rows")
    @MethodSource("cases")
    void everyRowIsItsDotProduct(GgmlType type, int rows) {
        int cols = type.blockSize() == 1 ? 80 : type.blockSize() == 32 ? 96 : 512;
        Random random = new Random(rows * 17L + type.ordinal());
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, random);
            float[] x = RandomWeights.uniformVector(cols + 2, random);
            float[] row = new float[cols];
            for (WorkerPool pool : new WorkerPool[] {pool1, pool2, pool3, null}) {
                float[] out = new float[rows + 4];
                Arrays.fill(out, Float.NaN);
                if (pool == null) {
                    MatVec.matvec(w, x, 2, out, 3);
                } else {
                    MatVec.matvec(w, x, 2, out, 3, pool);
                }
                for (int r = 0; r < rows; r++) {
                    assertEquals(w.dot(r, x, 2), out[3 + r], 0f, "row " + r);
                    w.dequantizeRow(r, row, 0);
                    float scalar = w.dotScalar(r, x, 2);
                    assertEquals(scalar, out[3 + r], DotKernelTest.tolerance(row, x, 2), "row " + r + " vs dotScalar");
                }
                for (int i : new int[] {0, 1, 2, rows + 3}) {
                    assertTrue(Float.isNaN(out[i]), "wrote outside the output range at " + i);
                }
            }
        }
    }

    @Test
    void rangesAreChecked() {
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = RandomWeights.matrix(arena, GgmlType.F32, 10, 16, new Random(1));
            assertThrows(IndexOutOfBoundsException.class, () -> MatVec.matvec(w, new float[15], 0, new float[10], 0, pool2));
            assertThrows(IndexOutOfBoundsException.class, () -> MatVec.matvec(w, new float[16], 1, new float[10], 0, pool2));
            assertThrows(IndexOutOfBoundsException.class, () -> MatVec.matvec(w, new float[16], 0, new float[10], 1, pool2));
            assertThrows(IndexOutOfBoundsException.class, () -> MatVec.matvec(w, new float[16], 0, new float[9], 0));
        }
    }
}
