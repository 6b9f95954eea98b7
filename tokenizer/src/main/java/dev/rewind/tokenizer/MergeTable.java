package dev.rewind.tokenizer;

import java.util.Arrays;

/**
 * BPE merges by token id: for a pair (left id, right id), the rank of its merge and the id of the merged
 * token. An open-addressing hash table over primitive arrays, so that half a million merges cost a few dozen
 * megabytes and a look-up allocates nothing.
 */
final class MergeTable {

    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int[] merged;
    private final int mask;
    private int size;

    /** A table for up to {@code capacity} merges. */
    MergeTable(int capacity) {
        int slots = Integer.highestOneBit(Math.max(4, capacity) * 2 - 1) << 1; // at most half full
        keys = new long[slots];
        Arrays.fill(keys, EMPTY);
        ranks = new int[slots];
        merged = new int[slots];
        mask = slots - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFF_FFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E37_79B9_7F4A_7C15L;
        int i = (int) (h >>> 32) & mask;
        while (keys[i] != EMPTY && keys[i] != key) {
            i = (i + 1) & mask;
        }
        return i;
    }

    /** Records that {@code left} and {@code right} merge into {@code result} at {@code rank}; a later put wins. */
    void put(int left, int right, int rank, int result) {
        long key = key(left, right);
        int i = slot(key);
        if (keys[i] == EMPTY) {
            if (size + 1 > keys.length / 2) {
                throw new IllegalStateException("merge table full");
            }
            keys[i] = key;
            size++;
        }
        ranks[i] = rank;
        merged[i] = result;
    }

    /** The rank of merging {@code left} with {@code right}, or -1. */
    int rank(int left, int right) {
        int i = slot(key(left, right));
        return keys[i] == EMPTY ? -1 : ranks[i];
    }

    /** The id {@code left} and {@code right} merge into; only valid when {@link #rank} is not -1. */
    int merged(int left, int right) {
        return merged[slot(key(left, right))];
    }

    int size() {
        return size;
    }
}
