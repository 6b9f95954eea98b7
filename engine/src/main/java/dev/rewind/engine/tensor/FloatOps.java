package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.F32_LE;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;

/**
 * Vector kernels over float ranges: {@code float[]} slices, and little-endian float32 values in a
 * {@link MemorySegment} (an off-heap KV cache). All are pure functions of their arguments except
 * that they write their documented output; none allocates. Ranges are given as (array, offset)
 * with a common length {@code n}; every range is bounds-checked up front and an
 * {@link IndexOutOfBoundsException} is thrown before anything is written.
 *
 * <p>Reductions ({@code dot}, {@code sumOfSquares}) sum in a different order than the plain loops
 * in {@link Scalar}, so they agree with them up to float rounding; the element-wise operations
 * are exact (bit-identical to {@link Scalar}: {@code axpy} uses a fused multiply-add in both).
 */
public final class FloatOps {

    private FloatOps() {
    }

    /** Σ a[aOff+i]·b[bOff+i] for i in [0, n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        Objects.checkFromIndexSize(aOff, n, a.length);
        Objects.checkFromIndexSize(bOff, n, b.length);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        int i = 0;
        for (int bound = n & -(4 * LANES); i < bound; i += 4 * LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + LANES).fma(FloatVector.fromArray(F, b, bOff + i + LANES), acc1);
            acc2 = FloatVector.fromArray(F, a, aOff + i + 2 * LANES).fma(FloatVector.fromArray(F, b, bOff + i + 2 * LANES), acc2);
            acc3 = FloatVector.fromArray(F, a, aOff + i + 3 * LANES).fma(FloatVector.fromArray(F, b, bOff + i + 3 * LANES), acc3);
        }
        for (int bound = n & -LANES; i < bound; i += LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float sum = Simd.sum(acc0.add(acc1).add(acc2.add(acc3)));
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /**
     * Σ a[aOff+i]·b_i for i in [0, n), where b_i is the little-endian float32 at byte
     * {@code bByteOffset + 4i} of {@code b} (e.g. a cached key vector).
     */
    public static float dot(float[] a, int aOff, MemorySegment b, long bByteOffset, int n) {
        Objects.checkFromIndexSize(aOff, n, a.length);
        Objects.checkFromIndexSize(bByteOffset, (long) n * Float.BYTES, b.byteSize());
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int bound = n & -(2 * LANES); i < bound; i += 2 * LANES) {
            long at = bByteOffset + (long) i * Float.BYTES;
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromMemorySegment(F, b, at, LE), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + LANES).fma(FloatVector.fromMemorySegment(F, b, at + 4L * LANES, LE), acc1);
        }
        for (int bound = n & -LANES; i < bound; i += LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromMemorySegment(F, b, bByteOffset + (long) i * Float.BYTES, LE), acc0);
        }
        float sum = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += a[aOff + i] * b.get(F32_LE, bByteOffset + (long) i * Float.BYTES);
        }
        return sum;
    }

    /**
     * y[yOff+i] = fma(alpha, x_i, y[yOff+i]) for i in [0, n), where x_i is the little-endian
     * float32 at byte {@code xByteOffset + 4i} of {@code x} (e.g. a cached value vector).
     */
    public static void axpy(float alpha, MemorySegment x, long xByteOffset, float[] y, int yOff, int n) {
        Objects.checkFromIndexSize(xByteOffset, (long) n * Float.BYTES, x.byteSize());
        Objects.checkFromIndexSize(yOff, n, y.length);
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector.fromMemorySegment(F, x, xByteOffset + (long) i * Float.BYTES, LE)
                    .fma(a, FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] = Math.fma(alpha, x.get(F32_LE, xByteOffset + (long) i * Float.BYTES), y[yOff + i]);
        }
    }

    /** y[yOff+i] = fma(alpha, x[xOff+i], y[yOff+i]) for i in [0, n). */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        Objects.checkFromIndexSize(xOff, n, x.length);
        Objects.checkFromIndexSize(yOff, n, y.length);
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector.fromArray(F, x, xOff + i)
                    .fma(a, FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
        }
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

    /**
     * out[outOff+i] = a[aOff+i] · b[bOff+i] for i in [0, n). The output range may be exactly the
     * range of {@code a} or of {@code b} (in-place), but must not partially overlap them.
     */
    public static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        Objects.checkFromIndexSize(aOff, n, a.length);
        Objects.checkFromIndexSize(bOff, n, b.length);
        Objects.checkFromIndexSize(outOff, n, out.length);
        int i = 0;
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector.fromArray(F, a, aOff + i).mul(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = a[aOff + i] * b[bOff + i];
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

        /** See {@link FloatOps#dot(float[], int, float[], int, int)}. */
        public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
            Objects.checkFromIndexSize(aOff, n, a.length);
            Objects.checkFromIndexSize(bOff, n, b.length);
            float sum = 0f;
            for (int i = 0; i < n; i++) {
                sum += a[aOff + i] * b[bOff + i];
            }
            return sum;
        }

        /** See {@link FloatOps#dot(float[], int, MemorySegment, long, int)}. */
        public static float dot(float[] a, int aOff, MemorySegment b, long bByteOffset, int n) {
            Objects.checkFromIndexSize(aOff, n, a.length);
            Objects.checkFromIndexSize(bByteOffset, (long) n * Float.BYTES, b.byteSize());
            float sum = 0f;
            for (int i = 0; i < n; i++) {
                sum += a[aOff + i] * b.get(F32_LE, bByteOffset + (long) i * Float.BYTES);
            }
            return sum;
        }

        /** See {@link FloatOps#axpy(float, MemorySegment, long, float[], int, int)}. */
        public static void axpy(float alpha, MemorySegment x, long xByteOffset, float[] y, int yOff, int n) {
            Objects.checkFromIndexSize(xByteOffset, (long) n * Float.BYTES, x.byteSize());
            Objects.checkFromIndexSize(yOff, n, y.length);
            for (int i = 0; i < n; i++) {
                y[yOff + i] = Math.fma(alpha, x.get(F32_LE, xByteOffset + (long) i * Float.BYTES), y[yOff + i]);
            }
        }

        /** See {@link FloatOps#axpy(float, float[], int, float[], int, int)}. */
        public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
            Objects.checkFromIndexSize(xOff, n, x.length);
            Objects.checkFromIndexSize(yOff, n, y.length);
            for (int i = 0; i < n; i++) {
                y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
            }
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

        /** See {@link FloatOps#mul}. */
        public static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
            Objects.checkFromIndexSize(aOff, n, a.length);
            Objects.checkFromIndexSize(bOff, n, b.length);
            Objects.checkFromIndexSize(outOff, n, out.length);
            for (int i = 0; i < n; i++) {
                out[outOff + i] = a[aOff + i] * b[bOff + i];
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
