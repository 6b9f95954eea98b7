package dev.rewind.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.B;
import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;

/**
 * A weight matrix in ggml's Q8_0 format ({@link GgmlType#Q8_0}): each row is a sequence of
 * 34-byte blocks covering 32 weights — a little-endian half scale {@code d}, then 32 signed bytes
 * {@code q[0..31]}; weight {@code j} of the block is {@code d * q[j]} (exact in float).
 *
 * @param name tensor name
 * @param data {@code rows * cols / 32 * 34} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record Q8_0Matrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 2 + BLOCK;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q8_0Matrix {
        Shapes.checkMatrix(name, GgmlType.Q8_0, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: every weight is dequantized exactly ({@code d · q}) and multiplied into one vector
     * accumulator in column order, a vector of columns at a time; then its lanes are added in
     * order. {@link MatMul} computes several rows at once (from rows dequantized by
     * {@link #dequantizeRow}) in exactly this order, so a row's result does not depend on the
     * batch it is in. The block's vector code is written inside the loop rather than in a helper
     * method: the JIT always inlines Vector API calls but not always a helper of ours, and a
     * vector passed to a method that is not inlined lives in a heap box, several times slower.
     */
    @Override
    public float dot(int row, float[] x, int xOffset) {
        if (!Simd.BYTE_VECTORS) {
            return dotScalar(row, x, xOffset);
        }
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xAt = xOffset + b * BLOCK;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at)));
            for (int j = 0; j < BLOCK; j += LANES) {
                FloatVector w = ((FloatVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d);
                acc = w.fma(FloatVector.fromArray(F, x, xAt + j), acc);
            }
        }
        float sum = 0f;
        for (int lane = 0; lane < LANES; lane++) {
            sum += acc.lane(lane);
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        if (!Simd.BYTE_VECTORS) {
            dequantizeRowScalar(row, out, outOffset);
            return;
        }
        Shapes.checkAccess(row, rows, out, outOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            int o = outOffset + b * BLOCK;
            FloatVector dv = FloatVector.broadcast(F, d);
            for (int j = 0; j < BLOCK; j += LANES) {
                ((FloatVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(dv).intoArray(out, o + j);
            }
        }
    }

    /** Weight {@code j} (0..31) of the block at byte {@code at}: {@code d · q}. */
    @Override
    public float blockWeight(long at, int j) {
        return Float.float16ToFloat(data.get(I16_LE, at)) * data.get(I8, at + 2 + j);
    }
}
