package dev.rewind.align.rain;

import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.logits.TokenSequence;

import java.util.Objects;

/**
 * A {@link LogitsSource} that passes every call through and counts what it cost: the tokens run
 * through a forward pass, the calls, and the most KV pages its pool held right after a call (pages
 * are only taken inside forward calls, so that is the pool's peak while this source was used; a source
 * without a page pool of its own counts none). One
 * per role (generator, judge, embedder), several may wrap the same model. Not thread-safe.
 */
public final class CountingSource implements LogitsSource {

    private final LogitsSource inner;
    private long tokens;
    private long calls;
    private int peakPages;
    private PagePool pool;

    public CountingSource(LogitsSource inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public int vocabularySize() {
        return inner.vocabularySize();
    }

    @Override
    public TokenSequence newSequence() {
        return inner.newSequence();
    }

    @Override
    public Logits forward(Batch batch) {
        Logits logits = inner.forward(batch);
        tokens += batch.tokens();
        calls++;
        if (batch.entries().getFirst().sequence() instanceof Sequence kv) {
            pool = kv.pool();
            peakPages = Math.max(peakPages, pool.pagesInUse());
        }
        return logits;
    }

    /** Tokens evaluated through this source so far. */
    public long tokens() {
        return tokens;
    }

    /** Forward calls so far. */
    public long calls() {
        return calls;
    }

    /** The most pages in use right after any call so far. */
    public int peakPages() {
        return peakPages;
    }

    /**
     * The page pool of the last call's sequences, or null before the first call and for a source whose
     * sequences are not a model's KV sequences (a mixture): then no pages are counted.
     */
    public PagePool pool() {
        return pool;
    }

    /** Starts counting afresh (a new request). */
    public void reset() {
        tokens = 0;
        calls = 0;
        peakPages = 0;
    }
}
