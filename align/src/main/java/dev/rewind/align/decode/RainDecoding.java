package dev.rewind.align.decode;

import dev.rewind.align.rain.PlainBaseline;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainResult;
import dev.rewind.engine.logits.LogitsSource;

import java.util.Objects;
import java.util.Optional;

/**
 * RAIN's tree search ({@link Rain}) on the request's text, laid out by the Rain's conversation. The
 * answer streams a committed span at a time; the request's {@code maxTokens} caps it (below RAIN's own
 * {@code maxNewTokens}) and its stop strings end it; sampling inside the search follows RAIN's own
 * parameters and seed, not the request's. Cancellation is looked at after every inner iteration.
 */
public final class RainDecoding implements DecodingStrategy {

    private final Rain rain;
    private final Optional<LogitsSource> baseline;
    private final boolean trace;

    /**
     * @param rain     the configured search (generator, judge, embedder, parameters, conversation)
     * @param baseline the generator, to measure plain greedy generation of the same length after each
     *                 request (the report's overhead ratios); empty to skip it
     * @param trace    record the search tree of every commit in the report's result
     */
    public RainDecoding(Rain rain, Optional<LogitsSource> baseline, boolean trace) {
        this.rain = Objects.requireNonNull(rain, "rain");
        this.baseline = Objects.requireNonNull(baseline, "baseline");
        this.trace = trace;
    }

    @Override
    public String method() {
        return "rain";
    }

    /**
     * @throws dev.rewind.align.rain.PromptTooLongException if the laid-out prompt leaves no room for an answer
     * @throws IllegalArgumentException                      if {@code maxTokens} is 0
     */
    @Override
    public synchronized Decoded decode(DecodeRequest request, DecodeListener listener, Cancellation cancellation) {
        TextStream stream = new TextStream(listener, request.stop(), false);
        int markerHold = Math.max(0, rain.conversation().turnMarker().length() - 1);
        int[] reported = {0};
        Rain.Observer observer = new Rain.Observer() {
            @Override
            public void afterCommit(String answerText, int[] answerTokens) {
                for (int i = reported[0]; i < answerTokens.length; i++) {
                    listener.onToken(answerTokens[i]);
                }
                reported[0] = Math.max(reported[0], answerTokens.length);
                stream.update(answerText, markerHold + unfinishedTail(answerText));
            }

            @Override
            public boolean halt() {
                return stream.stopped() || cancellation.isCancelled();
            }
        };
        RainResult r = rain.run(request.text(), trace, observer, request.maxTokens());
        int[] tokens = r.answerTokens();
        for (int i = reported[0]; i < tokens.length; i++) {
            listener.onToken(tokens[i]);
        }
        String text = stream.finish(r.answer());
        PlainBaseline.Cost plain = baseline.isPresent() && tokens.length > 0 && !cancellation.isCancelled()
                ? PlainBaseline.measure(baseline.get(), r.promptTokens(), tokens.length)
                : new PlainBaseline.Cost(0, 0, 0);
        FinishReason finish = stream.stopped() ? FinishReason.STOP : switch (r.stop()) {
            case END_OF_GENERATION, TURN_MARKER -> FinishReason.STOP;
            case MAX_LENGTH, MAX_NEW_TOKENS -> FinishReason.LENGTH;
            case HALTED -> FinishReason.CANCELLED;
        };
        return new Decoded(text, tokens, new Usage(r.promptTokens().length, tokens.length), finish, new MethodReport.Rain(r, plain));
    }

    /** Replacement characters at the end: bytes of a character the next span completes. */
    private static int unfinishedTail(String text) {
        int n = 0;
        while (n < text.length() && text.charAt(text.length() - 1 - n) == '\uFFFD') {
            n++;
        }
        return n;
    }

    /** Nothing to release: the Rain's judge and embedder belong to whoever built it. */
    @Override
    public void close() {
    }
}
