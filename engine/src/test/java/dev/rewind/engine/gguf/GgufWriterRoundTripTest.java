package dev.rewind.engine.gguf;

import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.rewind.engine.gguf.GgufValueType.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Files written by {@link GgufWriter} read back through {@link GgufFile} with every value, shape and byte intact. */
class GgufWriterRoundTripTest {

    @TempDir
    Path dir;

    /** One metadata entry of every kind the format has, including the awkward ones. */
    static Map<String, GgufValue> everyKindOfValue() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.alignment", new GgufValue.Int(UINT32, 64));
        m.put("t.u8", new GgufValue.Int(UINT8, 255));
        m.put("t.u8_zero", new GgufValue.Int(UINT8, 0));
        m.put("t.i8", new GgufValue.Int(INT8, -128));
        m.put("t.u16", new GgufValue.Int(UINT16, 65535));
        m.put("t.i16", new GgufValue.Int(INT16, -32768));
        m.put("t.u32", new GgufValue.Int(UINT32, 4294967295L));
        m.put("t.i32", new GgufValue.Int(INT32, Integer.MIN_VALUE));
        m.put("t.u64", new GgufValue.Int(UINT64, -1L)); // 2^64 − 1 as a bit pattern
        m.put("t.i64", new GgufValue.Int(INT64, Long.MIN_VALUE));
        m.put("t.f32", new GgufValue.Real(FLOAT32, 1e-5f));
        m.put("t.f32_negative_zero", new GgufValue.Real(FLOAT32, -0.0f));
        m.put("t.f32_infinity", new GgufValue.Real(FLOAT32, Float.NEGATIVE_INFINITY));
        m.put("t.f64", new GgufValue.Real(FLOAT64, Math.PI));
        m.put("t.f64_tiny", new GgufValue.Real(FLOAT64, Double.MIN_VALUE));
        m.put("t.bool_true", new GgufValue.Bool(true));
        m.put("t.bool_false", new GgufValue.Bool(false));
        m.put("t.string", new GgufValue.Str("héllo wörld — 日本語 🙂"));
        m.put("t.string_empty", new GgufValue.Str(""));
        m.put("t.u8s", new GgufValue.IntArray(UINT8, new long[] {0, 1, 255}));
        m.put("t.i8s", new GgufValue.IntArray(INT8, new long[] {-128, 0, 127}));
        m.put("t.u16s", new GgufValue.IntArray(UINT16, new long[] {0, 65535}));
        m.put("t.i16s", new GgufValue.IntArray(INT16, new long[] {-32768, 32767}));
        m.put("t.u32s", new GgufValue.IntArray(UINT32, new long[] {0, 4294967295L}));
        m.put("t.i32s", new GgufValue.IntArray(INT32, new long[] {Integer.MIN_VALUE, -1, Integer.MAX_VALUE}));
        m.put("t.u64s", new GgufValue.IntArray(UINT64, new long[] {0, -1L, Long.MAX_VALUE}));
        m.put("t.i64s", new GgufValue.IntArray(INT64, new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}));
        m.put("t.f32s", new GgufValue.RealArray(FLOAT32, new double[] {1.5f, -0.0f, Float.POSITIVE_INFINITY, Float.MIN_VALUE}));
        m.put("t.f64s", new GgufValue.RealArray(FLOAT64, new double[] {Math.E, -Double.MAX_VALUE}));
        m.put("t.bools", new GgufValue.BoolArray(new boolean[] {true, false, true}));
        m.put("t.strings", new GgufValue.StrArray(List.of("", "ä", "🙂", "<0xFF>")));
        m.put("t.empty_u8s", new GgufValue.IntArray(UINT8, new long[0]));
        m.put("t.empty_strings", new GgufValue.StrArray(List.of()));
        m.put("t.empty_nested", new GgufValue.NestedArray(List.of()));
        m.put("t.nested", new GgufValue.NestedArray(List.of(
                new GgufValue.IntArray(INT32, new long[] {1, -2}),
                new GgufValue.StrArray(List.of("x", "日本")),
                new GgufValue.NestedArray(List.of(new GgufValue.BoolArray(new boolean[] {true}))),
                new GgufValue.RealArray(FLOAT64, new double[0]))));
        return m;
    }

    private record Expected(String name, GgmlType type, long[] shape, byte[] bytes) {
    }

    @Test
    void everyValueTypeShapeAndTensorByteSurvivesARoundTripWithAlignment64() throws IOException {
        Random random = new Random(42);
        GgufWriter writer = GgufWriter.create();
        Map<String, GgufValue> values = everyKindOfValue();
        values.forEach(writer::metadata);

        List<Expected> expected = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            byte[] f32 = randomBytes(random, 3 * 5 * 4);
            writer.tensor("f32.matrix", GgmlType.F32, new long[] {3, 5}, f32);
            expected.add(new Expected("f32.matrix", GgmlType.F32, new long[] {3, 5}, f32));

            byte[] q8 = randomBytes(random, 2 * 3 * 34);
            writer.tensor("q8_0.blocks", GgmlType.Q8_0, new long[] {64, 3}, MemorySegment.ofArray(q8));
            expected.add(new Expected("q8_0.blocks", GgmlType.Q8_0, new long[] {64, 3}, q8));

            byte[] f16 = randomBytes(random, 7 * 2);
            MemorySegment nativeF16 = arena.allocate(f16.length);
            MemorySegment.copy(f16, 0, nativeF16, ValueLayout.JAVA_BYTE, 0, f16.length);
            writer.tensor("f16.vector", GgmlType.F16, new long[] {7}, nativeF16);
            expected.add(new Expected("f16.vector", GgmlType.F16, new long[] {7}, f16));

            long[] longs = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE};
            MemorySegment heapLongs = MemorySegment.ofArray(longs); // heap memory not backed by a byte[]
            writer.tensor("i64.heap", GgmlType.I64, new long[] {5}, heapLongs);
            expected.add(new Expected("i64.heap", GgmlType.I64, new long[] {5}, heapLongs.toArray(ValueLayout.JAVA_BYTE)));

            byte[] i8 = randomBytes(random, 2 * 3 * 4);
            writer.tensor("i8.cube", GgmlType.I8, new long[] {2, 3, 4}, i8);
            expected.add(new Expected("i8.cube", GgmlType.I8, new long[] {2, 3, 4}, i8));

            byte[] q4k = randomBytes(random, 2 * 144);
            writer.tensor("q4_k.four_dims", GgmlType.Q4_K, new long[] {256, 1, 2, 1}, target -> MemorySegment.copy(q4k, 0, target, ValueLayout.JAVA_BYTE, 0, q4k.length));
            expected.add(new Expected("q4_k.four_dims", GgmlType.Q4_K, new long[] {256, 1, 2, 1}, q4k));

            // Larger than the writer's 1 MiB copy chunk, produced while writing.
            long[] bigShape = {1024, 1100};
            byte[] big = randomBytes(random, 1024 * 1100 * 4);
            writer.tensor("f32.streamed", GgmlType.F32, bigShape, target -> MemorySegment.copy(big, 0, target, ValueLayout.JAVA_BYTE, 0, big.length));
            expected.add(new Expected("f32.streamed", GgmlType.F32, bigShape, big));

            Path file = dir.resolve("every-kind.gguf");
            writer.write(file);
            assertRoundTrip(file, values, expected, 64);
        }
    }

    private static void assertRoundTrip(Path file, Map<String, GgufValue> values, List<Expected> expected, long alignment) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        GgufLayout layout = GgufLayout.of(bytes);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(3, gguf.version());
            assertEquals(alignment, gguf.alignment());
            assertEquals(new ArrayList<>(values.keySet()), new ArrayList<>(gguf.metadata().asMap().keySet()), "metadata keys in order");
            values.forEach((key, value) -> assertValueEquals(value, gguf.metadata().get(key).orElseThrow(), key));

            assertEquals(0, gguf.dataOffset() % alignment, "data section aligned");
            assertEquals(GgufTestBytes.alignUp(layout.headerEnd(), alignment), gguf.dataOffset(), "data right after the padded header");
            assertAllZero(bytes, layout.headerEnd(), gguf.dataOffset(), "padding after the header");
            assertEquals(expected.size(), gguf.tensors().size());
            long nextFree = gguf.dataOffset();
            for (int i = 0; i < expected.size(); i++) {
                Expected e = expected.get(i);
                GgufTensorInfo info = gguf.tensors().get(i);
                assertEquals(e.name(), info.name(), "tensor #" + i);
                assertArrayEquals(e.shape(), info.shape(), e.name());
                assertEquals(e.type(), info.type(), e.name());
                assertEquals(e.bytes().length, info.byteSize(), e.name());
                assertEquals(0, info.fileOffset() % alignment, e.name() + " offset aligned");
                assertEquals(gguf.dataOffset() + layout.tensor(e.name()).relOffset(), info.fileOffset(), e.name());
                assertEquals(nextFree, info.fileOffset(), e.name() + " follows the previous tensor and its padding");
                assertArrayEquals(e.bytes(), gguf.tensorData(info).toArray(ValueLayout.JAVA_BYTE), e.name() + " bytes");
                long end = info.fileOffset() + info.byteSize();
                nextFree = GgufTestBytes.alignUp(end, alignment);
                assertAllZero(bytes, end, nextFree, "padding after " + e.name());
                assertEquals(info, gguf.tensor(e.name()).orElseThrow());
            }
            assertEquals(nextFree, gguf.fileSize(), "the last tensor is padded too, as ggml writes it");
        }
    }

    @Test
    void withoutAlignmentKeyTheAlignmentIs32() throws IOException {
        Path file = dir.resolve("default.gguf");
        byte[] data = randomBytes(new Random(1), 12);
        GgufWriter.create()
                .metadata("general.architecture", new GgufValue.Str("llama"))
                .tensor("a", GgmlType.F32, new long[] {3}, data)
                .tensor("b", GgmlType.F32, new long[] {3}, data)
                .write(file);
        assertRoundTrip(file, Map.of("general.architecture", new GgufValue.Str("llama")),
                List.of(new Expected("a", GgmlType.F32, new long[] {3}, data), new Expected("b", GgmlType.F32, new long[] {3}, data)), 32);
    }

    @Test
    void anEmptyFileHasAHeaderPaddedToTheAlignmentAndNothingElse() throws IOException {
        Path file = dir.resolve("empty.gguf");
        GgufWriter.create().write(file);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(32, bytes.length);
        assertArrayEquals(new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0}, java.util.Arrays.copyOf(bytes, 8));
        assertAllZero(bytes, 8, 32, "counts and padding");
        try (GgufFile gguf = GgufFile.open(file)) {
            assertTrue(gguf.metadata().asMap().isEmpty());
            assertTrue(gguf.tensors().isEmpty());
        }
    }

    @Test
    void aWriterCanWriteTwiceAndCallsItsSourcesEachTime() throws IOException {
        int[] calls = {0};
        GgufWriter writer = GgufWriter.create().tensor("t", GgmlType.I8, new long[] {4}, target -> {
            calls[0]++;
            target.set(ValueLayout.JAVA_BYTE, 3, (byte) 7);
        });
        writer.write(dir.resolve("one.gguf"));
        writer.write(dir.resolve("two.gguf"));
        assertEquals(2, calls[0]);
        assertArrayEquals(Files.readAllBytes(dir.resolve("one.gguf")), Files.readAllBytes(dir.resolve("two.gguf")));
    }

    // ---------------------------------------------------------------- helpers

    static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static void assertAllZero(byte[] bytes, long from, long to, String what) {
        for (long i = from; i < to; i++) {
            if (bytes[(int) i] != 0) {
                fail(what + ": byte " + i + " is " + bytes[(int) i] + ", expected zero padding");
            }
        }
    }

    /** Deep equality of metadata values (records holding arrays compare arrays by identity). */
    static void assertValueEquals(GgufValue expected, GgufValue actual, String where) {
        switch (expected) {
            case GgufValue.Int e -> assertEquals(e, assertInstanceOf(GgufValue.Int.class, actual, where), where);
            case GgufValue.Real e -> {
                GgufValue.Real a = assertInstanceOf(GgufValue.Real.class, actual, where);
                assertEquals(e.type(), a.type(), where);
                assertEquals(Double.doubleToRawLongBits(e.value()), Double.doubleToRawLongBits(a.value()), where + ": " + e + " vs " + a);
            }
            case GgufValue.Bool e -> assertEquals(e, assertInstanceOf(GgufValue.Bool.class, actual, where), where);
            case GgufValue.Str e -> assertEquals(e, assertInstanceOf(GgufValue.Str.class, actual, where), where);
            case GgufValue.IntArray e -> {
                GgufValue.IntArray a = assertInstanceOf(GgufValue.IntArray.class, actual, where);
                assertEquals(e.elementType(), a.elementType(), where);
                assertArrayEquals(e.values(), a.values(), where);
            }
            case GgufValue.RealArray e -> {
                GgufValue.RealArray a = assertInstanceOf(GgufValue.RealArray.class, actual, where);
                assertEquals(e.elementType(), a.elementType(), where);
                assertEquals(e.values().length, a.values().length, where);
                for (int i = 0; i < e.values().length; i++) {
                    assertEquals(Double.doubleToRawLongBits(e.values()[i]), Double.doubleToRawLongBits(a.values()[i]), where + "[" + i + "]");
                }
            }
            case GgufValue.BoolArray e -> assertArrayEquals(e.values(), assertInstanceOf(GgufValue.BoolArray.class, actual, where).values(), where);
            case GgufValue.StrArray e -> assertEquals(e.values(), assertInstanceOf(GgufValue.StrArray.class, actual, where).values(), where);
            case GgufValue.NestedArray e -> {
                GgufValue.NestedArray a = assertInstanceOf(GgufValue.NestedArray.class, actual, where);
                assertEquals(e.values().size(), a.values().size(), where);
                for (int i = 0; i < e.values().size(); i++) {
                    assertValueEquals(e.values().get(i), a.values().get(i), where + "[" + i + "]");
                }
            }
        }
    }
}
