package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * The {@code phi3} architecture: Llama's block with one fused QKV matrix (rows: Q, then K, then V)
 * and one fused gate/up matrix (rows: gate, then up), and half-split rotary embeddings.
 */
public final class Phi3 extends Decoder implements LanguageModel {

    record Layer(float[] attnNorm, WeightMatrix wqkv, WeightMatrix wo, float[] ffnNorm, WeightMatrix gateUp,
                 WeightMatrix down) {
    }

    private final Layer[] layers;

    private Phi3(TransformerConfig config, Ends ends, Layer[] layers, WorkerPool pool) {
        super(config, ends, pool);
        this.layers = layers;
    }

    static Phi3 load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    t.vector(p + "attn_norm.weight", c.dim()),
                    t.matrix(p + "attn_qkv.weight", c.qDim() + 2 * c.kvDim(), c.dim()),
                    t.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                    t.vector(p + "ffn_norm.weight", c.dim()),
                    t.matrix(p + "ffn_up.weight", 2 * c.ffnDim(), c.dim()),
                    t.matrix(p + "ffn_down.weight", c.dim(), c.ffnDim()));
        }
        return new Phi3(c, Ends.load(t, c), layers, pool);
    }

    @Override
    public Logits forward(Batch batch, Workspace s) {
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int ffn = config.ffnDim();
        s.begin(batch);
        s.embed(ends.embedding(), 1f);
        for (int l = 0; l < config.layers(); l++) {
            Layer w = layers[l];
            // attention: one fused projection, split into Q, K, V
            s.rmsNorm(s.xb, s.x, w.attnNorm());
            s.matmul(w.wqkv(), s.xb, s.fused);
            s.split(s.fused, qDim + 2 * kvDim, 0, qDim, s.q);
            s.split(s.fused, qDim + 2 * kvDim, qDim, kvDim, s.k);
            s.split(s.fused, qDim + 2 * kvDim, qDim + kvDim, kvDim, s.v);
            s.rope(l);
            s.storeKeysAndValues(l);
            s.attention(l);
            s.matmul(w.wo(), s.att, s.xb2);
            s.addResidual(s.x, s.xb2);

            // SwiGLU feed-forward: one fused projection, split into gate and up
            s.rmsNorm(s.xb, s.x, w.ffnNorm());
            s.matmul(w.gateUp(), s.xb, s.fused);
            s.split(s.fused, 2 * ffn, 0, ffn, s.hb);
            s.split(s.fused, 2 * ffn, ffn, ffn, s.hb2);
            s.swiGlu();
            s.matmul(w.down(), s.hb, s.xb2);
            s.addResidual(s.x, s.xb2);
        }
        return s.logits(batch, ends.outputNorm(), ends.output());
    }
}
