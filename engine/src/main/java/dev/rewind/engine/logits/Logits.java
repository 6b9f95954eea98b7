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
}
