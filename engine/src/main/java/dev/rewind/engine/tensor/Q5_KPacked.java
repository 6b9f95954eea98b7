package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.F32_LE;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q5_K matrix regrouped for the {@link Precision#FAST} kernels: {@link Q4_KPacked}'s
 * super-blocks (the same {@code d}, {@code dmin} and 6-bit codes per 32-column sub-block) with
 * the five-bit quants three to a 16-bit word, as {@link Q4_1Packed} holds Q5_1's: 6.75 bits per
 * weight (the file 5.5; the byte per weight it had before, 9.25), and one or two operations a quant.
 *
 * <p>Layout: group {@code g} (rows {@code gG .. gG+G-1}, {@code G = } {@link Simd#LANES}; rows past
 * the end are zero), super-block {@code b} takes {@value #BYTES_PER_ROW}·G bytes at
 * {@code (g · superBlocks + b) · 216G}: the G rows' {@code d} as floats, their {@code dmin} as
 * floats, for each of the 8 sub-blocks the G rows' codes as shorts ({@code scale | min << 8}),
 * then the 8 sub-blocks' quants, 6 words of 2G little-endian shorts each: short {@code 2i + p} of
 * word {@code w} holds at bits {@code 5k .. 5k+4} row {@code i}'s quant of column {@code 2n + p},
 * {@code n = 3w + k} ({@code k = 0..2}, {@code n < 16}). A weight is {@code d·scale · q − dmin·min}
 * ({@code q} 0..31), the value {@link Q5_KMatrix} gives it.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}): per
 * sub-block the products {@code q·x_q} of a lane's 16 quants are summed in 16-bit lanes, split
 * over two or three sums of at most 8 products of 31·127 each (below 2^15), then per row and
 * sub-block, in column order, with {@code S} their exact integer total: {@code acc = fma((float) S · d_x, d·scale, acc)} and
 * {@code acc = fma(dmin·min, −(float) Σx_q · d_x, acc)}, Q4_K's arithmetic. {@link #multiplyScalar}
 * computes it the same way; a row's result depends neither on the batch nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 216G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q5_KPacked(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: two floats, 8 shorts of codes, 8 × 6 × 2 shorts of quants. */
    static final int BYTES_PER_ROW = 216;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int CODES = 8 * G;
    private static final int QUANTS = 24 * G;
    /** Bytes of one word: 2G shorts. */
    private static final int WORD_BYTES = 4 * G;
    private static final int SUB_BYTES = 6 * WORD_BYTES;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q5_KPacked {
        PackedMatrix.checkShape(name, "Q5_K", rows, cols, 256, data, () -> bytesFor(rows, cols));
    }

    /** Bytes the packed form of a {@code rows × cols} matrix takes (the last group padded with zero rows). */
    static long bytesFor(int rows, int cols) {
        return PackedMatrix.bytesFor(rows, cols, 256, SB);
    }

    /**
     * Regroups {@code m}'s super-blocks into {@code into} (of {@link #bytesFor} bytes); groups
     * {@code [fromGroup, toGroup)}. Returns false if a {@code d} or {@code dmin} is not finite
     * (such a matrix is used unpacked).
     */
    static boolean pack(Q5_KMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        return PackedMatrix.pack(m, SB, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            MemorySegment dst = buffers.dst();
            float d = Float.float16ToFloat(src.get(I16_LE, at));
            float dmin = Float.float16ToFloat(src.get(I16_LE, at + 2));
            dst.set(F32_LE, o + 4L * i, d);
            dst.set(F32_LE, o + 4L * G + 4L * i, dmin);
            for (int s = 0; s < 8; s++) {
                int codes = KScales.q4kScale(src, at + 4, s) | KScales.q4kMin(src, at + 4, s) << 8;
                PackedMatrix.putShort(out, o + CODES + 2 * (s * G + i), codes);
                // file: low nibble of qs[32·(s/2) + c] (high nibble for odd s), fifth bit s of qh[c]
                int qs = at + 48 + 32 * (s / 2);
                int shift = 4 * (s % 2);
                for (int p = 0; p < 2; p++) {
                    for (int w = 0; w < 6; w++) {
                        int word = 0;
                        for (int k = 0; k < 3 && 3 * w + k < 16; k++) {
                            int c = 2 * (3 * w + k) + p;
                            int q = (in[qs + c] >> shift) & 0xF | ((in[at + 16 + c] >> s) & 1) << 4;
                            word |= q << (5 * k);
                        }
                        PackedMatrix.putShort(out, o + QUANTS + s * SUB_BYTES + w * WORD_BYTES + 2 * (2 * i + p), word);
                    }
                }
            }
            return Float.isFinite(d) && Float.isFinite(dmin);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four. For four rows each super-block is two small methods, integer sums into
     * {@code scratch.superBlockSums} and their scaling into {@code scratch.accs}, as in
     * {@link Q4_1Packed}'s Q5_1 (one method per row group outgrows C2's inlining budget and boxes
     * its vectors); one row is one method ({@link #group1}), as Q4_K's. Allocates nothing.
     */
    void multiply(Q8Rows a, int fromGroup, int toGroup, float[] out, PackedScratch scratch) {
        if (a.cols != cols) {
            throw new IllegalArgumentException("activations of " + a.cols + " columns for a matrix of " + cols);
        }
        int perRow = cols / 32;
        short[] sums = scratch.superBlockSums;
        float[] accs = scratch.accs;
        for (int g = fromGroup; g < toGroup; g++) {
            long first = (long) g * (cols / 256) * SB;
            int t = 0;
            for (; t + 4 <= a.count; t += 4) {
                java.util.Arrays.fill(accs, 0, 4 * G, 0f);
                for (int b = 0; b < cols / 256; b++) {
                    long at = first + (long) b * SB;
                    fives4(a.pairs, (t * perRow + 8 * b) * 16, perRow * 16, at, sums);
                    applyScales(a, t * perRow + 8 * b, perRow, 4, at, sums, accs);
                }
                PackedMatrix.store(accs, 4, out, t, g, rows);
            }
            for (; t < a.count; t++) {
                group1(a, t, g, out);
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed); vectors cross no call of ours.

    /**
     * Group {@code g} against activation row {@code t}, in one method: the sums never leave
     * registers. Per sub-block a lane's quants go to three 16-bit sums by their place in the word
     * (quants {@code n = 3w + k}: the sum of slot {@code k}, at most 6 products of 31·127), whose
     * lanes are then widened and added as in {@link #applyScales}.
     */
    private void group1(Q8Rows a, int t, int g, float[] out) {
        int blocks = cols / 256;
        long at = (long) g * blocks * SB;
        int[] pairs = a.pairs;
        int x = t * (cols / 32) * 16;
        int block = t * (cols / 32);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += SB) {
            FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
            FloatVector dmin = FloatVector.fromMemorySegment(F, data, at + 4L * G, LE);
            for (int sub = 0; sub < 8; sub++, x += 16, block++) {
                long q = at + QUANTS + (long) sub * SUB_BYTES;
                ShortVector s0 = ShortVector.zero(S2);
                ShortVector s1 = ShortVector.zero(S2);
                ShortVector s2 = ShortVector.zero(S2);
                for (int w = 0; w < 5; w++) {
                    ShortVector v = ShortVector.fromMemorySegment(S2, data, q + (long) w * WORD_BYTES, LE);
                    s0 = s0.add(v.and((short) 31).mul(IntVector.broadcast(I, pairs[x + 3 * w]).reinterpretAsShorts()));
                    s1 = s1.add(v.lanewise(VectorOperators.LSHR, 5).and((short) 31).mul(IntVector.broadcast(I, pairs[x + 3 * w + 1]).reinterpretAsShorts()));
                    s2 = s2.add(v.lanewise(VectorOperators.LSHR, 10).mul(IntVector.broadcast(I, pairs[x + 3 * w + 2]).reinterpretAsShorts()));
                }
                // the last word holds quant 15 alone (its upper bits are 0)
                s0 = s0.add(ShortVector.fromMemorySegment(S2, data, q + 5L * WORD_BYTES, LE)
                        .mul(IntVector.broadcast(I, pairs[x + 15]).reinterpretAsShorts()));
                IntVector i0 = s0.reinterpretAsInts();
                IntVector i1 = s1.reinterpretAsInts();
                IntVector i2 = s2.reinterpretAsInts();
                IntVector sum = i0.lanewise(VectorOperators.ASHR, 16).add(i0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .add(i1.lanewise(VectorOperators.ASHR, 16).add(i1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)))
                        .add(i2.lanewise(VectorOperators.ASHR, 16).add(i2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)));
                IntVector codes = (IntVector) ShortVector.fromMemorySegment(S, data, at + CODES + 2L * sub * G, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector d1 = ((FloatVector) codes.and(0xFF).convert(VectorOperators.I2F, 0)).mul(d);
                FloatVector m1 = ((FloatVector) codes.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(dmin);
                float dx = a.scales[block];
                acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(dx).fma(d1, acc);
                acc = m1.fma(FloatVector.broadcast(F, -((float) (a.offsets[block] >> 3) * dx)), acc);
            }
        }
        int o = t * rows + g * G;
        if ((g + 1) * G <= rows) {
            acc.intoArray(out, o);
        } else {
            acc.intoArray(out, o, F.indexInRange(g * G, rows));
        }
    }

    /**
     * The products of one super-block (at {@code at}) with four activation rows (pairs from
     * {@code x}, {@code x + stride}, ...), each quant taken from its word once for the four: row
     * {@code u}'s {@code Σ q·x_q} per lane of sub-block {@code k}'s quants {@code n = 0..7} at
     * {@code sums[4G·(8u + k) ..]}, of {@code n = 8..15} at {@code sums[4G·(8u + k) + 2G ..]}.
     */
    private void fives4(int[] pairs, int x, int stride, long at, short[] sums) {
        for (int k = 0; k < 8; k++, x += 16) {
            long q = at + QUANTS + (long) k * SUB_BYTES;
            for (int half = 0; half < 2; half++) {
                ShortVector a0 = ShortVector.zero(S2);
                ShortVector a1 = ShortVector.zero(S2);
                ShortVector a2 = ShortVector.zero(S2);
                ShortVector a3 = ShortVector.zero(S2);
                for (int m = 8 * half; m < 8 * half + 8; m++) {
                    ShortVector w = ShortVector.fromMemorySegment(S2, data, q + (long) (m / 3) * WORD_BYTES, LE);
                    ShortVector v = w.lanewise(VectorOperators.LSHR, 5 * (m % 3)).and((short) 31);
                    a0 = a0.add(v.mul(IntVector.broadcast(I, pairs[x + m]).reinterpretAsShorts()));
                    a1 = a1.add(v.mul(IntVector.broadcast(I, pairs[x + stride + m]).reinterpretAsShorts()));
                    a2 = a2.add(v.mul(IntVector.broadcast(I, pairs[x + 2 * stride + m]).reinterpretAsShorts()));
                    a3 = a3.add(v.mul(IntVector.broadcast(I, pairs[x + 3 * stride + m]).reinterpretAsShorts()));
                }
                int o = 4 * G * k + 2 * G * half;
                a0.intoArray(sums, o);
                a1.intoArray(sums, o + 32 * G);
                a2.intoArray(sums, o + 64 * G);
                a3.intoArray(sums, o + 96 * G);
            }
        }
    }

    /**
     * Scales the sums of {@link #fives4} ({@code count} activation rows, the
     * first row's first block of this super-block {@code block}, a row's blocks {@code perRow}
     * apart) into {@code accs[u · G ..]}, per sub-block in column order as the class comment says.
     */
    private void applyScales(Q8Rows a, int block, int perRow, int count, long at, short[] sums, float[] accs) {
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        FloatVector dmin = FloatVector.fromMemorySegment(F, data, at + 4L * G, LE);
        for (int k = 0; k < 8; k++) {
            IntVector codes = (IntVector) ShortVector.fromMemorySegment(S, data, at + CODES + 2L * k * G, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector d1 = ((FloatVector) codes.and(0xFF).convert(VectorOperators.I2F, 0)).mul(d);
            FloatVector m1 = ((FloatVector) codes.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(dmin);
            for (int u = 0; u < count; u++) {
                int xb = block + u * perRow + k;
                IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k)).reinterpretAsInts();
                IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k) + 2 * G).reinterpretAsInts();
                IntVector sum = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)));
                float dx = a.scales[xb];
                FloatVector acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(dx).fma(d1, FloatVector.fromArray(F, accs, G * u));
                m1.fma(FloatVector.broadcast(F, -((float) (a.offsets[xb] >> 3) * dx)), acc).intoArray(accs, G * u);
            }
        }
    }

    /** What {@link #multiply} computes, in plain scalar code with the same operations in the same order. */
    void multiplyScalar(Q8Rows a, float[] out) {
        int perRow = cols / 32;
        for (int t = 0; t < a.count; t++) {
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int b32 = 0; b32 < perRow; b32++) {
                    int block = t * perRow + b32;
                    int sum = 0;
                    for (int j = 0; j < 32; j++) {
                        sum += quant(r, b32, j) * a.quant(block, j);
                    }
                    float dx = a.scales[block];
                    acc = Math.fma((float) sum * dx, scale(r, b32), acc);
                    acc = Math.fma(min(r, b32), -((float) (a.offsets[block] >> 3) * dx), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long superBlock(int r, int b32) {
        return ((long) (r / G) * (cols / 256) + b32 / 8) * SB;
    }

    /** The 5-bit quant of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int quant(int r, int b32, int j) {
        int n = j / 2;
        long at = superBlock(r, b32) + QUANTS + (long) (b32 % 8) * SUB_BYTES + (long) (n / 3) * WORD_BYTES + 2L * (2 * (r % G) + (j & 1));
        return (data.get(I16_LE, at) >> (5 * (n % 3))) & 31;
    }

    private int codes(int r, int b32) {
        return data.get(I16_LE, superBlock(r, b32) + CODES + 2L * ((b32 % 8) * G + r % G)) & 0xFFFF;
    }

    /** {@code d · scale} of row {@code r} in 32-column block {@code b32}. */
    private float scale(int r, int b32) {
        return (float) (codes(r, b32) & 0xFF) * data.get(F32_LE, superBlock(r, b32) + 4L * (r % G));
    }

    /** {@code dmin · min} of row {@code r} in 32-column block {@code b32}. */
    private float min(int r, int b32) {
        return (float) (codes(r, b32) >>> 8) * data.get(F32_LE, superBlock(r, b32) + 4L * G + 4L * (r % G));
    }

    /** The exact weight, as the file type's matrix computes it. */
    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return scale(row, col / 32) * quant(row, col / 32, col % 32) - min(row, col / 32);
    }
}
