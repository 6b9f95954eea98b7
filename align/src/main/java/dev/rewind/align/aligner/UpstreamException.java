package dev.rewind.align.aligner;

/** An upstream could not answer a question: a timeout, an HTTP status, a question too long for its context. */
public final class UpstreamException extends RuntimeException {

    private final double seconds;

    /**
     * @param message one line saying what went wrong
     * @param seconds time until the failure
     */
    public UpstreamException(String message, double seconds) {
        super(message);
        this.seconds = seconds;
    }

    /** Seconds the upstream took to fail. */
    public double seconds() {
        return seconds;
    }
}
