package dev.rewind.engine.sampling;

import java.util.Arrays;

/**
 * The tokens still in the running for the next draw, with their (transformed) logits: what the
 * {@link LogitsProcessor}s of a chain narrow down. Starts as the whole vocabulary in id order;
 * {@link #sortDescending()} orders it by logit (ties by lower id) once some processor needs an
 * order. Buffers are sized once for the vocabulary and reused.
 */
public final class Candidates {

    private final int[] ids;
    private final float[] logits;
    private final long[] keys;
    private int size;
    private boolean sorted;

    public Candidates(int vocabularySize) {
        this.ids = new int[vocabularySize];
        this.logits = new float[vocabularySize];
        this.keys = new long[vocabularySize];
    }

    /** Refills from a raw logit row (not modified). */
    public void reset(float[] raw) {
        if (raw.length != ids.length) {
            throw new IllegalArgumentException("logits have " + raw.length + " entries, the vocabulary " + ids.length);
        }
        for (int i = 0; i < raw.length; i++) {
            ids[i] = i;
        }
        System.arraycopy(raw, 0, logits, 0, raw.length);
        size = raw.length;
        sorted = false;
    }

    public int size() {
        return size;
    }

    public int id(int i) {
        return ids[i];
    }

    public float logit(int i) {
        return logits[i];
    }

    public void setLogit(int i, float value) {
        logits[i] = value;
        sorted = false;
    }

    /** Keeps the first {@code n} candidates (in the current order). */
    public void truncate(int n) {
        size = Math.max(1, Math.min(size, n));
    }

    public boolean isSorted() {
        return sorted;
    }

    /** Orders the candidates by logit, highest first, ties by lower id; NaN last. */
    public void sortDescending() {
        if (sorted) {
            return;
        }
        for (int i = 0; i < size; i++) {
            keys[i] = ((long) descendingKey(logits[i]) << 32) | (ids[i] & 0xffffffffL);
        }
        Arrays.sort(keys, 0, size);
        for (int i = 0; i < size; i++) {
            ids[i] = (int) keys[i];
            logits[i] = logitOfKey(keys[i]);
        }
        sorted = true;
    }

    /** The index of the highest logit (lowest id on ties) without sorting. */
    public int argmax() {
        int best = 0;
        for (int i = 1; i < size; i++) {
            if (logits[i] > logits[best] || (logits[i] == logits[best] && ids[i] < ids[best]) || Float.isNaN(logits[best])) {
                best = i;
            }
        }
        return best;
    }

    /** Softmax probabilities of the current candidates into {@code out[0..size)}; returns their sum before normalising. */
    public double probabilities(double[] out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < size; i++) {
            max = Math.max(max, logits[i]);
        }
        double total = 0;
        for (int i = 0; i < size; i++) {
            out[i] = Math.exp((double) logits[i] - max);
            total += out[i];
        }
        for (int i = 0; i < size; i++) {
            out[i] /= total;
        }
        return total;
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

    private static float logitOfKey(long key) {
        int descending = (int) (key >>> 32);
        if (descending == Integer.MAX_VALUE) {
            return Float.NaN;
        }
        int ascending = ~descending;
        int bits = ascending ^ ((ascending >> 31) & 0x7fffffff);
        return Float.intBitsToFloat(bits);
    }
}
