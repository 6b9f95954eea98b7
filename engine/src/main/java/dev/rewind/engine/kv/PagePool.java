package dev.rewind.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Off-heap storage for the keys and values of many sequences, cut into pages of
 * {@link #pageSize()} positions. A page holds, for every layer, {@code pageSize} key rows and
 * {@code pageSize} value rows of {@code kvDim} values. Pages are reference-counted: a page shared
 * by several {@link Sequence}s (a common prefix) is stored once. The capacity is fixed at
 * creation; running out is a {@link KvCacheFullException}, never an {@code OutOfMemoryError}.
 *
 * <p>Reference counting and the free list are thread-safe; the page contents are written only by
 * the sequence that owns a page exclusively.
 *
 * <p>Layout: page {@code p} and layer {@code l} own the block of {@code kvDim * pageSize} values
 * starting at element {@code (p * layers + l) * kvDim * pageSize} of {@link #keys()} and of
 * {@link #values()}, so one page is one contiguous range in each and copies in one call. Within
 * a block, values are row-major (slot {@code s}'s row of {@code kvDim} values at element
 * {@code s * kvDim}) and keys are transposed (value {@code d} of slot {@code s} at element
 * {@code d * pageSize + s}): the keys of a page's positions lie side by side, so attention
 * scores a vector of positions at once ({@link PagedAttention}).
 */
public final class PagePool implements AutoCloseable {

    /** Positions per page unless told otherwise. */
    public static final int DEFAULT_PAGE_SIZE = 16;

    private final Arena arena = Arena.ofShared();
    private final int layers;
    private final int kvDim;
    private final int pageSize;
    private final int pages;
    private final KvType type;
    private final long rowBytes;
    private final long pageBytes;
    private final MemorySegment keys;
    private final MemorySegment values;
    private final AtomicIntegerArray refs;
    private final int[] freeList;
    private int freeCount;
    private int peakInUse;

    /**
     * @param layers   transformer layers
     * @param kvDim    values per key (and value) row
     * @param pageSize positions per page
     * @param pages    pages in the pool
     * @param type     storage precision
     * @throws IllegalArgumentException if a size is not positive or the pool would exceed a long
     */
    public PagePool(int layers, int kvDim, int pageSize, int pages, KvType type) {
        if (layers <= 0 || kvDim <= 0 || pageSize <= 0 || pages <= 0) {
            throw new IllegalArgumentException("page pool sizes must be positive: layers=" + layers + " kvDim=" + kvDim
                    + " pageSize=" + pageSize + " pages=" + pages);
        }
        this.layers = layers;
        this.kvDim = kvDim;
        this.pageSize = pageSize;
        this.pages = pages;
        this.type = type;
        this.rowBytes = (long) kvDim * type.bytes();
        this.pageBytes = Math.multiplyExact(Math.multiplyExact(rowBytes, pageSize), layers);
        long total = Math.multiplyExact(pageBytes, pages);
        this.keys = arena.allocate(total, 64);
        this.values = arena.allocate(total, 64);
        this.refs = new AtomicIntegerArray(pages);
        this.freeList = new int[pages];
        for (int i = 0; i < pages; i++) {
            freeList[i] = pages - 1 - i; // hand out low ids first
        }
        this.freeCount = pages;
    }

    /** A pool large enough for {@code tokens} positions in pages of {@code pageSize}. */
    public static PagePool forTokens(int layers, int kvDim, int pageSize, int tokens, KvType type) {
        if (tokens <= 0) {
            throw new IllegalArgumentException("KV capacity must be at least one token, got " + tokens);
        }
        return new PagePool(layers, kvDim, pageSize, Math.ceilDiv(tokens, pageSize), type);
    }

    /** Bytes a pool for {@code tokens} positions takes (keys and values). */
    public static long bytesFor(int layers, int kvDim, int pageSize, int tokens, KvType type) {
        return 2L * Math.ceilDiv(tokens, pageSize) * pageSize * layers * kvDim * type.bytes();
    }

    /** A new, empty sequence drawing its pages from this pool. */
    public Sequence newSequence() {
        return new Sequence(this);
    }

    public int layers() {
        return layers;
    }

    public int kvDim() {
        return kvDim;
    }

    public int pageSize() {
        return pageSize;
    }

    /** Pages in the pool. */
    public int pages() {
        return pages;
    }

    public KvType type() {
        return type;
    }

    /** Bytes of one page (keys and values). */
    public long pageBytes() {
        return 2 * pageBytes;
    }

    /** Pages not held by any sequence. */
    public synchronized int freePages() {
        return freeCount;
    }

    /** Pages held by at least one sequence. */
    public synchronized int pagesInUse() {
        return pages - freeCount;
    }

    /** The most pages that were ever in use at once. */
    public synchronized int peakPagesInUse() {
        return peakInUse;
    }

    /** Current reference count of {@code page} (0 when free). */
    public int refCount(int page) {
        return refs.get(page);
    }

    /** All key rows; see the class comment for the layout. */
    public MemorySegment keys() {
        return keys;
    }

    /** All value rows, laid out like {@link #keys()}. */
    public MemorySegment values() {
        return values;
    }

    /** Byte offset in {@link #keys()} and {@link #values()} of the block of {@code page} and {@code layer}. */
    public long blockOffset(int page, int layer) {
        return page * pageBytes + layer * (rowBytes * pageSize);
    }

    /** Byte offset in {@link #values()} of the value row of {@code layer} at {@code slot} of {@code page}. */
    public long valueOffset(int page, int layer, int slot) {
        return blockOffset(page, layer) + slot * rowBytes;
    }

    /**
     * Byte offset in {@link #keys()} of value 0 of the key of {@code layer} at {@code slot} of
     * {@code page}; value {@code d} is {@code d * }{@link #keyStride()} bytes further.
     */
    public long keyOffset(int page, int layer, int slot) {
        return blockOffset(page, layer) + (long) slot * type.bytes();
    }

    /** Bytes between consecutive values of one key (keys are stored transposed). */
    public long keyStride() {
        return (long) pageSize * type.bytes();
    }

    /**
     * Takes {@code count} free pages at once, each with a reference count of 1, into {@code out[0..count)}.
     * Either all are taken or none.
     *
     * @throws KvCacheFullException if fewer than {@code count} pages are free
     */
    synchronized void allocate(int count, int[] out) {
        if (count > freeCount) {
            throw new KvCacheFullException(pages, pageSize);
        }
        for (int i = 0; i < count; i++) {
            int page = freeList[--freeCount];
            refs.set(page, 1);
            out[i] = page;
        }
        peakInUse = Math.max(peakInUse, pages - freeCount);
    }

    /** Adds a reference to a page in use. */
    void retain(int page) {
        int before = refs.getAndIncrement(page);
        if (before <= 0) {
            refs.getAndDecrement(page);
            throw new IllegalStateException("page " + page + " is free and cannot be shared");
        }
    }

    /** Drops a reference; the page returns to the free list when none is left. */
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
        MemorySegment.copy(keys, from * pageBytes, keys, to * pageBytes, pageBytes);
        MemorySegment.copy(values, from * pageBytes, values, to * pageBytes, pageBytes);
    }

    /** Frees the off-heap memory. No sequence of this pool may be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
