package dev.rewind.models;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.FloatOps;
import dev.rewind.engine.tensor.MatVec;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * The {@code phi3} architecture: Llama's block with one fused QKV matrix (rows: Q, then K, then V)
 * and one fused gate/up matrix (rows: gate, then up), and half-split rotary embeddings.
 */
public final class Phi3 implements LanguageModel {

    record Layer(float[] attnNorm, WeightMatrix wqkv, WeightMatrix wo, float[] ffnNorm, WeightMatrix gateUp,
                 WeightMatrix down) {
    }

    private final TransformerConfig config;
    private final WeightMatrix embedding;
    private final Layer[] layers;
    private final float[] outputNorm;
    private final WeightMatrix output;
    private final WorkerPool pool;

    private Phi3(TransformerConfig config, WeightMatrix embedding, Layer[] layers, float[] outputNorm,
                 WeightMatrix output, WorkerPool pool) {
        this.config = config;
        this.embedding = embedding;
        this.layers = layers;
        this.outputNorm = outputNorm;
        this.output = output;
        this.pool = pool;
    }

    static Phi3 load(ModelTensors t, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        WeightMatrix embedding = t.matrix("token_embd.weight", c.vocabularySize(), c.dim());
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
        float[] outputNorm = t.vector("output_norm.weight", c.dim());
        WeightMatrix output = t.optionalMatrix("output.weight", c.vocabularySize(), c.dim()).orElse(embedding);
        return new Phi3(c, embedding, layers, outputNorm, output, pool);
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
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int ffn = c.ffnDim();

        for (int l = 0; l < c.layers(); l++) {
            Layer w = layers[l];
            // attention: one fused projection, split into Q, K, V
            TransformerOps.rmsNorm(s.xb, s.x, w.attnNorm(), c.rmsEps());
            MatVec.matvec(w.wqkv(), s.xb, 0, s.fused, 0, pool);
            System.arraycopy(s.fused, 0, s.q, 0, qDim);
            System.arraycopy(s.fused, qDim, s.k, 0, kvDim);
            System.arraycopy(s.fused, qDim + kvDim, s.v, 0, kvDim);
            c.rope().rotate(s.q, 0, c.heads(), c.headDim(), s.cos, s.sin);
            c.rope().rotate(s.k, 0, c.kvHeads(), c.headDim(), s.cos, s.sin);
            s.cache.write(l, position, s.k, 0, s.v, 0);
            TransformerOps.attention(s, pool, l, position);
            MatVec.matvec(w.wo(), s.attOut, 0, s.xb2, 0, pool);
            FloatOps.add(s.x, 0, s.xb2, 0, c.dim());

            // SwiGLU feed-forward: one fused projection, split into gate and up
            TransformerOps.rmsNorm(s.xb, s.x, w.ffnNorm(), c.rmsEps());
            MatVec.matvec(w.gateUp(), s.xb, 0, s.fused, 0, pool);
            System.arraycopy(s.fused, 0, s.hb, 0, ffn);
            System.arraycopy(s.fused, ffn, s.hb2, 0, ffn);
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
