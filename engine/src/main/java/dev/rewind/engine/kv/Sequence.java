package dev.rewind.engine.kv;

import dev.rewind.engine.logits.TokenSequence;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One token sequence's view of the KV cache: a page table into a {@link PagePool} plus a length.
 * A sequence is cheap to branch and rewind:
 * <ul>
 *   <li>{@link #fork()} shares every page (its cost is the number of pages, never the bytes of K/V);</li>
 *   <li>{@link #truncate(int)} rewinds to a shorter length and gives back the pages past it;</li>
 *   <li>writing into a page another sequence also holds copies that one page first
 *       (copy-on-write), so full shared pages are never copied.</li>
 * </ul>
 * A forward pass appends {@code n} positions by calling {@link #reserve(int)}, writing every layer's
 * rows at positions {@code length() .. length()+n-1}, then {@link #advance(int)}. A sequence is used by
 * one thread at a time; its pages may be shared with sequences on other threads.
 *
 * <p>In a pool with a {@link PagePool.SlidingWindow} the sliding layers have a second page table
 * with the same page boundaries. {@link #advance} gives back its pages that lie wholly before the
 * window of the last position less the pool's rewind margin; they are gone for good, so a rewind to
 * a length whose window reaches into them is refused ({@link #canTruncate}: the caller evaluates
 * the tokens again from the start, as llama.cpp does when its sliding-window cache lacks them).
 */
public final class Sequence implements KvCache, TokenSequence {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int RELEASED = -1;

    private final PagePool pool;
    private final PageStore global;
    private final PageStore sliding; // null without a window
    private int[] pages;
    private int[] slidingPages;      // RELEASED for the first slidingReleased entries
    private int slidingReleased;
    private int pageCount;
    private int length;
    private int reserved;
    private boolean closed;
    private final int[] scratch = new int[1];
    private final int[] slidingScratch = new int[1];

    Sequence(PagePool pool) {
        this(pool, new int[4], pool.slidingStore() == null ? null : new int[4], 0, 0, 0);
    }

    private Sequence(PagePool pool, int[] pages, int[] slidingPages, int slidingReleased, int pageCount, int length) {
        this.pool = pool;
        this.global = pool.globalStore();
        this.sliding = pool.slidingStore();
        this.pages = pages;
        this.slidingPages = slidingPages;
        this.slidingReleased = slidingReleased;
        this.pageCount = pageCount;
        this.length = length;
        this.reserved = length;
    }

    /** Positions holding keys and values. */
    @Override
    public int length() {
        return length;
    }

    public PagePool pool() {
        return pool;
    }

    /** Pages this sequence references (shared ones included) in the global layers' table. */
    public int pageCount() {
        return pageCount;
    }

    /** Pages this sequence references in the sliding layers' table (0 without a window). */
    public int slidingPageCount() {
        return sliding == null ? 0 : pageCount - slidingReleased;
    }

    /** The global layers' page holding position {@code i} of this sequence. */
    public int page(int i) {
        return pages[i];
    }

    /** The sliding layers' page holding positions {@code i·pageSize ..}, or −1 once it was given back. */
    public int slidingPage(int i) {
        return slidingPages[i];
    }

    /**
     * A new sequence with the same contents, sharing every page. Appending to either one later copies
     * at most the one partly filled page they share.
     */
    @Override
    public Sequence fork() {
        checkOpen();
        int shared = Math.ceilDiv(length, pool.pageSize()); // pages reserved past the length stay private
        for (int i = 0; i < shared; i++) {
            global.retain(pages[i]);
        }
        int[] slidingCopy = null;
        if (sliding != null) {
            for (int i = slidingReleased; i < shared; i++) {
                sliding.retain(slidingPages[i]);
            }
            slidingCopy = Arrays.copyOf(slidingPages, Math.max(4, shared));
        }
        return new Sequence(pool, Arrays.copyOf(pages, Math.max(4, shared)), slidingCopy, Math.min(slidingReleased, shared),
                shared, length);
    }

    /**
     * True when {@link #truncate} to {@code newLength} is allowed: {@code 0 ≤ newLength ≤ length()} and, with
     * a sliding window, the sliding layers still hold the window of position {@code newLength} (or
     * {@code newLength} is 0).
     */
    @Override
    public boolean canTruncate(int newLength) {
        return !closed && newLength >= 0 && newLength <= length && windowHeld(newLength);
    }

    private boolean windowHeld(int newLength) {
        return sliding == null || newLength == 0
                || Math.max(0, newLength - pool.slidingWindow() + 1) / pool.pageSize() >= slidingReleased;
    }

    /**
     * Rewinds to {@code newLength} positions, releasing the pages past it. Positions below
     * {@code newLength} are untouched; appending afterwards is as if the sequence had never gone further.
     *
     * @throws IllegalArgumentException if {@code newLength} is negative or beyond {@link #length()}
     * @throws IllegalStateException    if the sliding layers no longer hold the window of {@code newLength}
     *                                  (see {@link #canTruncate}); nothing changes then
     */
    @Override
    public void truncate(int newLength) {
        checkOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a sequence of " + length + " positions to " + newLength);
        }
        if (!windowHeld(newLength)) {
            throw new IllegalStateException("cannot rewind a sequence of " + length + " positions to " + newLength
                    + ": its sliding-window layers no longer hold positions before " + slidingReleased * pool.pageSize()
                    + " (window " + pool.slidingWindow() + ", rewind margin " + pool.rewindMargin()
                    + "); evaluate the tokens again from the start");
        }
        int keep = Math.ceilDiv(newLength, pool.pageSize());
        for (int i = keep; i < pageCount; i++) {
            global.release(pages[i]);
            if (sliding != null && slidingPages[i] != RELEASED) {
                sliding.release(slidingPages[i]);
            }
        }
        if (sliding != null && keep < slidingReleased) { // newLength == 0
            slidingReleased = keep;
        }
        pageCount = keep;
        length = newLength;
        reserved = newLength;
    }

    /**
     * Makes positions {@code length() .. length()+n-1} writable: takes new pages and copies the shared
     * page that the first of them falls in, if any. All or nothing: when the pool is short of pages,
     * nothing changes.
     *
     * @throws KvCacheFullException if the pool has too few free pages
     */
    public void reserve(int n) {
        checkOpen();
        if (n < 0) {
            throw new IllegalArgumentException("cannot reserve " + n + " positions");
        }
        int p = pool.pageSize();
        int needed = Math.ceilDiv(length + n, p);
        int fresh = Math.max(0, needed - pageCount);
        int partial = length / p; // the page the first new position falls in
        boolean written = n > 0 && length % p != 0;
        boolean copyGlobal = written && global.refCount(pages[partial]) > 1;
        boolean copySliding = written && sliding != null && sliding.refCount(slidingPages[partial]) > 1;
        int takeGlobal = fresh + (copyGlobal ? 1 : 0);
        int takeSliding = sliding == null ? 0 : fresh + (copySliding ? 1 : 0);
        int[] fromGlobal = takeGlobal <= 1 ? scratch : new int[takeGlobal];
        int[] fromSliding = takeSliding <= 1 ? slidingScratch : new int[takeSliding];
        global.allocate(takeGlobal, fromGlobal);
        if (sliding != null) {
            try {
                sliding.allocate(takeSliding, fromSliding);
            } catch (KvCacheFullException e) {
                for (int i = 0; i < takeGlobal; i++) {
                    global.release(fromGlobal[i]);
                }
                throw e;
            }
        }
        if (needed > pages.length) {
            pages = Arrays.copyOf(pages, Math.max(needed, pages.length * 2));
            if (sliding != null) {
                slidingPages = Arrays.copyOf(slidingPages, pages.length);
            }
        }
        int nextGlobal = 0;
        if (copyGlobal) {
            int copy = fromGlobal[nextGlobal++];
            global.copy(pages[partial], copy);
            global.release(pages[partial]);
            pages[partial] = copy;
        }
        int nextSliding = 0;
        if (copySliding) {
            int copy = fromSliding[nextSliding++];
            sliding.copy(slidingPages[partial], copy);
            sliding.release(slidingPages[partial]);
            slidingPages[partial] = copy;
        }
        while (pageCount < needed) {
            if (sliding != null) {
                slidingPages[pageCount] = fromSliding[nextSliding++];
            }
            pages[pageCount++] = fromGlobal[nextGlobal++];
        }
        reserved = length + n;
    }

    /**
     * Marks {@code n} reserved positions as filled. With a sliding window, the sliding pages wholly
     * before the window of the last position, less the rewind margin, are given back.
     */
    public void advance(int n) {
        if (n < 0 || length + n > reserved) {
            throw new IllegalStateException("advancing by " + n + " past the " + (reserved - length) + " reserved positions");
        }
        length += n;
        if (sliding != null) {
            // the window of the last position written (so that it can be evaluated again) and the margin
            int keepFrom = Math.max(0, length - pool.slidingWindow() - pool.rewindMargin());
            int below = keepFrom / pool.pageSize();
            for (; slidingReleased < below; slidingReleased++) {
                sliding.release(slidingPages[slidingReleased]);
                slidingPages[slidingReleased] = RELEASED;
            }
        }
    }

    /** Releases every page. Closing twice does nothing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        for (int i = 0; i < pageCount; i++) {
            global.release(pages[i]);
            if (sliding != null && slidingPages[i] != RELEASED) {
                sliding.release(slidingPages[i]);
            }
        }
        pageCount = 0;
        slidingReleased = 0;
        length = 0;
        reserved = 0;
        closed = true;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    // KvCache: the rows a forward pass reads and writes.

    @Override
    public int layers() {
        return pool.layers();
    }

    @Override
    public int kvDim() {
        return pool.kvDim();
    }

    @Override
    public KvType type() {
        return pool.type();
    }

    /** Positions readable or writable now: the length plus what is reserved. */
    @Override
    public int capacity() {
        return reserved;
    }

    @Override
    public void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset) {
        long k = keyOffset(layer, position);
        long v = valueOffset(layer, position);
        long stride = pool.keyStride();
        int n = pool.kvDim();
        MemorySegment keys = keys(layer, position);
        MemorySegment values = values(layer, position);
        if (pool.type() == KvType.F32) {
            for (int i = 0; i < n; i++) {
                keys.set(F32, k + i * stride, key[keyOffset + i]);
            }
            MemorySegment.copy(value, valueOffset, values, F32, v, n);
        } else {
            for (int i = 0; i < n; i++) {
                keys.set(F16, k + i * stride, Float.floatToFloat16(key[keyOffset + i]));
                values.set(F16, v + 2L * i, Float.floatToFloat16(value[valueOffset + i]));
            }
        }
    }

    @Override
    public MemorySegment keys(int layer, int position) {
        return pool.isSliding(layer) ? sliding.keys(slidingPage(layer, position)) : global.keys(pages[position / pool.pageSize()]);
    }

    @Override
    public MemorySegment values(int layer, int position) {
        return pool.isSliding(layer) ? sliding.values(slidingPage(layer, position)) : global.values(pages[position / pool.pageSize()]);
    }

    @Override
    public long keyOffset(int layer, int position) {
        checkPosition(position);
        int p = pool.pageSize();
        return pool.isSliding(layer)
                ? sliding.keyOffset(slidingPage(layer, position), pool.storeLayer(layer), position % p)
                : global.keyOffset(pages[position / p], pool.storeLayer(layer), position % p);
    }

    @Override
    public long keyStride() {
        return pool.keyStride();
    }

    @Override
    public long valueOffset(int layer, int position) {
        checkPosition(position);
        int p = pool.pageSize();
        return pool.isSliding(layer)
                ? sliding.valueOffset(slidingPage(layer, position), pool.storeLayer(layer), position % p)
                : global.valueOffset(pages[position / p], pool.storeLayer(layer), position % p);
    }

    /** The sliding page of {@code position}, which must not have been given back. */
    private int slidingPage(int layer, int position) {
        int page = slidingPages[position / pool.pageSize()];
        if (page == RELEASED) {
            throw new IndexOutOfBoundsException("position " + position + " of sliding-window layer " + layer
                    + " was given back (the sequence holds positions from " + slidingReleased * pool.pageSize() + ")");
        }
        return page;
    }

    private void checkPosition(int position) {
        if (position < 0 || position >= reserved) {
            throw new IndexOutOfBoundsException("position " + position + " outside the " + reserved + " reserved positions");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the sequence is closed");
        }
    }

    @Override
    public String toString() {
        return "Sequence[length=" + length + ", pages=" + pageCount
                + (sliding == null ? "" : ", sliding pages=" + slidingPageCount()) + "]";
    }
}
