package dev.rewind.tokenizer;

/**
 * Reading one chunk of code points for a hand-written splitter: positions outside the chunk read as
 * "nothing" (no class matches), and {@link #cut} records a word ending at a position.
 */
final class ChunkCursor {

    private final int[] cps;
    private final int start;
    private final int end;
    private final IntList out;
    private int wordStart;

    ChunkCursor(int[] cps, int start, int end, IntList out) {
        this.cps = cps;
        this.start = start;
        this.end = end;
        this.out = out;
        this.wordStart = start;
    }

    int end() {
        return end;
    }

    boolean inChunk(int pos) {
        return pos >= start && pos < end;
    }

    /** The code point at {@code pos}, or -1 outside the chunk. */
    int at(int pos) {
        return inChunk(pos) ? cps[pos] : -1;
    }

    boolean isLetter(int pos) {
        return inChunk(pos) && CodePointClass.isLetter(cps[pos]);
    }

    boolean isNumber(int pos) {
        return inChunk(pos) && CodePointClass.isNumber(cps[pos]);
    }

    boolean isWhitespace(int pos) {
        return inChunk(pos) && CodePointClass.isWhitespace(cps[pos]);
    }

    /** In the chunk and neither whitespace, letter nor number: {@code [^\s\p{L}\p{N}]}. */
    boolean isOther(int pos) {
        return inChunk(pos) && !isWhitespace(pos) && !isLetter(pos) && !isNumber(pos);
    }

    /** Ends the current word at {@code pos} (nothing is recorded for an empty word) and returns {@code pos}. */
    int cut(int pos) {
        if (pos > wordStart) {
            out.add(pos - wordStart);
        }
        wordStart = pos;
        return pos;
    }

    /**
     * The length of an English contraction {@code 's 't 're 've 'm 'll 'd} at {@code pos}, or 0.
     *
     * @param ignoreCase whether {@code 'S}, {@code 'RE} … count too
     */
    int contractionAt(int pos, boolean ignoreCase) {
        if (at(pos) != '\'' || pos + 1 >= end) {
            return 0;
        }
        int c1 = lower(at(pos + 1), ignoreCase);
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
            return 2;
        }
        if (pos + 2 < end) {
            int c2 = lower(at(pos + 2), ignoreCase);
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                return 3;
            }
        }
        return 0;
    }

    private static int lower(int cp, boolean ignoreCase) {
        return ignoreCase && cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
    }
}
