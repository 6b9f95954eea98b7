package dev.rewind.engine.gguf;

import dev.rewind.engine.gguf.GgufFormatException.Problem;
import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static dev.rewind.engine.gguf.GgufTestBytes.withBytes;
import static dev.rewind.engine.gguf.GgufTestBytes.withU32;
import static dev.rewind.engine.gguf.GgufTestBytes.withU64;
import static dev.rewind.engine.gguf.GgufValueType.*;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged files fail with a {@link GgufFormatException} that names the file, the problem and the
 * exact byte offset of the bad field; never with an out-of-bounds error, a huge allocation or a hang.
 * Each test writes a good file with {@link GgufWriter}, finds its fields with {@link GgufLayout} and
 * changes one.
 */
@Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GgufBrokenFileTest {

    @TempDir
    Path dir;

    private byte[] base;
    private GgufLayout layout;
    private int written;

    /** A small good file with alignment 64 whose last tensor ends exactly at the end of the file. */
    @BeforeEach
    void writeBaseFile() throws IOException {
        Random random = new Random(7);
        Path file = dir.resolve("base.gguf");
        GgufWriter.create()
                .metadata("general.architecture", new GgufValue.Str("llama"))
                .metadata("general.alignment", new GgufValue.Int(UINT32, 64))
                .metadata("test.u32", new GgufValue.Int(UINT32, 7))
                .metadata("test.bool", new GgufValue.Bool(true))
                .metadata("test.string", new GgufValue.Str("héllo"))
                .metadata("test.strings", new GgufValue.StrArray(List.of("a", "bc")))
                .metadata("test.u8s", new GgufValue.IntArray(UINT8, new long[] {1, 2, 3}))
                .metadata("test.nested", new GgufValue.NestedArray(List.of(
                        new GgufValue.IntArray(INT32, new long[] {1}), new GgufValue.StrArray(List.of("x")))))
                .tensor("a.weight", GgmlType.F32, new long[] {4, 2}, GgufWriterRoundTripTest.randomBytes(random, 32))
                .tensor("b.weight", GgmlType.Q8_0, new long[] {32, 2}, GgufWriterRoundTripTest.randomBytes(random, 68))
                .tensor("c.weight", GgmlType.F16, new long[] {32}, GgufWriterRoundTripTest.randomBytes(random, 64))
                .write(file);
        base = Files.readAllBytes(file);
        layout = GgufLayout.of(base);
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufTensorInfo last = gguf.tensors().getLast();
            assertEquals(base.length, last.fileOffset() + last.byteSize(), "no padding after the last tensor: every truncation cuts data");
        }
    }

    /** Writes {@code bytes} and checks that opening them fails with this problem at this offset, naming the file. */
    private GgufFormatException assertBroken(byte[] bytes, Problem problem, long offset) throws IOException {
        Path file = dir.resolve("broken-" + ++written + ".gguf");
        Files.write(file, bytes);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(file).close());
        assertEquals(problem, e.problem(), e.getMessage());
        assertEquals(offset, e.offset(), e.getMessage());
        assertEquals(file, e.file());
        assertTrue(e.getMessage().contains(file.toString()), "message names the file: " + e.getMessage());
        return e;
    }

    // ---------------------------------------------------------------- truncation

    @Test
    void everyTruncationOfASmallFileIsAFormatError() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Path file = dir.resolve("truncated.gguf");
            for (int length = 0; length < base.length; length++) {
                Files.write(file, Arrays.copyOf(base, length));
                int len = length;
                GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(file).close(), "truncated to " + len + " bytes");
                assertTrue(e.offset() >= 0 && e.offset() <= length, "offset " + e.offset() + " inside a file of " + length + " bytes");
                assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            }
        });
    }

    @Test
    void aDenseSampleOfTruncationsOfStories260KAreFormatErrors() throws IOException {
        byte[] stories = Files.readAllBytes(SharedModels.file("stories260K.gguf"));
        long headerEnd = GgufLayout.of(stories).headerEnd();
        // Every 13th length through the header (14 KB of metadata and tensor infos), then 100 through the data.
        long[] lengths = LongStream.concat(
                LongStream.iterate(0, n -> n < headerEnd + 64, n -> n + 13),
                LongStream.concat(LongStream.rangeClosed(1, 100).map(k -> headerEnd + k * (stories.length - headerEnd) / 101),
                        LongStream.of(stories.length - 1))).toArray();
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Path file = dir.resolve("stories-truncated.gguf");
            for (long length : lengths) {
                Files.write(file, Arrays.copyOf(stories, (int) length));
                assertThrows(GgufFormatException.class, () -> GgufFile.open(file).close(), "truncated to " + length + " bytes");
            }
        });
    }

    // ---------------------------------------------------------------- header

    @Test
    void aFlippedMagicIsBadMagicAtOffset0() throws IOException {
        byte[] flipped = base.clone();
        flipped[0] ^= (byte) 0xFF;
        assertBroken(flipped, Problem.BAD_MAGIC, 0);
        assertBroken(withBytes(base, 0, "FUGG".getBytes(StandardCharsets.US_ASCII)), Problem.BAD_MAGIC, 0);
        assertBroken(withU32(base, 0, 0), Problem.BAD_MAGIC, 0);
    }

    @ParameterizedTest(name = "version {0}")
    @ValueSource(longs = {0, 1, 4, 0xFFFF_FFFFL})
    void aVersionOtherThan2Or3IsUnsupportedAtOffset4(long version) throws IOException {
        assertBroken(withU32(base, GgufLayout.VERSION_AT, version), Problem.UNSUPPORTED_VERSION, 4);
    }

    @Test
    void aByteSwappedVersionIsReportedAsABigEndianFile() throws IOException {
        for (long swapped : new long[] {0x0300_0000L, 0x0200_0000L}) {
            GgufFormatException e = assertBroken(withU32(base, GgufLayout.VERSION_AT, swapped), Problem.UNSUPPORTED_VERSION, 4);
            assertTrue(e.getMessage().contains("big-endian"), e.getMessage());
        }
    }

    @Test
    void version2HasTheSameLayoutAndReads() throws IOException {
        Path file = dir.resolve("v2.gguf");
        Files.write(file, withU32(base, GgufLayout.VERSION_AT, 2));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(2, gguf.version());
            assertEquals(3, gguf.tensors().size());
        }
    }

    static LongStream absurdCounts() {
        return LongStream.of(Long.MAX_VALUE, -1L, 1L << 32, 1L << 20);
    }

    @ParameterizedTest(name = "tensor count {0}")
    @MethodSource("absurdCounts")
    void anAbsurdTensorCountIsLengthPastEndAtItsField(long count) throws IOException {
        assertBroken(withU64(base, layout.tensorCountAt(), count), Problem.LENGTH_PAST_END, layout.tensorCountAt());
    }

    @ParameterizedTest(name = "metadata count {0}")
    @MethodSource("absurdCounts")
    void anAbsurdMetadataCountIsLengthPastEndAtItsField(long count) throws IOException {
        assertBroken(withU64(base, layout.kvCountAt(), count), Problem.LENGTH_PAST_END, layout.kvCountAt());
    }

    @Test
    void countsOneMoreThanTheRestOfTheFileCanHoldAreLengthPastEnd() throws IOException {
        long left = base.length - 24L;
        assertBroken(withU64(base, layout.tensorCountAt(), left / 24 + 1), Problem.LENGTH_PAST_END, layout.tensorCountAt());
        assertBroken(withU64(base, layout.kvCountAt(), left / 13 + 1), Problem.LENGTH_PAST_END, layout.kvCountAt());
    }

    // ---------------------------------------------------------------- strings and arrays

    enum StringField {
        METADATA_KEY, STRING_VALUE, STRING_ARRAY_ELEMENT, TENSOR_NAME;

        /** Offset of this string's length field in the base file. */
        long lengthAt(GgufLayout l) {
            return switch (this) {
                case METADATA_KEY -> l.kv("test.u32").keyAt();
                case STRING_VALUE -> l.kv("test.string").valueAt();
                case STRING_ARRAY_ELEMENT -> l.kv("test.strings").valueAt() + 4 + 8; // after element type and count
                case TENSOR_NAME -> l.tensor("b.weight").nameAt();
            };
        }
    }

    static Stream<Arguments> absurdStringLengths() {
        return Stream.of(StringField.values()).flatMap(f -> Stream.of(
                Arguments.of(f, Long.MAX_VALUE), Arguments.of(f, -1L), Arguments.of(f, Long.MIN_VALUE), Arguments.of(f, 1L << 31)));
    }

    @ParameterizedTest(name = "{0} length {1}")
    @MethodSource("absurdStringLengths")
    void aStringLengthPastTheEndIsReportedAtTheLengthField(StringField field, long length) throws IOException {
        long at = field.lengthAt(layout);
        assertBroken(withU64(base, at, length), Problem.LENGTH_PAST_END, at);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(StringField.class)
    void aStringOneBytePastTheEndIsReportedAtTheLengthField(StringField field) throws IOException {
        long at = field.lengthAt(layout);
        long left = base.length - (at + 8);
        assertBroken(withU64(base, at, left + 1), Problem.LENGTH_PAST_END, at);
    }

    enum ArrayField {
        UINT8_ARRAY, STRING_ARRAY, NESTED_ARRAY, ARRAY_INSIDE_NESTED_ARRAY;

        /** Offset of this array's element count in the base file. */
        long countAt(GgufLayout l) {
            return switch (this) {
                case UINT8_ARRAY -> l.kv("test.u8s").valueAt() + 4;
                case STRING_ARRAY -> l.kv("test.strings").valueAt() + 4;
                case NESTED_ARRAY -> l.kv("test.nested").valueAt() + 4;
                case ARRAY_INSIDE_NESTED_ARRAY -> l.kv("test.nested").valueAt() + 12 + 4;
            };
        }
    }

    static Stream<Arguments> absurdArrayLengths() {
        return Stream.of(ArrayField.values()).flatMap(f -> Stream.of(
                Arguments.of(f, Long.MAX_VALUE), Arguments.of(f, -1L), Arguments.of(f, 1L << 40),
                Arguments.of(f, (long) Integer.MAX_VALUE - 8), Arguments.of(f, 1000L)));
    }

    /** Also checks that nothing is allocated for the claimed length: 2^63 longs would not fit any heap. */
    @ParameterizedTest(name = "{0} length {1}")
    @MethodSource("absurdArrayLengths")
    void anArrayLengthPastTheEndIsReportedAtTheCountField(ArrayField field, long length) throws IOException {
        long at = field.countAt(layout);
        assertBroken(withU64(base, at, length), Problem.LENGTH_PAST_END, at);
    }

    // ---------------------------------------------------------------- metadata values

    @ParameterizedTest(name = "type id {0}")
    @ValueSource(longs = {13, 99, 0x8000_0000L, 0xFFFF_FFFFL})
    void anUnknownMetadataValueTypeIsBadValueTypeAtTheTypeField(long id) throws IOException {
        long at = layout.kv("test.u32").typeAt();
        assertBroken(withU32(base, at, id), Problem.BAD_VALUE_TYPE, at);
    }

    @Test
    void anUnknownArrayElementTypeIsBadValueTypeAtTheElementTypeField() throws IOException {
        long at = layout.kv("test.u8s").valueAt();
        assertBroken(withU32(base, at, 13), Problem.BAD_VALUE_TYPE, at);
    }

    @Test
    void aBoolOtherThan0Or1IsBadValueAtTheValue() throws IOException {
        long at = layout.kv("test.bool").valueAt();
        assertBroken(withBytes(base, at, new byte[] {2}), Problem.BAD_VALUE, at);
    }

    @ParameterizedTest(name = "alignment {0}")
    @ValueSource(longs = {0, 3, 48, 96, 0xFFFF_FFFFL})
    void anAlignmentThatIsNotAPowerOfTwoIsBadAlignmentAtItsEntryType(long alignment) throws IOException {
        GgufLayout.Kv kv = layout.kv("general.alignment");
        assertBroken(withU32(base, kv.valueAt(), alignment), Problem.BAD_ALIGNMENT, kv.typeAt());
    }

    @Test
    void aDuplicateMetadataKeyIsDuplicateNameAtTheSecondKey() throws IOException {
        long at = layout.kv("test.u8s").keyAt();
        assertBroken(withBytes(base, at + 8, "test.u32".getBytes(StandardCharsets.US_ASCII)), Problem.DUPLICATE_NAME, at);
    }

    /** A file can claim arrays nested as deep as its size allows (12 bytes a level); that must not overflow the stack. */
    @Test
    void arraysNestedDeeperThan64AreBadValueNotAStackOverflow() throws IOException {
        int depth = 200_000;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(24 + 8 + 4 + 4 + depth * 12 + 12).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(0).putLong(1);
        b.putLong(4).put("deep".getBytes(StandardCharsets.US_ASCII)).putInt(ARRAY.id());
        long valueAt = b.position();
        for (int d = 0; d < depth; d++) {
            b.putInt(ARRAY.id()).putLong(1);
        }
        b.putInt(UINT8.id()).putLong(0);
        out.write(b.array(), 0, b.position());
        assertBroken(out.toByteArray(), Problem.BAD_VALUE, valueAt + 64 * 12);
    }

    // ---------------------------------------------------------------- tensor infos

    @ParameterizedTest(name = "type id {0}")
    @ValueSource(longs = {4, 5, 31, 32, 33, 36, 40, 63, 64, 99, 0x8000_0000L, 0xFFFF_FFFFL})
    void anUnknownTensorTypeIsReportedAtTheTypeField(long id) throws IOException {
        long at = layout.tensor("a.weight").typeAt();
        assertBroken(withU32(base, at, id), Problem.UNKNOWN_TENSOR_TYPE, at);
    }

    @ParameterizedTest(name = "n_dims {0}")
    @ValueSource(longs = {0, 5, 0xFFFF_FFFFL})
    void aDimensionCountOutside1To4IsTooManyDimensionsAtTheCountField(long nDims) throws IOException {
        long at = layout.tensor("a.weight").nDimsAt();
        assertBroken(withU32(base, at, nDims), Problem.TOO_MANY_DIMENSIONS, at);
    }

    @Test
    void dimensionsWhoseProductOverflowsAreSizeOverflowAtTheOverflowingDimension() throws IOException {
        GgufLayout.Info a = layout.tensor("a.weight");
        byte[] bytes = withU64(withU64(base, a.dimAt()[0], 1L << 32), a.dimAt()[1], 1L << 32);
        assertBroken(bytes, Problem.SIZE_OVERFLOW, a.dimAt()[1]);
        assertBroken(withU64(base, a.dimAt()[0], Long.MAX_VALUE), Problem.SIZE_OVERFLOW, a.dimAt()[1]);
    }

    @Test
    void aShapeWhoseByteSizeOverflowsIsSizeOverflowAtTheDimensionCount() throws IOException {
        GgufLayout.Info a = layout.tensor("a.weight"); // F32: 2^62 elements are 2^64 bytes
        byte[] bytes = withU64(withU64(base, a.dimAt()[0], 1L << 31), a.dimAt()[1], 1L << 31);
        assertBroken(bytes, Problem.SIZE_OVERFLOW, a.nDimsAt());
    }

    @Test
    void aZeroOrNegativeDimensionIsBadShapeAtThatDimension() throws IOException {
        GgufLayout.Info a = layout.tensor("a.weight");
        assertBroken(withU64(base, a.dimAt()[0], 0), Problem.BAD_SHAPE, a.dimAt()[0]);
        assertBroken(withU64(base, a.dimAt()[1], 0), Problem.BAD_SHAPE, a.dimAt()[1]);
        assertBroken(withU64(base, a.dimAt()[1], -1L), Problem.BAD_SHAPE, a.dimAt()[1]);
    }

    @Test
    void aRowThatIsNotWholeBlocksIsBadShapeAtTheDimensionCount() throws IOException {
        GgufLayout.Info b = layout.tensor("b.weight"); // Q8_0: blocks of 32
        assertBroken(withU64(base, b.dimAt()[0], 48), Problem.BAD_SHAPE, b.nDimsAt());
    }

    @ParameterizedTest(name = "relative offset {0}")
    @MethodSource("offsetsPastTheEnd")
    void aTensorOffsetPastTheEndIsTensorDataPastEndAtTheOffsetField(long relOffset) throws IOException {
        long at = layout.tensor("c.weight").offsetAt();
        assertBroken(withU64(base, at, relOffset), Problem.TENSOR_DATA_PAST_END, at);
    }

    static LongStream offsetsPastTheEnd() {
        return LongStream.of(
                256,                        // the data would start exactly at the end of the file
                1L << 40,
                Long.MAX_VALUE & ~63L,      // overflows when added to the data section's offset
                -64L);                      // 2^64 − 64: aligned, and far past the end
    }

    @Test
    void aTensorThatEndsOneAlignmentPastTheEndIsTensorDataPastEnd() throws IOException {
        GgufLayout.Info b = layout.tensor("b.weight");
        assertBroken(withU64(base, b.offsetAt(), b.relOffset() + 128), Problem.TENSOR_DATA_PAST_END, b.offsetAt());
    }

    @Test
    void anUnalignedTensorOffsetIsBadAlignmentAtTheOffsetField() throws IOException {
        GgufLayout.Info b = layout.tensor("b.weight");
        assertBroken(withU64(base, b.offsetAt(), b.relOffset() + 32), Problem.BAD_ALIGNMENT, b.offsetAt());
    }

    @Test
    void aDuplicateTensorNameIsDuplicateNameAtTheSecondTensor() throws IOException {
        long at = layout.tensor("b.weight").nameAt();
        assertBroken(withBytes(base, at + 8, "a.weight".getBytes(StandardCharsets.US_ASCII)), Problem.DUPLICATE_NAME, at);
    }

    @Test
    void tensorsSharingBytesAreOverlappingTensorDataAtTheLaterOffsetField() throws IOException {
        GgufLayout.Info b = layout.tensor("b.weight");
        GgufLayout.Info c = layout.tensor("c.weight");
        GgufFormatException e = assertBroken(withU64(base, c.offsetAt(), b.relOffset()), Problem.OVERLAPPING_TENSOR_DATA, c.offsetAt());
        assertTrue(e.getMessage().contains("'c.weight'") && e.getMessage().contains("'b.weight'"), e.getMessage());
        GgufLayout.Info a = layout.tensor("a.weight");
        assertBroken(withU64(base, b.offsetAt(), a.relOffset()), Problem.OVERLAPPING_TENSOR_DATA, b.offsetAt());
    }

    /** Issue 9, D3: a key {@code "x\nFAKE: ..."} appearing twice made the error message two lines. */
    @Test
    void aKeyWithControlCharactersIsQuotedVisiblyInOneLine() throws IOException {
        byte[] key = "x\nFAKE:1".getBytes(StandardCharsets.UTF_8);
        assertEquals(8, key.length);
        byte[] bytes = withBytes(withBytes(base, layout.kv("test.u32").keyAt() + 8, key), layout.kv("test.u8s").keyAt() + 8, key);
        GgufFormatException e = assertBroken(bytes, Problem.DUPLICATE_NAME, layout.kv("test.u8s").keyAt());
        assertTrue(e.getMessage().contains("metadata key 'x\\nFAKE:1' appears twice"), e.getMessage());
        assertTrue(dev.rewind.engine.text.Escape.isVisible(e.getMessage()), e.getMessage());
    }

    @Test
    void aDirectoryOrADeviceIsRefusedNamingThePath() throws IOException {
        IOException e = assertThrows(IOException.class, () -> GgufFile.open(dir).close());
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("directory"), e.getMessage());
        IOException d = assertThrows(IOException.class, () -> GgufFile.open(Path.of("/dev/null")).close());
        assertTrue(d.getMessage().contains("/dev/null") && d.getMessage().contains("not a regular file"), d.getMessage());
    }

    @Test
    void theBaseFileItselfIsFine() {
        assertDoesNotThrow(() -> GgufFile.open(dir.resolve("base.gguf")).close());
    }
}
