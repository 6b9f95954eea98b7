package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Objects;

/**
 * Matrix × matrix products {@code out[t] = W · x[t]} for several activation rows at once (a
 * prompt's tokens, or one token on each of several branches). Each worker dequantizes a tile of
 * {@value #TILE_ROWS} weight rows once into its own scratch and multiplies the tile with every
 * activation row, so the weights stream from memory once per call however many rows there are;
 * that is what makes evaluating k branches together cost far less than k single steps.
 *
 * <p>Within a tile, a register-blocked kernel computes 4 weight rows × 4 activation rows at once:
 * 8 vector loads feed 16 fused multiply-adds, where a plain dot product needs 2 loads per
 * multiply-add. Lane sums are taken in a fixed order, so a result never depends on JIT state.
 *
 * <p>One row of activations is handed to {@link MatVec}, which reads the weights directly; fewer
 * than {@value #TILED_FROM_ROWS} rows use the fused kernel row by row (see {@link #TILED_FROM_ROWS}). Holds
 * per-thread scratch, so one instance serves one model; it is thread-safe.
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
        if (count == 1) {
            MatVec.matvec(w, x, 0, out, 0, pool);
            return;
        }
        if (count < TILED_FROM_ROWS) {
            pool.parallelFor(rows, MatVec.MIN_ROWS_PER_CHUNK, (from, to) -> fused(w, x, count, out, from, to));
            return;
        }
        int tiles = Math.ceilDiv(rows, TILE_ROWS);
        pool.parallelFor(tiles, 1, (from, to) -> tiles(w, x, count, out, from, to));
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
        out[outAt] = Simd.sum(a00) + tail(w, wAt, x, xAt, k, cols);
        out[outAt + rowStride] = Simd.sum(a01) + tail(w, wAt, x, xAt + cols, k, cols);
        out[outAt + 2 * rowStride] = Simd.sum(a02) + tail(w, wAt, x, xAt + 2 * cols, k, cols);
        out[outAt + 3 * rowStride] = Simd.sum(a03) + tail(w, wAt, x, xAt + 3 * cols, k, cols);
        out[outAt + 1] = Simd.sum(a10) + tail(w, wAt + cols, x, xAt, k, cols);
        out[outAt + 1 + rowStride] = Simd.sum(a11) + tail(w, wAt + cols, x, xAt + cols, k, cols);
        out[outAt + 1 + 2 * rowStride] = Simd.sum(a12) + tail(w, wAt + cols, x, xAt + 2 * cols, k, cols);
        out[outAt + 1 + 3 * rowStride] = Simd.sum(a13) + tail(w, wAt + cols, x, xAt + 3 * cols, k, cols);
        out[outAt + 2] = Simd.sum(a20) + tail(w, wAt + 2 * cols, x, xAt, k, cols);
        out[outAt + 2 + rowStride] = Simd.sum(a21) + tail(w, wAt + 2 * cols, x, xAt + cols, k, cols);
        out[outAt + 2 + 2 * rowStride] = Simd.sum(a22) + tail(w, wAt + 2 * cols, x, xAt + 2 * cols, k, cols);
        out[outAt + 2 + 3 * rowStride] = Simd.sum(a23) + tail(w, wAt + 2 * cols, x, xAt + 3 * cols, k, cols);
        out[outAt + 3] = Simd.sum(a30) + tail(w, wAt + 3 * cols, x, xAt, k, cols);
        out[outAt + 3 + rowStride] = Simd.sum(a31) + tail(w, wAt + 3 * cols, x, xAt + cols, k, cols);
        out[outAt + 3 + 2 * rowStride] = Simd.sum(a32) + tail(w, wAt + 3 * cols, x, xAt + 2 * cols, k, cols);
        out[outAt + 3 + 3 * rowStride] = Simd.sum(a33) + tail(w, wAt + 3 * cols, x, xAt + 3 * cols, k, cols);
    }

    /** One weight row against one activation row, with the same order of operations as {@link #block4x4}. */
    private static float dot(float[] w, int wAt, float[] x, int xAt, int cols) {
        FloatVector acc = FloatVector.zero(F);
        int k = 0;
        for (int bound = cols - cols % LANES; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, w, wAt + k).fma(FloatVector.fromArray(F, x, xAt + k), acc);
        }
        return Simd.sum(acc) + tail(w, wAt, x, xAt, k, cols);
    }

    /** The columns past the last whole vector. */
    private static float tail(float[] w, int wAt, float[] x, int xAt, int from, int cols) {
        float s = 0;
        for (int k = from; k < cols; k++) {
            s += w[wAt + k] * x[xAt + k];
        }
        return s;
    }
}
