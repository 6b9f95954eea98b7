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
 * A weight matrix in ggml's IQ4_XS format ({@link GgmlType#IQ4_XS}): {@link IQ4_NLMatrix}'s
 * 16 levels in 136-byte super-blocks of 256 weights, 8 sub-blocks of 32 with a 6-bit scale each —
 * <pre>
 *   bytes 0–1    d         half: the step of the sub-block scales
 *   bytes 2–3    scales_h  little-endian 16 bits: bits 2s, 2s + 1 are the high bits of scale s
 *   bytes 4–7    scales_l  the low four bits of scale s: low nibble of byte s / 2 for even s, high for odd
 *   bytes 8–135  qs        16 bytes per sub-block s: byte 16·s + i holds weight 32·s + i (low nibble)
 *                          and 32·s + 16 + i (high nibble), as a Q4_0/IQ4_NL block does
 * </pre>
 * The scale code {@code ls} is 0..63 and stands for {@code ls - 32}; weight {@code 32·s + j} is
 * {@code (d · (ls - 32)) · LEVELS[nibble]}: 11 + 6 + 7 significant bits at most, exact in float.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 256 * 136} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record IQ4_XSMatrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    private static final int BLOCK = 256;
    private static final int SUB = 32;
    private static final int HALF_SUB = SUB / 2;
    private static final int BLOCK_BYTES = 136;
    private static final int SCALES_H = 2;
    private static final int SCALES_L = 4;
    private static final int QS = 8;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public IQ4_XSMatrix {
        Shapes.checkMatrix(name, GgmlType.IQ4_XS, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: as {@link Q4_0Matrix#dot}: each weight dequantized exactly as
     * {@link #dequantizeRow} gives it, multiplied into one vector accumulator in column order,
     * then the lanes added in order, so that {@link MatMul}'s tiles give the same bits. The levels
     * are looked up as {@link IQ4_NLMatrix#dot} does.
     */
    @Override
    public float dot(int row, float[] x, int xOffset) {
        if (!Simd.BYTE_VECTORS) {
            return dotScalar(row, x, xOffset);
        }
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        IntVector levelsLo = IntVector.fromArray(I, IQ4_NLMatrix.LEVELS2, 0);
        IntVector levelsHi = IntVector.fromArray(I, IQ4_NLMatrix.LEVELS2, LANES);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            for (int s = 0; s < BLOCK / SUB; s++) {
                FloatVector dl = FloatVector.broadcast(F, d * (scaleCode(at, s) - 32));
                long qsAt = at + QS + HALF_SUB * s;
                int xAt = xOffset + b * BLOCK + s * SUB;
                for (int i = 0; i < HALF_SUB; i += LANES) {
                    IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector level = qs.and(0x0F).selectFrom(levelsLo, levelsHi);
                    FloatVector w = ((FloatVector) level.convert(VectorOperators.I2F, 0)).mul(dl);
                    acc = w.fma(FloatVector.fromArray(F, x, xAt + i), acc);
                }
                for (int i = 0; i < HALF_SUB; i += LANES) {
                    IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector level = qs.lanewise(VectorOperators.LSHR, 4).selectFrom(levelsLo, levelsHi);
                    FloatVector w = ((FloatVector) level.convert(VectorOperators.I2F, 0)).mul(dl);
                    acc = w.fma(FloatVector.fromArray(F, x, xAt + HALF_SUB + i), acc);
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
            IntVector levelsLo = IntVector.fromArray(I, IQ4_NLMatrix.LEVELS2, 0);
            IntVector levelsHi = IntVector.fromArray(I, IQ4_NLMatrix.LEVELS2, LANES);
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            for (int s = 0; s < BLOCK / SUB; s++) {
                FloatVector dl = FloatVector.broadcast(F, d * (scaleCode(at, s) - 32));
                long qsAt = at + QS + HALF_SUB * s;
                for (int i = 0; i < HALF_SUB; i += LANES) {
                    IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, qsAt + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector lo = qs.and(0x0F).selectFrom(levelsLo, levelsHi);
                    IntVector hi = qs.lanewise(VectorOperators.LSHR, 4).selectFrom(levelsLo, levelsHi);
                    ((FloatVector) lo.convert(VectorOperators.I2F, 0)).mul(dl).intoArray(out, o + s * SUB + i);
                    ((FloatVector) hi.convert(VectorOperators.I2F, 0)).mul(dl).intoArray(out, o + s * SUB + HALF_SUB + i);
                }
            }
        }
    }

    /** The 6-bit scale code (0..63) of sub-block {@code s} of the super-block at byte {@code at}. */
    private int scaleCode(long at, int s) {
        int low = ((data.get(I8, at + SCALES_L + s / 2) & 0xFF) >> (4 * (s % 2))) & 0x0F;
        int high = ((data.get(I16_LE, at + SCALES_H) & 0xFFFF) >> (2 * s)) & 3;
        return low | high << 4;
    }

    /** Weight {@code e} (0..255) of the super-block at byte {@code at}: {@code (d · (ls - 32)) · level}. */
    @Override
    public float blockWeight(long at, int e) {
        int s = e / SUB;
        float dl = Float.float16ToFloat(data.get(I16_LE, at)) * (scaleCode(at, s) - 32);
        int j = e % SUB;
        int qs = data.get(I8, at + QS + HALF_SUB * s + j % HALF_SUB) & 0xFF;
        int q = j < HALF_SUB ? qs & 0x0F : qs >> 4;
        return dl * IQ4_NLMatrix.LEVELS[q];
    }
}
