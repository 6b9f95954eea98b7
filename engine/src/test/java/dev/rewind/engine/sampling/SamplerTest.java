package dev.rewind.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {

    private static final int[] NO_HISTORY = new int[0];

    private static SamplingParams params(float t, int k, float p, float minP) {
        return new SamplingParams(t, k, p, minP, 1f, 64, 42);
    }

    private static float[] randomLogits(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        return x;
    }

    /** Token ids sorted by logit, descending, ties by id. */
    private static int[] byLogit(float[] logits) {
        return IntStream.range(0, logits.length).boxed()
                .sorted((a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b))
                .mapToInt(Integer::intValue).toArray();
    }

    private static double[] softmax(float[] logits, float t) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l / t);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] / t - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void greedyTakesTheHighestLogitAndTheLowerIdOnTies() {
        Sampler s = new Sampler(SamplingParams.GREEDY, 5);
        assertEquals(3, s.sample(new float[]{1, 2, 0, 5, 4}, NO_HISTORY, 0));
        assertEquals(1, s.sample(new float[]{1, 7, 0, 7, 4}, NO_HISTORY, 0));
    }

    @Test
    void sameSeedSameTokensAndADifferentSeedDiffers() {
        float[] logits = randomLogits(300, 1);
        int[] a = new int[200];
        int[] b = new int[200];
        int[] c = new int[200];
        Sampler sa = new Sampler(params(1f, 0, 1f, 0f), 300);
        Sampler sb = new Sampler(params(1f, 0, 1f, 0f), 300);
        Sampler sc = new Sampler(new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 43), 300);
        for (int i = 0; i < a.length; i++) {
            a[i] = sa.sample(logits, NO_HISTORY, 0);
            b[i] = sb.sample(logits, NO_HISTORY, 0);
            c[i] = sc.sample(logits, NO_HISTORY, 0);
        }
        assertArrayEquals(a, b);
        assertNotEquals(Arrays.toString(a), Arrays.toString(c));
    }

    @Test
    void topKKeepsExactlyTheKHighest() {
        float[] logits = randomLogits(1000, 2);
        Sampler.Result c = new Sampler(params(1f, 17, 1f, 0f), 1000).candidates(logits, NO_HISTORY, 0);
        assertArrayEquals(Arrays.copyOf(byLogit(logits), 17), c.ids());
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        float[] logits = randomLogits(500, 3);
        float t = 0.7f;
        float p = 0.6f;
        int[] order = byLogit(logits);
        double[] probs = softmax(logits, t);
        double cumulative = 0;
        int expected = 0;
        while (cumulative < p) {
            cumulative += probs[order[expected++]];
        }
        Sampler.Result c = new Sampler(params(t, 0, p, 0f), 500).candidates(logits, NO_HISTORY, 0);
        assertArrayEquals(Arrays.copyOf(order, expected), c.ids());
    }

    @Test
    void minPKeepsTokensAtLeastMinPTimesTheTopProbability() {
        float[] logits = randomLogits(500, 4);
        float t = 1.3f;
        float minP = 0.1f;
        double[] probs = softmax(logits, t);
        double top = Arrays.stream(probs).max().orElseThrow();
        int[] expected = Arrays.stream(byLogit(logits)).filter(i -> probs[i] >= minP * top).toArray();
        Sampler.Result c = new Sampler(params(t, 0, 1f, minP), 500).candidates(logits, NO_HISTORY, 0);
        assertArrayEquals(expected, c.ids());
        assertTrue(expected.length > 1 && expected.length < 500, "the case must actually filter");
    }

    @Test
    void keptProbabilitiesAreRenormalised() {
        Sampler.Result c = new Sampler(params(1f, 5, 1f, 0f), 100).candidates(randomLogits(100, 5), NO_HISTORY, 0);
        double sum = 0;
        for (float p : c.probabilities()) {
            sum += p;
        }
        assertEquals(1.0, sum, 1e-6);
    }

    @Test
    void samplingFollowsTheDistribution() {
        float[] logits = {0f, (float) Math.log(3), Float.NEGATIVE_INFINITY};
        Sampler s = new Sampler(params(1f, 0, 1f, 0f), 3);
        int[] counts = new int[3];
        for (int i = 0; i < 40_000; i++) {
            counts[s.sample(logits, NO_HISTORY, 0)]++;
        }
        assertEquals(0, counts[2]);
        assertEquals(0.75, counts[1] / 40_000.0, 0.01);
    }

    @Test
    void repeatPenaltyDividesPositiveAndMultipliesNegativeLogitsOfRecentTokens() {
        float[] logits = {2f, -1f, 1.9f, -0.5f};
        int[] history = {0, 1, 1};
        Sampler s = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 2f, 64, 0), 4);
        // token 0: 2 / 2 = 1 < 1.9, so token 2 wins
        assertEquals(2, s.sample(logits, history, history.length));
        // only the last repeatLastN tokens count: with a window of 1, token 0 is not penalised
        Sampler windowed = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 2f, 1, 0), 4);
        assertEquals(0, windowed.sample(logits, history, history.length));
        // negative logits get more negative (checked through the kept set order)
        Sampler.Result c = new Sampler(new SamplingParams(1f, 0, 1f, 0f, 2f, 64, 0), 4).candidates(logits, history, 3);
        assertArrayEquals(new int[]{2, 0, 3, 1}, c.ids());
    }

    @Test
    void rejectsOutOfRangeParametersNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> params(-1f, 0, 1f, 0f));
        assertTrue(e.getMessage().contains("temperature"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> params(1f, 0, 0f, 0f)).getMessage().contains("top-p"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> params(1f, 0, 1f, 2f)).getMessage().contains("min-p"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> params(1f, -3, 1f, 0f)).getMessage().contains("top-k"));
    }

    @org.junit.jupiter.api.Test
    void topIdsAreHighestFirstTiesToTheLowerId() {
        float[] v = {1f, 3f, 0.5f, 3f, -2f, 2f};
        assertArrayEquals(new int[]{1, 3, 5}, Sampler.topIds(v, 3));
        float[] w = {1f, 3f, 3f, -2f};
        assertArrayEquals(new int[]{1, 2, 0, 3}, Sampler.topIds(w, 10));
    }
}
