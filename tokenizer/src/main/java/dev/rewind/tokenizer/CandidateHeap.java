package dev.rewind.tokenizer;

import java.util.Arrays;

/**
 * The work queue of a merge loop: a binary min-heap of candidate merges, each a {@code long} key (its
 * priority in the high 32 bits, the position of its left symbol in the low 32, so ties go to the leftmost)
 * with the combined length of its two symbols when it was queued. Two primitive arrays instead of a
 * {@link java.util.PriorityQueue} of objects: comparing keys reads no other memory, so a pre-token of a
 * million characters (a million candidates) is merged in O(n log n) at the speed of the arrays, not of
 * cache misses on scattered objects.
 */
final class CandidateHeap {

    private long[] keys;
    private int[] lengths;
    private int size;

    CandidateHeap(int capacity) {
        keys = new long[Math.max(4, capacity)];
        lengths = new int[keys.length];
    }

    /** A key ordered by {@code priority} (smaller first), then by {@code left} (smaller first). */
    static long key(int priority, int left) {
        return ((long) priority << 32) | left;
    }

    /** The left symbol of a key. */
    static int left(long key) {
        return (int) key;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void add(long key, int length) {
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            lengths = Arrays.copyOf(lengths, size * 2);
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (keys[parent] <= key) {
                break;
            }
            keys[i] = keys[parent];
            lengths[i] = lengths[parent];
            i = parent;
        }
        keys[i] = key;
        lengths[i] = length;
    }

    /** The smallest key. */
    long topKey() {
        return keys[0];
    }

    /** The length queued with the smallest key. */
    int topLength() {
        return lengths[0];
    }

    /** Removes the smallest key. */
    void pop() {
        size--;
        if (size == 0) {
            return;
        }
        long key = keys[size];
        int length = lengths[size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && keys[child + 1] < keys[child]) {
                child++;
            }
            if (keys[child] >= key) {
                break;
            }
            keys[i] = keys[child];
            lengths[i] = lengths[child];
            i = child;
        }
        keys[i] = key;
        lengths[i] = length;
    }
}
