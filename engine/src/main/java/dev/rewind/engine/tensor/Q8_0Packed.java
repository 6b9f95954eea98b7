package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I8;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;

/**
 * A Q8_0 matrix with its blocks regrouped for the {@link Precision#FAST} kernels: the blocks of
 * {@code G = } {@link Simd#LANES} consecutive rows are interleaved so that one vector lane belongs
 * to one row, and a group of rows is multiplied at once with no sum across lanes.
 *
 * <p>Layout: group {@code g} (rows {@code gG .. gG+G-1}; rows past the end are zero), block
 * {@code b} takes 34G bytes at {@code (g · blocks + b) · 34G}: the G rows' half scales {@code d},
 * then 8 steps of 4G bytes; in step {@code s}, the 4 bytes at {@code 4i} are quants
 * {@code 4s .. 4s+3} of row {@code i}'s block (weights {@code d · q}, as in {@link Q8_0Matrix}),
 * so one int lane holds four consecutive weights of its row, a step is one vector load and
 * packing copies ints.
 *
 * <p>The product ({@link #multiply}) keeps the activations in float, so it computes what the exact
 * path computes, in another order: per row and block, two partial sums of {@code q · x} (even and
 * odd columns, each in column order), then {@code acc = fma(even + odd, d, acc)} in block order.
 * That order is the same whether one or four activation rows are multiplied at once, so a row's
 * result never depends on the batch it is in; {@link #multiplyScalar} computes it the same way.
 *
 * <p>The kernels are written with nothing but Vector API calls inside their loops: the JIT always
 * inlines those, but not always a helper method of ours, and a vector passed to or returned from
 * a method that is not inlined lives in a heap box (measured several times slower).
 *
 * @param name tensor name
 * @param data the regrouped blocks, {@code ceil(rows / G) · cols / 32 · 34G} bytes
 * @param rows number of rows
 * @param cols number of columns, a multiple of 32
 */
public record Q8_0Packed(String name, MemorySegment data, int rows, int cols) implements PackedMatrix {

    private static final int G = LANES;
    private static final int GROUP_BLOCK = 34 * G;

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public Q8_0Packed {
        PackedMatrix.checkShape(name, "Q8_0", rows, cols, 32, data, () -> bytesFor(rows, cols));
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
    static boolean pack(Q8_0Matrix m, MemorySegment into, int fromGroup, int toGroup) {
        return PackedMatrix.pack(m, GROUP_BLOCK, into, fromGroup, toGroup, (buffers, src, o, i) -> {
            byte[] in = buffers.in();
            byte[] out = buffers.out();
            out[o + 2 * i] = in[src];
            out[o + 2 * i + 1] = in[src + 1];
            for (int s = 0, q = src + 2, d = o + 2 * G + 4 * i; s < 8; s++, q += 4, d += 4 * G) {
                out[d] = in[q];
                out[d + 1] = in[q + 1];
                out[d + 2] = in[q + 2];
                out[d + 3] = in[q + 3];
            }
            return PackedMatrix.finiteHalf(in[src + 1]);
        });
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    /**
     * For every activation row {@code t < count} ({@code x} holds them back to back, {@code cols}
     * each) and every row of groups {@code [fromGroup, toGroup)}:
     * {@code out[t * rows + r] = } row {@code r} · {@code x[t]}, as the class comment defines it.
     * Four activation rows are multiplied at once, each column of weights converted once for the
     * four, with the group's weights (a few tens of KiB) staying in the core's cache while all the
     * rows pass over them. Allocates nothing.
     */
    void multiply(float[] x, int count, int fromGroup, int toGroup, float[] out) {
        for (int g = fromGroup; g < toGroup; g++) {
            int t = 0;
            for (; t + 4 <= count; t += 4) {
                group4(x, t, g, out);
            }
            for (; t < count; t++) {
                group1(x, t, g, out);
            }
        }
    }

    private void group1(float[] x, int t, int g, float[] out) {
        int blocks = cols / 32;
        long at = (long) g * blocks * GROUP_BLOCK;
        int xa = t * cols;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += GROUP_BLOCK, xa += 32) {
            FloatVector even = FloatVector.zero(F);
            FloatVector odd = FloatVector.zero(F);
            long q = at + 2L * G;
            for (int c = 0; c < 32; c += 4, q += 4L * G) {
                IntVector v = IntVector.fromMemorySegment(I, data, q, LE);
                FloatVector w0 = (FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                FloatVector w1 = (FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                FloatVector w2 = (FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                FloatVector w3 = (FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                even = w0.fma(FloatVector.broadcast(F, x[xa + c]), even);
                odd = w1.fma(FloatVector.broadcast(F, x[xa + c + 1]), odd);
                even = w2.fma(FloatVector.broadcast(F, x[xa + c + 2]), even);
                odd = w3.fma(FloatVector.broadcast(F, x[xa + c + 3]), odd);
            }
            // the G rows' half scales, converted exactly (they are finite: checked when packed)
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, data, at, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector d = dh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(dh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            acc = even.add(odd).fma(d, acc);
        }
        int o = t * rows + g * G;
        if ((g + 1) * G <= rows) {
            acc.intoArray(out, o);
        } else {
            acc.intoArray(out, o, F.indexInRange(g * G, rows));
        }
    }

    private void group4(float[] x, int t, int g, float[] out) {
        int blocks = cols / 32;
        long at = (long) g * blocks * GROUP_BLOCK;
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += GROUP_BLOCK, x0 += 32, x1 += 32, x2 += 32, x3 += 32) {
            FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F);
            FloatVector e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
            FloatVector e2 = FloatVector.zero(F), o2 = FloatVector.zero(F);
            FloatVector e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
            long q = at + 2L * G;
            for (int c = 0; c < 32; c += 4, q += 4L * G) {
                IntVector v = IntVector.fromMemorySegment(I, data, q, LE);
                FloatVector w0 = (FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                FloatVector w1 = (FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                FloatVector w2 = (FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                FloatVector w3 = (FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                e0 = w0.fma(FloatVector.broadcast(F, x[x0 + c]), e0);
                e1 = w0.fma(FloatVector.broadcast(F, x[x1 + c]), e1);
                e2 = w0.fma(FloatVector.broadcast(F, x[x2 + c]), e2);
                e3 = w0.fma(FloatVector.broadcast(F, x[x3 + c]), e3);
                o0 = w1.fma(FloatVector.broadcast(F, x[x0 + c + 1]), o0);
                o1 = w1.fma(FloatVector.broadcast(F, x[x1 + c + 1]), o1);
                o2 = w1.fma(FloatVector.broadcast(F, x[x2 + c + 1]), o2);
                o3 = w1.fma(FloatVector.broadcast(F, x[x3 + c + 1]), o3);
                e0 = w2.fma(FloatVector.broadcast(F, x[x0 + c + 2]), e0);
                e1 = w2.fma(FloatVector.broadcast(F, x[x1 + c + 2]), e1);
                e2 = w2.fma(FloatVector.broadcast(F, x[x2 + c + 2]), e2);
                e3 = w2.fma(FloatVector.broadcast(F, x[x3 + c + 2]), e3);
                o0 = w3.fma(FloatVector.broadcast(F, x[x0 + c + 3]), o0);
                o1 = w3.fma(FloatVector.broadcast(F, x[x1 + c + 3]), o1);
                o2 = w3.fma(FloatVector.broadcast(F, x[x2 + c + 3]), o2);
                o3 = w3.fma(FloatVector.broadcast(F, x[x3 + c + 3]), o3);
            }
            // the G rows' half scales, converted exactly (they are finite: checked when packed)
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, data, at, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector d = dh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(dh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            acc0 = e0.add(o0).fma(d, acc0);
            acc1 = e1.add(o1).fma(d, acc1);
            acc2 = e2.add(o2).fma(d, acc2);
            acc3 = e3.add(o3).fma(d, acc3);
        }
        int o = t * rows + g * G;
        if ((g + 1) * G <= rows) {
            acc0.intoArray(out, o);
            acc1.intoArray(out, o + rows);
            acc2.intoArray(out, o + 2 * rows);
            acc3.intoArray(out, o + 3 * rows);
        } else {
            VectorMask<Float> live = F.indexInRange(g * G, rows);
            acc0.intoArray(out, o, live);
            acc1.intoArray(out, o + rows, live);
            acc2.intoArray(out, o + 2 * rows, live);
            acc3.intoArray(out, o + 3 * rows, live);
        }
    }

    /** What {@link #multiply} computes, in plain scalar code with the same operations in the same order. */
    void multiplyScalar(float[] x, int count, float[] out) {
        int blocks = cols / 32;
        for (int t = 0; t < count; t++) {
            for (int r = 0; r < rows; r++) {
                float acc = 0f;
                for (int b = 0; b < blocks; b++) {
                    float even = 0f, odd = 0f;
                    for (int c = 0; c < 32; c += 2) {
                        int at = t * cols + b * 32 + c;
                        even = Math.fma((float) quant(r, b, c), x[at], even);
                        odd = Math.fma((float) quant(r, b, c + 1), x[at + 1], odd);
                    }
                    acc = Math.fma(even + odd, scale(r, b), acc);
                }
                out[t * rows + r] = acc;
            }
        }
    }

    /** Quant {@code j} (0..31) of row {@code r}'s block {@code b}. */
    private int quant(int r, int b, int j) {
        long at = ((long) (r / G) * (cols / 32) + b) * GROUP_BLOCK + 2L * G + (long) (j / 4) * 4 * G + 4L * (r % G) + (j % 4);
        return data.get(I8, at);
    }

    private float scale(int r, int b) {
        long at = ((long) (r / G) * (cols / 32) + b) * GROUP_BLOCK + 2L * (r % G);
        return Float.float16ToFloat(data.get(I16_LE, at));
    }

    /** The exact weight, as the file type's matrix computes it. */
    @Override
    public float weight(int row, int col) {
        PackedMatrix.checkWeight(row, col, rows, cols);
        return scale(row, col / 32) * quant(row, col / 32, col % 32);
    }
}
