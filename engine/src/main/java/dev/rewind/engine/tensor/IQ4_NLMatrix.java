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
 * A weight matrix in ggml's IQ4_NL format ({@link GgmlType#IQ4_NL}), "4-bit non-linear": the
 * layout of {@link Q4_0Matrix} (18-byte blocks of 32 weights: a half scale {@code d}, then 16
 * bytes whose low nibbles are weights 0–15 and high nibbles weights 16–31), but a nibble
 * {@code q} stands for the {@code q}-th entry of a fixed table of 16 levels, denser near zero
 * where most weights are:
 * <pre>
 *   -127 -104 -83 -65 -49 -35 -22 -10   1  13  25  38  53  69  89 113
 * </pre>
 * ({@link #LEVELS}, ggml's {@code kvalues_iq4nl}), and the weight is {@code d · level}, exact in
 * float.
 *
 * @param name tensor name
 * @param data {@code rows * cols / 32 * 18} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record IQ4_NLMatrix(String name, MemorySegment data, int rows, int cols) implements BlockMatrix {

    /** The 16 levels a nibble selects (shared with {@link IQ4_XSMatrix} and the quantizer). */
    static final int[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /**
     * {@link #LEVELS} twice: the two vectors {@code LEVELS2[0..LANES)} and {@code LEVELS2[LANES..2·LANES)}
     * together hold the table at 8 lanes (each half) and at 16 lanes (each a copy), so that
     * {@code nibbles.selectFrom(lo, hi)} looks a chunk of nibbles up at either width.
     */
    static final int[] LEVELS2 = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
            -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private static final int BLOCK = 32;
    private static final int HALF_BLOCK = BLOCK / 2;
    private static final int BLOCK_BYTES = 2 + HALF_BLOCK;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public IQ4_NLMatrix {
        Shapes.checkMatrix(name, GgmlType.IQ4_NL, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_NL;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: as {@link Q4_0Matrix#dot}: each weight dequantized exactly, multiplied into one
     * vector accumulator in column order, then the lanes added in order, so that {@link MatMul}'s
     * tiles (made by {@link #dequantizeRow}) give the same bits. The levels are looked up with a
     * two-vector {@code selectFrom} (one permute instruction).
     */
    @Override
    public float dot(int row, float[] x, int xOffset) {
        if (!Simd.BYTE_VECTORS) {
            return dotScalar(row, x, xOffset);
        }
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        IntVector levelsLo = IntVector.fromArray(I, LEVELS2, 0);
        IntVector levelsHi = IntVector.fromArray(I, LEVELS2, LANES);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xAt = xOffset + b * BLOCK;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at)));
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector level = qs.and(0x0F).selectFrom(levelsLo, levelsHi);
                FloatVector w = ((FloatVector) level.convert(VectorOperators.I2F, 0)).mul(d);
                acc = w.fma(FloatVector.fromArray(F, x, xAt + j), acc);
            }
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector level = qs.lanewise(VectorOperators.LSHR, 4).selectFrom(levelsLo, levelsHi);
                FloatVector w = ((FloatVector) level.convert(VectorOperators.I2F, 0)).mul(d);
                acc = w.fma(FloatVector.fromArray(F, x, xAt + HALF_BLOCK + j), acc);
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
            IntVector levelsLo = IntVector.fromArray(I, LEVELS2, 0);
            IntVector levelsHi = IntVector.fromArray(I, LEVELS2, LANES);
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at)));
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector lo = qs.and(0x0F).selectFrom(levelsLo, levelsHi);
                IntVector hi = qs.lanewise(VectorOperators.LSHR, 4).selectFrom(levelsLo, levelsHi);
                ((FloatVector) lo.convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, o + j);
                ((FloatVector) hi.convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, o + HALF_BLOCK + j);
            }
        }
    }

    /** Weight {@code j} (0..31) of the block at byte {@code at}: {@code d · LEVELS[q]}. */
    @Override
    public float blockWeight(long at, int j) {
        float d = Float.float16ToFloat(data.get(I16_LE, at));
        int qs = data.get(I8, at + 2 + (j % HALF_BLOCK)) & 0xFF;
        int q = j < HALF_BLOCK ? qs & 0x0F : qs >> 4;
        return d * LEVELS[q];
    }
}
