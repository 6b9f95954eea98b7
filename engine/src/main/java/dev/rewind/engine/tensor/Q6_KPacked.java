package dev.rewind.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.B;
import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.F32_LE;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q6_K matrix regrouped for the {@link Precision#FAST} kernels with its six-bit quants packed
 * eight to three 16-bit words, so that a decode step reads 6.625 bits per weight (the file:
 * 6.5625), where a byte per weight (its first packed form) read 9.25. As in {@link Q4_KPacked}, the super-blocks of {@code G = }
 * {@link Simd#LANES} consecutive rows are interleaved so that one vector lane belongs to one row.
 *
 * <p>Layout: group {@code g}, super-block {@code b} (256 columns) takes {@value #BYTES_PER_ROW}·G
 * bytes at {@code (g · superBlocks + b) · 212G}: the G rows' {@code d} as floats; the 16 scales of
 * 16 columns as signed bytes, scale {@code u} of the G rows at {@code 4G + uG}; then per block of
 * 32 columns 24G bytes: per half {@code h} (columns {@code 16h ..}) three steps of 2G little-endian
 * 16-bit words, word {@code 2i + p} of a step belonging to row {@code i} and the columns
 * {@code 16h + 2j + p} of parity {@code p}, whose six-bit quants {@code q_0 .. q_7} (by {@code j})
 * the three words {@code w_0, w_1, w_2} hold as {@code w_0 = q_0 | q_1 << 6 | (q_6 & 15) << 12},
 * {@code w_1 = q_2 | q_3 << 6 | (q_7 & 15) << 12},
 * {@code w_2 = q_4 | q_5 << 6 | (q_6 >> 4) << 12 | (q_7 >> 4) << 14}: one vector load gives 2G
 * quants' lanes with no widening, and a quant is one or two shifts and masks away. A weight is
 * {@code d · scale · (q − 32)}, exactly what {@link Q6_KMatrix} gives.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}): per half
 * block (16 columns, one scale) the sum {@code Σ q·x_q} of the unsigned six-bit quants in 16-bit
 * lanes (8 products per lane, wrapping), minus {@code 32 · Σx_q} of the lane's columns
 * ({@link Q8Rows#halfSums}, wrapped too): since the true {@code Σ (q − 32)·x_q} lies within
 * ±8·32·127, inside 16 bits, the wrapped difference is exactly it. Then per row and block, in
 * column order, the integer {@code T = scaleA·ΣA + scaleB·ΣB} (below 2^24: exact in float) and
 * {@code acc = fma((float) T · d_x, d, acc)}.
 * {@link #multiplyScalar} computes it the same way; a row's result does not depend on the batch
 * nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 212G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q6_KPacked(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: a float, 16 scales, 128 nibble bytes, 64 bytes of high parts. */
    static final int BYTES_PER_ROW = 212;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int SCALES = 4 * G;
    private static final int QUANTS = 20 * G;
    private static final int BLOCK_BYTES = 24 * G;
    private static final int STEP_BYTES = 4 * G;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q6_KPacked {
        PackedMatrix.checkShape(name, "Q6_K", rows, cols, 256, data, () -> bytesFor(rows, cols));
    }

    /** Bytes the packed form of a {@code rows × cols} matrix takes (the last group padded with zero rows). */
    static long bytesFor(int rows, int cols) {
        return PackedMatrix.bytesFor(rows, cols, 256, SB);
    }

    /**
     * Regroups {@code m}'s super-blocks into {@code into} (of {@link #bytesFor} bytes); groups
     * {@code [fromGroup, toGroup)}. Returns false if a {@code d} is not finite (such a matrix is
     * used unpacked).
     */
    static boolean pack(Q6_KMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        int[] q = new int[256];
        return PackedMatrix.pack(m, SB, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            MemorySegment dst = buffers.dst();
            float d = Float.float16ToFloat(src.get(I16_LE, at + 208));
            dst.set(F32_LE, o + 4L * i, d);
            for (int u = 0; u < 16; u++) {
                out[o + SCALES + u * G + i] = in[at + 192 + u];
            }
            quants(in, at, q);
            for (int sb = 0; sb < 8; sb++) {
                for (int h = 0; h < 2; h++) {
                    for (int p = 0; p < 2; p++) { // quants j = 0..7: columns 16h + 2j + p of sub-block sb, into three words
                        int e = 32 * sb + 16 * h + p;
                        int step = o + QUANTS + sb * BLOCK_BYTES + 3 * h * STEP_BYTES + 2 * (2 * i + p);
                        PackedMatrix.putShort(out, step, q[e] | q[e + 2] << 6 | (q[e + 12] & 15) << 12);
                        PackedMatrix.putShort(out, step + STEP_BYTES, q[e + 4] | q[e + 6] << 6 | (q[e + 14] & 15) << 12);
                        PackedMatrix.putShort(out, step + 2 * STEP_BYTES,
                                q[e + 8] | q[e + 10] << 6 | (q[e + 12] >> 4) << 12 | (q[e + 14] >> 4) << 14);
                    }
                }
            }
            return Float.isFinite(d);
        });
    }

    /**
     * The 256 six-bit quants of the file super-block at {@code in[at ..]} into {@code q}: weight
     * {@code 128h + 32k + l} has the low (k = 0, 1) or high (k = 2, 3) nibble of ql byte
     * {@code 64h + 32(k % 2) + l} and bits {@code 2k, 2k+1} of qh byte {@code 32h + l}.
     */
    private static void quants(byte[] in, int at, int[] q) {
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int ql0 = in[at + 64 * h + l] & 0xFF;
                int ql1 = in[at + 64 * h + 32 + l] & 0xFF;
                int qh = in[at + 128 + 32 * h + l] & 0xFF;
                q[128 * h + l] = ql0 & 0xF | (qh & 3) << 4;
                q[128 * h + 32 + l] = ql1 & 0xF | (qh >> 2 & 3) << 4;
                q[128 * h + 64 + l] = ql0 >> 4 | (qh >> 4 & 3) << 4;
                q[128 * h + 96 + l] = ql1 >> 4 | (qh >> 6) << 4;
            }
        }
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four. Allocates nothing.
     *
     * <p>Each super-block is two small methods: one sums the integer products of its eight blocks
     * into {@code scratch.superBlockSums}, the other scales them into the accumulators in
     * {@code scratch.accs}. Written as one method per row group, C2 ran out of its inlining budget
     * partway through (some runs: the last Vector API calls were left as calls, their vectors boxed,
     * see {@code NoAllocationTest}); the two halves each stay well inside it.
     */
    void multiply(Q8Rows a, int fromGroup, int toGroup, float[] out, PackedScratch scratch) {
        if (a.cols != cols) {
            throw new IllegalArgumentException("activations of " + a.cols + " columns for a matrix of " + cols);
        }
        int blocks = cols / 256;
        int perRow = cols / 32;
        short[] sums = scratch.superBlockSums;
        float[] accs = scratch.accs;
        for (int g = fromGroup; g < toGroup; g++) {
            long first = (long) g * blocks * SB;
            int t = 0;
            for (; t + 4 <= a.count; t += 4) {
                java.util.Arrays.fill(accs, 0, 4 * G, 0f);
                long at = first;
                for (int b = 0; b < blocks; b++, at += SB) {
                    dots4(a.pairs, (t * perRow + 8 * b) * 16, perRow * 16, at, sums, scratch.sums);
                    applyScales(a, t * perRow + 8 * b, perRow, 4, at, sums, accs);
                }
                PackedMatrix.store(accs, 4, out, t, g, rows);
            }
            for (; t < a.count; t++) {
                java.util.Arrays.fill(accs, 0, G, 0f);
                long at = first;
                for (int b = 0; b < blocks; b++, at += SB) {
                    dots1(a.pairs, (t * perRow + 8 * b) * 16, at, sums);
                    applyScales1(a.halfSums, a.scales, t * perRow + 8 * b, at, sums, accs);
                }
                PackedMatrix.store(accs, 1, out, t, g, rows);
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed); vectors cross no call of ours.

    /**
     * The unsigned products of one super-block (at {@code at}) with one activation row (its pairs
     * from {@code x}): for block {@code k} and half {@code h}, {@code Σ q·x_q} per lane pair into
     * {@code sums[(2k + h) · 2G ..]} (wrapping 16-bit lanes, as the class comment says).
     */
    private void dots1(int[] pairs, int x, long at, short[] sums) {
        long q = at + QUANTS;
        for (int half = 0; half < 16; half++, x += 8, q += 3 * STEP_BYTES) {
            ShortVector w0 = ShortVector.fromMemorySegment(S2, data, q, LE);
            ShortVector w1 = ShortVector.fromMemorySegment(S2, data, q + STEP_BYTES, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S2, data, q + 2 * STEP_BYTES, LE);
            w0.and((short) 63).mul(IntVector.broadcast(I, pairs[x]).reinterpretAsShorts())
                    .add(w0.lanewise(VectorOperators.LSHR, 6).and((short) 63).mul(IntVector.broadcast(I, pairs[x + 1]).reinterpretAsShorts()))
                    .add(w1.and((short) 63).mul(IntVector.broadcast(I, pairs[x + 2]).reinterpretAsShorts()))
                    .add(w1.lanewise(VectorOperators.LSHR, 6).and((short) 63).mul(IntVector.broadcast(I, pairs[x + 3]).reinterpretAsShorts()))
                    .add(w2.and((short) 63).mul(IntVector.broadcast(I, pairs[x + 4]).reinterpretAsShorts()))
                    .add(w2.lanewise(VectorOperators.LSHR, 6).and((short) 63).mul(IntVector.broadcast(I, pairs[x + 5]).reinterpretAsShorts()))
                    .add(w0.lanewise(VectorOperators.LSHR, 12).or(w2.lanewise(VectorOperators.LSHR, 8).and((short) 0x30))
                            .mul(IntVector.broadcast(I, pairs[x + 6]).reinterpretAsShorts()))
                    .add(w1.lanewise(VectorOperators.LSHR, 12).or(w2.lanewise(VectorOperators.LSHR, 10).and((short) 0x30))
                            .mul(IntVector.broadcast(I, pairs[x + 7]).reinterpretAsShorts()))
                    .intoArray(sums, 2 * G * half);
        }
    }

    /**
     * As {@link #dots1} for four activation rows (pairs from {@code x}, {@code x + stride}, ...):
     * each half's eight quant vectors are decoded once into {@code quants} and then multiplied
     * for the four rows in one short loop (so the method stays small for C2): row {@code u}'s sums
     * at {@code sums[((8u + k) · 2 + h) · 2G ..]}.
     */
    private void dots4(int[] pairs, int x, int stride, long at, short[] sums, short[] quants) {
        long q = at + QUANTS;
        for (int half = 0; half < 16; half++, x += 8, q += 3 * STEP_BYTES) {
            ShortVector w0 = ShortVector.fromMemorySegment(S2, data, q, LE);
            ShortVector w1 = ShortVector.fromMemorySegment(S2, data, q + STEP_BYTES, LE);
            ShortVector w2 = ShortVector.fromMemorySegment(S2, data, q + 2 * STEP_BYTES, LE);
            w0.and((short) 63).intoArray(quants, 0);
            w0.lanewise(VectorOperators.LSHR, 6).and((short) 63).intoArray(quants, 2 * G);
            w1.and((short) 63).intoArray(quants, 4 * G);
            w1.lanewise(VectorOperators.LSHR, 6).and((short) 63).intoArray(quants, 6 * G);
            w2.and((short) 63).intoArray(quants, 8 * G);
            w2.lanewise(VectorOperators.LSHR, 6).and((short) 63).intoArray(quants, 10 * G);
            w0.lanewise(VectorOperators.LSHR, 12).or(w2.lanewise(VectorOperators.LSHR, 8).and((short) 0x30)).intoArray(quants, 12 * G);
            w1.lanewise(VectorOperators.LSHR, 12).or(w2.lanewise(VectorOperators.LSHR, 10).and((short) 0x30)).intoArray(quants, 14 * G);
            ShortVector a0 = ShortVector.zero(S2);
            ShortVector a1 = ShortVector.zero(S2);
            ShortVector a2 = ShortVector.zero(S2);
            ShortVector a3 = ShortVector.zero(S2);
            for (int j = 0; j < 8; j++) {
                ShortVector v = ShortVector.fromArray(S2, quants, 2 * G * j);
                a0 = a0.add(v.mul(IntVector.broadcast(I, pairs[x + j]).reinterpretAsShorts()));
                a1 = a1.add(v.mul(IntVector.broadcast(I, pairs[x + stride + j]).reinterpretAsShorts()));
                a2 = a2.add(v.mul(IntVector.broadcast(I, pairs[x + 2 * stride + j]).reinterpretAsShorts()));
                a3 = a3.add(v.mul(IntVector.broadcast(I, pairs[x + 3 * stride + j]).reinterpretAsShorts()));
            }
            a0.intoArray(sums, 2 * G * half);
            a1.intoArray(sums, 2 * G * (16 + half));
            a2.intoArray(sums, 2 * G * (32 + half));
            a3.intoArray(sums, 2 * G * (48 + half));
        }
    }

    /**
     * Scales the sums of {@link #dots1} / {@link #dots4} ({@code count} activation rows, the first
     * row's first block of this super-block {@code block}, a row's blocks {@code perRow} apart)
     * into {@code accs[u · G ..]}: per block, in column order, {@code acc = fma((float) T · d_x, d, acc)}
     * with {@code T = scaleA · (ΣA − 32Σx_A) + scaleB · (ΣB − 32Σx_B)} per lane.
     */
    private void applyScales(Q8Rows a, int block, int perRow, int count, long at, short[] sums, float[] accs) {
        int[] halfSums = a.halfSums;
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        for (int k = 0; k < 8; k++) {
            IntVector scaleA = (IntVector) ByteVector.fromMemorySegment(B, data, at + SCALES + 2L * k * G, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector scaleB = (IntVector) ByteVector.fromMemorySegment(B, data, at + SCALES + (2L * k + 1) * G, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            for (int u = 0; u < count; u++) {
                int xb = block + u * perRow + k;
                IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k))
                        .sub(IntVector.broadcast(I, halfSums[2 * xb]).reinterpretAsShorts()).reinterpretAsInts();
                IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k) + 2 * G)
                        .sub(IntVector.broadcast(I, halfSums[2 * xb + 1]).reinterpretAsShorts()).reinterpretAsInts();
                IntVector sum = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .mul(scaleA)
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                                .mul(scaleB));
                ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(a.scales[xb]).fma(d, FloatVector.fromArray(F, accs, G * u))
                        .intoArray(accs, G * u);
            }
        }
    }

    /** {@link #applyScales} for one activation row, its accumulator in a register across the super-block. */
    private void applyScales1(int[] halfSums, float[] scales, int block, long at, short[] sums, float[] accs) {
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        FloatVector acc = FloatVector.fromArray(F, accs, 0);
        for (int k = 0; k < 8; k++) {
            IntVector scaleA = (IntVector) ByteVector.fromMemorySegment(B, data, at + SCALES + 2L * k * G, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector scaleB = (IntVector) ByteVector.fromMemorySegment(B, data, at + SCALES + (2L * k + 1) * G, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            int xb = block + k;
            IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * k)
                    .sub(IntVector.broadcast(I, halfSums[2 * xb]).reinterpretAsShorts()).reinterpretAsInts();
            IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * k + 2 * G)
                    .sub(IntVector.broadcast(I, halfSums[2 * xb + 1]).reinterpretAsShorts()).reinterpretAsInts();
            IntVector sum = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .mul(scaleA)
                    .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                            .mul(scaleB));
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(scales[xb]).fma(d, acc);
        }
        acc.intoArray(accs, 0);
    }

    /** What {@link #multiply} computes, in plain scalar code with the same operations in the same order. */
    void multiplyScalar(Q8Rows a, float[] out) {
        int perRow = cols / 32;
        for (int t = 0; t < a.count; t++) {
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int b32 = 0; b32 < perRow; b32++) {
                    int block = t * perRow + b32;
                    int sumA = 0;
                    int sumB = 0;
                    for (int j = 0; j < 16; j++) {
                        sumA += (quant(r, b32, j) - 32) * a.quant(block, j);
                        sumB += (quant(r, b32, j + 16) - 32) * a.quant(block, j + 16);
                    }
                    int total = sumA * scale(r, b32, 0) + sumB * scale(r, b32, 1);
                    acc = Math.fma((float) total * a.scales[block], d(r, b32), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long superBlock(int r, int b32) {
        return ((long) (r / G) * (cols / 256) + b32 / 8) * SB;
    }

    /** The unsigned six-bit quant (0..63) of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int quant(int r, int b32, int j) {
        long step = superBlock(r, b32) + QUANTS + (long) (b32 % 8) * BLOCK_BYTES + (long) (3 * (j / 16)) * STEP_BYTES
                + 2L * (2 * (r % G) + (j & 1));
        int c = (j % 16) / 2;
        return switch (c) {
            case 0, 2, 4 -> word(step + (c / 2) * STEP_BYTES) & 63;
            case 1, 3, 5 -> word(step + (c / 2) * STEP_BYTES) >> 6 & 63;
            case 6 -> word(step) >> 12 | (word(step + 2L * STEP_BYTES) >> 12 & 3) << 4;
            default -> word(step + STEP_BYTES) >> 12 | (word(step + 2L * STEP_BYTES) >> 14) << 4;
        };
    }

    private int word(long at) {
        return data.get(I16_LE, at) & 0xFFFF;
    }

    /** The signed scale of half {@code half} (columns {@code 16·half ..}) of block {@code b32} of row {@code r}. */
    private int scale(int r, int b32, int half) {
        return data.get(I8, superBlock(r, b32) + SCALES + (long) (2 * (b32 % 8) + half) * G + r % G);
    }

    private float d(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * (r % G));
    }

    /** The exact weight, as {@link Q6_KMatrix} computes it: {@code (d · scale) · (q − 32)}. */
    private float weight(int r, int b32, int j) {
        return d(r, b32) * scale(r, b32, j / 16) * (quant(r, b32, j) - 32);
    }

    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return weight(row, col / 32, col % 32);
    }
}
