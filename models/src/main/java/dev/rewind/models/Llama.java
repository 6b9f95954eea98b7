package dev.rewind.models;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.FloatOps;
import dev.rewind.engine.tensor.MatVec;
import dev.rewind.engine.tensor.WeightMatrix;

import java.util.Arrays;

/**
 * The {@code llama} architecture: token embedding; per layer RMSNorm, grouped-query attention with
 * rotary embeddings, a residual, RMSNorm, a SwiGLU feed-forward network and a residual; a final
 * RMSNorm and the output matrix (or the tied embedding).
 */
public final class Llama implements LanguageModel {

    /** The weights of one transformer block. */
    record Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                 float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    }

    private final TransformerConfig config;
    private final WeightMatrix embedding;
    private final Layer[] layers;
    private final float[] outputNorm;
    private final WeightMatrix output;
    private final WorkerPool pool;

    private Llama(TransformerConfig config, WeightMatrix embedding, Layer[] layers, float[] outputNorm,
          WeightMatrix output, WorkerPool pool) {
        this.config = config;
        this.embedding = embedding;
        this.layers = layers;
        this.outputNorm = outputNorm;
        this.output = output;
        this.pool = pool;
    }

    /** Maps the tensors of a llama GGUF file; every shape is checked against {@code config}. */
    static Llama load(ModelTensors tensors, TransformerConfig c, WorkerPool pool) throws ModelFormatException {
        WeightMatrix embedding = tensors.matrix("token_embd.weight", c.vocabularySize(), c.dim());
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    tensors.vector(p + "attn_norm.weight", c.dim()),
                    tensors.matrix(p + "attn_q.weight", c.qDim(), c.dim()),
                    tensors.matrix(p + "attn_k.weight", c.kvDim(), c.dim()),
                    tensors.matrix(p + "attn_v.weight", c.kvDim(), c.dim()),
                    tensors.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                    tensors.vector(p + "ffn_norm.weight", c.dim()),
                    tensors.matrix(p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    tensors.matrix(p + "ffn_up.weight", c.ffnDim(), c.dim()),
                    tensors.matrix(p + "ffn_down.weight", c.dim(), c.ffnDim()));
        }
        float[] outputNorm = tensors.vector("output_norm.weight", c.dim());
        WeightMatrix output = tensors.optionalMatrix("output.weight", c.vocabularySize(), c.dim()).orElse(embedding);
        return new Llama(c, embedding, layers, outputNorm, output, pool);
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
            // attention
            TransformerOps.rmsNorm(s.xb, s.x, w.attnNorm(), c.rmsEps());
            MatVec.matvec(w.wq(), s.xb, 0, s.q, 0, pool);
            MatVec.matvec(w.wk(), s.xb, 0, s.k, 0, pool);
            MatVec.matvec(w.wv(), s.xb, 0, s.v, 0, pool);
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

    @Override
    public String toString() {
        return "Llama" + Arrays.asList(config.dim(), config.layers(), config.heads(), config.kvHeads());
    }
}
