package dev.rewind.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * Off-heap storage for the keys and values of many sequences, cut into pages of
 * {@link #pageSize()} positions. A page holds, for every layer, {@code pageSize} key rows and
 * {@code pageSize} value rows of {@code kvDim} values. Pages are reference-counted: a page shared
 * by several {@link Sequence}s (a common prefix) is stored once. The capacity is fixed at
 * creation; running out is a {@link KvCacheFullException}, never an {@code OutOfMemoryError}.
 *
 * <p><b>Sliding-window layers.</b> A pool made with a {@link SlidingWindow} keeps the layers it names
 * in pages of their own (a second page table in each sequence, as llama.cpp keeps a separate cache
 * for them): a query of such a layer at position {@code p} sees only positions {@code > p − window},
 * so once a sequence has advanced, its sliding pages wholly before the window of its last position
 * (less {@link SlidingWindow#rewindMargin()} positions kept for rewinds) go back to the pool. The
 * other ("global") layers keep every position. The sliding pages are allocated as they are first
 * needed, at most as many as the global ones, so a long sequence occupies its window, not its
 * length, in those layers. The pages the rest of this class describes are the global layers'.
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
 * scores a vector of positions at once ({@link PagedAttention}). With a sliding window, {@code l}
 * counts only the global layers here, and the sliding layers' pages are laid out the same way.
 */
public final class PagePool implements AutoCloseable {

    /** Positions per page unless told otherwise. */
    public static final int DEFAULT_PAGE_SIZE = 16;

    /**
     * Which layers attend through a sliding window, and how far.
     *
     * @param window       a query at {@code p} of a sliding layer sees positions {@code p' > p − window}
     * @param rewindMargin positions kept before the window of a sequence's last position, so that a
     *                     sequence can be rewound by one position plus that many (plus what its oldest
     *                     page holds) and go on; a rewind past them is refused ({@link Sequence#truncate})
     * @param layers       the sliding layers (at least one, not all of them need be)
     */
    public record SlidingWindow(int window, int rewindMargin, BitSet layers) {
        public SlidingWindow {
            if (window <= 0 || rewindMargin < 0 || layers.isEmpty()) {
                throw new IllegalArgumentException("sliding window " + window + ", rewind margin " + rewindMargin
                        + ", layers " + layers);
            }
            layers = (BitSet) layers.clone();
        }

        @Override
        public BitSet layers() {
            return (BitSet) layers.clone();
        }
    }

    /** Positions kept before the window for rewinds unless told otherwise. */
    public static final int DEFAULT_REWIND_MARGIN = 64;

    private final Arena arena = Arena.ofShared();
    private final int layers;
    private final int kvDim;
    private final int pageSize;
    private final int pages;
    private final KvType type;
    private final PageStore global;
    private final PageStore sliding;      // null without a window
    private final int window;
    private final int rewindMargin;
    private final boolean[] slidingLayer; // by layer
    private final int[] storeLayer;       // a layer's index within its store

    /**
     * A pool in which every layer keeps every position.
     *
     * @param layers   transformer layers
     * @param kvDim    values per key (and value) row
     * @param pageSize positions per page
     * @param pages    pages in the pool
     * @param type     storage precision
     * @throws IllegalArgumentException if a size is not positive or the pool would exceed a long
     */
    public PagePool(int layers, int kvDim, int pageSize, int pages, KvType type) {
        this(layers, kvDim, pageSize, pages, type, null);
    }

    /**
     * A pool whose {@code sliding} layers (none when null) keep only their window.
     *
     * @throws IllegalArgumentException if a size is not positive, the pool would exceed a long, or
     *                                  the window names a layer the pool does not have
     */
    public PagePool(int layers, int kvDim, int pageSize, int pages, KvType type, SlidingWindow sliding) {
        if (layers <= 0 || kvDim <= 0 || pageSize <= 0 || pages <= 0) {
            throw new IllegalArgumentException("page pool sizes must be positive: layers=" + layers + " kvDim=" + kvDim
                    + " pageSize=" + pageSize + " pages=" + pages);
        }
        if (sliding != null && sliding.layers().length() > layers) {
            throw new IllegalArgumentException("sliding layer " + (sliding.layers().length() - 1) + " of a pool of " + layers + " layers");
        }
        this.layers = layers;
        this.kvDim = kvDim;
        this.pageSize = pageSize;
        this.pages = pages;
        this.type = type;
        this.slidingLayer = new boolean[layers];
        this.storeLayer = new int[layers];
        int slidingCount = 0;
        for (int l = 0; l < layers; l++) {
            slidingLayer[l] = sliding != null && sliding.layers().get(l);
            storeLayer[l] = slidingLayer[l] ? slidingCount++ : l - slidingCount;
        }
        int globalCount = layers - slidingCount;
        this.window = sliding == null ? 0 : sliding.window();
        this.rewindMargin = sliding == null ? 0 : sliding.rewindMargin();
        // a pool of only sliding layers still has a (zero-width) global page table: give it one layer
        // of one value so that the page bookkeeping stays one code path; it is never read
        this.global = globalCount > 0
                ? new PageStore(arena, globalCount, kvDim, pageSize, pages, pages, type)
                : new PageStore(arena, 1, 1, pageSize, pages, pages, type);
        // a sequence needs the window, the rewind margin and the page being written: allocate sliding
        // pages in chunks of that many, so one sequence mostly lives in one chunk
        int chunk = Math.ceilDiv(window + rewindMargin, pageSize) + 2;
        this.sliding = slidingCount > 0 ? new PageStore(arena, slidingCount, kvDim, pageSize, pages, chunk, type) : null;
    }

    /** A pool large enough for {@code tokens} positions in pages of {@code pageSize}. */
    public static PagePool forTokens(int layers, int kvDim, int pageSize, int tokens, KvType type) {
        return forTokens(layers, kvDim, pageSize, tokens, type, null);
    }

    /** A pool large enough for {@code tokens} positions whose {@code sliding} layers keep only their window. */
    public static PagePool forTokens(int layers, int kvDim, int pageSize, int tokens, KvType type, SlidingWindow sliding) {
        if (tokens <= 0) {
            throw new IllegalArgumentException("KV capacity must be at least one token, got " + tokens);
        }
        return new PagePool(layers, kvDim, pageSize, Math.ceilDiv(tokens, pageSize), type, sliding);
    }

    /** Bytes a pool for {@code tokens} positions takes (keys and values) when every layer keeps every position. */
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

    /** Pages in the pool (of the global layers; the sliding layers may hold as many at most). */
    public int pages() {
        return pages;
    }

    public KvType type() {
        return type;
    }

    /** True when {@code layer} keeps only its sliding window. */
    public boolean isSliding(int layer) {
        return slidingLayer[layer];
    }

    /** The sliding window, or 0 when every layer keeps every position. */
    public int slidingWindow() {
        return window;
    }

    /** Positions a sequence keeps before the window of its last position; 0 without a window. */
    public int rewindMargin() {
        return rewindMargin;
    }

    /** Bytes of one page (keys and values of the global layers). */
    public long pageBytes() {
        return global.pageBytes();
    }

    /** Bytes of one sliding-layer page (keys and values of the sliding layers); 0 without a window. */
    public long slidingPageBytes() {
        return sliding == null ? 0 : sliding.pageBytes();
    }

    /** Pages not held by any sequence. */
    public int freePages() {
        return global.freePages();
    }

    /** Pages held by at least one sequence. */
    public int pagesInUse() {
        return global.pagesInUse();
    }

    /** Sliding-layer pages held by at least one sequence (0 without a window). */
    public int slidingPagesInUse() {
        return sliding == null ? 0 : sliding.pagesInUse();
    }

    /** The most pages that were ever in use at once. */
    public int peakPagesInUse() {
        return global.peakPagesInUse();
    }

    /** The most sliding-layer pages that were ever in use at once (0 without a window). */
    public int peakSlidingPagesInUse() {
        return sliding == null ? 0 : sliding.peakPagesInUse();
    }

    /**
     * Off-heap bytes the pool has allocated: all global pages (allocated at creation) and the sliding
     * pages allocated so far (which never shrink: freed sliding pages are reused).
     */
    public long allocatedBytes() {
        return global.allocatedBytes() + (sliding == null ? 0 : sliding.allocatedBytes());
    }

    /** Current reference count of {@code page} (0 when free). */
    public int refCount(int page) {
        return global.refCount(page);
    }

    /** Current reference count of sliding-layer page {@code page} (0 when free). */
    public int slidingRefCount(int page) {
        return sliding.refCount(page);
    }

    /** All key rows of the global layers; see the class comment for the layout. */
    public MemorySegment keys() {
        return global.keys(0);
    }

    /** All value rows of the global layers, laid out like {@link #keys()}. */
    public MemorySegment values() {
        return global.values(0);
    }

    /** Byte offset in {@link #keys()} and {@link #values()} of the block of {@code page} and global {@code layer}. */
    public long blockOffset(int page, int layer) {
        return global.blockOffset(page, globalLayer(layer));
    }

    /** Byte offset in {@link #values()} of the value row of global {@code layer} at {@code slot} of {@code page}. */
    public long valueOffset(int page, int layer, int slot) {
        return global.valueOffset(page, globalLayer(layer), slot);
    }

    /**
     * Byte offset in {@link #keys()} of value 0 of the key of global {@code layer} at {@code slot} of
     * {@code page}; value {@code d} is {@code d * }{@link #keyStride()} bytes further.
     */
    public long keyOffset(int page, int layer, int slot) {
        return global.keyOffset(page, globalLayer(layer), slot);
    }

    private int globalLayer(int layer) {
        if (slidingLayer[layer]) {
            throw new IllegalArgumentException("layer " + layer + " keeps its rows in the sliding-window pages");
        }
        return storeLayer[layer];
    }

    /** Bytes between consecutive values of one key (keys are stored transposed). */
    public long keyStride() {
        return (long) pageSize * type.bytes();
    }

    // for Sequence

    PageStore globalStore() {
        return global;
    }

    PageStore slidingStore() {
        return sliding;
    }

    /** A layer's index within the store that holds it. */
    int storeLayer(int layer) {
        return storeLayer[layer];
    }

    /** Frees the off-heap memory. No sequence of this pool may be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
