package dev.rewind.align.decode;

import dev.rewind.engine.sampling.SamplingParams;

import java.util.List;
import java.util.Objects;

/**
 * What one request asks for. Which fields a strategy reads:
 * <ul>
 *   <li>{@code promptTokens}: the answering model's input ids (a chat template already applied) for
 *       {@link PlainDecoding} and {@link DeraDecoding};</li>
 *   <li>{@code text}: the user's text, which {@link RainDecoding} lays out with its conversation and
 *       {@link AlignerDecoding} sends upstream as the question;</li>
 *   <li>{@code sampling}: the draw of plain, DeRa and the Aligner's correction (RAIN samples with its own
 *       parameters and seed);</li>
 *   <li>{@code maxTokens}, {@code stop}: every strategy (RAIN caps its committed answer at
 *       {@code maxTokens}, below its own limit).</li>
 * </ul>
 *
 * @param text         the user's text (may be empty for plain and DeRa)
 * @param promptTokens the prompt's ids (may be empty for RAIN and the Aligner)
 * @param sampling     sampling parameters
 * @param maxTokens    answer tokens at most, {@code >= 0}
 * @param stop         stop strings: the answer ends before the first of them to appear (none empty)
 * @param ignoreEos    keep going after an end-of-generation token (plain, DeRa, Aligner)
 * @param topLogits    record the K highest raw logits of every step in the report (0: none)
 */
public record DecodeRequest(String text, int[] promptTokens, SamplingParams sampling, int maxTokens, List<String> stop,
                            boolean ignoreEos, int topLogits) {

    /**
     * @throws IllegalArgumentException if a count is negative or a stop string is empty
     * @throws NullPointerException     if a component is null
     */
    public DecodeRequest {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(sampling, "sampling");
        promptTokens = promptTokens.clone();
        stop = List.copyOf(stop);
        if (maxTokens < 0) {
            throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        }
        if (topLogits < 0) {
            throw new IllegalArgumentException("top logits must be >= 0, got " + topLogits);
        }
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i).isEmpty()) {
                throw new IllegalArgumentException("stop string " + i + " is empty");
            }
        }
    }

    /** A request for the prompt ids {@code promptTokens}: no text, no stop strings. */
    public static DecodeRequest ofTokens(int[] promptTokens, SamplingParams sampling, int maxTokens) {
        return new DecodeRequest("", promptTokens, sampling, maxTokens, List.of(), false, 0);
    }

    /** A request for the user's text {@code text} (RAIN, Aligner): no prompt ids, no stop strings. */
    public static DecodeRequest ofText(String text, SamplingParams sampling, int maxTokens) {
        return new DecodeRequest(text, new int[0], sampling, maxTokens, List.of(), false, 0);
    }

    @Override
    public int[] promptTokens() {
        return promptTokens.clone();
    }

    /** This request with the user's text {@code value}. */
    public DecodeRequest withText(String value) {
        return new DecodeRequest(value, promptTokens, sampling, maxTokens, stop, ignoreEos, topLogits);
    }

    /** This request with the stop strings {@code value}. */
    public DecodeRequest withStop(List<String> value) {
        return new DecodeRequest(text, promptTokens, sampling, maxTokens, value, ignoreEos, topLogits);
    }

    /** This request going on after end tokens, or not. */
    public DecodeRequest withIgnoreEos(boolean value) {
        return new DecodeRequest(text, promptTokens, sampling, maxTokens, stop, value, topLogits);
    }

    /** This request recording the {@code value} highest logits of every step. */
    public DecodeRequest withTopLogits(int value) {
        return new DecodeRequest(text, promptTokens, sampling, maxTokens, stop, ignoreEos, value);
    }
}
