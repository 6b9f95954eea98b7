package dev.rewind.align.rain;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The {@code n} highest logits of a row, highest first, ties to the lower id: all a rollout step
 * needs to draw from a top-k softmax, kept instead of the whole row.
 *
 * @param ids    token ids
 * @param logits their raw logits
 */
record TopTokens(int[] ids, float[] logits) {

    static TopTokens of(float[] row, int n) {
        int k = Math.min(n, row.length);
        int[] ids = new int[k];
        float[] values = new float[k];
        int size = 0;
        for (int id = 0; id < row.length; id++) {
            float v = row[id];
            if (Float.isNaN(v) || (size == k && !(v > values[k - 1]))) {
                continue;
            }
            int pos = size < k ? size++ : k - 1;
            while (pos > 0 && v > values[pos - 1]) {
                ids[pos] = ids[pos - 1];
                values[pos] = values[pos - 1];
                pos--;
            }
            ids[pos] = id;
            values[pos] = v;
        }
        return new TopTokens(Arrays.copyOf(ids, size), Arrays.copyOf(values, size));
    }

    int size() {
        return ids.length;
    }

    /** The first {@code n} entries. */
    TopTokens first(int n) {
        return n >= ids.length ? this : new TopTokens(Arrays.copyOf(ids, n), Arrays.copyOf(logits, n));
    }

    /** Softmax of the first {@code n} logits at {@code temperature}. */
    double[] probabilities(int n, double temperature) {
        int k = Math.min(n, ids.length);
        double[] p = new double[k];
        double total = 0;
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp((logits[i] - logits[0]) / temperature);
            total += p[i];
        }
        for (int i = 0; i < k; i++) {
            p[i] /= total;
        }
        return p;
    }

    /** Index into {@code p} drawn in proportion to it. */
    static int draw(double[] p, SplittableRandom random) {
        double u = random.nextDouble();
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u < 0) {
                return i;
            }
        }
        return p.length - 1;
    }

    /** A token drawn from the full softmax of {@code row} at temperature 1. */
    static int drawFull(float[] row, SplittableRandom random) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double total = 0;
        for (float v : row) {
            total += Math.exp(v - max);
        }
        double u = random.nextDouble() * total;
        int last = 0;
        for (int id = 0; id < row.length; id++) {
            double w = Math.exp(row[id] - max);
            if (w > 0) {
                last = id;
            }
            u -= w;
            if (u < 0) {
                return id;
            }
        }
        return last;
    }
}
