package dev.rewind.server;

import dev.rewind.engine.sampling.SamplingParams;

import java.util.List;

/**
 * One validated generation request as the scheduler sees it: token ids and the decoding rules,
 * nothing of HTTP.
 *
 * @param prompt      the prompt's token ids (at least one)
 * @param sampling    the sampling chain and seed of choice 0 (choice i draws with seed + i)
 * @param maxTokens   most tokens per choice
 * @param n           choices to generate from the one prompt
 * @param stop        stop strings (empty: none)
 * @param topLogprobs -1: no log-probabilities; 0..20: the chosen token's and this many alternatives'
 * @param deadlineNanos {@link System#nanoTime()} after which the request is cancelled
 */
record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, int n, List<String> stop,
                         int topLogprobs, long deadlineNanos) {

    GenerationRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (n < 1 || maxTokens < 0) {
            throw new IllegalArgumentException("n " + n + ", max tokens " + maxTokens);
        }
        stop = List.copyOf(stop);
    }

    boolean logprobs() {
        return topLogprobs >= 0;
    }
}
