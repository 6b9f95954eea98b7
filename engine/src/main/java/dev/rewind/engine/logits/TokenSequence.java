package dev.rewind.engine.logits;

/**
 * A sequence of tokens held by a {@link LogitsSource}: what a caller needs to branch and rewind a
 * decoding without knowing how the source stores its state. A model's sequence is its paged KV cache
 * ({@link dev.rewind.engine.kv.Sequence}); a mixture of models keeps one sequence per model; a test
 * source may keep only the token ids. Every method is cheap: nothing is evaluated.
 *
 * <p>A sequence is extended only by {@link LogitsSource#forward} of the source that handed it out,
 * and is used by one thread at a time.
 */
public interface TokenSequence extends AutoCloseable {

    /** Tokens the sequence holds. */
    int length();

    /**
     * A new sequence of the same source holding the same tokens; appending to either one later does
     * not change the other. Its cost is independent of the tokens' evaluation (a model shares pages).
     *
     * @throws IllegalStateException if this sequence is closed
     */
    TokenSequence fork();

    /**
     * Rewinds to the first {@code newLength} tokens; appending afterwards is as if the sequence had never
     * gone further.
     *
     * @throws IllegalArgumentException if {@code newLength} is negative or beyond {@link #length()}
     * @throws IllegalStateException    if this sequence is closed
     */
    void truncate(int newLength);

    /**
     * True when {@link #truncate} to {@code newLength} is allowed. Every length from 0 to {@link #length()}
     * is, unless the source gives back state it no longer needs: a model's sliding-window layers keep only
     * their window ({@link dev.rewind.engine.kv.Sequence#canTruncate}), so a rewind to a length whose
     * window they gave back is refused and the caller evaluates the tokens again.
     */
    default boolean canTruncate(int newLength) {
        return !isClosed() && newLength >= 0 && newLength <= length();
    }

    /** Whether {@link #close()} was called. */
    boolean isClosed();

    /** Releases what the sequence holds in its source. Closing twice does nothing. */
    @Override
    void close();
}
