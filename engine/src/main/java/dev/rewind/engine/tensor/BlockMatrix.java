package dev.rewind.engine.tensor;

/**
 * A matrix in one of ggml's quantized block formats, read in place from the file: each row is
 * {@code cols / type().blockSize()} blocks of {@code type().blockBytes()} bytes, each block
 * decoding to {@code blockSize} weights. Each record's own {@code dot} and {@code dequantizeRow}
 * are its vector forms; what they share is here: the block addressing, and the scalar forms that
 * decode one {@link #blockWeight} at a time (the reference the vector forms are tested against, and
 * what runs where the machine has no byte vectors).
 */
sealed interface BlockMatrix extends WeightMatrix
        permits Q8_0Matrix, Q4_0Matrix, Q4_1Matrix, Q5_0Matrix, Q5_1Matrix, Q2_KMatrix, Q3_KMatrix, Q4_KMatrix, Q5_KMatrix,
        Q6_KMatrix, IQ4_NLMatrix, IQ4_XSMatrix {

    /**
     * Weight {@code e} ({@code 0 .. blockSize - 1}) of the block that starts at byte {@code at} of
     * {@link #data()}: the float ggml's dequantization gives it, bit for bit.
     */
    float blockWeight(long at, int e);

    /** The byte of {@link #data()} where block {@code block} of row {@code row} starts. */
    default long blockAt(int row, int block) {
        return ((long) row * (cols() / type().blockSize()) + block) * type().blockBytes();
    }

    @Override
    default float dotScalar(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows(), x, xOffset, cols());
        int n = type().blockSize();
        float sum = 0f;
        for (int b = 0; b < cols() / n; b++) {
            long at = blockAt(row, b);
            for (int e = 0; e < n; e++) {
                sum += blockWeight(at, e) * x[xOffset + b * n + e];
            }
        }
        return sum;
    }

    /** {@link #dequantizeRow} one {@link #blockWeight} at a time. */
    default void dequantizeRowScalar(int row, float[] out, int outOffset) {
        Shapes.checkAccess(row, rows(), out, outOffset, cols());
        int n = type().blockSize();
        for (int b = 0; b < cols() / n; b++) {
            long at = blockAt(row, b);
            for (int e = 0; e < n; e++) {
                out[outOffset + b * n + e] = blockWeight(at, e);
            }
        }
    }
}
