package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;

import java.util.Objects;

/**
 * Matrix × matrix products {@code out[t] = W · x[t]} for several activation rows at once (a
 * prompt's tokens, or one token on each of several branches). Each worker dequantizes a tile of
 * {@value #TILE_ROWS} weight rows once into its own scratch and multiplies the tile with every
 * activation row, so the weights stream from memory once per call however many rows there are;
 * that is what makes evaluating k branches together cost far less than k single steps.
 *
 * <p>One row of activations is handed to {@link MatVec}, which reads the weights directly. Holds
 * per-thread scratch, so one instance serves one model; it is thread-safe.
 */
public final class MatMul {

    /** Weight rows dequantized together; 16 rows of 8192 floats is 512 KiB, an L2's worth. */
    static final int TILE_ROWS = 16;

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
            for (int t = 0; t < count; t++) {
                int xAt = t * cols;
                int outAt = t * rows + r0;
                for (int i = 0; i < n; i++) {
                    out[outAt + i] = FloatOps.dot(tile, i * cols, x, xAt, cols);
                }
            }
        }
    }
}
