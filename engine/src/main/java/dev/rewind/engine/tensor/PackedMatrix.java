package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.LANES;

/**
 * A quantized matrix regrouped by {@link WeightPacker} for the {@link Precision#FAST} kernels:
 * the rows of a group of {@link Simd#LANES} are interleaved so that one vector lane holds one
 * row, and each record's own {@code multiply} is its fast product. What they share is here: the
 * exact path, which reads one {@link #weight} at a time (exact and slow: the packed forms are
 * not meant for it), and the checks and stores every record needs.
 */
sealed interface PackedMatrix extends WeightMatrix
        permits Q8_0Packed, Q4_0Packed, Q4_KPacked, Q5_KPacked, Q6_KPacked, Q3_KPacked, Q4_1Packed, Q2_KPacked, IQ4_XSPacked {

    /**
     * The exact weight at {@code (row, col)}: bit for bit what the file type's own matrix
     * dequantizes it to.
     *
     * @throws IndexOutOfBoundsException if {@code row} or {@code col} is outside the matrix
     */
    float weight(int row, int col);

    /** Row groups of {@link Simd#LANES} rows, the last one padded: the units the kernels are run over. */
    default int groups() {
        return Math.ceilDiv(rows(), LANES);
    }

    /** {@link #dotScalar}: the packed forms have no vector form of the exact dot. */
    @Override
    default float dot(int row, float[] x, int xOffset) {
        return dotScalar(row, x, xOffset);
    }

    @Override
    default float dotScalar(int row, float[] x, int xOffset) {
        Shapes.checkAccess(row, rows(), x, xOffset, cols());
        float sum = 0f;
        for (int c = 0; c < cols(); c++) {
            sum += weight(row, c) * x[xOffset + c];
        }
        return sum;
    }

    @Override
    default void dequantizeRow(int row, float[] out, int outOffset) {
        Shapes.checkAccess(row, rows(), out, outOffset, cols());
        for (int c = 0; c < cols(); c++) {
            out[outOffset + c] = weight(row, c);
        }
    }

    /** Checks the indices {@link #weight} takes. */
    static void checkWeight(int row, int col, int rows, int cols) {
        Objects.checkIndex(row, rows);
        Objects.checkIndex(col, cols);
    }

    /**
     * Bytes a packed form of a {@code rows × cols} matrix takes: {@code ceil(rows / G)} row groups
     * (the last padded with zero rows) of {@code cols / blockColumns} blocks of
     * {@code groupBlockBytes} each.
     *
     * @throws ArithmeticException if that overflows a long
     */
    static long bytesFor(int rows, int cols, int blockColumns, long groupBlockBytes) {
        return Math.multiplyExact(Math.multiplyExact((long) Math.ceilDiv(rows, LANES), cols / blockColumns), groupBlockBytes);
    }

    /**
     * Checks a packed record's components.
     *
     * @param what       the form, for the message ("Q4_0", "Q5_1", ...)
     * @param multiple   what the column count must be a multiple of (the type's block)
     * @param expected   the bytes the record's {@code bytesFor} gives for this shape (not called before the shape is checked)
     * @throws IllegalArgumentException naming the tensor if the shape is invalid or {@code data} has the wrong size
     */
    static void checkShape(String name, String what, int rows, int cols, int multiple, MemorySegment data,
                           java.util.function.LongSupplier expected) {
        if (rows < 1 || cols < 1 || cols % multiple != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': packed " + what + " needs a positive shape with columns a multiple of "
                    + multiple + ", got " + rows + " x " + cols);
        }
        long bytes = expected.getAsLong();
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "': packed " + what + " of " + rows + " x " + cols + " needs " + bytes
                    + " bytes, got " + data.byteSize());
        }
    }

    /**
     * One group's blocks on their way from the file's layout to the packed one: heap arrays (with
     * segment views for multi-byte reads and writes) filled and emptied by bulk copies, so that the
     * shuffle in between is plain array code, fast even before the JIT has compiled it (load time).
     *
     * @param in  {@link Simd#LANES} rows of file blocks, padding rows zero
     * @param src a view of {@code in}
     * @param out the group's packed blocks, zeroed before each group
     * @param dst a view of {@code out}
     */
    record GroupBuffers(byte[] in, MemorySegment src, byte[] out, MemorySegment dst) {
    }

    /** The part of packing that differs by type: one row's block into its lane of a group block. */
    @FunctionalInterface
    interface BlockShuffle {
        /**
         * Moves the file block at {@code in[at ..]} into lane {@code lane} of the group block at
         * {@code out[o ..]}. Returns false if a scale of the block is not finite.
         */
        boolean shuffle(GroupBuffers buffers, int at, int o, int lane);
    }

    /**
     * Regroups row groups {@code [fromGroup, toGroup)} of {@code m} into {@code into}, the packed
     * form of {@code groupBlockBytes} per group and block: a group's rows are copied in (the last
     * group's missing rows as zeros: scales 0, so padding lanes compute 0), each row's blocks
     * shuffled into its lane, and the group copied out. Returns false if a scale is not finite
     * (the caller then uses {@code m} unpacked).
     */
    static boolean pack(WeightMatrix m, int groupBlockBytes, MemorySegment into, int fromGroup, int toGroup, BlockShuffle shuffle) {
        int blockBytes = m.type().blockBytes();
        int blocks = m.cols() / m.type().blockSize();
        int rowBytes = blocks * blockBytes;
        byte[] in = new byte[LANES * rowBytes];
        byte[] out = new byte[blocks * groupBlockBytes];
        GroupBuffers buffers = new GroupBuffers(in, MemorySegment.ofArray(in), out, MemorySegment.ofArray(out));
        boolean finite = true;
        for (int g = fromGroup; g < toGroup; g++) {
            int n = Math.min(LANES, m.rows() - g * LANES);
            MemorySegment.copy(m.data(), ValueLayout.JAVA_BYTE, (long) g * LANES * rowBytes, in, 0, n * rowBytes);
            Arrays.fill(in, n * rowBytes, in.length, (byte) 0);
            Arrays.fill(out, (byte) 0);
            for (int b = 0; b < blocks; b++) {
                for (int i = 0; i < LANES; i++) {
                    finite &= shuffle.shuffle(buffers, i * rowBytes + b * blockBytes, b * groupBlockBytes, i);
                }
            }
            MemorySegment.copy(out, 0, into, ValueLayout.JAVA_BYTE, (long) g * blocks * groupBlockBytes, out.length);
        }
        return finite;
    }

    /** Writes the low 16 bits of {@code word} at {@code out[at]}, little-endian. */
    static void putShort(byte[] out, int at, int word) {
        out[at] = (byte) word;
        out[at + 1] = (byte) (word >> 8);
    }

    /** Whether the IEEE half whose high byte is {@code high} is finite (its exponent bits are not all ones). */
    static boolean finiteHalf(byte high) {
        return (high & 0x7c) != 0x7c;
    }

    /**
     * Writes {@code count} accumulators of {@link Simd#LANES} lanes ({@code accs[u · G ..]}) as row
     * group {@code g}'s outputs for activation rows {@code t ..} ({@code out[(t + u) · rows + gG ..]}),
     * leaving out the lanes of the last group's padding rows.
     */
    static void store(float[] accs, int count, float[] out, int t, int g, int rows) {
        int o = t * rows + g * LANES;
        for (int u = 0; u < count; u++, o += rows) {
            if ((g + 1) * LANES <= rows) {
                FloatVector.fromArray(F, accs, LANES * u).intoArray(out, o);
            } else {
                FloatVector.fromArray(F, accs, LANES * u).intoArray(out, o, F.indexInRange(g * LANES, rows));
            }
        }
    }
}
