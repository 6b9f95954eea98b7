package dev.rewind.models;

import dev.rewind.engine.kv.KvCache;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.tensor.FloatOps;
import dev.rewind.engine.tensor.HalfOps;

import java.util.Arrays;

/** The small float operations a transformer block is made of, over heap activation rows. */
final class TransformerOps {

    private TransformerOps() {
    }

    /** out[outAt ..+n] = x[xAt ..+n] / sqrt(mean(x²) + eps) × weight. {@code out} may be {@code x}. */
    static void rmsNorm(float[] out, int outAt, float[] x, int xAt, float[] weight, int n, float eps) {
        float ss = FloatOps.sumOfSquares(x, xAt, n) / n;
        float scale = (float) (1.0 / Math.sqrt(ss + eps));
        for (int i = 0; i < n; i++) {
            out[outAt + i] = x[xAt + i] * scale * weight[i];
        }
    }

    /** gate[i] = silu(gate[i]) × up[i] for i &lt; n: SwiGLU's gating. */
    static void swiGlu(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** gate[i] = gelu(gate[i]) × up[i] for i &lt; n, GELU in its tanh form (Gemma's GeGLU). */
    static void geGlu(float[] gate, float[] up, int n) {
        final double c = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            gate[i] = (float) (0.5 * g * (1 + Math.tanh(c * (g + 0.044715 * g * g * g)))) * up[i];
        }
    }

    /** In-place softmax of {@code x[0 .. n)}. */
    static void softmax(float[] x, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[i] *= inv;
        }
    }

    /**
     * Causal attention of one query head over positions 0..position of {@code layer} in
     * {@code cache}: scores = q·k / √headDim, softmax, weighted sum of the values.
     *
     * @param q      query rows; this head's query starts at {@code qAt + head × headDim}
     * @param scores scratch of at least position + 1 floats
     * @param out    attention output; this head's result goes to {@code outAt + head × headDim}
     */
    static void attendHead(KvCache cache, int layer, int position, int head, int kvHead, int headDim,
                           float[] q, int qAt, float[] scores, float[] out, int outAt) {
        int qOffset = qAt + head * headDim;
        int outOffset = outAt + head * headDim;
        boolean half = cache.type() == KvType.F16;
        long headByteOffset = (long) kvHead * headDim * cache.type().bytes();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int t = 0; t <= position; t++) {
            long row = cache.rowOffset(layer, t) + headByteOffset;
            float dot = half
                    ? HalfOps.dot(q, qOffset, cache.keys(layer, t), row, headDim)
                    : FloatOps.dot(q, qOffset, cache.keys(layer, t), row, headDim);
            scores[t] = dot * scale;
        }
        softmax(scores, position + 1);
        Arrays.fill(out, outOffset, outOffset + headDim, 0f);
        for (int t = 0; t <= position; t++) {
            long row = cache.rowOffset(layer, t) + headByteOffset;
            if (half) {
                HalfOps.axpy(scores[t], cache.values(layer, t), row, out, outOffset, headDim);
            } else {
                FloatOps.axpy(scores[t], cache.values(layer, t), row, out, outOffset, headDim);
            }
        }
    }
}
