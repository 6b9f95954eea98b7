package dev.rewind.engine.kv;

/**
 * The page pool has no free page left. Thrown before anything is changed, so every sequence,
 * including the one that asked, is exactly as it was: the caller can free pages (close or
 * truncate sequences) and retry, or stop the branch.
 */
public final class KvCacheFullException extends RuntimeException {

    private final int pages;
    private final int pageSize;

    public KvCacheFullException(int pages, int pageSize) {
        super("the KV cache is full: all " + pages + " pages of " + pageSize + " positions (" + (long) pages * pageSize
                + " tokens) are in use; close or truncate sequences, or raise the KV capacity");
        this.pages = pages;
        this.pageSize = pageSize;
    }

    /** Pages in the pool. */
    public int pages() {
        return pages;
    }

    /** Positions per page. */
    public int pageSize() {
        return pageSize;
    }
}
