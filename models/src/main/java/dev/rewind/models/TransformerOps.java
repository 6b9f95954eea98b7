package dev.rewind.models;

import dev.rewind.engine.tensor.FloatOps;

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
}
