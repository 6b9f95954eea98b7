package dev.rewind.engine.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses next tokens from logits under {@link SamplingParams}, with its own seeded random
 * source: two samplers built with the same parameters and fed the same logits choose the same
 * tokens. Scratch space is allocated once for the vocabulary, so sampling allocates nothing.
 * Not thread-safe: one sampler per generation.
 */
public final class Sampler {

    private final SamplingParams params;
    private final SplittableRandom random;
    private final float[] work;
    private final long[] order;
    private final int[] keptIds;
    private final float[] keptLogits;
    private final double[] keptWeights;
    private final boolean[] penalised;

    public Sampler(SamplingParams params, int vocabularySize) {
        if (vocabularySize <= 0) {
            throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabularySize);
        }
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.work = new float[vocabularySize];
        this.order = new long[vocabularySize];
        this.keptIds = new int[vocabularySize];
        this.keptLogits = new float[vocabularySize];
        this.keptWeights = new double[vocabularySize];
        this.penalised = new boolean[vocabularySize];
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Chooses the next token.
     *
     * @param logits  one row of raw logits (not modified)
     * @param history tokens so far (prompt and generated), for the repetition penalty
     * @param length  how many entries of {@code history} are valid
     */
    public int sample(float[] logits, int[] history, int length) {
        int kept = filter(logits, history, length);
        if (kept == 1) {
            return keptIds[0];
        }
        double max = keptLogits[0];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            keptWeights[i] = Math.exp(keptLogits[i] - max);
            total += keptWeights[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < kept; i++) {
            u -= keptWeights[i];
            if (u < 0) {
                return keptIds[i];
            }
        }
        return keptIds[kept - 1];
    }

    /**
     * The tokens that survive penalty, temperature, top-k, top-p and min-p, most likely first,
     * with their probabilities renormalised over the kept set. Greedy parameters keep exactly one.
     */
    public Candidates candidates(float[] logits, int[] history, int length) {
        int kept = filter(logits, history, length);
        double max = keptLogits[0];
        double total = 0;
        double[] w = new double[kept];
        for (int i = 0; i < kept; i++) {
            w[i] = Math.exp(keptLogits[i] - max);
            total += w[i];
        }
        float[] probabilities = new float[kept];
        for (int i = 0; i < kept; i++) {
            probabilities[i] = (float) (w[i] / total);
        }
        return new Candidates(Arrays.copyOf(keptIds, kept), probabilities);
    }

    /** Fills keptIds/keptLogits (sorted by logit, descending; ties by lower id) and returns their count. */
    private int filter(float[] logits, int[] history, int length) {
        int n = work.length;
        if (logits.length != n) {
            throw new IllegalArgumentException("logits have " + logits.length + " entries, the vocabulary " + n);
        }
        System.arraycopy(logits, 0, work, 0, n);
        applyRepeatPenalty(history, length);
        if (params.isGreedy()) {
            keptIds[0] = argmax(work);
            keptLogits[0] = work[keptIds[0]];
            return 1;
        }
        float invT = 1f / params.temperature();
        for (int i = 0; i < n; i++) {
            work[i] *= invT;
        }
        int kept = sortDescending(params.topK() > 0 ? Math.min(params.topK(), n) : n);
        kept = applyTopP(kept);
        return applyMinP(kept);
    }

    private void applyRepeatPenalty(int[] history, int length) {
        float penalty = params.repeatPenalty();
        if (penalty == 1f || params.repeatLastN() == 0 || length == 0) {
            return;
        }
        int from = Math.max(0, length - params.repeatLastN());
        for (int i = from; i < length; i++) {
            int t = history[i];
            if (t >= 0 && t < work.length && !penalised[t]) {
                penalised[t] = true;
                work[t] = work[t] > 0 ? work[t] / penalty : work[t] * penalty;
            }
        }
        for (int i = from; i < length; i++) {
            int t = history[i];
            if (t >= 0 && t < work.length) {
                penalised[t] = false;
            }
        }
    }

    /** Index of the largest value; the lowest index among equals. NaN never wins. */
    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best] || Float.isNaN(values[best])) {
                best = i;
            }
        }
        return best;
    }

    /** Sorts all of work by logit (descending, ties by id) and keeps the first {@code k}. */
    private int sortDescending(int k) {
        int n = work.length;
        for (int i = 0; i < n; i++) {
            order[i] = ((long) descendingKey(work[i]) << 32) | i;
        }
        Arrays.sort(order, 0, n);
        for (int i = 0; i < k; i++) {
            int id = (int) order[i];
            keptIds[i] = id;
            keptLogits[i] = work[id];
        }
        return k;
    }

    /** An int whose signed order is the descending order of {@code f} (NaN last). */
    private static int descendingKey(float f) {
        if (Float.isNaN(f)) {
            return Integer.MAX_VALUE;
        }
        int bits = Float.floatToIntBits(f);
        int ascending = bits ^ ((bits >> 31) & 0x7fffffff);
        return ~ascending;
    }

    private int applyTopP(int kept) {
        float p = params.topP();
        if (p >= 1f || kept <= 1) {
            return kept;
        }
        double max = keptLogits[0];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            keptWeights[i] = Math.exp(keptLogits[i] - max);
            total += keptWeights[i];
        }
        double cumulative = 0;
        for (int i = 0; i < kept; i++) {
            cumulative += keptWeights[i] / total;
            if (cumulative >= p) {
                return i + 1;
            }
        }
        return kept;
    }

    private int applyMinP(int kept) {
        float minP = params.minP();
        if (minP <= 0f || kept <= 1) {
            return kept;
        }
        // p_i >= minP * p_max  <=>  logit_i >= logit_max + ln(minP)
        double threshold = keptLogits[0] + Math.log(minP);
        int i = 1;
        while (i < kept && keptLogits[i] >= threshold) {
            i++;
        }
        return i;
    }

    /**
     * A filtered candidate set.
     *
     * @param ids           token ids, most likely first
     * @param probabilities their probabilities renormalised over this set
     */
    public record Candidates(int[] ids, float[] probabilities) {
    }
}
