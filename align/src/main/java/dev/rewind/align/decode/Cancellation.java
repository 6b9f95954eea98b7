package dev.rewind.align.decode;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A request's cancellation flag, set from any thread (a server whose client disconnected, a timeout).
 * A decoding looks at it between steps — after every token, every RAIN search iteration, and before
 * an Aligner's correction — and then stops with {@link FinishReason#CANCELLED}, returning what it had.
 * One per request.
 */
public final class Cancellation {

    private final AtomicBoolean cancelled = new AtomicBoolean();

    /** Asks the decoding to stop at its next step. Idempotent. */
    public void cancel() {
        cancelled.set(true);
    }

    /** Whether {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled.get();
    }
}
