package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.rewind.engine.tensor.RandomWeights.F32_LE;
import static dev.rewind.engine.tensor.RandomWeights.I16_LE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WeightMatrix#dequantizeRow} on hand-built blocks whose values are worked out by hand. */
class DequantizeTest {

    private static final short HALF_0_5 = 0x3800;
    private static final short HALF_MINUS_0_25 = (short) 0xb400;
    private static final short HALF_2 = 0x4000;

    @Test
    void q8_0BlocksAreScaleTimesSignedQuant() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2 * 34 * 2);
            // Row 0: block 0 with d = 0.5, block 1 with d = -0.25. Row 1: d = 2.
            byte[][] quants = new byte[4][32];
            for (int j = 0; j < 32; j++) {
                quants[0][j] = (byte) (j - 16);     // -16 .. 15
                quants[1][j] = (byte) (j * 8 - 128); // -128 .. 120
                quants[2][j] = (byte) (j % 2 == 0 ? 127 : -128);
                quants[3][j] = 0;
            }
            short[] scales = {HALF_0_5, HALF_MINUS_0_25, HALF_2, HALF_2};
            for (int b = 0; b < 4; b++) {
                data.set(I16_LE, b * 34L, scales[b]);
                MemorySegment.copy(quants[b], 0, data, ValueLayout.JAVA_BYTE, b * 34L + 2, 32);
            }
            WeightMatrix w = WeightMatrix.of("q8", GgmlType.Q8_0, data, 2, 64);
            float[] row0 = new float[64];
            float[] row1 = new float[64 + 3];
            w.dequantizeRow(0, row0, 0);
            w.dequantizeRow(1, row1, 3);
            float[] expected0 = new float[64];
            float[] expected1 = new float[64 + 3];
            for (int j = 0; j < 32; j++) {
                expected0[j] = (j - 16) * 0.5f;
                expected0[32 + j] = (j * 8 - 128) * -0.25f;
                expected1[3 + j] = j % 2 == 0 ? 254f : -256f;
            }
            assertArrayEquals(expected0, row0);
            assertArrayEquals(expected1, row1);
            assertEquals(-8f, row0[0]);
            assertEquals(7.5f, row0[31]);
            assertEquals(32f, row0[32]);
            assertEquals(-30f, row0[63]);
        }
    }

    @Test
    void q4_0LowNibblesAreTheFirstHalfOfTheBlockAndHighNibblesTheSecond() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(18);
            data.set(I16_LE, 0, HALF_2);
            for (int j = 0; j < 16; j++) {
                data.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) 0x88); // both nibbles 8: weight 0
            }
            data.set(ValueLayout.JAVA_BYTE, 2, (byte) 0x0f);  // w0 = (15-8)*2 = 14,  w16 = (0-8)*2 = -16
            data.set(ValueLayout.JAVA_BYTE, 3, (byte) 0x80);  // w1 = (0-8)*2 = -16,  w17 = (8-8)*2 = 0
            data.set(ValueLayout.JAVA_BYTE, 17, (byte) 0xa5); // w15 = (5-8)*2 = -6,  w31 = (10-8)*2 = 4
            data.set(ValueLayout.JAVA_BYTE, 9, (byte) 0xf1);  // w7 = (1-8)*2 = -14,  w23 = (15-8)*2 = 14
            WeightMatrix w = WeightMatrix.of("q4", GgmlType.Q4_0, data, 1, 32);
            float[] row = new float[32];
            w.dequantizeRow(0, row, 0);
            float[] expected = new float[32];
            expected[0] = 14;
            expected[16] = -16;
            expected[1] = -16;
            expected[17] = 0;
            expected[15] = -6;
            expected[31] = 4;
            expected[7] = -14;
            expected[23] = 14;
            assertArrayEquals(expected, row);
        }
    }

    @Test
    void q4_0NegativeScale() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(18);
            data.set(I16_LE, 0, HALF_MINUS_0_25);
            for (int j = 0; j < 16; j++) {
                data.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (j | (15 - j) << 4));
            }
            float[] row = new float[32];
            WeightMatrix.of("q4", GgmlType.Q4_0, data, 1, 32).dequantizeRow(0, row, 0);
            for (int j = 0; j < 16; j++) {
                assertEquals((j - 8) * -0.25f, row[j], "w" + j);
                assertEquals((15 - j - 8) * -0.25f, row[16 + j], "w" + (16 + j));
            }
        }
    }

    @Test
    void f32RowsAreCopiedExactly() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = {1.5f, -0f, Float.MIN_VALUE, Float.NaN, Float.NEGATIVE_INFINITY, 3e38f, -7f, 0.1f};
            MemorySegment data = arena.allocate(4L * values.length);
            for (int i = 0; i < values.length; i++) {
                data.set(F32_LE, 4L * i, values[i]);
            }
            WeightMatrix w = WeightMatrix.of("f32", GgmlType.F32, data, 2, 4);
            float[] row = new float[4];
            w.dequantizeRow(1, row, 0);
            assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY, 3e38f, -7f, 0.1f}, row);
            w.dequantizeRow(0, row, 0);
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(row[1]));
            assertTrue(Float.isNaN(row[3]));
        }
    }

    /** Every half bit pattern, through the vector conversion (full vectors) and the scalar tail. */
    @Test
    void allHalfValuesConvertExactly() {
        int cols = 65536 + 7; // 7 extra values go through the scalar tail
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2L * cols);
            for (int i = 0; i < cols; i++) {
                data.set(I16_LE, 2L * i, (short) i);
            }
            float[] row = new float[cols];
            WeightMatrix.of("all-halves", GgmlType.F16, data, 1, cols).dequantizeRow(0, row, 0);
            for (int i = 0; i < cols; i++) {
                short h = (short) i;
                int expected = expectedHalfBits(h);
                assertTrue(Float.isNaN(Float.float16ToFloat(h)) || Float.floatToRawIntBits(Float.float16ToFloat(h)) == expected,
                        "the test's own reference disagrees with the JDK for " + Integer.toHexString(i));
                int actual = Float.floatToRawIntBits(row[i]);
                if (actual != expected) {
                    throw new AssertionError(String.format("half 0x%04x: expected bits 0x%08x (%s), got 0x%08x (%s)",
                            i & 0xffff, expected, Float.intBitsToFloat(expected), actual, row[i]));
                }
                if (!Float.isNaN(row[i])) {
                    assertEquals(Float.floatToRawIntBits(Float.float16ToFloat(h)), actual);
                }
            }
        }
    }

    /** Every bfloat16 bit pattern: the float whose upper 16 bits they are. */
    @Test
    void allBf16ValuesConvertExactly() {
        int cols = 65536 + 7;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2L * cols);
            for (int i = 0; i < cols; i++) {
                data.set(I16_LE, 2L * i, (short) i);
            }
            float[] row = new float[cols];
            WeightMatrix.of("all-bf16", GgmlType.BF16, data, 1, cols).dequantizeRow(0, row, 0);
            for (int i = 0; i < cols; i++) {
                assertEquals((i & 0xffff) << 16, Float.floatToRawIntBits(row[i]), "bf16 " + Integer.toHexString(i));
            }
        }
    }

    /**
     * The half conversion inside {@code dot}: with a one-hot input, the dot product is the weight
     * itself. 4096 rows of 32 halves cover all 65536 patterns (including infinities and NaNs,
     * whose rows yield NaN or infinity, as the scalar reference does).
     */
    @Test
    void dotConvertsEveryHalfExactly() {
        int cols = 32;
        int rows = 65536 / cols;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2L * rows * cols);
            for (int i = 0; i < rows * cols; i++) {
                data.set(I16_LE, 2L * i, (short) i);
            }
            WeightMatrix w = WeightMatrix.of("all-halves", GgmlType.F16, data, rows, cols);
            float[] x = new float[cols];
            for (int r = 0; r < rows; r++) {
                boolean finiteRow = true;
                for (int j = 0; j < cols; j++) {
                    finiteRow &= Float.isFinite(Float.float16ToFloat((short) (r * cols + j)));
                }
                for (int j = 0; j < cols; j++) {
                    x[j] = 1f;
                    float expected = Float.float16ToFloat((short) (r * cols + j));
                    float actual = w.dot(r, x, 0);
                    if (finiteRow) {
                        assertEquals(expected, actual, 0f, "half " + Integer.toHexString(r * cols + j));
                    } else {
                        // inf · 0 in another lane makes the sum NaN, in both kernels alike.
                        assertEquals(w.dotScalar(r, x, 0), actual, 0f, "half " + Integer.toHexString(r * cols + j));
                    }
                    x[j] = 0f;
                }
            }
        }
    }

    /** IEEE binary16 to binary32, written from the format definition (independently of the JDK). */
    static int expectedHalfBits(short h) {
        int sign = (h & 0x8000) << 16;
        int exponent = (h >> 10) & 0x1f;
        int significand = h & 0x3ff;
        if (exponent == 0x1f) {
            return sign | 0x7f80_0000 | significand << 13;
        }
        if (exponent == 0) {
            // ±significand · 2^-24; exact in float.
            return sign | Float.floatToRawIntBits(significand * 0x1p-24f);
        }
        return sign | (exponent - 15 + 127) << 23 | significand << 13;
    }
}
