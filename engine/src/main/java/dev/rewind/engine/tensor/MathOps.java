package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.util.Objects;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.LANES;

/**
 * Elementwise transcendental functions over float arrays, written with plain vector arithmetic
 * (a Cody-Waite range reduction and Cephes' polynomial for {@code exp}) instead of the Vector
 * API's {@code EXP}/{@code TANH} operators. Those call a vendor math library once compiled and
 * {@link Math} lane by lane before, which differ in the last bit: a forward pass would then give
 * other bits in a cold JVM than in a warm one, and a forked sequence would not equal an
 * independent one. These functions give the same bits however they are run, and the same bits as
 * their {@link Scalar} twins. Accuracy: {@code exp} within 2 ulp of {@link Math#exp}.
 *
 * <p>The polynomial is written out in each function rather than in a vector helper: the JIT
 * always inlines Vector API calls but not always a method of ours, and a vector passed to or
 * returned from a method that is not inlined lives in a heap box (measured several times slower).
 * Callers holding vectors store them and call the array functions.
 */
public final class MathOps {

    private MathOps() {
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Below this exp underflows past the normal floats; the result is 0. */
    private static final float MIN_ARG = -87.33654f;
    /** Above this exp would overflow float; arguments are clamped here (2^127 · e^0.3). */
    private static final float MAX_ARG = 88.3762626647949f;
    private static final float ROUNDER = 0x1.8p23f;
    private static final float P0 = 1.9875691500E-4f;
    private static final float P1 = 1.3981999507E-3f;
    private static final float P2 = 8.3334519073E-3f;
    private static final float P3 = 4.1665795894E-2f;
    private static final float P4 = 1.6666665459E-1f;
    private static final float P5 = 5.0000001201E-1f;
    /** √(2/π) and the cubic coefficient of GELU's tanh form. */
    private static final float GELU_SCALE = 0.7978845608028654f;
    private static final float GELU_CUBIC = 0.044715f;

    /** {@code a[i] = e^a[i]} for {@code i} in {@code [from, from + n)}: 0 below {@value #MIN_ARG} (and for −∞), NaN for NaN. */
    public static void exp(float[] a, int from, int n) {
        Objects.checkFromIndexSize(from, n, a.length);
        int i = from;
        for (int bound = from + n - n % LANES; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(F, a, i);
            // e^x, written out (see the class comment)
            FloatVector eV = x.min(MAX_ARG).max(MIN_ARG);
            FloatVector eN = eV.fma(LOG2E, ROUNDER).sub(ROUNDER);
            FloatVector eR = eN.fma(FloatVector.broadcast(F, -LN2_HI), eV);
            eR = eN.fma(FloatVector.broadcast(F, -LN2_LO), eR);
            FloatVector eP = eR.fma(P0, P1).fma(eR, FloatVector.broadcast(F, P2)).fma(eR, FloatVector.broadcast(F, P3))
                    .fma(eR, FloatVector.broadcast(F, P4)).fma(eR, FloatVector.broadcast(F, P5));
            FloatVector e = eP.fma(eR.mul(eR), eR).add(1f)
                    .mul(((IntVector) eN.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .blend(x, x.test(VectorOperators.IS_NAN)).blend(0f, x.compare(VectorOperators.LT, MIN_ARG));
            e.intoArray(a, i);
        }
        for (; i < from + n; i++) {
            a[i] = Scalar.exp(a[i]);
        }
    }

    /** {@code a[i] = tanh(a[i])} for {@code i} in {@code [from, from + n)}, as {@code 1 − 2 / (e^(2|x|) + 1)} with the sign of x. */
    public static void tanh(float[] a, int from, int n) {
        Objects.checkFromIndexSize(from, n, a.length);
        int i = from;
        for (int bound = from + n - n % LANES; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(F, a, i);
            FloatVector twice = x.abs().mul(2f);
            // e^twice, written out (see the class comment)
            FloatVector eV = twice.min(MAX_ARG).max(MIN_ARG);
            FloatVector eN = eV.fma(LOG2E, ROUNDER).sub(ROUNDER);
            FloatVector eR = eN.fma(FloatVector.broadcast(F, -LN2_HI), eV);
            eR = eN.fma(FloatVector.broadcast(F, -LN2_LO), eR);
            FloatVector eP = eR.fma(P0, P1).fma(eR, FloatVector.broadcast(F, P2)).fma(eR, FloatVector.broadcast(F, P3))
                    .fma(eR, FloatVector.broadcast(F, P4)).fma(eR, FloatVector.broadcast(F, P5));
            FloatVector e = eP.fma(eR.mul(eR), eR).add(1f)
                    .mul(((IntVector) eN.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .blend(twice, twice.test(VectorOperators.IS_NAN)).blend(0f, twice.compare(VectorOperators.LT, MIN_ARG));
            FloatVector t = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(e.add(1f)));
            t.lanewise(VectorOperators.NEG, x.compare(VectorOperators.LT, 0f)).blend(x, x.test(VectorOperators.IS_NAN)).intoArray(a, i);
        }
        for (; i < from + n; i++) {
            a[i] = Scalar.tanh(a[i]);
        }
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]} for {@code i < n}: SwiGLU's gating, {@code silu(g) = g / (1 + e^−g)}. */
    public static void swiGlu(float[] gate, float[] up, int n) {
        Objects.checkFromIndexSize(0, n, gate.length);
        Objects.checkFromIndexSize(0, n, up.length);
        int i = 0;
        for (int bound = n - n % LANES; i < bound; i += LANES) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector minus = g.neg();
            // e^minus, written out (see the class comment)
            FloatVector eV = minus.min(MAX_ARG).max(MIN_ARG);
            FloatVector eN = eV.fma(LOG2E, ROUNDER).sub(ROUNDER);
            FloatVector eR = eN.fma(FloatVector.broadcast(F, -LN2_HI), eV);
            eR = eN.fma(FloatVector.broadcast(F, -LN2_LO), eR);
            FloatVector eP = eR.fma(P0, P1).fma(eR, FloatVector.broadcast(F, P2)).fma(eR, FloatVector.broadcast(F, P3))
                    .fma(eR, FloatVector.broadcast(F, P4)).fma(eR, FloatVector.broadcast(F, P5));
            FloatVector e = eP.fma(eR.mul(eR), eR).add(1f)
                    .mul(((IntVector) eN.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .blend(minus, minus.test(VectorOperators.IS_NAN)).blend(0f, minus.compare(VectorOperators.LT, MIN_ARG));
            g.div(e.add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            gate[i] = Scalar.silu(gate[i]) * up[i];
        }
    }

    /** {@code gate[i] = gelu(gate[i]) · up[i]} for {@code i < n}, GELU in its tanh form (GeGLU). */
    public static void geGlu(float[] gate, float[] up, int n) {
        Objects.checkFromIndexSize(0, n, gate.length);
        Objects.checkFromIndexSize(0, n, up.length);
        int i = 0;
        for (int bound = n - n % LANES; i < bound; i += LANES) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector inner = g.mul(g).mul(g).fma(FloatVector.broadcast(F, GELU_CUBIC), g).mul(GELU_SCALE);
            FloatVector twice = inner.abs().mul(2f);
            // e^twice, written out (see the class comment)
            FloatVector eV = twice.min(MAX_ARG).max(MIN_ARG);
            FloatVector eN = eV.fma(LOG2E, ROUNDER).sub(ROUNDER);
            FloatVector eR = eN.fma(FloatVector.broadcast(F, -LN2_HI), eV);
            eR = eN.fma(FloatVector.broadcast(F, -LN2_LO), eR);
            FloatVector eP = eR.fma(P0, P1).fma(eR, FloatVector.broadcast(F, P2)).fma(eR, FloatVector.broadcast(F, P3))
                    .fma(eR, FloatVector.broadcast(F, P4)).fma(eR, FloatVector.broadcast(F, P5));
            FloatVector e = eP.fma(eR.mul(eR), eR).add(1f)
                    .mul(((IntVector) eN.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .blend(twice, twice.test(VectorOperators.IS_NAN)).blend(0f, twice.compare(VectorOperators.LT, MIN_ARG));
            FloatVector t = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(e.add(1f)))
                    .lanewise(VectorOperators.NEG, inner.compare(VectorOperators.LT, 0f)).blend(inner, inner.test(VectorOperators.IS_NAN));
            g.mul(0.5f).mul(t.add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            gate[i] = Scalar.gelu(gate[i]) * up[i];
        }
    }

    /** The same functions one value at a time, with the same operations in the same order. */
    public static final class Scalar {
        private Scalar() {
        }

        public static float exp(float x) {
            if (Float.isNaN(x)) {
                return x;
            }
            if (x < MIN_ARG) {
                return 0f;
            }
            float v = Math.max(Math.min(x, MAX_ARG), MIN_ARG);
            float n = Math.fma(v, LOG2E, ROUNDER) - ROUNDER;
            float r = Math.fma(n, -LN2_HI, v);
            r = Math.fma(n, -LN2_LO, r);
            float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
            float e = Math.fma(p, r * r, r) + 1f;
            return e * Float.intBitsToFloat(((int) n + 127) << 23);
        }

        public static float tanh(float x) {
            if (Float.isNaN(x)) {
                return x;
            }
            float t = 1f - 2f / (exp(Math.abs(x) * 2f) + 1f);
            return x < 0f ? -t : t;
        }

        public static float silu(float g) {
            return g / (exp(-g) + 1f);
        }

        public static float gelu(float g) {
            float inner = Math.fma(g * g * g, GELU_CUBIC, g) * GELU_SCALE;
            return g * 0.5f * (tanh(inner) + 1f);
        }
    }
}
