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
import static dev.rewind.engine.tensor.Simd.I32_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q3_K matrix regrouped for the {@link Precision#FAST} kernels, one signed byte per weight:
 * integer quants times per-16 integer scales times a per-256 float. The layout and kernel also
 * carry a per-256 {@code dmin} and per-32 mins, which Q3_K does not use (they are 0); Q5_K and Q6_K
 * once shared them and now have word layouts of their own ({@link Q5_KPacked}, {@link Q6_KPacked}),
 * at 6.75 and 6.63 bits per weight against this layout's 9.25. As in {@link Q4_0Packed}, the
 * super-blocks of {@code G = } {@link Simd#LANES} consecutive rows are interleaved so that one
 * vector lane belongs to one row.
 *
 * <p>Layout: group {@code g}, super-block {@code b} (256 columns) takes {@value #BYTES_PER_ROW}·G
 * bytes at {@code (g · superBlocks + b) · 296G}: the G rows' {@code d} as floats, their
 * {@code dmin} as floats (0 for Q3_K), then for each 32-column block the G rows' codes as
 * ints ({@code scaleA | scaleB << 8 | min << 16}: the signed scales of its two halves of 16
 * columns and its unsigned min), then the 8 blocks' quants, 16 steps of 2G bytes each: in step
 * {@code s}, bytes {@code 2i, 2i+1} are row {@code i}'s quants of columns {@code 2s, 2s+1}. A
 * weight is {@code d · scale · q − dmin · min}, for Q3_K {@code q − 4} with {@code scale − 32} and
 * no min: exactly the value {@link Q3_KMatrix} gives.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}): per half
 * block the sum {@code Σ q·x_q} in 16-bit lanes (8 products of at most 32·127 per lane), then per
 * row and block, in column order, the integer {@code T = scaleA·ΣA + scaleB·ΣB} (below 2^24:
 * exact in float) and {@code acc = fma((float) T · d_x, d, acc)},
 * {@code acc = fma(dmin · min, −(float) Σx_q · d_x, acc)}. {@link #multiplyScalar} computes it the
 * same way; a row's result does not depend on the batch nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param type the file's type: Q3_K
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 296G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record K8Packed(String name, GgmlType type, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: two floats, 8 ints of codes, 256 quants. */
    static final int BYTES_PER_ROW = 296;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int CODES = 8 * G;
    private static final int QUANTS = 40 * G;
    private static final int BLOCK_BYTES = 32 * G;
    private static final int STEP_BYTES = 2 * G;

    /** @throws IllegalArgumentException if the type or shape is invalid or {@code data} has the wrong size */
    public K8Packed {
        if (type != GgmlType.Q3_K) {
            throw new IllegalArgumentException("tensor '" + name + "': no byte-packed form of " + type);
        }
        PackedMatrix.checkShape(name, type.toString(), rows, cols, 256, data, () -> bytesFor(rows, cols));
    }

    /** Bytes the packed form of a {@code rows × cols} matrix takes (the last group padded with zero rows). */
    static long bytesFor(int rows, int cols) {
        return PackedMatrix.bytesFor(rows, cols, 256, SB);
    }

    /**
     * Regroups {@code m}'s super-blocks (a {@link Q3_KMatrix}) into {@code into} (of {@link #bytesFor} bytes); groups
     * {@code [fromGroup, toGroup)}. Returns false if a scale is not finite (such a matrix is used
     * unpacked).
     */
    static boolean pack(WeightMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        int[] codes = new int[8];
        byte[] q = new byte[256];
        float[] scales = new float[2];
        return PackedMatrix.pack(m, SB, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            MemorySegment dst = buffers.dst();
            boolean finite = true;
            q3k(src, in, at, codes, q, scales);
            finite &= Float.isFinite(scales[0]) && Float.isFinite(scales[1]);
            dst.set(F32_LE, o + 4L * i, scales[0]);
            dst.set(F32_LE, o + 4L * G + 4L * i, scales[1]);
            for (int k = 0; k < 8; k++) {
                dst.set(I32_LE, o + CODES + 4L * (k * G + i), codes[k]);
                for (int j = 0; j < 32; j++) {
                    out[o + QUANTS + k * BLOCK_BYTES + (j / 2) * STEP_BYTES + 2 * i + (j & 1)] = q[32 * k + j];
                }
            }
            return finite;
        });
    }

    private static int codes(int scaleA, int scaleB, int min) {
        return (scaleA & 0xFF) | (scaleB & 0xFF) << 8 | min << 16;
    }

    /** Q3_K (110 bytes: hmask[32], qs[64], 12 bytes of scales, half d): {@code d · (sc − 32) · (q − 4)}. */
    private static void q3k(MemorySegment s, byte[] in, int at, int[] codes, byte[] q, float[] scales) {
        scales[0] = Float.float16ToFloat(s.get(I16_LE, at + 108));
        scales[1] = 0f;
        for (int k = 0; k < 8; k++) {
            codes[k] = codes(KScales.q3kScale(s, at + 96, 2 * k), KScales.q3kScale(s, at + 96, 2 * k + 1), 0);
        }
        for (int e = 0; e < 256; e++) {
            int qs = in[at + 32 + 32 * (e / 128) + e % 32] & 0xFF;
            int low = (qs >> (2 * ((e % 128) / 32))) & 3;
            int high = ((in[at + e % 32] & 0xFF) >> (e / 32)) & 1;
            q[e] = (byte) (high != 0 ? low : low - 4);
        }
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four. Allocates nothing.
     */
    void multiply(Q8Rows a, int fromGroup, int toGroup, float[] out, PackedScratch scratch) {
        if (a.cols != cols) {
            throw new IllegalArgumentException("activations of " + a.cols + " columns for a matrix of " + cols);
        }
        for (int g = fromGroup; g < toGroup; g++) {
            int t = 0;
            for (; t + 4 <= a.count; t += 4) {
                group4(a, t, g, out, scratch.sums, scratch.accs);
            }
            for (; t < a.count; t++) {
                group1(a, t, g, out);
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed).

    /** Group {@code g} against activation row {@code t}. */
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
            for (int k = 0; k < 8; k++, x += 16, block++) {
                long q = at + QUANTS + (long) k * BLOCK_BYTES;
                ShortVector sa = ShortVector.zero(S2);
                ShortVector sb = ShortVector.zero(S2);
                for (int s = 0; s < 8; s++) {
                    sa = sa.add(((ShortVector) ByteVector.fromMemorySegment(B2, data, q + (long) s * STEP_BYTES, LE)
                            .convertShape(VectorOperators.B2S, S2, 0)).mul(IntVector.broadcast(I, pairs[x + s]).reinterpretAsShorts()));
                    sb = sb.add(((ShortVector) ByteVector.fromMemorySegment(B2, data, q + (long) (s + 8) * STEP_BYTES, LE)
                            .convertShape(VectorOperators.B2S, S2, 0)).mul(IntVector.broadcast(I, pairs[x + 8 + s]).reinterpretAsShorts()));
                }
                IntVector ia = sa.reinterpretAsInts();
                IntVector ib = sb.reinterpretAsInts();
                IntVector c = IntVector.fromMemorySegment(I, data, at + CODES + 4L * k * G, LE);
                IntVector sum = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .mul(c.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24))
                        .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                                .mul(c.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24)));
                float dx = a.scales[block];
                acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(dx).fma(d, acc);
                acc = ((FloatVector) c.lanewise(VectorOperators.LSHR, 16).convert(VectorOperators.I2F, 0)).mul(dmin)
                        .fma(FloatVector.broadcast(F, -((float) (a.offsets[block] >> 3) * dx)), acc);
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
     * Group {@code g} against activation rows {@code t .. t+3}: each step of weights widened once
     * for the four rows, whose half-block sums pass through {@code sums} (two halves of 2G shorts
     * per row) and whose accumulators live in {@code accs}, as in {@link Q4_0Packed}.
     */
    private void group4(Q8Rows a, int t, int g, float[] out, short[] sums, float[] accs) {
        int blocks = cols / 256;
        int perRow = cols / 32;
        long at = (long) g * blocks * SB;
        int[] pairs = a.pairs;
        int x0 = t * perRow * 16;
        int x1 = x0 + perRow * 16;
        int x2 = x1 + perRow * 16;
        int x3 = x2 + perRow * 16;
        java.util.Arrays.fill(accs, 0, 4 * G, 0f);
        for (int b = 0; b < blocks; b++, at += SB) {
            for (int k = 0; k < 8; k++, x0 += 16, x1 += 16, x2 += 16, x3 += 16) {
                long q = at + QUANTS + (long) k * BLOCK_BYTES;
                for (int half = 0; half < 2; half++) {
                    ShortVector s0 = ShortVector.zero(S2);
                    ShortVector s1 = ShortVector.zero(S2);
                    ShortVector s2 = ShortVector.zero(S2);
                    ShortVector s3 = ShortVector.zero(S2);
                    for (int s = 8 * half; s < 8 * half + 8; s++) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B2, data, q + (long) s * STEP_BYTES, LE).convertShape(VectorOperators.B2S, S2, 0);
                        s0 = s0.add(v.mul(IntVector.broadcast(I, pairs[x0 + s]).reinterpretAsShorts()));
                        s1 = s1.add(v.mul(IntVector.broadcast(I, pairs[x1 + s]).reinterpretAsShorts()));
                        s2 = s2.add(v.mul(IntVector.broadcast(I, pairs[x2 + s]).reinterpretAsShorts()));
                        s3 = s3.add(v.mul(IntVector.broadcast(I, pairs[x3 + s]).reinterpretAsShorts()));
                    }
                    s0.intoArray(sums, 2 * G * half);
                    s1.intoArray(sums, 2 * G * (2 + half));
                    s2.intoArray(sums, 2 * G * (4 + half));
                    s3.intoArray(sums, 2 * G * (6 + half));
                }
                IntVector c = IntVector.fromMemorySegment(I, data, at + CODES + 4L * k * G, LE);
                IntVector scaleA = c.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24);
                IntVector scaleB = c.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24);
                FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
                FloatVector m1 = ((FloatVector) c.lanewise(VectorOperators.LSHR, 16).convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromMemorySegment(F, data, at + 4L * G, LE));
                for (int u = 0, block = t * perRow + b * 8 + k; u < 4; u++, block += perRow) {
                    IntVector ia = ShortVector.fromArray(S2, sums, 4 * G * u).reinterpretAsInts();
                    IntVector ib = ShortVector.fromArray(S2, sums, 4 * G * u + 2 * G).reinterpretAsInts();
                    IntVector sum = ia.lanewise(VectorOperators.ASHR, 16).add(ia.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                            .mul(scaleA)
                            .add(ib.lanewise(VectorOperators.ASHR, 16).add(ib.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                                    .mul(scaleB));
                    float dx = a.scales[block];
                    FloatVector acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(dx).fma(d, FloatVector.fromArray(F, accs, G * u));
                    m1.fma(FloatVector.broadcast(F, -((float) (a.offsets[block] >> 3) * dx)), acc).intoArray(accs, G * u);
                }
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
                    int c = codes(r, b32);
                    int total = sumA * (byte) c + sumB * (byte) (c >> 8);
                    float dx = a.scales[block];
                    acc = Math.fma((float) total * dx, d(r, b32), acc);
                    acc = Math.fma((float) (c >>> 16) * dmin(r, b32), -((float) (a.offsets[block] >> 3) * dx), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long superBlock(int r, int b32) {
        return ((long) (r / G) * (cols / 256) + b32 / 8) * SB;
    }

    /** The signed quant of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int quant(int r, int b32, int j) {
        return data.get(I8, superBlock(r, b32) + QUANTS + (long) (b32 % 8) * BLOCK_BYTES + (long) (j / 2) * STEP_BYTES + 2L * (r % G) + (j & 1));
    }

    private int codes(int r, int b32) {
        return data.get(I32_LE, superBlock(r, b32) + CODES + 4L * ((b32 % 8) * G + r % G));
    }

    private float d(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * (r % G));
    }

    private float dmin(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * G + 4L * (r % G));
    }

    /**
     * The exact weight, computed as the file's type computes it: {@code (d · scale) · q − dmin · min}
     * (each product exact in float; Q3_K has no min, so no rounding at all).
     */
    private float weight(int r, int b32, int j) {
        int c = codes(r, b32);
        int scale = j < 16 ? (byte) c : (byte) (c >> 8);
        return d(r, b32) * scale * quant(r, b32, j) - dmin(r, b32) * (c >>> 16);
    }

    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return weight(row, col / 32, col % 32);
    }
}
