package dev.rewind.models;

import dev.rewind.engine.kv.KvCache;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.FloatOps;

/** The small float operations a transformer block is made of, over heap activations. */
final class TransformerOps {

    private TransformerOps() {
    }

    /** out = x / sqrt(mean(x²) + eps) × weight. {@code out} may be {@code x}. */
    static void rmsNorm(float[] out, float[] x, float[] weight, float eps) {
        int n = x.length;
        float ss = FloatOps.sumOfSquares(x, 0, n) / n;
        float scale = (float) (1.0 / Math.sqrt(ss + eps));
        for (int i = 0; i < n; i++) {
            out[i] = x[i] * scale * weight[i];
        }
    }

    /** gate[i] = silu(gate[i]) × up[i], SwiGLU's gating. */
    static void swiGlu(float[] gate, float[] up) {
        for (int i = 0; i < gate.length; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** In-place softmax of {@code x[offset .. offset+n)}. */
    static void softmax(float[] x, int offset, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + n; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0;
        for (int i = offset; i < offset + n; i++) {
            float e = (float) Math.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = offset; i < offset + n; i++) {
            x[i] *= inv;
        }
    }

    /**
     * Causal self-attention of every query head of {@code s.q} over positions 0..position of
     * {@code layer}, heads in parallel, into {@code s.attOut}. Query head h reads KV head
     * h / groupSize (grouped-query attention).
     */
    static void attention(ModelState s, WorkerPool pool, int layer, int position) {
        s.attentionLayer = layer;
        s.attentionPosition = position;
        pool.parallelFor(s.config.heads(), s.attendHeads);
    }

    /** x[i] += bias[i]. */
    static void addBias(float[] x, float[] bias) {
        FloatOps.add(x, 0, bias, 0, bias.length);
    }

    /** gate[i] = gelu(gate[i]) × up[i] with GELU's tanh approximation (Gemma's GeGLU). */
    static void geGlu(float[] gate, float[] up) {
        final double c = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < gate.length; i++) {
            double g = gate[i];
            gate[i] = (float) (0.5 * g * (1 + Math.tanh(c * (g + 0.044715 * g * g * g)))) * up[i];
        }
    }

    /**
     * Causal attention of query head {@code head} over positions 0..position of {@code layer}:
     * scores = q·k / √headDim, softmax, weighted sum of values into {@code out}.
     */
    static void attendHead(KvCache cache, int layer, int position, int head, int kvHead, int headDim,
                           float[] q, float[] scores, int scoresOffset, float[] out) {
        int qOffset = head * headDim;
        long kvByteOffset = (long) kvHead * headDim * Float.BYTES;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int t = 0; t <= position; t++) {
            long row = cache.rowOffset(layer, t) + kvByteOffset;
            scores[scoresOffset + t] = FloatOps.dot(q, qOffset, cache.keys(layer, t), row, headDim) * scale;
        }
        softmax(scores, scoresOffset, position + 1);
        java.util.Arrays.fill(out, qOffset, qOffset + headDim, 0f);
        for (int t = 0; t <= position; t++) {
            long row = cache.rowOffset(layer, t) + kvByteOffset;
            FloatOps.axpy(scores[scoresOffset + t], cache.values(layer, t), row, out, qOffset, headDim);
        }
    }
}
