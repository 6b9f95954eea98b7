package dev.rewind.engine.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.util.Random;
import java.util.function.IntToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoders of Q4_1, Q5_0, Q5_1, IQ4_NL and the 256-weight super-block types (Q2_K … Q6_K,
 * IQ4_XS): hand-built blocks whose weights are worked out by hand from the layout (signed and
 * negative scales, the extreme sub-block scale codes, every quant bit set or clear, a rounding
 * tie), and random blocks against {@link ExactDecoder}, an independent decoding in exact
 * arithmetic. Every weight is checked through all three operations: {@code dequantizeRow}, and
 * {@code dot} and {@code dotScalar} against one-hot inputs (which return the weight itself).
 */
class BlockDecodeTest {

    private static final short HALF_1 = 0x3c00;
    private static final short HALF_MINUS_1 = (short) 0xbc00;
    private static final short HALF_0_5 = 0x3800;
    private static final short HALF_MINUS_0_5 = (short) 0xb800;
    private static final short HALF_0_25 = 0x3400;
    private static final short HALF_MINUS_0_25 = (short) 0xb400;
    private static final short HALF_0_125 = 0x3000;
    private static final short HALF_2 = 0x4000;
    private static final short HALF_MINUS_15_5 = (short) 0xcbc0;
    private static final short HALF_2_POW_MINUS_10 = 0x1400;
    private static final short HALF_MAX = 0x7bff; // 65504

    private static final int[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    // ------------------------------------------------------------------ 32-weight blocks

    @Test
    void q4_1IsStepTimesNibblePlusMinimum() {
        byte[] b = new byte[2 * 20];
        // Block 0: d = 0.5, m = -1; byte j holds nibbles j (low) and 15 - j (high).
        half(b, 0, HALF_0_5);
        half(b, 2, HALF_MINUS_1);
        for (int j = 0; j < 16; j++) {
            b[4 + j] = (byte) (j | (15 - j) << 4);
        }
        // Block 1: d = 2^-10, m = 65504 (ulp 2^-8 there): q · d + m is rounded once, ties to even.
        half(b, 20, HALF_2_POW_MINUS_10);
        half(b, 22, HALF_MAX);
        b[24] = 0x31; // w0: 65504 + 1/1024 -> 65504; w16: 65504 + 3/1024 -> 65504 + 1/256
        b[25] = 0x02; // w1: 65504 + 2/1024, exactly half an ulp: to even, 65504
        b[26] = 0x0f; // w2: 65504 + 15/1024 = 65504.0146484375 -> 65504.015625 (4/256)
        float[] expected = new float[64];
        for (int j = 0; j < 16; j++) {
            expected[j] = j * 0.5f - 1;
            expected[16 + j] = (15 - j) * 0.5f - 1;
        }
        java.util.Arrays.fill(expected, 32, 64, 65504f);
        expected[32 + 16] = 65504f + 1 / 256f;
        expected[32 + 2] = 65504f + 4 / 256f;
        float[] row = decode(GgmlType.Q4_1, b, 64);
        assertArrayEquals(expected, row);
        assertEquals(-1f, row[0]);
        assertEquals(6.5f, row[15]);
        assertEquals(6.5f, row[16]);
        assertEquals(-1f, row[31]);
        assertEquals(65504f, row[33], "a tie rounds to even");
    }

    @Test
    void q5_0TakesTheFifthBitFromQhAndANegativeScale() {
        byte[] b = new byte[22];
        half(b, 0, HALF_MINUS_0_25);
        word(b, 2, 0xAAAA_AAAA); // the fifth bit is set for every odd weight
        for (int j = 0; j < 16; j++) {
            b[6 + j] = (byte) 0xf0; // low nibbles 0, high nibbles 15
        }
        float[] row = decode(GgmlType.Q5_0, b, 32);
        for (int j = 0; j < 16; j++) {
            // weights 0..15: q = 0 or 16; weights 16..31: q = 15 or 31; weight (q - 16) · -0.25
            assertEquals(j % 2 == 0 ? 4f : -0f, row[j], "w" + j);
            assertEquals(j % 2 == 0 ? 0.25f : -3.75f, row[16 + j], "w" + (16 + j));
        }
    }

    @Test
    void q5_1WithEveryBitSetAndWithHalfTheFifthBits() {
        byte[] b = new byte[2 * 24];
        half(b, 0, HALF_1);
        half(b, 2, HALF_MINUS_15_5);
        for (int j = 4; j < 24; j++) {
            b[j] = (byte) 0xff; // every quant 31
        }
        half(b, 24, HALF_0_125);
        half(b, 26, HALF_2);
        word(b, 28, 0x0000_ffff); // quants 0..15 have the fifth bit, 16..31 do not; all nibbles 0
        float[] row = decode(GgmlType.Q5_1, b, 64);
        for (int j = 0; j < 32; j++) {
            assertEquals(15.5f, row[j], "31 · 1 - 15.5, w" + j);
            assertEquals(j < 16 ? 4f : 2f, row[32 + j], "16 · 0.125 + 2 or 0 · 0.125 + 2, w" + j);
        }
    }

    @Test
    void iq4_nlNibblesIndexTheLevelTable() {
        byte[] b = new byte[18];
        half(b, 0, HALF_2);
        for (int j = 0; j < 16; j++) {
            b[2 + j] = (byte) (j | (15 - j) << 4);
        }
        float[] twice = {-254, -208, -166, -130, -98, -70, -44, -20, 2, 26, 50, 76, 106, 138, 178, 226};
        float[] expected = new float[32];
        for (int j = 0; j < 16; j++) {
            expected[j] = twice[j];
            expected[16 + j] = twice[15 - j];
        }
        assertArrayEquals(expected, decode(GgmlType.IQ4_NL, b, 32));
    }

    // ------------------------------------------------------------------ 256-weight super-blocks

    @Test
    void q2_KScalesMinsAndBitPairs() {
        byte[] b = new byte[2 * 84];
        // Super-block 0: sub-block s has scale code s and min code 15 - s; d = 1, dmin = 0.5;
        // every qs byte is 0b11_10_01_00, so the quant of a weight is its quarter of the half.
        for (int s = 0; s < 16; s++) {
            b[s] = (byte) (s | (15 - s) << 4);
        }
        for (int i = 16; i < 80; i++) {
            b[i] = (byte) 0xe4;
        }
        half(b, 80, HALF_1);
        half(b, 82, HALF_0_5);
        // Super-block 1: every bit set (scale and min codes 15, quants 3), d = dmin = 1: 45 - 15.
        for (int i = 84; i < 84 + 80; i++) {
            b[i] = (byte) 0xff;
        }
        half(b, 84 + 80, HALF_1);
        half(b, 84 + 82, HALF_1);
        float[] row = decode(GgmlType.Q2_K, b, 512);
        assertArrayEquals(expected(256, e -> (e / 16) * ((e % 128) / 32) - 0.5 * (15 - e / 16)), java.util.Arrays.copyOf(row, 256));
        assertEquals(-7.5f, row[0]);
        assertEquals(-7f, row[16]);
        assertEquals(-4.5f, row[32]);
        assertEquals(13.5f, row[100]);
        assertEquals(22.5f, row[200]);
        assertEquals(45f, row[255]);
        for (int e = 256; e < 512; e++) {
            assertEquals(30f, row[e], "w" + e);
        }
    }

    @Test
    void q3_KSignedScalesHighBitsAndExtremeCodes() {
        byte[] b = new byte[3 * 110];
        // Super-block 0: scale code 4s + 3 (scale 4s - 29) for sub-block s, packed by hand; the
        // hmask bits set for the first 128 weights only; qs bytes 0b00_01_10_11 (quarter k: 3 - k).
        int[] codes = new int[16];
        for (int s = 0; s < 16; s++) {
            codes[s] = 4 * s + 3;
        }
        packQ3Scales(b, 96, codes);
        for (int i = 0; i < 32; i++) {
            b[i] = 0x0f;
        }
        for (int i = 32; i < 96; i++) {
            b[i] = 0x1b;
        }
        half(b, 108, HALF_0_5);
        // Super-block 1: every bit set: codes 63 (scale 31), quants 3, d = 1: 93.
        for (int i = 110; i < 110 + 108; i++) {
            b[i] = (byte) 0xff;
        }
        half(b, 110 + 108, HALF_1);
        // Super-block 2: every bit clear: codes 0 (scale -32), quants 0 - 4, d = -0.5: -64.
        half(b, 220 + 108, HALF_MINUS_0_5);
        float[] row = decode(GgmlType.Q3_K, b, 768);
        assertArrayEquals(expected(256, e -> {
            int low = 3 - (e % 128) / 32;
            return 0.5 * (4 * (e / 16) - 29) * (e < 128 ? low : low - 4);
        }), java.util.Arrays.copyOf(row, 256));
        assertEquals(-43.5f, row[0]);   // scale -29, q 3
        assertEquals(-0f, row[100]);    // scale -5, q 0
        assertEquals(-1.5f, row[130]);  // scale 3, q 3 - 4
        assertEquals(-62f, row[255]);   // scale 31, q 0 - 4
        for (int e = 0; e < 256; e++) {
            assertEquals(93f, row[256 + e], "w" + e);
            assertEquals(-64f, row[512 + e], "w" + e);
        }
    }

    @Test
    void q4_KSixBitScalesAndMins() {
        byte[] b = new byte[3 * 144];
        // Super-block 0: scale codes 63 - 8j, min codes 9j (both reach 63), packed by hand;
        // d = 0.25, dmin = 0.5; qs byte 32k + i holds i % 16 (low) and 15 - i % 16 (high).
        packK4Scales(b, 4, k4Scales(), k4Mins());
        half(b, 0, HALF_0_25);
        half(b, 2, HALF_0_5);
        for (int i = 0; i < 128; i++) {
            b[16 + i] = (byte) (i % 16 | (15 - i % 16) << 4);
        }
        // Super-blocks 1 and 2: every bit set (codes 63, quants 15), d = dmin = 1 and -1.
        for (int i = 144 + 4; i < 2 * 144; i++) {
            b[i] = (byte) 0xff;
            b[i + 144] = (byte) 0xff;
        }
        half(b, 144, HALF_1);
        half(b, 146, HALF_1);
        half(b, 288, HALF_MINUS_1);
        half(b, 290, HALF_MINUS_1);
        float[] row = decode(GgmlType.Q4_K, b, 768);
        int[] sc = k4Scales();
        int[] mn = k4Mins();
        assertArrayEquals(expected(256, e -> {
            int s = e / 32;
            int q = s % 2 == 0 ? e % 16 : 15 - e % 16;
            return 0.25 * sc[s] * q - 0.5 * mn[s];
        }), java.util.Arrays.copyOf(row, 256));
        assertEquals(0f, row[0]);
        assertEquals(15.75f, row[1]);     // 0.25 · 63 · 1
        assertEquals(201.75f, row[32]);   // 0.25 · 55 · 15 - 0.5 · 9
        assertEquals(-31.5f, row[255]);   // 0.25 · 7 · 0 - 0.5 · 63
        for (int e = 0; e < 256; e++) {
            assertEquals(882f, row[256 + e], "63 · 15 - 63, w" + e);
            assertEquals(-882f, row[512 + e], "-63 · 15 + 63, w" + e);
        }
    }

    @Test
    void q5_KAddsTheFifthBitPerSubBlock() {
        byte[] b = new byte[2 * 176];
        packK4Scales(b, 4, k4Scales(), k4Mins());
        half(b, 0, HALF_0_25);
        half(b, 2, HALF_0_5);
        for (int i = 0; i < 32; i++) {
            b[16 + i] = 0x55; // bits 0, 2, 4, 6: the even sub-blocks get 16
        }
        for (int i = 0; i < 128; i++) {
            b[48 + i] = (byte) (i % 16 | (15 - i % 16) << 4);
        }
        for (int i = 176 + 4; i < 2 * 176; i++) {
            b[i] = (byte) 0xff;
        }
        half(b, 176, HALF_1);
        half(b, 178, HALF_1);
        float[] row = decode(GgmlType.Q5_K, b, 512);
        int[] sc = k4Scales();
        int[] mn = k4Mins();
        assertArrayEquals(expected(256, e -> {
            int s = e / 32;
            int q = (s % 2 == 0 ? e % 16 : 15 - e % 16) + (s % 2 == 0 ? 16 : 0);
            return 0.25 * sc[s] * q - 0.5 * mn[s];
        }), java.util.Arrays.copyOf(row, 256));
        assertEquals(252f, row[0]);       // 0.25 · 63 · 16
        assertEquals(201.75f, row[32]);   // as Q4_K: odd sub-blocks have no fifth bit here
        assertEquals(33f, row[192]);      // 0.25 · 15 · 16 - 0.5 · 54
        assertEquals(-31.5f, row[255]);
        for (int e = 0; e < 256; e++) {
            assertEquals(1890f, row[256 + e], "63 · 31 - 63, w" + e);
        }
    }

    @Test
    void q6_KSignedScalesAndSixBitQuants() {
        byte[] b = new byte[3 * 210];
        // Super-block 0: quant bits of weight e are e % 64 (quant e % 64 - 32), placed by hand
        // in ql/qh; scales -128, -111, …, 127; d = 1/8.
        for (int e = 0; e < 256; e++) {
            int v = e % 64;
            int n = e / 128;
            int k = (e % 128) / 32;
            int l = e % 32;
            b[64 * n + 32 * (k % 2) + l] |= (byte) ((v & 15) << (4 * (k / 2)));
            b[128 + 32 * n + l] |= (byte) ((v >> 4) << (2 * k));
        }
        for (int s = 0; s < 16; s++) {
            b[192 + s] = (byte) (17 * s - 128);
        }
        half(b, 208, HALF_0_125);
        // Super-block 1: quants all clear (-32), scales -128, d = 1: 4096.
        for (int s = 0; s < 16; s++) {
            b[210 + 192 + s] = (byte) -128;
        }
        half(b, 210 + 208, HALF_1);
        // Super-block 2: quants all set (31), scales 127, d = 1: 3937.
        for (int i = 0; i < 192; i++) {
            b[420 + i] = (byte) 0xff;
        }
        for (int s = 0; s < 16; s++) {
            b[420 + 192 + s] = 127;
        }
        half(b, 420 + 208, HALF_1);
        float[] row = decode(GgmlType.Q6_K, b, 768);
        assertArrayEquals(expected(256, e -> 0.125 * (17 * (e / 16) - 128) * (e % 64 - 32)), java.util.Arrays.copyOf(row, 256));
        assertEquals(512f, row[0]);        // (1/8 · -128) · -32
        assertEquals(-13f, row[100]);      // (1/8 · -26) · 4
        assertEquals(492.125f, row[255]);  // (1/8 · 127) · 31
        for (int e = 0; e < 256; e++) {
            assertEquals(4096f, row[256 + e], "w" + e);
            assertEquals(3937f, row[512 + e], "w" + e);
        }
    }

    @Test
    void iq4_xsSixBitScalesSplitInTwoFields() {
        byte[] b = new byte[2 * 136];
        // Super-block 0: scale code 9s (0 .. 63) for sub-block s, packed by hand; d = 0.5;
        // qs byte 16s + i holds i (low) and 15 - i (high).
        half(b, 0, HALF_0_5);
        int scalesH = 0;
        for (int s = 0; s < 8; s++) {
            int code = 9 * s;
            b[4 + s / 2] |= (byte) ((code & 15) << (4 * (s % 2)));
            scalesH |= (code >> 4) << (2 * s);
        }
        b[2] = (byte) scalesH;
        b[3] = (byte) (scalesH >> 8);
        for (int i = 0; i < 128; i++) {
            b[8 + i] = (byte) (i % 16 | (15 - i % 16) << 4);
        }
        // Super-block 1: every bit set: codes 63 (scale 31), levels 113, d = -1.
        for (int i = 136 + 2; i < 2 * 136; i++) {
            b[i] = (byte) 0xff;
        }
        half(b, 136, HALF_MINUS_1);
        float[] row = decode(GgmlType.IQ4_XS, b, 512);
        assertArrayEquals(expected(256, e -> {
            int i = e % 32;
            return 0.5 * (9 * (e / 32) - 32) * LEVELS[i < 16 ? i : 31 - i];
        }), java.util.Arrays.copyOf(row, 256));
        assertEquals(2032f, row[0]);       // 0.5 · -32 · -127
        assertEquals(-11.5f, row[40]);     // 0.5 · -23 · 1
        assertEquals(-1968.5f, row[255]);  // 0.5 · 31 · -127
        for (int e = 0; e < 256; e++) {
            assertEquals(-3503f, row[256 + e], "-1 · 31 · 113, w" + e);
        }
    }

    // ------------------------------------------------------------------ random blocks

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void randomBlocksDecodeToTheExactValueRoundedOnce(GgmlType type) {
        int rows = 6;
        int cols = 4 * type.blockSize();
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, new Random(type.ordinal() * 7L));
            byte[] bytes = w.data().toArray(ValueLayout.JAVA_BYTE);
            BigDecimal[] exact = new BigDecimal[type.blockSize()];
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, row, 0);
                for (int blk = 0; blk < cols / type.blockSize(); blk++) {
                    ExactDecoder.decode(type, bytes, (int) (r * w.rowBytes() + (long) blk * type.blockBytes()), exact);
                    for (int j = 0; j < type.blockSize(); j++) {
                        float expected = exact[j].floatValue();
                        float actual = row[blk * type.blockSize() + j];
                        assertTrue(expected == actual, type + " row " + r + " block " + blk + " weight " + j + ": exact "
                                + exact[j].toPlainString() + " rounds to " + expected + ", decoded " + actual);
                    }
                }
                assertDotsSeeEveryWeight(w, r, row);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Decodes one row of {@code cols} weights from {@code bytes} and checks dot and dotScalar see the same weights. */
    private static float[] decode(GgmlType type, byte[] bytes, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, 0, bytes.length);
            WeightMatrix w = WeightMatrix.of("hand-built", type, data, 1, cols);
            float[] row = new float[cols + 2];
            w.dequantizeRow(0, row, 2);
            float[] out = java.util.Arrays.copyOfRange(row, 2, cols + 2);
            assertDotsSeeEveryWeight(w, 0, out);
            return out;
        }
    }

    /** With a one-hot input, {@code dot} and {@code dotScalar} are the weight itself (zeros of either sign alike). */
    private static void assertDotsSeeEveryWeight(WeightMatrix w, int r, float[] row) {
        float[] x = new float[w.cols()];
        for (int j = 0; j < w.cols(); j++) {
            x[j] = 1f;
            float dot = w.dot(r, x, 0);
            float scalar = w.dotScalar(r, x, 0);
            if (dot != row[j] || scalar != row[j]) {
                throw new AssertionError(w.type() + " row " + r + " weight " + j + ": dequantized " + row[j] + ", dot " + dot
                        + ", dotScalar " + scalar);
            }
            x[j] = 0f;
        }
    }

    /** {@code f(e)} for {@code e < n}, each computed exactly in double and rounded once to float. */
    private static float[] expected(int n, IntToDoubleFunction f) {
        float[] out = new float[n];
        for (int e = 0; e < n; e++) {
            out[e] = (float) f.applyAsDouble(e);
        }
        return out;
    }

    private static int[] k4Scales() {
        int[] sc = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = 63 - 8 * j;
        }
        return sc;
    }

    private static int[] k4Mins() {
        int[] m = new int[8];
        for (int j = 0; j < 8; j++) {
            m[j] = 9 * j;
        }
        return m;
    }

    /**
     * Q4_K/Q5_K's 12 scale bytes from the layout: bytes 0–3 scales 0–3 with the top bits of scales
     * 4–7 above them; bytes 4–7 mins 0–3 with the top bits of mins 4–7; bytes 8–11 the low nibbles
     * of scales 4–7 (low) and mins 4–7 (high).
     */
    private static void packK4Scales(byte[] b, int at, int[] scales, int[] mins) {
        for (int j = 0; j < 4; j++) {
            b[at + j] = (byte) (scales[j] | (scales[j + 4] >> 4) << 6);
            b[at + 4 + j] = (byte) (mins[j] | (mins[j + 4] >> 4) << 6);
            b[at + 8 + j] = (byte) ((scales[j + 4] & 15) | (mins[j + 4] & 15) << 4);
        }
    }

    /**
     * Q3_K's 12 scale bytes from the layout: the low nibble of code s in byte s (s &lt; 8, low
     * half) or byte s - 8 (high half); its top two bits at bit 2·(s / 4) of byte 8 + s % 4.
     */
    private static void packQ3Scales(byte[] b, int at, int[] codes) {
        for (int s = 0; s < 16; s++) {
            int low = codes[s] & 15;
            if (s < 8) {
                b[at + s] |= (byte) low;
            } else {
                b[at + s - 8] |= (byte) (low << 4);
            }
            b[at + 8 + s % 4] |= (byte) ((codes[s] >> 4) << (2 * (s / 4)));
        }
    }

    private static void half(byte[] b, int at, short h) {
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >> 8);
    }

    private static void word(byte[] b, int at, int w) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (w >> (8 * i));
        }
    }
}
