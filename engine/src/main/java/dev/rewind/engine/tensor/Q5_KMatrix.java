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
 * A weight matrix in ggml's Q5_K format ({@link GgmlType#Q5_K}), the main type of the "Q5_K_M"
 * files: {@link Q4_KMatrix}'s super-block with a fifth bit per quant, 176 bytes for 256 weights in
 * 8 sub-blocks of 32 —
 * <pre>
 *   bytes  0–1    d       half: the step of the scale codes
 *   bytes  2–3    dmin    half: the step of the min codes
 *   bytes  4–15   scales  eight 6-bit scale codes and eight 6-bit min codes ({@link KScales#q4kScale})
 *   bytes 16–47   qh      the fifth bits: weight 32·s + i at bit s of qh[i]
 *   bytes 48–175  qs      the low four bits, as Q4_K's qs: byte 32·k + i holds weight 64·k + i (low
 *                         nibble) and 64·k + 32 + i (high nibble)
 * </pre>
 * Sub-block {@code s} (weights {@code 32·s .. 32·s + 31}) takes its low bits from the low nibbles
 * of {@code qs[32·(s / 2) ..]} for even {@code s} and the high nibbles for odd {@code s}, plus 16
 * where bit {@code s} of {@code qh[i]} is set (quants 0..31). Its weights are {@code d1 · q - m1}
 * with {@code d1 = d · scale(s)} and {@code m1 = dmin · min(s)}; both products are exact in float
 * (11-bit halves times 6-bit codes, then times a 5-bit quant), so every weight is rounded once, as
 * ggml computes it.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 256 * 176} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q5_KMatrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 256;
    private static final int SUB = 32;
    private static final int BLOCK_BYTES = 176;
    private static final int SCALES = 4;
    private static final int QH = 16;
    private static final int QS = 48;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q5_KMatrix {
        Shapes.checkMatrix(name, GgmlType.Q5_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: as {@link Q4_0Matrix#dot}: each weight dequantized exactly as
     * {@link #dequantizeRow} gives it, multiplied into one vector accumulator in column order,
     * then the lanes added in order, so that {@link MatMul}'s tiles give the same bits.
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
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            float dmin = Float.float16ToFloat(data.get(I16_LE, at + 2));
            for (int s = 0; s < BLOCK / SUB; s++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KScales.q4kScale(data, at + SCALES, s));
                FloatVector m1 = FloatVector.broadcast(F, dmin * KScales.q4kMin(data, at + SCALES, s));
                long qsAt = at + QS + 32 * (s / 2);
                int shift = 4 * (s % 2);
                int xAt = xOffset + b * BLOCK + s * SUB;
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector low = ((IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, shift).and(0x0F);
                    IntVector high = ((IntVector) ByteVector.fromMemorySegment(B, data, at + QH + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, s).and(1);
                    IntVector q = low.or(high.lanewise(VectorOperators.LSHL, 4));
                    FloatVector w = ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(d1).sub(m1);
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
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            float dmin = Float.float16ToFloat(data.get(I16_LE, at + 2));
            for (int s = 0; s < BLOCK / SUB; s++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KScales.q4kScale(data, at + SCALES, s));
                FloatVector m1 = FloatVector.broadcast(F, dmin * KScales.q4kMin(data, at + SCALES, s));
                long qsAt = at + QS + 32 * (s / 2);
                int shift = 4 * (s % 2);
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector low = ((IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, shift).and(0x0F);
                    IntVector high = ((IntVector) ByteVector.fromMemorySegment(B, data, at + QH + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, s).and(1);
                    IntVector q = low.or(high.lanewise(VectorOperators.LSHL, 4));
                    ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(out, o + s * SUB + i);
                }
            }
        }
    }

    /** Weight {@code e} (0..255) of the super-block at byte {@code at}: {@code d1 · q - m1}. */
    @Override
    public float blockWeight(long at, int e) {
        int s = e / SUB;
        float d1 = Float.float16ToFloat(data.get(I16_LE, at)) * KScales.q4kScale(data, at + SCALES, s);
        float m1 = Float.float16ToFloat(data.get(I16_LE, at + 2)) * KScales.q4kMin(data, at + SCALES, s);
        int qs = data.get(I8, at + QS + 32 * (s / 2) + e % SUB) & 0xFF;
        int high = ((data.get(I8, at + QH + e % SUB) & 0xFF) >> s) & 1;
        int q = (qs >> (4 * (s % 2))) & 0x0F | high << 4;
        return d1 * q - m1;
    }
}
