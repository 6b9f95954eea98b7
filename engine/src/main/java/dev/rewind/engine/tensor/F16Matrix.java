package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;
import static dev.rewind.engine.tensor.Simd.S;

/**
 * A weight matrix of little-endian IEEE binary16 ("half") values ({@link GgmlType#F16}).
 * Each weight is {@link Float#float16ToFloat} of its 16 bits.
 *
 * @param name tensor name
 * @param data {@code rows * cols * 2} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns
 */
public record F16Matrix(String name, MemorySegment data, int rows, int cols) implements WeightMatrix {

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public F16Matrix {
        Shapes.checkMatrix(name, GgmlType.F16, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        long base = (long) row * cols * Short.BYTES;
        int n = cols;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long touched = 0;
        int i = 0;
        for (int bound = n & -(2 * LANES); i < bound; i += 2 * LANES) {
            long at = base + (long) i * Short.BYTES;
            touched ^= Prefetch.touch(data, at, 0); // 64 bytes per iteration: one touch per line
            FloatVector w0 = Halves.toFloat(ShortVector.fromMemorySegment(S, data, at, LE));
            FloatVector w1 = Halves.toFloat(ShortVector.fromMemorySegment(S, data, at + 2L * LANES, LE));
            acc0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc1 = w1.fma(FloatVector.fromArray(F, x, xOffset + i + LANES), acc1);
        }
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector w = Halves.toFloat(ShortVector.fromMemorySegment(S, data, base + (long) i * Short.BYTES, LE));
            acc0 = w.fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
        }
        // Simd.sum written out: this method is at the JIT's inlining limit, and a call passing the
        // vector would box it on every row.
        FloatVector total = acc0.add(acc1);
        float lanes = 0;
        for (int lane = 0; lane < LANES; lane++) {
            lanes += total.lane(lane);
        }
        float sum = Prefetch.keep(lanes, touched);
        for (; i < n; i++) {
            sum += Float.float16ToFloat(data.get(I16_LE, base + (long) i * Short.BYTES)) * x[xOffset + i];
        }
        return sum;
    }

    @Override
    public float dotScalar(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        long base = (long) row * cols * Short.BYTES;
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += Float.float16ToFloat(data.get(I16_LE, base + (long) j * Short.BYTES)) * x[xOffset + j];
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        Shapes.checkAccess(row, rows, out, outOffset, cols);
        long base = (long) row * cols * Short.BYTES;
        int i = 0;
        for (int bound = cols & -LANES; i < bound; i += LANES) {
            Halves.toFloat(ShortVector.fromMemorySegment(S, data, base + (long) i * Short.BYTES, LE)).intoArray(out, outOffset + i);
        }
        for (; i < cols; i++) {
            out[outOffset + i] = Float.float16ToFloat(data.get(I16_LE, base + (long) i * Short.BYTES));
        }
    }
}
