package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static dev.rewind.engine.tensor.RandomWeights.F32_LE;
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
    @ValueSource(ints = {0, 1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1000, 4096})
    void dot(int n) {
        float[] a = vector(n + 5);
        float[] b = vector(n + 9);
        double abs = 0;
        double exact = 0;
        for (int i = 0; i < n; i++) {
            abs += Math.abs((double) a[2 + i] * b[7 + i]);
            exact += (double) a[2 + i] * b[7 + i];
        }
        float simd = FloatOps.dot(a, 2, b, 7, n);
        float scalar = FloatOps.Scalar.dot(a, 2, b, 7, n);
        assertEquals(exact, scalar, RELATIVE_TOLERANCE * abs + Float.MIN_NORMAL);
        assertEquals(scalar, simd, RELATIVE_TOLERANCE * abs + Float.MIN_NORMAL);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 15, 16, 17, 31, 32, 33, 64, 100, 128, 129, 1000})
    void dotWithSegment(int n) {
        try (Arena arena = Arena.ofConfined()) {
            float[] a = vector(n + 3);
            float[] bValues = vector(n + 4);
            MemorySegment b = segmentOf(arena, bValues);
            double abs = 0;
            double exact = 0;
            for (int i = 0; i < n; i++) {
                abs += Math.abs((double) a[3 + i] * bValues[1 + i]);
                exact += (double) a[3 + i] * bValues[1 + i];
            }
            float simd = FloatOps.dot(a, 3, b, 4, n);
            float scalar = FloatOps.Scalar.dot(a, 3, b, 4, n);
            assertEquals(exact, scalar, RELATIVE_TOLERANCE * abs + Float.MIN_NORMAL);
            assertEquals(scalar, simd, RELATIVE_TOLERANCE * abs + Float.MIN_NORMAL);
        }
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
    void axpyWithArrayIsExact(int n) {
        float[] x = vector(n + 3);
        float[] y = vector(n + 6);
        float[] expected = y.clone();
        FloatOps.Scalar.axpy(-0.37f, x, 3, expected, 1, n);
        FloatOps.axpy(-0.37f, x, 3, y, 1, n);
        assertArrayEquals(expected, y);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 15, 16, 17, 31, 33, 100, 1000})
    void axpyWithSegmentIsExact(int n) {
        try (Arena arena = Arena.ofConfined()) {
            float[] xValues = vector(n + 2);
            MemorySegment x = segmentOf(arena, xValues);
            float[] y = vector(n + 6);
            float[] expected = y.clone();
            FloatOps.Scalar.axpy(1.7f, x, 8, expected, 5, n);
            FloatOps.axpy(1.7f, x, 8, y, 5, n);
            assertArrayEquals(expected, y);
            // And the reference itself: y += alpha x, element by element.
            float[] y2 = new float[n];
            FloatOps.Scalar.axpy(2f, x, 8, y2, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(2f * xValues[2 + i], y2[i]);
            }
        }
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
    void mulIsExactAlsoInPlace(int n) {
        float[] a = vector(n + 1);
        float[] b = vector(n + 2);
        float[] out = vector(n + 3);
        float[] expected = out.clone();
        FloatOps.Scalar.mul(a, 1, b, 2, expected, 3, n);
        FloatOps.mul(a, 1, b, 2, out, 3, n);
        assertArrayEquals(expected, out);
        float[] inPlace = a.clone();
        FloatOps.mul(inPlace, 1, b, 2, inPlace, 1, n);
        for (int i = 0; i < n; i++) {
            assertEquals(a[1 + i] * b[2 + i], inPlace[1 + i]);
        }
        assertEquals(a[0], inPlace[0]);
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
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.dot(small, 0, big, 0, 11));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.dot(big, 95, big, 0, 10));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.sumOfSquares(small, -1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.axpy(1f, big, 0, small, 0, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.scale(small, 5, 6, 2f));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.mul(big, 0, big, 0, small, 0, 11));
        assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.add(small, 0, big, 95, 10));
        assertArrayEquals(new float[10], small);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(40);
            assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.dot(big, 0, seg, 4, 10));
            assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.axpy(1f, seg, 0, small, 0, 11));
            assertArrayEquals(new float[10], small);
        }
    }

    @Test
    void knownValues() {
        float[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
        float[] ones = new float[17];
        java.util.Arrays.fill(ones, 1f);
        assertEquals(153f, FloatOps.dot(a, 0, ones, 0, 17));
        assertEquals(1785f, FloatOps.sumOfSquares(a, 0, 17));
        float[] y = ones.clone();
        FloatOps.axpy(2f, a, 0, y, 0, 17);
        assertEquals(35f, y[16]);
        FloatOps.add(y, 0, a, 0, 17);
        assertEquals(52f, y[16]);
    }

    private static MemorySegment segmentOf(Arena arena, float[] values) {
        MemorySegment s = arena.allocate(4L * values.length, 4);
        for (int i = 0; i < values.length; i++) {
            s.set(F32_LE, 4L * i, values[i]);
        }
        return s;
    }
}
