package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.WeightMatrix;

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
    public Logits forward(Batch batch, Workspace s) {
        s.begin(batch);
        s.embed(embedding, 1f);
        for (int l = 0; l < config.layers(); l++) {
            Layer w = layers[l];
            // attention
            s.rmsNorm(s.xb, s.x, w.attnNorm());
            s.matmul(w.wq(), s.xb, s.q);
            s.matmul(w.wk(), s.xb, s.k);
            s.matmul(w.wv(), s.xb, s.v);
            s.rope();
            s.storeKeysAndValues(l);
            s.attention(l);
            s.matmul(w.wo(), s.att, s.xb2);
            s.addResidual(s.x, s.xb2);

            // SwiGLU feed-forward
            s.rmsNorm(s.xb, s.x, w.ffnNorm());
            s.matmul(w.gate(), s.xb, s.hb);
            s.matmul(w.up(), s.xb, s.hb2);
            s.swiGlu();
            s.matmul(w.down(), s.hb, s.xb2);
            s.addResidual(s.x, s.xb2);
        }
        return s.logits(batch, outputNorm, output);
    }
}
