package dev.rewind.engine.gguf;

import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.rewind.engine.gguf.GgufValueType.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link GgufWriter} rejects bad input where it is given, and never leaves a half-written file. */
class GgufWriterTest {

    @TempDir
    Path dir;

    // ---------------------------------------------------------------- tensors

    @Test
    void dataOfTheWrongSizeIsRejectedNamingBothSizes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create().tensor("w", GgmlType.F32, new long[] {4, 2}, new byte[31]));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("32") && e.getMessage().contains("31"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create().tensor("w", GgmlType.Q8_0, new long[] {32}, new byte[32]), "Q8_0 block is 34 bytes");
        assertDoesNotThrow(() -> GgufWriter.create().tensor("w", GgmlType.Q8_0, new long[] {32}, new byte[34]));
    }

    static Stream<Arguments> badShapes() {
        return Stream.of(
                Arguments.of("no dimensions", GgmlType.F32, new long[0]),
                Arguments.of("five dimensions", GgmlType.F32, new long[] {1, 1, 1, 1, 1}),
                Arguments.of("a zero dimension", GgmlType.F32, new long[] {4, 0}),
                Arguments.of("a negative dimension", GgmlType.F32, new long[] {-4}),
                Arguments.of("a row that is not whole blocks", GgmlType.Q4_0, new long[] {48, 2}),
                Arguments.of("an element count that overflows", GgmlType.F32, new long[] {1L << 32, 1L << 32}),
                Arguments.of("a byte size that overflows", GgmlType.F32, new long[] {1L << 31, 1L << 31}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badShapes")
    void aBadShapeIsRejected(String what, GgmlType type, long[] shape) {
        var e = assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create().tensor("w", type, shape, target -> {
                }));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void tensorNamesMustBeUniqueNonEmptyAndFitGgml() {
        GgufWriter w = GgufWriter.create().tensor("w", GgmlType.I8, new long[] {1}, new byte[1]);
        assertThrows(IllegalArgumentException.class, () -> w.tensor("w", GgmlType.I8, new long[] {1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("", GgmlType.I8, new long[] {1}, new byte[1]));
        assertDoesNotThrow(() -> w.tensor("n".repeat(63), GgmlType.I8, new long[] {1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("n".repeat(64), GgmlType.I8, new long[] {1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("é".repeat(32), GgmlType.I8, new long[] {1}, new byte[1]), "64 bytes of UTF-8");
        assertThrows(NullPointerException.class, () -> w.tensor(null, GgmlType.I8, new long[] {1}, new byte[1]));
        assertThrows(NullPointerException.class, () -> w.tensor("x", null, new long[] {1}, new byte[1]));
    }

    @Test
    void theShapeArrayIsCopiedWhenAdded() throws IOException {
        long[] shape = {4};
        GgufWriter w = GgufWriter.create().tensor("w", GgmlType.I8, shape, new byte[4]);
        shape[0] = 8;
        Path file = dir.resolve("shape.gguf");
        w.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertArrayEquals(new long[] {4}, gguf.tensors().getFirst().shape());
        }
    }

    // ---------------------------------------------------------------- metadata

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("UINT8 256", new GgufValue.Int(UINT8, 256)),
                Arguments.of("UINT8 -1", new GgufValue.Int(UINT8, -1)),
                Arguments.of("INT8 128", new GgufValue.Int(INT8, 128)),
                Arguments.of("UINT16 65536", new GgufValue.Int(UINT16, 65536)),
                Arguments.of("INT16 -32769", new GgufValue.Int(INT16, -32769)),
                Arguments.of("UINT32 2^32", new GgufValue.Int(UINT32, 1L << 32)),
                Arguments.of("INT32 2^31", new GgufValue.Int(INT32, 1L << 31)),
                Arguments.of("an Int typed FLOAT32", new GgufValue.Int(FLOAT32, 1)),
                Arguments.of("a Real typed INT32", new GgufValue.Real(INT32, 1)),
                Arguments.of("an IntArray of STRING", new GgufValue.IntArray(STRING, new long[] {1})),
                Arguments.of("an IntArray element out of range", new GgufValue.IntArray(INT8, new long[] {0, 200})),
                Arguments.of("a RealArray of UINT8", new GgufValue.RealArray(UINT8, new double[] {1})),
                Arguments.of("a lone surrogate", new GgufValue.Str("a\uD800b")),
                Arguments.of("a lone surrogate in an array", new GgufValue.StrArray(List.of("ok", "\uDC00"))),
                Arguments.of("a nested array holding a scalar", new GgufValue.NestedArray(List.of(new GgufValue.Int(UINT8, 1)))),
                Arguments.of("arrays nested 65 deep", nested(65)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void aValueThatCannotBeWrittenFaithfullyIsRejected(String what, GgufValue value) {
        var e = assertThrows(IllegalArgumentException.class, () -> GgufWriter.create().metadata("k.bad", value));
        assertTrue(e.getMessage().contains("k.bad"), e.getMessage());
    }

    @Test
    void arraysNested64DeepAreWrittenAndReadBack() throws IOException {
        Path file = dir.resolve("deep.gguf");
        GgufValue deep = nested(64);
        GgufWriter.create().metadata("k.deep", deep).write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufWriterRoundTripTest.assertValueEquals(deep, gguf.metadata().get("k.deep").orElseThrow(), "k.deep");
        }
    }

    /** {@code depth} arrays nested in each other, the innermost holding one UINT8. */
    static GgufValue nested(int depth) {
        GgufValue v = new GgufValue.IntArray(UINT8, new long[] {7});
        for (int d = 1; d < depth; d++) {
            v = new GgufValue.NestedArray(List.of(v));
        }
        return v;
    }

    @Test
    void keysMustBeUniqueNonEmptyPrintableAscii() {
        GgufWriter w = GgufWriter.create().metadata("a.b", new GgufValue.Bool(true));
        assertThrows(IllegalArgumentException.class, () -> w.metadata("a.b", new GgufValue.Bool(false)));
        assertThrows(IllegalArgumentException.class, () -> w.metadata("", new GgufValue.Bool(false)));
        assertThrows(IllegalArgumentException.class, () -> w.metadata("clé", new GgufValue.Bool(false)));
        assertThrows(IllegalArgumentException.class, () -> w.metadata("a\nb", new GgufValue.Bool(false)));
        assertThrows(NullPointerException.class, () -> w.metadata("x", null));
    }

    @Test
    void theAlignmentMustBeAUint32PowerOfTwoOfAtLeast8() {
        for (long bad : new long[] {0, 1, 4, 48, 100}) {
            assertThrows(IllegalArgumentException.class,
                    () -> GgufWriter.create().metadata("general.alignment", new GgufValue.Int(UINT32, bad)), "alignment " + bad);
        }
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create().metadata("general.alignment", new GgufValue.Int(UINT64, 64)), "ggml reads it as UINT32 only");
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create().metadata("general.alignment", new GgufValue.Str("64")));
        assertDoesNotThrow(() -> GgufWriter.create().metadata("general.alignment", new GgufValue.Int(UINT32, 8)));
        assertDoesNotThrow(() -> GgufWriter.create().metadata("general.alignment", new GgufValue.Int(UINT32, 4096)));
    }

    @Test
    void metadataArraysAreCopiedSoLaterChangesDoNotReachTheFile() throws IOException {
        long[] ints = {1, 2, 3};
        List<String> strings = new ArrayList<>(List.of("a", "b"));
        GgufWriter w = GgufWriter.create()
                .metadata("k.ints", new GgufValue.IntArray(INT32, ints))
                .metadata("k.strings", new GgufValue.StrArray(strings));
        ints[0] = 99;
        strings.add("c");
        Path file = dir.resolve("copied.gguf");
        w.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertArrayEquals(new int[] {1, 2, 3}, gguf.metadata().ints("k.ints").orElseThrow());
            assertEquals(List.of("a", "b"), gguf.metadata().strings("k.strings").orElseThrow());
        }
    }

    // ---------------------------------------------------------------- atomic write

    @Test
    void aFailingTensorSourceLeavesNoFileAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.gguf");
        GgufWriter w = GgufWriter.create()
                .tensor("ok", GgmlType.F32, new long[] {16}, new byte[64])
                .tensor("broken", GgmlType.F32, new long[] {16}, target -> {
                    throw new IOException("generator failed");
                });
        IOException e = assertThrows(IOException.class, () -> w.write(file));
        assertEquals("generator failed", e.getMessage());
        assertEquals(List.of(), listing(), "nothing left behind");
    }

    @Test
    void aFailedWriteLeavesTheExistingFileUntouched() throws IOException {
        Path file = dir.resolve("model.gguf");
        GgufWriter.create().metadata("general.name", new GgufValue.Str("old")).write(file);
        byte[] before = Files.readAllBytes(file);
        RuntimeException boom = new IllegalStateException("boom");
        GgufWriter failing = GgufWriter.create().metadata("general.name", new GgufValue.Str("new"))
                .tensor("t", GgmlType.I8, new long[] {1}, target -> {
                    throw boom;
                });
        assertSame(boom, assertThrows(IllegalStateException.class, () -> failing.write(file)));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of("model.gguf"), listing());
    }

    @Test
    void aSuccessfulWriteReplacesTheExistingFile() throws IOException {
        Path file = dir.resolve("model.gguf");
        GgufWriter.create().metadata("general.name", new GgufValue.Str("old")).write(file);
        GgufWriter.create().metadata("general.name", new GgufValue.Str("new")).write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals("new", gguf.metadata().string("general.name").orElseThrow());
        }
        assertEquals(List.of("model.gguf"), listing());
    }

    @Test
    void aRelativePathIsWrittenWhereItPoints() throws IOException {
        Path relative = Path.of("").toAbsolutePath().relativize(dir.resolve("relative.gguf"));
        GgufWriter.create().write(relative);
        assertTrue(Files.isRegularFile(dir.resolve("relative.gguf")));
    }

    @Test
    void theFileGetsTheFolderDefaultPermissionsNotOwnerOnly() throws IOException {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return; // permissions are a POSIX notion
        }
        Path reference = Files.createFile(dir.resolve("reference"));
        Path file = dir.resolve("model.gguf");
        GgufWriter.create().write(file);
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(file));
    }

    @Test
    void writingIntoAMissingFolderFailsWithoutCreatingIt() {
        assertThrows(NoSuchFileException.class, () -> GgufWriter.create().write(dir.resolve("missing/model.gguf")));
        assertFalse(Files.exists(dir.resolve("missing")));
    }

    @Test
    void aHeapSegmentOfAnyArrayKindIsWrittenAsItsBytes() throws IOException {
        float[] floats = {1f, -2f, 0.5f, Float.NaN};
        Path file = dir.resolve("floats.gguf");
        GgufWriter.create().tensor("f", GgmlType.F32, new long[] {4}, MemorySegment.ofArray(floats)).write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            float[] back = gguf.tensorData(gguf.tensors().getFirst()).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            assertEquals(Arrays.toString(floats), Arrays.toString(back));
        }
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
