package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q4_0 matrix with its blocks regrouped for the {@link Precision#FAST} kernels: the blocks of
 * {@code G = } {@link Simd#LANES} consecutive rows are interleaved, so that one vector lane
 * belongs to one row and a group of rows is multiplied at once, with no sum across lanes.
 *
 * <p>Layout: group {@code g} (rows {@code gG .. gG+G-1}; rows past the end are zero), block
 * {@code b} (columns {@code 32b .. 32b+31}) takes {@value #BLOCK_BYTES_PER_ROW}·G bytes at
 * {@code (g · blocks + b) · 18G}: first the G rows' half scales {@code d}, then 4 steps of 2G
 * little-endian 16-bit words. Word {@code 2i + p} of step {@code w} belongs to row {@code i} and
 * column parity {@code p}: its nibble {@code n} (from the low end) is the quant of column
 * {@code 8w + 2n + p}, whose weight is {@code d · (nibble − 8)} exactly as in {@link Q4_0Matrix}.
 * One vector load so gives 2G lanes of four quants each, with no widening.
 *
 * <p>The product ({@link #multiply}) runs against activations quantized to 8 bits
 * ({@link Q8Rows}), as ggml runs Q4_0 against Q8_0: a step loads 2G words as 16-bit lanes
 * (lane {@code 2i+p}: row {@code i}, column parity {@code p}), multiplies each of their four
 * nibbles by a broadcast pair of quants and adds to 16-bit sums; a block's 8 steps add at most
 * 16 products of |15·127| per lane (30,480: no overflow). Then each row's two lanes are added,
 * the bias {@code 8·Σq} is subtracted, and the block's integer sum times the activation scale is
 * accumulated with the weight scale: per row and block, in block order,
 * {@code acc = fma(d_w, (float) (Σ nibble·q − 8Σq) · d_x, acc)}. That is the whole arithmetic, so
 * the result of a row does not depend on how many activation rows are multiplied at once, nor on
 * the vector width; {@link #multiplyScalar} computes it the same way.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact (float activations
 * against exactly dequantized weights), as for every {@link WeightMatrix}, and slow: the fast
 * kernels are {@link #multiply}.
 *
 * @param name tensor name
 * @param data the regrouped blocks, {@code ceil(rows / G) · cols / 32 · 18G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record Q4_0Packed(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one block: a half scale and 16 quant bytes, as in Q4_0. */
    static final int BLOCK_BYTES_PER_ROW = 18;
    private static final int G = LANES;
    /** Bytes of one group's block. */
    private static final int GROUP_BLOCK = BLOCK_BYTES_PER_ROW * G;
    private static final int STEP_BYTES = 4 * G;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q4_0Packed {
        PackedMatrix.checkShape(name, "Q4_0", rows, cols, 32, data, () -> bytesFor(rows, cols));
    }

    /** Bytes the packed form of a {@code rows × cols} matrix takes (the last group padded with zero rows). */
    static long bytesFor(int rows, int cols) {
        return PackedMatrix.bytesFor(rows, cols, 32, GROUP_BLOCK);
    }

    /**
     * Regroups {@code m}'s blocks into {@code into} (of {@link #bytesFor} bytes); groups
     * {@code [fromGroup, toGroup)}. Returns false if a scale is not finite: the kernels' scale
     * conversion assumes finite halves, so such a matrix must not be used packed.
     */
    static boolean pack(Q4_0Matrix m, MemorySegment into, int fromGroup, int toGroup) {
        return PackedMatrix.pack(m, GROUP_BLOCK, into, fromGroup, toGroup, (buffers, src, o, i) -> {
            byte[] in = buffers.in();
            byte[] out = buffers.out();
            out[o + 2 * i] = in[src];
            out[o + 2 * i + 1] = in[src + 1];
            for (int c = 0; c < 32; c += 2) {
                // columns c and c + 1 (parities 0 and 1), nibble (c % 8) / 2 of step c / 8
                int shift = 4 * ((c % 8) / 2);
                int q0 = (c < 16 ? in[src + 2 + c] : in[src + 2 + c - 16] >> 4) & 0xF;
                int q1 = (c < 16 ? in[src + 3 + c] : in[src + 3 + c - 16] >> 4) & 0xF;
                int word = o + 2 * G + (c / 8) * STEP_BYTES + 4 * i;
                out[word + (shift / 8)] |= (byte) (q0 << (shift % 8));
                out[word + 2 + (shift / 8)] |= (byte) (q1 << (shift % 8));
            }
            return PackedMatrix.finiteHalf(in[src + 1]);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it. Four activation rows are multiplied at once, each
     * step of weights widened once for the four, with the group's weights (a few tens of KiB)
     * staying in the core's cache while all the rows pass over them. Allocates nothing.
     */
    void multiply(Q8Rows a, int fromGroup, int toGroup, float[] out, PackedScratch scratch) {
        if (a.cols != cols) {
            throw new IllegalArgumentException("activations of " + a.cols + " columns for a matrix of " + cols);
        }
        short[] sums = scratch.sums;
        float[] accs = scratch.accs;
        for (int g = fromGroup; g < toGroup; g++) {
            int t = 0;
            for (; t + 4 <= a.count; t += 4) {
                group4(a, t, g, out, sums, accs);
            }
            for (; t < a.count; t++) {
                group1(a, t, g, out);
            }
        }
    }

    // The kernels below are written with nothing but Vector API calls inside their loops: the JIT
    // always inlines those, but not always a helper method of ours, and a vector passed to or
    // returned from a method that is not inlined lives in a heap box (measured several times slower).

    /** Group {@code g} against activation row {@code t}. */
    private void group1(Q8Rows a, int t, int g, float[] out) {
        int blocks = cols / 32;
        long at = (long) g * blocks * GROUP_BLOCK;
        int[] pairs = a.pairs;
        int x = t * blocks * 16;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += GROUP_BLOCK, x += 16) {
            ShortVector s0 = ShortVector.zero(S2);
            ShortVector s1 = ShortVector.zero(S2);
            for (int w = 0; w < 4; w++) {
                ShortVector v = ShortVector.fromMemorySegment(S2, data, at + 2L * G + (long) w * STEP_BYTES, LE);
                s0 = s0.add(v.and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + 4 * w]).reinterpretAsShorts()))
                        .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + 4 * w + 1]).reinterpretAsShorts()));
                s1 = s1.add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + 4 * w + 2]).reinterpretAsShorts()))
                        .add(v.lanewise(VectorOperators.LSHR, 12).mul(IntVector.broadcast(I, pairs[x + 4 * w + 3]).reinterpretAsShorts()));
            }
            int block = t * blocks + b;
            ShortVector sum = s0.add(s1);
            // the G rows' half scales, converted exactly (they are finite: checked when packed)
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, data, at, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector d = dh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(dh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            acc = ((FloatVector) sum.reinterpretAsInts().lanewise(VectorOperators.ASHR, 16)
                    .add(sum.reinterpretAsInts().lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .sub(a.offsets[block]).convert(VectorOperators.I2F, 0)).mul(a.scales[block]).fma(d, acc);
        }
        int o = t * rows + g * G;
        if ((g + 1) * G <= rows) {
            acc.intoArray(out, o);
        } else {
            acc.intoArray(out, o, F.indexInRange(g * G, rows));
        }
    }

    /**
     * Group {@code g} against activation rows {@code t .. t+3}. The four rows' block sums pass
     * through {@code sums} and their float accumulators live in {@code accs}, so that each
     * block's finish is one short loop: written out four times, the method outgrew what the JIT
     * compiles with its vectors in registers (measured: boxed, several times slower).
     */
    private void group4(Q8Rows a, int t, int g, float[] out, short[] sums, float[] accs) {
        int blocks = cols / 32;
        long at = (long) g * blocks * GROUP_BLOCK;
        int[] pairs = a.pairs;
        int x0 = t * blocks * 16;
        int x1 = x0 + blocks * 16;
        int x2 = x1 + blocks * 16;
        int x3 = x2 + blocks * 16;
        java.util.Arrays.fill(accs, 0, 4 * G, 0f);
        for (int b = 0; b < blocks; b++, at += GROUP_BLOCK, x0 += 16, x1 += 16, x2 += 16, x3 += 16) {
            ShortVector s0 = ShortVector.zero(S2);
            ShortVector s1 = ShortVector.zero(S2);
            ShortVector s2 = ShortVector.zero(S2);
            ShortVector s3 = ShortVector.zero(S2);
            for (int w = 0; w < 4; w++) {
                ShortVector v = ShortVector.fromMemorySegment(S2, data, at + 2L * G + (long) w * STEP_BYTES, LE);
                for (int n = 0; n < 4; n++) {
                    ShortVector nib = v.lanewise(VectorOperators.LSHR, 4 * n).and((short) 0xF);
                    int m = 4 * w + n;
                    s0 = s0.add(nib.mul(IntVector.broadcast(I, pairs[x0 + m]).reinterpretAsShorts()));
                    s1 = s1.add(nib.mul(IntVector.broadcast(I, pairs[x1 + m]).reinterpretAsShorts()));
                    s2 = s2.add(nib.mul(IntVector.broadcast(I, pairs[x2 + m]).reinterpretAsShorts()));
                    s3 = s3.add(nib.mul(IntVector.broadcast(I, pairs[x3 + m]).reinterpretAsShorts()));
                }
            }
            s0.intoArray(sums, 0);
            s1.intoArray(sums, 2 * G);
            s2.intoArray(sums, 4 * G);
            s3.intoArray(sums, 6 * G);
            // the G rows' half scales, converted exactly (they are finite: checked when packed)
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, data, at, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector d = dh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(dh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            for (int u = 0, block = t * blocks + b; u < 4; u++, block += blocks) {
                IntVector both = ShortVector.fromArray(S2, sums, 2 * G * u).reinterpretAsInts();
                ((FloatVector) both.lanewise(VectorOperators.ASHR, 16)
                        .add(both.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(a.offsets[block]).convert(VectorOperators.I2F, 0)).mul(a.scales[block])
                        .fma(d, FloatVector.fromArray(F, accs, G * u)).intoArray(accs, G * u);
            }
        }
        int o = t * rows + g * G;
        for (int u = 0; u < 4; u++, o += rows) {
            if ((g + 1) * G <= rows) {
                FloatVector.fromArray(F, accs, G * u).intoArray(out, o);
            } else {
                FloatVector.fromArray(F, accs, G * u).intoArray(out, o, F.indexInRange(g * G, rows));
            }
        }
    }

    /** What {@link #multiply} computes, in plain scalar code with the same operations in the same order. */
    void multiplyScalar(Q8Rows a, float[] out) {
        int blocks = cols / 32;
        for (int t = 0; t < a.count; t++) {
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int b = 0; b < blocks; b++) {
                    int block = t * blocks + b;
                    int sum = 0;
                    for (int j = 0; j < 32; j++) {
                        sum += nibble(r, b, j) * a.quant(block, j);
                    }
                    acc = Math.fma(scale(r, b), (float) (sum - a.offsets[block]) * a.scales[block], acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    /** The stored nibble (0..15) of row {@code r}, block {@code b}, column {@code j} of the block. */
    private int nibble(int r, int b, int j) {
        long at = ((long) (r / G) * (cols / 32) + b) * GROUP_BLOCK + 2L * G + (long) (j / 8) * STEP_BYTES + 2L * (2 * (r % G) + (j & 1));
        return (data.get(I16_LE, at) >> (4 * ((j % 8) / 2))) & 0xF;
    }

    /** The scale of row {@code r} in block {@code b}. */
    private float scale(int r, int b) {
        long at = ((long) (r / G) * (cols / 32) + b) * GROUP_BLOCK + 2L * (r % G);
        return Float.float16ToFloat(data.get(I16_LE, at));
    }

    /** The exact weight, as the file type's matrix computes it. */
    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return scale(row, col / 32) * (nibble(row, col / 32, col % 32) - 8);
    }
}
