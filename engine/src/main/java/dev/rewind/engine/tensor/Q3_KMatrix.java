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
 * A weight matrix in ggml's Q3_K format ({@link GgmlType#Q3_K}): each row is a sequence of
 * 110-byte super-blocks covering 256 weights in 16 sub-blocks of 16 —
 * <pre>
 *   bytes   0–31   hmask   the high (third) bit of every quant: weight e at bit e / 32 of hmask[e % 32]
 *   bytes  32–95   qs      the low two bits, four per byte, laid out as in {@link Q2_KMatrix}
 *   bytes  96–107  scales  sixteen 6-bit scales, packed as {@link KScales#q3kScale} describes
 *   bytes 108–109  d       half: the step of the scales
 * </pre>
 * Weight {@code e} lies in sub-block {@code s = e / 16}; its low bits are
 * {@code (qs[32·(e / 128) + e % 32] >> 2·((e % 128) / 32)) & 3}; its quant is those minus 4 when
 * its hmask bit is clear (so −4..3); the weight is {@code (d · scale(s)) · q}, with
 * {@code scale(s)} in −32..31: exact in float.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 256 * 110} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q3_KMatrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 256;
    private static final int SUB = 16;
    private static final int BLOCK_BYTES = 110;
    private static final int QS = 32;
    private static final int SCALES = 96;
    private static final int D = 108;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q3_KMatrix {
        Shapes.checkMatrix(name, GgmlType.Q3_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
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
            for (int s = 0; s < BLOCK / SUB; s++) {
                FloatVector dl = FloatVector.broadcast(F, d * KScales.q3kScale(data, at + SCALES, s));
                long qsAt = at + QS + 32 * (s / 8) + SUB * (s % 2);
                long hmAt = at + SUB * (s % 2);
                int shift = 2 * ((s % 8) / 2);
                int bit = s / 2;
                int xAt = xOffset + b * BLOCK + s * SUB;
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector low = ((IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, shift).and(3);
                    IntVector high = ((IntVector) ByteVector.fromMemorySegment(B, data, hmAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, bit).and(1);
                    IntVector q = low.add(high.lanewise(VectorOperators.LSHL, 2)).sub(4);
                    FloatVector w = ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dl);
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
            for (int s = 0; s < BLOCK / SUB; s++) {
                FloatVector dl = FloatVector.broadcast(F, d * KScales.q3kScale(data, at + SCALES, s));
                long qsAt = at + QS + 32 * (s / 8) + SUB * (s % 2);
                long hmAt = at + SUB * (s % 2);
                int shift = 2 * ((s % 8) / 2);
                int bit = s / 2;
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector low = ((IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, shift).and(3);
                    IntVector high = ((IntVector) ByteVector.fromMemorySegment(B, data, hmAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, bit).and(1);
                    IntVector q = low.add(high.lanewise(VectorOperators.LSHL, 2)).sub(4);
                    ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dl).intoArray(out, o + s * SUB + i);
                }
            }
        }
    }

    /** Weight {@code e} (0..255) of the super-block at byte {@code at}: {@code (d · scale) · q}. */
    @Override
    public float blockWeight(long at, int e) {
        float d = Float.float16ToFloat(data.get(I16_LE, at + D));
        float dl = d * KScales.q3kScale(data, at + SCALES, e / SUB);
        int qs = data.get(I8, at + QS + 32 * (e / 128) + e % 32) & 0xFF;
        int low = (qs >> (2 * ((e % 128) / 32))) & 3;
        int high = ((data.get(I8, at + e % 32) & 0xFF) >> (e / 32)) & 1;
        return dl * (high != 0 ? low : low - 4);
    }
}
