package dev.rewind.tokenizer;

/**
 * A text as code points, plus llama.cpp's "collapsed" form of it: one char per code point, ASCII kept
 * as is and every other code point replaced by a stand-in for its class (whitespace becomes {@code \u000B};
 * letters, numbers, punctuation, marks and symbols become {@link #LETTER} … {@link #SYMBOL}; the rest
 * {@link #OTHER}). Regexes written against the stand-ins then behave as llama.cpp's {@code std::regex}
 * fallback does on its collapsed text.
 */
record CodePoints(int[] values, String collapsed) {

    static final char OTHER = '\uE0D0';
    static final char NUMBER = '\uE0D1';
    static final char LETTER = '\uE0D2';
    static final char PUNCTUATION = '\uE0D3';
    static final char MARK = '\uE0D4';
    static final char SYMBOL = '\uE0D5';

    static CodePoints of(String text) {
        int[] cps = text.codePoints().toArray();
        char[] collapsed = new char[cps.length];
        for (int i = 0; i < cps.length; i++) {
            collapsed[i] = collapse(cps[i]);
        }
        return new CodePoints(cps, new String(collapsed));
    }

    int length() {
        return values.length;
    }

    /** The text of code points {@code [from, to)}. */
    String text(int from, int to) {
        return new String(values, from, to - from);
    }

    private static char collapse(int cp) {
        if (cp < 0x80) {
            return (char) cp;
        }
        if (CodePointClass.isWhitespace(cp)) {
            return '\u000B';
        }
        if (CodePointClass.isNumber(cp)) {
            return NUMBER;
        }
        if (CodePointClass.isLetter(cp)) {
            return LETTER;
        }
        if (CodePointClass.isPunctuation(cp)) {
            return PUNCTUATION;
        }
        if (CodePointClass.isMark(cp)) {
            return MARK;
        }
        if (CodePointClass.isSymbol(cp)) {
            return SYMBOL;
        }
        return OTHER;
    }
}
