package dev.rewind.engine.gguf;

import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Offsets and sizes beyond 2 GiB work: a sparse file of about 2.75 GiB, so almost nothing is written to disk. */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GgufLargeFileTest {

    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    @Test
    void aTensorLargerThan2GiBAndOneBeyondThe2GiBMarkAreReadable() throws IOException {
        // Write a small file with the writer, then patch the header so that "huge" has 2.75 GiB of F32
        // data and "tail" lies after it, and extend the file sparsely to fit.
        Path file = dir.resolve("large.gguf");
        GgufWriter.create()
                .metadata("general.architecture", new GgufValue.Str("llama"))
                .tensor("huge", GgmlType.F32, new long[] {8, 2}, new byte[64])
                .tensor("tail", GgmlType.I8, new long[] {64}, new byte[64])
                .write(file);
        byte[] small = Files.readAllBytes(file);
        GgufLayout layout = GgufLayout.of(small);
        long dataOffset = GgufTestBytes.alignUp(layout.headerEnd(), 32);
        long hugeBytes = 11 * GIB / 4;              // 2.75 GiB
        long hugeRows = hugeBytes / 4 / 8;          // elements / row length 8
        long tailRel = hugeBytes;                   // right after huge: 32-aligned
        byte[] header = GgufTestBytes.withU64(
                GgufTestBytes.withU64(small, layout.tensor("huge").dimAt()[1], hugeRows),
                layout.tensor("tail").offsetAt(), tailRel);

        byte[] tailBytes = new byte[64];
        for (int i = 0; i < tailBytes.length; i++) {
            tailBytes[i] = (byte) (i * 3 + 1);
        }
        byte[] hugeEnd = {1, 2, 3, 4, 5, 6, 7, 8};
        long past2GiB = 2 * GIB + 5 - dataOffset; // a byte of huge just past the 2 GiB mark of the file
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(header, 0, (int) dataOffset);
            raf.setLength(dataOffset + tailRel + tailBytes.length);
            raf.seek(dataOffset + past2GiB);
            raf.write(0x5A);
            raf.seek(dataOffset + hugeBytes - hugeEnd.length);
            raf.write(hugeEnd);
            raf.seek(dataOffset + tailRel);
            raf.write(tailBytes);
        }

        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(dataOffset + tailRel + 64, gguf.fileSize());
            assertTrue(gguf.fileSize() > 2 * GIB + GIB / 2);

            GgufTensorInfo huge = gguf.tensor("huge").orElseThrow();
            assertEquals(hugeBytes, huge.byteSize());
            assertEquals(hugeRows, huge.dim(1));
            var hugeData = gguf.tensorData(huge);
            assertEquals(hugeBytes, hugeData.byteSize());
            assertEquals((byte) 0x5A, hugeData.get(ValueLayout.JAVA_BYTE, past2GiB));
            assertArrayEquals(hugeEnd, hugeData.asSlice(hugeBytes - hugeEnd.length).toArray(ValueLayout.JAVA_BYTE));

            GgufTensorInfo tail = gguf.tensor("tail").orElseThrow();
            assertEquals(dataOffset + tailRel, tail.fileOffset());
            assertTrue(tail.fileOffset() > 2 * GIB);
            assertArrayEquals(tailBytes, gguf.tensorData(tail).toArray(ValueLayout.JAVA_BYTE));
        }
        Files.delete(file); // @TempDir would too; do not leave 2.75 GiB around a moment longer than needed
    }
}
