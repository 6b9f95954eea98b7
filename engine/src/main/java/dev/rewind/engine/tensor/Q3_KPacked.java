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
 * A Q3_K matrix regrouped for the {@link Precision#FAST} kernels in {@link Q4_KPacked}'s layout:
 * each three-bit quant, made unsigned ({@code u = q + 4}, 0..7), in a nibble of Q4_K's 16-bit
 * words, so that the decoding is Q4_K's; per 16-column half its signed 6-bit scale. 4.625 bits
 * per weight (the file 3.44; the byte per weight it had before, 9.25).
 *
 * <p>Layout: group {@code g} (rows {@code gG .. gG+G-1}, {@code G = } {@link Simd#LANES}; rows past
 * the end are zero), super-block {@code b} takes {@value #BYTES_PER_ROW}·G bytes at
 * {@code (g · superBlocks + b) · 148G}: the G rows' {@code d} as floats, for each of the 8
 * 32-column sub-blocks the G rows' scales as shorts ({@code (scaleA & 0xFF) | scaleB << 8}, the
 * signed scales {@code sc − 32} of the sub-block's two halves), then the 8 sub-blocks' quants as
 * in {@link Q4_KPacked}: four steps of 2G words, nibble {@code n} of word {@code 2i + p} of step
 * {@code w} being row {@code i}'s {@code u} of column {@code 8w + 2n + p} (steps 0–1 the first
 * half, 2–3 the second). A weight is {@code (d · scale) · (u − 4)}, the value {@link Q3_KMatrix}
 * gives it.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}): per half
 * the sum {@code U = Σ u·x_q} in 16-bit lanes (8 products of at most 7·127 per lane), then per row
 * and sub-block the integer
 * {@code T = scaleA · (U_A − 4·X_A) + scaleB · (U_B − 4·X_B)}, {@code X} the half's activation
 * quants summed ({@link Q8Rows#sums16}; |T| below 2^21: exact in float), and
 * {@code acc = fma((float) T · d_x, d, acc)}, in column order. {@link #multiplyScalar} computes it
 * the same way; a row's result depends neither on the batch nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 148G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q3_KPacked(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: a float, 8 shorts of scales, 128 quant bytes. */
    static final int BYTES_PER_ROW = 148;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int SCALES = 4 * G;
    private static final int QUANTS = 20 * G;
    private static final int SUB_BYTES = 16 * G;
    private static final int STEP_BYTES = 4 * G;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q3_KPacked {
        PackedMatrix.checkShape(name, "Q3_K", rows, cols, 256, data, () -> bytesFor(rows, cols));
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
    static boolean pack(Q3_KMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        return PackedMatrix.pack(m, SB, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            MemorySegment dst = buffers.dst();
            float d = Float.float16ToFloat(src.get(I16_LE, at + 108));
            dst.set(F32_LE, o + 4L * i, d);
            for (int s = 0; s < 8; s++) {
                int scaleA = KScales.q3kScale(src, at + 96, 2 * s);
                int scaleB = KScales.q3kScale(src, at + 96, 2 * s + 1);
                PackedMatrix.putShort(out, o + SCALES + 2 * (s * G + i), (scaleA & 0xFF) | scaleB << 8);
                for (int c = 0; c < 32; c += 8) { // step c / 8: one word per column parity, nibble n = column c + 2n + p
                    for (int p = 0; p < 2; p++) {
                        int word = 0;
                        for (int n = 0; n < 4; n++) {
                            int e = 32 * s + c + 2 * n + p;
                            // file: crumb (e % 128) / 32 of qs[32·(e / 128) + e % 32], high bit e / 32 of hmask[e % 32]
                            int low = (in[at + 32 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
                            int high = (in[at + e % 32] >> (e / 32)) & 1;
                            word |= (low | high << 2) << (4 * n);
                        }
                        PackedMatrix.putShort(out, o + QUANTS + s * SUB_BYTES + (c / 8) * STEP_BYTES + 2 * (2 * i + p), word);
                    }
                }
            }
            return Float.isFinite(d);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four (integer sums, then their scaling, as {@link Q4_KPacked}'s four-row kernel). Allocates
     * nothing.
     */
    void multiply(Q8Rows a, int fromGroup, int toGroup, float[] out, PackedScratch scratch) {
        if (a.cols != cols) {
            throw new IllegalArgumentException("activations of " + a.cols + " columns for a matrix of " + cols);
        }
        for (int g = fromGroup; g < toGroup; g++) {
            int t = 0;
            for (; t + 4 <= a.count; t += 4) {
                float[] accs = scratch.accs;
                java.util.Arrays.fill(accs, 0, 4 * G, 0f);
                int perRow = cols / 32;
                long at = (long) g * (cols / 256) * SB;
                for (int b = 0; b < cols / 256; b++, at += SB) {
                    dots4(a.pairs, (t * perRow + 8 * b) * 16, perRow * 16, at, scratch.superBlockSums);
                    applyScales4(a, t * perRow + 8 * b, perRow, at, scratch.superBlockSums, accs);
                }
                PackedMatrix.store(accs, 4, out, t, g, rows);
            }
            for (; t < a.count; t++) {
                group1(a, t, g, out);
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed): a vector passed to a helper
    // of ours that the JIT does not inline is boxed.

    /** Group {@code g} against activation row {@code t}, in one method. */
    private void group1(Q8Rows a, int t, int g, float[] out) {
        int blocks = cols / 256;
        long at = (long) g * blocks * SB;
        int[] pairs = a.pairs;
        int[] sums16 = a.sums16;
        int x = t * (cols / 32) * 16;
        int block = t * (cols / 32);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += SB) {
            FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
            for (int sub = 0; sub < 8; sub++, x += 16, block++) {
                long q = at + QUANTS + (long) sub * SUB_BYTES;
                ShortVector sa = ShortVector.zero(S2);
                ShortVector sb = ShortVector.zero(S2);
                for (int w = 0; w < 2; w++) {
                    ShortVector v = ShortVector.fromMemorySegment(S2, data, q + (long) w * STEP_BYTES, LE);
                    ShortVector u = ShortVector.fromMemorySegment(S2, data, q + (long) (w + 2) * STEP_BYTES, LE);
                    for (int n = 0; n < 4; n++) {
                        sa = sa.add(v.lanewise(VectorOperators.LSHR, 4 * n).and((short) 0xF)
                                .mul(IntVector.broadcast(I, pairs[x + 4 * w + n]).reinterpretAsShorts()));
                        sb = sb.add(u.lanewise(VectorOperators.LSHR, 4 * n).and((short) 0xF)
                                .mul(IntVector.broadcast(I, pairs[x + 4 * (w + 2) + n]).reinterpretAsShorts()));
                    }
                }
                IntVector ia = sa.reinterpretAsInts();
                IntVector ib = sb.reinterpretAsInts();
                IntVector scales = (IntVector) ShortVector.fromMemorySegment(S, data, at + SCALES + 2L * sub * G, LE)
                        .convertShape(VectorOperators.S2I, I, 0);
                IntVector total = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(4 * sums16[2 * block])
                        .mul(scales.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24))
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                                .sub(4 * sums16[2 * block + 1])
                                .mul(scales.lanewise(VectorOperators.ASHR, 8)));
                acc = ((FloatVector) total.convert(VectorOperators.I2F, 0)).mul(a.scales[block]).fma(d, acc);
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
     * The products of one super-block (at {@code at}) with four activation rows (their pairs from
     * {@code x}, {@code x + stride}, ...), each step of weights decoded once for the four: row
     * {@code u}'s {@code U} of sub-block {@code k}'s first half per lane pair into
     * {@code sums[4G·(8u + k) ..]}, of its second half into {@code sums[4G·(8u + k) + 2G ..]}.
     */
    private void dots4(int[] pairs, int x, int stride, long at, short[] sums) {
        long q = at + QUANTS;
        for (int k = 0; k < 8; k++, x += 16, q += SUB_BYTES) {
            for (int half = 0; half < 2; half++) {
                ShortVector s0 = ShortVector.zero(S2);
                ShortVector s1 = ShortVector.zero(S2);
                ShortVector s2 = ShortVector.zero(S2);
                ShortVector s3 = ShortVector.zero(S2);
                for (int w = 2 * half; w < 2 * half + 2; w++) {
                    ShortVector v = ShortVector.fromMemorySegment(S2, data, q + (long) w * STEP_BYTES, LE);
                    for (int n = 0; n < 4; n++) {
                        ShortVector nib = v.lanewise(VectorOperators.LSHR, 4 * n).and((short) 0xF);
                        int m = x + 4 * w + n;
                        s0 = s0.add(nib.mul(IntVector.broadcast(I, pairs[m]).reinterpretAsShorts()));
                        s1 = s1.add(nib.mul(IntVector.broadcast(I, pairs[m + stride]).reinterpretAsShorts()));
                        s2 = s2.add(nib.mul(IntVector.broadcast(I, pairs[m + 2 * stride]).reinterpretAsShorts()));
                        s3 = s3.add(nib.mul(IntVector.broadcast(I, pairs[m + 3 * stride]).reinterpretAsShorts()));
                    }
                }
                int o = 4 * G * k + 2 * G * half;
                s0.intoArray(sums, o);
                s1.intoArray(sums, o + 32 * G);
                s2.intoArray(sums, o + 64 * G);
                s3.intoArray(sums, o + 96 * G);
            }
        }
    }

    /**
     * Scales the sums of {@link #dots4} (the first row's first block of this super-block
     * {@code block}, a row's blocks {@code perRow} apart) into {@code accs[u · G ..]}, per
     * sub-block in column order as the class comment says.
     */
    private void applyScales4(Q8Rows a, int block, int perRow, long at, short[] sums, float[] accs) {
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        int[] sums16 = a.sums16;
        for (int k = 0; k < 8; k++) {
            IntVector scales = (IntVector) ShortVector.fromMemorySegment(S, data, at + SCALES + 2L * k * G, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector scaleA = scales.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24);
            IntVector scaleB = scales.lanewise(VectorOperators.ASHR, 8);
            for (int u = 0; u < 4; u++) {
                int xb = block + u * perRow + k;
                IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k)).reinterpretAsInts();
                IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k) + 2 * G).reinterpretAsInts();
                IntVector total = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(4 * sums16[2 * xb]).mul(scaleA)
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                                .sub(4 * sums16[2 * xb + 1]).mul(scaleB));
                ((FloatVector) total.convert(VectorOperators.I2F, 0)).mul(a.scales[xb]).fma(d, FloatVector.fromArray(F, accs, G * u))
                        .intoArray(accs, G * u);
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
                    int ua = 0;
                    int ub = 0;
                    for (int j = 0; j < 16; j++) {
                        ua += quant(r, b32, j) * a.quant(block, j);
                        ub += quant(r, b32, j + 16) * a.quant(block, j + 16);
                    }
                    int total = (ua - 4 * a.sums16[2 * block]) * scale(r, b32, 0) + (ub - 4 * a.sums16[2 * block + 1]) * scale(r, b32, 1);
                    acc = Math.fma((float) total * a.scales[block], d(r, b32), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long superBlock(int r, int b32) {
        return ((long) (r / G) * (cols / 256) + b32 / 8) * SB;
    }

    /** The unsigned quant {@code u} of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int quant(int r, int b32, int j) {
        long at = superBlock(r, b32) + QUANTS + (long) (b32 % 8) * SUB_BYTES + (long) (j / 8) * STEP_BYTES + 2L * (2 * (r % G) + (j & 1));
        return (data.get(I16_LE, at) >> (4 * ((j % 8) / 2))) & 0xF;
    }

    /** The signed scale of half {@code h} of row {@code r}'s 32-column block {@code b32}. */
    private int scale(int r, int b32, int h) {
        short both = data.get(I16_LE, superBlock(r, b32) + SCALES + 2L * ((b32 % 8) * G + r % G));
        return h == 0 ? (byte) both : both >> 8;
    }

    private float d(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * (r % G));
    }

    /** The exact weight, as the file type's matrix computes it. */
    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        int b32 = col / 32;
        return d(row, b32) * scale(row, b32, (col % 32) / 16) * (quant(row, b32, col % 32) - 4);
    }
}
