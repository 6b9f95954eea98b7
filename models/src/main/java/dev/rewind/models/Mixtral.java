package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * A {@code llama} file with {@code llama.expert_count} experts (Mixtral): Llama's attention, and a
 * mixture-of-experts feed-forward in which a router ({@code ffn_gate_inp}) sends every token to
 * {@code expert_used_count} of the SwiGLU experts stored in {@code ffn_{gate,up,down}_exps}, their
 * outputs summed with the router's softmax weights renormalised over the chosen experts.
 */
public final class Mixtral extends Decoder implements LanguageModel {

    record Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                 float[] ffnNorm, WeightMatrix router, Expert[] experts) {
    }

    private final Layer[] layers;

    private Mixtral(TransformerConfig config, Ends ends, Layer[] layers, WorkerPool pool) {
        super(config, ends, pool);
        this.layers = layers;
    }

    static Mixtral load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    t.vector(p + "attn_norm.weight", c.dim()),
                    t.matrix(p + "attn_q.weight", c.qDim(), c.dim()),
                    t.matrix(p + "attn_k.weight", c.kvDim(), c.dim()),
                    t.matrix(p + "attn_v.weight", c.kvDim(), c.dim()),
                    t.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                    t.vector(p + "ffn_norm.weight", c.dim()),
                    t.matrix(p + "ffn_gate_inp.weight", c.experts().count(), c.dim()),
                    Expert.load(t, p, c));
        }
        return new Mixtral(c, Ends.load(t, c), layers, pool);
    }

    @Override
    public Logits forward(Batch batch, Workspace s) {
        int used = config.experts().used();
        s.begin(batch);
        s.embed(ends.embedding(), 1f);
        for (int l = 0; l < config.layers(); l++) {
            Layer w = layers[l];
            // attention
            s.rmsNorm(s.xb, s.x, w.attnNorm());
            s.matmul(s.xb, w.wq(), s.q, w.wk(), s.k, w.wv(), s.v);
            s.rope(l);
            s.storeKeysAndValues(l);
            s.attention(l);
            s.matmul(w.wo(), s.att, s.xb2);
            s.addResidual(s.x, s.xb2);

            // mixture of SwiGLU experts
            s.rmsNorm(s.xb, s.x, w.ffnNorm());
            s.route(w.router(), used);
            s.experts(w.experts(), used, s.xb2);
            s.addResidual(s.x, s.xb2);
        }
        return s.logits(batch, ends.outputNorm(), ends.output());
    }
}
