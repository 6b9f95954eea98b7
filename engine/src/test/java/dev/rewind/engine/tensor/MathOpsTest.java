package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MathOps} against its scalar twins (bit for bit: the vector loops and their scalar tails
 * must agree, so lengths that are not multiples of the vector width are included) and against
 * {@link Math} (accuracy).
 */
class MathOpsTest {

    private static float[] inputs(Random random, int n, float spread) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (random.nextFloat() * 2 - 1) * spread;
        }
        return x;
    }

    @Test
    void expEqualsItsTwinAndIsAccurate() {
        Random random = new Random(1);
        float[] x = inputs(random, 64 * Simd.LANES + 5, 100f);
        float[] special = {0f, -0f, 1f, -1f, 88f, -87f, -87.4f, -100f, 89f, 1000f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN,
                Float.MIN_VALUE, 1e-30f, -1e-30f};
        System.arraycopy(special, 0, x, 0, special.length);
        float[] out = x.clone();
        MathOps.exp(out, 0, out.length);
        for (int i = 0; i < x.length; i++) {
            float twin = MathOps.Scalar.exp(x[i]);
            assertEquals(Float.floatToIntBits(twin), Float.floatToIntBits(out[i]), "exp(" + x[i] + ")");
            double exact = Math.exp(x[i]);
            if (Float.isNaN(x[i])) {
                assertTrue(Float.isNaN(out[i]));
            } else if (x[i] < -87.33654f) {
                assertEquals(0f, out[i], "exp(" + x[i] + ") underflows to 0");
            } else if (exact > Float.MAX_VALUE) {
                assertTrue(out[i] > 1e38f && Float.isFinite(out[i]), "exp(" + x[i] + ") is clamped near the largest float");
            } else {
                assertEquals(exact, out[i], 2 * Math.ulp((float) exact), "exp(" + x[i] + ")");
            }
        }
    }

    @Test
    void tanhEqualsItsTwinAndIsAccurate() {
        Random random = new Random(2);
        float[] x = inputs(random, 64 * Simd.LANES + 3, 12f);
        x[0] = 0f;
        x[1] = Float.NaN;
        x[2] = 1e-7f;
        x[3] = -50f;
        float[] out = x.clone();
        MathOps.tanh(out, 0, out.length);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(MathOps.Scalar.tanh(x[i])), Float.floatToIntBits(out[i]), "tanh(" + x[i] + ")");
            if (!Float.isNaN(x[i])) {
                assertEquals(Math.tanh(x[i]), out[i], 1e-6, "tanh(" + x[i] + ")");
            }
        }
    }

    @Test
    void gatedUnitsEqualTheirTwinsAndTheTextbookFormulas() {
        Random random = new Random(3);
        for (int n : new int[]{1, Simd.LANES - 1, Simd.LANES, 3 * Simd.LANES + 5}) {
            float[] gate = inputs(random, n, 8f);
            float[] up = inputs(random, n, 2f);
            float[] swi = gate.clone();
            MathOps.swiGlu(swi, up, n);
            float[] gel = gate.clone();
            MathOps.geGlu(gel, up, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToIntBits(MathOps.Scalar.silu(gate[i]) * up[i]), Float.floatToIntBits(swi[i]), "swiGlu at " + i);
                assertEquals(Float.floatToIntBits(MathOps.Scalar.gelu(gate[i]) * up[i]), Float.floatToIntBits(gel[i]), "geGlu at " + i);
                double g = gate[i];
                assertEquals(g / (1 + Math.exp(-g)) * up[i], swi[i], 1e-5 * (1 + Math.abs(g * up[i])));
                double gelu = 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));
                assertEquals(gelu * up[i], gel[i], 1e-5 * (1 + Math.abs(g * up[i])));
            }
        }
    }
}
