package dev.rewind.align.rain;

import java.util.Arrays;

/** A growing list of ints: a token state that spans are appended to and cut back from. */
final class IntList {

    private int[] values;
    private int size;

    IntList(int[] initial) {
        this.values = Arrays.copyOf(initial, Math.max(16, initial.length * 2));
        this.size = initial.length;
    }

    int size() {
        return size;
    }

    int get(int i) {
        if (i >= size) {
            throw new IndexOutOfBoundsException(i + " of " + size);
        }
        return values[i];
    }

    /** The backing array; entries past {@link #size()} are garbage. */
    int[] array() {
        return values;
    }

    void add(int v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = v;
    }

    void addAll(int[] vs) {
        for (int v : vs) {
            add(v);
        }
    }

    void truncate(int n) {
        size = n;
    }

    int[] toArray() {
        return Arrays.copyOf(values, size);
    }

    IntList copy() {
        return new IntList(toArray());
    }
}
