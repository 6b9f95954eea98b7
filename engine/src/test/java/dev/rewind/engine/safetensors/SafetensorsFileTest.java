package dev.rewind.engine.safetensors;

import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static dev.rewind.engine.safetensors.SafetensorsBytes.bytes;
import static dev.rewind.engine.safetensors.SafetensorsBytes.entry;
import static dev.rewind.engine.safetensors.SafetensorsBytes.file;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A good file reads back as views of the mapping; every kind of damage is refused with one line
 * naming the file, the tensor and the byte offset.
 */
class SafetensorsFileTest {

    @TempDir
    Path dir;

    private Path write(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    private SafetensorsFormatException refused(byte[] content) throws IOException {
        Path p = write("bad.safetensors", content);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().endsWith("(at byte offset " + e.offset() + ")"), e.getMessage());
        return e;
    }

    @Test
    void goodFileGivesTypedViewsAndMetadata() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[2,3]", 0, 24) + ","
                + entry("b", "BF16", "[4]", 24, 32) + "," + entry("s", "I64", "[]", 32, 40) + "}   ";
        Path p = write("ok.safetensors", file(header, bytes(40)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(3, f.tensors().size());
            SafetensorsTensor a = f.tensor("a").orElseThrow();
            assertEquals(SafetensorsDtype.F32, a.dtype());
            assertArrayEquals(new long[] {2, 3}, a.shape());
            assertEquals(8 + header.length(), a.fileOffset());
            MemorySegment data = f.tensorData(a);
            assertEquals(24, data.byteSize());
            assertTrue(data.isMapped(), "a view of the mapping, not a copy");
            assertEquals(0x03020100, data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
            assertEquals(GgmlType.BF16, f.tensor("b").orElseThrow().dtype().ggmlType().orElseThrow());
            SafetensorsTensor s = f.tensor("s").orElseThrow();
            assertEquals(1, s.elementCount());
            assertTrue(s.dtype().ggmlType().isEmpty(), "no kernel computes with I64");
        }
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        String header = "{" + entry("a", "F32", "[1]", 0, 4) + "}";
        SafetensorsFormatException e = refused(file(header.length() + 5, header, bytes(4)));
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("header length " + (header.length() + 5) + " runs past the end"), e.getMessage());
        assertEquals(0, refused(file(-1L, header, bytes(4))).offset());
        assertTrue(refused(new byte[5]).getMessage().contains("too short"));
    }

    @Test
    void headerNotJson() throws IOException {
        SafetensorsFormatException e = refused(file("{\"a\":{\"dtype\":\"F32\",", new byte[0]));
        assertEquals(8, e.offset());
        assertTrue(e.getMessage().contains("not valid JSON at line 1"), e.getMessage());
        assertTrue(refused(file("[1,2]", new byte[0])).getMessage().contains("not a JSON object"));
    }

    @Test
    void invalidUtf8Header() throws IOException {
        byte[] f = file("{\"x\":1}", new byte[0]);
        f[10] = (byte) 0xFF;
        SafetensorsFormatException e = refused(f);
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
        assertEquals(8, e.offset());
    }

    @Test
    void dataOffsetsOutsideTheDataArea() throws IOException {
        String header = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("w", "F32", "[4]", 8, 24) + "}";
        SafetensorsFormatException e = refused(file(header, bytes(16)));
        assertTrue(e.getMessage().contains("tensor 'w': data_offsets [8, 24] lie outside the data area of 16 bytes"), e.getMessage());
        assertEquals(8 + header.length() + 8, e.offset());
        String reversed = "{" + entry("r", "F32", "[0]", 8, 4) + "}";
        assertTrue(refused(file(reversed, bytes(8))).getMessage().contains("tensor 'r': data_offsets [8, 4]"));
    }

    @Test
    void overlappingTensors() throws IOException {
        String header = "{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[2]", 8, 16) + "}";
        SafetensorsFormatException e = refused(file(header, bytes(16)));
        assertTrue(e.getMessage().contains("tensor 'b': data [8, 16] overlaps tensor 'a'"), e.getMessage());
        assertEquals(8 + header.length() + 8, e.offset());
    }

    @Test
    void gapsAndTrailingBytes() throws IOException {
        String gap = "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}";
        assertTrue(refused(file(gap, bytes(12))).getMessage().contains("tensor 'b': the data area has 4 unused bytes"));
        String trailing = "{" + entry("a", "F32", "[1]", 0, 4) + "}";
        SafetensorsFormatException e = refused(file(trailing, bytes(9)));
        assertTrue(e.getMessage().contains("5 bytes after the last tensor's data belong to no tensor"), e.getMessage());
        assertEquals(8 + trailing.length() + 4, e.offset());
    }

    @Test
    void shapeDisagreeingWithDtypeAndOffsets() throws IOException {
        String header = "{" + entry("m", "F16", "[2,3]", 0, 24) + "}";
        SafetensorsFormatException e = refused(file(header, bytes(24)));
        assertTrue(e.getMessage().contains("tensor 'm': shape [2, 3] of F16 is 12 bytes, but data_offsets [0, 24] hold 24"), e.getMessage());
        String huge = "{" + entry("h", "F32", "[4294967296,4294967296]", 0, 4) + "}";
        assertTrue(refused(file(huge, bytes(4))).getMessage().contains("tensor 'h': shape is too large"));
        String negative = "{" + entry("n", "F32", "[-1]", 0, 4) + "}";
        assertTrue(refused(file(negative, bytes(4))).getMessage().contains("tensor 'n': bad header entry"));
    }

    @Test
    void unknownDtypeAndMissingFields() throws IOException {
        assertTrue(refused(file("{" + entry("q", "Q4", "[1]", 0, 1) + "}", bytes(1))).getMessage().contains("tensor 'q': unknown dtype 'Q4'"));
        SafetensorsFormatException e = refused(file("{\"z\":{\"dtype\":\"F32\",\"shape\":[1]}}", bytes(4)));
        assertTrue(e.getMessage().contains("tensor 'z'") && e.getMessage().contains("data_offsets: missing"), e.getMessage());
        assertTrue(refused(file("{\"__metadata__\":{\"n\":1}}", new byte[0])).getMessage().contains("__metadata__ must map strings to strings"));
    }

    @Test
    void duplicateNames() throws IOException {
        String header = "{" + entry("d", "F32", "[1]", 0, 4) + "," + entry("d", "F32", "[1]", 4, 8) + "}";
        SafetensorsFormatException e = refused(file(header, bytes(8)));
        assertTrue(e.getMessage().contains("\"d\" appears twice"), e.getMessage());
    }
}
