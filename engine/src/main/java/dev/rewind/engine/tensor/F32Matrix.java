package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.F32_LE;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.LE;

/**
 * A weight matrix of little-endian IEEE float32 values ({@link GgmlType#F32}).
 *
 * @param name tensor name
 * @param data {@code rows * cols * 4} bytes, read in place
 * @param rows number of rows
 * @param cols number of columns
 */
public record F32Matrix(String name, MemorySegment data, int rows, int cols) implements WeightMatrix {

    /** @throws IllegalArgumentException if the shape is invalid or {@code data} has the wrong size */
    public F32Matrix {
        Shapes.checkMatrix(name, GgmlType.F32, data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Order: one vector accumulator over the row's whole vectors, its lanes added in order,
     * then the remaining columns one by one; {@link MatMul} computes several rows at once in
     * exactly this order, so a row's result does not depend on the batch it is in.
     */
    @Override
    public float dot(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        long base = (long) row * cols * Float.BYTES;
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = cols & -LANES; i < bound; i += LANES) {
            acc = FloatVector.fromMemorySegment(F, data, base + (long) i * Float.BYTES, LE).fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        float sum = 0f;
        for (int lane = 0; lane < LANES; lane++) {
            sum += acc.lane(lane);
        }
        for (; i < cols; i++) {
            sum += data.get(F32_LE, base + (long) i * Float.BYTES) * x[xOffset + i];
        }
        return sum;
    }

    @Override
    public float dotScalar(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows, x, xOffset, cols);
        long base = (long) row * cols * Float.BYTES;
        float sum = 0f;
        for (int j = 0; j < cols; j++) {
            sum += data.get(F32_LE, base + (long) j * Float.BYTES) * x[xOffset + j];
        }
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        Shapes.checkAccess(row, rows, out, outOffset, cols);
        MemorySegment.copy(data, F32_LE, (long) row * cols * Float.BYTES, out, outOffset, cols);
    }
}
