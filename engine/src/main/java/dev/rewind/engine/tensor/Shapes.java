package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Argument checks shared by the {@link WeightMatrix} implementations. */
final class Shapes {

    private Shapes() {
    }

    /** Validates a matrix's constructor arguments and returns the bytes of one row. */
    static long checkMatrix(String name, GgmlType type, MemorySegment data, int rows, int cols) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + rows + " x " + cols + " is empty or negative");
        }
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + ": " + cols
                    + " columns are not a multiple of the block size " + type.blockSize());
        }
        long rowBytes = type.byteSize(cols);
        long expected = Math.multiplyExact(rowBytes, (long) rows);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " and shape " + rows + " x " + cols
                    + " needs " + expected + " bytes of data, got " + data.byteSize());
        }
        return rowBytes;
    }

    /** Checks a row index and a vector range of {@code cols} floats starting at {@code offset}. */
    static void checkAccess(int row, int rows, float[] vector, int offset, int cols) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(offset, cols, vector.length);
    }
}
