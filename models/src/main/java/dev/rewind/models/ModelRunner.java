package dev.rewind.models;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;

/**
 * A model with its KV page pool and workspace: the {@link LogitsSource} the decoding strategies
 * run on. Forward calls are serialised (one workspace); sequences may be forked and truncated
 * freely between them.
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
        this.pool = PagePool.forTokens(c.layers(), c.kvDim(), pageSize, capacity, kvType);
        this.workspace = model.newWorkspace(capacity);
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
