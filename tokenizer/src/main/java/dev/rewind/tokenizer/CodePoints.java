package dev.rewind.tokenizer;

/**
 * A text as code points, plus the two views of it that llama.cpp runs its pre-tokenizer regexes on.
 *
 * <ul>
 *   <li>{@link #collapsed}: one char per code point, ASCII kept as is and every other code point replaced by a
 *       stand-in for its class (whitespace becomes {@code \u000B}; letters, numbers, punctuation, marks and
 *       symbols become {@link #LETTER} … {@link #SYMBOL}; the rest {@link #OTHER}). llama.cpp matches a regex that
 *       uses {@code \p{..}} classes against this text with {@code std::regex}, its classes rewritten to the
 *       stand-ins.</li>
 *   <li>{@link #wide}: the text itself with every non-ASCII whitespace character replaced by {@code \u000B},
 *       which is what llama.cpp gives {@code std::wregex} for a regex without {@code \p{..}} classes (its
 *       {@code \s} only knows ASCII whitespace). Unlike the collapsed view it is a Java string, so a code point
 *       above U+FFFF takes two chars; {@link #charIndex} maps code point positions to char positions.</li>
 * </ul>
 *
 * @param values    the code points
 * @param collapsed the collapsed view, one char per code point
 * @param wide      the wide view, as a Java string
 * @param charIndex for each code point position {@code i} (and {@code i = length}), its char position in
 *                  {@code wide}
 */
record CodePoints(int[] values, String collapsed, String wide, int[] charIndex) {

    static final char OTHER = '\uE0D0';
    static final char NUMBER = '\uE0D1';
    static final char LETTER = '\uE0D2';
    static final char PUNCTUATION = '\uE0D3';
    static final char MARK = '\uE0D4';
    static final char SYMBOL = '\uE0D5';

    static CodePoints of(String text) {
        int[] cps = text.codePoints().toArray();
        char[] collapsed = new char[cps.length];
        StringBuilder wide = new StringBuilder(text.length());
        int[] charIndex = new int[cps.length + 1];
        for (int i = 0; i < cps.length; i++) {
            collapsed[i] = collapse(cps[i]);
            charIndex[i] = wide.length();
            boolean otherWhitespace = cps[i] >= 0x80 && CodePointClass.isWhitespace(cps[i]);
            wide.appendCodePoint(otherWhitespace ? '\u000B' : cps[i]);
        }
        charIndex[cps.length] = wide.length();
        return new CodePoints(cps, new String(collapsed), wide.toString(), charIndex);
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
