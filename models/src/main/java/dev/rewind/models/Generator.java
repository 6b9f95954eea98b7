package dev.rewind.models;

import dev.rewind.engine.sampling.Sampler;
import dev.rewind.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Plain autoregressive generation: evaluate the prompt, then sample one token at a time until
 * the token budget, the end of the context or (unless ignored) an end-of-generation token.
 */
public final class Generator {

    /** Receives each generated token as soon as it is chosen. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int token);
    }

    /**
     * What to generate.
     *
     * @param maxTokens  at most this many new tokens
     * @param ignoreEos  keep going after an end-of-generation token
     * @param topLogits  record the K highest raw logits of every step (0 records none)
     */
    public record Options(int maxTokens, boolean ignoreEos, int topLogits) {
        public Options {
            if (maxTokens < 0) {
                throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
            }
            if (topLogits < 0) {
                throw new IllegalArgumentException("top-logits must be >= 0, got " + topLogits);
            }
        }
    }

    /** One generated step: the chosen token and, when asked for, the K highest raw logits as (id, logit). */
    public record Step(int token, int[] topIds, float[] topLogits) {
    }

    /**
     * The outcome of a generation.
     *
     * @param promptTokens the prompt's ids
     * @param tokens       the generated ids (an end token that stopped generation included)
     * @param steps        per generated token, its top logits when asked for
     * @param promptNanos  time to evaluate the prompt (up to the first logits)
     * @param predictNanos time of the generation steps after the prompt
     * @param stop         why generation stopped
     */
    public record Result(int[] promptTokens, int[] tokens, List<Step> steps, long promptNanos, long predictNanos, StopReason stop) {
    }

    public enum StopReason { MAX_TOKENS, END_OF_GENERATION, CONTEXT_FULL }

    private final LanguageModel model;
    private final Tokenizer tokenizer;

    public Generator(LanguageModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /**
     * Generates from {@code prompt} (token ids, BOS included if wanted) into a fresh state of
     * {@code contextLength} positions.
     *
     * @throws IllegalArgumentException if the prompt is empty or does not fit the context
     */
    public Result generate(int[] prompt, int contextLength, Sampler sampler, Options options, TokenListener listener) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the context of " + contextLength);
        }
        int[] history = Arrays.copyOf(prompt, prompt.length + options.maxTokens());
        int length = prompt.length;
        List<Step> steps = new ArrayList<>();
        try (ModelState state = model.newState(contextLength)) {
            long start = System.nanoTime();
            float[] logits = null;
            for (int i = 0; i < prompt.length; i++) {
                logits = model.forward(state, prompt[i], i, i == prompt.length - 1);
            }
            long promptNanos = System.nanoTime() - start;
            long predictStart = System.nanoTime();
            StopReason stop = StopReason.MAX_TOKENS;
            for (int n = 0; n < options.maxTokens(); n++) {
                int token = sampler.sample(logits, history, length);
                steps.add(options.topLogits() > 0 ? topLogits(token, logits, options.topLogits()) : new Step(token, null, null));
                history[length++] = token;
                listener.onToken(token);
                if (!options.ignoreEos() && tokenizer.isEndOfGeneration(token)) {
                    stop = StopReason.END_OF_GENERATION;
                    break;
                }
                if (n == options.maxTokens() - 1) {
                    break;
                }
                if (length >= contextLength) {
                    stop = StopReason.CONTEXT_FULL;
                    break;
                }
                logits = model.forward(state, token, length - 1, true);
            }
            long predictNanos = System.nanoTime() - predictStart;
            return new Result(prompt.clone(), Arrays.copyOfRange(history, prompt.length, length), List.copyOf(steps),
                    promptNanos, predictNanos, stop);
        }
    }

    /** The k highest logits, highest first, ties by lower id. */
    static Step topLogits(int token, float[] logits, int k) {
        int n = Math.min(k, logits.length);
        int[] ids = new int[n];
        float[] values = new float[n];
        int size = 0;
        for (int id = 0; id < logits.length; id++) {
            float v = logits[id];
            if (size == n && !(v > values[n - 1])) {
                continue;
            }
            int pos = size < n ? size++ : n - 1;
            while (pos > 0 && v > values[pos - 1]) {
                ids[pos] = ids[pos - 1];
                values[pos] = values[pos - 1];
                pos--;
            }
            ids[pos] = id;
            values[pos] = v;
        }
        return new Step(token, ids, values);
    }
}
