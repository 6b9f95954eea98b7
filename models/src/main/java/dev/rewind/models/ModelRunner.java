package dev.rewind.models;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;

import java.util.BitSet;

/**
 * A model with its KV page pool and workspace: the {@link LogitsSource} the decoding strategies
 * run on. Forward calls are serialised (one workspace); sequences may be forked and truncated
 * freely between them. The sliding-window layers of a model (Gemma 2 and 3) keep only their window
 * in the KV pages ({@link PagePool.SlidingWindow}, with {@link PagePool#DEFAULT_REWIND_MARGIN}
 * positions kept for rewinds).
 */
public final class ModelRunner implements LogitsSource, AutoCloseable {

    private final LanguageModel model;
    private final PagePool pool;
    private final Workspace workspace;

    /**
     * @param capacity KV capacity in tokens over all sequences
     * @param pageSize positions per KV page
     * @param kvType   KV precision
     */
    public ModelRunner(LanguageModel model, int capacity, int pageSize, KvType kvType) {
        TransformerConfig c = model.config();
        this.model = model;
        this.pool = PagePool.forTokens(c.layers(), c.kvDim(), pageSize, capacity, kvType,
                slidingWindow(c, PagePool.DEFAULT_REWIND_MARGIN));
        this.workspace = model.newWorkspace(capacity);
    }

    /** The KV pool's sliding window for {@code c}'s sliding layers, or null when it has none. */
    static PagePool.SlidingWindow slidingWindow(TransformerConfig c, int rewindMargin) {
        TransformerConfig.Attention a = c.attention();
        BitSet layers = new BitSet();
        for (int l = 0; l < c.layers(); l++) {
            if (a.isSliding(l)) {
                layers.set(l);
            }
        }
        return layers.isEmpty() ? null : new PagePool.SlidingWindow(a.slidingWindow(), rewindMargin, layers);
    }

    public LanguageModel model() {
        return model;
    }

    public PagePool pagePool() {
        return pool;
    }

    @Override
    public int vocabularySize() {
        return model.config().vocabularySize();
    }

    @Override
    public Sequence newSequence() {
        return pool.newSequence();
    }

    @Override
    public synchronized Logits forward(Batch batch) {
        for (Batch.Entry e : batch.entries()) {
            if (!(e.sequence() instanceof Sequence s) || s.pool() != pool) {
                throw new IllegalArgumentException("a batch entry's sequence belongs to another model's KV cache");
            }
        }
        return model.forward(batch, workspace);
    }

    /** Frees the KV cache; the sequences must not be used afterwards. */
    @Override
    public void close() {
        pool.close();
    }
}
