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
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;
import static dev.rewind.engine.tensor.Simd.S2;

/**
 * A Q4_K matrix regrouped for the {@link Precision#FAST} kernels, the way {@link Q4_0Packed}
 * regroups Q4_0: the super-blocks of {@code G = } {@link Simd#LANES} consecutive rows are
 * interleaved so that one vector lane belongs to one row.
 *
 * <p>Layout: group {@code g}, super-block {@code b} (columns {@code 256b .. 256b+255}) takes
 * {@value #BYTES_PER_ROW}·G bytes at {@code (g · superBlocks + b) · 152G}: the G rows' {@code d}
 * as floats, their {@code dmin} as floats, then for each of the 8 sub-blocks the G rows' codes as
 * shorts ({@code scale | min << 8}, the 6-bit codes of {@link KScales}), then the 8 sub-blocks'
 * quants, 16G bytes each: four steps of 2G little-endian 16-bit words, word {@code 2i + p} of step
 * {@code w} holding row {@code i}'s quants of columns {@code 8w + 2n + p} in its nibble {@code n}
 * (from the low end), so that one vector load gives 2G lanes of four quants each with no
 * widening. Every weight is {@code d·scale · q − dmin·min}, the
 * value {@link Q4_KMatrix} gives it.
 *
 * <p>The product ({@link #multiply}) runs against activations quantized to 8 bits
 * ({@link Q8Rows}), as ggml runs Q4_K against 8-bit activations: per sub-block the integer sum
 * {@code Σ q·x_q} is made in 16-bit lanes as in Q4_0 (at most 16 products of 15·127 per lane),
 * then per row and sub-block, in column order:
 * {@code acc = fma((float) Σq·x_q · d_x, d·scale, acc)} and
 * {@code acc = fma(dmin·min, −(float) Σx_q · d_x, acc)}. {@link #multiplyScalar} computes it the
 * same way; the result of a row does not depend on how many activation rows are multiplied at
 * once, nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 152G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record Q4_KPacked(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: two floats, 8 shorts of codes, 128 quant bytes. */
    static final int BYTES_PER_ROW = 152;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int CODES = 8 * G;
    private static final int QUANTS = 24 * G;
    private static final int SUB_BYTES = 16 * G;
    private static final int STEP_BYTES = 4 * G;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q4_KPacked {
        PackedMatrix.checkShape(name, "Q4_K", rows, cols, 256, data, () -> bytesFor(rows, cols));
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
    static boolean pack(Q4_KMatrix m, MemorySegment into, int fromGroup, int toGroup) {
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
                dst.set(I16_LE, o + CODES + 2L * (s * G + i), (short) codes);
                int qs = at + 16 + 32 * (s / 2);
                int shift = 4 * (s % 2);
                for (int c = 0; c < 32; c += 8) { // step c / 8: one word per column parity, nibble n = column c + 2n + p
                    for (int p = 0; p < 2; p++) {
                        int word = 0;
                        for (int n = 0; n < 4; n++) {
                            word |= ((in[qs + c + 2 * n + p] >> shift) & 0xF) << (4 * n);
                        }
                        PackedMatrix.putShort(out, o + QUANTS + s * SUB_BYTES + (c / 8) * STEP_BYTES + 2 * (2 * i + p), word);
                    }
                }
            }
            return Float.isFinite(d) && Float.isFinite(dmin);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
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
            for (int sub = 0; sub < 8; sub++, x += 16, block++) {
                long q = at + QUANTS + (long) sub * SUB_BYTES;
                ShortVector s0 = ShortVector.zero(S2);
                ShortVector s1 = ShortVector.zero(S2);
                for (int w = 0; w < 4; w++) {
                    ShortVector v = ShortVector.fromMemorySegment(S2, data, q + (long) w * STEP_BYTES, LE);
                    s0 = s0.add(v.and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + 4 * w]).reinterpretAsShorts()))
                            .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + 4 * w + 1]).reinterpretAsShorts()));
                    s1 = s1.add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(IntVector.broadcast(I, pairs[x + 4 * w + 2]).reinterpretAsShorts()))
                            .add(v.lanewise(VectorOperators.LSHR, 12).mul(IntVector.broadcast(I, pairs[x + 4 * w + 3]).reinterpretAsShorts()));
                }
                IntVector sum = s0.add(s1).reinterpretAsInts();
                IntVector codes = (IntVector) ShortVector.fromMemorySegment(S, data, at + CODES + 2L * sub * G, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector d1 = ((FloatVector) codes.and(0xFF).convert(VectorOperators.I2F, 0)).mul(d);
                FloatVector m1 = ((FloatVector) codes.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(dmin);
                float dx = a.scales[block];
                acc = ((FloatVector) sum.lanewise(VectorOperators.ASHR, 16)
                        .add(sum.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convert(VectorOperators.I2F, 0)).mul(dx).fma(d1, acc);
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
     * The products of one super-block (at {@code at}) with four activation rows (their pairs from
     * {@code x}, {@code x + stride}, ...), each step of weights decoded once for the four: row
     * {@code u}'s {@code Σ q·x_q} of sub-block {@code k} per lane pair into {@code sums[(8u + k) · 2G ..]}.
     * Apart from the scaling ({@link #applyScales4}) so that each method stays small enough for C2
     * to inline all its Vector API calls (see {@link Q6_KPacked#multiply}).
     */
    private void dots4(int[] pairs, int x, int stride, long at, short[] sums) {
        long q = at + QUANTS;
        for (int k = 0; k < 8; k++, x += 16, q += SUB_BYTES) {
            ShortVector s0 = ShortVector.zero(S2);
            ShortVector s1 = ShortVector.zero(S2);
            ShortVector s2 = ShortVector.zero(S2);
            ShortVector s3 = ShortVector.zero(S2);
            for (int w = 0; w < 4; w++) {
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
            s0.intoArray(sums, 2 * G * k);
            s1.intoArray(sums, 2 * G * (8 + k));
            s2.intoArray(sums, 2 * G * (16 + k));
            s3.intoArray(sums, 2 * G * (24 + k));
        }
    }

    /**
     * Scales the sums of {@link #dots4} (the first row's first block of this super-block
     * {@code block}, a row's blocks {@code perRow} apart) into {@code accs[u · G ..]}, per
     * sub-block in column order as the class comment says.
     */
    private void applyScales4(Q8Rows a, int block, int perRow, long at, short[] sums, float[] accs) {
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        FloatVector dmin = FloatVector.fromMemorySegment(F, data, at + 4L * G, LE);
        for (int k = 0; k < 8; k++) {
            IntVector codes = (IntVector) ShortVector.fromMemorySegment(S, data, at + CODES + 2L * k * G, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector d1 = ((FloatVector) codes.and(0xFF).convert(VectorOperators.I2F, 0)).mul(d);
            FloatVector m1 = ((FloatVector) codes.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(dmin);
            for (int u = 0; u < 4; u++) {
                int xb = block + u * perRow + k;
                IntVector both = ShortVector.fromArray(S2, sums, 2 * G * (8 * u + k)).reinterpretAsInts();
                float dx = a.scales[xb];
                FloatVector acc = ((FloatVector) both.lanewise(VectorOperators.ASHR, 16)
                        .add(both.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convert(VectorOperators.I2F, 0)).mul(dx).fma(d1, FloatVector.fromArray(F, accs, G * u));
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

    /** The 4-bit quant of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int quant(int r, int b32, int j) {
        long at = superBlock(r, b32) + QUANTS + (long) (b32 % 8) * SUB_BYTES + (long) (j / 8) * STEP_BYTES + 2L * (2 * (r % G) + (j & 1));
        return (data.get(I16_LE, at) >> (4 * ((j % 8) / 2))) & 0xF;
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
