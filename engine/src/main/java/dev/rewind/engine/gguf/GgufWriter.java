package dev.rewind.engine.gguf;

import dev.rewind.engine.tensor.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a GGUF version 3 file (little-endian), in the layout ggml itself writes: the header, the
 * metadata in the order it was added, the tensor infos in the order they were added, zero padding
 * to the alignment, then each tensor's data followed by zero padding to the alignment.
 *
 * <pre>{@code
 * GgufWriter.create()
 *         .metadata("general.architecture", new GgufValue.Str("llama"))
 *         .metadata("llama.context_length", new GgufValue.Int(GgufValueType.UINT32, 128))
 *         .tensor("output_norm.weight", GgmlType.F32, new long[] {64}, normBytes)
 *         .tensor("token_embd.weight", GgmlType.F32, new long[] {64, 512}, target -> fillRandom(target))
 *         .write(path);
 * }</pre>
 *
 * <p>Every input is checked when it is added, so a mistake fails at its cause with an
 * {@link IllegalArgumentException} (or {@link NullPointerException}), never as a broken file:
 * integer values must fit their type, a tensor's data must be exactly
 * {@link GgmlType#byteSize type.byteSize(elements)} bytes, names and keys must be unique, and so on.
 * Metadata values are copied when added; tensor data is not: it is read during {@link #write}.
 *
 * <p>{@link #write} writes to a temporary file in the target's folder and renames it into place
 * atomically, so the target is either the complete new file or untouched. Tensor data is streamed:
 * besides a small buffer, writing holds at most one tensor's bytes (those of a {@link TensorSource}).
 *
 * <p>A writer is a mutable builder for one thread. It may be written more than once; each
 * {@link #write} reads all data (and calls every {@link TensorSource}) again.
 */
public final class GgufWriter {

    /** The GGUF version written. */
    public static final int VERSION = 3;

    /** The key that sets the alignment; its value must be a UINT32 power of two, at least 8. */
    public static final String ALIGNMENT_KEY = "general.alignment";

    /** Longest tensor name in UTF-8 bytes that ggml accepts (its {@code GGML_MAX_NAME} is 64 with the NUL). */
    public static final int MAX_TENSOR_NAME_BYTES = 63;

    /** Deepest nesting of arrays written (and read, see {@link GgufFile}): an array of arrays has depth 2. */
    static final int MAX_ARRAY_DEPTH = 64;

    private static final int MAX_KEY_BYTES = 65535;
    private static final int CHUNK = 1 << 20;

    /**
     * Produces a tensor's bytes while the file is written, so a large tensor (for example random
     * weights) never needs to exist before, or besides, the one being written.
     */
    @FunctionalInterface
    public interface TensorSource {
        /**
         * Fills {@code target} with the tensor's bytes, in file (little-endian) order.
         *
         * @param target writable native memory of exactly the tensor's byte size, zero-filled; other
         *               threads may write it too (e.g. a parallel random generator) as long as they are
         *               done when this call returns; it is freed then and must not be kept
         * @throws IOException to abort the write (the target file is then left untouched)
         */
        void fill(MemorySegment target) throws IOException;
    }

    private record Tensor(String name, byte[] nameBytes, GgmlType type, long[] shape, long byteSize,
                          MemorySegment data, TensorSource source) {
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();
    private long alignment = GgufFile.DEFAULT_ALIGNMENT;

    private GgufWriter() {
    }

    /** A writer with no metadata and no tensors. */
    public static GgufWriter create() {
        return new GgufWriter();
    }

    /**
     * Adds a metadata entry after those already added. The value is copied (arrays included), so
     * changing it later does not change the file. A FLOAT32 value is stored rounded to float.
     * {@value #ALIGNMENT_KEY} sets the alignment of the tensor data (default 32).
     *
     * @param key   printable ASCII, not empty, at most 65535 bytes, not added before
     * @param value the value; integers must fit their type (UINT64 is taken as a bit pattern);
     *              strings must be well-formed UTF-16 (no lone surrogate); each element of a
     *              {@link GgufValue.NestedArray} must itself be an array; arrays nest at most 64 deep
     * @return this writer
     * @throws IllegalArgumentException when the key or value breaks one of these rules
     */
    public GgufWriter metadata(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, () -> "value of metadata key '" + key + "'");
        if (key.isEmpty() || key.length() > MAX_KEY_BYTES || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("metadata key '" + key + "' must be 1 to " + MAX_KEY_BYTES + " printable ASCII characters");
        }
        if (metadata.containsKey(key)) {
            throw new IllegalArgumentException("metadata key '" + key + "' was already added");
        }
        GgufValue copy = checkedCopy(value, "metadata key '" + key + "'", 0);
        if (key.equals(ALIGNMENT_KEY)) {
            if (!(copy instanceof GgufValue.Int a) || a.type() != GgufValueType.UINT32 || a.value() < 8 || Long.bitCount(a.value()) != 1) {
                throw new IllegalArgumentException(ALIGNMENT_KEY + " must be a UINT32 power of two of at least 8, got " + describe(copy));
            }
            alignment = a.value();
        }
        metadata.put(key, copy);
        return this;
    }

    /**
     * Adds a tensor whose bytes are read from {@code data} during {@link #write}. The segment must
     * stay alive and unchanged until then; it is not copied.
     *
     * @param name  1 to {@value #MAX_TENSOR_NAME_BYTES} bytes of UTF-8, not added before
     * @param type  storage type
     * @param shape 1 to 4 dimensions, each at least 1, in ggml order ({@code shape[0]} is the
     *              contiguous dimension and must be a multiple of the type's block size)
     * @param data  exactly {@code type.byteSize(elements)} bytes, in file (little-endian) order
     * @return this writer
     * @throws IllegalArgumentException when the name, shape or data size is wrong
     */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        Objects.requireNonNull(data, "data");
        return addTensor(name, type, shape, data.byteSize(), data, null);
    }

    /**
     * Adds a tensor whose bytes are {@code data}; the array is not copied and must not change
     * before {@link #write}. The rules are those of {@link #tensor(String, GgmlType, long[], MemorySegment)}.
     *
     * @return this writer
     */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, byte[] data) {
        Objects.requireNonNull(data, "data");
        return tensor(name, type, shape, MemorySegment.ofArray(data));
    }

    /**
     * Adds a tensor whose bytes are produced during {@link #write}, one tensor at a time, by
     * {@code source}. Use it for large tensors: no bytes exist before the tensor is written.
     * The rules for name and shape are those of {@link #tensor(String, GgmlType, long[], MemorySegment)}.
     *
     * @return this writer
     */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, TensorSource source) {
        Objects.requireNonNull(source, "source");
        return addTensor(name, type, shape, -1, null, source);
    }

    /**
     * Writes the file: to a new temporary file in the same folder, flushed to disk, then renamed
     * onto {@code path} atomically (replacing a file there). If anything fails, the temporary file
     * is deleted and {@code path} is left as it was.
     *
     * @throws IOException when writing fails or a {@link TensorSource} throws
     */
    public void write(Path path) throws IOException {
        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        Path temp = createTemp(dir, target.getFileName().toString());
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                writeTo(ch);
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (Throwable t) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
        syncDirectory(dir);
    }

    // ---------------------------------------------------------------- inputs

    private GgufWriter addTensor(String name, GgmlType type, long[] shape, long dataBytes, MemorySegment data, TensorSource source) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, () -> "type of tensor '" + name + "'");
        Objects.requireNonNull(shape, () -> "shape of tensor '" + name + "'");
        checkWellFormed(name, "tensor name");
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length == 0 || nameBytes.length > MAX_TENSOR_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' must be 1 to " + MAX_TENSOR_NAME_BYTES
                    + " bytes of UTF-8, it has " + nameBytes.length);
        }
        if (tensorNames.contains(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' was already added");
        }
        long[] dims = shape.clone();
        if (dims.length < 1 || dims.length > GgufFile.MAX_DIMENSIONS) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + dims.length + " dimensions; 1 to "
                    + GgufFile.MAX_DIMENSIONS + " are allowed");
        }
        long elements = 1;
        for (long d : dims) {
            if (d < 1) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(dims) + "; every dimension must be at least 1");
            }
            try {
                elements = Math.multiplyExact(elements, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(dims) + " whose element count overflows", e);
            }
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " has a row of " + dims[0]
                    + " elements, not a multiple of the block size " + type.blockSize());
        }
        long byteSize;
        try {
            byteSize = type.byteSize(elements);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " and shape " + Arrays.toString(dims) + " is too large", e);
        }
        if (data != null && dataBytes != byteSize) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " and shape " + Arrays.toString(dims)
                    + " needs " + byteSize + " bytes of data, got " + dataBytes);
        }
        tensors.add(new Tensor(name, nameBytes, type, dims, byteSize, data, source));
        tensorNames.add(name);
        return this;
    }

    /** Checks a value (recursively) and copies its arrays, so the caller's arrays can change afterwards. */
    private static GgufValue checkedCopy(GgufValue value, String where, int depth) {
        return switch (value) {
            case GgufValue.Int i -> {
                checkIntType(i.type(), where);
                checkRange(i.type(), i.value(), where);
                yield i;
            }
            case GgufValue.Real r -> {
                checkRealType(r.type(), where);
                yield r;
            }
            case GgufValue.Bool b -> b;
            case GgufValue.Str s -> {
                Objects.requireNonNull(s.value(), () -> "string of " + where);
                checkWellFormed(s.value(), "string of " + where);
                yield s;
            }
            case GgufValue.IntArray a -> {
                checkDepth(depth, where);
                Objects.requireNonNull(a.elementType(), () -> "element type of " + where);
                checkIntType(a.elementType(), where);
                long[] values = Objects.requireNonNull(a.values(), () -> "values of " + where).clone();
                for (int k = 0; k < values.length; k++) {
                    checkRange(a.elementType(), values[k], where + " element " + k);
                }
                yield new GgufValue.IntArray(a.elementType(), values);
            }
            case GgufValue.RealArray a -> {
                checkDepth(depth, where);
                checkRealType(a.elementType(), where);
                yield new GgufValue.RealArray(a.elementType(), Objects.requireNonNull(a.values(), () -> "values of " + where).clone());
            }
            case GgufValue.BoolArray a -> {
                checkDepth(depth, where);
                yield new GgufValue.BoolArray(Objects.requireNonNull(a.values(), () -> "values of " + where).clone());
            }
            case GgufValue.StrArray a -> {
                checkDepth(depth, where);
                List<String> values = List.copyOf(Objects.requireNonNull(a.values(), () -> "values of " + where)); // rejects null elements
                for (int k = 0; k < values.size(); k++) {
                    checkWellFormed(values.get(k), "string " + k + " of " + where);
                }
                yield new GgufValue.StrArray(values);
            }
            case GgufValue.NestedArray a -> {
                checkDepth(depth, where);
                List<GgufValue> values = Objects.requireNonNull(a.values(), () -> "values of " + where);
                List<GgufValue> copies = new ArrayList<>(values.size());
                for (int k = 0; k < values.size(); k++) {
                    GgufValue element = Objects.requireNonNull(values.get(k), "element " + k + " of " + where);
                    if (!isArray(element)) {
                        throw new IllegalArgumentException("element " + k + " of " + where + " is "
                                + element.getClass().getSimpleName() + "; every element of a NestedArray must be an array");
                    }
                    copies.add(checkedCopy(element, "element " + k + " of " + where, depth + 1));
                }
                yield new GgufValue.NestedArray(List.copyOf(copies));
            }
        };
    }

    private static boolean isArray(GgufValue v) {
        return v instanceof GgufValue.IntArray || v instanceof GgufValue.RealArray || v instanceof GgufValue.BoolArray
                || v instanceof GgufValue.StrArray || v instanceof GgufValue.NestedArray;
    }

    private static void checkDepth(int depth, String where) {
        if (depth >= MAX_ARRAY_DEPTH) {
            throw new IllegalArgumentException(where + " nests arrays more than " + MAX_ARRAY_DEPTH + " deep");
        }
    }

    private static void checkIntType(GgufValueType type, String where) {
        if (type == null || !type.isInteger()) {
            throw new IllegalArgumentException(where + " is an integer value with non-integer type " + type);
        }
    }

    private static void checkRealType(GgufValueType type, String where) {
        if (type != GgufValueType.FLOAT32 && type != GgufValueType.FLOAT64) {
            throw new IllegalArgumentException(where + " is a float value with non-float type " + type);
        }
    }

    private static void checkRange(GgufValueType type, long v, String where) {
        boolean fits = switch (type) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            default -> true; // UINT64 (a bit pattern) and INT64
        };
        if (!fits) {
            throw new IllegalArgumentException(where + ": " + v + " does not fit in " + type);
        }
    }

    /** Rejects lone surrogates, which UTF-8 cannot encode (getBytes would silently write '?'). */
    private static void checkWellFormed(String s, String where) {
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (Character.isHighSurrogate(c) && k + 1 < s.length() && Character.isLowSurrogate(s.charAt(k + 1))) {
                k++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(where + " has a lone surrogate at index " + k + " and cannot be encoded as UTF-8");
            }
        }
    }

    private static String describe(GgufValue v) {
        return switch (v) {
            case GgufValue.Int i -> i.type() + " " + i;
            case GgufValue.Real r -> r.type() + " " + r;
            default -> v.getClass().getSimpleName() + " " + v;
        };
    }

    // ---------------------------------------------------------------- output

    private static Path createTemp(Path dir, String fileName) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path temp = dir.resolve("." + fileName + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                // Not Files.createTempFile: that makes the file owner-only, and the rename would keep it so.
                Files.newByteChannel(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return temp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) {
                    throw e;
                }
            }
        }
    }

    /** Makes the rename durable where the platform allows opening a folder; best effort. */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not possible everywhere (e.g. Windows); the file itself is complete either way.
        }
    }

    private void writeTo(FileChannel ch) throws IOException {
        Sink out = new Sink(ch);
        out.u32(GgufFile.MAGIC);
        out.u32(VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey().getBytes(StandardCharsets.US_ASCII));
            out.u32(typeOf(e.getValue()).id());
            value(out, e.getValue());
        }
        long relOffset = 0;
        for (Tensor t : tensors) {
            out.string(t.nameBytes);
            out.u32(t.shape.length);
            for (long d : t.shape) {
                out.u64(d);
            }
            out.u32(t.type.id());
            out.u64(relOffset);
            relOffset = Math.addExact(relOffset, padded(t.byteSize));
        }
        out.pad(alignment);
        out.flush();

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(CHUNK, 64);
            for (Tensor t : tensors) {
                if (t.source != null) {
                    try (Arena tensorArena = Arena.ofShared()) { // shared: a source may fill it from several threads
                        MemorySegment target = tensorArena.allocate(t.byteSize, 64);
                        t.source.fill(target);
                        copy(target, ch, staging);
                    }
                } else {
                    copy(t.data, ch, staging);
                }
                out.position(out.position() + t.byteSize);
                out.pad(alignment);
                out.flush();
            }
        }
    }

    private long padded(long size) {
        return Math.addExact(size, alignment - 1) / alignment * alignment;
    }

    /** Writes a segment in chunks (a ByteBuffer holds at most 2 GiB); heap memory goes through {@code staging}. */
    private static void copy(MemorySegment data, FileChannel ch, MemorySegment staging) throws IOException {
        long size = data.byteSize();
        for (long off = 0; off < size; off += CHUNK) {
            int n = (int) Math.min(CHUNK, size - off);
            ByteBuffer buf;
            if (data.isNative()) {
                buf = data.asSlice(off, n).asByteBuffer();
            } else {
                MemorySegment.copy(data, off, staging, 0, n);
                buf = staging.asSlice(0, n).asByteBuffer();
            }
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
    }

    private static GgufValueType typeOf(GgufValue v) {
        return switch (v) {
            case GgufValue.Int i -> i.type();
            case GgufValue.Real r -> r.type();
            case GgufValue.Bool b -> GgufValueType.BOOL;
            case GgufValue.Str s -> GgufValueType.STRING;
            case GgufValue.IntArray a -> GgufValueType.ARRAY;
            case GgufValue.RealArray a -> GgufValueType.ARRAY;
            case GgufValue.BoolArray a -> GgufValueType.ARRAY;
            case GgufValue.StrArray a -> GgufValueType.ARRAY;
            case GgufValue.NestedArray a -> GgufValueType.ARRAY;
        };
    }

    /** Writes a value without its type id (which the caller wrote, or which an array header gives). */
    private static void value(Sink out, GgufValue v) throws IOException {
        switch (v) {
            case GgufValue.Int i -> integer(out, i.type(), i.value());
            case GgufValue.Real r -> real(out, r.type(), r.value());
            case GgufValue.Bool b -> out.u8(b.value() ? 1 : 0);
            case GgufValue.Str s -> out.string(s.value().getBytes(StandardCharsets.UTF_8));
            case GgufValue.IntArray a -> {
                out.u32(a.elementType().id());
                out.u64(a.values().length);
                for (long x : a.values()) {
                    integer(out, a.elementType(), x);
                }
            }
            case GgufValue.RealArray a -> {
                out.u32(a.elementType().id());
                out.u64(a.values().length);
                for (double x : a.values()) {
                    real(out, a.elementType(), x);
                }
            }
            case GgufValue.BoolArray a -> {
                out.u32(GgufValueType.BOOL.id());
                out.u64(a.values().length);
                for (boolean x : a.values()) {
                    out.u8(x ? 1 : 0);
                }
            }
            case GgufValue.StrArray a -> {
                out.u32(GgufValueType.STRING.id());
                out.u64(a.values().size());
                for (String x : a.values()) {
                    out.string(x.getBytes(StandardCharsets.UTF_8));
                }
            }
            case GgufValue.NestedArray a -> {
                out.u32(GgufValueType.ARRAY.id());
                out.u64(a.values().size());
                for (GgufValue x : a.values()) {
                    value(out, x); // an array: writes its own element type and length
                }
            }
        }
    }

    private static void integer(Sink out, GgufValueType type, long v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((int) v);
            case UINT16, INT16 -> out.u16((int) v);
            case UINT32, INT32 -> out.u32((int) v);
            default -> out.u64(v);
        }
    }

    private static void real(Sink out, GgufValueType type, double v) throws IOException {
        if (type == GgufValueType.FLOAT32) {
            out.u32(Float.floatToRawIntBits((float) v));
        } else {
            out.u64(Double.doubleToRawLongBits(v));
        }
    }

    /** Buffered little-endian output that knows its position in the file. */
    private static final class Sink {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Sink(FileChannel ch) {
            this.ch = ch;
        }

        long position() {
            return flushed + buf.position();
        }

        /** After bytes were written to the channel directly (buffer empty). */
        void position(long pos) {
            flushed = pos;
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void u16(int v) throws IOException {
            room(2);
            buf.putShort((short) v);
        }

        void u32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void string(byte[] bytes) throws IOException {
            u64(bytes.length);
            int off = 0;
            while (off < bytes.length) {
                room(1);
                int n = Math.min(buf.remaining(), bytes.length - off);
                buf.put(bytes, off, n);
                off += n;
            }
        }

        void pad(long alignment) throws IOException {
            long pad = (alignment - position() % alignment) % alignment;
            for (long k = 0; k < pad; k++) {
                u8(0);
            }
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            flushed += buf.limit();
            buf.clear();
        }
    }
}
