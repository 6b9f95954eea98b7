package dev.rewind.align.dera;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The mixing arithmetic on its own: exact endpoints, −∞ kept, no NaN, padding masked. */
class LogitMixerTest {

    private static final float NEG = Float.NEGATIVE_INFINITY;

    /** A random row with a few −∞ entries. */
    private static float[] row(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextInt(10) == 0 ? NEG : (float) (r.nextGaussian() * 5);
        }
        return x;
    }

    private static float[] mix(float[] a, float[] b, float wa, float wb) {
        float[] out = new float[a.length];
        LogitMixer.mix(new float[][]{a, b}, new float[]{wa, wb}, a.length, out);
        return out;
    }

    @Test
    void lambdaZeroAndOneAreExactlyOneModelEvenWhereTheOtherIsMinusInfinity() {
        float[] a = row(1, 4096);
        float[] b = row(2, 4096);
        assertArrayEquals(b, mix(a, b, 0f, 1f), "λ = 0 is the reference bit for bit");
        assertArrayEquals(a, mix(a, b, 1f, 0f), "λ = 1 is the aligned model bit for bit");
    }

    @Test
    void halfAndHalfOfOneRowIsThatRow() {
        float[] a = row(3, 4096);
        assertArrayEquals(a, mix(a, a.clone(), 0.5f, 0.5f));
    }

    @Test
    void minusInfinityStaysMinusInfinityAtEveryLambdaAndNothingBecomesNaN() {
        float[] a = row(4, 4096);
        float[] b = row(5, 4096);
        for (float lambda : new float[]{-1.5f, 0.25f, 0.5f, 2f, 10f}) {
            float[] h = mix(a, b, lambda, 1f - lambda);
            for (int v = 0; v < h.length; v++) {
                assertFalse(Float.isNaN(h[v]), "NaN at " + v + " for λ = " + lambda);
                if (a[v] == NEG || b[v] == NEG) {
                    assertEquals(NEG, h[v], "λ = " + lambda + ", id " + v);
                } else {
                    assertEquals(lambda * a[v] + (1f - lambda) * b[v], h[v], 0f, "λ = " + lambda + ", id " + v);
                }
            }
        }
    }

    @Test
    void aZeroWeightSourceIsLeftOutEvenIfItHoldsNaN() {
        float[] a = row(6, 64);
        float[] bad = new float[64];
        java.util.Arrays.fill(bad, Float.NaN);
        assertArrayEquals(a, mix(a, bad, 1f, 0f));
    }

    @Test
    void threeSourcesSumInOrder() {
        float[] a = row(7, 256);
        float[] b = row(8, 256);
        float[] c = row(9, 256);
        float[] out = new float[256];
        LogitMixer.mix(new float[][]{a, b, c}, new float[]{0.5f, 0.3f, 0.2f}, 256, out);
        for (int v = 0; v < 256; v++) {
            float expected = a[v] == NEG || b[v] == NEG || c[v] == NEG ? NEG : 0.5f * a[v] + 0.3f * b[v] + 0.2f * c[v];
            assertEquals(expected, out[v], 0f, "id " + v);
        }
    }

    @Test
    void idsPastTheSharedVocabularyAreMasked() {
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {1, 2, 3, 4};
        float[] out = new float[6];
        LogitMixer.mix(new float[][]{a, b}, new float[]{0.5f, 0.5f}, 4, out);
        assertArrayEquals(new float[]{1, 2, 3, 4, NEG, NEG}, out);
    }

    @Test
    void allWeightsZeroIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> mix(new float[2], new float[2], 0f, 0f));
    }
}
