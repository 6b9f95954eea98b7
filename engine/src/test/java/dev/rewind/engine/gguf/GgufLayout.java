package dev.rewind.engine.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Byte offsets of the fields of a well-formed GGUF file, found by a minimal parser written apart
 * from {@link GgufFile}, so tests can corrupt one field and know where the reader must point. It
 * trusts its input: use it only on files the writer made.
 *
 * @param tensorCountAt offset of the tensor count
 * @param kvCountAt     offset of the metadata count
 * @param kvs           metadata entries by key, in file order
 * @param tensors       tensor infos by name, in file order
 * @param headerEnd     offset just past the last tensor info (before the padding)
 */
record GgufLayout(long tensorCountAt, long kvCountAt, Map<String, Kv> kvs, Map<String, Info> tensors, long headerEnd) {

    static final long MAGIC_AT = 0;
    static final long VERSION_AT = 4;

    /** A metadata entry: its key's length field, its type field and the start of its value. */
    record Kv(long keyAt, long typeAt, long valueAt) {
    }

    /** A tensor info: its name's length field, n_dims, each dimension, the type and the data offset field. */
    record Info(long nameAt, long nDimsAt, long[] dimAt, long typeAt, long offsetAt, long relOffset) {
    }

    Kv kv(String key) {
        Kv kv = kvs.get(key);
        if (kv == null) {
            throw new IllegalArgumentException("no metadata key " + key + " in " + kvs.keySet());
        }
        return kv;
    }

    Info tensor(String name) {
        Info info = tensors.get(name);
        if (info == null) {
            throw new IllegalArgumentException("no tensor " + name + " in " + tensors.keySet());
        }
        return info;
    }

    static GgufLayout of(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.position(8);
        long tensorCountAt = b.position();
        long tensorCount = b.getLong();
        long kvCountAt = b.position();
        long kvCount = b.getLong();
        Map<String, Kv> kvs = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyAt = b.position();
            String key = string(b);
            long typeAt = b.position();
            int type = b.getInt();
            long valueAt = b.position();
            skipValue(b, type);
            kvs.put(key, new Kv(keyAt, typeAt, valueAt));
        }
        Map<String, Info> tensors = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long nameAt = b.position();
            String name = string(b);
            long nDimsAt = b.position();
            int nDims = b.getInt();
            long[] dimAt = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                dimAt[d] = b.position();
                b.getLong();
            }
            long typeAt = b.position();
            b.getInt();
            long offsetAt = b.position();
            long relOffset = b.getLong();
            tensors.put(name, new Info(nameAt, nDimsAt, dimAt, typeAt, offsetAt, relOffset));
        }
        return new GgufLayout(tensorCountAt, kvCountAt, kvs, tensors, b.position());
    }

    private static String string(ByteBuffer b) {
        int len = Math.toIntExact(b.getLong());
        byte[] bytes = new byte[len];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void skipValue(ByteBuffer b, int type) {
        switch (type) {
            case 0, 1, 7 -> b.position(b.position() + 1);
            case 2, 3 -> b.position(b.position() + 2);
            case 4, 5, 6 -> b.position(b.position() + 4);
            case 10, 11, 12 -> b.position(b.position() + 8);
            case 8 -> string(b);
            case 9 -> {
                int elementType = b.getInt();
                long n = b.getLong();
                for (long k = 0; k < n; k++) {
                    skipValue(b, elementType);
                }
            }
            default -> throw new IllegalArgumentException("value type " + type);
        }
    }
}
