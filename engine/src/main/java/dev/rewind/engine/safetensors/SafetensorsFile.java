package dev.rewind.engine.safetensors;

import dev.rewind.tokenizer.JsonCursor;
import dev.rewind.tokenizer.JsonReader;
import dev.rewind.tokenizer.TokenizerException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One safetensors file, memory-mapped read-only: an 8-byte little-endian header length N, N bytes
 * of JSON ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__":
 * {string: string}}}), then the data area, which the tensors must cover exactly (no overlap, no
 * gap, nothing after the last one), as the reference library requires. Everything is checked when
 * the file is opened, so a bad file fails with a {@link SafetensorsFormatException} naming the
 * tensor and the byte offset. {@link #tensorData} is a view of the mapping, never a copy.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The reference library's limit on the header (100 MB). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final String METADATA = "__metadata__";

    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;
    private final Map<String, SafetensorsTensor> tensors;
    private final Map<String, String> metadata;
    private final long dataOffset;

    private SafetensorsFile(Path path, Arena arena, MemorySegment segment) throws SafetensorsFormatException {
        this.path = path;
        this.arena = arena;
        this.segment = segment;
        long size = segment.byteSize();
        if (size < 8) {
            throw new SafetensorsFormatException(path, null, 0, "file is " + size + " bytes, too short for the 8-byte header length");
        }
        long n = segment.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > size - 8) {
            throw new SafetensorsFormatException(path, null, 0, "header length " + Long.toUnsignedString(n)
                    + " runs past the end of the file (" + (size - 8) + " bytes after the length)");
        }
        if (n > MAX_HEADER_BYTES) {
            throw new SafetensorsFormatException(path, null, 0, "header length " + n + " is over the limit of " + MAX_HEADER_BYTES);
        }
        this.dataOffset = 8 + n;
        JsonCursor root = parseHeader(n);
        Map<String, SafetensorsTensor> found = new LinkedHashMap<>();
        Map<String, String> meta = Map.of();
        for (JsonCursor entry : root.fieldValues()) {
            if (entry.key().equals(METADATA)) {
                meta = metadata(entry);
            } else {
                found.put(entry.key(), tensor(entry, size - dataOffset));
            }
        }
        checkCoverage(found.values(), size - dataOffset);
        this.tensors = Collections.unmodifiableMap(found);
        this.metadata = meta;
    }

    /**
     * Maps and checks a safetensors file.
     *
     * @throws SafetensorsFormatException when it is not a well-formed safetensors file
     * @throws IOException                when it cannot be opened or mapped
     */
    public static SafetensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new SafetensorsFile(path, arena, seg);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** The tensors in header order. */
    public List<SafetensorsTensor> tensors() {
        return List.copyOf(tensors.values());
    }

    public Optional<SafetensorsTensor> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The header's {@code __metadata__} (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Absolute offset of the data area: 8 + the header length. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return segment.byteSize();
    }

    /** The tensor's bytes (little-endian, row-major) as a read-only view of the mapping (no copy). */
    public MemorySegment tensorData(SafetensorsTensor t) {
        return segment.asSlice(t.fileOffset(), t.byteSize());
    }

    /** Unmaps the file. Views from {@link #tensorData} become invalid. */
    @Override
    public void close() {
        arena.close();
    }

    private JsonCursor parseHeader(long n) throws SafetensorsFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(segment.asSlice(8, n).asByteBuffer()).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(path, null, 8, "header (" + n + " bytes) is not valid UTF-8");
        }
        JsonCursor root;
        try {
            root = JsonCursor.root(JsonReader.parse(text, "header"), "header");
        } catch (TokenizerException e) {
            throw new SafetensorsFormatException(path, null, 8, e.getMessage());
        }
        if (!root.isObject()) {
            throw new SafetensorsFormatException(path, null, 8, "header is not a JSON object");
        }
        return root;
    }

    private Map<String, String> metadata(JsonCursor entry) throws SafetensorsFormatException {
        try {
            Map<String, String> out = new LinkedHashMap<>();
            for (JsonCursor v : entry.fieldValues()) {
                out.put(v.key(), v.string());
            }
            return Collections.unmodifiableMap(out);
        } catch (TokenizerException e) {
            throw new SafetensorsFormatException(path, null, 8, METADATA + " must map strings to strings: " + e.getMessage());
        }
    }

    private SafetensorsTensor tensor(JsonCursor entry, long dataSize) throws SafetensorsFormatException {
        String name = entry.key();
        try {
            String dtypeName = entry.get("dtype").string();
            SafetensorsDtype dtype = SafetensorsDtype.byName(dtypeName).orElseThrow(() -> new SafetensorsFormatException(
                    path, name, 8, "unknown dtype '" + dtypeName + "'"));
            List<JsonCursor> dims = entry.get("shape").elements();
            long[] shape = new long[dims.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = dims.get(i).longInteger(0, Long.MAX_VALUE);
                elements = multiply(elements, shape[i], name);
            }
            List<JsonCursor> offsets = entry.get("data_offsets").elements();
            if (offsets.size() != 2) {
                throw new SafetensorsFormatException(path, name, 8, "data_offsets has " + offsets.size() + " values, expected [begin, end]");
            }
            long begin = offsets.get(0).longInteger(0, Long.MAX_VALUE);
            long end = offsets.get(1).longInteger(0, Long.MAX_VALUE);
            if (begin > end || end > dataSize) {
                throw new SafetensorsFormatException(path, name, dataOffset + Math.min(begin, dataSize), "data_offsets [" + begin + ", "
                        + end + "] lie outside the data area of " + dataSize + " bytes (it starts at byte " + dataOffset + ")");
            }
            long bytes = multiply(elements, dtype.bytes(), name);
            if (bytes != end - begin) {
                throw new SafetensorsFormatException(path, name, dataOffset + begin, "shape " + java.util.Arrays.toString(shape)
                        + " of " + dtype + " is " + bytes + " bytes, but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
            }
            return new SafetensorsTensor(name, dtype, shape, dataOffset + begin, end - begin);
        } catch (TokenizerException e) {
            throw new SafetensorsFormatException(path, name, 8, "bad header entry: " + e.getMessage());
        }
    }

    private long multiply(long a, long b, String name) throws SafetensorsFormatException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(path, name, 8, "shape is too large (its size overflows 64 bits)");
        }
    }

    /** The tensors, sorted by offset, must tile the data area exactly. */
    private void checkCoverage(java.util.Collection<SafetensorsTensor> all, long dataSize) throws SafetensorsFormatException {
        List<SafetensorsTensor> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingLong(SafetensorsTensor::fileOffset).thenComparingLong(SafetensorsTensor::byteSize));
        long at = dataOffset;
        SafetensorsTensor previous = null;
        for (SafetensorsTensor t : sorted) {
            if (t.fileOffset() < at) {
                throw new SafetensorsFormatException(path, t.name(), t.fileOffset(), "data [" + (t.fileOffset() - dataOffset) + ", "
                        + (t.fileOffset() - dataOffset + t.byteSize()) + "] overlaps tensor '" + previous.name() + "'");
            }
            if (t.fileOffset() > at) {
                throw new SafetensorsFormatException(path, t.name(), at, "the data area has " + (t.fileOffset() - at)
                        + " unused bytes before this tensor" + (previous == null ? "" : " (after '" + previous.name() + "')"));
            }
            at = t.fileOffset() + t.byteSize();
            if (t.byteSize() > 0) {
                previous = t;
            }
        }
        if (at != dataOffset + dataSize) {
            throw new SafetensorsFormatException(path, previous == null ? null : previous.name(), at,
                    (dataOffset + dataSize - at) + " bytes after the last tensor's data belong to no tensor");
        }
    }
}
