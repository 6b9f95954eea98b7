package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Objects;

/**
 * Matrix × matrix products {@code out[t] = W · x[t]} for one or several activation rows at once
 * (a prompt's tokens, or one token on each of several branches), split over a {@link WorkerPool}.
 *
 * <p>The {@link Precision#FAST} forms ({@link Q4_0Packed}, {@link Q8_0Packed}, {@link Q4_KPacked}, {@link Q5_KPacked}, {@link Q6_KPacked},
 * {@link Q3_KPacked}, {@link Q4_1Packed}, {@link Q2_KPacked}, {@link IQ4_XSPacked}) run their own kernels, which apply each decoded piece of a weight group to
 * four activation rows at once; for all but Q8_0 the activations are first quantized to 8 bits
 * ({@link Q8Rows}), once for the matrices of one input even when their layouts differ (a Q4_K_M
 * file's Q4_K query and Q6_K value matrices). Every other matrix uses
 * its {@link WeightMatrix#dot} for fewer than {@value #TILED_FROM_ROWS} rows, and otherwise
 * dequantizes tiles of {@value #TILE_ROWS} rows into per-thread scratch and multiplies each tile
 * with every activation row through a 4 × 4 register-blocked kernel, so the weights stream from
 * memory once per call however many rows there are.
 *
 * <p>Every kernel computes each output in the same order whatever the number of activation rows
 * (the tiles follow {@link WeightMatrix#dot}'s order), so a row's result never depends on the
 * batch it is in, nor on JIT state: a request batched with others gets the bits it gets alone.
 *
 * <p>A call allocates nothing once the per-thread buffers have grown. One instance serves one
 * caller at a time (a model's workspace); it is not thread-safe.
 */
public final class MatMul {

    /** Weight rows dequantized together; 16 rows of 8192 floats is 512 KiB, an L2's worth. */
    static final int TILE_ROWS = 16;

    /**
     * Below this many activation rows, each weight row is read with the fused {@link WeightMatrix#dot}
     * once per activation row while it sits in L1, instead of being dequantized into a tile: turning
     * a 1B model's weights into floats costs about 150 ms per call on the development machine, which
     * two rows do not win back (bench/README.md, BranchBatchBenchmark).
     */
    static final int TILED_FROM_ROWS = 3;

    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);
    /** The activations quantized for {@link Q4_0Packed}. */
    private final Q8Rows activations = new Q8Rows();

    // The current call, read by the tasks below (built once, so that a call allocates nothing).
    // A call over several matrices of one input puts their row groups end to end: groups
    // [0, ends[0]) belong to ws[0], [ends[0], ends[1]) to ws[1], and so on.
    private WeightMatrix w;
    private float[] x;
    private int count;
    private float[] out;
    private final WeightMatrix[] ws = new WeightMatrix[MAX_MATRICES];
    private final float[][] outs = new float[MAX_MATRICES][];
    private final int[] ends = new int[MAX_MATRICES];
    private int matrices;

    /** Most matrices {@link #matmul(WeightMatrix, float[], WeightMatrix, float[], WeightMatrix, float[], float[], int, WorkerPool)} takes. */
    private static final int MAX_MATRICES = 3;

    private final WorkerPool.RangeTask quantizeTask = (from, to) -> activations.quantize(x, from, to);
    private final ThreadLocal<PackedScratch> q4Scratch = ThreadLocal.withInitial(PackedScratch::new);
    private final WorkerPool.RangeTask q4Task = (from, to) -> forEachMatrix(from, to, true);
    private final WorkerPool.RangeTask q8Task = (from, to) -> forEachMatrix(from, to, false);
    private final WorkerPool.RangeTask fusedTask = (from, to) -> fused(w, x, count, out, from, to);
    /** One activation row: {@link MatVec}'s per-type loops, through a task built once (a capturing lambda per call allocates). */
    private final WorkerPool.RangeTask matvecTask = (from, to) -> MatVec.rows(w, from, to, x, 0, out, 0);
    private final WorkerPool.RangeTask tilesTask = (from, to) -> tiles(w, x, count, out, from, to);

    /**
     * For every activation row {@code t < count}: {@code out[t * w.rows() + r] = W[r] · x[t * w.cols() ..]}.
     *
     * @param x     {@code count} rows of {@code w.cols()} values, back to back
     * @param count activation rows
     * @param out   {@code count} rows of {@code w.rows()} values, back to back; must not overlap {@code x}
     */
    public void matmul(WeightMatrix w, float[] x, int count, float[] out, WorkerPool pool) {
        Objects.requireNonNull(pool, "pool");
        int cols = w.cols();
        int rows = w.rows();
        Objects.checkFromIndexSize(0, Math.multiplyExact(count, cols), x.length);
        Objects.checkFromIndexSize(0, Math.multiplyExact(count, rows), out.length);
        this.w = w;
        this.x = x;
        this.count = count;
        this.out = out;
        try {
            switch (w) {
                case Q8_0Packed _ -> {
                    setMatrices(w, out, null, null, null, null);
                    pool.parallelFor(ends[0], q8Task);
                }
                case PackedMatrix _ -> { // every other packed form multiplies 8-bit activations
                    setMatrices(w, out, null, null, null, null);
                    activations.prepare(count, cols);
                    pool.parallelFor(count, 8, quantizeTask);
                    pool.parallelFor(ends[0], q4Task);
                }
                default -> {
                    if (count == 1) {
                        pool.parallelFor(rows, MatVec.MIN_ROWS_PER_CHUNK, matvecTask);
                    } else if (count < TILED_FROM_ROWS) {
                        pool.parallelFor(rows, MatVec.MIN_ROWS_PER_CHUNK, fusedTask);
                    } else {
                        pool.parallelFor(Math.ceilDiv(rows, TILE_ROWS), 1, tilesTask);
                    }
                }
            }
        } finally {
            clear();
        }
    }

    /**
     * Two or three products of one input, {@code outA[t] = A · x[t]}, {@code outB[t] = B · x[t]}
     * and {@code outC[t] = C · x[t]} (attention's Q, K and V; a feed-forward's gate and up), with
     * the results {@link #matmul(WeightMatrix, float[], int, float[], WorkerPool)} gives each
     * matrix alone, bit for bit. When the matrices share a packed layout their rows are split over
     * the threads as one range, with the activations quantized once: one parallel section
     * instead of three, so a decode step waits at fewer barriers.
     *
     * @param c    the third matrix, or null for two
     * @param outC its output, null when {@code c} is
     */
    public void matmul(WeightMatrix a, float[] outA, WeightMatrix b, float[] outB, WeightMatrix c, float[] outC,
                       float[] x, int count, WorkerPool pool) {
        Objects.requireNonNull(pool, "pool");
        boolean sameLayout = a.cols() == b.cols() && (c == null || c.cols() == a.cols())
                && ((quantizesActivations(a) && quantizesActivations(b) && (c == null || quantizesActivations(c)))
                || (a instanceof Q8_0Packed && b instanceof Q8_0Packed && (c == null || c instanceof Q8_0Packed)));
        if (!sameLayout) {
            matmul(a, x, count, outA, pool);
            matmul(b, x, count, outB, pool);
            if (c != null) {
                matmul(c, x, count, outC, pool);
            }
            return;
        }
        int cols = a.cols();
        Objects.checkFromIndexSize(0, Math.multiplyExact(count, cols), x.length);
        Objects.checkFromIndexSize(0, Math.multiplyExact(count, a.rows()), outA.length);
        Objects.checkFromIndexSize(0, Math.multiplyExact(count, b.rows()), outB.length);
        if (c != null) {
            Objects.checkFromIndexSize(0, Math.multiplyExact(count, c.rows()), outC.length);
        }
        this.x = x;
        this.count = count;
        try {
            setMatrices(a, outA, b, outB, c, outC);
            if (quantizesActivations(a)) {
                activations.prepare(count, cols);
                pool.parallelFor(count, 8, quantizeTask);
                pool.parallelFor(ends[matrices - 1], q4Task);
            } else {
                pool.parallelFor(ends[matrices - 1], q8Task);
            }
        } finally {
            clear();
        }
    }

    private void setMatrices(WeightMatrix a, float[] outA, WeightMatrix b, float[] outB, WeightMatrix c, float[] outC) {
        matrices = 0;
        int end = 0;
        for (int i = 0; i < MAX_MATRICES; i++) {
            WeightMatrix m = i == 0 ? a : i == 1 ? b : c;
            if (m == null) {
                break;
            }
            ws[i] = m;
            outs[i] = i == 0 ? outA : i == 1 ? outB : outC;
            end += switch (m) {
                case PackedMatrix p -> p.groups();
                default -> throw new AssertionError(m.name());
            };
            ends[i] = end;
            matrices++;
        }
    }

    /** Runs the packed kernel over combined groups [from, to), matrix by matrix. */
    private void forEachMatrix(int from, int to, boolean q4) {
        int start = 0;
        for (int i = 0; i < matrices && from < to; i++) {
            int end = ends[i];
            if (from < end) {
                int upTo = Math.min(to, end);
                if (q4) {
                    switch (ws[i]) {
                        case Q4_0Packed p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case Q4_KPacked p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case Q5_KPacked p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case Q6_KPacked p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case Q3_KPacked p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case Q4_1Packed p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case Q2_KPacked p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        case IQ4_XSPacked p -> p.multiply(activations, from - start, upTo - start, outs[i], q4Scratch.get());
                        default -> throw new AssertionError(ws[i].name());
                    }
                } else {
                    ((Q8_0Packed) ws[i]).multiply(x, count, from - start, upTo - start, outs[i]);
                }
                from = upTo;
            }
            start = end;
        }
    }

    /** True for the packed forms that multiply against 8-bit activations ({@link Q8Rows}). */
    static boolean quantizesActivations(WeightMatrix w) {
        return w instanceof PackedMatrix && !(w instanceof Q8_0Packed);
    }

    private void clear() {
        this.w = null;
        this.x = null;
        this.out = null;
        for (int i = 0; i < MAX_MATRICES; i++) {
            ws[i] = null;
            outs[i] = null;
        }
        matrices = 0;
    }

    /** The plain reference: every element by {@link WeightMatrix#dotScalar}. */
    public static void matmulScalar(WeightMatrix w, float[] x, int count, float[] out) {
        for (int t = 0; t < count; t++) {
            for (int r = 0; r < w.rows(); r++) {
                out[t * w.rows() + r] = w.dotScalar(r, x, t * w.cols());
            }
        }
    }

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;

    /** Rows [from, to) by the fused kernel, every activation row against each weight row in turn. */
    private static void fused(WeightMatrix w, float[] x, int count, float[] out, int from, int to) {
        int cols = w.cols();
        int rows = w.rows();
        for (int r = from; r < to; r++) {
            for (int t = 0; t < count; t++) {
                out[t * rows + r] = w.dot(r, x, t * cols);
            }
        }
    }

    private void tiles(WeightMatrix w, float[] x, int count, float[] out, int fromTile, int toTile) {
        int cols = w.cols();
        int rows = w.rows();
        float[] tile = scratch.get();
        if (tile.length < TILE_ROWS * cols) {
            tile = new float[TILE_ROWS * cols];
            scratch.set(tile);
        }
        for (int tileIndex = fromTile; tileIndex < toTile; tileIndex++) {
            int r0 = tileIndex * TILE_ROWS;
            int n = Math.min(TILE_ROWS, rows - r0);
            for (int i = 0; i < n; i++) {
                w.dequantizeRow(r0 + i, tile, i * cols);
            }
            int t = 0;
            for (; t + 4 <= count; t += 4) {
                int i = 0;
                for (; i + 4 <= n; i += 4) {
                    block4x4(tile, i * cols, x, t * cols, cols, out, t * rows + r0 + i, rows);
                }
                for (; i < n; i++) {
                    for (int u = 0; u < 4; u++) {
                        out[(t + u) * rows + r0 + i] = dot(tile, i * cols, x, (t + u) * cols, cols);
                    }
                }
            }
            for (; t < count; t++) {
                for (int i = 0; i < n; i++) {
                    out[t * rows + r0 + i] = dot(tile, i * cols, x, t * cols, cols);
                }
            }
        }
    }

    /**
     * out[u * rowStride + j] = w[wAt + j·cols ..] · x[xAt + u·cols ..] for j, u in 0..3: four
     * weight rows against four activation rows, sixteen accumulators in registers.
     */
    private static void block4x4(float[] w, int wAt, float[] x, int xAt, int cols, float[] out, int outAt, int rowStride) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        int k = 0;
        for (int bound = cols - cols % LANES; k < bound; k += LANES) {
            FloatVector w0 = FloatVector.fromArray(F, w, wAt + k);
            FloatVector w1 = FloatVector.fromArray(F, w, wAt + cols + k);
            FloatVector w2 = FloatVector.fromArray(F, w, wAt + 2 * cols + k);
            FloatVector w3 = FloatVector.fromArray(F, w, wAt + 3 * cols + k);
            FloatVector x0 = FloatVector.fromArray(F, x, xAt + k);
            FloatVector x1 = FloatVector.fromArray(F, x, xAt + cols + k);
            FloatVector x2 = FloatVector.fromArray(F, x, xAt + 2 * cols + k);
            FloatVector x3 = FloatVector.fromArray(F, x, xAt + 3 * cols + k);
            a00 = w0.fma(x0, a00); a01 = w0.fma(x1, a01); a02 = w0.fma(x2, a02); a03 = w0.fma(x3, a03);
            a10 = w1.fma(x0, a10); a11 = w1.fma(x1, a11); a12 = w1.fma(x2, a12); a13 = w1.fma(x3, a13);
            a20 = w2.fma(x0, a20); a21 = w2.fma(x1, a21); a22 = w2.fma(x2, a22); a23 = w2.fma(x3, a23);
            a30 = w3.fma(x0, a30); a31 = w3.fma(x1, a31); a32 = w3.fma(x2, a32); a33 = w3.fma(x3, a33);
        }
        // The sixteen sums leave the method through memory, not as vectors (a vector handed to a
        // helper that the JIT does not inline is boxed): lane sums in lane order, then the tails.
        float[] lanes = LANE_SCRATCH.get();
        a00.intoArray(lanes, 0); a01.intoArray(lanes, LANES); a02.intoArray(lanes, 2 * LANES); a03.intoArray(lanes, 3 * LANES);
        a10.intoArray(lanes, 4 * LANES); a11.intoArray(lanes, 5 * LANES); a12.intoArray(lanes, 6 * LANES); a13.intoArray(lanes, 7 * LANES);
        a20.intoArray(lanes, 8 * LANES); a21.intoArray(lanes, 9 * LANES); a22.intoArray(lanes, 10 * LANES); a23.intoArray(lanes, 11 * LANES);
        a30.intoArray(lanes, 12 * LANES); a31.intoArray(lanes, 13 * LANES); a32.intoArray(lanes, 14 * LANES); a33.intoArray(lanes, 15 * LANES);
        for (int j = 0; j < 4; j++) {
            for (int u = 0; u < 4; u++) {
                float sum = 0f;
                for (int lane = 0; lane < LANES; lane++) {
                    sum += lanes[(4 * j + u) * LANES + lane];
                }
                out[outAt + j + u * rowStride] = tail(sum, w, wAt + j * cols, x, xAt + u * cols, k, cols);
            }
        }
    }

    /** Where {@link #block4x4} leaves its sixteen vector sums, one buffer per thread. */
    private static final ThreadLocal<float[]> LANE_SCRATCH = ThreadLocal.withInitial(() -> new float[16 * LANES]);

    /** One weight row against one activation row, with the same order of operations as {@link #block4x4}. */
    private static float dot(float[] w, int wAt, float[] x, int xAt, int cols) {
        FloatVector acc = FloatVector.zero(F);
        int k = 0;
        for (int bound = cols - cols % LANES; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, w, wAt + k).fma(FloatVector.fromArray(F, x, xAt + k), acc);
        }
        float sum = 0f;
        for (int lane = 0; lane < LANES; lane++) {
            sum += acc.lane(lane);
        }
        return tail(sum, w, wAt, x, xAt, k, cols);
    }

    /** {@code lanes} plus the columns past the last whole vector, one by one (the order of {@link WeightMatrix#dot}). */
    private static float tail(float lanes, float[] w, int wAt, float[] x, int xAt, int from, int cols) {
        float s = lanes;
        for (int k = from; k < cols; k++) {
            s += w[wAt + k] * x[xAt + k];
        }
        return s;
    }
}
