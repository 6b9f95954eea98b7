package dev.rewind.models;

import dev.rewind.engine.kv.PagedAttention;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.FloatOps;
import dev.rewind.engine.tensor.MatMul;
import dev.rewind.engine.tensor.MathOps;
import dev.rewind.engine.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The activations of one forward call over a {@link Batch}: one row per new token for every
 * intermediate (residual stream, Q/K/V, attention output, feed-forward hidden), plus the
 * bookkeeping that maps rows to sequences and positions. Buffers grow to the largest batch seen
 * and are reused, so steady-state decoding allocates nothing. The architecture classes drive it
 * one operation per line; each method here applies one operation to every row.
 *
 * <p>Not thread-safe: one forward call at a time.
 */
public final class Workspace {

    final TransformerConfig config;
    private final WorkerPool pool;
    private final MatMul matmul = new MatMul();

    /** New tokens in the current batch. */
    int count;
    int[] tokens = new int[0];
    int[] positions = new int[0];
    Sequence[] sequences = new Sequence[0];

    /** Residual stream, count × dim. */
    float[] x = new float[0];
    /** Normalised sub-layer input, count × dim. */
    float[] xb = new float[0];
    /** Projection back to the residual width, count × dim. */
    float[] xb2 = new float[0];
    float[] q = new float[0];
    float[] k = new float[0];
    float[] v = new float[0];
    /** Attention output, count × qDim. */
    float[] att = new float[0];
    /** Feed-forward hidden rows, count × ffnDim. */
    float[] hb = new float[0];
    float[] hb2 = new float[0];
    /** Fused projections (Phi-3), count × max(qDim + 2 kvDim, 2 ffnDim). */
    float[] fused = new float[0];
    /** Rotary angles of the global layers, and of the sliding layers (the same object unless their rope differs). */
    private final RopeAngles globalAngles;
    private final RopeAngles slidingAngles;
    /** Mixture of experts: router logits (count × experts), chosen experts and their weights (count × used). */
    private float[] routerLogits = new float[0];
    private int[] chosen = new int[0];
    private float[] chosenWeights = new float[0];
    /** Per row, the smallest routing margin over the layers of the last call ({@link MoeRouting#topK}). */
    private float[] routingMargins = new float[0];
    /** Rows routed to one expert: their batch rows, inputs and outputs (at most count rows). */
    private int[] expertRows = new int[0];
    private float[] expertWeightOfRow = new float[0];
    private float[] expertIn = new float[0];
    private float[] expertOut = new float[0];

    /** Rows of {@link #x} whose logits were asked for, in batch order. */
    private int[] logitSources = new int[0];
    private int logitCount;
    /** Whether some row of the current call wants logits, not only its hidden state ({@link Batch.Wanted#HIDDEN}). */
    private boolean logitsWanted;
    private float[] gathered = new float[0];
    private float[] flatLogits = new float[0];
    private float[][] logitRows = new float[0][];
    private int[] entryFirstRow = new int[0];
    private final LogitsView view = new LogitsView();

    /** Attention task state, read by {@link #attendTask}, which is built once. */
    private int attentionLayer;
    private final WorkerPool.RangeTask attendTask;
    private final ThreadLocal<PagedAttention.Scratch> attentionScratch = ThreadLocal.withInitial(PagedAttention.Scratch::new);

    /**
     * @param context the most positions one sequence will hold (LongRoPE chooses its factors by it,
     *                as llama.cpp does by its context size)
     */
    Workspace(TransformerConfig config, WorkerPool pool, int context) {
        this.config = config;
        this.pool = pool;
        this.globalAngles = new RopeAngles(config.ropeFor(context));
        Rope sliding = config.attention().slidingRope();
        this.slidingAngles = sliding == null ? globalAngles : new RopeAngles(sliding);
        this.attendTask = (from, to) -> {
            int kvHeads = config.kvHeads();
            for (int i = from; i < to; i++) {
                attendGroup(i / kvHeads, i % kvHeads);
            }
        };
    }

    public WorkerPool pool() {
        return pool;
    }

    /**
     * Lays out the batch's tokens as rows, reserves their positions in every sequence (all or none:
     * when the cache is full no sequence changes) and computes each row's rotary angles.
     */
    void begin(Batch batch) {
        int n = batch.tokens();
        grow(n, batch.logitRows());
        count = n;
        logitCount = 0;
        logitsWanted = false;
        List<Batch.Entry> entries = batch.entries();
        if (entryFirstRow.length < entries.size()) {
            entryFirstRow = new int[entries.size()];
        }
        for (Batch.Entry e : entries) {
            for (int i = 0; i < e.size(); i++) {
                int token = e.token(i);
                if (token < 0 || token >= config.vocabularySize()) {
                    throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + config.vocabularySize());
                }
            }
        }
        List<Sequence> reserved = new ArrayList<>(entries.size());
        try {
            for (Batch.Entry e : entries) {
                Sequence kv = kv(e);
                kv.reserve(e.size());
                reserved.add(kv);
            }
        } catch (RuntimeException e) {
            for (Sequence s : reserved) {
                s.truncate(s.length()); // gives back what reserve() took
            }
            throw e;
        }
        int row = 0;
        for (int ei = 0; ei < entries.size(); ei++) {
            Batch.Entry e = entries.get(ei);
            entryFirstRow[ei] = logitCount;
            int start = e.sequence().length();
            for (int i = 0; i < e.size(); i++, row++) {
                tokens[row] = e.token(i);
                positions[row] = start + i;
                sequences[row] = kv(e);
                boolean wanted = e.wanted() == Batch.Wanted.ALL || e.wanted() == Batch.Wanted.HIDDEN
                        || (e.wanted() == Batch.Wanted.LAST && i == e.size() - 1);
                if (wanted) {
                    logitSources[logitCount++] = row;
                    logitsWanted |= e.wanted() != Batch.Wanted.HIDDEN;
                }
            }
        }
        Arrays.fill(routingMargins, 0, routingMargins.length, Float.POSITIVE_INFINITY);
        globalAngles.compute(positions, count);
        if (slidingAngles != globalAngles) {
            slidingAngles.compute(positions, count);
        }
    }

    /** x[t] = embedding row of token t, times {@code scale}. */
    void embed(WeightMatrix embedding, float scale) {
        int dim = config.dim();
        for (int t = 0; t < count; t++) {
            embedding.dequantizeRow(tokens[t], x, t * dim);
            if (scale != 1f) {
                FloatOps.scale(x, t * dim, dim, scale);
            }
        }
    }

    /** out[t] = RMSNorm(in[t]) × weight for every row. */
    void rmsNorm(float[] out, float[] in, float[] weight) {
        int dim = config.dim();
        for (int t = 0; t < count; t++) {
            TransformerOps.rmsNorm(out, t * dim, in, t * dim, weight, dim, config.rmsEps());
        }
    }

    /** out[t] = W · in[t] for every row, reading W once. */
    void matmul(WeightMatrix w, float[] in, float[] out) {
        matmul.matmul(w, in, count, out, pool);
    }

    /** outA[t] = A · in[t] and outB[t] = B · in[t] for every row, in one parallel section where the layouts allow. */
    void matmul(float[] in, WeightMatrix a, float[] outA, WeightMatrix b, float[] outB) {
        matmul.matmul(a, outA, b, outB, null, null, in, count, pool);
    }

    /** outA[t] = A · in[t], outB[t] = B · in[t] and outC[t] = C · in[t] for every row, in one parallel section where the layouts allow. */
    void matmul(float[] in, WeightMatrix a, float[] outA, WeightMatrix b, float[] outB, WeightMatrix c, float[] outC) {
        matmul.matmul(a, outA, b, outB, c, outC, in, count, pool);
    }

    /** x[t] += bias for every row of width {@code bias.length}. */
    void addBias(float[] x, float[] bias) {
        for (int t = 0; t < count; t++) {
            FloatOps.add(x, t * bias.length, bias, 0, bias.length);
        }
    }

    /** gate = silu(gate) × up over every row of the feed-forward width. */
    void swiGlu() {
        MathOps.swiGlu(hb, hb2, count * config.ffnDim());
    }

    /** gate = gelu(gate) × up over every row of the feed-forward width (tanh form). */
    void geGlu() {
        MathOps.geGlu(hb, hb2, count * config.ffnDim());
    }

    /** y += x over every row of the residual width. */
    void addResidual(float[] y, float[] x) {
        FloatOps.add(y, 0, x, 0, count * config.dim());
    }

    /** Copies columns [from, from + width) of each row of {@code src} (row width {@code srcWidth}) into the rows of {@code dst}. */
    void split(float[] src, int srcWidth, int from, int width, float[] dst) {
        for (int t = 0; t < count; t++) {
            System.arraycopy(src, t * srcWidth + from, dst, t * width, width);
        }
    }

    /** Rotates Q and K of every row by its position's angles, with the rope of {@code layer} (sliding layers may have their own). */
    void rope(int layer) {
        RopeAngles a = config.attention().isSliding(layer) ? slidingAngles : globalAngles;
        int pairs = a.pairs;
        for (int t = 0; t < count; t++) {
            a.rope.rotate(q, t * config.qDim(), config.heads(), config.headDim(), a.cos, a.sin, t * pairs);
            a.rope.rotate(k, t * config.kvDim(), config.kvHeads(), config.headDim(), a.cos, a.sin, t * pairs);
        }
    }

    /** RMSNorm of every head of every row of {@code x} (rows of {@code heads} heads) over the head dimension, times {@code weight}. */
    void headNorm(float[] x, int heads, float[] weight) {
        int headDim = config.headDim();
        for (int h = 0; h < count * heads; h++) {
            TransformerOps.rmsNorm(x, h * headDim, x, h * headDim, weight, headDim, config.rmsEps());
        }
    }

    /**
     * The router of a mixture of experts: for every row of {@link #xb}, the {@code used} experts of
     * largest {@code router · xb[t]} (ties to the lower index) and their weights, the softmax of
     * the router logits renormalised over the chosen experts (Mixtral's routing).
     */
    void route(WeightMatrix router, int used) {
        int n = router.rows();
        matmul.matmul(router, xb, count, routerLogits, pool);
        if (routerTrace != null) {
            routerTrace.routed(routerLogits, count, n);
        }
        for (int t = 0; t < count; t++) {
            float margin = MoeRouting.topK(routerLogits, t * n, n, used, chosen, chosenWeights, t * used);
            routingMargins[t] = Math.min(routingMargins[t], margin);
        }
    }

    /**
     * {@code out[t] = Σ over the experts chosen for row t of weight · down(silu(gate · xb[t]) ⊙ up · xb[t])}:
     * each expert's matrices are read once, for all the rows routed to it.
     */
    void experts(Decoder.Expert[] experts, int used, float[] out) {
        int dim = config.dim();
        int ffn = config.ffnDim();
        Arrays.fill(out, 0, count * dim, 0f);
        for (int e = 0; e < experts.length; e++) {
            int m = 0;
            for (int t = 0; t < count; t++) {
                for (int j = 0; j < used; j++) {
                    if (chosen[t * used + j] == e) {
                        expertRows[m] = t;
                        expertWeightOfRow[m] = chosenWeights[t * used + j];
                        System.arraycopy(xb, t * dim, expertIn, m * dim, dim);
                        m++;
                    }
                }
            }
            if (m == 0) {
                continue;
            }
            Decoder.Expert x = experts[e];
            matmul.matmul(x.gate(), hb, x.up(), hb2, null, null, expertIn, m, pool);
            MathOps.swiGlu(hb, hb2, m * ffn);
            matmul.matmul(x.down(), hb, m, expertOut, pool);
            for (int i = 0; i < m; i++) {
                FloatOps.scale(expertOut, i * dim, dim, expertWeightOfRow[i]);
                FloatOps.add(out, expertRows[i] * dim, expertOut, i * dim, dim);
            }
        }
    }

    /** Stores every row's K and V in its sequence at its position. */
    void storeKeysAndValues(int layer) {
        int kvDim = config.kvDim();
        for (int t = 0; t < count; t++) {
            sequences[t].write(layer, positions[t], k, t * kvDim, v, t * kvDim);
        }
    }

    /**
     * Causal attention of every row's query heads over its own sequence, positions 0..its own (on a
     * sliding layer, the window ending there), scaled and soft-capped as {@link TransformerConfig#attention()}
     * says, into {@link #att}: all (row, KV head) pairs in parallel, the query heads that share a KV
     * head together ({@link PagedAttention}).
     */
    void attention(int layer) {
        attentionLayer = layer;
        pool.parallelFor(count * config.kvHeads(), attendTask);
    }

    private void attendGroup(int t, int kvHead) {
        int group = config.groupSize();
        int at = t * config.qDim() + kvHead * group * config.headDim();
        TransformerConfig.Attention a = config.attention();
        PagedAttention.attend(sequences[t], attentionLayer, positions[t], a.firstVisible(attentionLayer, positions[t]), kvHead,
                config.headDim(), q, at, group, a.scale(), a.softcap(), att, at, attentionScratch.get());
    }

    /** Marks the new positions as filled in every sequence. */
    void advanceSequences(Batch batch) {
        for (Batch.Entry e : batch.entries()) {
            kv(e).advance(e.size());
        }
    }

    /** The KV sequence of a batch entry: a model evaluates only sequences of a KV cache. */
    static Sequence kv(Batch.Entry e) {
        if (e.sequence() instanceof Sequence s) {
            return s;
        }
        throw new IllegalArgumentException("a batch entry's sequence (" + e.sequence().getClass().getSimpleName()
                + ") is not a model's KV sequence");
    }

    /**
     * Final norm and output projection of the rows whose logits were asked for; then the
     * sequences are advanced past the new tokens.
     */
    Logits logits(Batch batch, float[] outputNorm, WeightMatrix output) {
        int dim = config.dim();
        int vocab = config.vocabularySize();
        for (int i = 0; i < logitCount; i++) {
            TransformerOps.rmsNorm(gathered, i * dim, x, logitSources[i] * dim, outputNorm, dim, config.rmsEps());
        }
        if (logitCount > 0 && logitsWanted) {
            matmul.matmul(output, gathered, logitCount, flatLogits, pool);
            float cap = config.logitSoftcap();
            if (cap > 0f) {
                FloatOps.scale(flatLogits, 0, logitCount * vocab, 1f / cap);
                MathOps.tanh(flatLogits, 0, logitCount * vocab);
                FloatOps.scale(flatLogits, 0, logitCount * vocab, cap);
            }
            for (int i = 0; i < logitCount; i++) {
                System.arraycopy(flatLogits, i * vocab, logitRows[i], 0, vocab);
            }
        }
        advanceSequences(batch);
        view.rows = logitCount;
        view.withLogits = logitsWanted;
        return view;
    }

    /**
     * The smallest router margin (last chosen minus best unchosen expert logit) of batch row
     * {@code row} over all layers of the last call; +∞ for a dense model. For tests and diagnostics:
     * where it is tiny, a slightly different input could route the token to another expert.
     */
    /** Told each layer's router logits ({@code rows × experts}, row-major), layer after layer; for tests. */
    interface RouterTrace {
        void routed(float[] logits, int rows, int experts);
    }

    /** Where {@link #route} reports the router logits, or null (the default) for nowhere. */
    RouterTrace routerTrace;

    float routingMargin(int row) {
        return row < routingMargins.length ? routingMargins[row] : Float.POSITIVE_INFINITY;
    }

    /** The final normalised hidden state of row {@code t} (for embeddings); valid after {@link #logits}. */
    float[] hiddenOf(int logitRow) {
        int dim = config.dim();
        return Arrays.copyOfRange(gathered, logitRow * dim, (logitRow + 1) * dim);
    }

    private void grow(int n, int logitRowsWanted) {
        if (tokens.length < n) {
            int cap = Math.max(n, tokens.length * 2);
            TransformerConfig c = config;
            tokens = new int[cap];
            positions = new int[cap];
            sequences = new Sequence[cap];
            logitSources = new int[cap];
            x = new float[cap * c.dim()];
            xb = new float[cap * c.dim()];
            xb2 = new float[cap * c.dim()];
            q = new float[cap * c.qDim()];
            k = new float[cap * c.kvDim()];
            v = new float[cap * c.kvDim()];
            att = new float[cap * c.qDim()];
            hb = new float[cap * c.ffnDim()];
            hb2 = new float[cap * c.ffnDim()];
            fused = new float[cap * Math.max(c.qDim() + 2 * c.kvDim(), 2 * c.ffnDim())];
            globalAngles.grow(cap);
            if (slidingAngles != globalAngles) {
                slidingAngles.grow(cap);
            }
            if (c.experts().present()) {
                routerLogits = new float[cap * c.experts().count()];
                chosen = new int[cap * c.experts().used()];
                chosenWeights = new float[cap * c.experts().used()];
                routingMargins = new float[cap];
                expertRows = new int[cap];
                expertWeightOfRow = new float[cap];
                expertIn = new float[cap * c.dim()];
                expertOut = new float[cap * c.dim()];
            }
        }
        if (logitRows.length < logitRowsWanted) {
            int cap = Math.max(logitRowsWanted, logitRows.length * 2);
            float[][] rows = Arrays.copyOf(logitRows, cap);
            for (int i = logitRows.length; i < cap; i++) {
                rows[i] = new float[config.vocabularySize()];
            }
            logitRows = rows;
            gathered = new float[cap * config.dim()];
            flatLogits = new float[cap * config.vocabularySize()];
        }
    }

    /** One rope's frequencies and, per row of the batch, its cosines and sines (times the rope's attention factor). */
    private static final class RopeAngles {
        final Rope rope;
        final int pairs;
        final double[] frequencies;
        float[] cos = new float[0];
        float[] sin = new float[0];

        RopeAngles(Rope rope) {
            this.rope = rope;
            this.pairs = rope.dimensions() / 2;
            this.frequencies = new double[pairs];
            for (int i = 0; i < pairs; i++) {
                frequencies[i] = rope.frequency(i);
            }
        }

        void grow(int rows) {
            cos = new float[rows * pairs];
            sin = new float[rows * pairs];
        }

        void compute(int[] positions, int count) {
            double m = rope.attentionFactor();
            for (int t = 0; t < count; t++) {
                for (int i = 0; i < pairs; i++) {
                    double angle = positions[t] * frequencies[i];
                    cos[t * pairs + i] = (float) (Math.cos(angle) * m);
                    sin[t * pairs + i] = (float) (Math.sin(angle) * m);
                }
            }
        }
    }

    /** The rows of the last call, as the {@link Logits} view. */
    private final class LogitsView implements Logits {
        int rows;
        boolean withLogits = true;

        @Override
        public int rows() {
            return rows;
        }

        @Override
        public int vocabularySize() {
            return config.vocabularySize();
        }

        @Override
        public float[] row(int i) {
            if (i < 0 || i >= rows) {
                throw new IndexOutOfBoundsException("logits row " + i + " of " + rows);
            }
            if (!withLogits) {
                throw new IllegalStateException("the batch wanted hidden states only (Wanted.HIDDEN): no logits were computed");
            }
            return logitRows[i];
        }

        @Override
        public float[] row(Batch batch, int entry, int k) {
            Batch.Entry e = batch.entries().get(entry);
            if (k < 0 || k >= e.logitRows()) {
                throw new IndexOutOfBoundsException("entry " + entry + " has " + e.logitRows() + " logits rows, not " + (k + 1));
            }
            return row(entryFirstRow[entry] + k);
        }

        @Override
        public float[] hidden(int i) {
            if (i < 0 || i >= rows) {
                throw new IndexOutOfBoundsException("hidden row " + i + " of " + rows);
            }
            return hiddenOf(i);
        }
    }
}
