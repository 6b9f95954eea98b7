package dev.rewind.engine.logits;

/**
 * Next-token logits produced by one forward call, one row per wanted position, in batch order
 * (entry by entry; within an entry, position by position). The rows are buffers owned by the
 * {@link LogitsSource}: they stay valid until its next forward call. Copy a row to keep it.
 */
public interface Logits {

    /** Rows in this result. */
    int rows();

    /** Values per row: the vocabulary size. */
    int vocabularySize();

    /** Row {@code i}; not a copy. */
    float[] row(int i);

    /** The row of entry {@code entry} of the batch at its {@code k}-th wanted position. */
    float[] row(Batch batch, int entry, int k);

    /**
     * The final normalised hidden state behind row {@code i}: the residual stream after the model's
     * last norm, the vector the output matrix turns into that row's logits (one value per embedding
     * dimension). Mean-pooled over a text's positions it serves as a sentence embedding. A new array
     * each call. Sources that have no such state (a mixture of models, a scripted source) throw.
     *
     * @throws UnsupportedOperationException if this source does not expose hidden states
     * @throws IndexOutOfBoundsException     if {@code i} is not a row of this result
     */
    default float[] hidden(int i) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not expose hidden states");
    }
}
