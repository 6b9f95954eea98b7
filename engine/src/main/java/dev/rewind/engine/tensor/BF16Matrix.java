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
        long base = (long) row * cols * Short.BYTES;
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = cols & -LANES; i < bound; i += LANES) {
            FloatVector w = ShortVector.fromMemorySegment(S, data, base + (long) i * Short.BYTES, LE).convertShape(VectorOperators.S2I, Simd.I, 0)
                    .reinterpretAsInts().lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc = w.fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        float sum = 0f;
        for (int lane = 0; lane < LANES; lane++) {
            sum += acc.lane(lane);
        }
        for (; i < cols; i++) {
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
