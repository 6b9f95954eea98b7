package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A 2-D weight of {@link #rows()} × {@link #cols()}, stored row-major in ggml layout and read in
 * place from a {@link MemorySegment} (normally a view of a memory-mapped GGUF file; the weights
 * are never copied to the heap). In ggml terms {@code cols} is ne0, the contiguous input
 * dimension, and {@code rows} is ne1. Row {@code r} occupies the bytes
 * {@code [r * rowBytes, (r + 1) * rowBytes)} with {@code rowBytes = cols / blockSize * blockBytes}
 * of the {@link #type()}; all multi-byte values are little-endian.
 *
 * <p>Each type offers the same three operations:
 * <ul>
 *   <li>{@link #dot} — the fast SIMD kernel (Vector API), used by matrix-vector products;</li>
 *   <li>{@link #dotScalar} — the plain scalar reference that defines what {@code dot} computes:
 *       each weight dequantized exactly, products accumulated in {@code float} in index order.
 *       {@code dot} may sum in a different order (several vector accumulators, per-block partial
 *       sums scaled once), so the two agree up to float rounding of the summation, not
 *       bit-for-bit;</li>
 *   <li>{@link #dequantizeRow} — exact dequantization of one row, bit-identical to what
 *       {@code dotScalar} multiplies by.</li>
 * </ul>
 * Implementations are immutable and safe to use from many threads at once. None of the three
 * operations allocates.
 *
 * <p>The quantized types' records read the file's blocks in place ({@link BlockMatrix}). The
 * {@link PackedMatrix} records hold the same weights regrouped for the {@link Precision#FAST}
 * kernels ({@link WeightPacker} makes them at load); their {@code type()} is the file's type, their
 * three operations above are exact but slow, and {@link MatMul} multiplies them with their own
 * kernels.
 */
public sealed interface WeightMatrix permits F32Matrix, F16Matrix, BF16Matrix, BlockMatrix, PackedMatrix {

    /** The types with kernels, in the order error messages list them. */
    List<GgmlType> SUPPORTED_TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS);

    /** {@link #SUPPORTED_TYPES} as shown to users, e.g. in {@link UnsupportedTensorTypeException}. */
    String SUPPORTED_TYPES_TEXT = SUPPORTED_TYPES.stream().map(GgmlType::name).collect(Collectors.joining(", "));

    /**
     * Wraps {@code data} as a {@code rows × cols} weight of the given type, without copying.
     *
     * @param name tensor name, used in error messages
     * @param type storage type
     * @param data the tensor's bytes; must be exactly {@code type.byteSize((long) rows * cols)} long
     * @param rows number of rows (ggml ne1), at least 1
     * @param cols number of columns (ggml ne0, the contiguous dimension), at least 1 and a multiple
     *             of the type's block size
     * @return the matrix, reading {@code data} in place
     * @throws UnsupportedTensorTypeException if {@code type} has no kernels; its message names the
     *                                        tensor, the type and the supported types
     * @throws IllegalArgumentException       if the shape is invalid or {@code data} has the wrong size
     */
    static WeightMatrix of(String name, GgmlType type, MemorySegment data, int rows, int cols) {
        return switch (type) {
            case F32 -> new F32Matrix(name, data, rows, cols);
            case F16 -> new F16Matrix(name, data, rows, cols);
            case BF16 -> new BF16Matrix(name, data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(name, data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(name, data, rows, cols);
            case Q4_1 -> new Q4_1Matrix(name, data, rows, cols);
            case Q5_0 -> new Q5_0Matrix(name, data, rows, cols);
            case Q5_1 -> new Q5_1Matrix(name, data, rows, cols);
            case Q2_K -> new Q2_KMatrix(name, data, rows, cols);
            case Q3_K -> new Q3_KMatrix(name, data, rows, cols);
            case Q4_K -> new Q4_KMatrix(name, data, rows, cols);
            case Q5_K -> new Q5_KMatrix(name, data, rows, cols);
            case Q6_K -> new Q6_KMatrix(name, data, rows, cols);
            case IQ4_NL -> new IQ4_NLMatrix(name, data, rows, cols);
            case IQ4_XS -> new IQ4_XSMatrix(name, data, rows, cols);
            default -> throw new UnsupportedTensorTypeException(name, type);
        };
    }

    /** The tensor's name, e.g. {@code blk.0.attn_q.weight}. */
    String name();

    /** The storage type; one of {@link #SUPPORTED_TYPES}. */
    GgmlType type();

    /** Number of rows (output features, ggml ne1). */
    int rows();

    /** Number of columns (input features, ggml ne0, contiguous in memory). */
    int cols();

    /** The raw little-endian bytes, {@code rows * rowBytes} long, as given to the constructor. */
    MemorySegment data();

    /** Bytes taken by one row. */
    default long rowBytes() {
        return type().byteSize(cols());
    }

    /**
     * Dot product of row {@code row} with {@code x[xOffset .. xOffset + cols)}, computed with SIMD.
     * Equal to {@link #dotScalar} up to the rounding of a different summation order (relative to
     * the sum of the absolute products, the difference is a small multiple of float epsilon).
     * Allocates nothing.
     *
     * @throws IndexOutOfBoundsException if {@code row} is not a row or {@code x} is too short
     */
    float dot(int row, float[] x, int xOffset);

    /**
     * The scalar reference for {@link #dot}: for {@code j = 0 .. cols-1} in order,
     * {@code sum += w[row][j] * x[xOffset + j]} in {@code float}, where {@code w[row][j]} is the
     * exactly dequantized weight (the value {@link #dequantizeRow} produces). Slow; for tests.
     *
     * @throws IndexOutOfBoundsException if {@code row} is not a row or {@code x} is too short
     */
    float dotScalar(int row, float[] x, int xOffset);

    /**
     * Writes the exact float value of every weight of row {@code row} to
     * {@code out[outOffset .. outOffset + cols)} (the conversion from the stored type to float is
     * exact for every supported type, including subnormal, infinite and NaN halves).
     *
     * @throws IndexOutOfBoundsException if {@code row} is not a row or {@code out} is too short
     */
    void dequantizeRow(int row, float[] out, int outOffset);
}
