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
 */
public final class Sequence implements KvCache, TokenSequence {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final PagePool pool;
    private int[] pages;
    private int pageCount;
    private int length;
    private int reserved;
    private boolean closed;
    private final int[] scratch = new int[1];

    Sequence(PagePool pool) {
        this(pool, new int[4], 0, 0);
    }

    private Sequence(PagePool pool, int[] pages, int pageCount, int length) {
        this.pool = pool;
        this.pages = pages;
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

    /** Pages this sequence references (shared ones included). */
    public int pageCount() {
        return pageCount;
    }

    /** The page holding position {@code i} of this sequence. */
    public int page(int i) {
        return pages[i];
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
            pool.retain(pages[i]);
        }
        return new Sequence(pool, Arrays.copyOf(pages, Math.max(4, shared)), shared, length);
    }

    /**
     * Rewinds to {@code newLength} positions, releasing the pages past it. Positions below
     * {@code newLength} are untouched; appending afterwards is as if the sequence had never gone further.
     *
     * @throws IllegalArgumentException if {@code newLength} is negative or beyond {@link #length()}
     */
    @Override
    public void truncate(int newLength) {
        checkOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a sequence of " + length + " positions to " + newLength);
        }
        int keep = Math.ceilDiv(newLength, pool.pageSize());
        for (int i = keep; i < pageCount; i++) {
            pool.release(pages[i]);
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
        boolean copyShared = n > 0 && length % p != 0 && pool.refCount(pages[partial]) > 1;
        int take = fresh + (copyShared ? 1 : 0);
        int[] taken = take <= 1 ? scratch : new int[take];
        pool.allocate(take, taken);
        int next = 0;
        if (copyShared) {
            int copy = taken[next++];
            pool.copy(pages[partial], copy);
            pool.release(pages[partial]);
            pages[partial] = copy;
        }
        if (needed > pages.length) {
            pages = Arrays.copyOf(pages, Math.max(needed, pages.length * 2));
        }
        while (pageCount < needed) {
            pages[pageCount++] = taken[next++];
        }
        reserved = length + n;
    }

    /** Marks {@code n} reserved positions as filled. */
    public void advance(int n) {
        if (n < 0 || length + n > reserved) {
            throw new IllegalStateException("advancing by " + n + " past the " + (reserved - length) + " reserved positions");
        }
        length += n;
    }

    /** Releases every page. Closing twice does nothing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        for (int i = 0; i < pageCount; i++) {
            pool.release(pages[i]);
        }
        pageCount = 0;
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
        MemorySegment keys = pool.keys();
        if (pool.type() == KvType.F32) {
            for (int i = 0; i < n; i++) {
                keys.set(F32, k + i * stride, key[keyOffset + i]);
            }
            MemorySegment.copy(value, valueOffset, pool.values(), F32, v, n);
        } else {
            for (int i = 0; i < n; i++) {
                keys.set(F16, k + i * stride, Float.floatToFloat16(key[keyOffset + i]));
                pool.values().set(F16, v + 2L * i, Float.floatToFloat16(value[valueOffset + i]));
            }
        }
    }

    @Override
    public MemorySegment keys(int layer, int position) {
        return pool.keys();
    }

    @Override
    public MemorySegment values(int layer, int position) {
        return pool.values();
    }

    @Override
    public long keyOffset(int layer, int position) {
        checkPosition(position);
        int p = pool.pageSize();
        return pool.keyOffset(pages[position / p], layer, position % p);
    }

    @Override
    public long keyStride() {
        return pool.keyStride();
    }

    @Override
    public long valueOffset(int layer, int position) {
        checkPosition(position);
        int p = pool.pageSize();
        return pool.valueOffset(pages[position / p], layer, position % p);
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
        return "Sequence[length=" + length + ", pages=" + pageCount + "]";
    }
}
