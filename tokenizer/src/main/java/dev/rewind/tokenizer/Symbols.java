package dev.rewind.tokenizer;

/**
 * A doubly linked list of adjacent spans of a string, the working state of a merge loop. Symbol
 * {@code i} starts as the i-th character (code point); merging a symbol with its right neighbour grows
 * it and leaves the neighbour empty (length 0) and unlinked.
 */
final class Symbols {

    private final int[] start;
    private final int[] length;
    private final int[] prev;
    private final int[] next;
    private final int count;

    private Symbols(int capacity) {
        start = new int[capacity];
        length = new int[capacity];
        prev = new int[capacity];
        next = new int[capacity];
        count = capacity;
    }

    /** One symbol per code point of {@code text}. */
    static Symbols ofCodePoints(String text) {
        Symbols s = new Symbols(text.codePointCount(0, text.length()));
        int index = 0;
        for (int i = 0; i < text.length(); ) {
            int len = Character.charCount(text.codePointAt(i));
            s.init(index++, i, len);
            i += len;
        }
        return s;
    }

    /** One symbol per char of {@code text} (for strings known to hold only BMP characters). */
    static Symbols ofChars(String text) {
        Symbols s = new Symbols(text.length());
        for (int i = 0; i < text.length(); i++) {
            s.init(i, i, 1);
        }
        return s;
    }

    /** A single symbol covering all of {@code text}. */
    static Symbols whole(String text) {
        Symbols s = new Symbols(1);
        s.init(0, 0, text.length());
        return s;
    }

    private void init(int index, int at, int len) {
        start[index] = at;
        length[index] = len;
        prev[index] = index - 1;
        next[index] = index + 1 < count ? index + 1 : -1;
    }

    int count() {
        return count;
    }

    int start(int i) {
        return start[i];
    }

    int length(int i) {
        return length[i];
    }

    int prev(int i) {
        return prev[i];
    }

    int next(int i) {
        return next[i];
    }

    String text(String source, int i) {
        return source.substring(start[i], start[i] + length[i]);
    }

    /** Merges symbol {@code i} with its right neighbour, which becomes empty. */
    void mergeWithNext(int i) {
        int right = next[i];
        length[i] += length[right];
        length[right] = 0;
        next[i] = next[right];
        if (next[right] >= 0) {
            prev[next[right]] = i;
        }
    }
}
