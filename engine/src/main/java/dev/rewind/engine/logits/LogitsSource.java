package dev.rewind.engine.logits;

/**
 * Anything that turns token sequences into next-token logits: a model, or a mixture of models.
 * Its sequences are {@link TokenSequence}s it hands out (a model's live in its KV cache);
 * {@link TokenSequence#fork()} and {@link TokenSequence#truncate(int)} branch and rewind them without
 * evaluating anything. A batch entry whose sequence came from another source is refused.
 */
public interface LogitsSource {

    /** Entries per logits row. */
    int vocabularySize();

    /** A new empty sequence of this source. */
    TokenSequence newSequence();

    /**
     * Appends each entry's tokens to its sequence and computes the wanted logits, evaluating all
     * entries together (each weight matrix is read once per call).
     *
     * @throws dev.rewind.engine.kv.KvCacheFullException when the cache cannot hold the new tokens;
     *         then no sequence has changed
     * @throws IllegalArgumentException if an entry's sequence was not handed out by this source
     */
    Logits forward(Batch batch);
}
