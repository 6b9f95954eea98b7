package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

    /** A float's exponent bias minus a half's, in a float's exponent field (see {@link Halves#toFloat}). */
    private static final int REBIAS = (127 - 15) << 23;

    @Override
    public GgmlType type() {
        return GgmlType.F16;
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
            // Halves.toFloat written out (a vector returned from a helper that is not inlined is boxed)
            IntVector bits = (IntVector) ShortVector.fromMemorySegment(S, data, base + (long) i * Short.BYTES, LE)
                    .convertShape(VectorOperators.S2I, Simd.I, 0);
            IntVector magnitude = bits.and(0x7fff);
            IntVector normal = magnitude.lanewise(VectorOperators.LSHL, 13).add(REBIAS);
            IntVector finiteOrNot = normal.add(REBIAS, magnitude.compare(VectorOperators.GE, 0x7c00));
            FloatVector subnormal = ((FloatVector) magnitude.convert(VectorOperators.I2F, 0)).mul(0x1p-24f);
            FloatVector w = finiteOrNot.reinterpretAsFloats().blend(subnormal, magnitude.compare(VectorOperators.LT, 0x0400).cast(F))
                    .reinterpretAsInts().or(bits.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            acc = w.fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        float sum = 0f;
        for (int lane = 0; lane < LANES; lane++) {
            sum += acc.lane(lane);
        }
        for (; i < cols; i++) {
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
