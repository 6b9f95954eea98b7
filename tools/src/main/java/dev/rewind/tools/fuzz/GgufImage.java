package dev.rewind.tools.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A GGUF file as raw, editable parts — metadata entries with their encoded values, tensor infos, the
 * data section — that serialize back to bytes with no checks at all, so the fuzz suite can build any
 * file, including the ones the reader must refuse ({@link dev.rewind.engine.gguf.GgufWriter} refuses to
 * write those). Parsed by its own minimal reader, independent of {@code GgufFile}, which trusts its
 * input: parse only good files.
 */
public final class GgufImage {

    /** GGUF value type ids. */
    public static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
            STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12;

    /** A metadata entry: key bytes, type id and the value's encoding (what follows the type id). */
    public record Entry(byte[] key, int type, byte[] value) {
        public String keyText() {
            return new String(key, StandardCharsets.UTF_8);
        }
    }

    /** A tensor info: name bytes, dimensions, ggml type id and the offset within the data section. */
    public record Tensor(byte[] name, long[] dims, int type, long offset) {
        public String nameText() {
            return new String(name, StandardCharsets.UTF_8);
        }
    }

    /** What a field of the serialized header holds, for byte-level mutations that target one. */
    public enum FieldKind { VERSION, TENSOR_COUNT, KV_COUNT, KEY_LENGTH, VALUE_TYPE, STRING_LENGTH, ARRAY_TYPE, ARRAY_LENGTH,
        SCALAR, NAME_LENGTH, DIM_COUNT, DIM, TENSOR_TYPE, TENSOR_OFFSET }

    /** A field of the serialized header: where it is, how wide (4 or 8 bytes, 1 for small scalars). */
    public record Field(FieldKind kind, int offset, int width) {
    }

    /** Bytes and the fields found while writing them. */
    public record Serialized(byte[] bytes, List<Field> fields, int headerEnd) {
    }

    public int version;
    public final List<Entry> entries;
    public final List<Tensor> tensors;
    public long alignment;
    public byte[] data;

    GgufImage(int version, List<Entry> entries, List<Tensor> tensors, long alignment, byte[] data) {
        this.version = version;
        this.entries = new ArrayList<>(entries);
        this.tensors = new ArrayList<>(tensors);
        this.alignment = alignment;
        this.data = data;
    }

    public GgufImage copy() {
        return new GgufImage(version, entries, tensors, alignment, data);
    }

    // ---------------------------------------------------------------- reading (good files only)

    public static GgufImage parse(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt(); // magic
        int version = b.getInt();
        long tensorCount = b.getLong();
        long kvCount = b.getLong();
        List<Entry> entries = new ArrayList<>();
        long alignment = 32;
        for (long i = 0; i < kvCount; i++) {
            byte[] key = bytes(b, Math.toIntExact(b.getLong()));
            int type = b.getInt();
            int start = b.position();
            skipValue(b, type);
            byte[] value = Arrays.copyOfRange(file, start, b.position());
            Entry e = new Entry(key, type, value);
            if (e.keyText().equals("general.alignment") && type == UINT32) {
                alignment = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFF_FFFFL;
            }
            entries.add(e);
        }
        List<Tensor> tensors = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            byte[] name = bytes(b, Math.toIntExact(b.getLong()));
            long[] dims = new long[b.getInt()];
            for (int d = 0; d < dims.length; d++) {
                dims[d] = b.getLong();
            }
            int type = b.getInt();
            tensors.add(new Tensor(name, dims, type, b.getLong()));
        }
        int dataStart = (int) ((b.position() + alignment - 1) / alignment * alignment);
        return new GgufImage(version, entries, tensors, alignment, Arrays.copyOfRange(file, dataStart, file.length));
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    private static void skipValue(ByteBuffer b, int type) {
        switch (type) {
            case UINT8, INT8, BOOL -> b.position(b.position() + 1);
            case UINT16, INT16 -> b.position(b.position() + 2);
            case UINT32, INT32, FLOAT32 -> b.position(b.position() + 4);
            case UINT64, INT64, FLOAT64 -> b.position(b.position() + 8);
            case STRING -> {
                int n = Math.toIntExact(b.getLong());
                b.position(b.position() + n);
            }
            case ARRAY -> {
                int element = b.getInt();
                long n = b.getLong();
                for (long k = 0; k < n; k++) {
                    skipValue(b, element);
                }
            }
            default -> throw new IllegalArgumentException("value type " + type);
        }
    }

    public int entryIndex(String key) {
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).keyText().equals(key)) {
                return i;
            }
        }
        return -1;
    }

    public Optional<Entry> entry(String key) {
        int i = entryIndex(key);
        return i < 0 ? Optional.empty() : Optional.of(entries.get(i));
    }

    /** Sets (replacing in place, or appending) the entry {@code key}. */
    public void put(String key, int type, byte[] value) {
        Entry e = new Entry(key.getBytes(StandardCharsets.UTF_8), type, value);
        int i = entryIndex(key);
        if (i < 0) {
            entries.add(e);
        } else {
            entries.set(i, e);
        }
    }

    public void remove(String key) {
        int i = entryIndex(key);
        if (i >= 0) {
            entries.remove(i);
        }
    }

    /** The architecture prefix ({@code general.architecture}, as text), or "llama". */
    public String architecture() {
        return entry("general.architecture").filter(e -> e.type() == STRING)
                .map(e -> new String(e.value(), 8, e.value().length - 8, StandardCharsets.UTF_8)).orElse("llama");
    }

    /** The elements of a string array entry, as raw bytes. */
    public static List<byte[]> stringArray(Entry e) {
        ByteBuffer b = ByteBuffer.wrap(e.value()).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        long n = b.getLong();
        List<byte[]> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            out.add(bytes(b, Math.toIntExact(b.getLong())));
        }
        return out;
    }

    /** The element type and count of an array entry. */
    public static int arrayType(Entry e) {
        return ByteBuffer.wrap(e.value()).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    public static long arrayLength(Entry e) {
        return ByteBuffer.wrap(e.value()).order(ByteOrder.LITTLE_ENDIAN).getLong(4);
    }

    /** Width in bytes of one element of a fixed-size type, 0 for strings and arrays. */
    public static int width(int type) {
        return switch (type) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64 -> 8;
            default -> 0;
        };
    }

    // ---------------------------------------------------------------- value encodings

    public static byte[] u32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    public static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    public static byte[] f32(float v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array();
    }

    public static byte[] f64(double v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(v).array();
    }

    public static byte[] string(byte[] s) {
        return ByteBuffer.allocate(8 + s.length).order(ByteOrder.LITTLE_ENDIAN).putLong(s.length).put(s).array();
    }

    public static byte[] string(String s) {
        return string(s.getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] stringArray(List<byte[]> values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(u32(STRING));
        out.writeBytes(u64(values.size()));
        for (byte[] v : values) {
            out.writeBytes(string(v));
        }
        return out.toByteArray();
    }

    /** An array of fixed-width elements whose encodings are {@code elements} (each {@link #width} bytes). */
    public static byte[] array(int elementType, long count, byte[] elements) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(u32(elementType));
        out.writeBytes(u64(count));
        out.writeBytes(elements);
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- writing

    /** The file, with the header counts and lengths as the parts say (unless the parts themselves lie). */
    public Serialized serialize() {
        Out out = new Out();
        out.raw(u32(0x46554747));
        out.field(FieldKind.VERSION, u32(version));
        out.field(FieldKind.TENSOR_COUNT, u64(tensors.size()));
        out.field(FieldKind.KV_COUNT, u64(entries.size()));
        for (Entry e : entries) {
            out.field(FieldKind.KEY_LENGTH, u64(e.key().length));
            out.raw(e.key());
            out.field(FieldKind.VALUE_TYPE, u32(e.type()));
            valueFields(out, e.type(), e.value());
        }
        for (Tensor t : tensors) {
            out.field(FieldKind.NAME_LENGTH, u64(t.name().length));
            out.raw(t.name());
            out.field(FieldKind.DIM_COUNT, u32(t.dims().length));
            for (long d : t.dims()) {
                out.field(FieldKind.DIM, u64(d));
            }
            out.field(FieldKind.TENSOR_TYPE, u32(t.type()));
            out.field(FieldKind.TENSOR_OFFSET, u64(t.offset()));
        }
        int headerEnd = out.size();
        long align = alignment > 0 && alignment <= 1 << 16 ? alignment : 32;
        while (out.size() % align != 0) {
            out.raw(new byte[1]);
        }
        out.raw(data);
        return new Serialized(out.bytes.toByteArray(), out.fields, headerEnd);
    }

    /** Writes an encoded value, noting its length and type fields (the encoding is trusted to be well formed). */
    private static void valueFields(Out out, int type, byte[] value) {
        ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        try {
            walk(out, b, type, value);
        } catch (RuntimeException e) { // an encoding a mutator made up: write the rest as it is
            out.raw(Arrays.copyOfRange(value, b.position(), value.length));
            return;
        }
        if (b.hasRemaining()) {
            out.raw(Arrays.copyOfRange(value, b.position(), value.length));
        }
    }

    private static void walk(Out out, ByteBuffer b, int type, byte[] value) {
        switch (type) {
            case STRING -> {
                int at = b.position();
                long n = b.getLong();
                out.field(FieldKind.STRING_LENGTH, Arrays.copyOfRange(value, at, at + 8));
                int start = b.position();
                b.position(Math.toIntExact(start + n));
                out.raw(Arrays.copyOfRange(value, start, b.position()));
            }
            case ARRAY -> {
                int at = b.position();
                int element = b.getInt();
                out.field(FieldKind.ARRAY_TYPE, Arrays.copyOfRange(value, at, at + 4));
                long n = b.getLong();
                out.field(FieldKind.ARRAY_LENGTH, Arrays.copyOfRange(value, at + 4, at + 12));
                int w = width(element);
                if (w > 0) { // fixed-width elements: one raw block, with a few fields for value mutations
                    int start = b.position();
                    b.position(Math.toIntExact(start + n * w));
                    out.raw(Arrays.copyOfRange(value, start, b.position()));
                } else {
                    for (long k = 0; k < n; k++) {
                        walk(out, b, element, value);
                    }
                }
            }
            default -> {
                int w = width(type);
                int at = b.position();
                b.position(at + w);
                out.field(FieldKind.SCALAR, Arrays.copyOfRange(value, at, at + w));
            }
        }
    }

    private static final class Out {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<Field> fields = new ArrayList<>();

        int size() {
            return bytes.size();
        }

        void raw(byte[] b) {
            bytes.writeBytes(b);
        }

        void field(FieldKind kind, byte[] b) {
            fields.add(new Field(kind, bytes.size(), b.length));
            bytes.writeBytes(b);
        }
    }
}
