package dev.rewind.engine.sampling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chooses next tokens from logits: a chain of {@link LogitsProcessor}s, then either the highest
 * remaining logit (greedy) or a draw from the softmax of what remains, with a seeded random
 * source. Two samplers built alike and fed the same logits choose the same tokens. Scratch space
 * is sized once for the vocabulary, so a draw allocates nothing. Not thread-safe.
 */
public final class Sampler {

    private final List<LogitsProcessor> chain;
    private final boolean greedy;
    private final SplittableRandom random;
    private final Candidates candidates;
    private final double[] weights;

    /**
     * @param chain          processors, applied in order
     * @param greedy         take the highest remaining logit (ties to the lower id) instead of drawing
     * @param seed           seed of the draw
     * @param vocabularySize entries per logits row
     */
    public Sampler(List<LogitsProcessor> chain, boolean greedy, long seed, int vocabularySize) {
        if (vocabularySize <= 0) {
            throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabularySize);
        }
        this.chain = List.copyOf(chain);
        this.greedy = greedy;
        this.random = new SplittableRandom(seed);
        this.candidates = new Candidates(vocabularySize);
        this.weights = new double[vocabularySize];
    }

    /**
     * The standard chain for {@code params}: repetition penalty, temperature, top-k, top-p, min-p,
     * then the draw; a temperature of 0 is greedy after the penalty.
     */
    public Sampler(SamplingParams params, int vocabularySize) {
        this(chainFor(params, vocabularySize), params.isGreedy(), params.seed(), vocabularySize);
    }

    private static List<LogitsProcessor> chainFor(SamplingParams p, int vocabularySize) {
        List<LogitsProcessor> chain = new ArrayList<>();
        if (p.repeatPenalty() != 1f) {
            chain.add(new Processors.RepetitionPenalty(p.repeatPenalty(), p.repeatLastN(), vocabularySize));
        }
        if (!p.isGreedy()) {
            if (p.temperature() != 1f) {
                chain.add(new Processors.Temperature(p.temperature()));
            }
            chain.add(new Processors.TopK(p.topK()));
            chain.add(new Processors.TopP(p.topP(), vocabularySize));
            chain.add(new Processors.MinP(p.minP()));
        }
        return chain;
    }

    public List<LogitsProcessor> chain() {
        return chain;
    }

    /**
     * Chooses the next token.
     *
     * @param logits  one row of raw logits (not modified)
     * @param history tokens so far (prompt and generated)
     * @param length  valid entries of {@code history}
     */
    public int sample(float[] logits, int[] history, int length) {
        filter(logits, history, length);
        Candidates c = candidates;
        if (greedy) {
            return c.id(c.argmax());
        }
        if (c.size() == 1) {
            return c.id(0);
        }
        c.probabilities(weights);
        double u = random.nextDouble();
        for (int i = 0; i < c.size(); i++) {
            u -= weights[i];
            if (u < 0) {
                return c.id(i);
            }
        }
        return c.id(c.size() - 1);
    }

    /**
     * The tokens that survive the chain, most likely first, with probabilities renormalised over
     * them. A greedy sampler keeps exactly one.
     */
    public Result candidates(float[] logits, int[] history, int length) {
        filter(logits, history, length);
        Candidates c = candidates;
        if (greedy) {
            return new Result(new int[]{c.id(c.argmax())}, new float[]{1f});
        }
        c.sortDescending();
        c.probabilities(weights);
        int[] ids = new int[c.size()];
        float[] probabilities = new float[c.size()];
        for (int i = 0; i < c.size(); i++) {
            ids[i] = c.id(i);
            probabilities[i] = (float) weights[i];
        }
        return new Result(ids, probabilities);
    }

    private void filter(float[] logits, int[] history, int length) {
        candidates.reset(logits);
        for (LogitsProcessor p : chain) {
            p.apply(candidates, history, length);
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

    /**
     * The ids of the {@code k} highest values (at most {@code values.length}), highest first, ties to
     * the lower id. {@code values} must hold no NaN (the order is undefined then).
     */
    public static int[] topIds(float[] values, int k) {
        int n = Math.min(k, values.length);
        int[] ids = new int[n];
        float[] best = new float[n];
        int size = 0;
        for (int id = 0; id < values.length; id++) {
            float v = values[id];
            if (size == n && !(v > best[n - 1])) {
                continue;
            }
            int pos = size < n ? size++ : n - 1;
            while (pos > 0 && v > best[pos - 1]) {
                ids[pos] = ids[pos - 1];
                best[pos] = best[pos - 1];
                pos--;
            }
            ids[pos] = id;
            best[pos] = v;
        }
        return ids;
    }

    /**
     * A filtered candidate set.
     *
     * @param ids           token ids, most likely first
     * @param probabilities their probabilities renormalised over this set
     */
    public record Result(int[] ids, float[] probabilities) {
        @Override
        public String toString() {
            return "Result" + Arrays.toString(ids);
        }
    }
}
