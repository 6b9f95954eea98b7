package dev.rewind.engine.gguf;

import dev.rewind.engine.gguf.GgufFormatException.Problem;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.text.Escape;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF file (versions 2 and 3), memory-mapped read-only. The header is parsed eagerly and
 * checked against the file size at every step, so a damaged file fails with a
 * {@link GgufFormatException} naming the byte offset, never with an out-of-bounds error, a
 * huge allocation or a hang (metadata arrays may nest at most 64 deep). Tensor data stays in the mapping: {@link #tensorData} returns a
 * view, never a copy. Closing the file unmaps it; views taken earlier must not be used after.
 */
public final class GgufFile implements AutoCloseable {

    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final long DEFAULT_ALIGNMENT = 32;
    public static final int MAX_DIMENSIONS = 4;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;
    private final int version;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final long alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment segment) throws GgufFormatException {
        this.path = path;
        this.arena = arena;
        this.segment = segment;
        Reader r = new Reader();
        int magic = r.u32("magic");
        if (magic != MAGIC) {
            throw new GgufFormatException(path, 0, Problem.BAD_MAGIC,
                    String.format("not a GGUF file: magic is 0x%08x, expected 0x%08x (\"GGUF\")", magic, MAGIC));
        }
        long versionOffset = r.pos;
        int v = r.u32("version");
        if (v != 2 && v != 3) {
            String hint = Integer.reverseBytes(v) == 2 || Integer.reverseBytes(v) == 3 ? " (a big-endian GGUF file; only little-endian is supported)" : "";
            throw new GgufFormatException(path, versionOffset, Problem.UNSUPPORTED_VERSION,
                    "unsupported GGUF version " + Integer.toUnsignedString(v) + hint + "; versions 2 and 3 are supported");
        }
        this.version = v;
        long tensorCountOffset = r.pos;
        long tensorCount = r.u64("tensor count");
        long kvCountOffset = r.pos;
        long kvCount = r.u64("metadata count");
        // Each tensor info takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes,
        // each key/value at least 8 (key length) + 4 (type) + 1 (value): bound both counts by the file.
        r.checkCount(tensorCountOffset, tensorCount, 24, "tensor count");
        r.checkCount(kvCountOffset, kvCount, 13, "metadata count");

        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyOffset = r.pos;
            String key = r.string("metadata key #" + i);
            long typeOffset = r.pos;
            GgufValueType type = r.valueType("type of metadata key " + q(key));
            GgufValue value = r.value(type, key);
            if (kv.put(key, value) != null) {
                throw new GgufFormatException(path, keyOffset, Problem.DUPLICATE_NAME, "metadata key " + q(key) + " appears twice");
            }
            if (key.equals("general.alignment")) {
                if (!(value instanceof GgufValue.Int a) || a.value() <= 0 || Long.bitCount(a.value()) != 1) {
                    throw new GgufFormatException(path, typeOffset, Problem.BAD_ALIGNMENT,
                            "general.alignment must be a positive power of two, got " + Escape.excerpt(String.valueOf(value), 100));
                }
            }
        }
        this.metadata = new GgufMetadata(kv);
        this.alignment = kv.get("general.alignment") instanceof GgufValue.Int a ? a.value() : DEFAULT_ALIGNMENT;

        record Pending(String name, long[] shape, GgmlType type, long relOffset, long byteSize, long offsetFieldOffset) {
        }
        List<Pending> pending = new ArrayList<>();
        Map<String, Long> seen = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long infoOffset = r.pos;
            String name = r.string("name of tensor #" + i);
            if (seen.put(name, infoOffset) != null) {
                throw new GgufFormatException(path, infoOffset, Problem.DUPLICATE_NAME, "tensor " + q(name) + " appears twice");
            }
            long dimsOffset = r.pos;
            int nDims = r.u32("dimension count of tensor " + q(name));
            if (nDims < 1 || nDims > MAX_DIMENSIONS) {
                throw new GgufFormatException(path, dimsOffset, Problem.TOO_MANY_DIMENSIONS,
                        "tensor " + q(name) + " has " + Integer.toUnsignedString(nDims) + " dimensions; 1 to " + MAX_DIMENSIONS + " are allowed");
            }
            long[] shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long dimOffset = r.pos;
                shape[d] = r.u64("dimension " + d + " of tensor " + q(name));
                if (shape[d] <= 0) {
                    throw new GgufFormatException(path, dimOffset, Problem.BAD_SHAPE,
                            "tensor " + q(name) + " has dimension " + d + " = " + Long.toUnsignedString(shape[d]) + "; must be at least 1");
                }
                try {
                    elements = Math.multiplyExact(elements, shape[d]);
                } catch (ArithmeticException e) {
                    throw new GgufFormatException(path, dimOffset, Problem.SIZE_OVERFLOW,
                            "tensor " + q(name) + " has shape " + java.util.Arrays.toString(shape) + " whose element count overflows");
                }
            }
            long typeOffset = r.pos;
            int typeId = r.u32("type of tensor " + q(name));
            GgmlType type = GgmlType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw new GgufFormatException(path, typeOffset, Problem.UNKNOWN_TENSOR_TYPE,
                        "tensor " + q(name) + " has unknown type id " + Integer.toUnsignedString(typeId));
            }
            if (shape[0] % type.blockSize() != 0) {
                throw new GgufFormatException(path, dimsOffset, Problem.BAD_SHAPE,
                        "tensor " + q(name) + " of type " + type + " has a row of " + shape[0]
                                + " elements, not a multiple of its block size " + type.blockSize());
            }
            long byteSize;
            try {
                byteSize = type.byteSize(elements);
            } catch (ArithmeticException e) {
                throw new GgufFormatException(path, dimsOffset, Problem.SIZE_OVERFLOW,
                        "tensor " + q(name) + " of type " + type + " and shape " + java.util.Arrays.toString(shape) + " has a byte size that overflows");
            }
            long offsetOffset = r.pos;
            long relOffset = r.u64("data offset of tensor " + q(name));
            if (Long.remainderUnsigned(relOffset, alignment) != 0) { // an offset of 2^63 or more is past the end, checked below
                throw new GgufFormatException(path, offsetOffset, Problem.BAD_ALIGNMENT,
                        "tensor " + q(name) + " data offset " + Long.toUnsignedString(relOffset) + " is not a multiple of the alignment " + alignment);
            }
            pending.add(new Pending(name, shape, type, relOffset, byteSize, offsetOffset));
        }
        long headerEnd = r.pos;
        long data = (headerEnd + alignment - 1) / alignment * alignment;
        this.dataOffset = data;

        List<GgufTensorInfo> infos = new ArrayList<>(pending.size());
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (Pending p : pending) {
            long start = data + p.relOffset;
            if (start < data || start > segment.byteSize() || p.byteSize > segment.byteSize() - start) {
                throw new GgufFormatException(path, p.offsetFieldOffset, Problem.TENSOR_DATA_PAST_END,
                        "tensor " + q(p.name) + " data (" + p.byteSize + " bytes at offset " + Long.toUnsignedString(p.relOffset)
                                + " of the data section, which starts at " + data + ") reaches past the end of the file ("
                                + segment.byteSize() + " bytes)");
            }
            GgufTensorInfo info = new GgufTensorInfo(p.name, p.shape, p.type, start, p.byteSize);
            infos.add(info);
            byName.put(p.name, info);
        }
        // Two tensors sharing bytes would be one tensor read two ways (and a write through a packed copy
        // of one would not show in the other): each tensor's bytes must be its own.
        List<Pending> byStart = new ArrayList<>(pending);
        byStart.sort(java.util.Comparator.comparingLong(Pending::relOffset));
        for (int i = 1; i < byStart.size(); i++) {
            Pending before = byStart.get(i - 1);
            Pending p = byStart.get(i);
            if (p.relOffset - before.relOffset < before.byteSize) {
                throw new GgufFormatException(path, p.offsetFieldOffset, Problem.OVERLAPPING_TENSOR_DATA,
                        "tensor " + q(p.name) + " data at offset " + p.relOffset + " of the data section overlaps the data of tensor "
                                + q(before.name) + " (" + before.byteSize + " bytes at offset " + before.relOffset + ")");
            }
        }
        this.tensors = Collections.unmodifiableList(infos);
        this.tensorsByName = Collections.unmodifiableMap(byName);
    }

    /**
     * Maps and parses a GGUF file.
     *
     * @throws GgufFormatException when the file is not a well-formed GGUF v2/v3 file
     * @throws IOException         when it cannot be opened or mapped
     */
    public static GgufFile open(Path path) throws IOException {
        // Refuse what is not a regular file before opening it: a directory cannot be mapped, and opening a
        // FIFO would block until someone writes to it.
        if (Files.isDirectory(path)) {
            throw new IOException(Escape.visible(path + " is a directory, not a GGUF file"));
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new IOException(Escape.visible(path + " is not a regular file (a device, a pipe or a socket), so it cannot be mapped"));
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg;
            try {
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (IOException e) {
                throw new IOException(Escape.visible(path + ": cannot map the file: " + e.getMessage()), e);
            }
            return new GgufFile(path, arena, seg);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public Optional<GgufTensorInfo> tensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    public long alignment() {
        return alignment;
    }

    /** Absolute offset of the tensor data section. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return segment.byteSize();
    }

    /** The tensor's bytes as a read-only view of the mapping (no copy). */
    public MemorySegment tensorData(GgufTensorInfo info) {
        return segment.asSlice(info.fileOffset(), info.byteSize());
    }

    /** The whole mapped file, read-only. */
    public MemorySegment segment() {
        return segment;
    }

    /** Unmaps the file. Views from {@link #tensorData} become invalid. */
    @Override
    public void close() {
        arena.close();
    }

    /** A name from the file (a key, a tensor name) as messages quote it: {@link Escape#quote}. */
    static String q(String name) {
        return Escape.quote(name);
    }

    /** Bounds-checked little-endian cursor over the header. */
    private final class Reader {
        long pos;

        private void need(long n, String what) throws GgufFormatException {
            if (n < 0 || n > segment.byteSize() - pos) {
                throw new GgufFormatException(path, pos, Problem.TRUNCATED,
                        "file ends while reading " + what + " (needs " + n + " bytes, " + (segment.byteSize() - pos) + " left)");
            }
        }

        /** A count read at {@code at} must leave room for count × minBytes in the rest of the file. */
        void checkCount(long at, long count, long minBytes, String what) throws GgufFormatException {
            long left = segment.byteSize() - pos;
            if (count < 0 || count > left / minBytes) {
                throw new GgufFormatException(path, at, Problem.LENGTH_PAST_END,
                        what + " " + Long.toUnsignedString(count) + " cannot fit in the " + left + " bytes left in the file");
            }
        }

        int u32(String what) throws GgufFormatException {
            need(4, what);
            int v = segment.get(U32, pos);
            pos += 4;
            return v;
        }

        long u64(String what) throws GgufFormatException {
            need(8, what);
            long v = segment.get(U64, pos);
            pos += 8;
            return v;
        }

        String string(String what) throws GgufFormatException {
            long at = pos;
            long len = u64("length of " + what);
            if (len < 0 || len > segment.byteSize() - pos) {
                throw new GgufFormatException(path, at, Problem.LENGTH_PAST_END,
                        "length " + Long.toUnsignedString(len) + " of " + what + " reaches past the end of the file ("
                                + (segment.byteSize() - pos) + " bytes left)");
            }
            if (len > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException(path, at, Problem.LENGTH_PAST_END, "length " + len + " of " + what + " is too long for a string");
            }
            byte[] bytes = segment.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPLACE)
                        .onUnmappableCharacter(CodingErrorAction.REPLACE)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw new AssertionError("REPLACE never throws", e);
            }
        }

        GgufValueType valueType(String what) throws GgufFormatException {
            long at = pos;
            int id = u32(what);
            GgufValueType t = GgufValueType.byId(Integer.toUnsignedLong(id));
            if (t == null) {
                throw new GgufFormatException(path, at, Problem.BAD_VALUE_TYPE, "unknown value type id " + Integer.toUnsignedString(id) + " for " + what);
            }
            return t;
        }

        GgufValue value(GgufValueType type, String key) throws GgufFormatException {
            String what = "value of " + q(key);
            return switch (type) {
                case UINT8 -> new GgufValue.Int(type, Byte.toUnsignedLong(u8(what)));
                case INT8 -> new GgufValue.Int(type, u8(what));
                case UINT16 -> new GgufValue.Int(type, Short.toUnsignedLong(u16(what)));
                case INT16 -> new GgufValue.Int(type, u16(what));
                case UINT32 -> new GgufValue.Int(type, Integer.toUnsignedLong(u32(what)));
                case INT32 -> new GgufValue.Int(type, u32(what));
                case UINT64, INT64 -> new GgufValue.Int(type, u64(what));
                case FLOAT32 -> new GgufValue.Real(type, Float.intBitsToFloat(u32(what)));
                case FLOAT64 -> new GgufValue.Real(type, Double.longBitsToDouble(u64(what)));
                case BOOL -> bool(what);
                case STRING -> new GgufValue.Str(string(what));
                case ARRAY -> array(key, 1);
            };
        }

        private byte u8(String what) throws GgufFormatException {
            need(1, what);
            return segment.get(ValueLayout.JAVA_BYTE, pos++);
        }

        private short u16(String what) throws GgufFormatException {
            need(2, what);
            short v = segment.get(U16, pos);
            pos += 2;
            return v;
        }

        private GgufValue.Bool bool(String what) throws GgufFormatException {
            long at = pos;
            byte b = u8(what);
            if (b != 0 && b != 1) {
                throw new GgufFormatException(path, at, Problem.BAD_VALUE, what + " is a bool but holds " + (b & 0xff));
            }
            return new GgufValue.Bool(b == 1);
        }

        /** An array value at nesting {@code depth} (1 for a top-level array), bounded so a crafted file cannot overflow the stack. */
        private GgufValue array(String key, int depth) throws GgufFormatException {
            if (depth > GgufWriter.MAX_ARRAY_DEPTH) {
                throw new GgufFormatException(path, pos, Problem.BAD_VALUE,
                        "array " + q(key) + " nests arrays more than " + GgufWriter.MAX_ARRAY_DEPTH + " deep");
            }
            GgufValueType elem = valueType("element type of array " + q(key));
            long countOffset = pos;
            long count = u64("length of array " + q(key));
            checkCount(countOffset, count, elem.minBytes(), "length of array " + q(key));
            int n = (int) count; // fits: bounded by the file size over at least one byte per element
            if (count > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException(path, countOffset, Problem.LENGTH_PAST_END, "array " + q(key) + " has too many elements: " + count);
            }
            String what = "element of " + q(key);
            switch (elem) {
                case FLOAT32, FLOAT64 -> {
                    need(count * elem.minBytes(), "array " + q(key));
                    double[] values = new double[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = elem == GgufValueType.FLOAT32 ? segment.get(F32, pos) : segment.get(F64, pos);
                        pos += elem.minBytes();
                    }
                    return new GgufValue.RealArray(elem, values);
                }
                case BOOL -> {
                    boolean[] values = new boolean[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = bool(what).value();
                    }
                    return new GgufValue.BoolArray(values);
                }
                case STRING -> {
                    List<String> values = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        values.add(string(what + " #" + i));
                    }
                    return new GgufValue.StrArray(Collections.unmodifiableList(values));
                }
                case ARRAY -> {
                    List<GgufValue> values = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        values.add(array(key + "[" + i + "]", depth + 1));
                    }
                    return new GgufValue.NestedArray(Collections.unmodifiableList(values));
                }
                default -> {
                    long[] values = new long[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = ((GgufValue.Int) value(elem, what)).value();
                    }
                    return new GgufValue.IntArray(elem, values);
                }
            }
        }
    }
}
