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
 * A weight matrix in ggml's Q6_K format ({@link GgmlType#Q6_K}), which llama-quantize gives the
 * output matrix of most files (even "Q4_0" ones): each row is a sequence of 210-byte super-blocks
 * covering 256 weights in 16 sub-blocks of 16 —
 * <pre>
 *   bytes   0–127  ql      the low four bits of the quants
 *   bytes 128–191  qh      the high two bits, four per byte
 *   bytes 192–207  scales  one signed byte per sub-block
 *   bytes 208–209  d       half: the step of the scales
 * </pre>
 * Each half {@code n} (weights {@code 128·n ..}) uses {@code ql[64·n .. 64·n + 63]} and
 * {@code qh[32·n .. 32·n + 31]}; its weight {@code 128·n + 32·k + l} (quarter {@code k} 0..3,
 * {@code l} 0..31) takes its low bits from {@code ql[64·n + 32·(k % 2) + l]} (the low nibble for
 * {@code k < 2}, the high one otherwise) and its high bits from bits {@code 2k, 2k + 1} of
 * {@code qh[32·n + l]}. The quant is those six bits minus 32 (−32..31) and the weight is
 * {@code (d · scales[e / 16]) · q}: 11 + 7 + 5 significant bits at most, exact in float.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 256 * 210} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q6_KMatrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 256;
    private static final int SUB = 16;
    private static final int BLOCK_BYTES = 210;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q6_KMatrix {
        Shapes.checkMatrix(name, GgmlType.Q6_K, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
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
                FloatVector dl = FloatVector.broadcast(F, d * data.get(I8, at + SCALES + s));
                int quarter = (s % 8) / 2;
                long qlAt = at + 64 * (s / 8) + 32 * (quarter % 2) + SUB * (s % 2);
                long qhAt = at + QH + 32 * (s / 8) + SUB * (s % 2);
                int lowShift = 4 * (quarter / 2);
                int highShift = 2 * quarter;
                int xAt = xOffset + b * BLOCK + s * SUB;
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector low = ((IntVector) ByteVector.fromMemorySegment(B, data, qlAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, lowShift).and(0x0F);
                    IntVector high = ((IntVector) ByteVector.fromMemorySegment(B, data, qhAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, highShift).and(3);
                    IntVector q = low.or(high.lanewise(VectorOperators.LSHL, 4)).sub(32);
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
                FloatVector dl = FloatVector.broadcast(F, d * data.get(I8, at + SCALES + s));
                int quarter = (s % 8) / 2;
                long qlAt = at + 64 * (s / 8) + 32 * (quarter % 2) + SUB * (s % 2);
                long qhAt = at + QH + 32 * (s / 8) + SUB * (s % 2);
                int lowShift = 4 * (quarter / 2);
                int highShift = 2 * quarter;
                for (int i = 0; i < SUB; i += LANES) {
                    IntVector low = ((IntVector) ByteVector.fromMemorySegment(B, data, qlAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, lowShift).and(0x0F);
                    IntVector high = ((IntVector) ByteVector.fromMemorySegment(B, data, qhAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).lanewise(VectorOperators.LSHR, highShift).and(3);
                    IntVector q = low.or(high.lanewise(VectorOperators.LSHL, 4)).sub(32);
                    ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dl).intoArray(out, o + s * SUB + i);
                }
            }
        }
    }

    /** Weight {@code e} (0..255) of the super-block at byte {@code at}: {@code (d · scale) · q}. */
    @Override
    public float blockWeight(long at, int e) {
        float dl = Float.float16ToFloat(data.get(I16_LE, at + D)) * data.get(I8, at + SCALES + e / SUB);
        int n = e / 128;
        int k = (e % 128) / 32;
        int l = e % 32;
        int ql = data.get(I8, at + 64 * n + 32 * (k % 2) + l) & 0xFF;
        int qh = data.get(I8, at + QH + 32 * n + l) & 0xFF;
        int q = ((ql >> (4 * (k / 2))) & 0x0F | ((qh >> (2 * k)) & 3) << 4) - 32;
        return dl * q;
    }
}
