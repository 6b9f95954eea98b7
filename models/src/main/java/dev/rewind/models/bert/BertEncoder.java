package dev.rewind.models.bert;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.MatMul;

import java.util.List;
import java.util.Objects;

/**
 * The forward pass of a BERT-family encoder with a sentence-transformers pooling ({@link BertPooling}: mean or
 * {@code [CLS]}, L2 normalisation on or off), as sentence-transformers computes a sentence embedding. A batch is its sequences' tokens back to back,
 * with no padding: every matrix product runs over all the batch's rows at once, and each sequence
 * attends (both ways) to its own tokens only, so a sequence gets the same vector alone or batched. Layers
 * are post-norm: {@code x = LN(x + attention(x))}, {@code x = LN(x + down(gelu(up(x))))} with the erf form
 * of GELU. Every sequence has token type 0 (one sentence). Buffers grow to the largest batch and are
 * reused. Not thread-safe: one encoder serves one caller at a time.
 */
public final class BertEncoder {

    private final BertWeights w;
    private final BertConfig c;
    private final WorkerPool pool;
    private final BertPooling pooling;
    private final MatMul matmul = new MatMul();
    private final ThreadLocal<float[]> scores;

    private int capacity;
    private float[] x;
    private float[] q;
    private float[] k;
    private float[] v;
    private float[] attended;
    private float[] sum;
    private float[] up;

    // The current batch, read by the attention task.
    private int[] starts;
    private int[] lengths;
    private final WorkerPool.RangeTask attentionTask = this::attendRange;

    /**
     * An encoder with mean pooling and L2 normalisation ({@link BertPooling#MEAN_NORMALIZED}).
     *
     * @param weights the model
     * @param pool    the threads that run it
     */
    public BertEncoder(BertWeights weights, WorkerPool pool) {
        this(weights, BertPooling.MEAN_NORMALIZED, pool);
    }

    /**
     * @param weights the model
     * @param pooling how each sequence's token states become its vector
     * @param pool    the threads that run it
     */
    public BertEncoder(BertWeights weights, BertPooling pooling, WorkerPool pool) {
        this.w = Objects.requireNonNull(weights, "weights");
        this.pooling = Objects.requireNonNull(pooling, "pooling");
        this.c = weights.config();
        this.pool = Objects.requireNonNull(pool, "pool");
        this.scores = ThreadLocal.withInitial(() -> new float[c.maxPositions()]);
    }

    /** The model's shape. */
    public BertConfig config() {
        return c;
    }

    /** How sequences are pooled. */
    public BertPooling pooling() {
        return pooling;
    }

    /**
     * The pooled embedding of each token sequence ({@link #pooling()}).
     *
     * @param sequences token ids, special tokens included, each of 1 to {@link BertConfig#maxPositions()}
     *                  ids below the vocabulary size
     * @return one vector of {@link BertConfig#hidden()} values per sequence, in order
     * @throws IllegalArgumentException if a sequence is empty, too long or holds an id out of range
     */
    public float[][] encode(List<int[]> sequences) {
        int total = run(sequences);
        return total == 0 ? new float[0][] : pool();
    }

    /**
     * The final hidden state of every token of one sequence, before pooling: {@code ids.length} rows of
     * {@link BertConfig#hidden()} values.
     *
     * @throws IllegalArgumentException as {@link #encode}
     */
    public float[][] tokenStates(int[] ids) {
        run(List.of(ids));
        int h = c.hidden();
        float[][] out = new float[ids.length][h];
        for (int i = 0; i < ids.length; i++) {
            System.arraycopy(x, i * h, out[i], 0, h);
        }
        return out;
    }

    /** Checks the batch, runs the layers over it and leaves the final states in {@link #x}; the batch's tokens. */
    private int run(List<int[]> sequences) {
        int total = 0;
        starts = new int[sequences.size()];
        lengths = new int[sequences.size()];
        for (int s = 0; s < sequences.size(); s++) {
            int[] ids = sequences.get(s);
            if (ids.length == 0 || ids.length > c.maxPositions()) {
                throw new IllegalArgumentException("sequence " + s + " has " + ids.length + " tokens; the model takes 1 to "
                        + c.maxPositions());
            }
            for (int id : ids) {
                if (id < 0 || id >= c.vocabularySize()) {
                    throw new IllegalArgumentException("sequence " + s + " holds token id " + id + ", outside the vocabulary of "
                            + c.vocabularySize());
                }
            }
            starts[s] = total;
            lengths[s] = ids.length;
            total += ids.length;
        }
        if (total == 0) {
            return 0;
        }
        grow(total);
        embed(sequences);
        for (BertWeights.Layer layer : w.layers()) {
            layer(layer, total);
        }
        return total;
    }

    private void layer(BertWeights.Layer l, int rows) {
        int h = c.hidden();
        matmul.matmul(l.query().weight(), q, l.key().weight(), k, l.value().weight(), v, x, rows, pool);
        addBias(q, l.query().bias(), rows, h);
        addBias(k, l.key().bias(), rows, h);
        addBias(v, l.value().bias(), rows, h);
        pool.parallelFor(starts.length * c.heads(), 1, attentionTask);
        matmul.matmul(l.output().weight(), attended, rows, sum, pool);
        addBiasAndResidual(sum, l.output().bias(), x, rows, h);
        layerNorm(sum, x, l.attentionNorm(), rows);
        matmul.matmul(l.up().weight(), x, rows, up, pool);
        addBias(up, l.up().bias(), rows, c.intermediate());
        gelu(up, rows * c.intermediate());
        matmul.matmul(l.down().weight(), up, rows, sum, pool);
        addBiasAndResidual(sum, l.down().bias(), x, rows, h);
        layerNorm(sum, x, l.outputNorm(), rows);
    }

    /** Word + position + token type 0, then the embedding LayerNorm, into {@link #x}. */
    private void embed(List<int[]> sequences) {
        int h = c.hidden();
        float[] row = new float[h];
        for (int s = 0; s < sequences.size(); s++) {
            int[] ids = sequences.get(s);
            for (int i = 0; i < ids.length; i++) {
                int off = (starts[s] + i) * h;
                w.words().dequantizeRow(ids[i], sum, off);
                w.positions().dequantizeRow(i, row, 0);
                for (int d = 0; d < h; d++) {
                    sum[off + d] += row[d];
                }
                w.tokenTypes().dequantizeRow(0, row, 0);
                for (int d = 0; d < h; d++) {
                    sum[off + d] += row[d];
                }
            }
        }
        layerNorm(sum, x, w.embeddingNorm(), starts[starts.length - 1] + lengths[lengths.length - 1]);
    }

    /** Attention of the (sequence, head) pairs {@code [from, to)}: softmax(q·kᵀ/√d)·v into {@link #attended}. */
    private void attendRange(int from, int to) {
        int h = c.hidden();
        int size = c.headSize();
        float scale = (float) (1 / Math.sqrt(size));
        float[] p = scores.get();
        for (int job = from; job < to; job++) {
            int s = job / c.heads();
            int head = job % c.heads();
            int n = lengths[s];
            int base = starts[s];
            for (int i = 0; i < n; i++) {
                int qo = (base + i) * h + head * size;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    int ko = (base + j) * h + head * size;
                    float dot = 0;
                    for (int d = 0; d < size; d++) {
                        dot += q[qo + d] * k[ko + d];
                    }
                    p[j] = dot * scale;
                    max = Math.max(max, p[j]);
                }
                float total = 0;
                for (int j = 0; j < n; j++) {
                    p[j] = (float) Math.exp(p[j] - max);
                    total += p[j];
                }
                float inv = 1 / total;
                for (int d = 0; d < size; d++) {
                    attended[qo + d] = 0;
                }
                for (int j = 0; j < n; j++) {
                    float weight = p[j] * inv;
                    int vo = (base + j) * h + head * size;
                    for (int d = 0; d < size; d++) {
                        attended[qo + d] += weight * v[vo + d];
                    }
                }
            }
        }
    }

    /**
     * Each sequence's vector from its rows of {@link #x}: their mean (in double) or its first row, then, when
     * normalising, scaled to unit length (a zero vector stays zero).
     */
    private float[][] pool() {
        int h = c.hidden();
        float[][] out = new float[starts.length][h];
        for (int s = 0; s < starts.length; s++) {
            double[] pooled = new double[h];
            int rows = pooling.mode() == BertPooling.Mode.CLS ? 1 : lengths[s];
            for (int i = 0; i < rows; i++) {
                int off = (starts[s] + i) * h;
                for (int d = 0; d < h; d++) {
                    pooled[d] += x[off + d];
                }
            }
            double norm = 0;
            for (int d = 0; d < h; d++) {
                pooled[d] /= rows;
                norm += pooled[d] * pooled[d];
            }
            // sentence-transformers' Normalize: F.normalize, eps 1e-12
            norm = pooling.normalize() ? Math.max(Math.sqrt(norm), 1e-12) : 1;
            for (int d = 0; d < h; d++) {
                out[s][d] = (float) (pooled[d] / norm);
            }
        }
        return out;
    }

    /** {@code out[r] = (in[r] − mean) / √(var + ε) · weight + bias}, for each row. */
    private void layerNorm(float[] in, float[] out, BertWeights.Norm norm, int rows) {
        int h = c.hidden();
        for (int r = 0; r < rows; r++) {
            int off = r * h;
            double mean = 0;
            for (int d = 0; d < h; d++) {
                mean += in[off + d];
            }
            mean /= h;
            double var = 0;
            for (int d = 0; d < h; d++) {
                double t = in[off + d] - mean;
                var += t * t;
            }
            var /= h;
            float inv = (float) (1 / Math.sqrt(var + c.layerNormEpsilon()));
            float m = (float) mean;
            for (int d = 0; d < h; d++) {
                out[off + d] = (in[off + d] - m) * inv * norm.weight()[d] + norm.bias()[d];
            }
        }
    }

    private static void addBias(float[] a, float[] bias, int rows, int width) {
        for (int r = 0; r < rows; r++) {
            int off = r * width;
            for (int d = 0; d < width; d++) {
                a[off + d] += bias[d];
            }
        }
    }

    private static void addBiasAndResidual(float[] a, float[] bias, float[] residual, int rows, int width) {
        for (int r = 0; r < rows; r++) {
            int off = r * width;
            for (int d = 0; d < width; d++) {
                a[off + d] += bias[d] + residual[off + d];
            }
        }
    }

    /** GELU in BERT's erf form, {@code x/2 · (1 + erf(x/√2))}, in place. */
    static void gelu(float[] a, int n) {
        for (int i = 0; i < n; i++) {
            double t = a[i];
            a[i] = (float) (0.5 * t * (1 + erf(t / Math.sqrt(2))));
        }
    }

    /**
     * The error function to 1.2e-7 (absolute), from the Chebyshev fit of {@code erfc} in Numerical Recipes
     * ({@code erfc(|x|) ≈ t·exp(−x² + P(t))}, {@code t = 1/(1 + |x|/2)}): one exp and nine multiply-adds, where
     * the Maclaurin series this replaced took tens of divisions per value and most of MiniLM's time. Its error
     * moves a GELU output by at most 6e-8 · |x|, far below the float32 rounding of the activations around it.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        double erfc = t * Math.exp(-z * z + p);
        return x >= 0 ? 1 - erfc : erfc - 1;
    }

    private void grow(int rows) {
        if (rows <= capacity) {
            return;
        }
        int h = c.hidden();
        x = new float[rows * h];
        q = new float[rows * h];
        k = new float[rows * h];
        v = new float[rows * h];
        attended = new float[rows * h];
        sum = new float[rows * h];
        up = new float[rows * c.intermediate()];
        capacity = rows;
    }
}
