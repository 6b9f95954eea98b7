package dev.rewind.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.B;
import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;

/**
 * A weight matrix in ggml's Q4_1 format ({@link GgmlType#Q4_1}): each row is a sequence of
 * 20-byte blocks covering 32 weights —
 * <pre>
 *   bytes 0–1   d     half: the step
 *   bytes 2–3   m     half: the block's minimum (the weight of quant 0)
 *   bytes 4–19  qs    16 bytes of 4-bit quants 0..15
 * </pre>
 * Byte {@code qs[j]} holds two weights: its low nibble is weight {@code j},
 * {@code q · d + m} with {@code q = qs[j] & 0xF}, and its high nibble weight {@code j + 16},
 * {@code q = qs[j] >> 4}. The product {@code q · d} is exact in float (an 11-bit half times a
 * 4-bit integer), so each weight is {@code q · d + m} rounded once, as ggml computes it.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 32 * 20} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record Q4_1Matrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 32;
    private static final int HALF_BLOCK = BLOCK / 2;
    private static final int BLOCK_BYTES = 4 + HALF_BLOCK;
    private static final int QS = 4;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q4_1Matrix {
        Shapes.checkMatrix(name, GgmlType.Q4_1, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: as {@link Q4_0Matrix#dot}: each weight dequantized exactly as
     * {@link #dequantizeRow} gives it ({@code fma(q, d, m)} is {@code q · d + m} rounded once, the
     * product being exact), multiplied into one vector accumulator in column order, then the lanes
     * added in order, so that {@link MatMul}'s tiles give the same bits.
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
            FloatVector m = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at + 2)));
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + QS + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = ((FloatVector) qs.and(0x0F).convert(VectorOperators.I2F, 0)).fma(d, m);
                acc = lo.fma(FloatVector.fromArray(F, x, xAt + j), acc);
            }
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + QS + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector hi = ((FloatVector) qs.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(d, m);
                acc = hi.fma(FloatVector.fromArray(F, x, xAt + HALF_BLOCK + j), acc);
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
            int o = outOffset + b * BLOCK;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at)));
            FloatVector m = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at + 2)));
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + QS + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) qs.and(0x0F).convert(VectorOperators.I2F, 0)).fma(d, m).intoArray(out, o + j);
                ((FloatVector) qs.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(d, m)
                        .intoArray(out, o + HALF_BLOCK + j);
            }
        }
    }

    /** Weight {@code j} (0..31) of the block at byte {@code at}: {@code q · d + m}. */
    @Override
    public float blockWeight(long at, int j) {
        float d = Float.float16ToFloat(data.get(I16_LE, at));
        float m = Float.float16ToFloat(data.get(I16_LE, at + 2));
        int qs = data.get(I8, at + QS + (j % HALF_BLOCK)) & 0xFF;
        int q = j < HALF_BLOCK ? qs & 0x0F : qs >> 4;
        return q * d + m;
    }
}
