package dev.rewind.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The pages of one group of layers of a {@link PagePool}: off-heap key and value storage, reference
 * counts and a free list. Page {@code p} lives in chunk {@code p / pagesPerChunk}; a chunk is
 * allocated the first time one of its pages is needed, so a store whose pages are released early
 * (the sliding-window layers') occupies only what it has ever held at once. A store created with
 * one chunk of all its pages allocates everything up front.
 *
 * <p>Layout within a chunk: page {@code p}'s block for the store's layer {@code l} starts at byte
 * {@code ((p % pagesPerChunk) * layers + l) * pageSize * rowBytes} of the chunk's key segment and of
 * its value segment (values row-major, keys transposed, as {@link PagePool} describes).
 */
final class PageStore {

    private final Arena arena;
    private final int layers;
    private final int pageSize;
    private final int maxPages;
    private final int pagesPerChunk;
    private final long rowBytes;
    private final long blockBytes;
    private final long pageBytes;
    private final KvType type;
    private volatile MemorySegment[] keyChunks;
    private volatile MemorySegment[] valueChunks;
    private final AtomicIntegerArray refs;
    private final int[] freeList;
    private int freeCount;
    private int allocatedPages;
    private int peakInUse;

    /**
     * @param layers        layers of each page
     * @param maxPages      the most pages the store may hold
     * @param pagesPerChunk pages allocated at once; {@code maxPages} allocates everything now
     */
    PageStore(Arena arena, int layers, int kvDim, int pageSize, int maxPages, int pagesPerChunk, KvType type) {
        this.arena = arena;
        this.layers = layers;
        this.pageSize = pageSize;
        this.maxPages = maxPages;
        this.pagesPerChunk = Math.min(pagesPerChunk, maxPages);
        this.type = type;
        this.rowBytes = (long) kvDim * type.bytes();
        this.blockBytes = Math.multiplyExact(rowBytes, pageSize);
        this.pageBytes = Math.multiplyExact(blockBytes, layers);
        Math.multiplyExact(pageBytes, maxPages); // the whole store must be addressable
        int chunks = Math.ceilDiv(maxPages, this.pagesPerChunk);
        this.keyChunks = new MemorySegment[chunks];
        this.valueChunks = new MemorySegment[chunks];
        this.refs = new AtomicIntegerArray(maxPages);
        this.freeList = new int[maxPages];
        if (this.pagesPerChunk == maxPages) {
            grow();
        }
    }

    /** Allocates the next chunk and puts its pages on the free list, lowest id handed out first. */
    private void grow() {
        int chunk = allocatedPages / pagesPerChunk;
        int count = Math.min(pagesPerChunk, maxPages - allocatedPages);
        MemorySegment[] k = Arrays.copyOf(keyChunks, keyChunks.length);
        MemorySegment[] v = Arrays.copyOf(valueChunks, valueChunks.length);
        k[chunk] = arena.allocate(pageBytes * count, 64);
        v[chunk] = arena.allocate(pageBytes * count, 64);
        keyChunks = k;
        valueChunks = v;
        for (int i = count - 1; i >= 0; i--) {
            freeList[freeCount++] = allocatedPages + i;
        }
        allocatedPages += count;
    }

    int layers() {
        return layers;
    }

    int maxPages() {
        return maxPages;
    }

    /** Bytes of one page: keys and values of every layer of the store. */
    long pageBytes() {
        return 2 * pageBytes;
    }

    /** Bytes of off-heap memory allocated so far (keys and values). */
    synchronized long allocatedBytes() {
        return 2 * pageBytes * allocatedPages;
    }

    synchronized int pagesInUse() {
        return allocatedPages - freeCount;
    }

    synchronized int freePages() {
        return maxPages - pagesInUse();
    }

    synchronized int peakPagesInUse() {
        return peakInUse;
    }

    int refCount(int page) {
        return refs.get(page);
    }

    MemorySegment keys(int page) {
        return keyChunks[page / pagesPerChunk];
    }

    MemorySegment values(int page) {
        return valueChunks[page / pagesPerChunk];
    }

    /** Byte offset, in {@link #keys(int)} and {@link #values(int)} of the page, of its block of {@code layer}. */
    long blockOffset(int page, int layer) {
        return (page % pagesPerChunk) * pageBytes + layer * blockBytes;
    }

    long valueOffset(int page, int layer, int slot) {
        return blockOffset(page, layer) + slot * rowBytes;
    }

    long keyOffset(int page, int layer, int slot) {
        return blockOffset(page, layer) + (long) slot * type.bytes();
    }

    /**
     * Takes {@code count} free pages at once, each with a reference count of 1, into {@code out[0..count)}.
     * Either all are taken or none.
     *
     * @throws KvCacheFullException if fewer than {@code count} pages are free
     */
    synchronized void allocate(int count, int[] out) {
        if (count > freeCount + (maxPages - allocatedPages)) {
            throw new KvCacheFullException(maxPages, pageSize);
        }
        while (freeCount < count) {
            grow();
        }
        for (int i = 0; i < count; i++) {
            int page = freeList[--freeCount];
            refs.set(page, 1);
            out[i] = page;
        }
        peakInUse = Math.max(peakInUse, allocatedPages - freeCount);
    }

    void retain(int page) {
        int before = refs.getAndIncrement(page);
        if (before <= 0) {
            refs.getAndDecrement(page);
            throw new IllegalStateException("page " + page + " is free and cannot be shared");
        }
    }

    void release(int page) {
        int after = refs.decrementAndGet(page);
        if (after < 0) {
            refs.incrementAndGet(page);
            throw new IllegalStateException("page " + page + " was released more often than it was taken");
        }
        if (after == 0) {
            synchronized (this) {
                freeList[freeCount++] = page;
            }
        }
    }

    /** Copies the keys and values of every layer of page {@code from} into page {@code to}. */
    void copy(int from, int to) {
        MemorySegment.copy(keys(from), blockOffset(from, 0), keys(to), blockOffset(to, 0), pageBytes);
        MemorySegment.copy(values(from), blockOffset(from, 0), values(to), blockOffset(to, 0), pageBytes);
    }
}
