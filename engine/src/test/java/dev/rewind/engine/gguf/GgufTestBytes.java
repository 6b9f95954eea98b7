package dev.rewind.engine.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Little-endian edits of a file's bytes, for tests that damage one field of a good file. */
final class GgufTestBytes {

    private GgufTestBytes() {
    }

    static long alignUp(long offset, long alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    /** A copy of {@code bytes} with the uint32 at {@code at} replaced. */
    static byte[] withU32(byte[] bytes, long at, long value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(Math.toIntExact(at), (int) value);
        return copy;
    }

    /** A copy of {@code bytes} with the uint64 at {@code at} replaced. */
    static byte[] withU64(byte[] bytes, long at, long value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putLong(Math.toIntExact(at), value);
        return copy;
    }

    /** A copy of {@code bytes} with {@code replacement} written at {@code at}. */
    static byte[] withBytes(byte[] bytes, long at, byte[] replacement) {
        byte[] copy = bytes.clone();
        System.arraycopy(replacement, 0, copy, Math.toIntExact(at), replacement.length);
        return copy;
    }

    static long u64(byte[] bytes, long at) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(Math.toIntExact(at));
    }
}
