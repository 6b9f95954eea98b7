package dev.rewind.models;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.FloatOps;
import dev.rewind.engine.tensor.MatVec;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * The {@code qwen2} architecture: Llama's block with biases on the Q, K and V projections and
 * rotary embeddings over the two halves of each head ("NEOX" layout).
 */
public final class Qwen2 implements LanguageModel {

    record Layer(float[] attnNorm, WeightMatrix wq, float[] bq, WeightMatrix wk, float[] bk, WeightMatrix wv, float[] bv,
                 WeightMatrix wo, float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    }

    private final TransformerConfig config;
    private final WeightMatrix embedding;
    private final Layer[] layers;
    private final float[] outputNorm;
    private final WeightMatrix output;
    private final WorkerPool pool;

    private Qwen2(TransformerConfig config, WeightMatrix embedding, Layer[] layers, float[] outputNorm,
                  WeightMatrix output, WorkerPool pool) {
        this.config = config;
        this.embedding = embedding;
        this.layers = layers;
        this.outputNorm = outputNorm;
        this.output = output;
        this.pool = pool;
    }

    static Qwen2 load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        WeightMatrix embedding = t.matrix("token_embd.weight", c.vocabularySize(), c.dim());
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
        float[] outputNorm = t.vector("output_norm.weight", c.dim());
        WeightMatrix output = t.optionalMatrix("output.weight", c.vocabularySize(), c.dim()).orElse(embedding);
        return new Qwen2(c, embedding, layers, outputNorm, output, pool);
    }

    @Override
    public TransformerConfig config() {
        return config;
    }

    @Override
    public WorkerPool pool() {
        return pool;
    }

    @Override
    public ModelState newState(int contextLength) {
        return new ModelState(config, contextLength);
    }

    @Override
    public float[] forward(ModelState s, int token, int position, boolean computeLogits) {
        TransformerConfig c = config;
        LanguageModels.checkStep(c, s, token, position);
        embedding.dequantizeRow(token, s.x, 0);
        c.rope().angles(position, s.ropeFrequencies, s.cos, s.sin);

        for (int l = 0; l < c.layers(); l++) {
            Layer w = layers[l];
            // attention, with biased projections
            TransformerOps.rmsNorm(s.xb, s.x, w.attnNorm(), c.rmsEps());
            MatVec.matvec(w.wq(), s.xb, 0, s.q, 0, pool);
            TransformerOps.addBias(s.q, w.bq());
            MatVec.matvec(w.wk(), s.xb, 0, s.k, 0, pool);
            TransformerOps.addBias(s.k, w.bk());
            MatVec.matvec(w.wv(), s.xb, 0, s.v, 0, pool);
            TransformerOps.addBias(s.v, w.bv());
            c.rope().rotate(s.q, 0, c.heads(), c.headDim(), s.cos, s.sin);
            c.rope().rotate(s.k, 0, c.kvHeads(), c.headDim(), s.cos, s.sin);
            s.cache.write(l, position, s.k, 0, s.v, 0);
            TransformerOps.attention(s, pool, l, position);
            MatVec.matvec(w.wo(), s.attOut, 0, s.xb2, 0, pool);
            FloatOps.add(s.x, 0, s.xb2, 0, c.dim());

            // SwiGLU feed-forward
            TransformerOps.rmsNorm(s.xb, s.x, w.ffnNorm(), c.rmsEps());
            MatVec.matvec(w.gate(), s.xb, 0, s.hb, 0, pool);
            MatVec.matvec(w.up(), s.xb, 0, s.hb2, 0, pool);
            TransformerOps.swiGlu(s.hb, s.hb2);
            MatVec.matvec(w.down(), s.hb, 0, s.xb2, 0, pool);
            FloatOps.add(s.x, 0, s.xb2, 0, c.dim());
        }

        TransformerOps.rmsNorm(s.x, s.x, outputNorm, c.rmsEps());
        if (!computeLogits) {
            return null;
        }
        MatVec.matvec(output, s.x, 0, s.logits, 0, pool);
        return s.logits;
    }
}
