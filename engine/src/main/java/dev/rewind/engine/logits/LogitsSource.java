package dev.rewind.engine.logits;

import dev.rewind.engine.kv.Sequence;

/**
 * Anything that turns token sequences into next-token logits: a model, or a mixture of models.
 * Its sequences live in its KV cache; {@link Sequence#fork()} and {@link Sequence#truncate(int)}
 * branch and rewind them without evaluating anything.
 */
public interface LogitsSource {

    /** Entries per logits row. */
    int vocabularySize();

    /** A new empty sequence in this source's KV cache. */
    Sequence newSequence();

    /**
     * Appends each entry's tokens to its sequence and computes the wanted logits, evaluating all
     * entries together (each weight matrix is read once per call).
     *
     * @throws dev.rewind.engine.kv.KvCacheFullException when the cache cannot hold the new tokens;
     *         then no sequence has changed
     */
    Logits forward(Batch batch);
}
