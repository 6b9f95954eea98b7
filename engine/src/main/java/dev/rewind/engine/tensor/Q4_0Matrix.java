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
 * A weight matrix in ggml's Q4_0 format ({@link GgmlType#Q4_0}): each row is a sequence of
 * 18-byte blocks covering 32 weights — a little-endian half scale {@code d}, then 16 bytes
 * {@code qs[0..15]}. Byte {@code qs[j]} holds two weights: its low nibble is weight {@code j},
 * {@code d * ((qs[j] & 0xF) - 8)}, and its high nibble weight {@code j + 16},
 * {@code d * ((qs[j] >> 4) - 8)} (both exact in float).
 *
 * @param name tensor name
 * @param data {@code rows * cols / 32 * 18} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record Q4_0Matrix(String name, MemorySegment data, int rows, int cols) implements WeightMatrix {

    private static final int BLOCK = 32;
    private static final int HALF_BLOCK = BLOCK / 2;
    private static final int BLOCK_BYTES = 2 + HALF_BLOCK;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q4_0Matrix {
        Shapes.checkMatrix(name, GgmlType.Q4_0, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Per block, the kernel sums {@code (nibble - 8) * x[j]} in vector lanes and then adds that partial
     * sum times {@code d} to one of four accumulators in turn, so that consecutive blocks do not
     * wait for each other, while reading ahead ({@link Prefetch}). The block's vector code is
     * written inside the loop rather than in a helper method: the JIT always inlines Vector API
     * calls, but may refuse to inline a helper of ours in a large compilation, and a vector
     * passed to a method that is not inlined is boxed, which is several times slower.
     */
    @Override
    public float dot(int row, float[] x, int xOffset) {
        if (!Simd.BYTE_VECTORS) {
            return dotScalar(row, x, xOffset);
        }
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        long touched = 0;
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xAt = xOffset + b * BLOCK;
            if ((b & 3) == 0) {
                // Every 4 blocks (72 bytes), two touches reach every cache line ahead.
                touched ^= Prefetch.touch(data, at, 0) ^ Prefetch.touch(data, at, 64);
            }
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < HALF_BLOCK; j += LANES) {
                // Widen the bytes to ints first: x86 has no byte shift, int shifts are one instruction.
                IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = (FloatVector) qs.and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
                FloatVector hi = (FloatVector) qs.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0);
                sum = lo.fma(FloatVector.fromArray(F, x, xAt + j), sum);
                sum = hi.fma(FloatVector.fromArray(F, x, xAt + HALF_BLOCK + j), sum);
            }
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at)));
            // Rotate the accumulators, so that consecutive blocks do not wait for each other.
            FloatVector next = sum.fma(d, acc3);
            acc3 = acc2;
            acc2 = acc1;
            acc1 = acc0;
            acc0 = next;
        }
        return Prefetch.keep(Simd.sum(acc0.add(acc1).add(acc2.add(acc3))), touched);
    }

    @Override
    public float dotScalar(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            for (int j = 0; j < BLOCK; j++) {
                sum += weight(at, d, j) * x[xOffset + b * BLOCK + j];
            }
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        Shapes.checkAccess(row, rows, out, outOffset, cols);
        int blocks = cols / BLOCK;
        long base = (long) row * blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(I16_LE, at));
            int o = outOffset + b * BLOCK;
            if (Simd.BYTE_VECTORS) {
                FloatVector dv = FloatVector.broadcast(F, d);
                for (int j = 0; j < HALF_BLOCK; j += LANES) {
                    IntVector q = ((IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + j, LE)
                            .convertShape(VectorOperators.B2I, Simd.I, 0)).and(0xFF);
                    q.and(0x0F).sub(8).convert(VectorOperators.I2F, 0).reinterpretAsFloats().mul(dv).intoArray(out, o + j);
                    q.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0).reinterpretAsFloats()
                            .mul(dv).intoArray(out, o + HALF_BLOCK + j);
                }
            } else {
                for (int j = 0; j < BLOCK; j++) {
                    out[o + j] = weight(at, d, j);
                }
            }
        }
    }

    /** Weight {@code j} (0..31) of the block at byte {@code at} with scale {@code d}. */
    private float weight(long at, float d, int j) {
        int qs = data.get(I8, at + 2 + (j % HALF_BLOCK)) & 0xFF;
        int nibble = j < HALF_BLOCK ? qs & 0x0F : qs >> 4;
        return d * (nibble - 8);
    }
}
