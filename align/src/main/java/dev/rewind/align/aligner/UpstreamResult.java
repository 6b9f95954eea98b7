package dev.rewind.align.aligner;

import java.util.Objects;

/** An upstream's answer to one question, or the reason it has none. */
public sealed interface UpstreamResult permits UpstreamResult.Answer, UpstreamResult.Failure {

    /** Seconds the upstream took. */
    double seconds();

    /**
     * @param text    the answer
     * @param seconds time taken
     */
    record Answer(String text, double seconds) implements UpstreamResult {
        public Answer {
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * @param message one line saying what went wrong (a timeout, an HTTP status, a context too small)
     * @param seconds time until the failure
     */
    record Failure(String message, double seconds) implements UpstreamResult {
        public Failure {
            Objects.requireNonNull(message, "message");
        }
    }
}
