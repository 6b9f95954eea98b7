package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.util.Objects;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.LANES;

/**
 * Vector kernels over {@code float[]} slices, for the activations between matrix products. All
 * are pure functions of their arguments except that they write their documented output; none
 * allocates. Ranges are given as (array, offset) with a common length {@code n}; every range is
 * bounds-checked up front and an {@link IndexOutOfBoundsException} is thrown before anything is
 * written.
 *
 * <p>{@code sumOfSquares} sums in a different order than the plain loop in {@link Scalar}, so
 * the two agree up to float rounding; the element-wise operations are bit-identical to
 * {@link Scalar}.
 */
public final class FloatOps {

    private FloatOps() {
    }

    /** Σ x[off+i]² for i in [0, n). */
    public static float sumOfSquares(float[] x, int off, int n) {
        Objects.checkFromIndexSize(off, n, x.length);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int bound = n & -(2 * LANES); i < bound; i += 2 * LANES) {
            FloatVector v0 = FloatVector.fromArray(F, x, off + i);
            FloatVector v1 = FloatVector.fromArray(F, x, off + i + LANES);
            acc0 = v0.fma(v0, acc0);
            acc1 = v1.fma(v1, acc1);
        }
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, off + i);
            acc0 = v.fma(v, acc0);
        }
        float sum = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += x[off + i] * x[off + i];
        }
        return sum;
    }

    /** x[off+i] *= s for i in [0, n). */
    public static void scale(float[] x, int off, int n, float s) {
        Objects.checkFromIndexSize(off, n, x.length);
        int i = 0;
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    /** y[yOff+i] += x[xOff+i] for i in [0, n) (e.g. a residual connection). */
    public static void add(float[] y, int yOff, float[] x, int xOff, int n) {
        Objects.checkFromIndexSize(yOff, n, y.length);
        Objects.checkFromIndexSize(xOff, n, x.length);
        int i = 0;
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector.fromArray(F, y, yOff + i).add(FloatVector.fromArray(F, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /**
     * The plain loops that define the results of {@link FloatOps}' methods (same signatures,
     * same checks), for tests and as documentation. Reductions accumulate in index order.
     */
    public static final class Scalar {

        private Scalar() {
        }

        /** See {@link FloatOps#sumOfSquares}. */
        public static float sumOfSquares(float[] x, int off, int n) {
            Objects.checkFromIndexSize(off, n, x.length);
            float sum = 0f;
            for (int i = 0; i < n; i++) {
                sum += x[off + i] * x[off + i];
            }
            return sum;
        }

        /** See {@link FloatOps#scale}. */
        public static void scale(float[] x, int off, int n, float s) {
            Objects.checkFromIndexSize(off, n, x.length);
            for (int i = 0; i < n; i++) {
                x[off + i] *= s;
            }
        }

        /** See {@link FloatOps#add}. */
        public static void add(float[] y, int yOff, float[] x, int xOff, int n) {
            Objects.checkFromIndexSize(yOff, n, y.length);
            Objects.checkFromIndexSize(xOff, n, x.length);
            for (int i = 0; i < n; i++) {
                y[yOff + i] += x[xOff + i];
            }
        }
    }
}
