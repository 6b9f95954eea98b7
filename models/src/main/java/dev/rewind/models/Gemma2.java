package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * The {@code gemma2} architecture: Gemma's block (embedding × √dim, GeGLU, half-split rope, tied
 * output) with an RMSNorm after the attention and after the feed-forward network (before each
 * residual), attention scores soft-capped and scaled by its query scale, sliding-window attention on
 * every other layer (0, 2, …), and soft-capped output logits ({@link TransformerConfig#attention()},
 * {@link TransformerConfig#logitSoftcap()}).
 */
public final class Gemma2 extends Decoder implements LanguageModel {

    record Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo, float[] postAttnNorm,
                 float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down, float[] postFfwNorm) {
    }

    private final Layer[] layers;
    private final float embeddingScale;

    private Gemma2(TransformerConfig config, Ends ends, Layer[] layers, WorkerPool pool) {
        super(config, ends, pool);
        this.layers = layers;
        this.embeddingScale = (float) Math.sqrt(config.dim());
    }

    static Gemma2 load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    t.vector(p + "attn_norm.weight", c.dim()),
                    t.matrix(p + "attn_q.weight", c.qDim(), c.dim()),
                    t.matrix(p + "attn_k.weight", c.kvDim(), c.dim()),
                    t.matrix(p + "attn_v.weight", c.kvDim(), c.dim()),
                    t.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                    t.vector(p + "post_attention_norm.weight", c.dim()),
                    t.vector(p + "ffn_norm.weight", c.dim()),
                    t.matrix(p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    t.matrix(p + "ffn_up.weight", c.ffnDim(), c.dim()),
                    t.matrix(p + "ffn_down.weight", c.dim(), c.ffnDim()),
                    t.vector(p + "post_ffw_norm.weight", c.dim()));
        }
        return new Gemma2(c, Ends.load(t, c), layers, pool);
    }

    @Override
    public Logits forward(Batch batch, Workspace s) {
        s.begin(batch);
        s.embed(ends.embedding(), embeddingScale);
        for (int l = 0; l < config.layers(); l++) {
            Layer w = layers[l];
            // attention (soft-capped scores; a sliding window on sliding layers), normalised before the residual
            s.rmsNorm(s.xb, s.x, w.attnNorm());
            s.matmul(s.xb, w.wq(), s.q, w.wk(), s.k, w.wv(), s.v);
            s.rope(l);
            s.storeKeysAndValues(l);
            s.attention(l);
            s.matmul(w.wo(), s.att, s.xb2);
            s.rmsNorm(s.xb2, s.xb2, w.postAttnNorm());
            s.addResidual(s.x, s.xb2);

            // GeGLU feed-forward, normalised before the residual
            s.rmsNorm(s.xb, s.x, w.ffnNorm());
            s.matmul(s.xb, w.gate(), s.hb, w.up(), s.hb2);
            s.geGlu();
            s.matmul(w.down(), s.hb, s.xb2);
            s.rmsNorm(s.xb2, s.xb2, w.postFfwNorm());
            s.addResidual(s.x, s.xb2);
        }
        return s.logits(batch, ends.outputNorm(), ends.output());
    }
}
