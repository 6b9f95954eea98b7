package dev.rewind.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.B2;
import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I32_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q4_1 or Q5_1 matrix regrouped for the {@link Precision#FAST} kernels: the two "{@code d · q + m}
 * per 32 columns" types in one record, Q4_1's quants as nibbles (5 bits per weight, as the file),
 * Q5_1's three to a 16-bit word (7 bits per weight, the file 6: a word gives a quant in one or
 * two operations, the fifth bit put back beside a nibble took six). As in
 * {@link Q4_0Packed}, the blocks of {@code G = } {@link Simd#LANES} consecutive rows are
 * interleaved so that one vector lane belongs to one row.
 *
 * <p>Layout: group {@code g} (rows {@code gG .. gG+G-1}; rows past the end are zero), block
 * {@code b} (columns {@code 32b .. 32b+31}) takes 20G (Q4_1) or 28G (Q5_1) bytes at
 * {@code (g · blocks + b) · 20G} (or {@code 28G}): the G rows' half steps {@code d}, their half
 * minima {@code m}, then for Q4_1 8 steps of 2G bytes: in step {@code s}, byte {@code 2i + p} of
 * row {@code i} holds the quant of column {@code 2s + p} (low nibble) and of column
 * {@code 2s + p + 16} (high nibble), the byte steps {@link Q4_0Packed} had before its 16-bit words; for Q5_1 6 words of 2G little-endian
 * shorts: short {@code 2i + p} of word {@code w} holds at bits {@code 5k .. 5k+4} the quant of
 * column {@code 2n + p}, {@code n = 3w + k} ({@code k = 0..2}, {@code n < 16}; bit 15 and the
 * last word's upper eleven bits are 0). A weight is {@code q · d + m} ({@code q} 0..15 or 0..31),
 * exactly what {@link Q4_1Matrix} and {@link Q5_1Matrix} give.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}), as ggml
 * runs these types against Q8_1 (whose {@code d·Σq} ggml rounds to a half; here it is not): per half block (16 columns) the sum {@code Σ q·x_q} of the
 * unsigned quants in 16-bit lanes (8 products of at most 31·127 per lane: below 2^15), then per
 * row and block, in column order, the integer {@code S = ΣA + ΣB} and
 * {@code acc = fma((float) S · d_x, d, acc)}, {@code acc = fma(m, (float) Σx_q · d_x, acc)} with
 * {@code Σx_q} the block's activation quants summed ({@link Q8Rows#offsets} / 8). That is the whole
 * arithmetic: a row's result depends neither on the batch nor on the vector width, and
 * {@link #multiplyScalar} computes it the same way.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact (float activations
 * against exactly dequantized weights) and slow: the fast kernels are {@link #multiply}.
 *
 * @param name tensor name
 * @param type Q4_1 or Q5_1
 * @param data the regrouped blocks, {@code ceil(rows / G) · cols / 32 · 20G} (Q5_1: {@code 28G}) bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record Q4_1Packed(String name, GgmlType type, MemorySegment data, int rows, int cols) implements PackedMatrix {

    private static final int G = LANES;
    private static final int MINS = 2 * G;
    private static final int NIBBLES = 4 * G;
    /** Bytes of one Q5_1 word: 2G shorts. */
    private static final int WORD_BYTES = 4 * G;
    private static final int STEP_BYTES = 2 * G;
    /** Blocks whose sums pass through the scratch at once: {@code superBlockSums} holds 4 rows × 8 blocks. */
    private static final int CHUNK = 8;

    /** @throws IllegalArgumentException if the type or shape is invalid or {@code data} has the wrong size */
    public Q4_1Packed {
        if (type != GgmlType.Q4_1 && type != GgmlType.Q5_1) {
            throw new IllegalArgumentException("tensor '" + name + "': no Q4_1-packed form of " + type);
        }
        PackedMatrix.checkShape(name, type.toString(), rows, cols, 32, data, () -> bytesFor(type, rows, cols));
    }

    /** Bytes one row takes in one block: two halves, then 16 nibble bytes (Q4_1) or 6 words, 12 bytes, of quants (Q5_1). */
    static int bytesPerRow(GgmlType type) {
        return type == GgmlType.Q5_1 ? 28 : 20;
    }

    /** Bytes the packed form of a {@code rows × cols} matrix takes (the last group padded with zero rows). */
    static long bytesFor(GgmlType type, int rows, int cols) {
        return PackedMatrix.bytesFor(rows, cols, 32, bytesPerRow(type) * G);
    }

    /** Bytes of one group's block. */
    private int groupBlock() {
        return bytesPerRow(type) * G;
    }

    /**
     * Regroups {@code m}'s blocks (a {@link Q4_1Matrix} or {@link Q5_1Matrix}) into {@code into}
     * (of {@link #bytesFor} bytes); groups {@code [fromGroup, toGroup)}. Returns false if a half
     * is not finite: the kernels' conversion assumes finite halves, so such a matrix must not be
     * used packed.
     */
    static boolean pack(WeightMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        boolean five = m.type() == GgmlType.Q5_1;
        int groupBlock = bytesPerRow(m.type()) * G;
        return PackedMatrix.pack(m, groupBlock, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            boolean finite = true;
            for (int h = 0; h < 2; h++) {
                out[o + h * MINS + 2 * i] = in[at + 2 * h];
                out[o + h * MINS + 2 * i + 1] = in[at + 2 * h + 1];
                finite &= PackedMatrix.finiteHalf(in[at + 2 * h + 1]);
            }
            int qs = at + (five ? 8 : 4);
            int qh = five ? src.get(I32_LE, at + 4) : 0;
            for (int c = 0; c < 16; c++) {
                if (!five) {
                    out[o + NIBBLES + (c / 2) * STEP_BYTES + 2 * i + (c % 2)] = in[qs + c];
                }
            }
            for (int col = 0; five && col < 32; col++) {
                int q = ((in[qs + col % 16] & 0xFF) >> (4 * (col / 16))) & 0xF | ((qh >>> col) & 1) << 4;
                int idx = col / 2;
                int word = o + NIBBLES + (idx / 3) * WORD_BYTES + 2 * (2 * i + col % 2);
                int bits = (out[word] & 0xFF | (out[word + 1] & 0xFF) << 8) | q << (5 * (idx % 3));
                out[word] = (byte) bits;
                out[word + 1] = (byte) (bits >> 8);
            }
            return finite;
        });
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four. Allocates nothing.
     *
     * <p>For four activation rows every 8 blocks are two small methods, as in {@link Q6_KPacked}:
     * one sums the integer products into {@code scratch.superBlockSums}, the other scales them into
     * {@code scratch.accs} (one method per row group outgrows C2's inlining budget, and its last
     * vectors are boxed); one activation row of Q4_1 is one method per row group, as in
     * {@link Q4_0Packed}, one of Q5_1 the two methods again.
     */
    void multiply(Q8Rows a, int fromGroup, int toGroup, float[] out, PackedScratch scratch) {
        if (a.cols != cols) {
            throw new IllegalArgumentException("activations of " + a.cols + " columns for a matrix of " + cols);
        }
        int blocks = cols / 32;
        long groupBytes = (long) blocks * groupBlock();
        boolean five = type == GgmlType.Q5_1;
        short[] sums = scratch.superBlockSums;
        float[] accs = scratch.accs;
        for (int g = fromGroup; g < toGroup; g++) {
            long first = g * groupBytes;
            int t = 0;
            for (; t + 4 <= a.count; t += 4) {
                java.util.Arrays.fill(accs, 0, 4 * G, 0f);
                for (int b = 0; b < blocks; b += CHUNK) {
                    int n = Math.min(CHUNK, blocks - b);
                    long at = first + (long) b * groupBlock();
                    int x = (t * blocks + b) * 16;
                    if (five) {
                        fives4(a.pairs, x, blocks * 16, at, n, sums);
                    } else {
                        nibbles4(a.pairs, x, blocks * 16, at, n, sums);
                    }
                    applyScales(a, t * blocks + b, blocks, 4, at, n, sums, accs);
                }
                PackedMatrix.store(accs, 4, out, t, g, rows);
            }
            for (; t < a.count; t++) {
                if (five) {
                    java.util.Arrays.fill(accs, 0, G, 0f);
                    for (int b = 0; b < blocks; b += CHUNK) {
                        int n = Math.min(CHUNK, blocks - b);
                        fives1(a.pairs, (t * blocks + b) * 16, first + (long) b * groupBlock(), n, sums);
                        applyScales(a, t * blocks + b, blocks, 1, first + (long) b * groupBlock(), n, sums, accs);
                    }
                    PackedMatrix.store(accs, 1, out, t, g, rows);
                } else {
                    group1(a, t, g, out);
                }
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed); vectors cross no call of ours.

    /**
     * Q4_1, group {@code g} against activation row {@code t}, in one method: the sums never leave
     * registers. Per block both halves' products share one 16-bit sum per lane (16 products of at
     * most 15·127), whose two lanes per row are then added as in {@link #applyScales}.
     */
    private void group1(Q8Rows a, int t, int g, float[] out) {
        int blocks = cols / 32;
        int groupBlock = groupBlock();
        long at = (long) g * blocks * groupBlock;
        int[] pairs = a.pairs;
        int x = t * blocks * 16;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += groupBlock, x += 16) {
            ShortVector sum = ShortVector.zero(S2);
            for (int s = 0; s < 8; s++) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B2, data, at + NIBBLES + (long) s * STEP_BYTES, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
                sum = sum.add(v.and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + s]).reinterpretAsShorts()))
                        .add(v.lanewise(VectorOperators.LSHR, 4).mul(IntVector.broadcast(I, pairs[x + 8 + s]).reinterpretAsShorts()));
            }
            IntVector both = sum.reinterpretAsInts();
            IntVector total = both.lanewise(VectorOperators.ASHR, 16).add(both.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            // the G rows' half d and m, converted exactly (they are finite: checked when packed)
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, data, at, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector d = dh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(dh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            IntVector mh = (IntVector) ShortVector.fromMemorySegment(S, data, at + MINS, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector m = mh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(mh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            int xb = t * blocks + b;
            float dx = a.scales[xb];
            acc = ((FloatVector) total.convert(VectorOperators.I2F, 0)).mul(dx).fma(d, acc);
            acc = m.fma(FloatVector.broadcast(F, (float) (a.offsets[xb] >> 3) * dx), acc);
        }
        int o = t * rows + g * G;
        if ((g + 1) * G <= rows) {
            acc.intoArray(out, o);
        } else {
            acc.intoArray(out, o, F.indexInRange(g * G, rows));
        }
    }

    /**
     * Q5_1: the products of {@code n} blocks (from {@code at}) with one activation row (its pairs
     * from {@code x}): for block {@code k}, {@code Σ q·x_q} per lane pair of its first half into
     * {@code sums[4G·k ..]}, of its second half into {@code sums[4G·k + 2G ..]} (8 products of at
     * most 31·127 each). Q5_1's one-row kernel is split as its four-row one is (one method per row
     * group boxed vectors in some JVMs), Q4_1's is not.
     */
    private void fives1(int[] pairs, int x, long at, int n, short[] sums) {
        int groupBlock = groupBlock();
        for (int k = 0; k < n; k++, x += 16) {
            long q = at + (long) k * groupBlock + NIBBLES;
            ShortVector sa = ShortVector.zero(S2);
            ShortVector sb = ShortVector.zero(S2);
            // quants n = 0..15 of a lane, three per word: the first eight into sa, the rest into sb
            for (int m = 0; m < 8; m++) {
                ShortVector w = ShortVector.fromMemorySegment(S2, data, q + (long) (m / 3) * WORD_BYTES, LE);
                sa = sa.add(w.lanewise(VectorOperators.LSHR, 5 * (m % 3)).and((short) 31)
                        .mul(IntVector.broadcast(I, pairs[x + m]).reinterpretAsShorts()));
                ShortVector u = ShortVector.fromMemorySegment(S2, data, q + (long) ((m + 8) / 3) * WORD_BYTES, LE);
                sb = sb.add(u.lanewise(VectorOperators.LSHR, 5 * ((m + 8) % 3)).and((short) 31)
                        .mul(IntVector.broadcast(I, pairs[x + 8 + m]).reinterpretAsShorts()));
            }
            sa.intoArray(sums, 4 * G * k);
            sb.intoArray(sums, 4 * G * k + 2 * G);
        }
    }

    /**
     * Q4_1: the products of {@code n} blocks (from {@code at}) with four activation rows (pairs from {@code x}, {@code x + stride}, ...) (pairs from {@code x}, {@code x + stride}, ...),
     * each step of weights widened once for the four: for block {@code k}, row {@code u}'s
     * {@code Σ q·x_q} per lane pair of the block's first half at {@code sums[4G·(8u + k) ..]}, of
     * its second half at {@code sums[4G·(8u + k) + 2G ..]}.
     */
    private void nibbles4(int[] pairs, int x, int stride, long at, int n, short[] sums) {
        int groupBlock = groupBlock();
        for (int k = 0; k < n; k++, x += 16) {
            long q = at + (long) k * groupBlock + NIBBLES;
            ShortVector a0 = ShortVector.zero(S2);
            ShortVector a1 = ShortVector.zero(S2);
            ShortVector a2 = ShortVector.zero(S2);
            ShortVector a3 = ShortVector.zero(S2);
            ShortVector b0 = ShortVector.zero(S2);
            ShortVector b1 = ShortVector.zero(S2);
            ShortVector b2 = ShortVector.zero(S2);
            ShortVector b3 = ShortVector.zero(S2);
            for (int s = 0; s < 8; s++) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B2, data, q + (long) s * STEP_BYTES, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
                ShortVector lo = v.and((short) 0xF);
                ShortVector hi = v.lanewise(VectorOperators.LSHR, 4);
                a0 = a0.add(lo.mul(IntVector.broadcast(I, pairs[x + s]).reinterpretAsShorts()));
                b0 = b0.add(hi.mul(IntVector.broadcast(I, pairs[x + 8 + s]).reinterpretAsShorts()));
                a1 = a1.add(lo.mul(IntVector.broadcast(I, pairs[x + stride + s]).reinterpretAsShorts()));
                b1 = b1.add(hi.mul(IntVector.broadcast(I, pairs[x + stride + 8 + s]).reinterpretAsShorts()));
                a2 = a2.add(lo.mul(IntVector.broadcast(I, pairs[x + 2 * stride + s]).reinterpretAsShorts()));
                b2 = b2.add(hi.mul(IntVector.broadcast(I, pairs[x + 2 * stride + 8 + s]).reinterpretAsShorts()));
                a3 = a3.add(lo.mul(IntVector.broadcast(I, pairs[x + 3 * stride + s]).reinterpretAsShorts()));
                b3 = b3.add(hi.mul(IntVector.broadcast(I, pairs[x + 3 * stride + 8 + s]).reinterpretAsShorts()));
            }
            a0.intoArray(sums, 4 * G * k);
            b0.intoArray(sums, 4 * G * k + 2 * G);
            a1.intoArray(sums, 4 * G * (8 + k));
            b1.intoArray(sums, 4 * G * (8 + k) + 2 * G);
            a2.intoArray(sums, 4 * G * (16 + k));
            b2.intoArray(sums, 4 * G * (16 + k) + 2 * G);
            a3.intoArray(sums, 4 * G * (24 + k));
            b3.intoArray(sums, 4 * G * (24 + k) + 2 * G);
        }
    }


    /**
     * As {@link #nibbles4} for Q5_1: each quant taken from its word once for the four rows, in
     * order {@code n = 0..15}, the first eight into the rows' first-half sums.
     */
    private void fives4(int[] pairs, int x, int stride, long at, int n, short[] sums) {
        int groupBlock = groupBlock();
        for (int k = 0; k < n; k++, x += 16) {
            long q = at + (long) k * groupBlock + NIBBLES;
            ShortVector a0 = ShortVector.zero(S2);
            ShortVector a1 = ShortVector.zero(S2);
            ShortVector a2 = ShortVector.zero(S2);
            ShortVector a3 = ShortVector.zero(S2);
            for (int m = 0; m < 8; m++) {
                ShortVector w = ShortVector.fromMemorySegment(S2, data, q + (long) (m / 3) * WORD_BYTES, LE);
                ShortVector v = w.lanewise(VectorOperators.LSHR, 5 * (m % 3)).and((short) 31);
                a0 = a0.add(v.mul(IntVector.broadcast(I, pairs[x + m]).reinterpretAsShorts()));
                a1 = a1.add(v.mul(IntVector.broadcast(I, pairs[x + stride + m]).reinterpretAsShorts()));
                a2 = a2.add(v.mul(IntVector.broadcast(I, pairs[x + 2 * stride + m]).reinterpretAsShorts()));
                a3 = a3.add(v.mul(IntVector.broadcast(I, pairs[x + 3 * stride + m]).reinterpretAsShorts()));
            }
            a0.intoArray(sums, 4 * G * k);
            a1.intoArray(sums, 4 * G * (8 + k));
            a2.intoArray(sums, 4 * G * (16 + k));
            a3.intoArray(sums, 4 * G * (24 + k));
            a0 = ShortVector.zero(S2);
            a1 = ShortVector.zero(S2);
            a2 = ShortVector.zero(S2);
            a3 = ShortVector.zero(S2);
            for (int m = 8; m < 16; m++) {
                ShortVector w = ShortVector.fromMemorySegment(S2, data, q + (long) (m / 3) * WORD_BYTES, LE);
                ShortVector v = w.lanewise(VectorOperators.LSHR, 5 * (m % 3)).and((short) 31);
                a0 = a0.add(v.mul(IntVector.broadcast(I, pairs[x + m]).reinterpretAsShorts()));
                a1 = a1.add(v.mul(IntVector.broadcast(I, pairs[x + stride + m]).reinterpretAsShorts()));
                a2 = a2.add(v.mul(IntVector.broadcast(I, pairs[x + 2 * stride + m]).reinterpretAsShorts()));
                a3 = a3.add(v.mul(IntVector.broadcast(I, pairs[x + 3 * stride + m]).reinterpretAsShorts()));
            }
            a0.intoArray(sums, 4 * G * k + 2 * G);
            a1.intoArray(sums, 4 * G * (8 + k) + 2 * G);
            a2.intoArray(sums, 4 * G * (16 + k) + 2 * G);
            a3.intoArray(sums, 4 * G * (24 + k) + 2 * G);
        }
    }

    /**
     * Scales the sums of {@code n} blocks ({@code count} activation rows, the first row's first
     * block {@code block}, a row's blocks {@code perRow} apart) into {@code accs[u · G ..]}: per
     * block, in column order, {@code acc = fma((float) (ΣA + ΣB) · d_x, d, acc)} and
     * {@code acc = fma(m, (float) Σx_q · d_x, acc)}.
     */
    private void applyScales(Q8Rows a, int block, int perRow, int count, long at, int n, short[] sums, float[] accs) {
        int groupBlock = groupBlock();
        for (int k = 0; k < n; k++) {
            long b = at + (long) k * groupBlock;
            // the G rows' half d and m, converted exactly (they are finite: checked when packed)
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, data, b, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector d = dh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(dh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            IntVector mh = (IntVector) ShortVector.fromMemorySegment(S, data, b + MINS, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector m = mh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(mh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            for (int u = 0; u < count; u++) {
                int xb = block + u * perRow + k;
                IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k)).reinterpretAsInts();
                IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k) + 2 * G).reinterpretAsInts();
                IntVector sum = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)));
                float dx = a.scales[xb];
                FloatVector acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(dx).fma(d, FloatVector.fromArray(F, accs, G * u));
                m.fma(FloatVector.broadcast(F, (float) (a.offsets[xb] >> 3) * dx), acc).intoArray(accs, G * u);
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
                    int sumA = 0;
                    int sumB = 0;
                    for (int j = 0; j < 16; j++) {
                        sumA += quant(r, b, j) * a.quant(block, j);
                        sumB += quant(r, b, j + 16) * a.quant(block, j + 16);
                    }
                    float dx = a.scales[block];
                    acc = Math.fma((float) (sumA + sumB) * dx, half(r, b, 0), acc);
                    acc = Math.fma(half(r, b, 1), (float) (a.offsets[block] >> 3) * dx, acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long block(int r, int b) {
        return ((long) (r / G) * (cols / 32) + b) * groupBlock();
    }

    /** The unsigned quant (0..15 or 0..31) of row {@code r}, block {@code b}, column {@code j} of the block. */
    private int quant(int r, int b, int j) {
        long lane = 2L * (r % G) + (j & 1);
        if (type == GgmlType.Q5_1) {
            int n = j / 2;
            int word = data.get(I16_LE, block(r, b) + NIBBLES + (long) (n / 3) * WORD_BYTES + 2 * lane) & 0xFFFF;
            return (word >> (5 * (n % 3))) & 31;
        }
        int c = j % 16;
        int nibbles = data.get(I8, block(r, b) + NIBBLES + (long) (c / 2) * STEP_BYTES + lane) & 0xFF;
        return (nibbles >> (4 * (j / 16))) & 0xF;
    }

    /** The step {@code d} (which 0) or the minimum {@code m} (which 1) of row {@code r} in block {@code b}. */
    private float half(int r, int b, int which) {
        return Float.float16ToFloat(data.get(I16_LE, block(r, b) + (long) which * MINS + 2L * (r % G)));
    }

    /** The exact weight, as the file's type computes it: {@code q · d + m}, the product exact, rounded once. */
    private float weight(int r, int b, int j) {
        return quant(r, b, j) * half(r, b, 0) + half(r, b, 1);
    }

    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return weight(row, col / 32, col % 32);
    }
}
