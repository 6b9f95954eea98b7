package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;

/**
 * The {@code llama} architecture: token embedding; per layer RMSNorm, grouped-query attention with
 * rotary embeddings, a residual, RMSNorm, a SwiGLU feed-forward network and a residual; a final
 * RMSNorm and the output matrix (or the tied embedding).
 */
public final class Llama extends Decoder implements LanguageModel {

    private final StandardLayer[] layers;

    private Llama(TransformerConfig config, Ends ends, StandardLayer[] layers, WorkerPool pool) {
        super(config, ends, pool);
        this.layers = layers;
    }

    /** Maps the tensors of a llama GGUF file; every shape is checked against {@code config}. */
    static Llama load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        return new Llama(c, Ends.load(t, c), StandardLayer.loadAll(t, c), pool);
    }

    @Override
    public Logits forward(Batch batch, Workspace s) {
        s.begin(batch);
        s.embed(ends.embedding(), 1f);
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

            // SwiGLU feed-forward
            s.rmsNorm(s.xb, s.x, w.ffnNorm());
            s.matmul(s.xb, w.gate(), s.hb, w.up(), s.hb2);
            s.swiGlu();
            s.matmul(w.down(), s.hb, s.xb2);
            s.addResidual(s.x, s.xb2);
        }
        return s.logits(batch, ends.outputNorm(), ends.output());
    }
}
