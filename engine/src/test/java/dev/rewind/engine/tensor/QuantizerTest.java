package dev.rewind.engine.tensor;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link Quantizer}: hand-computed blocks for every rounding rule, error bounds through the
 * {@link WeightMatrix} dequantizers, and byte-for-byte equality with files {@code llama-quantize} made.
 */
class QuantizerTest {

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // ------------------------------------------------------------------ hand-computed blocks

    @Test
    void q8_0RoundsHalvesAwayFromZeroWithScaleOne() {
        float[] x = new float[32];
        // amax = 127 gives d = 1 and id = 1, so q = roundf(x): halves go away from zero, not to even.
        float[] head = {-127f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 0.49999997f, 126.5f, 3f, -0.50000006f};
        System.arraycopy(head, 0, x, 0, head.length);
        byte[] expected = new byte[34];
        expected[0] = 0x00; // d = 1.0 = half 0x3C00, little-endian
        expected[1] = 0x3C;
        byte[] q = {-127, 1, -1, 2, 3, -3, 0, 127, 3, -1};
        System.arraycopy(q, 0, expected, 2, q.length);
        assertArrayEquals(expected, quantize(GgmlType.Q8_0, x));
    }

    @Test
    void q8_0ScalesByTheFloatScaleAndStoresItsHalf() {
        float[] x = new float[32];
        x[3] = 1f;      // amax 1: d = 1/127 (not a half), id = 1/d = 127.0 in float
        x[4] = 0.25f;   // 31.75 -> 32
        x[5] = -0.25f;  // -> -32
        x[6] = 0.0039f; // 0.4953 -> 0
        x[7] = -1f;     // -> -127
        byte[] bytes = quantize(GgmlType.Q8_0, x);
        assertEquals(0x2008, halfAt(bytes, 0), "half of 1/127 = 0.0078735 (rounded to nearest)");
        assertEquals(127, bytes[2 + 3]);
        assertEquals(32, bytes[2 + 4]);
        assertEquals(-32, bytes[2 + 5]);
        assertEquals(0, bytes[2 + 6]);
        assertEquals(-127, bytes[2 + 7]);
    }

    @Test
    void allZeroBlocks() {
        assertArrayEquals(new byte[34], quantize(GgmlType.Q8_0, new float[32]), "Q8_0: d = 0, id = 0, every q = 0");
        byte[] q4 = new byte[18];
        // Q4_0: max stays 0, d = 0 / -8 = -0.0 (half 0x8000), id = 0, every nibble (int) 8.5 = 8.
        q4[1] = (byte) 0x80;
        for (int j = 2; j < 18; j++) {
            q4[j] = (byte) 0x88;
        }
        assertArrayEquals(q4, quantize(GgmlType.Q4_0, new float[32]));
    }

    @Test
    void q4_0WithANegativeMaximum() {
        float[] x = new float[32];
        // max = -8 (largest magnitude, negative): d = 1, id = 1, q = min(15, (int) (x + 8.5)).
        float[] values = {-8f, 7.5f, 0.5f, -0.5f, 0f, 1.49f, -3.5f, 8f /* ties -8 in magnitude: the first one wins */};
        int[] nibbles = {0, 15 /* 16 clamped */, 9, 8, 8, 9, 5, 15 /* 16.5 clamped */};
        System.arraycopy(values, 0, x, 0, values.length);
        x[16] = -7.7f; // high nibble of byte 0: (int) 0.8 = 0
        x[17] = 6.6f;  // high nibble of byte 1: (int) 15.1 = 15
        x[18] = 2.5f;  // high nibble of byte 2: (int) 11.0 = 11 (half rounds up)
        byte[] bytes = quantize(GgmlType.Q4_0, x);
        assertEquals(0x3C00, halfAt(bytes, 0));
        int[] high = new int[16];
        Arrays.fill(high, 8);
        high[0] = 0;
        high[1] = 15;
        high[2] = 11;
        for (int j = 0; j < 16; j++) {
            int lo = j < nibbles.length ? nibbles[j] : 8;
            assertEquals(lo | high[j] << 4, bytes[2 + j] & 0xFF, "byte " + j);
        }
        float[] back = dequantize(GgmlType.Q4_0, bytes, 32);
        assertEquals(-8f, back[0], "the maximum itself is exact");
        assertEquals(7f, back[1], "7.5 is clamped to 7");
        assertEquals(7f, back[7], "+8, the mirror of the maximum, is clamped to 7");
    }

    @Test
    void q4_0WithAPositiveMaximum() {
        float[] x = new float[32];
        // max = 4: d = -0.5, id = -2.
        float[] values = {4f, -4f, 2f, -1f, 0.25f, -0.25f, 0.3f};
        int[] nibbles = {0 /* -8 + 8.5 */, 15 /* 16.5 clamped */, 4 /* 4.5 */, 10 /* 10.5 */, 8 /* 8.0 */, 9 /* 9.0 */, 7 /* 7.9 */};
        System.arraycopy(values, 0, x, 0, values.length);
        byte[] bytes = quantize(GgmlType.Q4_0, x);
        assertEquals(0xB800, halfAt(bytes, 0), "d = -0.5");
        for (int j = 0; j < 16; j++) {
            int lo = j < nibbles.length ? nibbles[j] : 8;
            assertEquals(lo | 8 << 4, bytes[2 + j] & 0xFF, "byte " + j);
        }
        float[] back = dequantize(GgmlType.Q4_0, bytes, 32);
        assertEquals(4f, back[0]);
        assertEquals(-3.5f, back[1], "-4 needs 16: clamped to 15, weight -0.5 * 7");
    }

    @Test
    void f16RoundsToNearestEven() {
        float[] x = {1f, 1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 65504f, 65519.99f, 65520f, 0x1p-24f, 0x1p-25f, 1.5f * 0x1p-24f, -2f,
                Float.NEGATIVE_INFINITY, -0f};
        int[] halves = {0x3C00, 0x3C00, 0x3C02, 0x7BFF, 0x7BFF, 0x7C00, 0x0001, 0x0000, 0x0002, 0xC000, 0xFC00, 0x8000};
        byte[] bytes = quantize(GgmlType.F16, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(halves[i], halfAt(bytes, 2 * i), "F16 of " + x[i]);
        }
        byte[] nan = quantize(GgmlType.F16, new float[]{Float.NaN});
        assertTrue(Float.isNaN(Float.float16ToFloat((short) halfAt(nan, 0))));
    }

    @Test
    void bf16RoundsToNearestEvenAndQuietsNaNs() {
        int[] floats = {0x3F80_0000 /* 1 */, 0x3F80_8000 /* 1 + 2^-8: tie, to even */, 0x3F81_8000 /* tie, up to even */,
                0x3F80_8001 /* above the tie */, 0x7F7F_FFFF /* max float: rounds to infinity */, 0x7F80_0000 /* +inf */,
                0x7F80_0001 /* signalling NaN */, 0xFFC1_2345 /* negative quiet NaN */, 0x7FFF_FFFF /* NaN that would round to inf+carry */,
                0x0001_8000 /* subnormal, kept and rounded */, 0x8000_0000 /* -0 */};
        int[] expected = {0x3F80, 0x3F80, 0x3F82, 0x3F81, 0x7F80, 0x7F80, 0x7FC0, 0xFFC1, 0x7FFF, 0x0002, 0x8000};
        float[] x = new float[floats.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.intBitsToFloat(floats[i]);
        }
        byte[] bytes = quantize(GgmlType.BF16, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(expected[i], halfAt(bytes, 2 * i), "BF16 of 0x" + Integer.toHexString(floats[i]));
        }
    }

    @Test
    void f32IsCopiedLittleEndian() {
        float[] x = {1.5f, -0f, Float.NaN, 0x1p-149f};
        byte[] bytes = quantize(GgmlType.F32, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), MemorySegment.ofArray(bytes).get(I32_LE, 4L * i));
        }
    }

    // ------------------------------------------------------------------ error bounds

    /**
     * Through {@link WeightMatrix#dequantizeRow}: with {@code d} the float scale and {@code h} its
     * stored half, weight {@code j} is {@code h * q[j]} while {@code q[j]} was rounded from
     * {@code x[j] / d}, so {@code |x - h q| <= |d| / 2 + |q| |d - h|} (the second term is the half
     * rounding of the scale, up to 2^-11 relative); {@code slack} covers the float rounding of
     * {@code x * id} (a few ulps of {@code amax}).
     */
    @Test
    void q8_0ErrorIsHalfAStep() {
        Random random = new Random(1);
        int blocks = 4096;
        float[] x = randomBlocks(random, blocks);
        byte[] bytes = quantize(GgmlType.Q8_0, x);
        float[] back = dequantize(GgmlType.Q8_0, bytes, x.length);
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            }
            double d = amax / 127f;
            double h = Float.float16ToFloat((short) halfAt(bytes, b * 34));
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                int q = bytes[b * 34 + 2 + j];
                double bound = d / 2 + Math.abs(q) * Math.abs(d - h) + amax * 0x1p-20;
                assertTrue(Math.abs(x[i] - back[i]) <= bound, "block " + b + " element " + j + ": " + x[i] + " -> " + back[i] + ", bound " + bound);
                assertTrue(Math.abs(q) <= 127);
            }
        }
    }

    /**
     * Q4_0 steps by {@code |d| = |max| / 8}: the error is at most half a step, except where the
     * rounded value would be 16 (values within half a step of {@code -max}): those are clamped to
     * 15, a full step at most. Plus the half rounding of {@code d} times {@code |q - 8|}.
     */
    @Test
    void q4_0ErrorIsHalfAStepExceptAtTheClamp() {
        Random random = new Random(2);
        int blocks = 4096;
        float[] x = randomBlocks(random, blocks);
        byte[] bytes = quantize(GgmlType.Q4_0, x);
        float[] back = dequantize(GgmlType.Q4_0, bytes, x.length);
        int clamped = 0;
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            float max = 0;
            for (int j = 0; j < 32; j++) {
                if (amax < Math.abs(x[b * 32 + j])) {
                    amax = Math.abs(x[b * 32 + j]);
                    max = x[b * 32 + j];
                }
            }
            double d = max / -8f;
            double h = Float.float16ToFloat((short) halfAt(bytes, b * 18));
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                int qs = bytes[b * 18 + 2 + j % 16] & 0xFF;
                int q = j < 16 ? qs & 0xF : qs >> 4;
                boolean atClamp = x[i] / d >= 7.5 - 1e-5;
                clamped += atClamp ? 1 : 0;
                double step = Math.abs(d) * (atClamp ? 1 : 0.5);
                double bound = step + Math.abs(q - 8) * Math.abs(d - h) + amax * 0x1p-20;
                assertTrue(Math.abs(x[i] - back[i]) <= bound, "block " + b + " element " + j + ": " + x[i] + " -> " + back[i] + ", bound " + bound);
                if (q == 15) {
                    assertTrue(x[i] / d >= 6.5 - 1e-5, "15 only from values at least 6.5 steps away");
                }
            }
        }
        assertTrue(clamped > 0, "random blocks should exercise the clamp");
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16"})
    void halvesAreWithinHalfAnUlp(GgmlType type) {
        Random random = new Random(3);
        float[] x = new float[100_000];
        for (int i = 0; i < x.length; i++) {
            // From half subnormals (2^-24) up to a few thousand, inside the half range (65504).
            x[i] = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(30) - 20));
        }
        float[] back = dequantize(type, quantize(type, x), x.length);
        // Half: 11 significant bits (relative error <= 2^-11) down to 2^-14, then steps of 2^-24.
        // BF16: 8 significant bits (2^-8), and a float's range, so no underflow here.
        double relative = type == GgmlType.F16 ? 0x1p-11 : 0x1p-8;
        double absolute = type == GgmlType.F16 ? 0x1p-25 : 0;
        for (int i = 0; i < x.length; i++) {
            double bound = Math.max(Math.abs(x[i]) * relative, absolute);
            assertTrue(Math.abs(x[i] - back[i]) <= bound, type + " of " + x[i] + " gave " + back[i]);
        }
    }

    // ------------------------------------------------------------------ arguments

    @Test
    void unsupportedTypesAndBadSizesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Quantizer.bytes(GgmlType.IQ2_XXS, 256));
        assertTrue(e.getMessage().contains("IQ2_XXS"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Quantizer.quantize(GgmlType.TQ1_0, new float[256], 0, 256, MemorySegment.ofArray(new byte[1024]), 0));
        assertTrue(e.getMessage().contains("TQ1_0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Quantizer.bytes(GgmlType.Q8_0, 33));
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.bytes(GgmlType.Q4_K, 128));
        assertTrue(e.getMessage().contains("blocks of 256"), e.getMessage());
        assertEquals(144 * 2, Quantizer.bytes(GgmlType.Q4_K, 512));
        assertEquals(210, Quantizer.bytes(GgmlType.Q6_K, 256));
        assertEquals(136, Quantizer.bytes(GgmlType.IQ4_XS, 256));
        assertEquals(20 * 4, Quantizer.bytes(GgmlType.Q4_1, 128));
        assertEquals(34 * 4, Quantizer.bytes(GgmlType.Q8_0, 128));
        assertEquals(18 * 4, Quantizer.bytes(GgmlType.Q4_0, 128));
        assertEquals(2 * 3, Quantizer.bytes(GgmlType.BF16, 3));
        assertThrows(IndexOutOfBoundsException.class,
                () -> Quantizer.quantize(GgmlType.Q8_0, new float[32], 1, 32, MemorySegment.ofArray(new byte[34]), 0));
        assertThrows(IndexOutOfBoundsException.class,
                () -> Quantizer.quantize(GgmlType.Q8_0, new float[32], 0, 32, MemorySegment.ofArray(new byte[34]), 1));
    }

    @Test
    void offsetsSelectTheSourceAndTarget() {
        Random random = new Random(4);
        float[] x = randomBlocks(random, 3);
        byte[] whole = quantize(GgmlType.Q4_0, x);
        byte[] target = new byte[18 + 7];
        Quantizer.quantize(GgmlType.Q4_0, x, 32, 32, MemorySegment.ofArray(target), 7);
        assertArrayEquals(Arrays.copyOfRange(whole, 18, 36), Arrays.copyOfRange(target, 7, 25));
    }

    // ------------------------------------------------------------------ llama.cpp's own output

    /**
     * {@code tiny-llama-F32.gguf} quantized with {@code llama-quantize --pure} to each type: every
     * 2-D tensor quantized here must equal that file's tensor byte for byte.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "F16", "BF16", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void matchesLlamaQuantizeByteForByte(GgmlType type) throws IOException {
        Path models = sharedModels();
        try (GgufFile f32 = GgufFile.open(file(models, "tiny-llama-F32.gguf"));
             GgufFile quantized = GgufFile.open(file(models, "tiny-llama-" + type + ".gguf"));
             Arena arena = Arena.ofConfined()) {
            List<String> compared = new ArrayList<>();
            for (GgufTensorInfo source : f32.tensors()) {
                if (source.dimensions() != 2) {
                    continue;
                }
                assertEquals(GgmlType.F32, source.type(), source.name());
                GgufTensorInfo reference = quantized.tensor(source.name())
                        .orElseThrow(() -> new AssertionError("tensor " + source.name() + " missing from the " + type + " file"));
                assertEquals(type, reference.type(), source.name());
                float[] values = new float[Math.toIntExact(source.elementCount())];
                MemorySegment.copy(f32.tensorData(source), F32_LE, 0, values, 0, values.length);
                MemorySegment ours = arena.allocate(Quantizer.bytes(type, values.length));
                Quantizer.quantize(type, values, 0, values.length, ours, 0);
                MemorySegment theirs = quantized.tensorData(reference);
                long at = ours.mismatch(theirs);
                if (at >= 0) {
                    long block = at / type.blockBytes();
                    fail(type + " tensor " + source.name() + " differs at byte " + at + " (block " + block + "): ours "
                            + hex(ours, block, type) + ", llama.cpp " + hex(theirs, block, type));
                }
                compared.add(source.name());
            }
            assertEquals(16, compared.size(), "2-D tensors compared: " + compared);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Path sharedModels() {
        String shared = System.getProperty("rewind.shared");
        if (shared == null || shared.isBlank()) {
            fail("system property rewind.shared is not set: run the tests through Maven (surefire sets it to "
                    + "<repo>/../shared) or pass -Drewind.shared=/path/to/shared");
        }
        Path dir = Path.of(shared, "models");
        if (!Files.isDirectory(dir)) {
            fail("shared models folder " + dir.toAbsolutePath() + " does not exist (rewind.shared=" + shared + ")");
        }
        return dir;
    }

    private static Path file(Path dir, String name) {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            fail("shared model file " + p.toAbsolutePath() + " does not exist");
        }
        return p;
    }

    private static String hex(MemorySegment data, long block, GgmlType type) {
        long from = block * type.blockBytes();
        long to = Math.min(data.byteSize(), from + Math.max(type.blockBytes(), 16));
        return HexFormat.ofDelimiter(" ").formatHex(data.asSlice(from, to - from).toArray(ValueLayout.JAVA_BYTE));
    }

    /** Blocks of Gaussian values whose scale varies block to block over six orders of magnitude. */
    private static float[] randomBlocks(Random random, int blocks) {
        float[] x = new float[blocks * 32];
        for (int b = 0; b < blocks; b++) {
            double scale = Math.pow(10, random.nextInt(7) - 3);
            for (int j = 0; j < 32; j++) {
                x[b * 32 + j] = (float) (random.nextGaussian() * scale);
            }
        }
        return x;
    }

    private static byte[] quantize(GgmlType type, float[] x) {
        byte[] out = new byte[Math.toIntExact(Quantizer.bytes(type, x.length))];
        Quantizer.quantize(type, x, 0, x.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    private static float[] dequantize(GgmlType type, byte[] bytes, int n) {
        int cols = type.blockSize() == 1 ? n : 32;
        int rows = n / cols;
        WeightMatrix m = WeightMatrix.of("test", type, MemorySegment.ofArray(bytes), rows, cols);
        float[] out = new float[n];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, out, r * cols);
        }
        return out;
    }

    private static int halfAt(byte[] bytes, int at) {
        return (bytes[at] & 0xFF) | (bytes[at + 1] & 0xFF) << 8;
    }
}
