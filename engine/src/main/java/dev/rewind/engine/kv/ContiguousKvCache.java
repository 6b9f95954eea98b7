package dev.rewind.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The simplest {@link KvCache}: one off-heap block per layer for keys and one for values,
 * sized for {@code capacity} positions up front. Used by single-sequence generation until the
 * paged copy-on-write cache replaces it.
 */
public final class ContiguousKvCache implements KvCache {

    private static final ValueLayout.OfFloat ROW = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final int layers;
    private final int kvDim;
    private final int capacity;

    /**
     * @throws IllegalArgumentException if the sizes are not positive or the cache would not fit in a long
     */
    public ContiguousKvCache(int layers, int kvDim, int capacity) {
        if (layers <= 0 || kvDim <= 0 || capacity <= 0) {
            throw new IllegalArgumentException("KV cache sizes must be positive: layers=" + layers + " kvDim=" + kvDim + " capacity=" + capacity);
        }
        this.layers = layers;
        this.kvDim = kvDim;
        this.capacity = capacity;
        long bytes = Math.multiplyExact(Math.multiplyExact((long) kvDim, capacity), Float.BYTES);
        this.keys = new MemorySegment[layers];
        this.values = new MemorySegment[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = arena.allocate(bytes, 64);
            values[l] = arena.allocate(bytes, 64);
        }
    }

    /** Bytes this cache holds for keys and values together. */
    public static long bytesFor(int layers, int kvDim, int capacity) {
        return 2L * layers * kvDim * capacity * Float.BYTES;
    }

    @Override
    public int layers() {
        return layers;
    }

    @Override
    public int kvDim() {
        return kvDim;
    }

    @Override
    public KvType type() {
        return KvType.F32;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset) {
        long off = rowOffset(layer, position);
        MemorySegment.copy(key, keyOffset, keys[layer], ROW, off, kvDim);
        MemorySegment.copy(value, valueOffset, values[layer], ROW, off, kvDim);
    }

    @Override
    public MemorySegment keys(int layer, int position) {
        return keys[layer];
    }

    @Override
    public MemorySegment values(int layer, int position) {
        return values[layer];
    }

    @Override
    public long rowOffset(int layer, int position) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache of " + capacity + " positions");
        }
        return (long) position * kvDim * Float.BYTES;
    }

    @Override
    public void close() {
        arena.close();
    }
}
