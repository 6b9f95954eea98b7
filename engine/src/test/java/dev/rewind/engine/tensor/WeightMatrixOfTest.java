package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WeightMatrix#of}: the right implementation for each type, and clear refusals. */
class WeightMatrixOfTest {

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void wrapsTheSegmentWithoutCopying(GgmlType type) {
        int cols = Math.max(64, type.blockSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(type.byteSize(3 * cols));
            WeightMatrix w = WeightMatrix.of("blk.0.ffn_up.weight", type, data, 3, cols);
            assertEquals("blk.0.ffn_up.weight", w.name());
            assertEquals(type, w.type());
            assertEquals(3, w.rows());
            assertEquals(cols, w.cols());
            assertSame(data, w.data());
            assertEquals(type.byteSize(cols), w.rowBytes());
            Class<?> expected = switch (type) {
                case F32 -> F32Matrix.class;
                case F16 -> F16Matrix.class;
                case BF16 -> BF16Matrix.class;
                case Q8_0 -> Q8_0Matrix.class;
                case Q4_0 -> Q4_0Matrix.class;
                case Q4_1 -> Q4_1Matrix.class;
                case Q5_0 -> Q5_0Matrix.class;
                case Q5_1 -> Q5_1Matrix.class;
                case Q2_K -> Q2_KMatrix.class;
                case Q3_K -> Q3_KMatrix.class;
                case Q4_K -> Q4_KMatrix.class;
                case Q5_K -> Q5_KMatrix.class;
                case Q6_K -> Q6_KMatrix.class;
                case IQ4_NL -> IQ4_NLMatrix.class;
                case IQ4_XS -> IQ4_XSMatrix.class;
                default -> throw new AssertionError(type);
            };
            assertInstanceOf(expected, w);
            // Reads happen in place: a change to the memory shows in the next read.
            float[] row = new float[cols];
            w.dequantizeRow(2, row, 0);
            for (float v : row) {
                assertEquals(0f, v, 0f); // all-zero bytes are zero weights (Q4_0 gives -0.0: (0 - 8) · 0)
            }
            long rowStart = 2 * type.byteSize(cols);
            if (type != GgmlType.Q8_0 && type != GgmlType.Q4_0 && type.blockSize() > 1) {
                // Random bytes in the row; the matrix must read what a matrix over a copy of them reads.
                Random random = new Random(type.ordinal());
                WeightMatrix source = RandomWeights.matrix(arena, type, 1, cols, random);
                MemorySegment.copy(source.data(), 0, data, rowStart, type.byteSize(cols));
                float[] expectedRow = new float[cols];
                source.dequantizeRow(0, expectedRow, 0);
                w.dequantizeRow(2, row, 0);
                assertArrayEquals(expectedRow, row);
                assertTrue(IntStream.range(0, cols).anyMatch(i -> row[i] != 0f), "random bytes give weights");
                return;
            }
            if (type.blockSize() == 32) {
                data.set(RandomWeights.I16_LE, rowStart, (short) 0x3c00); // d = 1
                data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, rowStart + 2, (byte) (type == GgmlType.Q8_0 ? 5 : 0x0d));
            } else if (type == GgmlType.F32) {
                data.set(RandomWeights.F32_LE, rowStart, 5f);
            } else {
                data.set(RandomWeights.I16_LE, rowStart, type == GgmlType.F16 ? (short) 0x4500 : (short) 0x40a0);
            }
            w.dequantizeRow(2, row, 0);
            assertEquals(5f, row[0]);
        }
    }

    @Test
    void unsupportedTypeIsRefusedWithTensorNameAndType() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(GgmlType.IQ2_XXS.byteSize(256));
            UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class,
                    () -> WeightMatrix.of("blk.0.attn_q.weight", GgmlType.IQ2_XXS, data, 1, 256));
            assertEquals("tensor 'blk.0.attn_q.weight' has type IQ2_XXS, which Rewind does not support yet"
                    + " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)",
                    e.getMessage());
            assertEquals("blk.0.attn_q.weight", e.tensorName());
            assertEquals(GgmlType.IQ2_XXS, e.type());
            assertInstanceOf(IllegalArgumentException.class, e);
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void exactlyTheSupportedTypesAreAccepted(GgmlType type) {
        try (Arena arena = Arena.ofConfined()) {
            int cols = Math.max(256, type.blockSize());
            MemorySegment data = arena.allocate(type.byteSize(cols));
            if (type.isSupported()) {
                assertEquals(type, WeightMatrix.of("t", type, data, 1, cols).type());
                assertTrue(WeightMatrix.SUPPORTED_TYPES.contains(type));
            } else {
                UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class,
                        () -> WeightMatrix.of("output.weight", type, data, 1, cols));
                assertTrue(e.getMessage().startsWith("tensor 'output.weight' has type " + type + ","), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void wrongDataSizeIsRefused(GgmlType type) {
        int cols = Math.max(64, type.blockSize());
        try (Arena arena = Arena.ofConfined()) {
            long size = type.byteSize(4 * cols);
            for (long wrong : new long[] {size - 1, size + 1, size - type.blockBytes(), 0}) {
                MemorySegment data = arena.allocate(Math.max(1, wrong)).asSlice(0, wrong);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> WeightMatrix.of("token_embd.weight", type, data, 4, cols));
                assertTrue(e.getMessage().contains("'token_embd.weight'"), e.getMessage());
                assertTrue(e.getMessage().contains(size + " bytes"), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
            "Q6_K", "IQ4_NL", "IQ4_XS"})
    void columnsMustBeWholeBlocks(GgmlType type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(1024);
            int cols = type.blockSize() + type.blockSize() / 2; // 48 or 384
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> WeightMatrix.of("blk.3.ffn_down.weight", type, data, 2, cols));
            assertTrue(e.getMessage().contains("'blk.3.ffn_down.weight'")
                            && e.getMessage().contains("multiple of the block size " + type.blockSize()), e.getMessage());
        }
    }

    @Test
    void emptyShapesAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(64);
            assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of("e", GgmlType.F32, data, 0, 16));
            assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of("e", GgmlType.F32, data, 16, 0));
            assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of("e", GgmlType.F32, data, -1, -16));
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void accessesOutsideTheMatrixOrTheVectorsAreRefused(GgmlType type) {
        int cols = Math.max(64, type.blockSize());
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = WeightMatrix.of("t", type, arena.allocate(type.byteSize(2 * cols)), 2, cols);
            float[] x = new float[cols];
            assertThrows(IndexOutOfBoundsException.class, () -> w.dot(2, x, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dot(-1, x, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dot(0, x, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dot(0, new float[cols - 1], 0));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dotScalar(0, x, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dotScalar(2, x, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dequantizeRow(0, x, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> w.dequantizeRow(2, x, 0));
        }
    }
}
