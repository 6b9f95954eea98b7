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
 * An IQ4_XS matrix regrouped for the {@link Precision#FAST} kernels with its 4-bit level codes
 * kept, so a decode step reads 4.375 bits per weight (the file: 4.25). As in {@link Q4_0Packed},
 * the super-blocks of {@code G = } {@link Simd#LANES} consecutive rows are interleaved so that one
 * vector lane belongs to one row.
 *
 * <p>Layout: group {@code g}, super-block {@code b} (256 columns) takes {@value #BYTES_PER_ROW}·G
 * bytes at {@code (g · superBlocks + b) · 140G}: the G rows' {@code d} as floats; the 8 block
 * scales {@code ls − 32} (−32..31) as signed bytes, scale {@code k} of the G rows at {@code 4G + kG};
 * then per block of 32 columns 8 steps of 2G bytes: in step {@code s}, byte {@code 2i + p} of row
 * {@code i} holds the level code of column {@code 2s + p} (low nibble) and of column
 * {@code 2s + p + 16} (high nibble), as {@link Q4_0Packed}. A weight is
 * {@code (d · (ls − 32)) · LEVELS[code]} ({@link IQ4_NLMatrix#LEVELS}), exactly what
 * {@link IQ4_XSMatrix} gives.
 *
 * <p>The product ({@link #multiply}) runs against 8-bit activations ({@link Q8Rows}), as ggml runs
 * IQ4_XS against Q8_K: each step looks its codes up in the level table in 16-bit lanes
 * ({@code selectFrom}), multiplies them by the activation pairs and, since a level times a quant
 * reaches 127·127, adds the two products of a lane (at most 32,258) to 32-bit sums at once. Then
 * per row and block, in column order, the integer {@code T = (ls − 32) · Σ level·x_q} (at most
 * 32·32·127·127, below 2^24: exact in float) and {@code acc = fma((float) T · d_x, d, acc)}.
 * {@link #multiplyScalar} computes it the same way; a row's result does not depend on the batch
 * nor on the vector width.
 *
 * <p>{@link #dot}, {@link #dotScalar} and {@link #dequantizeRow} are exact and slow.
 *
 * @param name tensor name
 * @param data the regrouped super-blocks, {@code ceil(rows / G) · cols / 256 · 140G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 256
 */
public record IQ4_XSPacked(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    /** Bytes one row takes in one super-block: a float, 8 scale bytes, 128 bytes of level codes. */
    static final int BYTES_PER_ROW = 140;
    private static final int G = LANES;
    private static final int SB = BYTES_PER_ROW * G;
    private static final int SCALES = 4 * G;
    private static final int QUANTS = 12 * G;
    private static final int BLOCK_BYTES = 16 * G;
    private static final int STEP_BYTES = 2 * G;

    /**
     * {@link IQ4_NLMatrix#LEVELS} repeated over two vectors of {@link Simd#S2}: at every width
     * {@code codes.selectFrom(first, second)} of the two vectors looks codes 0..15 up.
     */
    private static final short[] TABLE = table();

    private static short[] table() {
        short[] t = new short[2 * S2.length()];
        for (int i = 0; i < t.length; i++) {
            t[i] = (short) IQ4_NLMatrix.LEVELS[i % 16];
        }
        return t;
    }

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public IQ4_XSPacked {
        PackedMatrix.checkShape(name, "IQ4_XS", rows, cols, 256, data, () -> bytesFor(rows, cols));
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
    static boolean pack(IQ4_XSMatrix m, MemorySegment into, int fromGroup, int toGroup) {
        return PackedMatrix.pack(m, SB, into, fromGroup, toGroup, (buffers, at, o, i) -> {
            byte[] in = buffers.in();
            MemorySegment src = buffers.src();
            byte[] out = buffers.out();
            MemorySegment dst = buffers.dst();
            float d = Float.float16ToFloat(src.get(I16_LE, at));
            dst.set(F32_LE, o + 4L * i, d);
            int high = src.get(I16_LE, at + 2) & 0xFFFF;
            for (int k = 0; k < 8; k++) {
                int low = ((in[at + 4 + k / 2] & 0xFF) >> (4 * (k % 2))) & 0x0F;
                out[o + SCALES + k * G + i] = (byte) ((low | ((high >> (2 * k)) & 3) << 4) - 32);
                for (int c = 0; c < 16; c++) {
                    out[o + QUANTS + k * BLOCK_BYTES + (c / 2) * STEP_BYTES + 2 * i + (c & 1)] = in[at + 8 + 16 * k + c];
                }
            }
            return Float.isFinite(d);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    /**
     * For every activation row {@code t < a.count} and every row of groups
     * {@code [fromGroup, toGroup)}: {@code out[t * rows + r] = } row {@code r} · activation
     * {@code t}, as the class comment defines it; four activation rows at once where there are
     * four. Allocates nothing. For four rows each super-block is small methods, as in
     * {@link Q6_KPacked}: 32-bit sums into {@code scratch.superBlockSums} (two rows per call),
     * then their scaling into {@code scratch.accs}.
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
                    int x = (t * perRow + 8 * b) * 16;
                    dots2(a.pairs, x, perRow * 16, at, sums, 0);
                    dots2(a.pairs, x + 2 * perRow * 16, perRow * 16, at, sums, 2);
                    applyScales4(a, t * perRow + 8 * b, perRow, at, sums, accs);
                }
                PackedMatrix.store(accs, 4, out, t, g, rows);
            }
            for (; t < a.count; t++) {
                group1(a, t, g, out);
            }
        }
    }

    // Nothing but Vector API calls inside the loops (see Q4_0Packed); vectors cross no call of ours.

    /** Group {@code g} against activation row {@code t}, in one method: the sums never leave registers. */
    private void group1(Q8Rows a, int t, int g, float[] out) {
        int blocks = cols / 256;
        long at = (long) g * blocks * SB;
        int[] pairs = a.pairs;
        int x = t * (cols / 32) * 16;
        int block = t * (cols / 32);
        ShortVector levels0 = ShortVector.fromArray(S2, TABLE, 0);
        ShortVector levels1 = ShortVector.fromArray(S2, TABLE, S2.length());
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += SB) {
            FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
            for (int k = 0; k < 8; k++, x += 16, block++) {
                long q = at + QUANTS + (long) k * BLOCK_BYTES;
                IntVector sum = IntVector.zero(I);
                for (int s = 0; s < 8; s++) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B2, data, q + (long) s * STEP_BYTES, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
                    IntVector p = v.and((short) 0xF).selectFrom(levels0, levels1).mul(IntVector.broadcast(I, pairs[x + s]).reinterpretAsShorts())
                            .add(v.lanewise(VectorOperators.LSHR, 4).selectFrom(levels0, levels1)
                                    .mul(IntVector.broadcast(I, pairs[x + 8 + s]).reinterpretAsShorts()))
                            .reinterpretAsInts();
                    sum = sum.add(p.lanewise(VectorOperators.ASHR, 16)).add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                }
                // the scales of blocks k and k + 1 (or the first quants, for k = 7): block k's are the first G
                IntVector scale = (IntVector) ByteVector.fromMemorySegment(B2, data, at + SCALES + (long) k * G, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                acc = ((FloatVector) sum.mul(scale).convert(VectorOperators.I2F, 0)).mul(a.scales[block]).fma(d, acc);
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
     * The 32-bit sums {@code Σ level·x_q} of one super-block (at {@code at}) with two activation
     * rows (pairs from {@code x} and {@code x + stride}), each step of codes looked up once for
     * the two: row {@code u}'s ({@code u = first, first + 1}) sum of block {@code k} at
     * {@code sums[2G·(8u + k) ..]} (G ints written as 2G shorts). Two rows, not four, per call:
     * with four the method's Vector API calls outgrew C2's inlining budget in some JVMs (its last
     * vectors boxed, see {@code NoAllocationTest}).
     */
    private void dots2(int[] pairs, int x, int stride, long at, short[] sums, int first) {
        ShortVector levels0 = ShortVector.fromArray(S2, TABLE, 0);
        ShortVector levels1 = ShortVector.fromArray(S2, TABLE, S2.length());
        for (int k = 0; k < 8; k++, x += 16) {
            long q = at + QUANTS + (long) k * BLOCK_BYTES;
            IntVector a0 = IntVector.zero(I);
            IntVector a1 = IntVector.zero(I);
            for (int s = 0; s < 8; s++) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B2, data, q + (long) s * STEP_BYTES, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
                ShortVector lo = v.and((short) 0xF).selectFrom(levels0, levels1);
                ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).selectFrom(levels0, levels1);
                IntVector p0 = lo.mul(IntVector.broadcast(I, pairs[x + s]).reinterpretAsShorts())
                        .add(hi.mul(IntVector.broadcast(I, pairs[x + 8 + s]).reinterpretAsShorts())).reinterpretAsInts();
                IntVector p1 = lo.mul(IntVector.broadcast(I, pairs[x + stride + s]).reinterpretAsShorts())
                        .add(hi.mul(IntVector.broadcast(I, pairs[x + stride + 8 + s]).reinterpretAsShorts())).reinterpretAsInts();
                a0 = a0.add(p0.lanewise(VectorOperators.ASHR, 16)).add(p0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                a1 = a1.add(p1.lanewise(VectorOperators.ASHR, 16)).add(p1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            }
            a0.reinterpretAsShorts().intoArray(sums, 2 * G * (8 * first + k));
            a1.reinterpretAsShorts().intoArray(sums, 2 * G * (8 * (first + 1) + k));
        }
    }

    /**
     * Scales the sums of {@link #dots2} (four activation rows, the first row's first block of this
     * super-block {@code block}, a row's blocks {@code perRow} apart) into {@code accs[u · G ..]}:
     * per block, in column order, {@code acc = fma((float) ((ls − 32) · Σ) · d_x, d, acc)}.
     */
    private void applyScales4(Q8Rows a, int block, int perRow, long at, short[] sums, float[] accs) {
        FloatVector d = FloatVector.fromMemorySegment(F, data, at, LE);
        for (int k = 0; k < 8; k++) {
            IntVector scale = (IntVector) ByteVector.fromMemorySegment(B2, data, at + SCALES + (long) k * G, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            for (int u = 0; u < 4; u++) {
                IntVector sum = ShortVector.fromArray(S2, sums, 2 * G * (8 * u + k)).reinterpretAsInts();
                ((FloatVector) sum.mul(scale).convert(VectorOperators.I2F, 0)).mul(a.scales[block + u * perRow + k])
                        .fma(d, FloatVector.fromArray(F, accs, G * u)).intoArray(accs, G * u);
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
                        sum += IQ4_NLMatrix.LEVELS[code(r, b32, j)] * a.quant(block, j);
                    }
                    acc = Math.fma((float) (sum * scale(r, b32)) * a.scales[block], d(r, b32), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    private long superBlock(int r, int b32) {
        return ((long) (r / G) * (cols / 256) + b32 / 8) * SB;
    }

    /** The level code (0..15) of row {@code r}, 32-column block {@code b32}, column {@code j} of that block. */
    private int code(int r, int b32, int j) {
        int c = j % 16;
        long at = superBlock(r, b32) + QUANTS + (long) (b32 % 8) * BLOCK_BYTES + (long) (c / 2) * STEP_BYTES + 2L * (r % G) + (c & 1);
        return ((data.get(I8, at) & 0xFF) >> (4 * (j / 16))) & 0xF;
    }

    /** The block scale {@code ls − 32} of block {@code b32} of row {@code r}. */
    private int scale(int r, int b32) {
        return data.get(I8, superBlock(r, b32) + SCALES + (long) (b32 % 8) * G + r % G);
    }

    private float d(int r, int b32) {
        return data.get(F32_LE, superBlock(r, b32) + 4L * (r % G));
    }

    /** The exact weight, as {@link IQ4_XSMatrix} computes it: {@code (d · (ls − 32)) · level}, exact in float. */
    private float weight(int r, int b32, int j) {
        return d(r, b32) * scale(r, b32) * IQ4_NLMatrix.LEVELS[code(r, b32, j)];
    }

    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return weight(row, col / 32, col % 32);
    }
}
