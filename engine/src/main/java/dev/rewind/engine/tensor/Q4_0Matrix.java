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
     * <p>Per block, the kernel sums {@code (nibble - 8) * x[j]} in vector lanes and then adds that
     * partial sum times {@code d} to one of four accumulators (four blocks per iteration, so that
     * the conversions of different blocks overlap), while reading ahead ({@link Prefetch}).
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
        int b = 0;
        for (; b + 3 < blocks; b += 4) {
            long at = base + (long) b * BLOCK_BYTES;
            // 72 bytes per iteration: two touches reach every cache line ahead.
            touched ^= Prefetch.touch(data, at, 0) ^ Prefetch.touch(data, at, 64);
            // A single call site, so that the JIT inlines the block however big it is (four call
            // sites exceed its inlining budget, and a kernel that is not inlined boxes its vectors);
            // it unrolls this loop. The accumulators rotate, so consecutive blocks are independent.
            for (int k = 0; k < 4; k++) {
                FloatVector next = block(at + (long) k * BLOCK_BYTES, x, xOffset + (b + k) * BLOCK, acc3);
                acc3 = acc2;
                acc2 = acc1;
                acc1 = acc0;
                acc0 = next;
            }
        }
        for (; b < blocks; b++) {
            acc0 = block(base + (long) b * BLOCK_BYTES, x, xOffset + b * BLOCK, acc0);
        }
        return Prefetch.keep(acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD), touched);
    }

    /** Returns {@code acc + d * (q · x[xAt .. xAt+32))} for the block at byte {@code at}. */
    private FloatVector block(long at, float[] x, int xAt, FloatVector acc) {
        FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(I16_LE, at)));
        if (LANES == HALF_BLOCK) {
            // Straight-line code for AVX-512 (this branch is folded by the JIT): small enough that
            // four blocks inline into one loop body.
            return nibbles(at + 2, x, xAt, FloatVector.zero(F)).fma(d, acc);
        }
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < HALF_BLOCK; j += LANES) {
            sum = nibbles(at + 2 + j, x, xAt + j, sum);
        }
        return sum.fma(d, acc);
    }

    /**
     * Adds the products of {@link Simd#LANES} quant bytes at {@code at} with x: low nibbles times
     * {@code x[xAt ..]}, high nibbles times {@code x[xAt + 16 ..]}.
     */
    private FloatVector nibbles(long at, float[] x, int xAt, FloatVector sum) {
        // Widen the bytes to ints first: x86 has no byte shift, int shifts are one instruction.
        IntVector qs = (IntVector) ByteVector.fromMemorySegment(B, data, at, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
        FloatVector lo = (FloatVector) qs.and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
        FloatVector hi = (FloatVector) qs.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0);
        return hi.fma(FloatVector.fromArray(F, x, xAt + HALF_BLOCK), lo.fma(FloatVector.fromArray(F, x, xAt), sum));
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
            for (int j = 0; j < BLOCK; j++) {
                out[outOffset + b * BLOCK + j] = weight(at, d, j);
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
