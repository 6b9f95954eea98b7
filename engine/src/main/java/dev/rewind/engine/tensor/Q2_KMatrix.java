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
 * A weight matrix in ggml's Q2_K format ({@link GgmlType#Q2_K}): each row is a sequence of
 * 84-byte super-blocks covering 256 weights in 16 sub-blocks of 16 —
 * <pre>
 *   bytes  0–15  scales  one byte per sub-block s: low nibble its scale code, high nibble its min code
 *   bytes 16–79  qs      64 bytes of 2-bit quants 0..3, four per byte
 *   bytes 80–81  d       half: the step of the scale codes
 *   bytes 82–83  dmin    half: the step of the min codes
 * </pre>
 * Weight {@code e} (0..255) lies in sub-block {@code s = e / 16}; its quant is
 * {@code (qs[32·(e / 128) + e % 32] >> 2·((e % 128) / 32)) & 3}, so the 32 bytes of each half of
 * the super-block hold, from the lowest bit pair up, weights 0–31, 32–63, 64–95 and 96–127 of that
 * half. The weight is {@code dl · q - ml} with {@code dl = d · (scales[s] & 15)} and
 * {@code ml = dmin · (scales[s] >> 4)}; both products are exact in float, so the weight is rounded
 * once, as ggml computes it.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 256 * 84} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q2_KMatrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 256;
    private static final int SUB = 16;
    private static final int BLOCK_BYTES = 84;
    private static final int QS = 16;
    private static final int D = 80;
    private static final int DMIN = 82;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q2_KMatrix {
        Shapes.checkMatrix(name, GgmlType.Q2_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: as {@link Q4_0Matrix#dot}: each weight dequantized exactly as
     * {@link #dequantizeRow} gives it, multiplied into one vector accumulator in column order (a
     * sub-block of 16 columns is one or two vectors), then the lanes added in order, so that
     * {@link MatMul}'s tiles give the same bits.
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
            float d = Float.float16ToFloat(data.get(I16_LE, at + D));
            float dmin = Float.float16ToFloat(data.get(I16_LE, at + DMIN));
            for (int s = 0; s < BLOCK / SUB; s++) {
                int sc = data.get(I8, at + s) & 0xFF;
                FloatVector dl = FloatVector.broadcast(F, d * (sc & 0x0F));
                FloatVector ml = FloatVector.broadcast(F, dmin * (sc >> 4));
                long qsAt = at + QS + 32 * (s / 8) + SUB * (s % 2);
                int shift = 2 * ((s % 8) / 2);
                int xAt = xOffset + b * BLOCK + s * SUB;
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector q = ((IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, shift).and(3);
                    FloatVector w = ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dl).sub(ml);
                    acc = w.fma(FloatVector.fromArray(F, x, xAt + i), acc);
                }
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
            float d = Float.float16ToFloat(data.get(I16_LE, at + D));
            float dmin = Float.float16ToFloat(data.get(I16_LE, at + DMIN));
            for (int s = 0; s < BLOCK / SUB; s++) {
                int sc = data.get(I8, at + s) & 0xFF;
                FloatVector dl = FloatVector.broadcast(F, d * (sc & 0x0F));
                FloatVector ml = FloatVector.broadcast(F, dmin * (sc >> 4));
                long qsAt = at + QS + 32 * (s / 8) + SUB * (s % 2);
                int shift = 2 * ((s % 8) / 2);
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector q = ((IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, shift).and(3);
                    ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dl).sub(ml).intoArray(out, o + s * SUB + i);
                }
            }
        }
    }

    /** Weight {@code e} (0..255) of the super-block at byte {@code at}: {@code dl · q - ml}. */
    @Override
    public float blockWeight(long at, int e) {
        float d = Float.float16ToFloat(data.get(I16_LE, at + D));
        float dmin = Float.float16ToFloat(data.get(I16_LE, at + DMIN));
        int sc = data.get(I8, at + e / SUB) & 0xFF;
        float dl = d * (sc & 0x0F);
        float ml = dmin * (sc >> 4);
        int qs = data.get(I8, at + QS + 32 * (e / 128) + e % 32) & 0xFF;
        int q = (qs >> (2 * ((e % 128) / 32))) & 3;
        return dl * q - ml;
    }
}
