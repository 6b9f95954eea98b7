package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;

/**
 * Float activations against rows of IEEE halves in a segment: what attention needs over an F16
 * KV cache. Each SIMD method has a {@link Scalar} twin that defines what it computes.
 */
public final class HalfOps {

    private HalfOps() {
    }

    /** a[aOff ..+n] · b[n halves at bByteOffset]. */
    public static float dot(float[] a, int aOff, MemorySegment b, long bByteOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector bv = Halves.toFloat(ShortVector.fromMemorySegment(S, b, bByteOffset + 2L * i, LE));
            acc = FloatVector.fromArray(F, a, aOff + i).fma(bv, acc);
        }
        float sum = Simd.sum(acc);
        for (; i < n; i++) {
            sum += a[aOff + i] * Float.float16ToFloat(b.get(I16_LE, bByteOffset + 2L * i));
        }
        return sum;
    }

    /** y[yOff ..+n] += alpha × x[n halves at xByteOffset]. */
    public static void axpy(float alpha, MemorySegment x, long xByteOffset, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector xv = Halves.toFloat(ShortVector.fromMemorySegment(S, x, xByteOffset + 2L * i, LE));
            xv.fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += alpha * Float.float16ToFloat(x.get(I16_LE, xByteOffset + 2L * i));
        }
    }

    /** The plain definitions. */
    public static final class Scalar {
        private Scalar() {
        }

        public static float dot(float[] a, int aOff, MemorySegment b, long bByteOffset, int n) {
            float sum = 0;
            for (int i = 0; i < n; i++) {
                sum += a[aOff + i] * Float.float16ToFloat(b.get(I16_LE, bByteOffset + 2L * i));
            }
            return sum;
        }

        public static void axpy(float alpha, MemorySegment x, long xByteOffset, float[] y, int yOff, int n) {
            for (int i = 0; i < n; i++) {
                y[yOff + i] += alpha * Float.float16ToFloat(x.get(I16_LE, xByteOffset + 2L * i));
            }
        }
    }
}
