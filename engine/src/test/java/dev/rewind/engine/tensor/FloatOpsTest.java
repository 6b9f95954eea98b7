package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FloatOps} against {@link FloatOps.Scalar}: element-wise operations bit for bit (including
 * that nothing outside the range is touched), reductions within {@value #RELATIVE_TOLERANCE} of the
 * sum of absolute terms (only the summation order differs), each for lengths around the vector
 * width and at unaligned offsets.
 */
class FloatOpsTest {

    static final double RELATIVE_TOLERANCE = 1e-5;

    private final Random random = new Random(2024);

    private float[] vector(int n) {
        return RandomWeights.uniformVector(n, random);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 15, 16, 17, 31, 33, 100, 1000})
    void sumOfSquares(int n) {
        float[] x = vector(n + 2);
        double exact = 0;
        for (int i = 0; i < n; i++) {
            exact += (double) x[1 + i] * x[1 + i];
        }
        float scalar = FloatOps.Scalar.sumOfSquares(x, 1, n);
        assertEquals(exact, scalar, RELATIVE_TOLERANCE * exact + Float.MIN_NORMAL);
        assertEquals(scalar, FloatOps.sumOfSquares(x, 1, n), RELATIVE_TOLERANCE * exact + Float.MIN_NORMAL);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 15, 16, 17, 31, 33, 100, 1000})
    void scaleIsExact(int n) {
        float[] x = vector(n + 4);
        float[] expected = x.clone();
        FloatOps.Scalar.scale(expected, 2, n, 0.125f + 1e-3f);
        FloatOps.scale(x, 2, n, 0.125f + 1e-3f);
        assertArrayEquals(expected, x);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 15, 16, 17, 31, 33, 100, 1000})
    void addIsExact(int n) {
        float[] y = vector(n + 2);
        float[] x = vector(n + 5);
        float[] expected = y.clone();
        FloatOps.Scalar.add(expected, 2, x, 5, n);
        FloatOps.add(y, 2, x, 5, n);
        assertArrayEquals(expected, y);
    }

    @Test
    void rangesAreCheckedBeforeAnythingIsWritten() {
        float[] small = new float[10];
        float[] big = new float[100];
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.sumOfSquares(small, -1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.scale(small, 5, 6, 2f));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.add(small, 0, big, 95, 10));
        assertArrayEquals(new float[10], small);
    }

    @Test
    void knownValues() {
        float[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
        float[] ones = new float[17];
        java.util.Arrays.fill(ones, 1f);
        assertEquals(1785f, FloatOps.sumOfSquares(a, 0, 17));
        float[] y = ones.clone();
        FloatOps.add(y, 0, a, 0, 17);
        assertEquals(18f, y[16]);
    }
}
