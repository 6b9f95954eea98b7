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
 * A weight matrix of little-endian bfloat16 values ({@link GgmlType#BF16}): each weight's 16
 * bits are the upper half of a float32 whose lower half is zero.
 *
 * @param name tensor name
 * @param data {@code rows * cols * 2} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns
 */
public record BF16Matrix(String name, MemorySegment data, int rows, int cols) implements WeightMatrix {

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public BF16Matrix {
        Shapes.checkMatrix(name, GgmlType.BF16, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        long base = (long) row * cols * Short.BYTES;
        int n = cols;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int bound = n & -(2 * LANES); i < bound; i += 2 * LANES) {
            long at = base + (long) i * Short.BYTES;
            FloatVector w0 = Halves.bf16ToFloat(ShortVector.fromMemorySegment(S, data, at, LE));
            FloatVector w1 = Halves.bf16ToFloat(ShortVector.fromMemorySegment(S, data, at + 2L * LANES, LE));
            acc0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc1 = w1.fma(FloatVector.fromArray(F, x, xOffset + i + LANES), acc1);
        }
        for (int bound = n & -LANES; i < bound; i += LANES) {
            FloatVector w = Halves.bf16ToFloat(ShortVector.fromMemorySegment(S, data, base + (long) i * Short.BYTES, LE));
            acc0 = w.fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
        }
        float sum = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += Halves.bf16ToFloat(data.get(I16_LE, base + (long) i * Short.BYTES)) * x[xOffset + i];
        }
        return sum;
    }

    @Override
    public float dotScalar(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        long base = (long) row * cols * Short.BYTES;
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += Halves.bf16ToFloat(data.get(I16_LE, base + (long) j * Short.BYTES)) * x[xOffset + j];
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        Shapes.checkAccess(row, rows, out, outOffset, cols);
        long base = (long) row * cols * Short.BYTES;
        int i = 0;
        for (int bound = cols & -LANES; i < bound; i += LANES) {
            Halves.bf16ToFloat(ShortVector.fromMemorySegment(S, data, base + (long) i * Short.BYTES, LE)).intoArray(out, outOffset + i);
        }
        for (; i < cols; i++) {
            out[outOffset + i] = Halves.bf16ToFloat(data.get(I16_LE, base + (long) i * Short.BYTES));
        }
    }
}
