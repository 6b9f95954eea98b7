package dev.rewind.engine.generate;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.sampling.Sampler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntPredicate;

/**
 * Plain autoregressive generation on a {@link LogitsSource}, in a context that lives across calls:
 * it keeps its sequence, so a prompt that extends what the context already holds (a chat turn, a
 * judge prompt sharing a few-shot prefix) evaluates only the tokens past the common prefix. The
 * prompt is evaluated in batches of {@link #PREFILL_CHUNK} tokens, each one forward call.
 * Not thread-safe.
 */
public final class GenerationContext implements AutoCloseable {

    /** Prompt tokens per prefill forward call. */
    public static final int PREFILL_CHUNK = 256;

    /** Receives each generated token as soon as it is chosen. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int token);
    }

    /**
     * @param maxTokens at most this many new tokens
     * @param ignoreEos keep going after an end-of-generation token
     * @param topLogits record the K highest raw logits of every step (0 records none)
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
     * The outcome of one {@link #generate} call.
     *
     * @param promptTokens   the prompt's ids
     * @param reusedTokens   prompt tokens found in the context and not evaluated again
     * @param tokens         the generated ids (an end token that stopped generation included)
     * @param steps          per generated token, its top logits when asked for
     * @param promptNanos    time to evaluate the new part of the prompt (up to the first logits)
     * @param predictNanos   time of the generation steps after the prompt
     * @param stop           why generation stopped
     */
    public record Result(int[] promptTokens, int reusedTokens, int[] tokens, List<Step> steps,
                         long promptNanos, long predictNanos, StopReason stop) {
        /** Prompt tokens that went through a forward pass. */
        public int evaluatedPromptTokens() {
            return promptTokens.length - reusedTokens;
        }
    }

    /** Why a generation stopped. */
    public enum StopReason {
        /** {@link Options#maxTokens()} tokens were generated. */
        MAX_TOKENS,
        /** An end-of-generation token was generated (and is the last of the result's tokens). */
        END_OF_GENERATION,
        /** The sequence reached the context length. */
        CONTEXT_FULL,
        /** The caller's halt condition became true (a stop string was seen, the request was cancelled). */
        HALTED
    }

    private final LogitsSource source;
    private final IntPredicate isEnd;
    private final int contextLength;
    private final TokenSequence sequence;
    /** The tokens whose keys and values the sequence holds: {@code held[0 .. heldLength)}. */
    private int[] held = new int[64];
    private int heldLength;

    /**
     * @param isEndOfGeneration which tokens end a generation (EOS, EOT)
     * @param contextLength     most positions the sequence may reach
     */
    public GenerationContext(LogitsSource source, IntPredicate isEndOfGeneration, int contextLength) {
        if (contextLength <= 0) {
            throw new IllegalArgumentException("context length must be positive, got " + contextLength);
        }
        this.source = source;
        this.isEnd = isEndOfGeneration;
        this.contextLength = contextLength;
        this.sequence = source.newSequence();
    }

    /** The tokens the context holds (prompt and generated tokens fed back so far). */
    public int[] tokens() {
        return Arrays.copyOf(held, heldLength);
    }

    /** The context's sequence in its source. */
    public TokenSequence sequence() {
        return sequence;
    }

    /**
     * Generates from {@code prompt}, reusing the longest prefix it shares with what the context holds.
     *
     * @throws IllegalArgumentException if the prompt is empty or longer than the context
     * @throws dev.rewind.engine.kv.KvCacheFullException if the KV cache cannot hold the prompt
     */
    public Result generate(int[] prompt, Sampler sampler, Options options, TokenListener listener) {
        return generate(prompt, sampler, options, listener, () -> false);
    }

    /**
     * {@link #generate(int[], Sampler, Options, TokenListener)}, stopping with {@link StopReason#HALTED}
     * as soon as {@code halt} is true: it is asked before each prompt chunk (a request cancelled during a
     * long prompt stops evaluating it; the context keeps what was evaluated), after the prompt (before the
     * first token is chosen) and after each token has gone to the listener (after the end-of-generation
     * check), so no forward call is spent on a token nobody wants.
     */
    public Result generate(int[] prompt, Sampler sampler, Options options, TokenListener listener, BooleanSupplier halt) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the context of " + contextLength);
        }
        long start = System.nanoTime();
        int reused = Math.min(commonPrefix(held, heldLength, prompt), prompt.length - 1); // the last prompt token is fed for its logits
        if (!sequence.canTruncate(reused)) {
            reused = 0; // the sliding-window layers gave back the window of that position: evaluate it all again
        }
        sequence.truncate(reused);
        heldLength = reused;
        float[] logits = null;
        for (int from = reused; from < prompt.length; from += PREFILL_CHUNK) {
            if (halt.getAsBoolean()) {
                return new Result(prompt.clone(), reused, new int[0], List.of(), System.nanoTime() - start, 0, StopReason.HALTED);
            }
            int to = Math.min(prompt.length, from + PREFILL_CHUNK);
            Batch batch = Batch.of(List.of(new Batch.Entry(sequence, Arrays.copyOfRange(prompt, from, to),
                    to == prompt.length ? Batch.Wanted.LAST : Batch.Wanted.NONE)));
            Logits out = source.forward(batch);
            hold(prompt, from, to);
            if (to == prompt.length) {
                logits = out.row(0);
            }
        }
        long promptNanos = System.nanoTime() - start;

        // Sized by what the context can hold, never by --max-tokens alone (which may be 2^31 − 1): the loop
        // stops once the context is full, after the one token chosen from the last position's logits.
        int[] history = Arrays.copyOf(prompt, (int) Math.min((long) prompt.length + options.maxTokens(), (long) contextLength + 1));
        int length = prompt.length;
        List<Step> steps = new ArrayList<>();
        StopReason stop = StopReason.MAX_TOKENS;
        long predictStart = System.nanoTime();
        if (options.maxTokens() > 0 && halt.getAsBoolean()) {
            stop = StopReason.HALTED;
        }
        for (int n = 0; n < options.maxTokens() && stop != StopReason.HALTED; n++) {
            int token = sampler.sample(logits, history, length);
            steps.add(options.topLogits() > 0 ? topLogits(token, logits, options.topLogits()) : new Step(token, null, null));
            history[length++] = token;
            listener.onToken(token);
            if (!options.ignoreEos() && isEnd.test(token)) {
                stop = StopReason.END_OF_GENERATION;
                break;
            }
            if (halt.getAsBoolean()) {
                stop = StopReason.HALTED;
                break;
            }
            if (n == options.maxTokens() - 1) {
                break;
            }
            if (length >= contextLength) {
                stop = StopReason.CONTEXT_FULL;
                break;
            }
            logits = source.forward(Batch.single(sequence, token)).row(0);
            hold(history, length - 1, length);
        }
        long predictNanos = System.nanoTime() - predictStart;
        return new Result(prompt.clone(), reused, Arrays.copyOfRange(history, prompt.length, length), List.copyOf(steps),
                promptNanos, predictNanos, stop);
    }

    /** Records that tokens[from, to) now follow what the sequence held. */
    private void hold(int[] tokens, int from, int to) {
        if (heldLength + (to - from) > held.length) {
            held = Arrays.copyOf(held, Math.max(heldLength + (to - from), 2 * held.length));
        }
        System.arraycopy(tokens, from, held, heldLength, to - from);
        heldLength += to - from;
    }

    private static int commonPrefix(int[] a, int aLength, int[] b) {
        int n = Math.min(aLength, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    /** The k highest logits, highest first, ties by lower id. */
    static Step topLogits(int token, float[] logits, int k) {
        int[] ids = Sampler.topIds(logits, k);
        float[] values = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            values[i] = logits[ids[i]];
        }
        return new Step(token, ids, values);
    }

    /** Releases the context's sequence. */
    @Override
    public void close() {
        sequence.close();
    }
}
