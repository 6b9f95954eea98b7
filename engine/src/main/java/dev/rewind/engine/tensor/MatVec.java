package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;

import java.util.Objects;

/**
 * Matrix-vector products {@code out = W · x} over {@link WeightMatrix} weights, the operation
 * that dominates LLM decoding: every weight is read once per token, so its speed is bounded by
 * memory bandwidth. Rows are split across a {@link WorkerPool}.
 */
public final class MatVec {

    /** Fewest rows worth a separate chunk of work. */
    static final int MIN_ROWS_PER_CHUNK = 8;

    private MatVec() {
    }

    /**
     * Sets {@code out[outOffset + r] = w.dot(r, x, xOffset)} for every row {@code r}, with the rows
     * split across {@code pool} in chunks of at least {@value #MIN_ROWS_PER_CHUNK} rows (about
     * four chunks per thread). Each output element is computed exactly as {@link WeightMatrix#dot}
     * computes it, so the result does not depend on the number of threads.
     *
     * @param x   input vector; {@code x[xOffset .. xOffset + w.cols())} is read
     * @param out output vector; {@code out[outOffset .. outOffset + w.rows())} is written and must
     *            not overlap the input range
     * @throws IndexOutOfBoundsException if a range does not fit its array
     */
    public static void matvec(WeightMatrix w, float[] x, int xOffset, float[] out, int outOffset, WorkerPool pool) {
        Objects.requireNonNull(pool, "pool");
        Objects.checkFromIndexSize(xOffset, w.cols(), x.length);
        Objects.checkFromIndexSize(outOffset, w.rows(), out.length);
        pool.parallelFor(w.rows(), MIN_ROWS_PER_CHUNK, (start, end) -> rows(w, start, end, x, xOffset, out, outOffset));
    }

    /** {@link #matvec(WeightMatrix, float[], int, float[], int, WorkerPool)} on the calling thread only. */
    public static void matvec(WeightMatrix w, float[] x, int xOffset, float[] out, int outOffset) {
        Objects.checkFromIndexSize(xOffset, w.cols(), x.length);
        Objects.checkFromIndexSize(outOffset, w.rows(), out.length);
        rows(w, 0, w.rows(), x, xOffset, out, outOffset);
    }

    /**
     * Rows {@code [start, end)}. One loop per type, so that each {@code dot} call site sees a single
     * class and the JIT inlines the kernel.
     */
    static void rows(WeightMatrix w, int start, int end, float[] x, int xOffset, float[] out, int outOffset) {
        switch (w) {
            case F32Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case F16Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case BF16Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q8_0Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q4_0Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q4_1Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q5_0Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q5_1Matrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q2_KMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q3_KMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q4_KMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q5_KMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case Q6_KMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case IQ4_NLMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            case IQ4_XSMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
            // The packed forms' dot is exact and slow (one weight at a time); their fast products are MatMul's.
            case PackedMatrix m -> {
                for (int r = start; r < end; r++) {
                    out[outOffset + r] = m.dot(r, x, xOffset);
                }
            }
        }
    }
}
