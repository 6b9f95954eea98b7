package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packed (FAST) kernels: bit for bit equal to their scalar twins on random data, whatever the
 * number of activation rows multiplied at once; the same weights as the file's matrix; and within
 * the expected quantization error of exact float math. Runs at the machine's vector width and, in
 * a second surefire execution, at 256 bits ({@code rewind.vector.bits}).
 */
class PackedKernelTest {

    static WorkerPool pool;

    @BeforeAll
    static void start() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stop() {
        pool.close();
    }

    /** The types with a packed form. */
    static final String[] PACKED = {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q5_K", "Q3_K", "Q5_0", "IQ4_NL", "Q4_1", "Q5_1", "Q2_K", "IQ4_XS"};

    /** Column counts to try: whole blocks of the type, not all multiples of the vector width's blocks. */
    static int[] colsFor(GgmlType type, int... small) {
        return type.blockSize() == 256 ? new int[]{256, 512, 768} : small;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q5_K", "Q3_K", "Q5_0", "IQ4_NL", "Q4_1", "Q5_1", "Q2_K", "IQ4_XS"})
    void packingKeepsEveryWeight(GgmlType type) {
        Random random = new Random(11);
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            for (int rows : new int[]{1, 7, 16, 17, 40}) {
                for (int cols : colsFor(type, 32, 96, 256)) {
                    WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, random);
                    WeightMatrix p = packer.pack(w);
                    assertTrue(MatMul.quantizesActivations(p) || p instanceof Q8_0Packed, p.getClass().toString());
                    // Q5_0 and IQ4_NL weights are a half times an 8-bit integer: they go into Q8_0's layout
                    boolean asQ8 = type == GgmlType.Q5_0 || type == GgmlType.IQ4_NL;
                    assertEquals(asQ8 ? GgmlType.Q8_0 : type, p.type());
                    float[] a = new float[cols];
                    float[] b = new float[cols];
                    float[] x = RandomWeights.randomVector(cols, random);
                    for (int r = 0; r < rows; r++) {
                        w.dequantizeRow(r, a, 0);
                        p.dequantizeRow(r, b, 0);
                        assertArrayEquals(a, b, type + " " + rows + "x" + cols + " row " + r);
                        assertEquals(w.dotScalar(r, x, 0), p.dot(r, x, 0), type + " dot of row " + r);
                    }
                }
            }
        }
    }

    @Test
    void otherTypesAreNotPacked() {
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            for (GgmlType type : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
                WeightMatrix w = RandomWeights.matrix(arena, type, 3, 256, new Random(1));
                assertTrue(packer.pack(w) == w, type.toString());
            }
            assertEquals(0, packer.bytes());
        }
    }

    /**
     * A matrix with one infinite scale is used as the file has it: the packed kernels convert and
     * multiply scales assuming they are finite.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q5_K", "Q3_K", "Q5_0", "IQ4_NL", "Q4_1", "Q5_1", "Q2_K", "IQ4_XS"})
    void aMatrixWithAnInfiniteScaleIsNotPacked(GgmlType type) {
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            WeightMatrix w = RandomWeights.matrix(arena, type, 40, 512, new Random(3));
            long d = switch (type) { // the byte of the half d of a block
                case Q6_K -> 208;
                case Q3_K -> 108;
                case Q2_K -> 80;
                default -> 0;
            };
            long block = (long) (17 * 512 + 256) / type.blockSize(); // a block of row 17, in the last group's middle
            w.data().set(Simd.I16_LE, block * type.blockBytes() + d, (short) 0x7C00);
            assertTrue(packer.pack(w) == w, type + " with an infinite d must stay unpacked");
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q5_K", "Q3_K", "Q5_0", "IQ4_NL", "Q4_1", "Q5_1", "Q2_K", "IQ4_XS"})
    void kernelsEqualTheirScalarTwinsForEveryBatchSize(GgmlType type) {
        Random random = new Random(type.ordinal() + 100);
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            for (int rows : new int[]{1, 5, 16, 33, 64}) {
                for (int cols : colsFor(type, 32, 64, 160, 288, 512)) {
                    WeightMatrix p = packer.pack(RandomWeights.matrix(arena, type, rows, cols, random));
                    int maxCount = 9;
                    float[] x = RandomWeights.randomVector(maxCount * cols, random);
                    float[] single = new float[maxCount * rows];
                    for (int t = 0; t < maxCount; t++) {
                        float[] one = new float[rows];
                        new MatMul().matmul(p, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, one, pool);
                        System.arraycopy(one, 0, single, t * rows, rows);
                    }
                    for (int count = 1; count <= maxCount; count++) {
                        float[] expected = new float[count * rows];
                        scalar(p, x, count, expected);
                        float[] actual = new float[count * rows];
                        new MatMul().matmul(p, x, count, actual, pool);
                        assertArrayEquals(expected, actual, type + " " + rows + "x" + cols + " count " + count);
                        assertArrayEquals(Arrays.copyOf(single, count * rows), actual,
                                type + " " + rows + "x" + cols + ": a row's result depends on its batch (count " + count + ")");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q5_K", "Q3_K", "Q5_0", "IQ4_NL", "Q4_1", "Q5_1", "Q2_K", "IQ4_XS"})
    void staysCloseToExactFloatMath(GgmlType type) {
        Random random = new Random(5);
        int rows = 48;
        int cols = 1024;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, random);
            WeightMatrix p = packer.pack(w);
            float[] x = RandomWeights.uniformVector(3 * cols, random);
            float[] fast = new float[3 * rows];
            new MatMul().matmul(p, x, 3, fast, pool);
            for (int t = 0; t < 3; t++) {
                for (int r = 0; r < rows; r++) {
                    float exact = w.dotScalar(r, x, t * cols);
                    float magnitude = magnitude(w, r, x, t * cols);
                    // Q8_0 keeps float activations (only the order of the sums differs); Q4_0 rounds each
                    // activation to 8 bits (at most half a step of max|x|/127 per value) and the step to a half.
                    float bound = 1e-5f * magnitude + (p instanceof Q8_0Packed ? 0f : quantizationError(w, r, x, t * cols));
                    assertTrue(Math.abs(exact - fast[t * rows + r]) <= bound + 1e-30f,
                            type + " (" + t + "," + r + "): exact " + exact + " fast " + fast[t * rows + r] + " bound " + bound);
                }
            }
        }
    }

    @Test
    void q8RowsQuantizeAsGgmlDoes() {
        Random random = new Random(3);
        int cols = 96;
        float[] x = RandomWeights.randomVector(2 * cols, random);
        Q8Rows a = new Q8Rows();
        a.prepare(2, cols);
        a.quantize(x, 0, 2);
        for (int block = 0; block < 2 * cols / 32; block++) {
            float max = 0;
            for (int j = 0; j < 32; j++) {
                max = Math.max(max, Math.abs(x[block * 32 + j]));
            }
            float id = max == 0 ? 0 : 127f / max;
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(max / 127f)), a.scales[block]);
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                int q = (int) Math.rint(x[block * 32 + j] * id);
                assertEquals(q, a.quant(block, j), "block " + block + " value " + j);
                assertTrue(Math.abs(q) <= 127);
                sum += q;
            }
            assertEquals(8 * sum, a.offsets[block]);
            for (int h = 0; h < 2; h++) {
                int half = 0;
                for (int j = 16 * h; j < 16 * h + 16; j++) {
                    half += a.quant(block, j);
                }
                assertEquals(half, a.sums16[2 * block + h], "block " + block + " half " + h);
            }
        }
    }

    @Test
    void zeroActivationsGiveZero() {
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            WeightMatrix p = packer.pack(RandomWeights.matrix(arena, GgmlType.Q4_0, 20, 64, new Random(2)));
            float[] out = new float[2 * 20];
            Arrays.fill(out, 1f);
            new MatMul().matmul(p, new float[2 * 64], 2, out, pool);
            for (float v : out) {
                assertEquals(0f, v);
            }
        }
    }

    /**
     * A Q4_K_M file's attention: Q4_K query and key, Q6_K value, multiplied in one call that
     * quantizes the input once; each result equals that matrix's product alone, bit for bit.
     */
    @Test
    void mixedLayoutsOfOneInputGiveTheSameBitsAsAlone() {
        Random random = new Random(8);
        int cols = 512;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            WeightMatrix q = packer.pack(RandomWeights.matrix(arena, GgmlType.Q4_K, 40, cols, random));
            WeightMatrix k = packer.pack(RandomWeights.matrix(arena, GgmlType.Q4_0, 24, cols, random));
            WeightMatrix v = packer.pack(RandomWeights.matrix(arena, GgmlType.Q6_K, 17, cols, random));
            for (int count : new int[]{1, 3, 6}) {
                float[] x = RandomWeights.uniformVector(count * cols, random);
                float[] oq = new float[count * 40], ok = new float[count * 24], ov = new float[count * 17];
                new MatMul().matmul(q, oq, k, ok, v, ov, x, count, pool);
                for (WeightMatrix w : new WeightMatrix[]{q, k, v}) {
                    float[] alone = new float[count * w.rows()];
                    new MatMul().matmul(w, x, count, alone, pool);
                    assertArrayEquals(alone, w == q ? oq : w == k ? ok : ov, w.type() + " count " + count);
                }
            }
        }
    }

    /**
     * Q6_K's packed kernel sums the unsigned six-bit quants in wrapping 16-bit lanes and subtracts
     * {@code 32 · Σx} after; at the extremes (every quant 0 or 63, every scale −128 or 127, every
     * activation ±127) a half block's true sum reaches ±8·32·127 = ±32512, the edge of 16 bits:
     * the result must still be the exact integer product.
     */
    @Test
    void q6kPackedIsExactAtTheExtremes() {
        int rows = 33;
        int cols = 512;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            java.lang.foreign.MemorySegment data = arena.allocate((long) rows * cols / 256 * 210);
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < cols / 256; b++) {
                    long at = ((long) r * (cols / 256) + b) * 210;
                    // ql = qh = 0: q = 0 (weight −32 · scale) on even rows; all ones: q = 63 (+31) on odd rows
                    byte fill = (byte) (r % 2 == 0 ? 0 : 0xFF);
                    for (int i = 0; i < 192; i++) {
                        data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + i, fill);
                    }
                    for (int u = 0; u < 16; u++) {
                        data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 192 + u, (byte) ((r + u) % 3 == 0 ? -128 : 127));
                    }
                    data.set(Simd.I16_LE, at + 208, Float.floatToFloat16(1f));
                }
            }
            WeightMatrix w = new Q6_KMatrix("extremes", data, rows, cols);
            WeightMatrix p = packer.pack(w);
            assertTrue(p instanceof Q6_KPacked, p.getClass().toString());
            assertExactAtExtremes(p, (r, xq) -> {
                float expected = 0f;
                for (int b32 = 0; b32 < cols / 32; b32++) {
                    int total = 0;
                    for (int half = 0; half < 2; half++) {
                        int scale = (r + 2 * (b32 % 8) + half) % 3 == 0 ? -128 : 127;
                        total += scale * 16 * (r % 2 == 0 ? -32 : 31) * xq;
                    }
                    expected = Math.fma((float) total * STEP, 1f, expected);
                }
                return expected;
            });
        }
    }

    /**
     * Q5_1's packed kernel sums the unsigned five-bit quants of a half block in 16-bit lanes: with
     * every quant 31 and every activation ±127 a lane holds 8·31·127 = 31,496, near the edge of 16
     * bits; the result must still be the exact integer product, plus the minimum's term.
     */
    @Test
    void q5_1PackedIsExactAtTheExtremes() {
        int rows = 21;
        int cols = 96;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            java.lang.foreign.MemorySegment data = arena.allocate((long) rows * cols / 32 * 24);
            for (long b = 0; b < (long) rows * cols / 32; b++) {
                for (int i = 4; i < 24; i++) {
                    data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, b * 24 + i, (byte) 0xFF); // qh and qs: every quant 31
                }
                data.set(Simd.I16_LE, b * 24, Float.floatToFloat16(b % 2 == 0 ? 1f : -2f));
                data.set(Simd.I16_LE, b * 24 + 2, Float.floatToFloat16(b % 3 == 0 ? 0.5f : -3f));
            }
            WeightMatrix p = packer.pack(new Q5_1Matrix("extremes", data, rows, cols));
            assertTrue(p instanceof Q4_1Packed, p.getClass().toString());
            assertExactAtExtremes(p, (r, xq) -> {
                float expected = 0f;
                for (int b = 0; b < cols / 32; b++) {
                    long block = (long) r * cols / 32 + b;
                    expected = Math.fma((float) (32 * 31 * xq) * STEP, block % 2 == 0 ? 1f : -2f, expected);
                    expected = Math.fma(block % 3 == 0 ? 0.5f : -3f, (float) (32 * xq) * STEP, expected);
                }
                return expected;
            });
        }
    }

    /**
     * Q5_K's packed kernel sums a lane's eight unsigned five-bit quants in 16 bits: with every
     * quant 31 (qs and qh all ones), every scale and min code 63 and every activation ±127 a lane
     * holds 8·31·127 = 31,496, near the edge of 16 bits; the result must still be the exact
     * integer product, scaled as the class comment says, plus the minimum's term.
     */
    @Test
    void q5kPackedIsExactAtTheExtremes() {
        int rows = 37;
        int cols = 512;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            java.lang.foreign.MemorySegment data = arena.allocate((long) rows * cols / 256 * 176);
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < cols / 256; b++) {
                    long at = ((long) r * (cols / 256) + b) * 176;
                    for (int i = 4; i < 176; i++) {
                        data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + i, (byte) 0xFF);
                    }
                    data.set(Simd.I16_LE, at, Float.floatToFloat16(r % 2 == 0 ? 1f : -2f));
                    data.set(Simd.I16_LE, at + 2, Float.floatToFloat16(r % 3 == 0 ? 0.5f : -0.25f));
                }
            }
            WeightMatrix p = packer.pack(new Q5_KMatrix("extremes", data, rows, cols));
            assertTrue(p instanceof Q5_KPacked, p.getClass().toString());
            assertExactAtExtremes(p, (r, xq) -> {
                float expected = 0f;
                for (int b32 = 0; b32 < cols / 32; b32++) {
                    expected = Math.fma((float) (32 * 31 * xq) * STEP, 63f * (r % 2 == 0 ? 1f : -2f), expected);
                    expected = Math.fma(63f * (r % 3 == 0 ? 0.5f : -0.25f), -((float) (32 * xq) * STEP), expected);
                }
                return expected;
            });
        }
    }

    /**
     * Q3_K's packed kernel sums the unsigned quants {@code u = q + 4} of a half in 16-bit lanes and
     * subtracts {@code 4 · Σx} per half after; at the extremes (every quant +3 or −4, every scale
     * 31 or −32, every activation ±127) the result must be the exact integer product times the
     * scales.
     */
    @Test
    void q3kPackedIsExactAtTheExtremes() {
        int rows = 35;
        int cols = 512;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            java.lang.foreign.MemorySegment data = arena.allocate((long) rows * cols / 256 * 110);
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < cols / 256; b++) {
                    long at = ((long) r * (cols / 256) + b) * 110;
                    byte quants = (byte) (r % 3 == 0 ? 0xFF : 0); // hmask and qs: u = 7 (q = +3) or u = 0 (q = −4)
                    for (int i = 0; i < 96; i++) {
                        data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + i, quants);
                    }
                    byte scales = (byte) (r % 2 == 0 ? 0xFF : 0); // every 6-bit code 63 (scale 31) or 0 (−32)
                    for (int i = 96; i < 108; i++) {
                        data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at + i, scales);
                    }
                    data.set(Simd.I16_LE, at + 108, Float.floatToFloat16(r % 4 < 2 ? 1f : -0.5f));
                }
            }
            WeightMatrix w = new Q3_KMatrix("extremes", data, rows, cols);
            WeightMatrix p = packer.pack(w);
            assertTrue(p instanceof Q3_KPacked, p.getClass().toString());
            assertEquals((r0(w)), (r0(p)), "weight (0, 0)");
            assertExactAtExtremes(p, (r, xq) -> {
                int total = 2 * (r % 2 == 0 ? 31 : -32) * 16 * xq * (r % 3 == 0 ? 3 : -4);
                float expected = 0f;
                for (int b32 = 0; b32 < cols / 32; b32++) {
                    expected = Math.fma((float) total * STEP, r % 4 < 2 ? 1f : -0.5f, expected);
                }
                return expected;
            });
        }
    }

    /** The step of an activation of ±1 in {@link Q8Rows}: it quantizes to ±127 with 1/127 rounded to a half. */
    private static final float STEP = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));

    /** The exact output of row {@code row} for activations of all ±1 (quants {@code xq = ±127}). */
    @FunctionalInterface
    private interface Expected {
        float of(int row, int xq);
    }

    /**
     * Multiplies {@code p} by five activation rows of all +1, then of all −1, and checks every
     * output against {@code expected} exactly.
     */
    private static void assertExactAtExtremes(WeightMatrix p, Expected expected) {
        for (float sign : new float[]{1f, -1f}) {
            float[] x = new float[5 * p.cols()];
            Arrays.fill(x, sign);
            float[] actual = new float[5 * p.rows()];
            new MatMul().matmul(p, x, 5, actual, pool);
            for (int r = 0; r < p.rows(); r++) {
                float e = expected.of(r, (int) (127 * sign));
                for (int t = 0; t < 5; t++) {
                    assertEquals(e, actual[t * p.rows() + r], "row " + r + " activation " + t + " sign " + sign);
                }
            }
        }
    }

    private static float r0(WeightMatrix m) {
        float[] row = new float[m.cols()];
        m.dequantizeRow(0, row, 0);
        return row[0];
    }

    /**
     * IQ4_XS's packed kernel adds each lane's two products of a level and a quant (up to
     * 2·127·127 = 32,258) in 16 bits before widening; with every level −127 (code 0), every block
     * scale −32 and every activation ±127, a block's {@code T = −32 · 32 · −127 · ±127} is
     * ±16,516,096, just below 2^24: the result must be that exact integer times the scales.
     */
    @Test
    void iq4xsPackedIsExactAtTheExtremes() {
        int rows = 19;
        int cols = 512;
        try (Arena arena = Arena.ofShared(); WeightPacker packer = new WeightPacker(pool)) {
            java.lang.foreign.MemorySegment data = arena.allocate((long) rows * cols / 256 * 136); // zeros: code 0, ls 0
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < cols / 256; b++) {
                    data.set(Simd.I16_LE, ((long) r * (cols / 256) + b) * 136, Float.floatToFloat16(r % 2 == 0 ? 1f : -0.5f));
                }
            }
            WeightMatrix p = packer.pack(new IQ4_XSMatrix("extremes", data, rows, cols));
            assertTrue(p instanceof IQ4_XSPacked, p.getClass().toString());
            assertExactAtExtremes(p, (r, xq) -> {
                float expected = 0f;
                for (int b32 = 0; b32 < cols / 32; b32++) {
                    int total = -32 * 32 * -127 * xq;
                    expected = Math.fma((float) total * STEP, r % 2 == 0 ? 1f : -0.5f, expected);
                }
                return expected;
            });
        }
    }

    private static void scalar(WeightMatrix p, float[] x, int count, float[] out) {
        if (p instanceof Q8_0Packed q) {
            q.multiplyScalar(x, count, out); // float activations
            return;
        }
        Q8Rows a = new Q8Rows();
        a.prepare(count, p.cols());
        a.quantize(x, 0, count);
        switch (p) {
            case Q4_0Packed q -> q.multiplyScalar(a, out);
            case Q4_KPacked q -> q.multiplyScalar(a, out);
            case Q5_KPacked q -> q.multiplyScalar(a, out);
            case Q6_KPacked q -> q.multiplyScalar(a, out);
            case Q3_KPacked q -> q.multiplyScalar(a, out);
            case Q4_1Packed q -> q.multiplyScalar(a, out);
            case Q2_KPacked q -> q.multiplyScalar(a, out);
            case IQ4_XSPacked q -> q.multiplyScalar(a, out);
            default -> throw new IllegalArgumentException(p.toString());
        }
    }

    /** Σ |w_j| · (half a quantization step of x_j's block + x_j's share of the step's rounding to a half). */
    private static float quantizationError(WeightMatrix w, int row, float[] x, int at) {
        float[] wr = new float[w.cols()];
        w.dequantizeRow(row, wr, 0);
        double e = 0;
        for (int b = 0; b < wr.length / 32; b++) {
            float max = 0;
            for (int j = 0; j < 32; j++) {
                max = Math.max(max, Math.abs(x[at + b * 32 + j]));
            }
            for (int j = 0; j < 32; j++) {
                e += Math.abs(wr[b * 32 + j]) * (0.5 * max / 127 + Math.abs(x[at + b * 32 + j]) * 0x1p-10);
            }
        }
        return (float) e;
    }

    /** Σ |w_i x_i|. */
    private static float magnitude(WeightMatrix w, int row, float[] x, int at) {
        float[] wr = new float[w.cols()];
        w.dequantizeRow(row, wr, 0);
        float s = 0;
        for (int i = 0; i < wr.length; i++) {
            s += Math.abs(wr[i] * x[at + i]);
        }
        return s;
    }
}
