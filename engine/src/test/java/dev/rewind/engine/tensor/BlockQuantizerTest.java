package dev.rewind.engine.tensor;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The quantizers of Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS and the k-quants ({@link LegacyQuants},
 * {@link KQuants}, {@link IQ4Quants}): all-zero blocks worked out by hand; every weight decoded
 * to the point of its block's grid (the values the stored scales allow) nearest to the original;
 * the overall error of each type on Gaussian rows; and, against files {@code llama-quantize} made,
 * the mixture files of every family tensor by tensor and the re-quantization of decoded blocks.
 * (The single-type files are compared byte for byte in {@link QuantizerTest}.)
 */
class BlockQuantizerTest {

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // ------------------------------------------------------------------ hand-computed blocks

    /**
     * Zeros in, by the reference arithmetic: Q4_1 and Q5_1 have {@code d = (0 - 0) / 15 = 0}, min 0
     * and quants {@code (int) 0.5 = 0}; Q5_0 has {@code d = 0 / -16 = -0} (half 0x8000) and quants
     * {@code (int) 16.5 = 16}: low nibbles 0, every fifth bit set; the k-quants find no range and
     * store zeros everywhere (Q3_K's quants 0 mean -4, times a zero scale); IQ4_NL's scale 0 picks
     * level 8 (the one nearest 0, value 1) for every weight; IQ4_XS's super-block scale is
     * {@code -0 / 32 = -0} and its block scales 0 are stored as code 32 (high bits {@code 10} in
     * every pair of scales_h).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void allZeroBlocks(GgmlType type) {
        byte[] expected = new byte[type.blockBytes()];
        switch (type) {
            case Q5_0 -> {
                expected[1] = (byte) 0x80;
                Arrays.fill(expected, 2, 6, (byte) 0xff);
            }
            case IQ4_NL -> Arrays.fill(expected, 2, 18, (byte) 0x88);
            case IQ4_XS -> {
                expected[1] = (byte) 0x80;
                expected[2] = (byte) 0xaa;
                expected[3] = (byte) 0xaa;
                Arrays.fill(expected, 8, 136, (byte) 0x88);
            }
            default -> {
            }
        }
        byte[] bytes = quantize(type, new float[type.blockSize()]);
        assertArrayEquals(expected, bytes, () -> HexFormat.ofDelimiter(" ").formatHex(bytes));
        for (float w : dequantize(type, bytes, type.blockSize())) {
            assertEquals(0f, w, 0f);
        }
    }

    @Test
    void q4_1OfARampIsExact() {
        // 0, 1, …, 15 twice: min 0, max 15, d = 1, every value a quant of its own.
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = j % 16;
        }
        byte[] bytes = quantize(GgmlType.Q4_1, x);
        assertEquals(0x3c00, halfAt(bytes, 0), "d = 1");
        assertEquals(0x0000, halfAt(bytes, 2), "m = 0");
        for (int j = 0; j < 16; j++) {
            assertEquals(j | j << 4, bytes[4 + j] & 0xFF, "byte " + j);
        }
        assertArrayEquals(x, dequantize(GgmlType.Q4_1, bytes, 32));
    }

    @Test
    void q5_0PutsTheFifthBitsInQh() {
        // max = -16 (largest magnitude): d = 1, quant = min(31, (int) (x + 16.5)).
        float[] x = new float[32];
        x[0] = -16f;  // 0
        x[1] = 15.4f; // 31
        x[2] = 16f;   // 32 -> clamped to 31
        x[3] = 0.5f;  // (int) 17.0 = 17: fifth bit
        x[17] = -0.6f; // (int) 15.9 = 15: no fifth bit
        x[18] = 3f;   // 19: fifth bit
        byte[] bytes = quantize(GgmlType.Q5_0, x);
        assertEquals(0x3c00, halfAt(bytes, 0));
        int qh = (bytes[2] & 0xFF) | (bytes[3] & 0xFF) << 8 | (bytes[4] & 0xFF) << 16 | (bytes[5] & 0xFF) << 24;
        int[] quants = new int[32];
        Arrays.fill(quants, 16);
        quants[0] = 0;
        quants[1] = 31;
        quants[2] = 31;
        quants[3] = 17;
        quants[17] = 15;
        quants[18] = 19;
        for (int j = 0; j < 32; j++) {
            int nibble = ((bytes[6 + j % 16] & 0xFF) >> (j < 16 ? 0 : 4)) & 0x0F;
            assertEquals(quants[j], nibble | ((qh >>> j) & 1) << 4, "quant " + j);
        }
    }

    // ------------------------------------------------------------------ what the format allows

    /**
     * Every decoded weight is the point of its sub-block's grid {@code {a · l - b}} (the values
     * the stored scales and mins allow) nearest to the original value, up to {@code ε}: a few float
     * roundings for the k-quants, which re-round every weight against the stored halves. The others
     * round their quants against the float scale (and min) before those are stored as halves
     * (ggml's arithmetic), so each grid point may move by up to {@code δ} = the largest quant times
     * the half's ulp at the scale (times 32, the largest block-scale code, for IQ4_XS, whose
     * super-block scale is the half) plus the ulp at the min; the chosen point is then within
     * {@code 2δ} of the nearest one (plus 2^-8 of the block's largest magnitude for the float
     * roundings). That matters for tiny blocks, whose scales are subnormal halves of few bits.
     * Rows mix Gaussian blocks of very different scales with outliers, all-zero, constant,
     * all-positive and all-negative blocks.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void everyWeightIsTheNearestPointOfItsGrid(GgmlType type) {
        Random random = new Random(type.ordinal() + 100L);
        int blocks = 64;
        int n = type.blockSize();
        float[] x = awkwardBlocks(random, blocks, n);
        byte[] bytes = quantize(type, x);
        float[] back = dequantize(type, bytes, x.length);
        int subs = subBlocks(type);
        int subSize = n / subs;
        boolean kQuant = type.name().endsWith("_K");
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            for (int j = 0; j < n; j++) {
                amax = Math.max(amax, Math.abs(x[b * n + j]));
            }
            for (int s = 0; s < subs; s++) {
                Grid grid = grid(type, MemorySegment.ofArray(bytes), (long) b * type.blockBytes(), s);
                double epsilon = kQuant ? 0x1p-18 * (amax + Math.abs(grid.b)) : 0x1p-8 * amax + 2 * halfRounding(type, bytes, b);
                for (int i = 0; i < subSize; i++) {
                    int e = b * n + s * subSize + i;
                    double nearest = Double.MAX_VALUE;
                    for (int l : grid.levels) {
                        nearest = Math.min(nearest, Math.abs(x[e] - (grid.a * l - grid.b)));
                    }
                    double error = Math.abs(x[e] - back[e]);
                    assertTrue(error <= nearest + epsilon, type + " block " + b + " sub-block " + s + " weight " + i + ": " + x[e]
                            + " decoded as " + back[e] + ", the nearest grid point is " + nearest + " away (ε " + epsilon + ")");
                }
            }
        }
    }

    /**
     * The relative RMS error on Gaussian rows (64 × 1024 draws): what llama-quantize's arithmetic
     * gives (this quantizer reproduces its bytes), within 10 %, and in the order of the bits spent.
     */
    @Test
    void relativeErrorOnGaussianRows() {
        Random random = new Random(5);
        float[] x = new float[64 * 1024];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        // measured: Q4_1 0.0786, Q5_0 0.0428, Q5_1 0.0379, IQ4_NL 0.0763, Q2_K 0.297, Q3_K 0.151,
        // Q4_K 0.0716, Q5_K 0.0362, Q6_K 0.0178, IQ4_XS 0.0768
        Object[][] limits = {{GgmlType.Q2_K, 0.33}, {GgmlType.Q3_K, 0.166}, {GgmlType.Q4_1, 0.087}, {GgmlType.IQ4_NL, 0.084},
                {GgmlType.IQ4_XS, 0.085}, {GgmlType.Q4_K, 0.079}, {GgmlType.Q5_0, 0.047}, {GgmlType.Q5_1, 0.042},
                {GgmlType.Q5_K, 0.040}, {GgmlType.Q6_K, 0.0196}};
        double previous = Double.MAX_VALUE;
        for (Object[] limit : limits) {
            GgmlType type = (GgmlType) limit[0];
            float[] back = dequantize(type, quantize(type, x), x.length);
            double error = 0;
            double signal = 0;
            for (int i = 0; i < x.length; i++) {
                error += (x[i] - back[i]) * (x[i] - back[i]);
                signal += x[i] * x[i];
            }
            double relative = Math.sqrt(error / signal);
            assertTrue(relative <= (double) limit[1], type + ": relative RMS error " + relative + " > " + limit[1]);
            assertTrue(relative < previous * 1.15, type + " is much worse than the type before it: " + relative);
            previous = relative;
        }
    }

    @Test
    void offsetsSelectTheSourceAndTarget() {
        Random random = new Random(4);
        float[] x = awkwardBlocks(random, 3, 256);
        for (GgmlType type : new GgmlType[] {GgmlType.Q4_K, GgmlType.IQ4_XS, GgmlType.Q5_1}) {
            int n = type.blockSize();
            byte[] whole = quantize(type, Arrays.copyOf(x, 3 * n));
            byte[] target = new byte[type.blockBytes() + 7];
            Quantizer.quantize(type, x, n, n, MemorySegment.ofArray(target), 7);
            assertArrayEquals(Arrays.copyOfRange(whole, type.blockBytes(), 2 * type.blockBytes()),
                    Arrays.copyOfRange(target, 7, 7 + type.blockBytes()), type.toString());
        }
    }

    // ------------------------------------------------------------------ llama.cpp's own files

    static Stream<Arguments> mixtures() {
        return Stream.of("llama", "qwen2", "gemma", "phi3").flatMap(f -> Stream.of(Arguments.of(f, "Q4_K_M"), Arguments.of(f, "Q6_K")));
    }

    /**
     * The Q4_K_M and Q6_K files of every family: each 2-D tensor, whatever its type in the
     * mixture (Q4_K, Q5_K, Q6_K), equals the family's F32 tensor quantized here to that type.
     */
    @ParameterizedTest(name = "tiny-{0}-{1}")
    @MethodSource("mixtures")
    void mixtureFilesMatchTensorByTensor(String family, String mixture) throws IOException {
        try (GgufFile f32 = GgufFile.open(shared("tiny-" + family + "-F32.gguf"));
             GgufFile quantized = GgufFile.open(shared("tiny-" + family + "-" + mixture + ".gguf"));
             Arena arena = Arena.ofConfined()) {
            int compared = 0;
            java.util.Set<GgmlType> types = java.util.EnumSet.noneOf(GgmlType.class);
            for (GgufTensorInfo source : f32.tensors()) {
                if (source.dimensions() != 2) {
                    continue;
                }
                GgufTensorInfo reference = quantized.tensor(source.name())
                        .orElseThrow(() -> new AssertionError(source.name() + " missing from the " + mixture + " file"));
                float[] values = new float[Math.toIntExact(source.elementCount())];
                MemorySegment.copy(f32.tensorData(source), F32_LE, 0, values, 0, values.length);
                MemorySegment ours = arena.allocate(Quantizer.bytes(reference.type(), values.length));
                Quantizer.quantize(reference.type(), values, 0, values.length, ours, 0);
                long at = ours.mismatch(quantized.tensorData(reference));
                if (at >= 0) {
                    fail(reference.type() + " tensor " + source.name() + " differs at byte " + at);
                }
                types.add(reference.type());
                compared++;
            }
            assertTrue(compared >= 10, "2-D tensors compared: " + compared);
            assertTrue(types.contains(mixture.equals("Q6_K") ? GgmlType.Q6_K : GgmlType.Q4_K), "types seen: " + types);
        }
    }

    /**
     * For the types whose scale comes from the block's extremes alone, quantizing the decoded
     * weights of llama.cpp's file gives back its bytes, block for block. (The types that search
     * for a best-fitting scale — the k-quants and IQ4 — need not land on the same scale twice, and
     * do not for a few percent of blocks.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void requantizingDecodedBlocksGivesTheSameBytes(String typeName) throws IOException {
        GgmlType type = GgmlType.valueOf(typeName);
        try (GgufFile file = GgufFile.open(shared("tiny-llama-" + type + ".gguf")); Arena arena = Arena.ofConfined()) {
            for (GgufTensorInfo t : file.tensors()) {
                if (t.dimensions() != 2) {
                    continue;
                }
                int cols = (int) t.shape()[0];
                int rows = (int) t.shape()[1];
                WeightMatrix w = WeightMatrix.of(t.name(), t.type(), file.tensorData(t), rows, cols);
                float[] row = new float[cols];
                MemorySegment again = arena.allocate(w.rowBytes());
                for (int r = 0; r < rows; r++) {
                    w.dequantizeRow(r, row, 0);
                    Quantizer.quantize(type, row, 0, cols, again, 0);
                    long at = again.mismatch(file.tensorData(t).asSlice(r * w.rowBytes(), w.rowBytes()));
                    assertTrue(at < 0, t.name() + " row " + r + " differs at byte " + at);
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    /** A sub-block's representable values {@code a · l - b} for {@code l} in {@code levels}. */
    private record Grid(double a, double b, int[] levels) {
    }

    private static int subBlocks(GgmlType type) {
        return switch (type) {
            case Q2_K, Q3_K, Q6_K -> 16;
            case Q4_K, Q5_K, IQ4_XS -> 8;
            default -> 1;
        };
    }

    /** The grid of sub-block {@code s} of the block at byte {@code at}, from its stored scales (see the matrices' layouts). */
    private static Grid grid(GgmlType type, MemorySegment block, long at, int s) {
        return switch (type) {
            case Q4_1 -> new Grid(half(block, at), -half(block, at + 2), range(0, 15));
            case Q5_0 -> new Grid(half(block, at), 0, range(-16, 15));
            case Q5_1 -> new Grid(half(block, at), -half(block, at + 2), range(0, 31));
            case IQ4_NL -> new Grid(half(block, at), 0, IQ4_NLMatrix.LEVELS);
            case Q2_K -> {
                int sc = block.get(ValueLayout.JAVA_BYTE, at + s) & 0xFF;
                yield new Grid(half(block, at + 80) * (sc & 15), half(block, at + 82) * (sc >> 4), range(0, 3));
            }
            case Q3_K -> new Grid(half(block, at + 108) * KScales.q3kScale(block, at + 96, s), 0, range(-4, 3));
            case Q4_K, Q5_K -> new Grid(half(block, at) * KScales.q4kScale(block, at + 4, s),
                    half(block, at + 2) * KScales.q4kMin(block, at + 4, s), range(0, type == GgmlType.Q4_K ? 15 : 31));
            case Q6_K -> new Grid(half(block, at + 208) * block.get(ValueLayout.JAVA_BYTE, at + 192 + s), 0, range(-32, 31));
            case IQ4_XS -> {
                int low = ((block.get(ValueLayout.JAVA_BYTE, at + 4 + s / 2) & 0xFF) >> (4 * (s % 2))) & 15;
                int high = ((block.get(RandomWeights.I16_LE, at + 2) & 0xFFFF) >> (2 * s)) & 3;
                yield new Grid(half(block, at) * ((low | high << 4) - 32), 0, IQ4_NLMatrix.LEVELS);
            }
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** δ of {@link #everyWeightIsTheNearestPointOfItsGrid}: how far the halves may move a grid point of block {@code b}. */
    private static double halfRounding(GgmlType type, byte[] bytes, int b) {
        MemorySegment block = MemorySegment.ofArray(bytes);
        long at = (long) b * type.blockBytes();
        double scaleUlp = halfUlp(half(block, at));
        return switch (type) {
            case Q4_1 -> 15 * scaleUlp + halfUlp(half(block, at + 2));
            case Q5_0 -> 16 * scaleUlp;
            case Q5_1 -> 31 * scaleUlp + halfUlp(half(block, at + 2));
            case IQ4_NL -> 127 * scaleUlp;
            case IQ4_XS -> 32 * 127 * scaleUlp;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** The distance between neighbouring halves around {@code v} (2^-24 among the subnormals). */
    private static double halfUlp(double v) {
        return Math.abs(v) < 0x1p-14 ? 0x1p-24 : Math.scalb(1.0, Math.getExponent(v) - 10);
    }

    private static int[] range(int from, int to) {
        int[] r = new int[to - from + 1];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }

    private static double half(MemorySegment block, long at) {
        return Float.float16ToFloat(block.get(RandomWeights.I16_LE, at));
    }

    /**
     * Blocks of {@code n}: Gaussian at scales from 1e-3 to 1e3, some with an outlier 20 times
     * larger; and blocks 0–4 special: all zeros, constant, all positive, all negative, and one
     * whose first 32 values are zeros.
     */
    private static float[] awkwardBlocks(Random random, int blocks, int n) {
        float[] x = new float[blocks * n];
        for (int b = 0; b < blocks; b++) {
            double scale = Math.pow(10, random.nextInt(7) - 3);
            for (int j = 0; j < n; j++) {
                double g = random.nextGaussian();
                x[b * n + j] = (float) (scale * switch (b) {
                    case 0 -> 0;
                    case 1 -> 0.7;
                    case 2 -> 1 + Math.abs(g);
                    case 3 -> -1 - Math.abs(g);
                    case 4 -> j < 32 ? 0 : g;
                    default -> j == 7 && b % 3 == 0 ? 20 * g : g;
                });
            }
        }
        return x;
    }

    private static Path shared(String name) {
        String root = System.getProperty("rewind.shared");
        if (root == null || root.isBlank()) {
            fail("system property rewind.shared is not set: run the tests through Maven (surefire sets it to "
                    + "<repo>/../shared) or pass -Drewind.shared=/path/to/shared");
        }
        Path p = Path.of(root, "models", name);
        if (!Files.isRegularFile(p)) {
            fail("shared model file " + p.toAbsolutePath() + " does not exist");
        }
        return p;
    }

    private static byte[] quantize(GgmlType type, float[] x) {
        byte[] out = new byte[Math.toIntExact(Quantizer.bytes(type, x.length))];
        Quantizer.quantize(type, x, 0, x.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    private static float[] dequantize(GgmlType type, byte[] bytes, int n) {
        int cols = type.blockSize();
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
