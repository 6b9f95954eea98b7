package dev.rewind.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.B2;
import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.F32_LE;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q2_K matrix regrouped for the {@link Precision#FAST} kernels with its 2-bit quants kept, eight
 * to a 16-bit word, so a decode step reads 2.75 bits per weight (the file: 2.625) and a quant is a
 * shift and a mask of a 16-bit lane. As in {@link Q4_KPacked}, the
 * super-blocks of {@code G = } {@link Simd#LANES} consecutive rows are interleaved so that one
 * vector lane belongs to one row.
 *
 * <p>Layout: group {@code g}, super-block {@code b} (256 columns) takes {@value #BYTES_PER_ROW}·G
 * bytes at {@code (g · superBlocks + b) · 88G}: the G rows' {@code d} as floats, their
 * {@code dmin} as floats; the 16 code bytes of 16 columns as the file has them (scale code in the
 * low nibble, min code in the high one), code {@code u} of the G rows at {@code 8G + uG}; then
 * per block {@code k} of 32 columns two words of 2G little-endian shorts, one per half {@code h}:
 * short {@code 2i + p} of row {@code i} holds at bits {@code 2j, 2j + 1} the quant of column
 * {@code 32k + 16h + 2j + p} ({@code j = 0..7}). A weight is {@code d · sc · q − dmin · m}
 * ({@code q} 0..3, {@code sc} and {@code m} the codes of its 16 columns), exactly what
 * {@link Q2_KMatrix} gives.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}): per 16
 * columns the sum {@code Σ q·x_q} in 16-bit lanes (8 products of at most 3·127 per lane), then per
 * row and block of 32 columns, in column order, the integers {@code T = scA·ΣA + scB·ΣB} (below
 * 2^18) and {@code M = mA·σA + mB·σB} with {@code σ} the activation quants of the 16 columns summed
 * ({@link Q8Rows#sums16}; below 2^16), and {@code acc = fma((float) T · d_x, d, acc)},
 * {@code acc = fma((float) M · −d_x, dmin, acc)}. {@link #multiplyScalar} computes it the same
 * way; a row's result does not depend on the batch nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 88G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q2_KPacked(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: two floats, 16 code bytes, 64 bytes of quants. */
    static final int BYTES_PER_ROW = 88;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int CODES = 8 * G;
    private static final int QUANTS = 24 * G;
    /** Bytes of one word: 2G shorts. */
    private static final int WORD_BYTES = 4 * G;
    private static final int SUB_BYTES = 2 * WORD_BYTES;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q2_KPacked {
        PackedMatrix.checkShape(name, "Q2_K", rows, cols, 256, data, () -> bytesFor(rows, cols));
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
    static boolean pack(Q2_KMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        return PackedMatrix.pack(m, SB, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            MemorySegment dst = buffers.dst();
            float d = Float.float16ToFloat(src.get(I16_LE, at + 80));
            float dmin = Float.float16ToFloat(src.get(I16_LE, at + 82));
            dst.set(F32_LE, o + 4L * i, d);
            dst.set(F32_LE, o + 4L * G + 4L * i, dmin);
            for (int u = 0; u < 16; u++) {
                out[o + CODES + u * G + i] = in[at + u];
            }
            for (int k = 0; k < 8; k++) {
                for (int h = 0; h < 2; h++) {
                    for (int p = 0; p < 2; p++) { // columns 16h + 2j + p of block k, crumb j of one word
                        int word = 0;
                        for (int j = 0; j < 8; j++) {
                            int e = 32 * k + 16 * h + 2 * j + p;
                            // file: crumb (e % 128) / 32 of qs[32·(e / 128) + e % 32]
                            word |= ((in[at + 16 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3) << (2 * j);
                        }
                        PackedMatrix.putShort(out, o + QUANTS + k * SUB_BYTES + h * WORD_BYTES + 2 * (2 * i + p), word);
                    }
                }
            }
            return Float.isFinite(d) && Float.isFinite(dmin);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four. Allocates nothing. Each super-block is two small methods, as in {@link Q6_KPacked}:
     * integer sums into {@code scratch.superBlockSums}, then their scaling into {@code scratch.accs}.
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
                    dots4(a.pairs, (t * perRow + 8 * b) * 16, perRow * 16, at, sums);
                    applyScales(a, t * perRow + 8 * b, perRow, 4, at, sums, accs);
                }
                PackedMatrix.store(accs, 4, out, t, g, rows);
            }
            for (; t < a.count; t++) {
                java.util.Arrays.fill(accs, 0, G, 0f);
                long at = first;
                for (int b = 0; b < blocks; b++, at += SB) {
                    dots1(a.pairs, (t * perRow + 8 * b) * 16, at, sums);
                    applyScales(a, t * perRow + 8 * b, perRow, 1, at, sums, accs);
                }
                PackedMatrix.store(accs, 1, out, t, g, rows);
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed); vectors cross no call of ours.

    /**
     * The products of one super-block (at {@code at}) with one activation row (its pairs from
     * {@code x}): for block {@code k} and half {@code h}, {@code Σ q·x_q} per lane pair into
     * {@code sums[(2k + h) · 2G ..]}. (Fused with its scaling into one method per row group, the
     * one-row kernel boxed vectors in some JVMs: C2's inlining budget, see {@code NoAllocationTest}.)
     */
    private void dots1(int[] pairs, int x, long at, short[] sums) {
        for (int k = 0; k < 8; k++, x += 16) {
            long q = at + QUANTS + (long) k * SUB_BYTES;
            ShortVector v = ShortVector.fromMemorySegment(S2, data, q, LE);
            ShortVector u = ShortVector.fromMemorySegment(S2, data, q + WORD_BYTES, LE);
            ShortVector sa = ShortVector.zero(S2);
            ShortVector sb = ShortVector.zero(S2);
            for (int j = 0; j < 8; j++) {
                sa = sa.add(v.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3).mul(IntVector.broadcast(I, pairs[x + j]).reinterpretAsShorts()));
                sb = sb.add(u.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3).mul(IntVector.broadcast(I, pairs[x + 8 + j]).reinterpretAsShorts()));
            }
            sa.intoArray(sums, 4 * G * k);
            sb.intoArray(sums, 4 * G * k + 2 * G);
        }
    }

    /**
     * The products of one super-block (at {@code at}) with four activation rows (pairs from
     * {@code x}, {@code x + stride}, ...), each step of weights decoded once for the four: for
     * block {@code k} and half {@code h}, row {@code u}'s {@code Σ q·x_q} per lane pair at
     * {@code sums[((8u + k) · 2 + h) · 2G ..]}.
     */
    private void dots4(int[] pairs, int x, int stride, long at, short[] sums) {
        for (int k = 0; k < 8; k++, x += 16) {
            long q = at + QUANTS + (long) k * SUB_BYTES;
            for (int h = 0; h < 2; h++) {
                ShortVector v = ShortVector.fromMemorySegment(S2, data, q + (long) h * WORD_BYTES, LE);
                ShortVector a0 = ShortVector.zero(S2);
                ShortVector a1 = ShortVector.zero(S2);
                ShortVector a2 = ShortVector.zero(S2);
                ShortVector a3 = ShortVector.zero(S2);
                for (int j = 0; j < 8; j++) {
                    ShortVector c = v.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3);
                    int m = x + 8 * h + j;
                    a0 = a0.add(c.mul(IntVector.broadcast(I, pairs[m]).reinterpretAsShorts()));
                    a1 = a1.add(c.mul(IntVector.broadcast(I, pairs[m + stride]).reinterpretAsShorts()));
                    a2 = a2.add(c.mul(IntVector.broadcast(I, pairs[m + 2 * stride]).reinterpretAsShorts()));
                    a3 = a3.add(c.mul(IntVector.broadcast(I, pairs[m + 3 * stride]).reinterpretAsShorts()));
                }
                int o = 4 * G * k + 2 * G * h;
                a0.intoArray(sums, o);
                a1.intoArray(sums, o + 32 * G);
                a2.intoArray(sums, o + 64 * G);
                a3.intoArray(sums, o + 96 * G);
            }
        }
    }

    /**
     * Scales the sums of {@link #dots1} / {@link #dots4} ({@code count} activation rows, the first
     * row's first block of this super-block {@code block}, a row's blocks {@code perRow} apart)
     * into {@code accs[u · G ..]}: per block, in column order,
     * {@code acc = fma((float) T · d_x, d, acc)}, {@code acc = fma((float) M · −d_x, dmin, acc)}
     * with {@code T} and {@code M} as the class comment defines them.
     */
    private void applyScales(Q8Rows a, int block, int perRow, int count, long at, short[] sums, float[] accs) {
        int[] sums16 = a.sums16;
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        FloatVector dmin = FloatVector.fromMemorySegment(F, data, at + 4L * G, LE);
        for (int k = 0; k < 8; k++) {
            ByteVector codes = ByteVector.fromMemorySegment(B2, data, at + CODES + 2L * k * G, LE);
            IntVector codeA = (IntVector) codes.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            IntVector codeB = (IntVector) codes.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 1);
            IntVector scaleA = codeA.and(0xF);
            IntVector scaleB = codeB.and(0xF);
            IntVector minA = codeA.lanewise(VectorOperators.LSHR, 4);
            IntVector minB = codeB.lanewise(VectorOperators.LSHR, 4);
            for (int u = 0; u < count; u++) {
                int xb = block + u * perRow + k;
                IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k)).reinterpretAsInts();
                IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * (8 * u + k) + 2 * G).reinterpretAsInts();
                IntVector total = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .mul(scaleA)
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                                .mul(scaleB));
                IntVector mins = minA.mul(sums16[2 * xb]).add(minB.mul(sums16[2 * xb + 1]));
                float dx = a.scales[xb];
                FloatVector acc = ((FloatVector) total.convert(VectorOperators.I2F, 0)).mul(dx).fma(d, FloatVector.fromArray(F, accs, G * u));
                ((FloatVector) mins.convert(VectorOperators.I2F, 0)).mul(-dx).fma(dmin, acc).intoArray(accs, G * u);
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
                    int sumA = 0;
                    int sumB = 0;
                    for (int j = 0; j < 16; j++) {
                        sumA += quant(r, b32, j) * a.quant(block, j);
                        sumB += quant(r, b32, j + 16) * a.quant(block, j + 16);
                    }
                    int codeA = code(r, b32, 0);
                    int codeB = code(r, b32, 1);
                    int total = sumA * (codeA & 0xF) + sumB * (codeB & 0xF);
                    int mins = (codeA >> 4) * a.sums16[2 * block] + (codeB >> 4) * a.sums16[2 * block + 1];
                    float dx = a.scales[block];
                    acc = Math.fma((float) total * dx, d(r, b32), acc);
                    acc = Math.fma((float) mins * -dx, dmin(r, b32), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long superBlock(int r, int b32) {
        return ((long) (r / G) * (cols / 256) + b32 / 8) * SB;
    }

    /** The quant (0..3) of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int quant(int r, int b32, int j) {
        long at = superBlock(r, b32) + QUANTS + (long) (b32 % 8) * SUB_BYTES + (long) (j / 16) * WORD_BYTES + 2L * (2 * (r % G) + (j & 1));
        return (data.get(I16_LE, at) >> (2 * ((j % 16) / 2))) & 3;
    }

    /** The code byte (scale code | min code &lt;&lt; 4) of half {@code half} of block {@code b32} of row {@code r}. */
    private int code(int r, int b32, int half) {
        return data.get(I8, superBlock(r, b32) + CODES + (long) (2 * (b32 % 8) + half) * G + r % G) & 0xFF;
    }

    private float d(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * (r % G));
    }

    private float dmin(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * G + 4L * (r % G));
    }

    /** The exact weight, as {@link Q2_KMatrix} computes it: {@code (d · sc) · q − dmin · m}, rounded once. */
    private float weight(int r, int b32, int j) {
        int c = code(r, b32, j / 16);
        return d(r, b32) * (c & 0xF) * quant(r, b32, j) - dmin(r, b32) * (c >> 4);
    }

    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return weight(row, col / 32, col % 32);
    }
}
