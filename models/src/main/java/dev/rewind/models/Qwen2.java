package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * The {@code qwen2} architecture: Llama's block with biases on the Q, K and V projections and
 * rotary embeddings over the two halves of each head ("NEOX" layout).
 */
public final class Qwen2 extends Decoder implements LanguageModel {

    record Layer(float[] attnNorm, WeightMatrix wq, float[] bq, WeightMatrix wk, float[] bk, WeightMatrix wv, float[] bv,
                 WeightMatrix wo, float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    }

    private final Layer[] layers;

    private Qwen2(TransformerConfig config, Ends ends, Layer[] layers, WorkerPool pool) {
        super(config, ends, pool);
        this.layers = layers;
    }

    static Qwen2 load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    t.vector(p + "attn_norm.weight", c.dim()),
                    t.matrix(p + "attn_q.weight", c.qDim(), c.dim()), t.vector(p + "attn_q.bias", c.qDim()),
                    t.matrix(p + "attn_k.weight", c.kvDim(), c.dim()), t.vector(p + "attn_k.bias", c.kvDim()),
                    t.matrix(p + "attn_v.weight", c.kvDim(), c.dim()), t.vector(p + "attn_v.bias", c.kvDim()),
                    t.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                    t.vector(p + "ffn_norm.weight", c.dim()),
                    t.matrix(p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    t.matrix(p + "ffn_up.weight", c.ffnDim(), c.dim()),
                    t.matrix(p + "ffn_down.weight", c.dim(), c.ffnDim()));
        }
        return new Qwen2(c, Ends.load(t, c), layers, pool);
    }

    @Override
    public Logits forward(Batch batch, Workspace s) {
        s.begin(batch);
        s.embed(ends.embedding(), 1f);
        for (int l = 0; l < config.layers(); l++) {
            Layer w = layers[l];
            // attention, with biased projections
            s.rmsNorm(s.xb, s.x, w.attnNorm());
            s.matmul(s.xb, w.wq(), s.q, w.wk(), s.k, w.wv(), s.v);
            s.addBias(s.q, w.bq());
            s.addBias(s.k, w.bk());
            s.addBias(s.v, w.bv());
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
