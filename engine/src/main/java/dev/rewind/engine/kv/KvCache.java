package dev.rewind.engine.kv;

import java.lang.foreign.MemorySegment;

/**
 * Storage for the attention keys and values of one sequence, for every layer and position.
 * Each (layer, position) holds one key and one value of {@link #kvDim()} little-endian values of
 * {@link #type()}. A value is a contiguous row; a key's values are {@link #keyStride()} bytes
 * apart (keys may be stored transposed, so that the keys of neighbouring positions lie side by
 * side). Both are reached as (segment, byte offset) pairs rather than slices, so the attention
 * loop allocates nothing; the segment may be the whole cache or one page of it.
 */
public interface KvCache extends AutoCloseable {

    int layers();

    /** Floats per key (and per value) row: KV heads × head dimension. */
    int kvDim();

    /** Precision of the stored rows: {@link KvType#F32} rows are floats, {@link KvType#F16} rows halves. */
    KvType type();

    /** Positions this cache can hold. */
    int capacity();

    /** Stores the key and value rows of {@code layer} at {@code position}. */
    void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset);

    /** The segment that holds the key of {@code layer} at {@code position}. */
    MemorySegment keys(int layer, int position);

    /** The segment that holds the value row of {@code layer} at {@code position}. */
    MemorySegment values(int layer, int position);

    /** Byte offset of value 0 of the key of {@code layer} at {@code position} inside its key segment. */
    long keyOffset(int layer, int position);

    /** Bytes between consecutive values of one key. */
    long keyStride();

    /** Byte offset of the value row of {@code layer} at {@code position} inside its value segment. */
    long valueOffset(int layer, int position);

    /** Releases the storage; the cache must not be used afterwards. */
    @Override
    void close();
}
