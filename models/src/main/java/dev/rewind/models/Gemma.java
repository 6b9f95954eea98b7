package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;

/**
 * The {@code gemma} architecture (Gemma 1): the embedding is scaled by √dim, heads may be wider
 * than dim / heads ({@code attention.key_length}), the feed-forward gate uses GELU (tanh form),
 * rotary embeddings use the half-split layout, and the output matrix is the tied embedding.
 * GGUF stores the norm weights as the final multiplier (HF's "1 + w" is already folded in).
 */
public final class Gemma extends Decoder implements LanguageModel {

    private final StandardLayer[] layers;
    private final float embeddingScale;

    private Gemma(TransformerConfig config, Ends ends, StandardLayer[] layers, WorkerPool pool) {
        super(config, ends, pool);
        this.layers = layers;
        this.embeddingScale = (float) Math.sqrt(config.dim());
    }

    static Gemma load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        return new Gemma(c, Ends.load(t, c), StandardLayer.loadAll(t, c), pool);
    }

    @Override
    public Logits forward(Batch batch, Workspace s) {
        s.begin(batch);
        s.embed(ends.embedding(), embeddingScale);
        for (int l = 0; l < config.layers(); l++) {
            StandardLayer w = layers[l];
            // attention
            s.rmsNorm(s.xb, s.x, w.attnNorm());
            s.matmul(s.xb, w.wq(), s.q, w.wk(), s.k, w.wv(), s.v);
            s.rope();
            s.storeKeysAndValues(l);
            s.attention(l);
            s.matmul(w.wo(), s.att, s.xb2);
            s.addResidual(s.x, s.xb2);

            // GeGLU feed-forward
            s.rmsNorm(s.xb, s.x, w.ffnNorm());
            s.matmul(s.xb, w.gate(), s.hb, w.up(), s.hb2);
            s.geGlu();
            s.matmul(w.down(), s.hb, s.xb2);
            s.addResidual(s.x, s.xb2);
        }
        return s.logits(batch, ends.outputNorm(), ends.output());
    }
}
