package dev.rewind.models;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.WeightMatrix;

/**
 * What every decoder-only architecture shares: its hyper-parameters, the pool its kernels run on,
 * and the two ends of the network (token embedding; final norm and output matrix). Each
 * architecture class adds its own layers and writes its own forward pass.
 */
abstract class Decoder {

    /**
     * The ends of the network.
     *
     * @param embedding  token embedding, vocabulary × dim
     * @param outputNorm final RMSNorm weight
     * @param output     output matrix, or the embedding itself when the file ties them
     */
    record Ends(WeightMatrix embedding, float[] outputNorm, WeightMatrix output) {

        /**
         * Reads {@code token_embd}, {@code output_norm} and {@code output} (absent means tied: the
         * embedding, in the form the products use, is the output matrix).
         */
        static Ends load(ModelTensors t, TransformerConfig c) throws ModelFormatException {
            WeightMatrix embedding = t.inPlace("token_embd.weight", c.vocabularySize(), c.dim());
            float[] outputNorm = t.vector("output_norm.weight", c.dim());
            WeightMatrix output = t.has("output.weight")
                    ? t.matrix("output.weight", c.vocabularySize(), c.dim())
                    : t.forProducts(embedding);
            return new Ends(embedding, outputNorm, output);
        }
    }

    /** The weights of a block with separate Q, K, V and gate, up, down matrices (Llama, Gemma). */
    record StandardLayer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                         float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {

        /** Reads every {@code blk.N.*} tensor of a standard block, checking each shape. */
        static StandardLayer[] loadAll(ModelTensors t, TransformerConfig c) throws ModelFormatException {
            StandardLayer[] layers = new StandardLayer[c.layers()];
            for (int i = 0; i < c.layers(); i++) {
                String p = "blk." + i + ".";
                layers[i] = new StandardLayer(
                        t.vector(p + "attn_norm.weight", c.dim()),
                        t.matrix(p + "attn_q.weight", c.qDim(), c.dim()),
                        t.matrix(p + "attn_k.weight", c.kvDim(), c.dim()),
                        t.matrix(p + "attn_v.weight", c.kvDim(), c.dim()),
                        t.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                        t.vector(p + "ffn_norm.weight", c.dim()),
                        t.matrix(p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                        t.matrix(p + "ffn_up.weight", c.ffnDim(), c.dim()),
                        t.matrix(p + "ffn_down.weight", c.dim(), c.ffnDim()));
            }
            return layers;
        }
    }

    /** One expert of a mixture-of-experts feed-forward: a SwiGLU network of its own. */
    record Expert(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {

        /** Reads the experts of {@code blk.N.ffn_{gate,up,down}_exps} (3-D tensors, one expert per ne2 index). */
        static Expert[] load(ModelTensors t, String prefix, TransformerConfig c) throws ModelFormatException {
            int n = c.experts().count();
            WeightMatrix[] gate = t.experts(prefix + "ffn_gate_exps.weight", n, c.ffnDim(), c.dim());
            WeightMatrix[] up = t.experts(prefix + "ffn_up_exps.weight", n, c.ffnDim(), c.dim());
            WeightMatrix[] down = t.experts(prefix + "ffn_down_exps.weight", n, c.dim(), c.ffnDim());
            Expert[] experts = new Expert[n];
            for (int e = 0; e < n; e++) {
                experts[e] = new Expert(gate[e], up[e], down[e]);
            }
            return experts;
        }
    }

    final TransformerConfig config;
    final Ends ends;
    final WorkerPool pool;

    Decoder(TransformerConfig config, Ends ends, WorkerPool pool) {
        this.config = config;
        this.ends = ends;
        this.pool = pool;
    }

    public TransformerConfig config() {
        return config;
    }

    public WorkerPool pool() {
        return pool;
    }
}
